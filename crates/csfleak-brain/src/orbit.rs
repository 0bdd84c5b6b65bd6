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

use std::ops::Range;

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

/// One ring radius's three circles: the ring, the circle 1.5 mm outside it and the centre
/// disc, as offsets in pixels `(di, dj)`.
struct RadiusSet {
    ring: Vec<(isize, isize)>,
    outer: Vec<(isize, isize)>,
    centre: Vec<(isize, isize)>,
    /// Smallest and largest `di`, `dj` over the three circles: a pixel is scored at this
    /// radius only when every sample lies in the slice.
    di: (isize, isize),
    dj: (isize, isize),
}

impl RadiusSet {
    fn new(r_mm: f64, si: f64, sj: f64) -> Self {
        let ring = offsets(r_mm, si, sj);
        let outer = offsets(r_mm + 1.5, si, sj);
        let centre = offsets((r_mm * 0.3).max(0.0), si, sj);
        let all = || ring.iter().chain(&outer).chain(&centre);
        let di = (
            all().map(|o| o.0).min().unwrap_or(0),
            all().map(|o| o.0).max().unwrap_or(0),
        );
        let dj = (
            all().map(|o| o.1).min().unwrap_or(0),
            all().map(|o| o.1).max().unwrap_or(0),
        );
        Self {
            ring,
            outer,
            centre,
            di,
            dj,
        }
    }

    /// The columns and rows of an `ni` x `nj` slice around which every sample of the three
    /// circles lies in the slice (empty ranges when none).
    fn fitting(&self, ni: usize, nj: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let range = |(lo, hi): (isize, isize), n: usize| {
            let start = lo.unsigned_abs() * usize::from(lo < 0);
            let end = n.saturating_sub(hi.unsigned_abs() * usize::from(hi > 0));
            start..end.max(start)
        };
        (range(self.di, ni), range(self.dj, nj))
    }
}

/// A slice copied into `f64` with a margin of `(mi, mj)` pixels on every side (zeros there),
/// so that every circle offset of a pixel in the slice indexes inside the buffer.
struct PaddedSlice {
    data: Vec<f64>,
    /// Row length of `data`.
    width: usize,
    mi: usize,
    mj: usize,
}

impl PaddedSlice {
    fn new(v: &Volume, k: usize, mi: usize, mj: usize) -> Self {
        let [ni, nj, _] = v.dims();
        let width = ni + 2 * mi;
        let mut data = vec![0.0; width * (nj + 2 * mj)];
        for j in 0..nj {
            let row = &mut data[(j + mj) * width + mi..][..ni];
            for (i, x) in row.iter_mut().enumerate() {
                *x = v.get(VoxelIdx::new(i, j, k)).map_or(f64::NAN, f64::from);
            }
        }
        Self {
            data,
            width,
            mi,
            mj,
        }
    }

    /// Index in `data` of slice pixel `(i, j)`.
    fn at(&self, i: usize, j: usize) -> usize {
        (j + self.mj) * self.width + i + self.mi
    }

    /// Buffer offset of a pixel offset `(di, dj)`.
    #[allow(
        clippy::cast_possible_wrap,
        reason = "a padded row length far below isize::MAX"
    )]
    fn offset(&self, (di, dj): (isize, isize)) -> isize {
        di + dj * self.width as isize
    }

    /// Sums over the circle `offs` around the pixels `(i, j)`, `i` in `cols`, `j` in `rows`, of
    /// the slice (rows of `ni` in `out`), added in the order of `offs` starting from zero; the
    /// rest of `out` is left as it was. Eight neighbouring pixels are summed at once in
    /// registers (the additions vectorise, without a store per circle sample).
    fn circle_sums(
        &self,
        offs: &[(isize, isize)],
        ni: usize,
        (cols, rows): (&Range<usize>, &Range<usize>),
        out: &mut [f64],
    ) {
        const LANES: usize = 8;
        let n = cols.len();
        for j in rows.clone() {
            let row = &mut out[j * ni..][cols.clone()];
            let base = self.at(cols.start, j);
            // Each circle sample's source row, checked once.
            let srcs: Vec<&[f64]> = offs
                .iter()
                .map(|o| &self.data[base.wrapping_add_signed(self.offset(*o))..][..n])
                .collect();
            let mut blocks = row.chunks_exact_mut(LANES);
            for (b, block) in (&mut blocks).enumerate() {
                let mut acc = [0.0_f64; LANES];
                for src in &srcs {
                    let Some(x) = src.get(b * LANES..(b + 1) * LANES) else {
                        continue;
                    };
                    for (a, x) in acc.iter_mut().zip(x) {
                        *a += *x;
                    }
                }
                block.copy_from_slice(&acc);
            }
            let done = n - blocks.into_remainder().len();
            for (i, a) in row.iter_mut().enumerate().skip(done) {
                *a = 0.0;
                for src in &srcs {
                    *a += src[i];
                }
            }
        }
    }

    /// Mean over the circle `offs` around the buffer index `at`, added in the order of `offs`.
    fn mean(&self, at: usize, offs: &[isize]) -> f64 {
        let mut s = 0.0;
        for d in offs {
            s += self.data[at.wrapping_add_signed(*d)];
        }
        s / offs.len() as f64
    }
}

/// Circle offsets and the columns and rows of the pixels summed over them.
type Summed<'a> = (&'a [(isize, isize)], Range<usize>, Range<usize>);

/// Ring radii searched, mm.
const RING_RADII_MM: [f64; 9] = [1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5];
/// A ring must be brighter than its centre and its outside by this fraction of the slice's
/// intensity range.
const MIN_RING_SCORE: f64 = 0.15;

/// Best ring per slice position, both sides.
///
/// A pixel's score at one radius is `(ring - max(outside, centre)) / span` (circle means,
/// `span` the slice's 1st-99.5th percentile range); its ring score is the best over the radii
/// at which every sample lies in the slice, kept when above [`MIN_RING_SCORE`]. The ring and
/// centre means are summed for the whole slice at once; the outer circle only where
/// `ring - centre` could raise the pixel's best (it bounds the score).
fn find_rings(v: &Volume) -> Vec<Ring> {
    let g = v.geometry();
    let [si, sj, _] = g.spacing_mm();
    let [ni, nj, nk] = v.dims();
    let sets: Vec<RadiusSet> = RING_RADII_MM
        .iter()
        .map(|r| RadiusSet::new(*r, si, sj))
        .collect();
    let (mi, mj) = sets.iter().fold((0_usize, 0_usize), |(mi, mj), s| {
        (
            mi.max(s.di.0.unsigned_abs()).max(s.di.1.unsigned_abs()),
            mj.max(s.dj.0.unsigned_abs()).max(s.dj.1.unsigned_abs()),
        )
    });
    let per_slice: Vec<Vec<Ring>> = (0..nk)
        .into_par_iter()
        .map(|k| {
            let (lo, hi) = slice_range(v, k);
            let span = (hi - lo).max(1e-6);
            let slice = PaddedSlice::new(v, k, mi, mj);
            let n = ni * nj;
            let mut best = vec![f64::MIN; n];
            let (mut ring_sum, mut centre_sum) = (vec![0.0; n], vec![0.0; n]);
            // Sums only where the radius is scored (every sample in the slice). Neighbouring
            // radii often share their centre disc: summed once then, when the pixels scored at
            // the next radius were summed already (the larger radius fits fewer of them).
            let mut centre_of: Option<Summed<'_>> = None;
            for set in &sets {
                let (cols, rows) = set.fitting(ni, nj);
                slice.circle_sums(&set.ring, ni, (&cols, &rows), &mut ring_sum);
                let reuse = centre_of.as_ref().is_some_and(|(offs, c, r)| {
                    *offs == set.centre.as_slice()
                        && (cols.is_empty()
                            || rows.is_empty()
                            || (c.start <= cols.start
                                && cols.end <= c.end
                                && r.start <= rows.start
                                && rows.end <= r.end))
                });
                if !reuse {
                    slice.circle_sums(&set.centre, ni, (&cols, &rows), &mut centre_sum);
                    centre_of = Some((&set.centre, cols.clone(), rows.clone()));
                }
                let outer: Vec<isize> = set.outer.iter().map(|o| slice.offset(*o)).collect();
                let (n_ring, n_centre) = (set.ring.len() as f64, set.centre.len() as f64);
                for j in rows {
                    for i in cols.clone() {
                        let p = j * ni + i;
                        let r = ring_sum[p] / n_ring;
                        let c = centre_sum[p] / n_centre;
                        if (r - c) / span <= best[p].max(MIN_RING_SCORE) {
                            continue;
                        }
                        let o = slice.mean(slice.at(i, j), &outer);
                        best[p] = best[p].max((r - o.max(c)) / span);
                    }
                }
            }
            let mut rings = Vec::new();
            for j in 0..nj {
                for i in 0..ni {
                    let score = best[j * ni + i];
                    if score > MIN_RING_SCORE {
                        let x = g.voxel_center(VoxelIdx::new(i, j, k)).0[0];
                        rings.push(Ring {
                            k,
                            i,
                            j,
                            score,
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
