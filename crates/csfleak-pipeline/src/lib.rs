//! One study: ingest -> measurements in parallel -> findings -> grades -> outputs; and many
//! studies (batch) with resumable per-study folders and cohort tables.
//!
//! This crate ties the others together and is the only one besides the binary that knows all
//! of them. Measurement crates never see DICOM: the adapters from loaded DICOM series to each
//! measurement crate's own input types live in one module per family ([`cisterno_input`],
//! [`brain_input`], [`spine_input`]), and each family plugs in behind the [`Family`] trait.
//!
//! * [`analyze_study`]: a scanned [`Study`](csfleak_dicom::Study) -> [`StudyAnalysis`]
//!   (findings, assessment, overlays, family statuses). Families run in parallel, longest
//!   first ([`Family::cost_hint`]), with no barrier between decoding and measuring: each
//!   family's task decodes its own series (a series read by several families is decoded once,
//!   first, and shared), measures, and renders its PNGs while the others still work. Output
//!   does not depend on the thread count or on the order in which tasks finish.
//! * [`write_outputs`]: `findings.json`, `assessment.json`, `report.html`, `overlays/*.png`
//!   (the PNGs rendered during the analysis are reused), `nifti/*.nii.gz` (volumes are kept for
//!   it only when the analysis options ask for NIfTI), each written to a temporary name and
//!   renamed.
//! * [`batch`]: folder keys from the Study Instance UID, done markers, `summary.csv`,
//!   `errors.csv`.
//!
//! A family that is not applicable, or whose measurement crate is not in this build, yields
//! its section as `not_assessable` with the reason; the study still gets findings and an
//! assessment.
//!
//! ```no_run
//! use csfleak_pipeline::{AnalyzeOptions, Outputs, analyze_study, write_outputs};
//! let report = csfleak_dicom::scan(std::path::Path::new("study/"))?;
//! let analysis = analyze_study(&report.studies[0], &AnalyzeOptions::default())?;
//! println!("{:?}", analysis.assessment.mhlw2011.diagnosis);
//! write_outputs(&analysis, std::path::Path::new("out/"), Outputs::default(), &Default::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod analyze;
pub mod batch;
pub mod brain_input;
pub mod cisterno_input;
pub mod ctm_input;
pub mod family;
pub mod spine_input;

use std::path::PathBuf;

pub use analyze::{
    AnalyzeOptions, DecodedSeries, Outputs, Prerendered, StudyAnalysis, Written, analyze_study,
    analyze_study_with, write_outputs,
};
pub use csfleak_spine::{LevelAnchor, SpineOptions};
pub use family::{Family, FamilyOutput, NamedMask, Section, SeriesInput, StudyInputs};

/// Errors of the pipeline. Messages never contain patient data: series are named by number
/// and role, files by their path relative to the scanned folder or the output folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reader annotations do not fit the findings schema.
    #[error("invalid annotations: {detail}")]
    Annotations {
        /// What is wrong (field and line).
        detail: String,
    },
    /// Writing an output failed.
    #[error("could not write outputs: {detail}")]
    Write {
        /// The failing file and cause.
        detail: String,
    },
    /// File system error on a pipeline-managed path.
    #[error("i/o error on {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A bug or an unexpected state.
    #[error("internal error: {detail}")]
    Internal {
        /// What happened.
        detail: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `L5/S1=-312.5` (`LEVEL=Z_MM`, patient LPS z in mm) -> a level anchor.
///
/// ```
/// let a = csfleak_pipeline::parse_level_anchor("L5/S1=-312.5").unwrap();
/// assert_eq!(a.level.to_string(), "L5/S1");
/// assert!(csfleak_pipeline::parse_level_anchor("L5/S1").is_err());
/// ```
pub fn parse_level_anchor(text: &str) -> std::result::Result<LevelAnchor, String> {
    let bad = |why: &str| format!("{text:?}: {why} (expected LEVEL=Z_MM, e.g. L5/S1=-312.5)");
    let (level, z) = text.split_once('=').ok_or_else(|| bad("no '='"))?;
    let level: csfleak_findings::Level = level.trim().parse().map_err(|_| bad("unknown level"))?;
    let z_mm: f64 = z
        .trim()
        .parse()
        .ok()
        .filter(|z: &f64| z.is_finite())
        .ok_or_else(|| bad("the height is not a finite number"))?;
    Ok(LevelAnchor { level, z_mm })
}

/// An error and its sources joined with ": ".
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}
