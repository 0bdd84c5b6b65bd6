//! The analysis: time points, ROIs, counts, retention, bladder, convexity and paraspinal
//! accumulations.

use csfleak_findings::{AccumulationPattern, Level, NmView, Region, Side};
use csfleak_volume::Overlay;
use csfleak_volume::overlay::{OverlayMask, OverlayText, colors};
use std::borrow::Cow;

use ndarray::{Array2, s};
use rayon::prelude::*;
use serde::Serialize;

use crate::anatomy::{self, Anatomy};
use crate::image::{Prepared, median, quantile, quantile_of, register_prepared, shift, smooth};
use crate::input::{CisternoInput, CisternoOptions, Frame, ViewKind};
use crate::{Error, Result};

/// How the CSF ROI is drawn; stated in every output (clinical.md §3.3: the convention is
/// unverified).
pub const ROI_POLICY: &str = "whole CSF space (intracranial rows from the vertex to the foramen \
     magnum, spinal canal to the caudal end of the sac, drawn on the images and registered across \
     time points; both ends must be in the field); paraspinal activity beyond the first valley of \
     the canal profile, kidneys and bladder excluded; on rows where the ROI holds significantly \
     more (3 sigma and 15 %) than the canal core (8 mm either side of the axis) times the study's \
     own ROI-to-core ratio, that excess is taken as extrathecal and excluded; background from a \
     band beside the canal, bridged over organs and accumulations lying in the band (kidneys, \
     bladder, posterior fossa blur), subtracted";

/// One time point: its frames in the canonical layout.
#[derive(Debug, Clone)]
struct Canon {
    /// Counts, head up, increasing column toward the patient's left.
    counts: Array2<f64>,
    /// Counts per second per count (1 / duration), or 1 without a duration.
    per_s: f64,
    /// Whether columns / rows were flipped from the acquired layout.
    flip_cols: bool,
    flip_rows: bool,
    /// Index into the input frames.
    frame: usize,
}

#[derive(Debug, Clone)]
struct Tp {
    hours: f64,
    ant: Option<Canon>,
    post: Option<Canon>,
    /// Shift `(dr, dc)` taking this time point onto the reference frame.
    shift: (isize, isize),
}

/// A smoothed frame in the reference frame and its 99.5th percentile.
type Smoothed = (Array2<f64>, f64);
/// A frame, its counts moved into the reference frame, and their row background.
type Moved<'a> = (&'a Canon, Cow<'a, Array2<f64>>, Vec<f64>);
/// Counts of one time point (every view), its bladder test values (net, total raw, csf;
/// anterior first) and the number of rows where extrathecal activity was excluded.
type TpCounts = (Vec<TimePointCounts>, Option<(f64, f64, f64)>, usize);

/// Counts of one time point and view (per second when frame durations are known).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TimePointCounts {
    /// Hours after injection.
    pub hours: f64,
    /// Anterior, posterior or their geometric mean.
    pub view: NmView,
    /// Whole-CSF ROI, background subtracted.
    pub csf: f64,
    /// Intracranial part of the CSF ROI.
    pub intracranial: f64,
    /// Convexity part of the intracranial ROI.
    pub convexity: f64,
    /// Bladder ROI, background subtracted; `None` when the bladder is not in the field.
    pub bladder: Option<f64>,
    /// Both kidney ROIs; `None` when not in the field.
    pub kidneys: Option<f64>,
    /// Whether counts are per second (false: raw counts, durations unknown).
    pub per_second: bool,
}

/// Retention of one view.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ViewRetention {
    /// View.
    pub view: NmView,
    /// `100 C(t24) / C(t_ref)`.
    pub raw_pct: f64,
    /// `raw_pct / D(t24 - t_ref)`.
    pub decay_corrected_pct: f64,
}

/// The 24-hour retention (clinical.md §3.3-3.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Retention {
    /// Reference time (hours).
    pub reference_h: f64,
    /// The "24 h" time point actually used (hours).
    pub late_h: f64,
    /// `D = exp(-ln2 (t24 - t_ref) / T1/2)`.
    pub decay_factor: f64,
    /// Half-life used (s).
    pub half_life_s: f64,
    /// Per view: anterior, posterior, geometric mean (those available).
    pub per_view: Vec<ViewRetention>,
    /// The view reported in the findings.
    pub graded_view: NmView,
    /// ROI policy.
    pub roi_policy: String,
}

impl Retention {
    /// The retention of one view.
    pub fn view(&self, view: NmView) -> Option<&ViewRetention> {
        self.per_view.iter().find(|v| v.view == view)
    }
}

/// Bladder visibility per time point and the early-bladder windows (clinical.md §3.5).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Bladder {
    /// `(hours, visible)` per time point.
    pub visible: Vec<(f64, bool)>,
    /// First time point with bladder activity above background.
    pub first_visible_h: Option<f64>,
    /// Visible at or before the MHLW 2011 window (2.5 h; reference finding only).
    pub within_mhlw: bool,
    /// Visible at or before the GL2007 window (3 h).
    pub within_gl2007: bool,
    /// The MHLW and GL2007 windows used (hours).
    pub windows_h: (f64, f64),
    /// How visibility was decided.
    pub rule: String,
}

/// Convexity activity at 24 h (clinical.md §2.3 B-2, §3.6).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Convexity {
    /// Hours of the image used.
    pub hours: f64,
    /// Convexity share of intracranial counts.
    pub fraction: f64,
    /// Whether activity is present (`fraction >= threshold`).
    pub present: bool,
    /// The threshold.
    pub threshold: f64,
}

/// One paraspinal accumulation found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Accumulation {
    /// Pattern.
    pub pattern: AccumulationPattern,
    /// Centre level.
    pub level: Level,
    /// Most cranial and most caudal levels.
    pub from_level: Level,
    /// Most caudal level.
    pub to_level: Level,
    /// Side (`bilateral` for symmetric patterns; the stronger side otherwise).
    pub side: Side,
    /// `(L - R) / (L + R)` of the excess counts.
    pub asymmetry_index: f64,
    /// Excess counts over the study baseline, left and right.
    pub excess_left: f64,
    /// Excess counts on the right.
    pub excess_right: f64,
    /// Hours of the image it was read on.
    pub hours: f64,
    /// Frame index into the input frames.
    pub frame: usize,
}

/// A point of the time-activity curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CurvePoint {
    /// Hours after injection.
    pub hours: f64,
    /// View.
    pub view: NmView,
    /// Whole-CSF counts (per second when durations are known).
    pub csf: f64,
    /// Percent of the reference, raw.
    pub raw_pct: f64,
    /// Percent of the reference, decay-corrected.
    pub decay_corrected_pct: f64,
}

/// A measurement with the reason it could not be made.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome<T> {
    /// Measured.
    Measured(T),
    /// Valid input that cannot answer the question.
    NotAssessable {
        /// Why.
        reason: String,
    },
}

impl<T> Outcome<T> {
    fn na(reason: impl Into<String>) -> Self {
        Self::NotAssessable {
            reason: reason.into(),
        }
    }

    /// The value, if measured.
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Measured(v) => Some(v),
            Self::NotAssessable { .. } => None,
        }
    }

    /// The reason, if not assessable.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Measured(_) => None,
            Self::NotAssessable { reason } => Some(reason),
        }
    }
}

/// Everything the analysis found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Analysis {
    /// Hours of every time point, ascending.
    pub hours: Vec<f64>,
    /// Counts per time point and view (anterior, posterior, geometric mean).
    pub counts: Vec<TimePointCounts>,
    /// 24-hour retention.
    pub retention: Outcome<Retention>,
    /// Early bladder.
    pub bladder: Outcome<Bladder>,
    /// Convexity at 24 h.
    pub convexity: Outcome<Convexity>,
    /// Paraspinal accumulations (empty when none).
    pub accumulations: Outcome<Vec<Accumulation>>,
    /// Time-activity curve of the whole-CSF ROI.
    pub curve: Vec<CurvePoint>,
    /// ROI overlays on every time point and view (lateral views: the image with its time,
    /// no ROI: they are not counted).
    pub overlays: Vec<Overlay>,
    /// Index into the input frames of the frame under each overlay (same order).
    pub overlay_frames: Vec<usize>,
    /// Registration shift `(rows, cols)` of every time point onto the reference.
    pub shifts: Vec<(isize, isize)>,
    /// Reference time of the curve and the retention (hours), if there is one.
    pub reference_h: Option<f64>,
    /// Half-life used for decay correction (s).
    pub half_life_s: f64,
    /// Indices (into the input frames) of the lateral views: reported, never counted.
    pub lateral_frames: Vec<usize>,
    /// Caveats.
    pub notes: Vec<String>,
}

fn canon(frame: &Frame, index: usize, durations_known: bool) -> Canon {
    let flip_cols = match frame.columns_toward_patient_left {
        Some(left) => !left,
        None => frame.view == ViewKind::Posterior,
    };
    let flip_rows = frame.rows_toward_feet == Some(false);
    let mut v = frame.pixels.mapv(|x| {
        if x.is_finite() {
            f64::from(x).max(0.0)
        } else {
            0.0
        }
    });
    if flip_cols {
        v = v.slice(s![.., ..;-1]).to_owned();
    }
    if flip_rows {
        v = v.slice(s![..;-1, ..]).to_owned();
    }
    let per_s = match frame.frame_duration_s {
        Some(d) if durations_known && d > 0.0 => 1.0 / d,
        _ => 1.0,
    };
    Canon {
        counts: v,
        per_s,
        flip_cols,
        flip_rows,
        frame: index,
    }
}

/// Undo the canonical flips of a frame on a mask.
fn to_acquired<T: Clone>(m: &Array2<T>, c: &Canon) -> Array2<T> {
    let mut v = m.clone();
    if c.flip_rows {
        v = v.slice(s![..;-1, ..]).to_owned();
    }
    if c.flip_cols {
        v = v.slice(s![.., ..;-1]).to_owned();
    }
    v
}

fn shift_mask(m: &Array2<bool>, dr: isize, dc: isize) -> Array2<bool> {
    if dr == 0 && dc == 0 {
        return m.clone();
    }
    let f = m.mapv(|b| if b { 1.0 } else { 0.0 });
    shift(&f, dr, dc).mapv(|x| x > 0.5)
}

/// The pixels of a mask as runs along its rows, `(row, first column, end column)` in row-major
/// order: sums over the runs add the same values in the same order as a pass over the whole
/// image that skips the pixels outside the mask.
#[derive(Debug, Clone, Default)]
struct Runs(Vec<(usize, usize, usize)>);

impl Runs {
    /// The runs of the pixels where `on` holds.
    fn of<T>(m: &Array2<T>, on: impl Fn(&T) -> bool) -> Self {
        let mut runs = Vec::new();
        for (r, row) in m.rows().into_iter().enumerate() {
            let mut start = None;
            for (c, x) in row.iter().enumerate() {
                match (on(x), start) {
                    (true, None) => start = Some(c),
                    (false, Some(c0)) => {
                        runs.push((r, c0, c));
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(c0) = start {
                runs.push((r, c0, row.len()));
            }
        }
        Self(runs)
    }

    /// Every pixel `(row, column, value)` of the runs in `img`, in row-major order.
    fn pixels<'a>(
        &'a self,
        img: &'a Array2<f64>,
    ) -> impl Iterator<Item = (usize, usize, f64)> + 'a {
        self.0.iter().flat_map(move |&(r, c0, c1)| {
            img.row(r)
                .slice_move(s![c0..c1])
                .into_iter()
                .enumerate()
                .map(move |(k, &v)| (r, c0 + k, v))
        })
    }
}

/// The ROIs of an [`Anatomy`] as runs (see [`Runs`]).
struct RoiRuns {
    csf: Runs,
    head: Runs,
    convexity: Runs,
    bladder: Option<Runs>,
    /// The bladder's background ring (any sector).
    bladder_ring: Option<Runs>,
    kidneys: Option<Runs>,
    /// The band beside the canal (row background).
    csf_ring: Runs,
}

impl RoiRuns {
    fn of(a: &Anatomy) -> Self {
        let on = |b: &bool| *b;
        Self {
            csf: Runs::of(&a.csf, on),
            head: Runs::of(&a.head, on),
            convexity: Runs::of(&a.convexity, on),
            bladder: a.bladder.as_ref().map(|m| Runs::of(m, on)),
            bladder_ring: a.bladder_ring.as_ref().map(|m| Runs::of(m, |&k| k != 0)),
            kidneys: a.kidneys.as_ref().map(|m| Runs::of(m, on)),
            csf_ring: Runs::of(&a.csf_ring, on),
        }
    }
}

/// Sum and pixel count of `img` over a mask's runs.
fn masked_sum(img: &Array2<f64>, m: &Runs) -> (f64, usize) {
    m.pixels(img)
        .fold((0.0, 0), |(s, n), (_, _, v)| (s + v, n + 1))
}

/// Background counts per pixel of a ring split into sectors (`sectors[px]` = 1..=N, 0 = not
/// in the ring): the median of the sector means, over the sectors holding at least half the
/// pixels of an average sector (the ring is cut where it meets the CSF ROI or the field edge).
///
/// A mean per sector, not a median per pixel: late images hold a few tenths of a count per
/// pixel, where the median of the pixels is 0 and the bladder's own background is left in it;
/// the median over sectors ignores activity lying in a few of them (a kidney, a leak, a leg).
/// `ring` holds the runs of the ring's pixels (`sectors != 0`).
fn sector_background(img: &Array2<f64>, sectors: &Array2<u8>, ring: &Runs) -> f64 {
    let n = usize::from(anatomy::BLADDER_RING_SECTORS);
    let mut sum = vec![0.0_f64; n];
    let mut count = vec![0_usize; n];
    for (r, c, v) in ring.pixels(img) {
        if let Some(i) = usize::from(sectors[(r, c)])
            .checked_sub(1)
            .filter(|&i| i < n)
        {
            sum[i] += v;
            count[i] += 1;
        }
    }
    let total: usize = count.iter().sum();
    let means: Vec<f64> = (0..n)
        .filter(|&i| count[i] > 0 && 2 * n * count[i] >= total)
        .map(|i| sum[i] / count[i] as f64)
        .collect();
    mean_median(&means)
}

/// Median of a few values, the mean of the two middle ones for an even count; `0` when empty.
fn mean_median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 0 {
        0.5 * (v[m - 1] + v[m])
    } else {
        v[m]
    }
}

/// Background per row (counts per pixel), from the band outside the canal ROI, each side on
/// its own: per side, the pooled mean over ±15 mm of rows (a mean, not a median: late images
/// hold a few tenths of a count per pixel, where a median is 0 and the head ROI's thousands
/// of pixels would keep their background). Sides that agree within their noise are averaged;
/// where one side is significantly higher (a leak raises one side) the smaller is taken (the
/// smaller of two noisy values is biased low, so it is not taken by default). Above the spine
/// (head rows): the median of the spinal rows 40-200 mm below the foramen magnum (the first
/// 40 mm when the field holds less of the spine).
/// `ring` holds the runs of `a.csf_ring`.
fn row_background(img: &Array2<f64>, a: &Anatomy, ring: &Runs) -> Vec<f64> {
    /// Standard deviations within which the two sides' backgrounds agree.
    const SIDES_AGREE_SD: f64 = 3.0;
    let rows = img.nrows();
    let (top, bottom) = a.spine_rows;
    let bottom = bottom.min(rows - 1);
    // Per side and row: band counts and pixels.
    let mut sums = [vec![0.0_f64; rows], vec![0.0_f64; rows]];
    let mut npx = [vec![0.0_f64; rows], vec![0.0_f64; rows]];
    for (r, c, v) in ring.pixels(img) {
        if (top..=bottom).contains(&r) {
            let s = usize::from((c as f64) < a.axis[r]);
            sums[s][r] += v;
            npx[s][r] += 1.0;
        }
    }
    let mean_of = |s: usize, r: usize| {
        if npx[s][r] > 0.0 {
            sums[s][r] / npx[s][r]
        } else {
            f64::NAN
        }
    };
    let raw: Vec<f64> = (0..rows)
        .map(|r| mean_of(0, r).min(mean_of(1, r)))
        .collect();
    let half = csfleak_volume::index_of((15.0 / a.spacing[0]).round()).unwrap_or(1);
    // Row-to-row scatter of one side beyond Poisson (structure in the soft tissue): MAD of
    // the differences of the per-row means, 1.4826 MAD / sqrt(2) per row.
    let scatter = |s: usize| {
        let m: Vec<f64> = (top..=bottom).map(|r| mean_of(s, r)).collect();
        let diffs: Vec<f64> = m
            .windows(2)
            .filter(|p| p[0].is_finite() && p[1].is_finite())
            .map(|p| (p[1] - p[0]).abs())
            .collect();
        1.4826 * median(&diffs) / std::f64::consts::SQRT_2
    };
    let row_sd = [scatter(0), scatter(1)];
    let mut out = vec![0.0; rows];
    for (r, slot) in out.iter_mut().enumerate().take(bottom + 1).skip(top) {
        let (lo, hi) = (r.saturating_sub(half).max(top), (r + half).min(bottom));
        let nrows = (hi + 1 - lo) as f64;
        let pooled = |s: usize| {
            let (c, n): (f64, f64) =
                (lo..=hi).fold((0.0, 0.0), |acc, k| (acc.0 + sums[s][k], acc.1 + npx[s][k]));
            if n > 0.0 {
                // Mean, and its standard error: Poisson or the rows' own scatter.
                let m = c / n;
                Some((m, (c.max(1.0).sqrt() / n).max(row_sd[s] / nrows.sqrt())))
            } else {
                None
            }
        };
        *slot = match (pooled(0), pooled(1)) {
            (Some((l, sl)), Some((rr, sr))) => {
                if (l - rr).abs() <= SIDES_AGREE_SD * sl.hypot(sr) {
                    0.5 * (l + rr)
                } else {
                    l.min(rr)
                }
            }
            (Some((m, _)), None) | (None, Some((m, _))) => m,
            (None, None) => f64::NAN,
        };
    }
    // Rows without a band (none in practice): the nearest row with one.
    for r in top..=bottom {
        if !out[r].is_finite() {
            out[r] = (top..=bottom)
                .filter(|&k| out[k].is_finite())
                .min_by_key(|&k| k.abs_diff(r))
                .map_or(0.0, |k| out[k]);
        }
    }
    bridge_bumps(
        &mut out,
        &raw,
        top,
        bottom.min(rows - 1),
        a.spacing[0],
        half,
    );
    // The head background comes from the spinal rows 40-200 mm below the foramen magnum: the
    // first centimetres of the neck still hold the blur of the posterior fossa and cisterna
    // magna (their background would be too high); a median over 16 cm ignores a leak there.
    let mm = |d: f64| csfleak_volume::index_of((d / a.spacing[0]).round()).unwrap_or(1);
    let (n0, n1) = (top + mm(40.0), (top + mm(200.0)).min(bottom));
    let trunk: Vec<f64> = if n1 > n0 + mm(40.0) {
        (n0..=n1).map(|r| out[r]).collect()
    } else {
        (top..=(top + mm(40.0)).min(bottom))
            .map(|r| out[r])
            .collect()
    };
    let head_bg = median(&trunk);
    for v in out.iter_mut().take(top) {
        *v = head_bg;
    }
    out
}

/// Replace the background of rows where the band beside the canal holds activity of its own
/// (kidneys, bladder, the blur of the posterior fossa at the foramen magnum) by a linear
/// interpolation between the clean rows around them.
///
/// Such organs lie against the canal on both sides over up to ~12 cm of rows, so neither the
/// smaller side nor the ±15 mm median removes them, and subtracting them takes counts out of the
/// canal. The soft-tissue background changes slowly along the body: a row is contaminated where
/// its background exceeds the morphological opening (running minimum, then maximum, over
/// ±`OPEN_MM`) by half of it and by 4 standard deviations of the smoothed background (the noise
/// is read from the row-to-row differences of the unsmoothed values).
fn bridge_bumps(out: &mut [f64], raw: &[f64], top: usize, bottom: usize, sr: f64, half: usize) {
    const OPEN_MM: f64 = 80.0;
    if bottom <= top + 2 {
        return;
    }
    let seg = &out[top..=bottom];
    let n = seg.len();
    let w = csfleak_volume::index_of((OPEN_MM / sr).round())
        .unwrap_or(1)
        .max(1);
    let run = |v: &[f64], pick: fn(f64, f64) -> f64, init: f64| -> Vec<f64> {
        (0..n)
            .map(|i| {
                v[i.saturating_sub(w)..(i + w + 1).min(n)]
                    .iter()
                    .fold(init, |acc, &x| pick(acc, x))
            })
            .collect()
    };
    let opened = run(
        &run(seg, f64::min, f64::INFINITY),
        f64::max,
        f64::NEG_INFINITY,
    );
    let diffs: Vec<f64> = raw[top..=bottom]
        .windows(2)
        .filter(|p| p[0].is_finite() && p[1].is_finite())
        .map(|p| (p[1] - p[0]).abs())
        .collect();
    // MAD of a difference of two values: 1.4826 MAD / sqrt(2) per value; the median of
    // 2 half + 1 values has about 1.25 / sqrt(2 half + 1) of that.
    let sd_raw = 1.4826 * median(&diffs) / std::f64::consts::SQRT_2;
    let sd = 1.25 * sd_raw / ((2 * half + 1) as f64).sqrt();
    let clean: Vec<bool> = (0..n)
        .map(|i| seg[i] <= opened[i] + (0.5 * opened[i]).max(4.0 * sd))
        .collect();
    if clean.iter().all(|&c| c) || !clean.iter().any(|&c| c) {
        return;
    }
    let fixed: Vec<f64> = (0..n)
        .map(|i| {
            if clean[i] {
                return seg[i];
            }
            let before = (0..i).rev().find(|&j| clean[j]);
            let after = (i + 1..n).find(|&j| clean[j]);
            match (before, after) {
                (Some(b), Some(e)) => {
                    let t = (i - b) as f64 / (e - b) as f64;
                    seg[b] + t * (seg[e] - seg[b])
                }
                (Some(b), None) => seg[b],
                (None, Some(e)) => seg[e],
                (None, None) => seg[i],
            }
        })
        .collect();
    out[top..=bottom].copy_from_slice(&fixed);
}

/// Net counts of the whole-CSF ROI of one registered image and the number of spinal rows
/// where activity beside the canal was excluded.
///
/// The spinal ROI reaches out to the first valley of the canal profile, which also takes in
/// extrathecal activity lying against the canal (root-sleeve streaks, epidural collections).
/// Per row, the ROI counts are compared with the canal core (within `CORE_MM` of the axis)
/// times the ROI-to-core ratio of the canal itself (running median over ±`RATIO_WINDOW_MM`
/// of rows: a leak spans a few levels, the canal's cross-section changes slowly; at ±100 mm a
/// cervicothoracic accumulation of a few levels filled ~40 % of the window near the top of the
/// spinal ROI and pushed the median up, so its own excess was kept). Where the
/// ROI holds significantly more (3 Poisson standard deviations and `MIN_RELATIVE_EXCESS` of
/// the expected counts over ±`GATE_MM` of rows), the excess is extrathecal and is left out.
/// `csf` holds the runs of `a.csf`.
fn csf_net_counts(
    img: &Array2<f64>,
    bg: &[f64],
    a: &Anatomy,
    csf: &Runs,
    o: &CisternoOptions,
) -> (f64, usize) {
    const CORE_MM: f64 = 8.0;
    const RATIO_WINDOW_MM: f64 = 150.0;
    const GATE_MM: f64 = 6.0;
    const MIN_RELATIVE_EXCESS: f64 = 0.15;
    let rows = img.nrows();
    let (top, bottom) = a.spine_rows;
    let bottom = bottom.min(rows - 1);
    let mut head = 0.0;
    let n = bottom + 1 - top.min(bottom + 1);
    let (mut full, mut core, mut wing_raw) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for (r, c, v) in csf.pixels(img) {
        let x = v - bg[r];
        if r < top || r > bottom {
            head += x;
            continue;
        }
        let i = r - top;
        full[i] += x;
        if ((c as f64 - a.axis[r]) * a.spacing[1]).abs() <= CORE_MM {
            core[i] += x;
        } else {
            wing_raw[i] += v.max(0.0);
        }
    }
    let spine_total: f64 = full.iter().sum();
    if !o.exclude_extrathecal || n < 10 {
        return ((head + spine_total).max(0.0), 0);
    }
    // Ratio of the ROI to the core where the core is clearly above background.
    let core_max = core.iter().copied().fold(0.0, f64::max);
    let ratio: Vec<f64> = (0..n)
        .map(|i| {
            if core[i] > 0.05 * core_max && core[i] > 0.0 {
                full[i] / core[i]
            } else {
                f64::NAN
            }
        })
        .collect();
    let half = csfleak_volume::index_of((RATIO_WINDOW_MM / a.spacing[0]).round()).unwrap_or(1);
    let gate = csfleak_volume::index_of((GATE_MM / a.spacing[0]).round()).unwrap_or(0);
    let expected: Vec<f64> = (0..n)
        .map(|i| {
            let w: Vec<f64> = ratio[i.saturating_sub(half)..(i + half + 1).min(n)]
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            if w.len() * 4 < (2 * half + 1).min(n) || core[i] <= 0.0 {
                f64::NAN
            } else {
                core[i] * median(&w).max(1.0)
            }
        })
        .collect();
    let excess: Vec<f64> = (0..n)
        .map(|i| {
            if expected[i].is_finite() {
                full[i] - expected[i]
            } else {
                0.0
            }
        })
        .collect();
    let mut spine = 0.0;
    let mut corrected = 0;
    for i in 0..n {
        let (lo, hi) = (i.saturating_sub(gate), (i + gate + 1).min(n));
        let ex: f64 = excess[lo..hi].iter().sum();
        let sigma = wing_raw[lo..hi].iter().sum::<f64>().max(1.0).sqrt();
        let exp_sum: f64 = expected[lo..hi].iter().filter(|v| v.is_finite()).sum();
        if excess[i] > 0.0 && ex > 3.0 * sigma && ex > MIN_RELATIVE_EXCESS * exp_sum {
            spine += expected[i];
            corrected += 1;
        } else {
            spine += full[i];
        }
    }
    ((head + spine).max(0.0), corrected)
}

/// Group frames into time points (ascending), keeping the first anterior and posterior
/// frame of each; frames of another matrix size than the first time point are left out.
/// Lateral views are returned apart (frame indices): they are reported, never counted or
/// mixed into the geometric mean.
fn time_points(
    input: &CisternoInput,
    o: &CisternoOptions,
    notes: &mut Vec<String>,
) -> (Vec<Tp>, Vec<usize>) {
    let mut order: Vec<usize> = (0..input.frames.len()).collect();
    order.sort_by(|&a, &b| input.frames[a].hours.total_cmp(&input.frames[b].hours));
    let durations_known = input
        .frames
        .iter()
        .all(|f| f.frame_duration_s.is_some_and(|d| d > 0.0));
    if !durations_known {
        notes.push(
            "frame durations missing: raw counts compared, equal acquisition times assumed"
                .to_owned(),
        );
    }
    let dims = order
        .iter()
        .map(|&i| &input.frames[i])
        .find(|f| f.view != ViewKind::Lateral)
        .map(|f| f.pixels.dim());
    let mut tps: Vec<Tp> = Vec::new();
    let mut lateral = Vec::new();
    for i in order {
        let f = &input.frames[i];
        if f.view == ViewKind::Lateral {
            notes.push(format!(
                "lateral view at {:.2} h reported for confirmation only (counts and the geometric \
                 mean use the anterior and posterior views)",
                f.hours
            ));
            lateral.push(i);
            continue;
        }
        if Some(f.pixels.dim()) != dims {
            notes.push(format!(
                "{} frame at {:.2} h has another matrix size and was left out",
                f.view.as_str(),
                f.hours
            ));
            continue;
        }
        let c = canon(f, i, durations_known);
        let tp = match tps.last_mut() {
            Some(tp) if (f.hours - tp.hours).abs() <= o.pairing_tolerance_h => tp,
            _ => {
                tps.push(Tp {
                    hours: f.hours,
                    ant: None,
                    post: None,
                    shift: (0, 0),
                });
                let n = tps.len();
                &mut tps[n - 1]
            }
        };
        let slot = if f.view == ViewKind::Anterior {
            &mut tp.ant
        } else {
            &mut tp.post
        };
        if slot.is_none() {
            *slot = Some(c);
        } else {
            notes.push(format!(
                "a second {} frame at {:.2} h was left out",
                f.view.as_str(),
                f.hours
            ));
        }
    }
    (tps, lateral)
}

fn validate(input: &CisternoInput) -> Result<()> {
    if !(input.half_life_s.is_finite() && input.half_life_s > 0.0) {
        return Err(Error::InvalidInput {
            reason: format!("half-life {} s is not a positive number", input.half_life_s),
        });
    }
    for f in &input.frames {
        if !f.hours.is_finite() {
            return Err(Error::InvalidInput {
                reason: "a frame has a non-finite time after injection".to_owned(),
            });
        }
        if f.pixels.is_empty() {
            return Err(Error::InvalidInput {
                reason: format!(
                    "the {} frame at {:.2} h has no pixels",
                    f.view.as_str(),
                    f.hours
                ),
            });
        }
        if let Some(sp) = f.pixel_spacing_mm {
            if !(sp[0] > 0.0 && sp[1] > 0.0 && sp[0].is_finite() && sp[1].is_finite()) {
                return Err(Error::InvalidInput {
                    reason: format!("pixel spacing {sp:?} is not positive"),
                });
            }
        }
    }
    Ok(())
}

/// Analyse a cisternography examination.
///
/// Errors only for unusable input (non-finite times, empty frames, a non-positive
/// half-life); missing time points or views give `not_assessable` outcomes.
pub fn analyze(input: &CisternoInput, o: &CisternoOptions) -> Result<Analysis> {
    validate(input)?;
    let mut notes = input.notes.clone();
    let (mut tps, lateral_frames) = time_points(input, o, &mut notes);
    if tps.is_empty() {
        return Ok(Analysis::empty(
            "no anterior or posterior planar frames".to_owned(),
            notes,
            input.half_life_s,
            lateral_frames,
        ));
    }
    let first = tps[0]
        .ant
        .as_ref()
        .or(tps[0].post.as_ref())
        .map(|c| c.frame);
    let spacing = first
        .and_then(|i| input.frames[i].pixel_spacing_mm)
        .unwrap_or([o.default_pixel_mm; 2]);
    if first
        .and_then(|i| input.frames[i].pixel_spacing_mm)
        .is_none()
    {
        notes.push(format!(
            "pixel spacing missing: {} mm assumed for ROI sizes and levels",
            o.default_pixel_mm
        ));
    }
    let fwhm_px = o.smoothing_fwhm_mm / spacing[0].min(spacing[1]);

    // Registration: each time point onto the previous one, chained to the first; lateral
    // only, because tracer moving up the canal between time points biases a craniocaudal
    // correlation (the same bed start is assumed).
    let combined: Vec<Array2<f64>> = tps
        .iter()
        .map(|tp| {
            let mut acc: Option<Array2<f64>> = None;
            for c in [&tp.ant, &tp.post].into_iter().flatten() {
                let x = &c.counts * c.per_s;
                acc = Some(match acc {
                    Some(a) => a + x,
                    None => x,
                });
            }
            acc.unwrap_or_else(|| Array2::zeros((1, 1)))
        })
        .collect();
    let max_px = csfleak_volume::index_of((20.0 / spacing[0].min(spacing[1])).round()).unwrap_or(0);
    // Each time point prepared once, the pairs registered in parallel, chained in order.
    let prepared: Vec<Prepared> = combined.par_iter().map(Prepared::new).collect();
    let steps: Vec<(isize, isize)> = prepared
        .par_windows(2)
        .map(|w| register_prepared(&w[0], &w[1], 0, max_px))
        .collect();
    drop(prepared);
    for (i, (dr, dc)) in steps.into_iter().enumerate().map(|(i, d)| (i + 1, d)) {
        let prev = tps[i - 1].shift;
        tps[i].shift = (prev.0 + dr, prev.1 + dc);
    }
    if tps.iter().any(|t| t.shift != (0, 0)) {
        notes.push("time points were shifted to register them (see shifts)".to_owned());
    }

    // Ever-bright map in the reference frame.
    let dims = combined[0].dim();
    let mut ever = Array2::<f64>::zeros(dims);
    // Frames are smoothed in parallel; the map is folded in time order.
    let smoothed: Vec<[Option<Smoothed>; 2]> = tps
        .par_iter()
        .map(|tp| {
            [&tp.ant, &tp.post].map(|c| {
                c.as_ref().map(|c| {
                    let sm = smooth(&c.counts, fwhm_px);
                    let sm = if tp.shift == (0, 0) {
                        sm
                    } else {
                        shift(&sm, tp.shift.0, tp.shift.1)
                    };
                    let p = sm
                        .as_slice()
                        .map_or_else(
                            || quantile(sm.iter().copied(), 0.995),
                            |v| quantile_of(v, 0.995),
                        )
                        .max(f64::MIN_POSITIVE);
                    (sm, p)
                })
            })
        })
        .collect();
    let mut peak_map = ever.clone();
    for (sm, p) in smoothed.iter().flatten().flatten() {
        ever.zip_mut_with(sm, |e, &v| *e = e.max((v / p).min(1.0)));
        peak_map.zip_mut_with(sm, |e, &v| *e = e.max(v / p));
    }
    let smoothed: Vec<[Option<Array2<f64>>; 2]> = smoothed
        .into_iter()
        .map(|pair| pair.map(|x| x.map(|(sm, _)| sm)))
        .collect();
    // The latest image (posterior first): the head holds most of the activity by then.
    let late_img = smoothed
        .last()
        .and_then(|p| p[1].as_ref().or(p[0].as_ref()));
    let mut anat = anatomy::find(
        &ever,
        &peak_map,
        late_img,
        spacing,
        o.max_spinal_half_width_mm,
        o.bladder_radius_mm,
        o.convexity_from_fraction,
    );
    notes.push(format!(
        "anatomy (reference frame rows): foramen magnum {}, end of the thecal sac {}, spinal ROI rows \
         {}-{}",
        anat.foramen_row.map_or("not found".to_owned(), |r| r.to_string()),
        anat.sac_end_row.map_or("outside the field".to_owned(), |r| r.to_string()),
        anat.spine_rows.0,
        anat.spine_rows.1
    ));
    if let Some(last) = smoothed.last() {
        if let Some(late) = last[0].as_ref().or(last[1].as_ref()) {
            anatomy::place_bladder(&mut anat, late, o.bladder_radius_mm);
        }
    }

    // Counts per time point and view.
    // Time points in parallel: each yields its counts, its bladder test values (net, total
    // raw, csf; anterior first), the rows where extrathecal activity was excluded, and its
    // frames moved into the reference frame with their row backgrounds (read again for the
    // paraspinal strips).
    let rois = RoiRuns::of(&anat);
    let per_tp: Vec<(TpCounts, [Option<Moved<'_>>; 2])> = tps
        .par_iter()
        .map(|tp| {
            let mut extrathecal_rows = 0_usize;
            // Counts are taken in the reference frame: the image is moved, the ROIs stay.
            let bl = anat.bladder.as_ref();
            let blr = anat.bladder_ring.as_ref();
            let mut per_view: Vec<TimePointCounts> = Vec::new();
            let mut bl_first: Option<(f64, f64, f64)> = None;
            let mut moved: [Option<Moved<'_>>; 2] = [None, None];
            for (slot, (view, c)) in moved
                .iter_mut()
                .zip([(NmView::Anterior, &tp.ant), (NmView::Posterior, &tp.post)])
            {
                let Some(c) = c else { continue };
                let img = if tp.shift == (0, 0) {
                    Cow::Borrowed(&c.counts)
                } else {
                    Cow::Owned(shift(&c.counts, tp.shift.0, tp.shift.1))
                };
                let bg = row_background(&img, &anat, &rois.csf_ring);
                let net = |m: &Runs| {
                    let mut acc = 0.0_f64;
                    for (r, _, v) in m.pixels(&img) {
                        acc += v - bg[r];
                    }
                    acc.max(0.0)
                };
                let (csf_net, corrected_rows) = csf_net_counts(&img, &bg, &anat, &rois.csf, o);
                if corrected_rows > 0 {
                    extrathecal_rows = extrathecal_rows.max(corrected_rows);
                }
                let head_net = net(&rois.head);
                let conv_net = net(&rois.convexity);
                let bladder = match (bl, blr, &rois.bladder, &rois.bladder_ring) {
                    (Some(_), Some(r), Some(b), Some(ring)) => {
                        let bgb = sector_background(&img, r, ring);
                        let (sb, nb) = masked_sum(&img, b);
                        let net = sb - bgb * nb as f64;
                        if bl_first.is_none() {
                            bl_first = Some((net, sb, csf_net));
                        }
                        Some(net * c.per_s)
                    }
                    _ => None,
                };
                per_view.push(TimePointCounts {
                    hours: tp.hours,
                    view,
                    csf: csf_net * c.per_s,
                    intracranial: head_net * c.per_s,
                    convexity: conv_net * c.per_s,
                    bladder,
                    kidneys: rois
                        .kidneys
                        .as_ref()
                        .map(|k| masked_sum(&img, k).0 * c.per_s),
                    per_second: (c.per_s - 1.0).abs() > f64::EPSILON,
                });
                *slot = Some((c, img, bg));
            }
            if per_view.len() == 2 {
                let (a, p) = (&per_view[0], &per_view[1]);
                let gm = |x: f64, y: f64| (x.max(0.0) * y.max(0.0)).sqrt();
                let gmo = |x: Option<f64>, y: Option<f64>| x.zip(y).map(|(x, y)| gm(x, y));
                per_view.push(TimePointCounts {
                    hours: tp.hours,
                    view: NmView::GeometricMean,
                    csf: gm(a.csf, p.csf),
                    intracranial: gm(a.intracranial, p.intracranial),
                    convexity: gm(a.convexity, p.convexity),
                    bladder: gmo(a.bladder, p.bladder),
                    kidneys: gmo(a.kidneys, p.kidneys),
                    per_second: a.per_second,
                });
            }
            ((per_view, bl_first, extrathecal_rows), moved)
        })
        .collect();
    let mut counts = Vec::new();
    let mut bladder_raw: Vec<Option<(f64, f64, f64)>> = Vec::new();
    let mut extrathecal_rows = 0_usize;
    let mut moved = Vec::new();
    for ((per_view, bl_first, rows), m) in per_tp {
        counts.extend(per_view);
        bladder_raw.push(bl_first);
        extrathecal_rows = extrathecal_rows.max(rows);
        moved.push(m);
    }

    if extrathecal_rows > 0 {
        notes.push(format!(
            "extrathecal activity beside the canal excluded from the CSF ROI on up to \
             {extrathecal_rows} rows (canal counts there = core counts x the study's canal \
             core-to-ROI ratio)"
        ));
    }
    let hours: Vec<f64> = tps.iter().map(|t| t.hours).collect();
    let lambda_per_h = std::f64::consts::LN_2 / (input.half_life_s / 3600.0);
    let decay = |dt: f64| (-lambda_per_h * dt).exp();

    // Reference and late time points.
    let ref_idx = match o.reference_h {
        None => (hours[0] <= o.reference_max_h).then_some(0),
        Some(h) => hours
            .iter()
            .position(|&x| (x - h).abs() <= o.pairing_tolerance_h),
    };
    let late_idx = hours
        .iter()
        .enumerate()
        .filter(|(_, h)| (**h - o.retention_h).abs() <= o.retention_tolerance_h)
        .min_by(|a, b| {
            (a.1 - o.retention_h)
                .abs()
                .total_cmp(&(b.1 - o.retention_h).abs())
        })
        .map(|(i, _)| i);
    let csf_of = |i: usize, v: NmView| {
        counts
            .iter()
            .find(|c| c.hours == hours[i] && c.view == v)
            .map(|c| c.csf)
    };
    // The retention is of the whole CSF space: both ends must be in the field.
    let coverage_gap = if anat.foramen_row.is_none() {
        Some(
            "the head is not in the field of view (no foramen magnum found): the whole CSF space is not imaged",
        )
    } else if anat.sac_end_row.is_none() {
        Some(
            "the caudal end of the thecal sac is not in the field of view: the whole CSF space is not imaged",
        )
    } else {
        None
    };
    let retention = match (ref_idx, late_idx) {
        _ if coverage_gap.is_some() => Outcome::na(coverage_gap.unwrap_or_default()),
        (None, _) => Outcome::na(match o.reference_h {
            Some(h) => format!("no image at the configured reference time {h:.2} h"),
            None => format!(
                "no early reference image: the first image was taken {:.2} h after injection \
                 (at most {:.2} h expected: the retention is relative to the image right after \
                 injection)",
                hours[0], o.reference_max_h
            ),
        }),
        (_, None) => Outcome::na(format!(
            "no image within {:.0} ± {:.0} h of injection (time points: {})",
            o.retention_h,
            o.retention_tolerance_h,
            hours
                .iter()
                .map(|h| format!("{h:.1} h"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        (Some(r), Some(l)) if r >= l => {
            Outcome::na("the reference image is not before the 24-h image")
        }
        (Some(r), Some(l)) => {
            let d = decay(hours[l] - hours[r]);
            let per_view: Vec<ViewRetention> =
                [NmView::Anterior, NmView::Posterior, NmView::GeometricMean]
                    .into_iter()
                    .filter_map(|v| {
                        let (a, b) = (csf_of(r, v)?, csf_of(l, v)?);
                        (a > 0.0).then(|| ViewRetention {
                            view: v,
                            raw_pct: 100.0 * b / a,
                            decay_corrected_pct: 100.0 * b / a / d,
                        })
                    })
                    .collect();
            let graded = [
                o.graded_view,
                NmView::Posterior,
                NmView::GeometricMean,
                NmView::Anterior,
            ]
            .into_iter()
            .find(|v| per_view.iter().any(|p| p.view == *v));
            match graded {
                None => Outcome::na("no view with counts at both the reference and the 24-h image"),
                Some(g) => {
                    if g != o.graded_view {
                        notes.push(format!(
                            "retention graded on the {} view: the {} view is missing",
                            view_name(g),
                            view_name(o.graded_view)
                        ));
                    }
                    Outcome::Measured(Retention {
                        reference_h: hours[r],
                        late_h: hours[l],
                        decay_factor: d,
                        half_life_s: input.half_life_s,
                        per_view,
                        graded_view: g,
                        roi_policy: ROI_POLICY.to_owned(),
                    })
                }
            }
        }
    };

    // Curve.
    let curve = match ref_idx {
        Some(r) => counts
            .iter()
            .filter_map(|c| {
                let base = csf_of(r, c.view)?;
                (base > 0.0).then(|| {
                    let raw = 100.0 * c.csf / base;
                    CurvePoint {
                        hours: c.hours,
                        view: c.view,
                        csf: c.csf,
                        raw_pct: raw,
                        decay_corrected_pct: raw / decay(c.hours - hours[r]),
                    }
                })
            })
            .collect(),
        None => Vec::new(),
    };

    // Bladder.
    let bladder = if anat.bladder.is_none() {
        Outcome::na("the bladder is not in the field of view (the thecal sac runs off the image)")
    } else {
        let visible: Vec<(f64, bool)> = tps
            .iter()
            .zip(&bladder_raw)
            .map(|(tp, b)| {
                let v = b.is_some_and(|(net, total, csf)| {
                    net > o.bladder_sigma * total.max(1.0).sqrt()
                        && net >= o.bladder_min_fraction_of_csf * csf
                });
                (tp.hours, v)
            })
            .collect();
        let first_visible_h = visible.iter().find(|v| v.1).map(|v| v.0);
        Outcome::Measured(Bladder {
            within_mhlw: first_visible_h.is_some_and(|h| h <= o.early_bladder_mhlw_h),
            within_gl2007: first_visible_h.is_some_and(|h| h <= o.early_bladder_gl2007_h),
            windows_h: (o.early_bladder_mhlw_h, o.early_bladder_gl2007_h),
            visible,
            first_visible_h,
            rule: format!(
                "anterior view (posterior without one), disc of {} mm radius on the brightest point \
                 below the thecal sac: net counts over a ring background (median of the mean counts of \
                 {} sectors of a ring 10-25 mm outside the disc) > {} sqrt(counts) and >= {} % \
                 of the whole-CSF counts",
                o.bladder_radius_mm,
                anatomy::BLADDER_RING_SECTORS,
                o.bladder_sigma,
                o.bladder_min_fraction_of_csf * 100.0
            ),
        })
    };

    // Convexity at 24 h.
    let convexity = match (late_idx, anat.foramen_row) {
        (None, _) => Outcome::na(format!(
            "no image within {:.0} ± {:.0} h",
            o.retention_h, o.retention_tolerance_h
        )),
        (_, None) => Outcome::na("the head is not in the field of view (no foramen magnum found)"),
        (Some(l), Some(_)) => {
            let c = [NmView::Anterior, NmView::Posterior]
                .into_iter()
                .find_map(|v| counts.iter().find(|c| c.hours == hours[l] && c.view == v));
            match c {
                Some(c) if c.intracranial > 0.0 => {
                    let fraction = c.convexity / c.intracranial;
                    Outcome::Measured(Convexity {
                        hours: hours[l],
                        fraction,
                        present: fraction >= o.convexity_present_fraction,
                        threshold: o.convexity_present_fraction,
                    })
                }
                _ => Outcome::na("no intracranial counts on the 24-h image"),
            }
        }
    };

    // Paraspinal accumulations.
    let accumulations = if anat.foramen_row.is_none() {
        Outcome::na("no level scale: the foramen magnum is not in the field of view")
    } else {
        Outcome::Measured(paraspinal(&tps, &moved, &anat, o, spacing, &mut notes))
    };

    let reference_h = ref_idx.map(|r| hours[r]);
    let (overlays, overlay_frames) = overlays(
        input,
        &tps,
        &anat,
        accumulations.value().map_or(&[][..], |v| v),
        o.paraspinal_strip_mm,
        &lateral_frames,
    );
    Ok(Analysis {
        hours,
        counts,
        retention,
        bladder,
        convexity,
        accumulations,
        curve,
        overlays,
        overlay_frames,
        shifts: tps.iter().map(|t| t.shift).collect(),
        reference_h,
        half_life_s: input.half_life_s,
        lateral_frames,
        notes,
    })
}

fn view_name(v: NmView) -> &'static str {
    match v {
        NmView::Anterior => "anterior",
        NmView::Posterior => "posterior",
        NmView::GeometricMean => "geometric-mean",
    }
}

/// Mean lateral profile of one side at one level: per distance bin from the axis, the net
/// and raw counts and the pixels.
#[derive(Debug, Clone, Default)]
struct Profile {
    bins: Vec<(f64, f64, f64)>,
}

impl Profile {
    /// Fraction of a peak medial to the kidneys below which the profile must dip, between it
    /// and the kidney, for the peak to be something of its own.
    const DIP: f64 = 0.85;

    fn new(n: usize) -> Self {
        Self {
            bins: vec![(0.0, 0.0, 0.0); n],
        }
    }

    /// Add a pixel at `bin` (continuous bin coordinate; nothing when out of reach or when the
    /// profile is not kept).
    fn add(&mut self, bin: f64, net: f64, raw: f64) {
        let Some(b) = csfleak_volume::index_of(bin.floor()) else {
            return;
        };
        if let Some(slot) = self.bins.get_mut(b) {
            slot.0 += net;
            slot.1 += raw.max(0.0);
            slot.2 += 1.0;
        }
    }

    /// Mean net counts per pixel of a bin and its Poisson standard error.
    fn mean(&self, b: usize) -> Option<(f64, f64)> {
        let (net, raw, n) = *self.bins.get(b)?;
        (n > 0.0).then(|| (net / n, raw.max(1.0).sqrt() / n))
    }

    /// Whether the activity beside the canal is only the flank of a kidney (bins from
    /// `kidney_from` on, bin coordinates): beyond the canal's own tail (the profile falling
    /// from the canal to its first minimum), the brightest bin medial to the kidney band
    /// neither stands significantly above the kidney band nor is separated from the kidney
    /// band's peak by a significant dip (by `DIP` of its value and 3 standard errors). A
    /// profile not kept, or one with nothing in the kidney band, is never a flank.
    fn is_flank(&self, kidney_from: f64) -> bool {
        let n = self.bins.len();
        let Some(kb) = csfleak_volume::index_of(kidney_from.ceil()).filter(|&k| k < n) else {
            return false;
        };
        let p: Vec<Option<(f64, f64)>> = (0..n).map(|b| self.mean(b)).collect();
        let v = |b: usize| p[b].map_or(f64::NAN, |m| m.0);
        // End of the canal's tail: the first bin after which the profile stops falling.
        let mut m = 0;
        while m + 1 < kb && v(m + 1) < v(m) {
            m += 1;
        }
        let argmax = |range: std::ops::Range<usize>| {
            range
                .filter(|&b| v(b).is_finite())
                .max_by(|&x, &y| v(x).total_cmp(&v(y)))
        };
        let (Some(k), Some(g)) = (argmax(m + 1..kb), argmax(kb..n)) else {
            return false;
        };
        let se = |b: usize| p[b].map_or(0.0, |m| m.1);
        let (pk, pg) = (v(k), v(g));
        if pk <= 0.0 || pk > pg + 3.0 * se(k).hypot(se(g)) {
            return false;
        }
        let Some(valley) = (k..=g)
            .filter(|&b| v(b).is_finite())
            .min_by(|&x, &y| v(x).total_cmp(&v(y)))
        else {
            return false;
        };
        let dips = v(valley) < Self::DIP * pk && pk - v(valley) > 3.0 * se(k).hypot(se(valley));
        !dips
    }
}

/// Per level and side: paraspinal strip counts over canal counts; hot where it exceeds the
/// study's own baseline (median over levels); contiguous hot levels form one accumulation.
fn paraspinal(
    tps: &[Tp],
    moved: &[[Option<Moved<'_>>; 2]],
    a: &Anatomy,
    o: &CisternoOptions,
    spacing: [f64; 2],
    notes: &mut Vec<String>,
) -> Vec<Accumulation> {
    const N: usize = 25;
    /// Levels beside the kidneys (T12..L2, vertebral index).
    const KIDNEY_LEVELS: std::ops::RangeInclusive<usize> = 18..=20;
    /// Lateral profiles beside the kidneys: bin width and reach (mm from the axis).
    const PROFILE_BIN_MM: f64 = 4.0;
    const PROFILE_REACH_MM: f64 = 92.0;
    /// Medial edge of the kidneys' bodies (mm from the axis).
    const KIDNEY_FROM_MM: f64 = 46.0;
    /// Canal counts, net strip counts (left, right), frame index, raw strip counts, and the
    /// lateral profiles (left, right) of the kidney levels.
    type LevelSums = (
        [f64; N],
        [[f64; N]; 2],
        usize,
        [[f64; N]; 2],
        [[Profile; N]; 2],
    );
    let (d1, d2) = o.paraspinal_strip_mm;
    let core = 8.0;
    let nbins = csfleak_volume::index_of((PROFILE_REACH_MM / PROFILE_BIN_MM).ceil()).unwrap_or(0);
    // Per time point: canal core counts and left/right strip counts per level.
    // Counts are taken over the row background (blood pool, kidney and bladder spill): where
    // the canal has emptied, raw strip counts over canal counts would rise with the background
    // alone. The raw strip counts are kept for the Poisson test.
    // The posterior view (the anterior without one), as counted.
    let sums = |m: &[Option<Moved<'_>>; 2]| -> Option<LevelSums> {
        let (c, img, bg) = m[1].as_ref().or(m[0].as_ref())?;
        let mut canal = [0.0_f64; N];
        let mut side = [[0.0_f64; N]; 2]; // [left, right]
        let mut raw = [[0.0_f64; N]; 2];
        let mut profiles: [[Profile; N]; 2] =
            std::array::from_fn(|_| std::array::from_fn(|_| Profile::default()));
        for pr in profiles
            .iter_mut()
            .flat_map(|p| p[KIDNEY_LEVELS].iter_mut())
        {
            *pr = Profile::new(nbins);
        }
        let (top, bottom) = a.spine_rows;
        for r in top..=bottom.min(img.nrows() - 1) {
            let Some(v) = a.vertebra_at(r) else { continue };
            let l = usize::from(v.index());
            for cc in 0..img.ncols() {
                let d = (cc as f64 - a.axis[r]) * spacing[1];
                let x = img[(r, cc)];
                let net = x - bg[r];
                let s = usize::from(d < 0.0);
                if d.abs() <= core {
                    canal[l] += net;
                } else if d.abs() >= d1 && d.abs() <= d2 {
                    side[s][l] += net;
                    raw[s][l] += x;
                }
                profiles[s][l].add(d.abs() / PROFILE_BIN_MM, net, x);
            }
        }
        Some((canal, side, c.frame, raw, profiles))
    };
    let Some(first) = moved.first().and_then(&sums) else {
        return Vec::new();
    };
    let first_max = first.0.iter().copied().fold(0.0, f64::max);
    // Puncture level: where the first image holds the most canal counts (the bolus), among
    // the levels where punctures are made.
    let (p_lo, p_hi) = (
        usize::from(o.puncture_levels.0.span().0),
        usize::from(o.puncture_levels.1.span().1).min(N - 1),
    );
    let puncture = (first_max > 0.0 && p_lo <= p_hi)
        .then(|| (p_lo..=p_hi).max_by(|&x, &y| first.0[x].total_cmp(&first.0[y])))
        .flatten();
    let mut best: Option<(f64, Vec<Accumulation>)> = None;
    for (tp, m) in tps
        .iter()
        .zip(moved)
        .skip(1)
        .filter(|(tp, _)| tp.hours <= o.paraspinal_max_h)
    {
        let Some((canal, side, frame, side_raw, profiles)) = sums(m) else {
            continue;
        };
        let max_canal = canal.iter().copied().fold(0.0, f64::max);
        let valid: Vec<usize> = (0..N)
            .filter(|&l| canal[l] > 0.05 * max_canal && canal[l] > 25.0)
            .collect();
        if valid.len() < 5 {
            continue;
        }
        let ratio = |s: usize, l: usize| side[s][l] / canal[l];
        // Baseline: where the first image shows the canal well, that image's own ratio (a leak
        // fills over time; canal width and blur do not change); elsewhere the median over
        // levels of the smaller side.
        let base_vals: Vec<f64> = valid
            .iter()
            .map(|&l| ratio(0, l).min(ratio(1, l)))
            .collect();
        let global = median(&base_vals);
        let mad = median(
            &base_vals
                .iter()
                .map(|v| (v - global).abs())
                .collect::<Vec<_>>(),
        );
        let base = |s: usize, l: usize| {
            if first.0[l] > 0.2 * first_max && first.0[l] > 25.0 {
                (first.1[s][l] / first.0[l]).max(global)
            } else {
                global
            }
        };
        let thr = o
            .paraspinal_min_excess
            .max(o.paraspinal_sigma * 1.4826 * mad);
        let mut excess = [[0.0_f64; N]; 2];
        let mut hot = [false; N];
        for &l in &valid {
            for s in 0..2 {
                let e = ratio(s, l) - base(s, l);
                // Poisson significance of the strip counts themselves.
                let sig = side_raw[s][l].max(1.0).sqrt() * 3.0;
                // Beside the kidneys, strip activity that rises on into something brighter
                // further out, with no dip between them, is the kidney's flank (or renal
                // pelvis), not a paraspinal accumulation (a leak beside the canal is a peak of
                // its own).
                let kidney_flank = KIDNEY_LEVELS.contains(&l)
                    && profiles[s][l].is_flank(KIDNEY_FROM_MM / PROFILE_BIN_MM - 0.5);
                if e > thr && e * canal[l] > sig && !kidney_flank {
                    excess[s][l] = e * canal[l];
                    hot[l] = true;
                }
            }
        }
        let mut found = Vec::new();
        let mut l = 0;
        while l < N {
            if !hot[l] {
                l += 1;
                continue;
            }
            let start = l;
            while l < N && hot[l] {
                l += 1;
            }
            let end = l - 1;
            let left: f64 = excess[0][start..=end].iter().sum();
            let right: f64 = excess[1][start..=end].iter().sum();
            let total = left + right;
            if total <= 0.0 {
                continue;
            }
            let ai = (left - right) / total;
            let centre = (start..=end)
                .map(|k| k as f64 * (excess[0][k] + excess[1][k]))
                .sum::<f64>()
                / total;
            let Some(level) = Anatomy::level_at(centre + 0.5) else {
                continue;
            };
            let n_levels = end + 1 - start;
            let stronger = if ai >= 0.0 { Side::Left } else { Side::Right };
            let (pattern, side_out) =
                if ai.abs() >= o.unilateral_asymmetry && n_levels <= o.localized_max_levels {
                    (AccumulationPattern::UnilateralLocalized, stronger)
                } else if ai.abs() >= o.asymmetric_asymmetry {
                    (AccumulationPattern::Asymmetric, stronger)
                } else if matches!(level.region(), Region::Lumbar | Region::Sacral) {
                    (AccumulationPattern::LumbarSymmetric, Side::Bilateral)
                } else {
                    (
                        AccumulationPattern::CervicothoracicSymmetric,
                        Side::Bilateral,
                    )
                };
            let at_puncture = puncture.is_some_and(|p| {
                start >= p_lo
                    && start + o.puncture_site_levels >= p
                    && end <= p + o.puncture_site_levels
            });
            // Symmetric activity confined to C1-C2 is spill from the posterior fossa just above
            // (and a C1-C2 collection is a known false-localizing sign): not reported.
            let symmetric = matches!(
                pattern,
                AccumulationPattern::CervicothoracicSymmetric
                    | AccumulationPattern::LumbarSymmetric
            );
            if symmetric && end <= 1 {
                let msg = "symmetric activity confined to C1-C2 (below the posterior fossa) not \
                           reported as an accumulation"
                    .to_owned();
                if !notes.contains(&msg) {
                    notes.push(msg);
                }
                continue;
            }
            if at_puncture && pattern != AccumulationPattern::LumbarSymmetric {
                let msg = format!(
                    "one-sided paraspinal activity at {level} discounted as puncture-site \
                     leakage (puncture level taken from the first image: {})",
                    Anatomy::level_at(puncture.unwrap_or(0) as f64 + 0.5)
                        .map_or_else(String::new, |l| l.to_string())
                );
                if !notes.contains(&msg) {
                    notes.push(msg);
                }
                continue;
            }
            let lv = |k: usize| Anatomy::level_at(k as f64 + 0.5).unwrap_or(level);
            found.push(Accumulation {
                pattern,
                level,
                from_level: lv(start),
                to_level: lv(end),
                side: side_out,
                asymmetry_index: ai,
                excess_left: left,
                excess_right: right,
                hours: tp.hours,
                frame,
            });
        }
        let score: f64 = found.iter().map(|f| f.excess_left + f.excess_right).sum();
        if best.as_ref().is_none_or(|b| score > b.0) {
            best = Some((score, found));
        }
    }
    best.map(|b| b.1).unwrap_or_default()
}

fn overlays(
    input: &CisternoInput,
    tps: &[Tp],
    a: &Anatomy,
    acc: &[Accumulation],
    strip: (f64, f64),
    lateral: &[usize],
) -> (Vec<Overlay>, Vec<usize>) {
    // One overlay per frame, drawn in parallel (collect keeps the time and view order).
    let jobs: Vec<(usize, &Tp, &Canon)> = tps
        .iter()
        .enumerate()
        .flat_map(|(ti, tp)| {
            [&tp.ant, &tp.post]
                .into_iter()
                .flatten()
                .map(move |c| (ti, tp, c))
        })
        .collect();
    let frames: Vec<usize> = jobs
        .iter()
        .map(|j| j.2.frame)
        .chain(lateral.iter().copied())
        .collect();
    let mut out: Vec<Overlay> = jobs
        .par_iter()
        .map(|&(ti, tp, c)| {
            let f = &input.frames[c.frame];
            let (dr, dc) = (-tp.shift.0, -tp.shift.1);
            let place = |m: &Array2<bool>| to_acquired(&shift_mask(m, dr, dc), c);
            let base = f.pixels.mapv(|x| if x.is_finite() { x } else { 0.0 });
            let window = Overlay::auto_window(&base);
            let name = format!("cisterno_t{ti}_{}", f.view.as_str());
            let mut ov = Overlay::new(
                name,
                format!(
                    "RI cisternography {:.1} h {} view: ROIs",
                    tp.hours,
                    f.view.as_str()
                ),
                base,
                window,
            );
            ov.pixel_spacing_mm = f.pixel_spacing_mm;
            ov.orientation_note = format!(
                "as acquired; top = {}; left of image = patient {}",
                if c.flip_rows { "feet" } else { "head" },
                if c.flip_cols { "left" } else { "right" }
            );
            let mut add = |m: &Array2<bool>, color, label: &str, outline| {
                ov.masks.push(OverlayMask {
                    mask: place(m),
                    color,
                    label: label.to_owned(),
                    outline_only: outline,
                });
            };
            add(&a.csf, colors::SAC, "whole CSF ROI", true);
            if a.head.iter().any(|&b| b) {
                add(&a.convexity, colors::REFERENCE, "convexity ROI", true);
            }
            if let Some(b) = &a.bladder {
                add(b, colors::REFERENCE, "bladder ROI", true);
            }
            if let Some(k) = &a.kidneys {
                add(k, colors::REFERENCE, "kidney ROIs", true);
            }
            for x in acc.iter().filter(|x| x.frame == c.frame) {
                let mut m = Array2::from_elem(a.csf.dim(), false);
                for r in a.spine_rows.0..=a.spine_rows.1 {
                    let Some(v) = a.vertebra_at(r) else { continue };
                    let l = Level::Vertebra(v);
                    if l < x.from_level || l > x.to_level {
                        continue;
                    }
                    for cc in 0..m.ncols() {
                        let d = (cc as f64 - a.axis[r]) * a.spacing[1];
                        let (d1, d2) = strip;
                        let on_left = d >= d1 && d <= d2;
                        let on_right = -d >= d1 && -d <= d2;
                        let want = match x.side {
                            Side::Left => on_left,
                            Side::Right => on_right,
                            _ => on_left || on_right,
                        };
                        if want {
                            m[(r, cc)] = true;
                        }
                    }
                }
                add(&m, colors::FINDING, x.pattern.as_str(), false);
            }
            // Level labels beside the spine, every level.
            let mut last: Option<u8> = None;
            for r in a.spine_rows.0..=a.spine_rows.1 {
                let Some(v) = a.vertebra_at(r) else { continue };
                if last == Some(v.index()) {
                    continue;
                }
                last = Some(v.index());
                let rr = r as f64 - dr as f64;
                let col = a.axis[r] - dc as f64 + 50.0 / a.spacing[1];
                let (row, col) = (
                    if c.flip_rows {
                        a.csf.nrows() as f64 - 1.0 - rr
                    } else {
                        rr
                    },
                    if c.flip_cols {
                        a.csf.ncols() as f64 - 1.0 - col
                    } else {
                        col
                    },
                );
                ov.texts.push(OverlayText {
                    at: [row, col],
                    text: v.to_string(),
                    color: colors::LABEL,
                });
            }
            ov
        })
        .collect();
    out.extend(lateral.iter().enumerate().filter_map(|(k, &i)| {
        let f = input.frames.get(i)?;
        let base = f.pixels.mapv(|x| if x.is_finite() { x } else { 0.0 });
        let window = Overlay::auto_window(&base);
        let side = f
            .lateral_side
            .map_or_else(String::new, |s| format!(" ({} side)", s.as_str()));
        let mut ov = Overlay::new(
            format!("cisterno_lateral{k}"),
            format!(
                "RI cisternography {:.1} h lateral view{side}: for reading extrathecal activity; \
                 not counted",
                f.hours
            ),
            base,
            window,
        );
        ov.pixel_spacing_mm = f.pixel_spacing_mm;
        "as acquired".clone_into(&mut ov.orientation_note);
        Some(ov)
    }));
    (out, frames)
}

impl Analysis {
    fn empty(
        reason: String,
        notes: Vec<String>,
        half_life_s: f64,
        lateral_frames: Vec<usize>,
    ) -> Self {
        Self {
            hours: Vec::new(),
            counts: Vec::new(),
            retention: Outcome::na(reason.clone()),
            bladder: Outcome::na(reason.clone()),
            convexity: Outcome::na(reason.clone()),
            accumulations: Outcome::na(reason),
            curve: Vec::new(),
            overlays: Vec::new(),
            overlay_frames: Vec::new(),
            shifts: Vec::new(),
            reference_h: None,
            half_life_s,
            lateral_frames,
            notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of 8 sectors around the centre of a 60 x 60 image.
    fn ring() -> Array2<u8> {
        Array2::from_shape_fn((60, 60), |(r, c)| {
            let (dy, dx) = (r as f64 - 30.0, c as f64 - 30.0);
            let d = dx.hypot(dy);
            if (20.0..28.0).contains(&d) {
                let turn = (dy.atan2(dx) / std::f64::consts::TAU).rem_euclid(1.0);
                let k = csfleak_volume::index_of((turn * 8.0).floor()).unwrap_or(0);
                1 + u8::try_from(k.min(7)).unwrap_or(0)
            } else {
                0
            }
        })
    }

    #[test]
    fn sector_background_is_the_mean_at_low_counts() {
        let sectors = ring();
        // One count in every fifth pixel: a mean of 0.2, a pixel median of 0.
        let img = Array2::from_shape_fn(
            (60, 60),
            |(r, c)| {
                if (r * 60 + c) % 5 == 0 { 1.0 } else { 0.0 }
            },
        );
        let bg = sector_background(&img, &sectors, &ring_runs(&sectors));
        assert!((bg - 0.2).abs() < 0.02, "{bg}");
    }

    #[test]
    fn sector_background_ignores_a_hot_sector() {
        let sectors = ring();
        let img = Array2::from_shape_fn(
            (60, 60),
            |(r, c)| {
                if sectors[(r, c)] == 3 { 50.0 } else { 2.0 }
            },
        );
        assert!((sector_background(&img, &sectors, &ring_runs(&sectors)) - 2.0).abs() < 1e-9);
        // A sector cut down to a few pixels (the ring meets the field edge) does not count.
        let mut cut = sectors.clone();
        for ((r, c), k) in cut.indexed_iter_mut() {
            if *k == 5 && (r + c) % 10 != 0 {
                *k = 0;
            }
        }
        let img =
            Array2::from_shape_fn((60, 60), |(r, c)| if cut[(r, c)] == 5 { 0.0 } else { 1.0 });
        assert!((sector_background(&img, &cut, &ring_runs(&cut)) - 1.0).abs() < 1e-9);
    }

    fn ring_runs(sectors: &Array2<u8>) -> Runs {
        Runs::of(sectors, |&k| k != 0)
    }

    #[test]
    fn runs_visit_the_mask_in_row_major_order() {
        // Runs touching both edges, single pixels, empty rows and a full row.
        let m = Array2::from_shape_fn((9, 13), |(r, c)| match r {
            0 => true,
            3 => false,
            _ => (r * 7 + c * 3) % 5 < 2 || c == 12,
        });
        let img = Array2::from_shape_fn((9, 13), |(r, c)| (r * 13 + c) as f64 * 0.1 + 1e-3);
        let runs = Runs::of(&m, |&b| b);
        let want: Vec<(usize, usize, f64)> = img
            .indexed_iter()
            .zip(m.iter())
            .filter(|(_, on)| **on)
            .map(|(((r, c), &v), _)| (r, c, v))
            .collect();
        let got: Vec<(usize, usize, f64)> = runs.pixels(&img).collect();
        assert_eq!(got, want);
        let direct = img
            .iter()
            .zip(m.iter())
            .filter(|(_, b)| **b)
            .fold((0.0, 0), |(s, n), (v, _)| (s + v, n + 1));
        let (sum, n) = masked_sum(&img, &runs);
        assert_eq!((sum.to_bits(), n), (direct.0.to_bits(), direct.1));
    }

    #[test]
    fn mean_median_of_even_and_odd_counts() {
        assert_eq!(mean_median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(mean_median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(mean_median(&[]), 0.0);
    }
}
