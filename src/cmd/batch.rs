//! `csfleak batch ROOT --out OUT [--jobs N] [--resume]`: every study under a folder, one
//! output folder per study (named by a hash of its Study Instance UID), `summary.csv` and
//! `errors.csv`.
//!
//! Studies are found by Study Instance UID, not by folder. Each study is written to a partial
//! folder and renamed when finished (with a done marker), so a killed batch restarted with
//! `--resume` skips the finished studies and never leaves a half-written file under a final
//! name. One failing study never stops the others; the exit code is then 1.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use csfleak_dicom::Scanner;
use csfleak_pipeline::batch::{
    StudyError, analyze_into_guarded, errors_table, is_done, redact_folders, remove_partials,
    study_key, summary_table, table_paths,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::UsageError;

/// Arguments of `csfleak batch`.
#[derive(Debug, clap::Args)]
pub(crate) struct BatchArgs {
    /// Folder with any number of studies (searched recursively).
    #[arg(value_name = "ROOT")]
    root: PathBuf,
    /// Output folder: one sub-folder per study, summary.csv, errors.csv.
    #[arg(long, short, value_name = "OUT")]
    out: PathBuf,
    /// Worker threads shared by the studies (default: all cores).
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
    /// Skip studies already finished in OUT (after a crash or kill).
    #[arg(long)]
    resume: bool,
    /// Clinical context applied to every study, TOML or JSON.
    #[arg(long, value_name = "FILE")]
    clinical: Option<PathBuf>,
    /// Outputs per study, comma-separated: json, html, png, nifti (json is always written).
    #[arg(long, value_name = "LIST", default_value = "json,html,png")]
    outputs: String,
    /// Rule set (TOML) replacing the built-in one.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Spinal level anchor applied to every study, e.g. `L5/S1=-312.5` (see `csfleak
    /// analyze --help`).
    #[arg(long, value_name = "LEVEL=Z_MM")]
    level_anchor: Option<String>,
    /// De-identified output: no institution, pseudonymous UIDs (patient name, ID and birth
    /// date are never written in any case).
    #[arg(long)]
    deidentify: bool,
}

fn progress_bar(len: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:30} {pos}/{len} studies  {msg}  elapsed {elapsed}  ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "every subcommand is `run(args)`"
)]
pub(crate) fn run(args: BatchArgs) -> anyhow::Result<ExitCode> {
    if !args.root.is_dir() {
        return Err(anyhow::Error::new(UsageError::new(format!(
            "folder {} does not exist or is not a folder",
            args.root.display()
        ))));
    }
    if args.jobs == Some(0) {
        return Err(anyhow::Error::new(UsageError::new(
            "--jobs must be at least 1",
        )));
    }
    let opts = super::analyze::options(
        &args.outputs,
        args.clinical.as_deref(),
        None,
        args.rules.as_deref(),
        args.deidentify,
        args.level_anchor.as_deref(),
    )?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let removed = remove_partials(&args.out)?;
    if removed > 0 {
        eprintln!("removed {removed} unfinished study folder(s) of an earlier run");
    }

    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = args.jobs {
        builder = builder.num_threads(n);
    }
    let pool = builder.build().context("starting the worker threads")?;

    let started = Instant::now();
    let report = pool
        .install(|| Scanner::new().scan(&args.root))
        .with_context(|| format!("scanning {}", args.root.display()))?;
    let mut studies: Vec<(String, csfleak_dicom::Study)> = report
        .studies
        .into_iter()
        .map(|s| (study_key(&s.study_instance_uid), s))
        .collect();
    studies.sort_by(|a, b| a.0.cmp(&b.0));
    if studies.is_empty() {
        anyhow::bail!(
            "no DICOM study found under {} (see `csfleak inspect` for skipped files)",
            args.root.display()
        );
    }
    let keys: Vec<String> = studies.iter().map(|(k, _)| k.clone()).collect();
    let (todo, finished): (Vec<_>, Vec<_>) = studies
        .iter()
        .partition(|(k, _)| !(args.resume && is_done(&args.out, k)));

    let bar = progress_bar(keys.len() as u64);
    bar.inc(finished.len() as u64);
    bar.reset_eta();
    let failed = AtomicUsize::new(0);
    let errors: Mutex<Vec<StudyError>> = Mutex::new(Vec::new());
    let set_message = |bar: &ProgressBar| {
        let n = failed.load(Ordering::Relaxed);
        if n > 0 {
            bar.set_message(format!("{n} failed"));
        }
    };
    pool.install(|| {
        todo.par_iter().for_each(|(key, study)| {
            if let Err(e) = analyze_into_guarded(study, &args.out, key, &opts) {
                let message = redact_folders(&csfleak_pipeline::error_chain(&e), study);
                bar.println(format!("study {key}: failed: {message}"));
                failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut v) = errors.lock() {
                    v.push(StudyError {
                        key: key.clone(),
                        n_series: study.series.len(),
                        message,
                    });
                }
            }
            bar.inc(1);
            set_message(&bar);
        });
    });
    bar.finish_and_clear();

    let mut errors = errors.into_inner().unwrap_or_default();
    let (summary, read_errors) = summary_table(&args.out, &keys);
    errors.extend(read_errors);
    let (summary_path, errors_path) = table_paths(&args.out);
    summary
        .write(&summary_path)
        .with_context(|| format!("writing {}", summary_path.display()))?;
    errors_table(&errors)
        .write(&errors_path)
        .with_context(|| format!("writing {}", errors_path.display()))?;
    eprintln!(
        "{} studies: {} analysed, {} finished earlier, {} failed in {:.1} s; {} rows in {}",
        keys.len(),
        todo.len() - errors.len().min(todo.len()),
        finished.len(),
        errors.len(),
        started.elapsed().as_secs_f64(),
        summary.len(),
        summary_path.display()
    );
    if !report.skipped.is_empty() {
        eprintln!(
            "{} non-DICOM or unreadable files skipped (see `csfleak inspect`)",
            report.skipped.len()
        );
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
