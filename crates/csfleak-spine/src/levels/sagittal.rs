//! Vertebral levels counted on a sagittal spine MR series (fat-suppressed T2 or any sagittal
//! with bright CSF and discs brighter than the vertebral bodies), for transfer to an axial
//! stack by patient coordinates.
//!
//! Method (intensities relative to the series' own CSF only):
//! 1. The CSF reference is the 99.5th percentile of the series; the midline slice is the one
//!    at the centre of the CSF-bright pixels (>= 0.8 of the reference; discs stay below).
//! 2. On that slice, resampled every 1 mm along patient z and 0.5 mm along y (each row
//!    relative to its brightest structure, at least 0.6 of the reference), the canal is
//!    tracked from the row with the most CSF: per row, the ventral and dorsal edges of the CSF
//!    column near the previous row's.
//! 3. The anterior column 5-25 mm ventral of the canal's ventral edge gives a profile whose
//!    peaks are the discs; per row, the fraction of the central part of the canal that is not
//!    CSF tells the cord from the cauda equina.
//! 4. The discs are counted from the sacrum or C2 with the same end-of-spine rules as the
//!    axial stacks (`EndsInView` in the parent module). A whole-spine sagittal usually shows both ends.

use csfleak_volume::{DVec3, Plane, Volume};

use super::{EndsInView, LevelScale, count_from_ends};

/// Method name of the sagittal count.
pub const METHOD: &str = "sagittal_t2_count/1";

/// Resampling steps along z and y, mm.
const DZ: f64 = 1.0;
const DY: f64 = 0.5;

/// One row (patient height) of the traced canal.
#[derive(Debug, Clone, Copy)]
struct Row {
    z: f64,
    /// Ventral and dorsal CSF edge (patient y, mm).
    y_ventral: f64,
    y_dorsal: f64,
    /// Anterior-column signal / CSF reference.
    column: f64,
    /// Fraction of the canal's central part that is not CSF-bright.
    cord: f64,
}

/// Count the vertebral levels on a sagittal series. `None` when the series is not sagittal or
/// no canal could be traced; otherwise a scale (counted, or not counted with the reason) whose
/// covered span is the traced canal.
pub fn count_on_sagittal(sag: &Volume) -> Option<LevelScale> {
    let g = sag.geometry();
    if g.plane() != Plane::Sagittal {
        return None;
    }
    let [ni, nj, nk] = sag.dims();
    if ni < 16 || nj < 16 || nk == 0 {
        return None;
    }
    let data = sag.data();
    // CSF reference: a high percentile of the whole series.
    let mut vals: Vec<f32> = data.iter().copied().filter(|v| v.is_finite()).collect();
    if vals.is_empty() {
        return None;
    }
    let last = vals.len() - 1;
    let q = csfleak_volume::index_of((last as f64 * 0.995).round())?.min(last);
    let (_, csf, _) = vals.select_nth_unstable_by(q, f32::total_cmp);
    let csf = f64::from(*csf);
    if csf <= 0.0 {
        return None;
    }
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a fraction of an f32 value"
    )]
    let bright = (0.8 * csf) as f32;
    // Midline: the centre (in slices) of the CSF-bright pixels of the slices that hold at
    // least 30 % of the most; the sac is symmetric about it, and the slice with the most CSF
    // would lie beside a thin cord rather than through it.
    let counts: Vec<usize> = (0..nk)
        .map(|k| {
            data.index_axis(ndarray::Axis(0), k)
                .iter()
                .filter(|&&v| v >= bright)
                .count()
        })
        .collect();
    let most = counts.iter().copied().max()?;
    let (sum_k, sum_n) = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n as f64 >= 0.3 * most as f64)
        .fold((0.0, 0.0), |a, (k, &n)| {
            (a.0 + k as f64 * n as f64, a.1 + n as f64)
        });
    if sum_n <= 0.0 {
        return None;
    }
    let k_mid = csfleak_volume::index_of((sum_k / sum_n).round())?.min(nk - 1);
    let rows = trace(sag, k_mid, csf)?;
    if rows.len() < 30 {
        return None;
    }
    // Median of three rows: a single row off the canal is not a disc.
    let profile: Vec<(usize, f64, f64)> = (0..rows.len())
        .map(|i| {
            let mut w: Vec<f64> = rows[i.saturating_sub(1)..(i + 2).min(rows.len())]
                .iter()
                .map(|r| r.column)
                .collect();
            w.sort_by(f64::total_cmp);
            (i, rows[i].z, w[w.len() / 2])
        })
        .collect();
    let discs = crate::mri_levels::find_discs(&profile);
    let z_hi = rows.first()?.z;
    let z_lo = rows.last()?.z;
    let covered = (z_lo, z_hi);
    if discs.len() < 2 {
        return Some(LevelScale::not_counted(
            covered,
            &[],
            METHOD,
            "fewer than two discs found on the sagittal series",
        ));
    }
    let disc_profile: Vec<(f64, f64)> = rows.iter().map(|r| (r.z, r.column)).collect();
    let cord: Vec<(f64, f64)> = rows.iter().step_by(3).map(|r| (r.z, r.cord)).collect();
    let area: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| (r.z, (r.y_dorsal - r.y_ventral).max(0.0).powi(2)))
        .collect();
    // The image's own z extent at the canal.
    let corners: Vec<f64> = [0.0, (nj - 1) as f64]
        .iter()
        .flat_map(|&j| {
            [0.0, (ni - 1) as f64]
                .map(|i| g.world_from_voxel_point(DVec3::new(i, j, k_mid as f64)).0[2])
        })
        .collect();
    let img_lo = corners.iter().copied().fold(f64::INFINITY, f64::min);
    let img_hi = corners.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ends = EndsInView {
        discs_z_mm: &discs,
        stack_z_mm: (img_lo, img_hi),
        sac_z_mm: (z_lo, z_hi),
        step_mm: DZ,
        disc_profile_mm: &disc_profile,
        cord_fraction_mm: &cord,
        sac_area_mm: &area,
    };
    Some(count_from_ends(&ends, covered, METHOD))
}

/// Trace the canal on slice `k`: rows from cranial to caudal where the CSF column was found.
fn trace(sag: &Volume, k: usize, csf: f64) -> Option<Vec<Row>> {
    let g = sag.geometry();
    let vfw = g.voxel_from_world();
    let [ni, nj, _] = sag.dims();
    // Patient y and z extent of the slice.
    let pts: Vec<DVec3> = [0.0, (ni - 1) as f64]
        .iter()
        .flat_map(|&i| {
            [0.0, (nj - 1) as f64].map(|j| {
                g.world_from_voxel_point(DVec3::new(i, j, k as f64))
                    .to_dvec3()
            })
        })
        .collect();
    let (y0, y1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(p.y), a.1.max(p.y))
    });
    let (z0, z1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(p.z), a.1.max(p.z))
    });
    // The slice plane: x as a function of (y, z).
    let p0 = g
        .world_from_voxel_point(DVec3::new(0.0, 0.0, k as f64))
        .to_dvec3();
    let n = g.normal();
    if n.x.abs() < 0.5 {
        return None;
    }
    let x_at = |y: f64, z: f64| p0.x - (n.y * (y - p0.y) + n.z * (z - p0.z)) / n.x;
    let ny = csfleak_volume::index_of(((y1 - y0) / DY).floor())? + 1;
    let nz = csfleak_volume::index_of(((z1 - z0) / DZ).floor())? + 1;
    // Image rows from cranial (z1) down, normalised by the CSF reference.
    let img: Vec<Vec<f64>> = (0..nz)
        .map(|iz| {
            let z = z1 - iz as f64 * DZ;
            (0..ny)
                .map(|iy| {
                    let y = y0 + iy as f64 * DY;
                    let v = vfw.transform_point3(DVec3::new(x_at(y, z), y, z));
                    sag.sample_voxel(DVec3::new(v.x, v.y, k as f64))
                        .map_or(0.0, |s| f64::from(s) / csf)
                })
                .collect()
        })
        .collect();
    // Each row relative to its own brightest structure (the CSF wherever the canal is in the
    // row; the coil's bias field and the noise floor change the series' scale along z), but
    // never to less than 0.6 of the series' reference (rows without CSF stay dark).
    let img: Vec<Vec<f64>> = img
        .into_iter()
        .map(|row| {
            let peak = (1..row.len().saturating_sub(1))
                .map(|i| {
                    let mut w = [row[i - 1], row[i], row[i + 1]];
                    w.sort_by(f64::total_cmp);
                    w[1]
                })
                .fold(0.6, f64::max);
            row.into_iter().map(|v| v / peak).collect()
        })
        .collect();
    let is_csf = |v: f64| v >= 0.8;
    // The CSF run (start, end index) in row `iz` nearest `near` (an index), within `reach`.
    let run_near = |iz: usize, near: f64, reach: f64| -> Option<(usize, usize)> {
        let row = &img[iz];
        let mut best: Option<(f64, (usize, usize))> = None;
        let mut i = 0;
        while i < ny {
            if !is_csf(row[i]) {
                i += 1;
                continue;
            }
            let s = i;
            // Bridge dark gaps up to 9 mm (the cord between ventral and dorsal CSF).
            let mut e = i;
            let mut j = i;
            while j < ny && (j - e) as f64 * DY <= 9.0 {
                if is_csf(row[j]) {
                    e = j;
                }
                j += 1;
            }
            let width = (e - s) as f64 * DY;
            if (1.0..=26.0).contains(&width) {
                let c = 0.5 * (s + e) as f64;
                let d = (c - near).abs();
                if d * DY <= reach && best.is_none_or(|b| d < b.0) {
                    best = Some((d, (s, e)));
                }
            }
            i = e + 1;
        }
        best.map(|b| b.1)
    };
    // Seed: the row and run with the most CSF pixels in a run near the middle of the image.
    let mid = 0.5 * ny as f64;
    let seed = (0..nz)
        .filter_map(|iz| {
            let (s, e) = run_near(iz, mid, 0.4 * ny as f64 * DY)?;
            let n_csf = img[iz][s..=e].iter().filter(|&&v| is_csf(v)).count();
            Some((n_csf, iz, 0.5 * (s + e) as f64))
        })
        .max_by_key(|t| (t.0, std::cmp::Reverse(t.1)))?;
    let mut found: Vec<Option<(usize, usize)>> = vec![None; nz];
    for dir in [-1i64, 1] {
        let mut centre = seed.2;
        let mut miss = 0.0;
        let mut iz = i64::try_from(seed.1).ok()?;
        while let Ok(u) = usize::try_from(iz) {
            if u >= nz {
                break;
            }
            if let Some((s, e)) = run_near(u, centre, 6.0 + miss) {
                found[u] = Some((s, e));
                centre = 0.5 * (s + e) as f64;
                miss = 0.0;
            } else {
                miss += DZ;
                if miss > 20.0 {
                    break;
                }
            }
            iz += dir;
        }
    }
    // Where only the dorsal CSF strip is bright (thin ventral CSF in front of the cord), the
    // ventral edge is put at the canal's running median width in front of the dorsal edge.
    let runs: Vec<(usize, usize, usize)> = found
        .iter()
        .enumerate()
        .filter_map(|(iz, f)| f.map(|(s, e)| (iz, s, e)))
        .collect();
    let reach = csfleak_volume::index_of((15.0 / DZ).round())?;
    let runs: Vec<(usize, usize, usize)> = runs
        .iter()
        .map(|&(iz, s, e)| {
            let mut widths: Vec<usize> = runs
                .iter()
                .filter(|r| r.0.abs_diff(iz) <= reach)
                .map(|r| r.2 - r.1)
                .collect();
            widths.sort_unstable();
            let w_med = widths[widths.len() / 2];
            let s = if ((e - s) as f64) < 0.6 * w_med as f64 {
                e.saturating_sub(w_med)
            } else {
                s
            };
            (iz, s, e)
        })
        .collect();
    // Canal centre (patient y) per row and its local slope dy/dz, a least-squares line over
    // +-15 mm: the endplates and discs lie roughly perpendicular to the canal, so the anterior
    // column is sampled along the canal's normal and each disc is found at the height where
    // its plane crosses the canal (where the levels of canal findings are read), not at the
    // height where it crosses a horizontal line 20 mm in front of it.
    // Rows whose CSF run is at least 0.6 of the local median width (+-15 mm) describe the
    // whole canal; narrower runs (one CSF strip beside the cord or a root) do not.
    let width = |r: &(usize, usize, usize)| (r.2 - r.1) as f64 * DY;
    let centre: Vec<(f64, f64, f64)> = runs
        .iter()
        .filter(|&&r| {
            let mut w: Vec<f64> = runs
                .iter()
                .filter(|q| q.0.abs_diff(r.0) <= reach)
                .map(width)
                .collect();
            w.sort_by(f64::total_cmp);
            width(&r) >= 0.6 * w[w.len() / 2]
        })
        .map(|&(iz, s, e)| {
            (
                z1 - iz as f64 * DZ,
                y0 + 0.5 * (s + e) as f64 * DY,
                0.5 * (e - s) as f64 * DY,
            )
        })
        .collect();
    // The canal at height z from those rows within +-15 mm: centre (patient y) and slope
    // dy/dz of a least-squares line, median half-width. The endplates and discs lie roughly
    // perpendicular to the canal, so the anterior column is sampled along the canal's normal
    // and each disc is found at the height where its plane crosses the canal (where the
    // levels of canal findings are read), not where it crosses a horizontal line 20 mm in
    // front of the canal.
    let canal_at = |z: f64| -> Option<(f64, f64, f64)> {
        let near: Vec<&(f64, f64, f64)> =
            centre.iter().filter(|p| (p.0 - z).abs() <= 15.0).collect();
        let n = near.len() as f64;
        if n < 5.0 {
            return None;
        }
        let (mz, my) = near
            .iter()
            .fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
        let (sxy, sxx) = near.iter().fold((0.0, 0.0), |a, p| {
            (a.0 + (p.0 - mz) * (p.1 - my), a.1 + (p.0 - mz).powi(2))
        });
        let slope = if sxx > 1e-9 {
            (sxy / sxx).clamp(-1.5, 1.5)
        } else {
            0.0
        };
        let mut half: Vec<f64> = near.iter().map(|p| p.2).collect();
        half.sort_by(f64::total_cmp);
        Some((my + slope * (z - mz), slope, half[half.len() / 2]))
    };
    // Bilinear sample of the normalised slice at patient (y, z).
    let at = |y: f64, z: f64| -> Option<f64> {
        let fz = (z1 - z) / DZ;
        let fy = (y - y0) / DY;
        if !(fz >= 0.0 && fy >= 0.0) {
            return None;
        }
        let (iz, iy) = (
            csfleak_volume::index_of(fz.floor())?,
            csfleak_volume::index_of(fy.floor())?,
        );
        if iz + 1 >= nz || iy + 1 >= ny {
            return None;
        }
        let (tz, ty) = (fz - iz as f64, fy - iy as f64);
        let r0 = img[iz][iy] * (1.0 - ty) + img[iz][iy + 1] * ty;
        let r1 = img[iz + 1][iy] * (1.0 - ty) + img[iz + 1][iy + 1] * ty;
        Some(r0 * (1.0 - tz) + r1 * tz)
    };
    let rows: Vec<Row> = runs
        .iter()
        .filter_map(|&(iz, s, e)| {
            let row = &img[iz];
            let z = z1 - iz as f64 * DZ;
            // Anterior column: 5-25 mm ventral of the canal's ventral wall along its normal,
            // past the ventral epidural space and the posterior annulus; the upper quartile
            // picks the nucleus where a disc is, the marrow where a body is.
            let (y_c, slope, half) = canal_at(z)?;
            let norm = slope.hypot(1.0);
            let r = half / norm;
            let mut col: Vec<f64> = (0..=40)
                .filter_map(|i| {
                    let d = r + 5.0 + f64::from(i) * DY;
                    at(y_c - d / norm, z + d * slope / norm)
                })
                .collect();
            if col.len() < 20 {
                return None;
            }
            col.sort_by(f64::total_cmp);
            let column = col[(col.len() * 3) / 4];
            // Central third of the canal: the cord if present.
            let w = e - s;
            let (c0, c1) = (s + w / 3, e - w / 3);
            let central = &row[c0..=c1.max(c0)];
            let cord = central.iter().filter(|&&v| v < 0.5).count() as f64 / central.len() as f64;
            Some(Row {
                z,
                y_ventral: y0 + s as f64 * DY,
                y_dorsal: y0 + e as f64 * DY,
                column,
                cord,
            })
        })
        .collect();
    Some(rows)
}
