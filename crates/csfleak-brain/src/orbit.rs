//! Optic nerve sheath diameter (ONSD) and perioptic CSF rim on coronal fat-saturated T2
//! (clinical.md §4.6).
//!
//! On fat-saturated T2 the perioptic subarachnoid space is a bright ring between the darker
//! nerve and the suppressed orbital fat. The method uses only that ordering of intensities:
//!
//! 1. every slice is searched for ring-shaped patterns (a circle brighter than both its centre
//!    and a circle 1.5 mm further out), over ring radii of 1.25-3.5 mm; the best ring on each
//!    side of the head (patient left/right by LPS x) is kept;
//! 2. the posterior pole of the globe is where the bright vitreous begins when walking anterior
//!    from the ring centre along the slice normal (half level between nerve and vitreous);
//! 3. on the slice nearest 3 mm behind that pole, radial profiles from the refined centre give
//!    the outer edge of the ring (half level between the ring peak and the fat outside) and the
//!    inner edge (half level between nerve and ring peak): ONSD = mean outer diameter, rim =
//!    outer minus inner radius.
//!
//! A side without a clear ring, or whose globe cannot be located, is not assessable.

use csfleak_volume::{DVec3, PointLps, Volume, VoxelIdx};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::measure::Measured;

/// Where ONSD is defined, mm behind the globe.
pub const BEHIND_GLOBE_MM: f64 = 3.0;

/// One side's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnsdSide {
    /// Outer diameter of the perioptic CSF ring.
    pub onsd_mm: Measured,
    /// Width of the perioptic CSF rim.
    pub rim_mm: Measured,
    /// Ring centre on the measured slice, patient LPS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub center: Option<PointLps>,
    /// Slice index measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slice: Option<usize>,
    /// Distance of that slice behind the globe's posterior pole, mm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behind_globe_mm: Option<f64>,
}

impl OnsdSide {
    fn not_assessable(reason: &str) -> Self {
        let na = || Measured::NotAssessable {
            reason: reason.to_owned(),
        };
        Self {
            onsd_mm: na(),
            rim_mm: na(),
            center: None,
            slice: None,
            behind_globe_mm: None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Ring {
    k: usize,
    i: usize,
    j: usize,
    score: f64,
    x_world: f64,
}

fn slice_range(v: &Volume, k: usize) -> (f64, f64) {
    let [ni, nj, _] = v.dims();
    let mut vals: Vec<f32> = (0..nj)
        .flat_map(|j| (0..ni).map(move |i| (i, j)))
        .filter_map(|(i, j)| v.get(VoxelIdx::new(i, j, k)))
        .collect();
    if vals.is_empty() {
        return (0.0, 1.0);
    }
    // Two order statistics by selection: the values a full sort gives, in linear time.
    let (i_lo, i_hi) = ((vals.len() - 1) * 10 / 1000, (vals.len() - 1) * 995 / 1000);
    let (below, &mut hi, _) = vals.select_nth_unstable_by(i_hi, f32::total_cmp);
    let lo = if i_lo < i_hi {
        *below.select_nth_unstable_by(i_lo, f32::total_cmp).1
    } else {
        hi
    };
    (f64::from(lo), f64::from(hi))
}

fn offsets(r_mm: f64, si: f64, sj: f64) -> Vec<(isize, isize)> {
    let mut out: Vec<(isize, isize)> = Vec::new();
    for a in 0..24 {
        let t = f64::from(a) * std::f64::consts::TAU / 24.0;
        let di = (r_mm * t.cos() / si).round();
        let dj = (r_mm * t.sin() / sj).round();
        #[allow(
            clippy::cast_possible_truncation,
            reason = "offsets of a few pixels, rounded"
        )]
        let o = (di as isize, dj as isize);
        if !out.contains(&o) {
            out.push(o);
        }
    }
    out
}

fn mean_at(v: &Volume, k: usize, i: usize, j: usize, offs: &[(isize, isize)]) -> Option<f64> {
    let mut s = 0.0;
    for (di, dj) in offs {
        let ii = i.checked_add_signed(*di)?;
        let jj = j.checked_add_signed(*dj)?;
        s += f64::from(v.get(VoxelIdx::new(ii, jj, k))?);
    }
    Some(s / offs.len() as f64)
}

/// Best ring per slice position, both sides.
fn find_rings(v: &Volume) -> Vec<Ring> {
    let g = v.geometry();
    let [si, sj, _] = g.spacing_mm();
    let [ni, nj, nk] = v.dims();
    let radii = [1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5];
    let sets: Vec<_> = radii
        .iter()
        .map(|r| {
            (
                offsets(*r, si, sj),
                offsets(*r + 1.5, si, sj),
                offsets((r * 0.3_f64).max(0.0), si, sj),
            )
        })
        .collect();
    // The widest offset (pixels along i and j): inside that margin every offset is in the
    // slice, and the means are taken from a flat copy of the slice (same values and summation
    // order as `mean_at`, without per-sample bounds checks).
    let (mi, mj) = sets
        .iter()
        .flat_map(|(a, b, c)| a.iter().chain(b).chain(c))
        .fold((0_usize, 0_usize), |(mi, mj), (di, dj)| {
            (mi.max(di.unsigned_abs()), mj.max(dj.unsigned_abs()))
        });
    #[allow(
        clippy::cast_possible_wrap,
        reason = "a slice row length far below isize::MAX"
    )]
    let flat = |offs: &[(isize, isize)]| -> Vec<isize> {
        offs.iter().map(|(di, dj)| di + dj * ni as isize).collect()
    };
    let half_of = |offs: &mut dyn Iterator<Item = &(isize, isize)>| {
        offs.fold((0_usize, 0_usize), |(a, b), (di, dj)| {
            (a.max(di.unsigned_abs()), b.max(dj.unsigned_abs()))
        })
    };
    let ring_half = half_of(&mut sets.iter().flat_map(|t| t.0.iter()));
    let centre_half = half_of(&mut sets.iter().flat_map(|t| t.2.iter()));
    let flat_sets: Vec<_> = sets
        .iter()
        .map(|(a, b, c)| (flat(a), flat(b), flat(c)))
        .collect();
    let per_slice: Vec<Vec<Ring>> = (0..nk)
        .into_par_iter()
        .map(|k| {
            let mut rings = Vec::new();
            let (lo, hi) = slice_range(v, k);
            let span = (hi - lo).max(1e-6);
            let buf: Vec<f32> = (0..nj)
                .flat_map(|j| (0..ni).map(move |i| (i, j)))
                .map(|(i, j)| v.get(VoxelIdx::new(i, j, k)).unwrap_or(f32::NAN))
                .collect();
            // Exact pre-screen: the score is at most (max over the ring's square) - (min over
            // the centre's square); a pixel where that cannot reach 0.15 is skipped.
            let ring_max = box_extreme(&buf, ni, nj, ring_half, true);
            let centre_min = box_extreme(&buf, ni, nj, centre_half, false);
            let flat_mean = |at: usize, offs: &[isize]| -> f64 {
                let mut s = 0.0;
                for d in offs {
                    s += f64::from(buf[at.wrapping_add_signed(*d)]);
                }
                s / offs.len() as f64
            };
            for j in 0..nj {
                for i in 0..ni {
                    let mut best = f64::MIN;
                    let inside = i >= mi && i + mi < ni && j >= mj && j + mj < nj;
                    let at = j * ni + i;
                    if inside
                        && (f64::from(ring_max[at]) - f64::from(centre_min[at])) / span <= 0.15
                    {
                        continue;
                    }
                    for ((ring, outer, center), (fr, fo, fc)) in sets.iter().zip(&flat_sets) {
                        let (r, o, c) = if inside {
                            let at = j * ni + i;
                            let (r, c) = (flat_mean(at, fr), flat_mean(at, fc));
                            // `r - c` bounds the score: when it cannot beat the best so far
                            // or the 0.15 needed, the outer circle is not needed (the rings
                            // kept are the same).
                            if (r - c) / span <= best.max(0.15) {
                                continue;
                            }
                            (r, flat_mean(at, fo), c)
                        } else {
                            let (Some(r), Some(o), Some(c)) = (
                                mean_at(v, k, i, j, ring),
                                mean_at(v, k, i, j, outer),
                                mean_at(v, k, i, j, center),
                            ) else {
                                continue;
                            };
                            (r, o, c)
                        };
                        best = best.max((r - o.max(c)) / span);
                    }
                    if best > 0.15 {
                        let x = g.voxel_center(VoxelIdx::new(i, j, k)).0[0];
                        rings.push(Ring {
                            k,
                            i,
                            j,
                            score: best,
                            x_world: x,
                        });
                    }
                }
            }
            rings
        })
        .collect();
    per_slice.into_iter().flatten().collect()
}

/// Maximum (or minimum) of `buf` (`nj` rows of `ni`) over the square of half-widths
/// `(hi, hj)` around each pixel, clipped at the borders (separable, rows then columns).
fn box_extreme(buf: &[f32], ni: usize, nj: usize, (hi, hj): (usize, usize), max: bool) -> Vec<f32> {
    let pick = |a: f32, b: f32| if max { a.max(b) } else { a.min(b) };
    let init = if max {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    let mut rows = vec![init; buf.len()];
    for j in 0..nj {
        for i in 0..ni {
            let lo = i.saturating_sub(hi);
            let hi_i = (i + hi).min(ni - 1);
            rows[j * ni + i] = buf[j * ni + lo..=j * ni + hi_i]
                .iter()
                .fold(init, |acc, x| pick(acc, *x));
        }
    }
    let mut out = vec![init; buf.len()];
    for j in 0..nj {
        let lo = j.saturating_sub(hj);
        let hi_j = (j + hj).min(nj - 1);
        for i in 0..ni {
            out[j * ni + i] = (lo..=hi_j).fold(init, |acc, jj| pick(acc, rows[jj * ni + i]));
        }
    }
    out
}

/// Radial profile sampling step, mm.
const PROFILE_STEP_MM: f64 = 0.05;
/// Profile samples: 6 mm.
const N_PROFILE: usize = 120;
/// The ring peak is searched within 4.5 mm of the centre.
const N_PEAK: usize = 90;

/// Radial edges on the plane through `c` spanned by `u`, `w`: `(outer radius, inner radius)`
/// means over the rays, or `None` when the profile has no ring.
fn radial_edges(v: &Volume, c: DVec3, u: DVec3, w: DVec3) -> Option<(f64, f64, DVec3)> {
    let n_rays = 32;
    let step = PROFILE_STEP_MM;
    let mut outs = Vec::new();
    let mut ins = Vec::new();
    let mut shift = DVec3::ZERO;
    let center_val = f64::from(v.sample(PointLps::from_dvec3(c))?);
    for a in 0..n_rays {
        let t = f64::from(a) * std::f64::consts::TAU / f64::from(n_rays);
        let dir = u * t.cos() + w * t.sin();
        let prof: Vec<f64> = (0..=N_PROFILE)
            .map(|s| {
                let r = s as f64 * step;
                v.sample(PointLps::from_dvec3(c + dir * r))
                    .map_or(f64::NAN, f64::from)
            })
            .collect();
        if prof.iter().any(|x| x.is_nan()) {
            return None;
        }
        // Ring peak within 4.5 mm, then the minimum outside it.
        let lim = N_PEAK;
        let (pk, peak) = prof[..lim]
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        let outside = prof[pk..].iter().copied().fold(f64::INFINITY, f64::min);
        if peak - outside <= 0.0 || peak - center_val <= 0.0 {
            return None;
        }
        let half_out = 0.5 * (peak + outside);
        let half_in = 0.5 * (peak + center_val);
        let cross = |from: usize, to: usize, level: f64, rising: bool| -> Option<f64> {
            let range: Vec<usize> = if from < to {
                (from..to).collect()
            } else {
                (to..from).rev().collect()
            };
            for s in range {
                let (a, b) = if from < to {
                    (prof[s], prof[s + 1])
                } else {
                    (prof[s + 1], prof[s])
                };
                let hit = if rising {
                    a <= level && b > level
                } else {
                    a >= level && b < level
                };
                if hit {
                    let f = (a - level) / (a - b);
                    let base = if from < to { s } else { s + 1 };
                    let sign = if from < to { 1.0 } else { -1.0 };
                    return Some((base as f64 + sign * f) * step);
                }
            }
            None
        };
        let r_out = cross(pk, prof.len() - 1, half_out, false)?;
        let r_in = cross(pk, 0, half_in, false).unwrap_or(0.0);
        outs.push(r_out);
        ins.push(r_in);
        shift += dir * r_out;
    }
    let n = outs.len() as f64;
    Some((
        outs.iter().sum::<f64>() / n,
        ins.iter().sum::<f64>() / n,
        shift / n,
    ))
}

/// Measure both sides; `[right, left]`.
pub fn measure_onsd(v: &Volume) -> [OnsdSide; 2] {
    let g = v.geometry();
    let [di, dj, dk] = g.directions();
    let [_, _, sk] = g.spacing_mm();
    // Anterior is -y in LPS; the slice axis must run antero-posterior.
    if dk.y.abs() < 0.7 {
        let r = "the orbit series is not coronal (slices must run antero-posterior)";
        return [OnsdSide::not_assessable(r), OnsdSide::not_assessable(r)];
    }
    let rings = find_rings(v);
    if rings.is_empty() {
        let r = "no perioptic CSF ring found";
        return [OnsdSide::not_assessable(r), OnsdSide::not_assessable(r)];
    }
    // Patient left/right split at the middle of the field of view, refined to the middle of
    // the two strongest rings that are more than 20 mm apart.
    let [ni, nj, nk] = v.dims();
    let fov_mid = g
        .world_from_voxel_point(DVec3::new(ni as f64 - 1.0, nj as f64 - 1.0, nk as f64 - 1.0) * 0.5)
        .0[0];
    let mut sorted = rings;
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = [
        OnsdSide::not_assessable("no perioptic CSF ring with a globe in front of it on the right"),
        OnsdSide::not_assessable("no perioptic CSF ring with a globe in front of it on the left"),
    ];
    for (side, is_left) in [(0_usize, false), (1, true)] {
        // LPS +x is patient left.
        let candidates = sorted
            .iter()
            .filter(|r| (r.x_world > fov_mid) == is_left)
            .take(MAX_CANDIDATES);
        for ring in candidates {
            if let Ok(found) = measure_side(v, ring, di, dj, dk, sk) {
                out[side] = found;
                break;
            }
        }
    }
    out
}

/// Ring candidates tried per side, strongest first.
const MAX_CANDIDATES: usize = 60;

/// The sheath is measured near the globe: a ring further than this behind the globe's pole is
/// not the retrobulbar sheath.
const MAX_RING_BEHIND_GLOBE_MM: f64 = 15.0;

fn measure_side(
    v: &Volume,
    ring: &Ring,
    di: DVec3,
    dj: DVec3,
    dk: DVec3,
    sk: f64,
) -> Result<OnsdSide, String> {
    let g = v.geometry();
    let c0 = g
        .voxel_center(VoxelIdx::new(ring.i, ring.j, ring.k))
        .to_dvec3();
    let anterior = if dk.y > 0.0 { -dk } else { dk };
    // Walk anterior from the ring centre to the vitreous.
    let nerve = v
        .sample(PointLps::from_dvec3(c0))
        .map_or(f64::NAN, f64::from);
    let line: Vec<(f64, f64)> = (0..=160)
        .filter_map(|s| {
            let d = f64::from(s) * 0.25;
            v.sample(PointLps::from_dvec3(c0 + anterior * d))
                .map(|x| (d, f64::from(x)))
        })
        .collect();
    let vitreous = line.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let level = 0.5 * (nerve + vitreous);
    let pole = line.windows(2).find_map(|w| {
        (w[0].1 < level && w[1].1 >= level)
            .then(|| w[0].0 + (level - w[0].1) / (w[1].1 - w[0].1) * (w[1].0 - w[0].0))
    });
    let Some(pole_d) =
        pole.filter(|d| nerve.is_finite() && vitreous > nerve && *d <= MAX_RING_BEHIND_GLOBE_MM)
    else {
        return Err("globe not found anterior to the optic nerve sheath".to_owned());
    };
    let pole_p = c0 + anterior * pole_d;
    // The globe is a large sphere (about 24 mm): 3 mm in front of its pole the bright vitreous
    // must surround the axis at 5 mm in most directions; a small bright spot is not a globe.
    let probe = pole_p + anterior * 3.0;
    let bright = (0..8)
        .filter(|a| {
            let t = f64::from(*a) * std::f64::consts::TAU / 8.0;
            v.sample(PointLps::from_dvec3(
                probe + (di * t.cos() + dj * t.sin()) * 5.0,
            ))
            .is_some_and(|x| f64::from(x) >= level)
        })
        .count();
    if bright < 6 {
        return Err("no globe-sized bright vitreous in front of the ring".to_owned());
    }
    let target = pole_p - anterior * BEHIND_GLOBE_MM;
    let kf = g.voxel_from_world().transform_point3(target).z.round();
    let Some(k) = csfleak_volume::index_of(kf).filter(|k| *k < v.dims()[2]) else {
        return Err("the slice 3 mm behind the globe is outside the series".to_owned());
    };
    let behind =
        (g.voxel_center(VoxelIdx::new(ring.i, ring.j, k)).to_dvec3() - pole_p).dot(-anterior);
    if (behind - BEHIND_GLOBE_MM).abs() > 0.5 * sk + 0.5 {
        return Err("no slice near 3 mm behind the globe".to_owned());
    }
    // Centre on the measured slice, refined from the ring edges.
    let mut c =
        c0 + (dk * dk.dot(g.voxel_center(VoxelIdx::new(ring.i, ring.j, k)).to_dvec3() - c0));
    let mut edges = None;
    for _ in 0..4 {
        match radial_edges(v, c, di, dj) {
            Some((ro, ri, shift)) => {
                edges = Some((ro, ri));
                // The mean of dir * r(theta) over a circle offset by d is d / 2.
                c += shift * 2.0;
            }
            None => break,
        }
    }
    let Some((r_out, r_in)) = edges else {
        return Err("perioptic CSF ring has no measurable edge".to_owned());
    };
    let [si, sj, _] = g.spacing_mm();
    let u = 0.5 * si.max(sj) / 3f64.sqrt();
    Ok(OnsdSide {
        onsd_mm: Measured::Value {
            value: 2.0 * r_out,
            uncertainty: 2.0 * u,
            landmarks: Vec::new(),
        },
        rim_mm: Measured::Value {
            value: r_out - r_in,
            uncertainty: u * 2f64.sqrt(),
            landmarks: Vec::new(),
        },
        center: Some(PointLps::from_dvec3(c)),
        slice: Some(k),
        behind_globe_mm: Some(behind),
    })
}
