//! The foramen magnum on the midsagittal slab: the basion (lower tip of the clivus).
//!
//! The posterior surface of the clivus is the anterior wall of the CSF in front of the pons
//! and the medulla. On each slab row from mid-pons down, walking forwards from the brainstem's
//! anterior edge through the CSF, the wall is the first of: tissue (the profile rises
//! half-way from the CSF to the grey-matter level: marrow, ligament, soft tissue) or cortex
//! (the profile falls clearly below the cistern's own CSF level, measured from 1 mm past the
//! brainstem's blurred edge: cortical bone is darker than CSF on T1; the wall is half-way down
//! to the trough). Below the last row of the brainstem column the edge of the medulla / cord is
//! followed row by row. The clivus is the straight part of this wall below mid-pons: a line is
//! grown row by row while the wall stays within [`LINE_TOL_MM`] of it. The basion is where the
//! wall leaves the line for good: below the clivus tip the wall is soft tissue in front of the
//! dens (it runs down more steeply than the clivus) or bone running forwards under it.
//!
//! No intensity is fixed: levels are fractions of the patient's own CSF-white contrast (the
//! slab is normalised, CSF 0, white matter 1), and the only sizes are broad adult ranges.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "pixel indices of a bounded reformat"
)]

use super::locate::Slab;

/// Largest distance (mm) of a wall point from the clivus line that still belongs to it.
const LINE_TOL_MM: f64 = 0.8;

/// Shortest straight clivus wall (mm of rows) below mid-pons accepted.
const MIN_CLIVUS_MM: f64 = 8.0;

/// Longest search below mid-pons (mm): adult mid-pons to basion is about 15-35 mm.
const MAX_DROP_MM: f64 = 50.0;

/// Minimum darkness of cortical bone below the cistern's CSF level (fraction of the CSF-white
/// contrast) for it to count as the wall.
const MIN_CORTEX_CONTRAST: f64 = 0.06;

/// Coarsest voxel (mm, any axis) on which the basion is searched.
const MAX_VOXEL_MM: f64 = 1.3;

/// Longest stretch (mm) of rows without a brainstem edge bridged by the last edge.
const MAX_EDGE_GAP_MM: f64 = 4.0;

/// Distance (mm) past the brainstem's edge before the CSF level is measured (the edge's blur).
const EDGE_BLUR_MM: f64 = 1.0;

/// The brainstem as the landmark search found it.
pub(super) struct Stem<'a> {
    /// Slab row of the first entry of `ant`.
    pub(super) top: usize,
    /// Anterior brainstem edge (column) per row, `None` where it was not found.
    pub(super) ant: &'a [Option<f64>],
    /// Level of the brainstem's anterior edge (normalised).
    pub(super) z_edge: f32,
    /// Grey-matter level (normalised).
    pub(super) z_grey: f32,
    /// Mid-pons row (where the search starts).
    pub(super) mid_pons: f64,
    /// Coarsest voxel spacing of the T1, mm.
    pub(super) voxel_mm: f64,
}

/// A point found on the slab.
#[derive(Debug, Clone, Copy)]
pub(super) struct SlabPoint {
    /// Row (fractional).
    pub(super) r: f64,
    /// Column (fractional).
    pub(super) c: f64,
    /// Confidence in `[0, 1]`.
    pub(super) conf: f64,
}

/// The anterior edge of the brainstem / medulla / cord on each row from `r0` for `n` rows:
/// the brainstem column's edge where it has one, below it followed row by row (the crossing of
/// the edge level nearest the previous row's edge, within 1.5 mm).
fn cord_edges(s: &Slab, stem: &Stem<'_>, r0: usize, n: usize) -> Vec<Option<f64>> {
    let mut prev: Option<f64> = None;
    let mut gap = 0_usize;
    let mut out = Vec::new();
    for r in r0..(r0 + n).min(s.rows) {
        let chain = r
            .checked_sub(stem.top)
            .and_then(|i| stem.ant.get(i).copied().flatten());
        let e = chain.or_else(|| {
            let p = prev?;
            // Crossings of the edge level (tissue posterior) within 1.5 mm of the last edge.
            let w = 1.5 / s.px;
            let mut best: Option<f64> = None;
            let mut c = (p - w).max(1.0);
            while c <= p + w {
                let (a, b) = (s.bilinear(r as f64, c), s.bilinear(r as f64, c + 0.1));
                let lv = f64::from(stem.z_edge);
                if a < lv && b >= lv {
                    let x = c + 0.1 * ((lv - a) / (b - a)).clamp(0.0, 1.0);
                    if best.is_none_or(|bb| (bb - p).abs() > (x - p).abs()) {
                        best = Some(x);
                    }
                }
                c += 0.1;
            }
            best
        });
        if e.is_some() {
            (prev, gap) = (e, 0);
        } else if prev.is_some() {
            // A short gap in the edge (a dark line across the medulla): the last edge stands in.
            gap += 1;
            if gap as f64 * s.px > MAX_EDGE_GAP_MM {
                prev = None;
            }
        }
        out.push(e.or(prev));
    }
    out
}

/// The anterior wall of the CSF on row `r`, walking forwards from column `c_stem` (the
/// brainstem's edge): `None` when no CSF is crossed or no wall is met within 25 mm.
fn wall_on_row(s: &Slab, r: f64, c_stem: f64, z_tissue: f64) -> Option<f64> {
    let step = 0.1;
    let mut c = c_stem;
    // Into the CSF (within 3 mm of the edge).
    loop {
        c -= step;
        let z = s.bilinear(r, c);
        if !z.is_finite() || (c_stem - c) * s.px > 3.0 {
            return None;
        }
        if z < 0.5 * z_tissue {
            break;
        }
    }
    let start = c;
    let mut csf: Vec<f64> = Vec::new();
    while (start - c) * s.px < 25.0 {
        c -= step;
        let z = s.bilinear(r, c);
        if !z.is_finite() {
            return None;
        }
        if z >= z_tissue {
            // Tissue: the crossing of half-way between the CSF level and the tissue level.
            let z_csf = median(&mut csf).unwrap_or(0.0);
            return crossing(s, r, (start, c), 0.5 * (z_csf + z_tissue), true);
        }
        if (start - c) * s.px >= EDGE_BLUR_MM {
            if csf.len() as f64 * step * s.px >= 0.5 {
                let mut v = csf.clone();
                let z_csf = median(&mut v).unwrap_or(0.0);
                if z < z_csf - MIN_CORTEX_CONTRAST {
                    // Cortex: follow down to the trough (within 2 mm), the wall half-way.
                    let (mut zmin, mut cmin) = (z, c);
                    let mut cc = c;
                    while (c - cc) * s.px < 2.0 {
                        cc -= step;
                        let zz = s.bilinear(r, cc);
                        if !zz.is_finite() || zz > zmin + 0.02 {
                            break;
                        }
                        if zz < zmin {
                            (zmin, cmin) = (zz, cc);
                        }
                    }
                    return crossing(s, r, (start, cmin), 0.5 * (z_csf + zmin), false);
                }
            }
            csf.push(z);
        }
    }
    None
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// Column where row `r` crosses `level` between `cols.0` (posterior) and `cols.1` (anterior),
/// the crossing nearest the anterior end: rising (`up`) or falling towards anterior.
fn crossing(s: &Slab, r: f64, (c_post, c_ant): (f64, f64), level: f64, up: bool) -> Option<f64> {
    let step = 0.05;
    let mut c = c_ant.min(c_post);
    let c_end = c_ant.max(c_post);
    while c < c_end {
        let (za, zb) = (s.bilinear(r, c), s.bilinear(r, c + step));
        let hit = if up {
            za >= level && zb < level
        } else {
            za <= level && zb > level
        };
        if hit {
            let f = ((level - za) / (zb - za)).clamp(0.0, 1.0);
            return Some(c + step * f);
        }
        c += step;
    }
    None
}

/// Least-squares line `c = a + b (r - r0)` through `pts` (row, col).
fn fit(pts: &[(f64, f64)], r0: f64) -> Option<(f64, f64)> {
    if pts.len() < 3 {
        return None;
    }
    let m = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0 - r0).sum::<f64>() / m;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / m;
    let sxx: f64 = pts.iter().map(|p| (p.0 - r0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - r0 - mx) * (p.1 - my)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    Some((my - b * mx, b))
}

/// The basion: the lower end of the straight clivus wall in front of the brainstem, searched
/// from mid-pons down.
pub(super) fn basion(s: &Slab, stem: &Stem<'_>) -> Result<SlabPoint, String> {
    if stem.voxel_mm > MAX_VOXEL_MM {
        return Err(format!(
            "T1 voxels up to {:.1} mm: the clivus cortex and tip (about 2 mm) are not resolved; \
             the basion needs voxels of at most {MAX_VOXEL_MM:.1} mm",
            stem.voxel_mm
        ));
    }
    let z_tissue = 0.5 * f64::from(stem.z_grey);
    let r_start = stem.mid_pons.round().max(0.0) as usize;
    let n = (MAX_DROP_MM / s.px).round() as usize;
    let edges = cord_edges(s, stem, r_start, n);
    let walls: Vec<(f64, Option<f64>)> = edges
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let r = (r_start + i) as f64;
            (r, e.and_then(|a| wall_on_row(s, r, a, z_tissue)))
        })
        .collect();
    let seed = (MIN_CLIVUS_MM / s.px).round() as usize;
    let tol = LINE_TOL_MM / s.px;
    let r0 = stem.mid_pons;
    let first: Vec<(f64, f64)> = walls
        .iter()
        .take(seed)
        .filter_map(|(r, w)| w.map(|w| (*r, w)))
        .collect();
    if first.len() * 10 < seed * 7 {
        return Err(format!(
            "no clivus wall in front of the brainstem over the {MIN_CLIVUS_MM} mm below mid-pons \
             (no CSF between the brainstem and a wall within 25 mm)"
        ));
    }
    let (a, b) = fit(&first, r0).ok_or("too few clivus wall points")?;
    let mut kept: Vec<(f64, f64)> = first
        .iter()
        .copied()
        .filter(|(r, c)| (c - (a + b * (r - r0))).abs() <= 2.0 * tol)
        .collect();
    let (mut a, mut b) = fit(&kept, r0).ok_or("the clivus wall is not straight")?;
    if kept
        .iter()
        .any(|(r, c)| (c - (a + b * (r - r0))).abs() > 2.0 * tol)
    {
        return Err("the wall in front of the brainstem below mid-pons is not straight".to_owned());
    }
    let mut i = kept.len().max(1);
    let mut last_good = kept.last().map_or(r0, |p| p.0);
    let mut misses = 0;
    while i < walls.len() {
        let (r, w) = walls[i];
        let pred = a + b * (r - r0);
        match w {
            Some(c) if (c - pred).abs() <= tol => {
                kept.push((r, c));
                last_good = r;
                misses = 0;
                if let Some(f) = fit(&kept, r0) {
                    (a, b) = f;
                }
            }
            _ => {
                misses += 1;
                if misses > 2 {
                    break;
                }
            }
        }
        i += 1;
    }
    if i >= walls.len() {
        return Err(format!(
            "the clivus wall does not end within {MAX_DROP_MM} mm below mid-pons"
        ));
    }
    // The clivus runs down and back (posterior = increasing column).
    let angle = b.atan().to_degrees();
    if !(10.0..=80.0).contains(&angle) {
        return Err(format!(
            "the wall in front of the brainstem below mid-pons runs {angle:.0} degrees from the \
             vertical: not a clivus"
        ));
    }
    if (last_good - r0) * s.px < MIN_CLIVUS_MM {
        return Err("the straight clivus wall below mid-pons is shorter than 8 mm".to_owned());
    }
    // The wall was taken where the marrow rises; a faint cortex (too faint to see on one row)
    // lies behind it: the profile across the wall averaged over the line's rows shows it.
    let shift = cortex_shift(s, &kept, (a, b), r0).unwrap_or(0.0);
    // Rows just below the end that lie on the cortex's outer surface still belong to the clivus.
    let mut end = last_good;
    for (r, w) in &walls {
        if *r <= end || (*r - last_good) * s.px > 3.0 {
            continue;
        }
        match w {
            Some(c)
                if (c - (a + b * (r - r0) + shift)).abs() <= 0.5 * tol
                    && shift.abs() * s.px > 0.5 =>
            {
                end = *r;
            }
            _ => break,
        }
    }
    let rc = if end > last_good {
        end + 0.5
    } else {
        corner(&walls, &kept, last_good, s.px).unwrap_or(last_good + 0.5)
    };
    let resid = (kept
        .iter()
        .map(|(r, c)| (c - (a + b * (r - r0))).powi(2))
        .sum::<f64>()
        / kept.len() as f64)
        .sqrt()
        * s.px;
    let conf = (1.0 - resid / LINE_TOL_MM).clamp(0.2, 1.0)
        * (((last_good - r0) * s.px - MIN_CLIVUS_MM) / 10.0 + 0.6).clamp(0.0, 1.0);
    Ok(SlabPoint {
        r: rc,
        c: a + b * (rc - r0) + shift,
        conf,
    })
}

/// Where the wall turns away from the clivus line when it runs on continuously below the tip
/// (soft tissue in front of the dens): the best two-segment fit of the wall over the last 6 mm
/// of the line and up to 4 mm below it (the turning row); `None` when fewer than 4 continuous
/// wall points follow the line's end.
fn corner(walls: &[(f64, Option<f64>)], kept: &[(f64, f64)], last: f64, px: f64) -> Option<f64> {
    let after: Vec<(f64, f64)> = {
        let mut v: Vec<(f64, f64)> = Vec::new();
        for (r, w) in walls {
            if *r <= last || (*r - last) * px > 4.0 {
                continue;
            }
            let Some(c) = *w else { break };
            if v.last()
                .is_some_and(|p: &(f64, f64)| (p.1 - c).abs() * px > 1.0)
            {
                break;
            }
            v.push((*r, c));
        }
        v
    };
    if after.len() < 4 {
        return None;
    }
    let pts: Vec<(f64, f64)> = kept
        .iter()
        .copied()
        .filter(|(r, _)| (last - r) * px <= 6.0)
        .chain(after.iter().copied())
        .collect();
    let sse = |seg: &[(f64, f64)]| -> f64 {
        if seg.len() < 2 {
            return 0.0;
        }
        let (a, b) = fit2(seg);
        seg.iter().map(|(r, c)| (c - (a + b * r)).powi(2)).sum()
    };
    let mut best: Option<(f64, f64)> = None;
    for k in 2..pts.len().saturating_sub(1) {
        let e = sse(&pts[..=k]) + sse(&pts[k..]);
        if best.is_none_or(|(_, b)| e < b) {
            best = Some((pts[k].0, e));
        }
    }
    let (r, _) = best?;
    ((last - r) * px <= 3.0).then_some(r)
}

/// Least-squares line `c = a + b r` (two points or more).
fn fit2(pts: &[(f64, f64)]) -> (f64, f64) {
    let m = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / m;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / m;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - b * mx, b)
}

/// Columns (towards posterior) from the marrow's rise to the cortex's outer surface: the
/// profile across the wall averaged over the line's rows (`c = a + b (r - r0)`); the surface is
/// half-way from the CSF level (1-2 mm behind the line) down to the lowest value within 1.5 mm
/// behind it. `None` when that trough is not darker than the CSF.
fn cortex_shift(s: &Slab, kept: &[(f64, f64)], (a, b): (f64, f64), r0: f64) -> Option<f64> {
    let step = 0.1;
    let n = (3.0 / s.px / step).round() as usize;
    let mut prof = vec![0.0_f64; n + 1];
    let mut cnt = 0.0;
    for (r, _) in kept {
        let c0 = a + b * (r - r0);
        let vals: Vec<f64> = (0..=n)
            .map(|i| s.bilinear(*r, c0 - 0.5 / s.px + i as f64 * step))
            .collect();
        if vals.iter().all(|v| v.is_finite()) {
            for (p, v) in prof.iter_mut().zip(vals) {
                *p += v;
            }
            cnt += 1.0;
        }
    }
    if cnt < 5.0 {
        return None;
    }
    for p in &mut prof {
        *p /= cnt;
    }
    let at = |mm: f64| ((mm + 0.5) / s.px / step).round() as usize;
    let z_csf = prof[at(1.5)..=at(2.5)].iter().sum::<f64>() / (at(2.5) - at(1.5) + 1) as f64;
    let (imin, zmin) = prof[..=at(1.5)]
        .iter()
        .copied()
        .enumerate()
        .min_by(|x, y| x.1.total_cmp(&y.1))?;
    if imin == 0 || zmin > z_csf - 0.01 {
        return None;
    }
    let level = 0.5 * (z_csf + zmin);
    (imin..at(2.5)).find_map(|i| {
        let (za, zb) = (prof[i], prof[i + 1]);
        (za <= level && zb > level).then(|| {
            let x = (i as f64 + ((level - za) / (zb - za)).clamp(0.0, 1.0)) * step;
            x - 0.5 / s.px
        })
    })
}
