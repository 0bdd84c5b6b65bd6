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
}
