//! The contrast-filled dural sac on each axial slice of a CT myelogram.
//!
//! Contrast-dense pixels (above an absolute floor that no soft tissue reaches) form connected
//! components per slice; sac candidates are compact and homogeneous (intrathecal contrast is
//! one well-mixed fluid, bone is cortex plus marrow). The sac is the candidate best supported
//! by candidates of similar position and density on nearby slices, which follows the canal
//! wherever it goes without assuming a shape of the spine.

use ndarray::{Array2, Axis};
use rayon::prelude::*;

use csfleak_volume::Volume;

use super::morph::{components, fill_holes, label_runs};

/// Absolute floor (HU) of "contrast-dense" used only to find the sac before its own density
/// is known: above muscle, blood, disc and unenhanced veins (< 100 HU) with noise.
pub(crate) const FIND_FLOOR_HU: f32 = 150.0;

/// A sac candidate on one slice.
#[derive(Debug, Clone)]
pub(crate) struct Cand {
    /// Pixels `(row j, col i)`, sorted.
    pub pixels: Vec<(usize, usize)>,
    /// Centroid `(row, col)` in pixels.
    pub centroid: (f64, f64),
    /// Filled area, mm².
    pub area_mm2: f64,
    /// Median HU of the pixels.
    pub median_hu: f32,
}

/// The sac on one slice.
#[derive(Debug, Clone)]
pub(crate) struct SacSlice {
    /// Pixels of the chosen candidate at the finding floor, sorted.
    pub pixels: Vec<(usize, usize)>,
    /// Centroid `(row, col)`.
    pub centroid: (f64, f64),
    /// Median HU.
    pub median_hu: f32,
}

pub(crate) fn slice_image(v: &Volume, k: usize) -> Array2<f32> {
    v.data().index_axis(Axis(0), k).to_owned()
}

fn quantile(values: &mut [f32], q: f64) -> f32 {
    if values.is_empty() {
        return f32::NAN;
    }
    values.sort_by(f32::total_cmp);
    let idx = csfleak_volume::index_of(((values.len() - 1) as f64 * q).round()).unwrap_or(0);
    values[idx.min(values.len() - 1)]
}

/// Sac candidates of one slice.
fn candidates(img: &ndarray::ArrayView2<'_, f32>, px: [f64; 2]) -> Vec<Cand> {
    let (nr, nc) = img.dim();
    let mask: Vec<bool> = img.as_slice().map_or_else(
        || img.iter().map(|&v| v > FIND_FLOOR_HU).collect(),
        |v| v.iter().map(|&v| v > FIND_FLOOR_HU).collect(),
    );
    let Some((runs, sizes)) = label_runs(&mask, nr, nc) else {
        return Vec::new();
    };
    let pix_area = px[0] * px[1];
    // Pixels (raster order) of the components of a candidate's size only.
    let comps = components(&runs, sizes.len(), |l| {
        (12.0..=900.0).contains(&(sizes[l as usize] as f64 * pix_area))
    });
    let mut out = Vec::new();
    for pixels in comps.into_iter().skip(1).filter(|p| !p.is_empty()) {
        let n = pixels.len() as f64;
        let area = n * pix_area;
        if !(12.0..=900.0).contains(&area) {
            continue;
        }
        let (sr, sc) = pixels
            .iter()
            .fold((0.0, 0.0), |a, &(r, c)| (a.0 + r as f64, a.1 + c as f64));
        let centroid = (sr / n, sc / n);
        // Compactness: area over the disc of the farthest pixel (mm).
        let rmax = pixels
            .iter()
            .map(|&(r, c)| ((r as f64 - centroid.0) * px[0]).hypot((c as f64 - centroid.1) * px[1]))
            .fold(0.0, f64::max)
            + 0.5 * px[0].max(px[1]);
        // Fill holes (the cord) inside the bounding box.
        let (r0, r1) = pixels
            .iter()
            .fold((usize::MAX, 0), |a, p| (a.0.min(p.0), a.1.max(p.0)));
        let (c0, c1) = pixels
            .iter()
            .fold((usize::MAX, 0), |a, p| (a.0.min(p.1), a.1.max(p.1)));
        let mut local = Array2::<bool>::from_elem((r1 - r0 + 3, c1 - c0 + 3), false);
        for &(r, c) in &pixels {
            local[[r - r0 + 1, c - c0 + 1]] = true;
        }
        let filled = fill_holes(&local);
        let filled_area = filled.iter().filter(|&&b| b).count() as f64 * pix_area;
        let compact = filled_area / (std::f64::consts::PI * rmax * rmax);
        if compact < 0.3 {
            continue;
        }
        let mut vals: Vec<f32> = pixels.iter().map(|&(r, c)| img[[r, c]]).collect();
        let q50 = quantile(&mut vals, 0.5);
        let q90 = quantile(&mut vals, 0.9);
        // Homogeneity: one mixed fluid, not cortex around marrow.
        if q90 - q50 > 0.25 * q50 + 40.0 {
            continue;
        }
        out.push(Cand {
            pixels,
            centroid,
            area_mm2: filled_area,
            median_hu: q50,
        });
    }
    out
}

/// The sac per slice (`None` where none was found).
pub(crate) fn find_sac(v: &Volume) -> Vec<Option<SacSlice>> {
    let [sx, sy, sz] = v.geometry().spacing_mm();
    let px = [sy, sx];
    let nk = v.dims()[2];
    let cands: Vec<Vec<Cand>> = (0..nk)
        .into_par_iter()
        .map(|k| candidates(&v.data().index_axis(Axis(0), k), px))
        .collect();
    // Support: candidates of similar position and density within +-20 mm along the stack.
    let win = (20.0 / sz.max(0.1)).ceil() as usize;
    let support: Vec<Vec<f64>> = (0..nk)
        .into_par_iter()
        .map(|k| {
            cands[k]
                .iter()
                .map(|c| {
                    let lo = k.saturating_sub(win);
                    let hi = (k + win).min(nk - 1);
                    let mut s = 0.0;
                    for (kk, other) in cands.iter().enumerate().take(hi + 1).skip(lo) {
                        if kk == k {
                            continue;
                        }
                        let best = other
                            .iter()
                            .filter(|o| {
                                let d = ((o.centroid.0 - c.centroid.0) * px[0])
                                    .hypot((o.centroid.1 - c.centroid.1) * px[1]);
                                let ratio = o.median_hu / c.median_hu.max(1.0);
                                d < 8.0 && (0.7..=1.43).contains(&ratio)
                            })
                            .count();
                        if best > 0 {
                            s += 1.0;
                        }
                    }
                    s + c.area_mm2.min(400.0) / 1000.0
                })
                .collect()
        })
        .collect();
    let max_support = support.iter().flatten().copied().fold(0.0, f64::max);
    let mut out: Vec<Option<SacSlice>> = cands
        .into_iter()
        .zip(&support)
        .map(|(cs, sup)| {
            let (i, s) = sup.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
            if *s < 0.3 * max_support {
                return None;
            }
            let c = cs.into_iter().nth(i)?;
            Some(SacSlice {
                pixels: c.pixels,
                centroid: c.centroid,
                median_hu: c.median_hu,
            })
        })
        .collect();
    // Drop slices whose sac jumps away from both neighbours' sacs (a wrong pick).
    let cents: Vec<Option<(f64, f64)>> =
        out.iter().map(|s| s.as_ref().map(|s| s.centroid)).collect();
    for k in 0..nk {
        let Some(c) = cents[k] else { continue };
        let near = |kk: Option<usize>| {
            kk.and_then(|kk| cents.get(kk).copied().flatten())
                .map(|o| ((o.0 - c.0) * px[0]).hypot((o.1 - c.1) * px[1]) < 10.0)
        };
        let (a, b) = (near(k.checked_sub(1)), near(Some(k + 1)));
        if a == Some(false) && b != Some(true) || b == Some(false) && a != Some(true) {
            out[k] = None;
        }
    }
    out
}
