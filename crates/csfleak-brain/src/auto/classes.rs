//! Tissue classes of the patient's own head from the intensity histogram.
//!
//! The intensities of a sphere around the cerebrum's centre (60 mm below the top of the head:
//! in every adult head cerebral grey and white matter, deep grey matter and the ventricles) are clustered into three classes by 1-D k-means:
//! CSF, grey and white matter. Only the order of the classes is assumed (T1: CSF darkest,
//! white brightest), never their values.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "sample counts and quantile indices"
)]

use csfleak_volume::{DVec3, Volume, VoxelIdx};
use serde::Serialize;

/// Representative intensities of the brain's tissue classes (the image's own units).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TissueClasses {
    /// CSF.
    pub csf: f64,
    /// Grey matter.
    pub grey: f64,
    /// White matter.
    pub white: f64,
    /// Centre of the cerebrum (patient LPS, mm: 60 mm below the top of the head) around which
    /// the classes were sampled.
    pub head_centre: [f64; 3],
}

impl TissueClasses {
    /// Intensity normalised so that CSF is 0 and white matter 1.
    pub fn normalise(&self, x: f64) -> f64 {
        (x - self.csf) / (self.white - self.csf)
    }
}

/// Depth of the cerebrum's centre below the top of the head, mm.
const CENTRE_BELOW_VERTEX_MM: f64 = 60.0;

/// Radius of the sampled sphere, mm.
const SPHERE_MM: f64 = 35.0;

/// Classes of a T1 head volume; `None` when the histogram does not separate three classes.
pub(super) fn tissue_classes(v: &Volume) -> Option<TissueClasses> {
    let [ni, nj, nk] = v.dims();
    let g = v.geometry();
    let total = (ni * nj * nk).max(1);
    let mut stride = 1_usize;
    while total / (stride * stride * stride) > 400_000 {
        stride += 1;
    }
    let mut vals = Vec::new();
    for k in (0..nk).step_by(stride) {
        for j in (0..nj).step_by(stride) {
            for i in (0..ni).step_by(stride) {
                let idx = VoxelIdx::new(i, j, k);
                if let Some(x) = v.get(idx) {
                    vals.push((g.voxel_center(idx).to_dvec3(), x));
                }
            }
        }
    }
    let mut sorted: Vec<f32> = vals.iter().map(|p| p.1).collect();
    sorted.sort_by(f32::total_cmp);
    let p99 = f64::from(*sorted.get(sorted.len().saturating_sub(1) * 99 / 100)?);
    let head: Vec<&(DVec3, f32)> = vals.iter().filter(|p| f64::from(p.1) > 0.1 * p99).collect();
    if head.len() < 100 {
        return None;
    }
    // The cerebrum's centre: 60 mm below the top of the head (the scalp vertex, robustly the
    // 99.9th percentile of height), at the centroid of the head's section there. Whatever the
    // field of view covers below (neck, shoulders), this stays within the brain.
    let mut zs: Vec<f64> = head.iter().map(|p| p.0.z).collect();
    zs.sort_by(f64::total_cmp);
    let vertex = zs[(zs.len() - 1) * 999 / 1000];
    let zc = vertex - CENTRE_BELOW_VERTEX_MM;
    let section: Vec<DVec3> = head
        .iter()
        .filter(|p| (p.0.z - zc).abs() < 10.0)
        .map(|p| p.0)
        .collect();
    if section.len() < 20 {
        return None;
    }
    let mut centre = section.iter().copied().sum::<DVec3>() / section.len() as f64;
    centre.z = zc;
    let mut inner: Vec<f64> = head
        .iter()
        .filter(|p| p.0.distance(centre) < SPHERE_MM)
        .map(|p| f64::from(p.1))
        .collect();
    // The sphere itself, all voxels (CSF may be below the head threshold).
    inner.extend(
        vals.iter()
            .filter(|p| p.0.distance(centre) < SPHERE_MM && f64::from(p.1) <= 0.1 * p99)
            .map(|p| f64::from(p.1)),
    );
    if inner.len() < 50 {
        return None;
    }
    inner.sort_by(f64::total_cmp);
    let q = |f: f64| inner[((inner.len() - 1) as f64 * f) as usize];
    let mut c = [q(0.05), q(0.4), q(0.85)];
    for _ in 0..50 {
        let mut sum = [0.0; 3];
        let mut cnt = [0_usize; 3];
        for x in &inner {
            let b = (0..3)
                .min_by(|a, b| (x - c[*a]).abs().total_cmp(&(x - c[*b]).abs()))
                .unwrap_or(0);
            sum[b] += x;
            cnt[b] += 1;
        }
        for b in 0..3 {
            if cnt[b] > 0 {
                c[b] = sum[b] / cnt[b] as f64;
            }
        }
    }
    let spread = c[2] - c[0];
    if spread.is_nan()
        || spread <= 0.0
        || c[1] - c[0] < 0.15 * spread
        || c[2] - c[1] < 0.05 * spread
    {
        return None;
    }
    Some(TissueClasses {
        csf: c[0],
        grey: c[1],
        white: c[2],
        head_centre: centre.to_array(),
    })
}
