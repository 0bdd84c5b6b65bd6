//! Overlays of a CT myelogram: a sagittal overview through the sac centre with the sites and
//! levels, and one axial key slice per site with the sac and the extradural contrast.

use ndarray::Array2;

use csfleak_volume::overlay::{Overlay, OverlayMask, OverlayPoint, OverlayText, colors};
use csfleak_volume::{DVec3, Volume};

use super::sac::{SacSlice, slice_image};
use super::sites::SliceSites;
use super::{CtmAnalysis, side_word};

const WINDOW: (f32, f32) = (-250.0, 1250.0);

fn z_of(v: &Volume, k: usize) -> f64 {
    v.geometry()
        .world_from_voxel_point(DVec3::new(0.0, 0.0, k as f64))
        .to_dvec3()
        .z
}

/// Draw the overlays; returns them and the overview's name.
pub(crate) fn draw(
    ct: &Volume,
    sacs: &[Option<SacSlice>],
    slices: &[SliceSites],
    a: &CtmAnalysis,
) -> (Vec<Overlay>, Option<String>) {
    let mut out = Vec::new();
    let overview = sagittal(ct, sacs, a);
    let name = overview.as_ref().map(|o| o.name.clone());
    out.extend(overview);
    for s in &a.sites {
        let k = s.key_slice;
        let img = slice_image(ct, k);
        let title = format!(
            "CT myelography slice {}: {} {}",
            k,
            s.level
                .map_or_else(|| format!("z {:.0} mm", s.z_mm), |l| l.to_string()),
            side_word(s.side)
        );
        let mut o = Overlay::new(s.overlay.clone(), title, img.clone(), WINDOW);
        let [sx, sy, _] = ct.geometry().spacing_mm();
        o.pixel_spacing_mm = Some([sy, sx]);
        "as stored: rows along the image column direction".clone_into(&mut o.orientation_note);
        let mut sac = Array2::from_elem(img.dim(), false);
        for &(r, c) in &slices[k].sac {
            sac[[r, c]] = true;
        }
        o.masks.push(OverlayMask {
            mask: sac,
            color: colors::SAC,
            label: "contrast-filled sac".to_owned(),
            outline_only: true,
        });
        let mut ext = Array2::from_elem(img.dim(), false);
        for p in &slices[k].pieces {
            for &(r, c) in &p.pixels {
                ext[[r, c]] = true;
            }
        }
        o.masks.push(OverlayMask {
            mask: ext,
            color: colors::FINDING,
            label: "extradural contrast".to_owned(),
            outline_only: false,
        });
        out.push(o);
    }
    (out, name)
}

/// Sagittal reformat through the sac centre (column of the median sac centre).
fn sagittal(ct: &Volume, sacs: &[Option<SacSlice>], a: &CtmAnalysis) -> Option<Overlay> {
    let data = ct.data();
    let (nk, nr, nc) = data.dim();
    let mut cols: Vec<f64> = sacs.iter().flatten().map(|s| s.centroid.1).collect();
    if cols.is_empty() {
        return None;
    }
    cols.sort_by(f64::total_cmp);
    let col_med = cols[cols.len() / 2];
    // Top = superior: order slices by descending z.
    let mut order: Vec<usize> = (0..nk).collect();
    order.sort_by(|&x, &y| z_of(ct, y).total_cmp(&z_of(ct, x)));
    let base = Array2::from_shape_fn((nk, nr), |(row, j)| {
        let k = order[row];
        let c = sacs[k]
            .as_ref()
            .map_or(col_med, |s| s.centroid.1)
            .round()
            .clamp(0.0, (nc - 1) as f64) as usize;
        data[[k, j, c]]
    });
    let [_, sy, sz] = ct.geometry().spacing_mm();
    let mut o = Overlay::new(
        "ctm_sagittal_overview",
        format!(
            "CT myelography sagittal overview ({}; intrathecal median {:.0} HU)",
            a.class.as_str(),
            a.intrathecal_median_hu.unwrap_or(f64::NAN)
        ),
        base,
        WINDOW,
    );
    o.pixel_spacing_mm = Some([sz, sy]);
    "top = superior; columns along the image row axis of the axial slices"
        .clone_into(&mut o.orientation_note);
    let row_of = |k: usize| order.iter().position(|&x| x == k).unwrap_or(0) as f64;
    for s in &a.sites {
        let k = s.key_slice;
        let j = sacs[k].as_ref().map_or(nr as f64 / 2.0, |x| x.centroid.0);
        o.points.push(OverlayPoint {
            at: [row_of(k), j],
            color: colors::FINDING,
            label: s.level.map_or_else(
                || format!("site z {:.0} mm", s.z_mm),
                |l| format!("site {l}"),
            ),
        });
    }
    // Level labels at the landmarks.
    for (z, level) in a.levels.landmarks() {
        let Some(k) =
            (0..nk).min_by(|&x, &y| (z_of(ct, x) - z).abs().total_cmp(&(z_of(ct, y) - z).abs()))
        else {
            continue;
        };
        o.texts.push(OverlayText {
            at: [row_of(k), 2.0],
            text: level.to_string(),
            color: colors::LABEL,
        });
    }
    Some(o)
}
