//! An intrathecal catheter (clinical.md §11: a pump's catheter entering the thecal sac) seen on
//! the CT: radio-opaque, a few HU hundred above soft tissue, about 1-2 mm thick and straight
//! over its extradural course from the skin to the dura. On axial slices its extradural part
//! is a chain of small isolated dense dots, one per slice, lying on a straight line.
//!
//! What is found serves two purposes: the catheter's own pixels are never extradural contrast,
//! and the dot of the chain that meets the sac marks the entry level (reported; used as the
//! catheter entry when the clinical context gives none).

use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

use csfleak_volume::{DVec3, Volume};

use super::morph::label_runs;
use super::sac::SacSlice;
use super::sites::SliceSites;

/// Method name of the catheter search.
pub const METHOD: &str = "ct_myelography.catheter/1";
/// Denser than any soft tissue or diluted extradural contrast pooled in a dot-sized volume,
/// HU (radio-opaque catheters read several hundred HU and more).
const DOT_HU: f32 = 350.0;
/// Largest dot cross-section at [`DOT_HU`], mm² (a 1-2 mm tube crossing the slice obliquely).
const MAX_DOT_MM2: f64 = 10.0;
/// The ring around a dot (this far out, mm) is mostly soft tissue: its median is below
/// [`RING_MEDIAN_HU`] and at most [`RING_DENSE_FRACTION`] of it reaches [`DOT_HU`] (bone
/// specks sit in marrow or against cortex, contrast pools are larger; a catheter passes
/// between spinous processes).
const RING_MM: f64 = 2.5;
const RING_MEDIAN_HU: f32 = 150.0;
const RING_DENSE_FRACTION: f64 = 0.15;
/// Search radius around the sac centre, mm (the extradural course from the skin).
const REACH_MM: f64 = 60.0;
/// Largest in-plane step between the dots of adjacent slices per mm of slice spacing (a tube
/// at up to ~70 degrees from the stack axis).
const MAX_SLOPE: f64 = 2.8;
/// Straightness: largest distance of a dot from the fitted line, mm.
const MAX_OFF_LINE_MM: f64 = 1.5;
/// Shortest chain: dots and length along the line, mm.
const MIN_DOTS: usize = 4;
const MIN_LENGTH_MM: f64 = 12.0;
/// The line is followed this far beyond the chain's end toward the sac to find the entry, mm.
const EXTRAPOLATE_MM: f64 = 25.0;
/// The chain's far end lies at least this much farther from the sac than its near end, mm.
const MIN_APPROACH_MM: f64 = 10.0;

/// A catheter seen on the CT.
#[derive(Debug, Clone, PartialEq)]
pub struct Catheter {
    /// Patient z (LPS, mm) where its extradural course meets the sac (`None` when the chain
    /// ends away from the sac: the entry was not seen).
    pub entry_z_mm: Option<f64>,
    /// Slice of the entry (or of the chain end nearest the sac).
    pub entry_slice: usize,
    /// Length of the extradural course seen, mm.
    pub length_mm: f64,
    /// Dots `(slice, row, col)` of the chain.
    pub(crate) dots: Vec<(usize, Vec<(usize, usize)>)>,
}

impl Catheter {
    /// Whether pixel `(r, c)` of slice `k` lies within `margin` pixels (Chebyshev) of a dot
    /// of the catheter on that slice.
    pub(crate) fn near(&self, k: usize, r: usize, c: usize, margin: usize) -> bool {
        self.dots.iter().filter(|d| d.0 == k).any(|d| {
            d.1.iter()
                .any(|&(y, x)| y.abs_diff(r) <= margin && x.abs_diff(c) <= margin)
        })
    }
}

/// A dot on one slice: pixels, centroid (world), distance to the sac (mm).
#[derive(Debug, Clone)]
struct Dot {
    pixels: Vec<(usize, usize)>,
    world: DVec3,
    sac_mm: f64,
}

fn slice_dots(
    ct: &Volume,
    k: usize,
    img: &ArrayView2<'_, f32>,
    sac: &SacSlice,
    site: &SliceSites,
    px: [f64; 2],
) -> Vec<Dot> {
    let (nr, nc) = img.dim();
    let g = ct.geometry();
    let half = [REACH_MM / px[0], REACH_MM / px[1]];
    let r0 = (sac.centroid.0 - half[0]).max(0.0) as usize;
    let c0 = (sac.centroid.1 - half[1]).max(0.0) as usize;
    let r1 = ((sac.centroid.0 + half[0]).ceil() as usize).min(nr.saturating_sub(1));
    let c1 = ((sac.centroid.1 + half[1]).ceil() as usize).min(nc.saturating_sub(1));
    if r1 <= r0 || c1 <= c0 {
        return Vec::new();
    }
    let (h, w) = (r1 - r0 + 1, c1 - c0 + 1);
    let mut mask = vec![false; h * w];
    for r in 0..h {
        for c in 0..w {
            mask[r * w + c] = img[[r + r0, c + c0]] > DOT_HU;
        }
    }
    let Some((runs, sizes)) = label_runs(&mask, h, w) else {
        return Vec::new();
    };
    let max_px = (MAX_DOT_MM2 / (px[0] * px[1])).ceil() as usize;
    let mut comps: Vec<Vec<(usize, usize)>> = vec![Vec::new(); sizes.len()];
    for &(r, s, e, l) in &runs {
        if sizes[l as usize] <= max_px {
            comps[l as usize].extend((s..e).map(|c| (r + r0, c + c0)));
        }
    }
    let ring = [
        (RING_MM / px[0]).ceil() as usize,
        (RING_MM / px[1]).ceil() as usize,
    ];
    let mut out = Vec::new();
    for comp in comps.into_iter().filter(|c| !c.is_empty()) {
        // Not in the sac.
        if comp.iter().any(|p| site.sac.binary_search(p).is_ok()) {
            continue;
        }
        let (mut a, mut b) = ((usize::MAX, usize::MAX), (0, 0));
        for &(r, c) in &comp {
            a = (a.0.min(r), a.1.min(c));
            b = (b.0.max(r), b.1.max(c));
        }
        let (ra, rb) = (a.0.saturating_sub(ring[0]), (b.0 + ring[0]).min(nr - 1));
        let (ca, cb) = (a.1.saturating_sub(ring[1]), (b.1 + ring[1]).min(nc - 1));
        let mut vals = Vec::new();
        let mut dense = 0usize;
        for r in ra..=rb {
            for c in ca..=cb {
                if comp.binary_search(&(r, c)).is_ok() {
                    continue;
                }
                let v = img[[r, c]];
                // One pixel around the dot is its partial volume; beyond, soft tissue only.
                let touching = comp
                    .iter()
                    .any(|&(y, x)| y.abs_diff(r) <= 1 && x.abs_diff(c) <= 1);
                if !touching {
                    dense += usize::from(v > DOT_HU);
                    vals.push(v);
                }
            }
        }
        if vals.is_empty() || dense as f64 > RING_DENSE_FRACTION * vals.len() as f64 {
            continue;
        }
        let mid = vals.len() / 2;
        let (_, med, _) = vals.select_nth_unstable_by(mid, f32::total_cmp);
        if *med >= RING_MEDIAN_HU {
            continue;
        }
        let n = comp.len() as f64;
        let (sr, sc) = comp
            .iter()
            .fold((0.0, 0.0), |s, &(r, c)| (s.0 + r as f64, s.1 + c as f64));
        let world = g
            .world_from_voxel_point(DVec3::new(sc / n, sr / n, k as f64))
            .to_dvec3();
        let sac_mm = comp
            .iter()
            .flat_map(|&(r, c)| {
                site.sac.iter().map(move |&(y, x)| {
                    ((y as f64 - r as f64) * px[0]).hypot((x as f64 - c as f64) * px[1])
                })
            })
            .fold(f64::INFINITY, f64::min);
        out.push(Dot {
            pixels: comp,
            world,
            sac_mm,
        });
    }
    out
}

/// Distance of `p` from the line through `c` along unit `d`.
fn off_line(p: DVec3, c: DVec3, d: DVec3) -> f64 {
    let v = p - c;
    (v - d * v.dot(d)).length()
}

/// Principal direction of points (power iteration on the scatter matrix).
fn principal(points: &[DVec3]) -> (DVec3, DVec3) {
    let n = points.len().max(1) as f64;
    let c = points.iter().copied().fold(DVec3::ZERO, |a, p| a + p) / n;
    let mut d = (points.last().copied().unwrap_or(c) - points.first().copied().unwrap_or(c))
        .normalize_or(DVec3::Z);
    for _ in 0..20 {
        let next = points
            .iter()
            .fold(DVec3::ZERO, |a, p| a + (*p - c) * (*p - c).dot(d));
        d = next.normalize_or(d);
    }
    (c, d)
}

/// The catheter's extradural course, when a straight chain of dots is seen.
pub(crate) fn find_catheter(
    ct: &Volume,
    sacs: &[Option<SacSlice>],
    slices: &[SliceSites],
) -> Option<Catheter> {
    let [sx, sy, sz] = ct.geometry().spacing_mm();
    let px = [sy, sx];
    let data = ct.data();
    let dots: Vec<Vec<Dot>> = sacs
        .par_iter()
        .zip(slices.par_iter())
        .enumerate()
        .map(|(k, (sac, site))| {
            sac.as_ref().map_or_else(Vec::new, |s| {
                slice_dots(ct, k, &data.index_axis(Axis(0), k), s, site, px)
            })
        })
        .collect();
    // Chains: each dot continues the chain whose last dot (up to three slices back) is nearest
    // within the step allowed.
    let mut chains: Vec<Vec<(usize, usize)>> = Vec::new();
    for (k, ds) in dots.iter().enumerate() {
        for (i, d) in ds.iter().enumerate() {
            let best = chains
                .iter()
                .enumerate()
                .filter_map(|(ci, ch)| {
                    let &(lk, li) = ch.last()?;
                    let gap = k.checked_sub(lk).filter(|&g| (1..=3).contains(&g))?;
                    let last = &dots[lk][li];
                    let step = (d.world - last.world).truncate().length();
                    (step <= MAX_SLOPE * sz * gap as f64 + 1.0).then_some((ci, step))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
            match best {
                Some((ci, _)) => chains[ci].push((k, i)),
                None => chains.push(vec![(k, i)]),
            }
        }
    }
    let g = ct.geometry();
    // Where the line meets the sac: the slice nearest the chain's sac end at which the line
    // passes within the sac's equivalent radius (+ 2 mm) of its centre (the dots next to the
    // dura can merge with the sac's partial-volume rim).
    let entry_on_line = |c: DVec3, d: DVec3, t_near: f64, t_far: f64| -> Option<(usize, f64)> {
        if d.z.abs() < 0.2 {
            return None;
        }
        let toward = (t_near - t_far).signum();
        sacs.iter()
            .enumerate()
            .filter_map(|(k, sac)| {
                let sac = sac.as_ref()?;
                let sc = g
                    .world_from_voxel_point(DVec3::new(sac.centroid.1, sac.centroid.0, k as f64))
                    .to_dvec3();
                let t = (sc.z - c.z) / d.z;
                let beyond = (t - t_near) * toward;
                if !(-MIN_LENGTH_MM..=EXTRAPOLATE_MM).contains(&beyond) {
                    return None;
                }
                let p = c + d * t;
                let radius = (slices[k].sac.len() as f64 * sx * sy / std::f64::consts::PI).sqrt();
                ((p - sc).truncate().length() <= radius + 2.0).then_some((k, beyond.abs(), p.z))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(k, _, z)| (k, z))
    };
    chains
        .into_iter()
        .filter(|ch| ch.len() >= MIN_DOTS)
        .filter_map(|ch| {
            let pts: Vec<DVec3> = ch.iter().map(|&(k, i)| dots[k][i].world).collect();
            let (c, d) = principal(&pts);
            let straight = pts.iter().all(|&p| off_line(p, c, d) <= MAX_OFF_LINE_MM);
            let ts: Vec<f64> = pts.iter().map(|&p| (p - c).dot(d)).collect();
            let length = ts.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                - ts.iter().copied().fold(f64::INFINITY, f64::min);
            // From the skin to the dura: one end toward the sac, the other well away from it
            // (a chain at a constant distance, such as the tips of the spinous processes, is
            // anatomy).
            let by_sac = |i: usize| dots[ch[i].0][ch[i].1].sac_mm;
            let near_i = (0..ch.len()).min_by(|&a, &b| by_sac(a).total_cmp(&by_sac(b)))?;
            let far_i = (0..ch.len()).max_by(|&a, &b| by_sac(a).total_cmp(&by_sac(b)))?;
            if !straight
                || length < MIN_LENGTH_MM
                || by_sac(far_i) < by_sac(near_i) + MIN_APPROACH_MM
            {
                return None;
            }
            let entry = entry_on_line(c, d, ts[near_i], ts[far_i]);
            let near_k = ch[near_i].0;
            Some((ch, length, entry, near_k))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(ch, length_mm, entry, near_k)| Catheter {
            entry_z_mm: entry.map(|e| e.1),
            entry_slice: entry.map_or(near_k, |e| e.0),
            length_mm,
            dots: ch
                .iter()
                .map(|&(k, i)| (k, dots[k][i].pixels.clone()))
                .collect(),
        })
}
