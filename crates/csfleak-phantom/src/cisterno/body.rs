//! The body model of the cisternography phantom: outline, spinal levels, and the point sources
//! that stand for each compartment.
//!
//! Patient LPS, millimetres. The foramen magnum is at `z = 0`; the patient lies supine, head
//! first. Every compartment is a cloud of weighted points whose weights sum to 1, so that
//! projecting it gives the image of one unit of activity.

use csfleak_volume::DVec3;
use serde::{Deserialize, Serialize};

/// Spinal levels from cranial to caudal, the vocabulary of the findings contract.
pub const SPINE_LEVELS: [&str; 25] = [
    "C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9",
    "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1",
];

/// Height of each level (vertebra plus the disc below), mm, in the order of [`SPINE_LEVELS`].
const LEVEL_HEIGHT_MM: [f64; 25] = [
    12.0, 22.0, 17.0, 17.0, 17.0, 17.0, 17.0, 21.0, 22.0, 22.0, 23.0, 23.0, 24.0, 24.0, 25.0, 25.0,
    26.0, 27.0, 28.0, 34.0, 35.0, 35.0, 35.0, 34.0, 30.0,
];

/// Index of a level name in [`SPINE_LEVELS`] (cranial = 0).
pub fn level_index(name: &str) -> Option<usize> {
    SPINE_LEVELS
        .iter()
        .position(|l| l.eq_ignore_ascii_case(name))
}

/// `(z_top, z_bottom)` of a level in mm (foramen magnum at 0, superior positive).
pub fn level_z_range(index: usize) -> Option<(f64, f64)> {
    if index >= SPINE_LEVELS.len() {
        return None;
    }
    let top: f64 = -LEVEL_HEIGHT_MM[..index].iter().sum::<f64>();
    Some((top, top - LEVEL_HEIGHT_MM[index]))
}

/// Patient side of a finding, in the findings vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Side {
    /// Patient left (+x).
    Left,
    /// Patient right (-x).
    Right,
    /// Both sides.
    Bilateral,
}

impl Side {
    /// The sign of x on this side (`0` for bilateral).
    fn sign(self) -> f64 {
        match self {
            Side::Left => 1.0,
            Side::Right => -1.0,
            Side::Bilateral => 0.0,
        }
    }
}

/// An axis-aligned ellipse of the body cross-section at one height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ellipse {
    pub(crate) cx: f64,
    pub(crate) cy: f64,
    pub(crate) ax: f64,
    pub(crate) by: f64,
}

impl Ellipse {
    /// The chord `[y_front, y_back]` at lateral position `x`, if `x` is inside.
    pub(crate) fn chord(&self, x: f64) -> Option<(f64, f64)> {
        let u = (x - self.cx) / self.ax;
        if u.abs() >= 1.0 {
            return None;
        }
        let h = self.by * (1.0 - u * u).sqrt();
        Some((self.cy - h, self.cy + h))
    }
}

/// Head ellipsoid: centre and semi-axes (mm).
const HEAD_CENTRE: [f64; 3] = [0.0, 5.0, 55.0];
const HEAD_SEMI: [f64; 3] = [75.0, 95.0, 100.0];
/// Lowest point of the trunk-and-legs model (soles).
const FEET_Z: f64 = -1560.0;
/// Height where the legs separate.
const CROTCH_Z: f64 = -800.0;

/// Trunk outline keys: `(z, half width, half depth)`, centre on `x = y = 0`.
const TRUNK: [(f64, f64, f64); 8] = [
    (-10.0, 55.0, 58.0),
    (-110.0, 60.0, 60.0),
    (-135.0, 180.0, 105.0),
    (-300.0, 160.0, 110.0),
    (-430.0, 145.0, 105.0),
    (-560.0, 160.0, 110.0),
    (-700.0, 175.0, 100.0),
    (CROTCH_Z, 170.0, 95.0),
];

/// Spinal canal depth keys: `(z, y of the canal centre)`.
const CANAL_Y: [(f64, f64); 6] = [
    (0.0, 18.0),
    (-110.0, 22.0),
    (-200.0, 50.0),
    (-450.0, 55.0),
    (-600.0, 62.0),
    (-660.0, 62.0),
];

fn lerp_table(table: &[(f64, f64)], z: f64) -> f64 {
    // Tables are sorted by decreasing z.
    let Some(first) = table.first() else {
        return 0.0;
    };
    if z >= first.0 {
        return first.1;
    }
    for w in table.windows(2) {
        let (z0, v0) = w[0];
        let (z1, v1) = w[1];
        if z <= z0 && z >= z1 {
            let t = (z0 - z) / (z0 - z1);
            return v0 + t * (v1 - v0);
        }
    }
    table.last().map_or(0.0, |l| l.1)
}

/// The y of the spinal canal centre at height `z`.
pub(crate) fn canal_y(z: f64) -> f64 {
    lerp_table(&CANAL_Y, z)
}

/// Half width of the thecal sac (mm) at height `z`: wider in the lumbar sac.
fn sac_half_width(z: f64) -> f64 {
    if z < -440.0 { 8.0 } else { 6.0 }
}

/// The body cross-section(s) at height `z` (head, trunk, or the two legs).
pub(crate) fn cross_sections(z: f64) -> Vec<Ellipse> {
    let mut out = Vec::new();
    let hz = (z - HEAD_CENTRE[2]) / HEAD_SEMI[2];
    let head = (hz.abs() < 1.0).then(|| {
        let s = (1.0 - hz * hz).sqrt();
        Ellipse {
            cx: HEAD_CENTRE[0],
            cy: HEAD_CENTRE[1],
            ax: HEAD_SEMI[0] * s,
            by: HEAD_SEMI[1] * s,
        }
    });
    if z > TRUNK[0].0 {
        out.extend(head);
        return out;
    }
    if z >= CROTCH_Z {
        let hw = lerp_table(&TRUNK.map(|t| (t.0, t.1)), z);
        let hd = lerp_table(&TRUNK.map(|t| (t.0, t.2)), z);
        let trunk = Ellipse {
            cx: 0.0,
            cy: 0.0,
            ax: hw,
            by: hd,
        };
        // Where the lower head overlaps the neck, keep the larger section.
        match head {
            Some(h) if h.ax > trunk.ax => out.push(h),
            _ => out.push(trunk),
        }
        return out;
    }
    if z >= FEET_Z {
        let t = (CROTCH_Z - z) / (CROTCH_Z - FEET_Z);
        let r = 70.0 - 25.0 * t;
        for sign in [-1.0, 1.0] {
            out.push(Ellipse {
                cx: sign * 85.0,
                cy: 0.0,
                ax: r,
                by: r,
            });
        }
    }
    out
}

/// The body chord `[y_front, y_back]` through `(x, z)`, if inside the body.
pub(crate) fn chord(x: f64, z: f64) -> Option<(f64, f64)> {
    cross_sections(z).iter().find_map(|e| e.chord(x))
}

/// Body volume in mm^3 (numerical integration over 2 mm slabs).
pub(crate) fn body_volume_mm3() -> f64 {
    let mut v = 0.0;
    let mut z = HEAD_CENTRE[2] + HEAD_SEMI[2] - 1.0;
    while z > FEET_Z {
        let area: f64 = cross_sections(z)
            .iter()
            .map(|e| std::f64::consts::PI * e.ax * e.by)
            .sum();
        v += area * 2.0;
        z -= 2.0;
    }
    v
}

/// Top of the head (mm).
pub(crate) fn vertex_z() -> f64 {
    HEAD_CENTRE[2] + HEAD_SEMI[2]
}

/// A weighted point source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Source {
    pub(crate) p: DVec3,
    pub(crate) w: f64,
}

fn normalized(mut pts: Vec<Source>) -> Vec<Source> {
    let total: f64 = pts.iter().map(|s| s.w).sum();
    if total > 0.0 {
        for s in &mut pts {
            s.w /= total;
        }
    }
    pts
}

/// Points of the spinal CSF of one level: the sac across its width plus a pair of nerve-root
/// pockets at the foramina (8 % of the level's CSF).
pub(crate) fn spinal_level_sources(index: usize) -> Vec<Source> {
    let Some((top, bottom)) = level_z_range(index) else {
        return Vec::new();
    };
    let mut pts = Vec::new();
    let mut z = top - 1.0;
    while z > bottom {
        let hw = sac_half_width(z);
        for f in [-1.0, -0.5, 0.0, 0.5, 1.0] {
            pts.push(Source {
                p: DVec3::new(f * hw, canal_y(z), z),
                w: 0.92,
            });
        }
        z -= 2.0;
    }
    let n_main = pts.len() as f64;
    for s in &mut pts {
        s.w /= n_main;
    }
    // Root pockets: short oblique sleeves at the lower third of the level.
    let zf = bottom + (top - bottom) / 3.0;
    let hw = sac_half_width(zf);
    let mut pockets = Vec::new();
    for sign in [-1.0, 1.0] {
        for step in 0..4 {
            let t = f64::from(step);
            pockets.push(DVec3::new(
                sign * (hw + 2.0 + 2.5 * t),
                canal_y(zf) - 2.0,
                zf - 1.5 * t,
            ));
        }
    }
    let wp = 0.08 / pockets.len() as f64;
    pts.extend(pockets.into_iter().map(|p| Source { p, w: wp }));
    normalized(pts)
}

/// Points along a segment, `n` of them with equal weight.
fn line(a: DVec3, b: DVec3, n: usize, w: f64, out: &mut Vec<Source>) {
    for i in 0..n {
        let t = (i as f64 + 0.5) / n as f64;
        out.push(Source {
            p: a + (b - a) * t,
            w: w / n as f64,
        });
    }
}

/// Points of a filled ball on a grid.
fn ball(c: DVec3, r: f64, step: f64, w: f64, out: &mut Vec<Source>) {
    let mut pts = Vec::new();
    let n = (r / step).ceil();
    let mut ix = -n;
    while ix <= n {
        let mut iy = -n;
        while iy <= n {
            let mut iz = -n;
            while iz <= n {
                let d = DVec3::new(ix, iy, iz) * step;
                if d.length() <= r {
                    pts.push(c + d);
                }
                iz += 1.0;
            }
            iy += 1.0;
        }
        ix += 1.0;
    }
    let k = pts.len().max(1) as f64;
    out.extend(pts.into_iter().map(|p| Source { p, w: w / k }));
}

/// Points of a filled ellipsoid on a grid.
fn ellipsoid(c: DVec3, semi: DVec3, step: f64, w: f64, out: &mut Vec<Source>) {
    let mut pts = Vec::new();
    let n = (semi.max_element() / step).ceil();
    let mut ix = -n;
    while ix <= n {
        let mut iy = -n;
        while iy <= n {
            let mut iz = -n;
            while iz <= n {
                let d = DVec3::new(ix, iy, iz) * step;
                if (d / semi).length_squared() <= 1.0 {
                    pts.push(c + d);
                }
                iz += 1.0;
            }
            iy += 1.0;
        }
        ix += 1.0;
    }
    let k = pts.len().max(1) as f64;
    out.extend(pts.into_iter().map(|p| Source { p, w: w / k }));
}

/// Basal cisterns: cisterna magna, prepontine, suprasellar and ambient cisterns, the Sylvian
/// fissures and the anterior interhemispheric fissure (the "trident" of the frontal view).
pub(crate) fn basal_sources() -> Vec<Source> {
    let mut pts = Vec::new();
    ball(DVec3::new(0.0, 45.0, 8.0), 13.0, 3.0, 0.22, &mut pts);
    ball(DVec3::new(0.0, -2.0, 25.0), 9.0, 3.0, 0.14, &mut pts);
    ball(DVec3::new(0.0, -22.0, 45.0), 10.0, 3.0, 0.16, &mut pts);
    for sign in [-1.0, 1.0] {
        // Ambient cistern around the midbrain.
        line(
            DVec3::new(sign * 12.0, 5.0, 40.0),
            DVec3::new(sign * 8.0, 30.0, 50.0),
            10,
            0.05,
            &mut pts,
        );
        // Sylvian fissure, up and out from the suprasellar cistern.
        line(
            DVec3::new(sign * 14.0, -20.0, 46.0),
            DVec3::new(sign * 58.0, -8.0, 78.0),
            24,
            0.10,
            &mut pts,
        );
    }
    line(
        DVec3::new(0.0, -35.0, 52.0),
        DVec3::new(0.0, -55.0, 115.0),
        30,
        0.13,
        &mut pts,
    );
    normalized(pts)
}

/// Convexity: a shell under the skull over the upper hemispheres (above `z = 60`).
pub(crate) fn convexity_sources() -> Vec<Source> {
    let c = DVec3::new(0.0, 5.0, 55.0);
    let semi = DVec3::new(64.0, 84.0, 88.0);
    let n = 2400;
    let golden = std::f64::consts::PI * (3.0 - 5.0_f64.sqrt());
    let mut pts = Vec::new();
    for i in 0..n {
        let z = 1.0 - 2.0 * (f64::from(i) + 0.5) / f64::from(n);
        let r = (1.0 - z * z).sqrt();
        let phi = golden * f64::from(i);
        let d = DVec3::new(r * phi.cos(), r * phi.sin(), z);
        let p = c + d * semi;
        if p.z > 60.0 {
            pts.push(Source { p, w: 1.0 });
        }
    }
    normalized(pts)
}

/// Kidneys (both, equal weight).
pub(crate) fn kidney_sources() -> Vec<Source> {
    let mut pts = Vec::new();
    for sign in [-1.0, 1.0] {
        ellipsoid(
            DVec3::new(sign * 65.0, 45.0, -470.0),
            DVec3::new(28.0, 22.0, 55.0),
            6.0,
            0.5,
            &mut pts,
        );
    }
    normalized(pts)
}

/// Centre of the bladder.
pub(crate) const BLADDER_CENTRE: [f64; 3] = [0.0, -50.0, -745.0];
/// Radius of the bladder (mm).
pub(crate) const BLADDER_RADIUS_MM: f64 = 35.0;

/// Bladder.
pub(crate) fn bladder_sources() -> Vec<Source> {
    let mut pts = Vec::new();
    ball(
        DVec3::from_array(BLADDER_CENTRE),
        BLADDER_RADIUS_MM,
        5.0,
        1.0,
        &mut pts,
    );
    normalized(pts)
}

/// Oblique streaks along the nerve roots of a level on one side, with weight `w`.
fn root_streak(index: usize, sign: f64, length: f64, w: f64, out: &mut Vec<Source>) {
    let Some((top, bottom)) = level_z_range(index) else {
        return;
    };
    let zf = bottom + (top - bottom) / 3.0;
    let hw = sac_half_width(zf);
    let y = canal_y(zf);
    line(
        DVec3::new(sign * (hw + 3.0), y - 3.0, zf),
        DVec3::new(sign * (hw + 3.0 + length), y - 10.0, zf - 0.6 * length),
        12,
        w,
        out,
    );
}

/// Extrathecal (paraspinal) accumulation of one pattern, normalised to unit weight.
pub(crate) fn accumulation_sources(
    pattern: super::AccumulationPattern,
    levels: std::ops::RangeInclusive<usize>,
    side: Side,
) -> Vec<Source> {
    use super::AccumulationPattern as P;
    let mut pts = Vec::new();
    let n = (levels.end() + 1).saturating_sub(*levels.start()).max(1) as f64;
    match pattern {
        P::UnilateralLocalized => {
            let (top, _) = level_z_range(*levels.start()).unwrap_or((0.0, 0.0));
            let (_, bottom) = level_z_range(*levels.end()).unwrap_or((0.0, 0.0));
            let zc = 0.5 * (top + bottom);
            let sign = if side == Side::Bilateral {
                1.0
            } else {
                side.sign()
            };
            ball(
                DVec3::new(sign * 26.0, canal_y(zc) - 4.0, zc),
                9.0,
                2.5,
                1.0,
                &mut pts,
            );
        }
        P::Asymmetric => {
            let strong = if side == Side::Bilateral {
                1.0
            } else {
                side.sign()
            };
            for i in levels {
                root_streak(i, strong, 30.0, 0.72 / n, &mut pts);
                root_streak(i, -strong, 18.0, 0.28 / n, &mut pts);
            }
        }
        P::CervicothoracicSymmetric => {
            for i in levels {
                for sign in [-1.0, 1.0] {
                    root_streak(i, sign, 22.0, 0.5 / n, &mut pts);
                }
            }
        }
        P::LumbarSymmetric => {
            for i in levels {
                for sign in [-1.0, 1.0] {
                    root_streak(i, sign, 40.0, 0.5 / n, &mut pts);
                }
            }
        }
    }
    normalized(pts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_contiguous_and_sacrum_ends_above_the_bladder() {
        let (t0, b0) = level_z_range(0).unwrap();
        assert_eq!(t0, 0.0);
        assert!(b0 < t0);
        for i in 1..SPINE_LEVELS.len() {
            assert_eq!(level_z_range(i).unwrap().0, level_z_range(i - 1).unwrap().1);
        }
        let (_, s1_bottom) = level_z_range(24).unwrap();
        assert!(s1_bottom > BLADDER_CENTRE[2]);
        assert_eq!(level_index("l3"), Some(21));
        assert!(level_z_range(25).is_none());
    }

    #[test]
    fn every_source_lies_inside_the_body() {
        let mut all = basal_sources();
        all.extend(convexity_sources());
        all.extend(kidney_sources());
        all.extend(bladder_sources());
        for i in 0..SPINE_LEVELS.len() {
            all.extend(spinal_level_sources(i));
        }
        for s in &all {
            let (front, back) = chord(s.p.x, s.p.z).expect("inside the outline");
            assert!(s.p.y > front && s.p.y < back, "{:?}", s.p);
        }
    }

    #[test]
    fn lumbar_sac_is_posterior_and_head_is_central() {
        let z = -560.0;
        let (front, back) = chord(0.0, z).unwrap();
        let y = canal_y(z);
        assert!(back - y < 70.0 && y - front > 150.0);
        let (hf, hb) = chord(0.0, 30.0).unwrap();
        assert!((hf + hb).abs() < 20.0);
        assert!(body_volume_mm3() > 4.0e7 && body_volume_mm3() < 1.2e8);
    }
}
