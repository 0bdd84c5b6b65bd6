//! The `assessment.json` document (findings-contract.md).

use csfleak_findings::{Date, Evidence, Level, Provenance, Side};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Confidence, Grade, rules::Params};

/// Version of the `assessment.json` schema.
pub const ASSESSMENT_SCHEMA_VERSION: &str = "1";

/// Modality of a graded finding.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Spinal MRI / MR myelography.
    SpinalMri,
    /// CT myelography.
    CtMyelography,
    /// RI cisternography.
    RiCisternography,
}

impl Modality {
    /// Japanese name.
    pub const fn ja(self) -> &'static str {
        match self {
            Self::SpinalMri => "脊髄MRI/MRミエログラフィー",
            Self::CtMyelography => "CTミエログラフィー",
            Self::RiCisternography => "脳槽シンチグラフィー",
        }
    }

    /// English name.
    pub const fn en(self) -> &'static str {
        match self {
            Self::SpinalMri => "spinal MRI / MR myelography",
            Self::CtMyelography => "CT myelography",
            Self::RiCisternography => "RI cisternography",
        }
    }
}

/// One finding with its MHLW 2011 finding-level grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GradedFinding {
    /// Where it comes from in findings.json (e.g. `"spine.epidural_fluid.collections[0]"`).
    pub finding_path: String,
    /// Modality.
    pub modality: Modality,
    /// Grade, or `null` when the finding earns no grade (mimic, puncture site...).
    pub grade: Option<Grade>,
    /// Cranial level.
    pub level_from: Option<Level>,
    /// Caudal level.
    pub level_to: Option<Level>,
    /// Side.
    pub side: Option<Side>,
    /// Rules that decided the grade.
    pub rule_ids: Vec<String>,
    /// Those of `rule_ids` tagged unverified.
    pub unverified_rules: Vec<String>,
    /// Short description (Japanese).
    pub description_ja: String,
    /// Short description (English).
    pub description_en: String,
    /// The finding lies within tolerance of a puncture or catheter-entry level.
    pub at_puncture_or_catheter_entry: bool,
    /// Image links of the finding.
    pub evidence: Vec<Evidence>,
    /// Automatic or reader-entered.
    pub provenance: Option<Provenance>,
}

/// An input that could not be assessed: carried explicitly, never read as normal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotAssessable {
    /// Path in findings.json or the clinical context.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// MHLW 2011 results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Mhlw2011 {
    /// Finding-level grades.
    pub findings: Vec<GradedFinding>,
    /// 脳脊髄液漏出症 diagnosis: 確定 / 確実 / 疑 / null.
    pub diagnosis: Option<Grade>,
    /// Rules that decided the diagnosis.
    pub diagnosis_rule_ids: Vec<String>,
    /// `finding_path`s of the findings that support the diagnosis.
    pub diagnosis_supporting_findings: Vec<String>,
    /// 低髄液圧症 (intracranial hypotension): 確定 / 確実 / null.
    pub intracranial_hypotension: Option<Grade>,
    /// Rules that decided the intracranial hypotension grade.
    pub intracranial_hypotension_rule_ids: Vec<String>,
    /// Inputs that were not assessable or missing; the grades above may be higher once they
    /// are known.
    pub not_assessable: Vec<NotAssessable>,
}

/// GL2007 RI criteria.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Gl2007 {
    /// One or more criteria positive; `false` when all are known negative; `null` otherwise.
    pub ri_positive: Option<bool>,
    /// (1) early bladder within 3 h.
    pub early_bladder: Option<bool>,
    /// (2) extrathecal RI accumulation.
    pub extrathecal_ri: Option<bool>,
    /// (3) 24-h residual ≤ 30 %.
    pub retention_low: Option<bool>,
    /// The residual value graded, percent.
    pub retention_used_pct: Option<f64>,
    /// `"raw"` or `"decay_corrected"`.
    pub retention_basis: String,
}

/// ICHD-3 7.2 family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ichd3 {
    /// The subtype whose criteria are met: `"7.2.1"`, `"7.2.2"`, `"7.2.3"`, or `null`.
    pub code: Option<String>,
    /// `true` when `code` is set; `false` when 7.2 or every subtype is known not met; `null`
    /// when undetermined.
    pub fulfilled: Option<bool>,
    /// Parent 7.2 criteria A + B.
    pub criteria_7_2: Option<bool>,
    /// Inputs that would be needed to decide.
    pub missing: Vec<String>,
    /// Criteria C ("temporal relation") and D ("not better accounted for") are clinical
    /// judgements the checker cannot make; stated here.
    pub notes: Vec<String>,
}

/// One Bern score item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BernItem {
    /// Item name (`"pachymeningeal_enhancement"`, `"suprasellar_cistern_mm"`...).
    pub item: String,
    /// Points if met.
    pub points: u8,
    /// Whether met; `null` = unknown / not assessable.
    pub met: Option<bool>,
    /// Measured value (mm) for quantitative items.
    pub value_mm: Option<f64>,
    /// Threshold (mm, "≤") for quantitative items.
    pub threshold_mm: Option<f64>,
    /// Within the borderline margin of the threshold.
    pub borderline: bool,
}

/// Bern score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bern {
    /// 0..9, or `null` if any item is unknown.
    pub score: Option<u8>,
    /// `"low"` (0-2), `"intermediate"` (3-4), `"high"` (5-9), or `null`.
    pub band: Option<String>,
    /// Lowest possible score given the unknown items.
    pub score_min: u8,
    /// Highest possible score given the unknown items.
    pub score_max: u8,
    /// Items.
    pub items: Vec<BernItem>,
    /// Names of borderline items.
    pub borderline: Vec<String>,
}

/// J007-2 epidural blood patch eligibility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct J0072 {
    /// Orthostatic headache AND diagnosis 確実/確定; `null` when the diagnosis qualifies but
    /// orthostatic headache is unknown.
    pub eligible: Option<bool>,
    /// Claim text (症状詳記), Japanese; `null` when not eligible.
    pub claim_text_ja: Option<String>,
    /// Claim text, English.
    pub claim_text_en: Option<String>,
    /// `finding_path`s of the supporting findings.
    pub supporting_findings: Vec<String>,
    /// Scan date (`StudyDate`).
    pub study_date: Option<Date>,
    /// Imaging facility (`InstitutionName`).
    pub institution_name: Option<String>,
    /// Criteria version named in the claim.
    pub criteria_version: String,
}

/// Next step on the seed's diagnostic flowchart (clinical.md §12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Flowchart {
    /// Stable id of the step.
    pub next_step: String,
    /// Japanese text.
    pub text_ja: String,
    /// English text.
    pub text_en: String,
}

/// A note for the reader (pediatric, pump MRI reminder...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Note {
    /// Stable id.
    pub id: String,
    /// Japanese text.
    pub text_ja: String,
    /// English text.
    pub text_en: String,
}

/// One fired rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceEntry {
    /// Rule id.
    pub rule_id: String,
    /// Citation.
    pub source: String,
    /// Confidence tag.
    pub confidence: Confidence,
    /// Inputs the rule used (with evidence links where there are any).
    pub inputs: serde_json::Value,
    /// What it produced.
    pub result: serde_json::Value,
}

/// The whole `assessment.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Assessment {
    /// [`ASSESSMENT_SCHEMA_VERSION`].
    pub schema_version: String,
    /// Version of the tool.
    pub tool_version: String,
    /// Rule-set version.
    pub rules_version: String,
    /// Parameters used (tolerances, thresholds).
    pub parameters: Params,
    /// MHLW 2011.
    pub mhlw2011: Mhlw2011,
    /// GL2007.
    pub gl2007: Gl2007,
    /// ICHD-3.
    pub ichd3: Ichd3,
    /// Bern score.
    pub bern: Bern,
    /// J007-2.
    pub j007_2: J0072,
    /// Flowchart.
    pub flowchart: Flowchart,
    /// Notes.
    pub notes: Vec<Note>,
    /// Rules that fired, in evaluation order.
    pub trace: Vec<TraceEntry>,
    /// Warnings (unverified rules that decided a grade, incomplete inputs...).
    pub warnings: Vec<String>,
    /// Values a reader overrode in the findings (reader value used, automatic value kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reader_overrides: Vec<csfleak_findings::ReaderOverride>,
}

/// The JSON Schema of `assessment.json`.
pub fn assessment_schema() -> schemars::Schema {
    schemars::schema_for!(Assessment)
}

/// The JSON Schema of the clinical context (`--clinical FILE`).
pub fn clinical_schema() -> schemars::Schema {
    schemars::schema_for!(crate::ClinicalContext)
}

/// The JSON Schema of a rule set (`--rules FILE`, written in TOML).
pub fn rules_schema() -> schemars::Schema {
    schemars::schema_for!(crate::RuleSet)
}
