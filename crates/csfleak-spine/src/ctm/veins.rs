//! Hyperdense paraspinal veins (research flag; clinical.md §8 "hyperdense paraspinal vein
//! sign", §11 `CVF_VEIN_HU`): a CSF-venous fistula drains intrathecal contrast into the
//! foraminal and paraspinal veins, which then read above 70 HU on the myelogram (unenhanced
//! veins and muscle stay near 40-60 HU).
//!
//! A paraspinal vein is a thin tube of soft-tissue-to-contrast density outside the canal,
//! beside the vertebra (foramen, along the transverse process, in the paraspinal muscle):
//! * outside the canal (beyond the sac's equivalent radius plus the epidural space), beside
//!   the spine (not in the midline band) and not in front of the vertebral body (the body,
//!   the aorta and the cava lie there);
//! * clear of bone: cortex is far denser than any vein and its partial-volume rim is removed
//!   with a margin; what is left of a bone (marrow) is walled in by cortex on most of its
//!   outline, a vein touches bone on one side at most;
//! * thin (no pixel farther than [`MAX_RADIUS_MM`] from its outline) and small per slice;
//! * a tube: its pieces on adjacent slices join into a segment at least [`MIN_LENGTH_MM`]
//!   long (noise specks do not continue);
//! * not the sac's own contrast: a piece reaching the canal with contrast as dense as the
//!   sac's is a root sleeve or leaking contrast (judged as extradural contrast);
//! * not the continuation of an extradural contrast site: contrast leaving through a dural
//!   defect or a root sleeve runs on through the foramen into the paraspinal tissue and looks
//!   like a vein there (a segment on the site's side, or either side of a midline site, whose
//!   extent along the stack comes within [`SITE_MARGIN_MM`] of the site's is that leak).
//!
//! Densities are smoothed over about 2 mm before the threshold (noise of the muscle).

use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

use csfleak_findings::Side;
use csfleak_volume::{DVec3, Volume};

use super::morph::{BitDilation, dilate, erode, label_runs};
use super::sac::SacSlice;
use super::sites::{SliceSites, disc_offsets};

/// Method name of the veins flag.
pub const METHOD: &str = "ct_myelography.paraspinal_veins/1";
/// Hyperdense vein threshold, HU (Kranz et al., AJR 2018: 70 HU separated fistula veins from
/// control veins in that series; research use only).
pub const VEIN_HU: f64 = 70.0;
/// Pixels are chosen above [`VEIN_HU`] after smoothing, which biases a segment's mean up by
/// the noise: a segment counts when its mean exceeds the threshold by this margin, HU.
const SELECTION_MARGIN_HU: f64 = 10.0;
/// Cortical bone: denser than this (HU) is never a vein's contrast.
const CORTEX_HU: f32 = 450.0;
/// Bone rim removed around cortex, mm.
const BONE_MARGIN_MM: f64 = 1.5;
/// Search radius around the sac centre, mm (foramina and the paraspinal muscles).
const REACH_MM: f64 = 40.0;
/// The canal: the sac's equivalent radius plus this much epidural space, mm.
const EPIDURAL_MM: f64 = 3.0;
/// Pieces centred farther in front of the sac centre than this (mm) are vertebral body or
/// prevertebral (aorta, cava).
const ANTERIOR_MM: f64 = 20.0;
/// Pieces centred within this distance of the midline (mm, patient x) are spinous
/// processes, interspinous ligaments or the dorsal epidural fat: paraspinal veins run beside
/// the spine.
const MIDLINE_MM: f64 = 8.0;
/// Thickest vein (largest inscribed radius), mm.
const MAX_RADIUS_MM: f64 = 3.0;
/// Largest cross-section of one piece, mm².
const MAX_PIECE_MM2: f64 = 150.0;
/// Smallest cross-section of one piece, mm².
const MIN_PIECE_MM2: f64 = 2.0;
/// Shortest segment (extent of its 3D bounding box), mm.
const MIN_LENGTH_MM: f64 = 8.0;
/// A segment reaches at least this far beyond the canal (mm): the tips of contrast-filled
/// root sleeves end in the foramen, paraspinal veins run on into the muscle.
const MIN_REACH_MM: f64 = 12.0;
/// Smallest segment volume, mm³.
const MIN_VOLUME_MM3: f64 = 15.0;
/// A piece whose outline lies against bone on more than this fraction is marrow.
const WALLED_FRACTION: f64 = 0.6;
/// Vein segments this close (mm, along z) to an extradural contrast site on its side are the
/// leak's own contrast.
const SITE_MARGIN_MM: f64 = 10.0;
/// Lateral half-width of the image needed around the sac centre, mm (else not assessable).
const NEEDED_MM: f64 = 30.0;

/// One hyperdense vein segment.
#[derive(Debug, Clone, PartialEq)]
pub struct VeinSegment {
    /// Patient z (LPS, mm) of the segment centre.
    pub z_mm: f64,
    /// Side (patient), from the segment centre relative to the sac centre.
    pub side: Side,
    /// Mean HU of its pixels.
    pub mean_hu: f64,
    /// Extent (3D bounding box diagonal), mm.
    pub length_mm: f64,
    /// Volume, mm³.
    pub volume_mm3: f64,
    /// Slice with the largest piece.
    pub key_slice: usize,
}

/// The veins flag of a study.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Veins {
    /// Hyperdense paraspinal veins seen; `None` when the stack does not allow the question.
    pub hyperdense: Option<bool>,
    /// Segments above [`VEIN_HU`] (densest first).
    pub segments: Vec<VeinSegment>,
    /// Why not assessable.
    pub reason: Option<String>,
    /// Voxels `(slice, row, col)` of the segments, sorted.
    pub(crate) voxels: Vec<(usize, usize, usize)>,
}

impl Veins {
    /// Whether voxel `(k, r, c)` lies on a hyperdense vein segment.
    #[must_use]
    pub fn contains(&self, k: usize, r: usize, c: usize) -> bool {
        self.voxels.binary_search(&(k, r, c)).is_ok()
    }

    /// Not assessable, with the reason.
    pub(crate) fn not_assessable(reason: &str) -> Self {
        Self {
            hyperdense: None,
            segments: Vec::new(),
            reason: Some(reason.to_owned()),
            voxels: Vec::new(),
        }
    }
}

/// One vein piece on one slice.
#[derive(Debug, Clone)]
struct VeinPiece {
    /// Sorted pixels `(row, col)` of the whole image.
    pixels: Vec<(usize, usize)>,
    sum_hu: f64,
    /// Farthest pixel beyond the canal, mm.
    reach_mm: f64,
}

/// What one slice gives.
#[derive(Debug, Clone, Default)]
struct SliceVeins {
    /// The image reaches [`NEEDED_MM`] on both sides of the sac.
    covered: bool,
    pieces: Vec<VeinPiece>,
}

/// In-plane geometry of the stack: world offset (mm) of one row / one column step.
#[derive(Debug, Clone, Copy)]
struct Plane {
    row: DVec3,
    col: DVec3,
    px: [f64; 2],
}

impl Plane {
    fn offset(self, dr: f64, dc: f64) -> DVec3 {
        self.row * dr + self.col * dc
    }
}

/// Per pixel of `img` (row-major `nr` x `nc`), whether the box mean over `(2 h + 1)²` pixels
/// (clipped at the border) exceeds `thr`; `row(r, dense)` receives each row. Column sums over
/// the box's rows, then differences of their running sums along the row. Integer HU (the
/// usual CT) are summed as integers, where `sum > thr · n` is exactly `mean > thr`; otherwise
/// in `f64`, the mean divided out only within a rounding margin of the threshold.
fn box_mean_rows(
    img: &[f32],
    (nr, nc): (usize, usize),
    h: usize,
    thr: f32,
    mut row: impl FnMut(usize, &[bool]),
) {
    let small = |v: f32| v.abs() <= 65_536.0 && (v as i32) as f32 == v;
    let mut dense = vec![false; nc];
    let mut integral = small(thr);
    let ints: Vec<i64> = img
        .iter()
        .map(|&v| {
            integral &= small(v);
            i64::from(v as i32)
        })
        .collect();
    if integral {
        let vals = ints;
        let t = i64::from(thr as i32);
        box_rows(&vals, (nr, nc), h, |r, run: &[i64], rows| {
            for (c, d) in dense.iter_mut().enumerate() {
                let (c0, c1) = (c.saturating_sub(h), (c + h + 1).min(nc));
                *d = run[c1] - run[c0] > t * rows * (c1 - c0) as i64;
            }
            row(r, &dense);
        });
    } else {
        let vals: Vec<f64> = img.iter().map(|&v| f64::from(v)).collect();
        let t = f64::from(thr);
        box_rows(&vals, (nr, nc), h, |r, run: &[f64], rows| {
            for (c, d) in dense.iter_mut().enumerate() {
                let (c0, c1) = (c.saturating_sub(h), (c + h + 1).min(nc));
                let (s, n) = (run[c1] - run[c0], (rows * (c1 - c0) as i64) as f64);
                *d = if s > (t + 1e-3) * n {
                    true
                } else if s < (t - 1e-3) * n {
                    false
                } else {
                    (s / n) as f32 > thr
                };
            }
            row(r, &dense);
        });
    }
}

/// Per row `r`: the running sums along the row of the column sums over rows `r - h ..= r + h`
/// (clipped), and the number of rows summed.
fn box_rows<T>(
    vals: &[T],
    (nr, nc): (usize, usize),
    h: usize,
    mut row: impl FnMut(usize, &[T], i64),
) where
    T: Copy + Default + std::ops::Add<Output = T> + std::ops::Sub<Output = T>,
{
    let mut col = vec![T::default(); nc];
    let mut run = vec![T::default(); nc + 1];
    for r in 0..nr {
        let (r0, r1) = (r.saturating_sub(h), (r + h + 1).min(nr));
        col.fill(T::default());
        for y in r0..r1 {
            for (s, &v) in col.iter_mut().zip(&vals[y * nc..(y + 1) * nc]) {
                *s = *s + v;
            }
        }
        for c in 0..nc {
            run[c + 1] = run[c] + col[c];
        }
        row(r, &run, (r1 - r0) as i64);
    }
}

/// Vein pieces of one slice.
fn slice_veins(
    img: &ArrayView2<'_, f32>,
    sac: &SacSlice,
    site: &SliceSites,
    plane: Plane,
    sac_dense: f32,
) -> SliceVeins {
    let (nr, nc) = img.dim();
    let px = plane.px;
    let half = [REACH_MM / px[0] + 2.0, REACH_MM / px[1] + 2.0];
    let (cr, cc) = sac.centroid;
    // The image must reach the paraspinal region on both sides (columns and rows may be
    // either patient axis: ask in world terms).
    let lateral_reach = |sign: f64| {
        // The image axis closest to the patient x axis, stepped NEEDED_MM that way.
        let (d, e) = (plane.offset(1.0, 0.0).x, plane.offset(0.0, 1.0).x);
        let (dr, dc) = if d.abs() > e.abs() {
            (sign * d.signum() * NEEDED_MM / px[0], 0.0)
        } else {
            (0.0, sign * e.signum() * NEEDED_MM / px[1])
        };
        let (r, c) = (cr + dr, cc + dc);
        r >= 0.0 && c >= 0.0 && r < nr as f64 && c < nc as f64
    };
    let covered = lateral_reach(1.0) && lateral_reach(-1.0);
    let r0 = (cr - half[0]).max(0.0) as usize;
    let c0 = (cc - half[1]).max(0.0) as usize;
    let r1 = ((cr + half[0]).ceil() as usize).min(nr.saturating_sub(1));
    let c1 = ((cc + half[1]).ceil() as usize).min(nc.saturating_sub(1));
    if r1 <= r0 || c1 <= c0 {
        return SliceVeins::default();
    }
    let win = img.slice(ndarray::s![r0..=r1, c0..=c1]);
    let (h, w) = win.dim();
    let flat: Vec<f32> = win
        .rows()
        .into_iter()
        .flat_map(|row| row.into_iter().copied())
        .collect();
    // Within the bone margin of cortex (the dilation of the cortex by a disc).
    let bone_offs = disc_offsets([BONE_MARGIN_MM / px[0], BONE_MARGIN_MM / px[1]]);
    let bone_bits = BitDilation::new(h, w, &bone_offs, |i| flat[i] > CORTEX_HU);
    let bone_mask = if bone_bits.is_some() {
        None
    } else {
        let cortex = Array2::from_shape_fn((h, w), |(r, c)| flat[r * w + c] > CORTEX_HU);
        Some(dilate(&cortex, &bone_offs))
    };
    let near_bone = |r: usize, c: usize| match (&bone_bits, &bone_mask) {
        (Some(b), _) => b.get(r, c),
        (None, Some(m)) => m[[r, c]],
        (None, None) => false,
    };
    let sac_n = site.sac.len().max(sac.pixels.len()) as f64;
    let canal_mm = (sac_n * px[0] * px[1] / std::f64::consts::PI).sqrt() + EPIDURAL_MM;
    let dist_mm = |r: usize, c: usize| {
        plane
            .offset(
                (r + r0) as f64 - sac.centroid.0,
                (c + c0) as f64 - sac.centroid.1,
            )
            .length()
    };
    // Beyond the canal: squared distances decide away from its edge (the square root only
    // within a rounding margin of it).
    let (in2, out2) = ((canal_mm - 1e-6).powi(2), (canal_mm + 1e-6).powi(2));
    let smooth_half = ((1.0 / px[0].max(px[1])).round() as usize).max(1);
    let mut mask = vec![false; h * w];
    box_mean_rows(&flat, (h, w), smooth_half, VEIN_HU as f32, |r, dense| {
        let along = plane.row * ((r + r0) as f64 - sac.centroid.0);
        for (c, (m, &d)) in mask[r * w..(r + 1) * w].iter_mut().zip(dense).enumerate() {
            if !d {
                continue;
            }
            let d2 = (along + plane.col * ((c + c0) as f64 - sac.centroid.1)).length_squared();
            let beyond = if d2 > out2 {
                true
            } else if d2 < in2 {
                false
            } else {
                dist_mm(r, c) > canal_mm
            };
            *m = beyond && !near_bone(r, c);
        }
    });
    let Some((runs, sizes)) = label_runs(&mask, h, w) else {
        return SliceVeins {
            covered,
            pieces: Vec::new(),
        };
    };
    let pix_mm2 = px[0] * px[1];
    let mut comps: Vec<Vec<(usize, usize)>> = vec![Vec::new(); sizes.len()];
    for &(r, s, e, l) in &runs {
        let a = sizes[l as usize] as f64 * pix_mm2;
        if (MIN_PIECE_MM2..=MAX_PIECE_MM2).contains(&a) {
            comps[l as usize].extend((s..e).map(|c| (r, c)));
        }
    }
    let thick = disc_offsets([MAX_RADIUS_MM / px[0], MAX_RADIUS_MM / px[1]]);
    let margin = thick
        .iter()
        .map(|&(a, b)| a.unsigned_abs().max(b.unsigned_abs()))
        .max()
        .unwrap_or(0)
        + 1;
    let mut pieces = Vec::new();
    for comp in comps.into_iter().filter(|c| !c.is_empty()) {
        let n = comp.len() as f64;
        let (sr, sc) = comp
            .iter()
            .fold((0.0, 0.0), |a, &(r, c)| (a.0 + r as f64, a.1 + c as f64));
        let centre = plane.offset(
            sr / n + r0 as f64 - sac.centroid.0,
            sc / n + c0 as f64 - sac.centroid.1,
        );
        // Within reach, not at the crop border, not in front of the vertebral body, beside
        // the spine (the midline holds spinous processes and ligaments, no paraspinal vein).
        if -centre.y > ANTERIOR_MM
            || centre.x.abs() < MIDLINE_MM
            || comp.iter().any(|&(r, c)| {
                dist_mm(r, c) > REACH_MM || r == 0 || c == 0 || r + 1 == h || c + 1 == w
            })
        {
            continue;
        }
        // Thin: nothing left after eroding by the thickest vein's radius.
        let (mut a, mut b) = ((usize::MAX, usize::MAX), (0, 0));
        for &(r, c) in &comp {
            a = (a.0.min(r), a.1.min(c));
            b = (b.0.max(r), b.1.max(c));
        }
        let (lr, lc) = (a.0.saturating_sub(margin), a.1.saturating_sub(margin));
        let mut local = Array2::from_elem((b.0 + margin + 1 - lr, b.1 + margin + 1 - lc), false);
        for &(r, c) in &comp {
            local[[r - lr, c - lc]] = true;
        }
        if erode(&local, &thick).iter().any(|&x| x) {
            continue;
        }
        // Marrow is walled in by cortex; a vein touches bone on one side at most.
        let in_comp = |y: usize, x: usize| {
            y >= lr
                && x >= lc
                && y - lr < local.dim().0
                && x - lc < local.dim().1
                && local[[y - lr, x - lc]]
        };
        let (edge, walled) = super::sites::walled_edges(&comp, (h, w), in_comp, near_bone);
        if walled as f64 > WALLED_FRACTION * edge.max(1) as f64 {
            continue;
        }
        // The sac's own contrast reaching out (a root sleeve, leaking contrast).
        let reaches_canal = comp
            .iter()
            .any(|&(r, c)| dist_mm(r, c) <= canal_mm + px[0].max(px[1]) * 1.5);
        let max_raw = comp
            .iter()
            .map(|&(r, c)| win[[r, c]])
            .fold(f32::NEG_INFINITY, f32::max);
        if reaches_canal && max_raw >= sac_dense {
            continue;
        }
        let sum_hu = comp.iter().map(|&(r, c)| f64::from(win[[r, c]])).sum();
        let reach_mm = comp
            .iter()
            .map(|&(r, c)| dist_mm(r, c) - canal_mm)
            .fold(0.0, f64::max);
        let mut pixels: Vec<(usize, usize)> = comp.iter().map(|&(r, c)| (r + r0, c + c0)).collect();
        pixels.sort_unstable();
        pieces.push(VeinPiece {
            pixels,
            sum_hu,
            reach_mm,
        });
    }
    SliceVeins { covered, pieces }
}

/// The veins flag of a study: vein pieces on every slice with a sac, joined across adjacent
/// slices (in-plane overlap) into segments.
pub(crate) fn find_veins(
    ct: &Volume,
    sacs: &[Option<SacSlice>],
    slices: &[SliceSites],
    sac_dense: f32,
    sites: &[((f64, f64), Side)],
) -> Veins {
    let g = ct.geometry();
    let [sx, sy, sz] = g.spacing_mm();
    let origin = g.world_from_voxel_point(DVec3::ZERO).to_dvec3();
    let plane = Plane {
        row: g
            .world_from_voxel_point(DVec3::new(0.0, 1.0, 0.0))
            .to_dvec3()
            - origin,
        col: g
            .world_from_voxel_point(DVec3::new(1.0, 0.0, 0.0))
            .to_dvec3()
            - origin,
        px: [sy, sx],
    };
    let data = ct.data();
    let per_slice: Vec<SliceVeins> = sacs
        .par_iter()
        .zip(slices.par_iter())
        .enumerate()
        .map(|(k, (sac, site))| {
            sac.as_ref().map_or_else(SliceVeins::default, |s| {
                slice_veins(&data.index_axis(Axis(0), k), s, site, plane, sac_dense)
            })
        })
        .collect();
    let with_sac = sacs.iter().filter(|s| s.is_some()).count();
    let covered = per_slice.iter().filter(|s| s.covered).count();
    if with_sac == 0 || 2 * covered < with_sac {
        return Veins::not_assessable(&format!(
            "the field of view does not reach {NEEDED_MM:.0} mm on both sides of the canal \
             (paraspinal veins not imaged)"
        ));
    }
    // Join pieces of adjacent slices.
    let counts: Vec<usize> = per_slice.iter().map(|s| s.pieces.len()).collect();
    let groups = super::sites::group_across_slices(&counts, 1, |(k, i), (kb, j)| {
        super::sites::overlaps(
            &per_slice[k].pieces[i].pixels,
            &per_slice[kb].pieces[j].pixels,
        )
    });
    let pix_mm3 = sx * sy * sz;
    let mut voxels: Vec<(usize, usize, usize)> = Vec::new();
    let mut segments: Vec<VeinSegment> = groups
        .into_iter()
        .filter_map(|members| {
            let (mut lo, mut hi) = (DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY));
            let (mut n, mut sum, mut centre, mut sac_centre) = (0.0, 0.0, DVec3::ZERO, DVec3::ZERO);
            let (mut key, mut best) = (0usize, 0usize);
            let mut reach = 0.0f64;
            for &(k, i) in &members {
                let p = &per_slice[k].pieces[i];
                let sc = sacs[k].as_ref().map_or(DVec3::ZERO, |s| {
                    g.world_from_voxel_point(DVec3::new(s.centroid.1, s.centroid.0, k as f64))
                        .to_dvec3()
                });
                for &(r, c) in &p.pixels {
                    let w = g
                        .world_from_voxel_point(DVec3::new(c as f64, r as f64, k as f64))
                        .to_dvec3();
                    lo = lo.min(w);
                    hi = hi.max(w);
                    centre += w;
                    sac_centre += sc;
                }
                n += p.pixels.len() as f64;
                sum += p.sum_hu;
                reach = reach.max(p.reach_mm);
                if p.pixels.len() > best {
                    best = p.pixels.len();
                    key = k;
                }
            }
            // The bounding box spans pixel centres: add one voxel along each axis.
            let extent = hi - lo + DVec3::new(sx, sy, sz).abs();
            let length_mm = extent.length();
            let volume_mm3 = n * pix_mm3;
            let mean_hu = sum / n.max(1.0);
            let centre = centre / n;
            let dx = centre.x - sac_centre.x / n;
            let side = super::side_of_offset(dx);
            let by_site = sites.iter().any(|&((z0, z1), s)| {
                lo.z <= z1 + SITE_MARGIN_MM
                    && hi.z >= z0 - SITE_MARGIN_MM
                    && (s == side || s == Side::Midline || side == Side::Midline)
            });
            if by_site
                || length_mm < MIN_LENGTH_MM
                || reach < MIN_REACH_MM
                || volume_mm3 < MIN_VOLUME_MM3
                || mean_hu <= VEIN_HU + SELECTION_MARGIN_HU
            {
                return None;
            }
            for &(k, i) in &members {
                voxels.extend(
                    per_slice[k].pieces[i]
                        .pixels
                        .iter()
                        .map(|&(r, c)| (k, r, c)),
                );
            }
            Some(VeinSegment {
                z_mm: centre.z,
                side,
                mean_hu,
                length_mm,
                volume_mm3,
                key_slice: key,
            })
        })
        .collect();
    segments.sort_by(|a, b| b.mean_hu.total_cmp(&a.mean_hu));
    voxels.sort_unstable();
    Veins {
        hyperdense: Some(!segments.is_empty()),
        segments,
        reason: None,
        voxels,
    }
}
