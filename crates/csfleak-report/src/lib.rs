//! Everything csfleak writes for people and other tools: NIfTI-1 volumes and masks, JSON
//! sidecars, HTML, PNG overlays and charts, and CSV.
//!
//! This crate must **not** read DICOM or depend on `csfleak-dicom`: callers hand it
//! [`Volume`](csfleak_volume::Volume), [`Mask`](csfleak_volume::Mask) and
//! [`PlanarImage`](csfleak_volume::PlanarImage) values plus plain JSON metadata.
//!
//! * [`nifti`]: NIfTI-1 writer (`.nii` / `.nii.gz`), the one place where patient LPS becomes
//!   NIfTI RAS (`sform = ras_from_lps · world_from_voxel`).
//! * [`png`]: overlay descriptions rendered to PNG (the one display convention);
//!   [`chart`]: line charts drawn as overlays, e.g. the RI time-activity curve from the
//!   findings; [`html`]: the self-contained report page; [`csv`]: cohort tables.
//! * [`sidecar`]: the JSON sidecar beside each NIfTI file, with a guard that drops patient
//!   identifiers, and [`sidecar::output_stem`] for PHI-free file names.
//!
//! Every file is written to a temporary name in the destination folder and renamed when
//! complete, so a crash never leaves a half-written file under the final name.
//!
//! ```
//! use csfleak_report::nifti::{self, NiftiOptions};
//! use csfleak_volume::{Geometry, PointLps, VecLps, Volume};
//! let g = Geometry::from_dicom(
//!     [4, 3, 2],
//!     PointLps([-10.0, 20.0, 5.0]),
//!     [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
//!     [0.7, 0.5],
//!     VecLps([0.0, 0.0, 3.0]),
//! )?;
//! let v = Volume::zeros(g)?;
//! let dir = tempfile::tempdir()?;
//! let written = nifti::write_volume(&dir.path().join("ct.nii.gz"), &v, &NiftiOptions::default())?;
//! assert_eq!(written.dims, vec![4, 3, 2]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod chart;
pub mod csv;
mod font;
pub mod html;
pub mod nifti;
pub mod png;
pub mod sidecar;

mod atomic;

use std::path::PathBuf;

/// Errors of this crate. Messages name the output file; they never contain patient data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data cannot be represented in the output format (e.g. a dimension above 32767 in
    /// NIfTI-1, an empty grid).
    #[error("cannot write {}: {detail}", path.display())]
    InvalidInput {
        /// The output file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A value the chosen data type cannot hold (see [`nifti::NiftiStream`]); retry with
    /// `float32`.
    #[error("cannot write {}: a value does not fit {stored}", path.display())]
    Unrepresentable {
        /// The output file.
        path: PathBuf,
        /// The data type that was chosen.
        stored: &'static str,
    },
    /// File system error while writing.
    #[error("i/o error writing {}", path.display())]
    Io {
        /// The output file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// JSON serialisation failed.
    #[error("could not serialise JSON for {}", path.display())]
    Json {
        /// The output file.
        path: PathBuf,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
