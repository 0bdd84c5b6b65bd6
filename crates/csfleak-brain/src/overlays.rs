//! Overlays: the midsagittal reformat with landmarks, measuring lines and values.

use csfleak_volume::overlay::{OverlayLine, OverlayMask, OverlayPoint, colors};
use csfleak_volume::{Overlay, Volume, VoxelIdx};
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
