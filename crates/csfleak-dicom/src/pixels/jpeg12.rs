//! 12-bit JPEG (ISO 10918-1 extended sequential DCT, Huffman, process 4) for greyscale images,
//! which jpeg-decoder does not decode: found in older CT, MR and NM archives (transfer syntax
//! 1.2.840.10008.1.2.4.51).
//!
//! Single-component frames only (colour 12-bit JPEG does not occur in DICOM practice); restart
//! intervals are honoured. The inverse DCT is computed in `f32` from its definition, so values
//! may differ by one unit from libjpeg's integer IDCT, as any two JPEG decoders may.

use std::path::Path;

use super::Layout;
use crate::{Error, Result};

/// Zig-zag order: `ZIGZAG[k]` is the natural index of the `k`-th coefficient.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Decode all frames to `expected` bytes of 16-bit little endian samples.
pub(super) fn decode(
    fragments: &[Vec<u8>],
    layout: &Layout,
    expected: usize,
    path: &Path,
) -> Result<Vec<u8>> {
    let invalid = |detail: String| Error::Invalid {
        what: "JPEG pixel data",
        detail,
        path: path.to_path_buf(),
    };
    if layout.samples != 1 || layout.bits_allocated != 16 {
        return Err(Error::Unsupported {
            what: "12-bit JPEG",
            detail: format!(
                "{} sample(s) of {} bits allocated (greyscale in 16 bits is supported)",
                layout.samples, layout.bits_allocated
            ),
            path: path.to_path_buf(),
        });
    }
    let frames = super::fragments::frame_bytes(fragments, layout.frames).ok_or_else(|| {
        invalid(format!(
            "{} fragments for {} frames",
            fragments.len(),
            layout.frames
        ))
    })?;
    let mut out = Vec::new();
    out.try_reserve_exact(expected)
        .map_err(|_| invalid(format!("cannot allocate {expected} bytes")))?;
    for (f, data) in frames.iter().enumerate() {
        let samples = decode_frame(data, layout).map_err(|e| invalid(format!("frame {f}: {e}")))?;
        out.extend(samples.iter().flat_map(|v| v.to_le_bytes()));
    }
    if out.len() < expected {
        return Err(invalid(format!(
            "{} bytes decoded, {expected} expected",
            out.len()
        )));
    }
    out.truncate(expected);
    Ok(out)
}

/// A canonical Huffman table.
#[derive(Clone, Default)]
struct Huffman {
    /// per code length: largest code (-1 if none), index of its first symbol, smallest code
    max_code: [i32; 17],
    val_ptr: [i32; 17],
    min_code: [i32; 17],
    symbols: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], symbols: Vec<u8>) -> Self {
        let mut h = Huffman {
            max_code: [-1; 17],
            val_ptr: [0; 17],
            min_code: [0; 17],
            symbols,
        };
        let mut code = 0i32;
        let mut k = 0i32;
        for len in 1..=16 {
            let n = i32::from(counts[len - 1]);
            if n > 0 {
                h.val_ptr[len] = k;
                h.min_code[len] = code;
                code += n;
                k += n;
                h.max_code[len] = code - 1;
            }
            code <<= 1;
        }
        h
    }
}

/// Entropy-coded data reader: removes `FF 00` stuffing, stops at markers.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    cache: u32,
    count: u32,
}

impl Bits<'_> {
    fn bit(&mut self) -> i32 {
        if self.count == 0 {
            let mut byte = 0;
            if let Some(&b) = self.data.get(self.pos) {
                if b == 0xFF {
                    // stuffed 0xFF; otherwise a marker: feed zeros without moving past it
                    if self.data.get(self.pos + 1) == Some(&0x00) {
                        byte = 0xFF;
                        self.pos += 2;
                    }
                } else {
                    byte = b;
                    self.pos += 1;
                }
            }
            self.cache = u32::from(byte);
            self.count = 8;
        }
        self.count -= 1;
        i32::from((self.cache >> self.count) & 1 == 1)
    }

    fn bits(&mut self, n: u32) -> i32 {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit();
        }
        v
    }

    fn decode(&mut self, h: &Huffman) -> std::result::Result<u8, String> {
        let mut code = 0;
        for len in 1..=16 {
            code = (code << 1) | self.bit();
            if code <= h.max_code[len] {
                let idx = h.val_ptr[len] + code - h.min_code[len];
                return usize::try_from(idx)
                    .ok()
                    .and_then(|i| h.symbols.get(i).copied())
                    .ok_or_else(|| "bad Huffman code".to_owned());
            }
        }
        Err("bad Huffman code".into())
    }

    /// Skip to the restart marker expected next and reset the bit buffer.
    fn restart(&mut self) {
        self.count = 0;
        while self.pos + 1 < self.data.len() {
            if self.data[self.pos] == 0xFF && (0xD0..=0xD7).contains(&self.data[self.pos + 1]) {
                self.pos += 2;
                return;
            }
            self.pos += 1;
        }
    }
}

/// The signed value of `s` extra bits (ISO 10918-1 F.2.2.1 EXTEND).
fn extend(v: i32, s: u32) -> i32 {
    if s == 0 {
        0
    } else if v < 1 << (s - 1) {
        v - (1 << s) + 1
    } else {
        v
    }
}

fn be16(d: &[u8], at: usize) -> std::result::Result<usize, String> {
    d.get(at..at + 2)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .ok_or_else(|| "truncated marker segment".to_owned())
}

/// Decode one greyscale frame to `rows * cols` samples.
fn decode_frame(data: &[u8], layout: &Layout) -> std::result::Result<Vec<u16>, String> {
    let mut quant = [[0u16; 64]; 4];
    let mut dc_tables: [Huffman; 4] = Default::default();
    let mut ac_tables: [Huffman; 4] = Default::default();
    let mut frame: Option<(u32, usize, usize, usize)> = None; // precision, rows, cols, Tq
    let mut restart_interval = 0usize;
    let mut i = 0;
    while i + 3 < data.len() {
        if data[i] != 0xFF || data[i + 1] < 0xC0 || data[i + 1] == 0xFF {
            i += 1;
            continue;
        }
        let marker = data[i + 1];
        if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) {
            i += 2;
            continue;
        }
        if marker == 0xD9 {
            break;
        }
        let len = be16(data, i + 2)?;
        let seg = data
            .get(i + 4..i + 2 + len)
            .ok_or("truncated marker segment")?;
        match marker {
            0xDB => {
                let mut s = seg;
                while let Some((&pq_tq, rest)) = s.split_first() {
                    let table = usize::from(pq_tq & 3);
                    let wide = pq_tq >> 4 == 1;
                    let n = if wide { 128 } else { 64 };
                    let values = rest.get(..n).ok_or("truncated quantisation table")?;
                    for k in 0..64 {
                        quant[table][ZIGZAG[k]] = if wide {
                            u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
                        } else {
                            u16::from(values[k])
                        };
                    }
                    s = &rest[n..];
                }
            }
            0xC4 => {
                let mut s = seg;
                while let Some((&tc_th, rest)) = s.split_first() {
                    let counts: [u8; 16] = rest
                        .get(..16)
                        .and_then(|c| c.try_into().ok())
                        .ok_or("truncated Huffman table")?;
                    let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let symbols = rest.get(16..16 + total).ok_or("truncated Huffman table")?;
                    let table = Huffman::new(&counts, symbols.to_vec());
                    if tc_th >> 4 == 0 {
                        dc_tables[usize::from(tc_th & 3)] = table;
                    } else {
                        ac_tables[usize::from(tc_th & 3)] = table;
                    }
                    s = &rest[16 + total..];
                }
            }
            0xDD => restart_interval = be16(seg, 0)?,
            0xC0 | 0xC1 => {
                let precision = u32::from(*seg.first().ok_or("empty frame header")?);
                let rows = be16(seg, 1)?;
                let cols = be16(seg, 3)?;
                let nf = *seg.get(5).ok_or("truncated frame header")?;
                if nf != 1 {
                    return Err(format!("{nf} components (greyscale expected)"));
                }
                if rows != layout.rows || cols != layout.cols {
                    return Err(format!(
                        "JPEG is {cols}x{rows}, the header says {}x{}",
                        layout.cols, layout.rows
                    ));
                }
                let tq = usize::from(*seg.get(8).ok_or("truncated frame header")? & 3);
                frame = Some((precision, rows, cols, tq));
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(format!(
                    "JPEG process of marker FF{marker:02X} is not supported"
                ));
            }
            0xDA => {
                let (precision, rows, cols, tq) = frame.ok_or("scan before the frame header")?;
                let tables = *seg.get(2).ok_or("truncated scan header")?;
                let dc = &dc_tables[usize::from(tables >> 4)];
                let ac = &ac_tables[usize::from(tables & 3)];
                let mut bits = Bits {
                    data: data.get(i + 2 + len..).unwrap_or_default(),
                    pos: 0,
                    cache: 0,
                    count: 0,
                };
                return decode_scan(
                    &mut bits,
                    dc,
                    ac,
                    &quant[tq],
                    (precision, rows, cols),
                    restart_interval,
                );
            }
            _ => {}
        }
        i += 2 + len;
    }
    Err("no scan found".into())
}

fn decode_scan(
    bits: &mut Bits<'_>,
    dc: &Huffman,
    ac: &Huffman,
    quant: &[u16; 64],
    (precision, rows, cols): (u32, usize, usize),
    restart_interval: usize,
) -> std::result::Result<Vec<u16>, String> {
    let bw = cols.div_ceil(8);
    let bh = rows.div_ceil(8);
    let mut out = vec![0u16; rows * cols];
    let max = (1i32 << precision) - 1;
    #[allow(clippy::cast_precision_loss, reason = "level shift of at most 2^15")]
    let shift = (1i32 << (precision - 1)) as f32;
    let basis = idct_basis();
    let mut pred = 0i32;
    let mut coef = [0f32; 64];
    for b in 0..bw * bh {
        if restart_interval > 0 && b > 0 && b % restart_interval == 0 {
            bits.restart();
            pred = 0;
        }
        coef.fill(0.0);
        let t = u32::from(bits.decode(dc)?);
        if t > 16 {
            return Err("bad DC magnitude".into());
        }
        pred += extend(bits.bits(t), t);
        #[allow(clippy::cast_precision_loss, reason = "coefficients fit in 16 bits")]
        {
            coef[0] = (pred * i32::from(quant[0])) as f32;
        }
        let mut k = 1;
        while k < 64 {
            let rs = bits.decode(ac)?;
            let (r, s) = (usize::from(rs >> 4), u32::from(rs & 15));
            if s == 0 {
                if r == 15 {
                    k += 16;
                    continue;
                }
                break;
            }
            k += r;
            if k > 63 {
                return Err("AC coefficient index past the block".into());
            }
            let z = ZIGZAG[k];
            #[allow(clippy::cast_precision_loss, reason = "coefficients fit in 16 bits")]
            {
                coef[z] = (extend(bits.bits(s), s) * i32::from(quant[z])) as f32;
            }
            k += 1;
        }
        let (by, bx) = (b / bw, b % bw);
        for y in 0..8 {
            let row = by * 8 + y;
            if row >= rows {
                break;
            }
            for x in 0..8 {
                let col = bx * 8 + x;
                if col >= cols {
                    break;
                }
                let mut sum = 0.0f32;
                for v in 0..8 {
                    for u in 0..8 {
                        sum += basis[x][u] * basis[y][v] * coef[v * 8 + u];
                    }
                }
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "rounded and clamped to the sample range"
                )]
                let value = ((sum / 4.0 + shift).round() as i32).clamp(0, max) as u16;
                out[row * cols + col] = value;
            }
        }
    }
    Ok(out)
}

/// `basis[x][u] = C(u) cos((2x + 1) u pi / 16)` with `C(0) = 1/sqrt(2)`.
fn idct_basis() -> [[f32; 8]; 8] {
    let mut b = [[0f32; 8]; 8];
    for (x, row) in b.iter_mut().enumerate() {
        for (u, v) in row.iter_mut().enumerate() {
            let c = if u == 0 {
                std::f32::consts::FRAC_1_SQRT_2
            } else {
                1.0
            };
            #[allow(clippy::cast_precision_loss, reason = "small integers")]
            let angle = ((2 * x + 1) * u) as f32 * std::f32::consts::PI / 16.0;
            *v = c * angle.cos();
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::{Huffman, extend};

    #[test]
    fn extend_gives_negative_values_below_half_range() {
        assert_eq!(extend(0, 3), -7);
        assert_eq!(extend(3, 3), -4);
        assert_eq!(extend(4, 3), 4);
        assert_eq!(extend(0, 0), 0);
    }

    #[test]
    fn canonical_huffman_codes() {
        // two codes of length 2 (00, 01), one of length 3 (100)
        let mut counts = [0u8; 16];
        counts[1] = 2;
        counts[2] = 1;
        let h = Huffman::new(&counts, vec![5, 6, 7]);
        assert_eq!((h.min_code[2], h.max_code[2]), (0, 1));
        assert_eq!((h.min_code[3], h.max_code[3], h.val_ptr[3]), (4, 4, 2));
    }
}
