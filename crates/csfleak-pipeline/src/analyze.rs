//! One study: decode the series the applicable families need (once, in parallel, shared), run
//! the families in parallel, assemble `findings.json`, grade it, and write the outputs.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use csfleak_criteria::{Assessment, ClinicalContext, RuleSet, assess};
use csfleak_dicom::{LoadOptions, LoadedSeries, QualityFlag, SeriesData, SeriesLoader, Study};
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
    /// Decoded series, kept for NIfTI output only when [`Outputs::nifti`] was requested in the
    /// analysis options (otherwise each family's series are freed as soon as it is done).
    pub decoded: Vec<DecodedSeries>,
    /// Measurement masks (for NIfTI output).
    pub masks: Vec<NamedMask>,
    /// PNGs of [`Self::overlays`] rendered during the analysis (when images are among the
    /// outputs), reused by [`write_outputs`] when its PNG options are the same.
    pub prerendered: Option<Prerendered>,
}

/// PNG bytes rendered during an analysis, one entry per overlay (`None`: not rendered, e.g.
/// the renderer failed; [`write_outputs`] then renders it again and reports the error).
#[derive(Debug, Clone, Default)]
pub struct Prerendered {
    /// The options they were rendered with.
    pub options: PngOptions,
    /// One entry per overlay, in overlay order.
    pub png: Vec<Option<Vec<u8>>>,
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

/// A series after decoding (or the attempt), with its overview image.
struct DecodedSlot {
    /// The pixels; dropped once the readers are done unless NIfTI volumes are written.
    loaded: Option<Arc<LoadedSeries>>,
    /// Whether decoding succeeded.
    ok: bool,
    /// Caveats from loading.
    flags: Vec<QualityFlag>,
    load_error: Option<String>,
    overview: Option<Shown>,
}

/// An overlay and its PNG, rendered as soon as the overlay exists (`None` when not rendered
/// or when rendering failed: [`write_outputs`] renders it again and reports the error).
struct Shown {
    overlay: Overlay,
    png: Option<Vec<u8>>,
}

/// What one family's task produced.
struct FamilyRun {
    output: crate::family::FamilyOutput,
    pngs: Vec<Option<Vec<u8>>>,
    /// The series this family decoded itself: `(index in the study, slot)`.
    decoded: Vec<(usize, DecodedSlot)>,
}

/// Decode one series (the error chain without patient data on failure) and render its
/// overview when images are wanted.
fn decode_slot(
    loader: &SeriesLoader,
    series: &csfleak_dicom::Series,
    index: usize,
    png: Option<&PngOptions>,
) -> DecodedSlot {
    match loader.load(series) {
        Ok(l) => {
            let overview = overview(
                format!("overview_{}", overlay_stem("", series, index)),
                series,
                &l,
            )
            .map(|o| show(o, png));
            DecodedSlot {
                ok: true,
                flags: l.flags.clone(),
                loaded: Some(Arc::new(l)),
                load_error: None,
                overview,
            }
        }
        Err(e) => DecodedSlot {
            loaded: None,
            ok: false,
            flags: Vec::new(),
            load_error: Some(crate::error_chain(&e)),
            overview: None,
        },
    }
}

fn show(overlay: Overlay, png: Option<&PngOptions>) -> Shown {
    let png = png.and_then(|opts| csfleak_report::png::render_png(&overlay, opts).ok());
    Shown { overlay, png }
}

/// Analyse one study with the given families (in report order).
///
/// Scheduling: a series read by one family only is decoded inside that family's task, so a
/// family starts as soon as its own series are decoded; a series read by several families is
/// decoded once, before them, and shared. Family tasks start longest first
/// ([`Family::cost_hint`]) on the rayon pool without a barrier between decoding and measuring,
/// and each renders its overlays (and its series' overviews, while it measures) to PNG when
/// images are among the outputs. Output does not depend on the thread count or on the order in
/// which tasks finish.
pub fn analyze_study_with(
    study: &Study,
    opts: &AnalyzeOptions,
    families: &[Box<dyn Family>],
) -> Result<StudyAnalysis> {
    // Which families apply, and which series each of them reads.
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
    let readers: Vec<Vec<usize>> = study
        .series
        .iter()
        .map(|s| {
            (0..families.len())
                .filter(|&f| applicable[f].is_ok() && families[f].roles().contains(&s.role.role))
                .collect()
        })
        .collect();
    let png_opts = (opts.outputs.png || opts.outputs.html).then_some(&opts.png);
    let loader = SeriesLoader::new().options(opts.load);
    let t_all = std::time::Instant::now();

    // Series shared by several families: decoded once, first.
    let shared: Vec<(usize, DecodedSlot)> = readers
        .par_iter()
        .enumerate()
        .filter(|(_, r)| r.len() > 1)
        .map(|(i, _)| (i, decode_slot(&loader, &study.series[i], i, png_opts)))
        .collect();

    // Family tasks, longest first; each decodes its own series, measures, renders.
    let mut order: Vec<(f64, usize)> = (0..families.len())
        .filter(|&f| applicable[f].is_ok())
        .map(|f| (families[f].cost_hint(&bare), f))
        .collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let slots: Vec<std::sync::OnceLock<FamilyRun>> = families
        .iter()
        .map(|_| std::sync::OnceLock::new())
        .collect();
    let run_family = |fi: usize| -> FamilyRun {
        let f = &families[fi];
        let t = std::time::Instant::now();
        let own: Vec<usize> = (0..study.series.len())
            .filter(|&i| readers[i].len() == 1 && readers[i][0] == fi)
            .collect();
        let decoded: Vec<(usize, DecodedSlot)> = own
            .par_iter()
            .map(|&i| (i, decode_slot(&loader, &study.series[i], i, None)))
            .collect();
        let t_decode = t.elapsed().as_secs_f64();
        let view = StudyInputs {
            series: study
                .series
                .iter()
                .enumerate()
                .map(|(i, series)| {
                    let slot = decoded
                        .iter()
                        .chain(&shared)
                        .find(|(j, _)| *j == i)
                        .map(|(_, d)| d);
                    SeriesInput {
                        series,
                        loaded: slot.and_then(|d| d.loaded.clone()),
                        load_error: slot.and_then(|d| d.load_error.clone()),
                    }
                })
                .collect(),
            annotations: opts.annotations.as_ref(),
        };
        // Overviews of this family's series are rendered while it measures.
        let t_run = std::time::Instant::now();
        let (output, decoded) = rayon::join(
            || f.run(&view),
            || {
                let mut decoded = decoded;
                if !opts.outputs.nifti {
                    // Freed when the family is done with them (`view` holds the last clones).
                    for (_, d) in &mut decoded {
                        d.loaded = None;
                    }
                }
                if let Some(png) = png_opts {
                    decoded.par_iter_mut().for_each(|(_, d)| {
                        if let Some(o) = d.overview.as_mut() {
                            o.png = csfleak_report::png::render_png(&o.overlay, png).ok();
                        }
                    });
                }
                decoded
            },
        );
        let run_s = t_run.elapsed().as_secs_f64();
        drop(view);
        let pngs: Vec<Option<Vec<u8>>> = match png_opts {
            Some(png) => output
                .overlays
                .par_iter()
                .map(|o| csfleak_report::png::render_png(o, png).ok())
                .collect(),
            None => output.overlays.iter().map(|_| None).collect(),
        };
        tracing::info!(
            "{}: decoded {} series in {t_decode:.2} s, ran in {run_s:.2} s, {} overlays rendered; {:.2} s in all",
            f.id(),
            decoded.iter().filter(|(_, d)| d.ok).count(),
            pngs.len(),
            t.elapsed().as_secs_f64()
        );
        FamilyRun {
            output,
            pngs,
            decoded,
        }
    };
    rayon::scope_fifo(|scope| {
        for &(_, fi) in &order {
            let slot = &slots[fi];
            let run_family = &run_family;
            scope.spawn_fifo(move |_| {
                let _ = slot.set(run_family(fi));
            });
        }
    });
    tracing::info!(
        "families (decode, measure, render) in {:.2} s",
        t_all.elapsed().as_secs_f64()
    );
    let mut shared = shared;
    if !opts.outputs.nifti {
        for (_, d) in &mut shared {
            d.loaded = None;
        }
    }
    let mut runs: Vec<Option<FamilyRun>> = slots
        .into_iter()
        .map(std::sync::OnceLock::into_inner)
        .collect();

    // Every decoded series, in study order.
    let mut by_series: Vec<Option<DecodedSlot>> = study.series.iter().map(|_| None).collect();
    for (i, d) in shared.into_iter().chain(
        runs.iter_mut()
            .flatten()
            .flat_map(|r| std::mem::take(&mut r.decoded)),
    ) {
        by_series[i] = Some(d);
    }
    let outputs: Vec<(crate::family::FamilyOutput, Vec<Option<Vec<u8>>>)> = families
        .iter()
        .zip(&applicable)
        .zip(runs)
        .map(|((f, a), run)| match (a, run) {
            (Ok(()), Some(r)) => Ok((r.output, r.pngs)),
            (Ok(()), None) => Err(Error::Internal {
                detail: format!("family {} produced no result", f.id()),
            }),
            (Err(reason), _) => Ok((
                crate::family::FamilyOutput::not_assessable(f.not_assessable(reason), reason),
                Vec::new(),
            )),
        })
        .collect::<Result<_>>()?;

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
    for (s, slot) in study.series.iter().zip(&by_series) {
        let mut flags: Vec<String> = s.flags.iter().map(flag_text).collect();
        for f in slot.iter().flat_map(|d| &d.flags) {
            let t = flag_text(f);
            if !flags.contains(&t) {
                flags.push(t);
            }
        }
        if let Some(e) = slot.as_ref().and_then(|d| d.load_error.as_ref()) {
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
    let mut rendered = Vec::new();
    let mut masks = Vec::new();
    let mut family_status = Vec::new();
    for (f, (out, pngs)) in families.iter().zip(outputs) {
        out.section.apply(&mut findings);
        family_status.push(FamilyStatus {
            id: f.id().to_owned(),
            name_ja: f.name_ja().to_owned(),
            name_en: f.name_en().to_owned(),
            measured: out.measured,
            reason: out.reason,
        });
        rendered.extend(
            pngs.into_iter()
                .chain(std::iter::repeat_with(|| None))
                .take(out.overlays.len()),
        );
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
    for (i, slot) in by_series.into_iter().enumerate() {
        let Some(d) = slot else { continue };
        if let Some(o) = d.overview {
            overlays.push(o.overlay);
            rendered.push(o.png);
        }
        if let Some(l) = d.loaded {
            decoded.push(DecodedSeries {
                stem: overlay_stem("", &study.series[i], i),
                series: l,
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
        prerendered: png_opts.map(|png| Prerendered {
            options: *png,
            png: rendered,
        }),
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
        let cached = analysis
            .prerendered
            .as_ref()
            .filter(|p| p.options == *png && p.png.len() == analysis.overlays.len());
        let rendered: Vec<Result<ReportImage>> = analysis
            .overlays
            .par_iter()
            .enumerate()
            .map(|(i, o)| {
                let bytes = match cached.and_then(|c| c.png[i].clone()) {
                    Some(b) => b,
                    None => csfleak_report::png::render_png(o, png).map_err(|e| report_err(&e))?,
                };
                if outputs.png {
                    csfleak_report::png::write_rendered(&dir, o, &bytes)
                        .map_err(|e| report_err(&e))?;
                }
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
