//! Adapter: loaded DICOM series -> `csfleak-spine` inputs; the spinal MRI family (the CT
//! myelography family is in [`crate::ctm_input`]).
//!
//! * The axial fat-suppressed T2 is the `spine_t2fs_axial` series with a volume and the most
//!   voxels; the contrast T1 is the `spine_t1fs_post` series with a volume, preferring the
//!   plane of the T2, then the most voxels. The sagittal T2 and the MR myelography are
//!   decoded for the report's overviews; extradural fluid is measured on the axial stack only
//!   (the reason is written as a note). Vertebral levels are counted on the sagittal series
//!   too (it usually shows C2 or the sacrum where the axial stack does not) and transferred
//!   to the axial stack by patient z when that count is the better founded one.
//! * Planar data (no geometry) is never used.
//! * Overlays are drawn from the analysis itself (the sac outline, the per-ray depth of fluid
//!   beyond the dura, the dural-gap pixels), one per evidence slice; every evidence entry names
//!   the overlay that shows it.

use csfleak_dicom::{LoadedSeries, Role, SeriesData};
use csfleak_findings::{Evidence, LevelStatus, Spine};
use csfleak_spine::SpineOptions;
use csfleak_spine::canal::CanalModel;
use csfleak_spine::levels::LevelScale;
use csfleak_spine::mri::{Lesion, MriAnalysis, analyze_mri};
use csfleak_volume::overlay::{Overlay, OverlayLine, OverlayMask, OverlayText, colors};
use csfleak_volume::{DVec3, Volume};
use ndarray::{Array2, Axis};

use crate::family::{
    Family, FamilyOutput, SPINE_ROLES, Section, StudyInputs, spine_not_assessable,
};

/// The series chosen for the spinal MRI measurements.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpineSeries<'a> {
    /// Axial fat-suppressed T2 (the measured stack).
    pub t2_axial: Option<&'a LoadedSeries>,
    /// Sagittal fat-suppressed T2.
    pub t2_sagittal: Option<&'a LoadedSeries>,
    /// Heavily T2-weighted MR myelography.
    pub mr_myelography: Option<&'a LoadedSeries>,
    /// Contrast-enhanced fat-suppressed T1.
    pub contrast_t1: Option<&'a LoadedSeries>,
}

pub(crate) fn volume_of(s: &LoadedSeries) -> Option<&Volume> {
    match &s.data {
        SeriesData::Volume(v) => Some(v),
        SeriesData::Planar(_) => None,
    }
}

fn n_voxels(s: &LoadedSeries) -> usize {
    volume_of(s).map_or(0, |v| v.geometry().len())
}

/// Choose the series by role from `(role, series)` pairs.
pub fn select<'a>(series: &[(Role, &'a LoadedSeries)]) -> SpineSeries<'a> {
    let with_role = |role: Role| {
        series
            .iter()
            .filter(move |(r, s)| *r == role && volume_of(s).is_some())
            .map(|(_, s)| *s)
    };
    let largest = |role: Role| with_role(role).max_by_key(|s| n_voxels(s));
    let t2_axial = largest(Role::SpinalT2FsAxial);
    let t2_plane = t2_axial.and_then(volume_of).map(|v| v.geometry().plane());
    let contrast_t1 = with_role(Role::SpinalContrastT1).max_by_key(|s| {
        let same_plane = volume_of(s).map(|v| v.geometry().plane()) == t2_plane;
        (same_plane, n_voxels(s))
    });
    SpineSeries {
        t2_axial,
        t2_sagittal: largest(Role::SpinalT2FsSagittal),
        mr_myelography: largest(Role::MrMyelography),
        contrast_t1,
    }
}

/// The spinal MRI family backed by `csfleak-spine`.
#[derive(Debug, Clone, Default)]
pub struct SpineMriFamily {
    /// Settings of the analysis (level anchor, thresholds).
    pub options: SpineOptions,
}

const NO_AXIAL: &str = "no axial fat-suppressed T2 series could be decoded: extradural fluid \
                        is measured on the axial stack (sagittal T2 and MR myelography alone \
                        are not measured by this version)";

impl Family for SpineMriFamily {
    fn id(&self) -> &'static str {
        "spine_mri"
    }
    fn name_ja(&self) -> &'static str {
        "脊髄MRI/MRミエログラフィー"
    }
    fn name_en(&self) -> &'static str {
        "spinal MRI"
    }
    fn roles(&self) -> &'static [Role] {
        SPINE_ROLES
    }
    fn not_assessable(&self, reason: &str) -> Section {
        spine_not_assessable(reason)
    }
    fn run(&self, study: &StudyInputs<'_>) -> FamilyOutput {
        let pairs: Vec<(Role, &LoadedSeries)> = study
            .with_roles(SPINE_ROLES)
            .filter_map(|s| s.loaded.as_deref().map(|l| (s.series.role.role, l)))
            .collect();
        let chosen = select(&pairs);
        let Some((t2s, t2)) = chosen.t2_axial.and_then(|s| volume_of(s).map(|v| (s, v))) else {
            return FamilyOutput::not_assessable(self.not_assessable(NO_AXIAL), NO_AXIAL);
        };
        let ct1 = chosen.contrast_t1.and_then(volume_of);
        let sagittal = chosen
            .t2_sagittal
            .or(chosen.mr_myelography)
            .and_then(|s| volume_of(s).map(|v| (s, v)))
            .filter(|(_, v)| v.geometry().plane() == csfleak_volume::Plane::Sagittal);
        // The sagittal count needs nothing from the axial analysis: both run at once.
        let (analysis, sagittal_count) = rayon::join(
            || analyze_mri(t2, ct1, &self.options),
            || sagittal.and_then(|(_, sv)| csfleak_spine::levels::sagittal::count_on_sagittal(sv)),
        );
        match analysis {
            Ok(mut a) => {
                let levels_note = sagittal.zip(sagittal_count).map(|((ss, _), counted)| {
                    levels_from_sagittal(&mut a, counted, &series_label(ss), &self.options)
                });
                // Collections reaching an end of the axial stack are followed on the sagittal.
                let follow_notes = sagittal
                    .map(|(_, sv)| a.follow_on_sagittal(sv, &self.options))
                    .unwrap_or_default();
                let uid = t2s.meta.series_instance_uid.as_str();
                let mut section = a.to_section(Some(uid), ct1.is_some());
                let mut overlays = link_overlays(&mut section, &a, t2, &series_label(t2s));
                if let Some((ss, sv)) = sagittal {
                    if let Some(o) = sagittal_overlay(&mut section, &a, sv, ss) {
                        overlays.push(o);
                    }
                }
                let mut notes = Vec::new();
                if chosen.t2_sagittal.is_some() || chosen.mr_myelography.is_some() {
                    notes.push(
                        "sagittal T2 / MR myelography shown as overviews; measurements are \
                         made on the axial fat-suppressed T2"
                            .to_owned(),
                    );
                }
                notes.extend(levels_note);
                notes.extend(follow_notes);
                if ct1.is_none() {
                    notes.push(
                        "no contrast T1: enhancement of extradural fluid not assessed".to_owned(),
                    );
                }
                if a.canal.confidence < 0.8 {
                    notes.push(format!(
                        "dural sac found on {:.0} % of the axial slices only",
                        a.canal.confidence * 100.0
                    ));
                }
                let mut out = FamilyOutput::not_assessable(Section::Spine(section), "");
                out.measured = true;
                out.reason = None;
                out.overlays = overlays;
                out.notes = notes;
                out
            }
            Err(e) => {
                let reason = format!("spinal MRI analysis failed: {}", crate::error_chain(&e));
                FamilyOutput::not_assessable(self.not_assessable(&reason), reason)
            }
        }
    }
}

/// Given the vertebral levels counted on the sagittal series
/// ([`csfleak_spine::levels::sagittal::count_on_sagittal`]): when that count is better founded
/// than the axial stack's own (counted there while the axial one is not, or with at least
/// its confidence), transfer its labels to the axial stack by patient z (both series are in
/// the same patient frame). A user anchor is applied again and still wins. Returns a note
/// for the report.
fn levels_from_sagittal(
    a: &mut MriAnalysis,
    counted: LevelScale,
    label: &str,
    options: &SpineOptions,
) -> String {
    if counted.status() != LevelStatus::Counted {
        return format!(
            "levels not counted on the sagittal series ({label}): {}",
            counted.reason().unwrap_or("no reason given")
        );
    }
    let axial_counted = a.levels.status() == LevelStatus::Counted
        || (a.levels.status() == LevelStatus::Anchored && options.level_anchor.is_none());
    // Two counts that agree at every axial landmark: the sagittal one spans the whole traced
    // canal (collections followed beyond the axial stack get their levels from it).
    let agrees = axial_counted
        && a.levels
            .landmarks()
            .iter()
            .all(|&(z, lv)| counted.level_at(z) == Some(lv));
    if axial_counted && !agrees && a.levels.confidence() > counted.confidence() {
        return format!(
            "levels counted on the axial stack (confidence {:.2}); the sagittal count \
             ({label}) had {:.2}",
            a.levels.confidence(),
            counted.confidence()
        );
    }
    let mut scale = counted.transferred_to(
        a.levels.covered_z_mm(),
        &format!("sagittal count on {label}, labels transferred to the axial stack by patient z"),
    );
    if let Some(anchor) = options.level_anchor {
        scale = scale.with_anchor(anchor);
    }
    a.levels = scale;
    format!(
        "vertebral levels counted on the sagittal series ({label}) and transferred to the \
         axial stack by patient z"
    )
}

fn series_label(s: &LoadedSeries) -> String {
    s.meta
        .series_number
        .map_or_else(|| "series ?".to_owned(), |n| format!("series {n}"))
}

/// Where `p` (LPS) falls in slice `k`'s pixel grid: `[row, col]`.
fn pixel_of(v: &Volume, p: DVec3) -> [f64; 2] {
    let ijk = v.geometry().voxel_from_world().transform_point3(p);
    [ijk.y, ijk.x]
}

/// The lesion a slice of evidence belongs to, for its label.
fn lesion_text(l: &Lesion) -> String {
    format!(
        "{:?}, thickness {:.1} mm, extent {:.0} mm, {:.2} mL",
        l.position, l.max_thickness_mm, l.extent_mm, l.volume_ml
    )
    .to_lowercase()
}

/// One overlay of slice `k`: the T2 slice, the sac outline, rays of fluid beyond the dura, and
/// the dural-gap pixels.
fn slice_overlay(
    name: String,
    title: String,
    canal: &CanalModel,
    t2: &Volume,
    k: usize,
    label: &str,
) -> Option<Overlay> {
    let [_, _, nk] = t2.dims();
    if k >= nk {
        return None;
    }
    let base = t2.data().index_axis(Axis(0), k).to_owned();
    let window = Overlay::auto_window(&base);
    let mut o = Overlay::new(name, title, base, window);
    let sp = t2.geometry().spacing_mm();
    o.pixel_spacing_mm = Some([sp[1], sp[0]]);
    o.orientation_note = format!(
        "axial T2 FS slice {} of {nk}, as stored; window {:.0}..{:.0}",
        k + 1,
        window.0,
        window.1
    );
    let Some(sl) = canal.slices.get(k).filter(|s| s.found) else {
        o.texts.push(OverlayText {
            at: [4.0, 4.0],
            text: "no dural sac found on this slice".to_owned(),
            color: colors::LABEL,
        });
        return Some(o);
    };
    o.masks.push(OverlayMask {
        mask: sl.sac.clone(),
        color: colors::SAC,
        label: "dural sac".to_owned(),
        outline_only: true,
    });
    // Rays: from the sac edge outwards by the fluid depth beyond the dura.
    let c = pixel_of(t2, sl.centre.to_dvec3());
    let (nr, nc) = sl.sac.dim();
    let n_rays = sl.beyond_dura_mm.len();
    for (a, &depth) in sl.beyond_dura_mm.iter().enumerate() {
        if depth < 0.5 {
            continue;
        }
        #[allow(clippy::cast_precision_loss, reason = "ray counts are tiny")]
        let th = a as f64 * std::f64::consts::TAU / n_rays as f64;
        let at = |rho: f64| [c[0] + rho * th.sin() / sp[1], c[1] + rho * th.cos() / sp[0]];
        let inside = |p: [f64; 2]| {
            let (r, cc) = (p[0].round(), p[1].round());
            r >= 0.0
                && cc >= 0.0
                && csfleak_volume::index_of(r)
                    .zip(csfleak_volume::index_of(cc))
                    .is_some_and(|(r, cc)| r < nr && cc < nc && sl.sac[[r, cc]])
        };
        let mut edge = 0.0;
        while edge < 60.0 && inside(at(edge + 0.25)) {
            edge += 0.25;
        }
        o.lines.push(OverlayLine {
            from: at(edge),
            to: at(edge + depth),
            color: colors::FINDING,
            label: String::new(),
        });
    }
    if !sl.bridge.is_empty() {
        let mut m = Array2::from_elem((nr, nc), false);
        for &(r, cc) in &sl.bridge {
            if r < nr && cc < nc {
                m[[r, cc]] = true;
            }
        }
        o.masks.push(OverlayMask {
            mask: m,
            color: colors::MIMIC,
            label: "dural gap (continuity)".to_owned(),
            outline_only: false,
        });
    }
    o.texts.push(OverlayText {
        at: [4.0, 4.0],
        text: label.to_owned(),
        color: colors::LABEL,
    });
    Some(o)
}

/// Draw one overlay per evidence slice of every collection (and the key slice of every mimic)
/// and write each overlay's name into the evidence that it shows.
fn link_overlays(section: &mut Spine, a: &MriAnalysis, t2: &Volume, series: &str) -> Vec<Overlay> {
    let mut overlays = Vec::new();
    if let Some(fluid) = section.epidural_fluid.as_mut() {
        for (i, (c, l)) in fluid.collections.iter_mut().zip(&a.collections).enumerate() {
            for ev in &mut c.evidence {
                link_one(
                    ev,
                    &mut overlays,
                    a,
                    t2,
                    series,
                    &format!("collection{}", i + 1),
                    l,
                );
            }
        }
    }
    for (i, l) in a.mimics.iter().enumerate() {
        let name = format!("spine_mimic{}_k{:03}", i + 1, l.key_slice);
        let kind = l
            .mimic
            .map_or_else(|| "mimic".to_owned(), |m| format!("{m:?}").to_lowercase());
        let title = format!(
            "Spinal MRI ({series}): excluded mimic {} ({kind}), slice {}",
            i + 1,
            l.key_slice + 1
        );
        if let Some(o) = slice_overlay(name, title, &a.canal, t2, l.key_slice, &kind) {
            overlays.push(o);
        }
    }
    overlays
}

fn link_one(
    ev: &mut Evidence,
    overlays: &mut Vec<Overlay>,
    a: &MriAnalysis,
    t2: &Volume,
    series: &str,
    what: &str,
    l: &Lesion,
) {
    let Some(k) = ev.slice_index.and_then(|k| usize::try_from(k).ok()) else {
        return;
    };
    let name = format!("spine_{what}_k{k:03}");
    if !overlays.iter().any(|o| o.name == name) {
        let desc = ev.description.as_deref().unwrap_or("evidence");
        let title = format!(
            "Spinal MRI ({series}): extradural fluid {what}, {desc}, slice {}",
            k + 1
        );
        match slice_overlay(name.clone(), title, &a.canal, t2, k, &lesion_text(l)) {
            Some(o) => overlays.push(o),
            None => return,
        }
    }
    ev.overlay = Some(format!("overlays/{name}.png"));
}

/// The sagittal overview with each collection's cranio-caudal extent along the canal and the
/// level labels; linked from every collection as an extra evidence entry.
fn sagittal_overlay(
    section: &mut Spine,
    a: &MriAnalysis,
    sag: &Volume,
    sag_series: &LoadedSeries,
) -> Option<Overlay> {
    let centres: Vec<DVec3> = a
        .canal
        .slices
        .iter()
        .filter(|s| s.found)
        .map(|s| s.centre.to_dvec3())
        .collect();
    if centres.is_empty() {
        return None;
    }
    let to_vox = sag.geometry().voxel_from_world();
    let [_, _, nk] = sag.dims();
    // The sagittal slice through the canal (median of the centres' slice coordinate).
    let mut ks: Vec<f64> = centres
        .iter()
        .map(|c| to_vox.transform_point3(*c).z)
        .collect();
    ks.sort_by(f64::total_cmp);
    let k = csfleak_volume::index_of(ks[ks.len() / 2].round())?.min(nk.checked_sub(1)?);
    let base = sag.data().index_axis(Axis(0), k).to_owned();
    let window = Overlay::auto_window(&base);
    let series = series_label(sag_series);
    let name = "spine_sagittal_extent".to_owned();
    let mut o = Overlay::new(
        name.clone(),
        format!(
            "Spinal MRI ({series}): extradural fluid extent and levels, sagittal slice {}",
            k + 1
        ),
        base,
        window,
    );
    let sp = sag.geometry().spacing_mm();
    o.pixel_spacing_mm = Some([sp[1], sp[0]]);
    o.orientation_note = format!(
        "sagittal slice {} of {nk} nearest the canal, as stored; canal centre points of the axial \
         stack projected; window {:.0}..{:.0}",
        k + 1,
        window.0,
        window.1
    );
    let px = |p: DVec3| pixel_of(sag, p);
    // Collections: the canal centre over their cranio-caudal extent (patient z, which may
    // reach beyond the axial stack where the collection was followed on the sagittal series:
    // there the nearest canal centre is carried to the end), drawn as a polyline.
    let mut by_z = centres.clone();
    by_z.sort_by(|a, b| b.z.total_cmp(&a.z));
    for (i, l) in a.collections.iter().enumerate() {
        let (lo, hi) = (
            l.z_range_mm.0.min(l.z_range_mm.1),
            l.z_range_mm.0.max(l.z_range_mm.1),
        );
        let inside: Vec<DVec3> = by_z
            .iter()
            .copied()
            .filter(|c| c.z >= lo - 0.5 && c.z <= hi + 0.5)
            .collect();
        let nearest = |z: f64| {
            by_z.iter()
                .copied()
                .min_by(|a, b| (a.z - z).abs().total_cmp(&(b.z - z).abs()))
        };
        let mut path: Vec<DVec3> = Vec::new();
        if let Some(top) = nearest(hi)
            && inside.first().is_none_or(|f| hi > f.z + 0.5)
        {
            path.push(DVec3::new(top.x, top.y, hi));
        }
        path.extend(inside.iter().copied());
        if let Some(bottom) = nearest(lo)
            && inside.last().is_none_or(|l| lo < l.z - 0.5)
        {
            path.push(DVec3::new(bottom.x, bottom.y, lo));
        }
        let pts: Vec<[f64; 2]> = path.into_iter().map(px).collect();
        for w in pts.windows(2) {
            o.lines.push(OverlayLine {
                from: w[0],
                to: w[1],
                color: colors::FINDING,
                label: String::new(),
            });
        }
        if let Some(first) = pts.first() {
            o.texts.push(OverlayText {
                at: [first[0], first[1] + 4.0],
                text: format!("{}", i + 1),
                color: colors::FINDING,
            });
        }
    }
    // Level labels at the canal centre of the nearest axial slice.
    if let Some(levels) = section.levels.as_ref() {
        for lm in &levels.landmarks {
            let z = lm.z_mm.0;
            let Some(c) = centres
                .iter()
                .min_by(|a, b| (a.z - z).abs().total_cmp(&(b.z - z).abs()))
            else {
                continue;
            };
            let p = px(DVec3::new(c.x, c.y, z));
            o.texts.push(OverlayText {
                at: [p[0], p[1] - 16.0],
                text: lm.level.to_string(),
                color: colors::LABEL,
            });
        }
    }
    let uid = sag_series.meta.series_instance_uid.clone();
    if let Some(fluid) = section.epidural_fluid.as_mut() {
        for c in &mut fluid.collections {
            c.evidence.push(Evidence {
                series_instance_uid: Some(uid.clone()),
                slice_index: u32::try_from(k).ok(),
                overlay: Some(format!("overlays/{name}.png")),
                description: Some("cranio-caudal extent on the sagittal image".to_owned()),
                ..Evidence::default()
            });
        }
    }
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_series_selects_nothing() {
        let s = select(&[]);
        assert!(s.t2_axial.is_none() && s.contrast_t1.is_none());
    }
}
