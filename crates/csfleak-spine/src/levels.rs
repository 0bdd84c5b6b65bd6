//! Vertebral levels along the canal: [`LevelScale`] maps a patient height (LPS z, mm, +
//! superior) to a [`Level`] (vertebra or disc) over the covered span.
//!
//! A scale is built from detected landmarks (disc centres and/or vertebral body centres) with
//! their identities ([`LevelScale::from_landmarks`]), typically labelled by counting from an
//! identifiable end of the spine ([`count_discs_from_end`]). When no end was seen, the detected
//! positions are kept unlabelled ([`LevelScale::not_counted`]): findings then carry positions
//! in mm and say that the levels were not counted, never a silent guess. A user anchor
//! (`--level-anchor L5/S1=z_mm`, [`LevelAnchor`]) wins over automatic counting
//! ([`LevelScale::with_anchor`]).
//!
//! Between landmarks the scale interpolates on a "typical spine" axis: the cumulative sum of
//! typical adult body and disc heights ([`typical_position_mm`]). Only ratios of those heights
//! are used between landmarks, and the patient's own spacing scales them, so the map adapts
//! to the patient's size; the same table extrapolates beyond the outermost landmark.

mod align;
pub mod sagittal;

use csfleak_findings::{Level, LevelLabelling, LevelStatus, Vertebra};

use crate::{Error, LevelAnchor, Result};

/// Typical adult vertebral body height and height of the disc below, mm, C1..S5 (rounded
/// values of the ranges in anatomy texts; the sacral "discs" are fused remnants). Used only
/// through ratios and for extrapolation beyond the outermost landmark.
const TYPICAL_MM: [(f64, f64); 29] = [
    (10.0, 0.0), // C1 (anterior arch; no C1/2 disc)
    (20.0, 4.5), // C2 with the dens base
    (14.0, 5.0),
    (14.0, 5.0),
    (14.5, 5.0),
    (14.5, 5.0),
    (15.0, 5.0), // C7
    (16.5, 4.5), // T1
    (17.5, 4.5),
    (18.0, 4.5),
    (18.5, 5.0),
    (19.0, 5.0),
    (19.5, 5.0),
    (20.0, 5.5),
    (20.5, 5.5),
    (21.0, 6.0),
    (22.0, 6.5),
    (23.0, 7.0),
    (24.0, 8.0), // T12
    (25.5, 9.0), // L1
    (26.5, 10.0),
    (27.5, 10.5),
    (27.5, 11.0),
    (27.0, 11.0), // L5
    (28.0, 1.0),  // S1
    (22.0, 1.0),
    (17.0, 1.0),
    (13.0, 1.0),
    (10.0, 0.0), // S5
];

/// Kind of a landmark along the anterior column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LandmarkKind {
    /// Centre of an intervertebral disc.
    Disc,
    /// Centre of a vertebral body.
    Body,
}

/// A detected landmark: a disc or body centre at patient height `z_mm`, with its identity
/// when known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Landmark {
    /// Patient z (LPS, mm, + superior).
    pub z_mm: f64,
    /// Disc or body.
    pub kind: LandmarkKind,
    /// Identity (`Level::Disc` for a disc, `Level::Vertebra` for a body), when known.
    pub level: Option<Level>,
}

impl Landmark {
    /// An unlabelled disc centre.
    pub fn disc(z_mm: f64) -> Self {
        Self {
            z_mm,
            kind: LandmarkKind::Disc,
            level: None,
        }
    }

    /// A labelled landmark; the kind follows the level (disc or vertebra).
    pub fn labelled(z_mm: f64, level: Level) -> Self {
        Self {
            z_mm,
            kind: match level {
                Level::Disc(_) => LandmarkKind::Disc,
                Level::Vertebra(_) => LandmarkKind::Body,
            },
            level: Some(level),
        }
    }
}

/// An identifiable end of the spine from which discs are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CountEnd {
    /// The most caudal detected disc is L5/S1 (the sacrum below it).
    LowestIsL5S1,
    /// The most cranial detected disc is C2/3 (C2 and the odontoid above it).
    HighestIsC2C3,
}

/// Position of a level on the typical axis, mm from the top of C1 (body centre for a
/// vertebra, disc centre for a disc).
pub fn typical_position_mm(level: Level) -> f64 {
    let (v, disc) = match level {
        Level::Vertebra(v) => (v, false),
        Level::Disc(v) => (v, true),
    };
    let i = usize::from(v.index());
    let top: f64 = TYPICAL_MM[..i].iter().map(|(b, d)| b + d).sum();
    let (b, d) = TYPICAL_MM[i];
    if disc {
        top + b + 0.5 * d
    } else {
        top + 0.5 * b
    }
}

/// The level at a position of the typical axis (positions beyond S5 give S5).
fn level_at_typical(t: f64) -> Option<Level> {
    let mut top = 0.0;
    for (i, (b, d)) in TYPICAL_MM.iter().enumerate() {
        let v = Vertebra::from_index(u8::try_from(i).ok()?)?;
        if t < top + b || i + 1 == TYPICAL_MM.len() {
            return Some(Level::Vertebra(v));
        }
        if t < top + b + d {
            return Some(Level::Disc(v));
        }
        top += b + d;
    }
    None
}

/// How well a sequence of labelled disc positions fits the typical spacing: returns the
/// patient's scale (observed / typical spacing, median) and the median relative deviation of
/// each spacing from the scaled typical one. `None` with fewer than two discs.
pub fn spacing_fit(discs: &[Landmark]) -> Option<(f64, f64)> {
    let mut d: Vec<(f64, Level)> = discs
        .iter()
        .filter_map(|l| match l.level {
            Some(lv @ Level::Disc(_)) => Some((l.z_mm, lv)),
            _ => None,
        })
        .collect();
    d.sort_by(|a, b| b.0.total_cmp(&a.0));
    let ratios: Vec<f64> = d
        .windows(2)
        .filter_map(|w| {
            let t = typical_position_mm(w[1].1) - typical_position_mm(w[0].1);
            (t > 0.0).then(|| (w[0].0 - w[1].0) / t)
        })
        .collect();
    if ratios.is_empty() {
        return None;
    }
    let scale = median(&ratios)?;
    let dev: Vec<f64> = ratios.iter().map(|r| (r / scale - 1.0).abs()).collect();
    Some((scale, median(&dev)?))
}

/// Unit tangent of the canal (pointing cranially) at height `z`, from canal centre points
/// (patient mm): least-squares lines of x and y against z over the points within +-15 mm
/// (at least five). `None` with too few points or a degenerate spread.
pub(crate) fn canal_tangent_at(
    centres: &[csfleak_volume::DVec3],
    z: f64,
) -> Option<csfleak_volume::DVec3> {
    let near: Vec<&csfleak_volume::DVec3> = centres
        .iter()
        .filter(|p| p.is_finite() && (p.z - z).abs() <= 15.0)
        .collect();
    let n = near.len() as f64;
    if n < 5.0 {
        return None;
    }
    let m = near
        .iter()
        .fold(csfleak_volume::DVec3::ZERO, |a, p| a + **p / n);
    let (mut sxz, mut syz, mut szz) = (0.0, 0.0, 0.0);
    for p in &near {
        let d = **p - m;
        sxz += d.x * d.z;
        syz += d.y * d.z;
        szz += d.z * d.z;
    }
    if szz < 1e-6 {
        return None;
    }
    let t = csfleak_volume::DVec3::new(
        (sxz / szz).clamp(-1.5, 1.5),
        (syz / szz).clamp(-1.5, 1.5),
        1.0,
    );
    t.try_normalize()
}

/// Height at which the plane through `point` perpendicular to the canal crosses the canal:
/// discs and endplates lie roughly perpendicular to the spinal axis, so a disc seen in the
/// anterior column at `point` (patient mm, `offset` = point minus the canal centre on the
/// same slice) belongs to the canal at `centre.z + (offset . t) t.z` (first order in the
/// curvature). Levels of canal findings are read at the canal, so every disc landmark is
/// moved there. Returns `point.z` unchanged without a tangent.
pub(crate) fn disc_height_at_canal(
    centre: csfleak_volume::DVec3,
    offset: csfleak_volume::DVec3,
    tangent: Option<csfleak_volume::DVec3>,
) -> f64 {
    match tangent {
        Some(t) => centre.z + offset.dot(t) * t.z,
        None => centre.z + offset.z,
    }
}

/// Median of the finite values (upper median for an even count).
pub(crate) fn median_of(v: &[f64]) -> Option<f64> {
    median(v)
}

fn median(v: &[f64]) -> Option<f64> {
    let mut w: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if w.is_empty() {
        return None;
    }
    w.sort_by(f64::total_cmp);
    Some(w[w.len() / 2])
}

/// What a stack shows of the spine's ends, for deciding from which end discs can be counted
/// (shared by the MRI and CT level detectors). Positions are patient z in mm; discs cranial
/// first.
///
/// An end of the spine must be seen in the image itself, never assumed from where the stack
/// happens to stop:
///
/// * **the sacrum** below the most caudal disc: the sac there holds no cord (below the conus,
///   which lies at L1-L2 in adults; a thoracic stack always shows the cord), **and** either
///   the dural sac ends or tapers inside the stack 15-80 mm below that disc (it ends at S1-S3),
///   or the anterior column continues below it for more than 1.15 disc spacings (and 30 mm)
///   with no disc, not even one cut by the end of the stack (the fused sacrum has none);
/// * **C2** above the most cranial disc: the sac holds the cord there, and the column
///   continues cranially for more than 1.6 disc spacings with no disc, not even one cut by the
///   end of the stack (C2 with the dens is about two cervical segments tall).
///
/// When the conus medullaris (the cord's end) is in view, a count must also put it between
/// T12 and L3 ([`count_from_ends`]).
#[allow(clippy::struct_field_names)] // every field is a patient z or length in mm, named so
pub(crate) struct EndsInView<'a> {
    /// Detected disc centres, cranial first (at least two).
    pub discs_z_mm: &'a [f64],
    /// Lowest and highest slice of the stack.
    pub stack_z_mm: (f64, f64),
    /// Lowest and highest slice where the dural sac was found.
    pub sac_z_mm: (f64, f64),
    /// Slice step of the stack.
    pub step_mm: f64,
    /// Anterior-column profile `(z, disc-likeness)`: higher where a disc is (T2 signal on MRI,
    /// negative density on CT); only compared with the detected discs' own prominence.
    pub disc_profile_mm: &'a [(f64, f64)],
    /// Per slice with a sac: `(z, fraction of the sac's central zone that is not fluid)`: the
    /// cord covers the centre, the roots of the cauda equina below the conus do not.
    pub cord_fraction_mm: &'a [(f64, f64)],
    /// Per slice with a sac: `(z, sac cross-section area in mm²)`.
    pub sac_area_mm: &'a [(f64, f64)],
}

/// Fraction of the sac's central zone that is not fluid above which a slice shows the cord
/// (the cord covers the centre of the sac; below the conus the roots of the cauda equina lie
/// along the dependent wall and leave the centre to the fluid).
const CORD_PRESENT: f64 = 0.6;
/// ... and below which it shows no cord.
const CORD_ABSENT: f64 = 0.3;

/// Which end of a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StackEnd {
    Caudal,
    Cranial,
}

impl EndsInView<'_> {
    /// The most caudal disc.
    pub(crate) fn lowest(&self) -> f64 {
        self.discs_z_mm[self.discs_z_mm.len() - 1]
    }

    /// Spacing between the two most caudal discs.
    pub(crate) fn last_spacing(&self) -> f64 {
        let n = self.discs_z_mm.len();
        if n < 2 {
            0.0
        } else {
            self.discs_z_mm[n - 2] - self.discs_z_mm[n - 1]
        }
    }

    /// Largest of the top three disc spacings.
    fn top_spacing(&self) -> f64 {
        self.discs_z_mm
            .windows(2)
            .take(3)
            .map(|w| w[0] - w[1])
            .fold(0.0, f64::max)
    }

    /// Per slice, cranial first: the cord fraction smoothed over +-1 slice (median of three),
    /// classified as cord (`Some(true)`), no cord (`Some(false)`) or undecided.
    fn cord_states(&self) -> Vec<(f64, Option<bool>)> {
        let mut f: Vec<(f64, f64)> = self
            .cord_fraction_mm
            .iter()
            .copied()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        f.sort_by(|a, b| b.0.total_cmp(&a.0));
        (0..f.len())
            .map(|i| {
                let mut w: Vec<f64> = f[i.saturating_sub(1)..(i + 2).min(f.len())]
                    .iter()
                    .map(|p| p.1)
                    .collect();
                w.sort_by(f64::total_cmp);
                let m = w[w.len() / 2];
                let state = if m >= CORD_PRESENT {
                    Some(true)
                } else if m <= CORD_ABSENT {
                    Some(false)
                } else {
                    None
                };
                (f[i].0, state)
            })
            .collect()
    }

    /// Whether the sac holds the cord between two heights (either order): `Some` when at
    /// least three slices lie there and 70 % of them agree.
    pub(crate) fn cord_between(&self, z_a: f64, z_b: f64) -> Option<bool> {
        let (lo, hi) = (z_a.min(z_b), z_a.max(z_b));
        let states: Vec<Option<bool>> = self
            .cord_states()
            .into_iter()
            .filter(|p| p.0 >= lo && p.0 <= hi)
            .map(|p| p.1)
            .collect();
        majority(&states)
    }

    /// The conus medullaris (where the cord ends), when in view: the most caudal height with
    /// the cord on the slices within 25 mm above and none within 25 mm below (at least three
    /// slices each, 70 % agreeing). Patches without a cord higher up (a slice off the canal)
    /// are not the conus: below the true conus there is no cord down to the end of the sac.
    pub(crate) fn conus_z(&self) -> Option<f64> {
        let st = self.cord_states();
        let mut lowest: Option<f64> = None;
        for i in 0..st.len().saturating_sub(1) {
            let (z_here, z_next) = (st[i].0, st[i + 1].0);
            let above: Vec<Option<bool>> = st[..=i]
                .iter()
                .filter(|p| p.0 - z_here <= 25.0)
                .map(|p| p.1)
                .collect();
            let below: Vec<Option<bool>> = st[i + 1..]
                .iter()
                .filter(|p| z_next - p.0 <= 25.0)
                .map(|p| p.1)
                .collect();
            if majority(&above) == Some(true) && majority(&below) == Some(false) {
                lowest = Some(0.5 * (z_here + z_next));
            }
        }
        lowest
    }

    /// A disc cut by the end of the stack: within half a disc spacing of that end, the
    /// anterior column rises above the body signal between it and the outermost detected
    /// disc by at least 0.4 of the detected discs' median prominence.
    fn disc_cut_at(&self, end: StackEnd) -> bool {
        let p = self.disc_profile_mm;
        if p.len() < 3 {
            return false;
        }
        let spacing = match end {
            StackEnd::Caudal => self.last_spacing(),
            StackEnd::Cranial => self.top_spacing(),
        };
        // Prominence of the detected discs over the bodies around them.
        let prom: Vec<f64> = self
            .discs_z_mm
            .iter()
            .filter_map(|&d| {
                let at = p
                    .iter()
                    .min_by(|a, b| (a.0 - d).abs().total_cmp(&(b.0 - d).abs()))?
                    .1;
                let low = p
                    .iter()
                    .filter(|q| (q.0 - d).abs() <= 0.6 * spacing)
                    .map(|q| q.1)
                    .fold(f64::INFINITY, f64::min);
                low.is_finite().then_some(at - low)
            })
            .collect();
        let Some(prom) = median(&prom).filter(|m| *m > 0.0) else {
            return false;
        };
        let (z_end, z_disc, dir) = match end {
            StackEnd::Caudal => (
                p.iter().map(|q| q.0).fold(f64::INFINITY, f64::min),
                self.lowest(),
                -1.0,
            ),
            StackEnd::Cranial => (
                p.iter().map(|q| q.0).fold(f64::NEG_INFINITY, f64::max),
                self.discs_z_mm[0],
                1.0,
            ),
        };
        // Distance beyond the outermost disc, positive towards the stack end.
        let beyond = |z: f64| (z - z_disc) * dir;
        let reach = beyond(z_end);
        let end_zone = |q: &&(f64, f64)| beyond(q.0) >= reach - 0.5 * spacing;
        let interior =
            |q: &&(f64, f64)| beyond(q.0) >= 0.3 * spacing && beyond(q.0) < reach - 0.5 * spacing;
        let base = p
            .iter()
            .filter(interior)
            .map(|q| q.1)
            .fold(f64::INFINITY, f64::min);
        let top = p
            .iter()
            .filter(end_zone)
            .map(|q| q.1)
            .fold(f64::NEG_INFINITY, f64::max);
        base.is_finite() && top.is_finite() && top - base >= 0.4 * prom
    }

    /// Median sac area between two heights.
    fn sac_area_between(&self, z_a: f64, z_b: f64) -> Option<f64> {
        let (lo, hi) = (z_a.min(z_b), z_a.max(z_b));
        let a: Vec<f64> = self
            .sac_area_mm
            .iter()
            .filter(|p| p.0 >= lo && p.0 <= hi)
            .map(|p| p.1)
            .collect();
        median(&a)
    }

    /// Evidence that the most caudal disc is L5/S1 (the sacrum below it), as a sentence; or
    /// why not (`Err`).
    pub(crate) fn sacrum_evidence(&self) -> Result<&'static str, &'static str> {
        let low = self.lowest();
        let spacing = self.last_spacing();
        let (stack_lo, _) = self.stack_z_mm;
        let (sac_lo, _) = self.sac_z_mm;
        match self.cord_between(low + spacing, sac_lo) {
            Some(false) => {}
            Some(true) => {
                return Err(
                    "the cord reaches the most caudal disc (above the conus, so not L5/S1)",
                );
            }
            None => {
                return Err(
                    "the cord cannot be told from the cauda equina at the most caudal disc",
                );
            }
        }
        let below = low - sac_lo;
        let sac_ends_inside = sac_lo - stack_lo >= (2.0 * self.step_mm).max(8.0);
        if sac_ends_inside && (15.0..=80.0).contains(&below) {
            return Ok(
                "counted from the sacrum: below the conus, the dural sac ends inside the \
                       stack 15-80 mm below the most caudal disc",
            );
        }
        let tapering = below >= (0.6 * spacing).max(20.0)
            && self
                .sac_area_between(sac_lo, sac_lo + 6.0)
                .zip(self.sac_area_between(low, low + 40.0))
                .is_some_and(|(end, above)| end < 0.6 * above);
        if tapering && below <= 80.0 {
            return Ok(
                "counted from the sacrum: below the conus, the dural sac tapers to its \
                       end more than a vertebral body below the most caudal disc",
            );
        }
        if below >= (1.15 * spacing).max(30.0) {
            if self.disc_cut_at(StackEnd::Caudal) {
                return Err("a disc may be cut by the caudal end of the stack");
            }
            return Ok(
                "counted from the sacrum: below the conus, the anterior column continues \
                       for more than a disc spacing below the most caudal disc without a disc",
            );
        }
        Err(
            "neither the end of the dural sac nor a disc-free sacrum is seen below the most \
             caudal disc",
        )
    }

    /// Weaker evidence of the sacrum below the most caudal disc, for a count that must also
    /// meet a count from C2 ([`count_from_both_ends`]): no cord there, and a disc-free
    /// anterior column (no disc cut by the stack end) for at least 0.8 disc spacings and
    /// 25 mm below it (the S1 body; a stack that stops at the bottom of S1 shows no more).
    fn sacrum_evidence_short(&self) -> Result<&'static str, &'static str> {
        if let Ok(how) = self.sacrum_evidence() {
            return Ok(how);
        }
        let low = self.lowest();
        let spacing = self.last_spacing();
        let (sac_lo, _) = self.sac_z_mm;
        if self.cord_between(low + spacing, sac_lo) != Some(false) {
            return Err("the cauda equina is not seen at the most caudal disc");
        }
        let below = low - sac_lo.max(self.stack_z_mm.0);
        if below >= (0.8 * spacing).max(25.0) && !self.disc_cut_at(StackEnd::Caudal) {
            return Ok(
                "below the conus, the anterior column continues for most of a segment below \
                 the most caudal disc without a disc",
            );
        }
        Err("too little of the column is seen below the most caudal disc")
    }

    /// Evidence that the most cranial disc is C2/3 (C2 above it), as a sentence; or why not.
    pub(crate) fn c2_evidence(&self) -> Result<&'static str, &'static str> {
        self.c2_evidence_over(1.6, false)
    }

    /// [`Self::c2_evidence`] with the disc-free height above the most cranial disc given in
    /// disc spacings (the largest of the top three, or with `use_median` their median).
    fn c2_evidence_over(
        &self,
        spacings: f64,
        use_median: bool,
    ) -> Result<&'static str, &'static str> {
        let highest = self.discs_z_mm[0];
        let top_spacing = if use_median {
            let top: Vec<f64> = self
                .discs_z_mm
                .windows(2)
                .take(3)
                .map(|w| w[0] - w[1])
                .collect();
            median(&top).unwrap_or(0.0)
        } else {
            self.top_spacing()
        };
        if !(self.sac_z_mm.1 - highest >= spacings * top_spacing
            && self.stack_z_mm.1 - highest >= spacings * top_spacing)
        {
            return Err(
                "the stack does not continue above the most cranial disc over the C2 height",
            );
        }
        match self.cord_between(highest, self.sac_z_mm.1) {
            Some(true) => {}
            Some(false) => {
                return Err("no cord above the most cranial disc (not the cervical spine)");
            }
            None => return Err("the cord is not seen above the most cranial disc"),
        }
        if self.disc_cut_at(StackEnd::Cranial) {
            return Err("a disc may be cut by the cranial end of the stack");
        }
        Ok("counted from C2: the cord, and no disc above the most cranial one over the C2 height")
    }

    /// Whether a cord fraction profile was given at all.
    fn has_cord_profile(&self) -> bool {
        self.cord_fraction_mm.len() >= 3
    }
}

/// Area (in pixels) of the convex hull of a pixel set given as per-row extents `(row, first
/// column, last column)`: the pixel squares' corners are hulled. The sac's hull includes the
/// cord even where the cord touches the sac wall (a bay rather than a hole).
pub(crate) fn hull_area_px(rows: &[(usize, usize, usize)]) -> f64 {
    let mut pts: Vec<(f64, f64)> = rows
        .iter()
        .flat_map(|&(r, c0, c1)| {
            let (r, c0, c1) = (r as f64, c0 as f64, c1 as f64 + 1.0);
            [(r, c0), (r + 1.0, c0), (r, c1), (r + 1.0, c1)]
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    if pts.len() < 3 {
        return 0.0;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    // Andrew's monotone chain.
    let mut hull: Vec<(f64, f64)> = Vec::new();
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f64, f64)>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    let n = hull.len();
    0.5 * (0..n)
        .map(|i| {
            let (a, b) = (hull[i], hull[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f64>()
        .abs()
}

/// The first pair of consecutive labelled discs whose spacing is outside 0.6-1.5 times the
/// typical spacing of their levels at the patient's `scale`.
fn irregular_spacing(marks: &[Landmark], scale: f64) -> Option<(f64, f64)> {
    let mut d: Vec<(f64, Level)> = marks
        .iter()
        .filter_map(|l| l.level.map(|lv| (l.z_mm, lv)))
        .collect();
    d.sort_by(|a, b| b.0.total_cmp(&a.0));
    d.windows(2).find_map(|w| {
        let t = typical_position_mm(w[1].1) - typical_position_mm(w[0].1);
        let ratio = (w[0].0 - w[1].0) / (scale * t);
        (!(0.6..=1.5).contains(&ratio)).then_some((w[0].0, w[1].0))
    })
}

/// `Some(true)` / `Some(false)` when at least three states are given and 70 % of them agree.
fn majority(states: &[Option<bool>]) -> Option<bool> {
    if states.len() < 3 {
        return None;
    }
    let n = states.len() as f64;
    let yes = states.iter().filter(|s| **s == Some(true)).count() as f64;
    let no = states.iter().filter(|s| **s == Some(false)).count() as f64;
    if yes >= 0.7 * n {
        Some(true)
    } else if no >= 0.7 * n {
        Some(false)
    } else {
        None
    }
}

/// Levels where the conus medullaris may end in an adult (T12 to L3 bodies).
/// Whether a count agrees with the conus medullaris: `Ok(Some(note))` when the conus lies at
/// T12-L3 on `scale`, `Ok(None)` without a conus, `Err(why)` when the count puts it elsewhere.
fn conus_agreement(scale: &LevelScale, conus: Option<f64>) -> Result<Option<String>, String> {
    let Some(cz) = conus else {
        return Ok(None);
    };
    match scale.level_at(cz) {
        Some(lv) if conus_plausible(lv) => Ok(Some(format!("; the conus at {lv} agrees"))),
        other => Err(format!(
            "the count would put the conus medullaris at {}, outside T12-L3",
            other.map_or_else(|| "no level".to_owned(), |l| l.to_string())
        )),
    }
}

fn conus_plausible(level: Level) -> bool {
    let (v, _) = match level {
        Level::Vertebra(v) => (v, false),
        Level::Disc(v) => (v, true),
    };
    let t12 = Vertebra::new(csfleak_findings::Region::Thoracic, 12);
    let l3 = Vertebra::new(csfleak_findings::Region::Lumbar, 3);
    match (t12, l3) {
        (Some(a), Some(b)) => v.index() >= a.index() && v.index() <= b.index(),
        _ => false,
    }
}

/// The scale of labelled discs when their spacing fits the typical vertebral heights (scale
/// 0.75-1.35, deviation <= 0.3, [`spacing_fit`]) at every pair ([`irregular_spacing`]), with
/// the goodness of the fit (0..1); `Err` says why not.
fn labelled_scale(
    marks: &[Landmark],
    covered_z_mm: (f64, f64),
    method: &str,
) -> std::result::Result<(LevelScale, f64), String> {
    let (scale, dev) = spacing_fit(marks).ok_or("fewer than two labelled discs")?;
    if !(0.75..=1.35).contains(&scale) || dev > 0.3 {
        return Err(format!(
            "the disc spacing does not fit the counted levels (scale {scale:.2}, deviation \
             {dev:.2})"
        ));
    }
    // A missed (or a spurious) disc anywhere shifts every label beyond it: every single
    // spacing must fit its counted pair of levels, not only the median.
    if let Some((za, zb)) = irregular_spacing(marks, scale) {
        return Err(format!(
            "the disc spacing between z {za:.0} and {zb:.0} mm does not fit consecutive \
             levels (a missed or extra disc)"
        ));
    }
    let s =
        LevelScale::from_landmarks(marks, covered_z_mm, method, 0.0).map_err(|e| e.to_string())?;
    Ok((s, (1.0 - dev / 0.3).clamp(0.0, 1.0)))
}

/// Label the discs of `ends` by counting from the sacrum, then from C2, where the image shows
/// that end ([`EndsInView`]); keep the first labelling whose disc spacing fits the typical
/// vertebral heights (scale 0.75-1.35, deviation <= 0.3, [`spacing_fit`]) and that puts the
/// conus, when in view, between T12 and L3. Discs numbered one after the other from that end
/// come first; when a spacing shows a missed or spurious disc, the discs are aligned to the
/// levels by their spacing instead ([`align::align_from_end`]: the three spacings next to the
/// end set the patient's scale, ambiguous labels are left out). Failing both ends, a stack
/// that shows C2 and the sacrum is counted from both ([`count_from_both_ends`]). Otherwise the
/// discs are kept as positions and the scale says why levels were not counted.
///
/// The confidence adds up the evidence: the spacing fit (up to 0.3 over a base of 0.35), the
/// conus in view at a plausible level (0.15), the end of the sac seen (0.1); an alignment
/// across missed discs loses 0.1 and 0.05 per missed, spurious or ambiguous disc.
pub(crate) fn count_from_ends(
    ends: &EndsInView<'_>,
    covered_z_mm: (f64, f64),
    method: &str,
) -> LevelScale {
    let discs = ends.discs_z_mm;
    let unlabelled: Vec<Landmark> = discs.iter().map(|&z| Landmark::disc(z)).collect();
    if discs.len() < 2 {
        return LevelScale::not_counted(
            covered_z_mm,
            &unlabelled,
            method,
            "fewer than two discs found along the anterior column",
        );
    }
    if !ends.has_cord_profile() {
        return LevelScale::not_counted(
            covered_z_mm,
            &unlabelled,
            method,
            "the dural sac was not found on enough slices to tell the cord from the cauda equina",
        );
    }
    let conus = ends.conus_z();
    let mut why_not: Vec<String> = Vec::new();
    let tries = [
        (CountEnd::LowestIsL5S1, ends.sacrum_evidence(), "sacrum"),
        (CountEnd::HighestIsC2C3, ends.c2_evidence(), "C2"),
    ];
    for (end, evidence, name) in tries {
        let how = match evidence {
            Ok(how) => how,
            Err(why) => {
                why_not.push(format!("{name}: {why}"));
                continue;
            }
        };
        let consecutive = count_discs_from_end(discs, end);
        let attempt = if consecutive.len() == discs.len() {
            labelled_scale(&consecutive, covered_z_mm, method)
        } else {
            Err("more discs than vertebrae from that end".to_owned())
        };
        let (s, fit, gaps, penalty) = match attempt {
            Ok((s, fit)) => (s, fit, String::new(), 0.0),
            // A missed (or a spurious) disc shifts every label beyond it when the discs are
            // numbered one after the other: align them by their spacing instead.
            Err(why) => {
                match align::align_from_end(discs, end == CountEnd::LowestIsL5S1).and_then(|a| {
                    let (s, fit) = labelled_scale(&a.marks, covered_z_mm, method)?;
                    Ok((s, fit, a))
                }) {
                    Ok((s, fit, a)) => (
                        s,
                        fit,
                        format!(
                            "; the discs fit the vertebral spacing with {} disc(s) not detected, \
                         {} detection(s) not a disc, {} left unlabelled as ambiguous",
                            a.missed, a.spurious, a.ambiguous
                        ),
                        0.1 + 0.05 * (a.missed + a.spurious + a.ambiguous) as f64,
                    ),
                    Err(why_aligned) => {
                        why_not.push(format!(
                            "{name}: {why}; allowing for missed discs: {why_aligned}"
                        ));
                        continue;
                    }
                }
            }
        };
        let mut confidence = 0.35 + 0.3 * fit - penalty;
        let note = match conus_agreement(&s, conus) {
            Ok(Some(note)) => {
                confidence += 0.15;
                note
            }
            Ok(None) => String::new(),
            Err(why) => {
                why_not.push(format!("{name}: {why}"));
                continue;
            }
        };
        if how.contains("sac ends") || how.contains("tapers") {
            confidence += 0.1;
        }
        let mut s = s.with_reason(&format!("{how}{gaps}{note}"));
        s.confidence = confidence.clamp(0.1, 0.95);
        return s;
    }
    match count_from_both_ends(ends, covered_z_mm, method, conus) {
        Ok(s) => return s,
        Err(why) => why_not.push(format!("both ends: {why}")),
    }
    LevelScale::not_counted(
        covered_z_mm,
        &unlabelled,
        method,
        &format!(
            "no end of the spine (sacrum or C2) identified in the image, positions are given in \
             mm ({})",
            why_not.join("; ")
        ),
    )
}

/// A count that starts at both ends of a stack that shows C2 (over at least 1.2 times the
/// median of the top three disc spacings above its most cranial disc) and the sacrum (the
/// cauda equina and most of S1 below its most caudal disc): the detections between C2/3 and
/// L5/S1 are aligned to the disc levels by their spacing, with a few missed or spurious
/// detections allowed and ambiguous labels left out ([`align::align_between_ends`]). The
/// labels then pass the same spacing and conus checks as a count from one end.
fn count_from_both_ends(
    ends: &EndsInView<'_>,
    covered_z_mm: (f64, f64),
    method: &str,
    conus: Option<f64>,
) -> std::result::Result<LevelScale, String> {
    let discs = ends.discs_z_mm;
    if discs.len() < 6 {
        return Err("fewer than six discs".to_owned());
    }
    let low_how = ends.sacrum_evidence_short().map_err(str::to_owned)?;
    ends.c2_evidence_over(1.2, true).map_err(str::to_owned)?;
    let a = align::align_between_ends(discs)?;
    let marks = a.marks;
    let (scale, dev) = spacing_fit(&marks).ok_or("no disc spacing")?;
    if !(0.75..=1.35).contains(&scale) || dev > 0.3 {
        return Err(format!(
            "the disc spacing does not fit (scale {scale:.2}, deviation {dev:.2})"
        ));
    }
    if irregular_spacing(&marks, scale).is_some() {
        return Err("a disc spacing does not fit consecutive levels".to_owned());
    }
    let s =
        LevelScale::from_landmarks(&marks, covered_z_mm, method, 0.0).map_err(|e| e.to_string())?;
    let mut confidence = 0.35 + 0.2 * (1.0 - dev / 0.3).clamp(0.0, 1.0)
        - 0.05 * (a.missed + a.spurious + a.ambiguous) as f64;
    let note = conus_agreement(&s, conus)?.unwrap_or_default();
    if !note.is_empty() {
        confidence += 0.15;
    }
    let mut s = s.with_reason(&format!(
        "counted from both ends: C2 above the most cranial disc and, {low_how}; the discs \
         between fit the vertebral spacing from C2/3 to L5/S1 at scale {:.2} ({} disc(s) not \
         detected, {} detection(s) not a disc, {} left unlabelled as ambiguous){note}",
        a.scale, a.missed, a.spurious, a.ambiguous
    ));
    s.confidence = confidence.clamp(0.1, 0.85);
    Ok(s)
}

/// Label unlabelled disc centres by counting from an identifiable end. Discs are sorted
/// cranio-caudally and numbered consecutively (a missed disc shifts every label beyond it,
/// which [`spacing_fit`] exposes as an outlier spacing).
pub fn count_discs_from_end(discs_z_mm: &[f64], end: CountEnd) -> Vec<Landmark> {
    let mut z: Vec<f64> = discs_z_mm
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    z.sort_by(|a, b| b.total_cmp(a));
    let n = z.len();
    let l5 = Vertebra::new(csfleak_findings::Region::Lumbar, 5);
    let c2 = Vertebra::new(csfleak_findings::Region::Cervical, 2);
    z.iter()
        .enumerate()
        .filter_map(|(i, &zz)| {
            let upper = match end {
                CountEnd::LowestIsL5S1 => {
                    let from_end = u8::try_from(n - 1 - i).ok()?;
                    Vertebra::from_index(l5?.index().checked_sub(from_end)?)?
                }
                CountEnd::HighestIsC2C3 => {
                    Vertebra::from_index(c2?.index() + u8::try_from(i).ok()?)?
                }
            };
            upper.next()?;
            Some(Landmark::labelled(zz, Level::Disc(upper)))
        })
        .collect()
}

/// The map from patient height to vertebral level over a covered span.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelScale {
    method: String,
    confidence: f64,
    status: LevelStatus,
    reason: Option<String>,
    covered_z_mm: (f64, f64),
    /// Labelled marks `(z, typical position)`, z descending (cranial first).
    marks: Vec<(f64, f64)>,
    /// Detected but unlabelled landmarks.
    unlabelled: Vec<Landmark>,
}

impl LevelScale {
    /// A scale from landmarks with identities (counted levels). Landmarks without a level are
    /// kept as unlabelled positions. With no labelled landmark the result is
    /// [`LevelScale::not_counted`] with a generic reason. `covered_z_mm` is the patient z span
    /// of the analysed data (either order); `confidence` is clamped to 0..1.
    ///
    /// Errors when labelled landmarks contradict each other (a more cranial landmark with a
    /// more caudal level, or two landmarks at one height with different levels).
    pub fn from_landmarks(
        landmarks: &[Landmark],
        covered_z_mm: (f64, f64),
        method: &str,
        confidence: f64,
    ) -> Result<Self> {
        let mut marks: Vec<(f64, f64)> = landmarks
            .iter()
            .filter(|l| l.z_mm.is_finite())
            .filter_map(|l| l.level.map(|lv| (l.z_mm, typical_position_mm(lv))))
            .collect();
        let unlabelled: Vec<Landmark> = landmarks
            .iter()
            .filter(|l| l.level.is_none() && l.z_mm.is_finite())
            .copied()
            .collect();
        if marks.is_empty() {
            return Ok(Self::not_counted(
                covered_z_mm,
                &unlabelled,
                method,
                "no landmark could be identified",
            ));
        }
        marks.sort_by(|a, b| b.0.total_cmp(&a.0));
        marks.dedup();
        for w in marks.windows(2) {
            if w[1].1 <= w[0].1 || w[0].0 - w[1].0 < 1e-6 {
                return Err(Error::InconsistentLevels {
                    detail: format!(
                        "landmarks at z {:.1} and {:.1} mm are out of cranio-caudal order",
                        w[0].0, w[1].0
                    ),
                });
            }
        }
        Ok(Self {
            method: method.to_owned(),
            confidence: confidence.clamp(0.0, 1.0),
            status: LevelStatus::Counted,
            reason: None,
            covered_z_mm: ordered(covered_z_mm),
            marks,
            unlabelled,
        })
    }

    /// Positions only: levels were not counted (no identifiable end in view, or no landmark
    /// found); `reason` says why. Detected landmarks are kept so that an anchor can label them.
    pub fn not_counted(
        covered_z_mm: (f64, f64),
        unlabelled: &[Landmark],
        method: &str,
        reason: &str,
    ) -> Self {
        Self {
            method: method.to_owned(),
            confidence: 0.0,
            status: LevelStatus::NotCounted,
            reason: Some(reason.to_owned()),
            covered_z_mm: ordered(covered_z_mm),
            marks: Vec::new(),
            unlabelled: unlabelled
                .iter()
                .filter(|l| l.z_mm.is_finite())
                .map(|l| Landmark { level: None, ..*l })
                .collect(),
        }
    }

    /// Apply a user anchor: `anchor.level` lies at `anchor.z_mm`, and that wins over automatic
    /// counting. Counted levels are shifted by whole vertebrae to agree with the anchor;
    /// unlabelled discs are numbered outwards from it; without any landmark the typical
    /// spacing extrapolates from the anchor alone (low confidence).
    pub fn with_anchor(mut self, anchor: LevelAnchor) -> Self {
        if !anchor.z_mm.is_finite() {
            return self;
        }
        let ta = typical_position_mm(anchor.level);
        let note;
        if !self.marks.is_empty() {
            // Shift by the whole number of vertebrae that best matches the anchor.
            let t_here = self.typical_at(anchor.z_mm);
            let shift = self.vertebra_shift(t_here, ta);
            if shift != 0 {
                for m in &mut self.marks {
                    m.1 = shift_typical(m.1, shift);
                }
                note =
                    format!("automatic levels shifted by {shift} vertebra(e) to the user anchor");
            } else {
                note = "user anchor agrees with the automatic count".to_owned();
            }
        } else if !self.unlabelled.is_empty() {
            let mut discs: Vec<f64> = self
                .unlabelled
                .iter()
                .filter(|l| l.kind == LandmarkKind::Disc)
                .map(|l| l.z_mm)
                .collect();
            discs.sort_by(|a, b| b.total_cmp(a));
            self.marks = label_from_anchor(&discs, anchor);
            note = format!(
                "{} detected disc(s) numbered from the user anchor",
                self.marks.len()
            );
            self.confidence = 0.7;
        } else {
            note = "levels extrapolated from the user anchor with typical vertebral heights"
                .to_owned();
            self.confidence = 0.3;
        }
        // The anchor itself is a mark; drop marks that contradict it.
        self.marks
            .retain(|m| (m.0 > anchor.z_mm && m.1 < ta) || (m.0 < anchor.z_mm && m.1 > ta));
        self.marks.push((anchor.z_mm, ta));
        self.marks.sort_by(|a, b| b.0.total_cmp(&a.0));
        if self.status != LevelStatus::Counted {
            self.confidence = self.confidence.max(0.3);
        }
        self.status = LevelStatus::Anchored;
        self.reason = Some(note);
        self.method = format!("{} + user anchor {}", self.method, anchor.level);
        self
    }

    fn vertebra_shift(&self, t_here: f64, t_anchor: f64) -> i32 {
        // Try shifts of whole vertebrae and keep the one whose shifted position is nearest.
        let mut best = (f64::INFINITY, 0i32);
        for s in -8i32..=8 {
            let d = (shift_typical(t_here, s) - t_anchor).abs();
            if d < best.0 - 1e-9 {
                best = (d, s);
            }
        }
        let _ = self;
        best.1
    }

    /// The same labels over another covered span (e.g. a count made on a sagittal series,
    /// transferred by patient z to an axial stack): `note` is appended to the method.
    pub fn transferred_to(mut self, covered_z_mm: (f64, f64), note: &str) -> Self {
        self.covered_z_mm = ordered(covered_z_mm);
        self.method = format!("{} ({note})", self.method);
        self
    }

    /// Replace the reason / note (e.g. which end the count started from).
    pub fn with_reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    /// Whether levels are known (counted automatically or anchored by the user).
    pub fn has_levels(&self) -> bool {
        !self.marks.is_empty()
    }

    /// Counted, anchored, or not counted.
    pub fn status(&self) -> LevelStatus {
        self.status
    }

    /// Method name (with the anchor when one was applied).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Confidence of the labels, 0..1 (0 when not counted).
    pub fn confidence(&self) -> f64 {
        self.confidence
    }

    /// Why levels were not counted, or a note on the anchor.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// Covered patient z span `(low, high)`, mm.
    pub fn covered_z_mm(&self) -> (f64, f64) {
        self.covered_z_mm
    }

    /// The labelled landmarks `(z_mm, level)`, cranial first.
    pub fn landmarks(&self) -> Vec<(f64, Level)> {
        self.marks
            .iter()
            .filter_map(|&(z, t)| Some((z, level_at_typical(t)?)))
            .collect()
    }

    /// Detected landmarks without an identity.
    pub fn unlabelled(&self) -> &[Landmark] {
        &self.unlabelled
    }

    /// Position on the typical axis at patient height `z`.
    fn typical_at(&self, z: f64) -> f64 {
        let m = &self.marks;
        match m.len() {
            0 => f64::NAN,
            1 => m[0].1 + (m[0].0 - z),
            _ => {
                // Bracketing pair, or the end pair for extrapolation.
                let i = m
                    .windows(2)
                    .position(|w| z <= w[0].0 && z >= w[1].0)
                    .unwrap_or(if z > m[0].0 { 0 } else { m.len() - 2 });
                let (a, b) = (m[i], m[i + 1]);
                let slope = (b.1 - a.1) / (a.0 - b.0);
                // Beyond the ends, keep the patient's scale within plausible bounds.
                let slope = if z <= a.0 && z >= b.0 {
                    slope
                } else {
                    slope.clamp(0.6, 1.6)
                };
                a.1 + (a.0 - z) * slope
            }
        }
    }

    /// The level at patient height `z_mm` (LPS z), or `None` when levels are not known or
    /// `z_mm` lies outside the covered span (1 mm tolerance).
    pub fn level_at(&self, z_mm: f64) -> Option<Level> {
        if self.marks.is_empty() || !z_mm.is_finite() {
            return None;
        }
        let (lo, hi) = self.covered_z_mm;
        if z_mm < lo - 1.0 || z_mm > hi + 1.0 {
            return None;
        }
        let t = self.typical_at(z_mm);
        let total: f64 = TYPICAL_MM.iter().map(|(b, d)| b + d).sum();
        if t.is_finite() && t >= 0.0 && t <= total {
            level_at_typical(t)
        } else {
            None
        }
    }

    /// Patient height of a level (body or disc centre), or `None` when levels are not known.
    pub fn z_of(&self, level: Level) -> Option<f64> {
        let m = &self.marks;
        let t = typical_position_mm(level);
        match m.len() {
            0 => None,
            1 => Some(m[0].0 - (t - m[0].1)),
            _ => {
                let i = m
                    .windows(2)
                    .position(|w| t >= w[0].1 && t <= w[1].1)
                    .unwrap_or(if t < m[0].1 { 0 } else { m.len() - 2 });
                let (a, b) = (m[i], m[i + 1]);
                let slope = (b.1 - a.1) / (a.0 - b.0);
                let slope = if t >= a.1 && t <= b.1 {
                    slope
                } else {
                    slope.clamp(0.6, 1.6)
                };
                Some(a.0 - (t - a.1) / slope)
            }
        }
    }

    /// The cranial and caudal level of a z span (either order).
    pub fn range(&self, z_a: f64, z_b: f64) -> Option<(Level, Level)> {
        let (lo, hi) = ordered((z_a, z_b));
        Some((self.level_at(hi)?, self.level_at(lo)?))
    }

    /// The findings summary of the labelling.
    pub fn to_findings(&self) -> LevelLabelling {
        let (lo, hi) = self.covered_z_mm;
        LevelLabelling {
            status: self.status,
            method: Some(self.method.clone()),
            confidence: Some((self.confidence * 100.0).round() / 100.0),
            reason: self.reason.clone(),
            covered_from_level: self.level_at(hi),
            covered_to_level: self.level_at(lo),
            covered_z_from_mm: Some(csfleak_findings::Mm((hi * 10.0).round() / 10.0)),
            covered_z_to_mm: Some(csfleak_findings::Mm((lo * 10.0).round() / 10.0)),
            landmarks: self
                .landmarks()
                .into_iter()
                .map(|(z, level)| csfleak_findings::LevelLandmark {
                    level,
                    z_mm: csfleak_findings::Mm((z * 10.0).round() / 10.0),
                })
                .collect(),
        }
    }
}

fn ordered(r: (f64, f64)) -> (f64, f64) {
    (r.0.min(r.1), r.0.max(r.1))
}

/// Move a typical-axis position by `n` whole vertebrae (keeping its place within the segment).
fn shift_typical(t: f64, n: i32) -> f64 {
    let Some(lv) = level_at_typical(t) else {
        return t;
    };
    let base = typical_position_mm(lv);
    let moved = shift_level(lv, n);
    match moved {
        Some(m) => {
            // Keep the relative offset from the level centre, scaled by the two sizes.
            let size = |l: Level| {
                let v = match l {
                    Level::Vertebra(v) | Level::Disc(v) => usize::from(v.index()),
                };
                match l {
                    Level::Vertebra(_) => TYPICAL_MM[v].0,
                    Level::Disc(_) => TYPICAL_MM[v].1,
                }
                .max(0.5)
            };
            typical_position_mm(m) + (t - base) * size(m) / size(lv)
        }
        None => t,
    }
}

fn shift_level(l: Level, n: i32) -> Option<Level> {
    let (v, disc) = match l {
        Level::Vertebra(v) => (v, false),
        Level::Disc(v) => (v, true),
    };
    let idx = i32::from(v.index()) + n;
    let v = Vertebra::from_index(u8::try_from(idx).ok()?)?;
    if disc {
        v.next()?;
        Some(Level::Disc(v))
    } else {
        Some(Level::Vertebra(v))
    }
}

/// Number unlabelled disc centres (cranial first) outwards from an anchor.
fn label_from_anchor(discs: &[f64], anchor: LevelAnchor) -> Vec<(f64, f64)> {
    if discs.is_empty() {
        return Vec::new();
    }
    // The disc at (or the first disc below) the anchor.
    let (first_below, first_below_level) = match anchor.level {
        Level::Disc(v) => {
            let i = discs
                .iter()
                .enumerate()
                .min_by(|a, b| {
                    (a.1 - anchor.z_mm)
                        .abs()
                        .total_cmp(&(b.1 - anchor.z_mm).abs())
                })
                .map_or(0, |(i, _)| i);
            (i, Some(v))
        }
        Level::Vertebra(v) => {
            let i = discs
                .iter()
                .position(|&z| z < anchor.z_mm)
                .unwrap_or(discs.len());
            (i, Some(v))
        }
    };
    let Some(base) = first_below_level else {
        return Vec::new();
    };
    discs
        .iter()
        .enumerate()
        .filter_map(|(i, &z)| {
            let offset = i32::try_from(i).ok()? - i32::try_from(first_below).ok()?;
            let upper = shift_level(Level::Vertebra(base), offset)?;
            let Level::Vertebra(u) = upper else {
                return None;
            };
            u.next()?;
            Some((z, typical_position_mm(Level::Disc(u))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> Level {
        s.parse().unwrap()
    }

    /// Disc heights of a made-up patient 1.1x the typical size, cranial first, L1/2..L5/S1.
    fn lumbar_discs(scale: f64, top: f64) -> Vec<f64> {
        ["L1/2", "L2/3", "L3/4", "L4/5", "L5/S1"]
            .iter()
            .map(|d| top - scale * (typical_position_mm(l(d)) - typical_position_mm(l("L1/2"))))
            .collect()
    }

    #[test]
    fn typical_axis_is_ordered_and_inverts() {
        let mut prev = -1.0;
        for i in 0..Vertebra::COUNT {
            let v = Vertebra::from_index(i).unwrap();
            let t = typical_position_mm(Level::Vertebra(v));
            assert!(t > prev);
            assert_eq!(level_at_typical(t), Some(Level::Vertebra(v)));
            prev = t;
            if v.next().is_some() && TYPICAL_MM[usize::from(i)].1 > 0.0 {
                let td = typical_position_mm(Level::Disc(v));
                assert!(td > t);
                assert_eq!(level_at_typical(td), Some(Level::Disc(v)), "{v}");
                prev = td;
            }
        }
    }

    #[test]
    fn counted_from_the_sacrum_labels_bodies_and_discs() {
        let z = lumbar_discs(1.1, 100.0);
        let marks = count_discs_from_end(&z, CountEnd::LowestIsL5S1);
        assert_eq!(marks.len(), 5);
        assert_eq!(marks[0].level, Some(l("L1/2")));
        assert_eq!(marks[4].level, Some(l("L5/S1")));
        let (scale, dev) = spacing_fit(&marks).unwrap();
        assert!((scale - 1.1).abs() < 1e-9, "{scale}");
        assert!(dev < 1e-9);
        let s = LevelScale::from_landmarks(&marks, (-120.0, 200.0), "test", 0.9).unwrap();
        assert_eq!(s.status(), LevelStatus::Counted);
        for (zz, d) in z.iter().zip(["L1/2", "L2/3", "L3/4", "L4/5", "L5/S1"]) {
            assert_eq!(s.level_at(*zz), Some(l(d)));
        }
        // Half-way between L3/4 and L4/5 lies the L4 body.
        assert_eq!(s.level_at(0.5 * (z[2] + z[3])), Some(l("L4")));
        // Extrapolated above the top disc: L1, then T12.
        let l1_mid = z[0] + 1.1 * (typical_position_mm(l("L1/2")) - typical_position_mm(l("L1")));
        assert_eq!(s.level_at(l1_mid), Some(l("L1")));
        let t12 = s.z_of(l("T12")).unwrap();
        assert_eq!(s.level_at(t12), Some(l("T12")));
        assert!((s.z_of(l("L3/4")).unwrap() - z[2]).abs() < 1e-6);
        // Outside the covered span: unknown.
        assert_eq!(s.level_at(500.0), None);
        assert_eq!(s.range(z[3], z[0]), Some((l("L1/2"), l("L4/5"))));
    }

    #[test]
    fn counted_from_c2() {
        let z = [300.0, 281.0, 262.0];
        let marks = count_discs_from_end(&z, CountEnd::HighestIsC2C3);
        let names: Vec<String> = marks.iter().map(|m| m.level.unwrap().to_string()).collect();
        assert_eq!(names, ["C2/3", "C3/4", "C4/5"]);
    }

    #[test]
    fn not_counted_reports_positions_only() {
        let s = LevelScale::not_counted(
            (0.0, 150.0),
            &[Landmark::disc(100.0), Landmark::disc(75.0)],
            "t2_axial_discs/1",
            "neither the sacrum nor C2 is in view",
        );
        assert_eq!(s.status(), LevelStatus::NotCounted);
        assert!(!s.has_levels());
        assert_eq!(s.level_at(100.0), None);
        assert_eq!(s.range(0.0, 150.0), None);
        let f = s.to_findings();
        assert_eq!(f.status, LevelStatus::NotCounted);
        assert_eq!(f.covered_from_level, None);
        assert!(f.reason.unwrap().contains("sacrum"));
        assert_eq!(s.unlabelled().len(), 2);
    }

    #[test]
    fn anchor_numbers_unlabelled_discs() {
        let z = lumbar_discs(1.0, 80.0);
        let marks: Vec<Landmark> = z.iter().map(|&zz| Landmark::disc(zz)).collect();
        let s = LevelScale::not_counted((-120.0, 120.0), &marks, "m", "no end").with_anchor(
            LevelAnchor {
                level: l("L5/S1"),
                z_mm: z[4] + 1.0,
            },
        );
        assert_eq!(s.status(), LevelStatus::Anchored);
        assert_eq!(s.level_at(z[0]), Some(l("L1/2")));
        assert_eq!(s.level_at(z[4] + 1.0), Some(l("L5/S1")));
        assert_eq!(s.level_at(0.5 * (z[1] + z[2])), Some(l("L3")));
    }

    #[test]
    fn anchor_wins_over_the_automatic_count() {
        // Automatic count one vertebra off (called L1/2..L5/S1, truly T12/L1..L4/5).
        let z = lumbar_discs(1.0, 80.0);
        let marks = count_discs_from_end(&z, CountEnd::LowestIsL5S1);
        let s = LevelScale::from_landmarks(&marks, (-150.0, 150.0), "auto", 0.8)
            .unwrap()
            .with_anchor(LevelAnchor {
                level: l("L4/5"),
                z_mm: z[4],
            });
        assert_eq!(s.status(), LevelStatus::Anchored);
        assert_eq!(s.level_at(z[4]), Some(l("L4/5")));
        assert_eq!(s.level_at(z[0]), Some(l("T12/L1")));
        assert!(
            s.reason().unwrap().contains("shifted by -1"),
            "{:?}",
            s.reason()
        );
    }

    #[test]
    fn anchor_alone_extrapolates_with_typical_heights() {
        let s = LevelScale::not_counted((0.0, 200.0), &[], "m", "none").with_anchor(LevelAnchor {
            level: l("L3"),
            z_mm: 100.0,
        });
        assert_eq!(s.level_at(100.0), Some(l("L3")));
        assert_eq!(s.level_at(100.0 + 36.0), Some(l("L2")));
        assert!(s.confidence() > 0.0 && s.confidence() < 0.5);
    }

    /// A straight C2-to-sacrum stack of a typical-sized spine: discs from C2/3 down to `last`
    /// except `missed`, the stack from 30 mm above C2/3 to 32 mm below `last`, the cord down
    /// to the L1 body. Returns the scale counted on it.
    fn both_ends_stack(last: &str, missed: &str) -> LevelScale {
        let top = 500.0;
        let z = |name: &str| top - typical_position_mm(l(name));
        let mut all: Vec<Level> = Vec::new();
        let mut v = Vertebra::from_index(1);
        while let Some(u) = v {
            let disc = Level::Disc(u);
            if u.next().is_none() || TYPICAL_MM[usize::from(u.index())].1 < 2.0 {
                break;
            }
            all.push(disc);
            if disc == l(last) {
                break;
            }
            v = u.next();
        }
        let discs: Vec<f64> = all
            .iter()
            .filter(|d| **d != l(missed))
            .map(|d| top - typical_position_mm(*d))
            .collect();
        let stack = (z(last) - 32.0, z("C2/3") + 30.0);
        let mut profile = Vec::new();
        let mut zz = stack.0;
        while zz <= stack.1 {
            let near = discs.iter().any(|d| (d - zz).abs() <= 3.0);
            profile.push((zz, if near { 1.0 } else { 0.0 }));
            zz += 2.0;
        }
        let conus = z("L1");
        let cord: Vec<(f64, f64)> = profile
            .iter()
            .map(|p| (p.0, if p.0 > conus { 1.0 } else { 0.0 }))
            .collect();
        let area: Vec<(f64, f64)> = profile.iter().map(|p| (p.0, 150.0)).collect();
        let ends = EndsInView {
            discs_z_mm: &discs,
            stack_z_mm: stack,
            sac_z_mm: stack,
            step_mm: 2.0,
            disc_profile_mm: &profile,
            cord_fraction_mm: &cord,
            sac_area_mm: &area,
        };
        count_from_ends(&ends, stack, "test")
    }

    #[test]
    fn both_ends_count_bridges_a_missed_disc() {
        let s = both_ends_stack("L5/S1", "T6/7");
        assert_eq!(s.status(), LevelStatus::Counted, "{:?}", s.reason());
        assert!(
            s.reason().unwrap().contains("both ends"),
            "{:?}",
            s.reason()
        );
        let top = 500.0;
        for name in ["C2/3", "T6/7", "T7", "L1/2", "L5/S1"] {
            let z = top - typical_position_mm(l(name));
            assert_eq!(s.level_at(z), Some(l(name)), "{name}");
        }
    }

    #[test]
    fn both_ends_count_refuses_a_stack_ending_at_l4_5() {
        // The lowest disc is L4/5: no alignment of the discs between C2/3 and "L5/S1" fits.
        for missed in ["T6/7", "C1/2"] {
            let s = both_ends_stack("L4/5", missed);
            assert_eq!(
                s.status(),
                LevelStatus::NotCounted,
                "{missed}: {:?}",
                s.reason()
            );
            // Refused by the alignment, not for want of evidence at the ends.
            let why = s.reason().unwrap();
            assert!(
                why.contains("both ends: the spacing between")
                    || why.contains("both ends: the best fit needs")
                    || why.contains("both ends: the length between"),
                "{why}"
            );
        }
    }

    #[test]
    fn contradicting_landmarks_are_an_error() {
        let bad = [
            Landmark::labelled(100.0, l("L4/5")),
            Landmark::labelled(60.0, l("L2/3")),
        ];
        assert!(LevelScale::from_landmarks(&bad, (0.0, 200.0), "m", 1.0).is_err());
        let none =
            LevelScale::from_landmarks(&[Landmark::disc(3.0)], (0.0, 9.0), "m", 1.0).unwrap();
        assert_eq!(none.status(), LevelStatus::NotCounted);
    }
}
