//! The seed's case (clinical.md §3.4): a phantom built to a raw 24-h retention of 27 % must come
//! out as 27 % raw and 34.6 % decay-corrected (within 1 percentage point), read from DICOM.
#![allow(clippy::unwrap_used, reason = "a failure here is a test failure")]

use csfleak_cisterno::{CisternoOptions as Opts, analyze};
use csfleak_dicom::{load_series, scan};
use csfleak_findings::NmView;
use csfleak_phantom::cisterno::{CisternoOptions, write_study};
use csfleak_phantom::{ScenarioContext, Size};
use csfleak_pipeline::cisterno_input::cisterno_input;

#[test]
fn seed_case_27_percent_raw_34_6_decay_corrected() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = ScenarioContext::new(4242, Size::Full, dir.path().join("DICOM"));
    std::fs::create_dir_all(&ctx.dicom_dir).unwrap();
    write_study(
        &mut ctx,
        &CisternoOptions::default().with_target_retention(27.0),
    )
    .unwrap();
    let report = scan(dir.path()).unwrap();
    let loaded: Vec<_> = report.series().map(|s| load_series(s).unwrap()).collect();
    let refs: Vec<_> = loaded.iter().collect();
    let input = cisterno_input(&refs).unwrap();
    assert!(input.half_life_from_file);
    let a = analyze(&input, &Opts::default()).unwrap();
    let r = a.retention.value().expect("0 h and 24 h images");
    assert_eq!(r.reference_h, 0.0);
    assert!((r.late_h - 24.0).abs() < 1e-6);
    let p = r.view(NmView::Posterior).unwrap();
    assert!((p.raw_pct - 27.0).abs() < 1.0, "raw {}", p.raw_pct);
    assert!(
        (p.decay_corrected_pct - 34.57).abs() < 1.0,
        "decay-corrected {}",
        p.decay_corrected_pct
    );
    let f = a.to_findings(&input);
    let fr = f.retention_24h.unwrap();
    assert_eq!(fr.view, Some(NmView::Posterior));
    assert!(fr.raw_pct.is_some() && fr.decay_corrected_pct.is_some());
}
