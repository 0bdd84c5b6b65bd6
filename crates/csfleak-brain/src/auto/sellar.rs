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
//! * Pituitary: on columns within 8 mm of the chiasm's, walking down from the tissue under the
//!   cistern (through at most 8 mm of CSF in the sella), the gland is the next tissue segment
//!   (2-15 mm long) and the sellar floor its lower end; neighbouring columns belong to the gland
//!   when its top (within 1 mm) and floor (within 1.5 mm) edges continue (the dorsum sellae
//!   behind it starts lower and reaches deeper; where the stalk joins the gland its top jumps
//!   up), and the gland is the longest such run of columns. Top and floor are read in the middle
//!   of the run (the centre of the fossa). The floor is the bone's surface: onto a cortex or
//!   sinus air darker than the cistern's CSF, where the profile falls below the CSF level (under
//!   the thin dura / CSF layer that lines the fossa and blurs into the gland's lower edge); onto
//!   marrow, half-way between the gland's level and the marrow.
//! * Tuberculum sellae: the top of the fossa's anterior wall. The wall (cortex darker than the
//!   cistern's CSF by at least [`MIN_BONE_CONTRAST`]) is traced upwards from 1.5 mm under the
//!   gland's top, row by row, at the level half-way between the CSF and the wall's darkest value
//!   (its first crossing walking forwards from the fossa's middle), while it continues (no jump
//!   over 1.5 mm); the tuberculum is the traced point farthest up and back (where the outline
//!   turns through 45 degrees from the wall into the chiasmatic sulcus).
//! * Chiasm point (session 8): the band's white-matter core (columns whose brightest sample
//!   stays above half-way between grey matter and the band's peak) is followed both ways from
//!   the band's middle; the undersurface is read in the core's middle, where the profile falls
//!   half-way to the cistern's CSF (a grey infundibulum hanging under the back of a sagging
//!   chiasm shortened the band and moved its middle 1-2 mm forwards).
//! * Dorsum sellae: its posterior face (the wall, bright marrow or dark cortex, against the CSF
//!   of the interpeduncular / prepontine cisterns) is traced upwards row by row from the
//!   gland's middle height, each row taking the face nearest to the previous one (at most
//!   0.5 mm per step); its tip is the top of the wall (half-way to the CSF, walking up the
//!   wall's middle column) above the last traced row. Not seen = the diaphragma is not found.
//! * Diaphragma sellae: the middle of the sella's opening (tuberculum to dorsum tip), or the
//!   gland's top where an engorged gland bulges above it; the pituitary top and floor are
//!   re-read at that column (the middle of the fossa).
//! * Measured (session 8, `tests/auto_sellar_alt.rs` on the independent generator's 24 heads
//!   of seed bases 100/300/500): chiasm 0.04-0.45 mm, diaphragma 0.08-1.03 mm (the summit lies
//!   about 1.3 mm above the generator's dorsum point: suprasellar reads 0-0.7 mm short),
//!   suprasellar 19/24 within 1 mm and 5 not found, pituitary 20/24 and 4 not found, no value
//!   more than 1 mm off. Own 1 mm phantoms: the dorsum is drawn as a knife edge of cortex and
//!   not resolved, so the diaphragma is not found there (reason given).

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
    pub(super) tuberculum: Result<Pt, String>,
}

impl Sellar {
    /// Every sellar point not found, for one reason.
    pub(super) fn missing(why: &str) -> Self {
        Self {
            chiasm: Err(why.to_owned()),
            diaphragma: Err(why.to_owned()),
            pit_top: Err(why.to_owned()),
            pit_floor: Err(why.to_owned()),
            tuberculum: Err(why.to_owned()),
        }
    }
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
        return Sellar::missing(
            "no optic chiasm: no tissue band over a CSF space over tissue in front of the \
             mamillary bodies (suprasellar cistern)",
        );
    };
    // The undersurface is read in the middle of the band's extent along the cistern (its ends
    // curve up into the optic nerves in front and the infundibular recess behind).
    let mid_c = 0.5 * (group[0].c + group[group.len() - 1].c);
    let Some(low) = group
        .iter()
        .min_by(|a, b| (a.c - mid_c).abs().total_cmp(&(b.c - mid_c).abs()))
        .copied()
    else {
        return Sellar::missing("no optic chiasm candidate");
    };
    let width_mm = (group.last().map_or(0.0, |l| l.c) - group[0].c) / mm;
    let conf = (width_mm / 6.0).clamp(0.3, 1.0);
    let z_csf = cistern_level(s, group);
    let (cr, cc) = chiasm_core(s, &low, z_csf, z_grey).unwrap_or((low.bottom, low.c));
    let chiasm = Pt {
        r: cr,
        c: cc,
        conf: 0.7 * conf,
    };
    // The tissue under the cistern on the chiasm's column: where the gland search starts.
    let under = Pt {
        r: low.below,
        c: low.c,
        conf: 0.6 * conf,
    };
    let gland = pituitary(s, under, thr, z_csf);
    let Some((top, floor, run)) = gland else {
        let why = "no pituitary gland: no tissue of 2-15 mm closed below by a dark sellar floor \
                   under the suprasellar cistern"
            .to_owned();
        return Sellar {
            chiasm: Ok(chiasm),
            diaphragma: Err(format!("{why}: the sella is not located")),
            pit_top: Err(why.clone()),
            pit_floor: Err(why.clone()),
            tuberculum: Err(why),
        };
    };
    let tub = tuberculum(s, top, floor, z_csf);
    let dors = dorsum(s, top, floor, z_csf, z_grey);
    let (mut top, mut floor) = (top, floor);
    let diaphragma = match (&tub, &dors) {
        (Ok(tub), Ok(dors)) => {
            // The fossa's middle is half-way between its two walls' tops: the gland's top and
            // the floor are read there (the run of gland columns ends in front of the dorsum
            // where the back of the gland merges into the dorsum's marrow).
            let cm = 0.5 * (tub.c + dors.c);
            if let Some((t, f)) = at_column(&run, cm, mm) {
                top = Pt { r: t, c: cm, ..top };
                floor = Pt {
                    r: f,
                    c: cm,
                    ..floor
                };
            }
            // The diaphragma's centre (its opening for the stalk): the middle of the sella's
            // opening (tuberculum to dorsum tip), or on the gland where an engorged gland
            // fills the sella and pushes the diaphragma up.
            let r = (0.5 * (tub.r + dors.r)).min(top.r);
            Ok(Pt {
                r,
                c: cm,
                conf: top.conf.min(tub.conf).min(dors.conf),
            })
        }
        (Err(why), _) => Err(format!("the sella's opening is not located: {why}")),
        (_, Err(why)) => Err(format!(
            "the sella's opening is not located: the dorsum sellae is not seen ({why})"
        )),
    };
    Sellar {
        chiasm: Ok(chiasm),
        diaphragma,
        pit_top: Ok(top),
        pit_floor: Ok(floor),
        tuberculum: tub,
    }
}

/// The chiasm's white-matter core and its undersurface point: from the band's column `low`,
/// the run of columns whose brightest sample (within 1.5 mm of the previous column's) stays
/// above half-way between grey matter and the band's own peak (the grey infundibulum behind
/// and below it, the lamina terminalis in front are darker); the undersurface is read in the
/// middle of that run, where the profile below the core falls half-way to the cistern's CSF.
/// `None` when the band is not brighter than grey matter (then the band's middle is used).
fn chiasm_core(s: &Slab, low: &Cand, z_csf: f64, z_grey: f64) -> Option<(f64, f64)> {
    let mm = 1.0 / s.px;
    // The brightest sample within `half` rows of `rc` on column `c`: (value, row).
    let peak_near = |rc: f64, c: f64, half: f64| {
        let mut best = (f64::NEG_INFINITY, rc);
        let mut r = rc - half;
        while r <= rc + half {
            let z = s.bilinear(r, c);
            if z.is_finite() && z > best.0 {
                best = (z, r);
            }
            r += 0.1;
        }
        best
    };
    let (pk, rp) = peak_near(
        0.5 * (low.top + low.bottom),
        low.c,
        0.5 * (low.bottom - low.top),
    );
    if !pk.is_finite() || pk < z_grey + 0.25 * (1.0 - z_grey) {
        return None;
    }
    let lvl = 0.5 * (pk + z_grey);
    let mut ends = [low.c, low.c];
    for (k, dir) in [(0, -1.0), (1, 1.0)] {
        let (mut c, mut rc) = (low.c, rp);
        while (c - low.c).abs() <= 15.0 * mm {
            let (m, r) = peak_near(rc, c + 0.25 * dir, 1.5 * mm);
            if m < lvl {
                break;
            }
            c += 0.25 * dir;
            rc = r;
        }
        ends[k] = c;
    }
    let cm = 0.5 * (ends[0] + ends[1]);
    // A core longer than a chiasm (about 8-13 mm in the midline), or centred away from the
    // band, has joined another bright structure: the band's middle is used.
    if ends[1] - ends[0] > 14.0 * mm || (cm - low.c).abs() > 3.0 * mm {
        return None;
    }
    let (m, r) = peak_near(rp, cm, 2.0 * mm);
    if m < lvl {
        return None;
    }
    let half = 0.5 * (m + z_csf);
    let mut rr = r;
    let mut prev = m;
    while rr - r <= 4.0 * mm {
        let z = s.bilinear(rr + 0.1, cm);
        if !z.is_finite() {
            return None;
        }
        if z < half {
            let f = ((prev - half) / (prev - z)).clamp(0.0, 1.0);
            return Some((rr + 0.1 * f, cm));
        }
        prev = z;
        rr += 0.1;
    }
    None
}

/// The CSF level of the suprasellar cistern: the median of the middle half of the dark span
/// under the chiasm band, over the band's columns.
fn cistern_level(s: &Slab, group: &[Cand]) -> f64 {
    let mut v: Vec<f64> = Vec::new();
    for k in group {
        let (a, b) = (k.bottom, k.below);
        let n = ((b - a) / 0.25).floor() as usize;
        for i in 0..=n {
            let r = a + (b - a) * (i as f64 / n.max(1) as f64);
            if (r - a) >= 0.25 * (b - a) && (b - r) >= 0.25 * (b - a) {
                let z = s.bilinear(r, k.c);
                if z.is_finite() {
                    v.push(z);
                }
            }
        }
    }
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Smallest darkness of the bone (cortex, sinus air) below the cistern's CSF level, as a
/// fraction of the CSF-white contrast, for the bony outline of the sella to be traced.
const MIN_BONE_CONTRAST: f64 = 0.05;

/// The tuberculum sellae: the top of the anterior wall of the pituitary fossa. The wall is the
/// bone's cortex (darker than the cistern's CSF) met walking forwards from the middle of the
/// gland; it is traced upwards row by row (its first crossing, walking forwards from the
/// fossa's middle, of the level half-way between the CSF and the wall's own darkest value)
/// while it continues (no jump of more than 1.5 mm from one row to the next); the tuberculum is
/// its last point, where the wall turns forwards into the chiasmatic sulcus and the planum.
fn tuberculum(s: &Slab, top: Pt, floor: Pt, z_csf: f64) -> Result<Pt, String> {
    let mm = 1.0 / s.px;
    let step = 0.1;
    let r_seed = top.r + 1.5 * mm;
    if r_seed >= floor.r {
        return Err("the gland is too flat to reach its anterior wall".to_owned());
    }
    // The anterior wall's darkest value within 12 mm in front of the gland's middle.
    let mut z_wall = f64::INFINITY;
    let mut c = top.c;
    while top.c - c <= 12.0 * mm {
        let z = s.bilinear(r_seed, c);
        if !z.is_finite() {
            return Err("the sella lies at the edge of the image".to_owned());
        }
        z_wall = z_wall.min(z);
        c -= step;
    }
    if z_csf - z_wall < MIN_BONE_CONTRAST {
        return Err(format!(
            "the anterior wall of the fossa is not darker than the cistern's CSF \
             ({z_wall:.2} against {z_csf:.2}): bone and CSF cannot be told apart"
        ));
    }
    let level = 0.5 * (z_csf + z_wall);
    // The first crossing of the level walking forwards from the fossa's middle on row `r`.
    let wall = |r: f64| -> Option<f64> {
        let mut c = top.c;
        let mut prev = s.bilinear(r, c);
        while top.c - c <= 12.0 * mm {
            let z = s.bilinear(r, c - step);
            if !z.is_finite() || !prev.is_finite() {
                return None;
            }
            if z < level && prev >= level {
                return Some(c - step * (prev - level) / (prev - z));
            }
            prev = z;
            c -= step;
        }
        None
    };
    let mut last = wall(r_seed).ok_or_else(|| "the anterior wall is not resolved".to_owned())?;
    // The corner: the traced point farthest up and back (where the outline's tangent turns
    // through 45 degrees from the wall to the sulcus).
    let mut best = (r_seed, last);
    let mut r = r_seed;
    while r_seed - r < 14.0 * mm {
        r -= 0.25;
        match wall(r) {
            Some(w) if (w - last).abs() <= 1.5 * mm => {
                last = w;
                if w - r > best.1 - best.0 {
                    best = (r, w);
                }
            }
            _ => break,
        }
    }
    if best.0 > top.r + 0.5 * mm {
        return Err("the anterior wall's corner lies below the gland's top".to_owned());
    }
    if r_seed - best.0 >= 13.5 * mm {
        return Err("the anterior wall of the fossa does not turn within 14 mm".to_owned());
    }
    Ok(Pt {
        r: best.0,
        c: best.1,
        conf: top.conf,
    })
}

/// The gland on one column below the diaphragma row `rd`: (top, floor) rows.
fn gland_on_column(s: &Slab, c: f64, rd: f64, thr: f64, z_csf: f64) -> Option<(f64, f64)> {
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
    let floor = sellar_floor(s, c, gland.top, z_csf)?;
    (2.0 * mm..=15.0 * mm)
        .contains(&(floor - gland.top))
        .then_some((gland.top, floor))
}

/// The sellar floor below the gland's top edge on column `c`: the first dip of the profile
/// (the floor's cortex, then air or marrow) to below 70 % of the gland's own level, at the
/// half-way crossing between the gland level and the dip's minimum.
fn sellar_floor(s: &Slab, c: f64, top: f64, z_csf: f64) -> Option<f64> {
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
    let up = prof[imin].1 > g;
    // Onto dark bone (cortex, sinus air: darker than the cistern's CSF) the floor is where the
    // profile falls below the CSF level: the bone's own surface, under whatever thin layer
    // (dura, CSF) lines the fossa below the gland and blurs into it. Onto marrow, or a cortex
    // not darker than CSF, half-way between the gland's level and the extreme.
    let half = if !up && prof[imin].1 < z_csf - MIN_BONE_CONTRAST {
        z_csf
    } else {
        0.5 * (g + prof[imin].1)
    };
    let j = (start..imin).rev().find(|&j| (prof[j].1 >= half) != up)?;
    let (r0, z0) = prof[j];
    let (r1, z1) = prof[j + 1];
    let f = ((z0 - half) / (z0 - z1)).clamp(0.0, 1.0);
    Some(r0 + (r1 - r0) * f)
}

/// The gland's top and floor rows at column `c`: the medians over the run's columns within
/// 1 mm of it (`None` when `c` lies outside the run).
fn at_column(run: &[GlandColumn], c: f64, mm: f64) -> Option<(f64, f64)> {
    let mut t: Vec<f64> = Vec::new();
    let mut f: Vec<f64> = Vec::new();
    for p in run.iter().filter(|p| (p.0 - c).abs() <= mm) {
        t.push(p.1);
        f.push(p.2);
    }
    if t.is_empty() {
        return None;
    }
    t.sort_by(f64::total_cmp);
    f.sort_by(f64::total_cmp);
    Some((t[t.len() / 2], f[f.len() / 2]))
}

/// Every posterior face on row `r` between columns `c0` and `c1`: a place where tissue or bone
/// (brighter than half-way from the cistern's CSF to grey matter, or darker than the CSF by
/// [`MIN_BONE_CONTRAST`]) gives way, walking backwards, to at least 1.5 mm of CSF.
fn posterior_faces(s: &Slab, r: f64, c0: f64, c1: f64, z_csf: f64, z_grey: f64) -> Vec<f64> {
    let mm = 1.0 / s.px;
    let step = 0.1;
    let hi = 0.5 * (z_csf + z_grey);
    let lo = z_csf - csf_low_margin(z_csf, z_grey);
    let n = ((c1 - c0) / step).floor() as usize;
    let zs: Vec<f64> = (0..=n)
        .map(|i| s.bilinear(r, c0 + i as f64 * step))
        .collect();
    let csf = |z: f64| z > lo && z < hi;
    let need = (1.5 * mm / step).ceil() as usize;
    let mut out = Vec::new();
    let mut i = 1;
    while i + need < zs.len() {
        let (a, b) = (zs[i - 1], zs[i]);
        if !a.is_finite() || !b.is_finite() {
            i += 1;
            continue;
        }
        if !csf(a) && csf(b) && zs[i..i + need].iter().all(|z| z.is_finite() && csf(*z)) {
            // The crossing of the level half-way between the wall's side and the CSF.
            let level = if a >= hi { hi } else { lo };
            let f = ((a - level) / (a - b)).clamp(0.0, 1.0);
            out.push(c0 + (i as f64 - 1.0 + f) * step);
            i += need;
        } else {
            i += 1;
        }
    }
    out
}

/// How far below the cistern's CSF level a sample still counts as CSF (noise, a vessel's flow
/// void) rather than cortical bone: a third of the CSF-grey contrast, at least
/// [`MIN_BONE_CONTRAST`].
fn csf_low_margin(z_csf: f64, z_grey: f64) -> f64 {
    (0.3 * (z_grey - z_csf)).max(MIN_BONE_CONTRAST)
}

/// The tip of the dorsum sellae: the top of the posterior wall of the pituitary fossa. The
/// wall's posterior face (bone, or the gland and bone, against the CSF of the interpeduncular
/// and prepontine cisterns behind it) is traced upwards row by row from the gland's middle
/// height, each row taking the face nearest to the previous one (the stalk, the mamillary
/// bodies or the brainstem give other faces on the same rows), while it continues (no jump
/// over 1.5 mm); the tip is the highest point of the wall's top in front of the last face
/// (where the profile, walking up, reaches the CSF).
fn dorsum(s: &Slab, top: Pt, floor: Pt, z_csf: f64, z_grey: f64) -> Result<Pt, String> {
    let mm = 1.0 / s.px;
    let (c0, c1) = (top.c, top.c + 20.0 * mm);
    let r_seed = 0.5 * (top.r + floor.r);
    let first = posterior_faces(s, r_seed, c0, c1, z_csf, z_grey);
    let Some(mut last) = first.first().copied() else {
        return Err("no CSF behind the fossa's posterior wall within 20 mm".to_owned());
    };
    let mut r = r_seed;
    while r_seed - r < 16.0 * mm {
        let rn = r - 0.25;
        let near = posterior_faces(s, rn, c0, c1, z_csf, z_grey)
            .into_iter()
            .min_by(|a, b| (a - last).abs().total_cmp(&(b - last).abs()));
        match near {
            Some(c) if (c - last).abs() <= 0.5 * mm => {
                last = c;
                r = rn;
            }
            _ => break,
        }
    }
    if r_seed - r >= 15.5 * mm {
        return Err("the posterior wall of the fossa does not end within 16 mm".to_owned());
    }
    // The wall's top: the middle of the bone on the row 0.5 mm below the last traced one
    // (walking forwards from the posterior face to the first CSF sample, at most 5 mm), where
    // the profile, walking up that column from 1 mm below the last row, enters the CSF band.
    let hi = 0.5 * (z_csf + z_grey);
    let lo = z_csf - csf_low_margin(z_csf, z_grey);
    let csf = |z: f64| z > lo && z < hi;
    let rb = r + 0.5 * mm;
    let mut a = last - 0.2 * mm;
    while last - a < 5.0 * mm && a > top.c && !csf(s.bilinear(rb, a)) {
        a -= 0.1;
    }
    let cmid = 0.5 * (a + last);
    // Walking up column `c` from row `from` (inside the wall) to at most 2 mm above the last
    // traced row: where the profile crosses half-way from the wall's value there to the CSF
    // (`None` if it starts at the CSF level or never crosses).
    let top_at = |c: f64, from: f64| -> Option<f64> {
        let z0 = s.bilinear(from, c);
        if !z0.is_finite() || (z0 - z_csf).abs() < MIN_BONE_CONTRAST {
            return None;
        }
        let level = 0.5 * (z0 + z_csf);
        let (mut rr, mut prev) = (from, z0);
        while rr > r - 2.0 * mm {
            let z = s.bilinear(rr - 0.1, c);
            if !z.is_finite() {
                return None;
            }
            if (z - level) * (prev - level) <= 0.0 && z != prev {
                let f = ((prev - level) / (prev - z)).clamp(0.0, 1.0);
                return Some(rr - 0.1 * f);
            }
            prev = z;
            rr -= 0.1;
        }
        None
    };
    // On the wall's middle column, or (a thin wall blurred with the CSF on both sides) the
    // highest top over the wall's columns.
    let (rt, cmid) = top_at(cmid, r + 1.0 * mm)
        .map(|t| (t, cmid))
        .or_else(|| {
            let mut best: Option<(f64, f64)> = None;
            let mut c = a;
            while c <= last {
                if let Some(t) = top_at(c, r + 1.0 * mm) {
                    if best.is_none_or(|b| t < b.0) {
                        best = Some((t, c));
                    }
                }
                c += 0.25;
            }
            best
        })
        .ok_or_else(|| "the top of the dorsum sellae is not resolved".to_owned())?;
    if rt > top.r + 3.0 * mm {
        return Err("the dorsum's top lies more than 3 mm below the gland's top".to_owned());
    }
    Ok(Pt {
        r: rt,
        c: cmid,
        conf: top.conf,
    })
}

/// One column of the gland: (column, top row, floor row).
type GlandColumn = (f64, f64, f64);

/// The gland's top and floor in the middle of its run of columns, and that run.
fn pituitary(s: &Slab, d: Pt, thr: f64, z_csf: f64) -> Option<(Pt, Pt, Vec<GlandColumn>)> {
    let mm = 1.0 / s.px;
    let mut rows: Vec<(f64, f64, f64)> = Vec::new();
    let mut c = d.c - 8.0 * mm;
    while c <= d.c + 8.0 * mm {
        if let Some((t, f)) = gland_on_column(s, c, d.r, thr, z_csf) {
            rows.push((c, t, f));
        }
        c += 0.5;
    }
    if rows.len() < 3 {
        return None;
    }
    // Neighbours belong to the same gland when the gap is small and its top and floor edges
    // continue (the dorsum sellae behind the gland starts lower and reaches deeper; where the
    // stalk joins the gland the top jumps up).
    let joined = |a: (f64, f64, f64), b: (f64, f64, f64)| {
        b.0 - a.0 <= 1.0 * mm + 1e-9
            && (b.1 - a.1).abs() <= 1.0 * mm
            && (b.2 - a.2).abs() <= 1.5 * mm
    };
    // The gland's extent along the sella: the longest run of joined columns (the nearer to
    // the chiasm's column of two as long); its height is read in the middle of that run (the
    // centre of the fossa), as the median of the columns within 1 mm of it.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for i in 1..=rows.len() {
        if i == rows.len() || !joined(rows[i - 1], rows[i]) {
            runs.push((start, i - 1));
            start = i;
        }
    }
    let span = |r: &(usize, usize)| rows[r.1].0 - rows[r.0].0;
    let off = |r: &(usize, usize)| {
        let m = 0.5 * (rows[r.0].0 + rows[r.1].0);
        (m - d.c).abs()
    };
    let (lo, hi) = runs.into_iter().max_by(|a, b| {
        span(a)
            .total_cmp(&span(b))
            .then_with(|| off(b).total_cmp(&off(a)))
    })?;
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
        rows[lo..=hi].to_vec(),
    ))
}
