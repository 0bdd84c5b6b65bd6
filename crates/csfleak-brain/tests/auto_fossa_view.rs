//! Developer aid: the automatic landmarks of the posterior fossa and the incisura on a T1
//! converted to NIfTI by `csfleak convert --no-compress` (any generator, any scanner), with a
//! zoomed PNG of the midsagittal reformat: automatic points green, reference points red.
//!
//! `FOSSA_NII=<folder with one .nii and its .json sidecar>` (required), `FOSSA_TRUTH=<a JSON
//! with {"brain": {"landmarks": {name: [L, P, S]}}}>` (optional, LPS mm), `FOSSA_DIR` the
//! picture folder (default /tmp), `FOSSA_CENTRE` the landmark to centre on (default basion).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "an inspection helper"
)]

use std::collections::BTreeMap;
use std::path::Path;

use csfleak_brain::LandmarkName as L;
use csfleak_brain::auto::{AutoOptions, Detection, detect_landmarks};
use csfleak_brain::midsagittal::{find_plane, reformat};
use csfleak_volume::{DVec3, Geometry, PointLps};

mod common;

#[test]
#[ignore = "developer aid: needs FOSSA_NII; writes a picture for a person to look at"]
fn fossa_view() {
    let Ok(dir) = std::env::var("FOSSA_NII") else {
        println!("FOSSA_NII not set");
        return;
    };
    let v = common::read_converted_nifti(Path::new(&dir));
    let truth: BTreeMap<String, [f64; 3]> = std::env::var("FOSSA_TRUTH")
        .ok()
        .map(|p| {
            let j: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            serde_json::from_value(j["brain"]["landmarks"].clone()).unwrap()
        })
        .unwrap_or_default();
    let plane = find_plane(&v).unwrap();
    let t0 = std::time::Instant::now();
    let a = detect_landmarks(&v, &plane, &AutoOptions::default()).unwrap();
    println!("detect_landmarks {:.3} s", t0.elapsed().as_secs_f64());
    for (n, d) in &a.landmarks {
        let t = truth.get(n.as_str()).map(|t| DVec3::from_array(*t));
        match d {
            Detection::Found {
                position,
                confidence,
                ..
            } => println!(
                "{n}: found conf {confidence:.2}, error {}",
                t.map_or("-".to_owned(), |t| format!(
                    "{:.2} mm",
                    position.to_dvec3().distance(t)
                ))
            ),
            Detection::NotFound { reason } => println!("{n}: not found ({reason})"),
        }
    }
    let rf = reformat(&v, &plane).unwrap();
    let (h, w) = rf.image.dim();
    let hi = common::peak(&rf);
    let centre = std::env::var("FOSSA_CENTRE").unwrap_or_else(|_| "basion".to_owned());
    let cp = truth
        .get(&centre)
        .map(|t| rf.pixel_of(DVec3::from_array(*t)))
        .or_else(|| {
            L::parse(&centre)
                .and_then(|n| a.get(n))
                .and_then(Detection::position)
                .map(|p| rf.pixel_of(p.to_dvec3()))
        })
        .unwrap_or([h as f64 / 2.0, w as f64 / 2.0]);
    let half_mm: f64 = std::env::var("FOSSA_HALF")
        .ok()
        .and_then(|x| x.parse().ok())
        .unwrap_or(30.0);
    let half = half_mm / rf.px;
    let (r0, c0) = (
        (cp[0] - half).max(0.0) as usize,
        (cp[1] - half).max(0.0) as usize,
    );
    let (r1, c1) = (
        ((cp[0] + half) as usize).min(h - 1),
        ((cp[1] + half) as usize).min(w - 1),
    );
    let mut zoom = common::Zoom::new(&rf, hi, (r0, c0), (r1, c1), (240.0 / half) as usize);
    for (k, t) in &truth {
        let q = rf.pixel_of(DVec3::from_array(*t));
        println!(
            "truth {k}: screen ({:.0}, {:.0})",
            (q[1] - c0 as f64) * zoom.z as f64,
            (q[0] - r0 as f64) * zoom.z as f64
        );
        zoom.cross(&rf, DVec3::from_array(*t), [255, 0, 0], 6);
    }
    for d in a.landmarks.values() {
        if let Some(q) = d.position() {
            zoom.cross(&rf, q.to_dvec3(), [0, 255, 0], 6);
        }
    }
    let out = std::env::var("FOSSA_DIR").unwrap_or_else(|_| "/tmp".to_owned());
    let path = format!("{out}/fossa_{centre}.png");
    zoom.img.save(&path).unwrap();
    assert!(Path::new(&path).exists());
}

/// The reader of the converted NIfTI keeps the sidecar's geometry (RAS sform -> LPS).
#[test]
fn nifti_reader_maps_ras_to_lps() {
    let dir = tempfile::tempdir().unwrap();
    let sidecar = serde_json::json!({"csfleak": {"nifti": {
        "data_type": "int16", "dims": [2, 1, 1], "file": "x.nii",
        "sform_ras": [[-1.0, 0.0, 0.0, 5.0], [0.0, -1.0, 0.0, 6.0], [0.0, 0.0, 2.0, 7.0]]}}});
    std::fs::write(dir.path().join("x.json"), sidecar.to_string()).unwrap();
    let mut bytes = vec![0_u8; 352];
    bytes.extend_from_slice(&10_i16.to_le_bytes());
    bytes.extend_from_slice(&(-3_i16).to_le_bytes());
    std::fs::write(dir.path().join("x.nii"), bytes).unwrap();
    let v = common::read_converted_nifti(dir.path());
    let g: &Geometry = v.geometry();
    let p = g.world_from_voxel_point(DVec3::new(1.0, 0.0, 0.0));
    assert_eq!(p, PointLps([-4.0, -6.0, 7.0]));
    assert_eq!(v.sample(PointLps([-4.0, -6.0, 7.0])), Some(-3.0));
}
