//! Fast binary morphology on `[row, col]` masks for the CT analysis: the same results as the
//! generic helpers in `crate::image2d` and the pixel-by-pixel dilation / erosion they replace
//! (tests below compare them on random masks), computed on flat buffers, with row spans of the
//! structuring element and per-row prefix counts instead of one pass per offset.

use ndarray::Array2;

/// A structuring element as row spans `(dr, lo, hi)`: every `(dr, dc)` with `lo <= dc <= hi`.
/// `None` when some row of the offsets is not one contiguous run (then the offsets are used
/// one by one).
fn spans(offs: &[(isize, isize)]) -> Option<Vec<(isize, isize, isize)>> {
    let mut rows: Vec<(isize, isize, isize, usize)> = Vec::new();
    for &(dr, dc) in offs {
        if let Some(r) = rows.iter_mut().find(|r| r.0 == dr) {
            r.1 = r.1.min(dc);
            r.2 = r.2.max(dc);
            r.3 += 1;
        } else {
            rows.push((dr, dc, dc, 1));
        }
    }
    // Contiguous when the count equals the width (offsets are distinct).
    let mut seen: Vec<(isize, isize)> = offs.to_vec();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() != offs.len() {
        return None;
    }
    rows.iter()
        .all(|r| usize::try_from(r.2 - r.1 + 1).is_ok_and(|w| w == r.3))
        .then(|| rows.into_iter().map(|r| (r.0, r.1, r.2)).collect())
}

fn flat(m: &Array2<bool>) -> std::borrow::Cow<'_, [bool]> {
    m.as_slice().map_or_else(
        || std::borrow::Cow::Owned(m.iter().copied().collect()),
        std::borrow::Cow::Borrowed,
    )
}

/// Per row, the distance (pixels, saturating) from each pixel to the nearest set pixel of the
/// same row or, with `to_unset`, to the nearest unset one, the positions just outside the row
/// counting as unset.
fn row_distance(src: &[bool], nr: usize, nc: usize, to_unset: bool) -> Vec<u16> {
    let (target, border) = (!to_unset, to_unset);
    let far = u16::MAX;
    let mut d = vec![far; nr * nc];
    for r in 0..nr {
        let row = &src[r * nc..(r + 1) * nc];
        let out = &mut d[r * nc..(r + 1) * nc];
        let mut run = if border { 0 } else { far };
        for (o, &v) in out.iter_mut().zip(row) {
            run = if v == target {
                0
            } else {
                run.saturating_add(1)
            };
            *o = run;
        }
        let mut run = if border { 0 } else { far };
        for (o, &v) in out.iter_mut().zip(row).rev() {
            run = if v == target {
                0
            } else {
                run.saturating_add(1)
            };
            *o = (*o).min(run);
        }
    }
    d
}

/// Symmetric row spans `(dr, half width)` of a structuring element, when every row is
/// `-w..=w` around the column.
fn symmetric(sp: &[(isize, isize, isize)]) -> Option<Vec<(isize, u16)>> {
    sp.iter()
        .map(|&(dr, lo, hi)| {
            (lo == -hi)
                .then(|| u16::try_from(hi).ok())
                .flatten()
                .map(|w| (dr, w))
        })
        .collect()
}

fn shaped(v: Vec<bool>, dim: (usize, usize)) -> Option<Array2<bool>> {
    Array2::from_shape_vec(dim, v).ok()
}

/// Dilation by the offsets: `out[p + o]` for every set `p` and offset `o` inside the image.
pub(crate) fn dilate(m: &Array2<bool>, offs: &[(isize, isize)]) -> Array2<bool> {
    let (nr, nc) = m.dim();
    let Some(sp) = spans(offs).and_then(|sp| symmetric(&sp)) else {
        return dilate_each(m, offs);
    };
    let src = flat(m);
    if !src.iter().any(|&b| b) {
        return Array2::from_elem((nr, nc), false);
    }
    let hd = row_distance(&src, nr, nc, false);
    let mut out = vec![false; nr * nc];
    for y in 0..nr {
        let row = &mut out[y * nc..(y + 1) * nc];
        for &(dr, w) in &sp {
            // out[y, x] is set when m[y - dr, x - dc] is, |dc| <= w.
            let Some(yy) = y.checked_add_signed(-dr).filter(|&yy| yy < nr) else {
                continue;
            };
            for (o, &d) in row.iter_mut().zip(&hd[yy * nc..(yy + 1) * nc]) {
                *o |= d <= w;
            }
        }
    }
    shaped(out, (nr, nc)).unwrap_or_else(|| dilate_each(m, offs))
}

/// The dilation of a row-major mask by offsets ([`dilate`]'s result), held as bit rows: each
/// row of the mask is dilated along the row by the half-widths of the structuring element's
/// rows (word shifts), then the rows of the element are OR-ed. Asked pixel by pixel.
pub(crate) struct BitDilation {
    nc: usize,
    words: usize,
    bits: Vec<u64>,
}

impl BitDilation {
    /// `None` when the element is not symmetric row spans narrower than a word (then
    /// [`dilate`] serves).
    pub(crate) fn new(
        nr: usize,
        nc: usize,
        offs: &[(isize, isize)],
        set: impl Fn(usize) -> bool,
    ) -> Option<Self> {
        let sp = spans(offs).and_then(|sp| symmetric(&sp))?;
        if sp.iter().any(|&(_, w)| w >= 64) {
            return None;
        }
        let words = nc.div_ceil(64).max(1);
        let mut src = vec![0u64; nr * words];
        for y in 0..nr {
            for x in 0..nc {
                if set(y * nc + x) {
                    src[y * words + x / 64] |= 1 << (x % 64);
                }
            }
        }
        // Along the rows, once per half-width used.
        let mut widths: Vec<u16> = sp.iter().map(|&(_, w)| w).collect();
        widths.sort_unstable();
        widths.dedup();
        let along: Vec<Vec<u64>> = widths
            .iter()
            .map(|&w| {
                let mut out = src.clone();
                for k in 1..=u32::from(w) {
                    for y in 0..nr {
                        let row = &src[y * words..(y + 1) * words];
                        for i in 0..words {
                            let up = (row[i] << k) | if i > 0 { row[i - 1] >> (64 - k) } else { 0 };
                            let down = (row[i] >> k)
                                | if i + 1 < words {
                                    row[i + 1] << (64 - k)
                                } else {
                                    0
                                };
                            out[y * words + i] |= up | down;
                        }
                    }
                }
                out
            })
            .collect();
        let mut bits = vec![0u64; nr * words];
        for y in 0..nr {
            for &(dr, w) in &sp {
                let Some(yy) = y.checked_add_signed(-dr).filter(|&yy| yy < nr) else {
                    continue;
                };
                let a = &along[widths.binary_search(&w).ok()?];
                for i in 0..words {
                    bits[y * words + i] |= a[yy * words + i];
                }
            }
        }
        Some(Self { nc, words, bits })
    }

    /// Whether the dilation is set at `(y, x)` (inside the image).
    pub(crate) fn get(&self, y: usize, x: usize) -> bool {
        x < self.nc && (self.bits[y * self.words + x / 64] >> (x % 64)) & 1 == 1
    }
}

/// Erosion by the offsets: set where every offset lands on a set pixel inside the image.
pub(crate) fn erode(m: &Array2<bool>, offs: &[(isize, isize)]) -> Array2<bool> {
    let (nr, nc) = m.dim();
    let Some(sp) = spans(offs).and_then(|sp| symmetric(&sp)) else {
        return erode_each(m, offs);
    };
    let src = flat(m);
    // Distance to the nearest unset pixel, the outside of the image counting as unset.
    let hd = row_distance(&src, nr, nc, true);
    let mut out: Vec<bool> = src.to_vec();
    for y in 0..nr {
        let row = &mut out[y * nc..(y + 1) * nc];
        for &(dr, w) in &sp {
            let Some(yy) = y.checked_add_signed(dr).filter(|&yy| yy < nr) else {
                row.fill(false);
                break;
            };
            for (o, &d) in row.iter_mut().zip(&hd[yy * nc..(yy + 1) * nc]) {
                *o &= d > w;
            }
        }
    }
    shaped(out, (nr, nc)).unwrap_or_else(|| erode_each(m, offs))
}

/// Erosion, one offset at a time (any offsets).
pub(crate) fn erode_each(m: &Array2<bool>, offs: &[(isize, isize)]) -> Array2<bool> {
    let (nr, nc) = m.dim();
    Array2::from_shape_fn((nr, nc), |(r, c)| {
        m[[r, c]]
            && offs.iter().all(|&(dr, dc)| {
                match (r.checked_add_signed(dr), c.checked_add_signed(dc)) {
                    (Some(y), Some(x)) if y < nr && x < nc => m[[y, x]],
                    _ => false,
                }
            })
    })
}

/// Dilation, one offset at a time (any offsets).
pub(crate) fn dilate_each(m: &Array2<bool>, offs: &[(isize, isize)]) -> Array2<bool> {
    let (nr, nc) = m.dim();
    let mut out = Array2::from_elem((nr, nc), false);
    for ((r, c), &on) in m.indexed_iter() {
        if !on {
            continue;
        }
        for &(dr, dc) in offs {
            if let (Some(y), Some(x)) = (r.checked_add_signed(dr), c.checked_add_signed(dc))
                && y < nr
                && x < nc
            {
                out[[y, x]] = true;
            }
        }
    }
    out
}

fn find_root(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[parent[x as usize] as usize];
        parent[x as usize] = p;
        x = p;
    }
    x
}

/// A run of set pixels: row, first column, end column (exclusive), label.
pub(crate) type Run = (usize, usize, usize, u32);

/// 4-connected components of a row-major `nr` x `nc` mask as runs of set pixels in raster
/// order, labelled from 1 in raster order of each component's first pixel (as
/// `crate::image2d::label4`), with the pixel count per label (index 0 unused). Runs of a row
/// are joined with the overlapping runs of the row above (union-find). `None` beyond 2^32 runs.
pub(crate) fn label_runs(m: &[bool], nr: usize, nc: usize) -> Option<(Vec<Run>, Vec<usize>)> {
    // Runs (row, start, end) in raster order; `row_first[r]` = index of the row's first run.
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    let mut row_first = vec![0usize; nr + 1];
    for r in 0..nr {
        row_first[r] = runs.len();
        let row = &m[r * nc..(r + 1) * nc];
        let mut c = 0;
        while c < nc {
            if let Some(off) = row[c..].iter().position(|&b| b) {
                let s = c + off;
                let e = row[s..].iter().position(|&b| !b).map_or(nc, |o| s + o);
                runs.push((r, s, e));
                c = e;
            } else {
                break;
            }
        }
    }
    row_first[nr] = runs.len();
    let n_runs = u32::try_from(runs.len()).ok()?;
    let mut parent: Vec<u32> = (0..n_runs).collect();
    for r in 1..nr {
        let (mut i, above_end) = (row_first[r - 1], row_first[r]);
        for j in row_first[r]..row_first[r + 1] {
            let (_, s, e) = runs[j];
            // Runs of the row above overlapping [s, e).
            while i < above_end && runs[i].2 <= s {
                i += 1;
            }
            let mut k = i;
            while k < above_end && runs[k].1 < e {
                let (a, b) = (
                    find_root(&mut parent, k as u32),
                    find_root(&mut parent, j as u32),
                );
                if a != b {
                    parent[a.max(b) as usize] = a.min(b);
                }
                k += 1;
            }
        }
    }
    // Final labels in raster order of each component's first run.
    let mut label_of_root = vec![0u32; runs.len()];
    let mut sizes = vec![0usize];
    let mut out: Vec<Run> = Vec::new();
    out.reserve_exact(runs.len());
    for (j, &(r, s, e)) in runs.iter().enumerate() {
        let root = find_root(&mut parent, j as u32) as usize;
        if label_of_root[root] == 0 {
            label_of_root[root] = u32::try_from(sizes.len()).ok()?;
            sizes.push(0);
        }
        let l = label_of_root[root];
        sizes[l as usize] += e - s;
        out.push((r, s, e, l));
    }
    Some((out, sizes))
}

/// 4-connected components, numbered from 1 in raster order of their first pixel (as
/// `crate::image2d::label4`), with the pixel count per label (index 0 unused).
pub(crate) fn label4(mask: &Array2<bool>) -> (Array2<u32>, Vec<usize>) {
    let (nr, nc) = mask.dim();
    let Some((runs, sizes)) = label_runs(&flat(mask), nr, nc) else {
        return crate::image2d::label4(mask);
    };
    let mut labels = vec![0u32; nr * nc];
    for &(r, s, e, l) in &runs {
        labels[r * nc + s..r * nc + e].fill(l);
    }
    let labels =
        Array2::from_shape_vec((nr, nc), labels).unwrap_or_else(|_| Array2::zeros((nr, nc)));
    (labels, sizes)
}

/// The pixels `(row, col)` of each component (index = label, 0 empty), in raster order, for
/// the labels `wanted` accepts (the others stay empty).
pub(crate) fn components(
    runs: &[Run],
    n_labels: usize,
    wanted: impl Fn(u32) -> bool,
) -> Vec<Vec<(usize, usize)>> {
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n_labels];
    for &(r, s, e, l) in runs {
        if wanted(l) {
            out[l as usize].extend((s..e).map(|c| (r, c)));
        }
    }
    out
}

/// Fill the holes of a region: background not 4-connected to the image border becomes set
/// (as `crate::image2d::fill_holes`).
pub(crate) fn fill_holes(mask: &Array2<bool>) -> Array2<bool> {
    let (nr, nc) = mask.dim();
    if nr == 0 || nc == 0 {
        return mask.clone();
    }
    let m = flat(mask);
    let mut outside = vec![false; nr * nc];
    let mut stack: Vec<usize> = Vec::new();
    let seed = |i: usize, outside: &mut [bool], stack: &mut Vec<usize>| {
        if !m[i] && !outside[i] {
            outside[i] = true;
            stack.push(i);
        }
    };
    for c in 0..nc {
        seed(c, &mut outside, &mut stack);
        seed((nr - 1) * nc + c, &mut outside, &mut stack);
    }
    for r in 0..nr {
        seed(r * nc, &mut outside, &mut stack);
        seed(r * nc + nc - 1, &mut outside, &mut stack);
    }
    while let Some(i) = stack.pop() {
        let (y, x) = (i / nc, i % nc);
        let mut visit = |j: usize| {
            if !m[j] && !outside[j] {
                outside[j] = true;
                stack.push(j);
            }
        };
        if y > 0 {
            visit(i - nc);
        }
        if y + 1 < nr {
            visit(i + nc);
        }
        if x > 0 {
            visit(i - 1);
        }
        if x + 1 < nc {
            visit(i + 1);
        }
    }
    let filled: Vec<bool> = outside.iter().map(|&o| !o).collect();
    Array2::from_shape_vec((nr, nc), filled).unwrap_or_else(|_| crate::image2d::fill_holes(mask))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctm::sites::disc_offsets;

    /// A deterministic pseudo-random mask with blobs and specks.
    fn random_mask(nr: usize, nc: usize, seed: u64, density: u64) -> Array2<bool> {
        let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        Array2::from_shape_fn((nr, nc), |(r, c)| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let blob = ((r / 5 + c / 7 + seed as usize) % 3) == 0;
            (s >> 33) % 100 < if blob { density + 40 } else { density }
        })
    }

    #[test]
    fn same_as_the_generic_helpers() {
        let discs = [
            disc_offsets([1.5, 1.5]),
            disc_offsets([2.5, 2.5]),
            disc_offsets([3.33, 2.1]),
            disc_offsets([1.0, 1.0]),
            vec![(0, 0), (1, 2), (-2, 1)],
        ];
        for seed in 0..12u64 {
            let (nr, nc) = (17 + (seed as usize * 7) % 40, 9 + (seed as usize * 13) % 50);
            let m = random_mask(nr, nc, seed, 10 + seed * 6);
            for d in &discs {
                assert_eq!(dilate(&m, d), dilate_each(&m, d), "dilate seed {seed}");
                assert_eq!(erode(&m, d), erode_each(&m, d), "erode seed {seed}");
            }
            for d in &discs {
                let (src, want) = (flat(&m), dilate_each(&m, d));
                if let Some(q) = BitDilation::new(nr, nc, d, |i| src[i]) {
                    assert!(
                        want.indexed_iter().all(|((y, x), &v)| q.get(y, x) == v),
                        "bit dilation seed {seed}"
                    );
                }
            }
            assert_eq!(label4(&m), crate::image2d::label4(&m), "label4 seed {seed}");
            assert_eq!(
                fill_holes(&m),
                crate::image2d::fill_holes(&m),
                "fill_holes seed {seed}"
            );
        }
        // Something was actually set, grown and shrunk.
        let m = random_mask(30, 30, 3, 30);
        let d = disc_offsets([1.5, 1.5]);
        let n = |a: &Array2<bool>| a.iter().filter(|&&b| b).count();
        assert!(n(&dilate(&m, &d)) > n(&m));
        assert!(n(&erode(&m, &d)) < n(&m));
        // Bit rows wider than a word, every disc of the CT analysis.
        for (seed, nc) in [(5u64, 64usize), (6, 65), (7, 130), (8, 200)] {
            let m = random_mask(23, nc, seed, 8);
            let src = flat(&m);
            for d in &discs[..4] {
                let q = BitDilation::new(23, nc, d, |i| src[i]).expect("symmetric disc");
                let want = dilate_each(&m, d);
                assert!(want.indexed_iter().all(|((y, x), &v)| q.get(y, x) == v));
            }
        }
    }
}
