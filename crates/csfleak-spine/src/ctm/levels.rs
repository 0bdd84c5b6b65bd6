//! Vertebral levels on CT from bone: the anterior column ventral to the sac alternates between
//! vertebral bodies (cancellous bone inside cortex, dense) and discs (soft tissue). Disc
//! centres are the minima of the column density along the stack, counted from the sacrum or
//! from C2 only where the image shows that end ([`crate::levels::EndsInView`]: the cord as a
//! filling defect in the centre of the contrast-filled sac, the sac ending or tapering, a
//! disc-free column with no disc cut by the stack end). Only HU physics (bone denser than
//! disc, the cord as soft tissue inside the contrast) is used, relative to the
//! column's own local range and the sac's own median HU.

use csfleak_volume::{DVec3, Volume};

use super::sac::SacSlice;
use crate::levels::{EndsInView, Landmark, LevelScale, count_from_ends, hull_area_px};

/// Method name of the automatic labelling.
pub(crate) const METHOD: &str = "ct_anterior_column_discs/1";

fn slice_z(v: &Volume, k: usize) -> f64 {
    v.geometry()
        .world_from_voxel_point(DVec3::new(0.0, 0.0, k as f64))
        .to_dvec3()
        .z
}

/// `(z, mean HU)` of the anterior column per slice with a sac, cranial first. The column box
/// lies 6-22 mm in front of the sac on the slice; its height is moved to where the plane
/// through it perpendicular to the canal crosses the canal
/// ([`crate::levels::disc_height_at_canal`]), so that the discs found on the profile sit at
/// the canal's height of the disc even where the spine curves across the axial slices.
fn column_profile(v: &Volume, sacs: &[Option<SacSlice>]) -> Vec<(f64, f64)> {
    let [sx, sy, _] = v.geometry().spacing_mm();
    let dirs = v.geometry().directions();
    // Rows towards anterior (-y).
    let ant = if dirs[1].y > 0.0 { -1.0 } else { 1.0 };
    let data = v.data();
    let (_, nr, nc) = data.dim();
    let world = |k: usize, row: f64, col: f64| {
        v.geometry()
            .world_from_voxel_point(DVec3::new(col, row, k as f64))
            .to_dvec3()
    };
    // Per slice: the sac's centroid (row, col) and half AP extent (mm). A slice without a
    // sac between two with one (contrast leaving the sac can make it unrecognisable there)
    // takes the canal interpolated from the nearest sac slices within 12 mm on both sides:
    // the vertebral column does not stop where the sac is missed.
    let step = v.geometry().spacing_mm()[2].max(0.1);
    let own: Vec<Option<(f64, f64, f64)>> = sacs
        .iter()
        .map(|s| {
            let s = s.as_ref()?;
            let (rmin, rmax) = s
                .pixels
                .iter()
                .fold((usize::MAX, 0), |a, p| (a.0.min(p.0), a.1.max(p.0)));
            let half_ap = (rmax.saturating_sub(rmin) as f64 + 1.0) * 0.5 * sy;
            Some((s.centroid.0, s.centroid.1, half_ap))
        })
        .collect();
    let reach = csfleak_volume::index_of((12.0 / step).floor()).unwrap_or(0);
    let canal: Vec<Option<(f64, f64, f64)>> = (0..own.len())
        .map(|k| {
            if own[k].is_some() {
                return own[k];
            }
            let before = (k.saturating_sub(reach)..k)
                .rev()
                .find_map(|j| own[j].map(|c| (j, c)));
            let after =
                (k + 1..(k + 1 + reach).min(own.len())).find_map(|j| own[j].map(|c| (j, c)));
            let ((ja, a), (jb, b)) = (before?, after?);
            let t = (k - ja) as f64 / (jb - ja) as f64;
            Some((
                a.0 + t * (b.0 - a.0),
                a.1 + t * (b.1 - a.1),
                a.2 + t * (b.2 - a.2),
            ))
        })
        .collect();
    let out: Vec<(DVec3, DVec3, f64)> = canal
        .iter()
        .enumerate()
        .filter_map(|(k, s)| {
            let &(c_row, c_col, half_ap) = s.as_ref()?;
            let (near, far) = ((half_ap + 6.0) / sy, (half_ap + 22.0) / sy);
            let (a, b) = (c_row + ant * near, c_row + ant * far);
            let (ra, rb) = (
                a.min(b).max(0.0) as usize,
                (a.max(b).max(0.0) as usize).min(nr.saturating_sub(1)),
            );
            let hw = 6.0 / sx;
            let ca = (c_col - hw).max(0.0) as usize;
            let cb = ((c_col + hw).max(0.0) as usize).min(nc.saturating_sub(1));
            if rb <= ra || cb <= ca {
                return None;
            }
            let mut sum = 0.0;
            let mut n = 0.0;
            for r in ra..=rb {
                for c in ca..=cb {
                    sum += f64::from(data[[k, r, c]].clamp(-200.0, 1500.0));
                    n += 1.0;
                }
            }
            let centre = world(k, c_row, c_col);
            let column = world(k, 0.5 * (a + b), c_col);
            Some((centre, column - centre, sum / n))
        })
        .collect();
    let centres: Vec<DVec3> = out.iter().map(|o| o.0).collect();
    let mut out: Vec<(f64, f64)> = out
        .iter()
        .map(|&(c, off, hu)| {
            let t = crate::levels::canal_tangent_at(&centres, c.z);
            (crate::levels::disc_height_at_canal(c, off, t), hu)
        })
        .collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out
}

/// Disc centres (z, cranial first) as minima of the column density.
fn find_discs(profile: &[(f64, f64)]) -> Vec<f64> {
    let n = profile.len();
    if n < 5 {
        return Vec::new();
    }
    // Smooth over +-2 mm.
    let smooth: Vec<f64> = (0..n)
        .map(|i| {
            let z = profile[i].0;
            let (s, c) = profile
                .iter()
                .filter(|p| (p.0 - z).abs() <= 2.0)
                .fold((0.0, 0.0), |a, p| (a.0 + p.1, a.1 + 1.0));
            s / c
        })
        .collect();
    let mut discs: Vec<(f64, f64)> = Vec::new();
    let mut i = 0;
    while i < n {
        let z = profile[i].0;
        let mut window: Vec<f64> = (0..n)
            .filter(|&j| (profile[j].0 - z).abs() <= 15.0)
            .map(|j| smooth[j])
            .collect();
        window.sort_by(f64::total_cmp);
        // Bodies fill most of the window: a high quantile is the body density without the
        // thin endplate cortex; the minimum is the disc.
        let hi = window[((window.len() - 1) as f64 * 0.65).round() as usize];
        let lo = window[0];
        let mid = 0.5 * (hi + lo);
        if hi - lo > 60.0 && smooth[i] < mid {
            // A run below the middle: its minimum is a disc centre.
            let start = i;
            while i < n && smooth[i] < mid {
                i += 1;
            }
            let run = &smooth[start..i];
            let (m, _) = run
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .unwrap_or((0, &0.0));
            // Weighted centre of the run for sub-slice precision.
            let zs: f64 = (start..i).map(|j| profile[j].0).sum::<f64>() / (i - start) as f64;
            let zc = 0.5 * (zs + profile[start + m].0);
            // The run must be bounded by bone on both sides (not the stack end).
            if start > 0 && i < n {
                if let Some(&(last, _)) = discs.last()
                    && (last - zc).abs() < 8.0
                {
                    continue;
                }
                discs.push((zc, hi - run[m]));
            }
        } else {
            i += 1;
        }
    }
    drop_close_minima(discs)
}

/// `(z, depth below the local body density)` of each minimum, cranial first. Shallow minima
/// (less than half the median depth: a dip inside a vertebral body) are not discs, unless
/// one fills a gap between the deep minima around it: a gap at least 1.6 times the spacing
/// next to it, with the shallow minimum in its middle (0.3-0.7 of the gap; a disc sampled
/// by thick slices off its centre, between two endplates). Of two minima closer than 0.6 of
/// the median spacing (a vertebral body is taller than half a segment) the shallower one
/// goes, until none is left.
fn drop_close_minima(mut discs: Vec<(f64, f64)>) -> Vec<f64> {
    let depths: Vec<f64> = discs.iter().map(|d| d.1).collect();
    if let Some(med) = crate::levels::median_of(&depths) {
        let deep: Vec<f64> = discs
            .iter()
            .filter(|d| d.1 >= 0.5 * med)
            .map(|d| d.0)
            .collect();
        let fills_gap = |z: f64| {
            let Some(i) = deep.iter().position(|&d| d < z) else {
                return false;
            };
            if i == 0 {
                return false;
            }
            let (a, b) = (deep[i - 1], deep[i]);
            let gap = a - b;
            let beside: Vec<f64> = [
                (i >= 2).then(|| deep[i - 2] - a),
                deep.get(i + 1).map(|c| b - c),
            ]
            .into_iter()
            .flatten()
            .collect();
            let Some(next) = beside.into_iter().reduce(f64::min) else {
                return false;
            };
            gap >= 1.6 * next && (0.3..=0.7).contains(&((a - z) / gap))
        };
        discs.retain(|d| d.1 >= 0.5 * med || fills_gap(d.0));
    }
    loop {
        let mut gaps: Vec<f64> = discs.windows(2).map(|w| (w[0].0 - w[1].0).abs()).collect();
        if gaps.len() < 2 {
            break;
        }
        gaps.sort_by(f64::total_cmp);
        let median = gaps[gaps.len() / 2];
        let close = discs
            .windows(2)
            .enumerate()
            .filter(|(_, w)| (w[0].0 - w[1].0).abs() < 0.6 * median)
            .min_by(|a, b| {
                (a.1[0].0 - a.1[1].0)
                    .abs()
                    .total_cmp(&(b.1[0].0 - b.1[1].0).abs())
            })
            .map(|(i, w)| if w[0].1 < w[1].1 { i } else { i + 1 });
        match close {
            Some(i) => {
                discs.remove(i);
            }
            None => break,
        }
    }
    discs.into_iter().map(|d| d.0).collect()
}

/// Per slice with a sac: `(z, fraction of the sac's central zone that is not contrast)`. The
/// central zone (within 0.4 of the equivalent radius of the sac's convex hull from its centre)
/// lies inside the cord wherever there is a cord (a filling defect in the contrast); below
/// the conus it is contrast between the roots of the cauda equina.
fn cord_fraction(v: &Volume, sacs: &[Option<SacSlice>]) -> Vec<(f64, f64)> {
    let [sx, sy, _] = v.geometry().spacing_mm();
    let data = v.data();
    let (_, nr, nc) = data.dim();
    sacs.iter()
        .enumerate()
        .filter_map(|(k, s)| {
            let s = s.as_ref()?;
            // Pixels are sorted by row, then column.
            let mut rows: Vec<(usize, usize, usize)> = Vec::new();
            for &(r, c) in &s.pixels {
                match rows.last_mut() {
                    Some(last) if last.0 == r => {
                        last.1 = last.1.min(c);
                        last.2 = last.2.max(c);
                    }
                    _ => rows.push((r, c, c)),
                }
            }
            let hull_mm2 = hull_area_px(&rows) * sx * sy;
            let r_mm = 0.4 * (hull_mm2 / std::f64::consts::PI).sqrt();
            let dark = 0.5 * s.median_hu;
            let (cy, cx) = s.centroid;
            let (hr, hc) = (r_mm / sy, r_mm / sx);
            let r0 = csfleak_volume::index_of((cy - hr).floor().max(0.0))?;
            let c0 = csfleak_volume::index_of((cx - hc).floor().max(0.0))?;
            let r1 = csfleak_volume::index_of((cy + hr).ceil().max(0.0))?.min(nr.checked_sub(1)?);
            let c1 = csfleak_volume::index_of((cx + hc).ceil().max(0.0))?.min(nc.checked_sub(1)?);
            let (mut n, mut n_dark) = (0usize, 0usize);
            for r in r0..=r1 {
                for c in c0..=c1 {
                    if ((r as f64 - cy) * sy).hypot((c as f64 - cx) * sx) > r_mm {
                        continue;
                    }
                    n += 1;
                    if data[[k, r, c]] < dark {
                        n_dark += 1;
                    }
                }
            }
            (n >= 3).then(|| (slice_z(v, k), n_dark as f64 / n as f64))
        })
        .collect()
}

/// The automatic level scale of a CT myelogram.
pub(crate) fn detect_levels(v: &Volume, sacs: &[Option<SacSlice>]) -> LevelScale {
    let nk = v.dims()[2];
    let (z_first, z_last) = (slice_z(v, 0), slice_z(v, nk.saturating_sub(1)));
    let (stack_lo, stack_hi) = (z_first.min(z_last), z_first.max(z_last));
    let covered = (stack_lo, stack_hi);
    let profile = column_profile(v, sacs);
    let discs = find_discs(&profile);
    if discs.len() < 2 {
        let unlabelled: Vec<Landmark> = discs.iter().map(|&z| Landmark::disc(z)).collect();
        return LevelScale::not_counted(
            covered,
            &unlabelled,
            METHOD,
            "fewer than two discs found along the anterior column",
        );
    }
    let found_z: Vec<f64> = sacs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_some())
        .map(|(k, _)| slice_z(v, k))
        .collect();
    let [sx, sy, _] = v.geometry().spacing_mm();
    let area: Vec<(f64, f64)> = sacs
        .iter()
        .enumerate()
        .filter_map(|(k, s)| Some((slice_z(v, k), s.as_ref()?.pixels.len() as f64 * sx * sy)))
        .collect();
    // Discs are the density minima: negative density is the disc-likeness.
    let disc_profile: Vec<(f64, f64)> = profile.iter().map(|p| (p.0, -p.1)).collect();
    let cord = cord_fraction(v, sacs);
    let ends = EndsInView {
        discs_z_mm: &discs,
        stack_z_mm: (stack_lo, stack_hi),
        sac_z_mm: (
            found_z.iter().copied().fold(f64::INFINITY, f64::min),
            found_z.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ),
        step_mm: v.geometry().spacing_mm()[2],
        disc_profile_mm: &disc_profile,
        cord_fraction_mm: &cord,
        sac_area_mm: &area,
    };
    count_from_ends(&ends, covered, METHOD)
}
