//! Volumes, planar images and masks placed in the patient, and the geometry conventions of the
//! whole workspace.
//!
//! This crate does no I/O and knows nothing of DICOM tags: `csfleak-dicom` builds these types
//! from files, measurement crates read them, `csfleak-report` writes them out.
//!
//! * [`Geometry`]: grid size and `world_from_voxel` (voxel `(i, j, k)` -> patient LPS mm).
//! * [`Volume`]: `f32` voxels stored as `Array3` with shape `[k, j, i]` plus a [`Geometry`].
//! * [`Mask`]: a boolean volume on the same kind of grid.
//! * [`PlanarImage`]: planar frames (NM whole-body or spot views), `[frame, row, col]`.
//! * [`Overlay`]: what a measurement wants shown (grey image + masks, lines, points, labels),
//!   rendered to PNG by `csfleak-report`.
//! * [`try_alloc`] and [`index_of`]: the audited places where header-derived sizes become
//!   allocations and floats become indices.
//!
//! Index order is written once, here: voxel `(i = column, j = row, k = slice)`; storage
//! `[k, j, i]`. Measurement code goes through [`Volume::get`] and [`VoxelIdx`], not ad-hoc
//! `arr[[a, b, c]]`.
//!
//! ```
//! use csfleak_volume::{Geometry, PointLps, VecLps, Volume, VoxelIdx};
//! let g = Geometry::from_dicom(
//!     [4, 3, 2],                              // columns, rows, slices
//!     PointLps([0.0, 0.0, 0.0]),
//!     [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],         // axial
//!     [0.7, 0.5],                             // [row spacing, column spacing]
//!     VecLps([0.0, 0.0, 3.0]),
//! )?;
//! let mut v = Volume::zeros(g)?;
//! v.set(VoxelIdx::new(3, 2, 1), 42.0);
//! assert_eq!(v.get(VoxelIdx::new(3, 2, 1)), Some(42.0));
//! assert_eq!(v.geometry().voxel_center(VoxelIdx::new(1, 1, 1)).0, [0.5, 0.7, 3.0]);
//! # Ok::<(), csfleak_volume::Error>(())
//! ```

mod geometry;
pub mod overlay;
mod planar;

pub use geometry::{
    Geometry, Plane, PointLps, VecLps, VoxelIdx, orientation_axes, orientation_normal, ras_from_lps,
};
pub use glam::{DAffine3, DMat3, DVec3};
pub use overlay::Overlay;
pub use planar::PlanarImage;

use ndarray::Array3;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Axes that do not span 3D space, zero spacing, non-orthogonal orientation.
    #[error("degenerate geometry: {reason}")]
    DegenerateGeometry {
        /// What is wrong.
        reason: &'static str,
    },
    /// An array whose shape does not match its geometry.
    #[error("array shape {shape:?} does not match the grid [k, j, i] = {expected:?}")]
    ShapeMismatch {
        /// The array's shape.
        shape: Vec<usize>,
        /// What the geometry needs.
        expected: [usize; 3],
    },
    /// A size beyond [`MAX_ELEMENTS`] (an absurd header) or one that overflows.
    #[error("refusing to allocate {elements} elements (limit {limit})")]
    LimitExceeded {
        /// Requested element count (saturated).
        elements: usize,
        /// The limit.
        limit: usize,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The largest element count [`try_alloc`] hands out: 2^31 voxels (8 GiB of `f32`).
pub const MAX_ELEMENTS: usize = 1 << 31;

/// A vector of `n` copies of `fill`, refusing sizes above [`MAX_ELEMENTS`] or allocation failure.
///
/// Every buffer whose size comes from a file header goes through here, so that an absurd
/// Rows x Columns x Number of Frames gives an error instead of an abort.
pub fn try_alloc<T: Clone>(n: usize, fill: T) -> Result<Vec<T>> {
    if n > MAX_ELEMENTS {
        return Err(Error::LimitExceeded {
            elements: n,
            limit: MAX_ELEMENTS,
        });
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::LimitExceeded {
        elements: n,
        limit: MAX_ELEMENTS,
    })?;
    v.resize(n, fill);
    Ok(v)
}

/// The product of grid dimensions, or an error if it overflows or exceeds [`MAX_ELEMENTS`].
pub fn checked_len(dims: &[usize]) -> Result<usize> {
    let mut n: usize = 1;
    for &d in dims {
        n = n.checked_mul(d).ok_or(Error::LimitExceeded {
            elements: usize::MAX,
            limit: MAX_ELEMENTS,
        })?;
    }
    if n > MAX_ELEMENTS {
        return Err(Error::LimitExceeded {
            elements: n,
            limit: MAX_ELEMENTS,
        });
    }
    Ok(n)
}

/// A float as an array index: `None` for negative, non-finite or fractional-overflow values.
///
/// This is the one audited `f64 -> usize` cast of the workspace; round or floor before calling.
#[inline]
pub fn index_of(x: f64) -> Option<usize> {
    if !x.is_finite() || x < 0.0 || x >= MAX_ELEMENTS as f64 {
        return None;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked above: finite, non-negative and below 2^31"
    )]
    Some(x as usize)
}

/// A scalar volume: `f32` voxels in a grid placed in the patient.
///
/// Values are what the modality defines: HU for CT (after rescale), relative units for MR,
/// counts for NM.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    data: Array3<f32>,
    geometry: Geometry,
    /// `geometry.voxel_from_world()`, computed once: [`Volume::sample`] is called per voxel.
    voxel_from_world: DAffine3,
}

impl Volume {
    /// A volume from an array of shape `[k, j, i]` and its geometry.
    pub fn new(geometry: Geometry, data: Array3<f32>) -> Result<Self> {
        let [ni, nj, nk] = geometry.dims;
        if data.shape() != [nk, nj, ni] {
            return Err(Error::ShapeMismatch {
                shape: data.shape().to_vec(),
                expected: [nk, nj, ni],
            });
        }
        Ok(Self::assemble(geometry, data))
    }

    fn assemble(geometry: Geometry, data: Array3<f32>) -> Self {
        Self {
            data,
            voxel_from_world: geometry.voxel_from_world(),
            geometry,
        }
    }

    /// A volume from voxels in storage order (slice after slice, row after row).
    pub fn from_vec(geometry: Geometry, voxels: Vec<f32>) -> Result<Self> {
        let [ni, nj, nk] = geometry.dims;
        let len = voxels.len();
        let data =
            Array3::from_shape_vec((nk, nj, ni), voxels).map_err(|_| Error::ShapeMismatch {
                shape: vec![len],
                expected: [nk, nj, ni],
            })?;
        Ok(Self::assemble(geometry, data))
    }

    /// A zero-filled volume.
    pub fn zeros(geometry: Geometry) -> Result<Self> {
        let n = checked_len(&geometry.dims)?;
        Self::from_vec(geometry, try_alloc(n, 0.0)?)
    }

    /// The grid.
    #[inline]
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Grid size `[ni, nj, nk]`.
    #[inline]
    pub fn dims(&self) -> [usize; 3] {
        self.geometry.dims
    }

    /// The voxels, shape `[k, j, i]`.
    #[inline]
    pub fn data(&self) -> &Array3<f32> {
        &self.data
    }

    /// The voxels, mutable, shape `[k, j, i]`.
    #[inline]
    pub fn data_mut(&mut self) -> &mut Array3<f32> {
        &mut self.data
    }

    /// Consume into the array and the geometry.
    pub fn into_parts(self) -> (Array3<f32>, Geometry) {
        (self.data, self.geometry)
    }

    /// The value at a voxel, `None` outside the grid.
    #[inline]
    pub fn get(&self, v: VoxelIdx) -> Option<f32> {
        self.data.get((v.k, v.j, v.i)).copied()
    }

    /// Set the value at a voxel; ignored outside the grid.
    #[inline]
    pub fn set(&mut self, v: VoxelIdx, value: f32) {
        if let Some(x) = self.data.get_mut((v.k, v.j, v.i)) {
            *x = value;
        }
    }

    /// Trilinear interpolation at a patient point; `None` outside the grid.
    #[inline]
    pub fn sample(&self, p: PointLps) -> Option<f32> {
        let c = self.voxel_from_world.transform_point3(p.to_dvec3());
        self.sample_voxel(c)
    }

    /// Trilinear interpolation at a continuous voxel coordinate; `None` outside the grid.
    ///
    /// Along an axis of size 1 the coordinate must round to 0.
    #[inline]
    pub fn sample_voxel(&self, c: DVec3) -> Option<f32> {
        let dims = self.geometry.dims;
        // Per axis: the lower corner, its neighbour (clamped to the grid) and the two weights.
        // For a coordinate clamped to [0, n - 1] the floor is the integer part.
        let mut lo = [0_usize; 3];
        let mut hi = [0_usize; 3];
        let mut wt = [[0.0_f64; 2]; 3];
        for (axis, x) in [c.x, c.y, c.z].into_iter().enumerate() {
            let n = dims[axis];
            if n == 0 || x.is_nan() || x < -0.5 || x > n as f64 - 0.5 {
                return None;
            }
            let xc = x.clamp(0.0, (n - 1) as f64);
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "xc is in [0, n - 1], n a grid size"
            )]
            let i = xc as usize;
            let f = xc - i as f64;
            lo[axis] = i;
            hi[axis] = (i + 1).min(n - 1);
            wt[axis] = [1.0 - f, f];
        }
        let Some(data) = self.data.as_slice() else {
            return Some(self.sample_voxel_strided(lo, hi, wt));
        };
        let (ni, nij) = (dims[0], dims[0] * dims[1]);
        // Corners in the order x fastest, then y, then z, weights multiplied x, y, z: the
        // same terms in the same order as the generic loop (exactly the same result).
        let mut acc = 0.0_f64;
        for (kz, z) in [lo[2], hi[2]].into_iter().enumerate() {
            for (ky, y) in [lo[1], hi[1]].into_iter().enumerate() {
                let wxy = [wt[0][0] * wt[1][ky], wt[0][1] * wt[1][ky]];
                let row = z * nij + y * ni;
                for (kx, xi) in [lo[0], hi[0]].into_iter().enumerate() {
                    let w = wxy[kx] * wt[2][kz];
                    if w > 0.0 {
                        acc += w * f64::from(data[row + xi]);
                    }
                }
            }
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "interpolated voxel values fit f32"
        )]
        Some(acc as f32)
    }

    /// [`Self::sample_voxel`] on a non-contiguous array.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "interpolated voxel values fit f32"
    )]
    fn sample_voxel_strided(&self, lo: [usize; 3], hi: [usize; 3], wt: [[f64; 2]; 3]) -> f32 {
        let mut acc = 0.0_f64;
        for corner in 0..8_u8 {
            let mut w = 1.0;
            let mut idx = lo;
            for axis in 0..3 {
                if corner & (1 << axis) == 0 {
                    w *= wt[axis][0];
                } else {
                    w *= wt[axis][1];
                    idx[axis] = hi[axis];
                }
            }
            if w > 0.0 {
                acc += w * f64::from(self.data[(idx[2], idx[1], idx[0])]);
            }
        }
        acc as f32
    }

    /// Minimum and maximum voxel value (NaN ignored); `None` when empty or all NaN.
    pub fn min_max(&self) -> Option<(f32, f32)> {
        let mut it = self.data.iter().copied().filter(|x| !x.is_nan());
        let first = it.next()?;
        Some(it.fold((first, first), |(lo, hi), x| (lo.min(x), hi.max(x))))
    }
}

/// A boolean mask on a grid (segmentations, ROIs).
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    data: Array3<bool>,
    geometry: Geometry,
}

impl Mask {
    /// An empty (all false) mask on a grid.
    pub fn empty(geometry: Geometry) -> Result<Self> {
        let [ni, nj, nk] = geometry.dims;
        let n = checked_len(&geometry.dims)?;
        let data = Array3::from_shape_vec((nk, nj, ni), try_alloc(n, false)?).map_err(|_| {
            Error::ShapeMismatch {
                shape: vec![n],
                expected: [nk, nj, ni],
            }
        })?;
        Ok(Self { data, geometry })
    }

    /// A mask from an array of shape `[k, j, i]`.
    pub fn new(geometry: Geometry, data: Array3<bool>) -> Result<Self> {
        let [ni, nj, nk] = geometry.dims;
        if data.shape() != [nk, nj, ni] {
            return Err(Error::ShapeMismatch {
                shape: data.shape().to_vec(),
                expected: [nk, nj, ni],
            });
        }
        Ok(Self { data, geometry })
    }

    /// The voxels where `pred(value)` holds.
    pub fn threshold(volume: &Volume, pred: impl Fn(f32) -> bool) -> Self {
        Self {
            data: volume.data().mapv(pred),
            geometry: *volume.geometry(),
        }
    }

    /// The grid.
    #[inline]
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The voxels, shape `[k, j, i]`.
    #[inline]
    pub fn data(&self) -> &Array3<bool> {
        &self.data
    }

    /// Whether a voxel is set (false outside the grid).
    #[inline]
    pub fn get(&self, v: VoxelIdx) -> bool {
        self.data.get((v.k, v.j, v.i)).copied().unwrap_or(false)
    }

    /// Set a voxel; ignored outside the grid.
    #[inline]
    pub fn set(&mut self, v: VoxelIdx, on: bool) {
        if let Some(x) = self.data.get_mut((v.k, v.j, v.i)) {
            *x = on;
        }
    }

    /// Number of set voxels.
    pub fn count(&self) -> usize {
        self.data.iter().filter(|&&x| x).count()
    }

    /// Volume of the set voxels in millilitres.
    pub fn volume_ml(&self) -> f64 {
        self.count() as f64 * self.geometry.voxel_volume_mm3() / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Geometry {
        Geometry::from_dicom(
            [4, 3, 2],
            PointLps([0.0; 3]),
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            [2.0, 1.0],
            VecLps([0.0, 0.0, 5.0]),
        )
        .unwrap()
    }

    #[test]
    fn storage_order_is_k_j_i() {
        let voxels: Vec<f32> = (0..24u8).map(f32::from).collect();
        let v = Volume::from_vec(grid(), voxels).unwrap();
        // i fastest, then j, then k.
        assert_eq!(v.get(VoxelIdx::new(1, 0, 0)), Some(1.0));
        assert_eq!(v.get(VoxelIdx::new(0, 1, 0)), Some(4.0));
        assert_eq!(v.get(VoxelIdx::new(0, 0, 1)), Some(12.0));
        assert_eq!(v.get(VoxelIdx::new(4, 0, 0)), None);
        assert!(Volume::from_vec(grid(), vec![0.0; 23]).is_err());
    }

    #[test]
    fn trilinear_sampling_interpolates_between_centres() {
        let voxels: Vec<f32> = (0..24u8).map(f32::from).collect();
        let v = Volume::from_vec(grid(), voxels).unwrap();
        // Halfway between i=1 and i=2 on row 0 slice 0: (1 + 2) / 2.
        assert_eq!(v.sample(PointLps([1.5, 0.0, 0.0])), Some(1.5));
        // Halfway between slices: (0 + 12) / 2.
        assert_eq!(v.sample(PointLps([0.0, 0.0, 2.5])), Some(6.0));
        assert_eq!(v.sample(PointLps([-5.0, 0.0, 0.0])), None);
    }

    /// The generic trilinear loop (floor, eight corners in bit order): the reference.
    fn sample_reference(v: &Volume, c: DVec3) -> Option<f32> {
        let dims = v.geometry.dims;
        let mut lo = [0_usize; 3];
        let mut frac = [0.0_f64; 3];
        for (axis, x) in [c.x, c.y, c.z].into_iter().enumerate() {
            let n = dims[axis];
            if n == 0 || x < -0.5 || x > n as f64 - 0.5 {
                return None;
            }
            let xc = x.clamp(0.0, (n - 1) as f64);
            let f = xc.floor();
            lo[axis] = index_of(f)?;
            frac[axis] = xc - f;
        }
        let mut acc = 0.0_f64;
        for corner in 0..8_u8 {
            let mut w = 1.0;
            let mut idx = lo;
            for axis in 0..3 {
                if corner & (1 << axis) == 0 {
                    w *= 1.0 - frac[axis];
                } else {
                    w *= frac[axis];
                    idx[axis] = (idx[axis] + 1).min(dims[axis] - 1);
                }
            }
            if w > 0.0 {
                acc += w * f64::from(v.data[(idx[2], idx[1], idx[0])]);
            }
        }
        #[allow(clippy::cast_possible_truncation, reason = "as the sampler")]
        Some(acc as f32)
    }

    #[test]
    #[allow(
        clippy::cast_precision_loss,
        clippy::float_cmp,
        reason = "pseudo-random test values; bit-exact comparison wanted"
    )]
    fn sampling_equals_the_generic_trilinear_loop() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut compared = 0;
        let mut strided_grids = 0;
        for dims in [[4, 3, 2], [1, 5, 3], [6, 1, 1], [7, 5, 4]] {
            let g = Geometry::from_dicom(
                dims,
                PointLps([0.0; 3]),
                [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                [1.0, 1.0],
                VecLps([0.0, 0.0, 1.0]),
            )
            .unwrap();
            let n = dims.iter().product();
            let voxels: Vec<f32> = (0..n)
                .map(|_| match next() % 23 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    v => (v as f32).mul_add(13.7, -100.0) / 3.0,
                })
                .collect();
            let v = Volume::from_vec(g, voxels).unwrap();
            // The same values in column-major layout: not a standard-order slice, so the
            // strided path runs.
            let strided = {
                let mut d = Array3::zeros(ndarray::ShapeBuilder::f(v.data.raw_dim()));
                d.assign(&v.data);
                strided_grids += usize::from(d.as_slice().is_none());
                Volume {
                    data: d,
                    ..v.clone()
                }
            };
            for _ in 0..4000 {
                let mut coord = |n: usize| match next() % 9 {
                    0 => -0.5 - (next() % 3) as f64 * 0.25,
                    1 => n as f64 - 0.5 + (next() % 3) as f64 * 0.25,
                    2 => (next() % n as u64) as f64,
                    3 if next() % 50 == 0 => f64::NAN,
                    _ => (next() % 10_000) as f64 / 10_000.0 * (n as f64 + 1.0) - 1.0,
                };
                let c = DVec3::new(coord(dims[0]), coord(dims[1]), coord(dims[2]));
                let want = sample_reference(&v, c);
                for got in [v.sample_voxel(c), strided.sample_voxel(c)] {
                    assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits), "{c:?}");
                }
                compared += 1;
            }
        }
        assert_eq!(compared, 16_000);
        assert!(strided_grids >= 2, "{strided_grids}");
    }

    #[test]
    fn absurd_sizes_are_refused() {
        assert!(checked_len(&[usize::MAX, 2]).is_err());
        assert!(checked_len(&[65535, 65535, 65535]).is_err());
        assert!(try_alloc(MAX_ELEMENTS + 1, 0_u8).is_err());
        assert_eq!(try_alloc(3, 7_u8).unwrap(), vec![7, 7, 7]);
    }

    #[test]
    fn index_of_rejects_negative_and_nan() {
        assert_eq!(index_of(3.0), Some(3));
        assert_eq!(index_of(-0.5), None);
        assert_eq!(index_of(f64::NAN), None);
        assert_eq!(index_of(f64::INFINITY), None);
    }

    #[test]
    fn mask_volume_in_ml() {
        let mut m = Mask::empty(grid()).unwrap();
        m.set(VoxelIdx::new(0, 0, 0), true);
        m.set(VoxelIdx::new(3, 2, 1), true);
        assert_eq!(m.count(), 2);
        // 2 voxels x (1 x 2 x 5) mm^3 = 20 mm^3 = 0.02 mL.
        assert!((m.volume_ml() - 0.02).abs() < 1e-12);
    }
}
