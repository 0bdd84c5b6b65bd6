//! Anatomy found in the images themselves: spinal axis, foramen magnum, caudal end of the
//! thecal sac, head extent, a vertebral level scale, and the ROIs drawn from them.
//!
//! Everything is found on the "ever bright" map: for every registered frame, the smoothed image
//! divided by its 99.5th percentile and clamped to 1; the map is the pixel-wise maximum. Any
//! structure that holds tracer at some time point (lumbar sac early, head late) shows in it.

use csfleak_findings::{Level, Vertebra};
use ndarray::Array2;

use crate::image::median;

/// Typical adult height (vertebral body plus the disc below, mm) of C1..S1, cranial first.
/// Used only as proportions between the foramen magnum and the end of the sac.
const LEVEL_HEIGHT_MM: [f64; 25] = [
    13.0, 21.0, 16.5, 16.5, 16.5, 17.0, 17.5, 20.0, 21.5, 22.0, 22.5, 23.0, 24.0, 24.5, 25.0, 25.5,
    26.5, 27.0, 28.5, 33.5, 35.0, 35.5, 35.0, 33.5, 30.0,
];

/// Fraction of the ever-bright map above which a pixel held tracer at some time.
const ACTIVE: f64 = 0.15;
/// Fraction of a row's peak (unclamped map) over which the axis is the centroid.
const AXIS_RUN: f64 = 0.7;
/// Floor of the ever-bright map where the CSF ROI edge stops.
const ROI_FLOOR: f64 = 0.02;

/// The anatomy of one study in the reference frame (canonical layout: head up, increasing
/// column toward the patient's left).
#[derive(Debug, Clone)]
pub(crate) struct Anatomy {
    /// Column of the spinal axis per row (continuous).
    pub(crate) axis: Vec<f64>,
    /// Row of the foramen magnum, if the head is in the field.
    pub(crate) foramen_row: Option<usize>,
    /// Last row of the thecal sac, if the sac ends inside the field.
    pub(crate) sac_end_row: Option<usize>,
    /// First and last rows of the spinal ROI.
    pub(crate) spine_rows: (usize, usize),
    /// Whole-CSF ROI.
    pub(crate) csf: Array2<bool>,
    /// Intracranial part of the CSF ROI.
    pub(crate) head: Array2<bool>,
    /// Convexity part of the head ROI.
    pub(crate) convexity: Array2<bool>,
    /// Bladder ROI, if the pelvis is in the field.
    pub(crate) bladder: Option<Array2<bool>>,
    /// Ring around the bladder ROI (background), split into angular sectors: 0 = not in the
    /// ring, `1..=BLADDER_RING_SECTORS` = the sector.
    pub(crate) bladder_ring: Option<Array2<u8>>,
    /// Kidney ROIs (both), if in the field.
    pub(crate) kidneys: Option<Array2<bool>>,
    /// Band just outside the spinal ROI (background of the CSF ROI).
    pub(crate) csf_ring: Array2<bool>,
    /// Continuous vertebral position per row (C1 top = 0.0, S1 bottom = 25.0), if the
    /// foramen magnum is known.
    pub(crate) level_of_row: Vec<Option<f64>>,
    /// Pixel spacing `[row, col]` mm.
    pub(crate) spacing: [f64; 2],
}

impl Anatomy {
    /// The vertebra at a row, if the row lies on the level scale.
    pub(crate) fn vertebra_at(&self, row: usize) -> Option<Vertebra> {
        let x = self.level_of_row.get(row).copied().flatten()?;
        if !(0.0..25.0).contains(&x) {
            return None;
        }
        Vertebra::from_index(u8::try_from(csfleak_volume::index_of(x.floor())?).ok()?)
    }

    /// The vertebral level (as a findings `Level`) at a continuous vertebral position.
    pub(crate) fn level_at(pos: f64) -> Option<Level> {
        let i = csfleak_volume::index_of(pos.clamp(0.0, 24.999).floor())?;
        Vertebra::from_index(u8::try_from(i).ok()?).map(Level::Vertebra)
    }
}

fn px(mm: f64, spacing: f64) -> usize {
    csfleak_volume::index_of((mm / spacing).round()).unwrap_or(0)
}

/// Contiguous run of `pred` around column `c0` in `row`: `(first, last)` inclusive.
fn run_around(row: &[f64], c0: usize, pred: impl Fn(f64) -> bool) -> Option<(usize, usize)> {
    if !pred(*row.get(c0)?) {
        return None;
    }
    let mut lo = c0;
    while lo > 0 && pred(row[lo - 1]) {
        lo -= 1;
    }
    let mut hi = c0;
    while hi + 1 < row.len() && pred(row[hi + 1]) {
        hi += 1;
    }
    Some((lo, hi))
}

/// Running median of `v` over `±half` entries.
fn running_median(v: &[f64], half: usize) -> Vec<f64> {
    (0..v.len())
        .map(|i| median(&v[i.saturating_sub(half)..(i + half + 1).min(v.len())]))
        .collect()
}

/// Find the anatomy on the ever-bright map `ever` (canonical, reference frame); `peak_map` is
/// the same map without the clamp at 1 (same shape).
pub(crate) fn find(
    ever: &Array2<f64>,
    peak_map: &Array2<f64>,
    late: Option<&Array2<f64>>,
    spacing: [f64; 2],
    max_half_width_mm: f64,
    bladder_radius_mm: f64,
    convexity_from: f64,
) -> Anatomy {
    let (rows, cols) = ever.dim();
    let (sr, sc) = (spacing[0], spacing[1]);
    // Global axis column: the central column with the largest active sum.
    let lo_c = cols / 8;
    let hi_c = cols - cols / 8;
    let col_sum = |c: usize| (0..rows).map(|r| ever[(r, c)].min(1.0)).sum::<f64>();
    let c_axis = (lo_c..hi_c.max(lo_c + 1))
        .max_by(|&a, &b| col_sum(a).total_cmp(&col_sum(b)))
        .unwrap_or(cols / 2);
    // Axis per row: the peak within ±30 mm of the global axis, median-filtered. The peak is
    // read on the unclamped map (`peak_map`): on the clamped one the canal and an
    // accumulation beside it both saturate and merge into one plateau whose centroid lies
    // between them.
    let reach = px(30.0, sc).max(1);
    let raw_axis: Vec<f64> = (0..rows)
        .map(|r| {
            let a = c_axis.saturating_sub(reach);
            let b = (c_axis + reach + 1).min(cols);
            let best = (a..b)
                .max_by(|&x, &y| peak_map[(r, x)].total_cmp(&peak_map[(r, y)]))
                .unwrap_or(c_axis);
            if ever[(r, best)] <= ACTIVE {
                return c_axis as f64;
            }
            // Centroid of the top of the run around the peak (a plateau has no single peak
            // column).
            let peak = peak_map[(r, best)];
            let line: Vec<f64> = peak_map.row(r).to_vec();
            let (lo, hi) =
                run_around(&line, best, |v| v >= AXIS_RUN * peak).unwrap_or((best, best));
            let (mut sw, mut swx) = (0.0, 0.0);
            for (c, &v) in line.iter().enumerate().take(hi + 1).skip(lo) {
                sw += v;
                swx += v * c as f64;
            }
            if sw > 0.0 { swx / sw } else { best as f64 }
        })
        .collect();
    // A running median over ±50 mm: an accumulation beside the canal, brighter than the canal
    // over a few centimetres, must not pull the axis toward it (it would then sit between the
    // two and split the canal and the accumulation into both strips); a median keeps a
    // monotonic (scoliotic) course.
    let axis = running_median(&raw_axis, px(50.0, sr).max(1));
    let axis_col = |r: usize| csfleak_volume::index_of(axis[r].round()).unwrap_or(c_axis);

    // Row widths of the active run around the axis.
    let width_mm: Vec<f64> = (0..rows)
        .map(|r| {
            let line: Vec<f64> = ever.row(r).to_vec();
            run_around(&line, axis_col(r), |v| v > ACTIVE)
                .map_or(0.0, |(a, b)| (b + 1 - a) as f64 * sc)
        })
        .collect();
    let active_rows: Vec<usize> = (0..rows).filter(|&r| width_mm[r] > 0.0).collect();
    let first_active = active_rows.first().copied().unwrap_or(0);

    // Head: the widest active row within 250 mm of the top of the activity; the foramen
    // magnum is where the width falls below 35 % of that, going down.
    let head_search_end = (first_active + px(250.0, sr)).min(rows);
    let (wide_row, wide) = (first_active..head_search_end)
        .map(|r| (r, width_mm[r]))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((first_active, 0.0));
    // `cisterns_row`: where the head has narrowed (the basal cisterns); the convexity line is
    // measured from it. The foramen magnum is refined on the latest image.
    let cisterns_row = if wide >= 70.0 {
        (wide_row..rows).find(|&r| width_mm[r] < 0.35 * wide && width_mm[r] > 0.0)
    } else {
        None
    };
    let foramen_row = cisterns_row.map(|r| {
        late.and_then(|l| foramen_from_late(l, &axis, r, spacing))
            .unwrap_or(r)
    });
    // Vertex: top of faint activity, and at least 150 mm above the foramen magnum.
    let vertex_row = foramen_row.map(|fm| {
        let faint_top = (0..fm)
            .find(|&r| ever.row(r).iter().any(|&v| v > 0.05))
            .unwrap_or(fm);
        faint_top.min(fm.saturating_sub(px(150.0, sr)))
    });

    // End of the sac: the last active row on the axis; inside the field only if it stops
    // at least 15 mm above the bottom edge.
    // Walk down the axis from the foramen magnum (or the top of the activity) while the
    // canal stays active, bridging gaps of up to 10 mm; the bladder below is separate.
    let walk_from = foramen_row.unwrap_or(first_active);
    let gap = px(10.0, sr).max(1);
    let mut sac_last = walk_from;
    let mut r = walk_from;
    while r < rows {
        if ever[(r, axis_col(r))] > ACTIVE {
            sac_last = r;
        } else if r > sac_last + gap {
            break;
        }
        r += 1;
    }
    let sac_end_row = (sac_last + px(15.0, sr) < rows).then_some(sac_last);

    // Spinal ROI half-widths: walk out from the axis while the map falls and stays above
    // the floor (a valley marks the start of something beside the canal).
    let spine_top = foramen_row.unwrap_or(first_active);
    let spine_bottom = (sac_last + px(10.0, sr)).min(rows - 1);
    let max_hw = px(max_half_width_mm, sc).max(1);
    let margin = px(6.0, sc);
    let mut hw_left = vec![0.0; rows];
    let mut hw_right = vec![0.0; rows];
    for r in spine_top..=spine_bottom {
        let c0 = axis_col(r);
        for (dir, out) in [(1_isize, &mut hw_left), (-1_isize, &mut hw_right)] {
            let mut d = 0_usize;
            let centre = ever[(r, c0)];
            let mut prev = centre;
            while d < max_hw {
                let next = if dir > 0 {
                    c0.checked_add(d + 1)
                } else {
                    c0.checked_sub(d + 1)
                };
                let Some(c) = next else {
                    break;
                };
                if c >= cols {
                    break;
                }
                let v = ever[(r, c)];
                // A rise after the profile has fallen below 30 % of the centre is a valley:
                // what lies beyond it is beside the canal, not in it.
                if v < ROI_FLOOR || (v > prev * 1.02 && prev < 0.3 * centre) {
                    break;
                }
                prev = prev.min(v);
                d += 1;
            }
            out[r] = (d + margin).min(max_hw) as f64;
        }
    }
    // The canal is symmetric about its axis: take the narrower side (a leak widens one) and a
    // running median over ±60 mm (a leak spans a few levels; the canal width changes slowly).
    let narrow: Vec<f64> = hw_left
        .iter()
        .zip(&hw_right)
        .map(|(a, b)| a.min(*b))
        .collect();
    let mut hw = running_median(&narrow[spine_top..=spine_bottom], px(60.0, sr).max(1));
    let mut full = vec![0.0; rows];
    full[spine_top..=spine_bottom].swap_with_slice(&mut hw);
    let (hw_left, hw_right) = (full.clone(), full);

    let mut csf = Array2::from_elem((rows, cols), false);
    let mut head = csf.clone();
    let mut convexity = csf.clone();
    // Spine.
    for r in spine_top..=spine_bottom {
        let a = axis[r];
        for c in 0..cols {
            let d = c as f64 - a;
            if (d >= 0.0 && d <= hw_left[r]) || (d < 0.0 && -d <= hw_right[r]) {
                csf[(r, c)] = true;
            }
        }
    }
    // Head: every pixel of the head rows within the faint extent, plus a margin.
    if let (Some(fm), Some(vx)) = (foramen_row, vertex_row) {
        let base = cisterns_row.unwrap_or(fm).min(fm);
        let conv_line = base as f64 - convexity_from * base.saturating_sub(vx) as f64;
        let head_margin = px(10.0, sc);
        let mut c_lo = cols;
        let mut c_hi = 0;
        for r in vx..fm {
            for c in 0..cols {
                if ever[(r, c)] > 0.05 {
                    c_lo = c_lo.min(c);
                    c_hi = c_hi.max(c);
                }
            }
        }
        if c_hi >= c_lo {
            let c_lo = c_lo.saturating_sub(head_margin);
            let c_hi = (c_hi + head_margin).min(cols - 1);
            for r in vx..fm {
                for c in c_lo..=c_hi {
                    csf[(r, c)] = true;
                    head[(r, c)] = true;
                    if (r as f64) < conv_line {
                        convexity[(r, c)] = true;
                    }
                }
            }
        }
    }
    // Background band: 5..20 mm outside the spinal ROI, same rows.
    let mut csf_ring = Array2::from_elem((rows, cols), false);
    let (b0, b1) = (px(5.0, sc) as f64, px(20.0, sc) as f64);
    for r in spine_top..=spine_bottom {
        let a = axis[r];
        for c in 0..cols {
            let d = c as f64 - a;
            let out = if d >= 0.0 {
                d - hw_left[r]
            } else {
                -d - hw_right[r]
            };
            if out >= b0 && out <= b1 && !csf[(r, c)] {
                csf_ring[(r, c)] = true;
            }
        }
    }

    // Level scale: foramen magnum = top of C1; the end of the sac = bottom of S1 when seen,
    // otherwise typical heights in mm.
    let total_mm: f64 = LEVEL_HEIGHT_MM.iter().sum();
    let level_of_row: Vec<Option<f64>> = match foramen_row {
        None => vec![None; rows],
        Some(fm) => {
            let scale = sac_end_row.map_or(1.0, |se| {
                ((se as f64 - fm as f64) * sr / total_mm).clamp(0.6, 1.6)
            });
            (0..rows)
                .map(|r| {
                    let mm = (r as f64 + 0.5 - fm as f64) * sr / scale;
                    if mm < 0.0 {
                        return None;
                    }
                    let mut acc = 0.0;
                    for (i, h) in LEVEL_HEIGHT_MM.iter().enumerate() {
                        if mm < acc + h {
                            return Some(i as f64 + (mm - acc) / h);
                        }
                        acc += h;
                    }
                    Some(25.0 + (mm - acc) / 30.0)
                })
                .collect()
        }
    };

    // Bladder: the brightest spot below the sac, found later per study on the last image;
    // here only its search region is kept (see `place_bladder`).
    let mut anatomy = Anatomy {
        axis,
        foramen_row,
        sac_end_row,
        spine_rows: (spine_top, spine_bottom),
        csf,
        head,
        convexity,
        bladder: None,
        bladder_ring: None,
        kidneys: None,
        csf_ring,
        level_of_row,
        spacing,
    };
    anatomy.kidneys = kidney_rois(&anatomy, rows, cols);
    let _ = bladder_radius_mm;
    anatomy
}

/// The foramen magnum on the latest image: the caudal edge of the intracranial activity
/// (cisterna magna) above the canal.
///
/// The width of the "ever bright" map narrows to the canal's already in the basal cisterns,
/// 3-4 cm above the foramen magnum. On a late image the cisterna magna still holds several
/// times the counts per row of the canal below it. Counts within ±60 mm of the axis are summed
/// per row; going up from 80 mm below `start` (where the width narrowed), the floor is the
/// smallest row sum over the 30 mm below; the foramen magnum is the row below the first one at
/// 3 times that floor. `None` when no such edge lies between 20 mm above `start` and 80 mm
/// below it (e.g. a last image where the canal is still bright).
fn foramen_from_late(
    late: &Array2<f64>,
    axis: &[f64],
    start: usize,
    spacing: [f64; 2],
) -> Option<usize> {
    let (rows, cols) = late.dim();
    let (sr, sc) = (spacing[0], spacing[1]);
    let reach = 60.0 / sc;
    let prof: Vec<f64> = (0..rows)
        .map(|r| {
            (0..cols)
                .filter(|&c| (c as f64 - axis[r]).abs() <= reach)
                .map(|c| late[(r, c)])
                .sum()
        })
        .collect();
    let below = px(30.0, sr).max(1);
    let bottom = (start + px(80.0, sr)).min(rows.saturating_sub(below + 1));
    let top = start.saturating_sub(px(20.0, sr));
    if bottom <= top {
        return None;
    }
    (top..bottom).rev().find_map(|r| {
        let floor = prof[r + 1..=r + below]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        (floor > 0.0 && prof[r] >= 3.0 * floor).then_some(r + 1)
    })
}

/// Kidney ROIs: 35-110 mm either side of the axis, from T12 to L2, outside the CSF ROI.
fn kidney_rois(a: &Anatomy, rows: usize, cols: usize) -> Option<Array2<bool>> {
    let rows_in: Vec<usize> = (0..rows)
        .filter(|&r| {
            a.level_of_row[r].is_some_and(|x| (17.5..22.0).contains(&x)) && a.sac_end_row.is_some()
        })
        .collect();
    if rows_in.is_empty() {
        return None;
    }
    let mut m = Array2::from_elem((rows, cols), false);
    for &r in &rows_in {
        for c in 0..cols {
            let d = (c as f64 - a.axis[r]).abs() * a.spacing[1];
            if (35.0..=110.0).contains(&d) && !a.csf[(r, c)] {
                m[(r, c)] = true;
            }
        }
    }
    Some(m)
}

/// Angular sectors of the ring around the bladder ROI (its background is the median of the
/// sector means: robust to activity lying in a few sectors, unbiased at a few tenths of a count
/// per pixel, where the median of the pixels is 0).
pub(crate) const BLADDER_RING_SECTORS: u8 = 8;

/// Place the bladder ROI on the brightest point of `late` (smoothed, canonical, reference
/// frame) below the end of the sac, within 80 mm of the axis; nothing when the sac end is
/// not in the field.
pub(crate) fn place_bladder(a: &mut Anatomy, late: &Array2<f64>, radius_mm: f64) {
    let Some(se) = a.sac_end_row else {
        return;
    };
    let (rows, cols) = late.dim();
    let (sr, sc) = (a.spacing[0], a.spacing[1]);
    let r0 = se + px(15.0, sr);
    let r1 = (se + px(300.0, sr)).min(rows);
    if r0 >= r1 {
        return;
    }
    let mut best = (f64::NEG_INFINITY, r0, 0_usize);
    for r in r0..r1 {
        for c in 0..cols {
            if ((c as f64 - a.axis[se]) * sc).abs() > 80.0 || a.csf[(r, c)] {
                continue;
            }
            if late[(r, c)] > best.0 {
                best = (late[(r, c)], r, c);
            }
        }
    }
    let (_, br, bc) = best;
    let mut disc = Array2::from_elem((rows, cols), false);
    let mut ring = Array2::<u8>::zeros((rows, cols));
    let sectors = f64::from(BLADDER_RING_SECTORS);
    for ((r, c), v) in disc.indexed_iter_mut() {
        let dy = (r as f64 - br as f64) * sr;
        let dx = (c as f64 - bc as f64) * sc;
        let d = dx.hypot(dy);
        if a.csf[(r, c)] {
            continue;
        }
        if d <= radius_mm {
            *v = true;
        } else if d <= radius_mm + 25.0 && d > radius_mm + 10.0 {
            // Angle 0..1 of a turn -> sector 1..=BLADDER_RING_SECTORS.
            let turn = (dy.atan2(dx) / std::f64::consts::TAU).rem_euclid(1.0);
            let k = csfleak_volume::index_of((turn * sectors).floor())
                .and_then(|k| u8::try_from(k).ok())
                .unwrap_or(0)
                .min(BLADDER_RING_SECTORS - 1);
            ring[(r, c)] = 1 + k;
        }
    }
    a.bladder = Some(disc);
    a.bladder_ring = Some(ring);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_heights_cover_c1_to_s1() {
        let total: f64 = LEVEL_HEIGHT_MM.iter().sum();
        assert!(total > 550.0 && total < 700.0, "{total}");
        assert_eq!(
            Anatomy::level_at(21.4).map(|l| l.to_string()),
            Some("L3".to_owned())
        );
        assert_eq!(
            Anatomy::level_at(0.0).map(|l| l.to_string()),
            Some("C1".to_owned())
        );
    }

    #[test]
    fn run_around_stops_at_the_predicate() {
        let row = [0.0, 1.0, 2.0, 3.0, 0.0, 5.0];
        assert_eq!(run_around(&row, 2, |v| v > 0.5), Some((1, 3)));
        assert_eq!(run_around(&row, 0, |v| v > 0.5), None);
    }
}
