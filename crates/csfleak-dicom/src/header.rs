//! Reading one file's header (everything before Pixel Data) into plain Rust values.
//!
//! Nothing here unwraps a header value: real scanners omit "required" attributes, so every
//! accessor returns `Option` and the caller decides whether the absence matters.

use std::path::{Path, PathBuf};

use dicom_core::Tag;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;

use crate::meta::{NmDetector, NmEnergyWindow, NmFrame, NmMeta, SeriesMeta};
use crate::quality::QualityFlag;
use crate::{DicomFile, Error, Result};

/// A data set (a file's top level or a sequence item).
pub(crate) type Obj = InMemDicomObject;

/// Trimmed, non-empty string value (multi-valued attributes joined with `\`).
pub(crate) fn get_str(o: &Obj, tag: Tag) -> Option<String> {
    let e = o.get(tag)?;
    let s = e.to_str().ok()?;
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!t.is_empty()).then(|| t.to_string())
}

/// Every value of a multi-valued string attribute, trimmed; empty values dropped.
pub(crate) fn get_strs(o: &Obj, tag: Tag) -> Vec<String> {
    get_str(o, tag)
        .map(|s| {
            s.split('\\')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A finite float (first value of DS/FD/FL/IS...).
pub(crate) fn get_f64(o: &Obj, tag: Tag) -> Option<f64> {
    let v = o.get(tag)?.to_float64().ok()?;
    v.is_finite().then_some(v)
}

/// All values of a numeric attribute, if every one is finite.
pub(crate) fn get_f64s(o: &Obj, tag: Tag) -> Option<Vec<f64>> {
    let v = o.get(tag)?.to_multi_float64().ok()?;
    (v.iter().all(|x| x.is_finite()) && !v.is_empty()).then_some(v)
}

/// Exactly `N` finite floats.
pub(crate) fn get_fixed<const N: usize>(o: &Obj, tag: Tag) -> Option<[f64; N]> {
    let v = get_f64s(o, tag)?;
    v.get(..N)?.try_into().ok()
}

/// An integer attribute (IS, US, SS, UL...).
pub(crate) fn get_i64(o: &Obj, tag: Tag) -> Option<i64> {
    o.get(tag)?.to_int::<i64>().ok()
}

/// An integer attribute as `i32`.
pub(crate) fn get_i32(o: &Obj, tag: Tag) -> Option<i32> {
    get_i64(o, tag).and_then(|v| i32::try_from(v).ok())
}

/// All values of an unsigned 16-bit vector attribute (NM frame vectors).
fn get_u16s(o: &Obj, tag: Tag) -> Option<Vec<u16>> {
    o.get(tag)?.to_multi_int::<u16>().ok()
}

/// The items of a sequence (empty when absent or not a sequence).
pub(crate) fn items(o: &Obj, tag: Tag) -> &[Obj] {
    o.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

/// The first item of a sequence.
pub(crate) fn first_item(o: &Obj, tag: Tag) -> Option<&Obj> {
    items(o, tag).first()
}

/// Attribute-tag values (AT), e.g. Frame Increment Pointer.
fn get_tags(o: &Obj, tag: Tag) -> Vec<Tag> {
    match o.get(tag).map(dicom_core::DataElement::value) {
        Some(Value::Primitive(PrimitiveValue::Tags(t))) => t.iter().copied().collect(),
        _ => Vec::new(),
    }
}

/// Geometry and echo of one frame (a single-frame file has one).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct FrameInfo {
    /// Image Position (Patient).
    pub(crate) position: Option<[f64; 3]>,
    /// Image Orientation (Patient).
    pub(crate) orientation: Option<[f64; 6]>,
    /// Pixel Spacing `[row, column]`.
    pub(crate) pixel_spacing: Option<[f64; 2]>,
    /// Echo time in ms (per frame for enhanced MR).
    pub(crate) echo_time: Option<f64>,
    /// Temporal position / acquisition discriminator (used only to split repeated positions).
    pub(crate) temporal: Option<i64>,
}

/// Everything the indexer keeps of one image file.
#[derive(Debug, Clone)]
pub(crate) struct FileHeader {
    /// Absolute (or as given) path.
    pub(crate) path: PathBuf,
    /// Path relative to the scanned folder (for messages).
    pub(crate) rel_path: PathBuf,
    /// SOP Instance UID (may be empty when absent).
    pub(crate) sop_instance_uid: String,
    /// Instance Number.
    pub(crate) instance_number: Option<i32>,
    /// Transfer syntax UID.
    pub(crate) transfer_syntax: String,
    /// Rows.
    pub(crate) rows: usize,
    /// Columns.
    pub(crate) cols: usize,
    /// Per-frame information (length = Number of Frames, at least 1).
    pub(crate) frames: Vec<FrameInfo>,
    /// Whether frames are NM projections (planar) rather than slices.
    pub(crate) planar_frames: bool,
    /// Series-level metadata as seen in this file (dims, spacing, counts filled later).
    pub(crate) meta: SeriesMeta,
    /// Caveats about this file found while reading its header.
    pub(crate) flags: Vec<QualityFlag>,
}

/// Why a file is not indexed as an image.
#[derive(Debug)]
pub(crate) enum NotImage {
    /// Not DICOM or unreadable.
    Unreadable(Error),
    /// A DICOMDIR.
    Dicomdir,
    /// No Rows/Columns: SR, RT structure set, presentation state, etc.
    NoImage(Option<String>),
}

/// The largest frame count accepted from a header before the file's size is known to back it.
const MAX_FRAMES: usize = 1 << 20;

/// The most frames a file of `file_len` bytes can hold.
fn max_frames_for(file_len: u64, pixels_per_frame: usize, transfer_syntax: &str) -> u128 {
    let len = u128::from(file_len);
    let native = matches!(
        transfer_syntax,
        "" | "1.2.840.10008.1.2" | "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2.2"
    );
    let ppf = pixels_per_frame.max(1) as u128;
    if native {
        (len * 8) / ppf
    } else if transfer_syntax == "1.2.840.10008.1.2.1.99" {
        // Deflated data sets: allow up to 1000:1 on 1-bit data (empty segmentations compress
        // that well).
        (len * 8 * 1000) / ppf
    } else {
        // Encapsulated: every frame takes at least one item (8 bytes of header).
        len / 8
    }
}

/// Read and parse one file's header.
pub(crate) fn read_file_header(path: &Path, rel_path: &Path) -> Result<FileHeader, NotImage> {
    if path
        .file_name()
        .is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"))
    {
        return Err(NotImage::Dicomdir);
    }
    let file = crate::open_header(path).map_err(NotImage::Unreadable)?;
    let file_len = std::fs::metadata(path)
        .map_err(|e| {
            NotImage::Unreadable(Error::Io {
                path: rel_path.to_path_buf(),
                source: e,
            })
        })?
        .len();
    parse_header(&file, path, rel_path, file_len)
}

/// Parse an opened header.
pub(crate) fn parse_header(
    file: &DicomFile,
    path: &Path,
    rel_path: &Path,
    file_len: u64,
) -> Result<FileHeader, NotImage> {
    let o: &Obj = file;
    let meta_sop_class = file
        .meta()
        .media_storage_sop_class_uid()
        .trim_end_matches(['\0', ' '])
        .to_string();
    let sop_class = get_str(o, tags::SOP_CLASS_UID)
        .or_else(|| (!meta_sop_class.is_empty()).then(|| meta_sop_class.clone()));
    if sop_class.as_deref() == Some(uids::MEDIA_STORAGE_DIRECTORY_STORAGE)
        || meta_sop_class == uids::MEDIA_STORAGE_DIRECTORY_STORAGE
    {
        return Err(NotImage::Dicomdir);
    }
    let rows = get_i64(o, tags::ROWS).and_then(|v| usize::try_from(v).ok());
    let cols = get_i64(o, tags::COLUMNS).and_then(|v| usize::try_from(v).ok());
    let (Some(rows), Some(cols)) = (rows, cols) else {
        return Err(NotImage::NoImage(sop_class));
    };
    if rows == 0 || cols == 0 {
        return Err(NotImage::NoImage(sop_class));
    }
    let n_frames = match o.get(tags::NUMBER_OF_FRAMES) {
        None => 1,
        Some(e) => match e.to_int::<i64>() {
            Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => {
                return Err(NotImage::Unreadable(Error::Invalid {
                    what: "NumberOfFrames",
                    detail: "not a positive integer".into(),
                    path: rel_path.to_path_buf(),
                }));
            }
        },
    };
    if n_frames > MAX_FRAMES {
        return Err(NotImage::Unreadable(Error::LimitExceeded {
            detail: format!("NumberOfFrames {n_frames} is above the limit of {MAX_FRAMES}"),
            path: rel_path.to_path_buf(),
        }));
    }
    let transfer_syntax = file
        .meta()
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_string();
    // Per-frame bookkeeping is allocated from Number of Frames: refuse counts the file cannot
    // hold (at least 1 bit per pixel when native, an 8-byte item per frame when encapsulated).
    let frame_limit = max_frames_for(file_len, rows.saturating_mul(cols), &transfer_syntax);
    if n_frames as u128 > frame_limit {
        return Err(NotImage::Unreadable(Error::LimitExceeded {
            detail: format!(
                "NumberOfFrames {n_frames} cannot fit in a file of {file_len} bytes ({cols} x {rows} pixels per frame)"
            ),
            path: rel_path.to_path_buf(),
        }));
    }

    let mut meta = read_meta(o);
    meta.sop_class_uid = sop_class;
    meta.transfer_syntaxes = vec![transfer_syntax.clone()];

    let mut flags = Vec::new();
    let (frames, planar_frames) = frame_infos(o, &meta, n_frames);
    if meta.modality == "NM" {
        meta.nm = Some(read_nm(o, n_frames, rel_path, &mut flags));
    }
    Ok(FileHeader {
        path: path.to_path_buf(),
        rel_path: rel_path.to_path_buf(),
        sop_instance_uid: get_str(o, tags::SOP_INSTANCE_UID).unwrap_or_default(),
        instance_number: get_i32(o, tags::INSTANCE_NUMBER),
        transfer_syntax,
        rows,
        cols,
        frames,
        planar_frames,
        meta,
        flags,
    })
}

/// Series-level attributes of one file.
fn read_meta(o: &Obj) -> SeriesMeta {
    let scan_options = get_strs(o, tags::SCAN_OPTIONS);
    let contrast_agent = get_str(o, tags::CONTRAST_BOLUS_AGENT).or_else(|| {
        first_item(o, tags::CONTRAST_BOLUS_AGENT_SEQUENCE)
            .and_then(|i| get_str(i, tags::CODE_MEANING))
    });
    let mut m = SeriesMeta {
        modality: get_str(o, tags::MODALITY).unwrap_or_else(|| "OT".into()),
        study_instance_uid: get_str(o, tags::STUDY_INSTANCE_UID).unwrap_or_default(),
        series_instance_uid: get_str(o, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
        frame_of_reference_uid: get_str(o, tags::FRAME_OF_REFERENCE_UID),
        series_number: get_i32(o, tags::SERIES_NUMBER),
        series_description: get_str(o, tags::SERIES_DESCRIPTION),
        protocol_name: get_str(o, tags::PROTOCOL_NAME),
        image_type: get_strs(o, tags::IMAGE_TYPE)
            .into_iter()
            .map(|s| s.to_ascii_uppercase())
            .collect(),
        manufacturer: get_str(o, tags::MANUFACTURER),
        manufacturer_model: get_str(o, tags::MANUFACTURER_MODEL_NAME),
        body_part_examined: get_str(o, tags::BODY_PART_EXAMINED),
        slice_thickness_mm: get_f64(o, tags::SLICE_THICKNESS),
        spacing_between_slices_mm: get_f64(o, tags::SPACING_BETWEEN_SLICES),
        echo_time_ms: get_f64(o, tags::ECHO_TIME).or_else(|| enhanced_echo_time(o)),
        echo_number: get_i32(o, tags::ECHO_NUMBERS),
        repetition_time_ms: get_f64(o, tags::REPETITION_TIME),
        inversion_time_ms: get_f64(o, tags::INVERSION_TIME),
        flip_angle_deg: get_f64(o, tags::FLIP_ANGLE),
        mr_acquisition_type: get_str(o, tags::MR_ACQUISITION_TYPE),
        scanning_sequence: get_strs(o, tags::SCANNING_SEQUENCE),
        sequence_variant: get_strs(o, tags::SEQUENCE_VARIANT),
        scan_options,
        sequence_name: get_str(o, tags::SEQUENCE_NAME),
        fat_sat: false,
        contrast_agent,
        acquisition_number: get_i32(o, tags::ACQUISITION_NUMBER),
        study_date: get_str(o, tags::STUDY_DATE),
        series_date: get_str(o, tags::SERIES_DATE),
        series_time: get_str(o, tags::SERIES_TIME),
        institution_name: get_str(o, tags::INSTITUTION_NAME),
        patient_age: get_str(o, tags::PATIENT_AGE),
        kvp: get_f64(o, tags::KVP),
        convolution_kernel: get_str(o, tags::CONVOLUTION_KERNEL),
        samples_per_pixel: get_i64(o, tags::SAMPLES_PER_PIXEL)
            .and_then(|v| u16::try_from(v).ok())
            .unwrap_or(1),
        photometric_interpretation: get_str(o, tags::PHOTOMETRIC_INTERPRETATION),
        bits_allocated: get_i64(o, tags::BITS_ALLOCATED).and_then(|v| u16::try_from(v).ok()),
        ..SeriesMeta::default()
    };
    m.fat_sat = header_fat_sat_hint(&m);
    m
}

/// Fat suppression as the headers say it (scan options, sequence names); keyword hints from
/// descriptions are added by the role rules.
fn header_fat_sat_hint(m: &SeriesMeta) -> bool {
    let opt = m.scan_options.iter().any(|s| {
        let s = s.to_ascii_uppercase();
        s == "FS"
            || s.starts_with("FAT")
            || s.contains("SPIR")
            || s.contains("SPAIR")
            || s == "FSP"
            || s.contains("FAT_SAT")
            || s == "SFS"
    });
    let seq = m.sequence_name.as_deref().is_some_and(|s| {
        let s = s.to_ascii_lowercase();
        s.contains("_fs") || s.contains("fs_") || s.contains("stir") || s.contains("spair")
    });
    // STIR: inversion recovery with a short inversion time nulls fat (TI ~ 100-250 ms at 1.5-3 T).
    let stir = m.scanning_sequence.iter().any(|s| s == "IR")
        && m.inversion_time_ms
            .is_some_and(|ti| (80.0..=300.0).contains(&ti));
    opt || seq || stir
}

/// Effective echo time of an enhanced MR file (shared or first per-frame group).
fn enhanced_echo_time(o: &Obj) -> Option<f64> {
    let from = |g: &Obj| {
        first_item(g, tags::MR_ECHO_SEQUENCE).and_then(|e| get_f64(e, tags::EFFECTIVE_ECHO_TIME))
    };
    first_item(o, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(from)
        .or_else(|| first_item(o, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).and_then(from))
}

/// Geometry of every frame, and whether the frames are planar projections.
fn frame_infos(o: &Obj, meta: &SeriesMeta, n_frames: usize) -> (Vec<FrameInfo>, bool) {
    let top = FrameInfo {
        position: get_fixed::<3>(o, tags::IMAGE_POSITION_PATIENT),
        orientation: get_fixed::<6>(o, tags::IMAGE_ORIENTATION_PATIENT),
        pixel_spacing: get_fixed::<2>(o, tags::PIXEL_SPACING),
        echo_time: meta.echo_time_ms,
        temporal: get_i64(o, tags::TEMPORAL_POSITION_IDENTIFIER),
    };
    let per_frame = items(o, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    if !per_frame.is_empty() {
        // Enhanced multi-frame (PS3.3 C.7.6.16): per-frame groups override shared ones.
        let shared = first_item(o, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
        let pick = |frame: Option<&Obj>, seq: Tag, f: &dyn Fn(&Obj) -> Option<FrameVal>| {
            frame
                .and_then(|g| first_item(g, seq))
                .and_then(f)
                .or_else(|| shared.and_then(|g| first_item(g, seq)).and_then(f))
        };
        let mut out = Vec::new();
        for k in 0..n_frames {
            let g = per_frame.get(k);
            let pos = pick(g, tags::PLANE_POSITION_SEQUENCE, &|i| {
                get_fixed::<3>(i, tags::IMAGE_POSITION_PATIENT).map(FrameVal::P3)
            });
            let ori = pick(g, tags::PLANE_ORIENTATION_SEQUENCE, &|i| {
                get_fixed::<6>(i, tags::IMAGE_ORIENTATION_PATIENT).map(FrameVal::P6)
            });
            let sp = pick(g, tags::PIXEL_MEASURES_SEQUENCE, &|i| {
                get_fixed::<2>(i, tags::PIXEL_SPACING).map(FrameVal::P2)
            });
            let te = pick(g, tags::MR_ECHO_SEQUENCE, &|i| {
                get_f64(i, tags::EFFECTIVE_ECHO_TIME).map(FrameVal::F)
            });
            let tp = pick(g, tags::FRAME_CONTENT_SEQUENCE, &|i| {
                get_i64(i, tags::TEMPORAL_POSITION_INDEX).map(FrameVal::I)
            });
            out.push(FrameInfo {
                position: pos.and_then(FrameVal::p3),
                orientation: ori.and_then(FrameVal::p6),
                pixel_spacing: sp.and_then(FrameVal::p2).or(top.pixel_spacing),
                echo_time: te.and_then(FrameVal::f).or(top.echo_time),
                temporal: tp.and_then(FrameVal::i),
            });
        }
        return (out, false);
    }
    if meta.modality == "NM" {
        let det = first_item(o, tags::DETECTOR_INFORMATION_SEQUENCE);
        let nm_type = get_strs(o, tags::IMAGE_TYPE)
            .get(2)
            .map(|s| s.to_ascii_uppercase());
        if nm_type.as_deref() == Some("RECON TOMO") {
            // Reconstructed slices: geometry in the Detector Information Sequence, slices along
            // the normal, Spacing Between Slices apart (PS3.3 C.8.4.15).
            let ipp = top
                .position
                .or_else(|| det.and_then(|d| get_fixed::<3>(d, tags::IMAGE_POSITION_PATIENT)));
            let iop = top
                .orientation
                .or_else(|| det.and_then(|d| get_fixed::<6>(d, tags::IMAGE_ORIENTATION_PATIENT)));
            let step = meta
                .spacing_between_slices_mm
                .or(meta.slice_thickness_mm)
                .filter(|s| *s > 0.0);
            if let (Some(p), Some(iop), Some(step)) = (ipp, iop, step)
                && let Ok(n) = csfleak_volume::orientation_normal(iop)
            {
                let frames = (0..n_frames)
                    .map(|k| FrameInfo {
                        position: Some([
                            p[0] + n.x * step * k as f64,
                            p[1] + n.y * step * k as f64,
                            p[2] + n.z * step * k as f64,
                        ]),
                        orientation: Some(iop),
                        ..top
                    })
                    .collect();
                return (frames, false);
            }
        }
        return (vec![top; n_frames], true);
    }
    if n_frames > 1 {
        // Legacy multi-frame without per-frame geometry (US cine, SC, XA): projections.
        return (vec![top; n_frames], true);
    }
    (vec![top], false)
}

/// A value picked from a functional group.
#[derive(Clone, Copy)]
enum FrameVal {
    P2([f64; 2]),
    P3([f64; 3]),
    P6([f64; 6]),
    F(f64),
    I(i64),
}

impl FrameVal {
    fn p2(self) -> Option<[f64; 2]> {
        if let Self::P2(v) = self {
            Some(v)
        } else {
            None
        }
    }
    fn p3(self) -> Option<[f64; 3]> {
        if let Self::P3(v) = self {
            Some(v)
        } else {
            None
        }
    }
    fn p6(self) -> Option<[f64; 6]> {
        if let Self::P6(v) = self {
            Some(v)
        } else {
            None
        }
    }
    fn f(self) -> Option<f64> {
        if let Self::F(v) = self { Some(v) } else { None }
    }
    fn i(self) -> Option<i64> {
        if let Self::I(v) = self { Some(v) } else { None }
    }
}

/// The keyword of an NM frame-vector tag (or the tag as `(gggg,eeee)`).
fn tag_keyword(t: Tag) -> String {
    match t {
        tags::DETECTOR_VECTOR => "DetectorVector".into(),
        tags::ENERGY_WINDOW_VECTOR => "EnergyWindowVector".into(),
        tags::TIME_SLOT_VECTOR => "TimeSlotVector".into(),
        tags::PHASE_VECTOR => "PhaseVector".into(),
        tags::ROTATION_VECTOR => "RotationVector".into(),
        tags::SLICE_VECTOR => "SliceVector".into(),
        tags::RR_INTERVAL_VECTOR => "RRIntervalVector".into(),
        tags::ANGULAR_VIEW_VECTOR => "AngularViewVector".into(),
        tags::TIME_SLICE_VECTOR => "TimeSliceVector".into(),
        _ => format!("({:04X},{:04X})", t.group(), t.element()),
    }
}

/// NM specifics: frame vectors mapped through the Frame Increment Pointer, detectors, timing.
fn read_nm(o: &Obj, n_frames: usize, rel: &Path, flags: &mut Vec<QualityFlag>) -> NmMeta {
    let fip = get_tags(o, tags::FRAME_INCREMENT_POINTER);
    let mut bad: Vec<String> = Vec::new();
    let mut vec_of = |t: Tag| -> Option<Vec<u16>> {
        // Only vectors named by the Frame Increment Pointer index the frames (PS3.3 C.8.4.8);
        // a missing vector or one with the wrong length is reported, not trusted.
        if !fip.contains(&t) {
            return None;
        }
        match get_u16s(o, t) {
            Some(v) if v.len() == n_frames => Some(v),
            Some(v) => {
                bad.push(format!("{} has {} values", tag_keyword(t), v.len()));
                None
            }
            None => {
                bad.push(format!("{} is missing", tag_keyword(t)));
                None
            }
        }
    };
    let det = vec_of(tags::DETECTOR_VECTOR);
    let ew = vec_of(tags::ENERGY_WINDOW_VECTOR);
    let ts = vec_of(tags::TIME_SLOT_VECTOR);
    let ph = vec_of(tags::PHASE_VECTOR);
    let rot = vec_of(tags::ROTATION_VECTOR);
    let sl = vec_of(tags::SLICE_VECTOR);
    if !bad.is_empty() {
        flags.push(QualityFlag::new(
            "nm_frame_vector",
            format!(
                "Frame Increment Pointer names vectors that do not match the {n_frames} frame(s): {}; those frame attributes are left unknown",
                bad.join(", ")
            ),
            vec![rel.to_path_buf()],
        ));
    }
    let at = |v: &Option<Vec<u16>>, k: usize| v.as_ref().and_then(|v| v.get(k).copied());
    let frames = if fip.is_empty() {
        Vec::new()
    } else {
        (0..n_frames)
            .map(|k| NmFrame {
                detector: at(&det, k),
                energy_window: at(&ew, k),
                time_slot: at(&ts, k),
                phase: at(&ph, k),
                rotation: at(&rot, k),
                slice: at(&sl, k),
            })
            .collect()
    };
    let detectors = items(o, tags::DETECTOR_INFORMATION_SEQUENCE)
        .iter()
        .map(|d| {
            let view = first_item(d, tags::VIEW_CODE_SEQUENCE);
            NmDetector {
                view: view.and_then(|v| get_str(v, tags::CODE_MEANING)),
                view_code: view.and_then(|v| get_str(v, tags::CODE_VALUE)),
                image_position: get_fixed::<3>(d, tags::IMAGE_POSITION_PATIENT),
                image_orientation: get_fixed::<6>(d, tags::IMAGE_ORIENTATION_PATIENT),
            }
        })
        .collect();
    let energy_windows = items(o, tags::ENERGY_WINDOW_INFORMATION_SEQUENCE)
        .iter()
        .map(|w| {
            let range = first_item(w, tags::ENERGY_WINDOW_RANGE_SEQUENCE);
            NmEnergyWindow {
                name: get_str(w, tags::ENERGY_WINDOW_NAME),
                lower_kev: range.and_then(|r| get_f64(r, tags::ENERGY_WINDOW_LOWER_LIMIT)),
                upper_kev: range.and_then(|r| get_f64(r, tags::ENERGY_WINDOW_UPPER_LIMIT)),
            }
        })
        .collect();
    let rp = first_item(o, tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE);
    let start = rp.and_then(|r| {
        get_str(r, tags::RADIOPHARMACEUTICAL_START_DATE_TIME).or_else(|| {
            let t = get_str(r, tags::RADIOPHARMACEUTICAL_START_TIME)?;
            // Without a start date, the acquisition (or study) date is the customary fallback.
            match get_str(o, tags::ACQUISITION_DATE).or_else(|| get_str(o, tags::STUDY_DATE)) {
                Some(d) => Some(format!("{d}{t}")),
                None => Some(t),
            }
        })
    });
    NmMeta {
        nm_image_type: get_strs(o, tags::IMAGE_TYPE)
            .get(2)
            .map(|s| s.to_ascii_uppercase()),
        frame_increment_pointer: fip.iter().map(|t| tag_keyword(*t)).collect(),
        frames,
        detectors,
        energy_windows,
        radiopharmaceutical: rp.and_then(|r| get_str(r, tags::RADIOPHARMACEUTICAL)),
        radionuclide: rp
            .and_then(|r| first_item(r, tags::RADIONUCLIDE_CODE_SEQUENCE))
            .and_then(|c| get_str(c, tags::CODE_MEANING)),
        radionuclide_half_life_s: rp.and_then(|r| get_f64(r, tags::RADIONUCLIDE_HALF_LIFE)),
        radiopharmaceutical_start_datetime: start,
        acquisition_date: get_str(o, tags::ACQUISITION_DATE),
        acquisition_time: get_str(o, tags::ACQUISITION_TIME),
        actual_frame_duration_ms: get_f64(o, tags::ACTUAL_FRAME_DURATION),
        scan_velocity_mm_per_s: get_f64(o, tags::SCAN_VELOCITY),
        scan_length_mm: get_f64(o, tags::SCAN_LENGTH),
        whole_body_technique: get_strs(o, tags::WHOLE_BODY_TECHNIQUE),
    }
}
