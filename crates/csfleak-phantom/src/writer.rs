//! Writing volumes as classic single-frame MR / CT DICOM series, one file per slice.
//!
//! Geometry is written exactly from the [`Geometry`]: Image Orientation (Patient) is the unit
//! direction of increasing `i` then `j`, Pixel Spacing is `[row spacing (Δj), column spacing
//! (Δi)]`, and Image Position (Patient) of slice `k` is the centre of voxel `(0, 0, k)`.
//! Decimal strings carry up to 16 characters, so positions survive within 1e-9 mm.
//!
//! Stored values: MR as unsigned 16-bit `round(v)` clamped to `0..=65535`; CT as signed 16-bit
//! `round(HU) - intercept` with Rescale Intercept −1024, Slope 1. [`quantize`] gives back exactly
//! what a reader recovers.

mod rle;

use std::path::{Path, PathBuf};

use csfleak_volume::{Geometry, Volume};
use dicom_core::value::{PixelFragmentSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result, invalid};
use crate::study::{StudyContext, Vendor, hash64};

/// Imaging modality of a volume series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Modality {
    /// Magnetic resonance (MR Image Storage).
    #[serde(rename = "MR")]
    Mr,
    /// Computed tomography (CT Image Storage), values in HU.
    #[serde(rename = "CT")]
    Ct,
}

impl Modality {
    /// The DICOM Modality code.
    pub fn code(self) -> &'static str {
        match self {
            Modality::Mr => "MR",
            Modality::Ct => "CT",
        }
    }
}

/// Transfer syntax of the written files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Compression {
    /// Explicit VR Little Endian, native pixel data.
    #[default]
    None,
    /// RLE Lossless (encapsulated, one fragment per frame).
    Rle,
    /// Deflated Explicit VR Little Endian (the whole data set is deflated).
    Deflate,
}

impl Compression {
    /// The Transfer Syntax UID.
    pub fn transfer_syntax_uid(self) -> &'static str {
        match self {
            Compression::None => uids::EXPLICIT_VR_LITTLE_ENDIAN,
            Compression::Rle => uids::RLE_LOSSLESS,
            Compression::Deflate => uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        }
    }
}

/// MR acquisition parameters written into the MR Image module.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MrParams {
    /// Sequence Name (0018,0024), vendor style, e.g. `*tse2d1_17`.
    pub sequence_name: String,
    /// Scanning Sequence (0018,0020): `SE`, `GR`, `IR`, `EP`.
    pub scanning_sequence: Vec<String>,
    /// Sequence Variant (0018,0021): `SK`, `SP`, `MP`, `OSP`, `NONE`.
    pub sequence_variant: Vec<String>,
    /// Scan Options (0018,0022): `FS` for fat saturation, `PFP`, ...; empty for none.
    pub scan_options: Vec<String>,
    /// MR Acquisition Type: `2D` or `3D`.
    pub acquisition_type: String,
    /// Repetition Time in ms.
    pub repetition_time_ms: f64,
    /// Echo Time in ms.
    pub echo_time_ms: f64,
    /// Inversion Time in ms, for inversion-recovery sequences.
    pub inversion_time_ms: Option<f64>,
    /// Echo Train Length.
    pub echo_train_length: u32,
    /// Flip Angle in degrees.
    pub flip_angle_deg: f64,
    /// Magnetic Field Strength in tesla.
    pub field_strength_t: f64,
}

impl MrParams {
    /// Fat-saturated 2D turbo spin echo T2.
    pub fn t2_fs_tse() -> Self {
        Self {
            sequence_name: "*tse2d1_17".to_owned(),
            scanning_sequence: vec!["SE".to_owned()],
            sequence_variant: vec!["SK".to_owned(), "SP".to_owned(), "OSP".to_owned()],
            scan_options: vec!["FS".to_owned()],
            acquisition_type: "2D".to_owned(),
            repetition_time_ms: 4000.0,
            echo_time_ms: 95.0,
            inversion_time_ms: None,
            echo_train_length: 17,
            flip_angle_deg: 150.0,
            field_strength_t: 3.0,
        }
    }

    /// 3D heavily T2-weighted MR myelography (long echo train, TE several hundred ms).
    pub fn mr_myelography_3d() -> Self {
        Self {
            sequence_name: "*spc3d1rs".to_owned(),
            scanning_sequence: vec!["SE".to_owned()],
            sequence_variant: vec!["SK".to_owned(), "SP".to_owned(), "MP".to_owned()],
            scan_options: vec!["FS".to_owned(), "PFP".to_owned()],
            acquisition_type: "3D".to_owned(),
            repetition_time_ms: 4500.0,
            echo_time_ms: 580.0,
            inversion_time_ms: None,
            echo_train_length: 180,
            flip_angle_deg: 120.0,
            field_strength_t: 3.0,
        }
    }

    /// Fat-saturated 2D spin echo T1 (used after gadolinium).
    pub fn t1_fs_se() -> Self {
        Self {
            sequence_name: "*tse2d1_3".to_owned(),
            scanning_sequence: vec!["SE".to_owned()],
            sequence_variant: vec!["SK".to_owned(), "SP".to_owned()],
            scan_options: vec!["FS".to_owned()],
            acquisition_type: "2D".to_owned(),
            repetition_time_ms: 600.0,
            echo_time_ms: 10.0,
            inversion_time_ms: None,
            echo_train_length: 3,
            flip_angle_deg: 150.0,
            field_strength_t: 3.0,
        }
    }

    /// 3D T1 gradient echo with an inversion pulse (MPRAGE-like).
    pub fn t1_3d_gre() -> Self {
        Self {
            sequence_name: "*tfl3d1_16ns".to_owned(),
            scanning_sequence: vec!["GR".to_owned(), "IR".to_owned()],
            sequence_variant: vec!["SK".to_owned(), "SP".to_owned(), "MP".to_owned()],
            scan_options: vec!["IR".to_owned()],
            acquisition_type: "3D".to_owned(),
            repetition_time_ms: 2300.0,
            echo_time_ms: 2.3,
            inversion_time_ms: Some(900.0),
            echo_train_length: 1,
            flip_angle_deg: 8.0,
            field_strength_t: 3.0,
        }
    }

    /// Replace the sequence name.
    pub fn with_sequence_name(mut self, name: impl Into<String>) -> Self {
        self.sequence_name = name.into();
        self
    }

    /// Replace the scan options (e.g. drop `FS`).
    pub fn with_scan_options(mut self, options: &[&str]) -> Self {
        self.scan_options = options.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Replace echo and repetition time (ms).
    pub fn with_te_tr(mut self, echo_time_ms: f64, repetition_time_ms: f64) -> Self {
        self.echo_time_ms = echo_time_ms;
        self.repetition_time_ms = repetition_time_ms;
        self
    }

    /// Replace the field strength (tesla).
    pub fn with_field_strength(mut self, tesla: f64) -> Self {
        self.field_strength_t = tesla;
        self
    }
}

/// CT acquisition parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CtParams {
    /// Peak kilovoltage.
    pub kvp: f64,
    /// Convolution Kernel, vendor style.
    pub convolution_kernel: String,
    /// Tube current-time product in mAs.
    pub exposure_mas: f64,
}

impl Default for CtParams {
    fn default() -> Self {
        Self {
            kvp: 120.0,
            convolution_kernel: "Br40d".to_owned(),
            exposure_mas: 250.0,
        }
    }
}

/// The description of one series: everything written into the headers except the pixels,
/// the geometry and the study-level attributes.
///
/// Build with [`SeriesSpec::mr`] or [`SeriesSpec::ct`], then the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SeriesSpec {
    /// Modality.
    pub modality: Modality,
    /// Series Number.
    pub series_number: u32,
    /// Stable key of the series inside its study, used for UIDs and file names
    /// (e.g. `"spine/t2fs_ax"`). Not written into the files.
    pub key: String,
    /// Series Description (English or Japanese, as scanners write).
    pub series_description: String,
    /// Protocol Name.
    pub protocol_name: String,
    /// Body Part Examined (`CSPINE`, `TSPINE`, `LSPINE`, `SPINE`, `HEAD`, `BRAIN`, `ORBIT`).
    pub body_part: String,
    /// Scanner vendor.
    pub vendor: Vendor,
    /// MR parameters (MR only).
    pub mr: Option<MrParams>,
    /// CT parameters (CT only).
    pub ct: Option<CtParams>,
    /// Contrast/Bolus Agent, e.g. `"Gadobutrol"` or `"Iohexol 300"`; `None` without contrast.
    pub contrast_agent: Option<String>,
    /// Slice Thickness in mm; `None` writes the slice step.
    pub slice_thickness_mm: Option<f64>,
    /// Window Center and Width.
    pub window: Option<(f64, f64)>,
    /// Transfer syntax.
    pub compression: Compression,
    /// Series Time, `HHMMSS`; `None` uses the study time.
    pub series_time: Option<String>,
    /// Key of the Frame of Reference (series sharing a key share the UID).
    pub frame_of_reference_key: String,
    /// Write Image Type `...\LOCALIZER` (a scout, not a diagnostic series).
    pub localizer: bool,
    /// Extra Image Type values after `ORIGINAL\PRIMARY` (e.g. `M\ND` for MR, `AXIAL` for CT).
    pub image_type_extra: Vec<String>,
}

impl SeriesSpec {
    fn base(modality: Modality, series_number: u32, key: &str, description: &str) -> Self {
        Self {
            modality,
            series_number,
            key: key.to_owned(),
            series_description: description.to_owned(),
            protocol_name: description.to_owned(),
            body_part: "SPINE".to_owned(),
            vendor: Vendor::default(),
            mr: None,
            ct: None,
            contrast_agent: None,
            slice_thickness_mm: None,
            window: None,
            compression: Compression::None,
            series_time: None,
            frame_of_reference_key: "main".to_owned(),
            localizer: false,
            image_type_extra: match modality {
                Modality::Mr => vec!["M".to_owned(), "ND".to_owned()],
                Modality::Ct => vec!["AXIAL".to_owned()],
            },
        }
    }

    /// An MR series.
    pub fn mr(series_number: u32, key: &str, description: &str, params: MrParams) -> Self {
        Self {
            mr: Some(params),
            ..Self::base(Modality::Mr, series_number, key, description)
        }
    }

    /// A CT series.
    pub fn ct(series_number: u32, key: &str, description: &str, params: CtParams) -> Self {
        Self {
            ct: Some(params),
            window: Some((400.0, 1800.0)),
            ..Self::base(Modality::Ct, series_number, key, description)
        }
    }

    /// Replace the Protocol Name.
    pub fn with_protocol_name(mut self, name: impl Into<String>) -> Self {
        self.protocol_name = name.into();
        self
    }
    /// Replace Body Part Examined.
    pub fn with_body_part(mut self, part: impl Into<String>) -> Self {
        self.body_part = part.into();
        self
    }
    /// Replace the vendor.
    pub fn with_vendor(mut self, vendor: Vendor) -> Self {
        self.vendor = vendor;
        self
    }
    /// Set the contrast agent (post-contrast series).
    pub fn with_contrast_agent(mut self, agent: impl Into<String>) -> Self {
        self.contrast_agent = Some(agent.into());
        self
    }
    /// Set Slice Thickness (mm), e.g. thicker than the step for overlapping slices.
    pub fn with_slice_thickness(mut self, mm: f64) -> Self {
        self.slice_thickness_mm = Some(mm);
        self
    }
    /// Set the display window (centre, width).
    pub fn with_window(mut self, center: f64, width: f64) -> Self {
        self.window = Some((center, width));
        self
    }
    /// Set the transfer syntax.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }
    /// Set the Series Time (`HHMMSS`).
    pub fn with_series_time(mut self, time: impl Into<String>) -> Self {
        self.series_time = Some(time.into());
        self
    }
    /// Set the Frame of Reference key.
    pub fn with_frame_of_reference(mut self, key: impl Into<String>) -> Self {
        self.frame_of_reference_key = key.into();
        self
    }
    /// Mark as a localizer (scout) series.
    pub fn as_localizer(mut self) -> Self {
        self.localizer = true;
        self
    }

    /// Series Instance UID of this series in a study.
    pub fn series_instance_uid(&self, ctx: &StudyContext) -> String {
        ctx.uid(&format!("series/{}", self.key))
    }

    /// What truth.json records about this series once written with `geometry`.
    pub fn truth(&self, ctx: &StudyContext, geometry: &Geometry, role: &str) -> SeriesTruth {
        let m = geometry.world_from_voxel;
        let cols = [m.matrix3.x_axis, m.matrix3.y_axis, m.matrix3.z_axis];
        let mut w = [[0.0; 4]; 3];
        for (r, row) in w.iter_mut().enumerate() {
            for (c, col) in cols.iter().enumerate() {
                row[c] = col.to_array()[r];
            }
            row[3] = m.translation.to_array()[r];
        }
        SeriesTruth {
            series_instance_uid: self.series_instance_uid(ctx),
            series_number: self.series_number,
            modality: self.modality.code().to_owned(),
            role: role.to_owned(),
            description: self.series_description.clone(),
            n_images: geometry.dims[2],
            dims: geometry.dims,
            spacing_mm: geometry.spacing_mm(),
            world_from_voxel: w,
            transfer_syntax_uid: self.compression.transfer_syntax_uid().to_owned(),
            localizer: self.localizer,
            extra: serde_json::Value::Null,
        }
    }
}

/// What truth.json says about one written series.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SeriesTruth {
    /// Series Instance UID.
    pub series_instance_uid: String,
    /// Series Number.
    pub series_number: u32,
    /// Modality code (`MR`, `CT`, `NM`).
    pub modality: String,
    /// What the series is for, e.g. `spine_t2fs_axial`, `ct_myelography`, `localizer`.
    pub role: String,
    /// Series Description.
    pub description: String,
    /// Number of files (images).
    pub n_images: usize,
    /// Grid `[columns, rows, slices]` (for planar NM: `[columns, rows, frames]`).
    pub dims: [usize; 3],
    /// Spacing along i, j, k in mm.
    pub spacing_mm: [f64; 3],
    /// The 3x4 affine voxel (i, j, k) -> patient LPS mm, row-major.
    pub world_from_voxel: [[f64; 4]; 3],
    /// Transfer Syntax UID.
    pub transfer_syntax_uid: String,
    /// Whether this is a localizer.
    pub localizer: bool,
    /// Family-specific details (noise level, time point, view, ...); `null` when none.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub extra: serde_json::Value,
}

impl SeriesTruth {
    /// Attach family-specific details.
    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = extra;
        self
    }

    /// A truth entry built field by field (for writers outside this module, e.g. NM).
    #[allow(clippy::too_many_arguments, reason = "a plain record constructor")]
    pub fn new(
        series_instance_uid: String,
        series_number: u32,
        modality: &str,
        role: &str,
        description: &str,
        n_images: usize,
        dims: [usize; 3],
        spacing_mm: [f64; 3],
    ) -> Self {
        Self {
            series_instance_uid,
            series_number,
            modality: modality.to_owned(),
            role: role.to_owned(),
            description: description.to_owned(),
            n_images,
            dims,
            spacing_mm,
            world_from_voxel: [[0.0; 4]; 3],
            transfer_syntax_uid: uids::EXPLICIT_VR_LITTLE_ENDIAN.to_owned(),
            localizer: false,
            extra: serde_json::Value::Null,
        }
    }
}

/// The CT Rescale Intercept written by [`write_volume_series`].
pub const CT_RESCALE_INTERCEPT: f64 = -1024.0;

/// The values a reader gets back after writing `v` with this modality (rounding, clamping).
pub fn quantize(modality: Modality, v: f32) -> f32 {
    match modality {
        Modality::Mr => f32::from(mr_stored(v)),
        Modality::Ct => f32::from(ct_stored(v)) + ct_intercept_f32(),
    }
}

fn ct_intercept_f32() -> f32 {
    -1024.0
}

fn mr_stored(v: f32) -> u16 {
    let r = v.round();
    if r.is_nan() || r <= 0.0 {
        0
    } else if r >= 65535.0 {
        u16::MAX
    } else {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to 0..65535 above"
        )]
        let s = r as u16;
        s
    }
}

fn ct_stored(hu: f32) -> i16 {
    let r = hu.round() - ct_intercept_f32();
    if r.is_nan() {
        0
    } else if r <= -32768.0 {
        i16::MIN
    } else if r >= 32767.0 {
        i16::MAX
    } else {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "clamped to the i16 range above"
        )]
        let s = r as i16;
        s
    }
}

/// A DICOM decimal string (at most 16 characters) as close to `x` as fits.
pub fn ds(x: f64) -> String {
    if !x.is_finite() {
        return "0".to_owned();
    }
    let x = if x == 0.0 { 0.0 } else { x }; // no "-0"
    let s = format!("{x}");
    if s.len() <= 16 {
        return s;
    }
    for prec in (0..=15).rev() {
        let s = format!("{x:.prec$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{x:.0}")
}

/// A multi-valued Decimal String, each value formatted by [`ds`].
pub(crate) fn ds_multi(values: &[f64]) -> PrimitiveValue {
    PrimitiveValue::Strs(values.iter().map(|&v| ds(v)).collect())
}

fn strs(values: &[String]) -> PrimitiveValue {
    PrimitiveValue::Strs(values.iter().cloned().collect())
}

/// Put one attribute.
pub(crate) fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) {
    obj.put(DataElement::new(tag, vr, value.into()));
}

/// The Image Pixel module of a 16-bit greyscale image (`signed` for CT, unsigned for MR and NM)
/// with its Pixel Spacing `[row spacing, column spacing]`.
pub(crate) fn put_grey16_pixel_module(
    obj: &mut InMemDicomObject,
    rows: u16,
    cols: u16,
    signed: bool,
    pixel_spacing: [f64; 2],
) {
    put(
        obj,
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(1_u16),
    );
    put(obj, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2");
    put(obj, tags::ROWS, VR::US, PrimitiveValue::from(rows));
    put(obj, tags::COLUMNS, VR::US, PrimitiveValue::from(cols));
    put(obj, tags::PIXEL_SPACING, VR::DS, ds_multi(&pixel_spacing));
    put(
        obj,
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(16_u16),
    );
    put(obj, tags::BITS_STORED, VR::US, PrimitiveValue::from(16_u16));
    put(obj, tags::HIGH_BIT, VR::US, PrimitiveValue::from(15_u16));
    put(
        obj,
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(u16::from(signed)),
    );
}

/// Geometry attributes of a series: orientation, pixel spacing, position of each slice, step.
/// Orientation, pixel spacing, position of each slice and slice step of a grid.
type PlaneAttributes = ([f64; 6], [f64; 2], Vec<[f64; 3]>, f64);

fn plane_attributes(g: &Geometry) -> Result<PlaneAttributes> {
    let [di, dj, _] = g.directions();
    if di.dot(dj).abs() > 1e-9 {
        return Err(invalid(
            "the i and j axes of a DICOM series must be orthogonal",
        ));
    }
    let [si, sj, sk] = g.spacing_mm();
    let iop = [di.x, di.y, di.z, dj.x, dj.y, dj.z];
    let ipp = (0..g.dims[2])
        .map(|k| {
            g.world_from_voxel
                .transform_point3(csfleak_volume::DVec3::new(0.0, 0.0, k as f64))
                .to_array()
        })
        .collect();
    Ok((iop, [sj, si], ipp, sk))
}

/// Write a volume as a single-frame MR or CT series into `dir`, one file per slice.
///
/// File names are meaningless 8-character hex names derived from the seed (so a folder
/// listing is in no useful order). Returns the written paths in slice order.
pub fn write_volume_series(
    dir: &Path,
    ctx: &StudyContext,
    spec: &SeriesSpec,
    volume: &Volume,
) -> Result<Vec<PathBuf>> {
    let g = volume.geometry();
    let [ni, nj, nk] = g.dims;
    if ni == 0 || nj == 0 || nk == 0 {
        return Err(invalid(format!("series {} has an empty grid", spec.key)));
    }
    let rows = u16::try_from(nj).map_err(|_| invalid("more than 65535 rows"))?;
    let cols = u16::try_from(ni).map_err(|_| invalid("more than 65535 columns"))?;
    match spec.modality {
        Modality::Mr if spec.mr.is_none() => {
            return Err(invalid("MR series without MR parameters"));
        }
        Modality::Ct if spec.ct.is_none() => {
            return Err(invalid("CT series without CT parameters"));
        }
        _ => {}
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_owned(),
        source,
    })?;
    let (iop, pixel_spacing, ipps, step) = plane_attributes(g)?;
    let normal = g.normal();
    let series_uid = spec.series_instance_uid(ctx);
    let header = series_header(ctx, spec, &series_uid, rows, cols, iop, pixel_spacing, step);
    let data = volume.data();
    (0..nk)
        .into_par_iter()
        .map(|k| {
            let name = format!(
                "{:08X}",
                hash64(ctx.seed, &format!("file/{series_uid}/{k}")) >> 32
            );
            let path = dir.join(name);
            let mut obj = header.clone();
            let ipp = ipps[k];
            let sop_uid = ctx.uid(&format!("series/{}/instance/{k}", spec.key));
            put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, sop_uid);
            let instance = i32::try_from(k + 1).unwrap_or(i32::MAX);
            put(
                &mut obj,
                tags::INSTANCE_NUMBER,
                VR::IS,
                instance.to_string(),
            );
            put(
                &mut obj,
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                ds_multi(&ipp),
            );
            let loc = normal.dot(csfleak_volume::DVec3::from_array(ipp));
            put(&mut obj, tags::SLICE_LOCATION, VR::DS, ds(loc));
            let slice = data.index_axis(ndarray::Axis(0), k);
            let pixels: Vec<u16> = match spec.modality {
                Modality::Mr => slice.iter().map(|&v| mr_stored(v)).collect(),
                Modality::Ct => slice
                    .iter()
                    .map(|&v| u16::from_ne_bytes(ct_stored(v).to_ne_bytes()))
                    .collect(),
            };
            put_pixels(&mut obj, spec.compression, spec.modality, pixels);
            write_object(obj, spec.compression, &path)?;
            Ok(path)
        })
        .collect()
}

fn put_pixels(
    obj: &mut InMemDicomObject,
    compression: Compression,
    modality: Modality,
    px: Vec<u16>,
) {
    match compression {
        Compression::Rle => {
            let frame = rle::encode_frame_u16(&px);
            let seq = PixelFragmentSequence::new(Vec::<u32>::new(), vec![frame]);
            obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, seq));
        }
        Compression::None | Compression::Deflate => {
            let value = match modality {
                Modality::Mr => PrimitiveValue::U16(px.into()),
                Modality::Ct => PrimitiveValue::I16(
                    px.into_iter()
                        .map(|p| i16::from_ne_bytes(p.to_ne_bytes()))
                        .collect(),
                ),
            };
            obj.put(DataElement::new(tags::PIXEL_DATA, VR::OW, value));
        }
    }
}

/// Write an object with a file meta group in the given transfer syntax.
pub(crate) fn write_object(
    obj: InMemDicomObject,
    compression: Compression,
    path: &Path,
) -> Result<()> {
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(compression.transfer_syntax_uid())
                .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
                .implementation_version_name("CSFLEAK_PHANTOM"),
        )
        .map_err(|e| Error::DicomMeta {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
    file.write_to_file(path).map_err(|e| Error::DicomWrite {
        path: path.to_owned(),
        source: Box::new(e),
    })
}

/// Implementation Class UID of the generator (a fixed 2.25 UID).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.207362617355094731390540118591367702453";

/// Patient, study, equipment and series attributes shared by every slice.
#[allow(
    clippy::too_many_arguments,
    reason = "internal helper with plain attribute values"
)]
fn series_header(
    ctx: &StudyContext,
    spec: &SeriesSpec,
    series_uid: &str,
    rows: u16,
    cols: u16,
    iop: [f64; 6],
    pixel_spacing: [f64; 2],
    step: f64,
) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    let ct = spec.modality == Modality::Ct;
    put(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    let mut image_type = vec!["ORIGINAL".to_owned(), "PRIMARY".to_owned()];
    if spec.localizer {
        image_type.push(if ct { "LOCALIZER" } else { "M" }.to_owned());
        if !ct {
            image_type.push("LOCALIZER".to_owned());
        }
    } else {
        image_type.extend(spec.image_type_extra.iter().cloned());
    }
    put(&mut o, tags::IMAGE_TYPE, VR::CS, strs(&image_type));
    let sop_class = if ct {
        uids::CT_IMAGE_STORAGE
    } else {
        uids::MR_IMAGE_STORAGE
    };
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, sop_class);
    let series_time = spec
        .series_time
        .clone()
        .unwrap_or_else(|| ctx.study_time.clone());
    put(&mut o, tags::STUDY_DATE, VR::DA, ctx.study_date.as_str());
    put(&mut o, tags::SERIES_DATE, VR::DA, ctx.study_date.as_str());
    put(
        &mut o,
        tags::ACQUISITION_DATE,
        VR::DA,
        ctx.study_date.as_str(),
    );
    put(&mut o, tags::CONTENT_DATE, VR::DA, ctx.study_date.as_str());
    put(&mut o, tags::STUDY_TIME, VR::TM, ctx.study_time.as_str());
    put(&mut o, tags::SERIES_TIME, VR::TM, series_time.as_str());
    put(&mut o, tags::ACQUISITION_TIME, VR::TM, series_time.as_str());
    put(&mut o, tags::CONTENT_TIME, VR::TM, series_time.as_str());
    put(
        &mut o,
        tags::ACCESSION_NUMBER,
        VR::SH,
        ctx.accession_number.as_str(),
    );
    put(&mut o, tags::MODALITY, VR::CS, spec.modality.code());
    put(
        &mut o,
        tags::MANUFACTURER,
        VR::LO,
        spec.vendor.manufacturer(),
    );
    put(
        &mut o,
        tags::INSTITUTION_NAME,
        VR::LO,
        ctx.institution_name.as_str(),
    );
    put(&mut o, tags::REFERRING_PHYSICIAN_NAME, VR::PN, "");
    put(&mut o, tags::STATION_NAME, VR::SH, "PHANTOM01");
    put(
        &mut o,
        tags::STUDY_DESCRIPTION,
        VR::LO,
        ctx.study_description.as_str(),
    );
    put(
        &mut o,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        spec.series_description.as_str(),
    );
    put(
        &mut o,
        tags::MANUFACTURER_MODEL_NAME,
        VR::LO,
        spec.vendor.model(ct),
    );
    put(
        &mut o,
        tags::PATIENT_NAME,
        VR::PN,
        ctx.patient_name.as_str(),
    );
    put(&mut o, tags::PATIENT_ID, VR::LO, ctx.patient_id.as_str());
    put(
        &mut o,
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        ctx.patient_birth_date.as_str(),
    );
    put(&mut o, tags::PATIENT_SEX, VR::CS, ctx.patient_sex.as_str());
    put(
        &mut o,
        tags::PATIENT_AGE,
        VR::AS,
        format!("{:03}Y", ctx.patient_age_years),
    );
    put(
        &mut o,
        tags::BODY_PART_EXAMINED,
        VR::CS,
        spec.body_part.as_str(),
    );
    if let Some(agent) = &spec.contrast_agent {
        put(&mut o, tags::CONTRAST_BOLUS_AGENT, VR::LO, agent.as_str());
    }
    let thickness = spec.slice_thickness_mm.unwrap_or(step);
    put(&mut o, tags::SLICE_THICKNESS, VR::DS, ds(thickness));
    put(&mut o, tags::SPACING_BETWEEN_SLICES, VR::DS, ds(step));
    put(
        &mut o,
        tags::PROTOCOL_NAME,
        VR::LO,
        spec.protocol_name.as_str(),
    );
    put(
        &mut o,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        concat!("csfleak-phantom ", env!("CARGO_PKG_VERSION")),
    );
    if let Some(mr) = &spec.mr {
        put(
            &mut o,
            tags::SCANNING_SEQUENCE,
            VR::CS,
            strs(&mr.scanning_sequence),
        );
        put(
            &mut o,
            tags::SEQUENCE_VARIANT,
            VR::CS,
            strs(&mr.sequence_variant),
        );
        put(&mut o, tags::SCAN_OPTIONS, VR::CS, strs(&mr.scan_options));
        put(
            &mut o,
            tags::MR_ACQUISITION_TYPE,
            VR::CS,
            mr.acquisition_type.as_str(),
        );
        put(
            &mut o,
            tags::SEQUENCE_NAME,
            VR::SH,
            mr.sequence_name.as_str(),
        );
        put(
            &mut o,
            tags::REPETITION_TIME,
            VR::DS,
            ds(mr.repetition_time_ms),
        );
        put(&mut o, tags::ECHO_TIME, VR::DS, ds(mr.echo_time_ms));
        if let Some(ti) = mr.inversion_time_ms {
            put(&mut o, tags::INVERSION_TIME, VR::DS, ds(ti));
        }
        put(&mut o, tags::NUMBER_OF_AVERAGES, VR::DS, "1");
        put(
            &mut o,
            tags::IMAGING_FREQUENCY,
            VR::DS,
            ds(42.577_478_5 * mr.field_strength_t),
        );
        put(&mut o, tags::IMAGED_NUCLEUS, VR::SH, "1H");
        put(&mut o, tags::ECHO_NUMBERS, VR::IS, "1");
        put(
            &mut o,
            tags::MAGNETIC_FIELD_STRENGTH,
            VR::DS,
            ds(mr.field_strength_t),
        );
        put(
            &mut o,
            tags::ECHO_TRAIN_LENGTH,
            VR::IS,
            mr.echo_train_length.to_string(),
        );
        put(&mut o, tags::FLIP_ANGLE, VR::DS, ds(mr.flip_angle_deg));
    }
    if let Some(ctp) = &spec.ct {
        put(&mut o, tags::KVP, VR::DS, ds(ctp.kvp));
        put(
            &mut o,
            tags::CONVOLUTION_KERNEL,
            VR::SH,
            ctp.convolution_kernel.as_str(),
        );
        put(
            &mut o,
            tags::EXPOSURE,
            VR::IS,
            format!("{:.0}", ctp.exposure_mas),
        );
    }
    put(&mut o, tags::PATIENT_POSITION, VR::CS, "HFS");
    put(
        &mut o,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        ctx.study_instance_uid.as_str(),
    );
    put(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, series_uid);
    put(&mut o, tags::STUDY_ID, VR::SH, ctx.study_id.as_str());
    put(
        &mut o,
        tags::SERIES_NUMBER,
        VR::IS,
        spec.series_number.to_string(),
    );
    put(&mut o, tags::ACQUISITION_NUMBER, VR::IS, "1");
    put(
        &mut o,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        ds_multi(&iop),
    );
    let for_uid = ctx.uid(&format!(
        "frame_of_reference/{}",
        spec.frame_of_reference_key
    ));
    put(&mut o, tags::FRAME_OF_REFERENCE_UID, VR::UI, for_uid);
    put(&mut o, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
    put_grey16_pixel_module(&mut o, rows, cols, ct, pixel_spacing);
    if let Some((c, w)) = spec.window {
        put(&mut o, tags::WINDOW_CENTER, VR::DS, ds(c));
        put(&mut o, tags::WINDOW_WIDTH, VR::DS, ds(w));
    }
    if ct {
        put(
            &mut o,
            tags::RESCALE_INTERCEPT,
            VR::DS,
            ds(CT_RESCALE_INTERCEPT),
        );
        put(&mut o, tags::RESCALE_SLOPE, VR::DS, "1");
        put(&mut o, tags::RESCALE_TYPE, VR::LO, "HU");
    }
    o
}

/// Write a DICOM object built elsewhere in the crate (NM, secondary capture) with the patient,
/// study and equipment attributes of `ctx` filled in, in the given transfer syntax.
///
/// The caller supplies the SOP Class/Instance UIDs and every module specific to its IOD.
pub fn write_with_study(
    mut obj: InMemDicomObject,
    ctx: &StudyContext,
    vendor: Vendor,
    compression: Compression,
    path: &Path,
) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    put(&mut obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    put(&mut obj, tags::STUDY_DATE, VR::DA, ctx.study_date.as_str());
    put(&mut obj, tags::STUDY_TIME, VR::TM, ctx.study_time.as_str());
    put(
        &mut obj,
        tags::ACCESSION_NUMBER,
        VR::SH,
        ctx.accession_number.as_str(),
    );
    put(&mut obj, tags::MANUFACTURER, VR::LO, vendor.manufacturer());
    put(
        &mut obj,
        tags::INSTITUTION_NAME,
        VR::LO,
        ctx.institution_name.as_str(),
    );
    put(&mut obj, tags::REFERRING_PHYSICIAN_NAME, VR::PN, "");
    put(
        &mut obj,
        tags::STUDY_DESCRIPTION,
        VR::LO,
        ctx.study_description.as_str(),
    );
    put(
        &mut obj,
        tags::PATIENT_NAME,
        VR::PN,
        ctx.patient_name.as_str(),
    );
    put(&mut obj, tags::PATIENT_ID, VR::LO, ctx.patient_id.as_str());
    put(
        &mut obj,
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        ctx.patient_birth_date.as_str(),
    );
    put(
        &mut obj,
        tags::PATIENT_SEX,
        VR::CS,
        ctx.patient_sex.as_str(),
    );
    put(
        &mut obj,
        tags::PATIENT_AGE,
        VR::AS,
        format!("{:03}Y", ctx.patient_age_years),
    );
    put(
        &mut obj,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        ctx.study_instance_uid.as_str(),
    );
    put(&mut obj, tags::STUDY_ID, VR::SH, ctx.study_id.as_str());
    write_object(obj, compression, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_fit_and_keep_precision() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -123.456_789_012_345_67,
            0.939_692_620_785_908_4,
            1e-7,
            12_345.678_901_234_5,
        ] {
            let s = ds(x);
            assert!(s.len() <= 16, "{s}");
            let back: f64 = s.parse().unwrap();
            assert!((back - x).abs() < 1e-9, "{x} -> {s}");
        }
        assert_eq!(ds(-0.0), "0");
        assert_eq!(ds(2.5), "2.5");
    }

    #[test]
    fn quantize_matches_storage() {
        assert_eq!(quantize(Modality::Mr, 12.4), 12.0);
        assert_eq!(quantize(Modality::Mr, -3.0), 0.0);
        assert_eq!(quantize(Modality::Mr, 1e9), 65535.0);
        assert_eq!(quantize(Modality::Ct, -1000.4), -1000.0);
        assert_eq!(quantize(Modality::Ct, 2500.6), 2501.0);
        assert_eq!(quantize(Modality::Ct, -5000.0), -5000.0);
        assert_eq!(quantize(Modality::Ct, 40000.0), 32767.0 - 1024.0);
    }
}
