//! Measurement families behind one small trait.
//!
//! A family (spinal MRI, CT myelography, RI cisternography, brain MRI) says which series roles
//! it reads, whether the study allows it ([`Family::applicable`]) and measures
//! ([`Family::run`]) from series that were decoded once and are shared by every family. It
//! returns its findings section, overlays to render, masks for NIfTI, and quality flags. A
//! family that is not applicable, or whose measurement crate is not in this build, yields its
//! section as explicit `not_assessable` with the reason ([`Family::not_assessable`]): never
//! "normal", never an error.

use std::sync::Arc;

use csfleak_criteria::RuleSet;
use csfleak_dicom::{LoadedSeries, QualityFlag, Role, Series};
use csfleak_findings::{
    Brain, Cisternography, CtMyelography, EpiduralContrast, EpiduralFluid, FieldStatus, Findings,
    Spine,
};
use csfleak_volume::Mask;
use csfleak_volume::overlay::Overlay;

/// One series of the study as the families see it: its scan record and, when it was needed
/// by an applicable family, its decoded pixels (shared, decoded once).
#[derive(Debug, Clone)]
pub struct SeriesInput<'a> {
    /// The scanned series (metadata, role, files).
    pub series: &'a Series,
    /// The decoded series, if it was decoded.
    pub loaded: Option<Arc<LoadedSeries>>,
    /// Why decoding failed, if it did (no patient data; the series is named by number).
    pub load_error: Option<String>,
}

/// What every family receives.
#[derive(Debug, Clone)]
pub struct StudyInputs<'a> {
    /// Every series of the study, in scan order.
    pub series: Vec<SeriesInput<'a>>,
    /// Reader annotations (`--annotations`), e.g. imported brain landmarks.
    pub annotations: Option<&'a serde_json::Value>,
}

impl<'a> StudyInputs<'a> {
    /// The series with one of these roles.
    pub fn with_roles<'s>(
        &'s self,
        roles: &'s [Role],
    ) -> impl Iterator<Item = &'s SeriesInput<'a>> + 's {
        self.series
            .iter()
            .filter(move |s| roles.contains(&s.series.role.role))
    }

    /// Whether any series has one of these roles.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.with_roles(roles).next().is_some()
    }
}

/// A findings section produced by one family.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "one section per family per study, moved a handful of times"
)]
pub enum Section {
    /// `spine`.
    Spine(Spine),
    /// `ct_myelography`.
    CtMyelography(CtMyelography),
    /// `cisternography`.
    Cisternography(Cisternography),
    /// `brain`.
    Brain(Brain),
}

impl Section {
    /// Put the section into the document (replacing what was there).
    pub fn apply(self, findings: &mut Findings) {
        match self {
            Self::Spine(s) => findings.spine = Some(s),
            Self::CtMyelography(s) => findings.ct_myelography = Some(s),
            Self::Cisternography(s) => findings.cisternography = Some(s),
            Self::Brain(s) => findings.brain = Some(s),
        }
    }
}

/// A named mask for NIfTI output.
#[derive(Debug, Clone)]
pub struct NamedMask {
    /// File stem (`[a-z0-9_-]`).
    pub name: String,
    /// The mask.
    pub mask: Mask,
}

/// What a family returns.
#[derive(Debug, Clone)]
pub struct FamilyOutput {
    /// Its findings section.
    pub section: Section,
    /// Whether anything was measured (`false` = the section is not assessable).
    pub measured: bool,
    /// Why not measured, or a note for the report.
    pub reason: Option<String>,
    /// Images to show.
    pub overlays: Vec<Overlay>,
    /// Masks for NIfTI output.
    pub masks: Vec<NamedMask>,
    /// Caveats (the work went on).
    pub flags: Vec<QualityFlag>,
    /// Notes for the reader (method caveats, assumptions such as a default half-life).
    pub notes: Vec<String>,
}

impl FamilyOutput {
    /// A section that is not assessable, with the reason.
    pub fn not_assessable(section: Section, reason: impl Into<String>) -> Self {
        Self {
            section,
            measured: false,
            reason: Some(reason.into()),
            overlays: Vec::new(),
            masks: Vec::new(),
            flags: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// A measurement family.
pub trait Family: Send + Sync {
    /// Stable id (`"spine_mri"`, `"ct_myelography"`, `"ri_cisternography"`, `"brain_mri"`).
    fn id(&self) -> &'static str;
    /// Japanese name for the report.
    fn name_ja(&self) -> &'static str;
    /// English name for the report.
    fn name_en(&self) -> &'static str;
    /// Roles whose series this family reads (they are decoded when the family is applicable).
    fn roles(&self) -> &'static [Role];
    /// `Ok(())` when the study allows the measurement, else `Err(reason)`.
    fn applicable(&self, study: &StudyInputs<'_>) -> Result<(), String> {
        if study.has_any(self.roles()) {
            Ok(())
        } else {
            Err(format!("no {} series in the study", self.name_en()))
        }
    }
    /// The section as not assessable with `reason`.
    fn not_assessable(&self, reason: &str) -> Section;
    /// Measure. `study` lists every series; decoded pixels are present for the series of
    /// [`Family::roles`] (a family never sees pixels it did not ask for).
    fn run(&self, study: &StudyInputs<'_>) -> FamilyOutput;
    /// Expected run time in seconds on one core, only used to start the longest families
    /// first. The default is the voxel count of the family's series times a per-family rate
    /// measured on the full phantom work-up ([`seconds_per_megavoxel`]).
    fn cost_hint(&self, study: &StudyInputs<'_>) -> f64 {
        let voxels: f64 = study
            .with_roles(self.roles())
            .map(|s| s.series.meta.dims.iter().product::<usize>() as f64)
            .sum();
        voxels / 1e6 * seconds_per_megavoxel(self.id())
    }
}

/// Measured run time per megavoxel of input of the built-in families, decode and rendering
/// included (`csfleak -v --threads 1 analyze` on the bench work-up, session 5 04:37 UTC, load
/// ~3, "s in all": CT myelography 1.11 s for 35.9 Mvoxel, brain 0.66 s for 23.9, spine 0.60 s
/// for 15.2, RI 0.50 s for 2.6 planar megapixels); 0.05 for others. Only the order matters
/// (the longest family starts first): re-measure when one becomes several times faster.
pub fn seconds_per_megavoxel(family_id: &str) -> f64 {
    match family_id {
        "brain_mri" => 0.028,
        "spine_mri" => 0.040,
        "ct_myelography" => 0.031,
        "ri_cisternography" => 0.19,
        _ => 0.05,
    }
}

/// A family whose measurement crate is not in this build yet: applicable by role, and always
/// not assessable with a reason that says so.
#[derive(Debug, Clone, Copy)]
pub struct PendingFamily {
    id: &'static str,
    name_ja: &'static str,
    name_en: &'static str,
    roles: &'static [Role],
    pending: &'static str,
    section: fn(&str) -> Section,
}

impl Family for PendingFamily {
    fn id(&self) -> &'static str {
        self.id
    }
    fn name_ja(&self) -> &'static str {
        self.name_ja
    }
    fn name_en(&self) -> &'static str {
        self.name_en
    }
    fn roles(&self) -> &'static [Role] {
        self.roles
    }
    fn not_assessable(&self, reason: &str) -> Section {
        (self.section)(reason)
    }
    fn run(&self, _study: &StudyInputs<'_>) -> FamilyOutput {
        FamilyOutput::not_assessable(self.not_assessable(self.pending), self.pending)
    }
    fn cost_hint(&self, _study: &StudyInputs<'_>) -> f64 {
        0.0
    }
}

/// Roles read by the spinal MRI family.
pub const SPINE_ROLES: &[Role] = &[
    Role::SpinalT2FsAxial,
    Role::SpinalT2FsSagittal,
    Role::MrMyelography,
    Role::SpinalContrastT1,
];
/// Roles read by the CT myelography family.
pub const CT_ROLES: &[Role] = &[Role::CtMyelography];
/// Roles read by the RI cisternography family.
pub const RI_ROLES: &[Role] = &[Role::RiCisternography];
/// Roles read by the brain MRI family.
pub const BRAIN_ROLES: &[Role] = &[Role::BrainT1, Role::BrainContrastT1, Role::OrbitT2FsCoronal];

/// `spine` with epidural fluid and CSF volume not assessable.
pub fn spine_not_assessable(reason: &str) -> Section {
    Section::Spine(Spine {
        epidural_fluid: Some(EpiduralFluid::not_assessable(reason)),
        intraspinal_csf_volume_status: Some(FieldStatus::not_assessable(reason)),
        ..Spine::default()
    })
}

/// `ct_myelography` with epidural contrast and intrathecal HU not assessable.
pub fn ct_not_assessable(reason: &str) -> Section {
    Section::CtMyelography(CtMyelography {
        epidural_contrast: Some(EpiduralContrast::not_assessable(reason)),
        intrathecal_median_hu: None,
        intrathecal_median_hu_status: Some(FieldStatus::not_assessable(reason)),
        ..CtMyelography::default()
    })
}

/// `cisternography` not assessable.
pub fn ri_not_assessable(reason: &str) -> Section {
    Section::Cisternography(Cisternography::not_assessable(reason))
}

/// `brain` with every value not assessable.
pub fn brain_not_assessable(reason: &str) -> Section {
    let na = || Some(FieldStatus::not_assessable(reason));
    Section::Brain(Brain {
        mamillopontine_distance_status: na(),
        pontomesencephalic_angle_status: na(),
        suprasellar_cistern_status: na(),
        prepontine_cistern_status: na(),
        tonsil_below_mcrae_status: na(),
        venous_distension_status: na(),
        pachymeningeal_enhancement_status: na(),
        subdural_fluid_status: na(),
        onsd_status: na(),
        ..Brain::default()
    })
}

/// The spinal MRI family without its measurement crate (names and reasons; the built-in family
/// is [`crate::spine_input::SpineMriFamily`]).
pub const SPINE_PENDING: PendingFamily = PendingFamily {
    id: "spine_mri",
    name_ja: "脊髄MRI/MRミエログラフィー",
    name_en: "spinal MRI",
    roles: SPINE_ROLES,
    pending: "spinal MRI measurement is not in this build yet (csfleak-spine)",
    section: spine_not_assessable,
};

/// The CT myelography family without its measurement crate (names and reasons; the built-in
/// family is [`crate::ctm_input::CtmFamily`]).
pub const CT_PENDING: PendingFamily = PendingFamily {
    id: "ct_myelography",
    name_ja: "CTミエログラフィー",
    name_en: "CT myelography",
    roles: CT_ROLES,
    pending: "CT myelography measurement is not in this build yet (csfleak-spine)",
    section: ct_not_assessable,
};

/// The RI cisternography family without its measurement crate (names and reasons).
pub const RI_PENDING: PendingFamily = PendingFamily {
    id: "ri_cisternography",
    name_ja: "脳槽シンチグラフィー",
    name_en: "RI cisternography",
    roles: RI_ROLES,
    pending: "RI cisternography measurement is not in this build yet (csfleak-cisterno)",
    section: ri_not_assessable,
};

/// The brain MRI family without its measurement crate (names and reasons).
pub const BRAIN_PENDING: PendingFamily = PendingFamily {
    id: "brain_mri",
    name_ja: "頭部MRI",
    name_en: "brain MRI",
    roles: BRAIN_ROLES,
    pending: "brain MRI measurement is not in this build yet (csfleak-brain)",
    section: brain_not_assessable,
};

/// RI cisternography through `csfleak-cisterno` (adapter: [`crate::cisterno_input`]).
#[derive(Debug, Clone, Default)]
pub struct CisternoFamily {
    /// Settings of the analysis.
    pub options: csfleak_cisterno::CisternoOptions,
}

impl Family for CisternoFamily {
    fn id(&self) -> &'static str {
        RI_PENDING.id
    }
    fn name_ja(&self) -> &'static str {
        RI_PENDING.name_ja
    }
    fn name_en(&self) -> &'static str {
        RI_PENDING.name_en
    }
    fn roles(&self) -> &'static [Role] {
        RI_ROLES
    }
    fn not_assessable(&self, reason: &str) -> Section {
        ri_not_assessable(reason)
    }
    fn run(&self, study: &StudyInputs<'_>) -> FamilyOutput {
        let loaded: Vec<&LoadedSeries> = study
            .with_roles(RI_ROLES)
            .filter_map(|s| s.loaded.as_deref())
            .collect();
        if loaded.is_empty() {
            return FamilyOutput::not_assessable(
                ri_not_assessable("no RI cisternography series could be decoded"),
                "no RI cisternography series could be decoded",
            );
        }
        let (section, analysis) =
            crate::cisterno_input::analyze_cisternography(&loaded, &self.options);
        let measured = section.status != csfleak_findings::Status::NotAssessable;
        let reason = section.reason.clone();
        let mut overlays = Vec::new();
        if let Some(o) = tac_overlay(&section, &loaded) {
            overlays.push(o);
        }
        FamilyOutput {
            measured,
            reason,
            notes: analysis
                .as_ref()
                .map(|a| a.notes.clone())
                .unwrap_or_default(),
            overlays: {
                overlays.extend(analysis.map(|a| a.overlays).unwrap_or_default());
                overlays
            },
            section: Section::Cisternography(section),
            masks: Vec::new(),
            flags: Vec::new(),
        }
    }
}

/// The time-activity curve image from the findings section (raw and decay-corrected, % of the
/// reference time point), with the half-life the analysis used: Radionuclide Half Life of the
/// first NM series that has one, else In-111.
fn tac_overlay(section: &Cisternography, loaded: &[&LoadedSeries]) -> Option<Overlay> {
    let half_life_s = loaded
        .iter()
        .filter(|s| s.meta.modality == "NM")
        .find_map(|s| {
            s.meta
                .nm
                .as_ref()
                .and_then(|n| n.radionuclide_half_life_s)
                .filter(|h| h.is_finite() && *h > 0.0)
        })
        .unwrap_or(csfleak_cisterno::IN111_HALF_LIFE_S);
    let chart = csfleak_report::chart::cisterno_chart(section, Some(half_life_s / 3600.0))?;
    csfleak_report::chart::chart_overlay(
        csfleak_report::chart::TAC_OVERLAY_NAME,
        "RI time-activity curve: CSF and bladder counts per view, % of the reference time point / 時間放射能曲線",
        &chart,
    )
}

/// The families of this build with default options, in report order.
pub fn builtin_families() -> Vec<Box<dyn Family>> {
    families_for(&crate::AnalyzeOptions::default())
}

/// The families of this build set up from the analysis options, in report order.
pub fn families_for(opts: &crate::AnalyzeOptions) -> Vec<Box<dyn Family>> {
    vec![
        Box::new(crate::spine_input::SpineMriFamily {
            options: opts.spine.clone(),
        }),
        Box::new(crate::ctm_input::CtmFamily::from_context(
            &opts.clinical,
            opts.rules.as_ref().map_or_else(
                || RuleSet::builtin().params.puncture_tolerance_levels,
                |r| r.params.puncture_tolerance_levels,
            ),
            opts.spine.level_anchor,
        )),
        Box::new(CisternoFamily::default()),
        Box::new(crate::brain_input::BrainFamily),
    ]
}
