//! Landmark search on the midsagittal reformat.
//!
//! 1. A slab reformat on the symmetry plane around the cerebrum's centre, at half the finest
//!    voxel spacing (at least 0.5 mm), averaged over the slab and lightly smoothed.
//! 2. Intensities normalised to the patient's classes ([`super::classes`]): CSF 0, white 1.
//! 3. Brainstem: the longest vertically continuous chain (gaps up to 2 mm bridged) of
//!    white-matter-like runs (4-40 mm wide) within 45 mm of the cerebrum's centre
//!    antero-posteriorly (midbrain, pons, medulla and cord form the longest such column on a
//!    midsagittal T1; vertebral bodies are interrupted by discs, the clivus is short), at least
//!    40 mm long; the level is half-way between grey and white without bridging first, then
//!    with bridging and other levels (a bias field).
//! 4. Anterior brainstem edge per row at half the brainstem's own intensity above CSF; the pons
//!    is where it bulges most anteriorly (middle of the rows within 1 mm of the most anterior).
//! 5. Mamillary bodies: walking up each column from the level of the pons bulge (over 10 mm in
//!    front of to 15 mm behind it), the first tissue above at least 1.5 mm of CSF, in front of
//!    the brainstem edge at that height, at half the grey-matter level; the lowest such roof.
//!    The pontomesencephalic junction is the deepest point of the anterior edge 3-20 mm above
//!    the bulge with the midbrain's edge coming forward above it (else the sharpest concave
//!    corner there); the pons region is the brainstem tissue flood-filled from inside the pons
//!    from 2 mm above the junction down. A roof touching the pons region (the pons's own upper
//!    lip overhanging the cistern) is not the mamillary bodies.
//! 6. Upper pons surface: rays from the mamillary point; the nearest brainstem edge below it
//!    that lies on the pons region in front of the junction (above the junction's level only
//!    1.5 mm or more in front of it: the midbrain's edge above the notch is not the pons).
//! 7. Anterior pons surface at mid-pons and the posterior clivus surface at the same level
//!    ([`super::basal`]): mid-pons half-way between the pontomesencephalic and pontomedullary
//!    sulci; the clivus by its cortex (darker than CSF) in front of the marrow, on voxels of at
//!    most 1.3 mm.
//!
//! 7a. The pontomesencephalic angle (published only with [`AutoOptions::pm_angle`]): lines
//!    fitted to the anterior midbrain edge 2-8 mm above the notch and to the straight part of
//!    the upper pons border in front of it; the vertex where they meet.
//!
//! 8. The sellar region ([`super::sellar`], experimental, off unless [`AutoOptions::sellar`];
//!    voxels of at most 1.3 mm): the chiasm's
//!    undersurface over the suprasellar cistern in front of the mamillary bodies, the tissue
//!    below the cistern (diaphragma sellae), the pituitary gland's top and the sellar floor.
//!
//! Not searched yet (not found with that reason): every other landmark of the vocabulary. The
//! pons bulge itself is not reported as the anterior surface: it lies about 2 mm above mid-pons
//! on a pons tilted along the clivus.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "pixel indices and normalised intensities of a bounded reformat"
)]

use std::collections::BTreeMap;

use csfleak_volume::{DVec3, PointLps, Volume};

use super::classes::{TissueClasses, tissue_classes};
use super::{AutoLandmarks, AutoOptions, Detection};
use super::{basal, fossa, sellar};
use crate::landmarks::LandmarkName;
use crate::midsagittal::MidsagittalPlane;

/// How far above the pontomesencephalic junction the pons's upper lip may reach, mm (the pons
/// surface rises anteriorly from the junction).
const PONS_ABOVE_JUNCTION_MM: f64 = 2.0;

/// Largest mamillopontine distance taken as real, mm (normal adults 7.0 +- 1.3 mm, Shah et
/// al.; a longer one means another structure was taken for the mamillary bodies or the pons).
const MAX_MPD_MM: f64 = 12.0;

/// Rows of the anterior midbrain edge fitted for the pontomesencephalic angle, mm above the
/// notch (from, to).
const PM_MIDBRAIN_FROM_MM: f64 = 2.0;
const PM_MIDBRAIN_TO_MM: f64 = 8.0;
/// Columns of the upper pons surface fitted for the angle, mm in front of the notch.
const PM_PONS_FROM_MM: f64 = 1.0;
const PM_PONS_TO_MM: f64 = 8.0;
/// Shortest straight upper pons border taken for the angle, mm.
const PM_PONS_MIN_MM: f64 = 2.5;

/// Half-size of the reformat window around the head centre, mm.
const HALF_WINDOW_MM: f64 = 90.0;

/// Extra reformat rows below the square window, mm (the foramen magnum and the upper cervical
/// canal lie near or below the window's lower edge; the brainstem search stays in the square).
const BELOW_EXTRA_MM: f64 = 50.0;

/// A slab reformat: pixel `(r, c)` at `origin + u * c * px + v * r * px`.
pub(super) struct Slab {
    pub(super) img: Vec<f32>,
    pub(super) rows: usize,
    pub(super) cols: usize,
    /// Rows of the square window around the head centre (the brainstem column is searched
    /// there; the rows below it reach the foramen magnum).
    pub(super) square_rows: usize,
    origin: DVec3,
    u: DVec3,
    v: DVec3,
    pub(super) px: f64,
}

impl Slab {
    pub(super) fn at(&self, r: isize, c: isize) -> f32 {
        if r < 0 || c < 0 {
            return f32::NAN;
        }
        let (r, c) = (r.unsigned_abs(), c.unsigned_abs());
        if r >= self.rows || c >= self.cols {
            return f32::NAN;
        }
        self.img[r * self.cols + c]
    }

    /// Bilinear value at a fractional (row, col).
    pub(super) fn bilinear(&self, r: f64, c: f64) -> f64 {
        let (r0, c0) = (r.floor(), c.floor());
        let (fr, fc) = (r - r0, c - c0);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "pixel indices of a bounded image"
        )]
        let (ri, ci) = (r0 as isize, c0 as isize);
        let a = f64::from(self.at(ri, ci));
        let b = f64::from(self.at(ri, ci + 1));
        let cc = f64::from(self.at(ri + 1, ci));
        let d = f64::from(self.at(ri + 1, ci + 1));
        (a * (1.0 - fc) + b * fc) * (1.0 - fr) + (cc * (1.0 - fc) + d * fc) * fr
    }

    pub(super) fn world(&self, r: f64, c: f64) -> PointLps {
        PointLps::from_dvec3(self.origin + self.u * (c * self.px) + self.v * (r * self.px))
    }
}

fn build_slab(
    t1: &Volume,
    plane: &MidsagittalPlane,
    classes: &TissueClasses,
    opts: &AutoOptions,
) -> Slab {
    build_slab_offset(t1, plane, classes, opts, 0.0)
}

/// The slab reformat on the plane shifted by `offset_mm` along its normal (towards patient
/// left for a positive offset), over the same window.
pub(super) fn build_slab_offset(
    t1: &Volume,
    plane: &MidsagittalPlane,
    classes: &TissueClasses,
    opts: &AutoOptions,
    offset_mm: f64,
) -> Slab {
    let n = plane.normal.to_dvec3();
    let u = (DVec3::Y - n * n.y).try_normalize().unwrap_or(DVec3::Y);
    let v = n.cross(u);
    let v = if v.z > 0.0 { -v } else { v };
    let s = t1.geometry().spacing_mm();
    let px = (s[0].min(s[1]).min(s[2]) * 0.5).max(0.5);
    let p0 = plane.point.to_dvec3();
    let hc = DVec3::from_array(classes.head_centre);
    let centre = hc - n * ((hc - p0).dot(n) - offset_mm);
    let origin = centre - u * HALF_WINDOW_MM - v * HALF_WINDOW_MM;
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a small positive pixel count"
    )]
    let (size, extra) = (
        (2.0 * HALF_WINDOW_MM / px).ceil() as usize + 1,
        (BELOW_EXTRA_MM / px).ceil() as usize,
    );
    let (nr, nc) = (size + extra, size);
    let offsets: Vec<f64> = if opts.slab_half_mm > 0.0 {
        let step = s[0].min(s[1]).min(s[2]).max(0.25) * 0.5;
        let k = (opts.slab_half_mm / step).round().max(1.0);
        #[allow(clippy::cast_possible_truncation, reason = "a small count")]
        let ki = k as i32;
        (-ki..=ki)
            .map(|i| f64::from(i) * opts.slab_half_mm / k)
            .collect()
    } else {
        vec![0.0]
    };
    let norm = 1.0 / (classes.white - classes.csf);
    let mut raw = vec![f32::NAN; nr * nc];
    for r in 0..nr {
        for c in 0..nc {
            let p = origin + u * (c as f64 * px) + v * (r as f64 * px);
            let mut sum = 0.0;
            let mut cnt = 0_u32;
            for d in &offsets {
                if let Some(x) = t1.sample(PointLps::from_dvec3(p + n * *d)) {
                    sum += f64::from(x);
                    cnt += 1;
                }
            }
            if cnt > 0 {
                #[allow(clippy::cast_possible_truncation, reason = "image intensities")]
                let z = ((sum / f64::from(cnt) - classes.csf) * norm) as f32;
                raw[r * nc + c] = z;
            }
        }
    }
    // 3x3 binomial smoothing (NaN-aware).
    let mut img = vec![f32::NAN; nr * nc];
    let w = [1.0_f32, 2.0, 1.0];
    for r in 0..nr {
        for c in 0..nc {
            let mut sum = 0.0;
            let mut ws = 0.0;
            for (dr, wr) in w.iter().enumerate() {
                for (dc, wc) in w.iter().enumerate() {
                    let (rr, cc) = ((r + dr).wrapping_sub(1), (c + dc).wrapping_sub(1));
                    if rr < nr && cc < nc {
                        let x = raw[rr * nc + cc];
                        if x.is_finite() {
                            sum += x * wr * wc;
                            ws += wr * wc;
                        }
                    }
                }
            }
            if ws > 0.0 {
                img[r * nc + c] = sum / ws;
            }
        }
    }
    Slab {
        img,
        rows: nr,
        cols: nc,
        square_rows: size,
        origin,
        u,
        v,
        px,
    }
}

/// One horizontal run of bright pixels.
#[derive(Clone, Copy)]
struct Run {
    c0: usize,
    c1: usize,
}

/// The brainstem column: per row (top to bottom), the run of white-matter-like pixels.
struct Chain {
    top: usize,
    runs: Vec<Run>,
}

/// The brainstem column at the first white-matter-like level (and gap bridging) that gives one
/// at least 40 mm long: half-way between the grey and white classes first, then lower and higher levels (a
/// bias field or a darker brainstem moves it).
fn find_brainstem(s: &Slab, z_grey: f32) -> Option<Chain> {
    // Without bridging first: a bridge can join the brainstem to a neighbour.
    [
        (0.5_f32, 0.0),
        (0.5, 2.0),
        (0.35, 2.0),
        (0.65, 2.0),
        (0.2, 2.0),
    ]
    .iter()
    .find_map(|(f, gap_mm)| chain_at(s, z_grey + f * (1.0 - z_grey), *gap_mm))
}

/// One DP entry: the run, rows spanned from the chain's top, parent `(row, index)`.
type Entry = (Run, usize, Option<(usize, usize)>);

fn chain_at(s: &Slab, z_wm: f32, gap_mm: f64) -> Option<Chain> {
    let half = (45.0 / s.px) as usize;
    let (cmin, cmax) = (
        s.cols / 2 - half.min(s.cols / 2),
        (s.cols / 2 + half).min(s.cols - 1),
    );
    let (wmin, wmax) = (4.0 / s.px, 40.0 / s.px);
    // Rows may be bridged over a gap of up to `gap_mm` (noise, a thin dark line).
    let gap = ((gap_mm / s.px).round() as usize).max(1);
    let mut rows: Vec<Vec<Entry>> = Vec::new();
    for r in 0..s.square_rows {
        let mut runs = Vec::new();
        let mut c = cmin;
        while c <= cmax {
            if s.img[r * s.cols + c] > z_wm {
                let c0 = c;
                while c <= cmax && s.img[r * s.cols + c] > z_wm {
                    c += 1;
                }
                let w = (c - c0) as f64;
                // A run cut by the search window has no known width.
                if w >= wmin && w <= wmax && c0 > cmin && c <= cmax {
                    runs.push(Run { c0, c1: c - 1 });
                }
            } else {
                c += 1;
            }
        }
        let cur: Vec<Entry> = runs
            .iter()
            .map(|run| {
                let mut best: Entry = (*run, 1, None);
                let first = r.saturating_sub(gap);
                for (pr, prev) in rows.iter().enumerate().skip(first) {
                    for (i, (p, len, _)) in prev.iter().enumerate() {
                        let l = len + (r - pr);
                        if p.c0 <= run.c1 && run.c0 <= p.c1 && l > best.1 {
                            best = (*run, l, Some((pr, i)));
                        }
                    }
                }
                best
            })
            .collect();
        rows.push(cur);
    }
    let (mut ri, mut ii, mut len) = (0, 0, 0);
    for (r, row) in rows.iter().enumerate() {
        for (i, (_, l, _)) in row.iter().enumerate() {
            if *l > len {
                (ri, ii, len) = (r, i, *l);
            }
        }
    }
    if (len as f64) * s.px < 40.0 {
        return None;
    }
    // Trace back, filling bridged rows with the run below them.
    let mut runs = Vec::new();
    loop {
        let (run, _, parent) = rows[ri][ii];
        runs.push(run);
        let Some((pr, pi)) = parent else {
            break;
        };
        for _ in pr + 1..ri {
            runs.push(run);
        }
        (ri, ii) = (pr, pi);
    }
    runs.reverse();
    Some(Chain { top: ri, runs })
}

/// The deepest point of the anterior edge `ant` (per chain row) between 3 and 20 mm above the
/// bulge (chain index `bulge`): (fractional chain index, column). The middle of the rows
/// within a quarter of a millimetre of the deepest column.
fn pm_vertex(s: &Slab, ant: &[Option<f64>], bulge: usize) -> Option<(f64, f64)> {
    let lo = bulge.saturating_sub((20.0 / s.px).round() as usize);
    let hi = bulge.checked_sub((3.0 / s.px).round() as usize)?;
    let (ib, cb) = (lo..=hi)
        .filter_map(|i| ant.get(i).copied().flatten().map(|c| (i, c)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let tol = 0.25 / s.px;
    let (mut i0, mut i1) = (ib, ib);
    while i0 > lo && ant[i0 - 1].is_some_and(|c| cb - c <= tol) {
        i0 -= 1;
    }
    while i1 < hi && ant[i1 + 1].is_some_and(|c| cb - c <= tol) {
        i1 += 1;
    }
    let n = (i1 - i0 + 1) as f64;
    let c = (i0..=i1).filter_map(|i| ant[i]).sum::<f64>() / n;
    // A notch: the edge comes forward again by at least 1 mm within 12 mm above (the
    // midbrain's anterior surface); the deepest point at the top of the window or of the
    // brainstem column is no junction.
    let above = i0.saturating_sub((12.0 / s.px).round() as usize);
    let forward = (above..i0)
        .filter_map(|i| ant[i])
        .any(|a| cb - a >= 1.0 / s.px);
    (i0 > lo && forward).then_some((0.5 * (i0 + i1) as f64, c))
}

/// Sub-pixel column where the row crosses `thr` going left (anterior) from `c_in` (inside).
fn edge_left(s: &Slab, r: usize, c_in: usize, thr: f32) -> Option<f64> {
    let mut c = c_in;
    while c > 0 {
        let (a, b) = (s.img[r * s.cols + c - 1], s.img[r * s.cols + c]);
        if !a.is_finite() {
            return None;
        }
        if a < thr && b >= thr {
            return Some((c - 1) as f64 + f64::from((thr - a) / (b - a)));
        }
        c -= 1;
    }
    None
}

/// Smallest rise above the cistern (fraction of the CSF-white contrast) taken as tissue on a
/// ray: well above the noise of the averaged, smoothed slab, below a thin blurred tissue lip.
const MIN_TISSUE_RISE: f32 = 0.12;

/// The first tissue surface along a ray from `(r0, c0)` (inside tissue) in direction `d`:
/// the ray must leave the tissue (below `z_csf_max`) within 3 mm, cross CSF and meet tissue
/// within 30 mm. The surface is where the profile rises half-way from the cistern's own level
/// (the mean of the ray's CSF samples) to the tissue's own local peak (within 2 mm past the
/// rise, at most twice `z_edge`): a thin or blurred surface, whose peak stays below the
/// brainstem's level, is placed where it is, not where a fixed level would put it. Returns the
/// distance in pixels and the level.
fn ray_edge(
    s: &Slab,
    (r0, c0): (f64, f64),
    (dr, dc): (f64, f64),
    z_csf_max: f32,
    z_edge: f32,
) -> Option<(f64, f32)> {
    const STEP: f64 = 0.1;
    let at = |t: f64| s.bilinear(r0 + dr * t, c0 + dc * t) as f32;
    let max_t = 30.0 / s.px;
    let mut t = 0.0;
    // Leave the starting tissue.
    loop {
        t += STEP;
        let z = at(t);
        if !z.is_finite() || t * s.px > 3.0 {
            return None;
        }
        if z < z_csf_max {
            break;
        }
    }
    // Cross the cistern until the profile rises clearly above it.
    let t_leave = t;
    let (mut sum, mut n) = (0.0_f32, 0_u32);
    let mut zmin = f32::INFINITY;
    let onset = loop {
        t += STEP;
        if t > max_t {
            return None;
        }
        let z = at(t);
        if !z.is_finite() {
            return None;
        }
        let zc = if n > 0 {
            sum / n as f32
        } else {
            z_csf_max.min(z)
        };
        if z - zc >= MIN_TISSUE_RISE || z >= z_edge {
            break t;
        }
        if z < z_csf_max {
            sum += z;
            n += 1;
            zmin = zmin.min(z);
        }
    };
    // The cistern's own floor (its lowest sample): in a narrow cistern the mean is raised by
    // the blurred flanks of the tissue on both sides, which moved the edge into the tissue.
    let zc = if n > 0 { zmin } else { 0.0 };
    // The tissue's local peak: up the rising flank until it falls clearly again.
    let cap = 2.0 * z_edge;
    let (mut peak, mut tp) = (at(onset), onset);
    let mut u = onset;
    while (u - onset) * s.px < 2.0 && peak < cap {
        u += STEP;
        let z = at(u);
        if !z.is_finite() || z < peak - 0.5 * MIN_TISSUE_RISE {
            break;
        }
        if z > peak {
            (peak, tp) = (z, u);
        }
    }
    let level = z_edge.min(0.5 * (zc + peak.min(cap)));
    // Walk back from the peak to the crossing of the level.
    let mut v = tp;
    while v > t_leave {
        let (zb, za) = (at(v - STEP), at(v));
        if zb < level && za >= level {
            let f = f64::from((level - zb) / (za - zb)).clamp(0.0, 1.0);
            return Some((v - STEP + STEP * f, level));
        }
        v -= STEP;
    }
    None
}

/// Whether the tissue at or above `level` around `(r, c)` (the pixel nearest to it, or a
/// neighbour) is 4-connected, within `radius` pixels, to a pixel where `target` holds.
fn joins(
    s: &Slab,
    (r, c): (f64, f64),
    level: f32,
    radius: f64,
    target: impl Fn(isize, isize) -> bool,
) -> bool {
    let k = radius.ceil() as isize;
    let (r0, c0) = (r.round() as isize, c.round() as isize);
    let n = (2 * k + 1) as usize;
    let idx = |rr: isize, cc: isize| ((rr - r0 + k) as usize) * n + (cc - c0 + k) as usize;
    let inside = |rr: isize, cc: isize| (rr - r0).abs() <= k && (cc - c0).abs() <= k;
    let Some(seed) = [(0, 0), (1, 0), (0, 1), (-1, 0), (0, -1)]
        .iter()
        .map(|(a, b)| (r0 + a, c0 + b))
        .find(|&(rr, cc)| s.at(rr, cc) >= level)
    else {
        return false;
    };
    let mut seen = vec![false; n * n];
    seen[idx(seed.0, seed.1)] = true;
    let mut stack = vec![seed];
    while let Some((rr, cc)) = stack.pop() {
        if target(rr, cc) {
            return true;
        }
        for (a, b) in [(rr - 1, cc), (rr + 1, cc), (rr, cc - 1), (rr, cc + 1)] {
            if inside(a, b) && !seen[idx(a, b)] && s.at(a, b) >= level {
                seen[idx(a, b)] = true;
                stack.push((a, b));
            }
        }
    }
    false
}

/// A straight line `y = a + b x` through the leading points of `p` (in order): started on the
/// first five, extended point by point while the next point lies within `tol` of the line
/// fitted so far. Returns `(a, b, n used)`.
fn grow_line(p: &[(f64, f64)], tol: f64) -> Option<(f64, f64, usize)> {
    let mut n = 5.min(p.len());
    let (mut a, mut b, _) = fit_line(&p[..n], f64::INFINITY)?;
    while n < p.len() {
        let (x, y) = p[n];
        if (y - (a + b * x)).abs() > tol {
            break;
        }
        n += 1;
        (a, b, _) = fit_line(&p[..n], f64::INFINITY)?;
    }
    Some((a, b, n))
}

/// A straight line `y = a + b x` fitted to points (least squares), refitted without the points
/// farther than `tol` from the first fit. Returns `(a, b, n kept)`.
fn fit_line(p: &[(f64, f64)], tol: f64) -> Option<(f64, f64, usize)> {
    let fit = |p: &[(f64, f64)]| -> Option<(f64, f64)> {
        if p.len() < 3 {
            return None;
        }
        let m = p.len() as f64;
        let (sx, sy) = p.iter().fold((0.0, 0.0), |a, q| (a.0 + q.0, a.1 + q.1));
        let (mx, my) = (sx / m, sy / m);
        let sxx: f64 = p.iter().map(|q| (q.0 - mx).powi(2)).sum();
        let sxy: f64 = p.iter().map(|q| (q.0 - mx) * (q.1 - my)).sum();
        (sxx > 0.0).then(|| (my - sxy / sxx * mx, sxy / sxx))
    };
    let (a, b) = fit(p)?;
    let kept: Vec<(f64, f64)> = p
        .iter()
        .copied()
        .filter(|(x, y)| (y - (a + b * x)).abs() <= tol)
        .collect();
    let (a, b) = fit(&kept)?;
    Some((a, b, kept.len()))
}

/// The pontomesencephalic angle's points on the slab: the vertex, a point 8 mm up the anterior
/// midbrain line and a point 6 mm along the upper pons border, as (row, col) each.
///
/// Both arms are fitted away from the corner, where the narrow cistern between them is blurred
/// into the tissue (the visible notch, `notch`, lies about a voxel outside the true corner):
/// the midbrain line to the anterior brainstem edge 1-7 mm above the notch (while the edge is
/// continuous: the mamillary bodies or other tissue joining the midbrain's edge make it jump),
/// the pons line to the upper pons surface 1.5-6 mm in front of the notch, each column's
/// surface found walking down from the midbrain line through the cistern ([`ray_edge`]). The
/// vertex is where the two lines meet. A pons top that is not straight there (a dome: fewer
/// than two thirds of the columns within 0.4 mm of one line) gives no angle.
fn pm_angle(
    s: &Slab,
    notch: (f64, f64),
    ant_at: &dyn Fn(f64) -> Option<f64>,
    z_csf_max: f32,
    z_edge: f32,
) -> Result<[(f64, f64); 3], String> {
    let mm = 1.0 / s.px;
    let mut pts: Vec<(f64, f64)> = Vec::new();
    let mut r = notch.0 - PM_MIDBRAIN_FROM_MM * mm;
    while r >= notch.0 - PM_MIDBRAIN_TO_MM * mm {
        let Some(c) = ant_at(r) else {
            break;
        };
        if pts.last().is_some_and(|p| (p.1 - c).abs() > mm) {
            break;
        }
        pts.push((r, c));
        r -= 0.5 * mm;
    }
    // At least 3 mm of edge on one line.
    let need = 7;
    let Some((a, b, _)) = fit_line(&pts, 0.5 * mm).filter(|f| f.2 >= need) else {
        return Err(format!(
            "the anterior midbrain edge above the pontomesencephalic notch is not straight \
             ({} of {need} rows on one line)",
            pts.len()
        ));
    };
    // Upper pons border: per column in front of the notch, down from the midbrain line.
    let mut top: Vec<(f64, f64)> = Vec::new();
    let mut total = 0_usize;
    let mut d = PM_PONS_FROM_MM;
    while d <= PM_PONS_TO_MM {
        let c = notch.1 - d * mm;
        d += 0.25;
        total += 1;
        // Row of the midbrain line at this column (col = a + b row), not above 10 mm.
        let r_line = if b.abs() > 1e-6 {
            ((c - a) / b).max(notch.0 - 10.0 * mm)
        } else {
            notch.0 - 10.0 * mm
        };
        if r_line > notch.0 + 2.0 * mm {
            continue;
        }
        let Some((t, _)) = ray_edge(s, (r_line, c), (1.0, 0.0), z_csf_max, z_edge) else {
            continue;
        };
        let rr = r_line + t;
        if (rr - notch.0).abs() <= 6.0 * mm {
            top.push((c, rr));
        }
    }
    // The straight part from the corner forwards: grown column by column while each next
    // point lies within 0.3 mm of the line through the previous ones (a dome or the pons's
    // lip curving up ends it).
    let Some((a2, b2, kept)) = grow_line(&top, 0.3 * mm) else {
        return Err("the upper pons surface in front of the notch was not found".to_owned());
    };
    let need_top = (PM_PONS_MIN_MM * 4.0).round() as usize + 1;
    if kept < need_top {
        return Err(format!(
            "the upper pons border in front of the notch is straight over {:.1} mm only (at \
             least {PM_PONS_MIN_MM} mm needed: a dome-shaped pons top); {total} columns",
            (kept.max(1) - 1) as f64 * 0.25
        ));
    }
    // Vertex: col = a + b row and row = a2 + b2 col.
    let den = 1.0 - b * b2;
    if den.abs() < 1e-6 {
        return Err("the upper pons border runs parallel to the midbrain line".to_owned());
    }
    let vc = (a + b * a2) / den;
    let v = (a2 + b2 * vc, vc);
    let off = (v.0 - notch.0).hypot(v.1 - notch.1) * s.px;
    if off > 3.0 {
        return Err(format!(
            "the arms do not meet at the notch (vertex {off:.1} mm from it)"
        ));
    }
    let len = b.hypot(1.0);
    let up = (-1.0 / len, -b / len);
    let len2 = b2.hypot(1.0);
    let fwd = (-b2 / len2, -1.0 / len2);
    let mid = (v.0 + up.0 * 8.0 * mm, v.1 + up.1 * 8.0 * mm);
    let pons = (v.0 + fwd.0 * 6.0 * mm, v.1 + fwd.1 * 6.0 * mm);
    Ok([v, mid, pons])
}

pub(super) fn found(
    s: &Slab,
    r: f64,
    c: f64,
    confidence: f64,
    unc: f64,
    method: &str,
) -> Detection {
    Detection::Found {
        position: s.world(r, c),
        confidence: confidence.clamp(0.0, 1.0),
        uncertainty_mm: unc,
        method: method.to_owned(),
    }
}

#[allow(clippy::too_many_lines, reason = "one search in anatomical order")]
pub(super) fn run(t1: &Volume, plane: &MidsagittalPlane, opts: &AutoOptions) -> AutoLandmarks {
    let mut out = AutoLandmarks::all_missing(
        "not located by this version of the automatic method (only the mamillary bodies, the \
         pons (upper and anterior surfaces), the clivus and the basion are searched, the sellar \
         region and the pontomesencephalic angle on request); import a reader's point",
    );
    let Some(classes) = tissue_classes(t1) else {
        return AutoLandmarks::all_missing(
            "the intensity histogram of the brain does not separate CSF, grey and white matter",
        );
    };
    out.classes = Some(classes);
    let s = build_slab(t1, plane, &classes, opts);
    let sp = t1.geometry().spacing_mm();
    let unc = 0.5 * (sp[0] * sp[0] + sp[1] * sp[1] + sp[2] * sp[2]).sqrt() / 3f64.sqrt();
    #[allow(clippy::cast_possible_truncation, reason = "normalised intensities")]
    let z_grey = ((classes.grey - classes.csf) / (classes.white - classes.csf)) as f32;
    let mut set = |name: LandmarkName, d: Detection| {
        out.landmarks.insert(name, d);
    };
    let Some(chain) = find_brainstem(&s, z_grey) else {
        let why = "no brainstem found (no vertical white-matter-like column of at least 40 mm \
                   below the cerebrum's centre on the midsagittal image)";
        for n in [LandmarkName::MamillaryInferior, LandmarkName::PonsSuperior] {
            set(
                n,
                Detection::NotFound {
                    reason: why.to_owned(),
                },
            );
        }
        return out;
    };
    let mut inner: Vec<f32> = chain
        .runs
        .iter()
        .enumerate()
        .flat_map(|(i, run)| {
            let r = chain.top + i;
            (run.c0..=run.c1).map(move |c| (r, c))
        })
        .map(|(r, c)| s.img[r * s.cols + c])
        .collect();
    inner.sort_by(f32::total_cmp);
    let z_bs = inner[inner.len() / 2];
    let z_edge = 0.5 * z_bs;
    // Anterior edge per chain row.
    let ant: Vec<Option<f64>> = chain
        .runs
        .iter()
        .enumerate()
        .map(|(i, run)| edge_left(&s, chain.top + i, run.c0, z_edge))
        .collect();
    let ant_at = |r: f64| -> Option<f64> {
        let i = (r - chain.top as f64).round();
        if i < 0.0 {
            return None;
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked >= 0"
        )]
        ant.get(i as usize).copied().flatten()
    };
    // Pons: most anterior point of the (smoothed) edge below the chain's top 10 mm.
    let lim = ant.len();
    let k = (1.0 / s.px).round().max(1.0) as usize;
    let mut best: Option<(usize, f64)> = None;
    for i in ((10.0 / s.px) as usize).max(k)..lim.saturating_sub(k) {
        let w: Vec<f64> = ant[i - k..=i + k].iter().filter_map(|x| *x).collect();
        if w.len() == 2 * k + 1 {
            let m = w.iter().sum::<f64>() / w.len() as f64;
            if best.is_none_or(|(_, b)| m < b) {
                best = Some((i, m));
            }
        }
    }
    let Some((ip, _)) = best else {
        for n in [LandmarkName::MamillaryInferior, LandmarkName::PonsSuperior] {
            set(
                n,
                Detection::NotFound {
                    reason: "the anterior edge of the brainstem is not continuous".to_owned(),
                },
            );
        }
        return out;
    };
    // Mid-pons: the middle of the rows whose edge lies within 1 mm of the most anterior one.
    let amin = ant[ip].unwrap_or_default();
    let (mut i0, mut i1) = (ip, ip);
    while i0 > 0 && ant[i0 - 1].is_some_and(|a| a - amin <= 1.0 / s.px) {
        i0 -= 1;
    }
    while i1 + 1 < ant.len() && ant[i1 + 1].is_some_and(|a| a - amin <= 1.0 / s.px) {
        i1 += 1;
    }
    let ip = usize::midpoint(i0, i1);
    let pons_row = (chain.top + ip) as f64;
    let pons_col = ant[ip].unwrap_or_default();
    let chain_len_mm = chain.runs.len() as f64 * s.px;
    let c_chain = ((chain_len_mm - 40.0) / 40.0 + 0.5).clamp(0.0, 1.0);
    // The pontomesencephalic junction (the concave corner of the anterior edge above the
    // bulge) and the pons's tissue below it: what lies above the junction (the midbrain and
    // the mamillary bodies in front of it) is not the pons, and the pons's own upper lip is
    // not the roof of the interpeduncular cistern.
    let edge = basal::smooth_edge(&s, &ant);
    let levels = basal::pons_levels(&s, chain.top, &edge, ip);
    // The junction (vertex of the pontomesencephalic angle): the deepest (most posterior)
    // point of the anterior edge between the pons bulge and 20 mm above it: the pons surface
    // runs forward below it, the midbrain's anterior surface forward above it.
    // Without a notch (a midbrain darker than the brainstem column, so the column starts at
    // the pons), the sharpest concave corner of the edge above the bulge stands in for it.
    let vertex = pm_vertex(&s, &ant, ip).map(|(i, c)| (chain.top as f64 + i, c));
    let junction = vertex.or_else(|| {
        levels.and_then(|lv| {
            basal::edge_at(&edge, lv.upper - chain.top as f64).map(|c| (lv.upper, c))
        })
    });
    let pons_region = junction.and_then(|(ru, _)| {
        let mm = |x: f64| (x / s.px).round() as usize;
        let row = pons_row.round() as usize;
        let c_start = pons_col.ceil() as usize;
        let seed_c = (c_start..c_start + mm(8.0)).find(|c| s.img[row * s.cols + c] >= z_edge)?;
        basal::region_from(
            &s,
            (row, seed_c),
            (
                (ru - PONS_ABOVE_JUNCTION_MM / s.px).max(0.0).round() as usize,
                row + mm(10.0),
            ),
            (c_start.saturating_sub(mm(3.0)), c_start + mm(40.0)),
            z_edge,
        )
    });
    // Without the junction the pons's lip and the midbrain cannot be told from the pons top
    // and the mamillary roof: lower confidence (a little lower from the corner alone).
    let c_junction = match (vertex, &pons_region) {
        (Some(_), Some(_)) => 1.0,
        (None, Some(_)) => 0.9,
        _ => 0.8,
    };
    // Tissue within 1 mm of the pons region belongs to the pons.
    let on_pons = |r: f64, c: f64| {
        pons_region
            .as_ref()
            .is_some_and(|p| p.near(r, c, (1.0 / s.px).max(1.0)))
    };
    // The bulge is used below but not reported as `pons_anterior`: that landmark is defined at
    // the level of the prepontine measurement (with the clivus, not searched), and the bulge
    // lies 1-3.5 mm from it on the test phantoms.
    // Mamillary bodies: the lowest roof of the cistern anterior to the midbrain.
    let z_mb = 0.5 * z_grey;
    let mut roof: Option<(f64, f64)> = None;
    // Columns over the pons, walking up from the level of its bulge.
    let (vr, vc) = (pons_row, pons_col);
    let c_lo = (vc - 10.0 / s.px).max(1.0);
    let start = vr;
    let mut c = c_lo;
    while c < vc + 15.0 / s.px {
        let mut r = start;
        let mut csf_len = 0.0;
        let (mut csf_sum, mut csf_n) = (0.0_f32, 0_u32);
        let mut hit = None;
        while r > vr - 40.0 / s.px {
            let z = s.bilinear(r, c) as f32;
            if !z.is_finite() {
                break;
            }
            if z < z_mb {
                csf_len += 0.1;
                csf_sum += z;
                csf_n += 1;
            } else if csf_len * s.px >= 1.5 {
                // The roof's edge: half-way between the cistern's level in this column and
                // the roof's own local peak (within 2 mm above), at most half-way between
                // the CSF and grey-matter classes (a small blurred body does not reach the
                // grey-matter level).
                let zc = csf_sum / csf_n.max(1) as f32;
                let mut peak = z;
                let mut u = r;
                while (r - u) * s.px < 2.0 {
                    u -= 0.1;
                    let zu = s.bilinear(u, c) as f32;
                    if !zu.is_finite() || zu < peak - 0.5 * MIN_TISSUE_RISE {
                        break;
                    }
                    peak = peak.max(zu);
                }
                let level = z_mb.min(0.5 * (zc + peak));
                let mut v = r;
                while s.bilinear(v + 0.1, c) as f32 >= level && (v - r) * s.px < 1.5 {
                    v += 0.1;
                }
                let (za, zb) = (s.bilinear(v, c) as f32, s.bilinear(v + 0.1, c) as f32);
                let f = f64::from((level - zb) / (za - zb)).clamp(0.0, 1.0);
                hit = Some(v + 0.1 - 0.1 * f);
                break;
            } else {
                csf_len = 0.0;
                (csf_sum, csf_n) = (0.0, 0);
            }
            r -= 0.1;
        }
        if let Some(h) = hit {
            // Only tissue anterior to the brainstem's edge at that height.
            let in_front = ant_at(h).is_none_or(|a| c < a - 1.0 / s.px);
            if in_front && !on_pons(h - 0.5, c) && roof.is_none_or(|(br, _)| h > br) {
                roof = Some((h, c));
            }
        }
        c += 0.25;
    }
    let Some((mr, mc)) = roof else {
        let why = "no tissue roof over the interpeduncular cistern in front of the midbrain";
        for n in [LandmarkName::MamillaryInferior, LandmarkName::PonsSuperior] {
            set(
                n,
                Detection::NotFound {
                    reason: why.to_owned(),
                },
            );
        }
        return out;
    };
    set(
        LandmarkName::MamillaryInferior,
        found(
            &s,
            mr,
            mc,
            0.6 * c_chain * c_junction,
            unc,
            "lowest point of the tissue roof over the interpeduncular cistern in front of the midbrain",
        ),
    );
    // The sellar region in front of the mamillary bodies.
    let coarsest = sp.iter().copied().fold(0.0, f64::max);
    let sel = if !opts.sellar {
        let why = "the sellar search is experimental and off (AutoOptions::sellar): it \
                   mistakes another structure for the chiasm on some heads; import a reader's \
                   point"
            .to_owned();
        sellar::Sellar::missing(&why)
    } else if coarsest > sellar::MAX_SELLAR_VOXEL_MM {
        let why = format!(
            "T1 voxels up to {coarsest:.1} mm: the optic chiasm (3-5 mm) and the suprasellar \
             cistern are not resolved; the sellar region needs voxels of at most {:.1} mm",
            sellar::MAX_SELLAR_VOXEL_MM
        );
        sellar::Sellar::missing(&why)
    } else {
        sellar::locate(&s, mr, mc, f64::from(z_grey))
    };
    for (name, res, method) in [
        (
            LandmarkName::ChiasmInferior,
            &sel.chiasm,
            "lowest edge of the tissue band over the suprasellar cistern, in front of the \
             mamillary bodies",
        ),
        (
            LandmarkName::DiaphragmaSellae,
            &sel.diaphragma,
            "upper edge of the tissue below the suprasellar cistern, under the chiasm",
        ),
        (
            LandmarkName::PituitaryTop,
            &sel.pit_top,
            "upper edge of the pituitary gland where it is highest",
        ),
        (
            LandmarkName::PituitaryFloor,
            &sel.pit_floor,
            "lower edge of the pituitary gland (sellar floor) where it is highest",
        ),
        (
            LandmarkName::TuberculumSellae,
            &sel.tuberculum,
            "posterior-superior corner of the bone in front of the pituitary fossa (cortex \
             darker than CSF)",
        ),
    ] {
        set(
            name,
            match res {
                Ok(p) => found(&s, p.r, p.c, p.conf * c_chain.max(0.5), unc, method),
                Err(reason) => Detection::NotFound {
                    reason: reason.clone(),
                },
            },
        );
    }
    // Upper pons surface: nearest brainstem edge to the mamillary bodies, below the junction.
    let mut near: Option<(f64, f64, f64)> = None;
    for a in 0..720 {
        let th = f64::from(a).to_radians() * 0.5;
        let (dr, dc) = (th.sin(), th.cos());
        if dr < -0.2 {
            continue;
        }
        let Some((tt, level)) = ray_edge(&s, (mr, mc), (dr, dc), z_mb, z_edge) else {
            continue;
        };
        if near.is_some_and(|(d, _, _)| tt >= d) {
            continue;
        }
        let (hr, hc) = (mr + dr * tt, mc + dc * tt);
        // A thin lip dimmer than the pons's level: on the pons when, no higher than the pons
        // region reaches, its own tissue (at its own edge level) joins the region within 3 mm.
        let on_pons = |r: f64, c: f64| {
            on_pons(r, c)
                || junction.is_some_and(|(ru, _)| r >= ru - PONS_ABOVE_JUNCTION_MM / s.px)
                    && pons_region.as_ref().is_some_and(|p| {
                        joins(
                            &s,
                            (r + dr * 0.6, c + dc * 0.6),
                            level,
                            3.0 / s.px,
                            |rr, cc| p.contains(rr, cc),
                        )
                    })
        };
        let on_stem = hr >= mr
            && match (junction, &pons_region) {
                // On the pons, in front of the junction; above the junction's level only
                // clearly in front of it (the pons's lip, not the midbrain above the notch).
                (Some((ru, cj)), Some(_)) => {
                    let lim = if hr < ru {
                        cj - 1.5 / s.px
                    } else {
                        cj + 0.5 / s.px
                    };
                    hc <= lim && on_pons(hr, hc)
                }
                _ => ant_at(hr).is_some_and(|a| hc >= a - 2.0 / s.px),
            };
        if on_stem && near.is_none_or(|(d, _, _)| tt < d) {
            near = Some((tt, hr, hc));
        }
    }
    // An MPD beyond adult anatomy: the mamillary bodies or the pons bulge is another
    // structure, and which one cannot be told: the pons's anterior points are not trusted either.
    let stem_doubtful = near.is_some_and(|(d, _, _)| d * s.px > MAX_MPD_MM);
    match near {
        Some((d, _, _)) if d * s.px > MAX_MPD_MM => {
            let why = format!(
                "the tissue taken for the mamillary bodies lies {:.1} mm from the nearest pons \
                 surface (more than {MAX_MPD_MM} mm, beyond adult anatomy): another structure",
                d * s.px
            );
            // The sellar search is anchored on the mamillary point: its points go with it.
            for n in [
                LandmarkName::MamillaryInferior,
                LandmarkName::PonsSuperior,
                LandmarkName::ChiasmInferior,
                LandmarkName::DiaphragmaSellae,
                LandmarkName::PituitaryTop,
                LandmarkName::PituitaryFloor,
                LandmarkName::TuberculumSellae,
            ] {
                set(
                    n,
                    Detection::NotFound {
                        reason: why.clone(),
                    },
                );
            }
        }
        Some((_, r, c)) => set(
            LandmarkName::PonsSuperior,
            found(
                &s,
                r,
                c,
                0.6 * c_chain * c_junction,
                unc,
                "brainstem edge below the mamillary bodies nearest to them (upper pons surface)",
            ),
        ),
        None => set(
            LandmarkName::PonsSuperior,
            Detection::NotFound {
                reason: "no pons surface within 30 mm below the mamillary bodies".to_owned(),
            },
        ),
    }
    // The pontomesencephalic angle: the anterior midbrain line and the upper pons border.
    let pm = match (vertex, near) {
        (Some(notch), Some((d, _, _))) if d * s.px <= MAX_MPD_MM => {
            pm_angle(&s, notch, &ant_at, z_mb, z_edge)
        }
        _ if vertex.is_none() => Err("no pontomesencephalic notch (the anterior brainstem edge \
                                      does not come forward again above the pons)"
            .to_owned()),
        _ => Err(
            "the upper pons surface was not found (or lies beyond adult anatomy from the \
                  mamillary bodies)"
                .to_owned(),
        ),
    };
    let pm = pm.and_then(|pts| {
        if opts.pm_angle {
            return Ok(pts);
        }
        let [v, m, p] = pts;
        let (a1, a2) = ((m.0 - v.0).atan2(m.1 - v.1), (p.0 - v.0).atan2(p.1 - v.1));
        let mut deg = (a1 - a2).abs().to_degrees();
        if deg > 180.0 {
            deg = 360.0 - deg;
        }
        Err(format!(
            "the pontomesencephalic angle is computed ({deg:.0} degrees) but not published \
             (AutoOptions::pm_angle is off): on independent test heads the vertex is within \
             0.6 mm but the angle 3-10 degrees too small (the fitted midbrain line 3-4.5 \
             degrees less steep than the reference); import a reader's points"
        ))
    });
    match pm {
        Ok(pts) => {
            let methods = [
                "vertex of the pontomesencephalic angle: the anterior midbrain line meets the \
                 upper pons border",
                "8 mm up the line fitted to the anterior midbrain edge above the notch",
                "6 mm along the line fitted to the upper pons border from the vertex",
            ];
            for ((n, (r, c)), m) in [
                LandmarkName::PmVertex,
                LandmarkName::PmMidbrain,
                LandmarkName::PmPons,
            ]
            .into_iter()
            .zip(pts)
            .zip(methods)
            {
                set(n, found(&s, r, c, 0.6 * c_chain * c_junction, unc, m));
            }
        }
        Err(why) => {
            for n in [
                LandmarkName::PmVertex,
                LandmarkName::PmMidbrain,
                LandmarkName::PmPons,
            ] {
                set(
                    n,
                    Detection::NotFound {
                        reason: why.clone(),
                    },
                );
            }
        }
    }
    // Mid-pons, the anterior surface of the pons and the clivus (prepontine cistern).
    let pons_ant = levels.and_then(|lv| {
        let mid = lv.mid();
        basal::edge_at(&edge, mid - chain.top as f64).map(|c| (lv, mid, c))
    });
    match pons_ant {
        Some(_) if stem_doubtful => {
            let why = "the pons bulge may be another structure: the tissue taken for the \
                       mamillary bodies lies beyond adult anatomy from the pons surface";
            for n in [LandmarkName::PonsAnterior, LandmarkName::ClivusPrepontine] {
                set(
                    n,
                    Detection::NotFound {
                        reason: why.to_owned(),
                    },
                );
            }
        }
        None => {
            let why = "the pontomesencephalic and pontomedullary sulci (the corners of the \
                       anterior brainstem edge above and below the pons) were not found";
            for n in [LandmarkName::PonsAnterior, LandmarkName::ClivusPrepontine] {
                set(
                    n,
                    Detection::NotFound {
                        reason: why.to_owned(),
                    },
                );
            }
        }
        Some((_, mid, _)) if vertex.is_some_and(|(rv, _)| mid <= rv) => {
            let why = "the level taken for mid-pons lies above the pontomesencephalic notch (the \
                       midbrain reaches as far forward as the pons: the pons bulge is not \
                       recognised)";
            for n in [LandmarkName::PonsAnterior, LandmarkName::ClivusPrepontine] {
                set(
                    n,
                    Detection::NotFound {
                        reason: why.to_owned(),
                    },
                );
            }
        }
        Some((lv, mid, pc)) => {
            // A sharp corner at both ends of the pons makes mid-pons well defined.
            let c_turn = lv.turn_mm[0].min(lv.turn_mm[1]).clamp(0.0, 1.0);
            set(
                LandmarkName::PonsAnterior,
                found(
                    &s,
                    mid,
                    pc,
                    0.7 * c_chain * c_turn,
                    unc,
                    "anterior brainstem edge half-way between the pontomesencephalic and \
                     pontomedullary sulci (mid-pons)",
                ),
            );
            let clivus = if coarsest > basal::MAX_CLIVUS_VOXEL_MM {
                Err(format!(
                    "T1 voxels up to {coarsest:.1} mm: the clivus cortex (about 2 mm) is blurred \
                     into the prepontine CSF; its surface needs voxels of at most {:.1} mm",
                    basal::MAX_CLIVUS_VOXEL_MM
                ))
            } else {
                basal::clivus_at(&s, chain.top, &edge, mid, 0.5 * f64::from(z_grey))
                    .filter(|(cc, _)| *cc < pc)
                    .ok_or_else(|| {
                        "no clivus surface in front of the pons at mid-pons (no marrow within \
                         30 mm, or its cortex not darker than the CSF on this T1)"
                            .to_owned()
                    })
            };
            match clivus {
                Ok((cc, frac)) => set(
                    LandmarkName::ClivusPrepontine,
                    found(
                        &s,
                        mid,
                        cc,
                        0.7 * c_chain * c_turn * frac,
                        unc,
                        "posterior clivus surface (cortex darker than CSF, in front of the \
                         prepontine cistern) at mid-pons, line fitted over +-6 mm",
                    ),
                ),
                Err(reason) => set(
                    LandmarkName::ClivusPrepontine,
                    Detection::NotFound { reason },
                ),
            }
        }
    }
    // The basion: the lower end of the clivus wall followed down from mid-pons.
    let doubtful = "the pons may be another structure (the tissue taken for the mamillary \
                    bodies lies beyond adult anatomy from it): the clivus is not followed down \
                    from it";
    let basion = if stem_doubtful {
        Err(doubtful.to_owned())
    } else {
        let stem = fossa::Stem {
            top: chain.top,
            ant: &ant,
            z_edge,
            z_grey,
            mid_pons: levels.map_or(pons_row, |lv| lv.mid()),
            voxel_mm: coarsest,
        };
        fossa::basion(&s, &stem)
    };
    set(
        LandmarkName::Basion,
        match basion {
            Ok(p) => found(
                &s,
                p.r,
                p.c,
                p.conf * c_chain.max(0.5),
                unc,
                "lower end of the straight clivus wall in front of the medulla (posterior \
                 surface of the clivus followed down from mid-pons)",
            ),
            Err(reason) => Detection::NotFound { reason },
        },
    );
    // Low-confidence detections are reported as not found.
    let mut low = BTreeMap::new();
    for (n, d) in &out.landmarks {
        if let Detection::Found { confidence, .. } = d {
            if *confidence < opts.min_confidence {
                low.insert(
                    *n,
                    format!(
                        "found with confidence {confidence:.2} below the minimum {:.2}",
                        opts.min_confidence
                    ),
                );
            }
        }
    }
    for (n, reason) in low {
        out.landmarks.insert(n, Detection::NotFound { reason });
    }
    out
}
