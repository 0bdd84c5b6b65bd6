//! Landmarks of the pons and the clivus on the midsagittal slab, for the prepontine cistern.
//!
//! * The pons's extent on its anterior surface: the pontomesencephalic (upper) and pontomedullary
//!   (lower) sulci, where the anterior brainstem edge turns most sharply towards the CSF
//!   (concave corners) above and below the pons bulge. Mid-pons is half-way between them, and
//!   the anterior surface of the pons is the brainstem edge at that level.
//! * The posterior surface of the clivus: on each row within 6 mm of mid-pons, walking forwards
//!   from the pons through the prepontine CSF, the clivus marrow (bright on T1) is met; its
//!   cortex lies between the CSF and the marrow and is darker than CSF. The surface is where
//!   the profile rises from the cortex's minimum half-way to the CSF level; a straight line
//!   fitted through the rows gives the point at mid-pons. Where the cortex is not darker than
//!   the CSF (by [`MIN_CORTEX_CONTRAST`] of the CSF-white contrast) the surface cannot be told
//!   from the CSF and the clivus is not found. The cortex is about 2 mm thick: with voxels
//!   coarser than [`MAX_CLIVUS_VOXEL_MM`] it is blurred into the CSF and the surface comes out
//!   1-2.3 mm too far back (measured on 2 mm phantoms), so the clivus is not searched there.
//!
//! Intensities are the slab's, normalised to the patient's classes (CSF 0, white matter 1).

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "pixel indices of a bounded reformat"
)]

use super::locate::Slab;

/// Minimum darkness of the clivus cortex below the CSF level (fraction of the CSF-white
/// contrast).
const MIN_CORTEX_CONTRAST: f64 = 0.03;

/// Coarsest voxel (mm, any axis) on which the clivus cortex is searched.
pub(super) const MAX_CLIVUS_VOXEL_MM: f64 = 1.3;

/// The pons's anterior extent, in slab rows (fractional) and the sharpness of each corner.
#[derive(Debug, Clone, Copy)]
pub(super) struct PonsLevels {
    /// Row of the pontomesencephalic junction (anterior).
    pub(super) upper: f64,
    /// Row of the pontomedullary junction (anterior).
    pub(super) lower: f64,
    /// Turn of the edge at each corner (mm over the 2 mm differences), `[upper, lower]`.
    pub(super) turn_mm: [f64; 2],
}

impl PonsLevels {
    /// Mid-pons row.
    pub(super) fn mid(&self) -> f64 {
        0.5 * (self.upper + self.lower)
    }
}

/// The anterior brainstem edge (column) smoothed over +-1 mm, per chain row.
pub(super) fn smooth_edge(s: &Slab, ant: &[Option<f64>]) -> Vec<Option<f64>> {
    let k = (1.0 / s.px).round().max(1.0) as usize;
    (0..ant.len())
        .map(|i| {
            if i < k || i + k >= ant.len() {
                return None;
            }
            let w: Vec<f64> = ant[i - k..=i + k].iter().filter_map(|x| *x).collect();
            (w.len() == 2 * k + 1).then(|| w.iter().sum::<f64>() / w.len() as f64)
        })
        .collect()
}

/// Linear interpolation of a per-row edge at a fractional chain index.
pub(super) fn edge_at(edge: &[Option<f64>], i: f64) -> Option<f64> {
    if i < 0.0 {
        return None;
    }
    let i0 = i.floor() as usize;
    let f = i - i0 as f64;
    let a = edge.get(i0).copied().flatten()?;
    if f < 1e-9 {
        return Some(a);
    }
    let b = edge.get(i0 + 1).copied().flatten()?;
    Some(a + (b - a) * f)
}

/// The two corners of the anterior edge around the pons bulge (chain index `bulge`).
pub(super) fn pons_levels(
    s: &Slab,
    top: usize,
    edge: &[Option<f64>],
    bulge: usize,
) -> Option<PonsLevels> {
    let h = (2.0 / s.px).round().max(1.0) as usize;
    let d2 = |i: usize| -> Option<f64> {
        let a = edge.get(i.checked_sub(h)?).copied().flatten()?;
        let b = edge.get(i).copied().flatten()?;
        let c = edge.get(i + h).copied().flatten()?;
        Some(((c - b) - (b - a)) * s.px)
    };
    let near = (3.0 / s.px).round() as usize;
    let far = (25.0 / s.px).round() as usize;
    let corner = |lo: usize, hi: usize| -> Option<(f64, f64)> {
        let mut best: Option<(usize, f64)> = None;
        for i in lo..=hi {
            if let Some(v) = d2(i) {
                if best.is_none_or(|(_, b)| v < b) {
                    best = Some((i, v));
                }
            }
        }
        let (i, v) = best?;
        // Parabolic sub-row refinement.
        let off = match (i.checked_sub(1).and_then(d2), d2(i + 1)) {
            (Some(a), Some(c)) if a + c - 2.0 * v > 1e-12 => {
                (0.5 * (a - c) / (a + c - 2.0 * v)).clamp(-0.5, 0.5)
            }
            _ => 0.0,
        };
        Some((i as f64 + off, -v))
    };
    let (iu, tu) = corner(bulge.saturating_sub(far), bulge.checked_sub(near)?)?;
    let (il, tl) = corner(
        bulge + near,
        (bulge + far).min(edge.len().saturating_sub(1)),
    )?;
    Some(PonsLevels {
        upper: top as f64 + iu,
        lower: top as f64 + il,
        turn_mm: [tu, tl],
    })
}

/// The clivus surface crossing on one row, walking anterior from the pons edge at column
/// `c_pons`; `None` when no marrow is met within 30 mm or the cortex is not darker than CSF.
fn clivus_on_row(s: &Slab, r: f64, c_pons: f64, z_marrow: f64) -> Option<f64> {
    let step = 0.1;
    let mut c = c_pons;
    let mut prof: Vec<(f64, f64)> = Vec::new();
    let mut dark = false;
    while (c_pons - c) * s.px < 30.0 {
        c -= step;
        let z = s.bilinear(r, c);
        if !z.is_finite() {
            return None;
        }
        prof.push((c, z));
        if z < 0.1 {
            dark = true;
        } else if dark && z > z_marrow {
            break;
        }
    }
    if !(dark && prof.last().is_some_and(|p| p.1 > z_marrow)) {
        return None;
    }
    // The cortex: the deepest point of the trough before the marrow. The CSF level: the
    // median of the cistern between the pons edge (1 mm past its half-way crossing) and 1.5 mm
    // short of the cortex. The surface: where the profile, walking back from the cortex
    // towards the pons, rises half-way from the cortex to the CSF level.
    let (imin, &(_, zmin)) = prof
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.1.total_cmp(&b.1.1))?;
    let per_mm = (1.0 / (step * s.px)).round() as usize;
    let i0 = prof.iter().position(|p| p.1 < 0.25)? + per_mm;
    let i1 = imin.checked_sub(3 * per_mm / 2)?;
    if i1 <= i0 {
        return None;
    }
    let mut csf: Vec<f64> = prof[i0..i1].iter().map(|p| p.1).collect();
    csf.sort_by(f64::total_cmp);
    let z_csf = csf[csf.len() / 2];
    if z_csf - zmin < MIN_CORTEX_CONTRAST {
        return None;
    }
    let half = 0.5 * (z_csf + zmin);
    let mut found = None;
    for j in (i0..imin).rev() {
        let (c1, z1) = prof[j];
        let (c0, z0) = prof[j + 1];
        if z1 >= half {
            let f = ((half - z0) / (z1 - z0)).clamp(0.0, 1.0);
            found = Some(c0 + (c1 - c0) * f);
            break;
        }
    }
    found
}

/// The posterior clivus surface at row `mid`: a line fitted through the rows within 6 mm.
/// Returns the column and the fraction of rows that gave a crossing.
pub(super) fn clivus_at(
    s: &Slab,
    top: usize,
    edge: &[Option<f64>],
    mid: f64,
    z_marrow: f64,
) -> Option<(f64, f64)> {
    let n = (6.0 / s.px).round() as isize;
    let mut pts: Vec<(f64, f64)> = Vec::new();
    for d in -n..=n {
        let r = mid + d as f64;
        let Some(cp) = edge_at(edge, r - top as f64) else {
            continue;
        };
        if let Some(c) = clivus_on_row(s, r, cp, z_marrow) {
            pts.push((d as f64, c));
        }
    }
    let total = (2 * n + 1) as f64;
    let fit = |p: &[(f64, f64)]| -> Option<(f64, f64)> {
        if p.len() < 3 {
            return None;
        }
        let m = p.len() as f64;
        let (sx, sy) = p.iter().fold((0.0, 0.0), |a, q| (a.0 + q.0, a.1 + q.1));
        let (mx, my) = (sx / m, sy / m);
        let sxx: f64 = p.iter().map(|q| (q.0 - mx).powi(2)).sum();
        let sxy: f64 = p.iter().map(|q| (q.0 - mx) * (q.1 - my)).sum();
        let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        Some((my - b * mx, b))
    };
    let (a, b) = fit(&pts)?;
    let tol = (1.5 / s.px).max(1.0);
    let kept: Vec<(f64, f64)> = pts
        .iter()
        .copied()
        .filter(|(x, y)| (y - (a + b * x)).abs() <= tol)
        .collect();
    let (a, _) = fit(&kept)?;
    Some((a, kept.len() as f64 / total))
}

/// Brainstem tissue around the top of the pons: the pixels at or above a level that are
/// 4-connected to a seed inside the pons, within a box of rows and columns (the box's top row
/// lies a little above the pontomesencephalic junction, so the midbrain above it and whatever
/// touches the midbrain there, such as the mamillary bodies, stay outside).
pub(super) struct Region {
    r0: usize,
    c0: usize,
    rows: usize,
    cols: usize,
    inside: Vec<bool>,
}

impl Region {
    /// Whether pixel `(r, c)` belongs to the region.
    pub(super) fn contains(&self, r: isize, c: isize) -> bool {
        let (Ok(r), Ok(c)) = (usize::try_from(r), usize::try_from(c)) else {
            return false;
        };
        if r < self.r0 || c < self.c0 || r >= self.r0 + self.rows || c >= self.c0 + self.cols {
            return false;
        }
        self.inside[(r - self.r0) * self.cols + (c - self.c0)]
    }

    /// Whether a pixel of the region lies within `radius` pixels of the point `(r, c)`.
    pub(super) fn near(&self, r: f64, c: f64, radius: f64) -> bool {
        let k = radius.ceil() as isize;
        let (ri, ci) = (r.round() as isize, c.round() as isize);
        (-k..=k).any(|dr| {
            (-k..=k).any(|dc| {
                let (rr, cc) = (ri + dr, ci + dc);
                let d2 = (rr as f64 - r).powi(2) + (cc as f64 - c).powi(2);
                d2 <= radius * radius && self.contains(rr, cc)
            })
        })
    }
}

/// Flood fill from `seed` over pixels at or above `thr` inside the box `rows` x `cols`
/// (inclusive ranges); `None` when the seed is outside the box or below the level.
pub(super) fn region_from(
    s: &Slab,
    seed: (usize, usize),
    rows: (usize, usize),
    cols: (usize, usize),
    thr: f32,
) -> Option<Region> {
    let (r1, c1) = (rows.1.min(s.rows - 1), cols.1.min(s.cols - 1));
    let (r0, c0) = (rows.0, cols.0);
    if seed.0 < r0 || seed.0 > r1 || seed.1 < c0 || seed.1 > c1 || r0 > r1 || c0 > c1 {
        return None;
    }
    let (nr, nc) = (r1 - r0 + 1, c1 - c0 + 1);
    let val = |r: usize, c: usize| s.img[(r0 + r) * s.cols + c0 + c];
    let v_seed = val(seed.0 - r0, seed.1 - c0);
    if v_seed.is_nan() || v_seed < thr {
        return None;
    }
    let mut inside = vec![false; nr * nc];
    let mut stack = vec![(seed.0 - r0, seed.1 - c0)];
    inside[(seed.0 - r0) * nc + seed.1 - c0] = true;
    while let Some((r, c)) = stack.pop() {
        let nb = [
            (r.wrapping_sub(1), c),
            (r + 1, c),
            (r, c.wrapping_sub(1)),
            (r, c + 1),
        ];
        for (rr, cc) in nb {
            if rr < nr && cc < nc && !inside[rr * nc + cc] && val(rr, cc) >= thr {
                inside[rr * nc + cc] = true;
                stack.push((rr, cc));
            }
        }
    }
    Some(Region {
        r0,
        c0,
        rows: nr,
        cols: nc,
        inside,
    })
}
