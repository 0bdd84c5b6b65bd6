//! Many studies: one output folder per study named by a hash of its Study Instance UID, a done
//! marker, resumable after a crash, and the cohort tables `summary.csv` / `errors.csv`.
//!
//! A study is analysed into `OUT/.partial-<key>/`, its done marker is written last, and the
//! folder is renamed to `OUT/<key>/` in one step: a killed batch leaves either a finished
//! folder or a partial one that the next run removes, never a half-written file under a final
//! name. The tables are rebuilt from the finished folders, so a resumed batch writes the same
//! `summary.csv` as an uninterrupted one.

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use csfleak_dicom::Study;
use csfleak_findings::{Findings, Status};
use csfleak_report::csv::{Cell, Table};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::analyze::{AnalyzeOptions, analyze_study, write_outputs};
use crate::{Error, Result};

/// Name of the marker written last into a finished study folder.
pub const DONE_MARKER: &str = ".done";
const PARTIAL_PREFIX: &str = ".partial-";

/// The folder name of a study: 16 hex digits of SHA-256 over its Study Instance UID (never a
/// patient name or ID).
pub fn study_key(study_instance_uid: &str) -> String {
    let d = Sha256::digest(format!("csfleak-study:{study_instance_uid}").as_bytes());
    d.iter().take(8).fold(String::new(), |mut acc, b| {
        let _ = write!(acc, "{b:02x}");
        acc
    })
}

/// Whether `out/<key>` is a finished study folder.
pub fn is_done(out: &Path, key: &str) -> bool {
    out.join(key).join(DONE_MARKER).is_file()
}

/// Remove partial study folders left by a killed run; returns how many were removed.
pub fn remove_partials(out: &Path) -> Result<usize> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(0);
    };
    let mut n = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let p = e.path();
        if name.starts_with(PARTIAL_PREFIX) && p.is_dir() {
            std::fs::remove_dir_all(&p).map_err(|source| Error::Io { path: p, source })?;
            n += 1;
        } else if name.starts_with('.') && name.contains(".tmp-") && p.is_file() {
            // Temporary files of the atomic writers (summary.csv, errors.csv).
            let _ = std::fs::remove_file(&p);
        }
    }
    Ok(n)
}

/// Analyse one study into `out/<key>/` (through `out/.partial-<key>/` and a rename).
pub fn analyze_into(study: &Study, out: &Path, key: &str, opts: &AnalyzeOptions) -> Result<()> {
    let io = |path: &Path, source: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let partial = out.join(format!("{PARTIAL_PREFIX}{key}"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| io(&partial, e))?;
    }
    let result = (|| {
        let analysis = analyze_study(study, opts)?;
        let mut outputs = opts.outputs;
        outputs.json = true; // the tables are built from findings.json and assessment.json
        write_outputs(&analysis, &partial, outputs, &opts.png)?;
        let marker = partial.join(DONE_MARKER);
        std::fs::write(&marker, b"done\n").map_err(|e| io(&marker, e))?;
        let dest = out.join(key);
        // An earlier result is replaced; anything else in the way (a file) is not touched,
        // and the rename then fails with an error naming it.
        if dest.is_dir() {
            std::fs::remove_dir_all(&dest).map_err(|e| io(&dest, e))?;
        }
        std::fs::rename(&partial, &dest).map_err(|e| io(&dest, e))
    })();
    if result.is_err() {
        // A failed study leaves nothing behind; the next run retries it.
        let _ = std::fs::remove_dir_all(&partial);
    }
    result
}

/// [`analyze_into`], with a panic (a bug) turned into an error so that one study never stops
/// the batch.
pub fn analyze_into_guarded(
    study: &Study,
    out: &Path,
    key: &str,
    opts: &AnalyzeOptions,
) -> Result<()> {
    catch_unwind(AssertUnwindSafe(|| analyze_into(study, out, key, opts))).unwrap_or_else(|_| {
        Err(Error::Internal {
            detail: "internal error (panic) while analysing the study".to_owned(),
        })
    })
}

/// Replace the folder names of a study's files in an error message by `<dir>`: under a batch
/// root, folders are often named after the patient, and messages name files by their path
/// relative to the root.
pub fn redact_folders(message: &str, study: &Study) -> String {
    let mut names: Vec<String> = Vec::new();
    for s in &study.series {
        for i in &s.instances {
            if let Some(parent) = i.rel_path.parent() {
                for c in parent.components() {
                    let c = c.as_os_str().to_string_lossy().into_owned();
                    if c.len() >= 2 && !names.contains(&c) {
                        names.push(c);
                    }
                }
            }
        }
    }
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut out = message.to_owned();
    for n in &names {
        out = out.replace(n.as_str(), "<dir>");
    }
    out
}

/// Read `findings.json` and `assessment.json` of a finished study folder.
pub fn read_result(dir: &Path) -> Result<(Findings, Value)> {
    let read = |name: &str| -> Result<String> {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|source| Error::Io { path: p, source })
    };
    let findings =
        Findings::from_json_str(&read("findings.json")?).map_err(|e| Error::Internal {
            detail: format!("{}: {}", dir.display(), crate::error_chain(&e)),
        })?;
    let assessment: Value =
        serde_json::from_str(&read("assessment.json")?).map_err(|e| Error::Internal {
            detail: format!("{}: {e}", dir.display()),
        })?;
    Ok((findings, assessment))
}

/// The columns of `summary.csv`, in their stable order (unit-suffixed where a unit applies).
pub const SUMMARY_COLUMNS: &[&str] = &[
    "study_key",
    "study_instance_uid",
    "study_date",
    "institution_name",
    "patient_age_years",
    "n_series",
    "roles",
    "n_quality_flags",
    "mhlw2011_diagnosis",
    "mhlw2011_intracranial_hypotension",
    "mhlw2011_n_graded_findings",
    "mhlw2011_n_not_assessable",
    "bern_score",
    "bern_band",
    "bern_score_min",
    "bern_score_max",
    "gl2007_ri_positive",
    "ichd3_code",
    "j007_2_eligible",
    "spine_epidural_fluid_status",
    "spine_n_collections",
    "spine_max_thickness_mm",
    "spine_total_volume_ml",
    "spine_max_extent_mm",
    "spine_intraspinal_csf_volume_ml",
    "spine_levels_status",
    "spine_from_level",
    "spine_to_level",
    "ctm_epidural_contrast_status",
    "ctm_n_sites",
    "ctm_max_hu",
    "ctm_intrathecal_median_hu",
    "ri_status",
    "ri_retention_24h_raw_pct",
    "ri_retention_24h_decay_corrected_pct",
    "ri_early_bladder_h",
    "ri_convexity_activity_24h",
    "ri_n_accumulations",
    "brain_landmark_source",
    "brain_mamillopontine_distance_mm",
    "brain_pontomesencephalic_angle_deg",
    "brain_suprasellar_cistern_mm",
    "brain_prepontine_cistern_mm",
    "brain_tonsil_below_mcrae_mm",
    "brain_venous_distension",
    "brain_pachymeningeal_enhancement",
    "brain_subdural_fluid",
    "brain_onsd_left_mm",
    "brain_onsd_right_mm",
    "n_warnings",
    "tool_version",
    "rules_version",
];

fn status(s: Option<Status>) -> Cell {
    Cell::text(s.map(Status::as_str))
}

fn max_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.fold(None, |acc, v| Some(acc.map_or(v, |a: f64| a.max(v))))
}

fn count(n: usize) -> Cell {
    Cell::num(Some(n as f64))
}

fn at<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |cur, key| cur.get(key))
}

fn jtext(v: &Value, path: &str) -> Cell {
    match at(v, path) {
        Some(Value::String(s)) => Cell::Text(s.clone()),
        _ => Cell::Missing,
    }
}

fn jnum(v: &Value, path: &str) -> Cell {
    Cell::num(at(v, path).and_then(Value::as_f64))
}

fn jlen(v: &Value, path: &str) -> Cell {
    count(at(v, path).and_then(Value::as_array).map_or(0, Vec::len))
}

/// One `summary.csv` row (in [`SUMMARY_COLUMNS`] order).
pub fn summary_row(key: &str, f: &Findings, a: &Value) -> Vec<Cell> {
    let spine = f.spine.as_ref();
    let ef = spine.and_then(|s| s.epidural_fluid.as_ref());
    let cols = ef.map(|e| e.collections.as_slice()).unwrap_or_default();
    let counted = || cols.iter().filter(|c| c.excluded_as.is_none());
    let ctm = f.ct_myelography.as_ref();
    let ec = ctm.and_then(|c| c.epidural_contrast.as_ref());
    let ri = f.cisternography.as_ref();
    let ret = ri.and_then(|r| r.retention_24h.as_ref());
    let br = f.brain.as_ref();
    let onsd = br.and_then(|b| b.onsd_mm.as_ref());
    let mut roles: Vec<&str> = f.series.iter().filter_map(|s| s.role.as_deref()).collect();
    roles.sort_unstable();
    roles.dedup();
    let total_volume = counted()
        .filter_map(|c| c.volume_ml.map(|v| v.0))
        .fold(None, |acc: Option<f64>, v| Some(acc.unwrap_or(0.0) + v));
    vec![
        Cell::Text(key.to_owned()),
        Cell::text(f.study.study_instance_uid.clone()),
        Cell::text(f.study.study_date.as_ref().map(ToString::to_string)),
        Cell::text(f.study.institution_name.clone()),
        Cell::num(f.study.patient_age_years),
        count(f.series.len()),
        Cell::Text(roles.join(";")),
        count(f.series.iter().map(|s| s.quality_flags.len()).sum()),
        jtext(a, "mhlw2011.diagnosis"),
        jtext(a, "mhlw2011.intracranial_hypotension"),
        jlen(a, "mhlw2011.findings"),
        jlen(a, "mhlw2011.not_assessable"),
        jnum(a, "bern.score"),
        jtext(a, "bern.band"),
        jnum(a, "bern.score_min"),
        jnum(a, "bern.score_max"),
        Cell::flag(at(a, "gl2007.ri_positive").and_then(Value::as_bool)),
        jtext(a, "ichd3.code"),
        Cell::flag(at(a, "j007_2.eligible").and_then(Value::as_bool)),
        status(ef.map(|e| e.status)),
        count(counted().count()),
        Cell::num(max_of(
            counted().filter_map(|c| c.max_thickness_mm.map(|v| v.0)),
        )),
        Cell::num(total_volume),
        Cell::num(max_of(counted().filter_map(|c| c.extent_mm.map(|v| v.0)))),
        Cell::num(spine.and_then(|s| s.intraspinal_csf_volume_ml.map(|v| v.0))),
        Cell::text(spine.and_then(|s| s.levels.as_ref()).and_then(|l| {
            serde_json::to_value(l.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
        })),
        Cell::text(
            counted()
                .filter_map(|c| c.from_level)
                .min()
                .map(|l| l.to_string()),
        ),
        Cell::text(
            counted()
                .filter_map(|c| c.to_level)
                .max()
                .map(|l| l.to_string()),
        ),
        status(ec.map(|e| e.status)),
        count(ec.map_or(0, |e| e.sites.len())),
        Cell::num(max_of(
            ec.map(|e| e.sites.as_slice())
                .unwrap_or_default()
                .iter()
                .filter_map(|s| s.max_hu.map(|v| v.0)),
        )),
        Cell::num(ctm.and_then(|c| c.intrathecal_median_hu.map(|v| v.0))),
        status(ri.map(|r| r.status)),
        Cell::num(ret.and_then(|r| r.raw_pct.map(|v| v.0))),
        Cell::num(ret.and_then(|r| r.decay_corrected_pct.map(|v| v.0))),
        Cell::num(ri.and_then(|r| r.early_bladder_h.map(|v| v.0))),
        Cell::flag(ri.and_then(|r| r.convexity_activity_24h)),
        count(ri.map_or(0, |r| r.accumulations.len())),
        Cell::text(br.and_then(|b| b.landmark_source).and_then(|s| {
            serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
        })),
        Cell::num(br.and_then(|b| b.mamillopontine_distance_mm.map(|v| v.0))),
        Cell::num(br.and_then(|b| b.pontomesencephalic_angle_deg.map(|v| v.0))),
        Cell::num(br.and_then(|b| b.suprasellar_cistern_mm.map(|v| v.0))),
        Cell::num(br.and_then(|b| b.prepontine_cistern_mm.map(|v| v.0))),
        Cell::num(br.and_then(|b| b.tonsil_below_mcrae_mm.map(|v| v.0))),
        Cell::flag(br.and_then(|b| b.venous_distension)),
        Cell::flag(br.and_then(|b| b.pachymeningeal_enhancement)),
        Cell::flag(br.and_then(|b| b.subdural_fluid)),
        Cell::num(onsd.and_then(|o| o.left.map(|v| v.0))),
        Cell::num(onsd.and_then(|o| o.right.map(|v| v.0))),
        jlen(a, "warnings"),
        Cell::text(f.tool_version.clone()),
        jtext(a, "rules_version"),
    ]
}

/// A failed study for `errors.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyError {
    /// Folder key of the study.
    pub key: String,
    /// Number of series in the study.
    pub n_series: usize,
    /// The error and its causes (no patient data: files are named relative to the root).
    pub message: String,
}

/// The columns of `errors.csv`.
pub const ERROR_COLUMNS: &[&str] = &["study_key", "n_series", "error"];

/// Build `summary.csv` from the finished folders of `keys` (sorted by key) and return it with
/// the keys whose results could not be read.
pub fn summary_table(out: &Path, keys: &[String]) -> (Table, Vec<StudyError>) {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut t = Table::new(SUMMARY_COLUMNS.iter().copied());
    let mut errors = Vec::new();
    for key in sorted {
        if !is_done(out, key) {
            continue;
        }
        match read_result(&out.join(key)) {
            Ok((f, a)) => t.push(summary_row(key, &f, &a)),
            Err(e) => errors.push(StudyError {
                key: key.clone(),
                n_series: 0,
                message: crate::error_chain(&e),
            }),
        }
    }
    (t, errors)
}

/// The `errors.csv` table (sorted by key).
pub fn errors_table(errors: &[StudyError]) -> Table {
    let mut sorted: Vec<&StudyError> = errors.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut t = Table::new(ERROR_COLUMNS.iter().copied());
    for e in sorted {
        t.push(vec![
            Cell::Text(e.key.clone()),
            Cell::num(Some(e.n_series as f64)),
            Cell::Text(e.message.clone()),
        ]);
    }
    t
}

/// Paths of the two tables.
pub fn table_paths(out: &Path) -> (PathBuf, PathBuf) {
    (out.join("summary.csv"), out.join("errors.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hex_stable_and_distinct() {
        let k = study_key("1.2.840.1");
        assert_eq!(k.len(), 16);
        assert!(k.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(k, study_key("1.2.840.1"));
        assert_ne!(k, study_key("1.2.840.2"));
    }

    #[test]
    fn summary_row_matches_columns_and_reads_values() {
        let mut f = Findings::new("0.1.0");
        f.study.patient_age_years = Some(41.0);
        f.brain = Some(csfleak_findings::Brain {
            mamillopontine_distance_mm: Some(csfleak_findings::Mm(4.5)),
            ..Default::default()
        });
        let a = serde_json::json!({"mhlw2011": {"diagnosis": "確実", "findings": [{}],
            "not_assessable": []}, "bern": {"score": 5}, "rules_version": "r1"});
        let row = summary_row("abc", &f, &a);
        assert_eq!(row.len(), SUMMARY_COLUMNS.len());
        let col = |name: &str| &row[SUMMARY_COLUMNS.iter().position(|c| *c == name).unwrap()];
        assert_eq!(col("mhlw2011_diagnosis"), &Cell::Text("確実".into()));
        assert_eq!(
            col("brain_mamillopontine_distance_mm"),
            &Cell::num(Some(4.5))
        );
        assert_eq!(col("bern_score"), &Cell::num(Some(5.0)));
        assert_eq!(col("mhlw2011_n_graded_findings"), &Cell::num(Some(1.0)));
        assert_eq!(col("spine_epidural_fluid_status"), &Cell::Missing);
        // Every column name is unique and unit-suffixed names use the contract's suffixes.
        let mut names: Vec<_> = SUMMARY_COLUMNS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SUMMARY_COLUMNS.len());
    }

    #[test]
    fn spine_level_range_spans_every_counted_collection() {
        let coll = |from: &str, to: &str| csfleak_findings::EpiduralCollection {
            from_level: from.parse().ok(),
            to_level: to.parse().ok(),
            ..Default::default()
        };
        let mut f = Findings::new("0.1.0");
        f.spine = Some(csfleak_findings::Spine {
            epidural_fluid: Some(csfleak_findings::EpiduralFluid {
                status: Status::Present,
                reason: None,
                collections: vec![coll("T8", "T12/L1"), coll("C7", "T3"), coll("L1", "L3/4")],
                contrast_series_available: None,
                provenance: None,
            }),
            ..Default::default()
        });
        let row = summary_row("k", &f, &serde_json::json!({}));
        let col = |name: &str| &row[SUMMARY_COLUMNS.iter().position(|c| *c == name).unwrap()];
        assert_eq!(col("spine_from_level"), &Cell::Text("C7".into()));
        assert_eq!(col("spine_to_level"), &Cell::Text("L3/4".into()));
        assert_eq!(col("spine_n_collections"), &Cell::num(Some(3.0)));
        assert_eq!(col("spine_levels_status"), &Cell::Missing);
    }

    #[test]
    fn partials_are_removed_and_finished_folders_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".partial-aa/overlays")).unwrap();
        std::fs::create_dir_all(dir.path().join("bb")).unwrap();
        std::fs::write(dir.path().join("bb").join(DONE_MARKER), "done\n").unwrap();
        assert_eq!(remove_partials(dir.path()).unwrap(), 1);
        assert!(!dir.path().join(".partial-aa").exists());
        assert!(is_done(dir.path(), "bb"));
        assert!(!is_done(dir.path(), "aa"));
    }
}
