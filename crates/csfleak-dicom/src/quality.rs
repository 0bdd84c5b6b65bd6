//! Quality flags: caveats found while indexing or loading; the work goes on.
//!
//! Three outcomes are kept apart (architecture.md §4): an [`Error`](crate::Error) when the input
//! is unusable, a [`QualityFlag`] when it is usable with a caveat (uneven slice gaps, duplicate
//! positions, a series split because orientations differ), and nothing when all is well.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;

/// One caveat about a series or file, with the files it concerns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct QualityFlag {
    /// Stable machine-readable code, e.g. `uneven_slice_spacing`.
    pub code: &'static str,
    /// Human-readable explanation (no patient identifiers).
    pub message: String,
    /// Files concerned, relative to the scanned folder where possible.
    pub files: Vec<PathBuf>,
}

impl QualityFlag {
    /// A flag with a code, a message and the files it concerns.
    pub fn new(code: &'static str, message: impl Into<String>, files: Vec<PathBuf>) -> Self {
        Self {
            code,
            message: message.into(),
            files,
        }
    }
}

/// Collects [`QualityFlag`]s from parallel tasks (the rerun "warning reporter" pattern).
#[derive(Debug, Default)]
pub struct Reporter {
    flags: Mutex<Vec<QualityFlag>>,
}

impl Reporter {
    /// An empty reporter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a flag (callable from any rayon task).
    pub fn report(&self, flag: QualityFlag) {
        tracing::debug!(code = flag.code, "{}", flag.message);
        // A poisoned lock only means another task panicked; keep the flags gathered so far.
        let mut guard = self
            .flags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.push(flag);
    }

    /// All flags, sorted (so the order never depends on the thread schedule).
    pub fn into_sorted(self) -> Vec<QualityFlag> {
        let mut v = self
            .flags
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        v.sort();
        v
    }
}

/// Merge flags with the same code and message into one listing all their files (sorted).
pub fn merge_flags(flags: Vec<QualityFlag>) -> Vec<QualityFlag> {
    let mut map: std::collections::BTreeMap<(&'static str, String), Vec<PathBuf>> =
        std::collections::BTreeMap::new();
    for f in flags {
        map.entry((f.code, f.message)).or_default().extend(f.files);
    }
    map.into_iter()
        .map(|((code, message), mut files)| {
            files.sort();
            files.dedup();
            QualityFlag {
                code,
                message,
                files,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn reporter_output_is_sorted_whatever_the_schedule() {
        let r = Reporter::new();
        (0..50_u32).into_par_iter().for_each(|i| {
            r.report(QualityFlag::new("c", format!("{:03}", 49 - i), vec![]));
        });
        let flags = r.into_sorted();
        assert_eq!(flags.len(), 50);
        assert_eq!(flags[0].message, "000");
        assert_eq!(flags[49].message, "049");
    }

    #[test]
    fn merging_joins_files_of_identical_flags() {
        let f = |code, file: &str| QualityFlag::new(code, "m", vec![PathBuf::from(file)]);
        let merged = merge_flags(vec![f("a", "2"), f("b", "1"), f("a", "1"), f("a", "2")]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].code, "a");
        assert_eq!(
            merged[0].files,
            vec![PathBuf::from("1"), PathBuf::from("2")]
        );
    }
}
