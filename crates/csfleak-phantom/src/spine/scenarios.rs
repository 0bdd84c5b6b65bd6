//! The spine scenarios: normal and abnormal spine MRI and CT myelography studies.

use serde_json::json;

use super::{
    CollectionSpec, CtLeakSpec, Mimic, MrContrast, Position, PunctureSpec, Side, SpineModel,
    SpineOptions, axial_grid, coronal_grid, ctm_truth, render_ct, render_mr, sagittal_grid,
    spine_truth,
};
use crate::error::Result;
use crate::scenario::{Scenario, ScenarioContext, Size};
use crate::study::{Vendor, hash64};
use crate::writer::{Compression, CtParams, MrParams, SeriesSpec};

/// The spine scenarios.
pub(crate) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "spine-mri-normal",
            description: "Spine MRI without extradural fluid: sagittal and axial T2 fat-sat, 3D MR myelography, contrast T1 fat-sat",
            build: |ctx| {
                mri(
                    ctx,
                    &SpineOptions::default(),
                    ("C1", "S1"),
                    &[("T11", "L2")],
                )
            },
        },
        Scenario {
            name: "spine-mri-ventral-leak",
            description: "Ventral extradural CSF collection C7-T9 (4 mm), continuous with the subarachnoid space through a ventral dural defect at T3, non-enhancing",
            build: |ctx| {
                let c =
                    CollectionSpec::new("C7", "T9", Position::Ventral, 4.0).with_dural_defect("T3");
                mri(ctx, &with_collection(c), ("C1", "L1"), &[("C7", "T9")])
            },
        },
        Scenario {
            name: "spine-mri-dorsal-leak",
            description: "Dorsal extradural CSF collection T9-L1 (3 mm), dura intact (not continuous), non-enhancing",
            build: |ctx| {
                let c = CollectionSpec::new("T9", "L1", Position::Dorsal, 3.0);
                mri(ctx, &with_collection(c), ("T1", "S1"), &[("T9", "L1")])
            },
        },
        Scenario {
            name: "spine-mri-fdss",
            description: "Circumferential extradural CSF T3-T8 (2.5 mm, floating dural sac sign), continuous through a defect at T5",
            build: |ctx| {
                let c = CollectionSpec::new("T3", "T8", Position::Circumferential, 2.5)
                    .with_dural_defect("T5");
                mri(ctx, &with_collection(c), ("C1", "L1"), &[("T3", "T8")])
            },
        },
        Scenario {
            name: "spine-mri-lateral-leak",
            description: "Left lateral extradural CSF T10-T12 (3 mm), continuous through a lateral defect at T11",
            build: |ctx| {
                let c = CollectionSpec::new("T10", "T12", Position::Lateral, 3.0)
                    .with_side(Side::Left)
                    .with_dural_defect("T11");
                mri(ctx, &with_collection(c), ("T1", "S1"), &[("T10", "T12")])
            },
        },
        Scenario {
            name: "spine-mri-mimics",
            description: "No leak; mimics to exclude: engorged enhancing ventral venous plexus C6-T2, Tarlov cyst S1 left, dilated root sleeve L4 right",
            build: |ctx| {
                let o = SpineOptions {
                    mimics: vec![
                        Mimic::VenousPlexus {
                            from_level: "C6".to_owned(),
                            to_level: "T2".to_owned(),
                            thickness_mm: 2.5,
                        },
                        Mimic::TarlovCyst {
                            level: "S1".to_owned(),
                            side: Side::Left,
                            radius_mm: 8.0,
                        },
                        Mimic::DilatedRootSleeve {
                            level: "L4".to_owned(),
                            side: Side::Right,
                            radius_mm: 3.5,
                        },
                    ],
                    ..SpineOptions::default()
                };
                mri(ctx, &o, ("C1", "S1"), &[("C6", "T2"), ("L3", "S1")])
            },
        },
        Scenario {
            name: "spine-ctm-normal",
            description: "CT myelography T10-S1 after an L3/4 puncture, no epidural contrast",
            build: |ctx| ctm(ctx, &with_puncture(false, Vec::new()), ("T10", "S1"), 600.0),
        },
        Scenario {
            name: "spine-ctm-root-sleeve-leak",
            description: "CT myelography T5-S1: epidural contrast at the left T8 root sleeve, continuous with the subarachnoid space (dural defect); L3/4 puncture without leak",
            build: |ctx| {
                let leak = CtLeakSpec {
                    level: "T8".to_owned(),
                    side: Side::Left,
                    continuous_with_sas: true,
                    hu: 380.0,
                };
                ctm(ctx, &with_puncture(false, vec![leak]), ("T5", "S1"), 650.0)
            },
        },
        Scenario {
            name: "spine-ctm-remote-leak",
            description: "CT myelography T9-S1: epidural contrast near T11 right, not continuous with the sac and away from the L3/4 puncture",
            build: |ctx| {
                let leak = CtLeakSpec {
                    level: "T11".to_owned(),
                    side: Side::Right,
                    continuous_with_sas: false,
                    hu: 300.0,
                };
                ctm(ctx, &with_puncture(false, vec![leak]), ("T9", "S1"), 550.0)
            },
        },
        Scenario {
            name: "spine-ctm-puncture-leak",
            description: "CT myelography L1-S1: epidural contrast only at the L3/4 puncture site (dorsal, along the needle tract)",
            build: |ctx| ctm(ctx, &with_puncture(true, Vec::new()), ("L1", "S1"), 600.0),
        },
    ]
}

fn with_collection(c: CollectionSpec) -> SpineOptions {
    SpineOptions {
        collection: Some(c),
        ..SpineOptions::default()
    }
}

fn with_puncture(leak: bool, ct_leaks: Vec<CtLeakSpec>) -> SpineOptions {
    SpineOptions {
        ct_leaks,
        puncture: Some(PunctureSpec {
            level: "L3/4".to_owned(),
            leak,
            hu: 450.0,
        }),
        ..SpineOptions::default()
    }
}

/// Grid and rendering settings of a size preset.
struct Settings {
    ss: usize,
    sag_pixel: [f64; 2],
    sag_ap_mm: f64,
    sag_slices: usize,
    sag_step: f64,
    ax_matrix: usize,
    ax_pixel: f64,
    ax_step: f64,
    ax_max_slices: usize,
    myelo_voxel: [f64; 3],
    myelo_width: f64,
    ct_matrix: usize,
    ct_pixel: f64,
    ct_step: f64,
    loc_pixel: f64,
    compression: Compression,
}

fn settings(size: Size) -> Settings {
    match size {
        Size::Small => Settings {
            ss: 2,
            sag_pixel: [1.6, 1.6],
            sag_ap_mm: 200.0,
            sag_slices: 9,
            sag_step: 4.0,
            ax_matrix: 128,
            ax_pixel: 1.4,
            ax_step: 5.0,
            ax_max_slices: 40,
            myelo_voxel: [2.0, 2.0, 2.0],
            myelo_width: 100.0,
            ct_matrix: 160,
            ct_pixel: 1.2,
            ct_step: 3.0,
            loc_pixel: 3.2,
            compression: Compression::Deflate,
        },
        _ => Settings {
            ss: 3,
            sag_pixel: [0.8, 0.8],
            sag_ap_mm: 260.0,
            sag_slices: 15,
            sag_step: 3.3,
            ax_matrix: 256,
            ax_pixel: 0.7,
            ax_step: 4.0,
            ax_max_slices: 60,
            myelo_voxel: [1.0, 1.0, 1.2],
            myelo_width: 160.0,
            ct_matrix: 320,
            ct_pixel: 0.6,
            ct_step: 1.25,
            loc_pixel: 1.6,
            compression: Compression::None,
        },
    }
}

/// Series descriptions in the language of the (seeded) site.
struct Names {
    loc: &'static str,
    sag: &'static str,
    ax_t2: &'static str,
    myelo: &'static str,
    ax_t1: &'static str,
    ct: &'static str,
}

fn names(seed: u64) -> Names {
    if hash64(seed, "spine/language") % 3 == 0 {
        Names {
            loc: "位置決め",
            sag: "T2強調 脂肪抑制 矢状断",
            ax_t2: "T2強調 脂肪抑制 横断",
            myelo: "3D MRミエログラフィー",
            ax_t1: "造影T1強調 脂肪抑制 横断",
            ct: "CTミエログラフィー 脊椎",
        }
    } else {
        Names {
            loc: "localizer",
            sag: "t2_tse_fs_sag",
            ax_t2: "t2_tse_fs_tra",
            myelo: "3D MR myelo SPACE",
            ax_t1: "t1_tse_fs_tra +C",
            ct: "CT myelogram spine 1.0 Br40",
        }
    }
}

fn vendor_mr(params: MrParams, vendor: Vendor, three_d: bool) -> MrParams {
    let name = match (vendor, three_d) {
        (Vendor::Ge, false) => "fse-xl",
        (Vendor::Ge, true) => "cube",
        (Vendor::Philips, false) => "TSE",
        (Vendor::Philips, true) => "VISTA",
        (Vendor::Canon, false) => "FSE2D",
        (Vendor::Canon, true) => "FASE3D",
        _ => return params,
    };
    params.with_sequence_name(name)
}

fn series_time(ctx: &ScenarioContext, minutes: u32) -> String {
    let t = &ctx.study.study_time;
    let h: u32 = t.get(0..2).and_then(|s| s.parse().ok()).unwrap_or(9);
    let m: u32 = t.get(2..4).and_then(|s| s.parse().ok()).unwrap_or(0);
    let total = h * 60 + m + minutes;
    format!("{:02}{:02}00", (total / 60) % 24, total % 60)
}

fn body_part(model: &SpineModel, top: &str, bottom: &str) -> Result<&'static str> {
    let a = model.level_index(top)?;
    let b = model.level_index(bottom)?;
    Ok(match (a, b) {
        (_, 0..=6) => "CSPINE",
        (7..=18, 7..=18) => "TSPINE",
        (19.., _) => "LSPINE",
        _ => "SPINE",
    })
}

/// Heights (z low, z high) spanning levels `top..bottom`, segments included.
fn span(model: &SpineModel, top: &str, bottom: &str) -> Result<(f64, f64)> {
    let a = &model.levels()[model.level_index(top)?];
    let b = &model.levels()[model.level_index(bottom)?];
    Ok((b.body_bottom_z_mm, a.body_top_z_mm))
}

/// A spine MRI study: localizer, sagittal T2 FS over `region`, axial T2 FS and contrast T1 FS
/// over each of `axial` (level pairs), 3D MR myelography over `region`.
fn mri(
    ctx: &mut ScenarioContext,
    options: &SpineOptions,
    region: (&str, &str),
    axial: &[(&str, &str)],
) -> Result<()> {
    let model = SpineModel::new(options.clone())?;
    let set = settings(ctx.size);
    let seed = ctx.seed;
    let vendor = Vendor::pick(seed, "spine/mri/vendor");
    let nm = names(seed);
    let zr = span(&model, region.0, region.1)?;
    let part = body_part(&model, region.0, region.1)?;
    let extra = |contrast: &str, sigma: f64, bias: f64, ss: usize| {
        json!({"contrast": contrast, "noise_sigma": sigma, "bias_amplitude": bias, "supersampling": ss,
               "region": [region.0, region.1]})
    };

    // Localizer: one low-resolution midline sagittal slice.
    let loc_n = ctx.next_series_number();
    let g = sagittal_grid(&model, zr, 240.0, [set.loc_pixel; 2], 1, 8.0)?;
    let v = render_mr(
        &model,
        MrContrast::T2Fs,
        &g,
        1,
        40.0,
        0.2,
        seed,
        "spine/loc",
    )?;
    let spec = SeriesSpec::mr(
        loc_n,
        "spine/localizer",
        nm.loc,
        MrParams::t2_fs_tse().with_scan_options(&[]),
    )
    .with_vendor(vendor)
    .with_body_part(part)
    .with_series_time(series_time(ctx, 1))
    .with_compression(set.compression)
    .as_localizer();
    ctx.write_volume(&spec, &v, "localizer", extra("t2", 40.0, 0.2, 1))?;

    // Sagittal T2 fat-sat.
    let n = ctx.next_series_number();
    let g = sagittal_grid(
        &model,
        zr,
        set.sag_ap_mm,
        set.sag_pixel,
        set.sag_slices,
        set.sag_step,
    )?;
    let v = render_mr(
        &model,
        MrContrast::T2Fs,
        &g,
        set.ss,
        25.0,
        0.15,
        seed,
        "spine/sag_t2fs",
    )?;
    let spec = SeriesSpec::mr(
        n,
        "spine/sag_t2fs",
        nm.sag,
        vendor_mr(MrParams::t2_fs_tse(), vendor, false),
    )
    .with_protocol_name("T2 FS SAG")
    .with_vendor(vendor)
    .with_body_part(part)
    .with_slice_thickness(set.sag_step * 0.9)
    .with_series_time(series_time(ctx, 4))
    .with_compression(set.compression);
    ctx.write_volume(
        &spec,
        &v,
        "spine_t2fs_sagittal",
        extra("t2_fs", 25.0, 0.15, set.ss),
    )?;

    // Axial T2 fat-sat (oblique, perpendicular to the canal), one stack per range.
    let mut axial_grids = Vec::new();
    for (idx, &(top, bottom)) in axial.iter().enumerate() {
        let (lo, hi) = span(&model, top, bottom)?;
        let (lo, hi) = (lo - 10.0, hi + 10.0);
        let step = set
            .ax_step
            .max((hi - lo) / (set.ax_max_slices as f64 - 1.0));
        let g = axial_grid(
            &model,
            (lo, hi),
            [set.ax_matrix; 2],
            set.ax_pixel,
            step,
            true,
        )?;
        let n = ctx.next_series_number();
        let key = format!("spine/ax_t2fs/{idx}");
        let v = render_mr(&model, MrContrast::T2Fs, &g, set.ss, 25.0, 0.15, seed, &key)?;
        let spec = SeriesSpec::mr(
            n,
            &key,
            nm.ax_t2,
            vendor_mr(MrParams::t2_fs_tse(), vendor, false),
        )
        .with_protocol_name("T2 FS AX")
        .with_vendor(vendor)
        .with_body_part(body_part(&model, top, bottom)?)
        .with_slice_thickness(step * 0.85)
        .with_series_time(series_time(ctx, 9 + 4 * u32::try_from(idx).unwrap_or(0)))
        .with_compression(set.compression);
        let mut e = extra("t2_fs", 25.0, 0.15, set.ss);
        e["levels"] = json!([top, bottom]);
        ctx.write_volume(&spec, &v, "spine_t2fs_axial", e)?;
        axial_grids.push((g, top, bottom, step));
    }

    // 3D MR myelography, coronal slab.
    let n = ctx.next_series_number();
    let g = coronal_grid(&model, zr, set.myelo_width, set.myelo_voxel)?;
    let v = render_mr(
        &model,
        MrContrast::Myelography,
        &g,
        set.ss,
        20.0,
        0.1,
        seed,
        "spine/myelo",
    )?;
    let spec = SeriesSpec::mr(
        n,
        "spine/myelo3d",
        nm.myelo,
        vendor_mr(MrParams::mr_myelography_3d(), vendor, true),
    )
    .with_protocol_name("3D MRM COR")
    .with_vendor(vendor)
    .with_body_part(part)
    .with_series_time(series_time(ctx, 20))
    .with_compression(set.compression);
    ctx.write_volume(
        &spec,
        &v,
        "spine_mr_myelography",
        extra("heavy_t2_3d", 20.0, 0.1, set.ss),
    )?;

    // Contrast T1 fat-sat, same stacks as the axial T2.
    for (idx, (g, top, bottom, step)) in axial_grids.iter().enumerate() {
        let n = ctx.next_series_number();
        let key = format!("spine/ax_t1fs_post/{idx}");
        let v = render_mr(
            &model,
            MrContrast::T1FsPost,
            g,
            set.ss,
            20.0,
            0.15,
            seed,
            &key,
        )?;
        let spec = SeriesSpec::mr(
            n,
            &key,
            nm.ax_t1,
            vendor_mr(MrParams::t1_fs_se(), vendor, false),
        )
        .with_protocol_name("T1 FS AX +C")
        .with_vendor(vendor)
        .with_body_part(body_part(&model, top, bottom)?)
        .with_contrast_agent("Gadobutrol")
        .with_slice_thickness(step * 0.85)
        .with_series_time(series_time(ctx, 32 + 4 * u32::try_from(idx).unwrap_or(0)))
        .with_compression(set.compression);
        let mut e = extra("t1_fs_post_gd", 20.0, 0.15, set.ss);
        e["levels"] = json!([top, bottom]);
        ctx.write_volume(&spec, &v, "spine_t1fs_post_axial", e)?;
    }
    ctx.set_section("spine", spine_truth(&model));
    Ok(())
}

/// A CT myelography study over `region` with intrathecal contrast at `intrathecal_hu`.
fn ctm(
    ctx: &mut ScenarioContext,
    options: &SpineOptions,
    region: (&str, &str),
    intrathecal_hu: f64,
) -> Result<()> {
    let model = SpineModel::new(options.clone())?;
    let set = settings(ctx.size);
    let seed = ctx.seed;
    let vendor = Vendor::pick(seed, "spine/ct/vendor");
    let nm = names(seed);
    let (lo, hi) = span(&model, region.0, region.1)?;
    let g = axial_grid(
        &model,
        (lo, hi),
        [set.ct_matrix; 2],
        set.ct_pixel,
        set.ct_step,
        false,
    )?;
    let v = render_ct(&model, intrathecal_hu, &g, set.ss, 12.0, seed, "spine/ctm")?;
    let n = ctx.next_series_number();
    let spec = SeriesSpec::ct(n, "spine/ctm", nm.ct, CtParams::default())
        .with_protocol_name("CT Myelography Spine")
        .with_vendor(vendor)
        .with_body_part(body_part(&model, region.0, region.1)?)
        .with_contrast_agent("Iohexol 300 intrathecal")
        .with_frame_of_reference("ct")
        .with_series_time(series_time(ctx, 45))
        .with_compression(set.compression);
    let extra =
        json!({"noise_sigma_hu": 12.0, "supersampling": set.ss, "region": [region.0, region.1]});
    ctx.write_volume(&spec, &v, "ct_myelography", extra)?;
    ctx.set_section("ct_myelography", ctm_truth(&model, intrathecal_hu));
    Ok(())
}
