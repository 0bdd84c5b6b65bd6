//! `csfleak inspect` end to end.

use std::path::Path;

use csfleak_phantom::{CtParams, MrParams, SeriesSpec, StudyContext, write_volume_series};
use csfleak_volume::{Geometry, PointLps, VecLps, Volume};

use crate::csfleak;

/// A small study: a sagittal fat-sat T2 of the lumbar spine, an axial CT, a text file.
#[allow(
    clippy::unwrap_used,
    reason = "test helper: a failure should abort the test"
)]
fn write_study(dir: &Path) -> StudyContext {
    let ctx = StudyContext::new(11);
    let sag = Geometry::from_dicom(
        [8, 10, 4],
        PointLps([-6.0, -40.0, 30.0]),
        [0.0, 1.0, 0.0, 0.0, 0.0, -1.0],
        [1.0, 0.9],
        VecLps([4.0, 0.0, 0.0]),
    )
    .unwrap();
    let mut v = Volume::zeros(sag).unwrap();
    v.data_mut().fill(100.0);
    let spec = SeriesSpec::mr(3, "t2fs_sag", "T2 FS SAG L-SPINE", MrParams::t2_fs_tse())
        .with_body_part("LSPINE");
    write_volume_series(&dir.join("mr"), &ctx, &spec, &v).unwrap();
    let ax = Geometry::from_dicom(
        [6, 6, 5],
        PointLps([-3.0, -3.0, 0.0]),
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        [0.5, 0.5],
        VecLps([0.0, 0.0, 2.0]),
    )
    .unwrap();
    let mut c = Volume::zeros(ax).unwrap();
    c.data_mut().fill(40.0);
    let ct = SeriesSpec::ct(5, "ct", "L-SPINE AXIAL", CtParams::default());
    write_volume_series(&dir.join("ct"), &ctx, &ct, &c).unwrap();
    std::fs::write(dir.join("README.txt"), "exported by a PACS").unwrap();
    ctx
}

#[test]
fn table_lists_roles_geometry_and_skipped_files() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = write_study(dir.path());
    let out = csfleak().arg("inspect").arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("spinal_t2_fs_sagittal"), "{text}");
    assert!(text.contains("ct_myelography"), "{text}");
    assert!(text.contains("8x10x4"), "{text}");
    assert!(text.contains("skipped 1 file(s): 1 not_dicom"), "{text}");
    assert!(text.contains("README.txt"), "{text}");
    assert!(!text.contains(&ctx.patient_name), "patient name leaked");
}

#[test]
fn json_forced_role_and_decode() {
    let dir = tempfile::tempdir().unwrap();
    write_study(dir.path());
    let out = csfleak()
        .args(["inspect", "--json", "--decode", "--role", "5=other"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["n_files"], 10);
    let series = j["studies"][0]["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    let ct = series
        .iter()
        .find(|s| s["meta"]["modality"] == "CT")
        .unwrap();
    assert_eq!(ct["role"]["role"], "other");
    assert_eq!(ct["role"]["rule"], "forced");
    let mr = series
        .iter()
        .find(|s| s["meta"]["modality"] == "MR")
        .unwrap();
    assert_eq!(mr["role"]["features"]["fat_sat"], true);
    assert_eq!(mr["role"]["features"]["weighting"], "t2");
    assert_eq!(
        mr["role"]["features"]["regions"],
        serde_json::json!(["spine"])
    );
    assert_eq!(ct["meta"]["dims"], serde_json::json!([6, 6, 5]));
    let decode = j["decode"].as_array().unwrap();
    assert_eq!(decode.len(), 2);
    assert!(decode.iter().all(|d| d["ok"] == true));
    assert_eq!(j["skipped"][0]["reason"], "not_dicom");
}

#[test]
fn usage_errors_exit_2_and_decode_failures_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    write_study(dir.path());
    let bad_role = csfleak()
        .args(["inspect", "--role", "5=spine"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad_role.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"));
    let no_series = csfleak()
        .args(["inspect", "--role", "99=other"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(no_series.status.code(), Some(2));

    // Truncate one CT file inside its pixel data: that series fails, the other decodes.
    let ct_file = std::fs::read_dir(dir.path().join("ct"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    let bytes = std::fs::read(&ct_file).unwrap();
    std::fs::write(&ct_file, &bytes[..bytes.len() - 20]).unwrap();
    let out = csfleak()
        .args(["inspect", "--decode"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("DECODE_FAILED"), "{text}");
    assert!(text.contains("decoded 1/2 series"), "{text}");
    let name = ct_file.file_name().unwrap().to_str().unwrap();
    assert!(text.contains(name), "the failing file is named: {text}");
}

#[test]
fn site_rules_file_is_used() {
    let dir = tempfile::tempdir().unwrap();
    write_study(dir.path());
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nid = \"site_ct\"\nrole = \"localizer\"\nmodality = [\"CT\"]\n",
    )
    .unwrap();
    let out = csfleak()
        .args(["inspect", "--json", "--roles"])
        .arg(&rules)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let series = j["studies"][0]["series"].as_array().unwrap();
    let ct = series
        .iter()
        .find(|s| s["meta"]["modality"] == "CT")
        .unwrap();
    assert_eq!(ct["role"]["rule"], "site_ct");
    std::fs::write(&rules, "[[rule]]\nid = 3\n").unwrap();
    let bad = csfleak()
        .args(["inspect", "--roles"])
        .arg(&rules)
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
