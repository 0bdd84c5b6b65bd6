//! The criteria checker: findings (automatic or reader-entered) + clinical context -> graded
//! assessment with a rule trace.
//!
//! Pure tables and logic: depends on `csfleak-findings` only (no ndarray, dicom-rs, image,
//! nifti or glam; CI checks it).
//!
//! * [`assess`]: [`Findings`](csfleak_findings::Findings) + [`ClinicalContext`] + [`RuleSet`]
//!   -> [`Assessment`] (`assessment.json`).
//! * [`RuleSet`]: versioned rule data (`rules/default.toml`, overridable), every rule with id,
//!   source and confidence tag (V / P / U).
//! * [`Grade`]: 参考 < 疑 < 強疑 < 確実 < 確定.
//!
//! The clinical rules are those of `clinical.md` (MHLW 2011 §2, GL2007 §3 and §7, Bern §4.1,
//! ICHD-3 §5, J007-2 §8, flowchart §12, children §13, intrathecal devices §11); choices where
//! the spec is ambiguous are listed in `docs/criteria.md`.
//!
//! ```
//! use csfleak_criteria::{assess, ClinicalContext, Grade, RuleSet};
//! use csfleak_findings::Findings;
//! let f = Findings::from_json_str(r#"{"schema_version": "1",
//!   "ct_myelography": {"epidural_contrast": {"status": "present", "sites": [
//!     {"level": "T12", "side": "left", "continuous_with_sas": true, "dural_defect": false,
//!      "at_puncture_site": false, "at_catheter_entry": false}]}}}"#)?;
//! let c = ClinicalContext::from_toml_str("orthostatic_headache = true\n[[punctures]]\nlevel = \"L3/4\"\n", "clinical.toml")?;
//! let a = assess(&f, &c, &RuleSet::builtin());
//! assert_eq!(a.mhlw2011.diagnosis, Some(Grade::Definitive));
//! assert_eq!(a.j007_2.eligible, Some(true));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod assessment;
mod clinical;
mod engine;
mod grade;
pub mod rules;

use std::path::PathBuf;

pub use assessment::*;
pub use clinical::{ClinicalContext, IntrathecalCatheter, Puncture};
pub use engine::assess;
pub use grade::{Grade, describe};
pub use rules::{Confidence, RuleSet};

/// Errors of the criteria checker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("could not read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The clinical context TOML is invalid (the source names the field and line).
    #[error("invalid clinical context {path}")]
    ClinicalToml {
        /// The file.
        path: String,
        /// Parser error.
        #[source]
        source: toml::de::Error,
    },
    /// The clinical context JSON is invalid (the source names the field and line).
    #[error("invalid clinical context {path}")]
    ClinicalJson {
        /// The file.
        path: String,
        /// Parser error.
        #[source]
        source: serde_json::Error,
    },
    /// A clinical value is out of range.
    #[error("invalid clinical context {path}: field {field} {message}")]
    ClinicalValue {
        /// The file.
        path: String,
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The rule-set TOML does not parse.
    #[error("invalid rule set {path}")]
    Rules {
        /// The file.
        path: String,
        /// Parser error.
        #[source]
        source: toml::de::Error,
    },
    /// The rule set parses but is inconsistent.
    #[error("invalid rule set {path}: {message}")]
    InvalidRules {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
