//! Loading one series: decode its files in parallel and assemble a [`Volume`] or a
//! [`PlanarImage`].
//!
//! Memory stays at one series: the output buffer is allocated once, after every file was checked
//! to be large enough for what its header promises, and each rayon task decodes one file and
//! copies its frames straight into their slots, so at most one decoded file per worker exists
//! besides the output.

use std::path::Path;

use csfleak_volume::{PlanarImage, Volume, checked_len};
use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use rayon::prelude::*;

use crate::header::{get_i64, get_str};
use crate::meta::SeriesMeta;
use crate::quality::{QualityFlag, Reporter, merge_flags};
use crate::series::{Series, SeriesLayout};
use crate::{DicomFile, Error, Result};

/// A loaded series: voxels (or frames), metadata and caveats.
#[derive(Debug, Clone)]
pub struct LoadedSeries {
    /// Metadata (as in the [`Series`]).
    pub meta: SeriesMeta,
    /// The pixels.
    pub data: SeriesData,
    /// Caveats from indexing and loading.
    pub flags: Vec<QualityFlag>,
}

/// The pixels of a loaded series.
#[derive(Debug, Clone)]
pub enum SeriesData {
    /// Parallel slices with geometry.
    Volume(Volume),
    /// Projection frames (NM planar, images without geometry).
    Planar(PlanarImage),
}

/// Options of a [`SeriesLoader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Refuse series with more voxels than this (default [`csfleak_volume::MAX_ELEMENTS`]).
    pub max_voxels: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            max_voxels: csfleak_volume::MAX_ELEMENTS,
        }
    }
}

impl LoadOptions {
    /// Set the voxel limit.
    pub fn with_max_voxels(mut self, n: usize) -> Self {
        self.max_voxels = n;
        self
    }
}

/// Loads series (builder form of [`load_series`]).
#[derive(Debug, Clone, Default)]
pub struct SeriesLoader {
    options: LoadOptions,
}

impl SeriesLoader {
    /// A loader with default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the options.
    pub fn options(mut self, options: LoadOptions) -> Self {
        self.options = options;
        self
    }

    /// Decode every file of the series (in parallel) into a volume or planar frames.
    pub fn load(&self, series: &Series) -> Result<LoadedSeries> {
        let first_path = series
            .instances
            .first()
            .map_or_else(|| Path::new("").to_path_buf(), |i| i.rel_path.clone());
        let plane = series.rows.saturating_mul(series.cols);
        let n = series.slices.len();
        let total = checked_len(&[n, series.rows, series.cols]).map_err(|e| Error::Volume {
            series: series.label(),
            path: first_path.clone(),
            source: e,
        })?;
        if total > self.options.max_voxels {
            return Err(Error::LimitExceeded {
                detail: format!(
                    "series {} has {total} voxels, above the limit of {}",
                    series.label(),
                    self.options.max_voxels
                ),
                path: first_path,
            });
        }
        check_file_sizes(series)?;
        let mut buf = zeroed_output(total).map_err(|e| Error::Volume {
            series: series.label(),
            path: first_path.clone(),
            source: e,
        })?;
        let mut flags = series.flags.clone();
        {
            let mut chunks: Vec<Option<&mut [f32]>> =
                buf.chunks_mut(plane.max(1)).map(Some).collect();
            let mut per_instance: Vec<Vec<(usize, &mut [f32])>> =
                series.instances.iter().map(|_| Vec::new()).collect();
            for (k, s) in series.slices.iter().enumerate() {
                if let (Some(slot), Some(list)) = (
                    chunks.get_mut(k).and_then(Option::take),
                    per_instance.get_mut(s.instance),
                ) {
                    list.push((s.frame, slot));
                }
            }
            let reporter = Reporter::new();
            let results: Vec<Result<()>> = per_instance
                .into_par_iter()
                .enumerate()
                // One decode buffer per worker, reused from file to file: saves an allocation
                // and its page faults per file.
                .map_init(Buffers::default, |buffers, (i, targets)| {
                    if targets.is_empty() {
                        return Ok(());
                    }
                    let inst = &series.instances[i];
                    fill_from_file(
                        &inst.path,
                        &inst.rel_path,
                        series,
                        targets,
                        &reporter,
                        buffers,
                    )
                })
                .collect();
            // The first failure in file order, whatever the thread schedule.
            for r in results {
                r?;
            }
            flags.extend(merge_flags(reporter.into_sorted()));
        }
        let data = match (series.layout, series.geometry) {
            (SeriesLayout::Volume, Some(g)) => {
                SeriesData::Volume(Volume::from_vec(g, buf).map_err(|e| Error::Volume {
                    series: series.label(),
                    path: first_path.clone(),
                    source: e,
                })?)
            }
            _ => SeriesData::Planar(
                PlanarImage::from_vec(
                    n,
                    series.rows,
                    series.cols,
                    buf,
                    series.meta.pixel_spacing_mm,
                )
                .map_err(|e| Error::Volume {
                    series: series.label(),
                    path: first_path.clone(),
                    source: e,
                })?,
            ),
        };
        Ok(LoadedSeries {
            meta: series.meta.clone(),
            data,
            flags,
        })
    }
}

/// Transfer syntaxes whose pixel data is stored as is (PS3.5 A.1-A.3).
const NATIVE_SYNTAXES: [&str; 3] = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
];

/// The largest compression ratio believed from a header (no codec compresses medical images
/// beyond ~1000:1); bigger claims are absurd headers.
const MAX_COMPRESSION_RATIO: u128 = 1000;

/// Before allocating the output from header sizes, check that every file is large enough to
/// hold the pixels its header promises (cheap: one `stat` per file).
fn check_file_sizes(series: &Series) -> Result<()> {
    let bits = u128::from(series.meta.bits_allocated.unwrap_or(1).max(1));
    let samples = u128::from(series.meta.samples_per_pixel.max(1));
    let ybr422 = series
        .meta
        .photometric_interpretation
        .as_deref()
        .is_some_and(|p| p.contains("_422"));
    let per_pixel_bits = if ybr422 { 2 * bits } else { samples * bits };
    let plane = series.rows as u128 * series.cols as u128;
    for inst in &series.instances {
        let need = (plane * inst.n_frames as u128 * per_pixel_bits).div_ceil(8);
        let len = std::fs::metadata(&inst.path)
            .map_err(|e| Error::Io {
                path: inst.rel_path.clone(),
                source: e,
            })?
            .len();
        let len = u128::from(len);
        let native = NATIVE_SYNTAXES.contains(&inst.transfer_syntax.as_str())
            || inst.transfer_syntax.is_empty();
        let ok = if native {
            len >= need
        } else {
            need <= len.saturating_mul(MAX_COMPRESSION_RATIO).max(1 << 26)
        };
        if !ok {
            return Err(Error::LimitExceeded {
                detail: format!(
                    "header needs {need} bytes of pixel data ({} x {} x {} frame(s)), the file has {len} bytes",
                    series.cols, series.rows, inst.n_frames
                ),
                path: inst.rel_path.clone(),
            });
        }
    }
    Ok(())
}

/// The zero-filled output buffer of a series.
///
/// `try_alloc` zero-fills by writing every element, single-threaded: 0.6 s for a 400-slice
/// 512x512 CT on a busy 2-core machine, half of the whole load. `vec![0.0; n]` gets zeroed pages
/// from the OS lazily (calloc), and the parallel copies then touch them. The size has already
/// been checked against `MAX_ELEMENTS` and the files' real sizes, and a fallible reservation of
/// the same size is probed first, so an absurd size is still an error rather than an abort.
fn zeroed_output(n: usize) -> csfleak_volume::Result<Vec<f32>> {
    let mut probe: Vec<f32> = Vec::new();
    probe
        .try_reserve_exact(n)
        .map_err(|_| csfleak_volume::Error::LimitExceeded {
            elements: n,
            limit: csfleak_volume::MAX_ELEMENTS,
        })?;
    drop(probe);
    Ok(vec![0.0_f32; n])
}

/// Load a series with default options. See [`SeriesLoader::load`].
pub fn load_series(series: &Series) -> Result<LoadedSeries> {
    SeriesLoader::new().load(series)
}

/// Reads the slices of a series one at a time into caller-owned planes: the loader of
/// [`SeriesLoader::load`] for callers that stream a series (e.g. to a file) instead of holding
/// it whole. Keep one reader per worker thread: its buffers are reused from file to file.
///
/// ```no_run
/// use csfleak_dicom::{Reporter, SliceReader, scan};
/// let report = scan(std::path::Path::new("study/"))?;
/// for series in report.series() {
///     let mut reader = SliceReader::new();
///     let mut plane = vec![0.0_f32; series.rows * series.cols];
///     let reporter = Reporter::new();
///     for k in 0..series.slices.len() {
///         reader.read_slice(series, k, &mut plane, &reporter)?;
///     }
/// }
/// # Ok::<(), csfleak_dicom::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct SliceReader {
    buffers: Buffers,
}

impl SliceReader {
    /// A reader with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode slice `slice` (an index into [`Series::slices`]) into `out`, which must hold
    /// `rows x cols` values: the same values as [`SeriesLoader::load`] puts there (rescaled;
    /// colour converted to luminance, reported to `reporter`). Errors name the file
    /// (scan-relative path).
    pub fn read_slice(
        &mut self,
        series: &Series,
        slice: usize,
        out: &mut [f32],
        reporter: &Reporter,
    ) -> Result<()> {
        let first = || {
            series
                .instances
                .first()
                .map_or_else(|| Path::new("").to_path_buf(), |i| i.rel_path.clone())
        };
        let Some(r) = series.slices.get(slice) else {
            return Err(Error::Invalid {
                what: "slice index",
                detail: format!(
                    "slice {slice} asked, the series has {}",
                    series.slices.len()
                ),
                path: first(),
            });
        };
        let Some(inst) = series.instances.get(r.instance) else {
            return Err(Error::Invalid {
                what: "slice index",
                detail: "a slice refers to a file missing from the series".into(),
                path: first(),
            });
        };
        if out.len() != series.rows.saturating_mul(series.cols) {
            return Err(Error::Invalid {
                what: "output size",
                detail: format!(
                    "{} values given for a {}x{} slice",
                    out.len(),
                    series.cols,
                    series.rows
                ),
                path: inst.rel_path.clone(),
            });
        }
        fill_from_file(
            &inst.path,
            &inst.rel_path,
            series,
            vec![(r.frame, out)],
            reporter,
            &mut self.buffers,
        )
    }
}

/// Buffers of one loader worker, reused from file to file: saves an allocation and its page
/// faults per file.
#[derive(Debug, Default)]
struct Buffers {
    /// Decoded values of the general path.
    values: Vec<f32>,
    /// Header prefix of the native path.
    prefix: Vec<u8>,
    /// Pixel bytes of one frame on the native path.
    raw: Vec<u8>,
}

/// Decode one file and copy the wanted frames into their slots; caveats go to `reporter`.
fn fill_from_file(
    path: &Path,
    rel: &Path,
    series: &Series,
    mut targets: Vec<(usize, &mut [f32])>,
    reporter: &Reporter,
    buffers: &mut Buffers,
) -> Result<()> {
    if let Some(mut native) = crate::open::open_native(path, &mut buffers.prefix)
        && crate::pixels::fill_native(
            &mut native,
            &buffers.prefix,
            path,
            (series.rows, series.cols),
            &mut targets,
            &mut buffers.raw,
        )
        .map_err(|e| relabel(e, rel))?
    {
        return Ok(());
    }
    let buffer = &mut buffers.values;
    let file = crate::open_full(path).map_err(|e| relabel(e, rel))?;
    check_pixel_length(&file, rel)?;
    let px = crate::pixels::decode_pixels_reusing(
        &file,
        path,
        &crate::pixels::DecodeOptions::default(),
        std::mem::take(buffer),
    )
    .map_err(|e| relabel(e, rel))?;
    if px.rows != series.rows || px.cols != series.cols {
        return Err(Error::Invalid {
            what: "image size",
            detail: format!(
                "{}x{} decoded, the series has {}x{}",
                px.cols, px.rows, series.cols, series.rows
            ),
            path: rel.to_path_buf(),
        });
    }
    let plane = px.rows * px.cols;
    let s = px.samples.max(1);
    for (frame, slot) in targets {
        let start = frame * plane * s;
        let Some(src) = px.values.get(start..start + plane * s) else {
            return Err(Error::Invalid {
                what: "frame count",
                detail: format!(
                    "frame {} not in the decoded {} frame(s)",
                    frame + 1,
                    px.frames
                ),
                path: rel.to_path_buf(),
            });
        };
        if s == 1 {
            slot.copy_from_slice(src);
        } else {
            for (d, p) in slot.iter_mut().zip(src.chunks_exact(s)) {
                *d = if s >= 3 {
                    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
                } else {
                    p[0]
                };
            }
        }
    }
    *buffer = px.values;
    if s > 1 {
        reporter.report(QualityFlag::new(
            "colour_to_grey",
            "colour images were converted to luminance (0.299 R + 0.587 G + 0.114 B)",
            vec![rel.to_path_buf()],
        ));
    }
    Ok(())
}

/// Replace an absolute path in an error by the scan-relative one.
pub(crate) fn relabel(e: Error, rel: &Path) -> Error {
    match e {
        Error::Read { source, .. } => Error::Read {
            path: rel.to_path_buf(),
            source,
        },
        Error::Io { source, .. } => Error::Io {
            path: rel.to_path_buf(),
            source,
        },
        Error::MissingAttribute { keyword, .. } => Error::MissingAttribute {
            keyword,
            path: rel.to_path_buf(),
        },
        Error::Invalid { what, detail, .. } => Error::Invalid {
            what,
            detail,
            path: rel.to_path_buf(),
        },
        Error::Unsupported { what, detail, .. } => Error::Unsupported {
            what,
            detail,
            path: rel.to_path_buf(),
        },
        Error::LimitExceeded { detail, .. } => Error::LimitExceeded {
            detail,
            path: rel.to_path_buf(),
        },
        other => other,
    }
}

/// Refuse a file whose header promises more pixel bytes than it holds, before anything is
/// allocated from the header's sizes.
pub(crate) fn check_pixel_length(file: &DicomFile, rel: &Path) -> Result<()> {
    let rows = get_i64(file, tags::ROWS).unwrap_or(0);
    let cols = get_i64(file, tags::COLUMNS).unwrap_or(0);
    let frames = get_i64(file, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    let samples = get_i64(file, tags::SAMPLES_PER_PIXEL).unwrap_or(1).max(1);
    let bits = get_i64(file, tags::BITS_ALLOCATED).unwrap_or(16).max(1);
    let (Ok(rows), Ok(cols), Ok(frames), Ok(samples), Ok(bits)) = (
        u128::try_from(rows),
        u128::try_from(cols),
        u128::try_from(frames),
        u128::try_from(samples),
        u128::try_from(bits),
    ) else {
        return Err(Error::Invalid {
            what: "image size",
            detail: "negative Rows, Columns or Number of Frames".into(),
            path: rel.to_path_buf(),
        });
    };
    let ybr422 = get_str(file, tags::PHOTOMETRIC_INTERPRETATION)
        .is_some_and(|p| p.starts_with("YBR_FULL_422") || p.starts_with("YBR_PARTIAL_422"));
    let samples_bytes = if ybr422 { 2 } else { samples };
    let expected_bits = rows * cols * frames * samples_bytes * bits;
    let expected = expected_bits.div_ceil(8);
    let Some(elem) = file.get(tags::PIXEL_DATA) else {
        return Err(Error::MissingAttribute {
            keyword: "PixelData",
            path: rel.to_path_buf(),
        });
    };
    match elem.value() {
        Value::Primitive(p) => {
            let actual = p.calculate_byte_len() as u128;
            if actual < expected {
                return Err(Error::LimitExceeded {
                    detail: format!(
                        "header needs {expected} bytes of pixel data (Rows {rows} x Columns {cols} x frames {frames} x samples {samples} x {bits} bits), the file holds {actual}"
                    ),
                    path: rel.to_path_buf(),
                });
            }
        }
        Value::PixelSequence(seq) => {
            let fragments = seq.fragments();
            let n_frag = fragments.len() as u128;
            let bytes: u128 = fragments.iter().map(|f| f.len() as u128).sum();
            if n_frag < frames {
                return Err(Error::LimitExceeded {
                    detail: format!(
                        "Number of Frames {frames} but only {n_frag} compressed fragment(s)"
                    ),
                    path: rel.to_path_buf(),
                });
            }
            if expected > bytes.saturating_mul(MAX_COMPRESSION_RATIO).max(1 << 26) {
                return Err(Error::LimitExceeded {
                    detail: format!(
                        "header needs {expected} decoded bytes from {bytes} compressed bytes"
                    ),
                    path: rel.to_path_buf(),
                });
            }
        }
        Value::Sequence(_) => {
            return Err(Error::Invalid {
                what: "pixel data",
                detail: "Pixel Data is a sequence".into(),
                path: rel.to_path_buf(),
            });
        }
    }
    Ok(())
}
