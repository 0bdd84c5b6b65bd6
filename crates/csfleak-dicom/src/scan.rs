//! Scanning a folder: find files, read their headers in parallel, group them into studies and
//! series, and classify each series.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::header::{FileHeader, NotImage, read_file_header};
use crate::roles::RoleRules;
use crate::series::{Series, Study, build_studies};
use crate::{Error, Result};

/// A file the scan did not index, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SkippedFile {
    /// Path relative to the scanned folder.
    pub path: PathBuf,
    /// Short reason code: `not_dicom`, `dicomdir`, `no_image`, `invalid_header`.
    pub reason: &'static str,
    /// Detail (the parser's message, the SOP class); no patient identifiers.
    pub detail: String,
}

/// The result of a scan: studies with their series, and the files that were skipped.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    /// The scanned folder as given.
    #[serde(skip)]
    pub root: PathBuf,
    /// Studies, ordered by Study Instance UID.
    pub studies: Vec<Study>,
    /// Files not indexed, in path order.
    pub skipped: Vec<SkippedFile>,
    /// Number of files looked at.
    pub n_files: usize,
}

impl ScanReport {
    /// Every series of every study, in order.
    pub fn series(&self) -> impl Iterator<Item = &Series> {
        self.studies.iter().flat_map(|s| s.series.iter())
    }

    /// Every series, mutable.
    pub fn series_mut(&mut self) -> impl Iterator<Item = &mut Series> {
        self.studies.iter_mut().flat_map(|s| s.series.iter_mut())
    }
}

/// Options of a [`Scanner`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ScanOptions {
    /// Role rules (default: the embedded table).
    pub rules: RoleRules,
    /// Follow symbolic links to directories (default: no, to avoid cycles).
    pub follow_symlinks: bool,
}

impl ScanOptions {
    /// Use these role rules.
    pub fn with_rules(mut self, rules: RoleRules) -> Self {
        self.rules = rules;
        self
    }
    /// Follow symbolic links to directories.
    pub fn with_follow_symlinks(mut self, yes: bool) -> Self {
        self.follow_symlinks = yes;
        self
    }
}

/// Scans folders into studies and series (builder form of [`scan`]).
#[derive(Debug, Clone, Default)]
pub struct Scanner {
    options: ScanOptions,
}

impl Scanner {
    /// A scanner with default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the options.
    pub fn options(mut self, options: ScanOptions) -> Self {
        self.options = options;
        self
    }

    /// Scan a folder (recursively) or a single file.
    ///
    /// Only headers are read (up to Pixel Data), in parallel. Files that are not DICOM images
    /// are listed in [`ScanReport::skipped`]; an error is returned only when `root` itself cannot
    /// be read.
    pub fn scan(&self, root: &Path) -> Result<ScanReport> {
        let mut files = Vec::new();
        if root.is_file() {
            files.push(root.to_path_buf());
        } else {
            walk(root, self.options.follow_symlinks, &mut files)?;
        }
        files.sort();
        let n_files = files.len();
        let base = if root.is_file() {
            root.parent().unwrap_or(root)
        } else {
            root
        };
        let results: Vec<(PathBuf, std::result::Result<FileHeader, NotImage>)> = files
            .par_iter()
            .map(|p| {
                let rel = p.strip_prefix(base).unwrap_or(p).to_path_buf();
                let r = read_file_header(p, &rel);
                (rel, r)
            })
            .collect();
        let mut headers = Vec::new();
        let mut skipped = Vec::new();
        for (rel, r) in results {
            match r {
                Ok(h) => headers.push(h),
                Err(NotImage::Dicomdir) => skipped.push(SkippedFile {
                    path: rel,
                    reason: "dicomdir",
                    detail: "DICOMDIR media directory (the images are read directly)".into(),
                }),
                Err(NotImage::NoImage(class)) => skipped.push(SkippedFile {
                    path: rel,
                    reason: "no_image",
                    detail: format!(
                        "no Rows/Columns (SOP class {})",
                        class.as_deref().unwrap_or("unknown")
                    ),
                }),
                Err(NotImage::Unreadable(e)) => {
                    let e = crate::load::relabel(e, &rel);
                    let reason = match e {
                        Error::Read { .. } | Error::Io { .. } => "not_dicom",
                        _ => "invalid_header",
                    };
                    skipped.push(SkippedFile {
                        path: rel,
                        reason,
                        detail: error_chain(&e),
                    });
                }
            }
        }
        skipped.sort();
        let mut studies = build_studies(headers);
        for s in studies.iter_mut().flat_map(|s| s.series.iter_mut()) {
            s.role = self.options.rules.classify(&s.meta);
        }
        Ok(ScanReport {
            root: root.to_path_buf(),
            studies,
            skipped,
            n_files,
        })
    }
}

/// Scan a folder with default options. See [`Scanner::scan`].
pub fn scan(root: &Path) -> Result<ScanReport> {
    Scanner::new().scan(root)
}

/// An error and its sources on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn walk(dir: &Path, follow: bool, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    for entry in rd {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            // Unreadable subfolders are skipped rather than failing the whole scan.
            if let Err(e) = walk(&path, follow, out) {
                tracing::warn!("skipping folder: {}", error_chain(&e));
            }
        } else if ft.is_file() {
            out.push(path);
        } else if ft.is_symlink() {
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => out.push(path),
                Ok(m) if m.is_dir() && follow => {
                    if let Err(e) = walk(&path, follow, out) {
                        tracing::warn!("skipping folder: {}", error_chain(&e));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}
