//! `csfleak grade` and `csfleak schema` end to end.

use std::path::PathBuf;

use crate::{csfleak, repo_root};

fn fixture(name: &str) -> PathBuf {
    repo_root()
        .join("crates/csfleak-criteria/tests/fixtures")
        .join(name)
}

fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

#[test]
fn grade_prints_a_readable_summary() {
    let out = csfleak()
        .args(["grade"])
        .arg(fixture("findings_ri_mri.json"))
        .arg("--clinical")
        .arg(fixture("clinical.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8(out.stdout).unwrap();
    // RI-1 (強疑) and spinal MRI (強疑) at the same site -> 確実 [U]
    assert!(
        s.contains("脳脊髄液漏出症 (CSF leak): 確実 (definite)"),
        "{s}"
    );
    assert!(s.contains("J007-2 blood patch eligible: yes"), "{s}");
    assert!(s.contains("撮影医療機関：Example Hospital"), "{s}");
    assert!(s.contains("unverified rule MHLW2011-DX-same-site"), "{s}");
}

#[test]
fn grade_json_and_out_write_the_same_assessment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("assessment.json");
    let out = csfleak()
        .arg("grade")
        .arg(fixture("findings_ri_mri.json"))
        .arg("--clinical")
        .arg(fixture("clinical.toml"))
        .arg("--out")
        .arg(&path)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = stdout_json(&out);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(printed, written);
    assert_eq!(written["schema_version"], "1");
    assert_eq!(written["mhlw2011"]["diagnosis"], "確実");
    assert_eq!(written["gl2007"]["ri_positive"], true);
    assert_eq!(written["j007_2"]["eligible"], true);
    assert_eq!(written["ichd3"]["code"], "7.2.3");
    assert_eq!(
        written["flowchart"]["next_step"],
        "treat_bed_rest_or_blood_patch"
    );
    // no temporary file left behind
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("assessment.json")]);
}

#[test]
fn grade_out_alone_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.json");
    let out = csfleak()
        .arg("grade")
        .arg(fixture("findings_ri_mri.json"))
        .arg("--out")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // without clinical context orthostatic headache is unknown: eligibility undetermined
    assert_eq!(a["j007_2"]["eligible"], serde_json::Value::Null);
    assert!(
        a["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("--clinical"))
    );
}

#[test]
fn reader_entries_win_and_the_automatic_value_is_kept() {
    let out = csfleak()
        .arg("grade")
        .arg(fixture("findings_ri_mri.json"))
        .arg("--reader")
        .arg(fixture("reader.json"))
        .arg("--clinical")
        .arg(fixture("clinical.toml"))
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = stdout_json(&out);
    // the reader saw no convexity activity: RI-1 + circulation failure -> 確実 on its own [V]
    let ri = a["mhlw2011"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["modality"] == "ri_cisternography")
        .unwrap();
    assert_eq!(ri["grade"], "確実");
    assert_eq!(ri["provenance"]["source"], "reader");
    let o = a["reader_overrides"].as_array().unwrap();
    let conv = o
        .iter()
        .find(|o| o["path"] == "cisternography.convexity_activity_24h")
        .unwrap();
    assert_eq!(conv["automatic"], true);
    assert_eq!(conv["reader"], false);
}

#[test]
fn rules_file_overrides_the_builtin_set() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    let text = csfleak_default_rules().replace(
        "same_site_tolerance_levels = 1",
        "same_site_tolerance_levels = 0",
    );
    std::fs::write(&rules, text).unwrap();
    let out = csfleak()
        .arg("grade")
        .arg(fixture("findings_ri_mri.json"))
        .arg("--rules")
        .arg(&rules)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = stdout_json(&out);
    assert_eq!(a["parameters"]["same_site_tolerance_levels"], 0);
    // T12 lies inside T11-L2, so the pair still holds at tolerance 0
    assert_eq!(a["mhlw2011"]["diagnosis"], "確実");
}

fn csfleak_default_rules() -> String {
    std::fs::read_to_string(repo_root().join("crates/csfleak-criteria/rules/default.toml"))
        .expect("built-in rule file")
}

#[test]
fn bad_inputs_exit_2_naming_file_and_field() {
    let cases: [(Vec<PathBuf>, &[&str]); 4] = [
        (
            vec![
                fixture("findings_ri_mri.json"),
                "--clinical".into(),
                fixture("clinical_typo.toml"),
            ],
            &["clinical_typo.toml", "opening_presure_mmh2o"],
        ),
        (
            vec![fixture("findings_bad_level.json")],
            &["findings_bad_level.json", "L9"],
        ),
        (
            vec![fixture("does_not_exist.json")],
            &["does_not_exist.json"],
        ),
        (
            vec![
                fixture("findings_ri_mri.json"),
                "--rules".into(),
                fixture("clinical.toml"),
            ],
            &["clinical.toml", "rules_version"],
        ),
    ];
    for (args, needles) in cases {
        let out = csfleak().arg("grade").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        for n in needles {
            assert!(err.contains(n), "stderr lacks {n}: {err}");
        }
    }
}

#[test]
fn schema_prints_findings_and_assessment_schemas() {
    for (doc, keys) in [
        (
            "findings",
            &[
                "schema_version",
                "epidural_fluid",
                "at_puncture_site",
                "retention_24h",
                "mamillopontine_distance_mm",
            ][..],
        ),
        (
            "assessment",
            &[
                "mhlw2011",
                "intracranial_hypotension",
                "ri_positive",
                "claim_text_ja",
                "next_step",
                "unverified_rules",
            ][..],
        ),
        (
            "clinical",
            &[
                "orthostatic_headache",
                "opening_pressure_mmh2o",
                "intrathecal_catheter",
            ][..],
        ),
    ] {
        let out = csfleak().args(["schema", doc]).output().unwrap();
        assert!(out.status.success(), "{doc}");
        let v = stdout_json(&out);
        assert!(v["$schema"].is_string(), "{doc}");
        let text = v.to_string();
        for k in keys {
            assert!(text.contains(k), "{doc} schema lacks {k}");
        }
    }
    let out = csfleak().args(["schema", "nonsense"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unknown_findings_keys_are_warned_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("findings.json");
    std::fs::write(
        &f,
        r#"{"schema_version": "1", "brain": {"mamillopontine_distanse_mm": 4.0}}"#,
    )
    .unwrap();
    let out = csfleak()
        .arg("grade")
        .arg(&f)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success());
    let a = stdout_json(&out);
    let w = a["warnings"].to_string();
    assert!(
        w.contains("unknown key brain.mamillopontine_distanse_mm"),
        "{w}"
    );
}
