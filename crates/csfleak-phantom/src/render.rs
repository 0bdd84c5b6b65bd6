//! Rendering continuous models into voxels, with supersampling at edges (partial volume).
//!
//! A model is a function from a patient point to a tissue label. Each voxel's centre and eight
//! corners are classified; where they all agree the voxel takes that tissue's value, otherwise
//! the value is the mean over an `ss x ss x ss` grid of sub-samples inside the voxel. Slices are
//! rendered in parallel and the result does not depend on the thread count.

use csfleak_volume::{DVec3, Geometry, Volume, try_alloc};
use rayon::prelude::*;

use crate::error::Result;

/// Render `value(classify(p))` over a grid with edge supersampling (`ss >= 1`).
pub fn render_supersampled<C, V>(
    geometry: &Geometry,
    ss: usize,
    classify: C,
    value: V,
) -> Result<Volume>
where
    C: Fn(DVec3) -> u8 + Sync,
    V: Fn(u8) -> f32 + Sync,
{
    let [ni, nj, nk] = geometry.dims;
    let ss = ss.max(1);
    let w = geometry.world_from_voxel;
    let slices: Vec<Vec<f32>> = (0..nk)
        .into_par_iter()
        .map(|k| -> Result<Vec<f32>> {
            // Labels at the voxel corners of the planes k - 1/2 and k + 1/2, shared by
            // neighbouring voxels.
            let (ci, cj) = (ni + 1, nj + 1);
            let mut lower = try_alloc(ci * cj, 0_u8)?;
            let mut upper = try_alloc(ci * cj, 0_u8)?;
            for (plane, dk) in [(&mut lower, -0.5), (&mut upper, 0.5)] {
                for j in 0..cj {
                    for i in 0..ci {
                        let c = DVec3::new(i as f64 - 0.5, j as f64 - 0.5, k as f64 + dk);
                        plane[j * ci + i] = classify(w.transform_point3(c));
                    }
                }
            }
            let mut out = try_alloc(ni * nj, 0.0_f32)?;
            for j in 0..nj {
                for i in 0..ni {
                    let c = DVec3::new(i as f64, j as f64, k as f64);
                    let t0 = classify(w.transform_point3(c));
                    let corners = [
                        j * ci + i,
                        j * ci + i + 1,
                        (j + 1) * ci + i,
                        (j + 1) * ci + i + 1,
                    ];
                    let uniform = corners.iter().all(|&n| lower[n] == t0 && upper[n] == t0);
                    out[j * ni + i] = if uniform {
                        value(t0)
                    } else {
                        let mut acc = 0.0_f64;
                        for a in 0..ss {
                            for b in 0..ss {
                                for e in 0..ss {
                                    let off = |n: usize| (n as f64 + 0.5) / ss as f64 - 0.5;
                                    let p = c + DVec3::new(off(a), off(b), off(e));
                                    acc += f64::from(value(classify(w.transform_point3(p))));
                                }
                            }
                        }
                        #[allow(
                            clippy::cast_possible_truncation,
                            reason = "a mean of f32 values fits f32"
                        )]
                        let m = (acc / (ss * ss * ss) as f64) as f32;
                        m
                    };
                }
            }
            Ok(out)
        })
        .collect::<Result<_>>()?;
    let mut voxels = try_alloc(0, 0.0_f32)?;
    for s in slices {
        voxels.extend(s);
    }
    Ok(Volume::from_vec(*geometry, voxels)?)
}

/// The fraction (0..1) of each voxel inside a region, supersampled at edges.
///
/// `sum(fraction) * voxel volume` approximates the region's volume within the grid.
pub fn fraction_map<F>(geometry: &Geometry, ss: usize, inside: F) -> Result<Volume>
where
    F: Fn(DVec3) -> bool + Sync,
{
    render_supersampled(geometry, ss, |p| u8::from(inside(p)), f32::from)
}

/// Volume in millilitres of a fraction map (fixed-order sum).
pub fn fraction_volume_ml(fractions: &Volume) -> f64 {
    let sum: f64 = fractions
        .data()
        .axis_iter(ndarray::Axis(0))
        .map(|s| s.iter().map(|&x| f64::from(x)).sum::<f64>())
        .sum();
    sum * fractions.geometry().voxel_volume_mm3() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use csfleak_volume::{PointLps, VecLps};

    #[test]
    fn sphere_volume_with_partial_volume_on_an_anisotropic_oblique_grid() {
        let a = 0.3_f64;
        let row = [a.cos(), a.sin(), 0.0];
        let col = [0.0, 0.0, -1.0];
        let iop = [row[0], row[1], row[2], col[0], col[1], col[2]];
        let n = csfleak_volume::orientation_normal(iop).unwrap();
        let g = Geometry::from_dicom(
            [40, 36, 14],
            PointLps([-20.0 * a.cos(), -20.0 * a.sin() - 14.0, 18.0]),
            iop,
            [1.1, 0.9],
            VecLps::from_dvec3(n * 2.5),
        )
        .unwrap();
        let centre = g
            .world_from_voxel
            .transform_point3(DVec3::new(19.5, 17.5, 6.5));
        let r = 9.0;
        let f = fraction_map(&g, 6, |p| p.distance(centre) <= r).unwrap();
        let ml = fraction_volume_ml(&f);
        let truth = 4.0 / 3.0 * std::f64::consts::PI * r * r * r / 1000.0;
        assert!((ml - truth).abs() / truth < 0.02, "{ml} vs {truth}");
        // Edge voxels hold fractions strictly between 0 and 1.
        assert!(f.data().iter().any(|&x| x > 0.05 && x < 0.95));
    }
}
