//! Extradural contrast: contrast-dense pixels outside the sac and near the canal, per slice,
//! grouped across slices into sites.
//!
//! On each slice the sac at the extradural threshold is opened (a disc of about 2 mm) so that
//! root sleeves and anything attached through a narrow neck separate from it; what stays
//! outside the (slightly dilated) opened sac within reach of the canal is extradural
//! candidate contrast. Pieces that reach far from the canal or are large belong to bone.

use ndarray::Array2;
use rayon::prelude::*;

use csfleak_volume::Volume;

use super::morph::{components, dilate, erode, fill_holes, label_runs, label4};
use super::sac::SacSlice;

/// Half-size of the search square around the sac centre, mm.
const CROP_MM: f64 = 40.0;
/// A piece with pixels farther than this from the sac centre (mm) is bone or outside the
/// spinal canal and foramina.
const FAR_MM: f64 = 32.0;
/// Largest area of an extradural piece on one slice (mm²); larger pieces are bone.
const MAX_PIECE_MM2: f64 = 300.0;
/// Radius of the opening that separates sleeves and attached contrast from the sac, mm.
const OPEN_MM: f64 = 2.0;
/// Radius of the closing that joins intrathecal contrast split by nerve roots, mm.
const ROOT_MM: f64 = 1.5;
/// Candidates keep this far from cortex-dense pixels, mm (marrow, partial-volume rims).
const BONE_MM: f64 = 1.5;

/// One extradural piece on one slice.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub k: usize,
    /// Sorted pixels `(row, col)`.
    pub pixels: Vec<(usize, usize)>,
    /// Touches the dilated sac (continuity through a sleeve or a dural gap).
    pub attached: bool,
    /// Highest HU among the touching pixels (a contrast bridge through the dura is as dense
    /// as the intrathecal contrast; an intact dura between sac and collection is not).
    pub touch_max_hu: f32,
    /// Farthest in-plane reach beyond the sac outline, mm (sac centre distance minus the
    /// sac's equivalent radius).
    pub reach_mm: f64,
    /// Split off a component that held bone.
    pub near_bone: bool,
    /// Fraction of the densest quarter of the pixels with bone nearby on a slice within two
    /// (see [`ridge_bone_cover`]).
    pub bone_cover: f64,
    pub max_hu: f32,
    pub sum_hu: f64,
}

/// Per slice: the opened sac (sorted pixels) and the extradural pieces.
#[derive(Debug, Clone, Default)]
pub(crate) struct SliceSites {
    pub sac: Vec<(usize, usize)>,
    pub pieces: Vec<Piece>,
}

pub(crate) fn disc_offsets(r_px: [f64; 2]) -> Vec<(isize, isize)> {
    let (rr, rc) = (r_px[0].floor() as isize, r_px[1].floor() as isize);
    let mut o = Vec::new();
    for dr in -rr..=rr {
        for dc in -rc..=rc {
            let (a, b) = (dr as f64 / r_px[0].max(1e-6), dc as f64 / r_px[1].max(1e-6));
            if a * a + b * b <= 1.0 + 1e-9 {
                o.push((dr, dc));
            }
        }
    }
    o
}

/// Extradural pieces of one slice at threshold `thr`.
fn slice_sites(
    img: &ndarray::ArrayView2<'_, f32>,
    sac: &SacSlice,
    thr: f32,
    sac_thr: f32,
    bone_above: f32,
    ith: f32,
    px: [f64; 2],
) -> SliceSites {
    let (nr, nc) = img.dim();
    let half = [CROP_MM / px[0], CROP_MM / px[1]];
    let r0 = (sac.centroid.0 - half[0]).max(0.0) as usize;
    let c0 = (sac.centroid.1 - half[1]).max(0.0) as usize;
    let r1 = ((sac.centroid.0 + half[0]).ceil() as usize).min(nr.saturating_sub(1));
    let c1 = ((sac.centroid.1 + half[1]).ceil() as usize).min(nc.saturating_sub(1));
    if r1 <= r0 || c1 <= c0 {
        return SliceSites::default();
    }
    let (h, w) = (r1 - r0 + 1, c1 - c0 + 1);
    let bright = Array2::from_shape_fn((h, w), |(r, c)| img[[r + r0, c + c0]] > thr);
    // Bone by HU physics: cortex is denser than any diluted intrathecal contrast; marrow and
    // the partial-volume rim lie within a cortical shell's reach. Extradural candidates keep
    // clear of it, so contrast next to a pedicle does not merge with the arch.
    // Within a component that holds bone, anything near the intrathecal density is cortex
    // or its partial volume (extradural contrast is diluted).
    let dense = bone_above.min(0.9 * ith);
    let cortex = Array2::from_shape_fn((h, w), |(r, c)| img[[r + r0, c + c0]] > dense);
    let bone_offs = disc_offsets([BONE_MM / px[0], BONE_MM / px[1]]);
    // Needed only when a component holds bone (computed once, on demand).
    let mut near_bone_cache: Option<Array2<bool>> = None;
    let (labels, sizes) = label4(&bright);
    // The sac at this threshold: the component overlapping the found sac most.
    let mut overlap = vec![0usize; sizes.len()];
    for &(r, c) in &sac.pixels {
        if (r0..=r1).contains(&r) && (c0..=c1).contains(&c) {
            overlap[labels[[r - r0, c - c0]] as usize] += 1;
        }
    }
    overlap[0] = 0;
    let Some((sac_label, _)) = overlap
        .iter()
        .enumerate()
        .max_by_key(|&(i, n)| (*n, std::cmp::Reverse(i)))
        .filter(|(_, n)| **n > 0)
    else {
        return SliceSites::default();
    };
    // Everything built from the sac below stays within reach of the found sac: it is computed
    // on a window around it (with a background margin, so hole filling and labelling give
    // what they give on the whole crop) and pasted back.
    let found_px: Vec<(usize, usize)> = sac
        .pixels
        .iter()
        .filter(|&&(r, c)| (r0..=r1).contains(&r) && (c0..=c1).contains(&c))
        .map(|&(r, c)| (r - r0, c - c0))
        .collect();
    let reach_px = |mm: f64, p: f64| (mm / p).floor() as usize;
    let margin = [
        reach_px(1.5, px[0]) + reach_px(ROOT_MM, px[0]) + 6,
        reach_px(1.5, px[1]) + reach_px(ROOT_MM, px[1]) + 6,
    ];
    let win = Win::around(&found_px, margin, (h, w));
    // Never let the sac grow far beyond where it was found (partial volume can merge it with
    // bone at a lower threshold).
    let mut found = Array2::from_elem(win.dim(), false);
    for &(r, c) in &found_px {
        found[[r - win.r0, c - win.c0]] = true;
    }
    let near_found = dilate(&found, &disc_offsets([1.5 / px[0], 1.5 / px[1]]));
    // The sac itself is as dense as the intrathecal contrast: extradural contrast (diluted)
    // touching the dura stays outside it.
    let sac_mask = fill_holes(&Array2::from_shape_fn(win.dim(), |(r, c)| {
        let (cr, cc) = (r + win.r0, c + win.c0);
        labels[[cr, cc]] as usize == sac_label
            && near_found[[r, c]]
            && img[[cr + r0, cc + c0]] > sac_thr
    }));
    // Roots inside the sac (the cauda equina lies dependent, against the dura) cut off thin
    // layers of intrathecal contrast: close over root-sized gaps and fill the enclosed roots
    // so the sac stays one solid cross-section before the opening.
    let root_offs = disc_offsets([ROOT_MM / px[0], ROOT_MM / px[1]]);
    let sac_mask = fill_holes(&erode(&dilate(&sac_mask, &root_offs), &root_offs));
    let offs = disc_offsets([OPEN_MM / px[0], OPEN_MM / px[1]]);
    let opened = dilate(&erode(&sac_mask, &offs), &offs);
    // Keep the opened piece that overlaps the found sac most.
    let (ol, osz) = label4(&opened);
    let mut ov = vec![0usize; osz.len()];
    for &(r, c) in &found_px {
        ov[ol[[r - win.r0, c - win.c0]] as usize] += 1;
    }
    ov[0] = 0;
    let keep = ov
        .iter()
        .enumerate()
        .max_by_key(|&(i, n)| (*n, std::cmp::Reverse(i)))
        .map_or(0, |(i, _)| i);
    let sac_open_w = if keep > 0 {
        ol.mapv(|l| l as usize == keep)
    } else {
        sac_mask
    };
    let ring_w = dilate(&sac_open_w, &disc_offsets([1.5, 1.5]));
    let touch_w = dilate(&ring_w, &disc_offsets([1.0, 1.0]));
    let sac_open = win.paste(&sac_open_w, (h, w));
    let ring = win.paste(&ring_w, (h, w));
    let touch = win.paste(&touch_w, (h, w));
    let rest = Array2::from_shape_fn((h, w), |(r, c)| bright[[r, c]] && !ring[[r, c]]);
    let sac_px_n = sac_open.iter().filter(|&&b| b).count() as f64;
    let sac_radius_mm = (sac_px_n * px[0] * px[1] / std::f64::consts::PI).sqrt();
    let (rest_runs, rest_sizes) = rest
        .as_slice()
        .and_then(|m| label_runs(m, h, w))
        .unwrap_or_default();
    let mut comps: Vec<(Vec<(usize, usize)>, bool)> =
        components(&rest_runs, rest_sizes.len(), |_| true)
            .into_iter()
            .skip(1)
            .map(|p| (p, false))
            .collect();
    let pix_area = px[0] * px[1];
    let core_offs = disc_offsets([(1.0 / px[0]).max(1.0), (1.0 / px[1]).max(1.0)]);
    let core_margin = core_offs
        .iter()
        .map(|&(a, b)| a.unsigned_abs().max(b.unsigned_abs()))
        .max()
        .unwrap_or(0)
        + 2;
    // Holes the sac and its bright ring enclose by themselves (see [`encloses_tissue`]).
    let mut base_holes: Option<usize> = None;
    let mut pieces = Vec::new();
    while let Some((comp, resplit)) = comps.pop() {
        let area = comp.len() as f64 * pix_area;
        let holds_bone = area > MAX_PIECE_MM2
            || comp
                .iter()
                .any(|&(r, c)| img[[r + r0, c + c0]] > bone_above);
        if holds_bone {
            // Contrast next to bone merges with marrow and the cortical rim: keep what lies
            // clear of the cortex, judged again below (once).
            if !resplit {
                let near_bone = near_bone_cache.get_or_insert_with(|| dilate(&cortex, &bone_offs));
                comps.extend(split_off_bone(&comp, near_bone));
            }
            continue;
        }
        let far = comp.iter().any(|&(r, c)| {
            let (gr, gc) = ((r + r0) as f64, (c + c0) as f64);
            ((gr - sac.centroid.0) * px[0]).hypot((gc - sac.centroid.1) * px[1]) > FAR_MM
                || r == 0
                || c == 0
                || r + 1 == h
                || c + 1 == w
        });
        if far {
            continue;
        }
        // Thin shells (cortex lining the canal, partial-volume rims) have no pixel 1 mm
        // inside their outline; contrast collections do. A piece with fewer pixels than the
        // disc has none (cheap exit before the erosion).
        if comp.len() < core_offs.len() {
            continue;
        }
        // The piece on a window around it (a margin wider than the core disc: the erosion
        // gives what it gives on the whole crop).
        let lwin = Win::around(&comp, [core_margin, core_margin], (h, w));
        let mut local = Array2::from_elem(lwin.dim(), false);
        for &(r, c) in &comp {
            local[[r - lwin.r0, c - lwin.c0]] = true;
        }
        let in_piece = |y: usize, x: usize| lwin.get(&local, y, x);
        let core = erode(&local, &core_offs);
        if !core.iter().any(|&b| b) {
            continue;
        }
        // Extradural contrast is one fluid: homogeneous inside (noise only); cortical
        // partial volume and marrow beside it are not.
        let mut vals: Vec<f32> = core
            .indexed_iter()
            .filter(|(_, on)| **on)
            .map(|((r, c), _)| img[[r + lwin.r0 + r0, c + lwin.c0 + c0]])
            .collect();
        vals.sort_by(f32::total_cmp);
        let q = |f: f64| vals[((vals.len() - 1) as f64 * f).round() as usize];
        let (q10, q50, q90) = (q(0.1), q(0.5), q(0.9));
        if q90 - q10 > 0.3 * q50 + 40.0 {
            continue;
        }
        // What was split off bone must also be diluted and not walled in by bone.
        if resplit {
            // ... and diluted: near the intrathecal density is cortical partial volume.
            let max = comp
                .iter()
                .map(|&(r, c)| img[[r + r0, c + c0]])
                .fold(f32::NEG_INFINITY, f32::max);
            // ... and not enclosed by bone: marrow is walled in by cortex, contrast beside a
            // pedicle touches it on one side only.
            let (edge, walled) = walled_edges(&comp, (h, w), in_piece, |y, x| {
                near_bone_cache.as_ref().is_some_and(|nb| nb[[y, x]])
            });
            if max > 0.9 * ith || 10 * walled > 7 * edge {
                continue;
            }
        }
        // Continuous with the sac: from a touching pixel straight towards the sac centre,
        // the density never dips below 0.8 of that pixel's (no dura line in between).
        let attached = comp.iter().any(|&(r, c)| {
            if !touch[[r, c]] {
                return false;
            }
            let v0 = img[[r + r0, c + c0]];
            let (tr, tc) = (sac.centroid.0 - r0 as f64, sac.centroid.1 - c0 as f64);
            let (dr, dc) = (tr - r as f64, tc - c as f64);
            let len = dr.hypot(dc);
            let steps = (len * 2.0).ceil() as usize;
            let mut min_v = f32::INFINITY;
            for t in 1..=steps {
                let f = t as f64 / steps as f64;
                let (yr, xc) = (
                    (r as f64 + dr * f).round() as usize,
                    (c as f64 + dc * f).round() as usize,
                );
                if yr >= h || xc >= w || sac_open[[yr, xc]] {
                    break;
                }
                min_v = min_v.min(img[[yr + r0, xc + c0]]);
            }
            min_v >= 0.8 * v0
        });
        // Contrast in front of or behind the sac that, together with the sac, surrounds soft
        // tissue (a clump of dependent roots) lies inside the dura: only the sac's contents
        // are walled in by intrathecal contrast. (Beside the sac a root in its sleeve is
        // surrounded the same way; the sleeve logic judges those.)
        if attached
            && encloses_tissue(
                &Enclosing {
                    sac_open: &sac_open,
                    ring: &ring,
                    bright: &bright,
                    win,
                    core: &core_offs,
                },
                &mut base_holes,
                sac,
                (r0, c0),
                &comp,
            )
        {
            continue;
        }
        let mut touch_max_hu = f32::NEG_INFINITY;
        let mut reach_mm = 0.0f64;
        for &(r, c) in &comp {
            if touch[[r, c]] {
                touch_max_hu = touch_max_hu.max(img[[r + r0, c + c0]]);
            }
            let (gr, gc) = ((r + r0) as f64, (c + c0) as f64);
            reach_mm =
                reach_mm.max(((gr - sac.centroid.0) * px[0]).hypot((gc - sac.centroid.1) * px[1]));
        }
        let reach_mm = reach_mm - sac_radius_mm;
        let mut max_hu = f32::NEG_INFINITY;
        let mut sum_hu = 0.0;
        let pixels: Vec<(usize, usize)> = comp
            .iter()
            .map(|&(r, c)| {
                let v = img[[r + r0, c + c0]];
                max_hu = max_hu.max(v);
                sum_hu += f64::from(v);
                (r + r0, c + c0)
            })
            .collect();
        pieces.push(Piece {
            k: 0,
            pixels,
            attached,
            touch_max_hu,
            reach_mm,
            near_bone: resplit,
            bone_cover: 0.0,
            max_hu,
            sum_hu,
        });
    }
    let mut sac_px: Vec<(usize, usize)> = sac_open
        .indexed_iter()
        .filter(|(_, on)| **on)
        .map(|((r, c), _)| (r + r0, c + c0))
        .collect();
    sac_px.sort_unstable();
    SliceSites {
        sac: sac_px,
        pieces,
    }
}

/// Extradural pieces on every slice with a sac (rayon across slices).
pub(crate) fn slice_pieces(
    v: &Volume,
    sacs: &[Option<SacSlice>],
    thr: f32,
    sac_thr: f32,
    bone_above: f32,
    ith: f32,
) -> Vec<SliceSites> {
    let [sx, sy, _] = v.geometry().spacing_mm();
    let px = [sy, sx];
    let data = v.data();
    let mut out: Vec<SliceSites> = sacs
        .par_iter()
        .enumerate()
        .map(|(k, s)| {
            let Some(s) = s else {
                return SliceSites::default();
            };
            let mut out = slice_sites(
                &data.index_axis(ndarray::Axis(0), k),
                s,
                thr,
                sac_thr,
                bone_above,
                ith,
                px,
            );
            for p in &mut out.pieces {
                p.k = k;
                p.pixels.sort_unstable();
                p.bone_cover = ridge_bone_cover(&data.view(), k, &p.pixels, bone_above);
            }
            out
        })
        .collect();
    drop_bone_edges(&mut out, v.geometry().spacing_mm()[2], 4.0);
    out
}

/// Fraction of the densest quarter of a piece's pixels with bone (denser than any contrast)
/// at that place (3 x 3 neighbourhood: oblique plates shift by a pixel per slice) on a slice
/// within two of this one. Partial volume of a bony plate crossed by the slice is densest
/// where the plate passes; contrast beside bone is densest in its middle.
fn ridge_bone_cover(
    data: &ndarray::ArrayView3<'_, f32>,
    k: usize,
    pixels: &[(usize, usize)],
    bone_above: f32,
) -> f64 {
    let (nk, nr, nc) = data.dim();
    let img = data.index_axis(ndarray::Axis(0), k);
    let mut vals: Vec<f32> = pixels.iter().map(|&(r, c)| img[[r, c]]).collect();
    if vals.is_empty() {
        return 0.0;
    }
    vals.sort_by(f32::total_cmp);
    let q75 = vals[(vals.len() - 1) * 3 / 4];
    let (lo, hi) = (k.saturating_sub(2), (k + 2).min(nk - 1));
    let (mut n, mut boned) = (0usize, 0usize);
    for &(r, c) in pixels.iter().filter(|&&(r, c)| img[[r, c]] >= q75) {
        n += 1;
        let bone = (lo..=hi).filter(|&kk| kk != k).any(|kk| {
            (r.saturating_sub(1)..=(r + 1).min(nr - 1)).any(|rr| {
                (c.saturating_sub(1)..=(c + 1).min(nc - 1))
                    .any(|cc| data[[kk, rr, cc]] > bone_above)
            })
        });
        boned += usize::from(bone);
    }
    boned as f64 / n.max(1) as f64
}

/// Drop the partial-volume edges of bony plates crossed by the slices (lamina, pedicle, rib,
/// endplate): pieces clear of the sac (contrast against the dura is judged by its connection)
/// with bone at their densest place on a nearby slice (see
/// [`ridge_bone_cover`]) that do not continue, through such pieces overlapping in-plane on the
/// adjacent slices, over three slices and `min_run_mm` along the stack. With slices
/// overlapping by a quarter, the edge of a plate spans at most two slices; contrast lying
/// against bone (a ventral collection behind a disc between two endplates) spans more.
fn drop_bone_edges(slices: &mut [SliceSites], slice_mm: f64, min_run_mm: f64) {
    const COVER: f64 = 0.6;
    let nk = slices.len();
    let covered: Vec<Vec<bool>> = slices
        .iter()
        .map(|s| {
            s.pieces
                .iter()
                .map(|p| !p.attached && p.bone_cover >= COVER)
                .collect()
        })
        .collect();
    // For every covered piece: how many consecutive slices below / above it hold a covered
    // piece overlapping the previous one (chains of at most two steps are enough).
    let reach = |k: usize, i: usize, up: bool| -> usize {
        let mut frontier: Vec<(usize, usize)> = vec![(k, i)];
        let mut steps = 0;
        for _ in 0..2 {
            let Some(next) = (if up {
                frontier[0].0.checked_add(1).filter(|&n| n < nk)
            } else {
                frontier[0].0.checked_sub(1)
            }) else {
                break;
            };
            let nf: Vec<(usize, usize)> = slices[next]
                .pieces
                .iter()
                .enumerate()
                .filter(|&(j, q)| {
                    covered[next][j]
                        && frontier
                            .iter()
                            .any(|&(fk, fi)| overlaps(&slices[fk].pieces[fi].pixels, &q.pixels))
                })
                .map(|(j, _)| (next, j))
                .collect();
            if nf.is_empty() {
                break;
            }
            steps += 1;
            frontier = nf;
        }
        steps
    };
    let mut edge: Vec<Vec<bool>> = covered.iter().map(|c| vec![false; c.len()]).collect();
    for k in 0..nk {
        for i in 0..slices[k].pieces.len() {
            if !covered[k][i] {
                continue;
            }
            let run = 1 + reach(k, i, false) + reach(k, i, true);
            edge[k][i] = run < 3 || run as f64 * slice_mm < min_run_mm;
        }
    }
    for (s, e) in slices.iter_mut().zip(&edge) {
        let mut it = e.iter();
        s.pieces.retain(|_| !it.next().copied().unwrap_or(false));
    }
}

/// The parts of a bone-holding component that lie clear of the cortex, each with the flag
/// "split off bone" (labelled on the component's bounding box: the same pieces, in the same
/// raster order, as on the whole crop).
fn split_off_bone(
    comp: &[(usize, usize)],
    near_bone: &Array2<bool>,
) -> Vec<(Vec<(usize, usize)>, bool)> {
    let win = Win::around(comp, [0, 0], near_bone.dim());
    let mut m = Array2::from_elem(win.dim(), false);
    for &(r, c) in comp {
        m[[r - win.r0, c - win.c0]] = !near_bone[[r, c]];
    }
    let (l, sz) = label4(&m);
    let mut out: Vec<(Vec<(usize, usize)>, bool)> = vec![(Vec::new(), true); sz.len()];
    for &(r, c) in comp {
        let k = l[[r - win.r0, c - win.c0]] as usize;
        if k > 0 {
            out[k].0.push((r, c));
        }
    }
    out.remove(0);
    out.retain(|p| !p.0.is_empty());
    out
}

/// Whether two pieces of adjacent slices touch in-plane (8-neighbourhood: oblique thin
/// structures such as root sleeves shift by a pixel between slices).
pub(crate) fn overlaps(a: &[(usize, usize)], b: &[(usize, usize)]) -> bool {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    small.iter().any(|&(r, c)| {
        (r.saturating_sub(1)..=r + 1).any(|rr| {
            (c.saturating_sub(1)..=c + 1).any(|cc| large.binary_search(&(rr, cc)).is_ok())
        })
    })
}

/// The edge pixels of a component (a 4-neighbour outside it, within the `(h, w)` image) and
/// how many of them touch `bone` there: `(edge, walled)`. Marrow is walled in by cortex;
/// fluid beside bone touches it on one side only.
pub(crate) fn walled_edges(
    comp: &[(usize, usize)],
    (h, w): (usize, usize),
    inside: impl Fn(usize, usize) -> bool,
    bone: impl Fn(usize, usize) -> bool,
) -> (usize, usize) {
    let (mut edge, mut walled) = (0usize, 0usize);
    for &(r, c) in comp {
        let nb = [
            (r.wrapping_sub(1), c),
            (r + 1, c),
            (r, c.wrapping_sub(1)),
            (r, c + 1),
        ];
        let mut outside = nb
            .into_iter()
            .filter(|&(y, x)| y < h && x < w && !inside(y, x))
            .peekable();
        if outside.peek().is_some() {
            edge += 1;
            walled += usize::from(outside.any(|(y, x)| bone(y, x)));
        }
    }
    (edge, walled)
}

fn find(p: &mut [usize], mut x: usize) -> usize {
    while p[x] != x {
        p[x] = p[p[x]];
        x = p[x];
    }
    x
}

/// Group pieces of adjacent slices that overlap in-plane (3D connectivity). Returns groups of
/// `(slice, piece index)`, in order of their first slice (deterministic).
pub(crate) fn group(slices: &[SliceSites]) -> Vec<Vec<(usize, usize)>> {
    let counts: Vec<usize> = slices.iter().map(|s| s.pieces.len()).collect();
    // Pieces one slice apart join too: at high contrast the middle slice's piece can merge
    // with bone and be dropped there.
    group_across_slices(&counts, 2, |(k, i), (kb, j)| {
        overlaps(&slices[k].pieces[i].pixels, &slices[kb].pieces[j].pixels)
    })
}

/// Union-find over the pieces of a stack (`counts[k]` pieces on slice `k`): piece `(k, i)`
/// joins piece `(k - back, j)`, `back` in `1..=max_back`, when `joined((k, i), (k - back, j))`.
/// Returns groups of `(slice, piece index)` in order of their first member (deterministic).
pub(crate) fn group_across_slices(
    counts: &[usize],
    max_back: usize,
    joined: impl Fn((usize, usize), (usize, usize)) -> bool,
) -> Vec<Vec<(usize, usize)>> {
    let ids: Vec<(usize, usize)> = counts
        .iter()
        .enumerate()
        .flat_map(|(k, &n)| (0..n).map(move |i| (k, i)))
        .collect();
    let index_of = |k: usize, i: usize| ids.binary_search(&(k, i)).unwrap_or(0);
    let mut parent: Vec<usize> = (0..ids.len()).collect();
    for k in 1..counts.len() {
        for back in 1..=max_back {
            let Some(kb) = k.checked_sub(back) else {
                continue;
            };
            for i in 0..counts[k] {
                for j in 0..counts[kb] {
                    if joined((k, i), (kb, j)) {
                        let (x, y) = (
                            find(&mut parent, index_of(k, i)),
                            find(&mut parent, index_of(kb, j)),
                        );
                        if x != y {
                            parent[x.max(y)] = x.min(y);
                        }
                    }
                }
            }
        }
    }
    let mut groups: Vec<(usize, Vec<(usize, usize)>)> = Vec::new();
    for (n, &id) in ids.iter().enumerate() {
        let root = find(&mut parent, n);
        if let Some(g) = groups.iter_mut().find(|g| g.0 == root) {
            g.1.push(id);
        } else {
            groups.push((root, vec![id]));
        }
    }
    groups.into_iter().map(|g| g.1).collect()
}

/// A rectangle of the crop: rows `r0..r0 + h`, columns `c0..c0 + w`.
#[derive(Debug, Clone, Copy)]
struct Win {
    r0: usize,
    c0: usize,
    h: usize,
    w: usize,
}

impl Win {
    /// The bounding box of `px` grown by `margin` (rows, columns), within `dim`.
    fn around(px: &[(usize, usize)], margin: [usize; 2], dim: (usize, usize)) -> Self {
        let (mut a, mut b) = ((usize::MAX, usize::MAX), (0usize, 0usize));
        for &(r, c) in px {
            a = (a.0.min(r), a.1.min(c));
            b = (b.0.max(r), b.1.max(c));
        }
        if px.is_empty() {
            return Self {
                r0: 0,
                c0: 0,
                h: dim.0,
                w: dim.1,
            };
        }
        let r0 = a.0.saturating_sub(margin[0]);
        let c0 = a.1.saturating_sub(margin[1]);
        let r1 = (b.0 + margin[0] + 1).min(dim.0);
        let c1 = (b.1 + margin[1] + 1).min(dim.1);
        Self {
            r0,
            c0,
            h: r1 - r0,
            w: c1 - c0,
        }
    }

    /// The smallest rectangle holding both.
    fn union(self, o: Self) -> Self {
        let (r0, c0) = (self.r0.min(o.r0), self.c0.min(o.c0));
        let r1 = (self.r0 + self.h).max(o.r0 + o.h);
        let c1 = (self.c0 + self.w).max(o.c0 + o.w);
        Self {
            r0,
            c0,
            h: r1 - r0,
            w: c1 - c0,
        }
    }

    const fn dim(self) -> (usize, usize) {
        (self.h, self.w)
    }

    /// `a` (of this window's size) at crop pixel `(y, x)`; unset outside the window.
    fn get(self, a: &Array2<bool>, y: usize, x: usize) -> bool {
        y >= self.r0
            && x >= self.c0
            && y - self.r0 < self.h
            && x - self.c0 < self.w
            && a[[y - self.r0, x - self.c0]]
    }

    /// `a` (of this window's size) placed in an unset array of size `dim`.
    fn paste(self, a: &Array2<bool>, dim: (usize, usize)) -> Array2<bool> {
        let mut out = Array2::from_elem(dim, false);
        for ((r, c), &on) in a.indexed_iter() {
            if on {
                out[[r + self.r0, c + self.c0]] = true;
            }
        }
        out
    }
}

/// The slice's masks [`encloses_tissue`] reads (crop-sized), and the window around the sac
/// that holds the sac and its ring with a background margin.
struct Enclosing<'a> {
    sac_open: &'a Array2<bool>,
    ring: &'a Array2<bool>,
    bright: &'a Array2<bool>,
    win: Win,
    core: &'a [(isize, isize)],
}

impl Enclosing<'_> {
    /// The sac with the bright part of its ring, on window `reg`.
    fn base(&self, reg: Win) -> Array2<bool> {
        Array2::from_shape_fn(reg.dim(), |(r, c)| {
            let (y, x) = (r + reg.r0, c + reg.c0);
            self.sac_open[[y, x]] || (self.ring[[y, x]] && self.bright[[y, x]])
        })
    }

    /// Hole pixels with the core disc around them inside the hole. Holes lie inside the
    /// mask's bounding box; on a window with a background margin around the mask they are
    /// the same as on the whole crop.
    fn thick_holes(&self, m: &Array2<bool>) -> usize {
        let filled = fill_holes(m);
        let holes = Array2::from_shape_fn(m.dim(), |(r, c)| filled[[r, c]] && !m[[r, c]]);
        erode(&holes, self.core).iter().filter(|&&b| b).count()
    }
}

/// Whether a piece in front of or behind the sac walls in soft tissue together with the sac:
/// a hole at least 1 mm thick (the `core` disc fits in it) in the union of the sac, the bright
/// ring around it and the piece, which the sac and its ring alone do not have (counted once
/// per slice in `base_holes`).
fn encloses_tissue(
    e: &Enclosing<'_>,
    base_holes: &mut Option<usize>,
    sac: &SacSlice,
    origin: (usize, usize),
    comp: &[(usize, usize)],
) -> bool {
    let n = comp.len().max(1) as f64;
    let (sr, sc) = comp
        .iter()
        .fold((0.0, 0.0), |a, &(r, c)| (a.0 + r as f64, a.1 + c as f64));
    let dr = sr / n + origin.0 as f64 - sac.centroid.0;
    let dc = sc / n + origin.1 as f64 - sac.centroid.1;
    if dc.abs() > dr.abs() {
        return false;
    }
    let dim = e.sac_open.dim();
    let base = *base_holes.get_or_insert_with(|| e.thick_holes(&e.base(e.win)));
    let reg = e.win.union(Win::around(comp, [1, 1], dim));
    let mut with = e.base(reg);
    for &(r, c) in comp {
        with[[r - reg.r0, c - reg.c0]] = true;
    }
    e.thick_holes(&with) > base
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(k: usize, cover: f64, attached: bool) -> Piece {
        Piece {
            k,
            pixels: vec![(10, 10), (10, 11), (11, 10), (11, 11)],
            attached,
            touch_max_hu: f32::NEG_INFINITY,
            reach_mm: 0.0,
            near_bone: false,
            bone_cover: cover,
            max_hu: 500.0,
            sum_hu: 2000.0,
        }
    }

    fn slices(pieces: &[Option<Piece>]) -> Vec<SliceSites> {
        pieces
            .iter()
            .map(|p| SliceSites {
                sac: Vec::new(),
                pieces: p.iter().cloned().collect(),
            })
            .collect()
    }

    #[test]
    fn bone_edges_span_at_most_two_slices() {
        // A bone-covered piece on two slices: the edge of a plate, dropped.
        let mut s = slices(&[
            None,
            Some(piece(1, 0.9, false)),
            Some(piece(2, 0.9, false)),
            None,
        ]);
        drop_bone_edges(&mut s, 2.5, 4.0);
        assert!(s.iter().all(|x| x.pieces.is_empty()));
        // The same over three slices: contrast lying against bone, kept.
        let mut s = slices(&[
            Some(piece(0, 0.9, false)),
            Some(piece(1, 0.9, false)),
            Some(piece(2, 0.9, false)),
        ]);
        drop_bone_edges(&mut s, 2.5, 4.0);
        assert_eq!(s.iter().map(|x| x.pieces.len()).sum::<usize>(), 3);
        // Clear of bone, or against the dura: kept.
        let mut s = slices(&[Some(piece(0, 0.3, false)), None, Some(piece(2, 0.9, true))]);
        drop_bone_edges(&mut s, 2.5, 4.0);
        assert_eq!(s.iter().map(|x| x.pieces.len()).sum::<usize>(), 2);
    }
}
