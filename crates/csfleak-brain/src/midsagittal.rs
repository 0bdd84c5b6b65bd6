//! The midsagittal plane of a head volume by left-right symmetry, and the reformat on it.
//!
//! The plane is the mirror plane that best maps the head onto itself: the mean squared
//! intensity difference between sample points and their mirror images, normalised by the
//! intensity variance, is minimised over the plane's offset and its tilt about the
//! superior-inferior and antero-posterior axes. Nothing here assumes a particular intensity
//! scale or anatomy beyond approximate bilateral symmetry, and the plane starts from the
//! patient left-right axis, so any slice orientation works.

use csfleak_volume::{DVec3, PointLps, VecLps, Volume, VoxelIdx};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// A plane found by symmetry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MidsagittalPlane {
    /// A point on the plane, patient LPS mm.
    pub point: PointLps,
    /// Unit normal (towards patient left).
    pub normal: VecLps,
    /// Mirror agreement in `[0, 1]`: `1 - mse / (2 var)` of sample intensities (1 = perfect
    /// symmetry, 0 = no better than unrelated intensities).
    pub symmetry: f64,
}

/// Sample points (patient LPS) and their intensities inside the object.
fn sample_points(v: &Volume, target: usize) -> Vec<(DVec3, f32)> {
    let [ni, nj, nk] = v.dims();
    let total = (ni * nj * nk).max(1);
    let mut stride = 1_usize;
    while total / (stride * stride * stride) > target.saturating_mul(4) {
        stride += 1;
    }
    // Object = above 10 % of a robust maximum; only the ordering of intensities matters.
    let mut vals: Vec<f32> = Vec::new();
    for k in (0..nk).step_by(stride) {
        for j in (0..nj).step_by(stride) {
            for i in (0..ni).step_by(stride) {
                if let Some(x) = v.get(VoxelIdx::new(i, j, k)) {
                    vals.push(x);
                }
            }
        }
    }
    vals.sort_by(f32::total_cmp);
    // No voxel: no point (the second pass below would find none either).
    let Some(&p99) = vals.get(vals.len().saturating_sub(1) * 99 / 100) else {
        return Vec::new();
    };
    let thr = 0.1 * p99;
    let g = v.geometry();
    let mut out = Vec::new();
    for k in (0..nk).step_by(stride) {
        for j in (0..nj).step_by(stride) {
            for i in (0..ni).step_by(stride) {
                let idx = VoxelIdx::new(i, j, k);
                if let Some(x) = v.get(idx) {
                    if x > thr {
                        out.push((g.voxel_center(idx).to_dvec3(), x));
                    }
                }
            }
        }
    }
    out
}

fn plane_normal(yaw: f64, roll: f64) -> DVec3 {
    // Start from patient left (+x); yaw about +z, roll about +y.
    let (sy, cy) = yaw.sin_cos();
    let (sr, cr) = roll.sin_cos();
    DVec3::new(cy * cr, sy * cr, -sr)
}

fn cost(v: &Volume, pts: &[(DVec3, f32)], n: DVec3, d: f64, var: f64) -> f64 {
    let mut sum = 0.0;
    let mut count = 0_usize;
    for (p, x) in pts {
        let q = *p - n * (2.0 * (p.dot(n) - d));
        if let Some(y) = v.sample(PointLps::from_dvec3(q)) {
            let e = f64::from(*x - y);
            sum += e * e;
            count += 1;
        }
    }
    if count * 4 < pts.len() {
        return f64::INFINITY;
    }
    sum / count as f64 / (2.0 * var)
}

/// Find the midsagittal plane; `None` when the volume holds too little signal.
pub fn find_plane(v: &Volume) -> Option<MidsagittalPlane> {
    let pts = sample_points(v, 6000);
    if pts.len() < 100 {
        return None;
    }
    let mean = pts.iter().map(|p| f64::from(p.1)).sum::<f64>() / pts.len() as f64;
    let var = pts
        .iter()
        .map(|p| (f64::from(p.1) - mean).powi(2))
        .sum::<f64>()
        / pts.len() as f64;
    if var <= 0.0 {
        return None;
    }
    let centroid = pts.iter().map(|p| p.0).sum::<DVec3>() / pts.len() as f64;
    // Coarse scan of the offset along x, then coordinate descent on (yaw, roll, offset).
    let (mut yaw, mut roll) = (0.0_f64, 0.0_f64);
    let mut d = centroid.x;
    let mut best = f64::INFINITY;
    for step in -10..=10 {
        let dd = centroid.x + 2.0 * f64::from(step);
        let c = cost(v, &pts, DVec3::X, dd, var);
        if c < best {
            best = c;
            d = dd;
        }
    }
    let mut steps = [4f64.to_radians(), 4f64.to_radians(), 2.0];
    // Coarse steps on every 4th sample point (the cost surface is smooth at that scale), then
    // the fine steps on all of them from where the coarse search stopped.
    let coarse: Vec<(DVec3, f32)> = pts.iter().step_by(4).copied().collect();
    let use_coarse = coarse.len() >= 100;
    if use_coarse {
        best = cost(v, &coarse, DVec3::X, d, var);
    }
    // The offset is measured along the current normal through the centroid's plane.
    while steps[2] > 0.05 {
        let fine = !use_coarse || steps[2] < 0.4;
        if fine && use_coarse && steps[2] * 2.0 >= 0.4 {
            // First fine round: the best so far on all points.
            best = cost(v, &pts, plane_normal(yaw, roll), d, var);
        }
        let pts: &[(DVec3, f32)] = if fine { &pts } else { &coarse };
        let mut improved = false;
        for axis in 0..3 {
            for sign in [-1.0, 1.0] {
                let (mut y, mut r, mut dd) = (yaw, roll, d);
                match axis {
                    0 => y += sign * steps[0],
                    1 => r += sign * steps[1],
                    _ => dd += sign * steps[2],
                }
                if axis < 2 {
                    // Keep the plane through the same point near the centroid while tilting.
                    let p0 = plane_normal(yaw, roll) * (d - plane_normal(yaw, roll).dot(centroid))
                        + centroid;
                    dd = plane_normal(y, r).dot(p0);
                }
                let c = cost(v, pts, plane_normal(y, r), dd, var);
                if c < best {
                    best = c;
                    (yaw, roll, d) = (y, r, dd);
                    improved = true;
                }
            }
        }
        if !improved {
            for s in &mut steps {
                *s *= 0.5;
            }
        }
    }
    let n = plane_normal(yaw, roll);
    let point = centroid - n * (n.dot(centroid) - d);
    Some(MidsagittalPlane {
        point: PointLps::from_dvec3(point),
        normal: VecLps::from_dvec3(n),
        symmetry: (1.0 - best).clamp(0.0, 1.0),
    })
}

/// A 2D reformat on a plane: `base[[row, col]]` at `origin + col * px * u + row * px * v`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reformat {
    /// The image (NaN outside the volume).
    pub image: Array2<f32>,
    /// Patient position of pixel (0, 0).
    pub origin: DVec3,
    /// Unit direction of increasing column (posterior within the plane).
    pub u: DVec3,
    /// Unit direction of increasing row (inferior within the plane).
    pub v: DVec3,
    /// Pixel size, mm.
    pub px: f64,
}

impl Reformat {
    /// Pixel position `[row, col]` of a patient point projected onto the plane.
    pub fn pixel_of(&self, p: DVec3) -> [f64; 2] {
        let d = p - self.origin;
        [d.dot(self.v) / self.px, d.dot(self.u) / self.px]
    }
}

/// Reformat `vol` on `plane`: anterior at the left, superior at the top, square pixels of the
/// smallest voxel spacing.
pub fn reformat(vol: &Volume, plane: &MidsagittalPlane) -> crate::Result<Reformat> {
    let n = plane.normal.to_dvec3();
    let u = (DVec3::Y - n * n.y).try_normalize().unwrap_or(DVec3::Y);
    let v = n.cross(u);
    let v = if v.z > 0.0 { -v } else { v };
    let s = vol.geometry().spacing_mm();
    let px = s[0].min(s[1]).min(s[2]).max(0.25);
    let g = vol.geometry();
    let [ni, nj, nk] = g.dims;
    let p0 = plane.point.to_dvec3();
    let (mut umin, mut umax, mut vmin, mut vmax) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for c in 0..8_u8 {
        let ijk = DVec3::new(
            if c & 1 == 0 { 0.0 } else { ni as f64 - 1.0 },
            if c & 2 == 0 { 0.0 } else { nj as f64 - 1.0 },
            if c & 4 == 0 { 0.0 } else { nk as f64 - 1.0 },
        );
        let d = g.world_from_voxel_point(ijk).to_dvec3() - p0;
        umin = umin.min(d.dot(u));
        umax = umax.max(d.dot(u));
        vmin = vmin.min(d.dot(v));
        vmax = vmax.max(d.dot(v));
    }
    let cols = csfleak_volume::index_of(((umax - umin) / px).ceil() + 1.0).unwrap_or(1);
    let rows = csfleak_volume::index_of(((vmax - vmin) / px).ceil() + 1.0).unwrap_or(1);
    let n_el = csfleak_volume::checked_len(&[rows, cols])?;
    let buf = csfleak_volume::try_alloc(n_el, f32::NAN)?;
    let mut image = Array2::from_shape_vec((rows, cols), buf).map_err(|_| {
        csfleak_volume::Error::ShapeMismatch {
            shape: vec![rows, cols],
            expected: [1, rows, cols],
        }
    })?;
    let origin = p0 + u * umin + v * vmin;
    for ((r, c), x) in image.indexed_iter_mut() {
        let p = origin + u * (c as f64 * px) + v * (r as f64 * px);
        if let Some(val) = vol.sample(PointLps::from_dvec3(p)) {
            *x = val;
        }
    }
    Ok(Reformat {
        image,
        origin,
        u,
        v,
        px,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use csfleak_volume::Geometry;

    /// A symmetric blob pair about a tilted plane, on an oblique anisotropic grid.
    #[test]
    fn finds_tilted_symmetry_plane() {
        let g = Geometry::from_steps(
            [40, 40, 30],
            PointLps([-30.0, -40.0, 40.0]),
            VecLps([0.1, 2.0, 0.0]),
            VecLps([0.0, 0.0, -2.0]),
            VecLps([2.4, -0.1, 0.0]),
        )
        .unwrap();
        let n = plane_normal(6f64.to_radians(), -4f64.to_radians());
        let c = DVec3::new(3.0, 0.0, 0.0);
        let mut v = Volume::zeros(g).unwrap();
        let blobs = [
            (DVec3::new(12.0, -10.0, 10.0), 9.0, 300.0_f32),
            (DVec3::new(20.0, 15.0, -5.0), 7.0, 500.0),
            (DVec3::new(0.0, 0.0, 0.0), 25.0, 100.0),
        ];
        for k in 0..30 {
            for j in 0..40 {
                for i in 0..40 {
                    let idx = VoxelIdx::new(i, j, k);
                    let p = g.voxel_center(idx).to_dvec3() - c;
                    // Fold onto the left side so the image is mirror-symmetric about the plane.
                    let q = if p.dot(n) < 0.0 {
                        p - n * (2.0 * p.dot(n))
                    } else {
                        p
                    };
                    let mut val = 0.0;
                    for (b, r, s) in blobs {
                        let b = b - n * b.dot(n) + n * b.dot(n).abs();
                        if q.distance(b) < r {
                            val += s;
                        }
                    }
                    v.set(idx, val);
                }
            }
        }
        let plane = find_plane(&v).unwrap();
        let found = plane.normal.to_dvec3();
        let ang = found.dot(n).abs().clamp(-1.0, 1.0).acos().to_degrees();
        assert!(ang < 2.0, "normal off by {ang} deg");
        let off = (plane.point.to_dvec3() - c).dot(n);
        assert!(off.abs() < 1.0, "offset {off}");
        assert!(plane.symmetry > 0.9);
        let rf = reformat(&v, &plane).unwrap();
        assert!(rf.image.iter().any(|x| x.is_finite() && *x > 0.0));
        let px = rf.pixel_of(rf.origin + rf.u * 10.0 + rf.v * 5.0);
        assert!((px[1] - 10.0 / rf.px).abs() < 1e-9 && (px[0] - 5.0 / rf.px).abs() < 1e-9);
    }
}
