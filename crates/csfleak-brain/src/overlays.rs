//! Overlays: the midsagittal reformat with landmarks, measuring lines and values.

use csfleak_volume::overlay::{OverlayLine, OverlayMask, OverlayPoint, OverlayText, colors};
use csfleak_volume::{DVec3, Overlay, PointLps, Volume, VoxelIdx};
use ndarray::Array2;

use crate::orbit::OnsdSide;

use crate::landmarks::LandmarkName as L;
use crate::measure::Measured;
use crate::midsagittal::{self, MidsagittalPlane};
use crate::{BrainAnalysis, Result};

/// The midsagittal overlay; `None` without a plane.
pub(crate) fn midsagittal_overlay(t1: &Volume, a: &BrainAnalysis) -> Result<Option<Overlay>> {
    let plane = match (
        &a.midsagittal,
        crate::measure::fit_midline_normal(&a.landmarks),
    ) {
        (Some(p), _) => *p,
        (None, Some(n)) => {
            let Some(pt) = a.landmarks.in_use().first().map(|l| l.position) else {
                return Ok(None);
            };
            MidsagittalPlane {
                point: pt,
                normal: csfleak_volume::VecLps::from_dvec3(n),
                symmetry: 0.0,
            }
        }
        (None, None) => return Ok(None),
    };
    let rf = midsagittal::reformat(t1, &plane)?;
    let finite = rf.image.mapv(|x| if x.is_finite() { x } else { 0.0 });
    let window = Overlay::auto_window(&finite);
    let mut o = Overlay::new(
        "brain_midsagittal",
        "Brain: midsagittal reformat with landmarks and sagging measurements",
        finite,
        window,
    );
    o.pixel_spacing_mm = Some([rf.px, rf.px]);
    "left of image = anterior; top = superior".clone_into(&mut o.orientation_note);
    let pix = |n: L| {
        a.landmarks
            .get(n)
            .map(|l| rf.pixel_of(l.position.to_dvec3()))
    };
    for l in a.landmarks.in_use() {
        o.points.push(OverlayPoint {
            at: rf.pixel_of(l.position.to_dvec3()),
            color: colors::REFERENCE,
            label: format!(
                "{}{}",
                l.name,
                if l.origin == crate::Origin::Automatic {
                    "*"
                } else {
                    ""
                }
            ),
        });
    }
    let m = &a.measurements;
    let mut line = |from: L, to: L, label: String, color| {
        if let (Some(p), Some(q)) = (pix(from), pix(to)) {
            o.lines.push(OverlayLine {
                from: p,
                to: q,
                color,
                label,
            });
        }
    };
    let mm = |name: &str, x: &Measured| {
        x.value()
            .map_or_else(String::new, |v| format!("{name} {v:.1} mm"))
    };
    line(
        L::MamillaryInferior,
        L::PonsSuperior,
        mm("MPD", &m.mamillopontine_distance_mm),
        colors::FINDING,
    );
    line(
        L::ChiasmInferior,
        L::DiaphragmaSellae,
        mm("suprasellar", &m.suprasellar_cistern_mm),
        colors::FINDING,
    );
    line(
        L::ClivusPrepontine,
        L::PonsAnterior,
        mm("prepontine", &m.prepontine_cistern_mm),
        colors::FINDING,
    );
    line(
        L::Basion,
        L::Opisthion,
        mm("McRae line; tonsil below", &m.tonsil_below_mcrae_mm),
        colors::REFERENCE,
    );
    line(
        L::TuberculumSellae,
        L::GalenJunction,
        mm(
            "incisural line; iter below",
            &m.iter_below_incisural_line_mm,
        ),
        colors::REFERENCE,
    );
    line(
        L::PituitaryTop,
        L::PituitaryFloor,
        mm("pituitary", &m.pituitary_height_mm),
        colors::REFERENCE,
    );
    let pma = m
        .pontomesencephalic_angle_rad
        .value()
        .map_or_else(String::new, |r| format!("PMA {:.0} deg", r.to_degrees()));
    line(L::PmVertex, L::PmMidbrain, pma, colors::REFERENCE);
    line(L::PmVertex, L::PmPons, String::new(), colors::REFERENCE);
    Ok(Some(o))
}

/// One overlay per measured orbit slice: the slice as acquired (flipped so that patient right is
/// at the image left) with each measured sheath outlined.
pub(crate) fn orbit_overlays(v: &Volume, sides: &[OnsdSide; 2]) -> Vec<Overlay> {
    let g = v.geometry();
    let [ni, nj, _] = v.dims();
    let [di, _, _] = g.directions();
    let flip = di.x < 0.0;
    let [si, sj, _] = g.spacing_mm();
    let vfw = g.voxel_from_world();
    let mut out: Vec<Overlay> = Vec::new();
    for (side, name) in sides.iter().zip(["right", "left"]) {
        let (Some(k), Some(c), Some(d)) = (side.slice, side.center, side.onsd_mm.value()) else {
            continue;
        };
        let col_of = |i: f64| if flip { (ni as f64 - 1.0) - i } else { i };
        let existing = out
            .iter()
            .position(|o| o.name == format!("brain_orbit_slice_{k}"));
        let idx = existing.unwrap_or_else(|| {
            let base = Array2::from_shape_fn((nj, ni), |(r, col)| {
                let i = if flip { ni - 1 - col } else { col };
                v.get(VoxelIdx::new(i, r, k)).unwrap_or(f32::NAN)
            });
            let window = Overlay::auto_window(&base);
            let mut o = Overlay::new(
                format!("brain_orbit_slice_{k}"),
                "Orbits: optic nerve sheath outlined (coronal fat-saturated T2)",
                base,
                window,
            );
            o.pixel_spacing_mm = Some([sj, si]);
            "left of image = patient right".clone_into(&mut o.orientation_note);
            out.push(o);
            out.len() - 1
        });
        let o = &mut out[idx];
        let cv = vfw.transform_point3(c.to_dvec3());
        let r_mm = d / 2.0;
        let mask = Array2::from_shape_fn((nj, ni), |(r, col)| {
            let dx = (col_of(col as f64) - cv.x) * si;
            let dy = (r as f64 - cv.y) * sj;
            dx.hypot(dy) <= r_mm
        });
        o.masks.push(OverlayMask {
            mask,
            color: colors::SAC,
            label: format!("ONSD {name} {d:.1} mm"),
            outline_only: true,
        });
        o.points.push(OverlayPoint {
            at: [cv.y, col_of(cv.x)],
            color: colors::REFERENCE,
            label: format!("{name} {d:.1} mm"),
        });
    }
    out
}

/// A coronal reformat of the contrast T1 through the convexity rays' centre, 1 mm pixels,
/// with the dural shell points near the plane (red: thick and brighter than brain, green:
/// not) and the extra-axial fluid gaps of at least the subdural threshold (yellow lines).
pub(crate) fn convexity_overlay(
    post: &Volume,
    m: &crate::convexity::ConvexityMeasurement,
    enhancement: &crate::bern::Sign,
    subdural: &crate::bern::Sign,
) -> Option<Overlay> {
    const HALF: usize = 100;
    const NEAR_MM: f64 = 4.0;
    let c = m.centre.to_dvec3();
    let [left, sup] = m.axes;
    let ant = left.cross(sup);
    // Image column grows towards patient left (patient right at the image left), row grows
    // downwards (inferior).
    let world = |row: f64, col: f64| c + left * (col - HALF as f64) + sup * (HALF as f64 - row);
    let pixel = |p: DVec3| {
        let d = p - c;
        (d.dot(ant).abs() <= NEAR_MM).then(|| [HALF as f64 - d.dot(sup), HALF as f64 + d.dot(left)])
    };
    let base = Array2::from_shape_fn((2 * HALF + 1, 2 * HALF + 1), |(r, col)| {
        post.sample(PointLps::from_dvec3(world(r as f64, col as f64)))
            .unwrap_or(f32::NAN)
    });
    if base.iter().all(|x| !x.is_finite()) {
        return None;
    }
    let finite = base.mapv(|x| if x.is_finite() { x } else { 0.0 });
    let window = Overlay::auto_window(&finite);
    let mut o = Overlay::new(
        "brain_convexity_dura",
        "Brain: dura over the convexity on the contrast T1 (coronal reformat)",
        finite,
        window,
    );
    o.pixel_spacing_mm = Some([1.0, 1.0]);
    "left of image = patient right; red = thick dura brighter than brain; yellow = extra-axial \
     fluid at least the subdural threshold"
        .clone_into(&mut o.orientation_note);
    for (p, positive) in &m.shell {
        if let Some(at) = pixel(p.to_dvec3()) {
            o.points.push(OverlayPoint {
                at,
                color: if *positive {
                    colors::FINDING
                } else {
                    colors::REFERENCE
                },
                label: String::new(),
            });
        }
    }
    for (inner, outer) in &m.gaps {
        if let (Some(from), Some(to)) = (pixel(inner.to_dvec3()), pixel(outer.to_dvec3())) {
            o.lines.push(OverlayLine {
                from,
                to,
                color: colors::MIMIC,
                label: String::new(),
            });
        }
    }
    let text = |label: &str, s: &crate::bern::Sign| match s.present {
        Some(p) => format!(
            "{label}: {}{}",
            if p { "present" } else { "absent" },
            s.measure.map_or_else(String::new, |v| format!(" ({v:.2})"))
        ),
        None => format!("{label}: not assessable"),
    };
    o.texts.push(OverlayText {
        at: [4.0, 4.0],
        text: text("pachymeningeal enhancement", enhancement),
        color: colors::LABEL,
    });
    o.texts.push(OverlayText {
        at: [16.0, 4.0],
        text: text("subdural fluid", subdural),
        color: colors::LABEL,
    });
    Some(o)
}
