//! Small dense linear algebra: eigen-decomposition of a symmetric 3x3 matrix (cyclic Jacobi).

#[allow(
    clippy::needless_range_loop,
    reason = "index loops mirror the rotation formulas"
)]
/// Eigenvalues and unit eigenvectors (`vecs[i]` belongs to `vals[i]`) of a symmetric 3x3 matrix.
pub(crate) fn sym3_eigen(m: [[f64; 3]; 3]) -> ([f64; 3], [[f64; 3]; 3]) {
    let mut a = m;
    let mut v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _sweep in 0..50 {
        let off = a[0][1].abs() + a[0][2].abs() + a[1][2].abs();
        if off < 1e-15 * (a[0][0].abs() + a[1][1].abs() + a[2][2].abs() + 1e-300) {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if a[p][q].abs() < 1e-300 {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = theta.signum() / (theta.abs() + theta.hypot(1.0));
            let t = if theta == 0.0 { 1.0 } else { t };
            let c = 1.0 / t.hypot(1.0);
            let s = t * c;
            // a <- J^T a J, v <- v J with J the rotation in the (p, q) plane.
            for k in 0..3 {
                let (akp, akq) = (a[k][p], a[k][q]);
                a[k][p] = c * akp - s * akq;
                a[k][q] = s * akp + c * akq;
            }
            for k in 0..3 {
                let (apk, aqk) = (a[p][k], a[q][k]);
                a[p][k] = c * apk - s * aqk;
                a[q][k] = s * apk + c * aqk;
            }
            for row in &mut v {
                let (vp, vq) = (row[p], row[q]);
                row[p] = c * vp - s * vq;
                row[q] = s * vp + c * vq;
            }
        }
    }
    let vals = [a[0][0], a[1][1], a[2][2]];
    let vecs = [
        [v[0][0], v[1][0], v[2][0]],
        [v[0][1], v[1][1], v[2][1]],
        [v[0][2], v[1][2], v[2][2]],
    ];
    (vals, vecs)
}

/// Indices that sort three values ascending.
pub(crate) fn argsort3(v: [f64; 3]) -> [usize; 3] {
    let mut idx = [0, 1, 2];
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_of_known_matrix() {
        let m = [[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 5.0]];
        let (vals, vecs) = sym3_eigen(m);
        let o = argsort3(vals);
        assert!((vals[o[0]] - 1.0).abs() < 1e-12);
        assert!((vals[o[1]] - 3.0).abs() < 1e-12);
        assert!((vals[o[2]] - 5.0).abs() < 1e-12);
        let e = vecs[o[0]];
        // A v = lambda v
        for r in 0..3 {
            let av: f64 = (0..3).map(|c| m[r][c] * e[c]).sum();
            assert!((av - vals[o[0]] * e[r]).abs() < 1e-12);
        }
    }
}
