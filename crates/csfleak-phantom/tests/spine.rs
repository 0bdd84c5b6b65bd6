//! Spine phantoms: every scenario writes readable DICOM with consistent truth; the collection
//! volume in the truth matches the rendered label map; output is deterministic.
#![allow(clippy::unwrap_used, reason = "test helpers fail the test on error")]

use std::path::Path;

use csfleak_phantom::render::{fraction_map, fraction_volume_ml};
use csfleak_phantom::spine::{
    CollectionSpec, CtLeakSpec, Position, Side, SpineModel, SpineOptions, Tissue, axial_grid,
    collection_volume_ml,
};
use csfleak_phantom::{GenerateOptions, Size, generate, registry};
use csfleak_volume::DVec3;

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn collection_volume_matches_the_rendered_label_map() {
    for (position, thickness) in [(Position::Ventral, 4.0), (Position::Circumferential, 2.5)] {
        let c = CollectionSpec::new("T4", "T7", position, thickness).with_dural_defect("T5");
        let model = SpineModel::new(SpineOptions::default().with_collection(c)).unwrap();
        let truth = collection_volume_ml(&model);
        assert!(truth > 0.3, "{truth}");
        let (lo, hi) = model.collection_range().unwrap();
        // An oblique, anisotropic grid covering the collection.
        let g = axial_grid(&model, (lo - 5.0, hi + 5.0), [64, 64], 0.8, 1.5, true).unwrap();
        let f = fraction_map(&g, 4, |p| model.classify(p) == Tissue::EpiduralFluid).unwrap();
        let rendered = fraction_volume_ml(&f);
        let rel = (rendered - truth).abs() / truth;
        assert!(
            rel < 0.05,
            "{position:?}: rendered {rendered} vs truth {truth}"
        );
    }
}

#[test]
fn every_scenario_writes_consistent_truth_small() {
    let all = registry();
    assert!(all.len() >= 8);
    for s in &all {
        if !s.name.starts_with("spine-") {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("study");
        let opts = GenerateOptions::default()
            .with_seed(1)
            .with_size(Size::Small);
        let truth = generate(s.name, &out, &opts).unwrap();
        let t = read_json(&out.join("truth.json"));
        let p = read_json(&out.join("provenance.json"));
        assert_eq!(t["scenario"], s.name);
        assert_eq!(p["source"], "synthetic");
        let files = std::fs::read_dir(out.join("DICOM")).unwrap().count();
        let n: usize = truth.series.iter().map(|x| x.n_images).sum();
        assert_eq!(files, n, "{}", s.name);
        if s.name.starts_with("spine-mri") {
            let spine = &t["spine"];
            let collections = spine["epidural_fluid"]["collections"].as_array().unwrap();
            let present = spine["epidural_fluid"]["status"] == "present";
            assert_eq!(present, !collections.is_empty());
            assert_eq!(present, s.name.contains("leak") || s.name.contains("fdss"));
            for c in collections {
                assert!(c["volume_ml"].as_f64().unwrap() > 0.0);
                assert!(c["extent_mm"].as_f64().unwrap() > c["max_thickness_mm"].as_f64().unwrap());
            }
            let csf = spine["intraspinal_csf_volume_ml"].as_f64().unwrap();
            assert!((40.0..150.0).contains(&csf), "{csf}");
            assert_eq!(spine["levels"].as_array().unwrap().len(), 25);
        } else {
            let ctm = &t["ct_myelography"];
            let sites = ctm["epidural_contrast"]["sites"].as_array().unwrap();
            assert_eq!(sites.is_empty(), s.name.ends_with("normal"));
            assert!(ctm["intrathecal_median_hu"].as_f64().unwrap() > 300.0);
        }
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_noise() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let name = "spine-ctm-puncture-leak";
    let small = GenerateOptions::default().with_size(Size::Small);
    generate(name, a.path(), &small.clone().with_seed(3)).unwrap();
    generate(name, b.path(), &small.clone().with_seed(3)).unwrap();
    generate(name, c.path(), &small.with_seed(4)).unwrap();
    let listing = |d: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(d.join("DICOM"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let (fa, fb) = (listing(a.path()), listing(b.path()));
    assert_eq!(fa.len(), fb.len());
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.file_name(), y.file_name());
        assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
    }
    for f in ["truth.json", "provenance.json"] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap()
        );
    }
    assert_ne!(
        std::fs::read(a.path().join("truth.json")).unwrap(),
        std::fs::read(c.path().join("truth.json")).unwrap()
    );
}

#[test]
fn refuses_non_empty_folder_without_force() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("keep.txt"), "x").unwrap();
    let opts = GenerateOptions::default().with_size(Size::Small);
    let err = generate("spine-ctm-puncture-leak", d.path(), &opts).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    generate("spine-ctm-puncture-leak", d.path(), &opts.with_force(true)).unwrap();
    assert!(d.path().join("keep.txt").exists());
    assert!(d.path().join("truth.json").exists());
    assert!(generate("no-such-scenario", d.path(), &GenerateOptions::default()).is_err());
}

/// A missing external tool fails the test under CI=true and is skipped loudly otherwise.
#[allow(clippy::print_stderr, reason = "a skipped check says so")]
fn skip_missing(name: &str) {
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "{name} is required when CI=true (run scripts/setup-test-deps.sh)"
    );
    eprintln!("SKIPPED: {name} not found; run scripts/setup-test-deps.sh");
}

#[test]
fn scenario_files_pass_dciodvfy_and_pydicom() {
    let dir = tempfile::tempdir().unwrap();
    let small = GenerateOptions::default()
        .with_seed(7)
        .with_size(Size::Small);
    let mr = dir.path().join("mr");
    let ct = dir.path().join("ct");
    generate("spine-mri-fdss", &mr, &small).unwrap();
    generate("spine-ctm-remote-leak", &ct, &small).unwrap();
    // dciodvfy on the first file of every series (MR localizer, MR, CT).
    let mut checked = 0;
    for study in [&mr, &ct] {
        let mut seen = std::collections::BTreeSet::new();
        let mut files: Vec<_> = std::fs::read_dir(study.join("DICOM"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let obj = dicom_object::open_file(&f).unwrap();
            let uid = obj
                .element(dicom_dictionary_std::tags::SERIES_INSTANCE_UID)
                .unwrap()
                .to_str()
                .unwrap()
                .into_owned();
            if !seen.insert(uid) {
                continue;
            }
            // dicom3tools cannot read Deflated Explicit VR Little Endian (dcmtk and pydicom
            // can): validate an uncompressed copy made by dcmconv.
            let deflated =
                obj.meta().transfer_syntax().trim_end_matches('\0') == "1.2.840.10008.1.2.1.99";
            let target = if deflated {
                let copy = dir.path().join("inflated.dcm");
                let Ok(st) = std::process::Command::new("dcmconv")
                    .arg("+te")
                    .arg(&f)
                    .arg(&copy)
                    .status()
                else {
                    skip_missing("dcmconv (dcmtk)");
                    return;
                };
                assert!(st.success(), "dcmconv failed on {}", f.display());
                copy
            } else {
                f.clone()
            };
            let Ok(out) = std::process::Command::new("dciodvfy").arg(&target).output() else {
                skip_missing("dciodvfy");
                return;
            };
            let text = String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout);
            let errors: Vec<_> = text.lines().filter(|l| l.starts_with("Error")).collect();
            assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
            checked += 1;
        }
    }
    assert!(checked >= 6, "{checked}");
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/venv/bin/python");
    if !py.exists() {
        skip_missing("pydicom venv (.cache/venv)");
        return;
    }
    let script = r"
import sys, pathlib, pydicom
n = 0
for root in sys.argv[1:]:
    for p in sorted(pathlib.Path(root, 'DICOM').iterdir()):
        ds = pydicom.dcmread(p)
        assert ds.pixel_array.shape == (ds.Rows, ds.Columns), p
        n += 1
print(n)
";
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(&mr)
        .arg(&ct)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let files = |d: &Path| std::fs::read_dir(d.join("DICOM")).unwrap().count();
    assert_eq!(n, files(&mr) + files(&ct));
}

/// Number of 0.25 mm grid neighbours (6-connected) where leaked contrast touches CSF, in a box
/// around a CT leak.
fn contrast_csf_contacts(model: &SpineModel, centre: DVec3) -> usize {
    contacts(model, centre, Tissue::ContrastLeak)
}

/// Number of 0.25 mm grid neighbours (6-connected) where `tissue` touches CSF in a 30 mm box.
fn contacts(model: &SpineModel, centre: DVec3, tissue: Tissue) -> usize {
    let h = 0.25;
    let mut n = 0;
    let steps = [
        DVec3::X,
        DVec3::Y,
        DVec3::Z,
        -DVec3::X,
        -DVec3::Y,
        -DVec3::Z,
    ];
    for a in -60..=60 {
        for b in -60..=60 {
            for c in -60..=60 {
                let p = centre + DVec3::new(f64::from(a), f64::from(b), f64::from(c)) * h;
                if model.classify(p) != tissue {
                    continue;
                }
                n += steps
                    .iter()
                    .filter(|d| model.classify(p + **d * h) == Tissue::Csf)
                    .count();
            }
        }
    }
    n
}

#[test]
fn ct_leak_continuity_in_truth_matches_the_geometry() {
    for continuous in [true, false] {
        let leak = CtLeakSpec::new("T8", Side::Left, continuous, 400.0);
        let model = SpineModel::new(SpineOptions::default().with_ct_leak(leak)).unwrap();
        let (centre, flag) = model.ct_leak(0).unwrap();
        assert_eq!(flag, continuous);
        let contacts = contrast_csf_contacts(&model, centre);
        if continuous {
            // The open end of the sleeve (radius 1.4 mm) meets the contrast: ~6 mm^2 / h^2.
            assert!(
                contacts > 40,
                "continuous leak touches CSF at {contacts} faces"
            );
        } else {
            assert_eq!(contacts, 0, "a remote leak must not touch CSF");
        }
    }
}

#[test]
fn mri_collection_continuity_in_truth_matches_the_geometry() {
    for defect in [true, false] {
        let mut c = CollectionSpec::new("T3", "T8", Position::Ventral, 3.0);
        if defect {
            c = c.with_dural_defect("T5");
        }
        let model = SpineModel::new(SpineOptions::default().with_collection(c)).unwrap();
        let t5 = model.levels()[11].body_mid_z();
        let n = contacts(&model, model.canal_centre(t5), Tissue::EpiduralFluid);
        let truth = csfleak_phantom::spine::spine_truth(&model);
        let flag = truth["epidural_fluid"]["collections"][0]["continuous_with_sas"]
            .as_bool()
            .unwrap();
        assert_eq!(flag, defect);
        if defect {
            assert!(
                n > 20,
                "a collection with a dural defect touches CSF at {n} faces"
            );
        } else {
            assert_eq!(
                n, 0,
                "behind an intact dura the collection must not touch CSF"
            );
        }
    }
}
