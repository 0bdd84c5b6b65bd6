//! Brain MRI for intracranial hypotension: landmarks, brain-sagging metrics, Bern score items
//! and the optic nerve sheath (clinical.md §4).
//!
//! This crate must **not** depend on `csfleak-dicom`, any DICOM crate, or `csfleak-phantom`
//! (a dev-dependency only): it takes [`csfleak_volume::Volume`]s placed in patient LPS and
//! landmark files, never DICOM tags. `csfleak-pipeline` picks the series by role.
//!
//! * [`landmarks`]: the name vocabulary ([`LandmarkName`], with aliases), imported points
//!   (3D Slicer `.mrk.json` in LPS or RAS, legacy `.fcsv`, a simple JSON of named points) and a
//!   [`LandmarkSet`] where imported points win over automatic ones and both are kept.
//! * [`measure`]: mamillopontine distance, pontomesencephalic angle, suprasellar and prepontine
//!   cisterns, tonsil vs the `McRae` line, iter vs the incisural line, pituitary height and the
//!   interpeduncular angle, by exact geometry in mm (radians internally).
//! * [`bern`]: the six Bern score items with raw values and borderline flags.
//! * [`midsagittal`]: the midsagittal plane of a 3D T1 by left-right symmetry, and the reformat.
//! * [`orbit`]: optic nerve sheath diameter and perioptic CSF rim on coronal fat-saturated T2,
//!   both sides.
//!
//! * [`auto`]: automatic midsagittal landmarks on a 3D T1; [`analyze`] uses them wherever no
//!   imported point of the same name exists (imported points win landmark by landmark, both
//!   are recorded in the findings' `landmarks` list, the others say why they were not found).
//!
//! * [`convexity`]: pachymeningeal enhancement (thick dura brighter than brain after contrast)
//!   and the extra-axial fluid gap (subdural fluid) over the convexity, from a pre- and a
//!   post-contrast T1 sampled in patient coordinates.
//!
//! * [`venous`]: the venous distension sign of the dominant transverse sinus (shape of its
//!   enhancing cross-section on parasagittal planes; needs a contrast T1 and voxels <= 1.3 mm,
//!   otherwise not assessable with the reason).
//! * [`analyze`]: everything above for one study, with [`csfleak_findings::Brain`] and overlays.
//!
//! ```
//! use csfleak_brain::{BrainInputs, BrainOptions, analyze, landmarks::parse_points_json};
//! let pts = parse_points_json(
//!     r#"{"points": {"mamillary_inferior": [0, -20, 10], "pons_superior": [0, -18, 4]}}"#,
//!     "example",
//!     None,
//! )?;
//! let inputs = BrainInputs { imported: vec![pts], ..BrainInputs::default() };
//! let out = analyze(&inputs, &BrainOptions::default())?;
//! let mpd = out.findings.mamillopontine_distance_mm.unwrap().get();
//! assert!((mpd - 40f64.sqrt()).abs() < 1e-9);
//! // No contrast T1: pachymeningeal enhancement is not assessable, with a reason.
//! assert!(out.findings.pachymeningeal_enhancement_status.is_some());
//! # Ok::<(), csfleak_brain::Error>(())
//! ```

pub mod auto;
pub mod bern;
pub mod convexity;
pub mod landmarks;
mod linalg;
pub mod measure;
pub mod midsagittal;
pub mod orbit;
mod overlays;
pub mod venous;

use std::path::PathBuf;

use csfleak_findings::{Deg, FieldStatus, Mm, Provenance};
use csfleak_volume::{DVec3, Overlay, Volume};
use serde::Serialize;

pub use landmarks::{ImportedPoints, Landmark, LandmarkName, LandmarkSet, Origin};
pub use measure::{LandmarkMeasurements, Measured, MidsagittalFrame};

use bern::{BernInputs, BernItems, Sign};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A landmark file that cannot be used.
    #[error("landmark file {source_name}: {reason}")]
    Landmarks {
        /// The file (display name).
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// A file that cannot be read.
    #[error("could not read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A volume operation failed (allocation limits, degenerate geometry).
    #[error("volume operation failed")]
    Volume(#[from] csfleak_volume::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Options of [`analyze`].
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BrainOptions {
    /// Localisation uncertainty (1 sd, mm) of an imported landmark at least; the half voxel
    /// diagonal of the 3D T1 is used when larger.
    pub imported_uncertainty_mm: f64,
    /// Borderline band: a value within `borderline_k * sd` of a threshold is borderline.
    pub borderline_k: f64,
    /// Run the automatic landmark method where a 3D T1 is given.
    pub automatic_landmarks: bool,
    /// Build overlays.
    pub overlays: bool,
    /// Options of the automatic landmark method.
    pub auto: auto::AutoOptions,
    /// Options of the convexity dura and subdural measurement.
    pub convexity: convexity::ConvexityOptions,
    /// Options of the venous distension sign.
    pub venous: venous::VenousOptions,
}

impl Default for BrainOptions {
    fn default() -> Self {
        Self {
            imported_uncertainty_mm: 0.5,
            borderline_k: 1.0,
            automatic_landmarks: true,
            overlays: true,
            auto: auto::AutoOptions::default(),
            convexity: convexity::ConvexityOptions::default(),
            venous: venous::VenousOptions::default(),
        }
    }
}

impl BrainOptions {
    /// Set the minimum imported-landmark uncertainty (mm).
    pub fn with_imported_uncertainty_mm(mut self, mm: f64) -> Self {
        self.imported_uncertainty_mm = mm;
        self
    }
    /// Set the borderline band in standard deviations.
    pub fn with_borderline_k(mut self, k: f64) -> Self {
        self.borderline_k = k;
        self
    }
    /// Turn the automatic landmark method on or off.
    pub fn with_automatic_landmarks(mut self, on: bool) -> Self {
        self.automatic_landmarks = on;
        self
    }
    /// Set the options of the automatic landmark method.
    pub fn with_auto(mut self, auto: auto::AutoOptions) -> Self {
        self.auto = auto;
        self
    }
    /// Turn overlays on or off.
    pub fn with_overlays(mut self, on: bool) -> Self {
        self.overlays = on;
        self
    }
}

/// What one study offers: volumes chosen by role (by `csfleak-pipeline`) and imported points.
#[derive(Debug, Clone, Default)]
pub struct BrainInputs<'a> {
    /// Sagittal (3D) T1 before contrast.
    pub t1: Option<&'a Volume>,
    /// T1 after contrast.
    pub contrast_t1: Option<&'a Volume>,
    /// Coronal fat-saturated T2 of the orbits.
    pub orbits_t2fs: Option<&'a Volume>,
    /// Series Instance UID of the 3D T1 (for provenance).
    pub t1_series_uid: Option<&'a str>,
    /// Points read from landmark files, in order (later files win on duplicates).
    pub imported: Vec<ImportedPoints>,
}

/// Everything [`analyze`] found.
#[derive(Debug, Clone, Serialize)]
pub struct BrainAnalysis {
    /// Landmarks of both sources.
    pub landmarks: LandmarkSet,
    /// The midsagittal plane used for "below the line" items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub midsagittal: Option<midsagittal::MidsagittalPlane>,
    /// Landmark-based measurements (angles in radians).
    pub measurements: LandmarkMeasurements,
    /// Venous distension sign.
    pub venous_distension: Sign,
    /// Pachymeningeal enhancement.
    pub pachymeningeal_enhancement: Sign,
    /// Subdural fluid.
    pub subdural_fluid: Sign,
    /// ONSD, right then left.
    pub onsd_mm: [Measured; 2],
    /// Perioptic CSF rim width, right then left.
    pub perioptic_rim_mm: [Measured; 2],
    /// The orbit measurements in detail (centre, slice, distance behind the globe), right then
    /// left; `None` without an orbit series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orbits: Option<[orbit::OnsdSide; 2]>,
    /// Bern items.
    pub bern: BernItems,
    /// The automatic landmark detections in detail (`None` without a 3D T1, a plane, or when
    /// the automatic method is off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_landmarks: Option<auto::AutoLandmarks>,
    /// The convexity dura and subdural gap measurement (`None` without both T1s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convexity: Option<convexity::ConvexityMeasurement>,
    /// The dominant transverse sinus cross-section (`None` when not assessable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sinus: Option<venous::SinusSection>,
    /// The findings section.
    #[serde(skip)]
    pub findings: csfleak_findings::Brain,
    /// Overlays to render.
    #[serde(skip)]
    pub overlays: Vec<Overlay>,
}

/// Method id recorded in provenance.
pub const METHOD: &str = "brain/1";

/// Analyse one study's brain MRI.
pub fn analyze(inputs: &BrainInputs<'_>, options: &BrainOptions) -> Result<BrainAnalysis> {
    let mut set = LandmarkSet::new();
    let voxel_unc = inputs.t1.map_or(0.0, |v| {
        let s = v.geometry().spacing_mm();
        0.5 * (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]).sqrt() / 3f64.sqrt()
    });
    let imp_unc = options.imported_uncertainty_mm.max(voxel_unc);
    for p in &inputs.imported {
        set.add_imported(p.clone(), imp_unc);
    }

    // The orbits need nothing from the T1s: measured beside the plane and the landmarks.
    let (orbit_sides, located) = rayon::join(
        || inputs.orbits_t2fs.map(orbit::measure_onsd),
        || -> Result<_> {
            let mut plane = None;
            let mut auto_found = None;
            if let Some(t1) = inputs.t1 {
                plane = midsagittal::find_plane(t1);
                if options.automatic_landmarks {
                    match &plane {
                        Some(p) => {
                            let found = auto::detect_landmarks(t1, p, &options.auto)?;
                            found.apply_to(&mut set);
                            auto_found = Some(found);
                        }
                        None => {
                            for n in LandmarkName::ALL {
                                set.mark_missing(
                                    *n,
                                    "no midsagittal plane found on the 3D T1 (left-right symmetry)",
                                );
                            }
                        }
                    }
                }
            }
            Ok((plane, auto_found))
        },
    );
    let (plane, auto_found) = located?;
    let frame = match measure::fit_midline_normal(&set) {
        Some(normal) => Some(MidsagittalFrame {
            normal,
            inferior: DVec3::NEG_Z,
        }),
        None => plane.as_ref().map(|p| MidsagittalFrame {
            normal: p.normal.to_dvec3(),
            inferior: DVec3::NEG_Z,
        }),
    };
    let measurements = measure::measure(&set, frame);

    // The venous sign and the convexity read the same two T1s independently.
    let ((venous, sinus), (convexity, (pme, sdf))) = rayon::join(
        || venous_sign(inputs, plane.as_ref(), options),
        || convexity_signs(inputs, plane.as_ref(), options),
    );
    let na = |reason: &str| Measured::NotAssessable {
        reason: reason.to_owned(),
    };
    let no_orbits = "no coronal fat-saturated T2 of the orbits in the study";
    let (onsd_mm, perioptic_rim_mm) = match &orbit_sides {
        None => (
            [na(no_orbits), na(no_orbits)],
            [na(no_orbits), na(no_orbits)],
        ),
        Some([r, l]) => (
            [r.onsd_mm.clone(), l.onsd_mm.clone()],
            [r.rim_mm.clone(), l.rim_mm.clone()],
        ),
    };

    let bern = bern::bern_items(
        &BernInputs {
            pachymeningeal_enhancement: &pme,
            venous_distension: &venous,
            subdural_fluid: &sdf,
            suprasellar_cistern_mm: &measurements.suprasellar_cistern_mm,
            prepontine_cistern_mm: &measurements.prepontine_cistern_mm,
            mamillopontine_distance_mm: &measurements.mamillopontine_distance_mm,
        },
        options.borderline_k,
    );

    let mut out = BrainAnalysis {
        findings: csfleak_findings::Brain::default(),
        landmarks: set,
        midsagittal: plane,
        measurements,
        venous_distension: venous,
        pachymeningeal_enhancement: pme,
        subdural_fluid: sdf,
        onsd_mm,
        perioptic_rim_mm,
        orbits: orbit_sides,
        bern,
        auto_landmarks: auto_found,
        convexity,
        sinus,
        overlays: Vec::new(),
    };
    out.findings = to_findings(&out, inputs.t1_series_uid);
    if options.overlays {
        if let Some(t1) = inputs.t1 {
            out.overlays
                .extend(overlays::midsagittal_overlay(t1, &out)?);
        }
        if let (Some(post), Some(m)) = (inputs.contrast_t1, &out.convexity) {
            out.overlays.extend(overlays::convexity_overlay(
                post,
                m,
                &out.pachymeningeal_enhancement,
                &out.subdural_fluid,
            ));
        }
        if let (Some(v), Some(sides)) = (inputs.orbits_t2fs, &out.orbits) {
            out.overlays.extend(overlays::orbit_overlays(v, sides));
        }
    }
    Ok(out)
}

/// The venous distension sign and its sinus section, or why it is not assessable.
fn venous_sign(
    inputs: &BrainInputs<'_>,
    plane: Option<&midsagittal::MidsagittalPlane>,
    options: &BrainOptions,
) -> (Sign, Option<venous::SinusSection>) {
    match (inputs.t1, inputs.contrast_t1) {
        (Some(pre), Some(post)) => venous::venous_distension(pre, post, plane, &options.venous),
        (None, _) => (Sign::not_assessable("no sagittal T1 in the study"), None),
        (Some(_), None) => (
            Sign::not_assessable(
                "no contrast T1: the transverse sinus is outlined by its enhancement",
            ),
            None,
        ),
    }
}

/// The convexity measurement with the pachymeningeal enhancement and subdural fluid signs.
fn convexity_signs(
    inputs: &BrainInputs<'_>,
    plane: Option<&midsagittal::MidsagittalPlane>,
    options: &BrainOptions,
) -> (Option<convexity::ConvexityMeasurement>, (Sign, Sign)) {
    let mut convexity = None;
    let (pme, sdf) = match (inputs.t1, inputs.contrast_t1) {
        (Some(pre), Some(post)) => {
            match convexity::measure_convexity(pre, post, plane, &options.convexity) {
                Ok(m) => {
                    let signs = (
                        convexity::enhancement_sign(&m, &options.convexity),
                        convexity::subdural_sign(&m, &options.convexity),
                    );
                    convexity = Some(m);
                    signs
                }
                Err(reason) => (
                    Sign::not_assessable(reason.clone()),
                    Sign::not_assessable(reason),
                ),
            }
        }
        (None, Some(_)) => {
            let r =
                "no pre-contrast T1 to tell the enhancing dura from bright scalp, marrow and fat";
            (Sign::not_assessable(r), Sign::not_assessable(r))
        }
        (_, None) => {
            let r = "no contrast T1 in the study (the dura is found by its enhancement)";
            (Sign::not_assessable(r), Sign::not_assessable(r))
        }
    };
    (convexity, (pme, sdf))
}

fn mm_field(m: &Measured) -> (Option<Mm>, Option<FieldStatus>) {
    match m {
        Measured::Value { value, .. } => (Some(Mm(*value)), None),
        Measured::NotAssessable { reason } => (None, Some(FieldStatus::not_assessable(reason))),
    }
}

fn sign_field(s: &Sign) -> (Option<bool>, Option<FieldStatus>) {
    match s.present {
        Some(p) => (Some(p), None),
        None => (
            None,
            Some(FieldStatus::not_assessable(
                s.reason
                    .clone()
                    .unwrap_or_else(|| "not assessed".to_owned()),
            )),
        ),
    }
}

fn left_right_field(
    sides: &[Measured; 2],
) -> (Option<csfleak_findings::LeftRight<Mm>>, Option<FieldStatus>) {
    let [r, l] = sides;
    match (r.value(), l.value()) {
        (None, None) => (
            None,
            Some(FieldStatus::not_assessable(
                r.reason().or(l.reason()).unwrap_or("not measured"),
            )),
        ),
        (right, left) => (
            Some(csfleak_findings::LeftRight {
                left: left.map(Mm),
                right: right.map(Mm),
            }),
            None,
        ),
    }
}

fn landmark_records(set: &LandmarkSet) -> Vec<csfleak_findings::BrainLandmark> {
    set.all_records()
        .into_iter()
        .map(|l| csfleak_findings::BrainLandmark {
            name: l.name.as_str().to_owned(),
            position_lps_mm: l.position.0,
            source: match l.origin {
                Origin::Imported => csfleak_findings::LandmarkSource::Imported,
                Origin::Automatic => csfleak_findings::LandmarkSource::Automatic,
            },
            confidence: l.confidence,
            uncertainty_mm: Some(l.uncertainty_mm),
            in_use: set.get(l.name).is_some_and(|u| u.origin == l.origin),
        })
        .collect()
}

fn sign_detail(key: &str, s: &Sign) -> csfleak_findings::BrainSignDetail {
    csfleak_findings::BrainSignDetail {
        sign: key.to_owned(),
        present: s.present,
        value: s.measure,
        value_name: s.measure_name.clone(),
        threshold: s.threshold,
        confidence: s.confidence,
        borderline: s.borderline,
        side: s.side.clone(),
        reason: s.reason.clone(),
    }
}

fn bern_score(b: &BernItems) -> csfleak_findings::BernScore {
    csfleak_findings::BernScore {
        items: b
            .items
            .iter()
            .map(|i| csfleak_findings::BernItemDetail {
                item: i.id.as_str().to_owned(),
                points: i.points,
                positive: i.positive,
                value_mm: i.value_mm,
                uncertainty_mm: i.uncertainty_mm,
                threshold_mm: i.threshold_mm,
                borderline: i.borderline,
                reason: i.reason.clone(),
            })
            .collect(),
        score_min: b.score_min,
        score_max: b.score_max,
        score: b.score,
        borderline_points: b.borderline_points,
    }
}

/// The findings section from an analysis.
pub fn to_findings(a: &BrainAnalysis, t1_series_uid: Option<&str>) -> csfleak_findings::Brain {
    let m = &a.measurements;
    let (mpd, mpd_s) = mm_field(&m.mamillopontine_distance_mm);
    let (ss, ss_s) = mm_field(&m.suprasellar_cistern_mm);
    let (pp, pp_s) = mm_field(&m.prepontine_cistern_mm);
    let (tonsil, tonsil_s) = mm_field(&m.tonsil_below_mcrae_mm);
    let (pma, pma_s) = match &m.pontomesencephalic_angle_rad {
        Measured::Value { value, .. } => (Some(Deg::from_radians(*value)), None),
        Measured::NotAssessable { reason } => (None, Some(FieldStatus::not_assessable(reason))),
    };
    let (ven, ven_s) = sign_field(&a.venous_distension);
    let (pme, pme_s) = sign_field(&a.pachymeningeal_enhancement);
    let (sdf, sdf_s) = sign_field(&a.subdural_fluid);
    let [r, l] = &a.onsd_mm;
    let (onsd, onsd_s) = match (r.value(), l.value()) {
        (None, None) => (
            None,
            Some(FieldStatus::not_assessable(
                r.reason().unwrap_or("not measured"),
            )),
        ),
        (right, left) => (
            Some(csfleak_findings::LeftRight {
                left: left.map(Mm),
                right: right.map(Mm),
            }),
            None,
        ),
    };
    let (rim, rim_s) = left_right_field(&a.perioptic_rim_mm);
    let (iter, iter_s) = mm_field(&m.iter_below_incisural_line_mm);
    let (pit, pit_s) = mm_field(&m.pituitary_height_mm);
    let (ipa, ipa_s) = match &m.interpeduncular_angle_rad {
        Measured::Value { value, .. } => (Some(Deg::from_radians(*value)), None),
        Measured::NotAssessable { reason } => (None, Some(FieldStatus::not_assessable(reason))),
    };
    csfleak_findings::Brain {
        perioptic_csf_rim_mm: rim,
        perioptic_csf_rim_status: rim_s,
        iter_below_incisural_line_mm: iter,
        iter_below_incisural_line_status: iter_s,
        pituitary_height_mm: pit,
        pituitary_height_status: pit_s,
        interpeduncular_angle_deg: ipa,
        interpeduncular_angle_status: ipa_s,
        landmarks: landmark_records(&a.landmarks),
        landmarks_not_found: a
            .landmarks
            .missing_automatic()
            .map(|(n, r)| csfleak_findings::MissingLandmark {
                name: n.as_str().to_owned(),
                reason: r.to_owned(),
            })
            .collect(),
        sign_details: vec![
            sign_detail("venous_distension", &a.venous_distension),
            sign_detail("pachymeningeal_enhancement", &a.pachymeningeal_enhancement),
            sign_detail("subdural_fluid", &a.subdural_fluid),
        ],
        bern: Some(bern_score(&a.bern)),
        landmark_source: a.landmarks.source(),
        mamillopontine_distance_mm: mpd,
        mamillopontine_distance_status: mpd_s,
        pontomesencephalic_angle_deg: pma,
        pontomesencephalic_angle_status: pma_s,
        suprasellar_cistern_mm: ss,
        suprasellar_cistern_status: ss_s,
        prepontine_cistern_mm: pp,
        prepontine_cistern_status: pp_s,
        tonsil_below_mcrae_mm: tonsil,
        tonsil_below_mcrae_status: tonsil_s,
        venous_distension: ven,
        venous_distension_status: ven_s,
        pachymeningeal_enhancement: pme,
        pachymeningeal_enhancement_status: pme_s,
        subdural_fluid: sdf,
        subdural_fluid_status: sdf_s,
        onsd_mm: onsd,
        onsd_status: onsd_s,
        provenance: Some(Provenance::Automatic {
            series_instance_uid: t1_series_uid.map(str::to_owned),
            slice_index: None,
            method: Some(METHOD.to_owned()),
        }),
        ..csfleak_findings::Brain::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csfleak_volume::PointLps;

    fn analysis() -> BrainAnalysis {
        let pts = landmarks::parse_points_json(
            r#"{"points": {
                "pituitary_top": [0, 0, 10], "pituitary_floor": [0, 0, 4],
                "ipa_vertex": [0, 0, 0], "ipa_left": [10, 10, 0], "ipa_right": [-10, 10, 0],
                "mamillary_inferior": [0, -20, 10], "pons_superior": [0, -18, 4]
            }}"#,
            "test",
            None,
        )
        .unwrap();
        let inputs = BrainInputs {
            imported: vec![pts],
            ..BrainInputs::default()
        };
        analyze(&inputs, &BrainOptions::default()).unwrap()
    }

    #[test]
    fn findings_carry_pituitary_ipa_bern_and_landmarks() {
        let a = analysis();
        let f = &a.findings;
        assert!((f.pituitary_height_mm.unwrap().get() - 6.0).abs() < 1e-9);
        assert!((f.interpeduncular_angle_deg.unwrap().get() - 90.0).abs() < 1e-9);
        assert!(f.iter_below_incisural_line_mm.is_none());
        assert!(
            f.status_of("iter_below_incisural_line_mm")
                .and_then(|s| s.reason.as_deref())
                .is_some_and(|r| r.contains("iter")),
            "{:?}",
            f.iter_below_incisural_line_status
        );
        assert!(f.perioptic_csf_rim_mm.is_none() && f.perioptic_csf_rim_status.is_some());
        assert_eq!(f.landmarks.len(), 7);
        assert!(f.landmarks.iter().all(|l| l.in_use && l.confidence == 1.0));
        let bern = f.bern.as_ref().unwrap();
        assert_eq!(bern.items.len(), 6);
        let mpd = bern
            .items
            .iter()
            .find(|i| i.item == "mamillopontine_distance")
            .unwrap();
        assert!((mpd.value_mm.unwrap() - 40f64.sqrt()).abs() < 1e-9);
        assert_eq!(mpd.threshold_mm, Some(6.5));
        assert_eq!(mpd.positive, Some(true));
        assert_eq!(f.sign_details.len(), 3);
        assert!(f.sign_details.iter().all(|s| s.present.is_none()));
        // The new fields survive a JSON round trip of the whole document.
        let json = serde_json::to_value(f).unwrap();
        let back: csfleak_findings::Brain = serde_json::from_value(json).unwrap();
        assert_eq!(&back, f);
    }

    #[test]
    fn imported_and_automatic_points_are_both_listed() {
        let mut a = analysis();
        a.landmarks.insert_automatic(Landmark {
            name: LandmarkName::PituitaryTop,
            position: PointLps([0.0, 0.0, 11.0]),
            origin: Origin::Automatic,
            confidence: 0.7,
            uncertainty_mm: 0.8,
        });
        a.landmarks
            .mark_missing(LandmarkName::Basion, "basion: not found (test)");
        let f = to_findings(&a, None);
        let tops: Vec<_> = f
            .landmarks
            .iter()
            .filter(|l| l.name == "pituitary_top")
            .collect();
        assert_eq!(tops.len(), 2);
        let auto = tops
            .iter()
            .find(|l| l.source == csfleak_findings::LandmarkSource::Automatic)
            .unwrap();
        assert!(!auto.in_use && (auto.confidence - 0.7).abs() < 1e-12);
        assert!(
            tops.iter()
                .any(|l| l.source == csfleak_findings::LandmarkSource::Imported && l.in_use)
        );
        assert_eq!(f.landmarks_not_found.len(), 1);
        assert_eq!(f.landmarks_not_found[0].name, "basion");
    }
}
