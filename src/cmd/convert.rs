//! `csfleak convert DIR --out OUT`: one NIfTI-1 file plus a JSON sidecar per series.
//!
//! Memory: series are converted **one at a time**, and inside a series the common large case
//! (a stack of single-frame grey images: CT, 2D MR) is **streamed**: slices are decoded in
//! parallel a slab at a time (4 per worker thread), in slice order, and appended to the NIfTI
//! file, so the peak is a few slices rather than the series. The data type is int16 when every
//! value fits, found out while writing: a value that does not fit restarts the series as
//! float32 (decoding twice only for series with fractional or out-of-range values). Other
//! series (multi-frame, colour, planar) are loaded whole with `load_series` (peak about one
//! series of `f32`) and written with `write_volume` / `write_planar`. Series are not run in
//! parallel: decoding already keeps every core busy, and parallel series would multiply the
//! peak memory.
//!
//! File names are `<series number>_<description>_<hash of the series UID>`, never patient
//! data. A failing series is reported with its path and reason, the others are still written,
//! and the exit code is 1.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use csfleak_dicom::{
    NmMeta, QualityFlag, Reporter, Series, SeriesData, SeriesLayout, SeriesMeta, SliceReader,
    load_series, merge_flags, scan,
};
use csfleak_report::nifti::{
    self, EncodedVoxels, NiftiOptions, NiftiStream, SlabEncoder, StoredType, WrittenNifti,
};
use csfleak_report::sidecar::{output_stem, write_sidecar};
use csfleak_volume::Geometry;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde_json::{Map, Value, json};

use super::UsageError;

/// Arguments of `csfleak convert`.
#[derive(Debug, clap::Args)]
pub(crate) struct ConvertArgs {
    /// Study folder (searched recursively; any file names, non-DICOM files are skipped).
    dir: PathBuf,
    /// Output folder (created when missing).
    #[arg(long, short, value_name = "OUT")]
    out: PathBuf,
    /// Write gzipped `.nii.gz` files (the default).
    #[arg(long, overrides_with = "no_compress")]
    compress: bool,
    /// Write uncompressed `.nii` files (faster to write and read, ~2x larger).
    #[arg(long, overrides_with = "compress")]
    no_compress: bool,
}

/// One converted series, for the summary.
struct Converted {
    label: String,
    nifti: WrittenNifti,
    n_flags: usize,
}

/// One failed series, for the summary.
struct Failed {
    label: String,
    path: PathBuf,
    reason: String,
}

pub(crate) fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let ConvertArgs {
        dir,
        out,
        no_compress,
        ..
    } = args;
    if !dir.is_dir() {
        return Err(UsageError::new(format!(
            "{} is not a folder; give the study folder to convert",
            dir.display()
        ))
        .into());
    }
    std::fs::create_dir_all(&out).map_err(|e| {
        UsageError::new(format!(
            "cannot create the output folder {}: {e}",
            out.display()
        ))
    })?;
    let compress = !no_compress;
    let started = Instant::now();
    let removed = clean_stale_temps(&out);
    if removed > 0 {
        tracing::info!(
            "removed {removed} partial file(s) left in {} by an interrupted run",
            out.display()
        );
    }

    let report = scan(&dir).with_context(|| format!("scanning {}", dir.display()))?;
    let series: Vec<&Series> = report.series().collect();
    if !report.skipped.is_empty() {
        tracing::info!(
            "{} file(s) skipped (not DICOM images, DICOMDIR); `csfleak inspect` lists them",
            report.skipped.len()
        );
    }
    if series.is_empty() {
        anyhow::bail!(
            "no DICOM image series found under {} ({} files looked at)",
            dir.display(),
            report.n_files
        );
    }

    let n_images: usize = series.iter().map(|s| s.slices.len()).sum();
    let bar = progress_bar(n_images as u64);
    let mut converted = Vec::new();
    let mut failed = Vec::new();
    let mut used_stems = std::collections::BTreeSet::new();
    for s in &series {
        bar.set_message(s.label());
        let stem = unique_stem(&mut used_stems, s);
        let before = bar.position();
        let result = convert_one(s, &out, &stem, compress, &bar);
        bar.set_position(before + s.slices.len() as u64);
        match result {
            Ok(c) => converted.push(c),
            Err(e) => failed.push(Failed {
                label: s.label(),
                path: s
                    .instances
                    .first()
                    .and_then(|i| i.rel_path.parent())
                    .map_or_else(PathBuf::new, Path::to_path_buf),
                reason: relative_paths(&format!("{e:#}"), &dir),
            }),
        }
    }
    bar.finish_and_clear();

    print_summary(&converted, &failed, &out, started)?;
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// An error message with the scanned folder's prefix removed from file paths: paths are shown
/// relative to the study folder, whose own name may hold a patient name (CD exports).
fn relative_paths(message: &str, root: &Path) -> String {
    let mut out = message.to_owned();
    for prefix in [root.to_path_buf(), root.canonicalize().unwrap_or_default()] {
        let p = prefix.to_string_lossy();
        if !p.is_empty() {
            out = out.replace(&format!("{}/", p.trim_end_matches('/')), "");
        }
    }
    out
}

/// Remove the temporary files (`.<name>.tmp-<PID>-<N>`, see `csfleak-report`) that a killed
/// run left in `out`: only those whose process is gone, so a run writing into the same folder
/// at the same time keeps its files. Finished outputs are never touched. Where liveness cannot
/// be checked (no `/proc`), nothing is removed. Returns the number removed.
fn clean_stale_temps(out: &Path) -> usize {
    let proc_root = Path::new("/proc/self");
    if !proc_root.exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(out) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(stale_temp_pid) else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        if !alive
            && entry.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// The writer's PID in a temporary file name `.<name>.tmp-<PID>-<N>`, `None` for any other name.
fn stale_temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (stem, tail) = rest.rsplit_once(".tmp-")?;
    let (pid, n) = tail.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if stem.is_empty() || !digits(pid) || !digits(n) {
        return None;
    }
    pid.parse().ok()
}

/// A progress bar on stderr; indicatif hides it when stderr is not a terminal, `--quiet` too.
fn progress_bar(len: u64) -> ProgressBar {
    let target = if crate::quiet() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} images  {wide_msg}") {
        bar.set_style(style);
    }
    bar
}

/// The output stem of a series, made unique within this run.
fn unique_stem(used: &mut std::collections::BTreeSet<String>, s: &Series) -> String {
    let description = s
        .meta
        .series_description
        .as_deref()
        .or(s.meta.protocol_name.as_deref())
        .unwrap_or("");
    let number = s.meta.series_number.map(i64::from);
    let mut stem = output_stem(number, description, &s.id);
    let mut n = 2;
    while !used.insert(stem.clone()) {
        stem = output_stem(number, description, &format!("{}#{n}", s.id));
        n += 1;
    }
    stem
}

/// Write the NIfTI file and the sidecar of one series; the voxels are dropped on return.
fn convert_one(
    s: &Series,
    out: &Path,
    stem: &str,
    compress: bool,
    bar: &ProgressBar,
) -> anyhow::Result<Converted> {
    let ext = if compress { "nii.gz" } else { "nii" };
    let path = out.join(format!("{stem}.{ext}"));
    let opts = NiftiOptions::default().with_compress(compress);
    let (nifti, flags) = if let Some(g) = streamable(s) {
        let (nifti, caveats) = stream_series(s, &g, &path, &opts, bar)?;
        let mut flags = s.flags.clone();
        flags.extend(caveats);
        (nifti, flags)
    } else {
        let loaded = load_series(s)?;
        let nifti = match &loaded.data {
            SeriesData::Volume(v) => nifti::write_volume(&path, v, &opts)?,
            SeriesData::Planar(p) => nifti::write_planar(&path, p, &opts)?,
        };
        (nifti, loaded.flags)
    };
    let sidecar = sidecar_json(s, &s.meta, &flags, &nifti);
    let removed = write_sidecar(&out.join(format!("{stem}.json")), &sidecar)?;
    debug_assert_eq!(
        removed, 0,
        "the sidecar is built without patient identifiers"
    );
    Ok(Converted {
        label: s.label(),
        nifti,
        n_flags: flags.len(),
    })
}

/// The grid of a series that can be streamed: a volume of single-frame grey images, one slice
/// per file, in slice order.
fn streamable(s: &Series) -> Option<Geometry> {
    let g = s.geometry?;
    let ok = s.layout == SeriesLayout::Volume
        && s.meta.samples_per_pixel == 1
        && g.dims == [s.cols, s.rows, s.slices.len()]
        && s.slices.iter().all(|r| r.frame == 0)
        && s.instances.iter().all(|i| i.n_frames == 1);
    ok.then_some(g)
}

/// Buffers handed from slab to slab (and thread to thread) instead of being allocated, zeroed
/// and page-faulted per slice.
struct Pool<T>(std::sync::Mutex<Vec<T>>);

impl<T: Default> Pool<T> {
    fn new() -> Self {
        Self(std::sync::Mutex::new(Vec::new()))
    }

    fn take(&self) -> T {
        self.0
            .lock()
            .map(|mut v| v.pop())
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    fn put(&self, item: T) {
        if let Ok(mut v) = self.0.lock() {
            v.push(item);
        }
    }
}

/// Buffers of one stream: slice readers with their plane of values, and encoded bytes.
struct StreamBuffers {
    readers: Pool<(SliceReader, Vec<f32>)>,
    bytes: Pool<Vec<u8>>,
}

/// Decode some slices in parallel (in order) and encode them (and compress them) for the
/// output file. A value int16 cannot hold gives [`NeedsFloat`].
fn decode_slab(
    s: &Series,
    slices: std::ops::Range<usize>,
    encoder: SlabEncoder,
    reporter: &Reporter,
    buffers: &StreamBuffers,
) -> anyhow::Result<Vec<EncodedVoxels>> {
    let plane = s.rows * s.cols;
    slices
        .into_par_iter()
        .map(|k| {
            let (mut reader, mut values) = buffers.readers.take();
            values.resize(plane, 0.0_f32);
            let read = reader.read_slice(s, k, &mut values, reporter);
            let encoded = read.map(|()| encoder.encode_into(&values, buffers.bytes.take()));
            buffers.readers.put((reader, values));
            encoded?.ok_or_else(|| NeedsFloat.into())
        })
        .collect()
}

/// A value of the series does not fit int16: write it as float32.
#[derive(Debug)]
struct NeedsFloat;

impl std::fmt::Display for NeedsFloat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value does not fit int16")
    }
}

impl std::error::Error for NeedsFloat {}

/// Stream a series as int16, or as float32 when a value does not fit; returns the caveats of
/// decoding (colour converted to grey).
fn stream_series(
    s: &Series,
    g: &Geometry,
    path: &Path,
    opts: &NiftiOptions,
    bar: &ProgressBar,
) -> anyhow::Result<(WrittenNifti, Vec<QualityFlag>)> {
    let start = bar.position();
    let attempt = |stored| -> anyhow::Result<(WrittenNifti, Vec<QualityFlag>)> {
        let reporter = Reporter::new();
        bar.set_position(start);
        let written = stream_as(s, g, path, opts, stored, &reporter, bar)?;
        Ok((written, merge_flags(reporter.into_sorted())))
    };
    match attempt(StoredType::Int16) {
        Err(e) if e.downcast_ref::<NeedsFloat>().is_some() => attempt(StoredType::Float32),
        other => other,
    }
}

fn stream_as(
    s: &Series,
    g: &Geometry,
    path: &Path,
    opts: &NiftiOptions,
    stored: StoredType,
    reporter: &Reporter,
    bar: &ProgressBar,
) -> anyhow::Result<WrittenNifti> {
    let mut out = NiftiStream::create(path, g, stored, opts)?;
    let encoder = out.encoder();
    let slab = (rayon::current_num_threads() * 4).max(1);
    let n = s.slices.len();
    let buffers = StreamBuffers {
        readers: Pool::new(),
        bytes: Pool::new(),
    };
    let mut write = |pending: Vec<EncodedVoxels>| -> anyhow::Result<()> {
        for e in pending {
            out.write_encoded(&e)?;
            buffers.bytes.put(e.into_buffer());
        }
        Ok(())
    };
    // Decode and encode slab n+1 while slab n is written (rayon::join), in slice order.
    let mut pending: Vec<EncodedVoxels> = Vec::new();
    for start in (0..n).step_by(slab) {
        let (written, decoded) = rayon::join(
            || write(std::mem::take(&mut pending)),
            || decode_slab(s, start..(start + slab).min(n), encoder, reporter, &buffers),
        );
        written?;
        pending = decoded?;
        bar.inc(pending.len() as u64);
    }
    write(pending)?;
    Ok(out.finish()?)
}

/// Milliseconds to seconds (BIDS times are in seconds).
fn secs(ms: Option<f64>) -> Option<f64> {
    ms.map(|x| x / 1000.0)
}

/// Insert `key: value` when the value is not null.
fn put(map: &mut Map<String, Value>, key: &str, value: impl serde::Serialize) {
    match serde_json::to_value(value) {
        Ok(v) if !v.is_null() && v != json!([]) => {
            map.insert(key.to_owned(), v);
        }
        _ => {}
    }
}

/// The sidecar: BIDS-like keys at the top level, csfleak's metadata under `"csfleak"`.
fn sidecar_json(s: &Series, m: &SeriesMeta, flags: &[QualityFlag], nifti: &WrittenNifti) -> Value {
    let mut top = Map::new();
    put(&mut top, "Modality", &m.modality);
    put(&mut top, "Manufacturer", &m.manufacturer);
    put(&mut top, "ManufacturersModelName", &m.manufacturer_model);
    put(&mut top, "BodyPartExamined", &m.body_part_examined);
    put(&mut top, "SeriesDescription", &m.series_description);
    put(&mut top, "ProtocolName", &m.protocol_name);
    put(&mut top, "SeriesNumber", m.series_number);
    put(&mut top, "SeriesInstanceUID", &m.series_instance_uid);
    put(&mut top, "ImageType", &m.image_type);
    put(&mut top, "SeriesTime", &m.series_time);
    put(&mut top, "SliceThickness", m.slice_thickness_mm);
    put(
        &mut top,
        "SpacingBetweenSlices",
        m.spacing_between_slices_mm,
    );
    put(&mut top, "EchoTime", secs(m.echo_time_ms));
    put(&mut top, "EchoNumber", m.echo_number);
    put(&mut top, "RepetitionTime", secs(m.repetition_time_ms));
    put(&mut top, "InversionTime", secs(m.inversion_time_ms));
    put(&mut top, "FlipAngle", m.flip_angle_deg);
    put(&mut top, "MRAcquisitionType", &m.mr_acquisition_type);
    put(&mut top, "ScanningSequence", m.scanning_sequence.join("_"));
    put(&mut top, "SequenceVariant", m.sequence_variant.join("_"));
    put(&mut top, "ScanOptions", m.scan_options.join("_"));
    put(&mut top, "SequenceName", &m.sequence_name);
    put(&mut top, "ContrastBolusAgent", &m.contrast_agent);
    put(&mut top, "ConvolutionKernel", &m.convolution_kernel);
    put(&mut top, "KVP", m.kvp);
    if let Some(nm) = &m.nm {
        nm_keys(&mut top, nm);
    }
    top.retain(|_, v| v != &json!(""));
    top.insert("ConversionSoftware".into(), json!("csfleak"));
    top.insert(
        "ConversionSoftwareVersion".into(),
        json!(env!("CARGO_PKG_VERSION")),
    );
    let file = nifti
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    top.insert(
        "csfleak".into(),
        json!({
            "series_id": s.id,
            "role": s.role,
            "n_files": s.instances.len(),
            "quality_flags": flags,
            "nifti": {
                "file": file,
                "data_type": nifti.data_type,
                "dims": nifti.dims,
                "compressed": nifti.compressed,
                "sform_ras": nifti.sform_ras,
                "note": "voxel (i, j, k) = (column, row, slice) of the DICOM images; sform maps it to RAS mm",
            },
            "series_meta": m,
        }),
    );
    Value::Object(top)
}

/// NM keys (names as in BIDS-PET where one exists; times in seconds / hours as suffixed).
fn nm_keys(top: &mut Map<String, Value>, nm: &NmMeta) {
    put(top, "Radiopharmaceutical", &nm.radiopharmaceutical);
    put(top, "TracerRadionuclide", &nm.radionuclide);
    put(top, "RadionuclideHalfLife", nm.radionuclide_half_life_s);
    put(
        top,
        "InjectionStart",
        &nm.radiopharmaceutical_start_datetime,
    );
    put(top, "AcquisitionDate", &nm.acquisition_date);
    put(top, "AcquisitionTime", &nm.acquisition_time);
    put(top, "FrameDuration", secs(nm.actual_frame_duration_ms));
    let hours = match (
        nm.radiopharmaceutical_start_datetime.as_deref(),
        nm.acquisition_date.as_deref(),
        nm.acquisition_time.as_deref(),
    ) {
        (Some(start), Some(date), Some(time)) => {
            match (
                dicom_dt_secs(start),
                dicom_dt_secs(&format!("{date}{time}")),
            ) {
                (Some(a), Some(b)) => Some(((b - a) / 3600.0 * 1000.0).round() / 1000.0),
                _ => None,
            }
        }
        _ => None,
    };
    put(top, "TimeSinceInjection_h", hours);
    put(top, "FrameIncrementPointer", &nm.frame_increment_pointer);
}

/// Seconds since 1970-01-01 of a DICOM DT value `YYYYMMDDHHMMSS[.F]` (time parts optional,
/// timezone offset ignored); `None` when malformed.
fn dicom_dt_secs(dt: &str) -> Option<f64> {
    let dt = dt.trim();
    let dt = dt.split(['+', '-']).next().unwrap_or(dt);
    let digits = |a: usize, b: usize| -> Option<i64> { dt.get(a..b)?.parse().ok() };
    let y = digits(0, 4)?;
    let mo = digits(4, 6)?;
    let d = digits(6, 8)?;
    // Missing time parts are 0; present but malformed ones make the value unusable.
    let part = |a: usize, b: usize| -> Option<i64> {
        match dt.get(a..b) {
            None => Some(0),
            Some(t) => t.parse().ok(),
        }
    };
    let h = part(8, 10)?;
    let mi = part(10, 12)?;
    let s: f64 = dt
        .get(12..)
        .filter(|r| !r.is_empty())
        .map_or(Some(0.0), |r| r.parse().ok())?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let whole = days * 86_400 + h * 3600 + mi * 60;
    #[allow(
        clippy::cast_precision_loss,
        reason = "seconds since 1970 are far below 2^53"
    )]
    Some(whole as f64 + s)
}

fn print_summary(
    converted: &[Converted],
    failed: &[Failed],
    out: &Path,
    started: Instant,
) -> anyhow::Result<()> {
    let quiet = crate::quiet();
    let mut stdout = std::io::stdout().lock();
    for c in converted.iter().filter(|_| !quiet) {
        let name = c
            .nifti
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dims: Vec<String> = c.nifti.dims.iter().map(ToString::to_string).collect();
        let flags = if c.n_flags > 0 {
            format!("  ({} quality flag(s), see the sidecar)", c.n_flags)
        } else {
            String::new()
        };
        writeln!(
            stdout,
            "ok      {name}  {}  {}  {}{flags}",
            dims.join("x"),
            serde_json::to_value(c.nifti.data_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            c.label
        )?;
    }
    for f in failed {
        writeln!(
            stdout,
            "FAILED  {} (in {}/): {}",
            f.label,
            f.path.display(),
            f.reason
        )?;
    }
    stdout.flush()?;
    if quiet {
        return Ok(());
    }
    eprintln!(
        "converted {} of {} series into {} in {:.1} s{}",
        converted.len(),
        converted.len() + failed.len(),
        out.display(),
        started.elapsed().as_secs_f64(),
        if failed.is_empty() {
            String::new()
        } else {
            format!("; {} failed (listed above)", failed.len())
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_paths_are_made_relative() {
        let m = relative_paths(
            "decoding a/b: invalid length in /data/SMITH^J/a/b: 3 bytes",
            Path::new("/data/SMITH^J/"),
        );
        assert_eq!(m, "decoding a/b: invalid length in a/b: 3 bytes");
    }

    #[test]
    fn only_temporary_names_are_recognised() {
        assert_eq!(stale_temp_pid(".3_T2_ab12.nii.gz.tmp-4242-7"), Some(4242));
        assert_eq!(stale_temp_pid("3_T2_ab12.nii.gz.tmp-4242-7"), None);
        assert_eq!(stale_temp_pid(".3_T2_ab12.nii.gz"), None);
        assert_eq!(stale_temp_pid(".x.tmp-42"), None);
        assert_eq!(stale_temp_pid(".x.tmp-4a-1"), None);
        assert_eq!(stale_temp_pid("..tmp-1-1"), None);
    }

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // No process has this PID (Linux PIDs stay below 2^22).
        let dead = dir.path().join(".a.nii.gz.tmp-999999999-0");
        let mine = dir
            .path()
            .join(format!(".b.nii.gz.tmp-{}-0", std::process::id()));
        let output = dir.path().join("a.nii.gz");
        let hidden_other = dir.path().join(".notes");
        for p in [&dead, &mine, &output, &hidden_other] {
            std::fs::write(p, b"x").unwrap();
        }
        let removed = clean_stale_temps(dir.path());
        if Path::new("/proc/self").exists() {
            assert_eq!(removed, 1);
            assert!(!dead.exists());
        } else {
            assert_eq!(removed, 0);
        }
        assert!(mine.exists() && output.exists() && hidden_other.exists());
    }

    #[test]
    fn dicom_datetimes_difference_in_hours() {
        let a = dicom_dt_secs("20260101120000").unwrap();
        let b = dicom_dt_secs("20260102120000.5").unwrap();
        assert!((b - a - 86_400.5).abs() < 1e-9);
        // Across a month and a leap day.
        let c = dicom_dt_secs("20240228230000").unwrap();
        let d = dicom_dt_secs("20240301010000").unwrap();
        assert!((d - c - 26.0 * 3600.0).abs() < 1e-9);
        assert_eq!(dicom_dt_secs("2026"), None);
        assert_eq!(dicom_dt_secs("20261301"), None);
        assert_eq!(dicom_dt_secs("2026010112xx"), None);
        // Timezone offsets are ignored.
        assert_eq!(dicom_dt_secs("20260101+0900"), dicom_dt_secs("20260101"));
    }
}
