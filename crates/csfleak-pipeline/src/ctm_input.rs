//! Adapter: the CT myelography family, backed by `csfleak-spine`'s CT analysis
//! ([`csfleak_spine::ctm::analyze_ctm`]).
//!
//! * The CT is the `ct_myelography` series with a volume and the most voxels; planar data is
//!   never used.
//! * Evidence links point to the overlays the analysis returns, under `overlays/`.

use csfleak_dicom::Role;
use csfleak_findings::Evidence;
use csfleak_spine::ctm::{CtmClass, CtmOptions, analyze_ctm};

use crate::family::{CT_ROLES, Family, FamilyOutput, Section, StudyInputs, ct_not_assessable};
use crate::spine_input::volume_of;

/// The CT myelography family backed by `csfleak-spine`'s CT analysis.
///
/// The CT is the `ct_myelography` series with a volume and the most voxels. Documented
/// puncture levels and the intrathecal catheter entry come from the clinical context
/// (`--clinical`), the tolerance around them from the rule set, the level anchor from
/// `--level-anchor`.
#[derive(Debug, Clone, Default)]
pub struct CtmFamily {
    /// Settings of the analysis.
    pub options: CtmOptions,
}

impl CtmFamily {
    /// The family set up from the clinical context, the rule set's puncture tolerance and the
    /// spine options' level anchor.
    pub fn from_context(
        clinical: &csfleak_criteria::ClinicalContext,
        puncture_tolerance_levels: u8,
        level_anchor: Option<csfleak_spine::LevelAnchor>,
    ) -> Self {
        let mut options = CtmOptions::default();
        options.puncture_levels = clinical.punctures.iter().filter_map(|p| p.level).collect();
        options.catheter_entry_level = clinical
            .intrathecal_catheter
            .as_ref()
            .and_then(|c| c.entry_level);
        options.puncture_tolerance_levels = puncture_tolerance_levels;
        options.level_anchor = level_anchor;
        Self { options }
    }
}

/// Evidence links relative to the output folder (`overlays/<name>.png`).
fn under_overlays(link: &str) -> String {
    if link.starts_with("overlays/") {
        link.to_owned()
    } else {
        format!("overlays/{link}")
    }
}

impl Family for CtmFamily {
    fn id(&self) -> &'static str {
        "ct_myelography"
    }
    fn name_ja(&self) -> &'static str {
        "CTミエログラフィー"
    }
    fn name_en(&self) -> &'static str {
        "CT myelography"
    }
    fn roles(&self) -> &'static [Role] {
        CT_ROLES
    }
    fn not_assessable(&self, reason: &str) -> Section {
        ct_not_assessable(reason)
    }
    fn run(&self, study: &StudyInputs<'_>) -> FamilyOutput {
        let Some((ct_series, ct)) = study
            .with_roles(CT_ROLES)
            .filter_map(|s| s.loaded.as_deref())
            .filter_map(|s| volume_of(s).map(|v| (s, v)))
            .max_by_key(|(_, v)| v.geometry().len())
        else {
            let reason = "no CT myelography volume could be decoded";
            return FamilyOutput::not_assessable(self.not_assessable(reason), reason);
        };
        let uid = ct_series.meta.series_instance_uid.as_str();
        let mut opts = self.options.clone();
        opts.series_instance_uid = Some(uid.to_owned());
        match analyze_ctm(ct, &opts) {
            Ok(a) => {
                let mut section = a.to_findings(Some(uid));
                if let Some(ec) = section.epidural_contrast.as_mut() {
                    for site in &mut ec.sites {
                        for ev in &mut site.evidence {
                            if let Some(link) = ev.overlay.as_mut() {
                                *link = under_overlays(link);
                            }
                        }
                        // Every site also points to the sagittal overview with all sites.
                        if let Some(name) = &a.overview {
                            site.evidence.push(Evidence {
                                series_instance_uid: Some(uid.to_owned()),
                                level: site.level,
                                overlay: Some(under_overlays(&format!("{name}.png"))),
                                description: Some(
                                    "sagittal overview of all sites and levels".to_owned(),
                                ),
                                ..Evidence::default()
                            });
                        }
                    }
                }
                let measured = a.class != CtmClass::NotAssessable;
                let mut notes = vec![format!(
                    "classification: {}{}",
                    a.class.as_str(),
                    a.extradural_threshold_hu
                        .map_or_else(String::new, |t| format!(
                            " (extradural threshold {t:.0} HU)"
                        ))
                )];
                if opts.puncture_levels.is_empty() && opts.catheter_entry_level.is_none() {
                    notes.push(
                        "no puncture level or catheter entry in the clinical context \
                         (--clinical): contrast at a puncture site cannot be told from a leak"
                            .to_owned(),
                    );
                }
                let mut out = FamilyOutput::not_assessable(Section::CtMyelography(section), "");
                out.measured = measured;
                out.reason = if measured { None } else { a.reason.clone() };
                out.overlays = a.overlays;
                out.notes = notes;
                out
            }
            Err(e) => {
                let reason = format!("CT myelography analysis failed: {}", crate::error_chain(&e));
                FamilyOutput::not_assessable(self.not_assessable(&reason), reason)
            }
        }
    }
}
