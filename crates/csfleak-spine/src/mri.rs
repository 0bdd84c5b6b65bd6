//! Extradural fluid on an axial fat-suppressed T2 stack (MHLW 2011 section A).
//!
//! Candidates are bright pixels outside the sac, within `max_reach_mm` of it, in slice
//! components that come within `max_gap_mm` of the sac. Candidate components of neighbouring
//! slices that overlap join into 3D lesions. Each lesion is then a collection, or a mimic:
//! venous plexus (signal not water-like, or enhancing on the contrast T1), Tarlov cyst or
//! dilated root sleeve (short and lateral; split by size).

use csfleak_findings::{
    CollectionLevel, EpiduralCollection, EpiduralFluid, Evidence, ExcludedMimic, FluidPosition,
    Level, MimicKind, Ml, Mm, Provenance, Side, Spine, Status,
};
use csfleak_volume::{DVec3, PointLps, Volume};
use ndarray::Array2;
use rayon::prelude::*;

use crate::canal::{CanalModel, build_canal, slice_image};
use crate::image2d::{boundary, label4};
use crate::levels::LevelScale;
use crate::{Result, SpineOptions};

mod sagittal;

/// Method name written into provenance.
pub const METHOD: &str = "spine.epidural_fluid/1";

/// Smallest mimic listed in the findings (mL); smaller bright specks are dropped silently.
const MIN_MIMIC_ML: f64 = 0.2;
/// A collection's mean width (mean cross-section over its thickness) is at least this many
/// times its thickness.
const MIN_WIDTH_RATIO: f64 = 1.5;
/// An engorged venous plexus is listed when it spans at least this many slices.
const MIN_PLEXUS_SLICES: usize = 2;

/// One extradural lesion (a collection or a mimic).
#[derive(Debug, Clone, PartialEq)]
pub struct Lesion {
    /// First and last slice index.
    pub k_range: (usize, usize),
    /// Patient z (LPS, mm) of the sac centre at the cranial and caudal ends.
    pub z_range_mm: (f64, f64),
    /// Cranio-caudal extent along the canal (mm).
    pub extent_mm: f64,
    /// Maximal radial thickness (mm).
    pub max_thickness_mm: f64,
    /// Volume (mL).
    pub volume_ml: f64,
    /// Predominant position around the sac.
    pub position: FluidPosition,
    /// Side, when lateralised.
    pub side: Option<Side>,
    /// Slices on which the fluid surrounds the sac (floating dural sac sign).
    pub fdss_slices: Vec<usize>,
    /// Slice where the fluid joins the intrathecal space through a dural gap.
    pub continuity_slice: Option<usize>,
    /// 90th percentile of the lesion signal / intrathecal CSF median.
    pub water_ratio: f64,
    /// Contrast T1 signal of the lesion / of the intrathecal CSF; `None` without a contrast
    /// series or where it does not cover the lesion.
    pub enhancement_ratio: Option<f64>,
    /// Fraction of the lesion's fluid pixels that the contrast T1 covers (`None` without a
    /// contrast series). Under one half, enhancement is not assessed.
    pub t1_coverage: Option<f64>,
    /// Slice of maximal thickness (evidence).
    pub key_slice: usize,
    /// Set when the lesion is a mimic.
    pub mimic: Option<MimicKind>,
    /// Per slice with lesion pixels: slice, patient z, thickness, position, FDSS.
    pub slices: Vec<LesionSlice>,
    /// The lesion's pixels `(k, row, col)` (for overlays).
    pub pixels: Vec<(usize, usize, usize)>,
    /// Length (mm) added by following the collection on the sagittal series beyond the
    /// axial stack (0 when not followed; see [`MriAnalysis::follow_on_sagittal`]).
    pub sagittal_mm: f64,
    /// A quarter or more of the lesion lies where the sac outline came from its shape, the dura
    /// not being seen (coarse pixels): a dural gap cannot be looked for there.
    pub dura_unseen: bool,
}

/// One slice of a lesion.
#[derive(Debug, Clone, PartialEq)]
pub struct LesionSlice {
    /// Slice index.
    pub k: usize,
    /// Patient z of the sac centre (mm).
    pub z_mm: f64,
    /// Radial fluid depth beyond the dura on this slice (mm).
    pub thickness_mm: f64,
    /// Predominant position on this slice.
    pub position: FluidPosition,
    /// Fluid all around the sac on this slice.
    pub fdss: bool,
    /// A sagittal row beyond the axial stack (then `k` is the lesion's key slice).
    pub on_sagittal: bool,
}

/// Result of [`analyze_mri`].
#[derive(Debug, Clone)]
pub struct MriAnalysis {
    /// The canal model.
    pub canal: CanalModel,
    /// Extradural fluid collections (mimics excluded), cranial first.
    pub collections: Vec<Lesion>,
    /// Excluded mimics.
    pub mimics: Vec<Lesion>,
    /// Intrathecal CSF volume over the covered length (mL).
    pub intraspinal_csf_ml: f64,
    /// Covered length of the canal (mm).
    pub covered_mm: f64,
    /// Vertebral levels (counted, anchored, or positions only).
    pub levels: LevelScale,
    /// Pixel area of the axial stack (mm²).
    pixel_area_mm2: f64,
}

struct SliceCand {
    /// Component label per pixel (0 none).
    pixels: Vec<Vec<(usize, usize, f64)>>,
}

/// Analyse an axial-like T2 stack, with an optional contrast T1 in the same patient frame.
pub fn analyze_mri(
    t2: &Volume,
    contrast_t1: Option<&Volume>,
    opts: &SpineOptions,
) -> Result<MriAnalysis> {
    let canal = build_canal(t2, opts)?;
    let g = t2.geometry();
    let sp = g.spacing_mm();
    let px_mm2 = sp[0] * sp[1];
    let step = sp[2];
    let nk = t2.dims()[2];
    let csf = canal.csf_reference;
    let gap_px2 = (opts.max_gap_mm / sp[0].min(sp[1])).powi(2);
    let reach_mm = opts.max_reach_mm;
    let lateral = crate::canal::lateral_rays(g);

    // Per slice candidate components with each pixel's distance to the sac (mm).
    let cands: Vec<SliceCand> = (0..nk)
        .into_par_iter()
        .map(|k| {
            let sl = &canal.slices[k];
            if !sl.found {
                return SliceCand { pixels: Vec::new() };
            }
            let bright = &canal.bright[k];
            let edge = boundary(&sl.sac);
            // Only pixels within reach of the sac's bounding box can be candidates: the
            // window of rows and columns within reach (components are labelled in it, in the
            // same raster order as over the whole image).
            let (mut r0, mut r1, mut c0, mut c1) = (usize::MAX, 0, usize::MAX, 0);
            for &(er, ec) in &edge {
                r0 = r0.min(er);
                r1 = r1.max(er);
                c0 = c0.min(ec);
                c1 = c1.max(ec);
            }
            let (reach_r, reach_c) = (reach_mm / sp[1], reach_mm / sp[0]);
            let (nr, nc) = bright.dim();
            let within = |x: usize, lo: usize, hi: usize, reach: f64| {
                let x = x as f64;
                x >= lo as f64 - reach && x <= hi as f64 + reach
            };
            let rows: Vec<usize> = (0..nr).filter(|&r| within(r, r0, r1, reach_r)).collect();
            let cols: Vec<usize> = (0..nc).filter(|&c| within(c, c0, c1, reach_c)).collect();
            let (Some(&wr0), Some(&wc0)) = (rows.first(), cols.first()) else {
                return SliceCand { pixels: Vec::new() };
            };
            let mut m = Array2::from_shape_fn((rows.len(), cols.len()), |(r, c)| {
                bright[[r + wr0, c + wc0]] && !sl.sac[[r + wr0, c + wc0]]
            });
            for &(r, c) in &sl.bridge {
                if let Some(on) = m.get_mut([r.wrapping_sub(wr0), c.wrapping_sub(wc0)]) {
                    *on = true;
                }
            }
            let (labels, sizes) = label4(&m);
            let mut comps: Vec<Vec<(usize, usize, f64)>> = vec![Vec::new(); sizes.len()];
            for ((r, c), &l) in labels.indexed_iter() {
                if l == 0 {
                    continue;
                }
                let (r, c) = (r + wr0, c + wc0);
                // Only edge pixels within reach of this row can bring it within reach (the
                // edge is in raster order): the same minimum where it matters.
                let lo = edge.partition_point(|&(er, _)| (er as f64) < r as f64 - reach_r - 1.0);
                let hi = edge.partition_point(|&(er, _)| (er as f64) <= r as f64 + reach_r + 1.0);
                let mut best = f64::INFINITY;
                for &(er, ec) in &edge[lo..hi.max(lo)] {
                    let dr = (r as f64 - er as f64) * sp[1];
                    let dc = (c as f64 - ec as f64) * sp[0];
                    best = best.min(dr * dr + dc * dc);
                }
                let d = best.sqrt();
                if d <= reach_mm {
                    comps[l as usize].push((r, c, d));
                }
            }
            let min_d_ok = |px: &Vec<(usize, usize, f64)>| {
                px.iter()
                    .any(|&(_, _, d)| (d / sp[0].min(sp[1])).powi(2) <= gap_px2)
            };
            let pixels = comps
                .into_iter()
                .filter(|px| px.len() >= 2 && min_d_ok(px))
                .collect();
            SliceCand { pixels }
        })
        .collect();

    // Link overlapping components of neighbouring slices (union-find, deterministic order).
    // Component `j` of slice `k` is node `base[k] + j`.
    let mut base = vec![0usize; nk + 1];
    for k in 0..nk {
        base[k + 1] = base[k] + cands[k].pixels.len();
    }
    let ids: Vec<(usize, usize)> = (0..nk)
        .flat_map(|k| (0..cands[k].pixels.len()).map(move |j| (k, j)))
        .collect();
    let mut parent: Vec<usize> = (0..ids.len()).collect();
    // Per slice, the component index of each candidate pixel (for the neighbourhood test).
    let rasters: Vec<Option<Array2<u32>>> = cands
        .par_iter()
        .enumerate()
        .map(|(k, c)| {
            if c.pixels.is_empty() {
                return None;
            }
            let dim = canal.slices[k].sac.dim();
            let mut m = Array2::<u32>::zeros(dim);
            for (j, px) in c.pixels.iter().enumerate() {
                let id = u32::try_from(j + 1).unwrap_or(u32::MAX);
                for &(r, cc, _) in px {
                    m[[r, cc]] = id;
                }
            }
            Some(m)
        })
        .collect();
    // Neighbouring slices, and across one slice without candidates (a collection thins out
    // under the threshold on a slice), link when their pixels lie within 2 pixels.
    for k in 1..nk {
        for back in 1..=2usize.min(k) {
            let kp = k - back;
            let Some(prev) = rasters[kp].as_ref() else {
                continue;
            };
            let (nr, nc) = prev.dim();
            for (jb, b) in cands[k].pixels.iter().enumerate() {
                let mut linked: Vec<usize> = Vec::new();
                for &(r, c, _) in b {
                    for rr in r.saturating_sub(2)..(r + 3).min(nr) {
                        for cc in c.saturating_sub(2)..(c + 3).min(nc) {
                            let l = prev[[rr, cc]] as usize;
                            if l != 0 && !linked.contains(&(l - 1)) {
                                linked.push(l - 1);
                            }
                        }
                    }
                }
                for ja in linked {
                    let (x, y) = (base[kp] + ja, base[k] + jb);
                    let (rx, ry) = (find(&mut parent, x), find(&mut parent, y));
                    if rx != ry {
                        parent[rx.max(ry)] = rx.min(ry);
                    }
                }
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<(usize, usize)>> =
        std::collections::BTreeMap::new();
    for (n, &(k, j)) in ids.iter().enumerate() {
        let root = find(&mut parent, n);
        groups.entry(root).or_default().push((k, j));
    }

    let world = |k: usize, r: usize, c: usize| -> DVec3 {
        g.world_from_voxel
            .transform_point3(DVec3::new(c as f64, r as f64, k as f64))
    };
    // A component's summed anterior and left offsets from the sac centre (mm) and its size.
    let direction = |k: usize, j: usize| -> (f64, f64, usize) {
        let centre = canal.slices[k].centre.to_dvec3();
        let px = &cands[k].pixels[j];
        let (a, l) = px.iter().fold((0.0, 0.0), |(a, l), &(r, c, _)| {
            let d = world(k, r, c) - centre;
            (a - d.y, l + d.x)
        });
        (a, l, px.len())
    };
    let mut lesions = Vec::new();
    for members in groups.values() {
        let members = without_side_pieces(members, direction);
        let k0 = members.iter().map(|m| m.0).min().unwrap_or(0);
        let k1 = members.iter().map(|m| m.0).max().unwrap_or(0);
        let mut n_px = 0usize;
        let mut per_slice_t: Vec<(f64, usize)> = Vec::new();
        let mut vals: Vec<f32> = Vec::new();
        let mut bins_total = [0usize; 12];
        let mut fdss = Vec::new();
        let mut continuity = None;
        let mut lat = 0.0f64;
        let mut ant = 0.0f64;
        let mut max_area = 0usize;
        let mut t1_lesion: Vec<f32> = Vec::new();
        let mut t1_sac: Vec<f32> = Vec::new();
        let mut t1_wanted = 0usize;
        let mut lesion_slices: Vec<LesionSlice> = Vec::new();
        let mut lesion_px: Vec<(usize, usize, usize)> = Vec::new();
        let (mut n_sep, mut n_rays_px, mut n_shaped) = (0usize, 0usize, 0usize);
        #[allow(
            clippy::needless_range_loop,
            reason = "k indexes the canal and the volume too"
        )]
        for k in k0..=k1 {
            let img = slice_image(t2, k);
            let sl = &canal.slices[k];
            let centre = sl.centre.to_dvec3();
            let px: Vec<(usize, usize, f64)> = members
                .iter()
                .filter(|m| m.0 == k)
                .flat_map(|m| cands[k].pixels[m.1].iter().copied())
                .collect();
            if px.is_empty() {
                continue;
            }
            n_px += px.len();
            lesion_px.extend(px.iter().map(|&(r, c, _)| (k, r, c)));
            max_area = max_area.max(px.len());
            // Rays that point at the lesion's pixels on this slice (for the thickness).
            let mut hit = vec![false; sl.beyond_dura_mm.len()];
            let mut bins = [false; 12];
            let (mut ant_k, mut lat_k) = (0.0f64, 0.0f64);
            let cpx = g.voxel_from_world().transform_point3(centre);
            for &(r, c, _) in &px {
                // Is this pixel separated from the sac by a dark line on its ray?
                if !sl.dura_line.is_empty() {
                    let th = ((r as f64 - cpx.y) * sp[1])
                        .atan2((c as f64 - cpx.x) * sp[0])
                        .rem_euclid(std::f64::consts::TAU);
                    let n = sl.dura_line.len();
                    let a =
                        csfleak_volume::index_of((th / std::f64::consts::TAU * n as f64).round())
                            .unwrap_or(0)
                            % n;
                    n_rays_px += 1;
                    n_sep += usize::from(sl.dura_line[a]);
                    n_shaped += usize::from(sl.shaped_rays.get(a).copied().unwrap_or(false));
                    if let Some(h) = hit.get_mut(a) {
                        *h = true;
                    }
                }
                vals.push(img[[r, c]]);
                let d = world(k, r, c) - centre;
                // Anterior is -y in LPS, left is +x.
                let (a, l) = (-d.y, d.x);
                ant += a;
                lat += l;
                ant_k += a;
                lat_k += l;
                let theta = l.atan2(a).rem_euclid(std::f64::consts::TAU);
                let bin = csfleak_volume::index_of((theta / std::f64::consts::TAU * 12.0).floor())
                    .unwrap_or(0)
                    .min(11);
                bins[bin] = true;
                if continuity.is_none() && sl.bridge.contains(&(r, c)) {
                    continuity = Some(k);
                }
                if let Some(t1) = contrast_t1 {
                    if img[[r, c]] >= 0.8 * csf {
                        t1_wanted += 1;
                        if let Some(v) = t1.sample(PointLps::from_dvec3(world(k, r, c))) {
                            t1_lesion.push(v);
                        }
                    }
                }
            }
            // Thickness on this slice: the second-largest radial fluid depth over the rays
            // that point at the lesion (one ray can run along a root sleeve); sideways rays
            // (root sleeves, foramina) only when the fluid lies beside the sac.
            let sideways = lat_k.abs() > ant_k.abs();
            let mut depths: Vec<f64> = sl
                .beyond_dura_mm
                .iter()
                .zip(&hit)
                .zip(&lateral)
                .filter(|((_, h), l)| **h && (sideways || !**l))
                .map(|((d, _), _)| *d)
                .collect();
            depths.sort_by(|a, b| b.total_cmp(a));
            per_slice_t.push((depths.get(1).copied().unwrap_or(0.0), k));
            let fdss_here = bins.iter().filter(|&&b| b).count() >= 10;
            if fdss_here {
                fdss.push(k);
            }
            lesion_slices.push(LesionSlice {
                k,
                z_mm: sl.centre.0[2],
                thickness_mm: per_slice_t.last().map_or(0.0, |p| p.0),
                position: if fdss_here {
                    FluidPosition::Circumferential
                } else if lat_k.abs() > ant_k.abs() {
                    FluidPosition::Lateral
                } else if ant_k > 0.0 {
                    FluidPosition::Ventral
                } else {
                    FluidPosition::Dorsal
                },
                fdss: fdss_here,
                on_sagittal: false,
            });
            for (b, t) in bins_total.iter_mut().zip(bins) {
                *b += usize::from(t);
            }
            if let Some(t1) = contrast_t1 {
                for ((r, c), &on) in sl.sac.indexed_iter() {
                    if on && img[[r, c]] >= 0.8 * csf {
                        if let Some(v) = t1.sample(PointLps::from_dvec3(world(k, r, c))) {
                            t1_sac.push(v);
                        }
                    }
                }
            }
        }
        // Maximal thickness: the 75th percentile over the slices (robust to single-slice
        // spikes at root sleeves); the key slice is the thickest.
        per_slice_t.sort_by(|a, b| a.0.total_cmp(&b.0));
        let max_t = per_slice_t
            .get(
                csfleak_volume::index_of(((per_slice_t.len().max(1) - 1) as f64 * 0.75).round())
                    .unwrap_or(0),
            )
            .map_or(0.0, |p| p.0);
        let key = per_slice_t.last().map_or(k0, |p| p.1);
        let n_slices = (k0..=k1)
            .filter(|&k| members.iter().any(|m| m.0 == k))
            .count();
        let position = if fdss.len() * 2 >= n_slices.max(1) {
            FluidPosition::Circumferential
        } else if lat.abs() > ant.abs() {
            FluidPosition::Lateral
        } else if ant > 0.0 {
            FluidPosition::Ventral
        } else {
            FluidPosition::Dorsal
        };
        let side = match position {
            FluidPosition::Lateral => Some(if lat > 0.0 { Side::Left } else { Side::Right }),
            FluidPosition::Circumferential => Some(Side::Bilateral),
            _ => Some(Side::Midline),
        };
        let water_ratio = {
            let mut v = vals.clone();
            v.sort_by(f32::total_cmp);
            let i =
                csfleak_volume::index_of(((v.len().max(1) - 1) as f64 * 0.9).round()).unwrap_or(0);
            f64::from(v.get(i).copied().unwrap_or(0.0)) / f64::from(csf.max(f32::MIN_POSITIVE))
        };
        let med = |v: &mut Vec<f32>| {
            if v.is_empty() {
                return None;
            }
            v.sort_by(f32::total_cmp);
            Some(f64::from(v[v.len() / 2]))
        };
        let t1_coverage = contrast_t1.map(|_| t1_lesion.len() as f64 / t1_wanted.max(1) as f64);
        if t1_coverage.is_some_and(|c| c < 0.5) {
            t1_lesion.clear();
        }
        let enhancement_ratio = match (med(&mut t1_lesion), med(&mut t1_sac)) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        let extent_mm = n_slices as f64 * step;
        let volume_ml = n_px as f64 * px_mm2 * step / 1000.0;
        let eq_radius = (max_area as f64 * px_mm2 / std::f64::consts::PI).sqrt();
        let mimic = if water_ratio < opts.water_fraction
            || enhancement_ratio.is_some_and(|r| r >= opts.enhancement_ratio)
        {
            Some(MimicKind::VenousPlexus)
        } else if extent_mm < opts.min_collection_extent_mm && position == FluidPosition::Lateral {
            Some(if eq_radius >= opts.tarlov_min_radius_mm {
                MimicKind::TarlovCyst
            } else {
                MimicKind::RootSleeve
            })
        } else {
            None
        };
        if mimic.is_none() && (max_t < opts.min_thickness_mm || volume_ml < opts.min_volume_ml) {
            continue;
        }
        // A collection is a crescent (or a ring) around the sac: wider than it is thick. Bright
        // signal whose mean cross-section is narrower than that (a clump of roots or a vessel
        // beside the dura, a partial-volume streak) is not one.
        if mimic.is_none()
            && position != FluidPosition::Circumferential
            && volume_ml * 1000.0 < MIN_WIDTH_RATIO * max_t * max_t * extent_mm
        {
            continue;
        }
        // Too small to be worth listing as a mimic (noise, a vein on one slice): dropped.
        if mimic.is_some()
            && (volume_ml < MIN_MIMIC_ML
                || (mimic == Some(MimicKind::VenousPlexus) && n_slices < MIN_PLEXUS_SLICES))
        {
            continue;
        }
        // Bright signal that no dark line (dura) separates from the sac anywhere is the sac
        // itself reaching beyond its smoothed outline (a local bulge), not extradural fluid:
        // a dural gap is focal, the rest of a collection lies beyond a visible dura. Only for
        // focal lesions: a long collection is no bulge, and coarse pixels may hide the dura.
        if mimic.is_none()
            && extent_mm <= opts.max_bulge_extent_mm
            && n_rays_px > 0
            && (n_sep as f64) < opts.min_separated_fraction * n_rays_px as f64
        {
            continue;
        }
        lesions.push(Lesion {
            k_range: (k0, k1),
            z_range_mm: (canal.slices[k0].centre.0[2], canal.slices[k1].centre.0[2]),
            extent_mm,
            max_thickness_mm: max_t,
            volume_ml,
            position,
            side,
            fdss_slices: fdss,
            continuity_slice: continuity,
            water_ratio,
            enhancement_ratio,
            t1_coverage,
            key_slice: key,
            mimic,
            slices: lesion_slices,
            pixels: lesion_px,
            sagittal_mm: 0.0,
            dura_unseen: n_shaped * 4 > n_rays_px,
        });
    }
    lesions.sort_by(|a, b| {
        b.z_range_mm
            .0
            .max(b.z_range_mm.1)
            .total_cmp(&a.z_range_mm.0.max(a.z_range_mm.1))
    });
    let (mimics, collections): (Vec<Lesion>, Vec<Lesion>) =
        lesions.into_iter().partition(|l| l.mimic.is_some());
    let intraspinal_csf_ml = canal
        .slices
        .iter()
        .map(|s| s.csf_area_mm2 * step)
        .sum::<f64>()
        / 1000.0;
    let covered_mm = canal.slices.iter().filter(|s| s.found).count() as f64 * step;
    let mut levels = crate::mri_levels::detect_levels(t2, &canal);
    if let Some(anchor) = opts.level_anchor {
        levels = levels.with_anchor(anchor);
    }
    Ok(MriAnalysis {
        canal,
        collections,
        mimics,
        intraspinal_csf_ml,
        covered_mm,
        levels,
        pixel_area_mm2: px_mm2,
    })
}

impl MriAnalysis {
    /// Follow the collections that reach an end of the axial stack onto a sagittal T2 of the
    /// same patient frame (see the `sagittal` module): their extent, level range and volume
    /// grow by the part seen beyond the stack. Returns notes for the report (what was
    /// followed, or why not). Does nothing on a series that is not sagittal.
    pub fn follow_on_sagittal(&mut self, sag: &Volume, opts: &SpineOptions) -> Vec<String> {
        sagittal::follow(self, sag, opts)
    }

    /// The `spine` findings section. `series_uid` names the analysed series in the evidence;
    /// `contrast_available` says whether a contrast T1 was given.
    pub fn to_section(&self, series_uid: Option<&str>, contrast_available: bool) -> Spine {
        let prov = || Provenance::Automatic {
            series_instance_uid: series_uid.map(str::to_owned),
            slice_index: None,
            method: Some(METHOD.to_owned()),
        };
        let lv = &self.levels;
        // Collections followed on the sagittal series reach beyond the axial stack: their
        // ends are labelled where the levels' landmarks reach (counted on the sagittal).
        let lv_ext = self.levels_beyond_stack();
        let lv_c = lv_ext.as_ref().unwrap_or(lv);
        let collections: Vec<EpiduralCollection> = self
            .collections
            .iter()
            .map(|l| {
                let (z_hi, z_lo) = (
                    l.z_range_mm.0.max(l.z_range_mm.1),
                    l.z_range_mm.0.min(l.z_range_mm.1),
                );
                let z_of = |k: usize| self.canal.slices.get(k).map(|s| s.centre.0[2]);
                EpiduralCollection {
                    from_level: lv_c.level_at(z_hi),
                    to_level: lv_c.level_at(z_lo),
                    z_from_mm: Some(Mm(round(z_hi, 1))),
                    z_to_mm: Some(Mm(round(z_lo, 1))),
                    per_level: per_level(l, lv_c),
                    extent_mm: Some(Mm(round(l.extent_mm, 1))),
                    max_thickness_mm: Some(Mm(round(l.max_thickness_mm, 1))),
                    volume_ml: Some(Ml(round(l.volume_ml, 2))),
                    position: Some(l.position),
                    side: l.side,
                    continuous_with_sas: continuity_call(l),
                    non_enhancing: l.enhancement_ratio.map(|_| l.mimic.is_none()),
                    floating_dural_sac_sign: Some(!l.fdss_slices.is_empty()),
                    excluded_as: None,
                    evidence: [Some(l.key_slice), l.continuity_slice]
                        .into_iter()
                        .flatten()
                        .zip([
                            "maximal thickness",
                            "continuity with the subarachnoid space",
                        ])
                        .map(|(k, d)| {
                            let z = z_of(k);
                            Evidence {
                                series_instance_uid: series_uid.map(str::to_owned),
                                slice_index: u32::try_from(k).ok(),
                                level: z.and_then(|z| lv.level_at(z)),
                                description: Some(match z {
                                    Some(z) => format!("{d} (z {z:.1} mm)"),
                                    None => d.to_owned(),
                                }),
                                ..Evidence::default()
                            }
                        })
                        .chain(continuity_call(l).is_none().then(|| Evidence {
                            series_instance_uid: series_uid.map(str::to_owned),
                            description: Some(unassessed_continuity(l)),
                            ..Evidence::default()
                        }))
                        .chain(l.t1_coverage.filter(|&c| c < 0.5).map(|c| Evidence {
                            series_instance_uid: series_uid.map(str::to_owned),
                            description: Some(format!(
                                "enhancement not assessed: the contrast T1 covers {:.0} % of \
                                 the collection",
                                100.0 * c
                            )),
                            ..Evidence::default()
                        }))
                        .collect(),
                    provenance: Some(prov()),
                }
            })
            .collect();
        let status = if collections.is_empty() {
            Status::Absent
        } else {
            Status::Present
        };
        Spine {
            epidural_fluid: Some(EpiduralFluid {
                status,
                reason: None,
                collections,
                contrast_series_available: Some(contrast_available),
                provenance: Some(prov()),
            }),
            excluded_mimics: self
                .mimics
                .iter()
                .filter_map(|l| {
                    l.mimic.map(|kind| ExcludedMimic {
                        kind,
                        level: self
                            .canal
                            .slices
                            .get(l.key_slice)
                            .and_then(|s| lv.level_at(s.centre.0[2])),
                        side: l.side,
                    })
                })
                .collect(),
            intraspinal_csf_volume_ml: Some(Ml(round(self.intraspinal_csf_ml, 1))),
            // The volume covers the analysed stack only; say over what span.
            intraspinal_csf_volume_status: Some(csfleak_findings::FieldStatus {
                status: Status::Present,
                reason: Some(coverage_note(self)),
            }),
            levels: Some(lv.to_findings()),
        }
    }
}

impl MriAnalysis {
    /// The level scale widened to the collections followed beyond the axial stack, within
    /// the span of its landmarks (no extrapolation); `None` when nothing was followed.
    fn levels_beyond_stack(&self) -> Option<LevelScale> {
        let marks = self.levels.landmarks();
        let (m_hi, m_lo) = (marks.first()?.0, marks.last()?.0);
        let (lo, hi) = self.levels.covered_z_mm();
        let (mut lo2, mut hi2) = (lo, hi);
        for l in self.collections.iter().filter(|l| l.sagittal_mm > 0.0) {
            for z in [l.z_range_mm.0, l.z_range_mm.1] {
                let z = z.clamp(m_lo.min(m_hi) - 15.0, m_hi.max(m_lo) + 15.0);
                lo2 = lo2.min(z);
                hi2 = hi2.max(z);
            }
        }
        (lo2 < lo || hi2 > hi).then(|| {
            self.levels
                .clone()
                .transferred_to((lo2, hi2), "collections followed on the sagittal series")
        })
    }
}

/// Why the continuity of a collection is not assessed (see [`continuity_call`]).
fn unassessed_continuity(l: &Lesion) -> String {
    if l.dura_unseen {
        "continuity with the subarachnoid space not assessed: the dura between the collection \
         and the sac is not resolved on this stack (outline from the sac's shape round the \
         cord), no dural gap can be seen"
            .to_owned()
    } else {
        format!(
            "continuity with the subarachnoid space not assessed: no dural gap seen on the axial \
             stack, but the collection continues {:.0} mm beyond it (seen on the sagittal series \
             only)",
            l.sagittal_mm
        )
    }
}

/// Whether the collection communicates with the subarachnoid space: yes where a dural gap
/// joins it to the sac on the axial stack; no only when the axial stack covers the whole
/// collection without a gap; unknown when the collection continues beyond the stack (the gap
/// may lie in the part seen on the sagittal series only, where it cannot be looked for) or
/// when the dura between the collection and the sac is not seen (coarse pixels).
fn continuity_call(l: &Lesion) -> Option<bool> {
    if l.continuity_slice.is_some() {
        Some(true)
    } else if l.sagittal_mm > 0.0 || l.dura_unseen {
        None
    } else {
        Some(false)
    }
}

/// What span the intraspinal CSF volume covers.
fn coverage_note(a: &MriAnalysis) -> String {
    let (lo, hi) = a.levels.covered_z_mm();
    let span = match (a.levels.level_at(hi), a.levels.level_at(lo)) {
        (Some(f), Some(t)) => format!("{f} to {t}"),
        _ => format!("z {hi:.0} to {lo:.0} mm"),
    };
    format!(
        "intrathecal CSF inside the dural sac over the analysed stack only ({span}, {:.0} mm of \
         canal with the sac found), cord excluded",
        a.covered_mm
    )
}

/// Position, thickness and FDSS of a lesion per level (empty when levels are not known).
fn per_level(l: &Lesion, lv: &LevelScale) -> Vec<CollectionLevel> {
    let mut out: Vec<(Level, Vec<&LesionSlice>)> = Vec::new();
    for s in &l.slices {
        let Some(level) = lv.level_at(s.z_mm) else {
            continue;
        };
        match out.iter_mut().find(|(x, _)| *x == level) {
            Some((_, v)) => v.push(s),
            None => out.push((level, vec![s])),
        }
    }
    out.sort_by_key(|(x, _)| *x);
    out.into_iter()
        .map(|(level, ss)| {
            let count = |p: FluidPosition| ss.iter().filter(|s| s.position == p).count();
            let position = [
                FluidPosition::Circumferential,
                FluidPosition::Ventral,
                FluidPosition::Dorsal,
                FluidPosition::Lateral,
            ]
            .into_iter()
            .max_by_key(|&p| count(p));
            CollectionLevel {
                level,
                position,
                max_thickness_mm: Some(Mm(round(
                    ss.iter().map(|s| s.thickness_mm).fold(0.0, f64::max),
                    1,
                ))),
                floating_dural_sac_sign: Some(ss.iter().any(|s| s.fdss)),
            }
        })
        .collect()
}

/// Smallest mean offset (mm) of a lesion's pixels from the sac centre, ventral or dorsal, for
/// its pieces beside the sac to be told apart from it.
const MIN_SIDED_OFFSET_MM: f64 = 2.0;

/// The members of a ventral or dorsal lesion without its pieces beside the sac on slices where
/// the crescent is not seen: a root sleeve (normal, at every level) that touches the crescent's
/// edge on a neighbouring slice joins it across slices, adding its volume and lengthening the
/// collection. `direction` gives a
/// member's summed anterior and left offsets (mm) and its pixel count. Lesions that lie beside
/// or all round the sac, and lesions made of side pieces only, are left whole.
fn without_side_pieces(
    members: &[(usize, usize)],
    direction: impl Fn(usize, usize) -> (f64, f64, usize),
) -> Vec<(usize, usize)> {
    let dirs: Vec<(f64, f64, usize)> = members.iter().map(|&(k, j)| direction(k, j)).collect();
    // Sideways offsets summed per piece: pieces on the left and on the right do not cancel.
    let (sa, sl, n) = dirs.iter().fold((0.0, 0.0, 0usize), |(a, l, n), d| {
        (a + d.0, l + d.1.abs(), n + d.2)
    });
    if sa.abs() <= sl || sa.abs() < MIN_SIDED_OFFSET_MM * n.max(1) as f64 {
        return members.to_vec();
    }
    let side = |d: &(f64, f64, usize)| d.1.abs() > d.0.abs();
    let side_px: usize = dirs.iter().filter(|d| side(d)).map(|d| d.2).sum();
    // Side pieces are a minority of the lesion (a few root sleeves), else it is no crescent.
    if side_px * 3 > n {
        return members.to_vec();
    }
    // Only on slices where the crescent itself is not seen: beside a crescent piece a side piece
    // may be its horn, cut off where the crescent thins round the sac.
    let crescent_slices: Vec<usize> = members
        .iter()
        .zip(&dirs)
        .filter(|(_, d)| !side(d))
        .map(|(m, _)| m.0)
        .collect();
    members
        .iter()
        .zip(&dirs)
        .filter(|(m, d)| !side(d) || crescent_slices.contains(&m.0))
        .map(|(m, _)| *m)
        .collect()
}

/// Union-find root with path halving.
fn find(p: &mut [usize], mut x: usize) -> usize {
    while p[x] != x {
        p[x] = p[p[x]];
        x = p[x];
    }
    x
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dorsal crescent loses the root sleeve that joined it beside the sac on a slice without
    /// crescent; lesions beside or round the sac, and a "crescent" made mostly of side pieces,
    /// are left whole.
    #[test]
    fn side_pieces_are_dropped_from_ventral_and_dorsal_lesions_only() {
        // Per member (slice, piece): summed anterior and left offsets (mm) and pixel count.
        let dorsal = |k: usize, j: usize| match (k, j) {
            (3, _) | (_, 1) => (4.0, 40.0, 6),
            _ => (-60.0, 5.0, 10),
        };
        // The side piece on slice 3 goes; the one beside the crescent on slice 2 stays.
        let m = [(0, 0), (1, 0), (2, 0), (2, 1), (3, 0)];
        assert_eq!(
            without_side_pieces(&m, dorsal),
            vec![(0, 0), (1, 0), (2, 0), (2, 1)]
        );
        // Beside the sac: whole.
        let lateral = |_: usize, j: usize| {
            if j == 0 {
                (3.0, 50.0, 8)
            } else {
                (-2.0, 30.0, 5)
            }
        };
        assert_eq!(
            without_side_pieces(&[(0, 0), (1, 1)], lateral),
            [(0, 0), (1, 1)]
        );
        // Left and right strips of a ventral lesion do not cancel: mostly side pieces, whole.
        let strips = |_: usize, j: usize| match j {
            0 => (30.0, 40.0, 8),
            1 => (30.0, -40.0, 8),
            _ => (20.0, 2.0, 4),
        };
        let m = [(0, 0), (0, 1), (1, 2)];
        assert_eq!(without_side_pieces(&m, strips), m);
        // Round the sac (offsets cancel): whole.
        let ring = |_: usize, j: usize| {
            if j == 0 {
                (40.0, 0.0, 20)
            } else if j == 1 {
                (-39.0, 0.0, 20)
            } else {
                (0.0, 0.5, 5)
            }
        };
        let m = [(0, 0), (0, 1), (0, 2)];
        assert_eq!(without_side_pieces(&m, ring), m);
    }
}
