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
//!   mamillary point. A column may hold several candidates (a recess of the third ventricle
//!   over the chiasm, the chiasm over the cistern, the gland over the sellar floor); each joins
//!   the group of the previous column whose lower edge lies nearest (within 1.5 mm). The chiasm
//!   is the group (at least 2 mm wide) with the best score in mm: its length plus the height
//!   of its cistern (up to 8 mm) minus half the distance of its lower edge from 3 mm above the
//!   mamillary bodies' lower edge. Its undersurface point is read in the middle of the group's
//!   extent (the ends curve up into the optic nerves and the infundibular recess).
//!   A band lying on the tissue under another band's CSF space (the gland under the chiasm and
//!   the suprasellar cistern) is dropped when it is grey-matter-like (median peak below a
//!   quarter of the way from grey to white) and clearly darker than the band above it (by 0.3
//!   of the grey-white step): the chiasm is white matter, the anterior lobe grey-like. Both
//!   conditions, because a thin chiasm under a recess of the third ventricle is darker than the
//!   recess's roof by partial volume on the independent generator (0.70-0.93 against 0.9-1.0).
//!   Measured (session 6, search on): own 1 mm phantoms sag 0-7.5 chiasm 0.36-1.35 mm (was 6-9
//!   mm at sag >= 4.5); independent generator seeds 100/300/500, chiasm 0.0-1.2 mm on 19 of 24
//!   heads, 1.9-2.2 mm on 3, and 13.6 / 22.7 mm on the two heads whose mamillary point is
//!   rejected (the caller must not report sellar points then).
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
//!   the gland's extent along the sella (the centre of the fossa); neighbouring columns belong to
//!   the gland only when its top (within 1 mm) and floor (within 1.5 mm) edges continue (the
//!   dorsum sellae behind it starts lower and reaches deeper). Own phantoms top and floor
//!   0.19-1.37 mm; the independent generator's heights come out about 1 mm short (its floor
//!   lies 1-2 mm below the gland's visible lower edge) and its diaphragma (the middle of the
//!   sella opening) 0.2-3.8 mm off: why the search stays off by default.

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
    /// Upper edge of the band.
    top: f64,
    bottom: f64,
    below: f64,
    /// Highest normalised intensity of the band (CSF 0, white matter 1).
    peak: f64,
}

/// Every chiasm candidate of one column (top to bottom).
fn chiasm_candidates(s: &Slab, c: f64, mr: f64, thr: f64) -> Vec<Cand> {
    let mm = 1.0 / s.px;
    let Some(segs) = column_segments(s, c, mr - 15.0 * mm, mr + 25.0 * mm, thr, 0.4 * mm) else {
        return Vec::new();
    };
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
            top: w[0].top,
            bottom: w[0].bottom,
            below: w[2].top,
            peak: w[0].peak,
        })
        .collect()
}

/// Locate the sellar landmarks given the mamillary point `(mr, mc)` (slab row, column) and the
/// normalised grey-matter level.
#[allow(clippy::too_many_lines, reason = "one search in anatomical order")]
pub(super) fn locate(s: &Slab, mr: f64, mc: f64, z_grey: f64) -> Sellar {
    let mm = 1.0 / s.px;
    let thr = 0.5 * z_grey;
    let step = 0.25;
    // Groups of neighbouring columns with a continuous undersurface (a column may hold several
    // candidates: the chiasm over the cistern, the gland over the sellar floor, a recess of the
    // third ventricle over the chiasm; each joins the group whose last edge is nearest).
    let mut groups: Vec<Vec<Cand>> = Vec::new();
    let mut c = mc - 30.0 * mm;
    while c <= mc - 4.0 * mm {
        for k in chiasm_candidates(s, c, mr, thr) {
            let near = groups
                .iter_mut()
                .filter_map(|g| {
                    let p = g.last()?;
                    let d = (k.bottom - p.bottom).abs();
                    (k.c - p.c <= step + 1e-9 && k.c > p.c && d <= 1.5 * mm).then_some((d, g))
                })
                .min_by(|a, b| a.0.total_cmp(&b.0));
            match near {
                Some((_, g)) => g.push(k),
                None => groups.push(vec![k]),
            }
        }
        c += step;
    }
    let width = |g: &Vec<Cand>| g.last().zip(g.first()).map_or(0.0, |(l, f)| l.c - f.c);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // The chiasm is a band several mm long over a cistern a few mm high, its undersurface near
    // the height of the mamillary bodies' lower edge (within about 8 mm either way, more above
    // with a sagging brainstem); in mm: the band's length plus the cistern's height (up to 8 mm)
    // minus half the distance from 3 mm above the mamillary bodies. The gland over the sellar
    // floor, or a recess of the third ventricle over the chiasm, form shorter bands or thinner
    // dark spaces.
    let score = |g: &Vec<Cand>| {
        let bottom = median(g.iter().map(|k| k.bottom).collect());
        let cistern = median(g.iter().map(|k| k.below - k.bottom).collect());
        (width(g) + cistern.min(8.0 * mm) - 0.5 * (bottom - (mr - 3.0 * mm)).abs()) / mm
    };
    // The chiasm is white matter (myelinated optic fibres), the anterior lobe of the gland
    // grey-matter-like: a band lying on the tissue under another band's CSF space (the gland
    // under the chiasm and the suprasellar cistern) is not the chiasm when it is grey-like and
    // clearly darker than the band above it. Both conditions: a thin chiasm under a recess of
    // the third ventricle is darker than the recess's roof by partial volume but still brighter
    // than grey matter. Medians over the band's columns (the bright posterior lobe covers only
    // the back of the gland).
    let peak = |g: &Vec<Cand>| median(g.iter().map(|k| k.peak).collect());
    let under_brighter = |l: &Vec<Cand>| {
        let pl = peak(l);
        pl < z_grey + 0.25 * (1.0 - z_grey)
            && groups.iter().any(|u| {
                peak(u) - pl > 0.3 * (1.0 - z_grey)
                    && u.iter().any(|a| {
                        l.iter()
                            .any(|b| (a.c - b.c).abs() < 1e-6 && (a.below - b.top).abs() <= mm)
                    })
            })
    };
    let Some(group) = groups
        .iter()
        .filter(|g| width(g) >= 2.0 * mm && !under_brighter(g))
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
    // The undersurface is read in the middle of the band's extent along the cistern (its ends
    // curve up into the optic nerves in front and the infundibular recess behind).
    let mid_c = 0.5 * (group[0].c + group[group.len() - 1].c);
    let Some(low) = group
        .iter()
        .min_by(|a, b| (a.c - mid_c).abs().total_cmp(&(b.c - mid_c).abs()))
        .copied()
    else {
        let why = "no optic chiasm candidate".to_owned();
        return Sellar {
            chiasm: Err(why.clone()),
            diaphragma: Err(why.clone()),
            pit_top: Err(why.clone()),
            pit_floor: Err(why),
        };
    };
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
    let gland = pituitary(s, diaphragma, thr);
    let (pit_top, pit_floor) = if let Some((t, f)) = gland {
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
    // Neighbours belong to the same gland when the gap is small and its top and floor edges
    // continue (the dorsum sellae behind the gland starts lower and reaches deeper).
    let joined = |a: (f64, f64, f64), b: (f64, f64, f64)| {
        b.0 - a.0 <= 1.0 * mm + 1e-9
            && (b.1 - a.1).abs() <= 1.0 * mm
            && (b.2 - a.2).abs() <= 1.5 * mm
    };
    let (mut lo, mut hi) = (near, near);
    while lo > 0 && joined(rows[lo - 1], rows[lo]) {
        lo -= 1;
    }
    while hi + 1 < rows.len() && joined(rows[hi], rows[hi + 1]) {
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
