//! Measurements from landmarks, exactly by geometry in patient LPS millimetres.
//!
//! Each measurement names the landmarks it uses; a missing landmark makes it
//! [`Measured::NotAssessable`] with the reason. Angles are radians here and degrees only in the
//! findings.

use csfleak_volume::{DVec3, PointLps};
use serde::{Deserialize, Serialize};

use crate::landmarks::{LandmarkName as L, LandmarkSet};

/// A value with its 1-sigma uncertainty (same unit), or why it is not assessable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Measured {
    /// Measured.
    Value {
        /// The value (mm, or radians for angles).
        value: f64,
        /// Uncertainty (1 standard deviation) in the same unit.
        uncertainty: f64,
        /// The landmarks used.
        landmarks: Vec<L>,
    },
    /// Not assessable, with the reason.
    NotAssessable {
        /// Why.
        reason: String,
    },
}

impl Measured {
    /// The value, if measured.
    pub fn value(&self) -> Option<f64> {
        match self {
            Self::Value { value, .. } => Some(*value),
            Self::NotAssessable { .. } => None,
        }
    }

    /// The uncertainty, if measured.
    pub fn uncertainty(&self) -> Option<f64> {
        match self {
            Self::Value { uncertainty, .. } => Some(*uncertainty),
            Self::NotAssessable { .. } => None,
        }
    }

    /// The reason, if not assessable.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Value { .. } => None,
            Self::NotAssessable { reason } => Some(reason),
        }
    }
}

/// The landmark-based measurements (distances in mm, angles in radians).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LandmarkMeasurements {
    /// Mamillary bodies (inferior margin) to the upper surface of the pons.
    pub mamillopontine_distance_mm: Measured,
    /// Angle at the pontomesencephalic junction between the anterior midbrain and the superior
    /// pons (radians).
    pub pontomesencephalic_angle_rad: Measured,
    /// Optic chiasm undersurface to the diaphragma sellae.
    pub suprasellar_cistern_mm: Measured,
    /// Clivus to the anterior surface of the pons, at mid-pons.
    pub prepontine_cistern_mm: Measured,
    /// Tonsil tip below the basion-opisthion (`McRae`) line, in the midsagittal plane; positive
    /// below.
    pub tonsil_below_mcrae_mm: Measured,
    /// Iter below the incisural line (tuberculum sellae - Galen junction), in the midsagittal
    /// plane; positive below.
    pub iter_below_incisural_line_mm: Measured,
    /// Pituitary top to the sellar floor.
    pub pituitary_height_mm: Measured,
    /// Angle between the cerebral peduncles at the interpeduncular fossa (axial; radians).
    pub interpeduncular_angle_rad: Measured,
}

/// The frame in which "below" a line is measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MidsagittalFrame {
    /// Unit normal of the midsagittal plane (either sign).
    pub normal: DVec3,
    /// A direction pointing inferior (need not be exact; used for the sign).
    pub inferior: DVec3,
}

fn pos(p: PointLps) -> DVec3 {
    p.to_dvec3()
}

/// Gather named landmarks or say which are missing.
fn need<const N: usize>(
    set: &LandmarkSet,
    names: [L; N],
) -> Result<([DVec3; N], [f64; N]), String> {
    let mut pts = [DVec3::ZERO; N];
    let mut unc = [0.0; N];
    let mut missing = Vec::new();
    for (i, n) in names.iter().enumerate() {
        match set.get(*n) {
            Some(l) => {
                pts[i] = pos(l.position);
                unc[i] = l.uncertainty_mm;
            }
            None => missing.push(set.why_missing(*n).unwrap_or_else(|| n.to_string())),
        }
    }
    if missing.is_empty() {
        Ok((pts, unc))
    } else {
        Err(format!("landmark missing: {}", missing.join("; ")))
    }
}

fn quad(u: &[f64]) -> f64 {
    u.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn distance(set: &LandmarkSet, a: L, b: L) -> Measured {
    match need(set, [a, b]) {
        Ok(([p, q], u)) => Measured::Value {
            value: p.distance(q),
            uncertainty: quad(&u),
            landmarks: vec![a, b],
        },
        Err(reason) => Measured::NotAssessable { reason },
    }
}

/// Angle at `v` between the rays to `a` and `b`, radians; `None` when a ray has zero length.
pub fn angle_rad(v: DVec3, a: DVec3, b: DVec3) -> Option<f64> {
    let x = (a - v).try_normalize()?;
    let y = (b - v).try_normalize()?;
    // atan2 of |cross| and dot stays accurate near 0 and pi, unlike acos.
    Some(x.cross(y).length().atan2(x.dot(y)))
}

fn angle(set: &LandmarkSet, v: L, a: L, b: L) -> Measured {
    match need(set, [v, a, b]) {
        Ok(([pv, pa, pb], u)) => match angle_rad(pv, pa, pb) {
            Some(value) => {
                // Uncertainty of an angle from point errors: sigma / arm length per arm.
                let la = pv.distance(pa).max(1e-9);
                let lb = pv.distance(pb).max(1e-9);
                let uncertainty = quad(&[u[1] / la, u[2] / lb, u[0] / la.min(lb)]);
                Measured::Value {
                    value,
                    uncertainty,
                    landmarks: vec![v, a, b],
                }
            }
            None => Measured::NotAssessable {
                reason: format!("{v} coincides with {a} or {b}"),
            },
        },
        Err(reason) => Measured::NotAssessable { reason },
    }
}

/// Signed distance of `p` from the line through `a` and `b`, measured in the plane of unit
/// normal `n` (the component of `p` along `n` is ignored); positive towards `inferior`.
/// `None` when the line is degenerate or parallel to `n`.
pub fn below_line(p: DVec3, a: DVec3, b: DVec3, n: DVec3, inferior: DVec3) -> Option<f64> {
    let mut perp = n.cross(b - a).try_normalize()?;
    if perp.dot(inferior) < 0.0 {
        perp = -perp;
    }
    Some((p - a).dot(perp))
}

fn below(set: &LandmarkSet, p: L, a: L, b: L, frame: Option<MidsagittalFrame>) -> Measured {
    let Some(frame) = frame else {
        return Measured::NotAssessable {
            reason: "midsagittal plane unknown (too few midline landmarks and no 3D T1)".to_owned(),
        };
    };
    match need(set, [p, a, b]) {
        Ok(([pp, pa, pb], u)) => match below_line(pp, pa, pb, frame.normal, frame.inferior) {
            Some(value) => Measured::Value {
                value,
                uncertainty: quad(&u),
                landmarks: vec![p, a, b],
            },
            None => Measured::NotAssessable {
                reason: format!("{a} and {b} do not define a line in the midsagittal plane"),
            },
        },
        Err(reason) => Measured::NotAssessable { reason },
    }
}

/// Fit the midsagittal plane through the midline landmarks in use (least squares); `None` with
/// fewer than 3 well-spread points. Returns the unit normal, sign chosen towards patient left.
pub fn fit_midline_normal(set: &LandmarkSet) -> Option<DVec3> {
    let pts: Vec<DVec3> = set
        .in_use()
        .into_iter()
        .filter(|l| l.name.is_midline())
        .map(|l| pos(l.position))
        .collect();
    if pts.len() < 3 {
        return None;
    }
    let c = pts.iter().copied().sum::<DVec3>() / pts.len() as f64;
    let mut cov = [[0.0_f64; 3]; 3];
    for p in &pts {
        let d = (*p - c).to_array();
        for r in 0..3 {
            for s in 0..3 {
                cov[r][s] += d[r] * d[s];
            }
        }
    }
    let (vals, vecs) = crate::linalg::sym3_eigen(cov);
    // Smallest eigenvalue = normal; the second must show real spread (not collinear points).
    let order = crate::linalg::argsort3(vals);
    if vals[order[1]] < 1.0 {
        return None;
    }
    let n = DVec3::from_array(vecs[order[0]]).try_normalize()?;
    Some(if n.x < 0.0 { -n } else { n })
}

/// All landmark measurements. `frame` is the midsagittal frame (from the 3D T1 or from
/// [`fit_midline_normal`]); without one, the "below the line" items are not assessable.
pub fn measure(set: &LandmarkSet, frame: Option<MidsagittalFrame>) -> LandmarkMeasurements {
    LandmarkMeasurements {
        mamillopontine_distance_mm: distance(set, L::MamillaryInferior, L::PonsSuperior),
        pontomesencephalic_angle_rad: angle(set, L::PmVertex, L::PmMidbrain, L::PmPons),
        suprasellar_cistern_mm: distance(set, L::ChiasmInferior, L::DiaphragmaSellae),
        prepontine_cistern_mm: distance(set, L::ClivusPrepontine, L::PonsAnterior),
        tonsil_below_mcrae_mm: below(set, L::TonsilTip, L::Basion, L::Opisthion, frame),
        iter_below_incisural_line_mm: below(
            set,
            L::Iter,
            L::TuberculumSellae,
            L::GalenJunction,
            frame,
        ),
        pituitary_height_mm: distance(set, L::PituitaryTop, L::PituitaryFloor),
        interpeduncular_angle_rad: angle(set, L::IpaVertex, L::IpaLeft, L::IpaRight),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::FRAC_PI_2;

    #[test]
    fn angle_and_line() {
        let a = angle_rad(DVec3::ZERO, DVec3::X, DVec3::Y).unwrap();
        assert!((a - FRAC_PI_2).abs() < 1e-12);
        assert!(angle_rad(DVec3::ZERO, DVec3::ZERO, DVec3::Y).is_none());
        // Line along y at z = 0 in the x = 0 plane; point 3 mm below, 5 mm off-plane.
        let d = below_line(
            DVec3::new(5.0, 1.0, -3.0),
            DVec3::ZERO,
            DVec3::Y,
            DVec3::X,
            DVec3::NEG_Z,
        )
        .unwrap();
        assert!((d - 3.0).abs() < 1e-12);
    }

    #[test]
    fn missing_landmark_is_not_assessable() {
        let mut s = LandmarkSet::new();
        s.insert_imported(L::MamillaryInferior, PointLps([0.0, 0.0, 0.0]), 0.5);
        let m = measure(&s, None);
        assert!(
            m.mamillopontine_distance_mm
                .reason()
                .unwrap()
                .contains("pons_superior")
        );
        assert!(
            m.tonsil_below_mcrae_mm
                .reason()
                .unwrap()
                .contains("midsagittal")
        );
        s.insert_imported(L::PonsSuperior, PointLps([0.0, 3.0, -4.0]), 0.5);
        let m = measure(&s, None);
        assert!((m.mamillopontine_distance_mm.value().unwrap() - 5.0).abs() < 1e-12);
        assert!(
            (m.mamillopontine_distance_mm.uncertainty().unwrap() - 0.5_f64.hypot(0.5)).abs()
                < 1e-12
        );
    }

    #[test]
    fn midline_fit_recovers_tilted_plane() {
        let n = DVec3::new(1.0, 0.2, -0.1).normalize_or_zero();
        let u = n.any_orthonormal_vector();
        let v = n.cross(u);
        let mut s = LandmarkSet::new();
        for (i, name) in [L::Basion, L::Opisthion, L::Iter, L::TuberculumSellae]
            .iter()
            .enumerate()
        {
            let t = i as f64;
            let p = u * (10.0 * t) + v * (7.0 * t * t - 12.0) + DVec3::new(3.0, 4.0, 5.0);
            s.insert_imported(*name, PointLps::from_dvec3(p), 0.5);
        }
        let fit = fit_midline_normal(&s).unwrap();
        assert!(fit.dot(n).abs() > 1.0 - 1e-9, "{fit:?}");
    }
}
