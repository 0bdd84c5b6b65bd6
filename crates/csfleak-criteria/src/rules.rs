//! Rule sets as versioned data: parameters, finding-grade tables and the metadata (id, source,
//! confidence) of every rule, read from TOML. The built-in set is `rules/default.toml`.

use std::collections::BTreeMap;
use std::path::Path;

use csfleak_findings::AccumulationPattern;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Error, Grade};

/// The built-in rule set (MHLW 2011 + GL2007 + ICHD-3 + Bern 2019 + J007-2).
pub const DEFAULT_RULES_TOML: &str = include_str!("../rules/default.toml");

/// Confidence tag of a rule (clinical.md §0.1).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Confidence {
    /// Verified in a cited source.
    V,
    /// Partially verified.
    P,
    /// Unverified: a grade it decides carries a warning.
    U,
}

/// Metadata of one rule, following the criterion template: what it checks (`text`), the
/// threshold, the source and when it is not assessable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleMeta {
    /// Stable id, e.g. `"MHLW2011-A-definite"`.
    pub id: String,
    /// Citation.
    pub source: String,
    /// Confidence tag.
    pub confidence: Confidence,
    /// What the rule checks and what it yields.
    pub text: String,
    /// Threshold(s) and comparison, with the parameter name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    /// When the rule cannot be applied (the input is then listed as not assessable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_assessable_when: Option<String>,
}

/// A tri-state condition on an `Option<bool>` input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cond {
    /// Always holds.
    Any,
    /// `Some(true)`.
    True,
    /// `Some(false)`.
    False,
    /// `None` (unknown / not shown).
    Null,
    /// `Some(false)` or `None` ("not shown / unknown").
    NotTrue,
}

impl Cond {
    /// Whether the condition holds for `v`.
    pub const fn holds(self, v: Option<bool>) -> bool {
        match self {
            Self::Any => true,
            Self::True => matches!(v, Some(true)),
            Self::False => matches!(v, Some(false)),
            Self::Null => v.is_none(),
            Self::NotTrue => !matches!(v, Some(true)),
        }
    }
}

/// A grade cell in a table: a grade or `"none"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TableGrade {
    /// A grade.
    Grade(Grade),
    /// `"none"`: no finding.
    None(NoneTag),
}

/// The literal `"none"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoneTag {
    /// No grade.
    None,
}

impl TableGrade {
    /// As an optional grade.
    pub const fn grade(self) -> Option<Grade> {
        match self {
            Self::Grade(g) => Some(g),
            Self::None(_) => None,
        }
    }
}

/// A row of the spinal MRI table (MHLW 2011 section A).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpinalMriRow {
    /// Rule id.
    pub rule: String,
    /// Condition on ② non-enhancing.
    pub non_enhancing: Cond,
    /// Condition on ③ continuity with the subarachnoid space.
    pub continuous_with_sas: Cond,
    /// Resulting grade.
    pub grade: TableGrade,
}

/// Accumulation pattern in the RI table; `none` = no accumulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiPattern {
    /// RI-1.
    UnilateralLocalized,
    /// RI-2.
    Asymmetric,
    /// RI-3.
    CervicothoracicSymmetric,
    /// Lumbar symmetric.
    LumbarSymmetric,
    /// No accumulation.
    None,
}

impl From<AccumulationPattern> for RiPattern {
    fn from(p: AccumulationPattern) -> Self {
        match p {
            AccumulationPattern::UnilateralLocalized => Self::UnilateralLocalized,
            AccumulationPattern::Asymmetric => Self::Asymmetric,
            AccumulationPattern::CervicothoracicSymmetric => Self::CervicothoracicSymmetric,
            AccumulationPattern::LumbarSymmetric => Self::LumbarSymmetric,
        }
    }
}

/// A row of the RI cisternography table (MHLW 2011 section B).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiRow {
    /// Rule id.
    pub rule: String,
    /// Accumulation pattern.
    pub pattern: RiPattern,
    /// Condition on CSF circulation failure (no convexity activity at 24 h).
    pub circulation_failure: Cond,
    /// Resulting grade.
    pub grade: TableGrade,
}

/// Numeric parameters of the rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Params {
    /// Same-site tolerance for RI × spinal MRI pairing, in vertebral levels.
    pub same_site_tolerance_levels: u8,
    /// Tolerance around a puncture / catheter-entry level, in vertebral levels.
    pub puncture_tolerance_levels: u8,
    /// GL2007 24-h residual threshold (≤ is positive).
    pub ri_retention_threshold_pct: f64,
    /// Grade the residual on decay-corrected instead of raw counts.
    pub ri_retention_use_decay_corrected: bool,
    /// GL2007 early bladder window (≤).
    pub early_bladder_h_gl2007: f64,
    /// MHLW early bladder window (≤), reference finding only.
    pub early_bladder_h_mhlw: f64,
    /// 低髄液圧症 opening pressure (≤).
    pub csf_pressure_low_mmh2o_jp: f64,
    /// ICHD-3 opening pressure (<).
    pub csf_pressure_low_mmh2o_ichd3: f64,
    /// Bern suprasellar cistern (≤).
    pub bern_suprasellar_mm: f64,
    /// Bern prepontine cistern (≤).
    pub bern_prepontine_mm: f64,
    /// Bern mamillopontine distance (≤).
    pub bern_mamillopontine_mm: f64,
    /// Borderline margin for the quantitative Bern items.
    pub bern_borderline_margin_mm: f64,
    /// ICHD-3 brain sagging: mamillopontine distance (<).
    pub sagging_mamillopontine_mm: f64,
    /// ICHD-3 brain sagging: pontomesencephalic angle (<).
    pub sagging_pontomesencephalic_deg: f64,
    /// Pediatric note below this age (<).
    pub pediatric_age_years: f64,
    /// ICHD-3 7.2.1 onset window in days.
    pub pdph_onset_days: i64,
    /// ICHD-3 7.2.3 exclusion window in days.
    pub sih_puncture_exclusion_days: i64,
}

impl Default for Params {
    /// The parameters of the built-in rule set.
    fn default() -> Self {
        RuleSet::builtin().params
    }
}

/// A complete rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Version string written to `assessment.json` (`rules_version`).
    pub rules_version: String,
    /// Parameters.
    pub params: Params,
    /// MHLW 2011 section A table.
    pub spinal_mri_table: Vec<SpinalMriRow>,
    /// MHLW 2011 section B table.
    pub ri_table: Vec<RiRow>,
    /// Metadata of every rule.
    pub rules: Vec<RuleMeta>,
}

/// Rule ids the checker fires from code; a rule set must define all of them.
pub(crate) const REQUIRED_RULES: &[&str] = &[
    "MHLW2011-A-mimic",
    "MHLW2011-A-absent",
    "MHLW2011-B3-early-bladder",
    "MHLW2011-C-definitive",
    "MHLW2011-C-definite",
    "MHLW2011-C-puncture-site",
    "CSFLEAK-CATHETER-ENTRY",
    "CSFLEAK-MRI-PUNCTURE-SITE",
    "MHLW2011-DX-definitive",
    "MHLW2011-DX-definite",
    "MHLW2011-DX-same-site",
    "MHLW2011-DX-suspected",
    "MHLW2011-DX-none",
    "MHLW2011-IH-definitive",
    "MHLW2011-IH-definite",
    "GL2007-RI-bladder",
    "GL2007-RI-extrathecal",
    "GL2007-RI-retention",
    "ICHD3-7.2",
    "ICHD3-7.2.1",
    "ICHD3-7.2.2",
    "ICHD3-7.2.3",
    "BERN2019-score",
    "J007-2-eligibility",
    "SEED0-flowchart",
    "SEED0-pediatric",
    "SEED3-pump-mri",
];

impl RuleSet {
    /// The built-in rule set.
    pub fn builtin() -> Self {
        // The embedded file is tested (`builtin_rules_parse`); a failure here is a build bug.
        Self::from_toml_str(DEFAULT_RULES_TOML, "built-in rules")
            .unwrap_or_else(|e| panic!("built-in rule set is invalid: {e:#}"))
    }

    /// Parse and check a rule set; `origin` names the file in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, Error> {
        let r: Self = toml::from_str(text).map_err(|source| Error::Rules {
            path: origin.to_owned(),
            source,
        })?;
        r.check(origin)?;
        Ok(r)
    }

    /// Read a rule-set file.
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    fn check(&self, origin: &str) -> Result<(), Error> {
        let bad = |message: String| Error::InvalidRules {
            path: origin.to_owned(),
            message,
        };
        let mut ids = BTreeMap::new();
        for r in &self.rules {
            if ids.insert(r.id.as_str(), r).is_some() {
                return Err(bad(format!("rule id {:?} is defined twice", r.id)));
            }
        }
        let table_ids = self
            .spinal_mri_table
            .iter()
            .map(|r| r.rule.as_str())
            .chain(self.ri_table.iter().map(|r| r.rule.as_str()));
        for id in REQUIRED_RULES.iter().copied().chain(table_ids) {
            if !ids.contains_key(id) {
                return Err(bad(format!(
                    "rule {id:?} is used but has no [[rules]] entry"
                )));
            }
        }
        if self.spinal_mri_table.is_empty() {
            return Err(bad("spinal_mri_table is empty".to_owned()));
        }
        let p = &self.params;
        for (name, v) in [
            ("ri_retention_threshold_pct", p.ri_retention_threshold_pct),
            ("early_bladder_h_gl2007", p.early_bladder_h_gl2007),
            ("early_bladder_h_mhlw", p.early_bladder_h_mhlw),
            ("csf_pressure_low_mmh2o_jp", p.csf_pressure_low_mmh2o_jp),
            (
                "csf_pressure_low_mmh2o_ichd3",
                p.csf_pressure_low_mmh2o_ichd3,
            ),
            ("bern_suprasellar_mm", p.bern_suprasellar_mm),
            ("bern_prepontine_mm", p.bern_prepontine_mm),
            ("bern_mamillopontine_mm", p.bern_mamillopontine_mm),
            ("bern_borderline_margin_mm", p.bern_borderline_margin_mm),
            ("sagging_mamillopontine_mm", p.sagging_mamillopontine_mm),
            (
                "sagging_pontomesencephalic_deg",
                p.sagging_pontomesencephalic_deg,
            ),
            ("pediatric_age_years", p.pediatric_age_years),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(bad(format!("params.{name} must be a finite number >= 0")));
            }
        }
        Ok(())
    }

    /// Metadata of a rule. Every id used by the checker is checked at load time.
    pub fn meta(&self, id: &str) -> Option<&RuleMeta> {
        self.rules.iter().find(|r| r.id == id)
    }
}

impl Default for RuleSet {
    fn default() -> Self {
        Self::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_parse() {
        let r = RuleSet::builtin();
        assert_eq!(r.params.same_site_tolerance_levels, 1);
        assert_eq!(Params::default(), r.params);
        assert_eq!(r.params.ri_retention_threshold_pct, 30.0);
        assert_eq!(r.spinal_mri_table.len(), 4);
        assert_eq!(r.ri_table.len(), 9);
        assert_eq!(
            r.meta("MHLW2011-B-RI1").map(|m| m.confidence),
            Some(Confidence::U)
        );
        assert_eq!(
            r.meta("MHLW2011-B-RI1-CF").map(|m| m.confidence),
            Some(Confidence::V)
        );
    }

    #[test]
    fn threshold_rules_name_their_parameter() {
        let r = RuleSet::builtin();
        for (id, param) in [
            ("GL2007-RI-retention", "ri_retention_threshold_pct"),
            ("GL2007-RI-bladder", "early_bladder_h_gl2007"),
            ("MHLW2011-B3-early-bladder", "early_bladder_h_mhlw"),
            ("MHLW2011-IH-definitive", "csf_pressure_low_mmh2o_jp"),
            ("ICHD3-7.2", "csf_pressure_low_mmh2o_ichd3"),
            ("BERN2019-score", "bern_mamillopontine_mm"),
            ("MHLW2011-DX-same-site", "same_site_tolerance_levels"),
            ("MHLW2011-C-puncture-site", "puncture_tolerance_levels"),
        ] {
            let t = r
                .meta(id)
                .and_then(|m| m.threshold.clone())
                .unwrap_or_default();
            assert!(t.contains(param), "{id}: {t}");
        }
    }

    #[test]
    fn missing_rule_is_named() {
        let text = DEFAULT_RULES_TOML.replace("id = \"MHLW2011-DX-same-site\"", "id = \"X\"");
        let e = RuleSet::from_toml_str(&text, "my.toml").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("MHLW2011-DX-same-site") && msg.contains("my.toml"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_param_is_named() {
        let text = DEFAULT_RULES_TOML.replace("[params]\n", "[params]\nsame_site_tolerance = 2\n");
        let e = RuleSet::from_toml_str(&text, "my.toml").unwrap_err();
        let src = std::error::Error::source(&e)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(src.contains("same_site_tolerance"), "{src}");
    }

    #[test]
    fn conditions() {
        assert!(
            Cond::NotTrue.holds(None)
                && Cond::NotTrue.holds(Some(false))
                && !Cond::NotTrue.holds(Some(true))
        );
        assert!(Cond::Null.holds(None) && !Cond::Null.holds(Some(false)));
        assert!(
            Cond::Any.holds(Some(true))
                && Cond::True.holds(Some(true))
                && Cond::False.holds(Some(false))
        );
    }
}
