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
}
