//! Automatic vertebral levels on an axial T2 stack: discs along the anterior column.
//!
//! On T2 (fat-suppressed or not) the disc nucleus is brighter than the vertebral marrow, so
//! the signal of a small box ventral to the dural sac (in the anterior column, past the
//! ventral epidural space) peaks at every disc along the stack. Peaks are counted from an end
//! of the spine only where the image shows that end ([`crate::levels::EndsInView`]):
//!
//! * the sacrum below the most caudal disc: no cord in the sac there (the centre of the sac
//!   is CSF between the roots of the cauda equina), and the sac ending or tapering 15-80 mm
//!   below that disc, or more than a disc spacing of disc-free column with no disc cut by
//!   the end of the stack;
//! * C2 above the most cranial disc: the cord, and more than 1.6 disc spacings of disc-free
//!   column with the canal in view;
//! * both (a C2-to-sacrum stack), on shorter evidence at each end (C2 over 1.2 spacings, S1
//!   over 0.8), when the discs between fit the vertebral spacing from C2/3 to L5/S1 with at
//!   most a few missed or spurious detections (`count_from_both_ends` in the levels module).
//!
//! The counted labels must fit the typical ratios of vertebral spacing at every disc pair,
//! with a plausible patient scale, and put the conus (where the cord ends), when in view,
//! between T12 and L3; otherwise the disc positions are kept unlabelled and the levels are
//! "not counted" with the reason. Signals are relative to the intrathecal CSF reference only.

use csfleak_volume::{DVec3, Volume};

use crate::canal::CanalModel;
use crate::levels::{EndsInView, Landmark, LevelScale, count_from_ends, median_of};

/// Method name of the automatic labelling.
pub(crate) const METHOD: &str = "t2_axial_anterior_column_discs/1";

/// Per found slice: the patient z where the plane of the disc or body seen in the anterior
/// column crosses the canal ([`crate::levels::disc_height_at_canal`]; the sac centre's z on a
/// slice perpendicular to the canal) and the anterior-column signal / CSF.
fn column_profile(t2: &Volume, canal: &CanalModel) -> Vec<(usize, f64, f64)> {
    let g = t2.geometry();
    let sp = g.spacing_mm();
    let vfw = g.voxel_from_world();
    let csf = f64::from(canal.csf_reference.max(f32::MIN_POSITIVE));
    // Patient anterior (-y) and left (+x) as in-plane pixel steps per mm.
    let dir = |w: DVec3| {
        let d = vfw.transform_vector3(w);
        let (di, dj) = (d.x, d.y);
        let len = (di * sp[0]).hypot(dj * sp[1]);
        if len < 1e-6 {
            None
        } else {
            Some([di / len, dj / len])
        }
    };
    let (Some(ant), Some(lat)) = (dir(DVec3::NEG_Y), dir(DVec3::X)) else {
        return Vec::new();
    };
    let centres: Vec<DVec3> = canal
        .slices
        .iter()
        .filter(|s| s.found)
        .map(|s| s.centre.to_dvec3())
        .collect();
    let wfv = g.world_from_voxel;
    canal
        .slices
        .iter()
        .filter(|s| s.found)
        .filter_map(|s| {
            let c = vfw.transform_point3(s.centre.to_dvec3());
            let k = s.k as f64;
            let at = |a: f64, l: f64| {
                DVec3::new(
                    c.x + a * ant[0] + l * lat[0],
                    c.y + a * ant[1] + l * lat[1],
                    k,
                )
            };
            let in_sac = |a: f64| {
                let p = at(a, 0.0);
                match (
                    csfleak_volume::index_of(p.y.round()),
                    csfleak_volume::index_of(p.x.round()),
                ) {
                    (Some(r), Some(cc)) => s.sac.get([r, cc]).copied().unwrap_or(false),
                    _ => false,
                }
            };
            let mut edge = 0.0;
            while edge < 30.0 && in_sac(edge + 0.5) {
                edge += 0.5;
            }
            let mut vals = Vec::new();
            let mut a = edge + 7.0;
            while a <= edge + 17.0 {
                let mut l = -4.0;
                while l <= 4.0 {
                    if let Some(v) = t2.sample_voxel(at(a, l)) {
                        vals.push(f64::from(v) / csf);
                    }
                    l += 1.0;
                }
                a += 1.0;
            }
            if vals.is_empty() {
                return None;
            }
            vals.sort_by(f64::total_cmp);
            // The disc's height where its plane (perpendicular to the canal) crosses the
            // canal, not where the slice crosses the column.
            let d = edge + 12.0;
            let offset = wfv.transform_vector3(DVec3::new(ant[0] * d, ant[1] * d, 0.0));
            let centre = s.centre.to_dvec3();
            let t = crate::levels::canal_tangent_at(&centres, centre.z);
            let z = crate::levels::disc_height_at_canal(centre, offset, t);
            Some((s.k, z, vals[vals.len() / 2]))
        })
        .collect()
}

/// Disc centres (patient z, cranial first) from the anterior-column profile.
pub(crate) fn find_discs(profile: &[(usize, f64, f64)]) -> Vec<f64> {
    let n = profile.len();
    let steps: Vec<f64> = profile
        .windows(2)
        .map(|w| (w[1].1 - w[0].1).abs())
        .collect();
    // The bodies are looked for over +-14 mm, and at least three slices on each side: thick
    // slices spread a tall lumbar disc over three of them.
    let reach = median_of(&steps).map_or(14.0, |s| (3.0 * s + 0.5).max(14.0));
    let mut discs = Vec::new();
    for i in 0..n {
        let (_, z, v) = profile[i];
        // Local maximum over +-8 mm, standing out by 0.05 of CSF above the darkest signal
        // within `reach` on both sides (the bodies; thick slices average a darker lumbar
        // nucleus with the endplates, and a spurious peak is caught by the spacing checks).
        let near = |r: f64| {
            profile
                .iter()
                .filter(move |p| (p.1 - z).abs() <= r && (p.1 - z).abs() > 1e-9)
        };
        if near(8.0).any(|p| p.2 > v) {
            continue;
        }
        let above = profile
            .iter()
            .filter(|p| p.1 > z && p.1 - z <= reach)
            .map(|p| p.2)
            .fold(f64::INFINITY, f64::min);
        let below = profile
            .iter()
            .filter(|p| p.1 < z && z - p.1 <= reach)
            .map(|p| p.2)
            .fold(f64::INFINITY, f64::min);
        if !above.is_finite() || !below.is_finite() {
            continue;
        }
        if v - above.max(below) < 0.05 {
            continue;
        }
        // Parabolic refinement on the neighbours (slices are sorted along the stack).
        let zz = if i > 0 && i + 1 < n {
            let (a, b, c) = (profile[i - 1].2, v, profile[i + 1].2);
            let den = a - 2.0 * b + c;
            let off = if den.abs() > 1e-9 {
                (0.5 * (a - c) / den).clamp(-0.5, 0.5)
            } else {
                0.0
            };
            if off >= 0.0 {
                z + off * (profile[i + 1].1 - z)
            } else {
                z - off * (profile[i - 1].1 - z)
            }
        } else {
            z
        };
        if discs.last().is_none_or(|&d: &f64| (d - zz).abs() > 8.0) {
            discs.push(zz);
        }
    }
    discs.sort_by(|a, b| b.total_cmp(a));
    discs
}

/// Per slice with a sac: `(z, fraction of the sac's central zone that is not fluid)`. The
/// central zone (within 0.4 of the sac's equivalent radius from its centre) lies inside the
/// cord wherever there is a cord; below the conus it is CSF between the roots of the cauda
/// equina, which lie along the dependent wall.
///
/// "Not fluid" is below 0.6 of the slice's own CSF signal (the 90th percentile inside the
/// sac): a surface coil's sensitivity changes along a long stack, and the cord, blurred by
/// thick slices, reaches half of the CSF signal.
fn cord_profile(t2: &Volume, canal: &CanalModel) -> Vec<(f64, f64)> {
    let g = t2.geometry();
    let sp = g.spacing_mm();
    let vfw = g.voxel_from_world();
    let data = t2.data();
    let (_, nr, nc) = data.dim();
    canal
        .slices
        .iter()
        .filter(|s| s.found && s.sac_area_mm2 > 0.0)
        .filter_map(|s| {
            let c = vfw.transform_point3(s.centre.to_dvec3());
            let r_eq = (s.sac_area_mm2 / std::f64::consts::PI).sqrt();
            let window = |r_mm: f64| -> Option<(usize, usize, usize, usize)> {
                let (hr, hc) = (r_mm / sp[1], r_mm / sp[0]);
                Some((
                    csfleak_volume::index_of((c.y - hr).floor().max(0.0))?,
                    csfleak_volume::index_of((c.y + hr).ceil().max(0.0))?.min(nr.checked_sub(1)?),
                    csfleak_volume::index_of((c.x - hc).floor().max(0.0))?,
                    csfleak_volume::index_of((c.x + hc).ceil().max(0.0))?.min(nc.checked_sub(1)?),
                ))
            };
            // The slice's CSF signal: 90th percentile of the sac's pixels.
            let (q0, q1, p0, p1) = window(2.5 * r_eq)?;
            let mut in_sac: Vec<f32> = Vec::new();
            for r in q0..=q1 {
                for cc in p0..=p1 {
                    if s.sac.get([r, cc]).copied().unwrap_or(false) {
                        in_sac.push(data[[s.k, r, cc]]);
                    }
                }
            }
            if in_sac.len() < 5 {
                return None;
            }
            let q = csfleak_volume::index_of(((in_sac.len() - 1) as f64 * 0.9).round())?
                .min(in_sac.len() - 1);
            let local = *in_sac.select_nth_unstable_by(q, f32::total_cmp).1;
            let dark = 0.6 * local;
            let r_mm = 0.4 * r_eq;
            let (mut n, mut n_dark) = (0usize, 0usize);
            let (r0, r1, c0, c1) = window(r_mm)?;
            for r in r0..=r1 {
                for cc in c0..=c1 {
                    let (dy, dx) = ((r as f64 - c.y) * sp[1], (cc as f64 - c.x) * sp[0]);
                    if dy.hypot(dx) > r_mm {
                        continue;
                    }
                    n += 1;
                    if data[[s.k, r, cc]] < dark {
                        n_dark += 1;
                    }
                }
            }
            (n >= 3).then(|| (s.centre.0[2], n_dark as f64 / n as f64))
        })
        .collect()
}

/// The automatic level scale of an axial T2 stack.
pub(crate) fn detect_levels(t2: &Volume, canal: &CanalModel) -> LevelScale {
    let slice_z = |k: usize| {
        t2.geometry()
            .world_from_voxel
            .transform_point3(DVec3::new(0.0, 0.0, k as f64))
            .z
    };
    let found: Vec<&crate::canal::CanalSlice> = canal.slices.iter().filter(|s| s.found).collect();
    let zs: Vec<f64> = (0..t2.dims()[2])
        .map(slice_z)
        .chain(found.iter().map(|s| s.centre.0[2]))
        .collect();
    let lo = zs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = zs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let covered = (lo, hi);
    let profile = column_profile(t2, canal);
    let discs = find_discs(&profile);
    if discs.len() < 2 {
        let unlabelled: Vec<Landmark> = discs.iter().map(|&z| Landmark::disc(z)).collect();
        return LevelScale::not_counted(
            covered,
            &unlabelled,
            METHOD,
            "fewer than two discs found along the anterior column",
        );
    }
    // Slice z of the stack's ends and of the sac's ends.
    let nk = canal.slices.len();
    let (z_first, z_last) = (slice_z(0), slice_z(nk.saturating_sub(1)));
    let found_z: Vec<f64> = found.iter().map(|s| s.centre.0[2]).collect();
    let disc_profile: Vec<(f64, f64)> = profile.iter().map(|p| (p.1, p.2)).collect();
    let cord = cord_profile(t2, canal);
    let area: Vec<(f64, f64)> = found
        .iter()
        .map(|s| (s.centre.0[2], s.sac_area_mm2))
        .collect();
    let ends = EndsInView {
        discs_z_mm: &discs,
        stack_z_mm: (z_first.min(z_last), z_first.max(z_last)),
        sac_z_mm: (
            found_z.iter().copied().fold(f64::INFINITY, f64::min),
            found_z.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ),
        step_mm: t2.geometry().spacing_mm()[2],
        disc_profile_mm: &disc_profile,
        cord_fraction_mm: &cord,
        sac_area_mm: &area,
    };
    count_from_ends(&ends, covered, METHOD)
}
