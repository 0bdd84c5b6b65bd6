//! `csfleak`: the command-line front end.
//!
//! The binary stays thin: argument parsing, logging, the thread pool, progress and exit codes.
//! Each subcommand lives in `cmd/<name>.rs` and returns an [`ExitCode`]: 0 all done, 1 some
//! studies or series failed (the rest are still written), 2 usage or configuration error.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the binary is where output is printed"
)]

mod cmd;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

/// Measure and grade spinal CSF leak imaging from DICOM studies.
#[derive(Debug, Parser)]
#[command(name = "csfleak", version, about, long_about = None)]
struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    /// More log output (-v info, -vv debug); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors: no log notes, progress bars or summaries on stderr (`convert` then lists
    /// only failed series on stdout).
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the studies and series in a folder (role, geometry, problems).
    Inspect(cmd::inspect::InspectArgs),
    /// Convert every series of a folder to NIfTI-1 with a JSON sidecar.
    Convert(cmd::convert::ConvertArgs),
    /// Grade findings (automatic or reader-entered) with clinical context.
    Grade(cmd::grade::GradeArgs),
    /// Print the JSON Schema of findings.json or assessment.json.
    Schema(cmd::schema::SchemaArgs),
    /// Write a synthetic DICOM study with ground truth.
    Phantom(cmd::phantom::PhantomArgs),
    /// Analyse one study: findings.json, assessment.json, report.html, overlays (NIfTI on request).
    Analyze(cmd::analyze::AnalyzeArgs),
    /// Analyse every study under a folder: one folder per study, summary.csv, errors.csv.
    Batch(cmd::batch::BatchArgs),
}

/// Set once from `--quiet` before any subcommand runs.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether `--quiet` was given: subcommands then print no progress bar, no summary line and no
/// note on stderr, only errors (their results on stdout are unchanged unless they say so).
pub(crate) fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    QUIET.store(cli.quiet, Ordering::Relaxed);
    init_logging(cli.verbose, cli.quiet);
    if let Some(n) = cli.threads {
        #[allow(
            clippy::disallowed_methods,
            reason = "the binary is the one place that sizes the global pool"
        )]
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            eprintln!("error: could not start {n} worker threads: {e}");
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Convert(a) => cmd::convert::run(a),
        Command::Grade(a) => cmd::grade::run(a),
        Command::Schema(a) => cmd::schema::run(a),
        Command::Phantom(a) => cmd::phantom::run(a),
        Command::Analyze(a) => cmd::analyze::run(a),
        Command::Batch(a) => cmd::batch::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) if cmd::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cmd::exit_code_of(&e))
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
