//! Extradural fluid on phantom axial T2 fat-sat stacks (truth from the phantom model; the
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a phantom that cannot be built is a test bug"
)]
//! analysis itself never sees it).

use csfleak_findings::{FluidPosition, MimicKind};
use csfleak_phantom::spine::{
    CollectionSpec, Mimic, MrContrast, Position, Side, SpineModel, SpineOptions as Model,
    axial_grid, collection_volume_ml, render_mr, sagittal_grid,
};
use csfleak_spine::SpineOptions;
use csfleak_spine::mri::{MriAnalysis, analyze_mri};

struct Case {
    model: SpineModel,
    t2: csfleak_volume::Volume,
    t1: csfleak_volume::Volume,
}

fn z_span(model: &SpineModel, top: &str, bottom: &str) -> (f64, f64) {
    let a = &model.levels()[model.level_index(top).unwrap()];
    let b = &model.levels()[model.level_index(bottom).unwrap()];
    (b.body_bottom_z_mm - 10.0, a.body_top_z_mm + 10.0)
}

fn case(
    opts: Model,
    top: &str,
    bottom: &str,
    pixel: f64,
    step: f64,
    sigma: f32,
    seed: u64,
) -> Case {
    let model = SpineModel::new(opts).unwrap();
    let zr = z_span(&model, top, bottom);
    let g = axial_grid(&model, zr, [192, 192], pixel, step, true).unwrap();
    let t2 = render_mr(&model, MrContrast::T2Fs, &g, 2, sigma, 0.15, seed, "t2").unwrap();
    let t1 = render_mr(&model, MrContrast::T1FsPost, &g, 2, sigma, 0.15, seed, "t1").unwrap();
    Case { model, t2, t1 }
}

fn run(c: &Case, with_t1: bool) -> MriAnalysis {
    analyze_mri(&c.t2, with_t1.then_some(&c.t1), &SpineOptions::default()).unwrap()
}

#[test]
fn normal_spine_has_no_collection_and_a_continuous_canal() {
    let c = case(Model::default(), "T10", "L2", 0.8, 4.0, 25.0, 11);
    let a = run(&c, true);
    assert!(
        a.canal.confidence > 0.9,
        "canal found on {:.2} of slices",
        a.canal.confidence
    );
    assert!(
        a.collections.is_empty(),
        "false collections: {:#?}",
        a.collections
    );
    assert!(a.intraspinal_csf_ml > 0.5);
}

#[test]
fn ventral_continuous_collection() {
    let spec = CollectionSpec::new("T3", "T7", Position::Ventral, 4.0).with_dural_defect("T5");
    let c = case(
        Model::default().with_collection(spec),
        "T2",
        "T8",
        0.8,
        4.0,
        25.0,
        12,
    );
    let truth_ml = collection_volume_ml(&c.model);
    let a = run(&c, true);
    assert_eq!(a.collections.len(), 1, "{:#?}", a.collections);
    let l = &a.collections[0];
    assert_eq!(l.position, FluidPosition::Ventral);
    assert!(
        (l.max_thickness_mm - 4.0).abs() < 1.5,
        "thickness {}",
        l.max_thickness_mm
    );
    let err = (l.volume_ml - truth_ml).abs() / truth_ml;
    assert!(err < 0.3, "volume {} vs {truth_ml}", l.volume_ml);
    assert!(l.continuity_slice.is_some(), "continuity missed");
    assert!(l.enhancement_ratio.is_some_and(|r| r < 2.0));
    // Overlays: the sagittal overview shows the fluid and level labels; the key slice shows
    // the sac outline and the fluid filled.
    let ov = a.overlays(&c.t2);
    assert_eq!(ov[0].name, "spine_sagittal_overview");
    let fluid_px = |o: &csfleak_volume::overlay::Overlay| {
        o.masks
            .iter()
            .filter(|m| m.label == "extradural fluid")
            .map(|m| m.mask.iter().filter(|&&x| x).count())
            .sum::<usize>()
    };
    assert!(fluid_px(&ov[0]) > 20, "{}", fluid_px(&ov[0]));
    assert!(!ov[0].texts.is_empty());
    let key = ov
        .iter()
        .find(|o| o.name.starts_with("spine_collection1_"))
        .unwrap();
    assert!(fluid_px(key) > 10);
    assert!(
        key.masks
            .iter()
            .any(|m| m.label == "dural sac" && m.outline_only)
    );
}

#[test]
fn dorsal_intact_collection_is_not_continuous() {
    let spec = CollectionSpec::new("T9", "T12", Position::Dorsal, 3.0);
    let c = case(
        Model::default().with_collection(spec),
        "T8",
        "L1",
        0.8,
        4.0,
        25.0,
        13,
    );
    let a = run(&c, false);
    assert_eq!(a.collections.len(), 1, "{:#?}", a.collections);
    let l = &a.collections[0];
    assert_eq!(l.position, FluidPosition::Dorsal);
    assert_eq!(l.continuity_slice, None);
    assert_eq!(l.enhancement_ratio, None);
}

#[test]
fn circumferential_collection_gives_fdss() {
    let spec = CollectionSpec::new("T3", "T8", Position::Circumferential, 2.5);
    let c = case(
        Model::default().with_collection(spec),
        "T2",
        "T9",
        0.7,
        4.0,
        25.0,
        14,
    );
    let a = run(&c, false);
    assert_eq!(a.collections.len(), 1, "{:#?}", a.collections);
    assert_eq!(a.collections[0].position, FluidPosition::Circumferential);
    assert!(!a.collections[0].fdss_slices.is_empty());
}

#[test]
fn mimics_are_excluded() {
    let opts = Model::default()
        .with_mimic(Mimic::TarlovCyst {
            level: "S1".into(),
            side: Side::Left,
            radius_mm: 7.0,
        })
        .with_mimic(Mimic::VenousPlexus {
            from_level: "L3".into(),
            to_level: "L4".into(),
            thickness_mm: 3.0,
        });
    let c = case(opts, "L2", "S1", 0.8, 4.0, 25.0, 15);
    let a = run(&c, true);
    assert!(
        a.collections.is_empty(),
        "mimic counted: {:#?}",
        a.collections
    );
    let kinds: Vec<MimicKind> = a.mimics.iter().filter_map(|m| m.mimic).collect();
    assert!(
        kinds.contains(&MimicKind::VenousPlexus) || kinds.contains(&MimicKind::TarlovCyst),
        "{kinds:?}"
    );
}

/// The collection's evidence has a line saying what was not assessed.
fn assert_says_not_assessed(col: &csfleak_findings::EpiduralCollection) {
    assert!(
        col.evidence.iter().any(|e| e
            .description
            .as_deref()
            .is_some_and(|d| d.contains("not assessed"))),
        "{:?}",
        col.evidence
    );
}

#[test]
fn contrast_t1_that_misses_the_collection_leaves_enhancement_unassessed() {
    let spec = CollectionSpec::new("T6", "T9", Position::Dorsal, 3.5);
    let c = case(
        Model::default().with_collection(spec),
        "T5",
        "T10",
        0.8,
        4.0,
        25.0,
        16,
    );
    // A contrast T1 over T1-T3 only: it does not reach the collection.
    let (lo, hi) = z_span(&c.model, "T1", "T3");
    let g = axial_grid(&c.model, (lo, hi), [192, 192], 0.8, 4.0, true).unwrap();
    let t1 = render_mr(&c.model, MrContrast::T1FsPost, &g, 2, 25.0, 0.15, 16, "t1").unwrap();
    let a = analyze_mri(&c.t2, Some(&t1), &SpineOptions::default()).unwrap();
    assert_eq!(a.collections.len(), 1, "{:#?}", a.collections);
    let l = &a.collections[0];
    assert_eq!(l.enhancement_ratio, None);
    assert!(l.t1_coverage.is_some_and(|c| c < 0.5));
    let s = a.to_section(None, true);
    let col = &s.epidural_fluid.unwrap().collections[0];
    assert_eq!(col.non_enhancing, None);
    assert_says_not_assessed(col);
}

/// A hand-drawn axial stack (not the phantom crate): a round sac of CSF (radius 8 mm) in dark
/// fat with nerve roots (dark dots) lying dorsally inside it with CSF behind them, and optionally
/// a dorsal crescent of fluid beyond a one-pixel dark dura.
fn drawn_stack(dorsal_fluid_mm: f64, narrow: bool) -> csfleak_volume::Volume {
    use csfleak_volume::{Geometry, PointLps, VecLps};
    let (n, px, nk) = (96usize, 0.7, 16usize);
    let g = Geometry::from_steps(
        [n, n, nk],
        PointLps([-33.6, -33.6, 0.0]),
        VecLps([px, 0.0, 0.0]),
        VecLps([0.0, px, 0.0]),
        VecLps([0.0, 0.0, 4.0]),
    )
    .unwrap();
    let data = ndarray::Array3::from_shape_fn((nk, n, n), |(k, j, i)| {
        let x = i as f64 * px - 33.6;
        let y = j as f64 * px - 33.6;
        let r = x.hypot(y);
        // Deterministic speckle (no RNG): +-4 % of the CSF signal.
        let speckle = (((i * 7 + j * 13 + k * 29) % 17) as f32 - 8.0) * 5.0;
        let csf = 1000.0 + speckle;
        let fat = 120.0 + speckle;
        // Five roots of 0.8 mm radius over the dorsal half, 5 mm from the centre (CSF between
        // and behind them), as in the supine lumbar sac.
        for q in 0..5 {
            let th = std::f64::consts::PI * (0.2 + 0.6 * f64::from(q) / 4.0);
            let (rx, ry) = (5.0 * th.cos(), 5.0 * th.sin());
            if (x - rx).hypot(y - ry) <= 0.8 {
                return 380.0 + speckle;
            }
        }
        if r <= 8.0 {
            return csf;
        }
        // Posterior is +y: a dorsal crescent beyond a dark dura ring at 8.0-8.7 mm.
        // `narrow`: a 3 mm wide strip behind the midline instead (a clump of roots or a vessel
        // against the dura, not a crescent).
        let dorsal = y > 0.0
            && if narrow {
                x.abs() <= 1.5
            } else {
                y.atan2(x.abs()) > 0.35
            };
        if dorsal_fluid_mm > 0.0 && dorsal && r <= 8.7 {
            return fat;
        }
        if dorsal_fluid_mm > 0.0 && dorsal && r <= 8.7 + dorsal_fluid_mm && (2..14).contains(&k) {
            return csf;
        }
        fat
    });
    csfleak_volume::Volume::new(g, data).unwrap()
}

/// CSF behind nerve roots lying dorsally in the sac is intrathecal, not a dorsal collection:
/// the sac boundary is the outer envelope, never the inner edge between the roots and CSF.
#[test]
fn csf_behind_dorsal_roots_is_inside_the_sac() {
    let v = drawn_stack(0.0, false);
    let a = analyze_mri(&v, None, &SpineOptions::default()).unwrap();
    assert!(
        a.collections.is_empty(),
        "false collections: {:?}",
        a.collections
            .iter()
            .map(|c| (c.k_range, c.max_thickness_mm, c.volume_ml))
            .collect::<Vec<_>>()
    );
}

/// A dorsal crescent beyond a visible dura is found, with roots in the sac too, and its
/// thickness is measured within 1 mm; no dural gap is drawn, so continuity is not shown.
#[test]
fn dorsal_fluid_beyond_a_dark_dura_is_found_among_roots() {
    let v = drawn_stack(3.0, false);
    let a = analyze_mri(&v, None, &SpineOptions::default()).unwrap();
    assert_eq!(a.collections.len(), 1, "{:?}", a.collections.len());
    let c = &a.collections[0];
    assert_eq!(c.position, FluidPosition::Dorsal);
    assert!(
        (c.max_thickness_mm - 3.0).abs() <= 1.0,
        "thickness {}",
        c.max_thickness_mm
    );
    assert!(c.continuity_slice.is_none(), "{:?}", c.continuity_slice);
}

/// The same fluid depth behind the dura in a strip as narrow as it is deep (3 mm wide, 3 mm
/// deep, 48 mm long): not a crescent around the sac, not reported as a collection.
#[test]
fn a_narrow_dorsal_strip_is_not_a_collection() {
    let v = drawn_stack(3.0, true);
    let a = analyze_mri(&v, None, &SpineOptions::default()).unwrap();
    assert!(
        a.collections.is_empty(),
        "{:?}",
        a.collections
            .iter()
            .map(|c| (c.k_range, c.max_thickness_mm, c.volume_ml))
            .collect::<Vec<_>>()
    );
}

/// A ventral collection T3-T8 with the axial block covering only T6-T9: the axial analysis
/// sees its lower part; the sagittal series follows it up to its cranial end (within one
/// vertebra) and the volume comes within 25 % of the whole collection's. A collection inside
/// the block and a normal spine are left alone.
#[test]
fn collection_beyond_the_axial_block_is_followed_on_the_sagittal() {
    let spec = CollectionSpec::new("T3", "T8", Position::Ventral, 3.0);
    let model = SpineModel::new(Model::default().with_collection(spec)).unwrap();
    let zr = z_span(&model, "T6", "T9");
    let g = axial_grid(&model, zr, [192, 192], 0.8, 4.0, true).unwrap();
    let t2 = render_mr(&model, MrContrast::T2Fs, &g, 2, 25.0, 0.15, 21, "t2").unwrap();
    let sag_z = z_span(&model, "T1", "T11");
    let sg = sagittal_grid(&model, sag_z, 90.0, [1.0, 1.1], 9, 3.0).unwrap();
    let sag = render_mr(&model, MrContrast::T2Fs, &sg, 2, 25.0, 0.15, 21, "sag").unwrap();
    let truth_ml = collection_volume_ml(&model);
    let mut a = analyze_mri(&t2, None, &SpineOptions::default()).unwrap();
    assert_eq!(a.collections.len(), 1, "{:#?}", a.collections);
    let before = a.collections[0].clone();
    let notes = a.follow_on_sagittal(&sag, &SpineOptions::default());
    let l = &a.collections[0];
    assert!(l.sagittal_mm > 30.0, "not followed: {notes:?}");
    let t3 = &model.levels()[model.level_index("T3").unwrap()];
    let top = l.z_range_mm.0.max(l.z_range_mm.1);
    let t3_height = t3.body_top_z_mm - t3.body_bottom_z_mm;
    assert!(
        top > t3.body_bottom_z_mm - t3_height && top < t3.body_top_z_mm + t3_height,
        "top z {top:.1} vs T3 {:.1}..{:.1}; {notes:?}",
        t3.body_top_z_mm,
        t3.body_bottom_z_mm
    );
    assert!(
        before.volume_ml < 0.75 * truth_ml,
        "the block alone should miss part: {} of {truth_ml}",
        before.volume_ml
    );
    let err = (l.volume_ml - truth_ml).abs() / truth_ml;
    assert!(err < 0.25, "volume {:.2} vs {truth_ml:.2}", l.volume_ml);
    // Labelled ends reach beyond the block when levels are known; the section says present.
    let section = a.to_section(None, false);
    let fluid = section.epidural_fluid.unwrap();
    assert_eq!(fluid.collections.len(), 1);
    // No dural gap seen on the block, but most of the collection lies beyond it: continuity
    // is not assessed (a gap there could not be looked for), and the evidence says why.
    let col = &fluid.collections[0];
    assert_eq!(col.continuous_with_sas, None);
    assert_says_not_assessed(col);

    // A collection inside the block and a normal spine: nothing changes.
    let spec = CollectionSpec::new("T7", "T8", Position::Dorsal, 3.0);
    let model = SpineModel::new(Model::default().with_collection(spec)).unwrap();
    let t2 = render_mr(&model, MrContrast::T2Fs, &g, 2, 25.0, 0.15, 22, "t2").unwrap();
    let sag = render_mr(&model, MrContrast::T2Fs, &sg, 2, 25.0, 0.15, 22, "sag").unwrap();
    let mut a = analyze_mri(&t2, None, &SpineOptions::default()).unwrap();
    let before: Vec<f64> = a.collections.iter().map(|l| l.volume_ml).collect();
    a.follow_on_sagittal(&sag, &SpineOptions::default());
    let after: Vec<f64> = a.collections.iter().map(|l| l.volume_ml).collect();
    assert_eq!(before, after);
    assert!(a.collections.iter().all(|l| l.sagittal_mm == 0.0));
}
