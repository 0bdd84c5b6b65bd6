//! Lateral views end to end: a phantom study with a left lateral view at 6 h and a right one
//! at 24 h, written as DICOM and read back: the views are recognised from their View Code,
//! reported with time and side, drawn as overlays and never counted.
#![allow(clippy::unwrap_used, reason = "a failure here is a test failure")]

use csfleak_cisterno::{CisternoOptions as Opts, ViewKind, analyze};
use csfleak_dicom::{load_series, scan};
use csfleak_findings::Side;
use csfleak_phantom::cisterno::{CisternoOptions, LateralSide, write_study};
use csfleak_phantom::{ScenarioContext, Size};
use csfleak_pipeline::cisterno_input::{analyze_cisternography, cisterno_input};

fn loaded(seed: u64, o: &CisternoOptions) -> (Vec<csfleak_dicom::LoadedSeries>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = ScenarioContext::new(seed, Size::Full, dir.path().join("DICOM"));
    std::fs::create_dir_all(&ctx.dicom_dir).unwrap();
    write_study(&mut ctx, o).unwrap();
    let truth = ctx.section("cisternography").unwrap().clone();
    let report = scan(dir.path()).unwrap();
    let series = report.series().map(|s| load_series(s).unwrap()).collect();
    (series, truth)
}

#[test]
fn lateral_views_are_read_reported_drawn_and_not_counted() {
    let plain = CisternoOptions::default().with_target_retention(27.0);
    let with_lat = plain
        .clone()
        .with_lateral_view(6.25, LateralSide::Left)
        .with_lateral_view(24.25, LateralSide::Right);
    let (series, truth) = loaded(5151, &with_lat);
    let t = truth["lateral_views"].as_array().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0]["side"], "left");

    let refs: Vec<_> = series.iter().collect();
    let input = cisterno_input(&refs).unwrap();
    let lat: Vec<_> = input
        .frames
        .iter()
        .filter(|f| f.view == ViewKind::Lateral)
        .collect();
    assert_eq!(
        lat.len(),
        2,
        "both lateral series are read as lateral views"
    );
    assert_eq!(lat[0].lateral_side, Some(Side::Left));
    assert_eq!(lat[1].lateral_side, Some(Side::Right));
    assert!((lat[0].hours - 6.25).abs() < 1e-3 && (lat[1].hours - 24.25).abs() < 1e-3);

    let a = analyze(&input, &Opts::default()).unwrap();
    // Every anterior and posterior frame and both lateral views have an overlay.
    assert_eq!(a.overlays.len(), input.frames.len());
    let f = a.to_findings(&input);
    assert_eq!(f.lateral_views.len(), 2);
    assert_eq!(f.lateral_views[1].side, Some(Side::Right));
    for v in &f.lateral_views {
        let link = v
            .evidence
            .as_ref()
            .and_then(|e| e.overlay.as_deref())
            .unwrap();
        assert!(
            a.overlays
                .iter()
                .any(|o| format!("overlays/{}.png", o.name) == link)
        );
    }

    // The same study without the lateral views gives the same counts and retention.
    let (plain_series, _) = loaded(5151, &plain);
    let plain_refs: Vec<_> = plain_series.iter().collect();
    let b = analyze(&cisterno_input(&plain_refs).unwrap(), &Opts::default()).unwrap();
    assert_eq!(a.counts, b.counts, "lateral views change no count");
    assert!(b.lateral_frames.is_empty());

    // The pipeline section links the time-activity curve and every overlay.
    let (section, _) = analyze_cisternography(&refs, &Opts::default());
    let links: Vec<_> = section
        .evidence
        .iter()
        .filter_map(|e| e.overlay.as_deref())
        .collect();
    assert_eq!(links.first(), Some(&"overlays/cisterno_tac.png"));
    assert_eq!(links.len(), 1 + a.overlays.len());
}
