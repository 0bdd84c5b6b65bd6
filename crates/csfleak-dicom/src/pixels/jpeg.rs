//! 8-bit colour JPEG (baseline, extended, lossless) decoded here with jpeg-decoder, so that the
//! colour transform follows the data set rather than the JPEG decoder's own guess.
//!
//! jpeg-decoder assumes YCbCr for any 3-component stream without an Adobe marker; DICOM files
//! with Photometric Interpretation `RGB` are often encoded without a colour transform and no
//! marker saying so. The rule here is pydicom's (`_conform_jpg_colorspace`): component IDs
//! `R`,`G`,`B` mean RGB; otherwise a JFIF APP0 marker means YCbCr; otherwise the Photometric
//! Interpretation decides (`YBR_*` is converted to RGB, `RGB` is taken as is).

use std::path::Path;

use jpeg_decoder::{ColorTransform, Decoder, PixelFormat};

use super::Layout;
use crate::{Error, Result};

/// What the markers before the first scan say about colour.
#[derive(Debug, Default, PartialEq, Eq)]
struct Markers {
    jfif: bool,
    component_ids: Vec<u8>,
}

fn scan_markers(data: &[u8]) -> Markers {
    let mut m = Markers::default();
    let mut i = 0;
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            i += 1;
            continue;
        }
        let marker = data[i + 1];
        // markers without a length: SOI, TEM, RST0-7, fill bytes
        if marker == 0xD8 || marker == 0x01 || (0xD0..=0xD7).contains(&marker) || marker == 0xFF {
            i += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        let segment = data
            .get(i + 4..(i + 2 + len).min(data.len()))
            .unwrap_or_default();
        match marker {
            0xE0 if segment.starts_with(b"JFIF") => m.jfif = true,
            // SOF0-15 except DHT (C4), JPG (C8), DAC (CC)
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let n = usize::from(segment.get(5).copied().unwrap_or(0));
                m.component_ids = (0..n)
                    .filter_map(|k| segment.get(6 + 3 * k).copied())
                    .collect();
                return m;
            }
            0xDA | 0xD9 => return m,
            _ => {}
        }
        i += 2 + len;
    }
    m
}

/// Whether the decoded components are YCbCr to be converted to RGB, by pydicom's rule.
fn is_ycbcr(markers: &Markers, photometric: &str) -> bool {
    let ids = markers.component_ids.as_slice();
    if ids == b"RGB" || ids == b"rgb" {
        return false;
    }
    if markers.jfif {
        return true;
    }
    photometric.starts_with("YBR")
}

/// Decode 8-bit three-sample JPEG frames (one fragment per frame, or one frame in several
/// fragments). `Ok(None)` when this layout is left to the generic codec.
pub(super) fn decode_colour(
    fragments: &[Vec<u8>],
    layout: &Layout,
    expected: usize,
    path: &Path,
) -> Result<Option<Vec<u8>>> {
    if layout.samples != 3 || layout.bits_allocated != 8 {
        return Ok(None);
    }
    let Some(frames) = super::fragments::frame_bytes(fragments, layout.frames) else {
        return Ok(None);
    };
    let invalid = |detail: String| Error::Invalid {
        what: "JPEG pixel data",
        detail,
        path: path.to_path_buf(),
    };
    let mut out = Vec::new();
    out.try_reserve_exact(expected)
        .map_err(|_| invalid(format!("cannot allocate {expected} bytes")))?;
    for (f, data) in frames.iter().enumerate() {
        let markers = scan_markers(data);
        let mut decoder = Decoder::new(data);
        decoder.set_color_transform(if is_ycbcr(&markers, &layout.photometric) {
            ColorTransform::YCbCr
        } else {
            // components taken as R, G, B (chroma upsampling still applies)
            ColorTransform::RGB
        });
        decoder
            .read_info()
            .map_err(|e| invalid(format!("frame {f}: {e}")))?;
        let Some(info) = decoder.info() else {
            return Err(invalid(format!("frame {f}: no frame header")));
        };
        if usize::from(info.width) != layout.cols
            || usize::from(info.height) != layout.rows
            || info.pixel_format != PixelFormat::RGB24
        {
            return Err(invalid(format!(
                "frame {f}: JPEG is {}x{} {:?}, the header says {}x{} with 3 samples",
                info.width, info.height, info.pixel_format, layout.cols, layout.rows
            )));
        }
        let pixels = decoder
            .decode()
            .map_err(|e| invalid(format!("frame {f}: {e}")))?;
        out.extend_from_slice(&pixels);
    }
    if out.len() < expected {
        return Err(invalid(format!(
            "{} bytes decoded, {expected} expected",
            out.len()
        )));
    }
    out.truncate(expected);
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::{Markers, is_ycbcr, scan_markers};

    #[test]
    fn markers_are_read_up_to_the_frame_header() {
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend([0xFF, 0xE0, 0x00, 0x07]);
        jpeg.extend(b"JFIF\0");
        // SOF0: length 17, precision 8, 1x1, 3 components with IDs 'R','G','B'
        jpeg.extend([0xFF, 0xC0, 0x00, 0x11, 8, 0, 1, 0, 1, 3]);
        jpeg.extend([b'R', 0x11, 0, b'G', 0x11, 0, b'B', 0x11, 0]);
        let m = scan_markers(&jpeg);
        assert!(m.jfif);
        assert_eq!(m.component_ids, b"RGB");
        assert!(!is_ycbcr(&m, "YBR_FULL_422"));
    }

    #[test]
    fn photometric_decides_without_markers() {
        let m = Markers {
            component_ids: vec![1, 2, 3],
            ..Markers::default()
        };
        assert!(!is_ycbcr(&m, "RGB"));
        assert!(is_ycbcr(&m, "YBR_FULL"));
        let jfif = Markers { jfif: true, ..m };
        assert!(is_ycbcr(&jfif, "RGB"));
    }
}
