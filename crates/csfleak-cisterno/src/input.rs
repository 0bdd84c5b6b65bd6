//! What the analysis reads: planar frames with their timing and view, and the options.
//!
//! These types are filled by an adapter (in `csfleak-pipeline`) from whatever loaded the
//! images; nothing here knows about DICOM.

use csfleak_findings::{Level, NmView, Region, Vertebra};
use ndarray::Array2;
use serde::Deserialize;

/// Half-life of In-111 in seconds (2.8047 d, NUBASE/ENSDF; clinical.md §3.4), used when the
/// file gives none.
pub const IN111_HALF_LIFE_S: f64 = 242_326.08;

/// Which way a planar frame looks at the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ViewKind {
    /// Detector in front of the patient.
    Anterior,
    /// Detector behind the patient.
    Posterior,
    /// Lateral (either side); shown, not used for counts.
    Lateral,
}

impl ViewKind {
    /// Lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Anterior => "anterior",
            Self::Posterior => "posterior",
            Self::Lateral => "lateral",
        }
    }
}

/// One planar frame: a whole-body scan or a spot view of one detector at one time point.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Frame {
    /// Hours from the radiopharmaceutical start to the start of the acquisition.
    pub hours: f64,
    /// View.
    pub view: ViewKind,
    /// Counts, `[row, col]`.
    pub pixels: Array2<f32>,
    /// `[row spacing, column spacing]` in mm, if known.
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// Acquisition duration in seconds (counts are divided by it), if known.
    pub frame_duration_s: Option<f64>,
    /// Whether increasing column goes toward the patient's left; `None` = the usual display
    /// (anterior: yes, posterior: no).
    pub columns_toward_patient_left: Option<bool>,
    /// Whether increasing row goes toward the feet; `None` = yes (head at the top).
    pub rows_toward_feet: Option<bool>,
    /// Series the frame comes from (evidence only).
    pub series_instance_uid: Option<String>,
    /// Frame index (0-based) within its series (evidence only).
    pub frame_index: Option<u32>,
    /// For a lateral view: the patient side facing the detector, when the file says.
    pub lateral_side: Option<csfleak_findings::Side>,
}

impl Frame {
    /// A frame of `pixels` taken `hours` after injection with `view`.
    pub fn new(hours: f64, view: ViewKind, pixels: Array2<f32>) -> Self {
        Self {
            hours,
            view,
            pixels,
            pixel_spacing_mm: None,
            frame_duration_s: None,
            columns_toward_patient_left: None,
            rows_toward_feet: None,
            series_instance_uid: None,
            frame_index: None,
            lateral_side: None,
        }
    }

    /// Set the patient side facing the detector of a lateral view.
    pub fn with_lateral_side(mut self, side: csfleak_findings::Side) -> Self {
        self.lateral_side = Some(side);
        self
    }

    /// Set the pixel spacing (`[row, column]` mm).
    pub fn with_pixel_spacing(mut self, spacing_mm: [f64; 2]) -> Self {
        self.pixel_spacing_mm = Some(spacing_mm);
        self
    }

    /// Set the acquisition duration (s).
    pub fn with_duration_s(mut self, seconds: f64) -> Self {
        self.frame_duration_s = Some(seconds);
        self
    }

    /// Set whether increasing column goes toward the patient's left.
    pub fn with_columns_toward_patient_left(mut self, yes: bool) -> Self {
        self.columns_toward_patient_left = Some(yes);
        self
    }

    /// Set whether increasing row goes toward the feet.
    pub fn with_rows_toward_feet(mut self, yes: bool) -> Self {
        self.rows_toward_feet = Some(yes);
        self
    }

    /// Set the evidence link (series and frame index).
    pub fn with_source(mut self, series_instance_uid: impl Into<String>, frame_index: u32) -> Self {
        self.series_instance_uid = Some(series_instance_uid.into());
        self.frame_index = Some(frame_index);
        self
    }
}

/// A cisternography examination: every frame, and the isotope.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CisternoInput {
    /// Frames of every time point and view, in any order.
    pub frames: Vec<Frame>,
    /// Physical half-life in seconds.
    pub half_life_s: f64,
    /// Whether the half-life came from the file (false: the In-111 default).
    pub half_life_from_file: bool,
    /// Caveats found while building the input (shown in the output notes).
    pub notes: Vec<String>,
}

impl CisternoInput {
    /// An input of `frames` with the In-111 half-life.
    pub fn new(frames: Vec<Frame>) -> Self {
        Self {
            frames,
            half_life_s: IN111_HALF_LIFE_S,
            half_life_from_file: false,
            notes: Vec::new(),
        }
    }

    /// Use the half-life read from the file.
    pub fn with_half_life_s(mut self, seconds: f64) -> Self {
        self.half_life_s = seconds;
        self.half_life_from_file = true;
        self
    }
}

/// Settings of the analysis. Thresholds have no published values (clinical.md §3.6): they are
/// conservative defaults to be agreed clinically.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CisternoOptions {
    /// Reference time point (hours); `None` = the earliest image (clinical.md §3.3).
    pub reference_h: Option<f64>,
    /// With `reference_h` unset, the earliest image is the reference only when it was taken
    /// at most this many hours after injection (clinical.md §3.3: 0 h, some centres 1 h);
    /// a later first image gives a not-assessable retention, not a ratio to the wrong time.
    pub reference_max_h: f64,
    /// Nominal retention time (hours).
    pub retention_h: f64,
    /// A time point within this many hours of `retention_h` counts as the 24-h image.
    pub retention_tolerance_h: f64,
    /// View whose retention goes into the findings (`posterior`: KIKI; clinical.md §3.3).
    pub graded_view: NmView,
    /// Frames closer in time than this (hours) belong to one time point.
    pub pairing_tolerance_h: f64,
    /// Gaussian smoothing FWHM (mm) used to find structures (counts are never smoothed).
    pub smoothing_fwhm_mm: f64,
    /// Pixel size assumed when the frames carry none (mm).
    pub default_pixel_mm: f64,
    /// Largest distance (mm) from the spinal axis to the edge of the CSF ROI.
    pub max_spinal_half_width_mm: f64,
    /// Bladder visible: net counts above this many Poisson standard deviations...
    pub bladder_sigma: f64,
    /// ...and at least this fraction of the whole-CSF counts of the same view.
    pub bladder_min_fraction_of_csf: f64,
    /// Radius of the bladder ROI (mm).
    pub bladder_radius_mm: f64,
    /// Early-bladder window of the MHLW 2011 criteria (h; reference finding only).
    pub early_bladder_mhlw_h: f64,
    /// Early-bladder window of the GL2007 guideline (h).
    pub early_bladder_gl2007_h: f64,
    /// Convexity activity present when the convexity share of intracranial counts at 24 h is
    /// at least this.
    pub convexity_present_fraction: f64,
    /// Convexity ROI: rows above this fraction of the way from the foramen magnum to the vertex.
    pub convexity_from_fraction: f64,
    /// Paraspinal strips: inner and outer distance from the spinal axis (mm).
    pub paraspinal_strip_mm: (f64, f64),
    /// A level side is hot when its paraspinal/canal ratio exceeds the study's baseline by this
    /// (absolute ratio units)...
    pub paraspinal_min_excess: f64,
    /// ...and by this many robust standard deviations.
    pub paraspinal_sigma: f64,
    /// Asymmetry index `|L - R| / (L + R)` at or above which one side is called (unilateral).
    pub unilateral_asymmetry: f64,
    /// Asymmetry index at or above which a bilateral accumulation is asymmetric.
    pub asymmetric_asymmetry: f64,
    /// Largest extent (levels) of a unilateral localized accumulation.
    pub localized_max_levels: usize,
    /// Paraspinal accumulations are read on images up to this many hours after injection
    /// (not on the first image). Later, most spinal activity has left the canal and the
    /// paraspinal/canal ratio is dominated by background and spill from the head.
    pub paraspinal_max_h: f64,
    /// One-sided activity within this many levels of the puncture level (the level of the
    /// largest canal counts on the first image) is discounted as puncture-site leakage, as a
    /// reader does; it is named in the notes.
    pub puncture_site_levels: usize,
    /// Levels where a lumbar puncture is made (below the conus): the puncture level is looked
    /// for only there, and activity reaching above the first of them is never discounted as
    /// puncture-site leakage (by 1 h the tracer may already peak above the puncture).
    pub puncture_levels: (Level, Level),
    /// Leave out of the spinal CSF ROI the activity lying against the canal beyond what the
    /// canal's own cross-section explains (extrathecal leak activity; see `ROI_POLICY`).
    pub exclude_extrathecal: bool,
}

/// A vertebral level known at compile time.
const fn vertebra(region: Region, number: u8) -> Level {
    match Vertebra::new(region, number) {
        Some(v) => Level::Vertebra(v),
        None => panic!("not a vertebra"),
    }
}

const PUNCTURE_FROM: Level = vertebra(Region::Lumbar, 2);
const PUNCTURE_TO: Level = vertebra(Region::Sacral, 1);

impl Default for CisternoOptions {
    fn default() -> Self {
        Self {
            reference_h: None,
            reference_max_h: 1.5,
            retention_h: 24.0,
            retention_tolerance_h: 4.0,
            graded_view: NmView::Posterior,
            pairing_tolerance_h: 0.25,
            smoothing_fwhm_mm: 8.0,
            default_pixel_mm: 2.0,
            max_spinal_half_width_mm: 40.0,
            bladder_sigma: 3.0,
            bladder_min_fraction_of_csf: 0.01,
            bladder_radius_mm: 45.0,
            early_bladder_mhlw_h: 2.5,
            early_bladder_gl2007_h: 3.0,
            convexity_present_fraction: 0.3,
            convexity_from_fraction: 0.45,
            paraspinal_strip_mm: (16.0, 34.0),
            paraspinal_min_excess: 0.1,
            paraspinal_sigma: 4.0,
            unilateral_asymmetry: 0.6,
            asymmetric_asymmetry: 0.25,
            localized_max_levels: 3,
            paraspinal_max_h: 12.0,
            puncture_site_levels: 1,
            puncture_levels: (PUNCTURE_FROM, PUNCTURE_TO),
            exclude_extrathecal: true,
        }
    }
}

impl CisternoOptions {
    /// Use a fixed reference time (hours) instead of the earliest image.
    pub fn with_reference_h(mut self, hours: f64) -> Self {
        self.reference_h = Some(hours);
        self
    }

    /// Choose the view whose retention is graded.
    pub fn with_graded_view(mut self, view: NmView) -> Self {
        self.graded_view = view;
        self
    }
}
