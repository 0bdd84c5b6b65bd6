//! CT myelography on phantom stacks rendered in memory (the analysis never sees the truth):
//! intrathecal HU, level counting and no false extradural contrast on normal studies at low
//! and high contrast; the four study classes at 260-900 HU.
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers: a phantom that cannot be built is a test bug; diagnostics on failure"
)]

use csfleak_findings::{LevelStatus, Status};
use csfleak_phantom::spine::{
    CtLeakSpec, PunctureSpec, Side as PSide, SpineModel, SpineOptions as Model, axial_grid,
    render_ct,
};
use csfleak_spine::ctm::{CtmAnalysis, CtmClass, CtmOptions, analyze_ctm};

/// Render `top..bottom` (levels) at `ith` HU and analyse with a documented L3/4 puncture.
fn run(model: &Model, top: &str, bottom: &str, ith: f64, seed: u64) -> CtmAnalysis {
    let m = SpineModel::new(model.clone()).unwrap();
    let a = &m.levels()[m.level_index(top).unwrap()];
    let b = &m.levels()[m.level_index(bottom).unwrap()];
    let g = axial_grid(
        &m,
        (b.body_bottom_z_mm, a.body_top_z_mm),
        [160, 160],
        1.0,
        2.5,
        false,
    )
    .unwrap();
    let v = render_ct(&m, ith, &g, 2, 12.0, seed, "ctm-test").unwrap();
    let mut opts = CtmOptions::default();
    opts.puncture_levels = vec!["L3/4".parse().unwrap()];
    let r = analyze_ctm(&v, &opts).unwrap();
    eprintln!(
        "{top}-{bottom} ith {ith}: class {:?} ith_found {:?} levels {:?} sites {:?}",
        r.class,
        r.intrathecal_median_hu,
        r.levels.status(),
        r.sites
            .iter()
            .map(|s| (
                s.level,
                s.side,
                s.connection,
                s.volume_mm3.round(),
                s.z_range_mm,
                s.max_hu.round(),
                s.mean_hu.round(),
                s.key_slice
            ))
            .collect::<Vec<_>>()
    );
    r
}

fn puncture(leak: bool, hu: f64) -> Model {
    let mut o = Model::default();
    o.puncture = Some(PunctureSpec::new("L3/4", leak, hu));
    o
}

#[test]
fn normal_studies_at_low_and_high_contrast() {
    for (n, ith) in [260.0, 880.0].into_iter().enumerate() {
        let normal = run(
            &puncture(false, 0.6 * ith),
            "T11",
            "S1",
            ith,
            9100 + n as u64,
        );
        assert_eq!(
            normal.class,
            CtmClass::NoEpiduralContrast,
            "normal at {ith}"
        );
        assert_eq!(
            normal.levels.status(),
            LevelStatus::Counted,
            "levels at {ith}"
        );
        let f = normal.to_findings(None);
        let levels = f.levels.clone().expect("ct_myelography.levels");
        assert_eq!(
            levels.status,
            LevelStatus::Counted,
            "findings levels at {ith}"
        );
        assert!(levels.method.is_some() && levels.confidence.is_some());
        assert_eq!(f.epidural_contrast.unwrap().status, Status::Absent);
        let found = f.intrathecal_median_hu.unwrap().get();
        assert!(
            (found - ith).abs() < 0.1 * ith,
            "intrathecal {found} vs {ith}"
        );
        assert!(
            normal
                .overlays
                .iter()
                .any(|o| o.name == "ctm_sagittal_overview")
        );
    }
}

#[test]
fn not_a_spine_is_not_assessable() {
    use csfleak_volume::{DVec3, Geometry, PointLps, VecLps, Volume};
    let g = Geometry::from_steps(
        [64, 64, 20],
        PointLps::from_dvec3(DVec3::ZERO),
        VecLps::from_dvec3(DVec3::X),
        VecLps::from_dvec3(DVec3::Y),
        VecLps::from_dvec3(DVec3::Z * 2.0),
    )
    .unwrap();
    let v = Volume::zeros(g).unwrap();
    let r = analyze_ctm(&v, &CtmOptions::default()).unwrap();
    assert_eq!(r.class, CtmClass::NotAssessable);
    let f = r.to_findings(None);
    assert_eq!(f.epidural_contrast.unwrap().status, Status::NotAssessable);
}

fn classes_at(ith: f64, seed: u64) {
    let p = run(&puncture(true, 0.6 * ith), "L1", "S1", ith, seed);
    assert_eq!(p.class, CtmClass::PunctureSiteOnly, "puncture at {ith}");
    let mut o = puncture(false, 0.6 * ith);
    o.ct_leaks
        .push(CtLeakSpec::new("T12", PSide::Left, true, 0.6 * ith));
    let c = run(&o, "T10", "S1", ith, seed);
    assert_eq!(c.class, CtmClass::ContinuousLeak, "root sleeve at {ith}");
    let site = &c.sites[0];
    assert_eq!(site.side, csfleak_findings::Side::Left);
    let mut o = puncture(false, 0.6 * ith);
    o.ct_leaks
        .push(CtLeakSpec::new("T12", PSide::Right, false, 0.6 * ith));
    let r = run(&o, "T10", "S1", ith, seed);
    assert_eq!(r.class, CtmClass::NonContinuous, "remote at {ith}");
    assert_eq!(r.sites[0].side, csfleak_findings::Side::Right);
}

#[test]
fn classes_at_low_contrast() {
    for (n, ith) in [260.0, 450.0].into_iter().enumerate() {
        classes_at(ith, 9100 + n as u64);
    }
}

#[test]
fn classes_at_high_contrast() {
    for (n, ith) in [650.0, 900.0].into_iter().enumerate() {
        classes_at(ith, 9102 + n as u64);
    }
}

#[test]
#[ignore = "timing, run in release: cargo test --release -p csfleak-spine --test ctm_phantom speed -- --ignored --nocapture"]
fn speed_400_slices() {
    let m = SpineModel::new(puncture(false, 360.0)).unwrap();
    let a = &m.levels()[m.level_index("T7").unwrap()];
    let b = &m.levels()[m.level_index("S1").unwrap()];
    let g = axial_grid(
        &m,
        (b.body_bottom_z_mm, a.body_top_z_mm),
        [320, 320],
        0.6,
        (a.body_top_z_mm - b.body_bottom_z_mm) / 400.0,
        false,
    )
    .unwrap();
    let v = render_ct(&m, 600.0, &g, 1, 12.0, 1, "ctm-speed").unwrap();
    let t = std::time::Instant::now();
    let r = analyze_ctm(&v, &CtmOptions::default()).unwrap();
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "CTM analysis of {:?} voxels: {secs:.2} s wall, class {:?}, {} threads",
        v.dims(),
        r.class,
        rayon::current_num_threads()
    );
    assert!(r.sac_fraction > 0.5);
}
