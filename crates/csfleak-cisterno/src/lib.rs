//! RI (In-111 DTPA) cisternography quantification: the 24-hour RI retention (raw and
//! decay-corrected, per view and geometric mean), early bladder activity, convexity activity at
//! 24 h and paraspinal accumulation patterns with level and side (clinical.md §2.3, §3).
//!
//! This crate must **not** depend on DICOM (`csfleak-dicom`, dicom-rs) or on the phantom
//! generator: it takes planar frames with their timing and view ([`CisternoInput`], filled by
//! the adapter in `csfleak-pipeline`) and draws every ROI from the images themselves.
//!
//! * [`Frame`], [`CisternoInput`], [`CisternoOptions`]: the input and the settings (reference
//!   time, graded view, thresholds; none is published, all are configurable).
//! * [`analyze`] -> [`Analysis`]: counts per ROI, time point and view ([`TimePointCounts`]),
//!   [`Retention`], [`Bladder`], [`Convexity`], [`Accumulation`]s, the time-activity curve
//!   ([`CurvePoint`]) and ROI [`Overlay`](csfleak_volume::Overlay)s of every frame; each
//!   measurement is an [`Outcome`], `NotAssessable` with a reason when the images cannot answer.
//! * [`Analysis::to_findings`]: the `cisternography` section of `findings.json`.
//!
//! Method, in short: frames are grouped into time points by their time after injection,
//! laid out head up with the patient's left to the right of the image (posterior views are
//! mirrored), divided by their duration and registered by translation. On the "ever bright" map
//! (each smoothed frame over its 99.5th percentile, pixel-wise maximum) the spinal axis, the
//! foramen magnum (the caudal edge of the intracranial activity on the latest image, below
//! where the head narrows to the canal), the end of the thecal sac
//! and a vertebral level scale (typical level heights between those two) are found; the CSF ROI
//! is the head above the foramen magnum plus the canal out to the first valley of its profile.
//! Counts are background-subtracted with a band outside the canal ROI. Paraspinal
//! accumulations are read on the images after the first and up to 12 h; one-sided activity at
//! the puncture level and symmetric activity confined to C1-C2 are discounted with a note.
//!
//! ```
//! use csfleak_cisterno::{CisternoInput, CisternoOptions, Frame, ViewKind, analyze};
//! use ndarray::Array2;
//! // A tiny "study": a head above a vertical canal ending above the bottom of the field;
//! // both lose 70 % of their counts by 24 h.
//! let canal = |level: f32| {
//!     Array2::from_shape_fn((200, 64), |(r, c)| {
//!         let head = (2..40).contains(&r) && (12..52).contains(&c);
//!         let sac = (30..34).contains(&c) && (40..160).contains(&r);
//!         if head { 0.2 * level } else if sac { level } else { 0.0 }
//!     })
//! };
//! let frames = vec![
//!     Frame::new(0.0, ViewKind::Posterior, canal(100.0)).with_pixel_spacing([4.0, 4.0]),
//!     Frame::new(24.0, ViewKind::Posterior, canal(30.0)).with_pixel_spacing([4.0, 4.0]),
//! ];
//! let a = analyze(&CisternoInput::new(frames), &CisternoOptions::default())?;
//! let r = a.retention.value().expect("0 h and 24 h images");
//! let p = r.view(csfleak_findings::NmView::Posterior).unwrap();
//! assert!((p.raw_pct - 30.0).abs() < 0.5);
//! assert!((p.decay_corrected_pct - 30.0 * 1.28036).abs() < 0.7);
//! # Ok::<(), csfleak_cisterno::Error>(())
//! ```

mod analysis;
mod anatomy;
mod findings;
mod image;
mod input;

pub use analysis::{
    Accumulation, Analysis, Bladder, Convexity, CurvePoint, Outcome, ROI_POLICY, Retention,
    TimePointCounts, ViewRetention, analyze,
};
pub use findings::{METHOD, view_str};
pub use input::{CisternoInput, CisternoOptions, Frame, IN111_HALF_LIFE_S, ViewKind};

/// Errors of this crate: input that cannot be analysed at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Non-finite times, empty frames, non-positive half-life or spacing.
    #[error("invalid cisternography input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Decay factor `D(dt) = exp(-ln2 dt / T1/2)` for `hours` and a half-life in seconds.
pub fn decay_factor(hours: f64, half_life_s: f64) -> f64 {
    (-std::f64::consts::LN_2 * hours * 3600.0 / half_life_s).exp()
}
