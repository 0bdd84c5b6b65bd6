//! RLE Lossless (PS3.5 Annex G) for every Bits Allocated, written here because the dicom-rs
//! codec accepts 8 and 16 bits only (RT Dose and 32-bit secondary captures use 32).
//!
//! Each frame is one fragment: a 64-byte header (segment count, then up to 15 segment offsets,
//! little endian) and PackBits-coded segments, one per byte plane: for each sample, the most
//! significant byte plane first. The output is interleaved samples, little endian.

use std::path::Path;

use super::Layout;
use crate::{Error, Result};

/// Decode all frames to `expected` bytes of interleaved little endian samples.
pub(super) fn decode(
    fragments: &[Vec<u8>],
    layout: &Layout,
    expected: usize,
    path: &Path,
) -> Result<Vec<u8>> {
    let invalid = |detail: String| Error::Invalid {
        what: "RLE pixel data",
        detail,
        path: path.to_path_buf(),
    };
    let bytes_per_sample = (layout.bits_allocated as usize).div_ceil(8);
    if layout.bits_allocated == 1 {
        return Err(Error::Unsupported {
            what: "RLE pixel data",
            detail: "1 bit allocated".into(),
            path: path.to_path_buf(),
        });
    }
    let pixels = layout.rows * layout.cols;
    let frame_bytes = expected / layout.frames.max(1);
    let frames = super::fragments::frame_bytes(fragments, layout.frames).ok_or_else(|| {
        invalid(format!(
            "{} fragments for {} frames (one fragment per frame expected)",
            fragments.len(),
            layout.frames
        ))
    })?;
    let mut out = Vec::new();
    out.try_reserve_exact(expected)
        .map_err(|_| invalid(format!("cannot allocate {expected} bytes")))?;
    out.resize(expected, 0);
    let segments = layout.samples * bytes_per_sample;
    for (f, (data, dst)) in frames
        .iter()
        .zip(out.chunks_exact_mut(frame_bytes))
        .enumerate()
    {
        let header = data
            .get(..64)
            .ok_or_else(|| invalid(format!("frame {f}: fragment shorter than the RLE header")))?;
        let word = |i: usize| {
            u32::from_le_bytes([
                header[4 * i],
                header[4 * i + 1],
                header[4 * i + 2],
                header[4 * i + 3],
            ]) as usize
        };
        let count = word(0);
        if count != segments {
            return Err(invalid(format!(
                "frame {f}: {count} segments, {segments} expected for {} sample(s) of {} bits",
                layout.samples, layout.bits_allocated
            )));
        }
        for s in 0..count {
            let start = word(s + 1);
            let end = if s + 1 < count {
                word(s + 2)
            } else {
                data.len()
            };
            let segment = data
                .get(start..end.min(data.len()))
                .filter(|_| start <= end)
                .ok_or_else(|| invalid(format!("frame {f}: segment {s} offsets out of range")))?;
            let sample = s / bytes_per_sample;
            let byte = bytes_per_sample - 1 - s % bytes_per_sample;
            let offset = sample * bytes_per_sample + byte;
            let stride = layout.samples * bytes_per_sample;
            let written = unpack_bits(segment, &mut dst[offset..], stride, pixels);
            if written < pixels {
                return Err(invalid(format!(
                    "frame {f}: segment {s} decoded to {written} bytes, {pixels} expected"
                )));
            }
        }
    }
    Ok(out)
}

/// `PackBits` into every `stride`-th byte of `dst`, at most `limit` bytes; returns the count.
fn unpack_bits(src: &[u8], dst: &mut [u8], stride: usize, limit: usize) -> usize {
    let mut n = 0;
    let mut i = 0;
    let mut put = |value: u8, n: &mut usize| {
        if let Some(d) = dst.get_mut(*n * stride) {
            *d = value;
        }
        *n += 1;
    };
    while i < src.len() && n < limit {
        let h = src[i];
        i += 1;
        if h < 128 {
            // literal run of h + 1 bytes
            let len = usize::from(h) + 1;
            let end = (i + len).min(src.len());
            for &b in &src[i..end] {
                if n >= limit {
                    break;
                }
                put(b, &mut n);
            }
            i = end;
        } else if h > 128 {
            // replicate the next byte 257 - h times
            let Some(&b) = src.get(i) else { break };
            i += 1;
            for _ in 0..(257 - usize::from(h)) {
                if n >= limit {
                    break;
                }
                put(b, &mut n);
            }
        }
        // h == 128: no operation
    }
    n
}

#[cfg(test)]
mod tests {
    use super::unpack_bits;

    #[test]
    fn packbits_literal_and_replicate_runs() {
        // literal [1, 2, 3], no-op, replicate 7 four times
        let src = [2, 1, 2, 3, 128, 253, 7];
        let mut dst = [0u8; 14];
        let n = unpack_bits(&src, &mut dst, 2, 7);
        assert_eq!(n, 7);
        assert_eq!(dst, [1, 0, 2, 0, 3, 0, 7, 0, 7, 0, 7, 0, 7, 0]);
    }

    #[test]
    fn packbits_stops_at_the_limit_and_on_truncation() {
        let mut dst = [0u8; 4];
        assert_eq!(unpack_bits(&[250, 9], &mut dst, 1, 4), 4);
        assert_eq!(dst, [9; 4]);
        let mut dst = [0u8; 4];
        assert_eq!(unpack_bits(&[5, 1, 2], &mut dst, 1, 4), 2);
    }
}
