//! The sellar region on the midsagittal slab: the undersurface of the optic chiasm, the
//! diaphragma sellae below it, and the pituitary gland (top and sellar floor).
//!
//! Anatomy used (adult, midsagittal T1): in front of the mamillary bodies the floor of the
//! third ventricle runs forwards to the optic chiasm; below the chiasm lies the suprasellar
//! cistern (CSF, dark), and below that the pituitary gland in the sella turcica, closed above
//! by the diaphragma sellae and below by the sellar floor (cortical bone, dark; under it the
//! sphenoid sinus, air, or marrow).
//!
//! * Chiasm: on each column 4-30 mm in front of the mamillary point, the profile from 15 mm
//!   above to 25 mm below it is cut into tissue and dark segments (threshold half-way between
//!   CSF and grey matter). A chiasm candidate is a tissue segment (>= 1.5 mm) directly above a
//!   dark one (the cistern, 0.6-12 mm) directly above tissue again (>= 0.5 mm: the diaphragma
//!   or the gland), with the segment's lower edge within 12 mm above to 6 mm below the
//!   mamillary point; per column the candidate nearest to 3 mm above that point. Neighbouring columns whose lower
//!   edges lie within 1.5 mm form a group; the chiasm is the group (at least 2 mm wide) that
//!   best combines width and nearness to 3 mm above the mamillary bodies' lower edge, and
//!   its undersurface point the middle of the columns within 0.5 mm of the group's lowest edge.
//! * Only on voxels of at most [`MAX_SELLAR_VOXEL_MM`]: a chiasm of 3-5 mm over a cistern of
//!   2-8 mm is not resolved on coarser ones (on 2 mm phantoms the candidates scatter).
//! * Diaphragma sellae: the upper edge of the tissue below the cistern, on the chiasm's column
//!   (the gland's top or the diaphragma where it is resolved; over a partly empty sella, where
//!   a thin diaphragma lies on intrasellar CSF, this reads the gland's top instead: the sella
//!   opening between the tuberculum and the dorsum is not located yet).
//! * Pituitary: on columns within 8 mm of the chiasm's, walking down from the diaphragma
//!   (through at most 8 mm of CSF in the sella), the gland is the next tissue segment (2-15 mm
//!   long) and the sellar floor its lower end (dark cortex or air below, or the profile rising
//!   to marrow, half-way between the gland's level and the dip or peak); read in the middle of
//!   the gland's extent along the sella (the centre of the fossa).

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "pixel indices of a bounded reformat"
)]

use super::locate::Slab;
use super::profile::column_segments;

/// Coarsest voxel (mm, any axis) on which the sellar region is searched.
pub(super) const MAX_SELLAR_VOXEL_MM: f64 = 1.3;

/// A point in slab coordinates (row, column) with a confidence.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pt {
    pub(super) r: f64,
    pub(super) c: f64,
    pub(super) conf: f64,
}

/// The sellar landmarks (each found or the reason).
pub(super) struct Sellar {
    pub(super) chiasm: Result<Pt, String>,
    pub(super) diaphragma: Result<Pt, String>,
    pub(super) pit_top: Result<Pt, String>,
    pub(super) pit_floor: Result<Pt, String>,
}

/// One column's chiasm candidate: column, undersurface row, row of the tissue below the
/// cistern.
#[derive(Debug, Clone, Copy)]
struct Cand {
    c: f64,
    bottom: f64,
    below: f64,
}

fn chiasm_candidate(s: &Slab, c: f64, mr: f64, thr: f64) -> Option<Cand> {
    let mm = 1.0 / s.px;
    let segs = column_segments(s, c, mr - 15.0 * mm, mr + 25.0 * mm, thr, 0.4 * mm)?;
    segs.windows(3)
        .filter(|w| {
            let (t, d, g) = (w[0], w[1], w[2]);
            !t.dark
                && d.dark
                && !g.dark
                && t.len() >= 1.5 * mm
                && (0.6 * mm..=12.0 * mm).contains(&d.len())
                && g.len() >= 0.5 * mm
                && t.bottom >= mr - 12.0 * mm
                && t.bottom <= mr + 6.0 * mm
        })
        .map(|w| Cand {
            c,
            bottom: w[0].bottom,
            below: w[2].top,
        })
        .min_by(|a, b| {
            let target = mr - 3.0 * mm;
            (a.bottom - target)
                .abs()
                .total_cmp(&(b.bottom - target).abs())
        })
}

/// Locate the sellar landmarks given the mamillary point `(mr, mc)` (slab row, column) and the
/// normalised grey-matter level.
pub(super) fn locate(s: &Slab, mr: f64, mc: f64, z_grey: f64) -> Sellar {
    let mm = 1.0 / s.px;
    let thr = 0.5 * z_grey;
    let step = 0.25;
    let mut cands: Vec<Cand> = Vec::new();
    let mut c = mc - 30.0 * mm;
    while c <= mc - 4.0 * mm {
        if let Some(k) = chiasm_candidate(s, c, mr, thr) {
            cands.push(k);
        }
        c += step;
    }
    // Groups of neighbouring columns with a continuous undersurface.
    let mut groups: Vec<Vec<Cand>> = Vec::new();
    for k in cands {
        match groups.last_mut() {
            Some(g)
                if g.last().is_some_and(|p| {
                    k.c - p.c <= step + 1e-9 && (k.bottom - p.bottom).abs() <= 1.5 * mm
                }) =>
            {
                g.push(k);
            }
            _ => groups.push(vec![k]),
        }
    }
    let width = |g: &Vec<Cand>| g.last().zip(g.first()).map_or(0.0, |(l, f)| l.c - f.c);
    // The chiasm's undersurface lies a few mm above the mamillary bodies' lower edge: wide
    // groups near 3 mm above it score best (1 mm of width against 1 mm of distance).
    let score = |g: &Vec<Cand>| {
        let mut b: Vec<f64> = g.iter().map(|k| k.bottom).collect();
        b.sort_by(f64::total_cmp);
        width(g) - (b[b.len() / 2] - (mr - 3.0 * mm)).abs()
    };
    let Some(group) = groups
        .iter()
        .filter(|g| width(g) >= 2.0 * mm)
        .max_by(|a, b| score(a).total_cmp(&score(b)))
    else {
        let why = "no optic chiasm: no tissue band over a CSF space over tissue in front of the \
                   mamillary bodies (suprasellar cistern)"
            .to_owned();
        return Sellar {
            chiasm: Err(why.clone()),
            diaphragma: Err(why.clone()),
            pit_top: Err(why.clone()),
            pit_floor: Err(why),
        };
    };
    let Some(low) = group.iter().max_by(|a, b| a.bottom.total_cmp(&b.bottom)) else {
        let why = "no optic chiasm candidate".to_owned();
        return Sellar {
            chiasm: Err(why.clone()),
            diaphragma: Err(why.clone()),
            pit_top: Err(why.clone()),
            pit_floor: Err(why),
        };
    };
    // The undersurface is often flat at its lowest: the middle of the columns within 0.5 mm
    // of the lowest edge.
    let near: Vec<&Cand> = group
        .iter()
        .filter(|k| low.bottom - k.bottom <= 0.5 * mm)
        .collect();
    let mid_c = 0.5 * (near[0].c + near[near.len() - 1].c);
    let low = near
        .iter()
        .min_by(|a, b| (a.c - mid_c).abs().total_cmp(&(b.c - mid_c).abs()))
        .map_or(*low, |k| **k);
    let width_mm = (group.last().map_or(0.0, |l| l.c) - group[0].c) / mm;
    let conf = (width_mm / 6.0).clamp(0.3, 1.0);
    let chiasm = Pt {
        r: low.bottom,
        c: low.c,
        conf: 0.7 * conf,
    };
    let diaphragma = Pt {
        r: low.below,
        c: low.c,
        conf: 0.6 * conf,
    };
    let (pit_top, pit_floor) = if let Some((t, f)) = pituitary(s, diaphragma, thr) {
        (Ok(t), Ok(f))
    } else {
        let why = "no pituitary gland: no tissue of 2-15 mm closed below by a dark sellar floor \
                   under the diaphragma sellae"
            .to_owned();
        (Err(why.clone()), Err(why))
    };
    Sellar {
        chiasm: Ok(chiasm),
        diaphragma: Ok(diaphragma),
        pit_top,
        pit_floor,
    }
}

/// The gland on one column below the diaphragma row `rd`: (top, floor) rows.
fn gland_on_column(s: &Slab, c: f64, rd: f64, thr: f64) -> Option<(f64, f64)> {
    let mm = 1.0 / s.px;
    let segs = column_segments(s, c, rd - 1.0 * mm, rd + 25.0 * mm, thr, 0.4 * mm)?;
    // The first tissue segment below the diaphragma row; a thin one right at that row (the
    // diaphragma itself over CSF in the sella) is skipped when tissue follows within 8 mm.
    let i = segs.iter().position(|g| !g.dark)?;
    let mut gland = segs[i];
    if gland.top <= rd + 0.5 * mm && gland.len() < 1.5 * mm {
        if let (Some(csf), Some(next)) = (segs.get(i + 1), segs.get(i + 2)) {
            if csf.len() <= 8.0 * mm {
                gland = *next;
            }
        }
    }
    if gland.top > rd + 8.0 * mm || gland.len() < 2.0 * mm {
        return None;
    }
    let floor = sellar_floor(s, c, gland.top)?;
    (2.0 * mm..=15.0 * mm)
        .contains(&(floor - gland.top))
        .then_some((gland.top, floor))
}

/// The sellar floor below the gland's top edge on column `c`: the first dip of the profile
/// (the floor's cortex, then air or marrow) to below 70 % of the gland's own level, at the
/// half-way crossing between the gland level and the dip's minimum.
fn sellar_floor(s: &Slab, c: f64, top: f64) -> Option<f64> {
    let mm = 1.0 / s.px;
    let step = 0.1;
    let n = (16.0 * mm / step).round() as u32;
    let prof: Vec<(f64, f64)> = (0..=n)
        .map(|i| top + f64::from(i) * step)
        .map(|r| (r, s.bilinear(r, c)))
        .collect();
    if prof.iter().any(|p| !p.1.is_finite()) {
        return None;
    }
    let per_mm = (mm / step).round() as usize;
    let mut lvl: Vec<f64> = prof
        .iter()
        .skip(per_mm * 3 / 4)
        .take(per_mm * 3 / 2)
        .map(|p| p.1)
        .collect();
    if lvl.is_empty() {
        return None;
    }
    lvl.sort_by(f64::total_cmp);
    let g = lvl[lvl.len() / 2];
    // The first local extreme (over +-1 mm) below 70 % of the gland level (cortex, air) or
    // above 140 % of it (marrow of the sphenoid body under a thin cortex).
    let start = per_mm;
    let imin = (start..prof.len()).find(|&i| {
        let z = prof[i].1;
        let lo = i.saturating_sub(per_mm);
        let hi = (i + per_mm).min(prof.len() - 1);
        (z < 0.7 * g && prof[lo..=hi].iter().all(|q| q.1 >= z))
            || (z > 1.4 * g && prof[lo..=hi].iter().all(|q| q.1 <= z))
    })?;
    let half = 0.5 * (g + prof[imin].1);
    let up = prof[imin].1 > g;
    let j = (start..imin).rev().find(|&j| (prof[j].1 >= half) != up)?;
    let (r0, z0) = prof[j];
    let (r1, z1) = prof[j + 1];
    let f = ((z0 - half) / (z0 - z1)).clamp(0.0, 1.0);
    Some(r0 + (r1 - r0) * f)
}

fn pituitary(s: &Slab, d: Pt, thr: f64) -> Option<(Pt, Pt)> {
    let mm = 1.0 / s.px;
    let mut rows: Vec<(f64, f64, f64)> = Vec::new();
    let mut c = d.c - 8.0 * mm;
    while c <= d.c + 8.0 * mm {
        if let Some((t, f)) = gland_on_column(s, c, d.r, thr) {
            rows.push((c, t, f));
        }
        c += 0.5;
    }
    if rows.len() < 3 {
        return None;
    }
    // The gland's extent along the sella: the run of neighbouring columns (gaps up to 1 mm)
    // around the diaphragma's column; its height is read in the middle of that run (the centre
    // of the fossa), as the median of the columns within 1 mm of it.
    let near = rows
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1.0 - d.c).abs().total_cmp(&(b.1.0 - d.c).abs()))
        .map(|(i, _)| i)?;
    let (mut lo, mut hi) = (near, near);
    while lo > 0 && rows[lo].0 - rows[lo - 1].0 <= 1.0 * mm + 1e-9 {
        lo -= 1;
    }
    while hi + 1 < rows.len() && rows[hi + 1].0 - rows[hi].0 <= 1.0 * mm + 1e-9 {
        hi += 1;
    }
    if rows[hi].0 - rows[lo].0 < 3.0 * mm {
        return None;
    }
    let cm = 0.5 * (rows[lo].0 + rows[hi].0);
    let mid: Vec<(f64, f64, f64)> = rows[lo..=hi]
        .iter()
        .copied()
        .filter(|p| (p.0 - cm).abs() <= 1.0 * mm)
        .collect();
    if mid.is_empty() {
        return None;
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let t = med(&mut mid.iter().map(|p| p.1).collect());
    let f = med(&mut mid.iter().map(|p| p.2).collect());
    let c = cm;
    let frac = ((rows[hi].0 - rows[lo].0) / (8.0 * mm)).clamp(0.0, 1.0);
    Some((
        Pt {
            r: t,
            c,
            conf: d.conf * (0.5 + 0.5 * frac),
        },
        Pt {
            r: f,
            c,
            conf: d.conf * (0.5 + 0.5 * frac),
        },
    ))
}
