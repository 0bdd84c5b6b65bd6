//! `csfleak phantom` (being written; see docs/STATUS.md).

use std::process::ExitCode;

/// Arguments of `csfleak phantom`.
#[derive(Debug, clap::Args)]
pub(crate) struct PhantomArgs {}

pub(crate) fn run(_args: PhantomArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`csfleak phantom` is not available in this build yet")
}
