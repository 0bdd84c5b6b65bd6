//! `csfleak schema` (being written; see docs/STATUS.md).

use std::process::ExitCode;

/// Arguments of `csfleak schema`.
#[derive(Debug, clap::Args)]
pub(crate) struct SchemaArgs {}

pub(crate) fn run(_args: SchemaArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`csfleak schema` is not available in this build yet")
}
