//! `csfleak phantom` end to end, and the exact round trip of phantom series through
//! `csfleak-dicom`.

use std::path::Path;

use csfleak_dicom::{SeriesData, load_series, scan};
use csfleak_phantom::spine::{
    CollectionSpec, MrContrast, Position, SpineModel, SpineOptions, axial_grid, render_ct,
    render_mr, sagittal_grid,
};
use csfleak_phantom::{
    Compression, CtParams, Modality, MrParams, SeriesSpec, StudyContext, quantize,
    write_volume_series,
};
use csfleak_volume::{DVec3, Volume};

use crate::csfleak;

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn list_shows_spine_and_workup_scenarios() {
    let out = csfleak().args(["phantom", "--list"]).output().unwrap();
    assert!(out.status.success());
    let text = stdout_of(&out);
    for name in [
        "spine-mri-normal",
        "spine-mri-ventral-leak",
        "spine-ctm-root-sleeve-leak",
        "spine-ctm-puncture-leak",
        "workup-definite-leak",
    ] {
        assert!(text.contains(name), "{name} missing from --list:\n{text}");
    }
}

#[test]
fn unknown_scenario_is_a_usage_error_with_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let out = csfleak()
        .args(["phantom", "--scenario", "no-such-thing", "--out"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = stdout_of(&out) + &String::from_utf8_lossy(&out.stderr);
    assert!(all.contains("no-such-thing"));
    assert!(all.contains("spine-mri-normal"));
}

#[test]
fn writes_study_truth_provenance_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("ctm");
    let run = |force: bool| {
        let mut c = csfleak();
        c.args([
            "phantom",
            "--scenario",
            "spine-ctm-puncture-leak",
            "--seed",
            "5",
        ])
        .args(["--size", "small", "--out"])
        .arg(&out_dir);
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    let first = run(false);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("truth.json")).unwrap())
            .unwrap();
    assert_eq!(truth["seed"], 5);
    let sites = truth["ct_myelography"]["epidural_contrast"]["sites"]
        .as_array()
        .unwrap();
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0]["at_puncture_site"], true);
    let prov: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("provenance.json")).unwrap())
            .unwrap();
    assert_eq!(prov["source"], "synthetic");
    assert!(prov["command"].as_str().unwrap().contains("--seed 5"));
    let n_files = std::fs::read_dir(out_dir.join("DICOM")).unwrap().count();
    assert_eq!(
        n_files as u64,
        truth["series"][0]["n_images"].as_u64().unwrap()
    );
    // The ingest finds one CT series whose geometry is the truth's.
    let report = scan(&out_dir).unwrap();
    assert_eq!(report.studies.len(), 1);
    assert_eq!(report.studies[0].series.len(), 1);
    let g = report.studies[0].series[0].geometry.unwrap();
    let w = &truth["series"][0]["world_from_voxel"];
    let m = g.world_from_voxel;
    let cols = [
        m.matrix3.x_axis,
        m.matrix3.y_axis,
        m.matrix3.z_axis,
        m.translation,
    ];
    for r in 0..3 {
        for (c, col) in cols.iter().enumerate() {
            let want = w[r][c].as_f64().unwrap();
            assert!((col.to_array()[r] - want).abs() < 1e-6, "affine [{r}][{c}]");
        }
    }
    // A second run without --force is refused, with --force it succeeds.
    assert_eq!(run(false).status.code(), Some(2));
    assert!(run(true).status.success());
}

/// Write a volume, scan and load it back with csfleak-dicom: identical geometry (1e-6 mm)
/// and identical voxel values after the writer's quantisation.
fn assert_round_trip(dir: &Path, ctx: &StudyContext, spec: &SeriesSpec, v: &Volume) {
    write_volume_series(dir, ctx, spec, v).unwrap();
    let report = scan(dir).unwrap();
    let uid = spec.series_instance_uid(ctx);
    let series = report.studies[0]
        .series
        .iter()
        .find(|s| s.meta.series_instance_uid == uid)
        .unwrap();
    let loaded = load_series(series).unwrap();
    let SeriesData::Volume(back) = loaded.data else {
        panic!("{}: loaded as planar", spec.key);
    };
    assert_eq!(back.dims(), v.dims(), "{}", spec.key);
    let d = back
        .geometry()
        .max_corner_distance_mm(v.geometry())
        .unwrap();
    assert!(d < 1e-6, "{}: corners differ by {d} mm", spec.key);
    let want = v.data().mapv(|x| quantize(spec.modality, x));
    assert!(back.data() == want, "{}: voxel values differ", spec.key);
}

#[test]
fn phantom_series_round_trip_exactly_through_the_ingest() {
    let model = SpineModel::new(SpineOptions::default().with_collection(CollectionSpec::new(
        "T3",
        "T6",
        Position::Ventral,
        3.0,
    )))
    .unwrap();
    let ctx = StudyContext::new(21);
    let dir = tempfile::tempdir().unwrap();
    let (lo, hi) = model.collection_range().unwrap();
    // Oblique, non-square axial MR with RLE.
    let ax = axial_grid(&model, (lo, hi), [48, 40], 1.3, 6.0, true).unwrap();
    let v = render_mr(&model, MrContrast::T2Fs, &ax, 2, 25.0, 0.1, 1, "ax").unwrap();
    let spec = SeriesSpec::mr(2, "ax", "t2_tse_fs_tra", MrParams::t2_fs_tse())
        .with_compression(Compression::Rle);
    assert_round_trip(dir.path(), &ctx, &spec, &v);
    // Anisotropic sagittal MR, deflated.
    let sag = sagittal_grid(&model, (lo, hi), 120.0, [1.9, 1.4], 5, 3.5).unwrap();
    let v = render_mr(
        &model,
        MrContrast::Myelography,
        &sag,
        2,
        20.0,
        0.0,
        1,
        "sag",
    )
    .unwrap();
    let spec = SeriesSpec::mr(3, "sag", "T2強調 脂肪抑制 矢状断", MrParams::t2_fs_tse())
        .with_compression(Compression::Deflate);
    assert_round_trip(dir.path(), &ctx, &spec, &v);
    // Lumbar CT in HU, native.
    let l3 = model.levels()[21].body_mid_z();
    let ct = axial_grid(&model, (l3 - 15.0, l3 + 15.0), [40, 44], 1.5, 3.0, false).unwrap();
    let v = render_ct(&model, 600.0, &ct, 2, 12.0, 1, "ct").unwrap();
    let spec = SeriesSpec::ct(4, "ct", "CT myelogram", CtParams::default());
    assert_eq!(spec.modality, Modality::Ct);
    assert_round_trip(dir.path(), &ctx, &spec, &v);
    // The contrast in the sac is where the model says.
    let centre = model.unstraighten(DVec3::new(0.0, -1.0, l3));
    let hu = v
        .sample(csfleak_volume::PointLps::from_dvec3(centre))
        .unwrap();
    assert!(hu > 450.0, "{hu}");
}
