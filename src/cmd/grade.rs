//! `csfleak grade`: findings (automatic or reader-entered) + clinical context -> assessment.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use csfleak_criteria::{Assessment, ClinicalContext, RuleSet, assess, describe};
use csfleak_findings::{Findings, unknown_keys};

use crate::cmd::UsageError;

/// Arguments of `csfleak grade`.
#[derive(Debug, clap::Args)]
pub(crate) struct GradeArgs {
    /// findings.json (written by csfleak, or entered by a reader).
    #[arg(value_name = "FINDINGS.json")]
    findings: PathBuf,
    /// Clinical context, TOML or JSON (see `csfleak schema clinical`).
    #[arg(long, value_name = "FILE")]
    clinical: Option<PathBuf>,
    /// Reader-entered findings (findings.json shape, only what the reader entered), merged
    /// over FINDINGS: the reader's values win, the automatic ones are kept.
    #[arg(long, value_name = "FILE")]
    reader: Option<PathBuf>,
    /// Write assessment.json here (temporary file, then rename).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the assessment JSON instead of the readable summary.
    #[arg(long)]
    json: bool,
    /// Rule set (TOML) replacing the built-in one (see `csfleak schema rules`).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
}

/// An error and its sources, joined with ": " (library errors keep the cause as `source`).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(UsageError::new(e.to_string()))
}

/// Read a file; a missing file is a usage error naming it.
fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| usage(format!("could not read {what} {}: {e}", path.display())))
}

/// Read a JSON file; a syntax error is a usage error naming the file, line and column.
fn read_json(path: &Path, what: &str) -> anyhow::Result<serde_json::Value> {
    let text = read_text(path, what)?;
    serde_json::from_str(&text)
        .map_err(|e| usage(format!("{what} {} is not valid JSON: {e}", path.display())))
}

fn load_findings(args: &GradeArgs, warnings: &mut Vec<String>) -> anyhow::Result<Findings> {
    let shown = args.findings.display();
    let text = read_text(&args.findings, "findings file")?;
    // Typed parse from the text, so that errors carry the line and column.
    let findings = Findings::from_json_str(&text)
        .map_err(|e| usage(format!("findings file {shown}: {}", chain(&e))))?;
    let value: serde_json::Value = serde_json::from_str(&text)?;
    let known = serde_json::to_value(&findings)?;
    for k in unknown_keys(&value, &known) {
        warnings.push(format!("findings file: unknown key {k} ignored"));
    }
    let Some(reader_path) = &args.reader else {
        return Ok(findings);
    };
    let reader = read_json(reader_path, "reader findings file")?;
    let merged = csfleak_findings::merge_reader(&findings, &reader).map_err(|e| {
        usage(format!(
            "reader findings file {}: {}",
            reader_path.display(),
            chain(&e)
        ))
    })?;
    let (merged_value, _) = csfleak_findings::merge_values(&value, &reader);
    for k in unknown_keys(&merged_value, &serde_json::to_value(&merged)?) {
        if !k.starts_with("reader_overrides") {
            warnings.push(format!("reader findings file: unknown key {k} ignored"));
        }
    }
    Ok(merged)
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "every subcommand has the signature run(args) called from main"
)]
pub(crate) fn run(args: GradeArgs) -> anyhow::Result<ExitCode> {
    let mut input_warnings = Vec::new();
    let findings = load_findings(&args, &mut input_warnings)?;
    let clinical = match &args.clinical {
        Some(p) => ClinicalContext::from_path(p).map_err(|e| usage(chain(&e)))?,
        None => ClinicalContext::default(),
    };
    let rules = match &args.rules {
        Some(p) => RuleSet::from_path(p).map_err(|e| usage(chain(&e)))?,
        None => RuleSet::builtin(),
    };
    let mut assessment = assess(&findings, &clinical, &rules);
    if args.clinical.is_none() {
        input_warnings.push("no clinical context given (--clinical): orthostatic headache, punctures and pressure are unknown".to_owned());
    }
    assessment.warnings.splice(0..0, input_warnings);
    let mut json = serde_json::to_string_pretty(&assessment)?;
    json.push('\n');
    if let Some(out) = &args.out {
        write_atomic(out, json.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        stdout.write_all(json.as_bytes())?;
    } else if args.out.is_none() {
        stdout.write_all(summary(&assessment).as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Write to a temporary file beside `path`, then rename over it.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().map_or_else(
        || "assessment.json".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

/// The readable summary (Japanese and English grade names).
fn summary(a: &Assessment) -> String {
    let mut s = String::new();
    let m = &a.mhlw2011;
    let _ = writeln!(
        s,
        "rules: {} (same-site tolerance {} level(s), puncture/catheter tolerance {} level(s))",
        a.rules_version,
        a.parameters.same_site_tolerance_levels,
        a.parameters.puncture_tolerance_levels
    );
    let _ = writeln!(
        s,
        "MHLW 2011 脳脊髄液漏出症 (CSF leak): {}",
        describe(m.diagnosis)
    );
    for f in &m.findings {
        let lv = match (f.level_from, f.level_to) {
            (Some(x), Some(y)) if x != y => format!("{x}-{y}"),
            (Some(x), _) | (None, Some(x)) => x.to_string(),
            (None, None) => "-".to_owned(),
        };
        let side = f.side.map_or("-", |s| s.as_str());
        let _ = writeln!(
            s,
            "  {:<22} {:<8} {:<9} {:<26} {} [{}]{}",
            f.modality.en(),
            lv,
            side,
            describe(f.grade),
            f.description_en,
            f.rule_ids.join(", "),
            if f.unverified_rules.is_empty() {
                ""
            } else {
                " (unverified rule)"
            }
        );
    }
    let _ = writeln!(
        s,
        "低髄液圧症 (intracranial hypotension): {}",
        describe(m.intracranial_hypotension)
    );
    let _ = writeln!(
        s,
        "GL2007 RI positive: {} (early bladder {}, extrathecal RI {}, 24-h residual <= threshold {})",
        yes_no(a.gl2007.ri_positive),
        yes_no(a.gl2007.early_bladder),
        yes_no(a.gl2007.extrathecal_ri),
        yes_no(a.gl2007.retention_low)
    );
    let _ = writeln!(
        s,
        "ICHD-3: {} (7.2 criteria A+B: {}; fulfilled: {})",
        a.ichd3.code.as_deref().unwrap_or("no subtype"),
        yes_no(a.ichd3.criteria_7_2),
        yes_no(a.ichd3.fulfilled)
    );
    let bern = a.bern.score.map_or_else(
        || {
            format!(
                "unknown (between {} and {})",
                a.bern.score_min, a.bern.score_max
            )
        },
        |sc| format!("{sc} ({})", a.bern.band.as_deref().unwrap_or("-")),
    );
    let _ = writeln!(s, "Bern score: {bern}");
    let _ = writeln!(
        s,
        "J007-2 blood patch eligible: {}",
        yes_no(a.j007_2.eligible)
    );
    if let Some(t) = &a.j007_2.claim_text_ja {
        let _ = writeln!(s, "  {t}");
    }
    if let Some(t) = &a.j007_2.claim_text_en {
        let _ = writeln!(s, "  {t}");
    }
    let _ = writeln!(
        s,
        "next step: {} / {} [{}]",
        a.flowchart.text_ja, a.flowchart.text_en, a.flowchart.next_step
    );
    for n in &a.notes {
        let _ = writeln!(s, "note: {} / {}", n.text_ja, n.text_en);
    }
    for n in &m.not_assessable {
        let _ = writeln!(s, "not assessable: {}: {}", n.path, n.reason);
    }
    for w in &a.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}
