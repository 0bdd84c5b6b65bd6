//! Pixel decoding by hand from the stored or decompressed bytes.
//!
//! Contract: [`decode_pixels`] returns every frame as `f32` in the order
//! `[frame][row][col][sample]`, masked to Bits Stored and sign-extended by Pixel
//! Representation, after the Modality LUT for single-sample images:
//!
//! 1. the Modality LUT Sequence when present (values below the first mapped value take the
//!    first entry, values past the end the last one; PS3.3 C.11.1);
//! 2. else the top-level Rescale Slope / Rescale Intercept (each defaults to 1 / 0 when only
//!    the other is present);
//! 3. else, for enhanced objects, the Pixel Value Transformation Sequence of the Per-frame
//!    Functional Groups, else of the Shared Functional Groups, per frame.
//!
//! No VOI LUT or window is applied. Colour images come out as RGB: uncompressed and RLE
//! `YBR_FULL` / `YBR_FULL_422` are converted with the PS3.3 C.7.6.3.1.2 equations (rounded as
//! pydicom does); JPEG and JPEG 2000 codecs convert themselves. `PALETTE COLOR` images are
//! **not** expanded: the values are the palette indices, as pydicom's `pixel_array` returns them.
//!
//! Uncompressed data is read straight from the element's bytes (Bits Allocated 1, 8, 16, 32,
//! 64; Float / Double Float Pixel Data; Planar Configuration 0 and 1; little and big endian).
//! RLE Lossless is decoded here for every Bits Allocated; other compressed syntaxes go through
//! the dicom-rs codec registry (JPEG baseline/lossless, JPEG 2000 with the `openjp2` codec),
//! except 8-bit colour JPEG (decoded here to control the colour transform), 12-bit greyscale
//! JPEG (decoded here; jpeg-decoder has no 12-bit support) and JPEG-LS (a pure
//! Rust T.87 decoder here; `CharLS` instead with this crate's `charls` feature). The expected size is computed with checked
//! arithmetic from Rows x Columns x Frames x Samples x Bits and compared with the limit and with
//! the real length of the data before anything is allocated.

use std::io::{Read, Seek};
use std::path::Path;

use dicom_core::Tag;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::open::{EXPLICIT_VR_BIG_ENDIAN, NativeFile};
use crate::{DicomFile, Error, Result};

/// Decoded pixel values of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedPixels {
    /// Number of frames.
    pub frames: usize,
    /// Rows per frame.
    pub rows: usize,
    /// Columns per frame.
    pub cols: usize,
    /// Samples per pixel (1 grey, 3 colour).
    pub samples: usize,
    /// Values in order `[frame][row][col][sample]`, after the Modality LUT.
    pub values: Vec<f32>,
}

impl DecodedPixels {
    /// Number of values in one frame (`rows * cols * samples`).
    pub fn frame_len(&self) -> usize {
        self.rows * self.cols * self.samples
    }

    /// The values of frame `index`, if it exists.
    pub fn frame(&self, index: usize) -> Option<&[f32]> {
        let n = self.frame_len();
        self.values
            .get(index.checked_mul(n)?..(index + 1).checked_mul(n)?)
    }
}

/// Limits and choices for [`decode_pixels_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct DecodeOptions {
    /// The largest number of output values (`frames * rows * cols * samples`) accepted; a
    /// header asking for more gives [`Error::LimitExceeded`]. Default 2^30 (4 GiB of `f32`).
    pub(crate) max_values: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_values: 1 << 30,
        }
    }
}

/// Decode every frame of an opened file (at most 2^30 values; see the module documentation).
pub fn decode_pixels(file: &DicomFile, path: &Path) -> Result<DecodedPixels> {
    decode_pixels_with(file, path, &DecodeOptions::default())
}

/// Open and decode one file.
pub fn decode_file(path: &Path) -> Result<DecodedPixels> {
    let file = crate::open_full(path)?;
    decode_pixels(&file, path)
}

/// The image pixel description (PS3.3 C.7.6.3) as read from a file.
#[derive(Debug, Clone)]
struct Layout {
    rows: usize,
    cols: usize,
    frames: usize,
    samples: usize,
    bits_allocated: u32,
    bits_stored: u32,
    signed: bool,
    planar: bool,
    photometric: String,
    /// Top-level rescale to fuse into the 8/16-bit conversion (grey images without a Modality
    /// LUT Sequence); the other cases are applied afterwards by [`apply_modality_lut`].
    rescale: Option<(f64, f64)>,
}

impl Layout {
    fn frame_values(&self) -> Option<usize> {
        self.rows.checked_mul(self.cols)?.checked_mul(self.samples)
    }

    fn total_values(&self) -> Option<usize> {
        self.frame_values()?.checked_mul(self.frames)
    }

    /// Bytes of uncompressed pixel data the header describes.
    fn native_bytes(&self) -> Option<usize> {
        let mut values = self.total_values()?;
        if self.is_ybr_422() {
            // two luminance and one pair of chrominance samples per two pixels (PS3.3 C.7.6.3.1.2)
            values = values.checked_mul(2)? / 3;
        }
        if self.bits_allocated == 1 {
            Some(values.div_ceil(8))
        } else {
            values.checked_mul(self.bits_allocated as usize / 8)
        }
    }

    /// Bytes of interleaved full-resolution samples a codec returns.
    fn decoded_bytes(&self) -> Option<usize> {
        let values = self.total_values()?;
        if self.bits_allocated == 1 {
            Some(values.div_ceil(8))
        } else {
            values.checked_mul(self.bits_allocated as usize / 8)
        }
    }

    fn is_ybr_422(&self) -> bool {
        self.photometric == "YBR_FULL_422" && self.samples == 3
    }
}

/// Decode every frame of an opened file. See the [module documentation](self).
pub(crate) fn decode_pixels_with(
    file: &DicomFile,
    path: &Path,
    options: &DecodeOptions,
) -> Result<DecodedPixels> {
    decode_pixels_reusing(file, path, options, Vec::new())
}

/// [`decode_pixels_with`] writing into `buffer` (cleared first; its capacity is reused): a
/// loader that hands back the `values` of the previous file saves the allocation and the page
/// faults of a fresh buffer per file.
pub(crate) fn decode_pixels_reusing(
    file: &DicomFile,
    path: &Path,
    options: &DecodeOptions,
    buffer: Vec<f32>,
) -> Result<DecodedPixels> {
    let (element_tag, float_kind) = if file.get(tags::PIXEL_DATA).is_some() {
        (tags::PIXEL_DATA, None)
    } else if file.get(tags::FLOAT_PIXEL_DATA).is_some() {
        (tags::FLOAT_PIXEL_DATA, Some(32))
    } else if file.get(tags::DOUBLE_FLOAT_PIXEL_DATA).is_some() {
        (tags::DOUBLE_FLOAT_PIXEL_DATA, Some(64))
    } else {
        return Err(Error::MissingAttribute {
            keyword: "PixelData",
            path: path.to_path_buf(),
        });
    };
    let mut layout = read_layout(file, path, float_kind)?;
    let total = layout
        .total_values()
        .ok_or_else(|| too_big(&layout, path))?;
    if total > options.max_values {
        return Err(too_big(&layout, path));
    }
    let ts_uid = file.meta().transfer_syntax().to_owned();
    if layout.samples == 1 && float_kind.is_none() {
        layout.rescale = fusable_rescale(file, path)?;
    }
    let fused = layout.rescale.is_some() && matches!(layout.bits_allocated, 8 | 16);
    let Some(element) = file.get(element_tag) else {
        return Err(Error::MissingAttribute {
            keyword: "PixelData",
            path: path.to_path_buf(),
        });
    };
    let mut values = match element.value() {
        Value::Primitive(p) => {
            let expected = layout
                .native_bytes()
                .ok_or_else(|| too_big(&layout, path))?;
            let raw = p.to_bytes();
            if raw.len() < expected {
                return Err(Error::Invalid {
                    what: "pixel data length",
                    detail: format!(
                        "{} bytes present, {expected} expected from {} frame(s) of {}x{}x{} at {} bits",
                        raw.len(),
                        layout.frames,
                        layout.rows,
                        layout.cols,
                        layout.samples,
                        layout.bits_allocated
                    ),
                    path: path.to_path_buf(),
                });
            }
            let order = byte_order(p, &ts_uid, layout.bits_allocated);
            let raw = &raw[..expected];
            if layout.is_ybr_422() {
                let full = expand_ybr_422(raw, &layout, path)?;
                layout.photometric = "YBR_FULL".into();
                samples_to_f32(buffer, &full, ByteOrder::Little, &layout, float_kind, path)?
            } else {
                samples_to_f32(buffer, raw, order, &layout, float_kind, path)?
            }
        }
        Value::PixelSequence(seq) => {
            let bytes = decode_encapsulated(file, seq.fragments(), &ts_uid, &layout, path)?;
            // codecs return interleaved samples in native (little endian) byte order; the JPEG
            // family converts colour to RGB itself, RLE keeps the stored colour space
            layout.planar = false;
            if ts_uid != uids::RLE_LOSSLESS && layout.samples == 3 {
                layout.photometric = "RGB".into();
            }
            samples_to_f32(buffer, &bytes, ByteOrder::Little, &layout, None, path)?
        }
        Value::Sequence(_) => {
            return Err(Error::Invalid {
                what: "pixel data",
                detail: "encoded as a sequence of items".into(),
                path: path.to_path_buf(),
            });
        }
    };
    if layout.planar && layout.samples > 1 {
        interleave_planes(&mut values, &layout, path)?;
    }
    if layout.samples == 3 && layout.photometric == "YBR_FULL" && layout.bits_allocated == 8 {
        ybr_full_to_rgb(&mut values);
    }
    if layout.samples == 1 && float_kind.is_none() && !fused {
        apply_modality_lut(file, &layout, &mut values, path)?;
    }
    Ok(DecodedPixels {
        frames: layout.frames,
        rows: layout.rows,
        cols: layout.cols,
        samples: layout.samples,
        values,
    })
}

fn too_big(layout: &Layout, path: &Path) -> Error {
    Error::LimitExceeded {
        detail: format!(
            "{} frame(s) of {}x{} with {} sample(s) per pixel",
            layout.frames, layout.rows, layout.cols, layout.samples
        ),
        path: path.to_path_buf(),
    }
}

/// An unsigned integer attribute, `None` when absent or empty.
fn attr_uint(
    obj: &InMemDicomObject,
    tag: Tag,
    keyword: &'static str,
    path: &Path,
) -> Result<Option<u32>> {
    let Some(elem) = obj.get(tag) else {
        return Ok(None);
    };
    if elem
        .value()
        .primitive()
        .is_none_or(|p| p.to_bytes().is_empty())
    {
        return Ok(None);
    }
    elem.to_int::<u32>().map(Some).map_err(|e| Error::Invalid {
        what: keyword,
        detail: format!("not an unsigned integer ({e})"),
        path: path.to_path_buf(),
    })
}

/// A decimal attribute, `None` when absent or empty.
fn attr_f64(
    obj: &InMemDicomObject,
    tag: Tag,
    keyword: &'static str,
    path: &Path,
) -> Result<Option<f64>> {
    let Some(elem) = obj.get(tag) else {
        return Ok(None);
    };
    if elem
        .value()
        .primitive()
        .is_none_or(|p| p.to_str().trim().is_empty())
    {
        return Ok(None);
    }
    match elem.to_float64() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(v) => Err(Error::Invalid {
            what: keyword,
            detail: format!("not finite ({v})"),
            path: path.to_path_buf(),
        }),
        Err(e) => Err(Error::Invalid {
            what: keyword,
            detail: format!("not a number ({e})"),
            path: path.to_path_buf(),
        }),
    }
}

fn required(value: Option<u32>, keyword: &'static str, path: &Path) -> Result<u32> {
    value.ok_or_else(|| Error::MissingAttribute {
        keyword,
        path: path.to_path_buf(),
    })
}

fn read_layout(file: &DicomFile, path: &Path, float_kind: Option<u32>) -> Result<Layout> {
    let obj: &InMemDicomObject = file;
    let rows = required(attr_uint(obj, tags::ROWS, "Rows", path)?, "Rows", path)?;
    let cols = required(
        attr_uint(obj, tags::COLUMNS, "Columns", path)?,
        "Columns",
        path,
    )?;
    let samples = attr_uint(obj, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel", path)?.unwrap_or(1);
    let bits_allocated = match float_kind {
        Some(bits) => bits,
        None => required(
            attr_uint(obj, tags::BITS_ALLOCATED, "BitsAllocated", path)?,
            "BitsAllocated",
            path,
        )?,
    };
    let mut bits_stored =
        attr_uint(obj, tags::BITS_STORED, "BitsStored", path)?.unwrap_or(bits_allocated);
    if bits_stored == 0 || bits_stored > bits_allocated || float_kind.is_some() {
        bits_stored = bits_allocated;
    }
    let signed =
        attr_uint(obj, tags::PIXEL_REPRESENTATION, "PixelRepresentation", path)?.unwrap_or(0) == 1;
    let planar =
        attr_uint(obj, tags::PLANAR_CONFIGURATION, "PlanarConfiguration", path)?.unwrap_or(0) == 1;
    let frames = match obj.get(tags::NUMBER_OF_FRAMES) {
        None => 1,
        Some(e)
            if e.value()
                .primitive()
                .is_none_or(|p| p.to_str().trim().is_empty()) =>
        {
            1
        }
        Some(e) => e.to_int::<i64>().map_err(|err| Error::Invalid {
            what: "NumberOfFrames",
            detail: format!("not an integer ({err})"),
            path: path.to_path_buf(),
        })?,
    };
    let frames = usize::try_from(frames.max(1)).map_err(|_| Error::LimitExceeded {
        detail: format!("NumberOfFrames {frames}"),
        path: path.to_path_buf(),
    })?;
    let photometric = obj
        .get(tags::PHOTOMETRIC_INTERPRETATION)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_matches(['\0', ' ']).to_owned())
        .unwrap_or_default();
    if rows == 0 || cols == 0 {
        return Err(Error::Invalid {
            what: "image size",
            detail: format!("{rows} rows x {cols} columns"),
            path: path.to_path_buf(),
        });
    }
    if !matches!(samples, 1 | 3 | 4) {
        return Err(Error::Unsupported {
            what: "SamplesPerPixel",
            detail: samples.to_string(),
            path: path.to_path_buf(),
        });
    }
    if !matches!(bits_allocated, 1 | 8 | 16 | 32 | 64) {
        return Err(Error::Unsupported {
            what: "BitsAllocated",
            detail: bits_allocated.to_string(),
            path: path.to_path_buf(),
        });
    }
    Ok(Layout {
        rows: rows as usize,
        cols: cols as usize,
        frames,
        samples: samples as usize,
        bits_allocated,
        bits_stored,
        signed,
        planar,
        photometric,
        rescale: None,
    })
}

/// How multi-byte samples are laid out in a byte buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteOrder {
    Little,
    Big,
    /// 32-bit big endian samples held as 16-bit words converted to native order by the parser.
    BigAsWords,
}

/// The byte order of the `to_bytes()` view of a native pixel data value.
fn byte_order(p: &PrimitiveValue, ts_uid: &str, bits_allocated: u32) -> ByteOrder {
    let big_file = ts_uid == EXPLICIT_VR_BIG_ENDIAN;
    match p {
        // bytes as stored in the file
        PrimitiveValue::U8(_) if big_file => ByteOrder::Big,
        // words already in native order: 16-bit samples are right, wider ones are word-swapped
        PrimitiveValue::U16(_) | PrimitiveValue::I16(_) if big_file && bits_allocated == 32 => {
            ByteOrder::BigAsWords
        }
        _ => ByteOrder::Little,
    }
}

/// Mask to Bits Stored and sign-extend: `raw` is a sample of `bits_allocated` bits.
#[derive(Debug, Clone, Copy)]
struct Bits {
    mask: u64,
    sign_bit: u64,
    signed: bool,
}

impl Bits {
    fn new(layout: &Layout) -> Self {
        let stored = layout.bits_stored.min(64);
        let mask = if stored >= 64 {
            u64::MAX
        } else {
            (1u64 << stored) - 1
        };
        Self {
            mask,
            sign_bit: 1u64 << (stored.max(1) - 1),
            signed: layout.signed,
        }
    }

    #[inline]
    #[allow(
        clippy::cast_possible_wrap,
        reason = "two's complement reinterpretation is the point"
    )]
    fn value(self, raw: u64) -> i64 {
        let v = raw & self.mask;
        if self.signed && v & self.sign_bit != 0 {
            (v | !self.mask) as i64
        } else {
            v as i64
        }
    }
}

/// Convert a byte buffer of samples to `f32` (no Modality LUT yet).
fn samples_to_f32(
    mut out: Vec<f32>,
    raw: &[u8],
    order: ByteOrder,
    layout: &Layout,
    float_kind: Option<u32>,
    path: &Path,
) -> Result<Vec<f32>> {
    let total = layout.total_values().ok_or_else(|| too_big(layout, path))?;
    out.clear();
    out.try_reserve_exact(total)
        .map_err(|_| Error::LimitExceeded {
            detail: format!("cannot allocate {total} values"),
            path: path.to_path_buf(),
        })?;
    let bits = Bits::new(layout);
    #[allow(
        clippy::cast_precision_loss,
        reason = "stored values have at most 32 significant bits here"
    )]
    let conv = |raw: u64| bits.value(raw) as f32;
    match (layout.bits_allocated, float_kind) {
        (32, Some(_)) => out.extend(raw.chunks_exact(4).take(total).map(|c| {
            let b: [u8; 4] = [c[0], c[1], c[2], c[3]];
            match order {
                ByteOrder::Little => f32::from_le_bytes(b),
                ByteOrder::Big => f32::from_be_bytes(b),
                ByteOrder::BigAsWords => f32::from_bits(words_be32(b)),
            }
        })),
        (64, Some(_)) => out.extend(raw.chunks_exact(8).take(total).map(|c| {
            let b: [u8; 8] = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
            #[allow(clippy::cast_possible_truncation, reason = "output is f32 by contract")]
            let v = match order {
                ByteOrder::Big => f64::from_be_bytes(b),
                _ => f64::from_le_bytes(b),
            } as f32;
            v
        })),
        (1, _) => out.extend((0..total).map(|i| {
            let byte = raw.get(i / 8).copied().unwrap_or(0);
            f32::from((byte >> (i % 8)) & 1)
        })),
        // 8 and 16 bits, the common cases, without branches per sample: shifting left then
        // right by the unused bits masks (unsigned) or sign-extends (signed) in one go
        (8, _) => {
            let sh = 8 - layout.bits_stored;
            let raw = &raw[..total.min(raw.len())];
            if layout.signed {
                let it = raw
                    .iter()
                    .map(|&b| i32::from((i8::from_ne_bytes([b]) << sh) >> sh));
                push_rescaled(&mut out, it, layout.rescale);
            } else {
                let it = raw.iter().map(|&b| i32::from((b << sh) >> sh));
                push_rescaled(&mut out, it, layout.rescale);
            }
        }
        (16, _) => {
            let sh = 16 - layout.bits_stored;
            let words = raw.chunks_exact(2).take(total);
            let big = order == ByteOrder::Big;
            let word = move |c: &[u8]| {
                if big {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            };
            if layout.signed {
                let it = words
                    .map(|c| i32::from((i16::from_ne_bytes(word(c).to_ne_bytes()) << sh) >> sh));
                push_rescaled(&mut out, it, layout.rescale);
            } else {
                let it = words.map(|c| i32::from((word(c) << sh) >> sh));
                push_rescaled(&mut out, it, layout.rescale);
            }
        }
        (32, None) => out.extend(raw.chunks_exact(4).take(total).map(|c| {
            let b = [c[0], c[1], c[2], c[3]];
            let u = match order {
                ByteOrder::Little => u32::from_le_bytes(b),
                ByteOrder::Big => u32::from_be_bytes(b),
                ByteOrder::BigAsWords => words_be32(b),
            };
            conv(u64::from(u))
        })),
        (64, None) => out.extend(raw.chunks_exact(8).take(total).map(|c| {
            let b = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
            let u = match order {
                ByteOrder::Big => u64::from_be_bytes(b),
                _ => u64::from_le_bytes(b),
            };
            conv(u)
        })),
        (other, _) => {
            return Err(Error::Unsupported {
                what: "BitsAllocated",
                detail: other.to_string(),
                path: path.to_path_buf(),
            });
        }
    }
    if out.len() != total {
        return Err(Error::Invalid {
            what: "pixel data length",
            detail: format!("{} values decoded, {total} expected", out.len()),
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// Append 8/16-bit stored values, rescaled in `f64` (slope then intercept, as pydicom) when asked.
#[allow(
    clippy::cast_possible_truncation,
    reason = "output is f32 by contract; 8/16-bit values convert exactly"
)]
fn push_rescaled(
    out: &mut Vec<f32>,
    values: impl Iterator<Item = i32>,
    rescale: Option<(f64, f64)>,
) {
    match rescale {
        None => out.extend(values.map(|v| v as f32)),
        Some((slope, intercept)) => {
            out.extend(values.map(|v| (f64::from(v) * slope + intercept) as f32));
        }
    }
}

/// The top-level Rescale Slope / Intercept when they are the Modality LUT to apply (no Modality
/// LUT Sequence), `None` otherwise or when they are the identity.
fn fusable_rescale(file: &DicomFile, path: &Path) -> Result<Option<(f64, f64)>> {
    let obj: &InMemDicomObject = file;
    if obj
        .get(tags::MODALITY_LUT_SEQUENCE)
        .and_then(|e| e.items())
        .is_some_and(|items| !items.is_empty())
    {
        return Ok(None);
    }
    let slope = attr_f64(obj, tags::RESCALE_SLOPE, "RescaleSlope", path)?;
    let intercept = attr_f64(obj, tags::RESCALE_INTERCEPT, "RescaleIntercept", path)?;
    Ok(match (slope, intercept) {
        (None, None) => None,
        (s, b) => Some((s.unwrap_or(1.0), b.unwrap_or(0.0))).filter(|&r| r != (1.0, 0.0)),
    })
}

/// A big endian 32-bit sample whose two 16-bit words were each converted to little endian.
fn words_be32(b: [u8; 4]) -> u32 {
    (u32::from(u16::from_le_bytes([b[0], b[1]])) << 16)
        | u32::from(u16::from_le_bytes([b[2], b[3]]))
}

/// An empty vector with room for `n` values, or a limit error.
fn try_vec<T>(n: usize, path: &Path) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::LimitExceeded {
        detail: format!("cannot allocate {n} values"),
        path: path.to_path_buf(),
    })?;
    Ok(v)
}

/// Planar Configuration 1 (`RRR..GGG..BBB..` per frame) to interleaved `RGBRGB..`, in place.
fn interleave_planes(values: &mut [f32], layout: &Layout, path: &Path) -> Result<()> {
    let s = layout.samples;
    let plane = layout.rows * layout.cols;
    let mut planar: Vec<f32> = try_vec(plane * s, path)?;
    for frame in values.chunks_exact_mut(plane * s) {
        planar.clear();
        planar.extend_from_slice(frame);
        for (k, channel) in planar.chunks_exact(plane).enumerate() {
            for (i, &v) in channel.iter().enumerate() {
                frame[i * s + k] = v;
            }
        }
    }
    Ok(())
}

/// Uncompressed 8-bit `YBR_FULL_422` (`Y1 Y2 Cb Cr` per pixel pair) to `YBR_FULL` bytes.
fn expand_ybr_422(raw: &[u8], layout: &Layout, path: &Path) -> Result<Vec<u8>> {
    if layout.bits_allocated != 8 || layout.cols % 2 != 0 {
        return Err(Error::Unsupported {
            what: "YBR_FULL_422 layout",
            detail: format!(
                "{} bits allocated, {} columns (8 bits and an even width are supported)",
                layout.bits_allocated, layout.cols
            ),
            path: path.to_path_buf(),
        });
    }
    let total = layout.total_values().ok_or_else(|| too_big(layout, path))?;
    let mut out = try_vec(total, path)?;
    for q in raw.chunks_exact(4) {
        out.extend_from_slice(&[q[0], q[2], q[3], q[1], q[2], q[3]]);
    }
    Ok(out)
}

/// `YBR_FULL` to RGB in place (PS3.3 C.7.6.3.1.2), computed and rounded as pydicom does.
fn ybr_full_to_rgb(values: &mut [f32]) {
    const CR_R: f32 = 1.402;
    const CB_G: f32 = -0.114 * 1.772 / 0.587;
    const CR_G: f32 = -0.299 * 1.402 / 0.587;
    const CB_B: f32 = 1.772;
    for px in values.chunks_exact_mut(3) {
        let y = px[0];
        let cb = px[1] - 128.0;
        let cr = px[2] - 128.0;
        let r = y + CR_R * cr;
        let g = y + CB_G * cb + CR_G * cr;
        let b = y + CB_B * cb;
        px[0] = (r + 0.5).floor().clamp(0.0, 255.0);
        px[1] = (g + 0.5).floor().clamp(0.0, 255.0);
        px[2] = (b + 0.5).floor().clamp(0.0, 255.0);
    }
}

/// The Modality LUT of PS3.3 C.11.1, or the enhanced objects' per-frame rescale.
fn apply_modality_lut(
    file: &DicomFile,
    layout: &Layout,
    values: &mut [f32],
    path: &Path,
) -> Result<()> {
    let obj: &InMemDicomObject = file;
    if let Some(item) = obj
        .get(tags::MODALITY_LUT_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(<[InMemDicomObject]>::first)
    {
        let lut = read_lut(item, path)?;
        for v in values.iter_mut() {
            *v = lut.apply(*v);
        }
        return Ok(());
    }
    let slope = attr_f64(obj, tags::RESCALE_SLOPE, "RescaleSlope", path)?;
    let intercept = attr_f64(obj, tags::RESCALE_INTERCEPT, "RescaleIntercept", path)?;
    if slope.is_some() || intercept.is_some() {
        rescale(values, slope.unwrap_or(1.0), intercept.unwrap_or(0.0));
        return Ok(());
    }
    let frame_len = layout.frame_values().unwrap_or(0).max(1);
    let shared = functional_group_rescale(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, 0, path)?;
    let per_frame = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .is_some();
    if shared.is_none() && !per_frame {
        return Ok(());
    }
    for (i, frame) in values.chunks_exact_mut(frame_len).enumerate() {
        let own =
            functional_group_rescale(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, i, path)?;
        if let Some((s, b)) = own.or(shared) {
            rescale(frame, s, b);
        }
    }
    Ok(())
}

#[allow(clippy::cast_possible_truncation, reason = "output is f32 by contract")]
fn rescale(values: &mut [f32], slope: f64, intercept: f64) {
    if slope == 1.0 && intercept == 0.0 {
        return;
    }
    for v in values {
        // slope then intercept in f64, as pydicom (no fused multiply-add)
        *v = (f64::from(*v) * slope + intercept) as f32;
    }
}

/// Rescale (slope, intercept) in item `index` of a functional groups sequence.
fn functional_group_rescale(
    obj: &InMemDicomObject,
    sequence: Tag,
    index: usize,
    path: &Path,
) -> Result<Option<(f64, f64)>> {
    let Some(group) = obj
        .get(sequence)
        .and_then(|e| e.items())
        .and_then(|items| items.get(index))
    else {
        return Ok(None);
    };
    let Some(pvt) = group
        .get(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(<[InMemDicomObject]>::first)
    else {
        return Ok(None);
    };
    let slope = attr_f64(pvt, tags::RESCALE_SLOPE, "RescaleSlope", path)?;
    let intercept = attr_f64(pvt, tags::RESCALE_INTERCEPT, "RescaleIntercept", path)?;
    if slope.is_none() && intercept.is_none() {
        return Ok(None);
    }
    Ok(Some((slope.unwrap_or(1.0), intercept.unwrap_or(0.0))))
}

/// A Modality LUT (LUT Descriptor + LUT Data).
struct Lut {
    first: f32,
    data: Vec<f32>,
}

impl Lut {
    #[inline]
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "index clamped to the table first"
    )]
    fn apply(&self, v: f32) -> f32 {
        let last = (self.data.len() - 1) as f32;
        let idx = (v - self.first).clamp(0.0, last) as usize;
        self.data[idx]
    }
}

fn read_lut(item: &InMemDicomObject, path: &Path) -> Result<Lut> {
    let invalid = |detail: String| Error::Invalid {
        what: "Modality LUT Sequence",
        detail,
        path: path.to_path_buf(),
    };
    let desc: Vec<i64> = item
        .get(tags::LUT_DESCRIPTOR)
        .ok_or_else(|| invalid("no LUT Descriptor".into()))?
        .to_multi_int::<i64>()
        .map_err(|e| invalid(format!("LUT Descriptor unreadable ({e})")))?;
    let [entries, first, depth] = desc[..] else {
        return Err(invalid(format!(
            "LUT Descriptor has {} values, 3 expected",
            desc.len()
        )));
    };
    let entries = if entries == 0 { 65_536 } else { entries };
    let entries = usize::try_from(entries).map_err(|_| invalid(format!("{entries} entries")))?;
    let data_elem = item
        .get(tags::LUT_DATA)
        .ok_or_else(|| invalid("no LUT Data".into()))?;
    let data: Vec<f32> = match data_elem.value().primitive() {
        Some(PrimitiveValue::U8(bytes)) => bytes
            .chunks_exact(2)
            .map(|c| f32::from(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Some(p) => p
            .to_multi_int::<u32>()
            .map_err(|e| invalid(format!("LUT Data unreadable ({e})")))?
            .into_iter()
            .map(|v| {
                // LUT values are of `depth` bits, unsigned (PS3.3 C.11.1.1)
                let masked = if (1..32).contains(&depth) {
                    v & ((1u32 << depth) - 1)
                } else {
                    v
                };
                #[allow(clippy::cast_precision_loss, reason = "at most 16-bit LUT entries")]
                let f = masked as f32;
                f
            })
            .collect(),
        None => return Err(invalid("LUT Data is not a primitive value".into())),
    };
    if data.is_empty() {
        return Err(invalid("empty LUT Data".into()));
    }
    let mut data = data;
    data.truncate(entries.max(1));
    #[allow(
        clippy::cast_precision_loss,
        reason = "first mapped value is a 16-bit number"
    )]
    let first = first as f32;
    Ok(Lut { first, data })
}

/// The largest decoded / compressed size ratio accepted (lossless J2K of a blank image reaches a
/// few thousand to one).
const MAX_COMPRESSION_RATIO: usize = 20_000;
/// Decoded sizes always accepted whatever the compressed size (64 MiB).
const ALWAYS_ALLOWED_BYTES: usize = 64 << 20;

/// Decompress encapsulated pixel data to native-order interleaved samples.
fn decode_encapsulated(
    file: &DicomFile,
    fragments: &[Vec<u8>],
    ts_uid: &str,
    layout: &Layout,
    path: &Path,
) -> Result<Vec<u8>> {
    let expected = layout
        .decoded_bytes()
        .ok_or_else(|| too_big(layout, path))?;
    // compressed data may legitimately expand a lot (a blank image), but not without bound:
    // refuse a header whose decoded size no codec could reach from these few bytes
    let compressed: usize = fragments.iter().map(Vec::len).sum();
    let plausible = compressed
        .saturating_mul(MAX_COMPRESSION_RATIO)
        .max(ALWAYS_ALLOWED_BYTES);
    if expected > plausible {
        return Err(Error::LimitExceeded {
            detail: format!(
                "{expected} decoded bytes claimed from {compressed} compressed bytes (more than \
                 {MAX_COMPRESSION_RATIO}:1)"
            ),
            path: path.to_path_buf(),
        });
    }
    if ts_uid == uids::RLE_LOSSLESS {
        return rle::decode(fragments, layout, expected, path);
    }
    if matches!(
        ts_uid,
        uids::JPEG_BASELINE8_BIT
            | uids::JPEG_EXTENDED12_BIT
            | uids::JPEG_LOSSLESS
            | uids::JPEG_LOSSLESS_SV1
    ) {
        let colour = guard_codec(path, || {
            jpeg::decode_colour(fragments, layout, expected, path)
        })?;
        if let Some(bytes) = colour? {
            return Ok(bytes);
        }
    }
    if !cfg!(feature = "charls")
        && (ts_uid == uids::JPEGLS_LOSSLESS || ts_uid == uids::JPEGLS_NEAR_LOSSLESS)
    {
        return guard_codec(path, || jpegls::decode(fragments, layout, expected, path))?;
    }
    let Some(ts) = TransferSyntaxRegistry.get(ts_uid) else {
        return Err(Error::Unsupported {
            what: "transfer syntax",
            detail: format!("unknown UID {ts_uid}"),
            path: path.to_path_buf(),
        });
    };
    let unsupported = |why: &str| Error::Unsupported {
        what: "transfer syntax",
        detail: format!("{} ({ts_uid}){why}", ts.name()),
        path: path.to_path_buf(),
    };
    if ts_uid == uids::JPEG_EXTENDED12_BIT && layout.bits_stored > 8 {
        // jpeg-decoder has no 12-bit support
        return guard_codec(path, || jpeg12::decode(fragments, layout, expected, path))?;
    }
    let Codec::EncapsulatedPixelData(Some(reader), _) = ts.codec() else {
        let hint = if ts_uid == uids::JPEGLS_LOSSLESS || ts_uid == uids::JPEGLS_NEAR_LOSSLESS {
            ": build with the `charls` feature"
        } else {
            ""
        };
        return Err(unsupported(hint));
    };
    if fragments.is_empty() {
        return Err(Error::Invalid {
            what: "pixel data",
            detail: "no fragments".into(),
            path: path.to_path_buf(),
        });
    }
    let mut out = Vec::new();
    guard_codec(path, || reader.decode(file, &mut out))?.map_err(|e| Error::Invalid {
        what: "compressed pixel data",
        detail: format!("{} decoder: {e}", ts.name()),
        path: path.to_path_buf(),
    })?;
    if out.len() < expected {
        return Err(Error::Invalid {
            what: "compressed pixel data",
            detail: format!("{} bytes decoded, {expected} expected", out.len()),
            path: path.to_path_buf(),
        });
    }
    out.truncate(expected);
    Ok(out)
}

/// Run a third-party codec, turning a panic on malformed input into an error: hostile files
/// must give an error naming the file, never abort the study (the codecs' own checks are not
/// all error returns; jpeg-decoder, for one, panics on some frame headers).
fn guard_codec<T>(path: &Path, f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Error::Invalid {
            what: "compressed pixel data",
            detail: format!("the decoder failed on malformed data ({msg})"),
            path: path.to_path_buf(),
        }
    })
}

mod fragments;
mod jpeg;
mod jpeg12;
mod jpegls;
mod rle;

/// The native fast path of the loader: grey 8/16-bit samples of a [`NativeFile`] read straight
/// into their output slots. `targets` are `(frame, slot)` pairs; `prefix` holds the file's
/// first bytes as [`open_native`](crate::open::open_native) read them (pixel bytes among them
/// are copied, not read again); `raw` is a reusable byte buffer. Returns `Ok(false)` without
/// touching the slots when the file needs the general path ([`decode_pixels`]): colour, other bit depths, a Modality LUT Sequence, functional groups,
/// another image size than `(rows, cols)`, or pixel data shorter than the header promises
/// (the general path reports that). Values are those of [`decode_pixels`]: stored bits masked
/// or sign-extended, then slope and intercept in `f64`.
pub(crate) fn fill_native(
    native: &mut NativeFile,
    prefix: &[u8],
    path: &Path,
    (rows, cols): (usize, usize),
    targets: &mut [(usize, &mut [f32])],
    raw: &mut Vec<u8>,
) -> Result<bool> {
    let obj: &InMemDicomObject = &native.header;
    if [
        tags::MODALITY_LUT_SEQUENCE,
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
    ]
    .into_iter()
    .any(|t| obj.get(t).is_some())
    {
        return Ok(false);
    }
    let layout = read_layout(&native.header, path, None)?;
    if layout.samples != 1
        || !matches!(layout.bits_allocated, 8 | 16)
        || (layout.rows, layout.cols) != (rows, cols)
    {
        return Ok(false);
    }
    let bytes_per = layout.bits_allocated as usize / 8;
    let frame_bytes = rows * cols * bytes_per;
    let needed = layout
        .native_bytes()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| too_big(&layout, path))?;
    if needed > native.len || targets.iter().any(|(f, _)| *f >= layout.frames) {
        return Ok(false);
    }
    let rescale = fusable_rescale(&native.header, path)?;
    let sh = layout.bits_allocated - layout.bits_stored;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    for (frame, slot) in targets.iter_mut() {
        if slot.len() != rows * cols {
            return Ok(false);
        }
        let begin = native.start + (*frame * frame_bytes) as u64;
        // No zeroing once the buffer has its size: every byte is copied or read over.
        raw.resize(frame_bytes, 0);
        // The bytes already read with the header prefix are copied, not read again.
        let have = usize::try_from(begin)
            .ok()
            .and_then(|b| prefix.get(b..))
            .map_or(0, |p| p.len().min(frame_bytes));
        if have > 0 {
            let b = usize::try_from(begin).unwrap_or_default();
            raw[..have].copy_from_slice(&prefix[b..b + have]);
        }
        let next = begin + have as u64;
        if have < frame_bytes && native.pos != next {
            native
                .file
                .seek(std::io::SeekFrom::Start(next))
                .map_err(io)?;
        }
        native.file.read_exact(&mut raw[have..]).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::Invalid {
                    what: "pixel data length",
                    detail: format!(
                        "frame {} is cut short ({frame_bytes} bytes expected)",
                        *frame + 1
                    ),
                    path: path.to_path_buf(),
                }
            } else {
                io(e)
            }
        })?;
        native.pos = begin + frame_bytes as u64;
        if bytes_per == 2 {
            convert16(raw, slot, sh, layout.signed, rescale);
        } else {
            convert8(raw, slot, sh, layout.signed, rescale);
        }
    }
    Ok(true)
}

/// `f` of every little-endian 16-bit word of `raw`, into `out`, in blocks of 16 words: fixed
/// block sizes let LLVM drop the bounds checks and vectorise the loop.
#[inline(always)]
fn map_words(raw: &[u8], out: &mut [f32], f: impl Fn(u16) -> f32) {
    const BLOCK: usize = 16;
    let mut outs = out.chunks_exact_mut(BLOCK);
    let mut ins = raw.chunks_exact(2 * BLOCK);
    for (o, r) in (&mut outs).zip(&mut ins) {
        for i in 0..BLOCK {
            o[i] = f(u16::from_le_bytes([r[2 * i], r[2 * i + 1]]));
        }
    }
    for (o, r) in outs
        .into_remainder()
        .iter_mut()
        .zip(ins.remainder().chunks_exact(2))
    {
        *o = f(u16::from_le_bytes([r[0], r[1]]));
    }
}

/// Little-endian 16-bit stored values to `f32`, one loop per case without branches per value
/// (masked or sign-extended by shifts, rescaled in `f64` as the general path does).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "output is f32 by contract; 16-bit values convert exactly; the sign bit is meant"
)]
fn convert16(raw: &[u8], out: &mut [f32], sh: u32, signed: bool, rescale: Option<(f64, f64)>) {
    let sh = sh.min(15);
    let signed_value = move |w: u16| ((w as i16) << sh) >> sh;
    let unsigned_value = move |w: u16| (w << sh) >> sh;
    // An integer slope and intercept small enough that every result is an integer below 2^24
    // in magnitude: exact in `i32` and in `f32`, so the same values as the `f64` path, in
    // integer arithmetic that vectorises four or eight wide (CT: slope 1, intercept -1024).
    if let Some((slope, intercept)) = rescale
        && let Some((m, b)) = small_integer_rescale(slope, intercept)
    {
        #[allow(
            clippy::cast_precision_loss,
            reason = "|m * v + b| < 2^24: exact in f32"
        )]
        if signed {
            map_words(raw, out, |w| (m * i32::from(signed_value(w)) + b) as f32);
        } else {
            map_words(raw, out, |w| (m * i32::from(unsigned_value(w)) + b) as f32);
        }
        return;
    }
    match (signed, rescale) {
        (true, None) => map_words(raw, out, |w| f32::from(signed_value(w))),
        (false, None) => map_words(raw, out, |w| f32::from(unsigned_value(w))),
        (true, Some((slope, intercept))) => map_words(raw, out, |w| {
            (f64::from(signed_value(w)) * slope + intercept) as f32
        }),
        (false, Some((slope, intercept))) => map_words(raw, out, |w| {
            (f64::from(unsigned_value(w)) * slope + intercept) as f32
        }),
    }
}

/// `(slope, intercept)` as integers when both are integers and `|slope| * 2^16 + |intercept|`
/// stays below 2^24, so that `slope * v + intercept` of any 16-bit `v` is exact in `i32`, `f64`
/// and `f32` alike.
#[allow(
    clippy::cast_possible_truncation,
    reason = "both values are checked to be small integers first"
)]
fn small_integer_rescale(slope: f64, intercept: f64) -> Option<(i32, i32)> {
    let integral = |x: f64| x.is_finite() && x.fract() == 0.0;
    // -0.0 as intercept can give -0.0 in f64 where the integers give +0.0
    (integral(slope)
        && integral(intercept)
        && !(intercept == 0.0 && intercept.is_sign_negative())
        && slope.abs() <= 128.0
        && slope.abs() * 65_536.0 + intercept.abs() < 16_777_216.0)
        .then_some((slope as i32, intercept as i32))
}

/// 8-bit stored values to `f32` (see [`convert16`]).
#[allow(
    clippy::cast_possible_truncation,
    reason = "output is f32 by contract; 8-bit values convert exactly"
)]
fn convert8(raw: &[u8], out: &mut [f32], sh: u32, signed: bool, rescale: Option<(f64, f64)>) {
    let sh = sh.min(7);
    let value = |b: u8| -> i16 {
        if signed {
            i16::from((i8::from_ne_bytes([b]) << sh) >> sh)
        } else {
            i16::from((b << sh) >> sh)
        }
    };
    match rescale {
        None => {
            for (o, &b) in out.iter_mut().zip(raw) {
                *o = f32::from(value(b));
            }
        }
        Some((slope, intercept)) => {
            for (o, &b) in out.iter_mut().zip(raw) {
                *o = (f64::from(value(b)) * slope + intercept) as f32;
            }
        }
    }
}

#[cfg(test)]
mod native_tests {
    use super::{convert8, convert16};

    /// The value the general path computes: stored bits masked or sign-extended, then slope
    /// and intercept in `f64`.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        reason = "the reference formula"
    )]
    fn reference(word: u16, bits: u32, signed: bool, rescale: Option<(f64, f64)>) -> f32 {
        let sh = 16 - bits;
        let v = if signed {
            f64::from(((word as i16) << sh) >> sh)
        } else {
            f64::from((word << sh) >> sh)
        };
        match rescale {
            None => v as f32,
            Some((m, b)) => (v * m + b) as f32,
        }
    }

    #[test]
    fn every_16_bit_word_converts_as_the_general_path() {
        let raw: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_le_bytes).collect();
        let mut out = vec![0.0_f32; 1 << 16];
        for bits in [16, 12, 10] {
            for signed in [false, true] {
                for rescale in [
                    None,
                    Some((1.0, -1024.0)),
                    Some((-3.0, 7.0)),
                    Some((0.5, -0.25)),
                    Some((1000.0, 1.0)),
                    Some((1.0, -0.0)),
                ] {
                    convert16(&raw, &mut out, 16 - bits, signed, rescale);
                    for (w, &got) in (0..=u16::MAX).zip(&out) {
                        let want = reference(w, bits, signed, rescale);
                        assert_eq!(
                            got.to_bits(),
                            want.to_bits(),
                            "word {w} bits {bits} signed {signed} rescale {rescale:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_8_bit_value_converts_as_the_general_path() {
        let raw: Vec<u8> = (0..=u8::MAX).collect();
        let mut out = vec![0.0_f32; 256];
        for signed in [false, true] {
            convert8(&raw, &mut out, 0, signed, Some((2.0, -3.0)));
            for (&b, &got) in raw.iter().zip(&out) {
                let v = if signed {
                    f64::from(i8::from_ne_bytes([b]))
                } else {
                    f64::from(b)
                };
                #[allow(clippy::cast_possible_truncation, reason = "the reference formula")]
                let want = (v * 2.0 - 3.0) as f32;
                assert_eq!(got.to_bits(), want.to_bits(), "{b} signed {signed}");
            }
        }
    }
}
