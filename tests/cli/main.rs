//! End-to-end tests of the `csfleak` binary: one test binary, one module per command.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] functions may panic on broken fixtures"
)]

mod analyze;
mod batch;
mod convert;
mod grade;
mod inspect;
mod phantom;

use std::path::PathBuf;
use std::process::Command;

/// The built `csfleak` binary.
pub(crate) fn csfleak() -> Command {
    Command::new(env!("CARGO_BIN_EXE_csfleak"))
}

/// The repository root (for `data-samples/`).
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
