//! The pipeline's plumbing over a generated phantom study: families behind the trait, series
//! decoded once and shared, not-applicable reasons, thread-count independence, outputs.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers may panic on broken fixtures"
)]

use std::sync::{Arc, Mutex};

use csfleak_dicom::{LoadedSeries, Role, Scanner, Study};
use csfleak_pipeline::family::{
    CT_ROLES, SPINE_ROLES, Section, ct_not_assessable, spine_not_assessable,
};
use csfleak_pipeline::{
    AnalyzeOptions, Family, FamilyOutput, Outputs, StudyInputs, analyze_study_with, write_outputs,
};
use csfleak_report::png::PngOptions;
use csfleak_volume::overlay::Overlay;

fn study() -> (tempfile::TempDir, Study) {
    let dir = tempfile::tempdir().unwrap();
    let options = csfleak_phantom::GenerateOptions::default()
        .with_seed(11)
        .with_size(csfleak_phantom::Size::Small);
    csfleak_phantom::generate("spine-mri-normal", &dir.path().join("s"), &options).unwrap();
    let mut report = Scanner::new().scan(dir.path()).unwrap();
    assert_eq!(report.studies.len(), 1);
    (dir, report.studies.remove(0))
}

/// A test family: records the decoded series it saw and "measures" the number of sagittal
/// slices into the spine section.
struct Probe {
    seen: Arc<Mutex<Vec<usize>>>,
}

impl Family for Probe {
    fn id(&self) -> &'static str {
        "probe"
    }
    fn name_ja(&self) -> &'static str {
        "試験"
    }
    fn name_en(&self) -> &'static str {
        "probe"
    }
    fn roles(&self) -> &'static [Role] {
        SPINE_ROLES
    }
    fn not_assessable(&self, reason: &str) -> Section {
        spine_not_assessable(reason)
    }
    fn run(&self, study: &StudyInputs<'_>) -> FamilyOutput {
        let loaded: Vec<&Arc<LoadedSeries>> = study
            .with_roles(SPINE_ROLES)
            .filter_map(|s| s.loaded.as_ref())
            .collect();
        if let Ok(mut v) = self.seen.lock() {
            v.extend(loaded.iter().map(|l| Arc::as_ptr(l) as usize));
        }
        let mut out = FamilyOutput::not_assessable(
            spine_not_assessable("probe"),
            format!("{} series", loaded.len()),
        );
        out.measured = !loaded.is_empty();
        let base = ndarray::Array2::from_shape_fn((8, 8), |(r, c)| (r * c) as f32);
        out.overlays
            .push(Overlay::new("probe_overlay", "probe", base, (0.0, 49.0)));
        out
    }
}

/// A family for CT myelography, never applicable to an MRI study.
struct CtProbe;

impl Family for CtProbe {
    fn id(&self) -> &'static str {
        "ct_probe"
    }
    fn name_ja(&self) -> &'static str {
        "CT"
    }
    fn name_en(&self) -> &'static str {
        "CT myelography"
    }
    fn roles(&self) -> &'static [Role] {
        CT_ROLES
    }
    fn not_assessable(&self, reason: &str) -> Section {
        ct_not_assessable(reason)
    }
    fn run(&self, _study: &StudyInputs<'_>) -> FamilyOutput {
        panic!("run must not be called when the family is not applicable")
    }
}

#[test]
fn families_share_series_decoded_once_and_not_applicable_ones_say_why() {
    let (_dir, study) = study();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let families: Vec<Box<dyn Family>> = vec![
        Box::new(Probe {
            seen: Arc::clone(&seen),
        }),
        Box::new(Probe {
            seen: Arc::clone(&seen),
        }),
        Box::new(CtProbe),
    ];
    let a = analyze_study_with(&study, &AnalyzeOptions::default(), &families).unwrap();
    let seen = seen.lock().unwrap().clone();
    // Four spinal series, seen by both probes: the same four allocations.
    assert_eq!(seen.len(), 8, "{seen:?}");
    let (first, second) = seen.split_at(4);
    let mut first = first.to_vec();
    let mut second = second.to_vec();
    first.sort_unstable();
    second.sort_unstable();
    assert_eq!(first, second, "each series is decoded once and shared");
    assert!(
        a.decoded.is_empty(),
        "volumes are kept only for NIfTI output"
    );

    assert!(a.families[0].measured && a.families[1].measured);
    assert!(!a.families[2].measured);
    let reason = a.families[2].reason.as_deref().unwrap();
    assert!(reason.contains("no CT myelography series"), "{reason}");
    let ct = a.findings.ct_myelography.as_ref().unwrap();
    assert_eq!(
        ct.epidural_contrast.as_ref().unwrap().reason.as_deref(),
        Some(reason)
    );
    // Overlays: the probes' first (family order), then one overview per decoded series.
    let names: Vec<&str> = a.overlays.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names[..2], ["probe_overlay", "probe_overlay"]);
    assert_eq!(names.len(), 6);
    assert!(names[2..].iter().all(|n| n.starts_with("overview_s")));
    // The assessment lists what could not be assessed.
    assert!(
        a.assessment
            .mhlw2011
            .not_assessable
            .iter()
            .any(|n| n.path.starts_with("ct_myelography"))
    );
}

#[test]
fn output_is_independent_of_the_thread_count() {
    let (_dir, study) = study();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let a = pool
            .install(|| csfleak_pipeline::analyze_study(&study, &AnalyzeOptions::default()))
            .unwrap();
        let out = tempfile::tempdir().unwrap();
        write_outputs(&a, out.path(), Outputs::default(), &PngOptions::default()).unwrap();
        let read = |name: &str| std::fs::read(out.path().join(name)).unwrap();
        (
            read("findings.json"),
            read("assessment.json"),
            read("report.html"),
        )
    };
    let one = run(1);
    let three = run(3);
    assert!(one.0 == three.0, "findings.json differs");
    assert!(one.1 == three.1, "assessment.json differs");
    assert!(one.2 == three.2, "report.html differs");
}
