//! `csfleak schema`: print the published JSON Schema of an input or output file.

use std::io::Write;
use std::process::ExitCode;

/// Which document.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Document {
    /// `findings.json`.
    Findings,
    /// `assessment.json`.
    Assessment,
    /// The clinical context (`--clinical FILE` of `csfleak grade`).
    Clinical,
    /// A rule set (`--rules FILE` of `csfleak grade`).
    Rules,
}

/// Arguments of `csfleak schema`.
#[derive(Debug, clap::Args)]
pub(crate) struct SchemaArgs {
    /// The document whose schema to print.
    #[arg(value_enum)]
    document: Document,
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "every subcommand has the signature run(args) called from main"
)]
pub(crate) fn run(args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let schema = match args.document {
        Document::Findings => csfleak_findings::findings_schema(),
        Document::Assessment => csfleak_criteria::assessment_schema(),
        Document::Clinical => csfleak_criteria::clinical_schema(),
        Document::Rules => csfleak_criteria::rules_schema(),
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &schema)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}
