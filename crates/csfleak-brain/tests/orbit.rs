//! ONSD and the perioptic CSF rim on the phantom's coronal fat-saturated T2 (1 mm in-plane
//! grid), both sides, different diameters per side.

use csfleak_brain::{BrainInputs, BrainOptions, analyze};
use csfleak_phantom::brain::{BrainOptions as PhantomOptions, BrainPhantom, GridPreset};

#[test]
fn onsd_both_sides_within_half_a_pixel_plus_partial_volume() {
    let ph = BrainPhantom::new(
        &PhantomOptions::default()
            .with_onsd(4.2, 5.8)
            .with_grid(GridPreset::Small),
    )
    .unwrap();
    let v = ph.orbits_t2fs(Some(11)).unwrap();
    let a = analyze(
        &BrainInputs {
            orbits_t2fs: Some(&v),
            ..BrainInputs::default()
        },
        &BrainOptions::default(),
    )
    .unwrap();
    let spacing = v.geometry().spacing_mm();
    let tol = 0.5 * spacing[0].max(spacing[1]) + 0.1;
    let [r, l] = &a.onsd_mm;
    let (r, l) = (
        r.value().unwrap_or_else(|| panic!("right: {r:?}")),
        l.value().unwrap_or_else(|| panic!("left: {l:?}")),
    );
    assert!((r - 4.2).abs() <= tol, "right ONSD {r} vs 4.2");
    assert!((l - 5.8).abs() <= tol, "left ONSD {l} vs 5.8");
    // Rim = (ONSD - nerve) / 2 with a 3 mm nerve.
    let rim_l = a.perioptic_rim_mm[1].value().unwrap();
    assert!((rim_l - 1.4).abs() <= tol, "left rim {rim_l} vs 1.4");
    let onsd = a.findings.onsd_mm.unwrap();
    assert_eq!(onsd.left.map(|x| x.0), Some(l));
    assert_eq!(onsd.right.map(|x| x.0), Some(r));
    let orbit_overlay = a
        .overlays
        .iter()
        .find(|o| o.name.starts_with("brain_orbit"));
    assert!(orbit_overlay.is_some_and(|o| o.masks.len() == 2));
}

#[test]
fn axial_series_is_not_assessable() {
    let ph = BrainPhantom::new(&PhantomOptions::default().with_grid(GridPreset::Coarse)).unwrap();
    // The sagittal T1 is not a coronal orbit series.
    let t1 = ph
        .sagittal_t1(csfleak_phantom::brain::Phase::Pre, None)
        .unwrap();
    let a = analyze(
        &BrainInputs {
            orbits_t2fs: Some(&t1),
            ..BrainInputs::default()
        },
        &BrainOptions::default().with_overlays(false),
    )
    .unwrap();
    assert!(a.onsd_mm[0].reason().is_some_and(|r| r.contains("coronal")));
    assert!(a.findings.onsd_mm.is_none());
    assert!(a.findings.onsd_status.is_some());
}
