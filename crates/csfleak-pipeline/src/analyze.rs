//! One study: decode the series the applicable families need (once, in parallel, shared), run
//! the families in parallel, assemble `findings.json`, grade it, and write the outputs.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use csfleak_criteria::{Assessment, ClinicalContext, RuleSet, assess};
use csfleak_dicom::{
    LoadOptions, LoadedSeries, QualityFlag, Role, SeriesData, SeriesLoader, Study,
};
use csfleak_findings::{Date, Findings, SeriesSummary};
use csfleak_report::html::{FamilyStatus, ReportImage, ReportInput};
use csfleak_report::png::PngOptions;
use csfleak_volume::overlay::Overlay;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::family::{Family, NamedMask, SeriesInput, StudyInputs, families_for};
use crate::{Error, Result};

/// Which files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent on/off switches, one per output kind"
)]
pub struct Outputs {
    /// `findings.json` and `assessment.json`.
    pub json: bool,
    /// `report.html`.
    pub html: bool,
    /// `overlays/*.png`.
    pub png: bool,
    /// `nifti/*.nii.gz` (decoded series and measurement masks).
    pub nifti: bool,
}

impl Default for Outputs {
    /// JSON, HTML and PNG; NIfTI only on request.
    fn default() -> Self {
        Self {
            json: true,
            html: true,
            png: true,
            nifti: false,
        }
    }
}

impl FromStr for Outputs {
    type Err = String;
    /// A comma-separated list of `json`, `html`, `png`, `nifti` (or `all`).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let mut o = Self {
            json: false,
            html: false,
            png: false,
            nifti: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "json" => o.json = true,
                "html" => o.html = true,
                "png" => o.png = true,
                "nifti" => o.nifti = true,
                "all" => {
                    o = Self {
                        json: true,
                        html: true,
                        png: true,
                        nifti: true,
                    };
                }
                other => {
                    return Err(format!(
                        "unknown output {other:?} (known: json, html, png, nifti, all)"
                    ));
                }
            }
        }
        if o == (Self {
            json: false,
            html: false,
            png: false,
            nifti: false,
        }) {
            return Err("no outputs selected (known: json, html, png, nifti, all)".to_owned());
        }
        Ok(o)
    }
}

/// Options of an analysis.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AnalyzeOptions {
    /// Files to write.
    pub outputs: Outputs,
    /// Drop the institution and replace every UID by a pseudonym (patient name, ID and birth
    /// date are never written in any case).
    pub deidentify: bool,
    /// Clinical context for grading.
    pub clinical: ClinicalContext,
    /// Rule set (default: built in).
    pub rules: Option<RuleSet>,
    /// Reader annotations: findings-shaped JSON merged over the automatic findings (the reader
    /// wins, both are kept), also passed to the families (imported landmarks).
    pub annotations: Option<serde_json::Value>,
    /// PNG rendering.
    pub png: PngOptions,
    /// Series loading limits.
    pub load: LoadOptions,
    /// Spinal MRI / CT myelography settings (level anchor, thresholds).
    pub spine: csfleak_spine::SpineOptions,
}

impl AnalyzeOptions {
    /// Set the outputs.
    pub fn with_outputs(mut self, outputs: Outputs) -> Self {
        self.outputs = outputs;
        self
    }
    /// Set de-identification.
    pub fn with_deidentify(mut self, yes: bool) -> Self {
        self.deidentify = yes;
        self
    }
    /// Set the clinical context.
    pub fn with_clinical(mut self, clinical: ClinicalContext) -> Self {
        self.clinical = clinical;
        self
    }
    /// Set the rule set.
    pub fn with_rules(mut self, rules: RuleSet) -> Self {
        self.rules = Some(rules);
        self
    }
    /// Set the spinal level anchor (`--level-anchor L5/S1=z_mm`).
    pub fn with_level_anchor(mut self, anchor: csfleak_spine::LevelAnchor) -> Self {
        self.spine.level_anchor = Some(anchor);
        self
    }
    /// Set the reader annotations.
    pub fn with_annotations(mut self, annotations: serde_json::Value) -> Self {
        self.annotations = Some(annotations);
        self
    }
}

/// A decoded series kept for NIfTI output.
#[derive(Debug, Clone)]
pub struct DecodedSeries {
    /// PHI-free file stem.
    pub stem: String,
    /// The series.
    pub series: Arc<LoadedSeries>,
}

/// The result of analysing one study.
#[derive(Debug, Clone)]
pub struct StudyAnalysis {
    /// `findings.json`.
    pub findings: Findings,
    /// `assessment.json`.
    pub assessment: Assessment,
    /// Images (measurement overlays first, then one overview per decoded series).
    pub overlays: Vec<Overlay>,
    /// What each family did.
    pub families: Vec<FamilyStatus>,
    /// Pipeline warnings (series that could not be decoded...).
    pub warnings: Vec<String>,
    /// Number of series a family needed that could not be decoded.
    pub failed_series: usize,
    /// Decoded series (for NIfTI output).
    pub decoded: Vec<DecodedSeries>,
    /// Measurement masks (for NIfTI output).
    pub masks: Vec<NamedMask>,
}

/// `YYYYMMDD` (DICOM DA) or `YYYY-MM-DD` -> [`Date`].
fn parse_dicom_date(s: &str) -> Option<Date> {
    let s = s.trim();
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..]).parse().ok()
    } else {
        s.parse().ok()
    }
}

/// DICOM AS (`045Y`, `006M`, `010W`, `003D`) -> years.
pub fn parse_age_years(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: f64 = num.parse().ok()?;
    let years = match unit {
        "Y" | "y" => n,
        "M" | "m" => n / 12.0,
        "W" | "w" => n * 7.0 / 365.25,
        "D" | "d" => n / 365.25,
        _ => return None,
    };
    Some((years * 100.0).round() / 100.0)
}

/// A deterministic pseudonym UID (`2.25.<decimal>`) for a UID.
pub fn pseudonym_uid(uid: &str) -> String {
    let d = Sha256::digest(format!("csfleak-deid:{uid}").as_bytes());
    let mut b = [0_u8; 16];
    b.copy_from_slice(&d[..16]);
    // 2.25 UIDs are a UUID-sized integer; clear the top bits to keep under 2^122.
    b[0] &= 0x03;
    format!("2.25.{}", u128::from_be_bytes(b))
}

fn pseudonymise(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if k.ends_with("_instance_uid") {
                    if let serde_json::Value::String(s) = x {
                        *s = pseudonym_uid(s);
                    }
                } else if k == "institution_name" || k == "institution_address" {
                    *x = serde_json::Value::Null;
                } else {
                    pseudonymise(x);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(pseudonymise),
        _ => {}
    }
}

fn overlay_stem(prefix: &str, s: &csfleak_dicom::Series, index: usize) -> String {
    let num = s
        .meta
        .series_number
        .map_or_else(|| format!("x{index}"), |n| format!("{n:04}"));
    let part = if s.split_index > 0 {
        format!("_p{}", s.split_index)
    } else {
        String::new()
    };
    format!("{prefix}s{num}{part}_{}", s.role.role.as_str())
}

/// A middle-slice (or first-frame) overview of a decoded series.
fn overview(name: String, s: &csfleak_dicom::Series, loaded: &LoadedSeries) -> Option<Overlay> {
    let (base, spacing, what) = match &loaded.data {
        SeriesData::Volume(v) => {
            let [_, _, nk] = v.dims();
            if nk == 0 {
                return None;
            }
            let k = nk / 2;
            let sp = v.geometry().spacing_mm();
            (
                v.data().index_axis(ndarray::Axis(0), k).to_owned(),
                Some([sp[1], sp[0]]),
                format!("slice {} of {nk}", k + 1),
            )
        }
        SeriesData::Planar(p) => {
            let frame = p.frame(0)?;
            (
                frame.to_owned(),
                p.pixel_spacing_mm,
                format!("frame 1 of {}", p.n_frames()),
            )
        }
    };
    let window = Overlay::auto_window(&base);
    let title = format!(
        "Series {} ({}) {}: {what}",
        s.meta
            .series_number
            .map_or_else(|| "?".to_owned(), |n| n.to_string()),
        s.meta.modality,
        s.role.role.as_str()
    );
    let mut o = Overlay::new(name, title, base, window);
    o.pixel_spacing_mm = spacing;
    o.orientation_note = format!(
        "as stored (DICOM display orientation), {}; window {:.0}..{:.0}",
        s.meta.plane.map_or("plane unknown", |p| p.as_str()),
        window.0,
        window.1
    );
    Some(o)
}

fn flag_text(f: &QualityFlag) -> String {
    format!("{}: {}", f.code, f.message)
}

/// Walk every `evidence` entry: keep an `overlay` link only when it names an overlay of this
/// analysis (`overlays/<name>.png`, written with the `png` output); a dangling link is dropped
/// with a warning. The findings do not depend on which outputs are written.
fn check_evidence_links(
    findings: Findings,
    overlays: &[Overlay],
    warnings: &mut Vec<String>,
) -> Result<Findings> {
    fn walk(v: &mut serde_json::Value, known: &[String], dropped: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(path)) = map.get("overlay") {
                    if !known.contains(path) {
                        dropped.push(path.clone());
                        map.remove("overlay");
                    }
                }
                for x in map.values_mut() {
                    walk(x, known, dropped);
                }
            }
            serde_json::Value::Array(items) => {
                for x in items {
                    walk(x, known, dropped);
                }
            }
            _ => {}
        }
    }
    let known: Vec<String> = overlays
        .iter()
        .map(|o| format!("overlays/{}.png", o.name))
        .collect();
    let mut v = serde_json::to_value(&findings).map_err(|e| Error::Internal {
        detail: e.to_string(),
    })?;
    let mut dropped = Vec::new();
    walk(&mut v, &known, &mut dropped);
    if dropped.is_empty() {
        return Ok(findings);
    }
    for d in dropped {
        warnings.push(format!("evidence link to {d} dropped: no such overlay"));
    }
    Findings::from_value(v).map_err(|e| Error::Internal {
        detail: crate::error_chain(&e),
    })
}

/// Analyse one study with the built-in families.
pub fn analyze_study(study: &Study, opts: &AnalyzeOptions) -> Result<StudyAnalysis> {
    analyze_study_with(study, opts, &families_for(opts))
}

/// Analyse one study with the given families (in report order).
pub fn analyze_study_with(
    study: &Study,
    opts: &AnalyzeOptions,
    families: &[Box<dyn Family>],
) -> Result<StudyAnalysis> {
    // Which families apply, and which roles they need decoded.
    let bare = StudyInputs {
        series: study
            .series
            .iter()
            .map(|series| SeriesInput {
                series,
                loaded: None,
                load_error: None,
            })
            .collect(),
        annotations: opts.annotations.as_ref(),
    };
    let applicable: Vec<std::result::Result<(), String>> =
        families.iter().map(|f| f.applicable(&bare)).collect();
    let mut needed: Vec<Role> = Vec::new();
    for (f, a) in families.iter().zip(&applicable) {
        if a.is_ok() {
            needed.extend_from_slice(f.roles());
        }
    }

    // Decode each needed series once, in parallel; shared by every family.
    let t_decode = std::time::Instant::now();
    let loader = SeriesLoader::new().options(opts.load);
    let inputs: Vec<SeriesInput<'_>> = study
        .series
        .par_iter()
        .map(|series| {
            if !needed.contains(&series.role.role) {
                return SeriesInput {
                    series,
                    loaded: None,
                    load_error: None,
                };
            }
            match loader.load(series) {
                Ok(l) => SeriesInput {
                    series,
                    loaded: Some(Arc::new(l)),
                    load_error: None,
                },
                Err(e) => SeriesInput {
                    series,
                    loaded: None,
                    load_error: Some(crate::error_chain(&e)),
                },
            }
        })
        .collect();
    let study_inputs = StudyInputs {
        series: inputs,
        annotations: opts.annotations.as_ref(),
    };
    tracing::info!(
        "decoded {} series in {:.2} s",
        study_inputs
            .series
            .iter()
            .filter(|s| s.loaded.is_some())
            .count(),
        t_decode.elapsed().as_secs_f64()
    );

    // Run the families in parallel; collect in family order.
    let t_families = std::time::Instant::now();
    let outputs: Vec<crate::family::FamilyOutput> = families
        .par_iter()
        .zip(applicable.par_iter())
        .map(|(f, a)| match a {
            Ok(()) => {
                let t = std::time::Instant::now();
                let out = f.run(&study_inputs);
                tracing::info!("{} ran in {:.2} s", f.id(), t.elapsed().as_secs_f64());
                out
            }
            Err(reason) => {
                crate::family::FamilyOutput::not_assessable(f.not_assessable(reason), reason)
            }
        })
        .collect();

    tracing::info!(
        "families ran in {:.2} s",
        t_families.elapsed().as_secs_f64()
    );

    // Study and series sections.
    let tool_version = env!("CARGO_PKG_VERSION");
    let mut findings = Findings::new(tool_version);
    findings.study.study_instance_uid = Some(study.study_instance_uid.clone());
    findings.study.study_date = study.study_date.as_deref().and_then(parse_dicom_date);
    findings.study.institution_name = study
        .series
        .iter()
        .find_map(|s| s.meta.institution_name.clone());
    findings.study.patient_age_years = study
        .series
        .iter()
        .find_map(|s| s.meta.patient_age.as_deref().and_then(parse_age_years));
    let mut warnings = Vec::new();
    let mut failed_series = 0;
    for input in &study_inputs.series {
        let s = input.series;
        let mut flags: Vec<String> = s.flags.iter().map(flag_text).collect();
        if let Some(l) = &input.loaded {
            for f in &l.flags {
                let t = flag_text(f);
                if !flags.contains(&t) {
                    flags.push(t);
                }
            }
        }
        if let Some(e) = &input.load_error {
            failed_series += 1;
            let t = format!("not decoded: {e}");
            warnings.push(format!(
                "series {} ({}) could not be decoded: {e}",
                s.meta
                    .series_number
                    .map_or_else(|| "?".to_owned(), |n| n.to_string()),
                s.role.role.as_str()
            ));
            flags.push(t);
        }
        findings.series.push(SeriesSummary {
            series_instance_uid: Some(s.meta.series_instance_uid.clone()),
            series_number: s.meta.series_number.map(i64::from),
            modality: Some(s.meta.modality.clone()),
            role: Some(s.role.role.as_str().to_owned()),
            description: s.meta.series_description.clone(),
            n_images: u32::try_from(s.slices.len().max(s.meta.n_frames)).ok(),
            quality_flags: flags,
        });
    }

    let mut overlays = Vec::new();
    let mut masks = Vec::new();
    let mut family_status = Vec::new();
    for (f, out) in families.iter().zip(outputs) {
        out.section.apply(&mut findings);
        family_status.push(FamilyStatus {
            id: f.id().to_owned(),
            name_ja: f.name_ja().to_owned(),
            name_en: f.name_en().to_owned(),
            measured: out.measured,
            reason: out.reason,
        });
        overlays.extend(out.overlays);
        masks.extend(out.masks);
        for fl in out.flags {
            warnings.push(format!("{}: {}", f.id(), flag_text(&fl)));
        }
        for n in out.notes {
            warnings.push(format!("{}: {n}", f.id()));
        }
    }

    // Overviews and NIfTI stems of the decoded series.
    let mut decoded = Vec::new();
    for (i, input) in study_inputs.series.iter().enumerate() {
        if let Some(l) = &input.loaded {
            let stem = overlay_stem("", input.series, i);
            if let Some(o) = overview(format!("overview_{stem}"), input.series, l) {
                overlays.push(o);
            }
            decoded.push(DecodedSeries {
                stem,
                series: Arc::clone(l),
            });
        }
    }

    // Evidence links: each names an overlay that is written (or none).
    findings = check_evidence_links(findings, &overlays, &mut warnings)?;

    // Reader annotations, then de-identification.
    if let Some(a) = &opts.annotations {
        findings =
            csfleak_findings::merge_reader(&findings, a).map_err(|source| Error::Annotations {
                detail: crate::error_chain(&source),
            })?;
    }
    if opts.deidentify {
        let mut v = serde_json::to_value(&findings).map_err(|e| Error::Internal {
            detail: e.to_string(),
        })?;
        pseudonymise(&mut v);
        findings = Findings::from_value(v).map_err(|e| Error::Internal {
            detail: crate::error_chain(&e),
        })?;
    }

    let builtin;
    let rules = if let Some(r) = &opts.rules {
        r
    } else {
        builtin = RuleSet::builtin();
        &builtin
    };
    let assessment = assess(&findings, &opts.clinical, rules);
    Ok(StudyAnalysis {
        findings,
        assessment,
        overlays,
        families: family_status,
        warnings,
        failed_series,
        decoded,
        masks,
    })
}

/// What [`write_outputs`] wrote (paths relative to the output folder).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Files written, in writing order.
    pub files: Vec<PathBuf>,
}

fn report_err(e: &csfleak_report::Error) -> Error {
    Error::Write {
        detail: crate::error_chain(e),
    }
}

/// Write the selected outputs of an analysis into `out` (created if needed). Every file goes
/// through a temporary name and a rename.
pub fn write_outputs(
    analysis: &StudyAnalysis,
    out: &Path,
    outputs: Outputs,
    png: &PngOptions,
) -> Result<Written> {
    let io = |path: &Path, source: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let mut written = Written::default();

    // PNGs are needed for the HTML page even when not written as files.
    let t_png = std::time::Instant::now();
    let images: Vec<ReportImage> = if outputs.png || outputs.html {
        let dir = out.join("overlays");
        if outputs.png {
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        }
        let rendered: Vec<Result<ReportImage>> = analysis
            .overlays
            .par_iter()
            .map(|o| {
                let bytes = if outputs.png {
                    csfleak_report::png::write_overlay(&dir, o, png)
                } else {
                    csfleak_report::png::render_png(o, png)
                }
                .map_err(|e| report_err(&e))?;
                Ok(ReportImage {
                    name: o.name.clone(),
                    title: o.title.clone(),
                    note: o.orientation_note.clone(),
                    png: bytes,
                })
            })
            .collect();
        let images = rendered.into_iter().collect::<Result<Vec<_>>>()?;
        if outputs.png {
            written.files.extend(
                images
                    .iter()
                    .map(|i| PathBuf::from("overlays").join(format!("{}.png", i.name))),
            );
        }
        images
    } else {
        Vec::new()
    };

    tracing::info!(
        "rendered {} images in {:.2} s",
        images.len(),
        t_png.elapsed().as_secs_f64()
    );
    if outputs.nifti {
        let dir = out.join("nifti");
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let opts = csfleak_report::nifti::NiftiOptions::default();
        for d in &analysis.decoded {
            let name = format!("{}.nii.gz", d.stem);
            let path = dir.join(&name);
            match &d.series.data {
                SeriesData::Volume(v) => csfleak_report::nifti::write_volume(&path, v, &opts),
                SeriesData::Planar(p) => csfleak_report::nifti::write_planar(&path, p, &opts),
            }
            .map_err(|e| report_err(&e))?;
            written.files.push(PathBuf::from("nifti").join(name));
        }
        for m in &analysis.masks {
            let name = format!("{}.nii.gz", m.name);
            csfleak_report::nifti::write_mask(&dir.join(&name), &m.mask, &opts)
                .map_err(|e| report_err(&e))?;
            written.files.push(PathBuf::from("nifti").join(name));
        }
    }

    let assessment_value =
        serde_json::to_value(&analysis.assessment).map_err(|e| Error::Internal {
            detail: e.to_string(),
        })?;
    if outputs.json {
        let f = analysis.findings.to_json_pretty();
        csfleak_report::png::write_bytes(&out.join("findings.json"), f.as_bytes())
            .map_err(|e| report_err(&e))?;
        written.files.push("findings.json".into());
        let mut a =
            serde_json::to_string_pretty(&assessment_value).map_err(|e| Error::Internal {
                detail: e.to_string(),
            })?;
        a.push('\n');
        csfleak_report::png::write_bytes(&out.join("assessment.json"), a.as_bytes())
            .map_err(|e| report_err(&e))?;
        written.files.push("assessment.json".into());
    }
    if outputs.html {
        let t_html = std::time::Instant::now();
        csfleak_report::html::write_html(
            &out.join("report.html"),
            &ReportInput {
                findings: &analysis.findings,
                assessment: &assessment_value,
                images: &images,
                families: &analysis.families,
                warnings: &analysis.warnings,
            },
        )
        .map_err(|e| report_err(&e))?;
        written.files.push("report.html".into());
        tracing::info!(
            "wrote report.html in {:.2} s",
            t_html.elapsed().as_secs_f64()
        );
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parse() {
        let o: Outputs = "json,png".parse().unwrap();
        assert!(o.json && o.png && !o.html && !o.nifti);
        let all: Outputs = "all".parse().unwrap();
        assert!(all.nifti && all.html);
        assert!("json,pdf".parse::<Outputs>().unwrap_err().contains("pdf"));
        assert!("".parse::<Outputs>().is_err());
    }

    #[test]
    fn ages_and_dates() {
        assert_eq!(parse_age_years("045Y"), Some(45.0));
        assert_eq!(parse_age_years("006M"), Some(0.5));
        assert_eq!(parse_age_years("Y"), None);
        assert_eq!(parse_age_years(""), None);
        assert_eq!(parse_age_years("04XY"), None);
        assert_eq!(
            parse_dicom_date("20260105").map(|d| d.to_string()),
            Some("2026-01-05".to_owned())
        );
        assert_eq!(parse_dicom_date("2026010"), None);
    }

    #[test]
    fn pseudonyms_are_stable_valid_uids_and_institution_is_dropped() {
        let a = pseudonym_uid("1.2.3");
        assert_eq!(a, pseudonym_uid("1.2.3"));
        assert_ne!(a, pseudonym_uid("1.2.4"));
        assert!(a.starts_with("2.25.") && a.len() <= 64, "{a}");
        let mut v = serde_json::json!({"study": {"study_instance_uid": "1.2.3",
            "institution_name": "X"}, "series": [{"series_instance_uid": "1.2.3.4"}]});
        pseudonymise(&mut v);
        assert_eq!(v["study"]["study_instance_uid"], a);
        assert!(v["study"]["institution_name"].is_null());
        assert_ne!(v["series"][0]["series_instance_uid"], "1.2.3.4");
    }
}
