//! Small image operations on `[row, col]` `f64` images: smoothing, percentiles, shifts and
//! translation registration.

use csfleak_volume::index_of;
use ndarray::Array2;

/// Box blur of half-width `r` along both axes (edges use the pixels that exist).
#[cfg(test)]
fn box_blur(img: &Array2<f64>, r: usize) -> Array2<f64> {
    if r == 0 {
        return img.clone();
    }
    let (rows, cols) = img.dim();
    let mut data: Vec<f64> = img.iter().copied().collect();
    let mut scratch = BlurScratch::default();
    box_blur_in_place(&mut data, rows, cols, r, &mut scratch);
    Array2::from_shape_vec((rows, cols), data).unwrap_or_else(|_| img.clone())
}

/// Rows whose prefix sums [`box_blur_in_place`] computes side by side.
const BLUR_ROWS: usize = 4;

/// Buffers reused by the passes of [`box_blur_in_place`].
#[derive(Default)]
struct BlurScratch {
    /// Prefix sums of one row.
    prefix: Vec<f64>,
    /// A ring of prefix rows for the column pass.
    ring: Vec<f64>,
}

/// Box blur of a row-major `rows x cols` buffer in place: rows first, then columns, both by
/// prefix sums. The column pass keeps only the prefix rows it still needs (a ring of
/// `2 r + 2` rows of `cols`): prefix row `P[k]` = sum of the rows before `k`, computed in row
/// order as it is first needed; row `i` is overwritten once `P[i + r + 1]` (which reads row
/// `i + r`) is known, and `P[i - r]` is still in the ring.
fn box_blur_in_place(data: &mut [f64], rows: usize, cols: usize, r: usize, s: &mut BlurScratch) {
    if r == 0 || rows == 0 || cols == 0 {
        return;
    }
    // Along each row: the prefix sums of `BLUR_ROWS` rows at a time, interleaved (the running
    // sum of a row is a chain of dependent additions; independent chains side by side keep the
    // adder busy), each row's the same additions in the same order as one row at a time.
    let stride = cols + 1;
    s.prefix.clear();
    s.prefix.resize(BLUR_ROWS * stride, 0.0);
    let prefix = &mut s.prefix;
    let mut blocks = data.chunks_exact_mut(BLUR_ROWS * cols);
    for block in &mut blocks {
        for i in 0..cols {
            for k in 0..BLUR_ROWS {
                prefix[k * stride + i + 1] = prefix[k * stride + i] + block[k * cols + i];
            }
        }
        for (line, p) in block
            .chunks_exact_mut(cols)
            .zip(prefix.chunks_exact(stride))
        {
            row_means(line, p, r);
        }
    }
    for line in blocks.into_remainder().chunks_exact_mut(cols) {
        let p = &mut prefix[..stride];
        for (i, &v) in line.iter().enumerate() {
            p[i + 1] = p[i] + v;
        }
        row_means(line, p, r);
    }
    // Along each column.
    let slots = (2 * r + 2).min(rows + 1);
    s.ring.clear();
    s.ring.resize(slots * cols, 0.0);
    let ring = &mut s.ring;
    // P[0] = 0 is in slot 0 already; `known` = the highest k with P[k] in the ring.
    let mut known = 0;
    for i in 0..rows {
        let lo = i.saturating_sub(r);
        let hi = (i + r + 1).min(rows);
        while known < hi {
            let k = known + 1;
            let (src, dst) = ((k - 1) % slots, k % slots);
            let row = &data[(k - 1) * cols..k * cols];
            if src < dst {
                let (a, b) = ring.split_at_mut(dst * cols);
                let prev = &a[src * cols..(src + 1) * cols];
                for ((d, &p), &v) in b[..cols].iter_mut().zip(prev).zip(row) {
                    *d = p + v;
                }
            } else {
                let (a, b) = ring.split_at_mut(src * cols);
                let prev = &b[..cols];
                for ((d, &p), &v) in a[dst * cols..(dst + 1) * cols]
                    .iter_mut()
                    .zip(prev)
                    .zip(row)
                {
                    *d = p + v;
                }
            }
            known = k;
        }
        let n = (hi - lo) as f64;
        let (slo, shi) = (lo % slots, hi % slots);
        let plo = &ring[slo * cols..(slo + 1) * cols];
        let phi = &ring[shi * cols..(shi + 1) * cols];
        for ((out, &a), &b) in data[i * cols..(i + 1) * cols].iter_mut().zip(plo).zip(phi) {
            *out = (b - a) / n;
        }
    }
}

/// The box means of half-width `r` of one row from its prefix sums `p` (`p[i]` = sum of the
/// values before `i`): `(p[hi] - p[lo]) / (hi - lo)`; the interior, where `hi - lo` is
/// `2 r + 1`, in a loop of its own with that divisor (the same quotients, vectorised).
fn row_means(line: &mut [f64], p: &[f64], r: usize) {
    let cols = line.len();
    let edge = |i: usize| {
        let lo = i.saturating_sub(r);
        let hi = (i + r + 1).min(cols);
        (p[hi] - p[lo]) / (hi - lo) as f64
    };
    // Interior: i - r >= 0 and i + r + 1 <= cols.
    let (a, b) = (r.min(cols), cols.saturating_sub(r).max(r.min(cols)));
    for (i, out) in line.iter_mut().enumerate().take(a) {
        *out = edge(i);
    }
    if a < b {
        let w = (2 * r + 1) as f64;
        for ((out, &lo), &hi) in line[a..b].iter_mut().zip(p).zip(&p[2 * r + 1..]) {
            *out = (hi - lo) / w;
        }
    }
    for (i, out) in line.iter_mut().enumerate().skip(b) {
        *out = edge(i);
    }
}

/// Approximate Gaussian smoothing with FWHM `fwhm_px` pixels (three box passes).
pub(crate) fn smooth(img: &Array2<f64>, fwhm_px: f64) -> Array2<f64> {
    // Three boxes of width w have variance 3 (w^2 - 1) / 12; sigma = FWHM / 2.355.
    let sigma = fwhm_px / 2.355;
    let w = (4.0 * sigma * sigma + 1.0).sqrt();
    let r = index_of(((w - 1.0) / 2.0).round()).unwrap_or(0);
    let (rows, cols) = img.dim();
    let mut data: Vec<f64> = img.iter().copied().collect();
    let mut scratch = BlurScratch::default();
    for _ in 0..3 {
        box_blur_in_place(&mut data, rows, cols, r, &mut scratch);
    }
    Array2::from_shape_vec((rows, cols), data).unwrap_or_else(|_| img.clone())
}

/// The `q` quantile (0..1) of the finite values, `0` when there are none.
pub(crate) fn quantile(values: impl Iterator<Item = f64>, q: f64) -> f64 {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    // Selection, not a full sort: the same order statistic in linear time.
    let idx = quantile_rank(v.len(), q);
    *v.select_nth_unstable_by(idx, f64::total_cmp).1
}

/// The rank of the `q` quantile among `n` sorted values.
fn quantile_rank(n: usize, q: f64) -> usize {
    index_of(((n - 1) as f64 * q.clamp(0.0, 1.0)).round())
        .unwrap_or(0)
        .min(n - 1)
}

/// `f64::total_cmp` order as unsigned integers (the bits, the sign bit flipped for positive
/// values and every bit flipped for negative ones).
fn order_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// [`quantile`] of the finite values of a slice without copying it all: the order statistic
/// is located among the buckets of the top 16 bits of [`order_key`] (a histogram pass), then
/// selected among the values of its bucket only. The same value as [`quantile`], bit for bit.
pub(crate) fn quantile_of(values: &[f64], q: f64) -> f64 {
    const BITS: u32 = 16;
    if values.len() < 4096 {
        return quantile(values.iter().copied(), q);
    }
    let mut hist = vec![0_u32; 1 << BITS];
    let mut n = 0_usize;
    for &x in values {
        if x.is_finite() {
            hist[usize::try_from(order_key(x) >> (64 - BITS)).unwrap_or(0)] += 1;
            n += 1;
        }
    }
    if n == 0 {
        return 0.0;
    }
    let idx = quantile_rank(n, q);
    let mut below = 0_usize;
    let mut bucket = 0_u64;
    for (b, &h) in hist.iter().enumerate() {
        let h = h as usize;
        if below + h > idx {
            bucket = b as u64;
            break;
        }
        below += h;
    }
    let mut inside: Vec<f64> = values
        .iter()
        .copied()
        .filter(|x| x.is_finite() && order_key(*x) >> (64 - BITS) == bucket)
        .collect();
    *inside.select_nth_unstable_by(idx - below, f64::total_cmp).1
}

/// Median of a slice (copied), `0` when empty.
pub(crate) fn median(values: &[f64]) -> f64 {
    quantile(values.iter().copied(), 0.5)
}

/// The columns `c0..c1` of a row of `cols` whose column `c - dc` also lies in `0..cols`
/// (empty when `c0 >= c1`).
fn shifted_columns(cols: usize, dc: isize) -> (usize, usize) {
    let c0 = usize::try_from(dc).unwrap_or(0).min(cols);
    let c1 = usize::try_from(
        isize::try_from(cols)
            .unwrap_or(isize::MAX)
            .saturating_add(dc),
    )
    .unwrap_or(0)
    .min(cols);
    (c0, c1)
}

/// `img` moved by `(dr, dc)` pixels: `out[r, c] = img[r - dr, c - dc]`, zero outside.
pub(crate) fn shift(img: &Array2<f64>, dr: isize, dc: isize) -> Array2<f64> {
    let (rows, cols) = img.dim();
    let mut out = Array2::zeros((rows, cols));
    // Destination columns whose source column exists: c - dc in 0..cols.
    let (c0, c1) = shifted_columns(cols, dc);
    if c0 >= c1 {
        return out;
    }
    let (s0, s1) = (
        c0.checked_add_signed(-dc).unwrap_or(0),
        c1.checked_add_signed(-dc).unwrap_or(0),
    );
    for (r, mut row) in out.rows_mut().into_iter().enumerate() {
        let Some(sr) = r.checked_add_signed(-dr).filter(|&x| x < rows) else {
            continue;
        };
        let src = img.row(sr);
        row.slice_mut(ndarray::s![c0..c1])
            .assign(&src.slice(ndarray::s![s0..s1]));
    }
    out
}

/// Normalised cross-correlation of `a` and `b` shifted by `(dr, dc)` over their overlap.
fn ncc(a: &Array2<f64>, b: &Array2<f64>, dr: isize, dc: isize) -> f64 {
    let (rows, cols) = a.dim();
    let (mut sa, mut sb, mut saa, mut sbb, mut sab, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    // Columns of `a` whose partner column c - dc of `b` exists.
    let (c0, c1) = shifted_columns(cols, dc);
    if c0 < c1 {
        let b0 = c0.checked_add_signed(-dc).unwrap_or(0);
        for r in 0..rows {
            let Some(br) = r.checked_add_signed(-dr).filter(|&x| x < rows) else {
                continue;
            };
            let (ra, rb) = (a.row(r), b.row(br));
            let (ra, rb) = (
                ra.slice(ndarray::s![c0..c1]),
                rb.slice(ndarray::s![b0..b0 + (c1 - c0)]),
            );
            for (&x, &y) in ra.iter().zip(rb.iter()) {
                sa += x;
                sb += y;
                saa += x * x;
                sbb += y * y;
                sab += x * y;
                n += 1.0;
            }
        }
    }
    if n < 2.0 {
        return f64::NEG_INFINITY;
    }
    let cov = sab - sa * sb / n;
    let va = saa - sa * sa / n;
    let vb = sbb - sb * sb / n;
    if va <= 0.0 || vb <= 0.0 {
        return f64::NEG_INFINITY;
    }
    cov / (va * vb).sqrt()
}

/// 2x2 block mean (drops an odd last row/column).
fn downsample2(img: &Array2<f64>) -> Array2<f64> {
    let (rows, cols) = img.dim();
    Array2::from_shape_fn((rows / 2, cols / 2), |(r, c)| {
        0.25 * (img[(2 * r, 2 * c)]
            + img[(2 * r + 1, 2 * c)]
            + img[(2 * r, 2 * c + 1)]
            + img[(2 * r + 1, 2 * c + 1)])
    })
}

/// An image prepared for [`register_prepared`]: its square root (negative values as 0) at
/// full and at half resolution.
pub(crate) struct Prepared {
    full: Array2<f64>,
    half: Array2<f64>,
}

impl Prepared {
    /// Prepare `img` for registration.
    pub(crate) fn new(img: &Array2<f64>) -> Self {
        let full = img.mapv(|v| v.max(0.0).sqrt());
        let half = downsample2(&full);
        Self { full, half }
    }
}

/// The integer shift `(dr, dc)` (pixels, at most `max_px` each way) that best maps `moving`
/// onto `fixed` (`shift(moving, dr, dc)` ~ `fixed`), by normalised cross-correlation of the
/// square-root images at half resolution. `(0, 0)` unless another shift is clearly better.
#[cfg(test)]
fn register(
    fixed: &Array2<f64>,
    moving: &Array2<f64>,
    max_rows: usize,
    max_cols: usize,
) -> (isize, isize) {
    register_prepared(
        &Prepared::new(fixed),
        &Prepared::new(moving),
        max_rows,
        max_cols,
    )
}

/// [`register`] of two prepared images (an image registered to its neighbours on both
/// sides is prepared once).
pub(crate) fn register_prepared(
    fixed: &Prepared,
    moving: &Prepared,
    max_rows: usize,
    max_cols: usize,
) -> (isize, isize) {
    if fixed.full.dim() != moving.full.dim() {
        return (0, 0);
    }
    let (a, b) = (&fixed.half, &moving.half);
    let mr = isize::try_from(max_rows / 2).unwrap_or(0);
    let mc = isize::try_from(max_cols / 2).unwrap_or(0);
    let zero = ncc(a, b, 0, 0);
    let mut best = (zero, 0, 0);
    for dr in -mr..=mr {
        for dc in -mc..=mc {
            let v = ncc(a, b, dr, dc);
            if v > best.0 {
                best = (v, dr, dc);
            }
        }
    }
    // Require a real improvement: noise alone moves the peak by a pixel at times.
    let coarse = if !zero.is_finite() || best.0 < zero + 0.01 {
        (0, 0)
    } else {
        (2 * best.1, 2 * best.2)
    };
    // The half-resolution search moves in steps of 2 pixels: refine by one pixel at full
    // resolution (a 1-pixel shift of the canal puts its flank into a paraspinal strip).
    let (fa, fb) = (&fixed.full, &moving.full);
    let (mr, mc) = (
        isize::try_from(max_rows).unwrap_or(0),
        isize::try_from(max_cols).unwrap_or(0),
    );
    let at = |dr: isize, dc: isize| ncc(fa, fb, dr, dc);
    let mut fine = (at(coarse.0, coarse.1), coarse.0, coarse.1);
    if !fine.0.is_finite() {
        return coarse;
    }
    for dr in coarse.0 - 1..=coarse.0 + 1 {
        for dc in coarse.1 - 1..=coarse.1 + 1 {
            if dr.abs() > mr || dc.abs() > mc || (dr, dc) == coarse {
                continue;
            }
            let v = at(dr, dc);
            if v > fine.0 + 1e-4 {
                fine = (v, dr, dc);
            }
        }
    }
    (fine.1, fine.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_keeps_the_sum_away_from_edges() {
        let mut img = Array2::zeros((41, 41));
        img[(20, 20)] = 100.0;
        let s = smooth(&img, 6.0);
        assert!((s.sum() - 100.0).abs() < 1e-9);
        assert!(s[(20, 20)] < 100.0 && s[(20, 20)] > s[(20, 25)]);
    }

    #[test]
    fn box_blur_equals_the_direct_mean() {
        let img = Array2::from_shape_fn((13, 7), |(r, c)| ((r * 31 + c * 17) % 11) as f64);
        let r = 2;
        let b = box_blur(&img, r);
        for ((i, j), &v) in b.indexed_iter() {
            let (r0, r1) = (i.saturating_sub(r), (i + r + 1).min(13));
            let (c0, c1) = (j.saturating_sub(r), (j + r + 1).min(7));
            // Separable edge handling: the row mean of the column means.
            let mut acc = 0.0;
            for cc in c0..c1 {
                let col: f64 = (r0..r1).map(|rr| img[(rr, cc)]).sum::<f64>() / (r1 - r0) as f64;
                acc += col;
            }
            let direct = acc / (c1 - c0) as f64;
            assert!((v - direct).abs() < 1e-9, "{i},{j}: {v} vs {direct}");
        }
    }

    #[test]
    fn shift_moves_by_the_given_pixels() {
        let img = Array2::from_shape_fn((7, 5), |(r, c)| (r * 10 + c) as f64 + 1.0);
        for (dr, dc) in [(0, 0), (2, -1), (-3, 2), (0, 5), (-7, 0), (1, -6)] {
            let m = shift(&img, dr, dc);
            for ((r, c), &v) in m.indexed_iter() {
                let want = r
                    .checked_add_signed(-dr)
                    .zip(c.checked_add_signed(-dc))
                    .and_then(|(sr, sc)| img.get((sr, sc)).copied())
                    .unwrap_or(0.0);
                assert_eq!(v, want, "({dr},{dc}) at {r},{c}");
            }
        }
    }

    #[test]
    fn smoothing_is_three_box_blurs_bit_for_bit() {
        // The in-place passes with a ring of prefix rows give the very same numbers as a box
        // blur applied three times (a radius wider than the image included).
        // Row counts below, at and above a block of four rows; widths with and without an
        // interior.
        for dim in [(37, 23), (1, 9), (3, 2), (8, 40), (6, 1)] {
            let img = Array2::from_shape_fn(dim, |(r, c)| ((r * 37 + c * 11) % 17) as f64 * 0.7);
            for fwhm in [0.5, 3.0, 9.0, 60.0] {
                let sigma = fwhm / 2.355;
                let w = (4.0_f64 * sigma * sigma + 1.0).sqrt();
                let r = index_of(((w - 1.0) / 2.0).round()).unwrap_or(0);
                let mut want = img.clone();
                for _ in 0..3 {
                    want = reference_box_blur(&want, r);
                }
                assert_eq!(smooth(&img, fwhm), want, "{dim:?} fwhm {fwhm}");
            }
        }
    }

    /// The box blur with full prefix arrays (the former implementation).
    fn reference_box_blur(img: &Array2<f64>, r: usize) -> Array2<f64> {
        if r == 0 {
            return img.clone();
        }
        let (rows, cols) = img.dim();
        let mut data: Vec<f64> = img.iter().copied().collect();
        let mut prefix = vec![0.0_f64; cols + 1];
        for line in data.chunks_exact_mut(cols) {
            for (i, &v) in line.iter().enumerate() {
                prefix[i + 1] = prefix[i] + v;
            }
            for (i, out) in line.iter_mut().enumerate() {
                let lo = i.saturating_sub(r);
                let hi = (i + r + 1).min(cols);
                *out = (prefix[hi] - prefix[lo]) / (hi - lo) as f64;
            }
        }
        let mut p = vec![0.0_f64; (rows + 1) * cols];
        for k in 0..rows {
            for c in 0..cols {
                p[(k + 1) * cols + c] = p[k * cols + c] + data[k * cols + c];
            }
        }
        for i in 0..rows {
            let lo = i.saturating_sub(r);
            let hi = (i + r + 1).min(rows);
            for c in 0..cols {
                data[i * cols + c] = (p[hi * cols + c] - p[lo * cols + c]) / (hi - lo) as f64;
            }
        }
        Array2::from_shape_vec((rows, cols), data).unwrap()
    }

    #[test]
    fn registration_finds_a_known_shift() {
        let img = Array2::from_shape_fn((80, 60), |(r, c)| {
            let (dr, dc) = (r as f64 - 30.0, c as f64 - 25.0);
            1000.0 * (-(dr * dr + dc * dc) / 40.0).exp() + if c == 25 { 200.0 } else { 0.0 }
        });
        let moved = shift(&img, 6, -4);
        assert_eq!(register(&img, &moved, 10, 10), (-6, 4));
        assert_eq!(register(&img, &img, 10, 10), (0, 0));
        assert_eq!(register(&img, &shift(&img, 0, 6), 0, 10), (0, -6));
        // Odd shifts too (the coarse search steps by 2 pixels).
        assert_eq!(register(&img, &shift(&img, 0, 3), 0, 10), (0, -3));
        assert_eq!(register(&img, &shift(&img, 0, -1), 0, 10), (0, 1));
    }

    #[test]
    fn bucketed_quantile_is_the_selected_one() {
        // Pseudo-random values over many magnitudes, with ties, zeros, negative zeros,
        // negatives and non-finite values; several sizes on both sides of the cut-over.
        let mut x = 987_654_321_u64;
        for n in [4095_usize, 4096, 5000, 70_000] {
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let u = (x >> 11) as f64 / (1_u64 << 53) as f64;
                    match (x >> 5) % 40 {
                        0 => f64::NAN,
                        1 => f64::INFINITY,
                        2 => -0.0,
                        3 => 0.0,
                        4 => -u * 3.0,
                        5 => 7.0,
                        k => u * 10_f64.powi(i32::try_from(k % 9).unwrap()),
                    }
                })
                .collect();
            for q in [0.0, 0.01, 0.5, 0.9, 0.995, 1.0] {
                let want = quantile(v.iter().copied(), q);
                let got = quantile_of(&v, q);
                assert_eq!(got.to_bits(), want.to_bits(), "n {n} q {q}");
            }
        }
        assert_eq!(quantile_of(&vec![f64::NAN; 5000], 0.5), 0.0);
    }

    #[test]
    fn quantiles_and_median() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(quantile([1.0, f64::NAN, 5.0].into_iter(), 1.0), 5.0);
        assert_eq!(median(&[]), 0.0);
    }
}
