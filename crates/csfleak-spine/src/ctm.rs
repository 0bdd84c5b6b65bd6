//! CT myelography (MHLW 2011 section C; clinical.md §2.4, §11): the contrast-filled dural sac,
//! extradural contrast, each site's level and side, continuity with the subarachnoid space,
//! and the study's class (continuous leak / contrast only at the puncture or catheter entry /
//! non-continuous epidural contrast / none).
//!
//! Densities are relative to the patient's own intrathecal contrast (the median HU inside the
//! sac, reported in absolute HU): extradural contrast is denser than
//! [`CtmOptions::extradural_fraction`] of it (and than an absolute floor above any soft tissue).
//! Levels come from CT bone (disc minima along the anterior column, counted from the sacrum or
//! C2); when they cannot be counted, sites carry patient heights in mm and the findings say
//! that levels were not counted. A user anchor wins.
//!
//! ```no_run
//! # fn ct() -> csfleak_volume::Volume { unimplemented!() }
//! use csfleak_spine::ctm::{CtmOptions, analyze_ctm};
//! let mut opts = CtmOptions::default();
//! opts.puncture_levels = vec!["L3/4".parse()?];
//! let analysis = analyze_ctm(&ct(), &opts)?;
//! println!("{:?}, {} site(s)", analysis.class, analysis.sites.len());
//! let section = analysis.to_findings(None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap,
    reason = "pixel and slice coordinates: non-negative, clamped to the image, far below 2^52"
)]

mod catheter;
mod levels;
mod morph;
mod overlays;
mod sac;
mod sites;
mod veins;

pub use catheter::{Catheter, METHOD as CATHETER_METHOD};
pub use veins::{METHOD as VEINS_METHOD, VEIN_HU, VeinSegment, Veins};

use std::fmt::Write as _;

use csfleak_findings::{
    ContrastSite, CtCatheter, CtMyelography, EpiduralContrast, Evidence, FieldStatus, Hu, Level,
    ParaspinalVeins, Provenance, Region, Side, Status, Vertebra,
};
use csfleak_volume::overlay::Overlay;
use csfleak_volume::{DVec3, Volume};

use crate::levels::LevelScale;
use crate::{Error, LevelAnchor, Result};

/// Method name of the analysis.
pub const METHOD: &str = "ct_myelography.epidural_contrast/1";

/// Options of the CT myelography analysis.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CtmOptions {
    /// Documented lumbar puncture level(s) (clinical context; empty when unknown).
    pub puncture_levels: Vec<Level>,
    /// Entry level of an intrathecal catheter (clinical context).
    pub catheter_entry_level: Option<Level>,
    /// Sites within this many levels of a puncture / entry level count as "at the puncture
    /// site" (criteria `params.puncture_tolerance_levels`, 1 by default).
    pub puncture_tolerance_levels: u8,
    /// Override of the automatic level labelling.
    pub level_anchor: Option<LevelAnchor>,
    /// Extradural contrast threshold as a fraction of the intrathecal median HU.
    pub extradural_fraction: f64,
    /// Absolute floor of the extradural threshold, HU (above muscle, blood, disc).
    pub extradural_floor_hu: f64,
    /// The sac proper is denser than this fraction of the intrathecal median (partial-volume
    /// rim and diluted extradural contrast lie below it).
    pub sac_fraction: f64,
    /// A piece whose maximum exceeds this fraction of the intrathecal median (+ 60 HU of noise margin) holds
    /// bone: extradural contrast is diluted intrathecal contrast.
    pub bone_fraction: f64,
    /// Smallest site volume, mm³ (noise and partial-volume specks below it).
    pub min_site_mm3: f64,
    /// A site continuous with the sac must exceed this many times the median volume of the
    /// study's root-sleeve-like attachments (normal sleeves fill with contrast)...
    pub sleeve_outlier_factor: f64,
    /// ... and this volume, mm³ (a normal contrast-filled root sleeve beyond the sac).
    pub min_attached_site_mm3: f64,
    /// Contrast crossing the dura ventrally or dorsally is a defect when the contrast against
    /// the sac is at least this fraction of the intrathecal median (a jet through the defect);
    /// diluted contrast lying against an intact dura stays below it.
    pub defect_bridge_fraction: f64,
    /// Lateral contrast not touching the sac but within this distance of it (mm) tracks along
    /// a root sleeve (a sleeve's length).
    pub sleeve_reach_mm: f64,
    /// Depth of the ventral epidural space, mm: contrast-dense pieces in front of the sac
    /// and farther from it are vertebral bodies, endplates or discs.
    pub ventral_epidural_mm: f64,
    /// Series Instance UID for evidence links.
    pub series_instance_uid: Option<String>,
}

impl Default for CtmOptions {
    fn default() -> Self {
        Self {
            puncture_levels: Vec::new(),
            catheter_entry_level: None,
            puncture_tolerance_levels: 1,
            level_anchor: None,
            extradural_fraction: 0.3,
            extradural_floor_hu: 120.0,
            sac_fraction: 0.75,
            bone_fraction: 1.0,
            min_site_mm3: 25.0,
            sleeve_outlier_factor: 2.5,
            min_attached_site_mm3: 150.0,
            defect_bridge_fraction: 0.85,
            sleeve_reach_mm: 8.0,
            ventral_epidural_mm: 5.0,
            series_instance_uid: None,
        }
    }
}

/// The class of a study.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CtmClass {
    /// No extradural contrast.
    NoEpiduralContrast,
    /// Extradural contrast continuous with the subarachnoid space away from the puncture /
    /// catheter entry (a leak point).
    ContinuousLeak,
    /// Extradural contrast away from the puncture / entry, not continuous with the sac.
    NonContinuous,
    /// Extradural contrast only at the puncture or catheter entry level (not diagnostic).
    PunctureSiteOnly,
    /// The study could not be assessed (reason in [`CtmAnalysis::reason`]).
    NotAssessable,
}

impl CtmClass {
    /// Stable spelling for tables and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoEpiduralContrast => "none",
            Self::ContinuousLeak => "continuous_leak",
            Self::NonContinuous => "non_continuous",
            Self::PunctureSiteOnly => "puncture_site_only",
            Self::NotAssessable => "not_assessable",
        }
    }
}

/// How a site connects to the subarachnoid space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Connection {
    /// Not connected to the sac.
    None,
    /// Along a root sleeve (lateral contact).
    RootSleeve,
    /// Through the dura directly (ventral or dorsal contact).
    DuralDefect,
}

/// One extradural contrast site.
#[derive(Debug, Clone, PartialEq)]
pub struct CtmSite {
    /// Level at the site's leak point (contact with the sac) or centre; `None` when levels are
    /// not known.
    pub level: Option<Level>,
    /// Patient z (LPS, mm) of the leak point / centre.
    pub z_mm: f64,
    /// Cranio-caudal extent `(low, high)` in patient z, mm.
    pub z_range_mm: (f64, f64),
    /// Side (patient), from the site's centre relative to the sac centre.
    pub side: Side,
    /// Connection with the subarachnoid space.
    pub connection: Connection,
    /// Volume, mm³.
    pub volume_mm3: f64,
    /// Smallest 3D distance to the (opened) sac, mm.
    pub sac_distance_mm: f64,
    /// Maximal HU.
    pub max_hu: f64,
    /// Mean HU.
    pub mean_hu: f64,
    /// Within tolerance of a documented puncture level (`None` when it cannot be decided).
    pub at_puncture_site: Option<bool>,
    /// Within tolerance of the catheter entry level (`None` when it cannot be decided).
    pub at_catheter_entry: Option<bool>,
    /// Distance in levels from the nearest documented puncture level.
    pub levels_from_puncture: Option<u8>,
    /// Distance in levels from the catheter entry level.
    pub levels_from_catheter_entry: Option<u8>,
    /// Slice showing the site best (largest area; the contact slice when continuous).
    pub key_slice: usize,
    /// Name of the axial overlay of the key slice.
    pub overlay: String,
}

/// Result of [`analyze_ctm`].
#[derive(Debug, Clone)]
pub struct CtmAnalysis {
    /// Class of the study.
    pub class: CtmClass,
    /// Why not assessable.
    pub reason: Option<String>,
    /// Median HU inside the sac.
    pub intrathecal_median_hu: Option<f64>,
    /// Extradural threshold used, HU.
    pub extradural_threshold_hu: Option<f64>,
    /// Slices with a sac / all slices.
    pub sac_fraction: f64,
    /// Sites (cranial first).
    pub sites: Vec<CtmSite>,
    /// Vertebral levels.
    pub levels: LevelScale,
    /// Sagittal overview and axial key slices.
    pub overlays: Vec<Overlay>,
    /// Name of the sagittal overview overlay (when drawn).
    pub overview: Option<String>,
    /// Hyperdense paraspinal veins (research flag).
    pub veins: Veins,
    /// An intrathecal catheter seen on the CT (its extradural course).
    pub catheter: Option<Catheter>,
    /// Level where the catheter seen enters the sac.
    pub catheter_entry_level: Option<Level>,
}

fn slice_z(v: &Volume, k: usize) -> f64 {
    v.geometry()
        .world_from_voxel_point(DVec3::new(0.0, 0.0, k as f64))
        .to_dvec3()
        .z
}

/// Analyse an axial CT myelogram (HU).
///
/// Errors only for unusable input (too few slices or pixels); a volume without a findable
/// sac gives a not-assessable analysis with the reason.
pub fn analyze_ctm(ct: &Volume, opts: &CtmOptions) -> Result<CtmAnalysis> {
    let dims = ct.dims();
    if dims[0] < 16 || dims[1] < 16 || dims[2] < 3 {
        return Err(Error::TooSmall { dims });
    }
    let nk = dims[2];
    let z0 = slice_z(ct, 0);
    let z1 = slice_z(ct, nk - 1);
    let covered = (z0.min(z1), z0.max(z1));
    let not_assessable = |reason: &str| CtmAnalysis {
        class: CtmClass::NotAssessable,
        reason: Some(reason.to_owned()),
        intrathecal_median_hu: None,
        extradural_threshold_hu: None,
        sac_fraction: 0.0,
        sites: Vec::new(),
        levels: LevelScale::not_counted(covered, &[], levels::METHOD, reason),
        overlays: Vec::new(),
        overview: None,
        veins: Veins::not_assessable(reason),
        catheter: None,
        catheter_entry_level: None,
    };
    if ct.geometry().directions()[2].z.abs() < 0.7 {
        return Ok(not_assessable(
            "the CT stack is not axial (slices must cross the canal)",
        ));
    }
    let sacs = sac::find_sac(ct);
    let found = sacs.iter().filter(|s| s.is_some()).count();
    let sac_fraction = found as f64 / nk as f64;
    if found < 3 || sac_fraction < 0.2 {
        return Ok(not_assessable(
            "no contrast-filled dural sac found along the stack",
        ));
    }
    let mut meds: Vec<f64> = sacs
        .iter()
        .flatten()
        .map(|s| f64::from(s.median_hu))
        .collect();
    meds.sort_by(f64::total_cmp);
    let ith = meds[meds.len() / 2];
    let thr = (opts.extradural_fraction * ith).max(opts.extradural_floor_hu);
    #[allow(clippy::cast_possible_truncation, reason = "HU fits f32")]
    let slices = sites::slice_pieces(
        ct,
        &sacs,
        thr as f32,
        (opts.sac_fraction * ith) as f32,
        (opts.bone_fraction * ith + 60.0) as f32,
        ith as f32,
    );
    let groups = sites::group(&slices);
    let mut scale = levels::detect_levels(ct, &sacs);
    if let Some(a) = opts.level_anchor {
        scale = scale.with_anchor(a);
    }
    let catheter = catheter::find_catheter(ct, &sacs, &slices);
    let catheter_entry_level = catheter
        .as_ref()
        .and_then(|c| c.entry_z_mm)
        .and_then(|z| scale.level_at(z));
    // A catheter seen entering the sac is a catheter entry even when the clinical context
    // does not name it (clinical.md §11).
    let mut site_opts = opts.clone();
    if site_opts.catheter_entry_level.is_none() {
        site_opts.catheter_entry_level = catheter_entry_level;
    }
    let not_sites = NotSites {
        catheter: catheter.as_ref(),
    };
    let found_sites = measure_sites(
        ct, &sacs, &slices, &groups, &site_opts, &scale, ith, &not_sites,
    );
    // Veins: never the contrast of a site (leaking contrast leaves through the foramen).
    let site_spans: Vec<((f64, f64), Side)> = found_sites
        .iter()
        .map(|(s, _)| (s.z_range_mm, s.side))
        .collect();
    let veins = veins::find_veins(
        ct,
        &sacs,
        &slices,
        (opts.sac_fraction * ith) as f32,
        &site_spans,
    );
    let mut found_sites: Vec<CtmSite> = found_sites.into_iter().map(|(s, _)| s).collect();
    found_sites.sort_by(|a, b| b.z_mm.total_cmp(&a.z_mm));
    for (n, s) in found_sites.iter_mut().enumerate() {
        s.overlay = format!("ctm_site_{}_axial", n + 1);
    }
    let class = classify(&found_sites);
    let mut analysis = CtmAnalysis {
        class,
        reason: None,
        intrathecal_median_hu: Some(ith),
        extradural_threshold_hu: Some(thr),
        sac_fraction,
        sites: found_sites,
        levels: scale,
        overlays: Vec::new(),
        overview: None,
        veins,
        catheter,
        catheter_entry_level,
    };
    let (overlays, overview) = overlays::draw(ct, &sacs, &slices, &analysis);
    analysis.overlays = overlays;
    analysis.overview = overview;
    Ok(analysis)
}

fn classify(sites: &[CtmSite]) -> CtmClass {
    let remote: Vec<&CtmSite> = sites
        .iter()
        .filter(|s| s.at_puncture_site != Some(true) && s.at_catheter_entry != Some(true))
        .collect();
    if sites.is_empty() {
        CtmClass::NoEpiduralContrast
    } else if remote.is_empty() {
        CtmClass::PunctureSiteOnly
    } else if remote.iter().any(|s| s.connection != Connection::None) {
        CtmClass::ContinuousLeak
    } else {
        CtmClass::NonContinuous
    }
}

/// Accumulated properties of one 3D group.
struct GroupStats {
    /// Index of the group.
    group: usize,
    n_slices: usize,
    /// Every piece lies on the first or the last slice of the stack.
    at_stack_end: bool,
    gap_mm: f64,
    /// Fraction of the contact pixels lateral to the sac centre (|dx| > |dy|).
    lateral_contact_fraction: f64,
    /// Volume left and right of the sac centre, mm³.
    side_mm3: [f64; 2],
    volume_mm3: f64,
    attached: bool,
    max_hu: f64,
    mean_hu: f64,
    centre: DVec3,
    contact: Option<DVec3>,
    sac_centre: DVec3,
    z_range: (f64, f64),
    key_slice: usize,
    /// Highest HU among them.
    touch_max_hu: f64,
    /// Farthest reach beyond the sac outline, mm.
    reach_mm: f64,
    /// Some piece was split off bone.
    near_bone: bool,
    /// Fraction of the pixels inside the sac of an adjacent slice.
    sac_cover: f64,
    /// Fraction of the pixels on (or next to) the catheter seen.
    catheter_cover: f64,
}

/// Dense structures that are not extradural contrast. (Contrast lying on a hyperdense
/// paraspinal vein is not dropped: a leak's contrast tracking out of the foramen looks the
/// same.)
struct NotSites<'a> {
    catheter: Option<&'a Catheter>,
}

impl GroupStats {
    /// Attached to the sac on its sides (where root sleeves leave), not only ventrally or
    /// dorsally.
    fn lateral_contact(&self) -> bool {
        self.attached && self.lateral_contact_fraction > 0.5
    }
}

fn group_stats(
    ct: &Volume,
    sacs: &[Option<sac::SacSlice>],
    slices: &[sites::SliceSites],
    group: &[(usize, usize)],
    not_sites: &NotSites<'_>,
) -> GroupStats {
    let g = ct.geometry();
    let [sx, sy, sz] = g.spacing_mm();
    let pix_mm3 = sx * sy * sz;
    let mut n = 0.0;
    let mut sum_hu = 0.0;
    let mut max_hu = f64::NEG_INFINITY;
    let mut centre = DVec3::ZERO;
    let mut contact = DVec3::ZERO;
    let mut n_contact = 0.0;
    let mut n_lateral = 0.0;
    let mut side_n = [0.0f64; 2];
    let mut sac_centre = DVec3::ZERO;
    let mut z_range = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut best, mut key) = (0usize, group.first().map_or(0, |g| g.0));
    let mut best_contact = 0usize;
    let (mut touch_max_hu, mut reach_mm) = (f64::NEG_INFINITY, 0.0f64);
    let mut near_bone = false;
    for &(k, i) in group {
        let p = &slices[k].pieces[i];
        near_bone |= p.near_bone;

        if p.touch_max_hu.is_finite() {
            touch_max_hu = touch_max_hu.max(f64::from(p.touch_max_hu));
        }
        reach_mm = reach_mm.max(p.reach_mm);
        let m = p.pixels.len() as f64;
        for &(r, c) in &p.pixels {
            centre += g
                .world_from_voxel_point(DVec3::new(c as f64, r as f64, k as f64))
                .to_dvec3();
        }
        let sc = sacs[k].as_ref().map(|s| {
            g.world_from_voxel_point(DVec3::new(s.centroid.1, s.centroid.0, k as f64))
                .to_dvec3()
        });
        for &(r, c) in &p.pixels {
            let w = g
                .world_from_voxel_point(DVec3::new(c as f64, r as f64, k as f64))
                .to_dvec3();
            if let Some(sc) = sc {
                side_n[usize::from(w.x < sc.x)] += 1.0;
            }
        }
        if p.attached {
            for &(r, c) in &p.pixels {
                let w = g
                    .world_from_voxel_point(DVec3::new(c as f64, r as f64, k as f64))
                    .to_dvec3();
                contact += w;
                if let Some(sc) = sc
                    && (w.x - sc.x).abs() > (w.y - sc.y).abs()
                {
                    n_lateral += 1.0;
                }
            }
            n_contact += m;
            if p.pixels.len() > best_contact {
                best_contact = p.pixels.len();
                key = k;
            }
        } else if best_contact == 0 && p.pixels.len() > best {
            best = p.pixels.len();
            key = k;
        }
        if let Some(s) = &sacs[k] {
            sac_centre += g
                .world_from_voxel_point(DVec3::new(s.centroid.1, s.centroid.0, k as f64))
                .to_dvec3()
                * m;
        }
        n += m;
        sum_hu += p.sum_hu;
        max_hu = max_hu.max(f64::from(p.max_hu));
        let z = slice_z(ct, k);
        z_range = (z_range.0.min(z), z_range.1.max(z));
    }
    let n = n.max(1.0);
    // Smallest 3D distance from the site to the sac (mm), over neighbouring slices.
    let mut gap = f64::INFINITY;
    for &(k, i) in group {
        let p = &slices[k].pieces[i];
        let from = k.saturating_sub(1);
        let to = (k + 1).min(slices.len() - 1);
        for (kk, other) in slices.iter().enumerate().take(to + 1).skip(from) {
            let dz = (kk as f64 - k as f64) * sz;
            for &(r, c) in &p.pixels {
                for &(sr, sc) in &other.sac {
                    let d = ((sr as f64 - r as f64) * sy).powi(2)
                        + ((sc as f64 - c as f64) * sx).powi(2)
                        + dz * dz;
                    gap = gap.min(d);
                }
            }
        }
    }
    // The sac is a smooth tube: contrast where the sac lies on an adjacent slice is inside it
    // (cut off by roots or layering on this slice), not outside it.
    let mut covered = 0usize;
    for &(k, i) in group {
        let p = &slices[k].pieces[i];
        let nbr = [k.checked_sub(1), (k + 1 < slices.len()).then_some(k + 1)];
        covered += p
            .pixels
            .iter()
            .filter(|px| {
                nbr.iter()
                    .flatten()
                    .any(|&kk| slices[kk].sac.binary_search(px).is_ok())
            })
            .count();
    }
    let gap = gap.sqrt();
    // The catheter's partial volume reaches about a pixel around its dots.
    let on_catheter = not_sites.catheter.map_or(0, |cat| {
        group
            .iter()
            .map(|&(k, i)| {
                slices[k].pieces[i]
                    .pixels
                    .iter()
                    .filter(|&&(r, c)| cat.near(k, r, c, 1))
                    .count()
            })
            .sum::<usize>()
    });
    GroupStats {
        group: 0,
        catheter_cover: on_catheter as f64 / n,
        sac_cover: covered as f64 / n,
        gap_mm: gap,
        at_stack_end: group.iter().all(|&(k, _)| k == 0 || k + 1 == slices.len()),
        n_slices: {
            let mut ks: Vec<usize> = group.iter().map(|g| g.0).collect();
            ks.dedup();
            ks.len()
        },
        lateral_contact_fraction: n_lateral / n_contact.max(1.0),
        side_mm3: [side_n[0] * pix_mm3, side_n[1] * pix_mm3],
        volume_mm3: n * pix_mm3,
        attached: n_contact > 0.0,
        max_hu,
        mean_hu: sum_hu / n,
        centre: centre / n,
        contact: (n_contact > 0.0).then(|| contact / n_contact),
        sac_centre: sac_centre / n,
        z_range,
        key_slice: key,
        touch_max_hu,
        reach_mm,
        near_bone,
    }
}

/// How a site connects to the subarachnoid space, read as a radiologist would:
/// * touching the sac on its side, where the roots leave: along the root sleeve;
/// * touching it ventrally or dorsally through contrast as dense as the intrathecal contrast
///   (a jet through a dural defect): through the dura;
/// * touching it there with only diluted contrast against the sac (an intact dura between
///   them): not continuous (the leak point is not seen);
/// * not touching it but lateral to the sac in the root-exit zone within a sleeve's length
///   of the sac (contrast tracking along the root from its sleeve): along the root sleeve;
/// * anywhere else: not continuous.
fn connection_of(s: &GroupStats, ith: f64, opts: &CtmOptions) -> Connection {
    let d = s.centre - s.sac_centre;
    let lateral = d.x.abs() > d.y.abs();
    if s.attached {
        if s.lateral_contact() {
            Connection::RootSleeve
        } else if s.touch_max_hu >= opts.defect_bridge_fraction * ith {
            Connection::DuralDefect
        } else {
            Connection::None
        }
    } else if lateral && s.gap_mm <= opts.sleeve_reach_mm && s.reach_mm >= 4.0 {
        Connection::RootSleeve
    } else {
        Connection::None
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "the per-study inputs of the site measurement, all read-only"
)]
fn measure_sites(
    ct: &Volume,
    sacs: &[Option<sac::SacSlice>],
    slices: &[sites::SliceSites],
    groups: &[Vec<(usize, usize)>],
    opts: &CtmOptions,
    scale: &LevelScale,
    ith: f64,
    not_sites: &NotSites<'_>,
) -> Vec<(CtmSite, usize)> {
    let slice_mm = ct.geometry().spacing_mm()[2];
    let stats: Vec<GroupStats> = groups
        .iter()
        .enumerate()
        .map(|(gi, g)| GroupStats {
            group: gi,
            ..group_stats(ct, sacs, slices, g, not_sites)
        })
        // The catheter itself is radio-opaque, not contrast.
        .filter(|s| s.catheter_cover < 0.5)
        // A site seen on one slice only or spanning less than 4 mm along the stack is a
        // partial-volume edge (an endplate or a cortical rim cut obliquely); real collections
        // span several millimetres. A piece beside the canal (foramen, paraspinal), clear of
        // bone and as large as a collection counts on one thick slice.
        .filter(|s| {
            let d = s.centre - s.sac_centre;
            s.volume_mm3 >= opts.min_site_mm3
                && ((s.n_slices >= 2 && s.n_slices as f64 * slice_mm >= 4.0)
                    || (!s.near_bone
                        && d.x.abs() > d.y.abs()
                        && s.volume_mm3 >= opts.min_attached_site_mm3))
        })
        // Contrast split off bone counts only within a sleeve's reach of the sac (beyond it,
        // such pieces are marrow and cortical partial volume).
        .filter(|s| !s.near_bone || s.gap_mm <= opts.sleeve_reach_mm)
        // Contrast where the sac lies on the adjacent slices is intrathecal (cut off by roots
        // or a dependent layer on this slice).
        .filter(|s| s.sac_cover < 0.5)
        // On the outermost slices the bone a piece was split off may continue beyond the
        // stack, where it cannot be seen.
        .filter(|s| !(s.near_bone && s.at_stack_end))
        // In front of the sac the epidural space is a few millimetres deep: contrast-dense
        // pieces farther in front are vertebral bodies, endplates and discs.
        .filter(|s| {
            let d = s.centre - s.sac_centre;
            s.attached || -d.y <= d.x.abs() || s.gap_mm <= opts.ventral_epidural_mm
        })
        .collect();
    // Normal root sleeves fill with contrast: attached groups are sites only when they stand
    // out from the study's own sleeves.
    let mut attached: Vec<f64> = stats
        .iter()
        .filter(|s| s.lateral_contact())
        .flat_map(|s| s.side_mm3)
        .filter(|&v| v > 0.0)
        .collect();
    attached.sort_by(f64::total_cmp);
    let sleeve_median = attached.get(attached.len() / 2).copied().unwrap_or(0.0);
    let attached_min = (opts.sleeve_outlier_factor * sleeve_median).max(opts.min_attached_site_mm3);
    let tol = opts.puncture_tolerance_levels;
    stats
        .into_iter()
        .filter(|s| !s.lateral_contact() || s.side_mm3[0].max(s.side_mm3[1]) >= attached_min)
        .map(|s| {
            let connection = connection_of(&s, ith, opts);
            let at = s.contact.unwrap_or(s.centre);
            let dx = s.centre.x - s.sac_centre.x;
            let dy = s.centre.y - s.sac_centre.y;
            // Beside the sac, contrast follows a nerve root: name the site by its root.
            let level = scale.level_at(at.z).map(|l| {
                if connection == Connection::RootSleeve || dx.abs() > dy.abs() {
                    root_level(l)
                } else {
                    l
                }
            });
            let side = side_of_offset(dx);
            let from_puncture =
                level.and_then(|l| opts.puncture_levels.iter().map(|p| p.distance(l)).min());
            let from_entry = level
                .zip(opts.catheter_entry_level)
                .map(|(l, e)| e.distance(l));
            // A needle or catheter crosses the dura dorsally; contrast leaving along a root
            // sleeve is a leak point of its own, whatever the level.
            let via_sleeve = connection == Connection::RootSleeve;
            let at_puncture_site = if opts.puncture_levels.is_empty() || via_sleeve {
                Some(false)
            } else {
                from_puncture.map(|d| d <= tol)
            };
            let at_catheter_entry = if opts.catheter_entry_level.is_none() || via_sleeve {
                Some(false)
            } else {
                from_entry.map(|d| d <= tol)
            };
            let site = CtmSite {
                level,
                z_mm: at.z,
                z_range_mm: s.z_range,
                side,
                connection,
                volume_mm3: s.volume_mm3,
                sac_distance_mm: s.gap_mm,
                max_hu: s.max_hu,
                mean_hu: s.mean_hu,
                at_puncture_site,
                at_catheter_entry,
                levels_from_puncture: from_puncture,
                levels_from_catheter_entry: from_entry,
                key_slice: s.key_slice,
                overlay: String::new(),
            };
            (site, s.group)
        })
        .collect()
}

/// The nerve root leaving at a level: below the pedicle of its vertebra in the thoracic,
/// lumbar and sacral spine (disc Tn/Tn+1 -> root Tn), above it in the cervical spine
/// (C4/5 -> C5; C7/T1 stays the disc: the C8 root has no vertebra).
fn root_level(l: Level) -> Level {
    match l {
        Level::Disc(v) if v.region() == Region::Cervical => Vertebra::from_index(v.index() + 1)
            .filter(|n| n.region() == Region::Cervical)
            .map_or(l, Level::Vertebra),
        Level::Disc(v) => Level::Vertebra(v),
        Level::Vertebra(_) => l,
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl CtmAnalysis {
    /// The `ct_myelography` findings section. Evidence links name `<overlay>.png`.
    pub fn to_findings(&self, series_instance_uid: Option<&str>) -> CtMyelography {
        let uid = series_instance_uid.map(str::to_owned);
        if self.class == CtmClass::NotAssessable {
            let reason = self.reason.clone().unwrap_or_default();
            return CtMyelography {
                epidural_contrast: Some(EpiduralContrast::not_assessable(reason.clone())),
                intrathecal_median_hu: None,
                intrathecal_median_hu_status: Some(FieldStatus::not_assessable(reason)),
                levels: Some(self.levels.to_findings()),
                paraspinal_veins: Some(self.veins_findings(series_instance_uid)),
                catheter: None,
            };
        }
        let sites: Vec<ContrastSite> = self
            .sites
            .iter()
            .map(|s| {
                let evidence = Evidence {
                    series_instance_uid: uid.clone(),
                    sop_instance_uid: None,
                    slice_index: u32::try_from(s.key_slice).ok(),
                    level: s.level,
                    overlay: Some(format!("{}.png", s.overlay)),
                    description: Some(site_description(s)),
                };
                ContrastSite {
                    level: s.level,
                    side: Some(s.side),
                    continuous_with_sas: Some(s.connection != Connection::None),
                    dural_defect: Some(s.connection == Connection::DuralDefect),
                    at_puncture_site: s.at_puncture_site,
                    at_catheter_entry: s.at_catheter_entry,
                    max_hu: Some(Hu(round1(s.max_hu))),
                    evidence: vec![evidence],
                    provenance: Some(Provenance::Automatic {
                        series_instance_uid: uid.clone(),
                        slice_index: u32::try_from(s.key_slice).ok(),
                        method: Some(METHOD.to_owned()),
                    }),
                }
            })
            .collect();
        let status = if sites.is_empty() {
            Status::Absent
        } else {
            Status::Present
        };
        CtMyelography {
            epidural_contrast: Some(EpiduralContrast {
                status,
                reason: None,
                sites,
                provenance: Some(Provenance::Automatic {
                    series_instance_uid: uid,
                    slice_index: None,
                    method: Some(METHOD.to_owned()),
                }),
            }),
            intrathecal_median_hu: self.intrathecal_median_hu.map(|h| Hu(round1(h))),
            intrathecal_median_hu_status: None,
            levels: Some(self.levels.to_findings()),
            paraspinal_veins: Some(self.veins_findings(series_instance_uid)),
            catheter: Some(self.catheter_findings(series_instance_uid)),
        }
    }

    /// The `catheter` findings: seen or not, the entry level, the entry slice.
    fn catheter_findings(&self, uid: Option<&str>) -> CtCatheter {
        let evidence = self
            .catheter
            .iter()
            .map(|c| Evidence {
                series_instance_uid: uid.map(str::to_owned),
                slice_index: u32::try_from(c.entry_slice).ok(),
                level: self.catheter_entry_level,
                description: Some(format!(
                    "radio-opaque catheter, {:.0} mm of its extradural course seen, {}",
                    c.length_mm,
                    match (c.entry_z_mm, self.catheter_entry_level) {
                        (Some(_), Some(l)) => format!("entering the sac at {l}"),
                        (Some(z), None) => {
                            format!("entering the sac at z {z:.0} mm (levels not counted)")
                        }
                        (None, _) => "its entry into the sac not seen".to_owned(),
                    }
                )),
                ..Evidence::default()
            })
            .collect();
        CtCatheter {
            seen: Some(self.catheter.is_some()),
            entry_level: self.catheter_entry_level,
            method: Some(catheter::METHOD.to_owned()),
            evidence,
        }
    }

    /// The `paraspinal_veins` findings: the flag, the densest segment's HU, the segments'
    /// root levels and sides, one evidence item per segment.
    fn veins_findings(&self, uid: Option<&str>) -> ParaspinalVeins {
        let v = &self.veins;
        let mut by_z: Vec<&VeinSegment> = v.segments.iter().collect();
        by_z.sort_by(|a, b| b.z_mm.total_cmp(&a.z_mm));
        let level_of = |s: &VeinSegment| self.levels.level_at(s.z_mm).map(root_level);
        let mut levels: Vec<Level> = Vec::new();
        let mut sides: Vec<Side> = Vec::new();
        for s in &by_z {
            if let Some(l) = level_of(s)
                && !levels.contains(&l)
            {
                levels.push(l);
            }
            if !sides.contains(&s.side) {
                sides.push(s.side);
            }
        }
        let evidence = by_z
            .iter()
            .map(|s| Evidence {
                series_instance_uid: uid.map(str::to_owned),
                slice_index: u32::try_from(s.key_slice).ok(),
                level: level_of(s),
                description: Some(format!(
                    "hyperdense paraspinal vein {}, {}, mean {:.0} HU, {:.0} mm long",
                    level_of(s).map_or_else(
                        || format!("z {:.0} mm (levels not counted)", s.z_mm),
                        |l| l.to_string()
                    ),
                    side_word(s.side),
                    s.mean_hu,
                    s.length_mm
                )),
                ..Evidence::default()
            })
            .collect();
        ParaspinalVeins {
            hyperdense: v.hyperdense,
            max_hu: v.segments.first().map(|s| Hu(round1(s.mean_hu))),
            threshold_hu: v.hyperdense.map(|_| Hu(VEIN_HU)),
            levels,
            sides,
            method: Some(veins::METHOD.to_owned()),
            reason: v.reason.clone(),
            evidence,
        }
    }
}

fn site_description(s: &CtmSite) -> String {
    let place = s.level.map_or_else(
        || format!("z {:.0} mm (levels not counted)", s.z_mm),
        |l| l.to_string(),
    );
    let how = match s.connection {
        Connection::None => "not continuous with the sac",
        Connection::RootSleeve => "continuous via a root sleeve",
        Connection::DuralDefect => "continuous through the dura",
    };
    let mut t = format!(
        "extradural contrast {place}, {}, {how}, max {:.0} HU, {:.0} mm3",
        side_word(s.side),
        s.max_hu,
        s.volume_mm3
    );
    if let Some(d) = s.levels_from_puncture {
        let _ = write!(t, ", {d} level(s) from the puncture");
    }
    if let Some(d) = s.levels_from_catheter_entry {
        let _ = write!(t, ", {d} level(s) from the catheter entry");
    }
    t
}

pub(crate) const fn side_word(s: Side) -> &'static str {
    match s {
        Side::Left => "left",
        Side::Right => "right",
        Side::Midline => "midline",
        Side::Bilateral => "bilateral",
    }
}

/// The side of a structure whose centre lies `dx` mm left (+) or right (-) of the sac's centre
/// (patient LPS x); within 2.5 mm it is midline.
pub(crate) fn side_of_offset(dx: f64) -> Side {
    if dx > 2.5 {
        Side::Left
    } else if dx < -2.5 {
        Side::Right
    } else {
        Side::Midline
    }
}
