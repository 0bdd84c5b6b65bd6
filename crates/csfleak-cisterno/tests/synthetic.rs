//! Analysis of small synthetic planar studies built here (not with the phantom generator):
//! a head (a Gaussian cut at the foramen magnum), a spinal canal, a bladder and optional
//! paraspinal blobs drawn as Gaussians.
#![allow(
    clippy::cast_lossless,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "synthetic test images are drawn with small, known numbers"
)]

use csfleak_cisterno::{CisternoInput, CisternoOptions, Frame, Outcome, ViewKind, analyze};
use csfleak_findings::{AccumulationPattern, NmView, Side, Status};
use ndarray::Array2;

const ROWS: usize = 400;
const COLS: usize = 96;
const PX: f64 = 4.0;

/// Canonical layout (head up, increasing column = patient left). `head` and `spine` are
/// total counts; `lumbar_weight` moves spinal counts caudally; `blob` = (row, lateral mm,
/// counts) with + = patient left.
fn draw(
    head: f64,
    spine: f64,
    lumbar_weight: f64,
    bladder: f64,
    blobs: &[(f64, f64, f64)],
) -> Array2<f64> {
    let axis = 48.0;
    let (fm, sac_end, bl_row) = (50.0, 210.0, 260.0);
    let mut img = Array2::<f64>::zeros((ROWS, COLS));
    // The head: a Gaussian cut at the foramen magnum (intracranial activity ends at the skull
    // base; an uncut Gaussian of this size would put 3 % of the head below the foramen).
    {
        let g = |r: usize, c: usize| {
            let (dr, dc) = ((r as f64 - 28.0) / 9.0, (c as f64 - axis) / 12.0);
            if (r as f64) < fm {
                (-(dr * dr + dc * dc) / 2.0).exp()
            } else {
                0.0
            }
        };
        let norm: f64 = (0..ROWS)
            .flat_map(|r| (0..COLS).map(move |c| (r, c)))
            .map(|(r, c)| g(r, c))
            .sum();
        for ((r, c), v) in img.indexed_iter_mut() {
            *v += head * g(r, c) / norm;
        }
    }
    let mut add = |r0: f64, c0: f64, sr: f64, sc: f64, total: f64| {
        let norm = 2.0 * std::f64::consts::PI * sr * sc;
        for ((r, c), v) in img.indexed_iter_mut() {
            let (dr, dc) = ((r as f64 - r0) / sr, (c as f64 - c0) / sc);
            *v += total / norm * (-(dr * dr + dc * dc) / 2.0).exp();
        }
    };
    let n = 40;
    let weights: Vec<f64> = (0..n)
        .map(|i| 1.0 + lumbar_weight * i as f64 / n as f64)
        .collect();
    let wsum: f64 = weights.iter().sum();
    for (i, w) in weights.iter().enumerate() {
        let r = fm + (sac_end - fm) * (i as f64 + 0.5) / n as f64;
        add(r, axis, 2.5, 1.5, spine * w / wsum);
    }
    if bladder > 0.0 {
        add(bl_row, axis, 5.0, 5.0, bladder);
    }
    for &(r, mm, total) in blobs {
        add(r, axis + mm / PX, 2.0, 1.5, total);
    }
    img
}

fn frame(hours: f64, view: ViewKind, img: &Array2<f64>) -> Frame {
    // Posterior frames are stored as seen from behind: columns toward the patient's right.
    let px = if view == ViewKind::Posterior {
        img.slice(ndarray::s![.., ..;-1]).mapv(|v| v as f32)
    } else {
        img.mapv(|v| v as f32)
    };
    Frame::new(hours, view, px)
        .with_pixel_spacing([PX, PX])
        .with_duration_s(600.0)
}

fn study(times: &[(f64, f64, f64, f64, f64)], blobs: &[(f64, f64, f64)]) -> CisternoInput {
    let mut frames = Vec::new();
    for &(h, head, spine, lumbar, bladder) in times {
        let b: Vec<_> = if h > 0.0 { blobs.to_vec() } else { Vec::new() };
        let img = draw(head, spine, lumbar, bladder, &b);
        frames.push(frame(h, ViewKind::Anterior, &img));
        frames.push(frame(h, ViewKind::Posterior, &img));
    }
    CisternoInput::new(frames)
}

fn normal_times(total_24: f64, bladder_from_h: f64) -> Vec<(f64, f64, f64, f64, f64)> {
    let b = |h: f64| if h >= bladder_from_h { 4.0e4 * h } else { 0.0 };
    vec![
        (0.0, 5.0e3, 1.0e6, 6.0, b(0.0)),
        (1.0, 1.0e5, 9.5e5, 3.0, b(1.0)),
        (3.0, 3.0e5, 6.5e5, 1.0, b(3.0)),
        (6.0, 4.0e5, 4.5e5, 0.5, b(6.0)),
        (24.0, 0.75 * total_24, 0.25 * total_24, 0.0, b(24.0)),
    ]
}

#[test]
fn retention_27_percent_raw_is_34_6_decay_corrected() {
    let input = study(&normal_times(0.27 * 1.005e6, 6.0), &[]);
    let a = analyze(&input, &CisternoOptions::default()).unwrap();
    let r = a.retention.value().expect("retention");
    assert_eq!(r.reference_h, 0.0);
    assert_eq!(r.graded_view, NmView::Posterior);
    for v in [NmView::Anterior, NmView::Posterior, NmView::GeometricMean] {
        let x = r.view(v).unwrap();
        assert!((x.raw_pct - 27.0).abs() < 0.5, "{v:?} {}", x.raw_pct);
        assert!(
            (x.decay_corrected_pct - 34.57).abs() < 0.7,
            "{v:?} {}",
            x.decay_corrected_pct
        );
    }
    let f = a.to_findings(&input);
    assert_eq!(f.status, Status::Present);
    let fr = f.retention_24h.unwrap();
    assert!(fr.roi_policy.unwrap().contains("whole CSF space"));
    assert_eq!(fr.view, Some(NmView::Posterior));
    assert_eq!(f.time_points.len(), 15);
}

#[test]
fn configurable_reference_time() {
    let input = study(&normal_times(0.27 * 1.005e6, 6.0), &[]);
    let a = analyze(&input, &CisternoOptions::default().with_reference_h(1.0)).unwrap();
    let r = a.retention.value().unwrap();
    assert_eq!(r.reference_h, 1.0);
    let p = r.view(NmView::Posterior).unwrap();
    // 1 h holds 1.05e6 counts: 27.1e4 / 1.05e6.
    assert!(
        (p.raw_pct - 100.0 * 0.27 * 1.005 / 1.05).abs() < 0.6,
        "{}",
        p.raw_pct
    );
    assert!(
        analyze(&input, &CisternoOptions::default().with_reference_h(2.0))
            .unwrap()
            .retention
            .reason()
            .unwrap()
            .contains("reference")
    );
}

#[test]
fn missing_24h_image_is_not_assessable() {
    let mut t = normal_times(3.0e5, 6.0);
    t.pop();
    let input = study(&t, &[]);
    let a = analyze(&input, &CisternoOptions::default()).unwrap();
    assert!(a.retention.reason().unwrap().contains("24"));
    assert!(matches!(a.convexity, Outcome::NotAssessable { .. }));
    let f = a.to_findings(&input);
    assert!(f.retention_24h.is_none());
    assert_eq!(
        f.retention_24h_status.unwrap().status,
        Status::NotAssessable
    );
}

#[test]
fn early_bladder_is_the_first_time_point_above_background() {
    let input = study(&normal_times(3.0e5, 3.0), &[]);
    let a = analyze(&input, &CisternoOptions::default()).unwrap();
    let b = a.bladder.value().expect("bladder in the field");
    assert_eq!(b.first_visible_h, Some(3.0));
    assert!(b.within_gl2007 && !b.within_mhlw);
    let late = study(&normal_times(3.0e5, 6.0), &[]);
    let b = analyze(&late, &CisternoOptions::default()).unwrap();
    assert_eq!(b.bladder.value().unwrap().first_visible_h, Some(6.0));
}

#[test]
fn unilateral_blob_gives_level_and_side() {
    for (mm, side) in [(30.0, Side::Left), (-30.0, Side::Right)] {
        let input = study(&normal_times(3.0e5, 6.0), &[(150.0, mm, 6.0e4)]);
        let a = analyze(&input, &CisternoOptions::default()).unwrap();
        let acc = a.accumulations.value().unwrap();
        assert_eq!(acc.len(), 1, "{acc:?}");
        assert_eq!(acc[0].pattern, AccumulationPattern::UnilateralLocalized);
        assert_eq!(acc[0].side, side);
        // Row 150 of a canal from 50 to 210 lies in the lower thoracic spine.
        assert_eq!(acc[0].level.region(), csfleak_findings::Region::Thoracic);
    }
    let clean = study(&normal_times(3.0e5, 6.0), &[]);
    let a = analyze(&clean, &CisternoOptions::default()).unwrap();
    assert!(a.accumulations.value().unwrap().is_empty());
    assert_eq!(a.overlays.len(), 10);
}

#[test]
fn bad_input_is_an_error_and_no_frames_not_assessable() {
    let img = draw(1.0, 1.0, 0.0, 0.0, &[]);
    let bad = CisternoInput::new(vec![frame(f64::NAN, ViewKind::Anterior, &img)]);
    assert!(analyze(&bad, &CisternoOptions::default()).is_err());
    let empty = CisternoInput::new(Vec::new());
    let a = analyze(&empty, &CisternoOptions::default()).unwrap();
    assert_eq!(a.to_findings(&empty).status, Status::NotAssessable);
}

#[test]
fn curve_carries_every_roi_raw_and_decay_corrected() {
    let input = study(&normal_times(3.0e5, 6.0), &[]);
    let a = analyze(&input, &CisternoOptions::default()).unwrap();
    let f = a.to_findings(&input);
    assert_eq!(f.curve_reference_h.map(|h| h.0), Some(0.0));
    assert_eq!(f.curve_counts_unit.as_deref(), Some("counts_per_second"));
    let csf_24: Vec<_> = f
        .curve
        .iter()
        .filter(|p| p.roi == csfleak_findings::CisternoRoi::Csf && p.hours.0 == 24.0)
        .collect();
    assert_eq!(csf_24.len(), 3, "anterior, posterior, geometric mean");
    let d24 = csfleak_cisterno::decay_factor(24.0, csfleak_cisterno::IN111_HALF_LIFE_S);
    for p in &csf_24 {
        assert!((p.decay_corrected_counts.0 * d24 - p.counts.0).abs() < 1e-2 * p.counts.0);
        let raw = p.pct_of_reference.unwrap().0;
        let dc = p.pct_of_reference_decay_corrected.unwrap().0;
        assert!((dc * d24 - raw).abs() < 0.02, "{raw} {dc}");
    }
    // The bladder has a curve too; the reference time point's CSF is 100 %.
    assert!(
        f.curve
            .iter()
            .any(|p| p.roi == csfleak_findings::CisternoRoi::Bladder)
    );
    assert!(f.curve.iter().all(|p| {
        p.hours.0 != 0.0
            || p.pct_of_reference
                .is_none_or(|x| (x.0 - 100.0).abs() < 1e-9)
    }));
}

#[test]
fn lateral_views_are_reported_and_never_counted() {
    let plain = study(&normal_times(3.0e5, 6.0), &[]);
    let mut with_lat = plain.clone();
    let img = draw(3.0e5, 1.0e5, 0.0, 0.0, &[]);
    with_lat.frames.push(
        Frame::new(24.0, ViewKind::Lateral, img.mapv(|v| (v * 5.0) as f32))
            .with_pixel_spacing([PX, PX])
            .with_duration_s(600.0)
            .with_lateral_side(Side::Left),
    );
    let a = analyze(&plain, &CisternoOptions::default()).unwrap();
    let b = analyze(&with_lat, &CisternoOptions::default()).unwrap();
    assert_eq!(a.counts, b.counts, "a lateral view changes no count");
    assert!(a.lateral_frames.is_empty());
    assert_eq!(b.lateral_frames, vec![with_lat.frames.len() - 1]);
    let f = b.to_findings(&with_lat);
    assert_eq!(f.lateral_views.len(), 1);
    assert_eq!(f.lateral_views[0].side, Some(Side::Left));
    assert_eq!(f.lateral_views[0].hours.0, 24.0);
    assert!(b.notes.iter().any(|n| n.contains("lateral")));
    // The lateral view has its own overlay (the image, no ROI) and the findings link to it.
    let link = f.lateral_views[0]
        .evidence
        .as_ref()
        .and_then(|e| e.overlay.clone())
        .expect("overlay link of the lateral view");
    assert!(
        b.overlays
            .iter()
            .any(|o| format!("overlays/{}.png", o.name) == link && o.masks.is_empty()),
        "{link}"
    );
}

#[test]
fn missing_early_images_give_no_retention_ratio_to_a_late_reference() {
    // The 0-h and 1-h images are missing: the first image (3 h) is not the reference of the
    // retention; the 2.5-h bladder window cannot be answered (no image by then), the 3-h one
    // can (the 3-h image shows no bladder).
    let t: Vec<_> = normal_times(3.0e5, 6.0)
        .into_iter()
        .filter(|x| x.0 >= 3.0)
        .collect();
    let input = study(&t, &[]);
    let a = analyze(&input, &CisternoOptions::default()).unwrap();
    let reason = a.retention.reason().expect("not assessable");
    assert!(reason.contains("reference"), "{reason}");
    let f = a.to_findings(&input);
    assert!(f.retention_24h.is_none());
    assert_eq!(
        f.retention_24h_status.unwrap().status,
        Status::NotAssessable
    );
    assert_eq!(f.early_bladder_within_3h, Some(false));
    assert_eq!(f.early_bladder_within_2_5h, None);
    // A fixed reference time that exists still works.
    let b = analyze(&input, &CisternoOptions::default().with_reference_h(3.0)).unwrap();
    assert_eq!(b.retention.value().map(|r| r.reference_h), Some(3.0));
}

#[test]
fn a_missing_view_falls_back_and_says_so() {
    // No posterior frame at 24 h: the graded posterior retention cannot be made; the
    // anterior one is reported with a note, never a posterior number.
    let mut input = study(&normal_times(0.27 * 1.005e6, 6.0), &[]);
    input
        .frames
        .retain(|f| !(f.hours == 24.0 && f.view == ViewKind::Posterior));
    let a = analyze(&input, &CisternoOptions::default()).unwrap();
    let r = a.retention.value().expect("anterior retention");
    assert!(r.view(NmView::Posterior).is_none());
    assert!(r.view(NmView::GeometricMean).is_none());
    assert_eq!(r.graded_view, NmView::Anterior);
    assert!(
        a.notes
            .iter()
            .any(|n| n.contains("posterior view is missing"))
    );
}

#[test]
fn roi_overlays_on_every_time_point_and_view_with_evidence_links() {
    let input = study(&normal_times(3.0e5, 6.0), &[]);
    let a = analyze(&input, &CisternoOptions::default()).unwrap();
    // 5 time points x 2 views, each with the CSF ROI drawn.
    assert_eq!(a.overlays.len(), input.frames.len());
    assert_eq!(a.overlay_frames.len(), a.overlays.len());
    for (o, &i) in a.overlays.iter().zip(&a.overlay_frames) {
        assert_eq!(o.base.dim(), input.frames[i].pixels.dim());
        assert!(
            o.masks.iter().any(|m| m.label == "whole CSF ROI"),
            "{}",
            o.name
        );
        assert!(
            o.title.contains(input.frames[i].view.as_str()),
            "{}",
            o.title
        );
    }
    let f = a.to_findings(&input);
    let links: Vec<_> = f
        .evidence
        .iter()
        .filter_map(|e| e.overlay.clone())
        .collect();
    assert_eq!(links.len(), a.overlays.len());
    for o in &a.overlays {
        assert!(links.contains(&format!("overlays/{}.png", o.name)));
    }
}
