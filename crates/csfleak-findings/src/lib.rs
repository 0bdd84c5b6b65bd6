//! The findings contract of csfleak: the types of `findings.json`, typed units, spinal levels,
//! provenance, reader/automatic merging and the published JSON Schema.
//!
//! This crate depends on serde, `serde_json`, schemars and thiserror only: no imaging types
//! (ndarray, dicom-rs, image, glam) may appear here, because `csfleak-criteria` and downstream
//! tools read findings without any imaging stack.
//!
//! * [`Findings`]: the document; one optional section per modality ([`Spine`],
//!   [`CtMyelography`], [`Cisternography`], [`Brain`]); a `null` section means the modality is
//!   not in the study.
//! * [`Status`]: `present` / `absent` / `not_assessable` (+ `reason`), never mixed up.
//! * [`Level`]: `"L4"`, `"L3/4"`, with ordering and level distance.
//! * Units: [`Mm`], [`Ml`], [`Hu`], [`Hours`], [`Pct`], [`Deg`], [`MmH2O`] ...
//! * [`Provenance`] and [`Evidence`] on every finding; [`merge_reader`] merges a reader's
//!   entries over automatic findings (the reader wins, both are kept).
//! * [`findings_schema`]: the JSON Schema (`csfleak schema findings`).
//!
//! ```
//! use csfleak_findings::{Findings, Level, Status};
//! let f = Findings::from_json_str(r#"{
//!     "schema_version": "1",
//!     "study": {"study_date": "2026-01-05", "institution_name": null},
//!     "spine": {"epidural_fluid": {"status": "present", "collections": [
//!         {"from_level": "T11", "to_level": "L2", "non_enhancing": true, "continuous_with_sas": null}
//!     ]}}
//! }"#)?;
//! let fluid = f.spine.as_ref().and_then(|s| s.epidural_fluid.as_ref()).unwrap();
//! assert_eq!(fluid.status, Status::Present);
//! assert_eq!(fluid.collections[0].from_level, Some("T11".parse::<Level>()?));
//! assert_eq!("L3/4".parse::<Level>()?.distance("L5".parse()?), 1);
//! # Ok::<(), csfleak_findings::Error>(())
//! ```

mod date;
mod level;
mod merge;
mod types;
mod units;

pub use date::Date;
pub use level::{Level, Region, Vertebra, range_span, span_distance};
pub use merge::{merge_values, unknown_keys};
pub use types::*;
pub use units::{Counts, Deg, Hours, Hu, Ml, Mm, Mm2, MmH2O, Pct};

/// Version of the `findings.json` schema written by this crate (bump on a breaking change).
pub const SCHEMA_VERSION: &str = "1";

/// Errors of the findings crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A level string that is not a vertebra or a consecutive disc level.
    #[error("invalid spinal level {text:?}: expected e.g. \"L4\", \"L3/4\", \"L5/S1\"")]
    InvalidLevel {
        /// The text.
        text: String,
    },
    /// A date that is not `YYYY-MM-DD` or does not exist.
    #[error("invalid date {text:?}: expected \"YYYY-MM-DD\"")]
    InvalidDate {
        /// The text.
        text: String,
    },
    /// The JSON is malformed or does not fit the schema (the message names the field and
    /// line).
    #[error("findings JSON does not match the schema")]
    Json {
        /// Parser error with the field and position.
        #[source]
        source: serde_json::Error,
    },
    /// `schema_version` is not one this crate reads.
    #[error(
        "unsupported findings schema_version {found:?} (this build reads \"{SCHEMA_VERSION}\")"
    )]
    UnsupportedSchemaVersion {
        /// The version found.
        found: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Findings {
    /// Parse `findings.json` text and check `schema_version`.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let f: Self = serde_json::from_str(text).map_err(|source| Error::Json { source })?;
        f.check_version()?;
        Ok(f)
    }

    /// Parse an already-read JSON value and check `schema_version`.
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        let f: Self = serde_json::from_value(value).map_err(|source| Error::Json { source })?;
        f.check_version()?;
        Ok(f)
    }

    fn check_version(&self) -> Result<()> {
        if self.schema_version == SCHEMA_VERSION {
            Ok(())
        } else {
            Err(Error::UnsupportedSchemaVersion {
                found: self.schema_version.clone(),
            })
        }
    }

    /// Pretty JSON (two-space indent, trailing newline).
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Merge reader-entered findings (`findings.json`-shaped JSON with only what the reader
/// entered) over automatic findings. The reader's values win; each replaced automatic value is
/// kept in [`Findings::reader_overrides`].
pub fn merge_reader(automatic: &Findings, reader: &serde_json::Value) -> Result<Findings> {
    let auto = serde_json::to_value(automatic).map_err(|source| Error::Json { source })?;
    let (merged, overrides) = merge_values(&auto, reader);
    let mut f = Findings::from_value(merged)?;
    f.reader_overrides.extend(overrides);
    Ok(f)
}

/// The JSON Schema of `findings.json`.
pub fn findings_schema() -> schemars::Schema {
    schemars::schema_for!(Findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_documents_stable_paths() {
        let s = serde_json::to_string(&findings_schema()).unwrap();
        for key in [
            "schema_version",
            "study_instance_uid",
            "institution_name",
            "patient_age_years",
            "epidural_fluid",
            "collections",
            "continuous_with_sas",
            "floating_dural_sac_sign",
            "excluded_mimics",
            "intraspinal_csf_volume_ml",
            "at_puncture_site",
            "at_catheter_entry",
            "intrathecal_median_hu",
            "retention_24h",
            "decay_corrected_pct",
            "early_bladder_h",
            "convexity_activity_24h",
            "cervicothoracic_symmetric",
            "mamillopontine_distance_mm",
            "pontomesencephalic_angle_deg",
            "tonsil_below_mcrae_mm",
            "onsd_mm",
            "not_assessable",
        ] {
            assert!(s.contains(key), "schema lacks {key}");
        }
    }

    #[test]
    fn not_assessable_constructors_serialize_status_and_reason() {
        let f = Findings {
            spine: Some(Spine {
                epidural_fluid: Some(EpiduralFluid::not_assessable("no fat-suppressed T2")),
                ..Spine::default()
            }),
            cisternography: Some(Cisternography::not_assessable("no 24 h image")),
            ..Findings::new("0.1.0")
        };
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["spine"]["epidural_fluid"]["status"], "not_assessable");
        assert_eq!(
            v["spine"]["epidural_fluid"]["reason"],
            "no fat-suppressed T2"
        );
        assert_eq!(v["cisternography"]["reason"], "no 24 h image");
        assert_eq!(v["tool_version"], "0.1.0");
        assert_eq!(v["ct_myelography"], serde_json::Value::Null);
    }

    /// The published copy `schema/findings.schema.json` is what this build generates
    /// (`UPDATE_SCHEMA=1 cargo test -p csfleak-findings` rewrites it).
    #[test]
    fn published_schema_is_current() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/findings.schema.json");
        let mut now = serde_json::to_string_pretty(&findings_schema()).unwrap();
        now.push('\n');
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &now).unwrap();
        }
        let published = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            published == now,
            "{} is stale: run UPDATE_SCHEMA=1 cargo test -p csfleak-findings",
            path.display()
        );
    }

    #[test]
    fn roundtrip_and_version_check() {
        let f = Findings::default();
        let back = Findings::from_json_str(&f.to_json_pretty()).unwrap();
        assert_eq!(back, f);
        let e = Findings::from_json_str(r#"{"schema_version": "2"}"#).unwrap_err();
        assert!(matches!(e, Error::UnsupportedSchemaVersion { .. }), "{e}");
    }

    #[test]
    fn bad_field_is_named() {
        let e = Findings::from_json_str(
            r#"{"schema_version": "1", "spine": {"epidural_fluid": {"status": "maybe"}}}"#,
        )
        .unwrap_err();
        let Error::Json { source } = e else {
            panic!("wrong error")
        };
        let msg = source.to_string();
        assert!(msg.contains("maybe") && msg.contains("line"), "{msg}");
    }

    #[test]
    fn merge_reader_keeps_both() {
        let auto = Findings {
            brain: Some(Brain {
                mamillopontine_distance_mm: Some(Mm(7.0)),
                ..Brain::default()
            }),
            ..Findings::default()
        };
        let reader = serde_json::json!({"brain": {"mamillopontine_distance_mm": 5.5,
            "provenance": {"source": "reader", "reader": "R1"}}});
        let m = merge_reader(&auto, &reader).unwrap();
        let b = m.brain.as_ref().unwrap();
        assert_eq!(b.mamillopontine_distance_mm, Some(Mm(5.5)));
        assert!(matches!(b.provenance, Some(Provenance::Reader { .. })));
        let o = m
            .reader_overrides
            .iter()
            .find(|o| o.path == "brain.mamillopontine_distance_mm")
            .unwrap();
        assert_eq!(o.automatic, serde_json::json!(7.0));
    }
}
