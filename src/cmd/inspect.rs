//! `csfleak inspect DIR`: the studies and series in a folder, their roles, geometry and problems.
//!
//! Headers only by default; `--decode` also decodes every series (one at a time, files in
//! parallel, through the loader of `load_series` but without assembling volumes), which is the
//! ingest-only benchmark mode and reports failures per series.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use csfleak_dicom::{
    Reporter, Role, RoleMatch, RoleRules, ScanOptions, ScanReport, Scanner, Series, SeriesData,
    SeriesLayout, SliceReader, load_series,
};
use rayon::prelude::*;
use serde::Serialize;

use super::UsageError;

/// Arguments of `csfleak inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// Folder to inspect (searched recursively; any file names; non-DICOM files are skipped).
    dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also decode every series (one series at a time) and report failures.
    #[arg(long)]
    decode: bool,
    /// Site role rules (TOML) tried before the built-in ones.
    #[arg(long, value_name = "FILE")]
    roles: Option<PathBuf>,
    /// Force a role: `SERIES_UID=ROLE`, `SERIES_UID#PART=ROLE` or `SERIES_NUMBER=ROLE`
    /// (repeatable), e.g. `--role 5=ct_myelography`.
    #[arg(long = "role", value_name = "SERIES=ROLE")]
    role: Vec<String>,
}

/// The result of decoding one series with `--decode`.
#[derive(Debug, Serialize)]
struct DecodeResult {
    series_id: String,
    label: String,
    ok: bool,
    error: Option<String>,
    layout: Option<SeriesLayout>,
    voxels: usize,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct JsonOut<'a> {
    #[serde(flatten)]
    report: &'a ScanReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    decode: Option<&'a [DecodeResult]>,
}

/// One `--role` override.
struct Forced {
    selector: String,
    role: Role,
    used: bool,
}

fn parse_forced(specs: &[String]) -> Result<Vec<Forced>, UsageError> {
    specs
        .iter()
        .map(|s| {
            let (sel, role) = s.rsplit_once('=').ok_or_else(|| {
                UsageError::new(format!(
                    "--role {s}: expected SERIES=ROLE, e.g. --role 5=ct_myelography"
                ))
            })?;
            let role: Role = role
                .parse()
                .map_err(|e| UsageError::new(format!("--role {s}: {e}")))?;
            Ok(Forced {
                selector: sel.trim().to_string(),
                role,
                used: false,
            })
        })
        .collect()
}

fn selector_matches(sel: &str, s: &Series) -> bool {
    if sel == s.id || sel == s.meta.series_instance_uid {
        return true;
    }
    sel.parse::<i32>()
        .is_ok_and(|n| s.meta.series_number == Some(n))
}

pub(crate) fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let InspectArgs {
        dir,
        json,
        decode,
        roles,
        role,
    } = args;
    if !dir.exists() {
        return Err(UsageError::new(format!("{} does not exist", dir.display())).into());
    }
    let mut forced = parse_forced(&role)?;
    let rules = match &roles {
        None => RoleRules::default(),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                UsageError::new(format!("cannot read role rules {}: {e}", p.display()))
            })?;
            RoleRules::with_site_toml(&text).map_err(|e| {
                let cause = std::error::Error::source(&e)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                UsageError::new(format!("role rules {}: {e}: {cause}", p.display()))
            })?
        }
    };
    let started = Instant::now();
    let mut report = Scanner::new()
        .options(ScanOptions::default().with_rules(rules))
        .scan(&dir)
        .with_context(|| format!("scanning {}", dir.display()))?;
    let scan_secs = started.elapsed().as_secs_f64();
    for s in report.series_mut() {
        for f in &mut forced {
            if selector_matches(&f.selector, s) {
                s.role = RoleMatch {
                    role: f.role,
                    rule: "forced".into(),
                    features: s.role.features.take(),
                };
                f.used = true;
            }
        }
    }
    if let Some(f) = forced.iter().find(|f| !f.used) {
        return Err(UsageError::new(format!(
            "--role {}: no series has this UID or series number",
            f.selector
        ))
        .into());
    }

    let decoded = decode.then(|| decode_all(&report));
    let failed = decoded.as_ref().is_some_and(|d| d.iter().any(|r| !r.ok));

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        let j = JsonOut {
            report: &report,
            decode: decoded.as_deref(),
        };
        serde_json::to_writer_pretty(&mut out, &j)?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &report, decoded.as_deref(), scan_secs)?;
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Decode every series, one at a time. Series of single-frame files are decoded slice by
/// slice with [`SliceReader`] (the loader of `load_series`, same values) into one plane per
/// worker, without assembling the volume: memory stays at a few slices, and no time goes to
/// allocating and page-faulting a volume that nothing uses. Multi-frame series are loaded
/// whole (a file's frames are decoded once).
fn decode_all(report: &ScanReport) -> Vec<DecodeResult> {
    let n_images: usize = report.series().map(|s| s.slices.len()).sum();
    // On stderr, when it is a terminal and without --quiet.
    let target = if crate::quiet() {
        indicatif::ProgressDrawTarget::hidden()
    } else {
        indicatif::ProgressDrawTarget::stderr()
    };
    let bar = indicatif::ProgressBar::with_draw_target(Some(n_images as u64), target);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} images decoded  {wide_msg}")
    {
        bar.set_style(style);
    }
    let results = report
        .series()
        .map(|s| {
            bar.set_message(s.label());
            let _advance = Advance(&bar, s.slices.len() as u64);
            let t = Instant::now();
            let r = if s.instances.iter().all(|i| i.n_frames == 1) {
                decode_slices(s)
            } else {
                load_series(s).map(|l| match &l.data {
                    SeriesData::Volume(v) => (SeriesLayout::Volume, v.data().len()),
                    SeriesData::Planar(p) => (SeriesLayout::Planar, p.frames().len()),
                })
            };
            let seconds = t.elapsed().as_secs_f64();
            match r {
                Ok((layout, voxels)) => DecodeResult {
                    series_id: s.id.clone(),
                    label: s.label(),
                    ok: true,
                    error: None,
                    layout: Some(layout),
                    voxels,
                    seconds,
                },
                Err(e) => DecodeResult {
                    series_id: s.id.clone(),
                    label: s.label(),
                    ok: false,
                    error: Some(format!("{:#}", anyhow::Error::new(e))),
                    layout: None,
                    voxels: 0,
                    seconds,
                },
            }
        })
        .collect();
    bar.finish_and_clear();
    results
}

/// Advances a progress bar when dropped (after a series, whatever the outcome).
struct Advance<'a>(&'a indicatif::ProgressBar, u64);

impl Drop for Advance<'_> {
    fn drop(&mut self) {
        self.0.inc(self.1);
    }
}

/// Decode every slice of a series in parallel; the layout `load_series` would give and the
/// number of values, or the first error in slice order.
fn decode_slices(s: &Series) -> csfleak_dicom::Result<(SeriesLayout, usize)> {
    let plane = s.rows * s.cols;
    let reporter = Reporter::new();
    let results: Vec<csfleak_dicom::Result<()>> = (0..s.slices.len())
        .into_par_iter()
        .map_init(
            || (SliceReader::new(), vec![0.0_f32; plane]),
            |(reader, values), k| reader.read_slice(s, k, values, &reporter),
        )
        .collect();
    results.into_iter().collect::<csfleak_dicom::Result<()>>()?;
    let layout = match (s.layout, s.geometry) {
        (SeriesLayout::Volume, Some(_)) => SeriesLayout::Volume,
        _ => SeriesLayout::Planar,
    };
    Ok((layout, s.slices.len() * plane))
}

/// Short names of common transfer syntaxes.
fn ts_name(uid: &str) -> &str {
    match uid {
        "1.2.840.10008.1.2" => "implicit-le",
        "1.2.840.10008.1.2.1" => "explicit-le",
        "1.2.840.10008.1.2.2" => "explicit-be",
        "1.2.840.10008.1.2.1.99" => "deflate",
        "1.2.840.10008.1.2.5" => "rle",
        "1.2.840.10008.1.2.4.50" => "jpeg-baseline",
        "1.2.840.10008.1.2.4.51" => "jpeg-ext12",
        "1.2.840.10008.1.2.4.57" => "jpeg-lossless",
        "1.2.840.10008.1.2.4.70" => "jpeg-ll-sv1",
        "1.2.840.10008.1.2.4.80" => "jpeg-ls",
        "1.2.840.10008.1.2.4.81" => "jpeg-ls-near",
        "1.2.840.10008.1.2.4.90" => "j2k-lossless",
        "1.2.840.10008.1.2.4.91" => "j2k",
        "" => "no-meta",
        other => other,
    }
}

/// `text` cut and padded to exactly `width` terminal columns: CJK and other wide characters
/// count 2 (Unicode East Asian Width), combining marks 0, control characters are dropped.
/// A cut text ends with `~`.
fn fit_width(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut used = 0;
    let total: usize = text
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| c.width().unwrap_or(0))
        .sum();
    // Room for the `~` mark when the text does not fit.
    let budget = if total > width {
        width.saturating_sub(1)
    } else {
        width
    };
    for c in text.chars().filter(|c| !c.is_control()) {
        let w = c.width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        out.push(c);
        used += w;
    }
    if total > width && used < width {
        out.push('~');
        used += 1;
    }
    out.extend(std::iter::repeat_n(' ', width - used));
    out
}

fn fmt_spacing(s: &Series) -> String {
    match (s.meta.spacing_mm, s.meta.pixel_spacing_mm) {
        (Some([a, b, c]), _) => format!("{a:.3}x{b:.3}x{c:.3}"),
        (None, Some([r, c])) => format!("{c:.3}x{r:.3}"),
        (None, None) => "-".into(),
    }
}

fn print_table(
    out: &mut impl Write,
    report: &ScanReport,
    decoded: Option<&[DecodeResult]>,
    scan_secs: f64,
) -> std::io::Result<()> {
    let n_series: usize = report.studies.iter().map(|s| s.series.len()).sum();
    writeln!(
        out,
        "{} file(s): {} study(ies), {} series, {} skipped  [headers read in {scan_secs:.2} s]",
        report.n_files,
        report.studies.len(),
        n_series,
        report.skipped.len()
    )?;
    let by_id: BTreeMap<&str, &DecodeResult> = decoded
        .unwrap_or(&[])
        .iter()
        .map(|d| (d.series_id.as_str(), d))
        .collect();
    for study in &report.studies {
        writeln!(out)?;
        writeln!(
            out,
            "study {}  date {}",
            study.study_instance_uid,
            study.study_date.as_deref().unwrap_or("-")
        )?;
        writeln!(
            out,
            "  {:<6} {:<22} {:<4} {:<9} {:<13} {:<21} {:<6} {:<14} {:<24} problems",
            "series",
            "role",
            "mod",
            "plane",
            "dims",
            "spacing_mm",
            "slices",
            "transfer",
            "description"
        )?;
        for s in &study.series {
            let num = s
                .meta
                .series_number
                .map_or_else(|| "?".into(), |n| n.to_string());
            let num = if s.split_index > 0 {
                format!("{num}.{}", s.split_index)
            } else {
                num
            };
            let [c, r, k] = s.meta.dims;
            let ts: Vec<&str> = s
                .meta
                .transfer_syntaxes
                .iter()
                .map(|t| ts_name(t))
                .collect();
            let mut problems: Vec<&str> = s.flags.iter().map(|f| f.code).collect();
            problems.dedup();
            if let Some(d) = by_id.get(s.id.as_str())
                && !d.ok
            {
                problems.insert(0, "DECODE_FAILED");
            }
            let desc = fit_width(s.meta.series_description.as_deref().unwrap_or("-"), 24);
            writeln!(
                out,
                "  {:<6} {:<22} {:<4} {:<9} {:<13} {:<21} {:<6} {:<14} {} {}",
                num,
                s.role.role.as_str(),
                s.meta.modality,
                s.meta.plane.map_or("-", |p| p.as_str()),
                format!("{c}x{r}x{k}"),
                fmt_spacing(s),
                k,
                ts.join(","),
                desc,
                if problems.is_empty() {
                    "-".to_string()
                } else {
                    problems.join(",")
                }
            )?;
        }
        // Details: rules that matched, flags, decode errors.
        for s in &study.series {
            let d = by_id.get(s.id.as_str());
            let has_detail = !s.flags.is_empty() || d.is_some_and(|d| !d.ok);
            if !has_detail {
                continue;
            }
            writeln!(out, "  {} (role rule: {}):", s.label(), s.role.rule)?;
            for f in &s.flags {
                let files = if f.files.is_empty() {
                    String::new()
                } else {
                    let shown: Vec<String> = f
                        .files
                        .iter()
                        .take(3)
                        .map(|p| p.display().to_string())
                        .collect();
                    let more = f.files.len().saturating_sub(3);
                    if more > 0 {
                        format!(" [{} and {more} more]", shown.join(", "))
                    } else {
                        format!(" [{}]", shown.join(", "))
                    }
                };
                writeln!(out, "    {}: {}{}", f.code, f.message, files)?;
            }
            if let Some(d) = d
                && let Some(e) = &d.error
            {
                writeln!(out, "    decode failed: {e}")?;
            }
        }
    }
    if let Some(d) = decoded {
        let ok = d.iter().filter(|r| r.ok).count();
        let secs: f64 = d.iter().map(|r| r.seconds).sum();
        let voxels: usize = d.iter().map(|r| r.voxels).sum();
        writeln!(out)?;
        writeln!(
            out,
            "decoded {ok}/{} series, {voxels} voxels in {secs:.2} s",
            d.len()
        )?;
    }
    if !report.skipped.is_empty() {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &report.skipped {
            *counts.entry(f.reason).or_default() += 1;
        }
        let summary: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
        writeln!(out)?;
        writeln!(
            out,
            "skipped {} file(s): {}",
            report.skipped.len(),
            summary.join(", ")
        )?;
        for f in report.skipped.iter().take(20) {
            writeln!(out, "  {}: {} ({})", f.path.display(), f.reason, f.detail)?;
        }
        if report.skipped.len() > 20 {
            writeln!(
                out,
                "  ... and {} more (see --json)",
                report.skipped.len() - 20
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::fit_width;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn columns_are_counted_by_display_width() {
        // Japanese characters are 2 columns wide: the column stays 24 wide.
        let t = fit_width("腰椎 T2 脂肪抑制 矢状断", 24);
        assert_eq!(t.width(), 24, "{t:?}");
        assert!(t.starts_with("腰椎 T2 脂肪抑制"), "{t:?}");
        // Too wide: cut on a character boundary and marked, still 24 columns.
        let long = fit_width("頸椎胸椎腰椎全脊椎脂肪抑制T2強調画像矢状断", 24);
        assert_eq!(long.width(), 24, "{long:?}");
        assert!(long.trim_end().ends_with('~'), "{long:?}");
        // Plain ASCII unchanged, padded.
        assert_eq!(fit_width("T2 SAG", 8), "T2 SAG  ");
        assert_eq!(fit_width("ABCDEFGHIJ", 8), "ABCDEFG~");
        // Control characters (a stray newline or tab in a header) never break the table.
        assert_eq!(fit_width("a\nb\tc", 5), "abc  ");
    }
}
