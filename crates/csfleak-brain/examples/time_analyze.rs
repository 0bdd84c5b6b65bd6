//! Developer aid: time the brain analysis stages on a full-size phantom (1 mm 3D T1 pre and
//! post contrast, orbits) without DICOM
//! (`cargo run --release -p csfleak-brain --example time_analyze`).

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "developer aid, not shipped"
)]
use std::time::Instant;

use csfleak_brain::{BrainInputs, BrainOptions, analyze};
use csfleak_phantom::brain::{BrainOptions as PhOpts, BrainPhantom, Phase};

fn main() {
    let ph = BrainPhantom::new(&PhOpts::default().with_sag(3.0)).unwrap();
    let t1 = ph.sagittal_t1(Phase::Pre, Some(3)).unwrap();
    let t1c = ph.sagittal_t1(Phase::PostContrast, Some(3)).unwrap();
    let orb = ph.orbits_t2fs(Some(3)).unwrap();
    let t = Instant::now();
    let plane = csfleak_brain::midsagittal::find_plane(&t1).unwrap();
    println!("find_plane {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let _ = csfleak_brain::auto::detect_landmarks(
        &t1,
        &plane,
        &csfleak_brain::auto::AutoOptions::default(),
    )
    .unwrap();
    println!("detect_landmarks {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let _ = csfleak_brain::venous::venous_distension(
        &t1,
        &t1c,
        Some(&plane),
        &csfleak_brain::venous::VenousOptions::default(),
    );
    println!("venous {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let _ = csfleak_brain::convexity::measure_convexity(
        &t1,
        &t1c,
        Some(&plane),
        &csfleak_brain::convexity::ConvexityOptions::default(),
    );
    println!("convexity {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let sides = csfleak_brain::orbit::measure_onsd(&orb);
    println!(
        "orbits {:.3} s: ONSD {:?} / {:?}, rim {:?} / {:?}",
        t.elapsed().as_secs_f64(),
        sides[0].onsd_mm.value(),
        sides[1].onsd_mm.value(),
        sides[0].rim_mm.value(),
        sides[1].rim_mm.value()
    );
    for overlays in [false, true] {
        let t = Instant::now();
        let inputs = BrainInputs {
            t1: Some(&t1),
            contrast_t1: Some(&t1c),
            orbits_t2fs: Some(&orb),
            ..BrainInputs::default()
        };
        let a = analyze(&inputs, &BrainOptions::default().with_overlays(overlays)).unwrap();
        println!(
            "analyze (overlays {overlays}) {:.3} s, {} overlays",
            t.elapsed().as_secs_f64(),
            a.overlays.len()
        );
    }
}
