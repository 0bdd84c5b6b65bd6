//! Write to a temporary name in the destination folder, then rename.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary sibling of `path`: hidden, unique per process and call, same folder (so the
/// final rename stays on one file system and is atomic).
fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Run `write` on a buffered temporary file next to `path`, then rename it to `path`.
///
/// On any error the temporary file is removed and `path` is left as it was. The rename makes
/// the file appear complete or not at all; it does not `fsync` (durability against power loss
/// is not a goal, a killed process is).
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temp_sibling(path);
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(&tmp).map_err(io_err)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let result = write(&mut w)
        .and_then(|()| w.flush())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(e));
    }
    Ok(())
}

/// A file being written under a temporary name; [`AtomicFile::commit`] renames it into place,
/// dropping it without a commit removes it.
pub(crate) struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Create the temporary sibling of `dest`.
    pub(crate) fn create(dest: &Path) -> Result<Self> {
        let tmp = temp_sibling(dest);
        let file = File::create(&tmp).map_err(|source| Error::Io {
            path: dest.to_path_buf(),
            source,
        })?;
        Ok(Self {
            tmp,
            dest: dest.to_path_buf(),
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// The destination path.
    pub(crate) fn dest(&self) -> &Path {
        &self.dest
    }

    /// The buffered writer.
    pub(crate) fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer
            .as_mut()
            .unwrap_or_else(|| unreachable!("the writer is only taken by commit"))
    }

    /// Flush and rename into place.
    pub(crate) fn commit(mut self) -> Result<()> {
        let io_err = |source| Error::Io {
            path: self.dest.clone(),
            source,
        };
        let result = match self.writer.take() {
            Some(mut w) => w.flush(),
            None => Ok(()),
        }
        .and_then(|()| std::fs::rename(&self.tmp, &self.dest));
        if result.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        result.map_err(io_err)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Still holding the writer means no successful commit: remove the partial file.
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.bin");
        let r = write_atomically(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn successful_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.bin");
        std::fs::write(&p, b"old").unwrap();
        write_atomically(&p, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
