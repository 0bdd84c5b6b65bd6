//! Pachymeningeal enhancement and subdural fluid on phantom brains with and without each sign
//! (pre- and post-contrast 3D T1 on a 2 mm grid, new noise seeds), with a printed table
//! (`cargo test -p csfleak-brain --test convexity_signs -- --nocapture --include-ignored`).

#![allow(
    clippy::print_stdout,
    reason = "the test prints its table for --nocapture"
)]

use csfleak_brain::bern::Sign;
use csfleak_brain::convexity::{
    ConvexityMeasurement, ConvexityOptions, enhancement_sign, measure_convexity, subdural_sign,
};
use csfleak_brain::midsagittal::find_plane;
use csfleak_phantom::brain::{BrainOptions as PhantomOptions, BrainPhantom, GridPreset, Phase};

struct Case {
    name: &'static str,
    pme: bool,
    subdural_mm: f64,
    rotation: [f64; 3],
    seed: u64,
}

const fn case(
    name: &'static str,
    pme: bool,
    subdural_mm: f64,
    rotation: [f64; 3],
    seed: u64,
) -> Case {
    Case {
        name,
        pme,
        subdural_mm,
        rotation,
        seed,
    }
}

fn measure(c: &Case, o: &ConvexityOptions) -> (ConvexityMeasurement, Sign, Sign) {
    let ph = BrainPhantom::new(
        &PhantomOptions::default()
            .with_pachymeningeal_enhancement(c.pme)
            .with_subdural_fluid(c.subdural_mm)
            .with_head_rotation(c.rotation)
            .with_grid(GridPreset::Small),
    )
    .expect("phantom options");
    let pre = ph.sagittal_t1(Phase::Pre, Some(c.seed)).expect("pre T1");
    let post = ph
        .sagittal_t1(Phase::PostContrast, Some(c.seed + 1000))
        .expect("post T1");
    let plane = find_plane(&pre);
    let m = measure_convexity(&pre, &post, plane.as_ref(), o).expect("assessable");
    let e = enhancement_sign(&m, o);
    let s = subdural_sign(&m, o);
    println!(
        "{:<18} | {:<5} {:<5} {:>5.2} {:>5.1} {:>4.2} | {:<5} {:<5} {:<9} {:>4.1} {:>4.1}",
        c.name,
        c.pme,
        e.present.unwrap_or(false),
        m.dura_to_brain_ratio.unwrap_or(f64::NAN),
        m.dura_thickness_mm.unwrap_or(f64::NAN),
        m.thick_bright_fraction,
        c.subdural_mm > 0.0,
        s.present
            .map_or("n/a", |p| if p { "true" } else { "false" }),
        s.side.clone().unwrap_or_default(),
        m.subdural[0].thickness_mm.unwrap_or(f64::NAN),
        m.subdural[1].thickness_mm.unwrap_or(f64::NAN),
    );
    (m, e, s)
}

fn header() {
    println!(
        "case               | PME truth got  ratio thick frac | SDF truth got side      R mm L mm"
    );
}

#[test]
fn pachymeningeal_enhancement_with_and_without_and_no_false_subdural() {
    let cases = [
        case("normal", false, 0.0, [0.0; 3], 301),
        case("normal rotated", false, 0.0, [4.0, -3.0, 6.0], 302),
        case("pme", true, 0.0, [0.0; 3], 303),
        case("pme rotated", true, 0.0, [-5.0, 2.0, -4.0], 304),
    ];
    let o = ConvexityOptions::default();
    header();
    let mut failures = Vec::new();
    for c in &cases {
        let (m, e, s) = measure(c, &o);
        if e.present != Some(c.pme) {
            failures.push(format!("{}: PME {:?}", c.name, e.present));
        }
        if c.pme {
            // The enhancing dura is brighter than the brain and at least the option's
            // thickness over most of the convexity.
            let ratio = m.dura_to_brain_ratio.unwrap_or(0.0);
            let thick = m.dura_thickness_mm.unwrap_or(0.0);
            if ratio < 1.0 || thick < o.min_dura_mm || e.confidence.unwrap_or(0.0) < 0.5 {
                failures.push(format!("{}: ratio {ratio} thickness {thick}", c.name));
            }
        }
        // Negative control: no subdural fluid reported on brains without it.
        if s.present == Some(true) {
            failures.push(format!("{}: false subdural {:?}", c.name, s.side));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

/// Subdural collections displacing the brain (2 mm grid, noisy, new seeds): the thickness of
/// each side within 1 mm of the collection's; collections of at least
/// `min_gap_mm` + 1 are called bilateral, thinner ones are measured but not called.
#[test]
fn subdural_fluid_detected_with_thickness_and_side() {
    let cases = [
        case("subdural 6", false, 6.0, [0.0; 3], 305),
        case("pme + subdural 7", true, 7.0, [3.0, 0.0, 3.0], 306),
        case("subdural 8 rotated", false, 8.0, [-4.0, 2.0, -5.0], 307),
        case("subdural 3.5", false, 3.5, [2.0, -3.0, 4.0], 308),
        case("pme + subdural 4.5", true, 4.5, [0.0; 3], 309),
    ];
    let o = ConvexityOptions::default();
    header();
    let mut failures = Vec::new();
    for c in &cases {
        let (m, _, s) = measure(c, &o);
        for (side, sd) in ["right", "left"].iter().zip(&m.subdural) {
            let t = sd.thickness_mm.unwrap_or(f64::NAN);
            if t.is_nan() || (t - c.subdural_mm).abs() > 1.0 {
                failures.push(format!("{} {side}: {t} mm", c.name));
            }
        }
        let called = c.subdural_mm >= o.min_gap_mm + 1.0;
        if called
            && (s.present != Some(true)
                || s.side.as_deref() != Some("bilateral")
                || (s.measure.unwrap_or(0.0) - c.subdural_mm).abs() > 1.0)
        {
            failures.push(format!(
                "{}: {:?} {:?} {:?}",
                c.name, s.present, s.side, s.measure
            ));
        }
        if c.subdural_mm < o.min_gap_mm - 1.0 && s.present == Some(true) {
            failures.push(format!("{}: called below min_gap_mm", c.name));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
