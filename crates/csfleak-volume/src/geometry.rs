//! Voxel <-> world geometry in DICOM patient coordinates (LPS, millimetres).
//!
//! The conventions of the whole workspace are written here once:
//!
//! * The world frame is DICOM patient LPS: +x towards the patient's left, +y posterior,
//!   +z superior (PS3.3 C.7.6.2.1.1). Millimetres, `f64`.
//! * Voxel indices are `(i, j, k)` = (column, row, slice). The first Image Orientation (Patient)
//!   triplet is the direction of increasing `i` (along a row), the second that of increasing `j`.
//! * Pixel Spacing is `[row spacing (Δj), column spacing (Δi)]`, the reverse of `(i, j)`.
//! * The slice step is taken from the sorted Image Position (Patient) values, never from Slice
//!   Thickness, Slice Location or Instance Number.
//! * The LPS -> RAS flip happens once, in the NIfTI writer, through [`ras_from_lps`].

use glam::{DAffine3, DMat3, DVec3};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A point in patient LPS coordinates, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PointLps(pub [f64; 3]);

/// A displacement (direction times length) in patient LPS coordinates, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VecLps(pub [f64; 3]);

impl PointLps {
    /// As a glam vector.
    #[inline]
    pub fn to_dvec3(self) -> DVec3 {
        DVec3::from_array(self.0)
    }
    /// From a glam vector.
    #[inline]
    pub fn from_dvec3(v: DVec3) -> Self {
        Self(v.to_array())
    }
}

impl VecLps {
    /// As a glam vector.
    #[inline]
    pub fn to_dvec3(self) -> DVec3 {
        DVec3::from_array(self.0)
    }
    /// From a glam vector.
    #[inline]
    pub fn from_dvec3(v: DVec3) -> Self {
        Self(v.to_array())
    }
}

/// A voxel index `(i, j, k)` = (column, row, slice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VoxelIdx {
    /// Column (along the first orientation vector).
    pub i: usize,
    /// Row (along the second orientation vector).
    pub j: usize,
    /// Slice (along the slice normal).
    pub k: usize,
}

impl VoxelIdx {
    /// A new index.
    #[inline]
    pub const fn new(i: usize, j: usize, k: usize) -> Self {
        Self { i, j, k }
    }
    /// As a continuous voxel coordinate (voxel centres are at integers).
    #[inline]
    pub fn to_dvec3(self) -> DVec3 {
        DVec3::new(self.i as f64, self.j as f64, self.k as f64)
    }
}

/// The anatomical plane an image is closest to, from its slice normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plane {
    /// Normal closest to superior-inferior.
    Axial,
    /// Normal closest to left-right.
    Sagittal,
    /// Normal closest to anterior-posterior.
    Coronal,
}

impl Plane {
    /// The plane whose normal is closest to `normal` (any length, any sign).
    pub fn from_normal(normal: DVec3) -> Self {
        let a = normal.abs();
        if a.z >= a.x && a.z >= a.y {
            Plane::Axial
        } else if a.x >= a.y {
            Plane::Sagittal
        } else {
            Plane::Coronal
        }
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Plane::Axial => "axial",
            Plane::Sagittal => "sagittal",
            Plane::Coronal => "coronal",
        }
    }
}

/// The shape and placement of a voxel grid in the patient.
///
/// `world_from_voxel` maps a continuous voxel coordinate `(i, j, k)` to patient LPS millimetres;
/// its columns are the i, j and k steps (direction times spacing) and the translation is the
/// centre of voxel `(0, 0, 0)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Grid size `[ni, nj, nk]` (columns, rows, slices).
    pub dims: [usize; 3],
    /// Voxel (i, j, k) -> patient LPS mm.
    pub world_from_voxel: DAffine3,
}

/// The largest cosine between the two orientation vectors accepted as orthogonal (scanners round
/// Image Orientation (Patient) to a few decimals).
const ORTHO_TOLERANCE: f64 = 1e-2;

impl Geometry {
    /// A geometry from explicit axes.
    ///
    /// `step_i`, `step_j`, `step_k` are the displacements of one voxel along each index, in mm.
    pub fn from_steps(
        dims: [usize; 3],
        origin: PointLps,
        step_i: VecLps,
        step_j: VecLps,
        step_k: VecLps,
    ) -> Result<Self> {
        let m = DMat3::from_cols(step_i.to_dvec3(), step_j.to_dvec3(), step_k.to_dvec3());
        let det = m.determinant();
        if !det.is_finite() || det.abs() < 1e-12 {
            return Err(Error::DegenerateGeometry {
                reason: "voxel axes are parallel or of zero length",
            });
        }
        Ok(Self {
            dims,
            world_from_voxel: DAffine3::from_mat3_translation(m, origin.to_dvec3()),
        })
    }

    /// A geometry from the DICOM attributes of a stack of parallel slices.
    ///
    /// * `first_position`: Image Position (Patient) of the first slice after sorting along the
    ///   normal (centre of its first transmitted pixel).
    /// * `orientation`: Image Orientation (Patient), row direction then column direction.
    /// * `pixel_spacing`: Pixel Spacing as stored, `[row spacing, column spacing]`.
    /// * `slice_step`: displacement from one slice to the next in mm (from the sorted positions;
    ///   for a single slice pass `normal * thickness` or any non-zero step along the normal).
    pub fn from_dicom(
        dims: [usize; 3],
        first_position: PointLps,
        orientation: [f64; 6],
        pixel_spacing: [f64; 2],
        slice_step: VecLps,
    ) -> Result<Self> {
        let (row_dir, col_dir) = orientation_axes(orientation)?;
        let [row_spacing, col_spacing] = pixel_spacing;
        if !(row_spacing.is_finite() && col_spacing.is_finite())
            || row_spacing <= 0.0
            || col_spacing <= 0.0
        {
            return Err(Error::DegenerateGeometry {
                reason: "pixel spacing must be positive",
            });
        }
        Self::from_steps(
            dims,
            first_position,
            VecLps::from_dvec3(row_dir * col_spacing),
            VecLps::from_dvec3(col_dir * row_spacing),
            slice_step,
        )
    }

    /// Patient position of a continuous voxel coordinate.
    #[inline]
    pub fn world_from_voxel_point(&self, ijk: DVec3) -> PointLps {
        PointLps::from_dvec3(self.world_from_voxel.transform_point3(ijk))
    }

    /// Patient position of a voxel centre.
    #[inline]
    pub fn voxel_center(&self, v: VoxelIdx) -> PointLps {
        self.world_from_voxel_point(v.to_dvec3())
    }

    /// The inverse transform (patient LPS mm -> continuous voxel coordinate).
    pub fn voxel_from_world(&self) -> DAffine3 {
        self.world_from_voxel.inverse()
    }

    /// Spacing along i, j, k in mm (lengths of the axis steps).
    #[inline]
    pub fn spacing_mm(&self) -> [f64; 3] {
        let m = self.world_from_voxel.matrix3;
        [m.x_axis.length(), m.y_axis.length(), m.z_axis.length()]
    }

    /// Unit direction of increasing i, j and k.
    pub fn directions(&self) -> [DVec3; 3] {
        let m = self.world_from_voxel.matrix3;
        [
            m.x_axis.try_normalize().unwrap_or(DVec3::X),
            m.y_axis.try_normalize().unwrap_or(DVec3::Y),
            m.z_axis.try_normalize().unwrap_or(DVec3::Z),
        ]
    }

    /// Unit normal of the image plane (row direction x column direction).
    pub fn normal(&self) -> DVec3 {
        let [di, dj, _] = self.directions();
        di.cross(dj).try_normalize().unwrap_or(DVec3::Z)
    }

    /// The anatomical plane of the slices.
    pub fn plane(&self) -> Plane {
        Plane::from_normal(self.normal())
    }

    /// Number of voxels.
    #[inline]
    pub fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    /// Whether the grid is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Volume of one voxel in mm^3.
    pub fn voxel_volume_mm3(&self) -> f64 {
        self.world_from_voxel.matrix3.determinant().abs()
    }

    /// Whether a voxel index is inside the grid.
    #[inline]
    pub fn contains(&self, v: VoxelIdx) -> bool {
        v.i < self.dims[0] && v.j < self.dims[1] && v.k < self.dims[2]
    }

    /// The voxel whose centre is nearest to a patient point, if inside the grid.
    pub fn nearest_voxel(&self, p: PointLps) -> Option<VoxelIdx> {
        let c = self.voxel_from_world().transform_point3(p.to_dvec3());
        let v = VoxelIdx::new(
            crate::index_of(c.x.round())?,
            crate::index_of(c.y.round())?,
            crate::index_of(c.z.round())?,
        );
        self.contains(v).then_some(v)
    }

    /// The geometry of one slice `k` (a 1-slice grid with the same in-plane axes).
    pub fn slice(&self, k: usize) -> Self {
        let origin = self
            .world_from_voxel
            .transform_point3(DVec3::new(0.0, 0.0, k as f64));
        Self {
            dims: [self.dims[0], self.dims[1], 1],
            world_from_voxel: DAffine3::from_mat3_translation(
                self.world_from_voxel.matrix3,
                origin,
            ),
        }
    }

    /// Largest distance between corresponding voxel centres of two grids (same dims required),
    /// checked at the eight corners; `None` if the dims differ.
    pub fn max_corner_distance_mm(&self, other: &Self) -> Option<f64> {
        if self.dims != other.dims {
            return None;
        }
        let mut worst = 0.0_f64;
        for corner in 0..8_u8 {
            let ijk = DVec3::new(
                if corner & 1 == 0 {
                    0.0
                } else {
                    self.dims[0].saturating_sub(1) as f64
                },
                if corner & 2 == 0 {
                    0.0
                } else {
                    self.dims[1].saturating_sub(1) as f64
                },
                if corner & 4 == 0 {
                    0.0
                } else {
                    self.dims[2].saturating_sub(1) as f64
                },
            );
            let a = self.world_from_voxel.transform_point3(ijk);
            let b = other.world_from_voxel.transform_point3(ijk);
            worst = worst.max(a.distance(b));
        }
        Some(worst)
    }
}

/// Row and column unit vectors from Image Orientation (Patient), checked for unit length and
/// orthogonality (cosine within 0.01) and re-orthonormalised.
pub fn orientation_axes(orientation: [f64; 6]) -> Result<(DVec3, DVec3)> {
    let row = DVec3::new(orientation[0], orientation[1], orientation[2]);
    let col = DVec3::new(orientation[3], orientation[4], orientation[5]);
    if !row.is_finite() || !col.is_finite() {
        return Err(Error::DegenerateGeometry {
            reason: "image orientation is not finite",
        });
    }
    let (Some(r), Some(c)) = (row.try_normalize(), col.try_normalize()) else {
        return Err(Error::DegenerateGeometry {
            reason: "image orientation has a zero vector",
        });
    };
    if (row.length() - 1.0).abs() > 0.01 || (col.length() - 1.0).abs() > 0.01 {
        return Err(Error::DegenerateGeometry {
            reason: "image orientation vectors are not unit length",
        });
    }
    if r.dot(c).abs() > ORTHO_TOLERANCE {
        return Err(Error::DegenerateGeometry {
            reason: "image orientation vectors are not orthogonal",
        });
    }
    // Gram-Schmidt: scanners round IOP to a few decimals.
    let c = (c - r * r.dot(c)).try_normalize().unwrap_or(c);
    Ok((r, c))
}

/// Slice normal (row x column) from Image Orientation (Patient).
pub fn orientation_normal(orientation: [f64; 6]) -> Result<DVec3> {
    let (r, c) = orientation_axes(orientation)?;
    r.cross(c).try_normalize().ok_or(Error::DegenerateGeometry {
        reason: "image orientation vectors are parallel",
    })
}

/// The LPS -> RAS change of frame: `diag(-1, -1, 1)`. Used only by the NIfTI writer.
pub fn ras_from_lps() -> DAffine3 {
    DAffine3::from_mat3(DMat3::from_diagonal(DVec3::new(-1.0, -1.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    fn axial() -> Geometry {
        // 4 columns x 3 rows x 2 slices; row spacing 0.7 (j), column spacing 0.5 (i), 3 mm slices.
        Geometry::from_dicom(
            [4, 3, 2],
            PointLps([-100.0, -120.0, 50.0]),
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            [0.7, 0.5],
            VecLps([0.0, 0.0, 3.0]),
        )
        .unwrap()
    }

    #[test]
    fn pixel_spacing_is_row_then_column() {
        let g = axial();
        let [si, sj, sk] = g.spacing_mm();
        assert_abs_diff_eq!(si, 0.5, epsilon = 1e-12);
        assert_abs_diff_eq!(sj, 0.7, epsilon = 1e-12);
        assert_abs_diff_eq!(sk, 3.0, epsilon = 1e-12);
        let p = g.voxel_center(VoxelIdx::new(1, 2, 1));
        assert_abs_diff_eq!(p.0[0], -99.5, epsilon = 1e-12);
        assert_abs_diff_eq!(p.0[1], -118.6, epsilon = 1e-12);
        assert_abs_diff_eq!(p.0[2], 53.0, epsilon = 1e-12);
    }

    #[test]
    fn sagittal_and_coronal_planes() {
        // Sagittal: rows run anterior->posterior (+y), columns run superior->inferior (-z).
        let sag = orientation_normal([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]).unwrap();
        assert_eq!(Plane::from_normal(sag), Plane::Sagittal);
        let cor = orientation_normal([1.0, 0.0, 0.0, 0.0, 0.0, -1.0]).unwrap();
        assert_eq!(Plane::from_normal(cor), Plane::Coronal);
        assert_eq!(axial().plane(), Plane::Axial);
    }

    #[test]
    fn oblique_round_trip_and_nearest_voxel() {
        let a = 20.0_f64.to_radians();
        let row = [a.cos(), a.sin(), 0.0];
        // Tilted about z: rows run obliquely in the axial plane, columns run head to foot.
        let col = [0.0, 0.0, -1.0];
        let iop = [row[0], row[1], row[2], col[0], col[1], col[2]];
        let n = orientation_normal(iop).unwrap();
        let g = Geometry::from_dicom(
            [10, 12, 5],
            PointLps([3.0, -7.0, 11.0]),
            iop,
            [1.2, 0.8],
            VecLps::from_dvec3(n * 2.5),
        )
        .unwrap();
        let v = VoxelIdx::new(7, 3, 4);
        let p = g.voxel_center(v);
        assert_eq!(g.nearest_voxel(p), Some(v));
        let back = g.voxel_from_world().transform_point3(p.to_dvec3());
        assert_abs_diff_eq!(back.x, 7.0, epsilon = 1e-9);
        assert_abs_diff_eq!(back.y, 3.0, epsilon = 1e-9);
        assert_abs_diff_eq!(back.z, 4.0, epsilon = 1e-9);
        assert_abs_diff_eq!(g.voxel_volume_mm3(), 1.2 * 0.8 * 2.5, epsilon = 1e-9);
    }

    #[test]
    fn ras_flip_negates_x_and_y_only() {
        let p = ras_from_lps().transform_point3(DVec3::new(1.0, 2.0, 3.0));
        assert_eq!(p, DVec3::new(-1.0, -2.0, 3.0));
        // Applying it twice is the identity.
        let twice = ras_from_lps() * ras_from_lps();
        assert_eq!(twice, DAffine3::IDENTITY);
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        let bad_iop = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        assert!(orientation_normal(bad_iop).is_err());
        assert!(
            Geometry::from_dicom(
                [2, 2, 2],
                PointLps([0.0; 3]),
                [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                [0.0, 1.0],
                VecLps([0.0, 0.0, 1.0])
            )
            .is_err()
        );
        assert!(
            Geometry::from_dicom(
                [2, 2, 2],
                PointLps([0.0; 3]),
                [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                [1.0, 1.0],
                VecLps([0.0, 0.0, 0.0])
            )
            .is_err()
        );
    }

    proptest::proptest! {
        #[test]
        fn voxel_world_round_trip(
            ax in -3.0f64..3.0, ay in -3.0f64..3.0,
            si in 0.1f64..5.0, sj in 0.1f64..5.0, sk in 0.1f64..8.0,
            x in 0.0f64..50.0, y in 0.0f64..50.0, z in 0.0f64..50.0,
        ) {
            // An arbitrary rotation from two angles.
            let rot = DMat3::from_rotation_z(ax) * DMat3::from_rotation_x(ay);
            let g = Geometry::from_steps(
                [64, 64, 64],
                PointLps([10.0, -20.0, 30.0]),
                VecLps::from_dvec3(rot.x_axis * si),
                VecLps::from_dvec3(rot.y_axis * sj),
                VecLps::from_dvec3(rot.z_axis * sk),
            ).unwrap();
            let ijk = DVec3::new(x, y, z);
            let w = g.world_from_voxel.transform_point3(ijk);
            let back = g.voxel_from_world().transform_point3(w);
            proptest::prop_assert!((back - ijk).length() < 1e-9);
            let ras = ras_from_lps().transform_point3(w);
            proptest::prop_assert!((ras_from_lps().transform_point3(ras) - w).length() < 1e-12);
        }
    }
}
