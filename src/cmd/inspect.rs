//! `csfleak inspect` (being written; see docs/STATUS.md).

use std::process::ExitCode;

/// Arguments of `csfleak inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {}

pub(crate) fn run(_args: InspectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`csfleak inspect` is not available in this build yet")
}
