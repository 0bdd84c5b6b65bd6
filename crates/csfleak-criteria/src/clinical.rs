//! Clinical context (`--clinical FILE`, TOML or JSON): what imaging cannot tell.

use std::path::Path;

use csfleak_findings::{Date, Level, MmH2O};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Error;

/// A documented dural puncture (diagnostic LP, myelography, RI injection, epidural anaesthesia
/// with accidental dural puncture...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Puncture {
    /// Date of the puncture, `"YYYY-MM-DD"`.
    #[serde(default)]
    pub date: Option<Date>,
    /// Level, e.g. `"L3/4"` or `"L4"`.
    #[serde(default)]
    pub level: Option<Level>,
    /// Purpose (free text, e.g. `"ct_myelography"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// An intrathecal catheter (e.g. an intrathecal baclofen pump, clinical.md §11).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntrathecalCatheter {
    /// Level where the catheter enters the thecal sac; treated exactly like a puncture level.
    #[serde(default)]
    pub entry_level: Option<Level>,
    /// Level of the catheter tip.
    #[serde(default)]
    pub tip_level: Option<Level>,
    /// An implanted pump is connected.
    #[serde(default)]
    pub pump: Option<bool>,
}

/// The clinical context of one study. Unknown keys are rejected with the key's name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ClinicalContext {
    /// Orthostatic headache (a clinical input; never inferred from imaging).
    #[serde(default)]
    pub orthostatic_headache: Option<bool>,
    /// Headache of any kind (ICHD-3 criterion A); `true` is implied by an orthostatic headache.
    #[serde(default)]
    pub headache: Option<bool>,
    /// Date the headache began (ICHD-3 7.2.1 and 7.2.3 time windows).
    #[serde(default)]
    pub headache_onset_date: Option<Date>,
    /// CSF opening pressure in mmH2O.
    #[serde(default)]
    pub opening_pressure_mmh2o: Option<MmH2O>,
    /// Documented dural punctures.
    #[serde(default)]
    pub punctures: Vec<Puncture>,
    /// Intrathecal catheter / pump, if any.
    #[serde(default)]
    pub intrathecal_catheter: Option<IntrathecalCatheter>,
    /// A procedure or trauma known to cause CSF leakage (surgery, trauma, puncture).
    #[serde(default)]
    pub procedure_or_trauma: Option<bool>,
    /// Age in years (else the DICOM age in the findings is used).
    #[serde(default)]
    pub age_years: Option<f64>,
    /// Symptoms (free strings).
    #[serde(default)]
    pub symptoms: Vec<String>,
    /// Tracer/contrast injection route (`"lumbar_puncture"`, `"catheter_port"`), reported.
    #[serde(default)]
    pub injection_route: Option<String>,
}

impl ClinicalContext {
    /// Parse TOML text. `origin` names the file in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, Error> {
        let c: Self = toml::from_str(text).map_err(|source| Error::ClinicalToml {
            path: origin.to_owned(),
            source,
        })?;
        c.validate(origin)?;
        Ok(c)
    }

    /// Parse JSON text. `origin` names the file in errors.
    pub fn from_json_str(text: &str, origin: &str) -> Result<Self, Error> {
        let c: Self = serde_json::from_str(text).map_err(|source| Error::ClinicalJson {
            path: origin.to_owned(),
            source,
        })?;
        c.validate(origin)?;
        Ok(c)
    }

    /// Read a file: `.json` as JSON, `.toml` as TOML, otherwise JSON if it starts with `{`.
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let origin = path.display().to_string();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("json") => Self::from_json_str(&text, &origin),
            Some("toml") => Self::from_toml_str(&text, &origin),
            _ if text.trim_start().starts_with('{') => Self::from_json_str(&text, &origin),
            _ => Self::from_toml_str(&text, &origin),
        }
    }

    fn validate(&self, origin: &str) -> Result<(), Error> {
        let bad = |field: &str, message: &str| Error::ClinicalValue {
            path: origin.to_owned(),
            field: field.to_owned(),
            message: message.to_owned(),
        };
        if let Some(p) = self.opening_pressure_mmh2o {
            if !p.is_finite() || p.get() < 0.0 || p.get() > 1000.0 {
                return Err(bad(
                    "opening_pressure_mmh2o",
                    "must be between 0 and 1000 mmH2O",
                ));
            }
        }
        if let Some(a) = self.age_years {
            if !a.is_finite() || !(0.0..=150.0).contains(&a) {
                return Err(bad("age_years", "must be between 0 and 150"));
            }
        }
        Ok(())
    }

    /// Whether a headache is known to be present (`headache`, an orthostatic headache, or a
    /// symptom mentioning headache / 頭痛); `None` if unknown.
    pub fn has_headache(&self) -> Option<bool> {
        if self.headache == Some(true) || self.orthostatic_headache == Some(true) {
            return Some(true);
        }
        let in_symptoms = self
            .symptoms
            .iter()
            .any(|s| s.to_lowercase().contains("headache") || s.contains("頭痛"));
        if in_symptoms {
            return Some(true);
        }
        self.headache
    }

    /// Levels treated as puncture sites: documented punctures and catheter entry, with a label.
    pub fn puncture_levels(&self) -> Vec<(Level, &'static str)> {
        let mut v: Vec<(Level, &'static str)> = self
            .punctures
            .iter()
            .filter_map(|p| p.level.map(|l| (l, "puncture")))
            .collect();
        if let Some(l) = self
            .intrathecal_catheter
            .as_ref()
            .and_then(|c| c.entry_level)
        {
            v.push((l, "catheter_entry"));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_with_bare_and_quoted_dates() {
        let c = ClinicalContext::from_toml_str(
            r#"
orthostatic_headache = true
opening_pressure_mmh2o = 20
procedure_or_trauma = false
symptoms = ["tinnitus"]
[[punctures]]
date = 2026-01-05
level = "L3/4"
[[punctures]]
date = "2026-01-10"
level = "L4"
[intrathecal_catheter]
entry_level = "L2/3"
tip_level = "T10"
pump = true
"#,
            "clinical.toml",
        )
        .unwrap();
        assert_eq!(c.punctures.len(), 2);
        assert_eq!(c.punctures[0].date.unwrap().to_string(), "2026-01-05");
        assert_eq!(c.opening_pressure_mmh2o, Some(MmH2O(20.0)));
        assert_eq!(c.puncture_levels().len(), 3);
        assert_eq!(c.has_headache(), Some(true));
    }

    #[test]
    fn unknown_field_is_named() {
        let e =
            ClinicalContext::from_toml_str("orthostatic_headach = true\n", "c.toml").unwrap_err();
        let msg = format!("{e:#}");
        let src = std::error::Error::source(&e)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(msg.contains("c.toml"), "{msg}");
        assert!(src.contains("orthostatic_headach"), "{src}");
        let e = ClinicalContext::from_json_str(r#"{"punctures": [{"lvl": "L4"}]}"#, "c.json")
            .unwrap_err();
        let src = std::error::Error::source(&e)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(src.contains("lvl"), "{src}");
    }

    #[test]
    fn bad_values_are_rejected() {
        let e = ClinicalContext::from_json_str(r#"{"opening_pressure_mmh2o": -3}"#, "c.json")
            .unwrap_err();
        assert!(e.to_string().contains("opening_pressure_mmh2o"), "{e}");
        let e = ClinicalContext::from_json_str(r#"{"punctures": [{"level": "L9"}]}"#, "c.json")
            .unwrap_err();
        let src = std::error::Error::source(&e)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(src.contains("L9"), "{src}");
    }

    #[test]
    fn headache_from_symptoms() {
        let c = ClinicalContext {
            symptoms: vec!["頭痛".into()],
            ..ClinicalContext::default()
        };
        assert_eq!(c.has_headache(), Some(true));
        assert_eq!(ClinicalContext::default().has_headache(), None);
        let c = ClinicalContext {
            headache: Some(false),
            ..ClinicalContext::default()
        };
        assert_eq!(c.has_headache(), Some(false));
    }
}
