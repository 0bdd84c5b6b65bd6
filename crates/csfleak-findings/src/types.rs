//! The `findings.json` document: study, series, and one section per modality.
//!
//! Every measured value is a number in the unit its key suffix names, or `null`; where `null`
//! needs a reason there is a sibling `status` / `*_status` with
//! [`Status::NotAssessable`] and a `reason`. A missing section (`"spine": null`) means that the
//! modality is not in the study; it is never read as "normal".

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Counts, Date, Deg, Hours, Hu, Level, Ml, Mm, Pct};

/// Presence of a finding: the status vocabulary used everywhere.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The finding is present.
    Present,
    /// The finding was looked for and is absent.
    Absent,
    /// Valid input that cannot answer the question (wrong sequence, out of view...); a `reason`
    /// sibling says why. Never the same as absent.
    NotAssessable,
}

impl Status {
    /// The JSON spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Absent => "absent",
            Self::NotAssessable => "not_assessable",
        }
    }
}

/// A status with its reason, used as the `*_status` sibling of a `null` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FieldStatus {
    /// Status of the sibling value.
    pub status: Status,
    /// Why it is not assessable (required in practice for `not_assessable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl FieldStatus {
    /// `not_assessable` with a reason.
    pub fn not_assessable(reason: impl Into<String>) -> Self {
        Self {
            status: Status::NotAssessable,
            reason: Some(reason.into()),
        }
    }
}

/// Side of a finding.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Patient left.
    Left,
    /// Patient right.
    Right,
    /// Midline.
    Midline,
    /// Both sides.
    Bilateral,
}

impl Side {
    /// Whether two sides can describe the same site: only left vs right conflict.
    pub fn compatible(self, other: Self) -> bool {
        !matches!(
            (self, other),
            (Self::Left, Self::Right) | (Self::Right, Self::Left)
        )
    }

    /// The JSON spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Right => "right",
            Self::Midline => "midline",
            Self::Bilateral => "bilateral",
        }
    }
}

/// Where a finding comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Provenance {
    /// Measured by csfleak.
    Automatic {
        /// The series measured.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        series_instance_uid: Option<String>,
        /// Slice (0-based, in sorted geometric order) that shows the finding best.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slice_index: Option<u32>,
        /// Name and version of the method (e.g. `"spine.epidural_fluid/1"`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        method: Option<String>,
    },
    /// Entered by a reader (radiologist).
    Reader {
        /// Reader's initials or role (not a patient identifier).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reader: Option<String>,
        /// When it was entered (ISO 8601).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entered_at: Option<String>,
        /// Free-text note.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

/// A link to the images behind a finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// Series Instance UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_instance_uid: Option<String>,
    /// SOP Instance UID of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sop_instance_uid: Option<String>,
    /// Slice index (0-based, sorted geometric order) or frame index for planar images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice_index: Option<u32>,
    /// Spinal level shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Overlay image path, relative to the output folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<String>,
    /// Short description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Study-level facts (no patient identifiers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Study {
    /// Study Instance UID.
    #[serde(default)]
    pub study_instance_uid: Option<String>,
    /// `StudyDate` (0008,0020) as `"YYYY-MM-DD"`.
    #[serde(default)]
    pub study_date: Option<Date>,
    /// `InstitutionName` (0008,0080), or `null`.
    #[serde(default)]
    pub institution_name: Option<String>,
    /// `InstitutionAddress` (0008,0081), if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution_address: Option<String>,
    /// Patient age in years (from `PatientAge`, or birth date vs study date), or `null`.
    #[serde(default)]
    pub patient_age_years: Option<f64>,
}

/// One series of the study.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeriesSummary {
    /// Series Instance UID.
    #[serde(default)]
    pub series_instance_uid: Option<String>,
    /// `SeriesNumber`.
    #[serde(default)]
    pub series_number: Option<i64>,
    /// DICOM modality (`"MR"`, `"CT"`, `"NM"`...).
    #[serde(default)]
    pub modality: Option<String>,
    /// Role the series was classified into (e.g. `"spine_t2_fs_axial"`).
    #[serde(default)]
    pub role: Option<String>,
    /// `SeriesDescription`.
    #[serde(default)]
    pub description: Option<String>,
    /// Number of images (or frames).
    #[serde(default)]
    pub n_images: Option<u32>,
    /// Quality caveats (the work went on).
    #[serde(default)]
    pub quality_flags: Vec<String>,
}

/// Position of an epidural collection around the dural sac.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FluidPosition {
    /// Ventral to the sac.
    Ventral,
    /// Dorsal.
    Dorsal,
    /// Lateral.
    Lateral,
    /// All around (floating dural sac).
    Circumferential,
}

/// A mimic that must be excluded (MHLW 2011 section A).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MimicKind {
    /// Epidural venous plexus.
    VenousPlexus,
    /// Perineural (Tarlov) cyst.
    TarlovCyst,
    /// Normal-range nerve root sleeve dilatation.
    RootSleeve,
    /// Lymphatic fluid.
    Lymphatic,
}

/// An epidural fluid collection on spinal MRI / MR myelography.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EpiduralCollection {
    /// Cranial end.
    #[serde(default)]
    pub from_level: Option<Level>,
    /// Caudal end.
    #[serde(default)]
    pub to_level: Option<Level>,
    /// Patient height (LPS z, + superior) of the cranial end; always given, so that the
    /// position is known in mm when levels could not be counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z_from_mm: Option<Mm>,
    /// Patient height of the caudal end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z_to_mm: Option<Mm>,
    /// Position, thickness and floating dural sac sign per level (empty when levels are not
    /// known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_level: Vec<CollectionLevel>,
    /// Cranio-caudal extent.
    #[serde(default)]
    pub extent_mm: Option<Mm>,
    /// Maximal thickness.
    #[serde(default)]
    pub max_thickness_mm: Option<Mm>,
    /// Volume.
    #[serde(default)]
    pub volume_ml: Option<Ml>,
    /// Position around the dural sac.
    #[serde(default)]
    pub position: Option<FluidPosition>,
    /// Predominant side, if lateralised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// Continuous with the subarachnoid space (MHLW ③); `null` = not shown / unknown.
    #[serde(default)]
    pub continuous_with_sas: Option<bool>,
    /// Not enhanced on fat-suppressed contrast T1 (MHLW ②); `null` without a contrast series.
    #[serde(default)]
    pub non_enhancing: Option<bool>,
    /// Floating dural sac sign on axial T2.
    #[serde(default)]
    pub floating_dural_sac_sign: Option<bool>,
    /// Set when the reader or the detector identified this lesion as a mimic: it is then not
    /// counted as epidural CSF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_as: Option<MimicKind>,
    /// Image links.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Automatic or reader-entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// One level of an epidural collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CollectionLevel {
    /// The level (vertebra or disc).
    pub level: Level,
    /// Predominant position around the sac at this level.
    #[serde(default)]
    pub position: Option<FluidPosition>,
    /// Maximal thickness at this level.
    #[serde(default)]
    pub max_thickness_mm: Option<Mm>,
    /// Floating dural sac sign at this level.
    #[serde(default)]
    pub floating_dural_sac_sign: Option<bool>,
}

/// How vertebral levels were assigned to positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LevelStatus {
    /// Counted automatically from an identifiable end of the spine.
    Counted,
    /// Set or corrected by a user anchor (`--level-anchor`).
    Anchored,
    /// Not counted (partial coverage, no end in view): positions are in mm only.
    NotCounted,
}

/// A labelled landmark of the level scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LevelLandmark {
    /// Disc or vertebra.
    pub level: Level,
    /// Patient height (LPS z, + superior).
    pub z_mm: Mm,
}

/// The vertebral level labelling of an analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LevelLabelling {
    /// Counted, anchored or not counted.
    pub status: LevelStatus,
    /// Method name and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Confidence of the labels, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Why levels were not counted, or a note on the anchor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Most cranial covered level.
    #[serde(default)]
    pub covered_from_level: Option<Level>,
    /// Most caudal covered level.
    #[serde(default)]
    pub covered_to_level: Option<Level>,
    /// Patient height of the cranial end of the covered span.
    #[serde(default)]
    pub covered_z_from_mm: Option<Mm>,
    /// Patient height of the caudal end of the covered span.
    #[serde(default)]
    pub covered_z_to_mm: Option<Mm>,
    /// The labelled landmarks, cranial first.
    #[serde(default)]
    pub landmarks: Vec<LevelLandmark>,
}

/// Epidural fluid on spinal MRI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EpiduralFluid {
    /// Present / absent / not assessable.
    pub status: Status,
    /// Why not assessable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The collections (empty unless present).
    #[serde(default)]
    pub collections: Vec<EpiduralCollection>,
    /// Whether a fat-suppressed contrast T1 series was available (needed for ②).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contrast_series_available: Option<bool>,
    /// Automatic or reader-entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// An excluded mimic (informational; the collections list holds what counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExcludedMimic {
    /// Kind of mimic.
    pub kind: MimicKind,
    /// Level.
    #[serde(default)]
    pub level: Option<Level>,
    /// Side.
    #[serde(default)]
    pub side: Option<Side>,
}

/// Spinal MRI / MR myelography.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Spine {
    /// Epidural fluid (MHLW 2011 section A); `null` if not evaluated.
    #[serde(default)]
    pub epidural_fluid: Option<EpiduralFluid>,
    /// Mimics that were excluded.
    #[serde(default)]
    pub excluded_mimics: Vec<ExcludedMimic>,
    /// Intraspinal CSF volume.
    #[serde(default)]
    pub intraspinal_csf_volume_ml: Option<Ml>,
    /// Why the volume is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intraspinal_csf_volume_status: Option<FieldStatus>,
    /// How vertebral levels were assigned (counted, anchored, or positions in mm only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<LevelLabelling>,
}

/// An epidural contrast site on CT myelography.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContrastSite {
    /// Level.
    #[serde(default)]
    pub level: Option<Level>,
    /// Side.
    #[serde(default)]
    pub side: Option<Side>,
    /// Epidural contrast continuous with the subarachnoid space at a leak point.
    #[serde(default)]
    pub continuous_with_sas: Option<bool>,
    /// Dural defect identified.
    #[serde(default)]
    pub dural_defect: Option<bool>,
    /// At (continuous with) the lumbar puncture site.
    #[serde(default)]
    pub at_puncture_site: Option<bool>,
    /// At the entry level of an intrathecal catheter.
    #[serde(default)]
    pub at_catheter_entry: Option<bool>,
    /// Maximal HU of the epidural contrast.
    #[serde(default)]
    pub max_hu: Option<Hu>,
    /// Image links.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Automatic or reader-entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// Epidural contrast on CT myelography.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EpiduralContrast {
    /// Present / absent / not assessable.
    pub status: Status,
    /// Why not assessable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The sites (empty unless present).
    #[serde(default)]
    pub sites: Vec<ContrastSite>,
    /// Automatic or reader-entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// CT myelography.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CtMyelography {
    /// Epidural contrast (MHLW 2011 section C).
    #[serde(default)]
    pub epidural_contrast: Option<EpiduralContrast>,
    /// Median HU inside the thecal sac.
    #[serde(default)]
    pub intrathecal_median_hu: Option<Hu>,
    /// Why `intrathecal_median_hu` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intrathecal_median_hu_status: Option<FieldStatus>,
    /// Vertebral level labelling of the CT stack (method and confidence as in
    /// `spine.levels`); the sites' levels come from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<LevelLabelling>,
    /// Hyperdense paraspinal veins (CSF-venous fistula sign; research flag, not part of the
    /// MHLW 2011 grading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paraspinal_veins: Option<ParaspinalVeins>,
    /// An intrathecal catheter seen on the CT and the level where it enters the sac
    /// (clinical.md §11; a site at that level is treated like one at a catheter entry when the
    /// clinical context names none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catheter: Option<CtCatheter>,
}

/// An intrathecal catheter seen on CT myelography.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CtCatheter {
    /// The catheter's extradural course was seen (a straight radio-opaque tube).
    #[serde(default)]
    pub seen: Option<bool>,
    /// Level where it enters the sac; `null` when the entry was not seen or levels were not
    /// counted.
    #[serde(default)]
    pub entry_level: Option<Level>,
    /// Method name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The slice of the entry (or of the end nearest the sac).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// Hyperdense paraspinal veins on CT myelography (clinical.md §8, §11: a CSF-venous fistula
/// drains contrast into the foraminal and paraspinal veins; > 70 HU in Kranz et al. 2018).
/// Research flag only: no criterion uses it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ParaspinalVeins {
    /// Veins denser than `threshold_hu` seen beside the spine; `null` when the stack does
    /// not allow the question (`reason` says why).
    #[serde(default)]
    pub hyperdense: Option<bool>,
    /// Mean HU of the densest hyperdense vein segment (absolute HU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_hu: Option<Hu>,
    /// Threshold used, HU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_hu: Option<Hu>,
    /// Levels (nerve-root levels) of the hyperdense segments, cranial first; empty when
    /// none or when levels were not counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<Level>,
    /// Sides of the hyperdense segments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sides: Vec<Side>,
    /// Method name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Why `hyperdense` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Key slices of the segments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// View of a planar NM image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NmView {
    /// Anterior.
    Anterior,
    /// Posterior.
    Posterior,
    /// Geometric mean of anterior and posterior.
    GeometricMean,
}

/// One RI cisternography time point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimePoint {
    /// Hours after tracer injection.
    pub hours: Hours,
    /// View.
    pub view: NmView,
    /// Counts in the CSF-space ROI.
    #[serde(default)]
    pub csf_counts: Option<Counts>,
    /// Counts in the bladder ROI.
    #[serde(default)]
    pub bladder_counts: Option<Counts>,
}

/// Region of interest of the RI cisternography time-activity curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CisternoRoi {
    /// Whole CSF space (intracranial + spinal), the retention ROI.
    Csf,
    /// Intracranial part of the CSF ROI.
    Intracranial,
    /// Convexity part of the intracranial ROI.
    Convexity,
    /// Bladder.
    Bladder,
    /// Both kidneys.
    Kidneys,
}

/// One point of the time-activity curve (`cisternography.curve[]`): one ROI, one view, one
/// time point. Counts are background-subtracted, per second of acquisition when
/// `cisternography.curve_counts_unit` is `counts_per_second`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CisternoCurvePoint {
    /// Hours after tracer injection.
    pub hours: Hours,
    /// View (anterior, posterior, geometric mean).
    pub view: NmView,
    /// ROI.
    pub roi: CisternoRoi,
    /// Counts as measured (no decay correction).
    pub counts: Counts,
    /// `counts / D(hours - curve_reference_h)`: decay-corrected to the reference time.
    pub decay_corrected_counts: Counts,
    /// Percent of the same ROI and view at the reference time, raw (CSF ROI only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct_of_reference: Option<Pct>,
    /// Percent of the reference, decay-corrected (CSF ROI only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct_of_reference_decay_corrected: Option<Pct>,
}

/// A lateral planar view found in the study (`cisternography.lateral_views[]`): reported for
/// confirmation by a reader, never mixed into the anterior/posterior counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LateralView {
    /// Hours after tracer injection.
    pub hours: Hours,
    /// Which side faced the detector (`left`, `right`), when the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// Where the view was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// 24-hour RI retention (residual rate).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Retention {
    /// Raw counts ratio, percent.
    #[serde(default)]
    pub raw_pct: Option<Pct>,
    /// Decay-corrected (In-111) ratio, percent.
    #[serde(default)]
    pub decay_corrected_pct: Option<Pct>,
    /// Reference time point (hours after injection; usually 0).
    #[serde(default)]
    pub reference_h: Option<Hours>,
    /// View used.
    #[serde(default)]
    pub view: Option<NmView>,
    /// ROI policy (e.g. `"whole_csf_space_excluding_leak"`).
    #[serde(default)]
    pub roi_policy: Option<String>,
    /// The retention of every view measured (anterior, posterior, geometric mean), raw and
    /// decay-corrected; `raw_pct`/`decay_corrected_pct` above are those of `view`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_view: Vec<ViewRetention>,
}

/// The 24-hour retention of one view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ViewRetention {
    /// View.
    pub view: NmView,
    /// Raw counts ratio, percent.
    pub raw_pct: Pct,
    /// Decay-corrected ratio, percent.
    pub decay_corrected_pct: Pct,
}

/// Whether bladder activity was looked for and seen (`cisternography.early_bladder_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BladderStatus {
    /// Bladder activity seen; `early_bladder_h` is the first time point.
    Seen,
    /// The bladder was in the field on every time point and no activity was seen.
    NotSeen,
    /// The bladder was not in the field (spot views of the head and spine) or could not be
    /// read: `early_bladder_h` is `null` without meaning "not seen".
    NotAssessable,
}

/// Pattern of paraspinal RI accumulation (MHLW 2011 section B-1).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AccumulationPattern {
    /// RI-1: unilateral localized (片側限局性).
    UnilateralLocalized,
    /// RI-2: asymmetric (非対称性).
    Asymmetric,
    /// RI-3: symmetric, cervical to thoracic (頸～胸部における対称性).
    CervicothoracicSymmetric,
    /// Bilateral symmetric lumbar ("Christmas tree"): reference only.
    LumbarSymmetric,
}

impl AccumulationPattern {
    /// The JSON spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnilateralLocalized => "unilateral_localized",
            Self::Asymmetric => "asymmetric",
            Self::CervicothoracicSymmetric => "cervicothoracic_symmetric",
            Self::LumbarSymmetric => "lumbar_symmetric",
        }
    }
}

/// A paraspinal RI accumulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Accumulation {
    /// Pattern.
    pub pattern: AccumulationPattern,
    /// Level (centre of the accumulation).
    #[serde(default)]
    pub level: Option<Level>,
    /// Side.
    #[serde(default)]
    pub side: Option<Side>,
    /// Image links.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Automatic or reader-entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// RI (In-111 DTPA) cisternography.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Cisternography {
    /// `present` = the examination was analysed; `not_assessable` (with `reason`) = it is in the
    /// study but could not be analysed; `absent` = no cisternography in the study.
    pub status: Status,
    /// Why not assessable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Time points.
    #[serde(default)]
    pub time_points: Vec<TimePoint>,
    /// 24-hour retention.
    #[serde(default)]
    pub retention_24h: Option<Retention>,
    /// Why `retention_24h` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_24h_status: Option<FieldStatus>,
    /// First time point (hours) with bladder activity, or `null` if none was seen.
    #[serde(default)]
    pub early_bladder_h: Option<Hours>,
    /// Whether bladder activity was seen, not seen, or could not be assessed (a `null`
    /// `early_bladder_h` is ambiguous without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_bladder_status: Option<BladderStatus>,
    /// Why the bladder could not be assessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_bladder_h_status: Option<FieldStatus>,
    /// Bladder seen at or before the MHLW 2011 window (2.5 h; reference finding only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_bladder_within_2_5h: Option<bool>,
    /// Bladder seen at or before the GL2007 window (3 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_bladder_within_3h: Option<bool>,
    /// RI over the cerebral convexity at 24 h; `false` = CSF circulation failure.
    #[serde(default)]
    pub convexity_activity_24h: Option<bool>,
    /// Why `convexity_activity_24h` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convexity_activity_24h_status: Option<FieldStatus>,
    /// Paraspinal accumulations.
    #[serde(default)]
    pub accumulations: Vec<Accumulation>,
    /// Time-activity curve: counts per ROI, view and time point, raw and decay-corrected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub curve: Vec<CisternoCurvePoint>,
    /// Reference time of `curve` (hours; the retention reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve_reference_h: Option<Hours>,
    /// Unit of `curve` counts: `counts_per_second` (frame durations known) or `counts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve_counts_unit: Option<String>,
    /// Physical half-life used for decay correction (s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_life_s: Option<f64>,
    /// Lateral views in the study (shown for confirmation; not counted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lateral_views: Vec<LateralView>,
    /// Image links of the examination as a whole: the time-activity curve and the ROI overlay
    /// of every time point and view.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// Injection route (`"lumbar_puncture"`, `"catheter_port"`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injection_route: Option<String>,
    /// Automatic or reader-entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// Where the brain landmarks came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LandmarkSource {
    /// Imported (e.g. placed by a reader).
    Imported,
    /// Found automatically.
    Automatic,
    /// Some of each.
    Mixed,
}

/// A left/right pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LeftRight<T> {
    /// Left.
    pub left: Option<T>,
    /// Right.
    pub right: Option<T>,
}

/// Brain MRI: sagging metrics and SIH signs. Each value that is `null` may have a sibling
/// `*_status` saying why (e.g. `mamillopontine_distance_status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Brain {
    /// Where the landmarks came from.
    #[serde(default)]
    pub landmark_source: Option<LandmarkSource>,
    /// Mamillopontine distance.
    #[serde(default)]
    pub mamillopontine_distance_mm: Option<Mm>,
    /// Why `mamillopontine_distance_mm` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mamillopontine_distance_status: Option<FieldStatus>,
    /// Pontomesencephalic angle.
    #[serde(default)]
    pub pontomesencephalic_angle_deg: Option<Deg>,
    /// Why `pontomesencephalic_angle_deg` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pontomesencephalic_angle_status: Option<FieldStatus>,
    /// Suprasellar cistern height.
    #[serde(default)]
    pub suprasellar_cistern_mm: Option<Mm>,
    /// Why `suprasellar_cistern_mm` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suprasellar_cistern_status: Option<FieldStatus>,
    /// Prepontine cistern width.
    #[serde(default)]
    pub prepontine_cistern_mm: Option<Mm>,
    /// Why `prepontine_cistern_mm` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepontine_cistern_status: Option<FieldStatus>,
    /// Tonsillar tip below the `McRae` line (positive = below).
    #[serde(default)]
    pub tonsil_below_mcrae_mm: Option<Mm>,
    /// Why `tonsil_below_mcrae_mm` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tonsil_below_mcrae_status: Option<FieldStatus>,
    /// Venous distension sign (engorgement of the venous sinus).
    #[serde(default)]
    pub venous_distension: Option<bool>,
    /// Why `venous_distension` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venous_distension_status: Option<FieldStatus>,
    /// Pachymeningeal enhancement (Bern definition: smooth diffuse dural enhancement).
    #[serde(default)]
    pub pachymeningeal_enhancement: Option<bool>,
    /// Why `pachymeningeal_enhancement` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pachymeningeal_enhancement_status: Option<FieldStatus>,
    /// Diffuse dural enhancement by the Japanese 低髄液圧症 definition (bilateral, continuous
    /// ≥ 3 cm, brighter than cortex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dural_enhancement_jp: Option<bool>,
    /// Why `dural_enhancement_jp` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dural_enhancement_jp_status: Option<FieldStatus>,
    /// Subdural fluid collection.
    #[serde(default)]
    pub subdural_fluid: Option<bool>,
    /// Why `subdural_fluid` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdural_fluid_status: Option<FieldStatus>,
    /// Optic nerve sheath diameter.
    #[serde(default)]
    pub onsd_mm: Option<LeftRight<Mm>>,
    /// Why `onsd_mm` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onsd_status: Option<FieldStatus>,
    /// Perioptic CSF rim width (sheath minus nerve, halved) 3 mm behind the globe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perioptic_csf_rim_mm: Option<LeftRight<Mm>>,
    /// Why `perioptic_csf_rim_mm` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perioptic_csf_rim_status: Option<FieldStatus>,
    /// Iter below the incisural line (positive = below).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iter_below_incisural_line_mm: Option<Mm>,
    /// Why `iter_below_incisural_line_mm` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iter_below_incisural_line_status: Option<FieldStatus>,
    /// Pituitary height (midsagittal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pituitary_height_mm: Option<Mm>,
    /// Why `pituitary_height_mm` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pituitary_height_status: Option<FieldStatus>,
    /// Interpeduncular angle (axial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpeduncular_angle_deg: Option<Deg>,
    /// Why `interpeduncular_angle_deg` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpeduncular_angle_status: Option<FieldStatus>,
    /// Every landmark of both sources (an imported and an automatic point of the same name are
    /// both listed; `in_use` marks the one the measurements used).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub landmarks: Vec<BrainLandmark>,
    /// Landmarks the automatic method looked for and did not find, with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub landmarks_not_found: Vec<MissingLandmark>,
    /// The image signs in detail (raw measure, confidence, borderline), by sign.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sign_details: Vec<BrainSignDetail>,
    /// Bern score items with their raw values, thresholds and borderline flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bern: Option<BernScore>,
    /// Automatic or reader-entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// One brain landmark as used or found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BrainLandmark {
    /// Vocabulary name (e.g. `"mamillary_inferior"`).
    pub name: String,
    /// Position, patient LPS mm.
    pub position_lps_mm: [f64; 3],
    /// `imported` or `automatic` (never `mixed`).
    pub source: LandmarkSource,
    /// Confidence in `[0, 1]` (imported points: 1).
    pub confidence: f64,
    /// Localisation uncertainty (1 sd), mm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty_mm: Option<f64>,
    /// Whether the measurements used this point (an imported point wins over an automatic one).
    pub in_use: bool,
}

/// A landmark the automatic method did not find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MissingLandmark {
    /// Vocabulary name.
    pub name: String,
    /// Why it was not found.
    pub reason: String,
}

/// The raw measure behind one brain image sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BrainSignDetail {
    /// The sign's key in this section (`"venous_distension"`, `"pachymeningeal_enhancement"`,
    /// `"subdural_fluid"`).
    pub sign: String,
    /// Present, absent, or `null` (not assessable).
    #[serde(default)]
    pub present: Option<bool>,
    /// The raw measure behind the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// What `value` is, with its unit (e.g. `"dura_to_cortex_ratio"`, `"thickness_mm"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_name: Option<String>,
    /// Decision threshold on `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Confidence in `[0, 1]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Close to the decision threshold.
    #[serde(default)]
    pub borderline: bool,
    /// Side (`"left"`, `"right"`, `"bilateral"`) where it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    /// Why not assessable, or remarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One Bern score item (Dobrocky 2019).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BernItemDetail {
    /// Item id (e.g. `"suprasellar_cistern"`, `"venous_engorgement"`).
    pub item: String,
    /// Points when positive.
    pub points: u8,
    /// Positive, negative, or `null` (not assessable).
    #[serde(default)]
    pub positive: Option<bool>,
    /// Raw value (mm) of the millimetre items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_mm: Option<f64>,
    /// Its uncertainty (1 sd, mm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty_mm: Option<f64>,
    /// Threshold (mm), positive at or below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_mm: Option<f64>,
    /// Within the measurement uncertainty of the threshold.
    #[serde(default)]
    pub borderline: bool,
    /// Why not assessable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The Bern score: items and the range the assessable ones allow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BernScore {
    /// The six items.
    #[serde(default)]
    pub items: Vec<BernItemDetail>,
    /// Sum of the positive items (not-assessable items count 0).
    pub score_min: u8,
    /// `score_min` plus the points of every not-assessable item.
    pub score_max: u8,
    /// The score when every item is assessable.
    #[serde(default)]
    pub score: Option<u8>,
    /// Points of borderline items.
    #[serde(default)]
    pub borderline_points: u8,
}

impl Brain {
    /// The `*_status` sibling of a value, by the value's JSON key (e.g.
    /// `"mamillopontine_distance_mm"`).
    pub fn status_of(&self, key: &str) -> Option<&FieldStatus> {
        match key {
            "mamillopontine_distance_mm" => self.mamillopontine_distance_status.as_ref(),
            "pontomesencephalic_angle_deg" => self.pontomesencephalic_angle_status.as_ref(),
            "suprasellar_cistern_mm" => self.suprasellar_cistern_status.as_ref(),
            "prepontine_cistern_mm" => self.prepontine_cistern_status.as_ref(),
            "tonsil_below_mcrae_mm" => self.tonsil_below_mcrae_status.as_ref(),
            "venous_distension" => self.venous_distension_status.as_ref(),
            "pachymeningeal_enhancement" => self.pachymeningeal_enhancement_status.as_ref(),
            "dural_enhancement_jp" => self.dural_enhancement_jp_status.as_ref(),
            "subdural_fluid" => self.subdural_fluid_status.as_ref(),
            "onsd_mm" => self.onsd_status.as_ref(),
            "perioptic_csf_rim_mm" => self.perioptic_csf_rim_status.as_ref(),
            "iter_below_incisural_line_mm" => self.iter_below_incisural_line_status.as_ref(),
            "pituitary_height_mm" => self.pituitary_height_status.as_ref(),
            "interpeduncular_angle_deg" => self.interpeduncular_angle_status.as_ref(),
            _ => None,
        }
    }
}

/// A value a reader changed: the reader's value wins, the automatic one is kept here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReaderOverride {
    /// Dotted JSON path of the overridden value (e.g. `"brain.mamillopontine_distance_mm"`).
    pub path: String,
    /// The automatic value (JSON), `null` if there was none.
    pub automatic: serde_json::Value,
    /// The reader's value (JSON), now in the document.
    pub reader: serde_json::Value,
}

/// The whole `findings.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Findings {
    /// Schema version, [`crate::SCHEMA_VERSION`].
    pub schema_version: String,
    /// Version of the tool that wrote the file (or `"reader"`).
    #[serde(default)]
    pub tool_version: Option<String>,
    /// Study facts.
    #[serde(default)]
    pub study: Study,
    /// Series of the study.
    #[serde(default)]
    pub series: Vec<SeriesSummary>,
    /// Spinal MRI; `null` = not in the study.
    #[serde(default)]
    pub spine: Option<Spine>,
    /// CT myelography; `null` = not in the study.
    #[serde(default)]
    pub ct_myelography: Option<CtMyelography>,
    /// RI cisternography; `null` = not in the study.
    #[serde(default)]
    pub cisternography: Option<Cisternography>,
    /// Brain MRI; `null` = not in the study.
    #[serde(default)]
    pub brain: Option<Brain>,
    /// Values a reader overrode, with the automatic originals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reader_overrides: Vec<ReaderOverride>,
}

impl Findings {
    /// An empty document written by `tool_version` (no modality sections yet).
    pub fn new(tool_version: impl Into<String>) -> Self {
        Self {
            tool_version: Some(tool_version.into()),
            ..Self::default()
        }
    }
}

impl EpiduralFluid {
    /// Not assessable, with the reason.
    pub fn not_assessable(reason: impl Into<String>) -> Self {
        Self {
            status: Status::NotAssessable,
            reason: Some(reason.into()),
            collections: Vec::new(),
            contrast_series_available: None,
            provenance: None,
        }
    }
}

impl EpiduralContrast {
    /// Not assessable, with the reason.
    pub fn not_assessable(reason: impl Into<String>) -> Self {
        Self {
            status: Status::NotAssessable,
            reason: Some(reason.into()),
            sites: Vec::new(),
            provenance: None,
        }
    }
}

impl Cisternography {
    /// Not assessable, with the reason.
    pub fn not_assessable(reason: impl Into<String>) -> Self {
        Self {
            status: Status::NotAssessable,
            reason: Some(reason.into()),
            time_points: Vec::new(),
            retention_24h: None,
            retention_24h_status: None,
            early_bladder_h: None,
            early_bladder_status: None,
            early_bladder_h_status: None,
            early_bladder_within_2_5h: None,
            early_bladder_within_3h: None,
            convexity_activity_24h: None,
            convexity_activity_24h_status: None,
            accumulations: Vec::new(),
            curve: Vec::new(),
            curve_reference_h: None,
            curve_counts_unit: None,
            half_life_s: None,
            lateral_views: Vec::new(),
            evidence: Vec::new(),
            injection_route: None,
            provenance: None,
        }
    }
}

impl Default for Findings {
    fn default() -> Self {
        Self {
            schema_version: crate::SCHEMA_VERSION.to_owned(),
            tool_version: None,
            study: Study::default(),
            series: Vec::new(),
            spine: None,
            ct_myelography: None,
            cisternography: None,
            brain: None,
            reader_overrides: Vec::new(),
        }
    }
}
