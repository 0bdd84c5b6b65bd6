//! NM Image Storage writer for planar cisternography acquisitions.
//!
//! One instance per time point, in its own series: a multi-frame image whose frames are the
//! detectors (frame 1 = detector 1 = anterior, frame 2 = detector 2 = posterior), as a
//! dual-head camera stores a whole-body or static acquisition (PS3.3 C.8.4.8: Frame Increment
//! Pointer = Energy Window Vector \ Detector Vector). The planar geometry of each frame is in
//! Detector Information Sequence (Image Position/Orientation (Patient), View Code Sequence),
//! the tracer in Radiopharmaceutical Information Sequence (start date-time, In-111 code,
//! half-life, total dose in `MBq`), the In-111 photopeak windows (171 and 245 keV, ±10 %) in
//! Energy Window Information Sequence. Pixels are unsigned 16-bit counts, no rescale (the NM
//! IOD has none).

use std::path::{Path, PathBuf};

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;

use super::{AcquisitionMode, CisternoStudy, IN111_HALF_LIFE_S, LateralSide, View};
use crate::error::{Result, invalid};
use crate::study::{StudyContext, Vendor, hash64};
use crate::writer::{
    Compression, SeriesTruth, ds, ds_multi, put, put_grey16_pixel_module, write_with_study,
};

fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

fn strs(values: &[&str]) -> PrimitiveValue {
    PrimitiveValue::Strs(values.iter().map(|s| (*s).to_owned()).collect())
}

fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    let mut c = InMemDicomObject::new_empty();
    put(&mut c, tags::CODE_VALUE, VR::SH, value);
    put(&mut c, tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme);
    put(&mut c, tags::CODE_MEANING, VR::LO, meaning);
    c
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// `(YYYYMMDD, HHMMSS)` of a DICOM date and time shifted by whole seconds.
pub(crate) fn shift_date_time(date: &str, time: &str, seconds: i64) -> Result<(String, String)> {
    let num = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| invalid("study date/time is not numeric"))
    };
    if date.len() != 8 || time.len() < 6 {
        return Err(invalid("study date must be YYYYMMDD and time HHMMSS"));
    }
    let days = days_from_civil(num(&date[..4])?, num(&date[4..6])?, num(&date[6..8])?);
    let secs = num(&time[..2])? * 3600 + num(&time[2..4])? * 60 + num(&time[4..6])?;
    let total = days * 86_400 + secs + seconds;
    let (y, m, d) = civil_from_days(total.div_euclid(86_400));
    let s = total.rem_euclid(86_400);
    Ok((
        format!("{y:04}{m:02}{d:02}"),
        format!("{:02}{:02}{:02}", s / 3600, (s / 60) % 60, s % 60),
    ))
}

/// Whole seconds of `hours`, rounded.
fn seconds_of(hours: f64) -> i64 {
    let s = (hours * 3600.0).round();
    #[allow(
        clippy::cast_possible_truncation,
        reason = "time points are validated finite and a few days at most"
    )]
    let v = s.clamp(-1.0e12, 1.0e12) as i64;
    v
}

/// Series key of a time point (UIDs and file names derive from it).
pub fn series_key(study: &CisternoStudy, index: usize) -> String {
    let mode = match study.options.mode {
        AcquisitionMode::WholeBody => "wb",
        AcquisitionMode::Spot => "spot",
    };
    let minutes = seconds_of(study.time_points.get(index).map_or(0.0, |t| t.hours)) / 60;
    format!("cisterno/{mode}/{minutes:05}min")
}

/// Write time point `index` of `study` as one NM multi-frame file in `dir`.
///
/// `compression` may be [`Compression::None`] or [`Compression::Deflate`]. Returns the path
/// and the truth entry of the series.
pub fn write_time_point(
    dir: &Path,
    ctx: &StudyContext,
    study: &CisternoStudy,
    index: usize,
    series_number: u32,
    vendor: Vendor,
    compression: Compression,
) -> Result<(PathBuf, SeriesTruth)> {
    if compression == Compression::Rle {
        return Err(invalid(
            "NM phantoms are written uncompressed or deflated, not RLE",
        ));
    }
    let tp = study
        .time_points
        .get(index)
        .ok_or_else(|| invalid(format!("no cisternography time point {index}")))?;
    let g = &study.grid;
    let rows = u16::try_from(g.rows).map_err(|_| invalid("more than 65535 rows"))?;
    let cols = u16::try_from(g.cols).map_err(|_| invalid("more than 65535 columns"))?;
    let key = series_key(study, index);
    let series_uid = ctx.uid(&format!("series/{key}"));
    let whole_body = study.options.mode == AcquisitionMode::WholeBody;
    let hours_label = if tp.hours.fract() == 0.0 {
        format!("{:.0}h", tp.hours)
    } else {
        format!("{:.1}h", tp.hours)
    };
    let description = if whole_body {
        format!("RI CISTERNO WB ANT/POST {hours_label}")
    } else {
        format!("RI CISTERNO STATIC ANT/POST {hours_label}")
    };
    let (acq_date, acq_time) =
        shift_date_time(&ctx.study_date, &ctx.study_time, seconds_of(tp.hours))?;

    let kind = if whole_body { "WHOLE BODY" } else { "STATIC" };
    let mut o = base_object(
        ctx,
        &key,
        &series_uid,
        series_number,
        &description,
        kind,
        (&acq_date, &acq_time),
    );

    // NM Image module.
    let frame_ms = (study.frame_duration_s * 1000.0).round();
    put(
        &mut o,
        tags::ACTUAL_FRAME_DURATION,
        VR::IS,
        format!("{frame_ms:.0}"),
    );
    let total: u64 = tp
        .counts
        .iter()
        .flat_map(|f| f.iter().map(|&c| u64::from(c)))
        .sum();
    put(&mut o, tags::COUNTS_ACCUMULATED, VR::IS, total.to_string());
    put(
        &mut o,
        tags::ACQUISITION_TERMINATION_CONDITION,
        VR::CS,
        "TIME",
    );
    put(&mut o, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    if whole_body {
        put(
            &mut o,
            tags::SCAN_VELOCITY,
            VR::DS,
            ds(study.options.scan_velocity_mm_s),
        );
        put(&mut o, tags::WHOLE_BODY_TECHNIQUE, VR::CS, "1PS");
        put(
            &mut o,
            tags::SCAN_LENGTH,
            VR::IS,
            format!("{:.0}", study.scan_length_mm),
        );
    }

    // NM Multi-frame module.
    put(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, "2");
    put(
        &mut o,
        tags::FRAME_INCREMENT_POINTER,
        VR::AT,
        PrimitiveValue::Tags(
            [tags::ENERGY_WINDOW_VECTOR, tags::DETECTOR_VECTOR]
                .into_iter()
                .collect(),
        ),
    );
    put(
        &mut o,
        tags::ENERGY_WINDOW_VECTOR,
        VR::US,
        PrimitiveValue::U16([1_u16, 1].into_iter().collect()),
    );
    put(
        &mut o,
        tags::NUMBER_OF_ENERGY_WINDOWS,
        VR::US,
        PrimitiveValue::from(1_u16),
    );
    put(
        &mut o,
        tags::DETECTOR_VECTOR,
        VR::US,
        PrimitiveValue::U16([1_u16, 2].into_iter().collect()),
    );
    put(
        &mut o,
        tags::NUMBER_OF_DETECTORS,
        VR::US,
        PrimitiveValue::from(2_u16),
    );

    isotope_module(&mut o, ctx, study);

    // NM Detector module: one item per detector, with the planar geometry of its frame.
    let detectors = View::BOTH
        .iter()
        .map(|&view| {
            let mut d = InMemDicomObject::new_empty();
            put(&mut d, tags::COLLIMATOR_GRID_NAME, VR::SH, "MEGP");
            put(&mut d, tags::COLLIMATOR_TYPE, VR::CS, "PARA");
            put(&mut d, tags::FIELD_OF_VIEW_SHAPE, VR::CS, "RECTANGLE");
            put(
                &mut d,
                tags::FIELD_OF_VIEW_DIMENSIONS,
                VR::IS,
                strs(&["533", "387"]),
            );
            put(&mut d, tags::FOCAL_DISTANCE, VR::IS, PrimitiveValue::Empty);
            put(&mut d, tags::ZOOM_FACTOR, VR::DS, strs(&["1", "1"]));
            let angle = match view {
                View::Anterior => "0",
                View::Posterior => "180",
            };
            put(&mut d, tags::START_ANGLE, VR::DS, angle);
            put(
                &mut d,
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                ds_multi(&g.position(view)),
            );
            put(
                &mut d,
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                ds_multi(&g.orientation(view)),
            );
            let view_code = match view {
                View::Anterior => code("399321004", "SCT", "Anterior projection"),
                View::Posterior => code("399001007", "SCT", "Posterior projection"),
            };
            put_seq(&mut d, tags::VIEW_CODE_SEQUENCE, vec![view_code]);
            d
        })
        .collect();
    put_seq(&mut o, tags::DETECTOR_INFORMATION_SEQUENCE, detectors);

    // NM Image Pixel + Image Pixel.
    put_pixels(
        &mut o,
        (rows, cols),
        g.pixel_mm,
        tp.counts.iter().flat_map(|f| f.iter().copied()).collect(),
    );
    let path = write_instance(o, dir, &series_uid, ctx, vendor, compression)?;
    let truth = SeriesTruth::new(
        series_uid,
        series_number,
        "NM",
        "ri_cisternography",
        &description,
        1,
        [g.cols, g.rows, 2],
        [g.pixel_mm, g.pixel_mm, 0.0],
    )
    .with_extra(serde_json::json!({
        "hours": tp.hours,
        "frames": ["anterior", "posterior"],
        "image_type": kind,
        "actual_frame_duration_s": study.frame_duration_s,
        "exposure_per_point_s": study.exposure_s,
        "acquisition_date": acq_date,
        "acquisition_time": acq_time,
    }));
    Ok((path, truth))
}

/// Write lateral view `index` of `study` as a one-detector static NM instance in its own
/// series (View Code: left or right lateral projection; the detector's Image Orientation runs
/// the columns along the patient's antero-posterior axis).
///
/// Returns the path and the truth entry of the series.
pub fn write_lateral(
    dir: &Path,
    ctx: &StudyContext,
    study: &CisternoStudy,
    index: usize,
    series_number: u32,
    vendor: Vendor,
    compression: Compression,
) -> Result<(PathBuf, SeriesTruth)> {
    if compression == Compression::Rle {
        return Err(invalid(
            "NM phantoms are written uncompressed or deflated, not RLE",
        ));
    }
    let l = study
        .laterals
        .get(index)
        .ok_or_else(|| invalid(format!("no cisternography lateral view {index}")))?;
    let g = &l.grid;
    let rows = u16::try_from(g.rows).map_err(|_| invalid("more than 65535 rows"))?;
    let cols = u16::try_from(g.cols).map_err(|_| invalid("more than 65535 columns"))?;
    let minutes = seconds_of(l.hours) / 60;
    let key = format!("cisterno/lateral/{}/{minutes:05}min", l.side.as_str());
    let series_uid = ctx.uid(&format!("series/{key}"));
    let side = match l.side {
        LateralSide::Left => "LT",
        LateralSide::Right => "RT",
    };
    let description = format!("RI CISTERNO STATIC {side} LAT {:.1}h", l.hours);
    let (acq_date, acq_time) =
        shift_date_time(&ctx.study_date, &ctx.study_time, seconds_of(l.hours))?;
    let mut o = base_object(
        ctx,
        &key,
        &series_uid,
        series_number,
        &description,
        "STATIC",
        (&acq_date, &acq_time),
    );
    let duration = study.options.spot_duration_s;
    put(
        &mut o,
        tags::ACTUAL_FRAME_DURATION,
        VR::IS,
        format!("{:.0}", (duration * 1000.0).round()),
    );
    let total: u64 = l.counts.iter().map(|&c| u64::from(c)).sum();
    put(&mut o, tags::COUNTS_ACCUMULATED, VR::IS, total.to_string());
    put(
        &mut o,
        tags::ACQUISITION_TERMINATION_CONDITION,
        VR::CS,
        "TIME",
    );
    put(&mut o, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    put(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, "1");
    put(
        &mut o,
        tags::FRAME_INCREMENT_POINTER,
        VR::AT,
        PrimitiveValue::Tags(
            [tags::ENERGY_WINDOW_VECTOR, tags::DETECTOR_VECTOR]
                .into_iter()
                .collect(),
        ),
    );
    put(
        &mut o,
        tags::ENERGY_WINDOW_VECTOR,
        VR::US,
        PrimitiveValue::from(1_u16),
    );
    put(
        &mut o,
        tags::NUMBER_OF_ENERGY_WINDOWS,
        VR::US,
        PrimitiveValue::from(1_u16),
    );
    put(
        &mut o,
        tags::DETECTOR_VECTOR,
        VR::US,
        PrimitiveValue::from(1_u16),
    );
    put(
        &mut o,
        tags::NUMBER_OF_DETECTORS,
        VR::US,
        PrimitiveValue::from(1_u16),
    );
    isotope_module(&mut o, ctx, study);
    let mut d = InMemDicomObject::new_empty();
    put(&mut d, tags::COLLIMATOR_GRID_NAME, VR::SH, "MEGP");
    put(&mut d, tags::COLLIMATOR_TYPE, VR::CS, "PARA");
    let angle = match l.side {
        LateralSide::Left => "90",
        LateralSide::Right => "270",
    };
    put(&mut d, tags::START_ANGLE, VR::DS, angle);
    put(
        &mut d,
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        ds_multi(&l.side.position(g)),
    );
    put(
        &mut d,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        ds_multi(&l.side.orientation()),
    );
    let view_code = match l.side {
        LateralSide::Left => code("399173006", "SCT", "left lateral projection"),
        LateralSide::Right => code("399198007", "SCT", "right lateral projection"),
    };
    put_seq(&mut d, tags::VIEW_CODE_SEQUENCE, vec![view_code]);
    put_seq(&mut o, tags::DETECTOR_INFORMATION_SEQUENCE, vec![d]);
    put_pixels(
        &mut o,
        (rows, cols),
        g.pixel_mm,
        l.counts.iter().copied().collect(),
    );
    let path = write_instance(o, dir, &series_uid, ctx, vendor, compression)?;
    let truth = SeriesTruth::new(
        series_uid,
        series_number,
        "NM",
        "ri_cisternography",
        &description,
        1,
        [g.cols, g.rows, 1],
        [g.pixel_mm, g.pixel_mm, 0.0],
    )
    .with_extra(serde_json::json!({
        "hours": l.hours,
        "frames": [format!("{}_lateral", l.side.as_str())],
        "image_type": "STATIC",
        "actual_frame_duration_s": duration,
        "acquisition_date": acq_date,
        "acquisition_time": acq_time,
    }));
    Ok((path, truth))
}

/// The grey 16-bit image pixel module and the pixel data (frames one after another).
fn put_pixels(
    o: &mut InMemDicomObject,
    (rows, cols): (u16, u16),
    pixel_mm: f64,
    pixels: dicom_core::value::C<u16>,
) {
    put_grey16_pixel_module(o, rows, cols, false, [pixel_mm, pixel_mm]);
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(pixels),
    ));
}

/// Write the series' one instance into `dir` under a name derived from the series UID.
fn write_instance(
    o: InMemDicomObject,
    dir: &Path,
    series_uid: &str,
    ctx: &StudyContext,
    vendor: Vendor,
    compression: Compression,
) -> Result<PathBuf> {
    let name = format!(
        "{:08X}",
        hash64(ctx.seed, &format!("file/{series_uid}/0")) >> 32
    );
    let path = dir.join(name);
    write_with_study(o, ctx, vendor, compression, &path)?;
    Ok(path)
}

/// The object with every module shared by the planar series of a study (SOP common, general
/// series and equipment, dates and times, frame of reference, patient orientation).
fn base_object(
    ctx: &StudyContext,
    key: &str,
    series_uid: &str,
    series_number: u32,
    description: &str,
    kind: &str,
    (acq_date, acq_time): (&str, &str),
) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    put(
        &mut o,
        tags::SOP_CLASS_UID,
        VR::UI,
        uids::NUCLEAR_MEDICINE_IMAGE_STORAGE,
    );
    put(
        &mut o,
        tags::SOP_INSTANCE_UID,
        VR::UI,
        ctx.uid(&format!("series/{key}/instance/0")),
    );
    put(
        &mut o,
        tags::IMAGE_TYPE,
        VR::CS,
        strs(&["ORIGINAL", "PRIMARY", kind, "EMISSION"]),
    );
    put(&mut o, tags::MODALITY, VR::CS, "NM");
    put(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, series_uid);
    put(
        &mut o,
        tags::SERIES_NUMBER,
        VR::IS,
        series_number.to_string(),
    );
    put(&mut o, tags::SERIES_DESCRIPTION, VR::LO, description);
    put(
        &mut o,
        tags::PROTOCOL_NAME,
        VR::LO,
        "RI CISTERNOGRAPHY In-111",
    );
    for (date_tag, time_tag) in [
        (tags::SERIES_DATE, tags::SERIES_TIME),
        (tags::ACQUISITION_DATE, tags::ACQUISITION_TIME),
        (tags::CONTENT_DATE, tags::CONTENT_TIME),
    ] {
        put(&mut o, date_tag, VR::DA, acq_date);
        put(&mut o, time_tag, VR::TM, acq_time);
    }
    put(
        &mut o,
        tags::MANUFACTURER_MODEL_NAME,
        VR::LO,
        "Dual-head SPECT camera",
    );
    put(&mut o, tags::STATION_NAME, VR::SH, "NMCAM01");
    put(
        &mut o,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        concat!("csfleak-phantom ", env!("CARGO_PKG_VERSION")),
    );
    put(&mut o, tags::INSTANCE_NUMBER, VR::IS, "1");
    put(
        &mut o,
        tags::PATIENT_ORIENTATION,
        VR::CS,
        PrimitiveValue::Empty,
    );
    put(
        &mut o,
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        ctx.uid("frame_of_reference/cisterno"),
    );
    put(
        &mut o,
        tags::POSITION_REFERENCE_INDICATOR,
        VR::LO,
        PrimitiveValue::Empty,
    );

    // NM/PET Patient Orientation: recumbent, supine, head first (CID 19, 20, 21).
    put(&mut o, tags::LATERALITY, VR::CS, PrimitiveValue::Empty);
    let mut orient = code("102538003", "SCT", "recumbent");
    put_seq(
        &mut orient,
        tags::PATIENT_ORIENTATION_MODIFIER_CODE_SEQUENCE,
        vec![code("40199007", "SCT", "supine")],
    );
    put_seq(
        &mut o,
        tags::PATIENT_ORIENTATION_CODE_SEQUENCE,
        vec![orient],
    );
    put_seq(
        &mut o,
        tags::PATIENT_GANTRY_RELATIONSHIP_CODE_SEQUENCE,
        vec![code("102540008", "SCT", "headfirst")],
    );
    put_seq(&mut o, tags::ACQUISITION_CONTEXT_SEQUENCE, Vec::new());

    o
}

/// NM Isotope module: the In-111 photopeak windows and the radiopharmaceutical.
fn isotope_module(o: &mut InMemDicomObject, ctx: &StudyContext, study: &CisternoStudy) {
    let mut window = InMemDicomObject::new_empty();
    let ranges = [(154.2, 188.4), (220.9, 269.9)]
        .into_iter()
        .map(|(lo, hi)| {
            let mut r = InMemDicomObject::new_empty();
            put(&mut r, tags::ENERGY_WINDOW_LOWER_LIMIT, VR::DS, ds(lo));
            put(&mut r, tags::ENERGY_WINDOW_UPPER_LIMIT, VR::DS, ds(hi));
            r
        })
        .collect();
    put_seq(&mut window, tags::ENERGY_WINDOW_RANGE_SEQUENCE, ranges);
    put(
        &mut window,
        tags::ENERGY_WINDOW_NAME,
        VR::SH,
        "In111 171+245",
    );
    put_seq(o, tags::ENERGY_WINDOW_INFORMATION_SEQUENCE, vec![window]);
    let mut rp = InMemDicomObject::new_empty();
    put(
        &mut rp,
        tags::RADIOPHARMACEUTICAL_ROUTE,
        VR::LO,
        "Intrathecal",
    );
    put(
        &mut rp,
        tags::RADIOPHARMACEUTICAL_START_TIME,
        VR::TM,
        ctx.study_time.as_str(),
    );
    put(
        &mut rp,
        tags::RADIOPHARMACEUTICAL_START_DATE_TIME,
        VR::DT,
        format!("{}{}", ctx.study_date, ctx.study_time),
    );
    put(
        &mut rp,
        tags::RADIONUCLIDE_TOTAL_DOSE,
        VR::DS,
        ds(study.options.administered_mbq),
    );
    put(
        &mut rp,
        tags::RADIONUCLIDE_HALF_LIFE,
        VR::DS,
        ds(IN111_HALF_LIFE_S),
    );
    put(&mut rp, tags::RADIOPHARMACEUTICAL, VR::LO, "In-111 DTPA");
    put_seq(
        &mut rp,
        tags::RADIONUCLIDE_CODE_SEQUENCE,
        vec![code("56609000", "SCT", "^111^Indium")],
    );
    put_seq(o, tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE, vec![rp]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_shift_crosses_midnight_and_month_ends() {
        assert_eq!(
            shift_date_time("20260228", "093000", 24 * 3600).unwrap(),
            ("20260301".to_owned(), "093000".to_owned())
        );
        assert_eq!(
            shift_date_time("20261231", "230000", 3 * 3600 + 61).unwrap(),
            ("20270101".to_owned(), "020101".to_owned())
        );
        assert_eq!(
            shift_date_time("20240228", "120000", 86_400).unwrap().0,
            "20240229"
        );
        assert!(shift_date_time("2026", "1200", 0).is_err());
    }
}
