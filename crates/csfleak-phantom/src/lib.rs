//! Synthetic DICOM studies with ground truth, for tests, samples and benchmarks.
//!
//! Anatomical phantoms are continuous models in patient LPS coordinates, rendered with
//! supersampled partial volume, seeded noise and bias field, and written as DICOM series that
//! look like scanner output. Each study comes with a `truth.json` in the findings vocabulary.
//!
//! Must not depend on: `csfleak-dicom` (reading) or any measurement crate, so that phantoms stay
//! independent of what they test. Measurement code must never depend on this crate.
//!
//! * [`study`]: deterministic UIDs ([`uid`]), seeded RNG streams, [`StudyContext`], [`Vendor`].
//! * [`writer`]: [`SeriesSpec`], [`write_volume_series`] (MR/CT single-frame, optional RLE or
//!   deflate), [`write_with_study`] for other IODs.
//! * [`noise`]: Rician, Gaussian and Poisson noise, [`noise::BiasField`].
//! * [`render`]: [`render::render_supersampled`], [`render::fraction_map`].
//! * [`scenario`]: the [`Scenario`] registry, [`ScenarioContext`], [`generate`], [`Truth`].
//! * [`spine`]: spine MRI and CT myelography phantoms; [`cisterno`], [`brain`]: the other
//!   families.
//!
//! ```
//! use csfleak_phantom::{StudyContext, uid};
//! let ctx = StudyContext::new(7);
//! assert_eq!(ctx.study_instance_uid, uid(7, "study"));
//! assert!(ctx.patient_name.starts_with("PHANTOM^"));
//! ```

pub mod brain;
pub mod cisterno;
mod error;
pub mod noise;
pub mod render;
pub mod scenario;
pub mod spine;
pub mod study;
pub mod writer;

pub use error::{Error, Result};
pub use scenario::{
    GENERATOR_VERSION, GenerateOptions, Scenario, ScenarioContext, Size, Truth, find, generate,
    registry,
};
pub use study::{StudyContext, Vendor, hash64, rng_for, uid};
pub use writer::{
    Compression, CtParams, Modality, MrParams, SeriesSpec, SeriesTruth, quantize,
    write_volume_series, write_with_study,
};
