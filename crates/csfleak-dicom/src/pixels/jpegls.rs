//! JPEG-LS decoding in pure Rust (ITU-T T.87 / ISO 14495-1: lossless and near-lossless,
//! interleave modes none, line and sample, default or LSE-coded thresholds), used when the crate
//! is built without the `charls` feature so that JPEG-LS files decode without a C++ toolchain.
//!
//! Not supported (clear error): restart markers, point transform, mapping tables (LSE id 2-4),
//! more than 16 bits per sample.

use std::path::Path;

use super::Layout;
use crate::{Error, Result};

/// Run-length order table J of T.87 A.7.1.1.
const J: [u32; 32] = [
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13,
    14, 15,
];

/// Decode all frames to `expected` bytes of interleaved little endian samples.
pub(super) fn decode(
    fragments: &[Vec<u8>],
    layout: &Layout,
    expected: usize,
    path: &Path,
) -> Result<Vec<u8>> {
    let invalid = |detail: String| Error::Invalid {
        what: "JPEG-LS pixel data",
        detail,
        path: path.to_path_buf(),
    };
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
        if layout.bits_allocated <= 8 {
            out.extend(samples.iter().map(|&v| v.to_le_bytes()[0]));
        } else {
            out.extend(
                samples
                    .iter()
                    .flat_map(|&v| u16::try_from(v).unwrap_or(u16::MAX).to_le_bytes()),
            );
        }
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

/// Coding parameters of one scan (T.87 C.2.4.1).
#[derive(Debug, Clone, Copy)]
struct Params {
    maxval: i32,
    near: i32,
    t1: i32,
    t2: i32,
    t3: i32,
    reset: i32,
    range: i32,
    qbpp: u32,
    limit: u32,
}

impl Params {
    fn new(precision: u32, near: i32, lse: Option<[i32; 5]>) -> std::result::Result<Self, String> {
        let lse = lse.unwrap_or_default();
        let maxval = if lse[0] > 0 {
            lse[0]
        } else {
            (1 << precision) - 1
        };
        if near < 0 || near > maxval / 2 {
            return Err(format!("NEAR {near} out of range"));
        }
        let clamp = |i: i32, j: i32| if i > maxval || i < j { j } else { i };
        let (d1, d2, d3) = if maxval >= 128 {
            let factor = (maxval.min(4095) + 128) / 256;
            // FACTOR * (BASIC_Ti - k) + k + c * NEAR with BASIC_T = 3, 7, 21 (T.87 C.2.4.1.1.1)
            let t1 = clamp(factor + 2 + 3 * near, near + 1);
            let t2 = clamp(factor * 4 + 3 + 5 * near, t1);
            (t1, t2, clamp(factor * 17 + 4 + 7 * near, t2))
        } else {
            let factor = 256 / (maxval + 1);
            let t1 = clamp((3 / factor).max(2) + 3 * near, near + 1);
            let t2 = clamp((7 / factor).max(3) + 5 * near, t1);
            (t1, t2, clamp((21 / factor).max(4) + 7 * near, t2))
        };
        let t1 = if lse[1] > 0 { lse[1] } else { d1 };
        let t2 = if lse[2] > 0 { lse[2] } else { d2 };
        let t3 = if lse[3] > 0 { lse[3] } else { d3 };
        let reset = if lse[4] > 0 { lse[4] } else { 64 };
        let range = (maxval + 2 * near) / (2 * near + 1) + 1;
        let qbpp = bits_for(range);
        let bpp = bits_for(maxval + 1).max(2);
        let limit = 2 * (bpp + bpp.max(8));
        Ok(Self {
            maxval,
            near,
            t1,
            t2,
            t3,
            reset,
            range,
            qbpp,
            limit,
        })
    }

    fn quantize(&self, d: i32) -> i32 {
        let near = self.near;
        if d <= -self.t3 {
            -4
        } else if d <= -self.t2 {
            -3
        } else if d <= -self.t1 {
            -2
        } else if d < -near {
            -1
        } else if d <= near {
            0
        } else if d < self.t1 {
            1
        } else if d < self.t2 {
            2
        } else if d < self.t3 {
            3
        } else {
            4
        }
    }

    /// Modulo reduction and clamping of a reconstructed value (T.87 A.4.5).
    fn fix(&self, mut v: i32) -> i32 {
        let step = self.range * (2 * self.near + 1);
        if v < -self.near {
            v += step;
        } else if v > self.maxval + self.near {
            v -= step;
        }
        v.clamp(0, self.maxval)
    }
}

/// ceil(log2(n)) for n >= 1.
fn bits_for(n: i32) -> u32 {
    let mut b = 0;
    while (1i64 << b) < i64::from(n) {
        b += 1;
    }
    b
}

/// Context statistics (T.87 A.2.1): 365 regular contexts and 2 run interruption contexts.
struct Contexts {
    a: Vec<i32>,
    b: Vec<i32>,
    c: Vec<i32>,
    n: Vec<i32>,
    nn: [i32; 2],
}

impl Contexts {
    fn new(p: &Params) -> Self {
        let a0 = ((p.range + 32) / 64).max(2);
        Self {
            a: vec![a0; 367],
            b: vec![0; 365],
            c: vec![0; 365],
            n: vec![1; 367],
            nn: [0; 2],
        }
    }
}

/// Bit reader over entropy-coded data with JPEG-LS bit stuffing (a 0 bit after each 0xFF).
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    cache: u64,
    count: u32,
    prev_ff: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            cache: 0,
            count: 0,
            prev_ff: false,
        }
    }

    fn fill(&mut self) {
        while self.count <= 56 {
            let byte = match self.data.get(self.pos) {
                // a marker (0xFF followed by a byte with the high bit set) ends the scan
                Some(&b) if !(self.prev_ff && b & 0x80 != 0) => b,
                _ => {
                    // past the end: zeros, enough for any valid code to finish
                    self.cache <<= 8;
                    self.count += 8;
                    continue;
                }
            };
            self.pos += 1;
            if self.prev_ff {
                self.cache = (self.cache << 7) | u64::from(byte & 0x7F);
                self.count += 7;
            } else {
                self.cache = (self.cache << 8) | u64::from(byte);
                self.count += 8;
            }
            self.prev_ff = byte == 0xFF;
        }
    }

    fn bit(&mut self) -> u32 {
        self.bits(1)
    }

    fn bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        if self.count < n {
            self.fill();
        }
        self.count -= n;
        #[allow(
            clippy::cast_possible_truncation,
            reason = "at most 32 bits are requested"
        )]
        let v = ((self.cache >> self.count) & ((1u64 << n) - 1)) as u32;
        v
    }

    /// Number of 0 bits before the next 1 bit (bounded to avoid looping on junk).
    fn zeros(&mut self, max: u32) -> u32 {
        let mut z = 0;
        while z < max && self.bit() == 0 {
            z += 1;
        }
        z
    }

    /// Byte offset just past the data consumed (for the next marker search).
    fn position(&self) -> usize {
        self.pos
    }
}

/// Limited-length Golomb decoding (T.87 A.5.3).
fn golomb(bits: &mut Bits<'_>, k: u32, limit: u32, qbpp: u32) -> i32 {
    let max_zeros = limit.saturating_sub(qbpp + 1);
    let high = bits.zeros(max_zeros + 1);
    let v = if high >= max_zeros {
        i64::from(bits.bits(qbpp)) + 1
    } else if k == 0 {
        i64::from(high)
    } else {
        (i64::from(high) << k) + i64::from(bits.bits(k))
    };
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// What a frame header and scans declare.
struct Frame {
    precision: u32,
    rows: usize,
    cols: usize,
    components: usize,
}

fn be16(d: &[u8], at: usize) -> std::result::Result<usize, String> {
    d.get(at..at + 2)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .ok_or_else(|| "truncated marker segment".to_owned())
}

/// Decode one frame to samples in `[row][col][component]` order.
fn decode_frame(data: &[u8], layout: &Layout) -> std::result::Result<Vec<u32>, String> {
    let mut frame: Option<Frame> = None;
    let mut lse: Option<[i32; 5]> = None;
    let mut out: Vec<u32> = Vec::new();
    let mut i = 0;
    let mut scans_done = 0usize;
    while i + 1 < data.len() {
        // a marker is 0xFF then a code with the high bit set (0xFF is fill)
        if data[i] != 0xFF || data[i + 1] < 0x80 || data[i + 1] == 0xFF {
            i += 1;
            continue;
        }
        let marker = data[i + 1];
        match marker {
            0xD8 => i += 2,
            0xD9 => break,
            0xF7 => {
                let len = be16(data, i + 2)?;
                let seg = data
                    .get(i + 4..i + 2 + len)
                    .ok_or("truncated frame header")?;
                let precision = u32::from(*seg.first().ok_or("empty frame header")?);
                let rows = usize::from(u16::from_be_bytes([seg[1], seg[2]]));
                let cols = usize::from(u16::from_be_bytes([seg[3], seg[4]]));
                let components = usize::from(seg[5]);
                if !(2..=16).contains(&precision) {
                    return Err(format!("{precision}-bit samples"));
                }
                if rows != layout.rows || cols != layout.cols || components != layout.samples {
                    return Err(format!(
                        "JPEG-LS frame is {cols}x{rows} with {components} component(s), the header \
                         says {}x{} with {}",
                        layout.cols, layout.rows, layout.samples
                    ));
                }
                out = vec![0; rows * cols * components];
                frame = Some(Frame {
                    precision,
                    rows,
                    cols,
                    components,
                });
                i += 2 + len;
            }
            0xF8 => {
                let len = be16(data, i + 2)?;
                let seg = data
                    .get(i + 4..i + 2 + len)
                    .ok_or("truncated LSE segment")?;
                if seg.first() != Some(&1) {
                    return Err("JPEG-LS mapping tables are not supported".into());
                }
                let v = |k: usize| -> std::result::Result<i32, String> {
                    let at = 1 + 2 * k;
                    seg.get(at..at + 2)
                        .map(|b| i32::from(u16::from_be_bytes([b[0], b[1]])))
                        .ok_or_else(|| "truncated LSE segment".to_owned())
                };
                lse = Some([v(0)?, v(1)?, v(2)?, v(3)?, v(4)?]);
                i += 2 + len;
            }
            0xDD => return Err("restart intervals are not supported".into()),
            0xDA => {
                let f = frame.as_ref().ok_or("scan before the frame header")?;
                let len = be16(data, i + 2)?;
                let seg = data
                    .get(i + 4..i + 2 + len)
                    .ok_or("truncated scan header")?;
                let ns = usize::from(*seg.first().ok_or("empty scan header")?);
                let near = i32::from(*seg.get(1 + 2 * ns).ok_or("truncated scan header")?);
                let ilv = *seg.get(2 + 2 * ns).ok_or("truncated scan header")?;
                let point = *seg.get(3 + 2 * ns).ok_or("truncated scan header")?;
                if point & 0x0F != 0 {
                    return Err("point transform is not supported".into());
                }
                let params = Params::new(f.precision, near, lse)?;
                let start = i + 2 + len;
                let mut bits = Bits::new(data.get(start..).unwrap_or_default());
                match (ilv, ns) {
                    (0, 1) => {
                        if scans_done >= f.components {
                            return Err("more scans than components".into());
                        }
                        decode_scan(&mut bits, &params, f, &mut out, &[scans_done], false);
                        scans_done += 1;
                    }
                    (1, n) if n == f.components => {
                        let comps: Vec<usize> = (0..n).collect();
                        decode_scan(&mut bits, &params, f, &mut out, &comps, false);
                        scans_done += n;
                    }
                    (2, 3) if f.components == 3 => {
                        decode_scan(&mut bits, &params, f, &mut out, &[0, 1, 2], true);
                        scans_done += 3;
                    }
                    _ => return Err(format!("interleave mode {ilv} with {ns} component(s)")),
                }
                // the bit reader stops on the next marker, having taken its 0xFF
                i = start + bits.position().saturating_sub(2);
            }
            _ => {
                let len = be16(data, i + 2)?;
                i += 2 + len;
            }
        }
    }
    match frame {
        Some(f) if scans_done >= f.components => Ok(out),
        Some(_) => Err("fewer scans than components".into()),
        None => Err("no JPEG-LS frame header".into()),
    }
}

/// Decode one scan covering `comps` (one component, line interleaved, or sample interleaved
/// when `by_sample`), writing into `out` (`[row][col][component]`).
fn decode_scan(
    bits: &mut Bits<'_>,
    p: &Params,
    f: &Frame,
    out: &mut [u32],
    comps: &[usize],
    by_sample: bool,
) {
    let w = f.cols;
    let nc = f.components;
    let mut ctx = Contexts::new(p);
    // per component: previous and current line with one guard sample each side
    let mut prev: Vec<Vec<i32>> = vec![vec![0; w + 2]; comps.len()];
    let mut cur: Vec<Vec<i32>> = vec![vec![0; w + 2]; comps.len()];
    let mut run_index = vec![0usize; comps.len()];
    for y in 0..f.rows {
        for ci in 0..comps.len() {
            prev[ci][w + 1] = prev[ci][w];
            cur[ci][0] = prev[ci][1];
        }
        if by_sample {
            decode_line_by_sample(bits, p, &mut ctx, &prev, &mut cur, &mut run_index[0], w);
        } else {
            for ci in 0..comps.len() {
                decode_line(
                    bits,
                    p,
                    &mut ctx,
                    &prev[ci],
                    &mut cur[ci],
                    &mut run_index[ci],
                    w,
                );
            }
        }
        for (ci, &c) in comps.iter().enumerate() {
            for x in 0..w {
                out[(y * w + x) * nc + c] = u32::try_from(cur[ci][x + 1]).unwrap_or(0);
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
}

/// Regular-mode sample (T.87 A.3-A.6): returns the reconstructed value.
#[allow(clippy::too_many_arguments, reason = "the neighbourhood of T.87 A.2")]
fn regular(
    bits: &mut Bits<'_>,
    p: &Params,
    ctx: &mut Contexts,
    ra: i32,
    rb: i32,
    rc: i32,
    rd: i32,
) -> i32 {
    let mut q1 = p.quantize(rd - rb);
    let mut q2 = p.quantize(rb - rc);
    let mut q3 = p.quantize(rc - ra);
    let negative = q1 < 0 || (q1 == 0 && (q2 < 0 || (q2 == 0 && q3 < 0)));
    if negative {
        q1 = -q1;
        q2 = -q2;
        q3 = -q3;
    }
    let sign = if negative { -1 } else { 1 };
    let q = usize::try_from((q1 * 9 + q2) * 9 + q3)
        .unwrap_or(0)
        .min(364);
    let mut px = if rc >= ra.max(rb) {
        ra.min(rb)
    } else if rc <= ra.min(rb) {
        ra.max(rb)
    } else {
        ra + rb - rc
    };
    px = (px + sign * ctx.c[q]).clamp(0, p.maxval);
    let mut k = 0;
    while (ctx.n[q] << k) < ctx.a[q] && k < 24 {
        k += 1;
    }
    let merr = golomb(bits, k, p.limit, p.qbpp);
    let mut err = if p.near == 0 && k == 0 && 2 * ctx.b[q] <= -ctx.n[q] {
        if merr & 1 == 1 {
            (merr - 1) / 2
        } else {
            -(merr / 2) - 1
        }
    } else if merr & 1 == 0 {
        merr / 2
    } else {
        -((merr + 1) / 2)
    };
    // context update (A.6)
    ctx.b[q] += err * (2 * p.near + 1);
    ctx.a[q] += err.abs();
    if ctx.n[q] == p.reset {
        ctx.a[q] >>= 1;
        ctx.b[q] >>= 1;
        ctx.n[q] >>= 1;
    }
    ctx.n[q] += 1;
    if ctx.b[q] <= -ctx.n[q] {
        ctx.b[q] += ctx.n[q];
        if ctx.c[q] > -128 {
            ctx.c[q] -= 1;
        }
        if ctx.b[q] <= -ctx.n[q] {
            ctx.b[q] = -ctx.n[q] + 1;
        }
    } else if ctx.b[q] > 0 {
        ctx.b[q] -= ctx.n[q];
        if ctx.c[q] < 127 {
            ctx.c[q] += 1;
        }
        if ctx.b[q] > 0 {
            ctx.b[q] = 0;
        }
    }
    err *= sign;
    p.fix(px + err * (2 * p.near + 1))
}

/// Run interruption error (T.87 A.7.2) in context 365 + `ri_type`.
fn run_interruption_error(
    bits: &mut Bits<'_>,
    p: &Params,
    ctx: &mut Contexts,
    ri_type: usize,
    run_index: usize,
) -> i32 {
    let q = 365 + ri_type;
    let ri = i32::try_from(ri_type).unwrap_or(0);
    let temp = if ri_type == 0 {
        ctx.a[q]
    } else {
        ctx.a[q] + (ctx.n[q] >> 1)
    };
    let mut k = 0;
    while (ctx.n[q] << k) < temp && k < 24 {
        k += 1;
    }
    let glimit = p.limit.saturating_sub(J[run_index] + 1);
    let em = golomb(bits, k, glimit, p.qbpp);
    let t = em + ri;
    let map = t & 1 == 1;
    let abs = (t + i32::from(map)) / 2;
    let err = if (k != 0 || 2 * ctx.nn[ri_type] >= ctx.n[q]) == map {
        -abs
    } else {
        abs
    };
    if err < 0 {
        ctx.nn[ri_type] += 1;
    }
    ctx.a[q] += (em + 1 - ri) >> 1;
    if ctx.n[q] == p.reset {
        ctx.a[q] >>= 1;
        ctx.n[q] >>= 1;
        ctx.nn[ri_type] >>= 1;
    }
    ctx.n[q] += 1;
    err
}

/// Length of a run starting at `x` (T.87 A.7.1), at most `w - x`.
fn run_length(bits: &mut Bits<'_>, run_index: &mut usize, remaining: usize) -> (usize, bool) {
    let mut len = 0;
    while bits.bit() == 1 {
        let step = (1usize << J[*run_index]).min(remaining - len);
        len += step;
        if step == 1 << J[*run_index] {
            *run_index = (*run_index + 1).min(31);
        }
        if len == remaining {
            return (len, true);
        }
    }
    len += bits.bits(J[*run_index]) as usize;
    (len.min(remaining), false)
}

fn sign_of(v: i32) -> i32 {
    if v < 0 { -1 } else { 1 }
}

fn decode_line(
    bits: &mut Bits<'_>,
    p: &Params,
    ctx: &mut Contexts,
    prev: &[i32],
    cur: &mut [i32],
    run_index: &mut usize,
    w: usize,
) {
    let mut x = 1;
    while x <= w {
        let (ra, rb, rc, rd) = (cur[x - 1], prev[x], prev[x - 1], prev[x + 1]);
        let flat =
            (rd - rb).abs() <= p.near && (rb - rc).abs() <= p.near && (rc - ra).abs() <= p.near;
        if !flat {
            cur[x] = regular(bits, p, ctx, ra, rb, rc, rd);
            x += 1;
            continue;
        }
        let (len, to_end) = run_length(bits, run_index, w + 1 - x);
        for v in &mut cur[x..x + len] {
            *v = ra;
        }
        x += len;
        if to_end || x > w {
            continue;
        }
        // run interruption sample
        let rb = prev[x];
        let ri_type = usize::from((ra - rb).abs() <= p.near);
        let err = run_interruption_error(bits, p, ctx, ri_type, *run_index);
        cur[x] = if ri_type == 1 {
            p.fix(ra + err * (2 * p.near + 1))
        } else {
            p.fix(rb + err * sign_of(rb - ra) * (2 * p.near + 1))
        };
        *run_index = run_index.saturating_sub(1);
        x += 1;
    }
}

fn decode_line_by_sample(
    bits: &mut Bits<'_>,
    p: &Params,
    ctx: &mut Contexts,
    prev: &[Vec<i32>],
    cur: &mut [Vec<i32>],
    run_index: &mut usize,
    w: usize,
) {
    let mut x = 1;
    while x <= w {
        let flat = (0..3).all(|c| {
            let (ra, rb, rc, rd) = (cur[c][x - 1], prev[c][x], prev[c][x - 1], prev[c][x + 1]);
            (rd - rb).abs() <= p.near && (rb - rc).abs() <= p.near && (rc - ra).abs() <= p.near
        });
        if !flat {
            for c in 0..3 {
                let (ra, rb, rc, rd) = (cur[c][x - 1], prev[c][x], prev[c][x - 1], prev[c][x + 1]);
                cur[c][x] = regular(bits, p, ctx, ra, rb, rc, rd);
            }
            x += 1;
            continue;
        }
        let (len, to_end) = run_length(bits, run_index, w + 1 - x);
        for c in cur.iter_mut() {
            let ra = c[x - 1];
            for v in &mut c[x..x + len] {
                *v = ra;
            }
        }
        x += len;
        if to_end || x > w {
            continue;
        }
        for c in 0..3 {
            let (ra, rb) = (cur[c][x - 1], prev[c][x]);
            let err = run_interruption_error(bits, p, ctx, 0, *run_index);
            cur[c][x] = p.fix(rb + err * sign_of(rb - ra) * (2 * p.near + 1));
        }
        *run_index = run_index.saturating_sub(1);
        x += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::{Bits, Params};

    #[test]
    fn default_thresholds_follow_t87() {
        let p = Params::new(8, 0, None).unwrap();
        assert_eq!((p.t1, p.t2, p.t3, p.reset, p.range), (3, 7, 21, 64, 256));
        assert_eq!((p.qbpp, p.limit), (8, 32));
        let p = Params::new(16, 0, None).unwrap();
        assert_eq!((p.t1, p.t2, p.t3), (18, 67, 276));
        assert_eq!((p.qbpp, p.limit), (16, 64));
        let p = Params::new(8, 3, None).unwrap();
        assert_eq!((p.t1, p.t2, p.t3), (12, 22, 42));
        assert_eq!(p.range, 38);
    }

    #[test]
    fn a_zero_bit_is_stuffed_after_0xff() {
        // 0xFF then 0x55: the second byte contributes its 7 low bits only
        let mut b = Bits::new(&[0xFF, 0x55, 0x80]);
        assert_eq!(b.bits(8), 0xFF);
        assert_eq!(b.bits(7), 0x55);
        assert_eq!(b.bits(1), 1);
    }

    #[test]
    fn reconstruction_wraps_modulo_the_range() {
        let p = Params::new(8, 0, None).unwrap();
        assert_eq!(p.fix(-1), 255);
        assert_eq!(p.fix(256), 0);
        assert_eq!(p.fix(100), 100);
    }
}
