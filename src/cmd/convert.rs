//! `csfleak convert` (being written; see docs/STATUS.md).

use std::process::ExitCode;

/// Arguments of `csfleak convert`.
#[derive(Debug, clap::Args)]
pub(crate) struct ConvertArgs {}

pub(crate) fn run(_args: ConvertArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`csfleak convert` is not available in this build yet")
}
