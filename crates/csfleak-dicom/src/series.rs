//! Grouping headers into series, splitting series whose images do not belong in one grid, and
//! sorting slices along the slice normal.
//!
//! The splitting rules follow dcm2niix: a Series Instance UID is split where the orientation,
//! in-plane size, pixel spacing, echo, image type or sampling differ; repeated positions that an
//! Acquisition Number or temporal position tells apart are split too. Slices are sorted by
//! `dot(ImagePositionPatient, normal)` (never Instance Number or Slice Location), the slice step
//! comes from the sorted positions, and irregularities become [`QualityFlag`]s.

use std::collections::BTreeMap;
use std::path::PathBuf;

use csfleak_volume::{DVec3, Geometry, PointLps, VecLps};
use serde::Serialize;

use crate::header::{FileHeader, FrameInfo};
use crate::meta::{ImagePlane, SeriesMeta};
use crate::quality::QualityFlag;
use crate::roles::RoleMatch;

/// One file of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    /// Path as found by the scan (absolute when the scanned folder was).
    #[serde(skip)]
    pub path: PathBuf,
    /// Path relative to the scanned folder (used in messages).
    pub rel_path: PathBuf,
    /// SOP Instance UID.
    pub sop_instance_uid: String,
    /// Instance Number (informative only; never used for ordering geometry).
    pub instance_number: Option<i32>,
    /// Transfer syntax UID.
    pub transfer_syntax: String,
    /// Number of frames in the file.
    pub n_frames: usize,
}

/// One slice (or frame) of a series: which file and which frame of it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SliceRef {
    /// Index into [`Series::instances`].
    pub instance: usize,
    /// Frame within that file (0 for single-frame files).
    pub frame: usize,
    /// Image Position (Patient) of the slice, if known.
    pub position: Option<PointLps>,
}

/// How the images of a series are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesLayout {
    /// Parallel slices with a full geometry: loads as a [`csfleak_volume::Volume`].
    Volume,
    /// Projection frames (NM planar/whole-body, images without geometry): loads as a
    /// [`csfleak_volume::PlanarImage`].
    Planar,
}

/// One series after splitting: its files, its slices in order, its geometry and caveats.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// Identifier for the CLI and messages: the Series Instance UID, with `#n` for split parts.
    pub id: String,
    /// 1-based part number when a Series Instance UID was split, else 0.
    pub split_index: usize,
    /// Metadata (dims, spacing, plane and counts filled in).
    pub meta: SeriesMeta,
    /// The files, in path order.
    pub instances: Vec<Instance>,
    /// Slices in `k` order (volumes) or frames in acquisition order (planar).
    pub slices: Vec<SliceRef>,
    /// Volume or planar.
    pub layout: SeriesLayout,
    /// `world_from_voxel` and dims for volumes.
    #[serde(skip)]
    pub geometry: Option<Geometry>,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// Caveats about this series.
    pub flags: Vec<QualityFlag>,
    /// The role assigned by the classifier (or forced by the user).
    pub role: RoleMatch,
}

impl Series {
    /// A short label without patient identifiers: `#<series number> <description>`.
    pub fn label(&self) -> String {
        let num = self
            .meta
            .series_number
            .map_or_else(|| "?".to_string(), |n| n.to_string());
        let part = if self.split_index > 0 {
            format!(" part {}", self.split_index)
        } else {
            String::new()
        };
        match &self.meta.series_description {
            Some(d) => format!("#{num}{part} {d}"),
            None => format!("#{num}{part}"),
        }
    }
}

/// One study: its series, ordered by series number then UID.
#[derive(Debug, Clone, Serialize)]
pub struct Study {
    /// Study Instance UID.
    pub study_instance_uid: String,
    /// Study Date as stored.
    pub study_date: Option<String>,
    /// The series.
    pub series: Vec<Series>,
}

/// Tolerance on Image Orientation components when comparing two images.
const ORIENTATION_TOLERANCE: f64 = 5e-3;
/// Two slices closer than this along the normal are at the same position (mm).
const DUPLICATE_TOLERANCE_MM: f64 = 1e-3;

/// The attributes that must agree inside one grid (dcm2niix's "same set" test).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SplitKey {
    dims: (usize, usize, u16),
    pixel_spacing: Option<[i64; 2]>,
    echo: (Option<i32>, Option<i64>),
    image_type: Vec<String>,
    modality: String,
    planar: bool,
    /// NM planar objects are one part each: their timing and frame vectors are per file.
    nm_object: Option<String>,
    has_geometry: bool,
}

impl SplitKey {
    fn differences(&self, other: &Self) -> Vec<&'static str> {
        let mut d = Vec::new();
        if self.dims != other.dims {
            d.push("image size");
        }
        if self.pixel_spacing != other.pixel_spacing {
            d.push("pixel spacing");
        }
        if self.echo != other.echo {
            d.push("echo");
        }
        if self.image_type != other.image_type {
            d.push("image type");
        }
        if self.modality != other.modality {
            d.push("modality");
        }
        if self.planar != other.planar || self.has_geometry != other.has_geometry {
            d.push("geometry");
        }
        d
    }
}

/// Quantise a float for use in a key (`round(x / q)`), saturating.
fn quantise(x: f64, q: f64) -> i64 {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "key quantisation; saturating cast is fine for absurd values"
    )]
    let v = (x / q).round() as i64;
    v
}

fn split_key(h: &FileHeader, f: &FrameInfo) -> SplitKey {
    let nm_planar = h.planar_frames && h.meta.modality == "NM";
    SplitKey {
        dims: (h.rows, h.cols, h.meta.samples_per_pixel),
        pixel_spacing: f
            .pixel_spacing
            .map(|p| [quantise(p[0], 1e-4), quantise(p[1], 1e-4)]),
        echo: (h.meta.echo_number, f.echo_time.map(|t| quantise(t, 1e-2))),
        image_type: h.meta.image_type.clone(),
        modality: h.meta.modality.clone(),
        planar: h.planar_frames,
        nm_object: nm_planar.then(|| format!("{}|{}", h.sop_instance_uid, h.rel_path.display())),
        has_geometry: f.position.is_some() && f.orientation.is_some(),
    }
}

/// A frame of a file, before it is placed in a series.
#[derive(Debug, Clone, Copy)]
struct Entry {
    file: usize,
    frame: usize,
    info: FrameInfo,
}

/// Group headers into studies and series. `headers` may be in any order.
pub(crate) fn build_studies(mut headers: Vec<FileHeader>) -> Vec<Study> {
    headers.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    let mut by_series: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        by_series
            .entry((
                h.meta.study_instance_uid.clone(),
                h.meta.series_instance_uid.clone(),
            ))
            .or_default()
            .push(i);
    }
    let mut studies: BTreeMap<String, Study> = BTreeMap::new();
    for ((study_uid, _), files) in by_series {
        let parts = split_series(&headers, &files);
        let study = studies.entry(study_uid.clone()).or_insert_with(|| Study {
            study_instance_uid: study_uid,
            study_date: headers[files[0]].meta.study_date.clone(),
            series: Vec::new(),
        });
        study.series.extend(parts);
    }
    let mut out: Vec<Study> = studies.into_values().collect();
    for s in &mut out {
        s.series.sort_by(|a, b| {
            (
                a.meta.series_number,
                &a.meta.series_instance_uid,
                a.split_index,
            )
                .cmp(&(
                    b.meta.series_number,
                    &b.meta.series_instance_uid,
                    b.split_index,
                ))
        });
    }
    out
}

/// Split one Series Instance UID into parts that each form one grid.
fn split_series(headers: &[FileHeader], files: &[usize]) -> Vec<Series> {
    let mut flags: Vec<(usize, QualityFlag)> = Vec::new();
    // Exact duplicates (same SOP Instance UID, e.g. a file copied twice) are dropped first.
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut kept = Vec::new();
    for &f in files {
        let uid = headers[f].sop_instance_uid.as_str();
        if uid.is_empty() {
            kept.push(f);
            continue;
        }
        if let Some(&first) = seen.get(uid) {
            flags.push((
                first,
                QualityFlag::new(
                    "duplicate_instance",
                    "the same SOP Instance UID appears in two files; the second is ignored",
                    vec![headers[first].rel_path.clone(), headers[f].rel_path.clone()],
                ),
            ));
        } else {
            seen.insert(uid, f);
            kept.push(f);
        }
    }

    // Discrete keys, then orientation clusters within each key.
    let mut by_key: BTreeMap<SplitKey, Vec<Entry>> = BTreeMap::new();
    for &f in &kept {
        for (frame, info) in headers[f].frames.iter().enumerate() {
            by_key
                .entry(split_key(&headers[f], info))
                .or_default()
                .push(Entry {
                    file: f,
                    frame,
                    info: *info,
                });
        }
    }
    let mut groups: Vec<(SplitKey, Vec<Entry>, bool)> = Vec::new();
    let mut mixed_orientation = false;
    for (key, entries) in by_key {
        let clusters = cluster_orientation(entries);
        if clusters.len() > 1 {
            mixed_orientation = true;
        }
        let several = clusters.len() > 1;
        for c in clusters {
            groups.push((key.clone(), c, several));
        }
    }
    // Repeated positions told apart by acquisition or temporal position: split again.
    let mut final_groups: Vec<(SplitKey, Vec<Entry>, Option<&'static str>)> = Vec::new();
    for (key, entries, by_orientation) in groups {
        let reason = by_orientation.then_some("orientation");
        if key.has_geometry && !key.planar && has_repeated_positions(&entries) {
            let (sub, why) = split_by_acquisition(headers, entries);
            let r = if sub.len() > 1 { Some(why) } else { reason };
            for s in sub {
                final_groups.push((key.clone(), s, r));
            }
        } else {
            final_groups.push((key, entries, reason));
        }
    }
    // A stack whose slice gaps disagree (a missing slice, a second stack far away) has no single
    // step that puts every slice where it is: split it into runs of consistent gaps.
    let final_groups: Vec<(SplitKey, Vec<Entry>, Option<&'static str>)> = final_groups
        .into_iter()
        .flat_map(|(key, entries, reason)| {
            let (runs, gap_flags) = if key.has_geometry && !key.planar {
                split_by_gaps(headers, entries)
            } else {
                (vec![entries], Vec::new())
            };
            let r = if runs.len() > 1 {
                Some("slice gaps")
            } else {
                reason
            };
            // the gap flags describe the whole stack: every part carries them
            for run in &runs {
                if let Some(e) = run.first() {
                    flags.extend(gap_flags.iter().map(|f| (e.file, f.clone())));
                }
            }
            runs.into_iter()
                .map(move |run| (key.clone(), run, r))
                .collect::<Vec<_>>()
        })
        .collect();

    let n_parts = final_groups.len();
    let mut why: Vec<&'static str> = Vec::new();
    if n_parts > 1 {
        for (i, a) in final_groups.iter().enumerate() {
            for b in &final_groups[i + 1..] {
                for d in a.0.differences(&b.0) {
                    if !why.contains(&d) {
                        why.push(d);
                    }
                }
            }
            if let Some(r) = a.2
                && !why.contains(&r)
            {
                why.push(r);
            }
        }
    }
    let nm_only = n_parts > 1 && final_groups.iter().all(|g| g.0.nm_object.is_some());
    let mut out = Vec::new();
    for (idx, (key, entries, _)) in final_groups.into_iter().enumerate() {
        // A dropped duplicate is reported with the part that holds the file it duplicates.
        let mut part_flags: Vec<QualityFlag> = flags
            .iter()
            .filter(|(kept, _)| entries.iter().any(|e| e.file == *kept))
            .map(|(_, f)| f.clone())
            .collect();
        if n_parts > 1 && !nm_only {
            let files: Vec<PathBuf> = entries
                .iter()
                .map(|e| headers[e.file].rel_path.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .take(1)
                .collect();
            part_flags.push(QualityFlag::new(
                "series_split",
                format!(
                    "series split into {n_parts} parts because {} differ",
                    why.join(", ")
                ),
                files,
            ));
            if mixed_orientation {
                part_flags.push(QualityFlag::new(
                    "mixed_orientation",
                    "images of this series have different orientations; each orientation is a separate part",
                    vec![],
                ));
            }
        }
        let split_index = if n_parts > 1 { idx + 1 } else { 0 };
        out.push(assemble(headers, &key, entries, split_index, part_flags));
    }
    out
}

/// How far a slice gap may stray from the stack's median gap before the stack is split there:
/// 20 % of the median or 0.1 mm, whichever is larger. Smaller irregularities keep one volume with
/// the mean step and an `uneven_slice_spacing` flag.
fn gap_tolerance_mm(median: f64) -> f64 {
    (0.2 * median).max(0.1)
}

/// Split a stack (one orientation) into runs of consecutive slices whose gaps agree with the
/// median gap; repeated positions stay together (they are deduplicated later). When it splits,
/// the missing-slice and uneven-spacing flags of the whole stack are returned with the runs.
fn split_by_gaps(
    headers: &[FileHeader],
    mut entries: Vec<Entry>,
) -> (Vec<Vec<Entry>>, Vec<QualityFlag>) {
    let Some(n) = normal_of(&entries) else {
        return (vec![entries], Vec::new());
    };
    entries.sort_by(|a, b| {
        let da = along_normal(a, n).unwrap_or(0.0);
        let db = along_normal(b, n).unwrap_or(0.0);
        da.total_cmp(&db)
    });
    let d: Vec<Option<f64>> = entries.iter().map(|e| along_normal(e, n)).collect();
    let mut gaps: Vec<f64> = d
        .windows(2)
        .filter_map(|w| Some(w[1]? - w[0]?))
        .filter(|g| *g >= DUPLICATE_TOLERANCE_MM)
        .collect();
    if gaps.len() < 2 {
        return (vec![entries], Vec::new());
    }
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    let tol = gap_tolerance_mm(median);
    let splits = d.windows(2).any(|w| match (w[0], w[1]) {
        (Some(a), Some(b)) => b - a >= DUPLICATE_TOLERANCE_MM && (b - a - median).abs() > tol,
        _ => false,
    });
    if !splits {
        return (vec![entries], Vec::new());
    }
    let mut stack_flags = Vec::new();
    spacing_flags(headers, &entries, n, &mut stack_flags);
    let mut runs: Vec<Vec<Entry>> = Vec::new();
    let mut current: Vec<Entry> = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let breaks = i > 0
            && match (d[i - 1], d[i]) {
                (Some(a), Some(b)) => {
                    let g = b - a;
                    g >= DUPLICATE_TOLERANCE_MM && (g - median).abs() > tol
                }
                _ => false,
            };
        if breaks && !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
        current.push(e);
    }
    if !current.is_empty() {
        runs.push(current);
    }
    (runs, stack_flags)
}

/// Greedy clustering of entries by Image Orientation (Patient), in entry order.
fn cluster_orientation(entries: Vec<Entry>) -> Vec<Vec<Entry>> {
    let mut clusters: Vec<(Option<[f64; 6]>, Vec<Entry>)> = Vec::new();
    for e in entries {
        let pos = clusters
            .iter()
            .position(|(o, _)| match (o, &e.info.orientation) {
                (None, None) => true,
                (Some(a), Some(b)) => a
                    .iter()
                    .zip(b.iter())
                    .all(|(x, y)| (x - y).abs() <= ORIENTATION_TOLERANCE),
                _ => false,
            });
        match pos {
            Some(i) => clusters[i].1.push(e),
            None => clusters.push((e.info.orientation, vec![e])),
        }
    }
    clusters.into_iter().map(|(_, v)| v).collect()
}

/// Distance along the normal of an entry.
fn along_normal(e: &Entry, n: DVec3) -> Option<f64> {
    e.info.position.map(|p| DVec3::from_array(p).dot(n))
}

fn normal_of(entries: &[Entry]) -> Option<DVec3> {
    let iop = entries.first()?.info.orientation?;
    csfleak_volume::orientation_normal(iop).ok()
}

fn has_repeated_positions(entries: &[Entry]) -> bool {
    let Some(n) = normal_of(entries) else {
        return false;
    };
    let mut d: Vec<f64> = entries.iter().filter_map(|e| along_normal(e, n)).collect();
    d.sort_by(f64::total_cmp);
    d.windows(2)
        .any(|w| (w[1] - w[0]).abs() < DUPLICATE_TOLERANCE_MM)
}

/// Split entries by Acquisition Number, then by temporal position, if that removes repeats.
fn split_by_acquisition(
    headers: &[FileHeader],
    entries: Vec<Entry>,
) -> (Vec<Vec<Entry>>, &'static str) {
    type KeyFn = fn(&[FileHeader], &Entry) -> Option<i64>;
    let keys: [(KeyFn, &'static str); 2] = [
        (
            |h, e| h[e.file].meta.acquisition_number.map(i64::from),
            "acquisition number",
        ),
        (|_, e| e.info.temporal, "temporal position"),
    ];
    for (key, why) in keys {
        let mut parts: BTreeMap<Option<i64>, Vec<Entry>> = BTreeMap::new();
        for e in &entries {
            parts.entry(key(headers, e)).or_default().push(*e);
        }
        if parts.len() > 1 && parts.values().all(|p| !has_repeated_positions(p)) {
            return (parts.into_values().collect(), why);
        }
    }
    // Nothing tells the repeats apart, but every position is repeated the same number of times:
    // a 4D series (diffusion directions, dynamics). Like dcm2niix, take the n-th image at each
    // position (by Instance Number, then path) as volume n.
    if let Some(parts) = split_by_occurrence(headers, &entries) {
        return (parts, "repeated positions (4D)");
    }
    (vec![entries], "acquisition")
}

/// Volumes of a 4D series: the n-th image at each position, if every position has as many.
fn split_by_occurrence(headers: &[FileHeader], entries: &[Entry]) -> Option<Vec<Vec<Entry>>> {
    let n = normal_of(entries)?;
    let mut sorted: Vec<(f64, Entry)> = entries
        .iter()
        .map(|e| Some((along_normal(e, n)?, *e)))
        .collect::<Option<_>>()?;
    sorted.sort_by(|(da, a), (db, b)| {
        da.total_cmp(db)
            .then(
                headers[a.file]
                    .instance_number
                    .cmp(&headers[b.file].instance_number),
            )
            .then_with(|| headers[a.file].rel_path.cmp(&headers[b.file].rel_path))
            .then(a.frame.cmp(&b.frame))
    });
    let mut runs: Vec<Vec<Entry>> = Vec::new();
    let mut last: Option<f64> = None;
    for (d, e) in sorted {
        match (last, runs.last_mut()) {
            (Some(l), Some(run)) if (d - l).abs() < DUPLICATE_TOLERANCE_MM => run.push(e),
            _ => runs.push(vec![e]),
        }
        last = Some(d);
    }
    let per_position = runs.first()?.len();
    if per_position < 2 || runs.iter().any(|r| r.len() != per_position) {
        return None;
    }
    let mut parts: Vec<Vec<Entry>> = (0..per_position).map(|_| Vec::new()).collect();
    for run in runs {
        for (i, e) in run.into_iter().enumerate() {
            parts[i].push(e);
        }
    }
    Some(parts)
}

/// Build one [`Series`] from its entries: sort, de-duplicate positions, derive geometry.
fn assemble(
    headers: &[FileHeader],
    key: &SplitKey,
    mut entries: Vec<Entry>,
    split_index: usize,
    mut flags: Vec<QualityFlag>,
) -> Series {
    let first = &headers[entries[0].file];
    let mut meta = first.meta.clone();
    let mut seen_files: Vec<usize> = entries.iter().map(|e| e.file).collect();
    seen_files.sort_unstable();
    seen_files.dedup();
    flags.extend(
        seen_files
            .iter()
            .flat_map(|&f| headers[f].flags.iter().cloned()),
    );
    let mut layout = if key.has_geometry && !key.planar {
        SeriesLayout::Volume
    } else {
        SeriesLayout::Planar
    };
    let normal = normal_of(&entries);
    let mut geometry = None;
    if layout == SeriesLayout::Volume {
        if let Some(n) = normal {
            entries.sort_by(|a, b| {
                let da = along_normal(a, n).unwrap_or(0.0);
                let db = along_normal(b, n).unwrap_or(0.0);
                da.total_cmp(&db)
                    .then_with(|| headers[a.file].rel_path.cmp(&headers[b.file].rel_path))
                    .then(a.frame.cmp(&b.frame))
            });
            dedupe_positions(headers, &mut entries, n, &mut flags);
            match volume_geometry(headers, &entries, n, &mut flags) {
                Some(g) => geometry = Some(g),
                None => layout = SeriesLayout::Planar,
            }
        } else {
            flags.push(QualityFlag::new(
                "invalid_orientation",
                "Image Orientation (Patient) is degenerate; loaded as planar frames",
                vec![first.rel_path.clone()],
            ));
            layout = SeriesLayout::Planar;
        }
    }
    if layout == SeriesLayout::Planar {
        // (When the geometry was rejected above, that flag already says why.)
        if !key.planar && !key.has_geometry && entries.len() > 1 && meta.modality != "NM" {
            flags.push(QualityFlag::new(
                "no_geometry",
                "Image Position/Orientation (Patient) missing; images kept in file order as planar frames",
                vec![first.rel_path.clone()],
            ));
        }
        entries.sort_by(|a, b| {
            let ia = headers[a.file].instance_number;
            let ib = headers[b.file].instance_number;
            ia.cmp(&ib)
                .then_with(|| headers[a.file].rel_path.cmp(&headers[b.file].rel_path))
                .then(a.frame.cmp(&b.frame))
        });
    }

    // Instances in path order; slices refer to them by index.
    let mut file_ids: Vec<usize> = entries.iter().map(|e| e.file).collect();
    file_ids.sort_unstable();
    file_ids.dedup();
    let instances: Vec<Instance> = file_ids
        .iter()
        .map(|&f| {
            let h = &headers[f];
            Instance {
                path: h.path.clone(),
                rel_path: h.rel_path.clone(),
                sop_instance_uid: h.sop_instance_uid.clone(),
                instance_number: h.instance_number,
                transfer_syntax: h.transfer_syntax.clone(),
                n_frames: h.frames.len(),
            }
        })
        .collect();
    let slices: Vec<SliceRef> = entries
        .iter()
        .map(|e| SliceRef {
            instance: file_ids.binary_search(&e.file).unwrap_or(0),
            frame: e.frame,
            position: e.info.position.map(PointLps),
        })
        .collect();

    let mut ts: Vec<String> = instances
        .iter()
        .map(|i| i.transfer_syntax.clone())
        .collect();
    ts.sort();
    ts.dedup();
    meta.transfer_syntaxes = ts;
    meta.n_files = instances.len();
    meta.n_frames = slices.len();
    meta.dims = [first.cols, first.rows, slices.len()];
    meta.pixel_spacing_mm = entries[0].info.pixel_spacing;
    meta.echo_time_ms = entries[0].info.echo_time.or(meta.echo_time_ms);
    // NM projections have no slice geometry; the detector orientation still tells the view plane
    // (anterior/posterior whole-body views are coronal).
    let view_normal = normal.or_else(|| {
        let iop = meta.nm.as_ref()?.detectors.first()?.image_orientation?;
        csfleak_volume::orientation_normal(iop).ok()
    });
    if let Some(n) = view_normal {
        let (plane, angle) = ImagePlane::from_normal(n.to_array());
        meta.plane = Some(plane);
        meta.obliquity_deg = Some(angle);
    }
    // Only volumes have a 3D spacing; planar frames keep Pixel Spacing alone.
    meta.spacing_mm = geometry.as_ref().map(Geometry::spacing_mm);
    if let Some(nm) = &mut meta.nm
        && nm.frames.len() != slices.len()
    {
        // Frame vectors describe one object's frames; they only stay valid in frame order.
        let order: Vec<usize> = slices.iter().map(|s| s.frame).collect();
        nm.frames = order
            .iter()
            .filter_map(|&k| nm.frames.get(k).copied())
            .collect();
    }
    let id = if split_index > 0 {
        format!("{}#{split_index}", meta.series_instance_uid)
    } else {
        meta.series_instance_uid.clone()
    };
    flags.sort();
    flags.dedup();
    Series {
        id,
        split_index,
        meta,
        instances,
        slices,
        layout,
        geometry,
        rows: first.rows,
        cols: first.cols,
        flags,
        role: RoleMatch::default(),
    }
}

/// Drop slices at a position already taken (after a split by acquisition failed to separate
/// them), flagging the files involved.
fn dedupe_positions(
    headers: &[FileHeader],
    entries: &mut Vec<Entry>,
    n: DVec3,
    flags: &mut Vec<QualityFlag>,
) {
    let mut kept: Vec<Entry> = Vec::new();
    let mut dropped: Vec<PathBuf> = Vec::new();
    for e in entries.drain(..) {
        if let Some(last) = kept.last()
            && let (Some(a), Some(b)) = (along_normal(last, n), along_normal(&e, n))
            && (a - b).abs() < DUPLICATE_TOLERANCE_MM
        {
            dropped.push(headers[last.file].rel_path.clone());
            dropped.push(headers[e.file].rel_path.clone());
            continue;
        }
        kept.push(e);
    }
    if !dropped.is_empty() {
        dropped.sort();
        dropped.dedup();
        flags.push(QualityFlag::new(
            "duplicate_position",
            "several images share one slice position; only the first of each is used",
            dropped,
        ));
    }
    *entries = kept;
}

/// `world_from_voxel` from the sorted slices, with flags for uneven or missing slices and tilt.
fn volume_geometry(
    headers: &[FileHeader],
    entries: &[Entry],
    n: DVec3,
    flags: &mut Vec<QualityFlag>,
) -> Option<Geometry> {
    let first = entries.first()?;
    let h = &headers[first.file];
    let iop = first.info.orientation?;
    let p0 = DVec3::from_array(first.info.position?);
    let Some(spacing) = first.info.pixel_spacing else {
        flags.push(QualityFlag::new(
            "no_pixel_spacing",
            "Pixel Spacing missing; loaded as planar frames without a geometry",
            vec![h.rel_path.clone()],
        ));
        return None;
    };
    let nk = entries.len();
    let step = if nk > 1 {
        let last = entries.last().and_then(|e| e.info.position)?;
        (DVec3::from_array(last) - p0) / (nk - 1) as f64
    } else {
        let t = h
            .meta
            .spacing_between_slices_mm
            .or(h.meta.slice_thickness_mm)
            .filter(|t| *t > 0.0)
            .unwrap_or(1.0);
        n * t
    };
    if nk > 2 {
        spacing_flags(headers, entries, n, flags);
    }
    if nk > 1 {
        let along = step.dot(n);
        let inplane = (step - n * along).length();
        if along.abs() > 0.0 && (inplane / along.abs()).atan().to_degrees() > 0.5 {
            flags.push(QualityFlag::new(
                "gantry_tilt",
                format!(
                    "slice positions are sheared by {:.1} degrees (gantry tilt); the affine keeps the shear",
                    (inplane / along.abs()).atan().to_degrees()
                ),
                vec![h.rel_path.clone()],
            ));
        }
    }
    match Geometry::from_dicom(
        [h.cols, h.rows, nk],
        PointLps::from_dvec3(p0),
        iop,
        spacing,
        VecLps::from_dvec3(step),
    ) {
        Ok(g) => Some(g),
        Err(e) => {
            flags.push(QualityFlag::new(
                "invalid_geometry",
                format!("geometry rejected ({e}); loaded as planar frames"),
                vec![h.rel_path.clone()],
            ));
            None
        }
    }
}

/// Uneven gaps and missing slices from the sorted positions.
fn spacing_flags(
    headers: &[FileHeader],
    entries: &[Entry],
    n: DVec3,
    flags: &mut Vec<QualityFlag>,
) {
    let d: Vec<f64> = entries.iter().filter_map(|e| along_normal(e, n)).collect();
    let mut gaps: Vec<f64> = d.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return;
    }
    let mut sorted = gaps.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    if median <= 0.0 {
        return;
    }
    let tol = (0.01 * median).max(0.01);
    let mut missing = 0_usize;
    let mut missing_files = Vec::new();
    let mut uneven_files = Vec::new();
    let mut worst = 0.0_f64;
    for (i, g) in gaps.drain(..).enumerate() {
        if (g - median).abs() <= tol {
            continue;
        }
        let ratio = g / median;
        let whole = ratio.round();
        let after = headers[entries[i + 1].file].rel_path.clone();
        if whole >= 2.0 && (ratio - whole).abs() * median <= tol.max(0.05 * median) {
            missing += crate::series::index_of_count(whole - 1.0);
            missing_files.push(after);
        } else {
            worst = worst.max((g - median).abs());
            uneven_files.push(after);
        }
    }
    if missing > 0 {
        flags.push(QualityFlag::new(
            "missing_slices",
            format!(
                "{missing} slice(s) missing: a gap of a whole multiple of the usual {median:.3} mm step before each listed file"
            ),
            missing_files,
        ));
    }
    if !uneven_files.is_empty() {
        flags.push(QualityFlag::new(
            "uneven_slice_spacing",
            format!(
                "slice gaps differ from the usual {median:.3} mm by up to {worst:.3} mm before each listed file; the series is split where a gap differs by more than 20 %, otherwise the volume uses the mean step"
            ),
            uneven_files,
        ));
    }
}

/// A small non-negative whole float as a count (0 when out of range).
fn index_of_count(x: f64) -> usize {
    csfleak_volume::index_of(x).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::FrameInfo;

    const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

    fn hdr(name: &str, series: &str, ipp: [f64; 3], iop: [f64; 6]) -> FileHeader {
        FileHeader {
            path: PathBuf::from(name),
            rel_path: PathBuf::from(name),
            sop_instance_uid: format!("{series}.{name}"),
            instance_number: None,
            transfer_syntax: "1.2.840.10008.1.2.1".into(),
            rows: 3,
            cols: 4,
            frames: vec![FrameInfo {
                position: Some(ipp),
                orientation: Some(iop),
                pixel_spacing: Some([0.7, 0.5]),
                echo_time: Some(80.0),
                temporal: None,
            }],
            planar_frames: false,
            flags: Vec::new(),
            meta: SeriesMeta {
                modality: "MR".into(),
                study_instance_uid: "1".into(),
                series_instance_uid: series.into(),
                samples_per_pixel: 1,
                ..SeriesMeta::default()
            },
        }
    }

    fn one(headers: Vec<FileHeader>) -> Series {
        let mut studies = build_studies(headers);
        assert_eq!(studies.len(), 1);
        let mut s = studies.remove(0).series;
        assert_eq!(
            s.len(),
            1,
            "{:?}",
            s.iter().map(|x| &x.flags).collect::<Vec<_>>()
        );
        s.remove(0)
    }

    #[test]
    fn sorted_by_position_not_by_name_or_instance_number() {
        let zs = [9.0, 0.0, 6.0, 3.0];
        let headers: Vec<_> = zs
            .iter()
            .enumerate()
            .map(|(n, &z)| {
                let mut h = hdr(&format!("f{n}"), "s", [0.0, 0.0, z], AXIAL);
                h.instance_number = Some(i32::try_from(n).unwrap());
                h
            })
            .collect();
        let s = one(headers);
        let z: Vec<f64> = s.slices.iter().map(|x| x.position.unwrap().0[2]).collect();
        assert_eq!(z, vec![0.0, 3.0, 6.0, 9.0]);
        let g = s.geometry.unwrap();
        assert_eq!(g.dims, [4, 3, 4]);
        let [si, sj, sk] = g.spacing_mm();
        assert!((si - 0.5).abs() < 1e-12 && (sj - 0.7).abs() < 1e-12 && (sk - 3.0).abs() < 1e-12);
        assert!(s.flags.is_empty());
    }

    #[test]
    fn normal_pointing_down_sorts_from_head_to_feet() {
        // Row x column = [1,0,0] x [0,-1,0] = [0,0,-1]: k increases towards the feet.
        let iop = [1.0, 0.0, 0.0, 0.0, -1.0, 0.0];
        let headers: Vec<_> = [0.0, 5.0, 10.0]
            .iter()
            .map(|&z| hdr(&format!("z{z}"), "s", [0.0, 0.0, z], iop))
            .collect();
        let s = one(headers);
        let g = s.geometry.unwrap();
        assert_eq!(g.world_from_voxel.translation.z, 10.0);
        assert_eq!(g.world_from_voxel.matrix3.z_axis.z, -5.0);
        assert_eq!(s.meta.plane, Some(ImagePlane::Axial));
    }

    #[test]
    fn tilted_stack_keeps_the_shear_and_is_flagged() {
        // Each slice shifts 1 mm in y per 5 mm in z (gantry tilt ~11 degrees).
        let headers: Vec<_> = (0..4)
            .map(|k| {
                let k = f64::from(k);
                hdr(&format!("t{k}"), "s", [0.0, k, 5.0 * k], AXIAL)
            })
            .collect();
        let s = one(headers);
        let g = s.geometry.unwrap();
        let p = g
            .world_from_voxel
            .transform_point3(DVec3::new(0.0, 0.0, 3.0));
        assert!((p - DVec3::new(0.0, 3.0, 15.0)).length() < 1e-9);
        assert!(s.flags.iter().any(|f| f.code == "gantry_tilt"));
    }

    #[test]
    fn keys_split_echo_size_and_orientation() {
        let mut hs = Vec::new();
        for k in 0..2 {
            let z = f64::from(k);
            hs.push(hdr(&format!("a{k}"), "s", [0.0, 0.0, z], AXIAL));
            let mut e2 = hdr(&format!("b{k}"), "s", [0.0, 0.0, z], AXIAL);
            e2.frames[0].echo_time = Some(20.0);
            hs.push(e2);
            let mut big = hdr(&format!("c{k}"), "s", [0.0, 0.0, z], AXIAL);
            big.rows = 8;
            hs.push(big);
            hs.push(hdr(
                &format!("d{k}"),
                "s",
                [z, 0.0, 0.0],
                [0.0, 1.0, 0.0, 0.0, 0.0, -1.0],
            ));
        }
        let studies = build_studies(hs);
        let parts = &studies[0].series;
        assert_eq!(parts.len(), 4);
        assert!(parts.iter().all(|p| p.meta.dims[2] == 2));
        let ids: Vec<&str> = parts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, vec!["s#1", "s#2", "s#3", "s#4"]);
        let msg = &parts[0]
            .flags
            .iter()
            .find(|f| f.code == "series_split")
            .unwrap()
            .message;
        for what in ["image size", "echo", "orientation"] {
            assert!(msg.contains(what), "{msg}");
        }
    }

    #[test]
    fn clean_repeats_without_a_discriminator_are_volumes_of_a_4d_series() {
        let mut hs = Vec::new();
        for t in 0..2 {
            for k in 0..3 {
                let mut h = hdr(&format!("v{t}_{k}"), "dwi", [0.0, 0.0, f64::from(k)], AXIAL);
                h.instance_number = Some(t * 3 + k);
                hs.push(h);
            }
        }
        let studies = build_studies(hs);
        let parts = &studies[0].series;
        assert_eq!(parts.len(), 2);
        for (t, p) in parts.iter().enumerate() {
            assert_eq!(p.meta.dims[2], 3);
            assert!(
                p.instances
                    .iter()
                    .all(|i| i.rel_path.to_string_lossy().starts_with(&format!("v{t}_")))
            );
            assert!(
                p.flags.iter().any(|f| f.message.contains("4D")),
                "{:?}",
                p.flags
            );
            assert!(!p.flags.iter().any(|f| f.code == "duplicate_position"));
        }
    }

    #[test]
    fn nm_objects_are_parts_without_a_split_flag() {
        let hs: Vec<_> = (0..2)
            .map(|k| {
                let mut h = hdr(&format!("nm{k}"), "nm", [0.0; 3], AXIAL);
                h.meta.modality = "NM".into();
                h.planar_frames = true;
                h.frames = vec![FrameInfo::default(); 2];
                h
            })
            .collect();
        let studies = build_studies(hs);
        let parts = &studies[0].series;
        assert_eq!(parts.len(), 2);
        for p in parts {
            assert_eq!(p.layout, SeriesLayout::Planar);
            assert_eq!(p.meta.n_frames, 2);
            assert!(p.flags.is_empty(), "{:?}", p.flags);
        }
    }

    #[test]
    fn a_stack_with_a_far_gap_is_split_so_every_slice_keeps_its_position() {
        // One slice 200 mm below three contiguous ones (pydicom's 77654033/CT2 has this shape):
        // a single mean step would misplace the slices by up to ~135 mm.
        let zs = [-99.48, 103.02, 104.27, 105.52];
        let headers: Vec<FileHeader> = zs
            .iter()
            .enumerate()
            .map(|(i, &z)| hdr(&format!("f{i}"), "1.2.3", [0.0, 0.0, z], AXIAL))
            .collect();
        let parts = split_series(&headers, &[0, 1, 2, 3]);
        assert_eq!(parts.len(), 2);
        let mut dims: Vec<usize> = parts.iter().map(|p| p.slices.len()).collect();
        dims.sort_unstable();
        assert_eq!(dims, vec![1, 3]);
        let three = parts.iter().find(|p| p.slices.len() == 3).unwrap();
        let g = three.geometry.unwrap();
        for (k, z) in [103.02, 104.27, 105.52].into_iter().enumerate() {
            let p = g.voxel_center(csfleak_volume::VoxelIdx::new(0, 0, k));
            assert!((p.0[2] - z).abs() < 1e-9, "slice {k} at {} not {z}", p.0[2]);
        }
        assert!(
            parts
                .iter()
                .all(|p| p.flags.iter().any(|f| f.code == "series_split"))
        );
    }

    #[test]
    fn a_missing_slice_splits_the_stack_and_small_jitter_does_not() {
        let zs = [0.0, 5.0, 10.0, 20.0, 25.0];
        let headers: Vec<FileHeader> = zs
            .iter()
            .enumerate()
            .map(|(i, &z)| hdr(&format!("m{i}"), "1.2.4", [0.0, 0.0, z], AXIAL))
            .collect();
        assert_eq!(split_series(&headers, &[0, 1, 2, 3, 4]).len(), 2);
        let zs = [0.0, 5.02, 9.98, 15.0, 20.04];
        let headers: Vec<FileHeader> = zs
            .iter()
            .enumerate()
            .map(|(i, &z)| hdr(&format!("j{i}"), "1.2.5", [0.0, 0.0, z], AXIAL))
            .collect();
        assert_eq!(split_series(&headers, &[0, 1, 2, 3, 4]).len(), 1);
    }

    #[test]
    fn single_slice_uses_the_nominal_spacing() {
        let mut h = hdr("one", "s", [1.0, 2.0, 3.0], AXIAL);
        h.meta.spacing_between_slices_mm = Some(4.0);
        let s = one(vec![h]);
        assert_eq!(s.geometry.unwrap().spacing_mm()[2], 4.0);
        assert_eq!(s.meta.dims, [4, 3, 1]);
    }

    #[test]
    fn studies_and_series_are_ordered_whatever_the_input_order() {
        let mut a = hdr("x", "s2", [0.0; 3], AXIAL);
        a.meta.series_number = Some(2);
        let mut b = hdr("y", "s1", [0.0; 3], AXIAL);
        b.meta.series_number = Some(1);
        let mut c = hdr("z", "s3", [0.0; 3], AXIAL);
        c.meta.study_instance_uid = "0".into();
        let one_way = build_studies(vec![a.clone(), b.clone(), c.clone()]);
        let other = build_studies(vec![c, b, a]);
        let ids = |st: &[Study]| -> Vec<String> {
            st.iter()
                .flat_map(|s| s.series.iter().map(|x| x.id.clone()))
                .collect()
        };
        assert_eq!(ids(&one_way), vec!["s3", "s1", "s2"]);
        assert_eq!(ids(&one_way), ids(&other));
    }
}
