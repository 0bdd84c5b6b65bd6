//! `csfleak analyze STUDY_DIR --out OUT`: one study -> findings.json, assessment.json,
//! report.html, overlays/*.png (and NIfTI on request).
//!
//! Exit codes: 0 all written; 1 the study was analysed but some series could not be decoded
//! (everything else is still written), or no study was found; 2 usage or configuration error
//! (bad clinical/annotations/rules file, unknown output kind, several studies in the folder).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use csfleak_criteria::{ClinicalContext, RuleSet, describe};
use csfleak_dicom::{Scanner, Study};
use csfleak_pipeline::batch::study_key;
use csfleak_pipeline::{AnalyzeOptions, Outputs, analyze_study, write_outputs};

use super::UsageError;

/// Arguments of `csfleak analyze`.
#[derive(Debug, clap::Args)]
pub(crate) struct AnalyzeArgs {
    /// Study folder (searched recursively; any file names, non-DICOM files are skipped).
    #[arg(value_name = "STUDY_DIR")]
    study: PathBuf,
    /// Output folder (created when missing; files are replaced atomically).
    #[arg(long, short, value_name = "OUT")]
    out: PathBuf,
    /// Clinical context, TOML or JSON (see `csfleak schema clinical`).
    #[arg(long, value_name = "FILE")]
    clinical: Option<PathBuf>,
    /// Reader annotations: findings.json-shaped JSON (e.g. `brain.landmarks`, corrected
    /// values); the reader's values win and the automatic ones are kept.
    #[arg(long, value_name = "FILE")]
    annotations: Option<PathBuf>,
    /// Outputs to write, comma-separated: json, html, png, nifti (or all). Evidence links in
    /// findings.json name overlays/*.png, which exist when png is written.
    #[arg(long, value_name = "LIST", default_value = "json,html,png")]
    outputs: String,
    /// Rule set (TOML) replacing the built-in one.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// De-identified output: no institution, pseudonymous UIDs (patient name, ID and birth
    /// date are never written in any case).
    #[arg(long)]
    deidentify: bool,
    /// Spinal level anchor, a level and a height: `L5/S1=-312.5` says that this vertebra or
    /// disc (e.g. `L5/S1`, `T12`) lies at patient height -312.5 mm (DICOM LPS z, + towards the
    /// head); overrides the automatic level labelling of spinal MRI and CT myelography.
    #[arg(long, value_name = "LEVEL=Z_MM")]
    level_anchor: Option<String>,
    /// Analyse this study when the folder holds several (Study Instance UID or folder key).
    #[arg(long, value_name = "UID")]
    study_uid: Option<String>,
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError::new(message))
}

/// Build the analysis options from the shared flags (used by `batch` too).
pub(crate) fn options(
    outputs: &str,
    clinical: Option<&Path>,
    annotations: Option<&Path>,
    rules: Option<&Path>,
    deidentify: bool,
    level_anchor: Option<&str>,
) -> anyhow::Result<AnalyzeOptions> {
    let outputs: Outputs = outputs
        .parse()
        .map_err(|e: String| usage(format!("--outputs: {e}")))?;
    let mut opts = AnalyzeOptions::default()
        .with_outputs(outputs)
        .with_deidentify(deidentify);
    if let Some(a) = level_anchor {
        opts = opts.with_level_anchor(
            csfleak_pipeline::parse_level_anchor(a)
                .map_err(|e| usage(format!("--level-anchor: {e}")))?,
        );
    }
    if let Some(p) = clinical {
        let c =
            ClinicalContext::from_path(p).map_err(|e| usage(csfleak_pipeline::error_chain(&e)))?;
        opts = opts.with_clinical(c);
    }
    if let Some(p) = rules {
        let r = RuleSet::from_path(p).map_err(|e| usage(csfleak_pipeline::error_chain(&e)))?;
        opts = opts.with_rules(r);
    }
    if let Some(p) = annotations {
        let text = std::fs::read_to_string(p)
            .map_err(|e| usage(format!("could not read annotations {}: {e}", p.display())))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            usage(format!(
                "annotations {} is not valid JSON: {e}",
                p.display()
            ))
        })?;
        if !v.is_object() {
            return Err(usage(format!(
                "annotations {} must be a JSON object shaped like findings.json",
                p.display()
            )));
        }
        opts = opts.with_annotations(v);
    }
    Ok(opts)
}

fn pick_study(mut studies: Vec<Study>, wanted: Option<&str>) -> anyhow::Result<Study> {
    if let Some(w) = wanted {
        let pos = studies
            .iter()
            .position(|s| s.study_instance_uid == w || study_key(&s.study_instance_uid) == w)
            .ok_or_else(|| usage(format!("no study {w} in the folder")))?;
        return Ok(studies.swap_remove(pos));
    }
    match studies.len() {
        0 => anyhow::bail!("no DICOM study found (see `csfleak inspect` for skipped files)"),
        1 => Ok(studies.swap_remove(0)),
        n => {
            let list: Vec<String> = studies
                .iter()
                .map(|s| {
                    format!(
                        "  {} ({} series, date {})",
                        study_key(&s.study_instance_uid),
                        s.series.len(),
                        s.study_date.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            Err(usage(format!(
                "the folder holds {n} studies; choose one with --study-uid KEY or use `csfleak batch`:\n{}",
                list.join("\n")
            )))
        }
    }
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "every subcommand is `run(args)`"
)]
pub(crate) fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    if !args.study.is_dir() {
        return Err(usage(format!(
            "study folder {} does not exist or is not a folder",
            args.study.display()
        )));
    }
    let opts = options(
        &args.outputs,
        args.clinical.as_deref(),
        args.annotations.as_deref(),
        args.rules.as_deref(),
        args.deidentify,
        args.level_anchor.as_deref(),
    )?;
    let t_scan = std::time::Instant::now();
    let report = Scanner::new()
        .scan(&args.study)
        .with_context(|| format!("scanning {}", args.study.display()))?;
    tracing::info!("scanned in {:.2} s", t_scan.elapsed().as_secs_f64());
    let study = pick_study(report.studies, args.study_uid.as_deref())?;
    let analysis = analyze_study(&study, &opts).context("analysing the study")?;
    let written = write_outputs(&analysis, &args.out, opts.outputs, &opts.png)
        .with_context(|| format!("writing to {}", args.out.display()))?;

    let a = &analysis.assessment;
    println!("diagnosis (MHLW 2011): {}", describe(a.mhlw2011.diagnosis));
    println!(
        "intracranial hypotension: {}",
        describe(a.mhlw2011.intracranial_hypotension)
    );
    for f in &analysis.families {
        let state = if f.measured {
            "measured"
        } else {
            "not assessable"
        };
        match &f.reason {
            Some(r) => println!("  {:<18} {state}: {r}", f.id),
            None => println!("  {:<18} {state}", f.id),
        }
    }
    for w in &analysis.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "wrote {} files to {}",
        written.files.len(),
        args.out.display()
    );
    if analysis.failed_series > 0 {
        eprintln!(
            "error: {} series could not be decoded (see the warnings above); the rest was analysed",
            analysis.failed_series
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
