//! Dura over the cerebral convexity: pachymeningeal enhancement and subdural fluid from a
//! pre- and a post-contrast T1 (clinical.md §4).
//!
//! Both volumes are sampled in patient coordinates (no registration beyond the shared patient
//! frame: the two series of one session). Intensities are divided by each volume's own brain
//! reference (the median of the bright half of a sphere around the head centre), so vendors
//! and scaling do not matter. Rays leave the head centre over the supratentorial convexity
//! (elevation 25-75 degrees above the axial plane, away from the midline falx and sagittal
//! sinus). On each ray the enhancement is post minus pre, the post-contrast samples divided by
//! their ratio to the pre-contrast ones in tissue that does not enhance on that ray (so the two
//! series' bias fields cancel), smoothed `[1 2 1]`. From inside out, the first shell that
//! enhances (above [`ConvexityOptions::dura_enhancement`] of the brain reference and at least
//! half the ray's strongest enhancement) is the dura: the brain itself does not enhance. Its
//! thickness (width at half its height above the fluid under it), its post-contrast brightness
//! relative to the brain, and the fluid-dark gap between it and the cortex (pre-contrast below
//! [`ConvexityOptions::fluid_level`]) are measured per ray.
//!
//! The extra-axial fluid thickness of a ray runs from the brain surface (the pre-contrast
//! profile crossing the fluid level) to the inner surface of the dura: the enhancement peak
//! (the dura's centre, sub-sample) minus half the dura's thickness. A normal dura (about 1 mm)
//! is thinner than the voxels, so its half-maximum width is mostly blur: the study's median
//! width with the voxel size and the ray smoothing taken out in quadrature, at least
//! [`ConvexityOptions::thinnest_dura_mm`]. A side's thickness is the upper quartile over its
//! rays (a crescent thins towards its edges): the
//! collection plus whatever subarachnoid fluid remains under it (under a collection the sulci
//! are effaced; over a normal brain this is the subarachnoid space itself).
//!
//! * Pachymeningeal enhancement (Bern: smooth, diffuse): at least
//!   [`ConvexityOptions::min_fraction`] of the rays show a dura at least
//!   [`ConvexityOptions::min_dura_mm`] thick and brighter than the brain reference.
//! * Subdural fluid: an extra-axial fluid gap of at least [`ConvexityOptions::min_gap_mm`] on
//!   at least [`ConvexityOptions::min_subdural_fraction`] of the rays of one side (thinner
//!   collections are measured but not told from a wide subarachnoid space). A crescent covers
//!   only part of a side's convexity (thickest laterally and high), so fewer rays need to agree
//!   than for the diffuse enhancement.
//!
//! A normal, thin, faint dura gives no enhancing shell on most rays: that is a negative, not a
//! failure. Without a contrast and a pre-contrast T1 both signs are not assessable (with the
//! reason): scalp, marrow and fat are bright on T1 and only the enhancement separates the dura
//! from them.

use csfleak_volume::{DVec3, PointLps, Volume, VoxelIdx};
use serde::Serialize;

use crate::bern::Sign;
use crate::midsagittal::MidsagittalPlane;

/// Options of [`measure_convexity`].
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ConvexityOptions {
    /// Post minus pre (in brain-reference units) from which a voxel counts as enhancing dura
    /// (a normal thin dura enhances faintly; the brain does not).
    pub dura_enhancement: f64,
    /// A dura at least this thick (mm, half-maximum width) counts as thickened.
    pub min_dura_mm: f64,
    /// Pre-contrast level (brain-reference units) below which a voxel counts as fluid.
    pub fluid_level: f64,
    /// An extra-axial fluid gap at least this wide (mm) counts as subdural fluid.
    pub min_gap_mm: f64,
    /// Fraction of rays that must agree for a diffuse sign.
    pub min_fraction: f64,
    /// Fraction band around `min_fraction` flagged as borderline.
    pub borderline_band: f64,
    /// Fraction of one side's rays with a fluid gap of at least `min_gap_mm` from which that
    /// side has subdural fluid. On two independent phantom generators normal brains reached
    /// 0.20 (this crate's, 2 mm voxels) and 0.06 (the other), collections 3-6 mm thick over
    /// part of the convexity 0.30-0.49 (the other) and collections of 5 mm or more over the
    /// whole convexity 0.24-1.0 (this crate's).
    pub min_subdural_fraction: f64,
    /// Fraction band around `min_subdural_fraction` flagged as borderline.
    pub subdural_borderline_band: f64,
    /// The thinnest dura assumed (mm) when the enhancing shell is too thin to measure: the
    /// subdural thickness runs from the brain surface to the dura's inner surface, half this
    /// inward of the enhancement peak.
    pub thinnest_dura_mm: f64,
    /// Blur (mm, half-maximum width) the ray's profile smoothing adds to a thin shell; with the
    /// voxel size it is taken out of the dura's measured width.
    pub profile_blur_mm: f64,
}

impl Default for ConvexityOptions {
    fn default() -> Self {
        Self {
            dura_enhancement: 0.08,
            min_dura_mm: 1.5,
            fluid_level: 0.5,
            min_gap_mm: 5.0,
            min_fraction: 0.5,
            borderline_band: 0.15,
            min_subdural_fraction: 0.3,
            subdural_borderline_band: 0.1,
            thinnest_dura_mm: 1.0,
            profile_blur_mm: 0.8,
        }
    }
}

/// Per-side subdural measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubduralSide {
    /// Rays with a dura on this side.
    pub rays: usize,
    /// Fraction of them with a fluid gap of at least `min_gap_mm`.
    pub fraction: f64,
    /// Extra-axial fluid thickness between the dura's inner surface and the cortex, upper
    /// quartile over the rays of this side (subdural plus subarachnoid fluid, mm; 0 on rays without
    /// fluid), `None` when no ray found a dura.
    pub thickness_mm: Option<f64>,
}

/// What the rays found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvexityMeasurement {
    /// Rays cast.
    pub rays: usize,
    /// Rays on which an enhancing shell (dura) was found.
    pub rays_with_dura: usize,
    /// Fraction of all rays with a thick, bright dura.
    pub thick_bright_fraction: f64,
    /// Median post-contrast dura peak / brain reference over rays with a dura.
    pub dura_to_brain_ratio: Option<f64>,
    /// Median dura thickness (mm) over rays with a dura.
    pub dura_thickness_mm: Option<f64>,
    /// Subdural gap, right then left.
    pub subdural: [SubduralSide; 2],
    /// Centre the rays left from (patient LPS).
    pub centre: PointLps,
    /// Unit vectors towards patient left (normal of the midsagittal plane) and superior
    /// (within it), for the coronal overlay.
    #[serde(skip)]
    pub axes: [DVec3; 2],
    /// Dural shell points (patient LPS) and whether each ray was positive, for the overlay.
    #[serde(skip)]
    pub shell: Vec<(PointLps, bool)>,
    /// Inner edge of the extra-axial gap where a subdural gap was found (patient LPS), for
    /// the overlay.
    #[serde(skip)]
    pub gaps: Vec<(PointLps, PointLps)>,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// The upper quartile: where a crescent-shaped collection is thick (it thins towards its
/// edges, where some rays cross it).
fn upper_quartile(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[(v.len() - 1) * 3 / 4])
}

/// Head centre (centroid of the foreground) and a brain reference intensity.
pub(crate) fn centre_and_reference(v: &Volume) -> Option<(DVec3, f64)> {
    let data = v.data();
    let n = data.len();
    if n == 0 {
        return None;
    }
    let stride = (n / 200_000).max(1);
    let mut vals: Vec<f32> = data.iter().step_by(stride).copied().collect();
    vals.retain(|x| x.is_finite());
    if vals.is_empty() {
        return None;
    }
    vals.sort_by(f32::total_cmp);
    let p99 = f64::from(vals[(vals.len() - 1) * 99 / 100]);
    if p99 <= 0.0 {
        return None;
    }
    let thr = 0.15 * p99;
    let g = v.geometry();
    let [ni, nj, nk] = v.dims();
    let mut fg = Vec::new();
    // Every `step`-th voxel along each axis: about 200 000 samples.
    let mut step = 1_usize;
    while (ni / step) * (nj / step) * (nk / step) > 200_000 {
        step += 1;
    }
    for i in (0..ni).step_by(step) {
        for j in (0..nj).step_by(step) {
            for k in (0..nk).step_by(step) {
                if f64::from(data[[k, j, i]]) > thr {
                    fg.push(g.voxel_center(VoxelIdx::new(i, j, k)).to_dvec3());
                }
            }
        }
    }
    if fg.len() < 10 {
        return None;
    }
    // The vertex (robust top of the head) and the level ~6.5 cm below it: the centre of the
    // supratentorial brain in an adult head, whatever the coverage of neck and face.
    let mut zs: Vec<f64> = fg.iter().map(|p| p.z).collect();
    let top = {
        zs.sort_by(f64::total_cmp);
        zs[(zs.len() - 1) * 995 / 1000]
    };
    let zc = top - 65.0;
    let level: Vec<DVec3> = fg
        .iter()
        .copied()
        .filter(|p| (p.z - zc).abs() < 10.0)
        .collect();
    if level.len() < 10 {
        return None;
    }
    let c = level.iter().copied().sum::<DVec3>() / level.len() as f64;
    let mut sphere = Vec::new();
    for i in (0..ni).step_by(step) {
        for j in (0..nj).step_by(step) {
            for k in (0..nk).step_by(step) {
                let p = g.voxel_center(VoxelIdx::new(i, j, k)).to_dvec3();
                if p.distance(c) < 30.0 {
                    sphere.push(f64::from(data[[k, j, i]]));
                }
            }
        }
    }
    let m = median(&mut sphere)?;
    let mut bright: Vec<f64> = sphere.into_iter().filter(|x| *x >= 0.5 * m).collect();
    let r = median(&mut bright)?;
    (r > 0.0).then_some((c, r))
}

/// Scale of the post-contrast intensities relative to the pre-contrast ones: the median
/// post/pre ratio of brain-bright points around the head centre (most of the brain does not
/// enhance).
pub(crate) fn post_scale(pre: &Volume, post: &Volume, c: DVec3, bp: f64) -> Option<f64> {
    let mut ratios = Vec::new();
    for x in (-40..=40).step_by(4) {
        for y in (-40..=40).step_by(4) {
            for z in (-30..=40).step_by(4) {
                let p =
                    PointLps::from_dvec3(c + DVec3::new(f64::from(x), f64::from(y), f64::from(z)));
                if let (Some(a), Some(b)) = (pre.sample(p), post.sample(p)) {
                    let (a, b) = (f64::from(a), f64::from(b));
                    if a > 0.6 * bp && b > 0.0 {
                        ratios.push(b / a);
                    }
                }
            }
        }
    }
    if ratios.len() < 100 {
        return None;
    }
    median(&mut ratios)
}

struct Ray {
    /// Dura: half-maximum width (mm), post-contrast peak (brain units), centre.
    dura: Option<(f64, f64, DVec3)>,
    /// Extra-axial fluid: distance from the brain surface to the centre of the dura (mm),
    /// the brain surface point, the unit ray direction.
    gap: Option<(f64, DVec3, DVec3)>,
    right: bool,
}

#[allow(
    clippy::too_many_arguments,
    reason = "one ray: volumes, their references, geometry and options"
)]
fn cast(
    pre: &Volume,
    post: &Volume,
    bp: f64,
    bq: f64,
    c: DVec3,
    d: DVec3,
    right: bool,
    o: &ConvexityOptions,
) -> Option<Ray> {
    const STEP: f64 = 0.5;
    let mut p = Vec::new();
    let mut q = Vec::new();
    let mut r = 10.0;
    while r < 130.0 {
        let x = PointLps::from_dvec3(c + d * r);
        match (pre.sample(x), post.sample(x)) {
            (Some(a), Some(b)) => {
                p.push(f64::from(a) / bp);
                q.push(f64::from(b) / bq);
            }
            _ => break,
        }
        r += STEP;
    }
    let out = q.iter().rposition(|x| *x > 0.15)?;
    if out < 20 {
        return None;
    }
    let end = out.saturating_sub(4);
    // Post over pre along this ray in tissue that does not enhance (brain, marrow, fat: bright
    // before contrast): the two series' different bias fields cancel out of the enhancement.
    let mut ratios: Vec<f64> = (0..end)
        .filter(|i| p[*i] > 0.6)
        .map(|i| q[i] / p[i])
        .collect();
    let k = median(&mut ratios).filter(|k| *k > 0.0).unwrap_or(1.0);
    let e: Vec<f64> = (0..end).map(|i| q[i] / k - p[i]).collect();
    if e.len() < 3 {
        return None;
    }
    // Enhancement smoothed along the ray ([1 2 1] / 4) to find the shell.
    let es: Vec<f64> = (0..e.len())
        .map(|i| {
            let a = e[i.saturating_sub(1)];
            let b = e[(i + 1).min(e.len() - 1)];
            0.25 * (a + 2.0 * e[i] + b)
        })
        .collect();
    let pos = |i: f64| c + d * (10.0 + STEP * i);
    // The dura: the innermost enhancing shell at least half as strong as the strongest
    // enhancement on the ray inside the scalp (brain, fluid, bone, marrow and fat do not
    // enhance; the scalp is excluded by `end`; soft tissue outside the skull enhances less).
    let strongest = es.iter().copied().fold(f64::MIN, f64::max);
    let floor = o.dura_enhancement.max(0.5 * strongest);
    let Some(pk) =
        (1..es.len() - 1).find(|&i| es[i] >= floor && es[i] >= es[i - 1] && es[i] >= es[i + 1])
    else {
        return Some(Ray {
            dura: None,
            gap: None,
            right,
        });
    };
    let peak = es[pk];
    let half_max = |level: f64| {
        let mut lo = pk;
        while lo > 0 && es[lo - 1] >= level {
            lo -= 1;
        }
        let mut hi = pk;
        while hi + 1 < es.len() && es[hi + 1] >= level {
            hi += 1;
        }
        (lo, hi)
    };
    let half = 0.5 * peak;
    let (lo, _) = half_max(half);
    // The extra-axial gap: fluid-dark pre-contrast samples inward of the dura, up to the
    // first brain-level sample.
    let mut g = lo;
    while g > 0 && p[g - 1] < o.fluid_level && es[g - 1] < half {
        g -= 1;
    }
    // The dura's width at half its height above the fluid under it (a collection may enhance
    // a little itself), both crossings interpolated between samples.
    let mut under: Vec<f64> = es[g..lo].to_vec();
    let base = median(&mut under).unwrap_or(0.0).clamp(0.0, half);
    let level = 0.5 * (peak + base);
    let (lo, hi) = half_max(level);
    let lo_f = if lo > 0 {
        lo as f64 - (es[lo] - level) / (es[lo] - es[lo - 1]).max(1e-9)
    } else {
        0.0
    };
    let hi_f = if hi + 1 < es.len() {
        hi as f64 + (es[hi] - level) / (es[hi] - es[hi + 1]).max(1e-9)
    } else {
        hi as f64
    };
    let thickness = STEP * (hi_f - lo_f);
    let qpk = (lo..=hi).map(|i| q[i]).fold(f64::MIN, f64::max);
    let gap = (g > 0 && g < lo && p[g - 1] >= o.fluid_level).then(|| {
        let brain = (g - 1) as f64 + (p[g - 1] - o.fluid_level) / (p[g - 1] - p[g]).max(1e-9);
        // Dura centre: parabola through the smoothed peak and its neighbours.
        let (a, b, cc) = (es[pk - 1], es[pk], es[pk + 1]);
        let den = a - 2.0 * b + cc;
        let centre = pk as f64
            + if den < -1e-12 {
                0.5 * (a - cc) / den
            } else {
                0.0
            };
        (STEP * (centre - brain), pos(brain), d)
    });
    let pk_pos = pos(pk as f64);
    Some(Ray {
        dura: Some((thickness, qpk, pk_pos)),
        gap,
        right,
    })
}

/// Measure the convexity dura and subdural gap; `Err(reason)` when it cannot be assessed.
pub fn measure_convexity(
    pre: &Volume,
    post: &Volume,
    plane: Option<&MidsagittalPlane>,
    o: &ConvexityOptions,
) -> Result<ConvexityMeasurement, String> {
    let (c, bp) = centre_and_reference(pre)
        .ok_or("no head found on the pre-contrast T1 (empty or flat image)")?;
    let bq = bp
        * post_scale(pre, post, c, bp)
            .ok_or("the contrast T1 does not overlap the pre-contrast T1 around the head centre")?;
    let left = plane
        .and_then(|p| p.normal.to_dvec3().try_normalize())
        .unwrap_or(DVec3::X);
    let sup = (DVec3::Z - left * DVec3::Z.dot(left))
        .try_normalize()
        .ok_or("the midsagittal plane is axial: no superior direction within it")?;
    let ant = left.cross(sup);
    let mut rays = Vec::new();
    let min_lateral = 15f64.to_radians().sin();
    for el in (25..=75).step_by(5) {
        let el = f64::from(el).to_radians();
        for az in (0..360).step_by(6) {
            let az = f64::from(az).to_radians();
            let lat = el.cos() * az.sin();
            if lat.abs() < min_lateral {
                continue;
            }
            // Unit length: `ant`, `left` and `sup` are orthonormal.
            let d = el.cos() * (az.cos() * ant + az.sin() * left) + el.sin() * sup;
            if let Some(r) = cast(pre, post, bp, bq, c, d, lat < 0.0, o) {
                rays.push(r);
            }
        }
    }
    if rays.len() < 50 {
        return Err(format!(
            "only {} rays over the convexity stayed inside both T1 volumes",
            rays.len()
        ));
    }
    let n = rays.len();
    let with: Vec<&Ray> = rays.iter().filter(|r| r.dura.is_some()).collect();
    let positive = with
        .iter()
        .filter(|r| {
            r.dura
                .is_some_and(|(t, q, _)| t >= o.min_dura_mm && q >= 1.0)
        })
        .count();
    let mut ratios: Vec<f64> = with.iter().filter_map(|r| r.dura.map(|d| d.1)).collect();
    let mut thick: Vec<f64> = with.iter().filter_map(|r| r.dura.map(|d| d.0)).collect();
    let dura_thickness_mm = median(&mut thick);
    let half_dura = half_dura_mm(dura_thickness_mm, post, o);
    let fluid = |r: &Ray| r.gap.map_or(0.0, |g| (g.0 - half_dura).max(0.0));
    let side = |right: bool| {
        let on: Vec<&&Ray> = with.iter().filter(|r| r.right == right).collect();
        let mut gaps: Vec<f64> = on.iter().map(|r| fluid(r)).collect();
        let wide = gaps.iter().filter(|g| **g >= o.min_gap_mm).count();
        SubduralSide {
            rays: on.len(),
            fraction: wide as f64 / on.len().max(1) as f64,
            thickness_mm: upper_quartile(&mut gaps),
        }
    };
    Ok(ConvexityMeasurement {
        centre: PointLps::from_dvec3(c),
        axes: [left, sup],
        rays: n,
        rays_with_dura: with.len(),
        thick_bright_fraction: positive as f64 / n as f64,
        dura_to_brain_ratio: median(&mut ratios),
        dura_thickness_mm,
        subdural: [side(true), side(false)],
        shell: rays
            .iter()
            .filter_map(|r| {
                r.dura
                    .map(|(t, q, p)| (PointLps::from_dvec3(p), t >= o.min_dura_mm && q >= 1.0))
            })
            .collect(),
        gaps: rays
            .iter()
            .filter(|r| fluid(r) >= o.min_gap_mm)
            .filter_map(|r| r.gap.map(|g| (g, fluid(r))))
            .map(|(g, f)| {
                (
                    PointLps::from_dvec3(g.1),
                    PointLps::from_dvec3(g.1 + g.2 * f),
                )
            })
            .collect(),
    })
}

/// Half the dura's thickness (mm), to go from its centre (where the enhancement peaks) to
/// its inner surface: the median half-maximum width of the enhancing shell with the blur of
/// the contrast T1 taken out (`sqrt(width^2 - blur^2)`, blur = the mean voxel size plus the
/// ray's smoothing), never less than [`ConvexityOptions::min_dura_mm`] / 2 ... see the option.
fn half_dura_mm(width: Option<f64>, post: &Volume, o: &ConvexityOptions) -> f64 {
    let s = post.geometry().spacing_mm();
    let blur = ((s[0] + s[1] + s[2]) / 3.0).hypot(o.profile_blur_mm);
    let w = width.unwrap_or(0.0);
    0.5 * (w * w - blur * blur)
        .max(0.0)
        .sqrt()
        .max(o.thinnest_dura_mm)
}

fn confidence(fraction: f64, threshold: f64) -> f64 {
    ((fraction - threshold).abs() / threshold.max(1.0 - threshold)).clamp(0.0, 1.0)
}

/// The pachymeningeal enhancement sign from the measurement.
pub fn enhancement_sign(m: &ConvexityMeasurement, o: &ConvexityOptions) -> Sign {
    let f = m.thick_bright_fraction;
    Sign {
        present: Some(f >= o.min_fraction),
        measure: m.dura_to_brain_ratio,
        measure_name: Some("dura_to_brain_post_contrast_ratio".to_owned()),
        threshold: Some(1.0),
        confidence: Some(confidence(f, o.min_fraction)),
        borderline: (f - o.min_fraction).abs() <= o.borderline_band,
        side: None,
        reason: Some(format!(
            "thick (>= {:.1} mm) dura brighter than brain on {:.0} % of {} convexity rays \
             (>= {:.0} % needed); median dura thickness {}",
            o.min_dura_mm,
            100.0 * f,
            m.rays,
            100.0 * o.min_fraction,
            m.dura_thickness_mm
                .map_or_else(|| "n/a".to_owned(), |t| format!("{t:.1} mm")),
        )),
    }
}

/// The subdural fluid sign from the measurement.
pub fn subdural_sign(m: &ConvexityMeasurement, o: &ConvexityOptions) -> Sign {
    let [r, l] = &m.subdural;
    let pos_r = r.fraction >= o.min_subdural_fraction && r.rays > 0;
    let pos_l = l.fraction >= o.min_subdural_fraction && l.rays > 0;
    let best = r.fraction.max(l.fraction);
    if r.rays + l.rays == 0 {
        return Sign::not_assessable(
            "no dura found over the convexity (no enhancing shell): the extra-axial space \
             cannot be delimited",
        );
    }
    let side = match (pos_r, pos_l) {
        (true, true) => Some("bilateral".to_owned()),
        (true, false) => Some("right".to_owned()),
        (false, true) => Some("left".to_owned()),
        (false, false) => None,
    };
    let thickness = match (pos_r, pos_l) {
        (true, true) => r
            .thickness_mm
            .into_iter()
            .chain(l.thickness_mm)
            .reduce(f64::max),
        (true, false) => r.thickness_mm,
        (false, true) => l.thickness_mm,
        (false, false) => None,
    };
    Sign {
        present: Some(pos_r || pos_l),
        measure: thickness,
        measure_name: Some("thickness_mm".to_owned()),
        threshold: Some(o.min_gap_mm),
        confidence: Some(confidence(best, o.min_subdural_fraction)),
        borderline: (best - o.min_subdural_fraction).abs() <= o.subdural_borderline_band,
        side,
        reason: Some(format!(
            "extra-axial fluid >= {:.1} mm under the dura on {:.0} % of right and {:.0} % of \
             left rays ({} / {}; {:.0} % of one side needed)",
            o.min_gap_mm,
            100.0 * r.fraction,
            100.0 * l.fraction,
            r.rays,
            l.rays,
            100.0 * o.min_subdural_fraction
        )),
    }
}
