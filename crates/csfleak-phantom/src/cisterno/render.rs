//! Planar projection of the compartments: attenuation along the view direction and a
//! depth-dependent Gaussian collimator response.
//!
//! Each compartment is projected once per view as the image of one MBq·s of activity (a
//! `Footprint`); the image at a time point is the sum of footprints weighted by the activity
//! of each compartment, so the model stays linear and every count has a known origin.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::body::{self, Source};

/// Which detector looks at the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum View {
    /// Detector in front of the patient (detector 1).
    Anterior,
    /// Detector behind the patient (detector 2).
    Posterior,
}

impl View {
    /// Both views, in frame order.
    pub const BOTH: [View; 2] = [View::Anterior, View::Posterior];

    /// Lowercase name (findings vocabulary).
    pub fn as_str(self) -> &'static str {
        match self {
            View::Anterior => "anterior",
            View::Posterior => "posterior",
        }
    }
}

/// Physical constants of the projection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Physics {
    /// Effective (broad-beam) linear attenuation coefficient of soft tissue for the In-111
    /// photopeaks, per mm.
    pub mu_per_mm: f64,
    /// Extra transmission through the skull for intracranial sources.
    pub skull_transmission: f64,
    /// System FWHM at the collimator face, mm.
    pub fwhm_at_face_mm: f64,
    /// FWHM growth per mm of distance from the collimator.
    pub fwhm_per_mm: f64,
    /// Air gap between the body surface and the collimator, mm.
    pub gap_mm: f64,
    /// System sensitivity, counts per second per `MBq` in air (both windows).
    pub sensitivity_cps_per_mbq: f64,
}

impl Default for Physics {
    fn default() -> Self {
        Self {
            mu_per_mm: 0.011,
            skull_transmission: 0.85,
            fwhm_at_face_mm: 6.0,
            fwhm_per_mm: 0.045,
            gap_mm: 30.0,
            sensitivity_cps_per_mbq: 100.0,
        }
    }
}

/// The image grid of one planar acquisition (both views share it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Grid {
    /// Columns (patient left-right).
    pub cols: usize,
    /// Rows (head to feet).
    pub rows: usize,
    /// Square pixel size, mm.
    pub pixel_mm: f64,
    /// Patient z of the top edge of row 0, mm.
    pub z_top_mm: f64,
}

impl Grid {
    /// Width of the field, mm.
    pub fn width_mm(&self) -> f64 {
        self.cols as f64 * self.pixel_mm
    }

    /// Continuous (column, row) of a patient point in a view (pixel centres at integers).
    pub fn pixel_of(&self, view: View, x: f64, z: f64) -> (f64, f64) {
        let half = 0.5 * self.width_mm();
        let c = match view {
            // Anterior: seen from the front, column 0 at the patient's right (-x).
            View::Anterior => (x + half) / self.pixel_mm - 0.5,
            // Posterior: seen from behind, column 0 at the patient's left (+x).
            View::Posterior => (half - x) / self.pixel_mm - 0.5,
        };
        let r = (self.z_top_mm - z) / self.pixel_mm - 0.5;
        (c, r)
    }

    /// Patient `(x, z)` of the centre of pixel `(col, row)` in a view.
    pub fn patient_of(&self, view: View, col: f64, row: f64) -> (f64, f64) {
        let half = 0.5 * self.width_mm();
        let x = match view {
            View::Anterior => (col + 0.5) * self.pixel_mm - half,
            View::Posterior => half - (col + 0.5) * self.pixel_mm,
        };
        (x, self.z_top_mm - (row + 0.5) * self.pixel_mm)
    }

    /// Image Orientation (Patient) of a view: row direction, then column direction.
    pub fn orientation(&self, view: View) -> [f64; 6] {
        match view {
            View::Anterior => [1.0, 0.0, 0.0, 0.0, 0.0, -1.0],
            View::Posterior => [-1.0, 0.0, 0.0, 0.0, 0.0, -1.0],
        }
    }

    /// Image Position (Patient) of a view: centre of the first pixel, on the detector plane.
    pub fn position(&self, view: View) -> [f64; 3] {
        let (x, z) = self.patient_of(view, 0.0, 0.0);
        let y = match view {
            View::Anterior => -300.0,
            View::Posterior => 300.0,
        };
        [x, y, z]
    }
}

/// The image of one unit of activity (1 MBq·s) of a compartment, in a bounding box.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Footprint {
    pub(crate) row0: usize,
    pub(crate) col0: usize,
    pub(crate) data: Array2<f64>,
}

impl Footprint {
    /// Add `scale` times this footprint into `image`.
    pub(crate) fn add_to(&self, image: &mut Array2<f64>, scale: f64) {
        if scale == 0.0 {
            return;
        }
        let (h, w) = self.data.dim();
        let mut sub = image.slice_mut(ndarray::s![
            self.row0..self.row0 + h,
            self.col0..self.col0 + w
        ]);
        sub.scaled_add(scale, &self.data);
    }

    /// Sum of the footprint (counts per MBq·s that land inside the field).
    pub(crate) fn sum(&self) -> f64 {
        self.data.iter().sum()
    }
}

/// Depths of a point below the anterior and posterior body surfaces.
fn depths(p: csfleak_volume::DVec3) -> (f64, f64) {
    match body::chord(p.x, p.z) {
        Some((front, back)) => ((p.y - front).max(0.0), (back - p.y).max(0.0)),
        None => (0.0, 0.0),
    }
}

/// Project a cloud of sources into a view.
pub(crate) fn project(
    sources: &[Source],
    intracranial: bool,
    view: View,
    grid: &Grid,
    physics: &Physics,
) -> Footprint {
    project_with(sources, intracranial, grid, physics, |p| {
        let (da, dp) = depths(p);
        let depth = match view {
            View::Anterior => da,
            View::Posterior => dp,
        };
        let (c, r) = grid.pixel_of(view, p.x, p.z);
        (depth, c, r)
    })
}

/// Which side of the patient a lateral detector faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LateralSide {
    /// Detector at the patient's left (+x); image columns run toward the back (+y).
    Left,
    /// Detector at the patient's right (-x); image columns run toward the front (-y).
    Right,
}

impl LateralSide {
    /// Lowercase name (findings vocabulary).
    pub fn as_str(self) -> &'static str {
        match self {
            LateralSide::Left => "left",
            LateralSide::Right => "right",
        }
    }

    /// Image Orientation (Patient): row direction, then column direction.
    pub fn orientation(self) -> [f64; 6] {
        match self {
            LateralSide::Left => [0.0, 1.0, 0.0, 0.0, 0.0, -1.0],
            LateralSide::Right => [0.0, -1.0, 0.0, 0.0, 0.0, -1.0],
        }
    }

    /// Continuous (column, row) of a patient point (pixel centres at integers).
    pub fn pixel_of(self, grid: &Grid, y: f64, z: f64) -> (f64, f64) {
        let half = 0.5 * grid.width_mm();
        let c = match self {
            LateralSide::Left => (y + half) / grid.pixel_mm - 0.5,
            LateralSide::Right => (half - y) / grid.pixel_mm - 0.5,
        };
        (c, (grid.z_top_mm - z) / grid.pixel_mm - 0.5)
    }

    /// Image Position (Patient): centre of the first pixel, on the detector plane.
    pub fn position(self, grid: &Grid) -> [f64; 3] {
        let half = 0.5 * grid.width_mm();
        let (x, y) = match self {
            LateralSide::Left => (300.0, 0.5 * grid.pixel_mm - half),
            LateralSide::Right => (-300.0, half - 0.5 * grid.pixel_mm),
        };
        [x, y, grid.z_top_mm - 0.5 * grid.pixel_mm]
    }
}

/// Chords `[x_right, x_left]` of the body sections at `(y, z)` (a row through the legs
/// crosses both).
fn x_chords(y: f64, z: f64) -> Vec<(f64, f64)> {
    body::cross_sections(z)
        .iter()
        .filter_map(|e| {
            let t = (y - e.cy) / e.by;
            (t.abs() < 1.0).then(|| {
                let h = e.ax * (1.0 - t * t).sqrt();
                (e.cx - h, e.cx + h)
            })
        })
        .collect()
}

/// Tissue between a point and a lateral detector (mm): the parts of the body chords at the
/// point's `(y, z)` that lie on the detector's side of it.
fn lateral_depth(p: csfleak_volume::DVec3, side: LateralSide) -> f64 {
    x_chords(p.y, p.z)
        .iter()
        .map(|&(lo, hi)| match side {
            LateralSide::Left => (hi - p.x.max(lo)).max(0.0),
            LateralSide::Right => (p.x.min(hi) - lo).max(0.0),
        })
        .sum()
}

/// Project a cloud of sources into a lateral view.
pub(crate) fn project_lateral(
    sources: &[Source],
    intracranial: bool,
    side: LateralSide,
    grid: &Grid,
    physics: &Physics,
) -> Footprint {
    project_with(sources, intracranial, grid, physics, |p| {
        let (c, r) = side.pixel_of(grid, p.y, p.z);
        (lateral_depth(p, side), c, r)
    })
}

/// Uniform body activity (see [`project_uniform_body`]) in a lateral view: the chord is the
/// body's extent along x at the pixel's `(y, z)`.
pub(crate) fn project_uniform_body_lateral(
    side: LateralSide,
    grid: &Grid,
    physics: &Physics,
) -> Footprint {
    let v = body::body_volume_mm3();
    let area = grid.pixel_mm * grid.pixel_mm;
    let mu = physics.mu_per_mm;
    let half = 0.5 * grid.width_mm();
    let mut data = Array2::<f64>::zeros((grid.rows, grid.cols));
    for ((r, c), px) in data.indexed_iter_mut() {
        let u = (c as f64 + 0.5) * grid.pixel_mm - half;
        let y = match side {
            LateralSide::Left => u,
            LateralSide::Right => -u,
        };
        let z = grid.z_top_mm - (r as f64 + 0.5) * grid.pixel_mm;
        let l: f64 = x_chords(y, z).iter().map(|(lo, hi)| hi - lo).sum();
        if l > 0.0 {
            *px = area / v * (1.0 - (-mu * l).exp()) / mu;
        }
    }
    Footprint {
        row0: 0,
        col0: 0,
        data,
    }
}

/// Project sources placed by `place(p) = (depth to the detector, column, row)`.
fn project_with(
    sources: &[Source],
    intracranial: bool,
    grid: &Grid,
    physics: &Physics,
    place: impl Fn(csfleak_volume::DVec3) -> (f64, f64, f64),
) -> Footprint {
    struct Splat {
        c: f64,
        r: f64,
        sigma_px: f64,
        w: f64,
    }
    let skull = if intracranial {
        physics.skull_transmission
    } else {
        1.0
    };
    let splats: Vec<Splat> = sources
        .iter()
        .map(|s| {
            let (depth, c, r) = place(s.p);
            let fwhm = physics.fwhm_at_face_mm + physics.fwhm_per_mm * (depth + physics.gap_mm);
            Splat {
                c,
                r,
                sigma_px: fwhm / 2.354_820_045 / grid.pixel_mm,
                w: s.w * (-physics.mu_per_mm * depth).exp() * skull,
            }
        })
        .collect();
    // Bounding box over all kernels, clipped to the field.
    let mut lo_r = f64::INFINITY;
    let mut hi_r = f64::NEG_INFINITY;
    let mut lo_c = f64::INFINITY;
    let mut hi_c = f64::NEG_INFINITY;
    for s in &splats {
        let rad = (3.0 * s.sigma_px).ceil() + 1.0;
        lo_r = lo_r.min(s.r - rad);
        hi_r = hi_r.max(s.r + rad);
        lo_c = lo_c.min(s.c - rad);
        hi_c = hi_c.max(s.c + rad);
    }
    let clamp =
        |v: f64, n: usize| csfleak_volume::index_of(v.floor().clamp(0.0, n as f64)).unwrap_or(0);
    let (r0, r1) = (clamp(lo_r, grid.rows), clamp(hi_r + 1.0, grid.rows));
    let (c0, c1) = (clamp(lo_c, grid.cols), clamp(hi_c + 1.0, grid.cols));
    let mut data = Array2::<f64>::zeros((r1.saturating_sub(r0), c1.saturating_sub(c0)));
    for s in &splats {
        let rad = (3.0 * s.sigma_px).ceil();
        let two_s2 = 2.0 * s.sigma_px * s.sigma_px;
        let (rc, cc) = (s.r.round(), s.c.round());
        // Normalise over the whole kernel, then keep what falls inside the field.
        let mut norm = 0.0;
        let mut dr = -rad;
        while dr <= rad {
            let mut dc = -rad;
            while dc <= rad {
                let (y, x) = (rc + dr - s.r, cc + dc - s.c);
                norm += (-(x * x + y * y) / two_s2).exp();
                dc += 1.0;
            }
            dr += 1.0;
        }
        if norm <= 0.0 {
            continue;
        }
        let mut dr = -rad;
        while dr <= rad {
            let mut dc = -rad;
            while dc <= rad {
                let (rr, ccol) = (rc + dr, cc + dc);
                let inside = match (csfleak_volume::index_of(rr), csfleak_volume::index_of(ccol)) {
                    (Some(ri), Some(ci)) if (r0..r1).contains(&ri) && (c0..c1).contains(&ci) => {
                        Some((ri, ci))
                    }
                    _ => None,
                };
                if let Some((ri, ci)) = inside {
                    let (y, x) = (rr - s.r, ccol - s.c);
                    data[(ri - r0, ci - c0)] += s.w * (-(x * x + y * y) / two_s2).exp() / norm;
                }
                dc += 1.0;
            }
            dr += 1.0;
        }
    }
    Footprint {
        row0: r0,
        col0: c0,
        data,
    }
}

/// The image of 1 MBq·s of activity spread uniformly over the body (blood pool / extracellular
/// space), computed analytically per pixel: `a / V * (1 - exp(-mu L)) / mu` for a chord of
/// length `L` (the same in both views).
pub(crate) fn project_uniform_body(view: View, grid: &Grid, physics: &Physics) -> Footprint {
    let v = body::body_volume_mm3();
    let area = grid.pixel_mm * grid.pixel_mm;
    let mu = physics.mu_per_mm;
    let mut data = Array2::<f64>::zeros((grid.rows, grid.cols));
    for ((r, c), px) in data.indexed_iter_mut() {
        let (x, z) = grid.patient_of(view, c as f64, r as f64);
        if let Some((front, back)) = body::chord(x, z) {
            let l = back - front;
            *px = area / v * (1.0 - (-mu * l).exp()) / mu;
        }
    }
    Footprint {
        row0: 0,
        col0: 0,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csfleak_volume::DVec3;

    fn grid() -> Grid {
        Grid {
            cols: 256,
            rows: 1024,
            pixel_mm: 2.0,
            z_top_mm: 180.0,
        }
    }

    #[test]
    fn pixel_mapping_round_trips_and_mirrors_posterior() {
        let g = grid();
        for view in View::BOTH {
            let (c, r) = g.pixel_of(view, 37.0, -412.0);
            let (x, z) = g.patient_of(view, c, r);
            assert!((x - 37.0).abs() < 1e-9 && (z + 412.0).abs() < 1e-9);
        }
        let (ca, _) = g.pixel_of(View::Anterior, 50.0, 0.0);
        let (cp, _) = g.pixel_of(View::Posterior, 50.0, 0.0);
        // Patient left is on the image right in the anterior view, on the left in the posterior.
        assert!(ca > 128.0 && cp < 128.0);
        // IPP + column * pixel * row direction reaches the point.
        let o = g.orientation(View::Posterior);
        let p = g.position(View::Posterior);
        assert!((p[0] + o[0] * cp * g.pixel_mm - 50.0).abs() < 1e-9);
    }

    #[test]
    fn a_point_keeps_its_attenuated_activity() {
        let g = grid();
        let ph = Physics::default();
        let src = [Source {
            p: DVec3::new(0.0, 55.0, -560.0),
            w: 1.0,
        }];
        let (front, back) = body::chord(0.0, -560.0).unwrap();
        for view in View::BOTH {
            let f = project(&src, false, view, &g, &ph);
            let depth = match view {
                View::Anterior => 55.0 - front,
                View::Posterior => back - 55.0,
            };
            let expect = (-ph.mu_per_mm * depth).exp();
            assert!((f.sum() - expect).abs() < 1e-9, "{view:?}");
        }
        // The lumbar sac is posterior: the posterior view sees more of it.
        let a = project(&src, false, View::Anterior, &g, &ph).sum();
        let p = project(&src, false, View::Posterior, &g, &ph).sum();
        assert!(p > 2.0 * a);
    }
}
