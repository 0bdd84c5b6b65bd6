//! Spinal canal model and extradural fluid on spinal MRI (MHLW 2011 section A; clinical.md §2.2,
//! §6.1). CT myelography (section C) is planned in this crate and not implemented yet.
//!
//! This crate must **not** depend on DICOM crates, `csfleak-dicom` or `csfleak-phantom` (the
//! latter only as a dev-dependency): it takes [`Volume`](csfleak_volume::Volume)s in patient LPS millimetres and
//! returns findings sections and overlays. MR intensities are used only relative to the
//! patient's own intrathecal CSF signal (no absolute thresholds across series).
//!
//! * [`canal::CanalModel`]: per slice of an axial (or oblique-axial) stack, the dural sac
//!   (filled cross-section, centre, area), its intrathecal CSF area, and the position along the
//!   canal in mm; [`canal::build_canal`] builds it in parallel across slices.
//! * [`levels::LevelScale`]: patient height -> vertebral level (vertebra or disc) from detected
//!   landmarks, counted from an identifiable end or anchored by the user, or positions in mm
//!   only when no end is in view.
//! * [`mri::analyze_mri`]: extradural fluid collections (extent, thickness, volume, position,
//!   continuity with the subarachnoid space, enhancement against a contrast T1 sampled in the
//!   same patient frame), floating dural sac sign, mimics, intraspinal CSF volume, and the
//!   `spine` findings section; [`mri::MriAnalysis::overlays`] describes a sagittal overview
//!   (collections outlined, levels labelled) and axial key slices (sac and fluid coloured).
//!
//! ```no_run
//! # fn t2() -> csfleak_volume::Volume { unimplemented!() }
//! let analysis = csfleak_spine::mri::analyze_mri(&t2(), None, &csfleak_spine::SpineOptions::default())?;
//! println!("{} collection(s)", analysis.collections.len());
//! # Ok::<(), csfleak_spine::Error>(())
//! ```

pub mod canal;
pub mod ctm;
mod image2d;
pub mod levels;
pub mod mri;
mod mri_levels;
mod overlays;

use csfleak_findings::Level;
use serde::Deserialize;

/// Errors of the spine analysis (input unusable). Valid input that cannot answer the question
/// is a `not_assessable` finding instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The volume has too few slices or pixels to hold a canal.
    #[error("volume too small for a spine analysis: {dims:?} voxels")]
    TooSmall {
        /// `[ni, nj, nk]`.
        dims: [usize; 3],
    },
    /// Labelled level landmarks contradict each other.
    #[error("inconsistent vertebral level landmarks: {detail}")]
    InconsistentLevels {
        /// What contradicts what.
        detail: String,
    },
    /// An allocation derived from the input size was refused.
    #[error("allocation refused")]
    Alloc(#[from] csfleak_volume::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A user's level anchor (`--level-anchor L5/S1=z_mm`): the given level lies at patient
/// height `z_mm` (LPS z, mm, + superior).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct LevelAnchor {
    /// The anchored level (vertebra or disc).
    pub level: Level,
    /// Patient z of that level in mm.
    pub z_mm: f64,
}

/// Options of the spine analysis.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SpineOptions {
    /// Override of the automatic level labelling.
    pub level_anchor: Option<LevelAnchor>,
    /// Bright threshold as a fraction of the intrathecal CSF reference signal (0.5 = the
    /// half-way edge of partial volume).
    pub bright_fraction: f64,
    /// A dark line (dura) is a pixel at least this fraction of the CSF reference darker than
    /// bright pixels on both sides.
    pub valley_fraction: f64,
    /// A dural gap (continuity with the subarachnoid space): across the dura, on three
    /// neighbouring rays, the signal never drops below this fraction of the CSF reference. An
    /// intact 0.4 mm dura between fluid on both sides dips to about 0.6 at 1 mm pixels; 0.82
    /// balances missed gaps (partial volume of a 3 mm gap in a 4-5 mm slice) and false ones.
    pub gap_fraction: f64,
    /// Extradural fluid must come within this distance of the sac (mm).
    pub max_gap_mm: f64,
    /// And lie within this distance of the sac (mm; the epidural space inside the canal).
    pub max_reach_mm: f64,
    /// Water-like: the 90th percentile of the lesion signal is at least this fraction of the
    /// intrathecal CSF median.
    pub water_fraction: f64,
    /// Enhancing on contrast T1: lesion / intrathecal CSF signal ratio at least this.
    pub enhancement_ratio: f64,
    /// Lesions shorter than this (mm along the canal) at the side of the sac are root-sleeve
    /// or Tarlov mimics rather than collections.
    pub min_collection_extent_mm: f64,
    /// A focal lateral lesion with an equivalent radius at least this (mm) is a Tarlov cyst,
    /// else a dilated root sleeve.
    pub tarlov_min_radius_mm: f64,
    /// A lesion must lie beyond a visible dark line (dura) on at least this fraction of its
    /// pixels' rays; bright signal continuous with the sac everywhere is the sac itself.
    pub min_separated_fraction: f64,
    /// That rule applies to focal lesions only (at most this long along the canal, mm): a
    /// collection over several levels is not a local bulge of the sac, and on coarse pixels
    /// (> 1 mm) a 0.3-0.5 mm dura is often not resolved at all.
    pub max_bulge_extent_mm: f64,
    /// Collections thinner than this (mm) are not reported.
    pub min_thickness_mm: f64,
    /// Collections smaller than this (mL) are not reported.
    pub min_volume_ml: f64,
}

impl Default for SpineOptions {
    fn default() -> Self {
        Self {
            level_anchor: None,
            bright_fraction: 0.5,
            valley_fraction: 0.12,
            gap_fraction: 0.82,
            max_gap_mm: 3.0,
            max_reach_mm: 14.0,
            water_fraction: 0.85,
            enhancement_ratio: 2.0,
            min_collection_extent_mm: 20.0,
            tarlov_min_radius_mm: 4.0,
            min_separated_fraction: 0.3,
            max_bulge_extent_mm: 40.0,
            min_thickness_mm: 1.0,
            min_volume_ml: 0.25,
        }
    }
}

impl SpineOptions {
    /// With a level anchor.
    pub fn with_level_anchor(mut self, anchor: LevelAnchor) -> Self {
        self.level_anchor = Some(anchor);
        self
    }
}
