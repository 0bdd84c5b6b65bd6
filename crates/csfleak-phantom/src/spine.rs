//! Spine phantoms: MRI (fat-suppressed T2 axial and sagittal, 3D MR myelography, fat-suppressed
//! contrast T1) and CT myelography, from one continuous [`SpineModel`].
//!
//! A scenario builds a [`SpineModel`] from [`SpineOptions`], renders the series it needs with
//! [`render_mr`] / [`render_ct`] on grids from [`axial_grid`], [`sagittal_grid`] and
//! [`coronal_grid`], and records the truth with [`spine_truth`] / [`ctm_truth`].

mod anatomy;
mod scenarios;

pub use anatomy::{
    CollectionSpec, CtLeakSpec, DURA_MM, Level, Mimic, Position, PunctureSpec, Side, SpineModel,
    SpineOptions, Tissue,
};
pub(crate) use scenarios::scenarios;

use csfleak_volume::{DVec3, Geometry, PointLps, VecLps, Volume};
use serde_json::{Value, json};

use crate::error::Result;
use crate::noise::{BiasField, add_gaussian, add_rician};
use crate::render::render_supersampled;
use crate::scenario::round_to;

/// The MR contrasts of the spine protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MrContrast {
    /// Fat-suppressed T2 (2D TSE): CSF and fluid bright, fat dark.
    T2Fs,
    /// 3D heavily T2-weighted MR myelography: only free water is bright.
    Myelography,
    /// Fat-suppressed T1 after gadolinium: veins and dura enhance, CSF and fluid stay dark.
    T1FsPost,
}

/// Noise-free MR intensity of a tissue (arbitrary units, like a scanner's).
pub fn mr_value(contrast: MrContrast, t: Tissue) -> f32 {
    use MrContrast::{Myelography, T1FsPost, T2Fs};
    let [t2, myelo, t1] = match t {
        Tissue::Air => [0.0, 0.0, 0.0],
        Tissue::Fat => [120.0, 40.0, 90.0],
        Tissue::Muscle => [350.0, 60.0, 380.0],
        Tissue::Cortex => [40.0, 10.0, 40.0],
        Tissue::Marrow => [250.0, 30.0, 260.0],
        Tissue::Annulus => [300.0, 60.0, 350.0],
        Tissue::Nucleus => [1100.0, 500.0, 300.0],
        Tissue::Csf | Tissue::TarlovCyst => [1600.0, 2000.0, 180.0],
        Tissue::Cord => [650.0, 250.0, 450.0],
        Tissue::Dura => [250.0, 80.0, 700.0],
        Tissue::EpiduralFluid | Tissue::ContrastLeak | Tissue::PunctureLeak => {
            [1550.0, 1900.0, 170.0]
        }
        Tissue::Vein => [900.0, 400.0, 1500.0],
        Tissue::Lung => [20.0, 5.0, 20.0],
        Tissue::Nerve => [500.0, 150.0, 400.0],
    };
    match contrast {
        T2Fs => t2,
        Myelography => myelo,
        T1FsPost => t1,
    }
}

/// Noise-free CT myelography HU of a tissue.
pub fn ct_value(model: &SpineModel, intrathecal_hu: f64, t: Tissue) -> f32 {
    let continuous = model
        .options()
        .collection
        .as_ref()
        .is_some_and(|c| c.dural_defect_level.is_some());
    let hu = match t {
        Tissue::Air => -1000.0,
        Tissue::Fat => -100.0,
        Tissue::Muscle | Tissue::Dura => 50.0,
        Tissue::Cortex => 1100.0,
        Tissue::Marrow => 250.0,
        Tissue::Annulus => 90.0,
        Tissue::Nucleus => 75.0,
        Tissue::Csf => intrathecal_hu,
        Tissue::TarlovCyst => 0.5 * intrathecal_hu,
        Tissue::Cord => 35.0,
        Tissue::EpiduralFluid => {
            if continuous {
                0.55 * intrathecal_hu
            } else {
                10.0
            }
        }
        Tissue::Vein => 60.0,
        Tissue::Lung => -850.0,
        Tissue::Nerve => 40.0,
        // All leak sites of one study share the HU of the first (the truth reports the same).
        Tissue::ContrastLeak => model
            .options()
            .ct_leaks
            .first()
            .map_or(0.6 * intrathecal_hu, |l| l.hu),
        Tissue::PunctureLeak => model
            .options()
            .puncture
            .as_ref()
            .map_or(0.5 * intrathecal_hu, |p| p.hu),
    };
    #[allow(clippy::cast_possible_truncation, reason = "HU values fit f32")]
    let v = hu as f32;
    v
}

/// An axial stack over patient heights `z_lo..z_hi` (mm): `matrix x matrix` pixels of
/// `pixel_mm`, slices every `step_mm`. With `tilt`, the slices are perpendicular to the mean
/// canal direction (an oblique orientation, as technologists angle them).
pub fn axial_grid(
    model: &SpineModel,
    z_range: (f64, f64),
    matrix: [usize; 2],
    pixel_mm: f64,
    step_mm: f64,
    tilt: bool,
) -> Result<Geometry> {
    let (lo, hi) = (z_range.0.min(z_range.1), z_range.0.max(z_range.1));
    let mid = 0.5 * (lo + hi);
    let theta = if tilt {
        let (y_hi, _) = model.centreline(hi);
        let (y_lo, _) = model.centreline(lo);
        ((y_hi - y_lo) / (hi - lo).max(1.0)).atan()
    } else {
        0.0
    };
    let row = DVec3::X;
    let col = DVec3::new(0.0, theta.cos(), -theta.sin());
    let normal = row.cross(col);
    let nk = crate::scenario::count_steps(((hi - lo) / theta.cos() / step_mm).floor()) + 1;
    // FOV centred 15 mm in front of the canal so the vertebral body is in view.
    let centre = model.canal_centre(mid) - DVec3::new(0.0, 15.0, 0.0);
    let [ni, nj] = matrix;
    let origin = centre
        - row * (pixel_mm * (ni as f64 - 1.0) / 2.0)
        - col * (pixel_mm * (nj as f64 - 1.0) / 2.0)
        - normal * (step_mm * (nk as f64 - 1.0) / 2.0);
    Ok(Geometry::from_steps(
        [ni, nj, nk],
        PointLps::from_dvec3(origin),
        VecLps::from_dvec3(row * pixel_mm),
        VecLps::from_dvec3(col * pixel_mm),
        VecLps::from_dvec3(normal * step_mm),
    )?)
}

/// A sagittal stack (rows run anterior to posterior, columns head to foot) over `z_lo..z_hi`,
/// `ap_mm` wide, `n_slices` slices every `step_mm` centred on the midline.
/// `pixel_mm` is `[along rows (i, y), along columns (j, z)]`.
pub fn sagittal_grid(
    model: &SpineModel,
    z_range: (f64, f64),
    ap_mm: f64,
    pixel_mm: [f64; 2],
    n_slices: usize,
    step_mm: f64,
) -> Result<Geometry> {
    let (lo, hi) = (z_range.0.min(z_range.1), z_range.0.max(z_range.1));
    let (y_mean, _) = model.centreline(0.5 * (lo + hi));
    let ni = crate::scenario::count_steps((ap_mm / pixel_mm[0]).round()).max(1);
    let nj = crate::scenario::count_steps(((hi - lo) / pixel_mm[1]).round()).max(1);
    let row = DVec3::Y;
    let col = DVec3::NEG_Z;
    let normal = row.cross(col); // -x
    let origin = DVec3::new(0.0, y_mean - 0.6 * ap_mm, hi)
        - normal * (step_mm * (n_slices as f64 - 1.0) / 2.0);
    Ok(Geometry::from_steps(
        [ni, nj, n_slices],
        PointLps::from_dvec3(origin),
        VecLps::from_dvec3(row * pixel_mm[0]),
        VecLps::from_dvec3(col * pixel_mm[1]),
        VecLps::from_dvec3(normal * step_mm),
    )?)
}

/// A coronal 3D slab (rows run right to left, columns head to foot, slices anterior to
/// posterior) covering the canal over `z_lo..z_hi`: `width_mm` wide, voxels of `voxel_mm`
/// `[i, j, k]` (anisotropic allowed).
pub fn coronal_grid(
    model: &SpineModel,
    z_range: (f64, f64),
    width_mm: f64,
    voxel_mm: [f64; 3],
) -> Result<Geometry> {
    let (lo, hi) = (z_range.0.min(z_range.1), z_range.0.max(z_range.1));
    let mut y_min = f64::INFINITY;
    let mut y_max = f64::NEG_INFINITY;
    let mut z = lo;
    while z <= hi {
        let (y, _) = model.centreline(z);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
        z += 2.0;
    }
    let y0 = y_min - 22.0;
    let y1 = y_max + 16.0;
    let ni = crate::scenario::count_steps((width_mm / voxel_mm[0]).round()).max(1);
    let nj = crate::scenario::count_steps(((hi - lo) / voxel_mm[1]).round()).max(1);
    let nk = crate::scenario::count_steps(((y1 - y0) / voxel_mm[2]).round()).max(1);
    let origin = DVec3::new(-(ni as f64 - 1.0) * voxel_mm[0] / 2.0, y0, hi);
    Ok(Geometry::from_steps(
        [ni, nj, nk],
        PointLps::from_dvec3(origin),
        VecLps([voxel_mm[0], 0.0, 0.0]),
        VecLps([0.0, 0.0, -voxel_mm[1]]),
        VecLps([0.0, voxel_mm[2], 0.0]),
    )?)
}

/// Render an MR series: supersampled partial volume (`ss` per axis at edges), a bias field of
/// relative amplitude `bias`, and Rician noise of `sigma`, seeded by `(seed, key)`.
#[allow(
    clippy::too_many_arguments,
    reason = "the rendering knobs of one series"
)]
pub fn render_mr(
    model: &SpineModel,
    contrast: MrContrast,
    geometry: &Geometry,
    ss: usize,
    sigma: f32,
    bias: f64,
    seed: u64,
    key: &str,
) -> Result<Volume> {
    let mut v = render_supersampled(
        geometry,
        ss,
        |p| model.classify(p) as u8,
        |t| mr_value(contrast, Tissue::from_u8(t)),
    )?;
    if bias > 0.0 {
        BiasField::new(bias, seed, key).apply(&mut v);
    }
    if sigma > 0.0 {
        add_rician(&mut v, sigma, seed, key);
    }
    Ok(v)
}

/// Render a CT myelography series in HU with Gaussian noise of `sigma` HU.
pub fn render_ct(
    model: &SpineModel,
    intrathecal_hu: f64,
    geometry: &Geometry,
    ss: usize,
    sigma: f32,
    seed: u64,
    key: &str,
) -> Result<Volume> {
    let mut v = render_supersampled(
        geometry,
        ss,
        |p| model.classify(p) as u8,
        |t| ct_value(model, intrathecal_hu, Tissue::from_u8(t)),
    )?;
    if sigma > 0.0 {
        add_gaussian(&mut v, sigma, seed, key);
    }
    Ok(v)
}

/// Model volume (mL) of the extradural collection by fine numerical integration.
pub fn collection_volume_ml(model: &SpineModel) -> f64 {
    model.collection_volume_ml(0.2, 0.5)
}

fn level_table(model: &SpineModel) -> Value {
    Value::Array(
        model
            .levels()
            .iter()
            .map(|l| {
                json!({
                    "level": l.name,
                    "disc_below": l.disc,
                    "body_top_z_mm": round_to(l.body_top_z_mm, 3),
                    "body_bottom_z_mm": round_to(l.body_bottom_z_mm, 3),
                    "segment_bottom_z_mm": round_to(l.segment_bottom_z_mm, 3),
                    "canal_centre_y_mm": round_to(model.centreline(l.body_mid_z()).0, 3),
                })
            })
            .collect(),
    )
}

fn side_str(side: Side) -> &'static str {
    match side {
        Side::Left => "left",
        Side::Right => "right",
        Side::Midline => "midline",
    }
}

/// The `spine` truth section (findings vocabulary): epidural fluid, excluded mimics,
/// intraspinal CSF volume, and the level table.
pub fn spine_truth(model: &SpineModel) -> Value {
    let mut collections = Vec::new();
    if let (Some(c), Some((lo, hi))) = (&model.options().collection, model.collection_range()) {
        let position = match c.position {
            Position::Ventral => "ventral",
            Position::Dorsal => "dorsal",
            Position::Lateral => "lateral",
            Position::Circumferential => "circumferential",
        };
        collections.push(json!({
            "from_level": model.level_at(hi - 1e-6).name,
            "to_level": model.level_at(lo + 1e-6).name,
            "z_from_mm": round_to(hi, 3),
            "z_to_mm": round_to(lo, 3),
            "extent_mm": round_to(model.arc_length(lo, hi), 2),
            "taper_mm": 8.0,
            "max_thickness_mm": round_to(c.max_thickness_mm, 3),
            "volume_ml": round_to(collection_volume_ml(model), 3),
            "position": position,
            "side": side_str(c.side),
            "continuous_with_sas": c.dural_defect_level.is_some(),
            "dural_defect_level": c.dural_defect_level,
            "non_enhancing": true,
            "floating_dural_sac_sign": c.position == Position::Circumferential,
        }));
    }
    let mimics: Vec<Value> = model
        .options()
        .mimics
        .iter()
        .map(|m| match m {
            Mimic::VenousPlexus {
                from_level,
                to_level,
                thickness_mm,
            } => json!({
                "kind": "venous_plexus", "level": from_level, "to_level": to_level,
                "side": "bilateral", "thickness_mm": thickness_mm, "enhancing": true,
            }),
            Mimic::TarlovCyst {
                level,
                side,
                radius_mm,
            } => json!({
                "kind": "tarlov_cyst", "level": level, "side": side_str(*side),
                "radius_mm": radius_mm,
            }),
            Mimic::DilatedRootSleeve {
                level,
                side,
                radius_mm,
            } => json!({
                "kind": "root_sleeve", "level": level, "side": side_str(*side),
                "radius_mm": radius_mm,
            }),
        })
        .collect();
    json!({
        "epidural_fluid": {
            "status": if collections.is_empty() { "absent" } else { "present" },
            "collections": collections,
        },
        "excluded_mimics": mimics,
        "intraspinal_csf_volume_ml": round_to(model.intraspinal_csf_ml(), 2),
        "intraspinal_csf_definition": "CSF inside the dural sac from the top of C1 to the end of the sac, cord excluded, root sleeves excluded",
        "dura_thickness_mm": DURA_MM,
        "levels": level_table(model),
    })
}

/// The `ct_myelography` truth section.
pub fn ctm_truth(model: &SpineModel, intrathecal_hu: f64) -> Value {
    let mut sites = Vec::new();
    for leak in &model.options().ct_leaks {
        sites.push(json!({
            "level": leak.level,
            "side": side_str(leak.side),
            "continuous_with_sas": leak.continuous_with_sas,
            "dural_defect": leak.continuous_with_sas,
            "at_puncture_site": false,
            "at_catheter_entry": false,
            "max_hu": round_to(f64::from(ct_value(model, intrathecal_hu, Tissue::ContrastLeak)), 1),
            "kind": if leak.continuous_with_sas { "root_sleeve" } else { "remote_epidural" },
        }));
    }
    if let Some(p) = &model.options().puncture
        && p.leak
    {
        sites.push(json!({
            "level": p.level,
            "side": "midline",
            "continuous_with_sas": true,
            "dural_defect": false,
            "at_puncture_site": true,
            "at_catheter_entry": false,
            "max_hu": round_to(p.hu, 1),
            "kind": "puncture_site",
        }));
    }
    json!({
        "epidural_contrast": {
            "status": if sites.is_empty() { "absent" } else { "present" },
            "sites": sites,
        },
        "intrathecal_median_hu": round_to(intrathecal_hu, 1),
        "puncture_level": model.options().puncture.as_ref().map(|p| p.level.clone()),
        "levels": level_table(model),
    })
}
