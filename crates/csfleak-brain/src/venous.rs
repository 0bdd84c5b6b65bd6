//! Venous distension sign of the dominant transverse sinus (clinical.md §4): the
//! cross-section of the mid-transverse sinus on parasagittal planes of the contrast T1, its
//! free margin convex (distended) or straight/concave (normal).
//!
//! The sinus is found by its enhancement (post minus pre-contrast T1, each relative to the
//! patient's own brain, as in [`crate::convexity`]) in the posterior, lower half of the head on
//! parasagittal planes 30-55 mm from the midsagittal plane on each side. On each plane the
//! largest enhancing region (half-maximum contour) is the sinus cross-section; the side whose
//! cross-section is larger is dominant. The shape measure is rotation-free: the region's
//! area over the area of its smallest enclosing rectangle (any angle). A triangle with straight
//! margins fills 0.5 of it, a convex (oval) cross-section about 0.79, a concave one less than
//! 0.5; the sign is present above [`VenousOptions::min_fill`].
//!
//! With pachymeningeal enhancement the dura the sinus lies in enhances as much as the sinus:
//! the enhancing region is then a sheet along the inner table with the sinus on it, and the
//! sign is not assessable with that reason. Cutting the sheet off by its thickness (a
//! morphological opening: the sinus is 2-4 times thicker than the dura) was tried and dropped:
//! it rounds the corners of a straight-margined sinus, and the opened shapes of normal and
//! distended sinuses filled their rectangles alike (0.73-0.85 both, on this crate's phantom).

use csfleak_volume::{DVec3, PointLps, Volume};
use rayon::prelude::*;
use serde::Serialize;

use crate::bern::Sign;
use crate::convexity::{centre_and_reference, post_scale};
use crate::midsagittal::MidsagittalPlane;

/// Options of [`venous_distension`].
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct VenousOptions {
    /// Fill ratio above which the margin counts as convex.
    pub min_fill: f64,
    /// Band around `min_fill` flagged as borderline.
    pub borderline_band: f64,
    /// Minimum enhancement (brain-reference units) of the sinus peak.
    pub min_enhancement: f64,
    /// Minimum cross-section area (mm²) of a sinus.
    pub min_area_mm2: f64,
    /// Maximum cross-section area (mm²): a larger enhancing region is not a sinus alone.
    pub max_area_mm2: f64,
    /// Coarsest voxel edge (mm) of either T1 with which the shape is assessed (on a 2 mm grid
    /// a straight-margined sinus of normal size already looks round).
    pub max_voxel_mm: f64,
}

impl Default for VenousOptions {
    fn default() -> Self {
        Self {
            min_fill: 0.64,
            borderline_band: 0.05,
            min_enhancement: 0.4,
            min_area_mm2: 8.0,
            max_area_mm2: 400.0,
            max_voxel_mm: 1.3,
        }
    }
}

/// The dominant sinus cross-section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SinusSection {
    /// `"right"` or `"left"`.
    pub side: &'static str,
    /// Distance of the plane from the midsagittal plane, mm.
    pub lateral_mm: f64,
    /// Cross-section area, mm².
    pub area_mm2: f64,
    /// Area over the smallest enclosing rectangle.
    pub fill: f64,
    /// Centre of the cross-section (patient LPS).
    pub centre: PointLps,
    /// Cross-section area of the other side's largest section (mm²), 0 when none.
    pub other_area_mm2: f64,
}

const PX: f64 = 0.5;

/// Largest 4-connected component of `mask` (row-major `w` x `h`), as pixel indices.
fn largest_component(mask: &[bool], w: usize, h: usize) -> Vec<usize> {
    let mut seen = vec![false; mask.len()];
    let mut best = Vec::new();
    for s in 0..mask.len() {
        if !mask[s] || seen[s] {
            continue;
        }
        let mut comp = vec![s];
        seen[s] = true;
        let mut i = 0;
        while i < comp.len() {
            let p = comp[i];
            i += 1;
            let (x, y) = (p % w, p / w);
            let mut push = |q: usize| {
                if mask[q] && !seen[q] {
                    seen[q] = true;
                    comp.push(q);
                }
            };
            if x > 0 {
                push(p - 1);
            }
            if x + 1 < w {
                push(p + 1);
            }
            if y > 0 {
                push(p - w);
            }
            if y + 1 < h {
                push(p + w);
            }
        }
        if comp.len() > best.len() {
            best = comp;
        }
    }
    best
}

/// Area over the smallest enclosing rectangle (angles in 2-degree steps), pixel units.
fn fill_ratio(pts: &[(f64, f64)]) -> f64 {
    let area = pts.len() as f64;
    let mut best = f64::INFINITY;
    for a in (0..90).step_by(2) {
        let (s, c) = f64::from(a).to_radians().sin_cos();
        let (mut u0, mut u1, mut v0, mut v1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (x, y) in pts {
            let u = c * x + s * y;
            let v = -s * x + c * y;
            u0 = u0.min(u);
            u1 = u1.max(u);
            v0 = v0.min(v);
            v1 = v1.max(v);
        }
        // Pixel centres: the rectangle of pixel areas is one pixel wider on each axis.
        best = best.min((u1 - u0 + 1.0) * (v1 - v0 + 1.0));
    }
    area / best
}

/// Why a parasagittal plane gave no sinus cross-section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Miss {
    /// Nothing enhances enough in the posterior lower quadrant (or the plane is outside both
    /// series).
    NoEnhancement,
    /// The largest enhancing region is smaller than a sinus.
    TooSmall,
    /// The enhancing region containing the sinus runs on as a sheet (enhancing dura along the
    /// inner table or the tentorium): too large or too elongated to be a sinus alone.
    JoinedToSheet,
}

struct Section {
    area_mm2: f64,
    fill: f64,
    centre: DVec3,
}

#[allow(
    clippy::too_many_arguments,
    reason = "one plane: volumes, references and frame"
)]
fn section(
    pre: &Volume,
    post: &Volume,
    bp: f64,
    bq: f64,
    origin: DVec3,
    ant: DVec3,
    sup: DVec3,
    o: &VenousOptions,
) -> Result<Section, Miss> {
    // Posterior lower quadrant: 0-110 mm behind and 60 mm below to 30 mm above the centre.
    // 110 mm by 90 mm at PX = 0.5 mm.
    let (w, h) = (220_usize, 180_usize);
    let at = |x: usize, y: usize| origin - ant * (x as f64 * PX) + sup * (30.0 - y as f64 * PX);
    let mut e = vec![0.0_f64; w * h];
    for y in 0..h {
        for x in 0..w {
            let p = PointLps::from_dvec3(at(x, y));
            if let (Some(a), Some(b)) = (pre.sample(p), post.sample(p)) {
                e[y * w + x] = f64::from(b) / bq - f64::from(a) / bp;
            }
        }
    }
    let peak = e.iter().copied().fold(0.0, f64::max);
    if peak < o.min_enhancement {
        return Err(Miss::NoEnhancement);
    }
    let mask: Vec<bool> = e.iter().map(|v| *v >= 0.5 * peak).collect();
    let comp = largest_component(&mask, w, h);
    let area_mm2 = comp.len() as f64 * PX * PX;
    if area_mm2 < o.min_area_mm2 {
        return Err(Miss::TooSmall);
    }
    let pts: Vec<(f64, f64)> = comp
        .iter()
        .map(|p| ((p % w) as f64, (p / w) as f64))
        .collect();
    let fill = fill_ratio(&pts);
    // Not a compact cross-section (e.g. an enhancing dura or tentorium joined to the sinus):
    // the shape says nothing about the sinus margin.
    if area_mm2 > o.max_area_mm2 || fill < 0.35 {
        return Err(Miss::JoinedToSheet);
    }
    let n = pts.len() as f64;
    let (cx, cy) = pts
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    Ok(Section {
        area_mm2,
        fill,
        centre: origin - ant * (cx * PX) + sup * (30.0 - cy * PX),
    })
}

/// The venous distension sign; the section measured when assessable.
pub fn venous_distension(
    pre: &Volume,
    post: &Volume,
    plane: Option<&MidsagittalPlane>,
    o: &VenousOptions,
) -> (Sign, Option<SinusSection>) {
    let coarsest = [pre, post]
        .iter()
        .flat_map(|v| v.geometry().spacing_mm())
        .fold(0.0, f64::max);
    if coarsest > o.max_voxel_mm {
        return (
            Sign::not_assessable(format!(
                "T1 voxels up to {coarsest:.1} mm: the sinus cross-section shape needs voxels \
                 of at most {:.1} mm",
                o.max_voxel_mm
            )),
            None,
        );
    }
    let Some((c, bp)) = centre_and_reference(pre) else {
        return (
            Sign::not_assessable("no head found on the pre-contrast T1"),
            None,
        );
    };
    let Some(scale) = post_scale(pre, post, c, bp) else {
        return (
            Sign::not_assessable("the contrast T1 does not overlap the pre-contrast T1"),
            None,
        );
    };
    let bq = bp * scale;
    let left = plane
        .and_then(|p| p.normal.to_dvec3().try_normalize())
        .unwrap_or(DVec3::X);
    let Some(sup) = (DVec3::Z - left * DVec3::Z.dot(left)).try_normalize() else {
        return (Sign::not_assessable("the midsagittal plane is axial"), None);
    };
    let ant = left.cross(sup);
    // Midline point at the centre's height: on the plane when there is one.
    let mid = plane.map_or(c, |p| c - left * (c - p.point.to_dvec3()).dot(left));
    let mut best: [Option<(f64, Section)>; 2] = [None, None];
    // The most telling miss over the planes without a section (a sheet beats too small beats
    // nothing).
    let mut miss = Miss::NoEnhancement;
    // The twelve planes are sectioned in parallel, then taken in their fixed order.
    let planes: Vec<(usize, f64)> = [0_usize, 1]
        .into_iter()
        .flat_map(|i| (30..=55).step_by(5).map(move |lat| (i, f64::from(lat))))
        .collect();
    let sections: Vec<Result<Section, Miss>> = planes
        .par_iter()
        .map(|&(i, lat)| {
            let sgn = if i == 0 { -1.0 } else { 1.0 };
            section(pre, post, bp, bq, mid + left * (sgn * lat), ant, sup, o)
        })
        .collect();
    for ((i, lat), sec) in planes.into_iter().zip(sections) {
        match sec {
            Ok(s) => {
                if best[i].as_ref().is_none_or(|b| s.area_mm2 > b.1.area_mm2) {
                    best[i] = Some((lat, s));
                }
            }
            Err(m) => miss = miss.max(m),
        }
    }
    let areas = best
        .each_ref()
        .map(|b| b.as_ref().map_or(0.0, |b| b.1.area_mm2));
    let dom = usize::from(areas[1] > areas[0]);
    let Some((lat, s)) = best[dom].take() else {
        let why = match miss {
            Miss::NoEnhancement => {
                "no enhancing transverse sinus on parasagittal planes 30-55 mm from the midline \
                 of the contrast T1"
            }
            Miss::TooSmall => {
                "the enhancing regions where the transverse sinuses lie (parasagittal planes \
                 30-55 mm from the midline of the contrast T1) are smaller than a sinus \
                 cross-section"
            }
            Miss::JoinedToSheet => {
                "the transverse sinus enhances together with the dura it lies in (a sheet \
                 along the inner table or the tentorium, as with pachymeningeal enhancement) \
                 on every parasagittal plane 30-55 mm from the midline: its free margin \
                 cannot be outlined apart from the dura"
            }
        };
        return (Sign::not_assessable(why), None);
    };
    let side = if dom == 0 { "right" } else { "left" };
    let sec = SinusSection {
        side,
        lateral_mm: lat,
        area_mm2: s.area_mm2,
        fill: s.fill,
        centre: PointLps::from_dvec3(s.centre),
        other_area_mm2: areas[1 - dom],
    };
    let sign = Sign {
        present: Some(s.fill >= o.min_fill),
        measure: Some(s.fill),
        measure_name: Some("sinus_fill_of_enclosing_rectangle".to_owned()),
        threshold: Some(o.min_fill),
        confidence: Some(((s.fill - o.min_fill).abs() / 0.15).clamp(0.0, 1.0)),
        borderline: (s.fill - o.min_fill).abs() <= o.borderline_band,
        side: Some(side.to_owned()),
        reason: Some(format!(
            "dominant {side} transverse sinus {lat:.0} mm from the midline: cross-section \
             {:.0} mm² fills {:.2} of its enclosing rectangle (straight margins 0.50, convex \
             about 0.79)",
            s.area_mm2, s.fill
        )),
    };
    (sign, Some(sec))
}
