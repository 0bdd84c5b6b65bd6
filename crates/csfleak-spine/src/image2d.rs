//! Small 2D helpers on `[row, col]` arrays: connected components, hole filling, dilation.

use ndarray::Array2;

/// 4-connected components of `mask`; label 0 = background, components numbered from 1 in
/// raster order (deterministic). Returns the labels and the pixel count per label (index 0
/// unused).
pub(crate) fn label4(mask: &Array2<bool>) -> (Array2<u32>, Vec<usize>) {
    let (nr, nc) = mask.dim();
    let mut labels = Array2::<u32>::zeros((nr, nc));
    let mut sizes = vec![0usize];
    let mut stack = Vec::new();
    for r in 0..nr {
        for c in 0..nc {
            if !mask[[r, c]] || labels[[r, c]] != 0 {
                continue;
            }
            let id = u32::try_from(sizes.len()).unwrap_or(u32::MAX);
            let mut n = 0usize;
            labels[[r, c]] = id;
            stack.push((r, c));
            while let Some((y, x)) = stack.pop() {
                n += 1;
                for (dy, dx) in [(-1isize, 0isize), (1, 0), (0, -1), (0, 1)] {
                    let (Some(yy), Some(xx)) = (y.checked_add_signed(dy), x.checked_add_signed(dx))
                    else {
                        continue;
                    };
                    if yy < nr && xx < nc && mask[[yy, xx]] && labels[[yy, xx]] == 0 {
                        labels[[yy, xx]] = id;
                        stack.push((yy, xx));
                    }
                }
            }
            sizes.push(n);
        }
    }
    (labels, sizes)
}

/// Fill the holes of a region: background not 4-connected to the image border becomes set.
pub(crate) fn fill_holes(mask: &Array2<bool>) -> Array2<bool> {
    let (nr, nc) = mask.dim();
    let mut outside = Array2::<bool>::from_elem((nr, nc), false);
    let mut stack = Vec::new();
    for r in 0..nr {
        for c in 0..nc {
            let border = r == 0 || c == 0 || r + 1 == nr || c + 1 == nc;
            if border && !mask[[r, c]] && !outside[[r, c]] {
                outside[[r, c]] = true;
                stack.push((r, c));
            }
        }
    }
    while let Some((y, x)) = stack.pop() {
        for (dy, dx) in [(-1isize, 0isize), (1, 0), (0, -1), (0, 1)] {
            let (Some(yy), Some(xx)) = (y.checked_add_signed(dy), x.checked_add_signed(dx)) else {
                continue;
            };
            if yy < nr && xx < nc && !mask[[yy, xx]] && !outside[[yy, xx]] {
                outside[[yy, xx]] = true;
                stack.push((yy, xx));
            }
        }
    }
    outside.mapv(|o| !o)
}

/// Boundary pixels of a region (set, with a 4-neighbour unset or outside).
pub(crate) fn boundary(mask: &Array2<bool>) -> Vec<(usize, usize)> {
    let (nr, nc) = mask.dim();
    let mut out = Vec::new();
    for r in 0..nr {
        for c in 0..nc {
            if !mask[[r, c]] {
                continue;
            }
            let edge = r == 0
                || c == 0
                || r + 1 == nr
                || c + 1 == nc
                || !mask[[r - 1, c]]
                || !mask[[r + 1, c]]
                || !mask[[r, c - 1]]
                || !mask[[r, c + 1]];
            if edge {
                out.push((r, c));
            }
        }
    }
    out
}

/// Whether `to` can be reached from `from` through set pixels of `mask` (8-connected, no corner
/// cutting between two unset pixels) along a
/// path of at most `limit_mm`; `step_mm` is the `[row, col]` pixel size. The search stays
/// within `limit_mm` of `from` (Dijkstra on a window).
pub(crate) fn path_within(
    mask: &Array2<bool>,
    from: (usize, usize),
    to: (usize, usize),
    step_mm: [f64; 2],
    limit_mm: f64,
) -> bool {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let (nr, nc) = mask.dim();
    if from.0 >= nr || from.1 >= nc || to.0 >= nr || to.1 >= nc {
        return false;
    }
    if !mask[from] || !mask[to] {
        return false;
    }
    let reach = |step: f64| {
        csfleak_volume::index_of((limit_mm / step.max(1e-6)).ceil()).unwrap_or(usize::MAX)
    };
    let (wr, wc) = (reach(step_mm[0]), reach(step_mm[1]));
    let (r0, c0) = (from.0.saturating_sub(wr), from.1.saturating_sub(wc));
    let (r1, c1) = (
        from.0.saturating_add(wr + 1).min(nr),
        from.1.saturating_add(wc + 1).min(nc),
    );
    if to.0 < r0 || to.0 >= r1 || to.1 < c0 || to.1 >= c1 {
        return false;
    }
    // Costs in micrometres (integers for the heap).
    let um = |mm: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "small non-negative lengths in micrometres"
        )]
        let v = (mm * 1000.0).round().max(0.0) as u64;
        v
    };
    let limit = um(limit_mm);
    let (sr, sc) = (step_mm[0], step_mm[1]);
    let moves = [
        (-1isize, 0isize, um(sr)),
        (1, 0, um(sr)),
        (0, -1, um(sc)),
        (0, 1, um(sc)),
        (-1, -1, um(sr.hypot(sc))),
        (-1, 1, um(sr.hypot(sc))),
        (1, -1, um(sr.hypot(sc))),
        (1, 1, um(sr.hypot(sc))),
    ];
    let (h, w) = (r1 - r0, c1 - c0);
    let mut dist = vec![u64::MAX; h * w];
    let idx = |r: usize, c: usize| (r - r0) * w + (c - c0);
    let mut heap = BinaryHeap::new();
    dist[idx(from.0, from.1)] = 0;
    heap.push(Reverse((0u64, from.0, from.1)));
    while let Some(Reverse((d, r, c))) = heap.pop() {
        if (r, c) == to {
            return true;
        }
        if d > dist[idx(r, c)] {
            continue;
        }
        for &(dr, dc, cost) in &moves {
            let (Some(rr), Some(cc)) = (r.checked_add_signed(dr), c.checked_add_signed(dc)) else {
                continue;
            };
            if rr < r0 || rr >= r1 || cc < c0 || cc >= c1 || !mask[[rr, cc]] {
                continue;
            }
            // No corner cutting: a one-pixel diagonal line is a wall.
            if dr != 0 && dc != 0 && !mask[[rr, c]] && !mask[[r, cc]] {
                continue;
            }
            let nd = d + cost;
            if nd <= limit && nd < dist[idx(rr, cc)] {
                dist[idx(rr, cc)] = nd;
                heap.push(Reverse((nd, rr, cc)));
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_fill_and_dilate() {
        let mut m = Array2::from_elem((7, 7), false);
        for r in 1..6 {
            for c in 1..6 {
                m[[r, c]] = r == 1 || r == 5 || c == 1 || c == 5;
            }
        }
        m[[0, 6]] = true;
        let (_, sizes) = label4(&m);
        assert_eq!(sizes, vec![0, 1, 16]);
        let f = fill_holes(&m);
        assert!(f[[3, 3]]);
        assert!(f[[1, 1]]);
        assert!(!f[[0, 0]]);
        assert_eq!(boundary(&f).len(), 17);
    }

    /// A wall with a gap: reachable around it within a long limit, not within a short one.
    #[test]
    fn path_around_a_wall() {
        let mut m = Array2::from_elem((9, 9), true);
        for c in 0..7 {
            m[[4, c]] = false;
        }
        let s = [1.0, 1.0];
        assert!(!path_within(&m, (2, 2), (6, 2), s, 4.5));
        assert!(path_within(&m, (2, 2), (6, 2), s, 12.0));
        assert!(path_within(&m, (2, 2), (2, 3), s, 1.0));
        m[[4, 7]] = false;
        m[[4, 8]] = false;
        assert!(!path_within(&m, (2, 2), (6, 2), s, 50.0));
        assert!(!path_within(&m, (4, 2), (6, 2), s, 50.0));
        // A diagonal line of single pixels is a wall too.
        let d = Array2::from_shape_fn((6, 6), |(r, c)| r != c);
        assert!(!path_within(&d, (0, 3), (3, 0), s, 50.0));
    }
}
