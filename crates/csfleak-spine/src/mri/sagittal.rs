//! Collections followed onto a sagittal T2 beyond the axial stack.
//!
//! Axial blocks are often shorter than the collection (a thoracic ventral collection over six
//! levels, an axial block of the lower spine): the part outside the block is lost to the axial
//! analysis. On a sagittal fat-suppressed T2 through the canal, extradural fluid ventral or
//! dorsal to the sac is a bright layer outside the dark dural line. Method, relative
//! intensities only:
//!
//! 1. The sagittal CSF reference: the median, over the axial slices, of the brightest sample on
//!    the anteroposterior profile through the axial canal centre (in the sagittal slice nearest
//!    the canal).
//! 2. Per sagittal row (patient height), the anteroposterior profile through the canal centre:
//!    from the centre outward (past a dark cord), the bright run of the canal, dark stretches up
//!    to 1.5 mm bridged (the dura). A *layer* on one side is a water-like bright stretch
//!    (1-9 mm) outside a dark dip at the end of that run.
//! 3. Calibration on the overlap with the axial stack: the sagittal reading must agree with
//!    the axial one, both where the axial analysis found fluid on that side near the end of
//!    the collection and where it found none (few false layers). Otherwise nothing is
//!    extended: roots, the filum or discs beside the dura can look like layers on some
//!    scanners.
//! 4. A collection that reaches the end of the axial stack is followed row by row beyond it
//!    while the layer continues on its side (gaps up to 6 mm), the canal centre tracked as the
//!    middle of the canal's bright run. Its extent, level range and volume grow by the part
//!    followed; the volume per mm beyond the stack is the collection's cross-section near the
//!    stack end, scaled by the sagittal layer thickness.

use csfleak_findings::FluidPosition;
use csfleak_volume::{DVec3, Volume};

use super::{LesionSlice, MriAnalysis};
use crate::SpineOptions;

/// Profile sample step (mm).
const STEP_MM: f64 = 0.5;
/// Half length of a profile (mm).
const HALF_MM: f64 = 24.0;
/// Dark stretches inside the canal's bright run bridged up to this length (mm): the dura.
const MAX_DURA_MM: f64 = 1.5;
/// From the canal centre, bright CSF must start within this distance (mm; past the cord).
const MAX_CORD_MM: f64 = 9.0;
/// A layer outside the dura is at least this thick (mm)...
const MIN_LAYER_MM: f64 = 1.0;
/// ... and at most this thick (mm).
const MAX_LAYER_MM: f64 = 9.0;
/// A layer is water-like: its brightest sample is at least this fraction of the CSF reference.
const LAYER_WATER: f64 = 0.8;
/// Inside the dark line, the intrathecal CSF reaches at least this fraction of the reference
/// (a thin rim beside the cord is partial-volumed with it).
const INNER_CSF: f64 = 0.6;
/// Gaps in a followed layer bridged up to this length (mm).
const MAX_GAP_MM: f64 = 6.0;
/// Overlap rows near the collection's end must read the layer in at least this fraction.
const MIN_HIT_RATE: f64 = 0.5;
/// Overlap rows far from any axial lesion may read a layer in at most this fraction.
const MAX_FALSE_RATE: f64 = 0.1;
/// False layers are counted on rows within this distance of the collection's end when enough
/// lie there (mm).
const CALIBRATION_MM: f64 = 80.0;
/// Overlap rows this near the end of the collection must show it on the sagittal (mm).
const HIT_WINDOW_MM: f64 = 8.0;
/// Axial slices this near the end of the collection give its position and cross-section (mm).
const END_WINDOW_MM: f64 = 20.0;

/// What the sagittal reading of one row found.
#[derive(Debug, Clone, Copy, Default)]
struct RowRead {
    /// Layer thickness ventral / dorsal of the sac (mm along the profile), 0 when none.
    layer: [f64; 2],
    /// Middle of the canal's bright run (mm from the profile centre), when found.
    mid: Option<f64>,
}

/// One side of the profile from the centre outward (`dir` -1 ventral, +1 dorsal).
fn read_side(p: &[f64], c: usize, dir: isize, water: f64, valley: f64) -> (f64, Option<f64>) {
    let at = |i: isize| -> Option<f64> { usize::try_from(i).ok().and_then(|i| p.get(i).copied()) };
    let steps = |mm: f64| {
        #[allow(clippy::cast_possible_truncation, reason = "small sample counts")]
        let s = (mm / STEP_MM).round() as isize;
        s
    };
    #[allow(clippy::cast_possible_wrap, reason = "profile lengths are small")]
    let c = c as isize;
    let bright = 0.5;
    // First bright sample within the cord radius.
    let mut i = c;
    let first = loop {
        match at(i) {
            Some(v) if v >= bright => break Some(i),
            Some(_) if (i - c).abs() <= steps(MAX_CORD_MM) => i += dir,
            _ => break None,
        }
    };
    let Some(first) = first else {
        return (0.0, None);
    };
    // The bright run, dark stretches up to the dura's width bridged.
    let mut end = first;
    let mut i = first;
    let max_dark = steps(MAX_DURA_MM);
    while let Some(v) = at(i) {
        if v >= bright {
            end = i;
            i += dir;
            continue;
        }
        let resume = (1..=max_dark + 1)
            .map(|d| i + dir * d)
            .find(|&q| at(q).is_some_and(|x| x >= bright));
        match resume {
            Some(q) if (q - end).abs() <= max_dark + 1 => i = q,
            _ => break,
        }
    }
    // The outermost dark dip inside the run with a water-like layer outside it.
    let w = steps(2.0);
    let mut q = end - dir;
    let mut layer = 0.0;
    while (q - first) * dir > 0 {
        let v = at(q).unwrap_or(f64::INFINITY);
        let (pv, nv) = (at(q - dir).unwrap_or(0.0), at(q + dir).unwrap_or(0.0));
        if v <= pv && v <= nv {
            let inner = (1..=w)
                .filter_map(|d| at(q - dir * d))
                .fold(f64::MIN, f64::max);
            let outer = (1..=(end - q) * dir)
                .filter_map(|d| at(q + dir * d))
                .fold(f64::MIN, f64::max);
            let thick = ((end - q) * dir) as f64 * STEP_MM;
            if outer - v >= 2.0 * valley
                && inner - v >= 0.4 * valley
                && inner >= INNER_CSF
                && outer >= water
            {
                if (MIN_LAYER_MM..=MAX_LAYER_MM).contains(&thick) {
                    layer = thick;
                }
                break;
            }
        }
        q -= dir;
    }
    let edge = (end - c) as f64 * STEP_MM;
    (layer, Some(edge))
}

/// Read one anteroposterior profile (`p[i]` at `centre + (i - c) * STEP_MM`, anterior first,
/// normalised by the CSF reference).
fn read_row(p: &[f64], valley: f64) -> RowRead {
    let c = p.len() / 2;
    let (v, ve) = read_side(p, c, -1, LAYER_WATER, valley);
    let (d, de) = read_side(p, c, 1, LAYER_WATER, valley);
    RowRead {
        layer: [v, d],
        mid: match (ve, de) {
            (Some(a), Some(b)) => Some(0.5 * (a + b)),
            _ => None,
        },
    }
}

/// Sampler of anteroposterior profiles in the sagittal slice nearest a given x.
struct Profiles<'a> {
    sag: &'a Volume,
    csf: f64,
}

impl Profiles<'_> {
    /// Samples from `y - HALF_MM` to `y + HALF_MM` (anterior first) at height `z`, in the
    /// sagittal slice nearest `x`; `None` when the point is outside the series.
    fn raw(&self, x: f64, y: f64, z: f64) -> Option<Vec<f64>> {
        let vfw = self.sag.geometry().voxel_from_world();
        let c = vfw.transform_point3(DVec3::new(x, y, z));
        let k = c.z.round();
        #[allow(clippy::cast_possible_truncation, reason = "small sample counts")]
        let n = (HALF_MM / STEP_MM).round() as i32;
        let out: Vec<f64> = (-n..=n)
            .map(|i| {
                let w = vfw.transform_point3(DVec3::new(x, y + f64::from(i) * STEP_MM, z));
                self.sag
                    .sample_voxel(DVec3::new(w.x, w.y, k))
                    .map_or(0.0, f64::from)
            })
            .collect();
        self.sag.sample_voxel(DVec3::new(c.x, c.y, k))?;
        Some(out)
    }

    fn normalised(&self, x: f64, y: f64, z: f64) -> Option<Vec<f64>> {
        let mut p = self.raw(x, y, z)?;
        for v in &mut p {
            *v /= self.csf;
        }
        Some(p)
    }

    /// The row's reading at the canal (`x`, `y`, `z`).
    fn read(&self, x: f64, y: f64, z: f64, valley: f64) -> Option<RowRead> {
        Some(read_row(&self.normalised(x, y, z)?, valley))
    }
}

/// Canal centre `(x, y)` at height `z`, interpolated between the axial slices' centres
/// (`centres` sorted by z, descending).
fn centre_at(centres: &[(f64, f64, f64)], z: f64) -> Option<(f64, f64)> {
    let i = centres
        .windows(2)
        .position(|w| z <= w[0].2 && z >= w[1].2)?;
    let (a, b) = (centres[i], centres[i + 1]);
    let f = if (a.2 - b.2).abs() > 1e-9 {
        (a.2 - z) / (a.2 - b.2)
    } else {
        0.0
    };
    Some((a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1)))
}

/// Which profile sides a collection's end lies on (0 ventral, 1 dorsal).
fn sides_of(p: FluidPosition) -> &'static [usize] {
    match p {
        FluidPosition::Ventral => &[0],
        FluidPosition::Dorsal => &[1],
        FluidPosition::Circumferential => &[0, 1],
        FluidPosition::Lateral => &[],
    }
}

/// Follow the collections that reach an end of the axial stack onto the sagittal series.
/// Returns a note per collection extended, or why none was.
pub(super) fn follow(a: &mut MriAnalysis, sag: &Volume, opts: &SpineOptions) -> Vec<String> {
    let mut notes = Vec::new();
    let n = sag.geometry().normal();
    if n.length() == 0.0 || n.x.abs() < 0.8 * n.length() {
        return notes;
    }
    let mut centres: Vec<(f64, f64, f64, usize)> = a
        .canal
        .slices
        .iter()
        .filter(|s| s.found)
        .map(|s| (s.centre.0[0], s.centre.0[1], s.centre.0[2], s.k))
        .collect();
    if centres.len() < 3 || a.collections.is_empty() {
        return notes;
    }
    centres.sort_by(|p, q| q.2.total_cmp(&p.2));
    let cz: Vec<(f64, f64, f64)> = centres.iter().map(|c| (c.0, c.1, c.2)).collect();
    let (z_top, z_bot) = (cz[0].2, cz[cz.len() - 1].2);
    // 1. The sagittal CSF reference.
    let probe = Profiles { sag, csf: 1.0 };
    let mut peaks: Vec<f64> = cz
        .iter()
        .filter_map(|&(x, y, z)| {
            let p = probe.raw(x, y, z)?;
            let c = p.len() / 2;
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "small"
            )]
            let w = (12.0 / STEP_MM) as usize;
            Some(
                p[c.saturating_sub(w)..(c + w + 1).min(p.len())]
                    .iter()
                    .copied()
                    .fold(0.0, f64::max),
            )
        })
        .filter(|v| *v > 0.0)
        .collect();
    if peaks.len() < 3 {
        return notes;
    }
    peaks.sort_by(f64::total_cmp);
    let csf = peaks[peaks.len() / 2];
    let prof = Profiles { sag, csf };
    let valley = opts.valley_fraction;
    // 2-3. Calibration rows over the overlap, one per sagittal row pitch.
    let dz = sag.geometry().spacing_mm()[1].clamp(0.5, 3.0);
    let lesion_z: Vec<(f64, usize, FluidPosition)> = a
        .collections
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.slices.iter().map(move |s| (s.z_mm, i, s.position)))
        .chain(
            a.mimics
                .iter()
                .flat_map(|l| l.slices.iter().map(|s| (s.z_mm, usize::MAX, s.position))),
        )
        .collect();
    let step_z = a
        .canal
        .slices
        .windows(2)
        .map(|w| (w[0].centre.0[2] - w[1].centre.0[2]).abs())
        .fold(0.0, f64::max)
        .max(1.0);
    let mut rows: Vec<(f64, RowRead)> = Vec::new();
    let mut z = z_top;
    while z >= z_bot {
        if let Some((x, y)) = centre_at(&cz, z) {
            if let Some(r) = prof.read(x, y, z, valley) {
                rows.push((z, r));
            }
        }
        z -= dz;
    }
    // Rows far from any axial lesion: where the sagittal must read no layer.
    let far: Vec<(f64, &RowRead)> = rows
        .iter()
        .filter(|(z, _)| lesion_z.iter().all(|l| (l.0 - z).abs() > step_z + 4.0))
        .map(|(z, r)| (*z, r))
        .collect();
    // Per side, the fraction of those rows reading a layer, preferably near `z_end` (the
    // anatomy there is more like the anatomy beyond: cord or cauda equina).
    let false_rate = |z_end: f64, t_max: f64| -> [f64; 2] {
        let local: Vec<&RowRead> = far
            .iter()
            .filter(|(z, _)| (z - z_end).abs() <= CALIBRATION_MM)
            .map(|(_, r)| *r)
            .collect();
        let pool: Vec<&RowRead> = if local.len() >= 10 {
            local
        } else {
            far.iter().map(|(_, r)| *r).collect()
        };
        let mut out = [0.0; 2];
        if pool.len() >= 10 {
            for (s, fr) in out.iter_mut().enumerate() {
                *fr = pool
                    .iter()
                    .filter(|r| r.layer[s] > 0.0 && r.layer[s] <= t_max)
                    .count() as f64
                    / pool.len() as f64;
            }
        }
        out
    };
    // 4. Follow each collection that reaches an end of the stack.
    let near_end = step_z * 1.5;
    for ci in 0..a.collections.len() {
        let zs: Vec<f64> = a.collections[ci].slices.iter().map(|s| s.z_mm).collect();
        let (lz_hi, lz_lo) = (
            zs.iter().copied().fold(f64::MIN, f64::max),
            zs.iter().copied().fold(f64::MAX, f64::min),
        );
        for (up, reaches) in [
            (true, z_top - lz_hi <= near_end),
            (false, lz_lo - z_bot <= near_end),
        ] {
            if !reaches {
                continue;
            }
            let z_end = if up { lz_hi } else { lz_lo };
            // The collection's position near this end.
            let l = &a.collections[ci];
            let near: Vec<&LesionSlice> = l
                .slices
                .iter()
                .filter(|s| !s.on_sagittal && (s.z_mm - z_end).abs() <= END_WINDOW_MM)
                .collect();
            let pos = dominant(&near);
            let all_sides = sides_of(pos);
            if all_sides.is_empty() {
                continue;
            }
            // Agreement near the end, and the sagittal thickness there.
            let own: Vec<&RowRead> = rows
                .iter()
                .filter(|(z, _)| {
                    (z - z_end).abs() <= HIT_WINDOW_MM
                        && ((up && *z <= z_end + 0.5) || (!up && *z >= z_end - 0.5))
                })
                .map(|(_, r)| r)
                .collect();
            let thick_of = |r: &RowRead, sides: &[usize], t_max: f64| {
                sides
                    .iter()
                    .map(|&s| r.layer[s])
                    .filter(|&t| t <= t_max)
                    .fold(0.0, f64::max)
            };
            let hit: Vec<f64> = own
                .iter()
                .map(|r| thick_of(r, all_sides, MAX_LAYER_MM))
                .filter(|&t| t > 0.0)
                .collect();
            if own.len() < 3 || (hit.len() as f64) < MIN_HIT_RATE * own.len() as f64 {
                notes.push(format!(
                    "collection at z {z_end:.0} mm reaches the end of the axial stack; the \
                     sagittal series does not show it clearly there ({} of {} rows): not followed",
                    hit.len(),
                    own.len()
                ));
                continue;
            }
            let t_ref = hit.iter().sum::<f64>() / hit.len() as f64;
            // The continuation of this collection: layers of about its thickness (thicker
            // bright stretches outside a dark line are CSF beyond the conus tip or a root).
            let t_max = (2.0 * t_ref).max(t_ref + 2.5).min(MAX_LAYER_MM);
            let false_rate = false_rate(z_end, t_max);
            let sides: Vec<usize> = all_sides
                .iter()
                .copied()
                .filter(|&s| false_rate[s] <= MAX_FALSE_RATE)
                .collect();
            if sides.is_empty() {
                notes.push(format!(
                    "collection at z {z_end:.0} mm reaches the end of the axial stack; not \
                     followed on the sagittal series (layers read there where the axial stack \
                     shows none: {:.0} % / {:.0} % of rows ventral / dorsal)",
                    100.0 * false_rate[0],
                    100.0 * false_rate[1]
                ));
                continue;
            }
            let thick = |r: &RowRead| thick_of(r, &sides, t_max);
            let t_ref = hit.iter().sum::<f64>() / hit.len() as f64;
            // Cross-section per mm of sagittal layer thickness near the end (mm), from the
            // axial slices' fluid pixels and the sagittal rows at their heights.
            let px_mm2 = a.pixel_area_mm2;
            let (mut sum_area, mut sum_t) = (0.0, 0.0);
            for s in &near {
                let row = rows
                    .iter()
                    .min_by(|p, q| (p.0 - s.z_mm).abs().total_cmp(&(q.0 - s.z_mm).abs()));
                let t = row.map_or(0.0, |(_, r)| thick(r));
                if t > 0.0 {
                    sum_area += l.pixels.iter().filter(|p| p.0 == s.k).count() as f64 * px_mm2;
                    sum_t += t;
                }
            }
            if sum_t <= 0.0 {
                continue;
            }
            let width = sum_area / sum_t;
            let key = l.key_slice;
            // Follow beyond the stack.
            let edge = if up { cz[0] } else { cz[cz.len() - 1] };
            let (x, mut y) = (edge.0, edge.1);
            let sign = if up { 1.0 } else { -1.0 };
            let mut z = edge.2;
            let mut last_z = z_end;
            let mut gap = 0.0;
            let mut followed: Vec<(f64, f64, f64)> = Vec::new();
            loop {
                z += sign * dz;
                let Some(r) = prof.read(x, y, z, valley) else {
                    break;
                };
                if let Some(m) = r.mid.filter(|m| m.abs() <= 3.0) {
                    y += 0.5 * m;
                }
                let t = thick(&r);
                if t > 0.0 {
                    followed.push((z, y, t));
                    gap = 0.0;
                    last_z = z;
                } else {
                    gap += dz;
                    if gap > MAX_GAP_MM {
                        break;
                    }
                }
            }
            if followed.is_empty() {
                continue;
            }
            // Length along the canal and volume of the part followed, from half a slice
            // beyond the stack's end slice (the axial analysis counted up to there), and from
            // the collection's own end to the stack's end.
            let mut len = 0.0;
            let mut vol = 0.0;
            let mut prev = (edge.2, edge.1);
            for &(fz, fy, t) in &followed {
                let ds = (fz - prev.0).hypot(fy - prev.1);
                len += ds;
                vol += width * t * ds;
                prev = (fz, fy);
            }
            let trim = (0.5 * step_z).min(len);
            vol *= (len - trim) / len.max(1e-9);
            len -= trim;
            let lead = (if up { z_top - z_end } else { z_end - z_bot }).max(0.0);
            let area_ref = width * t_ref;
            let l = &mut a.collections[ci];
            l.extent_mm += len + lead;
            l.volume_ml += (vol + area_ref * lead) / 1000.0;
            if up {
                l.z_range_mm = order_pair(l.z_range_mm, last_z, true);
            } else {
                l.z_range_mm = order_pair(l.z_range_mm, last_z, false);
            }
            for &(fz, _, t) in &followed {
                l.slices.push(LesionSlice {
                    k: key,
                    z_mm: fz,
                    thickness_mm: t,
                    position: pos,
                    fdss: false,
                    on_sagittal: true,
                });
            }
            l.sagittal_mm += len + lead;
            notes.push(format!(
                "collection followed on the sagittal series {:.0} mm beyond the {} end of the \
                 axial stack (to z {last_z:.0} mm; {:.1} mL added, from its cross-section at the \
                 stack end)",
                len + lead,
                if up { "cranial" } else { "caudal" },
                (vol + area_ref * lead) / 1000.0
            ));
        }
    }
    notes
}

/// Replace the cranial (`up`) or caudal end of a `(z at k0, z at k1)` pair by `z`.
fn order_pair(p: (f64, f64), z: f64, up: bool) -> (f64, f64) {
    let first_is_hi = p.0 >= p.1;
    match (up, first_is_hi) {
        (true, true) | (false, false) => (z, p.1),
        _ => (p.0, z),
    }
}

/// The most frequent position among slices (ties: circumferential, ventral, dorsal, lateral).
fn dominant(ss: &[&LesionSlice]) -> FluidPosition {
    [
        FluidPosition::Circumferential,
        FluidPosition::Ventral,
        FluidPosition::Dorsal,
        FluidPosition::Lateral,
    ]
    .into_iter()
    .max_by_key(|&p| ss.iter().filter(|s| s.position == p).count())
    .unwrap_or(FluidPosition::Ventral)
}
