//! Adapter: loaded NM series -> [`csfleak_cisterno::CisternoInput`].
//!
//! * Time of each acquisition = Acquisition Date/Time (Series Date/Time when absent) minus the
//!   Radiopharmaceutical Start `DateTime`; never from series names.
//! * View from the detector's View Code Sequence meaning (`anterior`, `posterior`, `lateral`),
//!   else from the detector's Image Orientation (Patient); frames of several energy windows of
//!   one detector are summed.
//! * Layout (which way columns and rows run in the patient) from the detector's Image
//!   Orientation (Patient) when given.
//! * Counts are divided by Actual Frame Duration later, in the analysis.
//! * Half-life from Radionuclide Half Life, else In-111 (2.8047 d) with a note.
//!
//! Anything that makes the examination unreadable (no start time, no planar NM frames) comes
//! back as a [`NotAssessable`] reason, never as a guessed time.

use csfleak_cisterno::{
    Analysis, CisternoInput, CisternoOptions, Frame, IN111_HALF_LIFE_S, ViewKind, analyze,
};
use csfleak_dicom::{LoadedSeries, NmMeta, SeriesData, SeriesMeta};
use csfleak_findings::{Cisternography, Evidence, Side};
use ndarray::Array2;

/// Why cisternography cannot be analysed from these series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAssessable {
    /// The reason, written into `cisternography.reason`.
    pub reason: String,
}

fn na(reason: impl Into<String>) -> NotAssessable {
    NotAssessable {
        reason: reason.into(),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since midnight of a DICOM TM (`HHMMSS.FFFFFF`, `HHMM`, `HH`, or with colons).
fn parse_tm(tm: &str) -> Option<f64> {
    let t: String = tm.trim().chars().filter(|c| *c != ':').collect();
    let (main, frac) = t.split_once('.').unwrap_or((&t, ""));
    if main.len() < 2 || !main.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let part = |a: usize| {
        main.get(a..a + 2)
            .map_or(Some(0), |s| s.parse::<u32>().ok())
    };
    let (h, m, s) = (part(0)?, part(2)?, part(4)?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let f = if frac.is_empty() {
        0.0
    } else {
        format!("0.{frac}").parse::<f64>().ok()?
    };
    Some(f64::from(h * 3600 + m * 60 + s) + f)
}

/// Seconds since the epoch of a DICOM DA (`YYYYMMDD`) plus TM.
fn parse_da_tm(da: &str, tm: &str) -> Option<f64> {
    let d: String = da.trim().chars().filter(char::is_ascii_digit).collect();
    if d.len() != 8 {
        return None;
    }
    let y: i64 = d[..4].parse().ok()?;
    let m: i64 = d[4..6].parse().ok()?;
    let day: i64 = d[6..8].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    #[allow(
        clippy::cast_precision_loss,
        reason = "day counts of real dates are far below 2^53"
    )]
    let days = days_from_civil(y, m, day) as f64;
    Some(days * 86_400.0 + parse_tm(tm)?)
}

/// Seconds since the epoch of a DICOM DT (`YYYYMMDDHHMMSS.FFFFFF&ZZXX`; the offset is
/// dropped: both times come from one scanner).
fn parse_dt(dt: &str) -> Option<f64> {
    let t = dt.trim();
    let t = t.split(['+', '-']).next().unwrap_or(t);
    if t.len() < 8 {
        return None;
    }
    let (da, tm) = t.split_at(8);
    parse_da_tm(da, if tm.is_empty() { "00" } else { tm })
}

/// Seconds since the epoch of the acquisition, with what it was read from.
fn acquisition_s(meta: &SeriesMeta, nm: &NmMeta) -> Option<f64> {
    let date = nm
        .acquisition_date
        .as_deref()
        .or(meta.series_date.as_deref())
        .or(meta.study_date.as_deref())?;
    let time = nm
        .acquisition_time
        .as_deref()
        .or(meta.series_time.as_deref())?;
    parse_da_tm(date, time)
}

/// Hours from the radiopharmaceutical start to the acquisition of one NM series.
fn hours_after_injection(meta: &SeriesMeta, nm: &NmMeta) -> Result<f64, NotAssessable> {
    let label = series_label(meta);
    let start_text = nm.radiopharmaceutical_start_datetime.as_deref().ok_or_else(|| {
        na(format!(
            "missing radiopharmaceutical start time (0018,1078/1072) in {label}: the time after \
             injection is unknown"
        ))
    })?;
    let acq = acquisition_s(meta, nm).ok_or_else(|| {
        na(format!(
            "missing or unreadable acquisition date/time in {label}: the time after injection is \
             unknown"
        ))
    })?;
    // A DT has at least a date; a bare TM (6 digits, optional fraction) is taken on the
    // acquisition date.
    let digits = start_text.split('.').next().unwrap_or("").trim().len();
    let start = if digits >= 8 {
        parse_dt(start_text)
    } else {
        let date = nm
            .acquisition_date
            .as_deref()
            .or(meta.series_date.as_deref())
            .unwrap_or("");
        parse_da_tm(date, start_text)
    }
    .ok_or_else(|| {
        na(format!(
            "unreadable radiopharmaceutical start time in {label}"
        ))
    })?;
    let hours = (acq - start) / 3600.0;
    if !(hours.is_finite() && hours >= -0.1) {
        return Err(na(format!(
            "acquisition before the radiopharmaceutical start in {label}"
        )));
    }
    Ok(hours.max(0.0))
}

fn series_label(meta: &SeriesMeta) -> String {
    meta.series_number
        .map_or_else(|| "an NM series".to_owned(), |n| format!("series #{n}"))
}

/// View of a detector from its View Code meaning, else from its orientation.
fn view_of(nm: &NmMeta, detector: Option<u16>) -> Option<ViewKind> {
    let d = nm
        .detectors
        .get(usize::from(detector.unwrap_or(1).max(1)) - 1)?;
    let from_orientation = d.image_orientation.and_then(|o| {
        // Frame normal = row direction x column direction: anterior detectors give +y (the
        // image seen from the front), posterior ones -y.
        let n = [
            o[1] * o[5] - o[2] * o[4],
            o[2] * o[3] - o[0] * o[5],
            o[0] * o[4] - o[1] * o[3],
        ];
        if n[0].abs() > n[1].abs() {
            Some(ViewKind::Lateral)
        } else if n[1] > 0.0 {
            Some(ViewKind::Anterior)
        } else if n[1] < 0.0 {
            Some(ViewKind::Posterior)
        } else {
            None
        }
    });
    if let Some(v) = d.view.as_deref() {
        let v = v.to_ascii_lowercase();
        if v.contains("lateral") || v.contains("left") || v.contains("right") {
            return Some(ViewKind::Lateral);
        }
        let (ant, post) = (v.contains("ant"), v.contains("post"));
        if ant && post {
            // "antero-posterior" / "postero-anterior projection" (SNOMED CT 399348003,
            // 272479007): the first word names the detector side (the nuclear-medicine
            // reading: "antero-posterior" = the anterior view). The orientation cannot decide:
            // a posterior image may be stored mirrored to the anterior layout.
            return Some(if v.find("ant") < v.find("post") {
                ViewKind::Anterior
            } else {
                ViewKind::Posterior
            });
        }
        if ant {
            return Some(ViewKind::Anterior);
        }
        if post {
            return Some(ViewKind::Posterior);
        }
    }
    from_orientation
}

/// The patient side facing the detector of a lateral view, from the View Code meaning
/// ("left lateral", "right lateral"); `None` when the code does not say (the orientation alone
/// does not tell which side a lateral detector faced in every vendor's convention).
fn lateral_side(nm: &NmMeta, detector: Option<u16>) -> Option<Side> {
    let d = nm
        .detectors
        .get(usize::from(detector.unwrap_or(1).max(1)) - 1)?;
    if let Some(v) = d.view.as_deref() {
        let v = v.to_ascii_lowercase();
        if v.contains("left") {
            return Some(Side::Left);
        }
        if v.contains("right") {
            return Some(Side::Right);
        }
    }
    None
}

/// A frame with where its first row lies in the patient (for stitching spot stations).
struct Placed {
    frame: Frame,
    /// Patient z (mm, superior +) of the centre of the first stored row, when the detector's
    /// Image Position and Orientation give it and rows run along z.
    top_z: Option<f64>,
    /// Patient x (mm) of the centre of the first stored column.
    left_x: Option<f64>,
    /// Whole-body pass (never stitched).
    whole_body: bool,
}

/// Frames of one loaded NM series.
fn frames_of(series: &LoadedSeries, notes: &mut Vec<String>) -> Result<Vec<Placed>, NotAssessable> {
    let meta = &series.meta;
    let label = series_label(meta);
    let Some(nm) = meta.nm.as_ref() else {
        return Ok(Vec::new());
    };
    let SeriesData::Planar(planar) = &series.data else {
        notes.push(format!(
            "{label} is not planar (tomographic) and was left out"
        ));
        return Ok(Vec::new());
    };
    if nm
        .nm_image_type
        .as_deref()
        .is_some_and(|t| t.contains("TOMO"))
    {
        notes.push(format!("{label} is tomographic and was left out"));
        return Ok(Vec::new());
    }
    let hours = hours_after_injection(meta, nm)?;
    // Sum the energy windows of each detector.
    let mut per_detector: Vec<(Option<u16>, Array2<f32>, u32)> = Vec::new();
    for k in 0..planar.n_frames() {
        let Some(f) = planar.frame(k) else { continue };
        let det = nm.frames.get(k).and_then(|x| x.detector);
        match per_detector.iter_mut().find(|(d, _, _)| *d == det) {
            Some((_, acc, _)) => *acc += &f,
            None => per_detector.push((det, f.to_owned(), u32::try_from(k).unwrap_or(0))),
        }
    }
    let mut out = Vec::new();
    for (det, pixels, k) in per_detector {
        let Some(view) = view_of(nm, det) else {
            notes.push(format!(
                "{label} detector {}: view unknown (no view code or orientation), left out",
                det.unwrap_or(1)
            ));
            continue;
        };
        let mut f = Frame::new(hours, view, pixels).with_source(&meta.series_instance_uid, k);
        if view == ViewKind::Lateral {
            if let Some(side) = lateral_side(nm, det) {
                f = f.with_lateral_side(side);
            }
        }
        if let Some(sp) = meta.pixel_spacing_mm.or(planar.pixel_spacing_mm) {
            f = f.with_pixel_spacing(sp);
        }
        if let Some(ms) = nm.actual_frame_duration_ms.filter(|v| *v > 0.0) {
            f = f.with_duration_s(ms / 1000.0);
        }
        let detector = nm.detectors.get(usize::from(det.unwrap_or(1).max(1)) - 1);
        let orient = detector.and_then(|d| d.image_orientation);
        let mut rows_along_z = false;
        if let Some(o) = orient {
            if o[0].abs() > 0.5 {
                f = f.with_columns_toward_patient_left(o[0] > 0.0);
            }
            if o[5].abs() > 0.5 {
                f = f.with_rows_toward_feet(o[5] < 0.0);
                rows_along_z = true;
            }
        }
        let position = detector.and_then(|d| d.image_position);
        out.push(Placed {
            frame: f,
            top_z: position.filter(|_| rows_along_z).map(|p| p[2]),
            left_x: position.map(|p| p[0]),
            whole_body: nm
                .nm_image_type
                .as_deref()
                .is_some_and(|t| t.contains("WHOLE")),
        });
    }
    Ok(out)
}

/// Spot stations of one view taken one after the other (each within `STATION_GAP_H` of the
/// previous one) at different heights of the body are one time point: they are put together
/// into one image by their Image Position along z (counts scaled to the first station's
/// duration, overlapping rows averaged, gaps left empty). Whole-body passes, lateral views and
/// frames without a position stay as they are.
fn stitch_stations(placed: &[Placed], notes: &mut Vec<String>) -> Vec<Frame> {
    const STATION_GAP_H: f64 = 0.25;
    let mut order: Vec<usize> = (0..placed.len()).collect();
    order.sort_by(|&a, &b| placed[a].frame.hours.total_cmp(&placed[b].frame.hours));
    let mut used = vec![false; placed.len()];
    let mut out = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let p = &placed[i];
        let mut group = vec![i];
        let stitchable = |q: &Placed| {
            !q.whole_body
                && q.frame.view != ViewKind::Lateral
                && q.top_z.is_some()
                && q.frame.pixel_spacing_mm.is_some()
        };
        if stitchable(p) {
            let mut last_h = p.frame.hours;
            for &j in &order[n + 1..] {
                let q = &placed[j];
                if q.frame.hours - last_h > STATION_GAP_H {
                    break;
                }
                let same_layout = q.frame.view == p.frame.view
                    && q.frame.pixel_spacing_mm == p.frame.pixel_spacing_mm
                    && q.frame.pixels.ncols() == p.frame.pixels.ncols()
                    && q.frame.rows_toward_feet == p.frame.rows_toward_feet
                    && q.frame.columns_toward_patient_left == p.frame.columns_toward_patient_left;
                let new_height = group.iter().all(|&g| {
                    let (a, b) = (placed[g].top_z, q.top_z);
                    a.zip(b).is_some_and(|(a, b)| (a - b).abs() > 10.0)
                });
                if !used[j] && stitchable(q) && same_layout && new_height {
                    used[j] = true;
                    group.push(j);
                    last_h = q.frame.hours;
                }
            }
        }
        if group.len() == 1 {
            out.push(placed[i].frame.clone());
            continue;
        }
        match stitch(placed, &group) {
            Some(f) => {
                notes.push(format!(
                    "{} {} spot stations at {:.2} h put together by their positions into one \
                     image of {} rows",
                    group.len(),
                    f.view.as_str(),
                    f.hours,
                    f.pixels.nrows()
                ));
                out.push(f);
            }
            None => out.extend(group.iter().map(|&g| placed[g].frame.clone())),
        }
    }
    out
}

/// One image of the stations `group` (same view, spacing, columns and row direction).
fn stitch(placed: &[Placed], group: &[usize]) -> Option<Frame> {
    let first = &placed[*group.first()?];
    let sp = first.frame.pixel_spacing_mm?;
    let toward_feet = first.frame.rows_toward_feet.unwrap_or(true);
    // Row coordinate along the stored row direction: u = (anchor - z) / spacing (toward the
    // feet) or (z - anchor) / spacing (toward the head), anchor = the first row of the whole.
    let tops: Vec<f64> = group
        .iter()
        .map(|&g| placed[g].top_z)
        .collect::<Option<_>>()?;
    let anchor = if toward_feet {
        tops.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    } else {
        tops.iter().copied().fold(f64::INFINITY, f64::min)
    };
    let offsets: Vec<usize> = tops
        .iter()
        .map(|&z| {
            let u = if toward_feet { anchor - z } else { z - anchor } / sp[0];
            csfleak_volume::index_of(u.round())
        })
        .collect::<Option<_>>()?;
    let rows = group
        .iter()
        .zip(&offsets)
        .map(|(&g, o)| o + placed[g].frame.pixels.nrows())
        .max()?;
    // A whole body is under 2.5 m; anything longer is a position error.
    if rows as f64 * sp[0] > 2500.0 {
        return None;
    }
    let cols = first.frame.pixels.ncols();
    let col_dir = if first.frame.columns_toward_patient_left.unwrap_or(true) {
        1.0
    } else {
        -1.0
    };
    let base_d = first.frame.frame_duration_s;
    let mut sum = Array2::<f32>::zeros((rows, cols));
    let mut n = Array2::<f32>::zeros((rows, cols));
    for (&g, &off) in group.iter().zip(&offsets) {
        let q = &placed[g];
        let scale = match (base_d, q.frame.frame_duration_s) {
            (Some(a), Some(b)) if a > 0.0 && b > 0.0 => a / b,
            _ => 1.0,
        };
        // Columns shifted when a station sits elsewhere across the body.
        let dc = match (first.left_x, q.left_x) {
            (Some(a), Some(b)) => ((b - a) * col_dir / sp[1]).round(),
            _ => 0.0,
        };
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a column shift across one image"
        )]
        let dc = dc.clamp(-(cols as f64), cols as f64) as isize;
        for ((r, c), &v) in q.frame.pixels.indexed_iter() {
            let Some(cc) = c.checked_add_signed(dc).filter(|&x| x < cols) else {
                continue;
            };
            #[allow(clippy::cast_possible_truncation, reason = "counts as stored")]
            let x = (f64::from(v) * scale) as f32;
            sum[(off + r, cc)] += x;
            n[(off + r, cc)] += 1.0;
        }
    }
    let pixels = ndarray::Zip::from(&sum)
        .and(&n)
        .map_collect(|&s, &k| if k > 0.0 { s / k } else { 0.0 });
    let mut f = first.frame.clone();
    f.pixels = pixels;
    Some(f)
}

/// Build the cisternography input from the NM planar series of a study.
///
/// Series that are not NM or not planar are skipped with a note; a missing radiopharmaceutical
/// start time or acquisition time in any NM series makes the examination not assessable.
pub fn cisterno_input(series: &[&LoadedSeries]) -> Result<CisternoInput, NotAssessable> {
    let mut notes = Vec::new();
    let mut frames = Vec::new();
    let mut half_life = None;
    for s in series {
        if s.meta.modality != "NM" || s.meta.nm.is_none() {
            continue;
        }
        if half_life.is_none() {
            half_life = s
                .meta
                .nm
                .as_ref()
                .and_then(|n| n.radionuclide_half_life_s)
                .filter(|h| h.is_finite() && *h > 0.0);
        }
        frames.extend(frames_of(s, &mut notes)?);
    }
    let frames = stitch_stations(&frames, &mut notes);
    if frames.is_empty() {
        return Err(na("no planar NM frames with a known view"));
    }
    let mut input = CisternoInput::new(frames);
    match half_life {
        Some(h) => input = input.with_half_life_s(h),
        None => notes.push(format!(
            "radionuclide half-life not in the files: In-111 {IN111_HALF_LIFE_S} s (2.8047 d) used"
        )),
    }
    input.notes = notes;
    Ok(input)
}

/// Adapt, analyse and convert: the `cisternography` findings section and the analysis (for
/// overlays and curves), or a not-assessable section with the reason.
pub fn analyze_cisternography(
    series: &[&LoadedSeries],
    options: &CisternoOptions,
) -> (Cisternography, Option<Analysis>) {
    let input = match cisterno_input(series) {
        Ok(i) => i,
        Err(e) => return (Cisternography::not_assessable(e.reason), None),
    };
    match analyze(&input, options) {
        Ok(a) => {
            let mut section = a.to_findings(&input);
            // The time-activity curve image is drawn by the RI family from this section
            // (`overlays/cisterno_tac.png`); a link to a curve that was not drawn is dropped
            // when the findings are written.
            if !section.curve.is_empty() {
                section.evidence.insert(
                    0,
                    Evidence {
                        overlay: Some(format!(
                            "overlays/{}.png",
                            csfleak_report::chart::TAC_OVERLAY_NAME
                        )),
                        description: Some(
                            "time-activity curve of the CSF and bladder ROIs, raw and \
                             decay-corrected, % of the reference time point"
                                .to_owned(),
                        ),
                        ..Evidence::default()
                    },
                );
            }
            (section, Some(a))
        }
        Err(e) => (Cisternography::not_assessable(format!("{e:#}")), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dicom_times_parse() {
        assert_eq!(parse_tm("093000"), Some(34_200.0));
        assert_eq!(parse_tm("09:30"), Some(34_200.0));
        assert_eq!(parse_tm("0930.5"), Some(34_200.5));
        assert_eq!(parse_tm("2500"), None);
        let a = parse_dt("20260105093000").unwrap();
        let b = parse_da_tm("20260106", "093000").unwrap();
        assert!((b - a - 86_400.0).abs() < 1e-6);
        // Across a month end and a leap day.
        let c = parse_da_tm("20240228", "120000").unwrap();
        let d = parse_da_tm("20240301", "120000").unwrap();
        assert!((d - c - 2.0 * 86_400.0).abs() < 1e-6);
        assert!(parse_dt("2026").is_none());
    }

    fn nm_with_view(view: &str, orientation: [f64; 6]) -> NmMeta {
        let mut nm = NmMeta::default();
        nm.detectors.push(csfleak_dicom::NmDetector {
            view: Some(view.to_owned()),
            image_orientation: Some(orientation),
            ..Default::default()
        });
        nm
    }

    #[test]
    fn compound_projection_codes_name_the_detector_by_their_first_word() {
        let front = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0];
        let back = [-1.0, 0.0, 0.0, 0.0, 0.0, -1.0];
        let v = |s: &str, o| view_of(&nm_with_view(s, o), Some(1));
        assert_eq!(
            v("antero-posterior projection", front),
            Some(ViewKind::Anterior)
        );
        assert_eq!(
            v("postero-anterior projection", back),
            Some(ViewKind::Posterior)
        );
        // A posterior image stored in the anterior layout keeps its code's side.
        assert_eq!(
            v("postero-anterior projection", front),
            Some(ViewKind::Posterior)
        );
        assert_eq!(v("Anterior projection", back), Some(ViewKind::Anterior));
        assert_eq!(v("left lateral projection", front), Some(ViewKind::Lateral));
        assert_eq!(v("", back), Some(ViewKind::Posterior));
    }
}
