//! The spinal canal model of an axial (or oblique-axial) stack: per slice, the dural sac.
//!
//! Method (relative intensities only):
//! 1. CSF reference: first the median over slices of each slice's 99.8th percentile, then,
//!    after a first segmentation, the median signal of the bright intrathecal pixels.
//! 2. Bright = at least `bright_fraction` of the reference and not on a dark line: a pixel at
//!    least `valley_fraction` darker than bright pixels on both sides (within 2 pixels, along
//!    a row, a column or a diagonal) is dura separating the sac from extradural fluid.
//! 3. Per slice, 4-connected bright components; the sac is chosen first as the largest compact
//!    one, then again as the one at the running-median centre of the neighbouring slices
//!    (the canal centreline), and filled (the cord inside it counts as sac).
//! 4. A sac far larger than its neighbours (running median of area) has swallowed extradural
//!    fluid through a gap in the dura: it is trimmed to its neighbours' outline, and the
//!    trimmed-off bright pixels are kept as the evidence of continuity.

use csfleak_volume::{DVec3, PointLps, Volume};
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

use crate::image2d::{fill_holes, label4, path_within};
use crate::{Error, Result, SpineOptions};

/// The dural sac on one slice.
#[derive(Debug, Clone)]
pub struct CanalSlice {
    /// Slice index `k` in the volume.
    pub k: usize,
    /// Whether a sac was found on this slice.
    pub found: bool,
    /// Filled sac cross-section `[row j, col i]` (cord included).
    pub sac: Array2<bool>,
    /// Centre of the sac (LPS mm).
    pub centre: PointLps,
    /// Sac cross-section area (mm²).
    pub sac_area_mm2: f64,
    /// Bright (CSF) area inside the sac (mm²).
    pub csf_area_mm2: f64,
    /// Position along the canal from the first slice (mm).
    pub s_mm: f64,
    /// Per ray (every 5 degrees, from the image column direction towards the row direction):
    /// bright signal beyond the dura, mm (0 where none).
    pub beyond_dura_mm: Vec<f64>,
    /// Per ray: a dark line (dura) was seen between the sac and bright signal beyond it.
    pub dura_line: Vec<bool>,
    /// Bright pixels trimmed off an oversized sac (extradural fluid reached through a dural
    /// gap on this slice).
    pub bridge: Vec<(usize, usize)>,
    /// Per ray: the sac outline comes from its shape (the CSF rim round the cord on the
    /// unaffected sides), not from a visible dura (coarse pixels; see `shape_cut`). Empty when
    /// no ray was cut.
    pub shaped_rays: Vec<bool>,
}

/// The canal model of one stack.
#[derive(Debug, Clone)]
pub struct CanalModel {
    /// One entry per slice, in slice order.
    pub slices: Vec<CanalSlice>,
    /// Intrathecal CSF reference signal (median of the bright sac pixels).
    pub csf_reference: f32,
    /// Fraction of slices with a sac.
    pub confidence: f64,
    /// `"axial_sac_tracking/1"`.
    pub method: &'static str,
    /// Bright masks (after dark-line removal) per slice, `[row, col]`.
    pub(crate) bright: Vec<Array2<bool>>,
}

/// Slice `k` as a `[row, col]` view.
pub(crate) fn slice_image(v: &Volume, k: usize) -> ArrayView2<'_, f32> {
    v.data().index_axis(Axis(0), k)
}

fn percentile(values: &mut [f32], q: f64) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let idx = csfleak_volume::index_of(((values.len() - 1) as f64 * q).round())
        .unwrap_or(0)
        .min(values.len() - 1);
    Some(*values.select_nth_unstable_by(idx, f32::total_cmp).1)
}

/// The same value as [`percentile`] over the finite pixels of `img`, for a high `q`: the
/// smallest of the `n - idx` largest values, kept in a small heap instead of copying and
/// partially sorting the whole image.
fn high_percentile(img: &ArrayView2<'_, f32>, q: f64) -> Option<f32> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // A key whose integer order is `f32::total_cmp`'s order, and back.
    let key = |x: f32| {
        let b = x.to_bits();
        if b >> 31 == 1 { !b } else { b | 0x8000_0000 }
    };
    let value = |k: u32| f32::from_bits(if k >> 31 == 1 { k & 0x7fff_ffff } else { !k });
    let n = img.iter().filter(|x| x.is_finite()).count();
    if n == 0 {
        return None;
    }
    let idx = csfleak_volume::index_of(((n - 1) as f64 * q).round())
        .unwrap_or(0)
        .min(n - 1);
    let keep = n - idx;
    if keep > n / 8 {
        let mut vals: Vec<f32> = img.iter().copied().filter(|x| x.is_finite()).collect();
        return percentile(&mut vals, q);
    }
    let mut heap: BinaryHeap<Reverse<u32>> = BinaryHeap::with_capacity(keep + 1);
    for &x in img.iter().filter(|x| x.is_finite()) {
        let kx = key(x);
        if heap.len() < keep {
            heap.push(Reverse(kx));
        } else if heap.peek().is_some_and(|&Reverse(m)| kx > m) {
            heap.pop();
            heap.push(Reverse(kx));
        }
    }
    heap.peek().map(|&Reverse(m)| value(m))
}

/// Bright pixels with dark lines removed.
pub(crate) fn bright_mask(
    img: &ArrayView2<'_, f32>,
    csf: f32,
    opts: &SpineOptions,
) -> Array2<bool> {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "fractions of a signal in f32"
    )]
    let (t, margin) = (
        csf * opts.bright_fraction as f32,
        csf * opts.valley_fraction as f32,
    );
    let (nr, nc) = img.dim();
    // The image with a two-pixel border of -inf (outside reads as -inf, as before).
    let w = nc + 4;
    let mut pad = vec![f32::NEG_INFINITY; (nr + 4) * w];
    for (r, row) in img.rows().into_iter().enumerate() {
        let dst = &mut pad[(r + 2) * w + 2..(r + 2) * w + 2 + nc];
        for (d, &x) in dst.iter_mut().zip(row.iter()) {
            *d = x;
        }
    }
    // Offsets in `pad` of a direction across a possible dark line and of its perpendicular.
    #[allow(
        clippy::cast_possible_wrap,
        reason = "image sizes are far below isize::MAX"
    )]
    let wi = w as isize;
    let dirs: [(isize, isize); 4] = [(1, wi), (wi, 1), (wi + 1, wi - 1), (wi - 1, wi + 1)];
    let mut out = Vec::new();
    for r in 0..nr {
        for c in 0..nc {
            let i = (r + 2) * w + c + 2;
            let v = pad[i];
            if v < t {
                out.push(false);
                continue;
            }
            let at = |o: isize| pad[i.wrapping_add_signed(o)];
            // A dark line across direction d: darker than both sides along d, and not a ridge
            // along the perpendicular (a thin bright ring dipping against the cord is a
            // saddle, not a line).
            let line = dirs.iter().any(|&(d, p)| {
                let a = at(-d).max(at(-2 * d));
                let b = at(d).max(at(2 * d));
                let along = 0.5 * (at(-p).max(0.0) + at(p).max(0.0));
                a.min(b) - v >= margin && a.min(b) >= t && v <= along + 0.5 * margin
            });
            out.push(!line);
        }
    }
    Array2::from_shape_vec((nr, nc), out).unwrap_or_else(|_| Array2::from_elem((nr, nc), false))
}

/// A bright component, its holes filled, stored over its bounding box (plus a one-pixel
/// margin) so that many small components on a large image stay cheap.
struct Component {
    /// Image row and column of `filled[[0, 0]]`.
    origin: [usize; 2],
    filled: Array2<bool>,
    area_px: usize,
    centroid_px: [f64; 2],
    /// Bounding box area (pixels) of the filled component.
    bbox_px: usize,
    /// Pixels of the holes it encloses (the cord inside the sac's CSF).
    hole_px: usize,
}

impl Component {
    fn contains(&self, r: usize, c: usize) -> bool {
        r >= self.origin[0]
            && c >= self.origin[1]
            && self
                .filled
                .get([r - self.origin[0], c - self.origin[1]])
                .copied()
                .unwrap_or(false)
    }
}

/// The components of at least `min_px` pixels, and the 4-connected labels of every bright pixel.
fn components(bright: &Array2<bool>, min_px: usize) -> (Array2<u32>, Vec<Component>) {
    let (labels, sizes) = label4(bright);
    let (nr, nc) = bright.dim();
    // Bounding box per label: [r0, r1, c0, c1].
    let mut bbox = vec![[usize::MAX, 0, usize::MAX, 0]; sizes.len()];
    for (r, row) in labels.rows().into_iter().enumerate() {
        for (c, &l) in row.iter().enumerate() {
            if l != 0 {
                let b = &mut bbox[l as usize];
                b[0] = b[0].min(r);
                b[1] = b[1].max(r);
                b[2] = b[2].min(c);
                b[3] = b[3].max(c);
            }
        }
    }
    let mut out = Vec::new();
    for (id, &n) in sizes.iter().enumerate().skip(1) {
        if n < min_px {
            continue;
        }
        let [r0, r1, c0, c1] = bbox[id];
        let id = u32::try_from(id).unwrap_or(u32::MAX);
        // One pixel of margin where the image allows, so that hole filling sees the outside.
        let (or, oc) = (r0.saturating_sub(1), c0.saturating_sub(1));
        let (er, ec) = ((r1 + 2).min(nr), (c1 + 2).min(nc));
        let m = Array2::from_shape_fn((er - or, ec - oc), |(r, c)| labels[[r + or, c + oc]] == id);
        let filled = fill_holes(&m);
        let (mut sr, mut sc, mut cnt) = (0.0, 0.0, 0usize);
        for ((r, c), &on) in filled.indexed_iter() {
            if on {
                sr += (r + or) as f64;
                sc += (c + oc) as f64;
                cnt += 1;
            }
        }
        let cntf = cnt.max(1) as f64;
        out.push(Component {
            origin: [or, oc],
            filled,
            area_px: cnt,
            centroid_px: [sr / cntf, sc / cntf],
            bbox_px: (r1 + 1 - r0) * (c1 + 1 - c0),
            hole_px: cnt.saturating_sub(n),
        });
    }
    (labels, out)
}

fn compactness(c: &Component) -> f64 {
    c.area_px as f64 / c.bbox_px.max(1) as f64
}

fn running_median(values: &[Option<f64>], half: usize) -> Vec<Option<f64>> {
    (0..values.len())
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(values.len());
            let mut w: Vec<f64> = values[lo..hi].iter().flatten().copied().collect();
            if w.is_empty() {
                return None;
            }
            w.sort_by(f64::total_cmp);
            Some(w[w.len() / 2])
        })
        .collect()
}

/// Build the canal model of an axial-like stack (slices roughly perpendicular to the canal).
pub fn build_canal(v: &Volume, opts: &SpineOptions) -> Result<CanalModel> {
    let [ni, nj, nk] = v.dims();
    if ni < 16 || nj < 16 || nk < 3 {
        return Err(Error::TooSmall { dims: v.dims() });
    }
    let per_slice: Vec<f32> = (0..nk)
        .into_par_iter()
        .map(|k| high_percentile(&slice_image(v, k), 0.998).unwrap_or(0.0))
        .collect();
    let mut p = per_slice.clone();
    let csf0 = percentile(&mut p, 0.5).unwrap_or(0.0);
    let (first, _) = segment(v, csf0, opts);
    // Refine the reference from the sac itself.
    let mut sac_vals = Vec::new();
    for (k, s) in first.iter().enumerate() {
        if !s.found {
            continue;
        }
        let img = slice_image(v, k);
        for (&on, &x) in s.sac.iter().zip(img.iter()) {
            if on && x >= 0.5 * csf0 {
                sac_vals.push(x);
            }
        }
    }
    let csf = percentile(&mut sac_vals, 0.5).unwrap_or(csf0);
    let (mut slices, bright) = segment(v, csf, opts);
    // Position along the canal: cumulative distance between successive centres.
    let mut s = 0.0;
    let mut prev: Option<DVec3> = None;
    for sl in &mut slices {
        let c = sl.centre.to_dvec3();
        if sl.found {
            if let Some(p) = prev {
                s += (c - p).length();
            }
            prev = Some(c);
        }
        sl.s_mm = s;
    }
    let found = slices.iter().filter(|s| s.found).count();
    Ok(CanalModel {
        confidence: found as f64 / nk as f64,
        slices,
        csf_reference: csf,
        method: "axial_sac_tracking/1",
        bright,
    })
}

/// The canal slices and the bright masks (dark lines removed) they were found in.
fn segment(v: &Volume, csf: f32, opts: &SpineOptions) -> (Vec<CanalSlice>, Vec<Array2<bool>>) {
    let g = v.geometry();
    let [nk] = [v.dims()[2]];
    let sp = g.spacing_mm();
    let px_mm2 = sp[0] * sp[1];
    let min_px = csfleak_volume::index_of((15.0 / px_mm2).ceil())
        .unwrap_or(1)
        .max(1);
    let max_px = csfleak_volume::index_of((1500.0 / px_mm2).ceil()).unwrap_or(usize::MAX);
    // Per slice: the bright mask, its components, and the 4-connected labels of its pixels.
    let comps: Vec<(Array2<bool>, Vec<Component>, Array2<u32>)> = (0..nk)
        .into_par_iter()
        .map(|k| {
            let b = bright_mask(&slice_image(v, k), csf, opts);
            let (labels, c) = components(&b, min_px);
            let c = c.into_iter().filter(|c| c.area_px <= max_px).collect();
            (b, c, labels)
        })
        .collect();
    let world = |k: usize, rc: [f64; 2]| -> DVec3 {
        g.world_from_voxel
            .transform_point3(DVec3::new(rc[1], rc[0], k as f64))
    };
    // Pass 1: the largest compact component, preferring one that encloses a dark core (the
    // cord inside its CSF) over a fluid crescent beside the sac.
    let cord_px = csfleak_volume::index_of((MIN_CORD_MM2 / px_mm2).ceil()).unwrap_or(usize::MAX);
    let pass1: Vec<Option<DVec3>> = comps
        .iter()
        .enumerate()
        .map(|(k, (_, cs, _))| {
            cs.iter()
                .filter(|c| compactness(c) >= 0.45)
                .max_by_key(|c| (c.hole_px >= cord_px, c.area_px))
                .map(|c| world(k, c.centroid_px))
        })
        .collect();
    let half = 7;
    let xs = running_median(
        &pass1.iter().map(|p| p.map(|p| p.x)).collect::<Vec<_>>(),
        half,
    );
    let ys = running_median(
        &pass1.iter().map(|p| p.map(|p| p.y)).collect::<Vec<_>>(),
        half,
    );
    let zs = running_median(
        &pass1.iter().map(|p| p.map(|p| p.z)).collect::<Vec<_>>(),
        half,
    );
    let voxel_from_world = g.voxel_from_world();
    let max_dist_mm = 10.0;
    // Pass 2: the component at (or nearest to) the centreline.
    let chosen: Vec<Option<()>> = comps
        .iter()
        .enumerate()
        .map(|(k, (_, cs, _))| {
            let (Some(x), Some(y), Some(z)) = (xs[k], ys[k], zs[k]) else {
                return None;
            };
            let c = voxel_from_world.transform_point3(DVec3::new(x, y, z));
            let (ci, cj) = (c.x, c.y);
            let mut best: Option<(f64, &Component)> = None;
            for comp in cs {
                let inside = match (
                    csfleak_volume::index_of(cj.round()),
                    csfleak_volume::index_of(ci.round()),
                ) {
                    (Some(r), Some(col)) => comp.contains(r, col),
                    _ => false,
                };
                let d = if inside {
                    0.0
                } else {
                    let dr = (comp.centroid_px[0] - cj) * sp[1];
                    let dc = (comp.centroid_px[1] - ci) * sp[0];
                    dr.hypot(dc)
                };
                if d <= max_dist_mm
                    && best
                        .as_ref()
                        .is_none_or(|(bd, bc)| d < *bd || (d == *bd && comp.area_px > bc.area_px))
                {
                    best = Some((d, comp));
                }
            }
            best.map(|_| ())
        })
        .collect();
    let coarse = sp[0].min(sp[1]) >= COARSE_PIXEL_MM;
    // The sac outline from rays cast from the centreline (see `ray_profile`).
    let centres: Vec<Option<[f64; 2]>> = (0..nk)
        .map(|k| match (xs[k], ys[k], zs[k], chosen[k].is_some()) {
            (Some(x), Some(y), Some(z), true) => {
                let c = voxel_from_world.transform_point3(DVec3::new(x, y, z));
                Some([c.x, c.y])
            }
            _ => None,
        })
        .collect();
    let rays: Vec<Option<([f64; 2], SliceRays)>> = (0..nk)
        .into_par_iter()
        .map(|k| {
            centres[k].map(|c| {
                // Re-centre once, so that rays start inside the sac even when the tracked
                // centre sits near its wall.
                let first = cast_rays(v, k, c, csf, (&comps[k].0, &comps[k].2), opts);
                // On the dura outline (smoothed), not on the bright run, which includes fluid.
                let smooth = smooth_angles(&first);
                let pts: Vec<[f64; 2]> = first
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.is_some())
                    .map(|(a, _)| {
                        let th = angle(a);
                        [
                            c[0] + smooth[a] * th.cos() / sp[0],
                            c[1] + smooth[a] * th.sin() / sp[1],
                        ]
                    })
                    .collect();
                if pts.len() * 2 < N_RAYS {
                    return (c, first);
                }
                let n = pts.len() as f64;
                let c2 = [
                    pts.iter().map(|p| p[0]).sum::<f64>() / n,
                    pts.iter().map(|p| p[1]).sum::<f64>() / n,
                ];
                let second = cast_rays(v, k, c2, csf, (&comps[k].0, &comps[k].2), opts);
                // Coarse pixels: from the centre of the cord, for the shape model.
                match coarse.then(|| cord_centre(&comps[k].0, c2, sp)).flatten() {
                    Some(cc) => (
                        cc,
                        cast_rays(v, k, cc, csf, (&comps[k].0, &comps[k].2), opts),
                    ),
                    None => (c2, second),
                }
            })
        })
        .collect();
    let (centres, rays): (Vec<Option<[f64; 2]>>, Vec<Option<SliceRays>>) = rays
        .into_iter()
        .map(|x| match x {
            Some((c, r)) => (Some(c), Some(r)),
            None => (None, None),
        })
        .unzip();
    // Per ray direction: dura radius, robust across angle (circular running quantile) and
    // slices (running median of the neighbours).
    let in_slice: Vec<Option<Vec<f64>>> = rays
        .iter()
        .map(|r| r.as_ref().map(|r| smooth_angles(r)))
        .collect();
    let radii: Vec<Option<Vec<f64>>> = (0..nk)
        .map(|k| {
            in_slice[k].as_ref()?;
            let lo = k.saturating_sub(2);
            let hi = (k + 3).min(nk);
            Some(
                (0..N_RAYS)
                    .map(|a| {
                        let mut w: Vec<f64> = (lo..hi)
                            .filter_map(|q| in_slice[q].as_ref().map(|r| r[a]))
                            .collect();
                        w.sort_by(f64::total_cmp);
                        w[w.len() / 2]
                    })
                    .collect(),
            )
        })
        .collect();
    let lateral = lateral_rays(g);
    let anterior = anterior_cosines(g);
    let mut shaped: Vec<Vec<bool>> = vec![Vec::new(); nk];
    let mut bridges: Vec<Vec<(usize, usize)>> = vec![Vec::new(); nk];
    let mut beyond: Vec<Vec<f64>> = vec![Vec::new(); nk];
    let mut dura_lines: Vec<Vec<bool>> = vec![Vec::new(); nk];
    let mut sacs: Vec<Option<Array2<bool>>> = vec![None; nk];
    for k in 0..nk {
        let (Some(c), Some(r), Some(ray)) = (centres[k], radii[k].as_ref(), rays[k].as_ref())
        else {
            continue;
        };
        let mut r = r.clone();
        if coarse {
            shaped[k] = shape_cut(ray, &mut r, &lateral, &anterior);
        }
        let r = &r;
        let cut = |a: usize| shaped[k].get(a).copied().unwrap_or(false);
        let (nr, nc) = comps[k].0.dim();
        let mut sac = Array2::from_elem((nr, nc), false);
        // Only pixels within the largest radius can be inside.
        let r_max = r.iter().copied().fold(0.0, f64::max) + 0.01;
        let window = |centre: f64, step: f64, n: usize| {
            let lo =
                csfleak_volume::index_of((centre - r_max / step).floor().max(0.0)).unwrap_or(0);
            let hi = csfleak_volume::index_of((centre + r_max / step).ceil().max(0.0))
                .unwrap_or(0)
                .saturating_add(1)
                .min(n);
            lo.min(hi)..hi
        };
        for row in window(c[1], sp[1], nr) {
            for col in window(c[0], sp[0], nc) {
                let dx = (col as f64 - c[0]) * sp[0];
                let dy = (row as f64 - c[1]) * sp[1];
                let rho = dx.hypot(dy);
                sac[[row, col]] = rho <= radius_at(r, dy.atan2(dx)) + 0.01;
            }
        }
        // A dural gap: fluid beyond the dura line with no dark line on the ray, on three or
        // more neighbouring rays (10 degrees: a gap is wider than a noise dip in the dura).
        // The line's radius across the gap comes from the dark lines of the rays within 30
        // degrees on this slice (every dip, also those CSF flows round: fluid crossing a gap
        // does), else from the outline of the neighbouring slices.
        let line: Vec<Option<f64>> = (0..N_RAYS)
            .map(|a| {
                let mut w: Vec<f64> = (0..=12)
                    .filter_map(|d| ray[(a + N_RAYS + d - 6) % N_RAYS].as_ref()?.r_line)
                    .collect();
                if w.len() < 3 {
                    // No dark line nearby on this slice: the outline of the neighbouring
                    // slices.
                    return Some(r[a]);
                }
                w.sort_by(f64::total_cmp);
                Some(w[w.len() / 2])
            })
            .collect();
        let defect: Vec<bool> = (0..N_RAYS)
            .map(|a| {
                let (Some(p), Some(l)) = (ray[a].as_ref(), line[a]) else {
                    return false;
                };
                p.r_out > l + 1.0
                    && p.r_line.is_none_or(|own| (own - l).abs() > 1.0)
                    && p.min_between(l - 0.75, l + 0.75) >= opts.gap_fraction * f64::from(csf)
            })
            .collect();
        for a in 0..N_RAYS {
            // Beside the sac, CSF runs on into the root sleeves through the dura (normal
            // anatomy): only a ventral or dorsal gap is evidence of a dural defect.
            if lateral[a] {
                continue;
            }
            // Where the outline comes from the sac's shape, no dura is seen: no gap either.
            if cut(a) {
                continue;
            }
            if defect[a] && defect[(a + 1) % N_RAYS] && defect[(a + N_RAYS - 1) % N_RAYS] {
                let th = angle(a);
                let l = line[a].unwrap_or(r[a]);
                let mut rho = l + 0.5;
                while rho <= l + 2.0 {
                    let col = c[0] + rho * th.cos() / sp[0];
                    let row = c[1] + rho * th.sin() / sp[1];
                    if let (Some(rr), Some(cc)) = (
                        csfleak_volume::index_of(row.round()),
                        csfleak_volume::index_of(col.round()),
                    ) {
                        if rr < nr
                            && cc < nc
                            && comps[k].0[[rr, cc]]
                            && !sac[[rr, cc]]
                            && !bridges[k].contains(&(rr, cc))
                        {
                            bridges[k].push((rr, cc));
                        }
                    }
                    rho += 0.25;
                }
            }
        }
        dura_lines[k] = (0..N_RAYS)
            .map(|a| {
                ray[a]
                    .as_ref()
                    .is_some_and(|p| p.r_dura + RAY_STEP_MM < p.r_out)
            })
            .collect();
        beyond[k] = (0..N_RAYS)
            .map(|a| ray[a].as_ref().map_or(0.0, |p| (p.r_out - r[a]).max(0.0)))
            .collect();
        sacs[k] = Some(sac);
    }
    let slices = (0..nk)
        .map(|k| {
            let bright = &comps[k].0;
            match sacs[k].take() {
                Some(sac) => {
                    let (mut sr, mut sc, mut n, mut ncsf) = (0.0, 0.0, 0usize, 0usize);
                    // Raster order over the rows (same sums as an indexed walk).
                    for ((r, srow), brow) in sac.rows().into_iter().enumerate().zip(bright.rows()) {
                        for ((c, &on), &b) in srow.iter().enumerate().zip(brow.iter()) {
                            if on {
                                sr += r as f64;
                                sc += c as f64;
                                n += 1;
                                ncsf += usize::from(b);
                            }
                        }
                    }
                    let nf = n.max(1) as f64;
                    CanalSlice {
                        k,
                        found: n > 0,
                        centre: PointLps::from_dvec3(world(k, [sr / nf, sc / nf])),
                        sac_area_mm2: n as f64 * px_mm2,
                        csf_area_mm2: ncsf as f64 * px_mm2,
                        sac,
                        s_mm: 0.0,
                        beyond_dura_mm: std::mem::take(&mut beyond[k]),
                        dura_line: std::mem::take(&mut dura_lines[k]),
                        bridge: std::mem::take(&mut bridges[k]),
                        shaped_rays: std::mem::take(&mut shaped[k]),
                    }
                }
                None => CanalSlice {
                    k,
                    found: false,
                    sac: Array2::from_elem(bright.dim(), false),
                    centre: PointLps::from_dvec3(world(k, [0.0, 0.0])),
                    sac_area_mm2: 0.0,
                    csf_area_mm2: 0.0,
                    s_mm: 0.0,
                    beyond_dura_mm: Vec::new(),
                    dura_line: Vec::new(),
                    bridge: Vec::new(),
                    shaped_rays: Vec::new(),
                },
            }
        })
        .collect();
    let bright = comps.into_iter().map(|(b, _, _)| b).collect();
    (slices, bright)
}

/// Per ray: whether it points sideways in the patient (within 35 degrees of the left-right
/// axis), from the image axes of the stack.
pub(crate) fn lateral_rays(g: &csfleak_volume::Geometry) -> Vec<bool> {
    let [di, dj, _] = g.directions();
    (0..N_RAYS)
        .map(|a| {
            let (sin, cos) = angle(a).sin_cos();
            let d = di * cos + dj * sin;
            d.length() > 0.0 && d.x.abs() / d.length() >= 35f64.to_radians().cos()
        })
        .collect()
}

/// Per ray: the cosine of its angle with the patient's anterior direction, from the image axes.
fn anterior_cosines(g: &csfleak_volume::Geometry) -> Vec<f64> {
    let [di, dj, _] = g.directions();
    (0..N_RAYS)
        .map(|a| {
            let (sin, cos) = angle(a).sin_cos();
            let d = di * cos + dj * sin;
            // Anterior is -y in LPS.
            if d.length() > 0.0 {
                -d.y / d.length()
            } else {
                0.0
            }
        })
        .collect()
}

/// Smallest dark core (mm²) read as the cord for the shape model: a spinal cord (about
/// 6 x 8 mm, the conus 5-6 mm across) rather than a clump of roots below it.
const MIN_SHAPE_CORD_MM2: f64 = 25.0;

/// Largest distance (mm) of a cord pixel from the sac centre: a dark core reaching further
/// is not enclosed by CSF (no cord, or a ring broken by noise).
const MAX_CORD_REACH_MM: f64 = 8.0;

/// The centre of the cord (pixel column, row): the centroid of the dark (not bright) pixels
/// 4-connected to the one nearest `c` (at most 3 mm from it), all within
/// [`MAX_CORD_REACH_MM`] of `c` and at least [`MIN_SHAPE_CORD_MM2`] in area; `None` otherwise.
fn cord_centre(bright: &Array2<bool>, c: [f64; 2], sp: [f64; 3]) -> Option<[f64; 2]> {
    let (nr, nc) = bright.dim();
    let dist =
        |r: usize, col: usize| ((col as f64 - c[0]) * sp[0]).hypot((r as f64 - c[1]) * sp[1]);
    let reach_r = csfleak_volume::index_of((MAX_CORD_REACH_MM / sp[1]).ceil()).unwrap_or(0) + 1;
    let reach_c = csfleak_volume::index_of((MAX_CORD_REACH_MM / sp[0]).ceil()).unwrap_or(0) + 1;
    let (r_c, c_c) = (
        csfleak_volume::index_of(c[1].round())?,
        csfleak_volume::index_of(c[0].round())?,
    );
    let rows = r_c.saturating_sub(reach_r)..(r_c + reach_r + 1).min(nr);
    let cols = c_c.saturating_sub(reach_c)..(c_c + reach_c + 1).min(nc);
    let seed = rows
        .clone()
        .flat_map(|r| cols.clone().map(move |col| (r, col)))
        .filter(|&(r, col)| !bright[[r, col]] && dist(r, col) <= 3.0)
        .min_by(|a, b| dist(a.0, a.1).total_cmp(&dist(b.0, b.1)))?;
    let mut seen = std::collections::HashSet::from([seed]);
    let mut stack = vec![seed];
    let (mut sr, mut sc) = (0.0, 0.0);
    while let Some((r, col)) = stack.pop() {
        if dist(r, col) > MAX_CORD_REACH_MM {
            return None;
        }
        sr += r as f64;
        sc += col as f64;
        let next = [
            (r.wrapping_sub(1), col),
            (r + 1, col),
            (r, col.wrapping_sub(1)),
            (r, col + 1),
        ];
        for (rr, cc) in next {
            if rr < nr && cc < nc && !bright[[rr, cc]] && seen.insert((rr, cc)) {
                stack.push((rr, cc));
            }
        }
    }
    let n = seen.len() as f64;
    (n * sp[0] * sp[1] >= MIN_SHAPE_CORD_MM2).then(|| [sc / n, sr / n])
}

/// Pixels at least this large (mm, the finer axis) do not resolve a 0.3-0.7 mm dura between
/// a ventral or dorsal collection and the sac: there the sac outline comes from its shape.
const COARSE_PIXEL_MM: f64 = 1.1;
/// The CSF rim round the cord on one side (ventral or dorsal) must exceed the rim beside the
/// cord and on the opposite side by at least this (mm) to be read as fluid outside the sac.
const MIN_RIM_EXCESS_MM: f64 = 2.0;
/// The ventral rim must exceed the dorsal one by at least this (mm), and not be thinner than
/// the rim beside the cord.
const MIN_VENTRAL_EXCESS_MM: f64 = 1.5;
/// A cord is inside the sac when most rays start this far (mm) from the centre.
const MIN_CORD_EDGE_MM: f64 = 1.5;
/// Rays within this angle (degrees) of anterior or posterior make the ventral and dorsal
/// sectors.
const AP_SECTOR_DEG: f64 = 30.0;

/// The sac outline on coarse pixels, where the dura between a ventral or dorsal collection and
/// the sac is not seen but the sac's shape is: a tube round the cord with a CSF rim of similar
/// thickness all round, while a collection thickens the bright ring on one side only. When
/// the rim on one side (ventral or dorsal) exceeds both the rim beside the cord and the rim on
/// the opposite side by [`MIN_RIM_EXCESS_MM`], the radii of that half (lateral rays aside) are
/// cut to the cord edge plus the larger of those two rims. Needs a cord (the ray starts dark);
/// returns the rays cut (empty when none).
fn shape_cut(ray: &[Option<Ray>], r: &mut [f64], lateral: &[bool], anterior: &[f64]) -> Vec<bool> {
    let with_cord = ray
        .iter()
        .flatten()
        .filter(|p| p.r_start >= MIN_CORD_EDGE_MM)
        .count();
    if with_cord * 4 < N_RAYS * 3 {
        return Vec::new();
    }
    let rim = |a: usize| ray[a].as_ref().map(|p| p.r_out - p.r_start);
    let cos_sector = AP_SECTOR_DEG.to_radians().cos();
    let sector_median = |keep: &dyn Fn(usize) -> bool| {
        let mut w: Vec<f64> = (0..N_RAYS).filter(|&a| keep(a)).filter_map(rim).collect();
        if w.len() < 3 {
            return None;
        }
        w.sort_by(f64::total_cmp);
        Some(w[w.len() / 2])
    };
    let (Some(side), Some(ventral), Some(dorsal)) = (
        sector_median(&|a| lateral[a]),
        sector_median(&|a| anterior[a] >= cos_sector),
        sector_median(&|a| anterior[a] <= -cos_sector),
    ) else {
        return Vec::new();
    };
    // A ventral collection spreads round the sides of the sac (the anterolateral epidural
    // space), so the rim beside the cord is no reference for it: the dorsal rim is. The cord
    // lies ventrally in the (thoracic) sac, so a dorsal rim larger than the ventral one is
    // normal: a dorsal collection must exceed both the ventral and the lateral rims.
    let (sign, excess, expected) = if ventral >= side && ventral - dorsal >= MIN_VENTRAL_EXCESS_MM {
        (1.0, ventral - dorsal, dorsal)
    } else {
        (-1.0, dorsal - side.max(ventral), side.max(ventral))
    };
    if excess < MIN_RIM_EXCESS_MM.min(MIN_VENTRAL_EXCESS_MM)
        || (sign < 0.0 && excess < MIN_RIM_EXCESS_MM)
    {
        return Vec::new();
    }
    let mut cut = vec![false; N_RAYS];
    for a in 0..N_RAYS {
        let Some(p) = ray[a].as_ref() else {
            continue;
        };
        // The whole half, lateral rays included: the fluid spreads round the sides.
        if anterior[a] * sign < 0.0 || (sign < 0.0 && lateral[a]) {
            continue;
        }
        let outline = p.r_start + expected;
        if r[a] > outline + RAY_STEP_MM {
            r[a] = outline;
            cut[a] = true;
        }
    }
    cut
}

/// A hole of at least this area (mm²) in a bright component is a cord inside the sac.
const MIN_CORD_MM2: f64 = 12.0;

/// Number of rays per slice (every 5 degrees).
const N_RAYS: usize = 72;
/// Ray sampling step (mm).
const RAY_STEP_MM: f64 = 0.25;
/// Longest ray (mm).
const RAY_MAX_MM: f64 = 25.0;
/// A dark dip on a ray is the dura only when the bright signal on its two sides is not joined
/// by a way round it at most this much longer than straight across (mm): a root or the filum
/// is a dot that CSF flows around, the dura a line.
const DURA_DETOUR_MM: f64 = 8.0;
/// Longest dark stretch on a ray that can be a root or the filum (mm), bridged when CSF flows
/// round it.
const MAX_DOT_MM: f64 = 5.0;

fn angle(a: usize) -> f64 {
    a as f64 * std::f64::consts::TAU / N_RAYS as f64
}

fn radius_at(r: &[f64], theta: f64) -> f64 {
    let x = theta.rem_euclid(std::f64::consts::TAU) / std::f64::consts::TAU * N_RAYS as f64;
    let a = csfleak_volume::index_of(x.floor()).unwrap_or(0) % N_RAYS;
    let f = x - x.floor();
    r[a] * (1.0 - f) + r[(a + 1) % N_RAYS] * f
}

/// Rays of one slice (`None` where the ray met no bright signal).
type SliceRays = Vec<Option<Ray>>;

/// One ray's profile from the centre outward.
#[derive(Debug, Clone)]
pub(crate) struct Ray {
    profile: Vec<f64>,
    /// End of the bright run (outer edge of sac + adjacent fluid), mm.
    pub(crate) r_out: f64,
    /// Dura estimate on this ray alone: the outermost dark line inside the bright run, else
    /// the end of the run (mm).
    pub(crate) r_dura: f64,
    /// The outermost dark line inside the bright run, also one that CSF flows round (mm).
    pub(crate) r_line: Option<f64>,
    /// Start of the bright run (mm): the edge of the cord when the ray starts inside it.
    pub(crate) r_start: f64,
}

impl Ray {
    fn min_between(&self, a: f64, b: f64) -> f64 {
        let i0 = csfleak_volume::index_of((a.max(0.0) / RAY_STEP_MM).floor()).unwrap_or(0);
        let i1 = csfleak_volume::index_of((b.max(0.0) / RAY_STEP_MM).ceil()).unwrap_or(0);
        self.profile
            .get(i0..=i1.min(self.profile.len().saturating_sub(1)))
            .map_or(0.0, |w| w.iter().copied().fold(f64::INFINITY, f64::min))
    }
}

/// Bilinear sample of a `[row, col]` image at column `x`, row `y` (pixel units), as
/// `Volume::sample_voxel` within one slice: `None` beyond half a pixel outside the image.
pub(crate) fn bilinear(img: &ArrayView2<'_, f32>, x: f64, y: f64) -> Option<f32> {
    let (nr, nc) = img.dim();
    if nr == 0 || nc == 0 {
        return None;
    }
    // Inside the last pixel centres on both axes (most samples): the same arithmetic without
    // clamping, straight from a contiguous slice.
    if x >= 0.0 && y >= 0.0 && x < (nc - 1) as f64 && y < (nr - 1) as f64 {
        if let Some(data) = img.as_slice() {
            // Non-negative: truncation is the floor.
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "0 <= x < nc - 1 and 0 <= y < nr - 1"
            )]
            let (c0, r0) = (x as usize, y as usize);
            let (fx, fy) = (x - c0 as f64, y - r0 as f64);
            let i = r0 * nc + c0;
            let v = |j: usize| f64::from(data[j]);
            let top = v(i) * (1.0 - fx) + v(i + 1) * fx;
            let bottom = v(i + nc) * (1.0 - fx) + v(i + nc + 1) * fx;
            #[allow(
                clippy::cast_possible_truncation,
                reason = "interpolated pixel values fit f32"
            )]
            return Some((top * (1.0 - fy) + bottom * fy) as f32);
        }
    }
    if nr == 0 || nc == 0 || x < -0.5 || y < -0.5 || x > nc as f64 - 0.5 || y > nr as f64 - 0.5 {
        return None;
    }
    let xc = x.clamp(0.0, (nc - 1) as f64);
    let yc = y.clamp(0.0, (nr - 1) as f64);
    let (x0, y0) = (xc.floor(), yc.floor());
    let (fx, fy) = (xc - x0, yc - y0);
    let (c0, r0) = (csfleak_volume::index_of(x0)?, csfleak_volume::index_of(y0)?);
    let (c1, r1) = ((c0 + 1).min(nc - 1), (r0 + 1).min(nr - 1));
    let v = |r: usize, c: usize| f64::from(img[[r, c]]);
    let top = v(r0, c0) * (1.0 - fx) + v(r0, c1) * fx;
    let bottom = v(r1, c0) * (1.0 - fx) + v(r1, c1) * fx;
    #[allow(
        clippy::cast_possible_truncation,
        reason = "interpolated pixel values fit f32"
    )]
    Some((top * (1.0 - fy) + bottom * fy) as f32)
}

fn cast_rays(
    v: &Volume,
    k: usize,
    c: [f64; 2],
    csf: f32,
    (bright, labels): (&Array2<bool>, &Array2<u32>),
    opts: &SpineOptions,
) -> Vec<Option<Ray>> {
    let img = slice_image(v, k);
    let sp = v.geometry().spacing_mm();
    let csf = f64::from(csf);
    let t = opts.bright_fraction * csf;
    let margin = opts.valley_fraction * csf;
    let n = csfleak_volume::index_of((RAY_MAX_MM / RAY_STEP_MM).floor()).unwrap_or(0);
    (0..N_RAYS)
        .map(|a| {
            let (sin, cos) = angle(a).sin_cos();
            let (di, dj) = (cos / sp[0], sin / sp[1]);
            let profile: Vec<f64> = (0..=n)
                .map(|s| {
                    let rho = s as f64 * RAY_STEP_MM;
                    bilinear(&img, c[0] + rho * di, c[1] + rho * dj).map_or(0.0, f64::from)
                })
                .collect();
            let start = profile
                .iter()
                .position(|&x| x >= t)
                .filter(|&i| i as f64 * RAY_STEP_MM <= 15.0)?;
            let pixel = |i: usize| {
                let rho = i as f64 * RAY_STEP_MM;
                snap(bright, c[0] + rho * di, c[1] + rho * dj)
            };
            // Bright signal on both sides of a dark stretch, joined by a short way round it:
            // the stretch is a dot in the CSF (a root, the filum), not a wall.
            // (No way round between two bright components: `path_within` moves through
            // 4-connected pixels.)
            let joined_round = |ia: usize, ib: usize| match (pixel(ia), pixel(ib)) {
                (Some(pa), Some(pb)) if labels[pa] == labels[pb] => path_within(
                    bright,
                    pa,
                    pb,
                    [sp[1], sp[0]],
                    (ib - ia) as f64 * RAY_STEP_MM + DURA_DETOUR_MM,
                ),
                _ => false,
            };
            // End of the bright run, bridging dips under the threshold up to 1 mm long, and
            // longer dark stretches that CSF flows around.
            let max_gap = csfleak_volume::index_of((1.0 / RAY_STEP_MM).round()).unwrap_or(4);
            let max_dot =
                csfleak_volume::index_of((MAX_DOT_MM / RAY_STEP_MM).round()).unwrap_or(12);
            let mut end = start;
            let mut i = start;
            while i < profile.len() {
                if profile[i] >= t {
                    end = i;
                    i += 1;
                    continue;
                }
                let resume =
                    (i..profile.len().min(i + max_gap + 1)).find(|&q| profile[q] >= 0.75 * csf);
                let resume = resume.or_else(|| {
                    (i..profile.len().min(i + max_dot + 1))
                        .find(|&q| profile[q] >= 0.75 * csf)
                        .filter(|&q| joined_round(end, q))
                });
                match resume {
                    Some(q) => i = q,
                    None => break,
                }
            }
            let r_out = (end as f64 + 0.5) * RAY_STEP_MM;
            // Outermost significant dark line with water-like signal beyond it.
            let mut r_dura = r_out;
            // outer[q - start]: the maximum of the profile from q to the end of the run.
            let mut outer = vec![f64::NEG_INFINITY; end + 1 - start];
            let mut outer_max = f64::NEG_INFINITY;
            for q in (start..=end).rev() {
                outer_max = outer_max.max(profile[q]);
                outer[q - start] = outer_max;
            }
            let mut inner_max = f64::NEG_INFINITY;
            let mut dips: Vec<usize> = Vec::new();
            for q in start..=end {
                inner_max = inner_max.max(profile[q]);
                let beyond = outer[q - start];
                let is_min = q > start
                    && q < end
                    && profile[q] <= profile[q - 1]
                    && profile[q] <= profile[q + 1];
                if is_min
                    && inner_max.min(beyond) - profile[q] >= margin
                    && beyond >= 0.75 * csf
                    && (end - q) as f64 * RAY_STEP_MM >= 0.5
                    // Nerve roots and the filum lie in the inner part of the sac; the dura
                    // is in the outer part of the bright run.
                    && q as f64 * RAY_STEP_MM >= 0.4 * r_out
                {
                    dips.push(q);
                }
            }
            // The outermost dip that is a line: bright signal on both sides of a dura is not
            // joined by a short way round it (roots and the filum are dots in the CSF; the
            // CSF behind them is intrathecal).
            let best = dips.iter().rev().copied().find(|&q| {
                let ia = (start..q).rev().find(|&i| profile[i] >= t);
                let ib = (q + 1..=end).find(|&i| profile[i] >= t);
                match (ia, ib) {
                    (Some(ia), Some(ib)) => !joined_round(ia, ib),
                    _ => true,
                }
            });
            if let Some(q) = best {
                r_dura = q as f64 * RAY_STEP_MM;
            }
            Some(Ray {
                profile,
                r_out,
                r_dura,
                r_line: dips.last().map(|&q| q as f64 * RAY_STEP_MM),
                r_start: start as f64 * RAY_STEP_MM,
            })
        })
        .collect()
}

/// A bright pixel of `mask` at (or next to) column `x`, row `y` (pixel units), the nearest first.
fn snap(mask: &Array2<bool>, x: f64, y: f64) -> Option<(usize, usize)> {
    let (nr, nc) = mask.dim();
    let mut best: Option<(f64, (usize, usize))> = None;
    for dr in -1i32..=1 {
        for dc in -1i32..=1 {
            let (Some(r), Some(c)) = (
                csfleak_volume::index_of(y.round() + f64::from(dr)),
                csfleak_volume::index_of(x.round() + f64::from(dc)),
            ) else {
                continue;
            };
            if r >= nr || c >= nc || !mask[[r, c]] {
                continue;
            }
            let d = (r as f64 - y).hypot(c as f64 - x);
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, (r, c)));
            }
        }
    }
    best.map(|(_, p)| p)
}

/// Dura radius per direction, robust to rays where the dura was invisible (too large) or a
/// nerve root looked like a dark line (too small): a circular running median over
/// +-15 degrees. Rays without a profile take their neighbours' value.
fn smooth_angles(rays: &[Option<Ray>]) -> Vec<f64> {
    let mut outs: Vec<f64> = rays.iter().flatten().map(|r| r.r_out).collect();
    outs.sort_by(f64::total_cmp);
    let typical = outs.get(outs.len() / 2).copied().unwrap_or(0.0);
    // A run broken by a dark structure near the centre (filum, roots) says nothing of the dura.
    let raw: Vec<Option<f64>> = rays
        .iter()
        .map(|r| {
            r.as_ref()
                .filter(|r| r.r_out >= 0.4 * typical)
                .map(|r| r.r_dura)
        })
        .collect();
    let half = 3usize;
    (0..N_RAYS)
        .map(|a| {
            let mut w: Vec<f64> = (0..=2 * half)
                .filter_map(|d| raw[(a + N_RAYS + d - half) % N_RAYS])
                .collect();
            if w.is_empty() {
                return 0.0;
            }
            w.sort_by(f64::total_cmp);
            let idx = csfleak_volume::index_of(((w.len() - 1) as f64 * 0.5).round()).unwrap_or(0);
            w[idx.min(w.len() - 1)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use csfleak_volume::{Geometry, VecLps};

    /// Rays from the cord centre of a slice: cord radius 4 mm, CSF rim `rim(angle)`; rows
    /// point posterior (anterior is -sin of the ray angle).
    fn ring(rim: impl Fn(f64) -> f64) -> (Vec<Option<Ray>>, Vec<f64>, Vec<bool>, Vec<f64>) {
        let rays: Vec<Option<Ray>> = (0..N_RAYS)
            .map(|a| {
                let r_out = 4.0 + rim(angle(a));
                Some(Ray {
                    profile: Vec::new(),
                    r_out,
                    r_dura: r_out,
                    r_line: None,
                    r_start: 4.0,
                })
            })
            .collect();
        let r = rays.iter().flatten().map(|p| p.r_out).collect();
        let lateral = (0..N_RAYS)
            .map(|a| angle(a).cos().abs() >= 35f64.to_radians().cos())
            .collect();
        let anterior = (0..N_RAYS).map(|a| -angle(a).sin()).collect();
        (rays, r, lateral, anterior)
    }

    /// A ventral rim 3 mm thicker than the dorsal one is cut back to the dorsal rim over the
    /// ventral half; an even rim, and a dorsal rim thicker than the ventral one but not than the
    /// lateral one (a ventrally lying cord), are left alone; a slice without a cord too.
    #[test]
    fn shape_cut_trims_a_one_sided_rim_only() {
        let (rays, mut r, lateral, anterior) = ring(|th| if -th.sin() > 0.5 { 6.0 } else { 3.0 });
        let cut = shape_cut(&rays, &mut r, &lateral, &anterior);
        assert_eq!(cut.len(), N_RAYS);
        for a in 0..N_RAYS {
            if -angle(a).sin() > 0.5 {
                assert!(cut[a] && (r[a] - 7.0).abs() < 1e-9, "ray {a}: {}", r[a]);
            }
            if anterior[a] < 0.0 {
                assert!(!cut[a] && (r[a] - 7.0).abs() < 1e-9, "ray {a}");
            }
        }
        let (rays, mut r, lateral, anterior) = ring(|_| 3.0);
        assert!(shape_cut(&rays, &mut r, &lateral, &anterior).is_empty());
        let (rays, mut r, lateral, anterior) = ring(|th| if -th.sin() > 0.5 { 2.0 } else { 3.8 });
        assert!(shape_cut(&rays, &mut r, &lateral, &anterior).is_empty());
        let (mut rays, mut r, lateral, anterior) =
            ring(|th| if -th.sin() > 0.5 { 6.0 } else { 3.0 });
        for p in rays.iter_mut().flatten() {
            p.r_start = 0.0;
        }
        assert!(shape_cut(&rays, &mut r, &lateral, &anterior).is_empty());
    }

    /// The cord centre is the centroid of the dark core round the centre; a dark region open
    /// to the outside (no CSF ring) is no cord.
    #[test]
    fn cord_centre_needs_an_enclosed_core() {
        let sp = [1.0, 1.0, 4.0];
        // A bright disc of radius 9 with a dark core of radius 4 centred at column 21, row 20.
        let ring_img = Array2::from_shape_fn((40, 40), |(r, c)| {
            let d = (r as f64 - 20.0).hypot(c as f64 - 21.0);
            d > 4.0 && d <= 9.0
        });
        let cc = cord_centre(&ring_img, [19.0, 19.0], sp).unwrap();
        assert!(
            (cc[0] - 21.0).abs() < 0.2 && (cc[1] - 20.0).abs() < 0.2,
            "{cc:?}"
        );
        // The ring broken towards the top: the core is open.
        let open = Array2::from_shape_fn((40, 40), |(r, c)| {
            ring_img[[r, c]] && !((19..=23).contains(&c) && r < 20)
        });
        assert!(cord_centre(&open, [19.0, 19.0], sp).is_none());
    }

    /// The heap quantile is the sorting quantile, negative values, ties and NaN included.
    #[test]
    fn high_percentile_matches_percentile() {
        let mut seed = 7u64;
        for &(nr, nc) in &[(1usize, 1usize), (3, 5), (40, 37), (64, 64)] {
            let img = Array2::from_shape_fn((nr, nc), |_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                match (seed >> 33) % 11 {
                    0 => f32::NAN,
                    1 => 3.0,
                    2 => -0.0,
                    r => (r as f32 - 5.5) * ((seed >> 40) % 97) as f32,
                }
            });
            for &q in &[0.5, 0.9, 0.998, 1.0] {
                let mut vals: Vec<f32> = img.iter().copied().filter(|x| x.is_finite()).collect();
                let a = high_percentile(&img.view(), q).map(f32::to_bits);
                let b = percentile(&mut vals, q).map(f32::to_bits);
                assert_eq!(a, b, "{nr}x{nc} q {q}");
            }
        }
        assert_eq!(
            high_percentile(&Array2::from_elem((2, 2), f32::NAN).view(), 0.9),
            None
        );
    }

    /// The in-slice sampler agrees with the volume's trilinear sampler on a slice.
    #[test]
    fn bilinear_matches_volume_sampling() {
        let g = Geometry::from_steps(
            [5, 4, 2],
            PointLps([0.0, 0.0, 0.0]),
            VecLps([1.0, 0.0, 0.0]),
            VecLps([0.0, 1.0, 0.0]),
            VecLps([0.0, 0.0, 1.0]),
        )
        .unwrap();
        let data = ndarray::Array3::from_shape_fn((2, 4, 5), |(k, j, i)| {
            (k * 100 + j * 10 + i * i) as f32
        });
        let v = Volume::new(g, data).unwrap();
        let img = slice_image(&v, 1);
        for &(x, y) in &[(0.0, 0.0), (1.3, 2.7), (3.9, 0.2), (4.4, 3.4), (-0.4, 1.0)] {
            let a = bilinear(&img, x, y).unwrap();
            let b = v.sample_voxel(DVec3::new(x, y, 1.0)).unwrap();
            assert!((a - b).abs() < 1e-4, "{x} {y}: {a} vs {b}");
        }
        assert!(bilinear(&img, -0.6, 1.0).is_none());
        assert!(bilinear(&img, 1.0, 3.6).is_none());
    }
}
