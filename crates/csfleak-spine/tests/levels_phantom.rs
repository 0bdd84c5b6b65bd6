//! Automatic vertebral levels on phantom axial T2 stacks (truth from the phantom's level
//! table; the analysis never sees it).
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers: a phantom that cannot be built is a test bug; diagnostics on failure"
)]

use csfleak_findings::{Level, LevelStatus};
use csfleak_phantom::spine::{
    MrContrast, SpineModel, SpineOptions as Model, axial_grid, render_mr,
};
use csfleak_spine::mri::{MriAnalysis, analyze_mri};
use csfleak_spine::{LevelAnchor, SpineOptions};

fn run(
    model: &SpineModel,
    top: &str,
    bottom: &str,
    pixel: f64,
    step: f64,
    seed: u64,
    opts: &SpineOptions,
) -> MriAnalysis {
    let a = &model.levels()[model.level_index(top).unwrap()];
    let b = &model.levels()[model.level_index(bottom).unwrap()];
    let zr = (b.body_bottom_z_mm - 10.0, a.body_top_z_mm + 10.0);
    let g = axial_grid(model, zr, [192, 192], pixel, step, true).unwrap();
    let t2 = render_mr(model, MrContrast::T2Fs, &g, 2, 25.0, 0.15, seed, "t2").unwrap();
    analyze_mri(&t2, None, opts).unwrap()
}

/// Truth level of every body centre and disc centre inside `lo..hi` vs the scale.
fn errors(model: &SpineModel, a: &MriAnalysis) -> (usize, usize) {
    let (lo, hi) = a.levels.covered_z_mm();
    let (mut n, mut wrong) = (0, 0);
    for l in model.levels() {
        let body: Level = l.name.parse().unwrap();
        let mut checks = vec![(l.body_mid_z(), body)];
        if let Some(d) = &l.disc {
            checks.push((l.disc_mid_z(), d.parse().unwrap()));
        }
        for (z, truth) in checks {
            if z < lo + 5.0 || z > hi - 5.0 {
                continue;
            }
            n += 1;
            let got = a.levels.level_at(z);
            if got.is_none_or(|g| g.distance(truth) > 0) {
                wrong += 1;
                eprintln!("z {z:.1}: truth {truth} got {got:?}");
            }
        }
    }
    (n, wrong)
}

#[test]
fn lumbar_stack_is_counted_from_the_sacrum() {
    let model = SpineModel::new(Model::default()).unwrap();
    let a = run(&model, "T11", "S1", 0.8, 4.0, 31, &SpineOptions::default());
    eprintln!("{:?} {:?}", a.levels.status(), a.levels.reason());
    eprintln!(
        "{:?} unlabelled {:?}",
        a.levels.landmarks(),
        a.levels.unlabelled()
    );
    assert_eq!(a.levels.status(), LevelStatus::Counted);
    let (n, wrong) = errors(&model, &a);
    assert!(n >= 10 && wrong == 0, "{wrong} of {n} wrong");
}

#[test]
fn thoracic_stack_is_not_counted_but_an_anchor_labels_it() {
    let model = SpineModel::new(Model::default()).unwrap();
    let a = run(&model, "T3", "T8", 0.8, 4.0, 32, &SpineOptions::default());
    eprintln!(
        "{:?} {:?} {:?}",
        a.levels.status(),
        a.levels.reason(),
        a.levels.unlabelled()
    );
    assert_eq!(a.levels.status(), LevelStatus::NotCounted);
    let t5 = &model.levels()[model.level_index("T5").unwrap()];
    let anchor = LevelAnchor {
        level: "T5/6".parse().unwrap(),
        z_mm: t5.disc_mid_z() + 1.5,
    };
    let a = run(
        &model,
        "T3",
        "T8",
        0.8,
        4.0,
        32,
        &SpineOptions::default().with_level_anchor(anchor),
    );
    assert_eq!(a.levels.status(), LevelStatus::Anchored);
    let (n, wrong) = errors(&model, &a);
    assert!(n >= 8 && wrong == 0, "{wrong} of {n} wrong");
}

#[test]
fn cervical_stack_is_counted_from_c2_or_not_at_all() {
    let model = SpineModel::new(Model::default()).unwrap();
    let a = run(&model, "C1", "T1", 0.7, 4.0, 33, &SpineOptions::default());
    eprintln!(
        "{:?} {:?} {:?}",
        a.levels.status(),
        a.levels.reason(),
        a.levels.landmarks()
    );
    eprintln!(
        "unlabelled {:?}",
        a.levels
            .unlabelled()
            .iter()
            .map(|l| l.z_mm.round())
            .collect::<Vec<_>>()
    );
    let f: Vec<f64> = a
        .canal
        .slices
        .iter()
        .filter(|s| s.found)
        .map(|s| s.centre.0[2].round())
        .collect();
    eprintln!("found {f:?} conf {}", a.canal.confidence);
    let (n, wrong) = errors(&model, &a);
    match a.levels.status() {
        LevelStatus::Counted => assert!(n >= 8 && wrong == 0, "{wrong} of {n} wrong"),
        other => assert_eq!(other, LevelStatus::NotCounted),
    }
}

/// A C1-to-S1 axial stack of 5 mm slices (as a whole-spine survey): counted (from the sacrum,
/// C2 or both ends) with every level right, or not counted.
#[test]
fn whole_spine_axial_stack_is_counted_right_or_not_at_all() {
    let model = SpineModel::new(Model::default()).unwrap();
    let a = run(&model, "C1", "S1", 1.0, 5.0, 34, &SpineOptions::default());
    eprintln!("{:?} {:?}", a.levels.status(), a.levels.reason());
    let (n, wrong) = errors(&model, &a);
    eprintln!("{wrong} of {n} levels wrong");
    match a.levels.status() {
        LevelStatus::Counted => assert!(n >= 40 && wrong == 0, "{wrong} of {n} wrong"),
        other => assert_eq!(other, LevelStatus::NotCounted),
    }
}
