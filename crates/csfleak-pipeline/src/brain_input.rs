//! Adapter: loaded DICOM series -> [`csfleak_brain::BrainInputs`], and the brain MRI family.
//!
//! * The 3D T1 is the `brain_t1` series with a volume, preferring `MRAcquisitionType = 3D`,
//!   then the most voxels (finest sampling); the contrast T1 and the coronal fat-saturated T2
//!   of the orbits likewise by their roles (`brain_contrast_t1`, `orbit_t2_fs_coronal`).
//!   Planar data (no geometry) is never used.
//! * Imported landmarks come from the reader annotations at `brain.landmarks`: either the simple
//!   points object (`{"coordinate_system": "LPS", "points": {...}}`, voxel `ijk` points refer
//!   to the chosen 3D T1) or a 3D Slicer Markups document (`{"markups": [...]}`).

use csfleak_brain::landmarks::{ImportedPoints, parse_markups_json, parse_points_json};
use csfleak_brain::{BrainInputs, BrainOptions, analyze};
use csfleak_dicom::{LoadedSeries, Role, SeriesData};
use csfleak_volume::Volume;

use crate::family::{
    BRAIN_ROLES, Family, FamilyOutput, Section, StudyInputs, brain_not_assessable,
};

/// The series chosen for the brain measurements.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrainSeries<'a> {
    /// Sagittal 3D T1 (pre-contrast).
    pub t1: Option<&'a LoadedSeries>,
    /// Contrast T1.
    pub contrast_t1: Option<&'a LoadedSeries>,
    /// Coronal fat-saturated T2 of the orbits.
    pub orbits_t2fs: Option<&'a LoadedSeries>,
}

fn volume_of(s: &LoadedSeries) -> Option<&Volume> {
    match &s.data {
        SeriesData::Volume(v) => Some(v),
        SeriesData::Planar(_) => None,
    }
}

/// Rank: 3D acquisitions first, then more voxels.
fn best<'a>(candidates: impl Iterator<Item = &'a LoadedSeries>) -> Option<&'a LoadedSeries> {
    candidates
        .filter(|s| volume_of(s).is_some())
        .max_by_key(|s| {
            let is_3d = s
                .meta
                .mr_acquisition_type
                .as_deref()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("3D"));
            let n = volume_of(s).map_or(0, |v| v.geometry().len());
            (is_3d, n)
        })
}

/// Choose the series by role from `(role, series)` pairs.
pub fn select<'a>(series: &[(Role, &'a LoadedSeries)]) -> BrainSeries<'a> {
    let by = |role: Role| best(series.iter().filter(|(r, _)| *r == role).map(|(_, s)| *s));
    BrainSeries {
        t1: by(Role::BrainT1),
        contrast_t1: by(Role::BrainContrastT1),
        orbits_t2fs: by(Role::OrbitT2FsCoronal),
    }
}

/// Imported landmarks from the reader annotations (`brain.landmarks`); `Ok(None)` when there
/// are none.
pub fn imported_from_annotations(
    annotations: Option<&serde_json::Value>,
    t1: Option<&Volume>,
) -> Result<Option<ImportedPoints>, String> {
    let Some(lm) = annotations
        .and_then(|a| a.get("brain"))
        .and_then(|b| b.get("landmarks"))
    else {
        return Ok(None);
    };
    let text = lm.to_string();
    let parsed = if lm.get("markups").is_some() {
        parse_markups_json(&text, "annotations brain.landmarks")
    } else {
        parse_points_json(
            &text,
            "annotations brain.landmarks",
            t1.map(Volume::geometry),
        )
    };
    parsed.map(Some).map_err(|e| e.to_string())
}

/// The brain inputs for the chosen series.
pub fn inputs<'a>(chosen: &BrainSeries<'a>, imported: Vec<ImportedPoints>) -> BrainInputs<'a> {
    BrainInputs {
        t1: chosen.t1.and_then(volume_of),
        contrast_t1: chosen.contrast_t1.and_then(volume_of),
        orbits_t2fs: chosen.orbits_t2fs.and_then(volume_of),
        t1_series_uid: chosen.t1.map(|s| s.meta.series_instance_uid.as_str()),
        imported,
    }
}

/// The brain MRI family backed by `csfleak-brain`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrainFamily;

impl Family for BrainFamily {
    fn id(&self) -> &'static str {
        "brain_mri"
    }
    fn name_ja(&self) -> &'static str {
        "頭部MRI"
    }
    fn name_en(&self) -> &'static str {
        "brain MRI"
    }
    fn roles(&self) -> &'static [Role] {
        BRAIN_ROLES
    }
    fn not_assessable(&self, reason: &str) -> Section {
        brain_not_assessable(reason)
    }
    fn run(&self, study: &StudyInputs<'_>) -> FamilyOutput {
        let pairs: Vec<(Role, &LoadedSeries)> = study
            .with_roles(BRAIN_ROLES)
            .filter_map(|s| s.loaded.as_deref().map(|l| (s.series.role.role, l)))
            .collect();
        let chosen = select(&pairs);
        let imported: Vec<ImportedPoints> =
            match imported_from_annotations(study.annotations, chosen.t1.and_then(volume_of)) {
                Ok(p) => p.into_iter().collect(),
                Err(reason) => {
                    return FamilyOutput::not_assessable(self.not_assessable(&reason), reason);
                }
            };
        if chosen.t1.is_none()
            && chosen.contrast_t1.is_none()
            && chosen.orbits_t2fs.is_none()
            && imported.is_empty()
        {
            let reason = "no brain MRI series could be decoded";
            return FamilyOutput::not_assessable(self.not_assessable(reason), reason);
        }
        match analyze(&inputs(&chosen, imported), &BrainOptions::default()) {
            Ok(a) => {
                let measured = a.findings.mamillopontine_distance_mm.is_some()
                    || a.findings.onsd_mm.is_some()
                    || a.findings.pachymeningeal_enhancement.is_some();
                let mut out = FamilyOutput::not_assessable(Section::Brain(a.findings), "");
                out.measured = measured;
                out.reason = (!measured).then(|| {
                    "no brain measurement was possible (see the reasons per value)".to_owned()
                });
                out.overlays = a.overlays;
                out
            }
            Err(e) => {
                let reason = format!("brain analysis failed: {}", crate::error_chain(&e));
                FamilyOutput::not_assessable(self.not_assessable(&reason), reason)
            }
        }
    }
}
