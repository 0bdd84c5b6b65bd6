//! Geometry and values against the field's reference converter, dcm2niix.
//!
//! For synthetic series (oblique, non-square pixels, reversed slice order, shuffled file names,
//! rescaled values, an Enhanced MR multi-frame; written by `scripts/bench/gen_series.py`) and
//! for the MR/CT series of the pydicom corpus (`scripts/fetch-testdata.sh`), run
//! `csfleak convert` and `dcm2niix -z n`, then compare with nibabel
//! (`scripts/bench/compare_nifti.py`): the same world (RAS) position for every voxel centre
//! within 1e-3 mm, and the same value at the same world position. dcm2niix flips rows, so
//! raw matrices differ; positions must not.
//!
//! Needs dcm2niix and the venv `.cache/venv` (both from `scripts/setup-test-deps.sh`). Without
//! them the tests print SKIPPED and pass, unless `CI=true`, where they fail.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the comparison table is the test's report"
)]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Print a loud skip, or fail under CI.
fn skip(reason: &str) {
    assert!(
        !in_ci(),
        "{reason}; CI=true, so the dcm2niix check must run (scripts/setup-test-deps.sh)"
    );
    eprintln!("\n*** SKIPPED dcm2niix geometry check: {reason}.");
    eprintln!("*** Run scripts/setup-test-deps.sh (and scripts/fetch-testdata.sh) to enable it.\n");
}

struct Tools {
    python: PathBuf,
}

fn tools() -> Result<Tools, String> {
    let d = Command::new("dcm2niix").arg("-v").output();
    if d.is_err() {
        return Err("dcm2niix is not installed".into());
    }
    let python = repo_root().join(".cache/venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import nibabel, numpy, pydicom"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err(format!(
            "{} with nibabel, numpy and pydicom is missing",
            python.display()
        ));
    }
    Ok(Tools { python })
}

/// One compared csfleak output (a JSON object from `compare_nifti.py`).
struct Row(Value);

impl Row {
    fn str(&self, key: &str) -> String {
        match &self.0[key] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            v => v.to_string(),
        }
    }
    fn ok(&self) -> Option<bool> {
        self.0["ok"].as_bool()
    }
    fn flags(&self) -> Vec<String> {
        self.0["flags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Convert one folder with both tools and compare.
fn run_case(tools: &Tools, case: &str, dicom: &Path, work: &Path, compress: bool) -> Vec<Row> {
    let ours = work.join("ours").join(case);
    let theirs = work.join("theirs").join(case);
    std::fs::create_dir_all(&ours).unwrap();
    std::fs::create_dir_all(&theirs).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_csfleak"));
    cmd.arg("convert").arg(dicom).arg("--out").arg(&ours);
    if !compress {
        cmd.arg("--no-compress");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "csfleak convert failed on {case}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let d = Command::new("dcm2niix")
        .args(["-z", "n", "-b", "y", "-f", "%s_%d", "-o"])
        .arg(&theirs)
        .arg(dicom)
        .output()
        .unwrap();
    if !d.status.success() {
        // Judged by the caller (no reference output); dcm2niix's Debian build lacks some codecs.
        eprintln!("note: dcm2niix exited with {} on {case}", d.status);
    }
    let cmp = Command::new(&tools.python)
        .arg(repo_root().join("scripts/bench/compare_nifti.py"))
        .arg(&ours)
        .arg(&theirs)
        .arg(case)
        .output()
        .unwrap();
    assert!(
        cmp.status.success(),
        "compare_nifti.py failed: {}",
        String::from_utf8_lossy(&cmp.stderr)
    );
    String::from_utf8_lossy(&cmp.stdout)
        .lines()
        .map(|l| Row(serde_json::from_str(l).unwrap()))
        .collect()
}

fn print_table(title: &str, rows: &[(Row, &'static str)]) {
    println!("\n{title}");
    println!(
        "{:<28} {:<44} {:<12} {:>10} {:>10}  verdict",
        "case", "csfleak output", "dims", "max_mm", "max_diff"
    );
    for (r, verdict) in rows {
        let dims = r.0["dims"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("x")
            })
            .unwrap_or_default();
        let num = |k: &str| r.0[k].as_f64().map_or("-".into(), |x| format!("{x:.2e}"));
        let note = r.str("note");
        println!(
            "{:<28} {:<44} {:<12} {:>10} {:>10}  {verdict}{}",
            r.str("case"),
            r.str("ours"),
            dims,
            num("max_mm"),
            num("max_value_diff"),
            if note.is_empty() {
                String::new()
            } else {
                format!(" ({note})")
            }
        );
    }
}

#[test]
fn synthetic_series_agree_with_dcm2niix() {
    let tools = match tools() {
        Ok(t) => t,
        Err(e) => return skip(&e),
    };
    let work = tempfile::tempdir().unwrap();
    let dicom = work.path().join("dicom");
    let gen_out = Command::new(&tools.python)
        .arg(repo_root().join("scripts/bench/gen_series.py"))
        .arg("geometry")
        .arg(&dicom)
        .output()
        .unwrap();
    assert!(
        gen_out.status.success(),
        "gen_series.py failed: {}",
        String::from_utf8_lossy(&gen_out.stderr)
    );
    let cases: Vec<String> = String::from_utf8_lossy(&gen_out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(cases.len() >= 5, "generator made {cases:?}");
    let mut rows = Vec::new();
    for case in &cases {
        let r = run_case(&tools, case, &dicom.join(case), work.path(), true);
        assert_eq!(r.len(), 1, "{case}: expected one series, got {}", r.len());
        rows.extend(r);
    }
    let judged: Vec<(Row, &'static str)> = rows
        .into_iter()
        .map(|r| {
            let v = if r.ok() == Some(true) {
                "agree"
            } else {
                "DIFFER"
            };
            (r, v)
        })
        .collect();
    print_table("synthetic series: csfleak vs dcm2niix", &judged);
    let bad: Vec<String> = judged
        .iter()
        .filter(|(_, v)| *v != "agree")
        .map(|(r, _)| r.0.to_string())
        .collect();
    assert!(
        bad.is_empty(),
        "disagreements with dcm2niix:\n{}",
        bad.join("\n")
    );
    // Our own header, read by nibabel: scanner-anat codes, qform == sform.
    for (r, _) in &judged {
        let h = &r.0["own_header"];
        assert_eq!(h["sform_code"], 1, "{}", r.0);
        assert_eq!(h["qform_code"], 1, "{}", r.0);
        assert!(h["qform_vs_sform_mm"].as_f64().unwrap() < 1e-3, "{}", r.0);
    }
}

/// Quality flags under which csfleak and dcm2niix differ by design: a series NIfTI cannot hold
/// as one regular grid (csfleak splits or flags it; dcm2niix stacks or resamples).
const EXPLAINED: &[&str] = &[
    "missing_slices",
    "uneven_slice_spacing",
    "mixed_orientation",
    "duplicate_positions",
    "gantry_tilt",
];

#[test]
fn pydicom_corpus_series_agree_with_dcm2niix() {
    let tools = match tools() {
        Ok(t) => t,
        Err(e) => return skip(&e),
    };
    let corpus = repo_root().join(".cache/testdata/files/pydicom/test_files/dicomdirtests");
    if !corpus.is_dir() {
        return skip(&format!(
            "{} is missing (scripts/fetch-testdata.sh)",
            corpus.display()
        ));
    }
    // The MR and CT series folders of the corpus (CR and DICOMDIR-only folders are not 3D).
    let folders = [
        "77654033/CT2",
        "98892001/CT2N",
        "98892001/CT5N",
        "98892003/MR1",
        "98892003/MR2",
        "98892003/MR700",
    ];
    // Single MR/CT files (one case folder each): transfer syntaxes, byte orders, padding.
    let files = [
        "pydicom/test_files/CT_small.dcm",
        "pydicom/test_files/MR_small.dcm",
        "pydicom/test_files/MR_small_RLE.dcm",
        "pydicom/test_files/MR_small_bigendian.dcm",
        "pydicom/test_files/MR_small_implicit.dcm",
        "pydicom/test_files/MR_small_jp2klossless.dcm",
        "pydicom/test_files/MR_small_padded.dcm",
        "pydicom/test_files/liver_1frame.dcm",
        "pydicom-data/MR2_UNCR.dcm",
        "pydicom-data/MR2_J2KR.dcm",
        "pydicom-data/liver.dcm",
        "pydicom-data/MR-SIEMENS-DICOM-WithOverlays.dcm",
    ];
    let work = tempfile::tempdir().unwrap();
    let files_root = repo_root().join(".cache/testdata/files");
    let mut cases: Vec<(String, PathBuf)> = folders
        .iter()
        .map(|f| (f.replace('/', "_"), corpus.join(f)))
        .collect();
    for f in files {
        let src = files_root.join(f);
        if !src.is_file() {
            continue;
        }
        let name = Path::new(f)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let dir = work.path().join("single").join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&src, dir.join(Path::new(f).file_name().unwrap())).unwrap();
        cases.push((name, dir));
    }
    let mut judged = Vec::new();
    for (case, dir) in &cases {
        let theirs_dir = work.path().join("theirs").join(case);
        for r in run_case(&tools, case, dir, work.path(), false) {
            let flags = r.flags();
            let dcm2niix_made_nothing = std::fs::read_dir(&theirs_dir).map_or(true, |d| {
                !d.filter_map(Result::ok)
                    .any(|e| e.path().extension().is_some_and(|x| x == "nii"))
            });
            let verdict = match r.ok() {
                Some(true) => "agree",
                None => "not 3D (planar)",
                Some(false) if dcm2niix_made_nothing => "dcm2niix could not convert it",
                Some(false) if flags.iter().any(|c| EXPLAINED.contains(&c.as_str())) => {
                    "differ, explained by a quality flag"
                }
                Some(false) => "DIFFER",
            };
            judged.push((r, verdict));
        }
    }
    print_table("pydicom corpus: csfleak vs dcm2niix", &judged);
    for (r, v) in &judged {
        if v.starts_with("differ") {
            println!("  {}: flags {:?}", r.str("ours"), r.flags());
        }
    }
    let agree = judged.iter().filter(|(_, v)| *v == "agree").count();
    let differ: Vec<String> = judged
        .iter()
        .filter(|(_, v)| *v == "DIFFER")
        .map(|(r, _)| r.0.to_string())
        .collect();
    println!(
        "corpus: {agree} agree, {} explained, {} differ",
        judged.len() - agree - differ.len(),
        differ.len()
    );
    assert!(
        differ.is_empty(),
        "disagreements with dcm2niix:\n{}",
        differ.join("\n")
    );
    assert!(agree >= 20, "only {agree} series compared equal");
}
