//! Brain image signs end to end through DICOM: phantom studies with and without
//! pachymeningeal enhancement written to disk, scanned, loaded, series chosen by role, no
//! reader points: the sign, its raw values, the automatic landmark list and the Bern items land
//! in the findings section.

use std::sync::Arc;

use csfleak_dicom::{load_series, scan};
use csfleak_phantom::brain::{BrainOptions, write_study};
use csfleak_phantom::{ScenarioContext, Size};
use csfleak_pipeline::brain_input::BrainFamily;
use csfleak_pipeline::{Family, Section, SeriesInput, StudyInputs};

fn brain_section(options: &BrainOptions, seed: u64) -> csfleak_findings::Brain {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ctx = ScenarioContext::new(seed, Size::Small, dir.path());
    write_study(&mut ctx, options).expect("phantom study");
    let report = scan(dir.path()).expect("scan");
    let study = &report.studies[0];
    let loaded: Vec<_> = study
        .series
        .iter()
        .map(|s| Arc::new(load_series(s).expect("load")))
        .collect();
    let inputs = StudyInputs {
        series: study
            .series
            .iter()
            .zip(&loaded)
            .map(|(s, l)| SeriesInput {
                series: s,
                loaded: Some(Arc::clone(l)),
                load_error: None,
            })
            .collect(),
        annotations: None,
    };
    let out = BrainFamily.run(&inputs);
    assert!(out.measured, "{:?}", out.reason);
    let dura = out
        .overlays
        .iter()
        .find(|o| o.name == "brain_convexity_dura")
        .expect("convexity overlay");
    assert!(!dura.points.is_empty() || dura.texts.len() == 2);
    assert!(dura.base.iter().any(|x| *x > 0.0));
    let Section::Brain(b) = out.section else {
        panic!("brain section");
    };
    b
}

#[test]
fn pachymeningeal_enhancement_through_dicom_with_and_without() {
    let with = brain_section(
        &BrainOptions::default().with_pachymeningeal_enhancement(true),
        5151,
    );
    let without = brain_section(&BrainOptions::default(), 5152);

    assert_eq!(with.pachymeningeal_enhancement, Some(true));
    assert_eq!(without.pachymeningeal_enhancement, Some(false));
    let detail = |b: &csfleak_findings::Brain| {
        b.sign_details
            .iter()
            .find(|s| s.sign == "pachymeningeal_enhancement")
            .cloned()
            .expect("sign detail")
    };
    let d = detail(&with);
    assert!(d.value.is_some_and(|r| r > 1.0), "{d:?}");
    assert!(d.confidence.is_some_and(|c| c > 0.5), "{d:?}");
    assert!(detail(&without).value.is_none_or(|r| r < 1.0));
    // Negative controls: no subdural fluid on either brain.
    assert_ne!(with.subdural_fluid, Some(true));
    assert_ne!(without.subdural_fluid, Some(true));

    // Automatic landmarks are listed (or said not found), every one with a reason or a point.
    for b in [&with, &without] {
        assert!(!b.landmarks.is_empty() || !b.landmarks_not_found.is_empty());
        assert!(
            b.landmarks
                .iter()
                .all(|l| l.source == csfleak_findings::LandmarkSource::Automatic && l.in_use)
        );
        let bern = b.bern.as_ref().expect("bern items");
        assert_eq!(bern.items.len(), 6);
        let pme = bern
            .items
            .iter()
            .find(|i| i.item == "pachymeningeal_enhancement")
            .expect("PME item");
        assert_eq!(pme.positive, b.pachymeningeal_enhancement);
    }
}
