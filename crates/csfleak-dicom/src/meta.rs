//! Typed series metadata: what measurement crates and the NIfTI sidecar need to know about a
//! series, read once from the DICOM headers.
//!
//! No patient name, patient ID, birth date or accession number is ever stored here: this struct
//! is written next to NIfTI files and printed by `csfleak inspect --json`.

use serde::{Deserialize, Serialize};

/// The anatomical plane of a series, from its slice normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImagePlane {
    /// Normal within [`OBLIQUE_LIMIT_DEG`] of superior-inferior.
    Axial,
    /// Normal within [`OBLIQUE_LIMIT_DEG`] of left-right.
    Sagittal,
    /// Normal within [`OBLIQUE_LIMIT_DEG`] of anterior-posterior.
    Coronal,
    /// Normal further than [`OBLIQUE_LIMIT_DEG`] from every patient axis.
    Oblique,
}

/// Tilt (degrees) beyond which a slice normal no longer counts as axial, sagittal or coronal.
///
/// Spinal axials angled along a disc are typically 10-25 degrees off; they stay "axial".
pub const OBLIQUE_LIMIT_DEG: f64 = 35.0;

impl ImagePlane {
    /// The plane of a unit slice normal, and its angle (degrees) to the nearest patient axis.
    pub fn from_normal(n: [f64; 3]) -> (Self, f64) {
        let a = [n[0].abs(), n[1].abs(), n[2].abs()];
        let len = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
        if len <= 0.0 || !len.is_finite() {
            return (Self::Oblique, 90.0);
        }
        let (plane, largest) = if a[2] >= a[0] && a[2] >= a[1] {
            (Self::Axial, a[2])
        } else if a[0] >= a[1] {
            (Self::Sagittal, a[0])
        } else {
            (Self::Coronal, a[1])
        };
        let angle = (largest / len).clamp(-1.0, 1.0).acos().to_degrees();
        if angle > OBLIQUE_LIMIT_DEG {
            (Self::Oblique, angle)
        } else {
            (plane, angle)
        }
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Axial => "axial",
            Self::Sagittal => "sagittal",
            Self::Coronal => "coronal",
            Self::Oblique => "oblique",
        }
    }
}

/// Metadata of one (split) series. Serialised as the NIfTI JSON sidecar and by `inspect --json`.
///
/// Times are in milliseconds (`_ms`), lengths in millimetres (`_mm`), as the suffixes say.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SeriesMeta {
    /// Modality (0008,0060), e.g. `MR`, `CT`, `NM`.
    pub modality: String,
    /// Study Instance UID.
    pub study_instance_uid: String,
    /// Series Instance UID.
    pub series_instance_uid: String,
    /// Frame of Reference UID.
    pub frame_of_reference_uid: Option<String>,
    /// Series Number.
    pub series_number: Option<i32>,
    /// Series Description.
    pub series_description: Option<String>,
    /// Protocol Name.
    pub protocol_name: Option<String>,
    /// Image Type values, e.g. `["ORIGINAL", "PRIMARY", "M", "NORM"]`.
    pub image_type: Vec<String>,
    /// Transfer syntax UIDs of the files (sorted, distinct).
    pub transfer_syntaxes: Vec<String>,
    /// SOP Class UID.
    pub sop_class_uid: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Manufacturer's Model Name.
    pub manufacturer_model: Option<String>,
    /// Body Part Examined.
    pub body_part_examined: Option<String>,
    /// Plane of the slices (absent without orientation).
    pub plane: Option<ImagePlane>,
    /// Angle (degrees) between the slice normal and the nearest patient axis.
    pub obliquity_deg: Option<f64>,
    /// Grid size `[columns, rows, slices or frames]`.
    pub dims: [usize; 3],
    /// Voxel spacing along i, j, k in mm (k from the sorted positions); absent without geometry.
    pub spacing_mm: Option<[f64; 3]>,
    /// Pixel Spacing as stored: `[row spacing, column spacing]` in mm.
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// Slice Thickness (nominal; never used for geometry).
    pub slice_thickness_mm: Option<f64>,
    /// Spacing Between Slices as stored (nominal; geometry uses the positions).
    pub spacing_between_slices_mm: Option<f64>,
    /// Echo Time.
    pub echo_time_ms: Option<f64>,
    /// Echo Number(s).
    pub echo_number: Option<i32>,
    /// Repetition Time.
    pub repetition_time_ms: Option<f64>,
    /// Inversion Time.
    pub inversion_time_ms: Option<f64>,
    /// Flip Angle in degrees.
    pub flip_angle_deg: Option<f64>,
    /// MR Acquisition Type (`2D` / `3D`).
    pub mr_acquisition_type: Option<String>,
    /// Scanning Sequence, e.g. `SE`, `IR`, `GR`.
    pub scanning_sequence: Vec<String>,
    /// Sequence Variant.
    pub sequence_variant: Vec<String>,
    /// Scan Options, e.g. `FS`, `SAT_GEMS`.
    pub scan_options: Vec<String>,
    /// Sequence Name (vendor).
    pub sequence_name: Option<String>,
    /// Whether the headers hint at fat suppression (scan options, sequence or description).
    pub fat_sat: bool,
    /// Contrast/Bolus Agent, if any.
    pub contrast_agent: Option<String>,
    /// Acquisition Number of the first slice (a split series may differ per split).
    pub acquisition_number: Option<i32>,
    /// Study Date (`YYYYMMDD` as stored).
    pub study_date: Option<String>,
    /// Series Date.
    pub series_date: Option<String>,
    /// Series Time.
    pub series_time: Option<String>,
    /// Institution Name.
    pub institution_name: Option<String>,
    /// Patient's Age as stored, e.g. `045Y` (no name, ID or birth date is kept).
    pub patient_age: Option<String>,
    /// KVP for CT.
    pub kvp: Option<f64>,
    /// Convolution Kernel for CT.
    pub convolution_kernel: Option<String>,
    /// Number of files in the series.
    pub n_files: usize,
    /// Number of frames (slices for a volume; frames for planar images).
    pub n_frames: usize,
    /// Samples per pixel (1 grey, 3 colour).
    pub samples_per_pixel: u16,
    /// Photometric Interpretation.
    pub photometric_interpretation: Option<String>,
    /// Bits Allocated per sample.
    pub bits_allocated: Option<u16>,
    /// Nuclear-medicine specifics, for `NM` series.
    pub nm: Option<NmMeta>,
}

/// Nuclear-medicine metadata: frame vectors, views, timing and isotope.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NmMeta {
    /// The third Image Type value: `STATIC`, `WHOLE BODY`, `DYNAMIC`, `GATED`, `TOMO`,
    /// `RECON TOMO`...
    pub nm_image_type: Option<String>,
    /// Keywords of the Frame Increment Pointer, e.g. `["EnergyWindowVector", "DetectorVector"]`.
    pub frame_increment_pointer: Vec<String>,
    /// What each frame is, frame by frame (1-based vector values as stored).
    pub frames: Vec<NmFrame>,
    /// One entry per detector (Detector Information Sequence), in order.
    pub detectors: Vec<NmDetector>,
    /// Energy windows: (name, lower keV, upper keV) from the Energy Window Information Sequence.
    pub energy_windows: Vec<NmEnergyWindow>,
    /// Radiopharmaceutical, e.g. `In-111 DTPA`.
    pub radiopharmaceutical: Option<String>,
    /// Radionuclide code meaning, e.g. `^111^Indium`.
    pub radionuclide: Option<String>,
    /// Radionuclide Half Life in seconds.
    pub radionuclide_half_life_s: Option<f64>,
    /// Radiopharmaceutical Start `DateTime` (or Date + Time when only those are present),
    /// as stored (`YYYYMMDDHHMMSS.FFFFFF`).
    pub radiopharmaceutical_start_datetime: Option<String>,
    /// Acquisition Date.
    pub acquisition_date: Option<String>,
    /// Acquisition Time.
    pub acquisition_time: Option<String>,
    /// Actual Frame Duration in milliseconds.
    pub actual_frame_duration_ms: Option<f64>,
    /// Scan Velocity (whole-body), mm/s.
    pub scan_velocity_mm_per_s: Option<f64>,
    /// Scan Length (whole-body), mm.
    pub scan_length_mm: Option<f64>,
    /// Whole Body Technique values.
    pub whole_body_technique: Vec<String>,
}

/// What one NM frame is: the values of the frame vectors at this frame (1-based, as stored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NmFrame {
    /// Detector (1-based).
    pub detector: Option<u16>,
    /// Energy window (1-based).
    pub energy_window: Option<u16>,
    /// Time slot (gated).
    pub time_slot: Option<u16>,
    /// Phase (dynamic).
    pub phase: Option<u16>,
    /// Rotation (tomo).
    pub rotation: Option<u16>,
    /// Slice (reconstructed tomo).
    pub slice: Option<u16>,
}

/// One NM detector head and its view.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NmDetector {
    /// View code meaning, e.g. `anterior`, `posterior` (View Code Sequence).
    pub view: Option<String>,
    /// View code value, e.g. SNOMED `399067008`.
    pub view_code: Option<String>,
    /// Image Position (Patient) of this detector, if given.
    pub image_position: Option<[f64; 3]>,
    /// Image Orientation (Patient) of this detector, if given.
    pub image_orientation: Option<[f64; 6]>,
}

/// One energy window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NmEnergyWindow {
    /// Energy Window Name.
    pub name: Option<String>,
    /// Lower limit in keV.
    pub lower_kev: Option<f64>,
    /// Upper limit in keV.
    pub upper_kev: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_from_normal_with_tilt() {
        assert_eq!(
            ImagePlane::from_normal([0.0, 0.0, 1.0]).0,
            ImagePlane::Axial
        );
        assert_eq!(
            ImagePlane::from_normal([-1.0, 0.0, 0.0]).0,
            ImagePlane::Sagittal
        );
        assert_eq!(
            ImagePlane::from_normal([0.0, 1.0, 0.0]).0,
            ImagePlane::Coronal
        );
        // 20 degrees off axial stays axial.
        let a = 20.0_f64.to_radians();
        let (p, ang) = ImagePlane::from_normal([0.0, a.sin(), a.cos()]);
        assert_eq!(p, ImagePlane::Axial);
        assert!((ang - 20.0).abs() < 1e-9);
        // 45 degrees is oblique.
        let h = 0.5_f64.sqrt();
        assert_eq!(ImagePlane::from_normal([0.0, h, h]).0, ImagePlane::Oblique);
    }
}
