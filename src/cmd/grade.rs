//! `csfleak grade` (being written; see docs/STATUS.md).

use std::process::ExitCode;

/// Arguments of `csfleak grade`.
#[derive(Debug, clap::Args)]
pub(crate) struct GradeArgs {}

pub(crate) fn run(_args: GradeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`csfleak grade` is not available in this build yet")
}
