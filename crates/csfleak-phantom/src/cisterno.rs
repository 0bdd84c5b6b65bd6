//! RI cisternography phantoms: intrathecal In-111 DTPA kinetics rendered as planar anterior and
//! posterior NM frames (whole-body or spot), with Poisson counts and a truth in the findings
//! vocabulary.
//!
//! The model (all in patient LPS mm, foramen magnum at `z = 0`):
//!
//! * a body outline (head, neck, trunk, legs) that sets the attenuation depth of every source
//!   in each view: the lumbar sac lies ~55 mm under the back and ~170 mm under the belly, the
//!   intracranial CSF ~90-100 mm from either side, so anterior counts rise while posterior
//!   counts fall as the tracer leaves the lumbar sac for the head;
//! * compartments ([`kinetics`]): spinal CSF per level (C1..S1, with nerve-root pockets), basal
//!   cisterns, convexity, optional extrathecal accumulations, blood, kidneys, bladder;
//! * physical decay with [`IN111_HALF_LIFE_S`], applied over each acquisition window;
//! * projection ([`render`]): attenuation `exp(-mu d)`, skull transmission, depth-dependent
//!   Gaussian collimator blur; Poisson noise on the sum.
//!
//! [`simulate`] runs a [`CisternoOptions`] into a [`CisternoStudy`]: per time point the noiseless
//! images (total and CSF-only), the noisy `u16` frames and the [`CisternoTruth`]. The
//! retention truth is the ratio of the noiseless CSF-only counts actually rendered, so it is
//! exactly what an ideal whole-CSF ROI would give. [`nm`] writes each time point as an NM
//! multi-frame instance; [`scenarios`] registers the named studies.
//!
//! ```
//! use csfleak_phantom::cisterno::{CisternoOptions, simulate};
//! let o = CisternoOptions::default()
//!     .with_time_points(&[0.0, 24.0])
//!     .with_target_retention(27.0);
//! let study = simulate(&o, 1)?;
//! let r = study.truth.retention_24h.as_ref().expect("a 24 h time point");
//! assert!((r.raw_pct - 27.0).abs() < 0.01);
//! assert!((r.decay_corrected_pct - 27.0 * 1.28036).abs() < 0.01);
//! # Ok::<(), csfleak_phantom::Error>(())
//! ```

pub mod body;
pub mod kinetics;
pub mod nm;
pub mod render;
mod scenarios;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

pub use body::{SPINE_LEVELS, Side};
pub use kinetics::Kinetics;
pub use render::{Grid, LateralSide, Physics, View};
pub use scenarios::{scenarios, write_study};

use crate::error::{Result, invalid};
use crate::scenario::round_to;
use kinetics::{Layout, Model, ModelSpec};
use render::Footprint;

/// Half-life of In-111 in seconds (2.8047 d, NUBASE/ENSDF).
pub const IN111_HALF_LIFE_S: f64 = 242_326.08;

/// Decay constant of In-111 per hour.
pub fn in111_lambda_per_h() -> f64 {
    std::f64::consts::LN_2 / (IN111_HALF_LIFE_S / 3600.0)
}

/// The fraction of In-111 activity left after `hours`.
pub fn decay_factor(hours: f64) -> f64 {
    (-in111_lambda_per_h() * hours).exp()
}

/// Pattern of extrathecal (paraspinal) RI accumulation (MHLW 2011 section B-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AccumulationPattern {
    /// A focal blob on one side (RI-1).
    UnilateralLocalized,
    /// Both sides along the roots, one side clearly stronger (RI-2).
    Asymmetric,
    /// Both sides equally along the cervical-thoracic roots (RI-3).
    CervicothoracicSymmetric,
    /// Both sides equally along the lumbar roots, the "Christmas tree" (reference only).
    LumbarSymmetric,
}

/// One extrathecal accumulation: pattern, level range and side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Accumulation {
    /// Pattern.
    pub pattern: AccumulationPattern,
    /// Most cranial level (`"T11"`).
    pub from_level: String,
    /// Most caudal level (`"L1"`); equal to `from_level` for one level.
    pub to_level: String,
    /// Side (the stronger side for [`AccumulationPattern::Asymmetric`]).
    pub side: Side,
}

impl Accumulation {
    /// An accumulation over `from_level..=to_level`.
    pub fn new(pattern: AccumulationPattern, from_level: &str, to_level: &str, side: Side) -> Self {
        Self {
            pattern,
            from_level: from_level.to_owned(),
            to_level: to_level.to_owned(),
            side,
        }
    }

    fn level_range(&self) -> Result<std::ops::RangeInclusive<usize>> {
        let a = body::level_index(&self.from_level)
            .ok_or_else(|| invalid(format!("unknown spinal level {:?}", self.from_level)))?;
        let b = body::level_index(&self.to_level)
            .ok_or_else(|| invalid(format!("unknown spinal level {:?}", self.to_level)))?;
        Ok(a.min(b)..=a.max(b))
    }
}

/// Whole-body scan or static spot views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AcquisitionMode {
    /// 256 x 1024 whole-body scan, head to feet (Image Type `WHOLE BODY`).
    #[default]
    WholeBody,
    /// 256 x 256 static views centred on `spot_center_z_mm` (Image Type `STATIC`).
    Spot,
}

/// Everything that defines a cisternography phantom study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CisternoOptions {
    /// Acquisition times in hours after injection, ascending; the first is the reference.
    pub time_points_h: Vec<f64>,
    /// Administered activity, `MBq` (18.5-37 in Japanese protocols).
    pub administered_mbq: f64,
    /// Whole-body or spot.
    pub mode: AcquisitionMode,
    /// Whole-body pixel size, mm (square).
    pub whole_body_pixel_mm: f64,
    /// Whole-body bed speed, mm/s (Scan Velocity).
    pub scan_velocity_mm_s: f64,
    /// Detector length along the scan, mm: every point is seen for `length / velocity` seconds.
    pub detector_length_mm: f64,
    /// Spot pixel size, mm.
    pub spot_pixel_mm: f64,
    /// Patient z of the spot field centre, mm (0 = foramen magnum).
    pub spot_center_z_mm: f64,
    /// Spot acquisition time per view, s.
    pub spot_duration_s: f64,
    /// Puncture level; the bolus spreads to the levels above and below.
    pub injection_level: String,
    /// Extra early absorption near the puncture: bladder visible within 1-3 h.
    pub early_bladder: bool,
    /// Almost no transfer to the convexity: no convexity activity at 24 h.
    pub convexity_absent_24h: bool,
    /// Extrathecal accumulations.
    pub accumulations: Vec<Accumulation>,
    /// Make the raw posterior 24-h retention (reference: first time point) exactly this, by
    /// scaling every route out of the CSF. Needs a 24 h time point.
    pub target_retention_24h_pct: Option<f64>,
    /// Lateral head-and-neck spot views (one detector each; shown to readers, not counted),
    /// acquired on the spot grid (`spot_pixel_mm`, `spot_center_z_mm`) for `spot_duration_s`.
    /// Empty by default.
    pub lateral_views: Vec<LateralView>,
    /// Rate constants.
    pub kinetics: Kinetics,
    /// Attenuation, resolution and sensitivity.
    pub physics: Physics,
}

impl Default for CisternoOptions {
    fn default() -> Self {
        Self {
            time_points_h: vec![0.0, 1.0, 3.0, 6.0, 24.0],
            administered_mbq: 37.0,
            mode: AcquisitionMode::WholeBody,
            whole_body_pixel_mm: 2.0,
            scan_velocity_mm_s: 2.0,
            detector_length_mm: 400.0,
            spot_pixel_mm: 2.4,
            spot_center_z_mm: -60.0,
            spot_duration_s: 300.0,
            injection_level: "L4".to_owned(),
            early_bladder: false,
            convexity_absent_24h: false,
            accumulations: Vec::new(),
            target_retention_24h_pct: None,
            lateral_views: Vec::new(),
            kinetics: Kinetics::default(),
            physics: Physics::default(),
        }
    }
}

impl CisternoOptions {
    /// Replace the time points (hours after injection, ascending).
    pub fn with_time_points(mut self, hours: &[f64]) -> Self {
        self.time_points_h = hours.to_vec();
        self
    }
    /// Target a raw posterior 24-h retention (%).
    pub fn with_target_retention(mut self, pct: f64) -> Self {
        self.target_retention_24h_pct = Some(pct);
        self
    }
    /// Whole-body or spot.
    pub fn with_mode(mut self, mode: AcquisitionMode) -> Self {
        self.mode = mode;
        self
    }
    /// Early bladder activity on or off.
    pub fn with_early_bladder(mut self, on: bool) -> Self {
        self.early_bladder = on;
        self
    }
    /// Convexity activity absent at 24 h, or not.
    pub fn with_convexity_absent(mut self, absent: bool) -> Self {
        self.convexity_absent_24h = absent;
        self
    }
    /// Add an extrathecal accumulation.
    pub fn with_accumulation(mut self, a: Accumulation) -> Self {
        self.accumulations.push(a);
        self
    }
    /// Administered activity (`MBq`).
    pub fn with_administered_mbq(mut self, mbq: f64) -> Self {
        self.administered_mbq = mbq;
        self
    }
    /// Add a lateral view at `hours` after injection, detector on `side`.
    pub fn with_lateral_view(mut self, hours: f64, side: LateralSide) -> Self {
        self.lateral_views.push(LateralView { hours, side });
        self
    }
}

/// A lateral spot view: when, and which side the detector faces.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LateralView {
    /// Hours after injection at the start of the acquisition.
    pub hours: f64,
    /// Patient side facing the detector.
    pub side: LateralSide,
}

/// A rendered lateral view.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LateralImage {
    /// Hours after injection.
    pub hours: f64,
    /// Patient side facing the detector.
    pub side: LateralSide,
    /// Its grid (columns along the patient's antero-posterior axis).
    pub grid: Grid,
    /// Poisson counts as stored, `[row, col]`.
    pub counts: Array2<u16>,
}

/// A lateral view in the truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LateralViewTruth {
    /// Hours after injection.
    pub hours: f64,
    /// `left` or `right`.
    pub side: String,
}

/// One rendered time point.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TimePoint {
    /// Hours after injection at the start of the acquisition.
    pub hours: f64,
    /// Compartment contents as fractions of the administered activity, before decay.
    pub compartments: Vec<f64>,
    /// Noiseless expected counts, `[anterior, posterior]`, `[row, col]`.
    pub noiseless: [Array2<f64>; 2],
    /// Noiseless counts of the CSF compartments only (the whole-CSF ROI), same layout.
    pub csf_noiseless: [Array2<f64>; 2],
    /// Noiseless counts of the bladder only, same layout.
    pub bladder_noiseless: [Array2<f64>; 2],
    /// Poisson counts as stored, same layout.
    pub counts: [Array2<u16>; 2],
}

/// Counts of one time point and view, in the findings vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TimePointTruth {
    /// Hours after injection.
    pub hours: f64,
    /// `anterior`, `posterior` or `geometric_mean`.
    pub view: String,
    /// Noiseless counts of the whole CSF space (spinal + intracranial).
    pub csf_counts: f64,
    /// Noiseless counts of the bladder.
    pub bladder_counts: f64,
}

/// The 24-hour retention, raw and decay-corrected.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RetentionTruth {
    /// `100 * C(24 h) / C(ref)` on raw counts per second, posterior view (all truth floats are
    /// rounded: percentages to 1e-6, counts to 1e-3).
    pub raw_pct: f64,
    /// `raw_pct / D(24 h - ref)`.
    pub decay_corrected_pct: f64,
    /// Reference time, hours.
    pub reference_h: f64,
    /// View used for `raw_pct`: `posterior`.
    pub view: String,
    /// What the ROI counts.
    pub roi_policy: String,
    /// Raw retention on the anterior view.
    pub anterior_raw_pct: f64,
    /// Raw retention on the geometric mean of the views.
    pub geometric_mean_raw_pct: f64,
    /// `D = exp(-lambda (t24 - ref))`.
    pub decay_factor: f64,
    /// Half-life used, s.
    pub half_life_s: f64,
}

/// An accumulation in the findings vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AccumulationTruth {
    /// `unilateral_localized`, `asymmetric`, `cervicothoracic_symmetric`, `lumbar_symmetric`.
    pub pattern: AccumulationPattern,
    /// Central level.
    pub level: String,
    /// Most cranial level.
    pub from_level: String,
    /// Most caudal level.
    pub to_level: String,
    /// `left`, `right` or `bilateral`.
    pub side: String,
}

/// The `cisternography` section of truth.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CisternoTruth {
    /// `present` (a cisternography study was made).
    pub status: String,
    /// Counts per time point and view.
    pub time_points: Vec<TimePointTruth>,
    /// 24-hour retention; `None` without a 24 h time point.
    pub retention_24h: Option<RetentionTruth>,
    /// First time point with a visible bladder (see `bladder_rule`), or `None`.
    pub early_bladder_h: Option<f64>,
    /// Bladder visible at or before 2.5 h (MHLW reference finding).
    pub early_bladder_within_2_5h: bool,
    /// Bladder visible at or before 3 h (GL2007 criterion).
    pub early_bladder_within_3h: bool,
    /// How visibility was decided.
    pub bladder_rule: String,
    /// Convexity activity at 24 h; `None` without a 24 h time point.
    pub convexity_activity_24h: Option<bool>,
    /// Convexity share of intracranial counts at 24 h, anterior view.
    pub convexity_fraction_24h: Option<f64>,
    /// Extrathecal accumulations.
    pub accumulations: Vec<AccumulationTruth>,
    /// Hours of every acquisition.
    pub time_points_h: Vec<f64>,
    /// Administered activity, `MBq`.
    pub administered_mbq: f64,
    /// `In-111 DTPA`.
    pub radiopharmaceutical: String,
    /// Puncture level.
    pub injection_level: String,
    /// `whole_body` or `spot`.
    pub mode: AcquisitionMode,
    /// Multiplier applied to the CSF outflow routes (1 unless a retention was targeted).
    pub outflow_scale: f64,
    /// Lateral views written (none unless asked for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lateral_views: Vec<LateralViewTruth>,
}

/// A rendered cisternography study.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CisternoStudy {
    /// The options it was made from.
    pub options: CisternoOptions,
    /// Image grid.
    pub grid: Grid,
    /// Actual Frame Duration, s (whole-body: scan length / velocity).
    pub frame_duration_s: f64,
    /// Time each point is seen by the detector, s.
    pub exposure_s: f64,
    /// Scan length (whole-body), mm.
    pub scan_length_mm: f64,
    /// Rendered time points.
    pub time_points: Vec<TimePoint>,
    /// Rendered lateral views, in time order.
    pub laterals: Vec<LateralImage>,
    /// Truth.
    pub truth: CisternoTruth,
}

/// Share of intracranial counts on the convexity above which convexity activity is present.
pub const CONVEXITY_PRESENT_FRACTION: f64 = 0.3;
/// Bladder visible when its counts reach this share of the whole-CSF counts of the same view.
pub const BLADDER_VISIBLE_FRACTION_OF_CSF: f64 = 0.01;

/// Footprints of every compartment in one view, in [`Layout`] order.
struct ViewFootprints {
    by_compartment: Vec<Footprint>,
}

fn footprints(
    view: View,
    grid: &Grid,
    physics: &Physics,
    layout: Layout,
    leaks: &[(AccumulationPattern, std::ops::RangeInclusive<usize>, Side)],
) -> ViewFootprints {
    footprints_with(
        layout,
        leaks,
        |src, intracranial| render::project(src, intracranial, view, grid, physics),
        || render::project_uniform_body(view, grid, physics),
    )
}

/// Footprints of every compartment, each projected by `project(sources, intracranial)`; the
/// blood pool by `uniform()`.
fn footprints_with(
    layout: Layout,
    leaks: &[(AccumulationPattern, std::ops::RangeInclusive<usize>, Side)],
    project: impl Fn(&[body::Source], bool) -> Footprint + Sync,
    uniform: impl Fn() -> Footprint + Sync,
) -> ViewFootprints {
    use rayon::prelude::*;
    let n = layout.len();
    let by_compartment = (0..n)
        .into_par_iter()
        .map(|c| {
            if c < Layout::N_SPINE {
                project(&body::spinal_level_sources(c), false)
            } else if c == Layout::BASAL {
                project(&body::basal_sources(), true)
            } else if c == Layout::CONVEXITY {
                project(&body::convexity_sources(), true)
            } else if c == layout.blood() {
                uniform()
            } else if c == layout.kidneys() {
                project(&body::kidney_sources(), false)
            } else if c == layout.bladder() {
                project(&body::bladder_sources(), false)
            } else {
                let (pattern, levels, side) = &leaks[c - Layout::accumulation(0)];
                let src = body::accumulation_sources(*pattern, levels.clone(), *side);
                project(&src, false)
            }
        })
        .collect();
    ViewFootprints { by_compartment }
}

/// Render the lateral views of `o` (spot grid of the options' spot size and centre, one
/// detector each, Poisson counts).
fn render_laterals(
    o: &CisternoOptions,
    model: &Model,
    leaks: &[(AccumulationPattern, std::ops::RangeInclusive<usize>, Side)],
    seed: u64,
) -> Vec<LateralImage> {
    if o.lateral_views.is_empty() {
        return Vec::new();
    }
    let grid = Grid {
        cols: 256,
        rows: 256,
        pixel_mm: o.spot_pixel_mm,
        z_top_mm: o.spot_center_z_mm + 128.0 * o.spot_pixel_mm,
    };
    let hours: Vec<f64> = o.lateral_views.iter().map(|l| l.hours).collect();
    let states = model.solve(&hours);
    o.lateral_views
        .iter()
        .zip(states)
        .map(|(l, x)| {
            let fp = footprints_with(
                model.layout,
                leaks,
                |src, intracranial| {
                    render::project_lateral(src, intracranial, l.side, &grid, &o.physics)
                },
                || render::project_uniform_body_lateral(l.side, &grid, &o.physics),
            );
            let scale = exposure_mbq_s(o, l.hours, o.spot_duration_s);
            let mut noiseless = Array2::<f64>::zeros((grid.rows, grid.cols));
            for (c, f) in fp.by_compartment.iter().enumerate() {
                f.add_to(&mut noiseless, x[c] * scale);
            }
            let key = format!("cisterno/lateral/{}/{}", l.hours, l.side.as_str());
            let mut rng = crate::study::rng_for(seed, &key);
            let counts = noiseless.mapv(|lambda| {
                let c = crate::noise::poisson_sample(&mut rng, lambda);
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a Poisson draw is a non-negative integer, clamped to u16 here"
                )]
                let v = c.clamp(0.0, 65535.0) as u16;
                v
            });
            LateralImage {
                hours: l.hours,
                side: l.side,
                grid,
                counts,
            }
        })
        .collect()
}

/// MBq·s seen per unit fraction of administered activity in the window starting at `hours`.
fn exposure_mbq_s(o: &CisternoOptions, hours: f64, exposure_s: f64) -> f64 {
    let lambda_s = std::f64::consts::LN_2 / IN111_HALF_LIFE_S;
    let t0 = hours * 3600.0;
    let integral = (-lambda_s * t0).exp() * (1.0 - (-lambda_s * exposure_s).exp()) / lambda_s;
    o.administered_mbq * integral * o.physics.sensitivity_cps_per_mbq
}

fn csf_counts_fast(x: &[f64], sums: &[f64], layout: Layout) -> f64 {
    (0..layout.len())
        .filter(|&c| Layout::is_csf(c))
        .map(|c| x[c] * sums[c])
        .sum()
}

fn validate(o: &CisternoOptions) -> Result<()> {
    if o.time_points_h.is_empty() {
        return Err(invalid("cisternography needs at least one time point"));
    }
    if o.time_points_h
        .windows(2)
        .any(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater))
        || o.time_points_h.iter().any(|h| !h.is_finite() || *h < 0.0)
    {
        return Err(invalid(
            "cisternography time points must be finite, non-negative and strictly increasing",
        ));
    }
    let positive = [
        o.administered_mbq,
        o.whole_body_pixel_mm,
        o.scan_velocity_mm_s,
        o.detector_length_mm,
        o.spot_pixel_mm,
        o.spot_duration_s,
        o.physics.sensitivity_cps_per_mbq,
        o.physics.mu_per_mm,
    ];
    if positive.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(invalid(
            "activity, pixel sizes, scan velocity, durations and physics constants must be positive",
        ));
    }
    if o.lateral_views.windows(2).any(|w| w[1].hours < w[0].hours)
        || o.lateral_views
            .iter()
            .any(|l| !l.hours.is_finite() || l.hours < 0.0)
    {
        return Err(invalid(
            "lateral view times must be finite, non-negative and in time order",
        ));
    }
    if let Some(t) = o.target_retention_24h_pct {
        if !(t.is_finite() && t > 0.0 && t < 100.0) {
            return Err(invalid("target 24-h retention must be between 0 and 100 %"));
        }
    }
    Ok(())
}

/// Index of the 24 h time point, if any.
fn index_24h(times: &[f64]) -> Option<usize> {
    times.iter().position(|h| (h - 24.0).abs() < 1e-9)
}

/// Render a cisternography study. `seed` drives the Poisson noise only.
pub fn simulate(options: &CisternoOptions, seed: u64) -> Result<CisternoStudy> {
    validate(options)?;
    let o = options;
    let injection_level = body::level_index(&o.injection_level)
        .ok_or_else(|| invalid(format!("unknown injection level {:?}", o.injection_level)))?;
    let leaks = o
        .accumulations
        .iter()
        .map(|a| Ok((a.pattern, a.level_range()?, a.side)))
        .collect::<Result<Vec<_>>>()?;
    let (grid, exposure_s, frame_duration_s, scan_length_mm) = match o.mode {
        AcquisitionMode::WholeBody => {
            let g = Grid {
                cols: 256,
                rows: 1024,
                pixel_mm: o.whole_body_pixel_mm,
                z_top_mm: body::vertex_z() + 30.0,
            };
            let length = g.rows as f64 * g.pixel_mm;
            (
                g,
                o.detector_length_mm / o.scan_velocity_mm_s,
                length / o.scan_velocity_mm_s,
                length,
            )
        }
        AcquisitionMode::Spot => {
            let g = Grid {
                cols: 256,
                rows: 256,
                pixel_mm: o.spot_pixel_mm,
                z_top_mm: o.spot_center_z_mm + 128.0 * o.spot_pixel_mm,
            };
            (g, o.spot_duration_s, o.spot_duration_s, 0.0)
        }
    };
    let mut spec = ModelSpec {
        kinetics: &o.kinetics,
        injection_level,
        early_bladder: o.early_bladder,
        convexity_blocked: o.convexity_absent_24h,
        leaks: leaks.iter().map(|l| l.1.clone()).collect(),
        outflow_scale: 1.0,
    };
    let layout = Model::new(&spec).layout;
    let views: Vec<ViewFootprints> = View::BOTH
        .iter()
        .map(|&v| footprints(v, &grid, &o.physics, layout, &leaks))
        .collect();
    let i24 = index_24h(&o.time_points_h);
    if let Some(target) = o.target_retention_24h_pct {
        let i24 = i24.ok_or_else(|| invalid("a target 24-h retention needs a 24 h time point"))?;
        spec.outflow_scale = calibrate(o, &spec, &views[1], i24, target / 100.0, exposure_s)?;
    }
    let model = Model::new(&spec);
    let states = model.solve(&o.time_points_h);
    let mut time_points = Vec::new();
    for (&hours, x) in o.time_points_h.iter().zip(states) {
        let scale = exposure_mbq_s(o, hours, exposure_s);
        let mut noiseless = [
            Array2::<f64>::zeros((grid.rows, grid.cols)),
            Array2::<f64>::zeros((grid.rows, grid.cols)),
        ];
        let mut csf = noiseless.clone();
        let mut bladder = noiseless.clone();
        for (vi, fp) in views.iter().enumerate() {
            for (c, f) in fp.by_compartment.iter().enumerate() {
                f.add_to(&mut noiseless[vi], x[c] * scale);
                if Layout::is_csf(c) {
                    f.add_to(&mut csf[vi], x[c] * scale);
                }
                if c == layout.bladder() {
                    f.add_to(&mut bladder[vi], x[c] * scale);
                }
            }
        }
        let counts = [0, 1].map(|vi| {
            let key = format!("cisterno/counts/{hours}/{}", View::BOTH[vi].as_str());
            let mut rng = crate::study::rng_for(seed, &key);
            noiseless[vi].mapv(|lambda| {
                let c = crate::noise::poisson_sample(&mut rng, lambda);
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a Poisson draw is a non-negative integer, clamped to u16 here"
                )]
                let v = c.clamp(0.0, 65535.0) as u16;
                v
            })
        });
        time_points.push(TimePoint {
            hours,
            compartments: x,
            noiseless,
            csf_noiseless: csf,
            bladder_noiseless: bladder,
            counts,
        });
    }
    // Convexity share of the anterior intracranial counts at 24 h.
    let convexity_fraction_24h = i24.map(|i| {
        let x = &time_points[i].compartments;
        let fp = &views[0].by_compartment;
        let v = x[Layout::CONVEXITY] * fp[Layout::CONVEXITY].sum();
        let b = x[Layout::BASAL] * fp[Layout::BASAL].sum();
        v / (v + b).max(f64::MIN_POSITIVE)
    });
    let mut truth = make_truth(
        o,
        &time_points,
        i24,
        spec.outflow_scale,
        &grid,
        convexity_fraction_24h,
    );
    let laterals = render_laterals(o, &model, &leaks, seed);
    truth.lateral_views = laterals
        .iter()
        .map(|l| LateralViewTruth {
            hours: l.hours,
            side: l.side.as_str().to_owned(),
        })
        .collect();
    Ok(CisternoStudy {
        options: o.clone(),
        grid,
        frame_duration_s,
        exposure_s,
        scan_length_mm,
        time_points,
        laterals,
        truth,
    })
}

/// Find the outflow multiplier that makes the raw posterior retention equal `target`.
fn calibrate(
    o: &CisternoOptions,
    spec: &ModelSpec<'_>,
    posterior: &ViewFootprints,
    i24: usize,
    target: f64,
    exposure_s: f64,
) -> Result<f64> {
    let sums: Vec<f64> = posterior
        .by_compartment
        .iter()
        .map(Footprint::sum)
        .collect();
    let t_ref = o.time_points_h[0];
    let t24 = o.time_points_h[i24];
    let ratio = |scale: f64| {
        let mut s = spec.clone();
        s.outflow_scale = scale;
        let m = Model::new(&s);
        let xs = m.solve(&[t_ref, t24]);
        let a = csf_counts_fast(&xs[0], &sums, m.layout) * exposure_mbq_s(o, t_ref, exposure_s);
        let b = csf_counts_fast(&xs[1], &sums, m.layout) * exposure_mbq_s(o, t24, exposure_s);
        b / a
    };
    let (mut lo, mut hi) = (-8.0_f64, 6.0_f64); // ln(scale)
    if ratio(lo.exp()) < target || ratio(hi.exp()) > target {
        return Err(invalid(format!(
            "a raw 24-h retention of {:.1} % cannot be reached with this model (range {:.1}-{:.1} %)",
            target * 100.0,
            ratio(hi.exp()) * 100.0,
            ratio(lo.exp()) * 100.0
        )));
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if ratio(mid.exp()) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok((0.5 * (lo + hi)).exp())
}

fn sum(a: &Array2<f64>) -> f64 {
    a.iter().sum()
}

/// Counts of the bladder and of everything else inside a disc around the bladder.
fn bladder_roi(tp: &TimePoint, vi: usize, grid: &Grid) -> (f64, f64) {
    let view = View::BOTH[vi];
    let (cc, rc) = grid.pixel_of(view, body::BLADDER_CENTRE[0], body::BLADDER_CENTRE[2]);
    let r_px = (body::BLADDER_RADIUS_MM + 10.0) / grid.pixel_mm;
    let (mut b, mut t) = (0.0, 0.0);
    for ((r, c), &v) in tp.noiseless[vi].indexed_iter() {
        let (dr, dc) = (r as f64 - rc, c as f64 - cc);
        if dr * dr + dc * dc <= r_px * r_px {
            t += v;
            b += tp.bladder_noiseless[vi][(r, c)];
        }
    }
    (b, t)
}

fn make_truth(
    o: &CisternoOptions,
    tps: &[TimePoint],
    i24: Option<usize>,
    outflow_scale: f64,
    grid: &Grid,
    convexity_fraction_24h: Option<f64>,
) -> CisternoTruth {
    let mut time_points = Vec::new();
    let mut csf_by_view = Vec::new();
    for tp in tps {
        let a = sum(&tp.csf_noiseless[0]);
        let p = sum(&tp.csf_noiseless[1]);
        let ba = sum(&tp.bladder_noiseless[0]);
        let bp = sum(&tp.bladder_noiseless[1]);
        for (view, c, b) in [
            ("anterior", a, ba),
            ("posterior", p, bp),
            ("geometric_mean", (a * p).sqrt(), (ba * bp).sqrt()),
        ] {
            time_points.push(TimePointTruth {
                hours: tp.hours,
                view: view.to_owned(),
                csf_counts: round_to(c, 3),
                bladder_counts: round_to(b, 3),
            });
        }
        csf_by_view.push([a, p, (a * p).sqrt()]);
    }
    let retention_24h = i24.map(|i| {
        let r = |v: usize| 100.0 * csf_by_view[i][v] / csf_by_view[0][v];
        let dt = tps[i].hours - tps[0].hours;
        let d = decay_factor(dt);
        RetentionTruth {
            raw_pct: round_to(r(1), 6),
            decay_corrected_pct: round_to(r(1) / d, 6),
            reference_h: tps[0].hours,
            view: "posterior".to_owned(),
            roi_policy: "whole CSF space (spinal and intracranial subarachnoid space); \
                         extrathecal accumulations, blood, kidneys and bladder excluded; \
                         noiseless counts of equal acquisition windows"
                .to_owned(),
            anterior_raw_pct: round_to(r(0), 6),
            geometric_mean_raw_pct: round_to(r(2), 6),
            decay_factor: round_to(d, 9),
            half_life_s: IN111_HALF_LIFE_S,
        }
    });
    // Bladder: anterior view (the bladder is anterior in the pelvis).
    let visible: Vec<bool> = tps
        .iter()
        .map(|tp| {
            let (b, t) = bladder_roi(tp, 0, grid);
            let csf = sum(&tp.csf_noiseless[0]);
            b > 0.0 && b >= 3.0 * t.sqrt() && b >= BLADDER_VISIBLE_FRACTION_OF_CSF * csf
        })
        .collect();
    let first = tps
        .iter()
        .zip(&visible)
        .find(|(_, v)| **v)
        .map(|(tp, _)| tp.hours);
    let accumulations = o
        .accumulations
        .iter()
        .map(|a| {
            let range = a.level_range().unwrap_or(0..=0);
            let mid = (range.start() + range.end()) / 2;
            AccumulationTruth {
                pattern: a.pattern,
                level: SPINE_LEVELS[mid].to_owned(),
                from_level: SPINE_LEVELS[*range.start()].to_owned(),
                to_level: SPINE_LEVELS[*range.end()].to_owned(),
                side: match a.side {
                    Side::Left => "left",
                    Side::Right => "right",
                    Side::Bilateral => "bilateral",
                }
                .to_owned(),
            }
        })
        .collect();
    CisternoTruth {
        status: "present".to_owned(),
        time_points,
        retention_24h,
        early_bladder_h: first,
        early_bladder_within_2_5h: first.is_some_and(|h| h <= 2.5),
        early_bladder_within_3h: first.is_some_and(|h| h <= 3.0),
        bladder_rule: format!(
            "anterior view, disc of radius {} mm on the bladder: bladder counts >= 3 sqrt(ROI \
             counts) and >= {} % of the whole-CSF counts",
            body::BLADDER_RADIUS_MM + 10.0,
            BLADDER_VISIBLE_FRACTION_OF_CSF * 100.0
        ),
        convexity_activity_24h: convexity_fraction_24h.map(|f| f >= CONVEXITY_PRESENT_FRACTION),
        convexity_fraction_24h: convexity_fraction_24h.map(|f| round_to(f, 6)),
        accumulations,
        time_points_h: o.time_points_h.clone(),
        administered_mbq: o.administered_mbq,
        radiopharmaceutical: "In-111 DTPA".to_owned(),
        injection_level: o.injection_level.clone(),
        mode: o.mode,
        outflow_scale: round_to(outflow_scale, 9),
        lateral_views: Vec::new(),
    }
}
