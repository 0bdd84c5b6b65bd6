//! The automatic basion (lower tip of the clivus) on phantom T1 volumes rendered directly (no
//! DICOM), with seeds, sag values and head poses not used while developing the method. The
//! method never sees the truth; the test compares afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "an evaluation that prints its table"
)]

use csfleak_brain::LandmarkName as L;
use csfleak_brain::auto::{AutoOptions, Detection, detect_landmarks};
use csfleak_brain::midsagittal::find_plane;
use csfleak_phantom::brain::{BrainOptions, BrainPhantom, GridPreset, Phase};
use csfleak_volume::DVec3;

/// The basion's detection and its error against the phantom's truth (mm) when found.
fn basion(sag: f64, seed: u64, rot: [f64; 3], obl: f64, grid: GridPreset) -> (Detection, f64) {
    let o = BrainOptions::default()
        .with_sag(sag)
        .with_head_rotation(rot)
        .with_oblique(obl)
        .with_grid(grid);
    let p = BrainPhantom::new(&o).unwrap();
    let v = p.sagittal_t1(Phase::Pre, Some(seed)).unwrap();
    let plane = find_plane(&v).unwrap();
    let a = detect_landmarks(&v, &plane, &AutoOptions::default()).unwrap();
    let d = a.get(L::Basion).unwrap().clone();
    let t = DVec3::from_array(p.truth.landmarks[L::Basion.as_str()]);
    let e = d.position().map_or(f64::NAN, |q| q.to_dvec3().distance(t));
    if let Some(q) = d.position() {
        // Automatic minus true point (LPS mm: y posterior, z superior).
        println!(
            "sag {sag} seed {seed}: delta {:.2?}",
            (q.to_dvec3() - t).to_array()
        );
    }
    (d, e)
}

/// On voxels too coarse to resolve the clivus cortex the basion is not searched, and the
/// reason says so.
#[test]
fn basion_not_searched_on_coarse_voxels() {
    let (d, _) = basion(2.0, 8711, [1.0, -1.0, 2.0], 0.0, GridPreset::Small);
    match d {
        Detection::NotFound { reason } => assert!(reason.contains("voxels"), "{reason}"),
        Detection::Found { .. } => panic!("basion found on coarse voxels"),
    }
}

/// On 1 mm phantoms (sag 0-7.5 mm, tilted heads, oblique slabs) the basion is within 1.8 mm
/// of the truth or not found with a reason; it is found on the unsagged and mildly sagged
/// heads. The error lies along the clivus (where its wall ends: 1-1.6 mm on these seeds); across
/// it, what the basion-opisthion line needs, it is a few tenths of a millimetre.
#[test]
#[ignore = "renders 1 mm phantoms (slow in debug builds): run with --release --ignored"]
fn basion_on_one_mm_phantoms() {
    let all = [
        (0.0, 8721_u64, [0.0, 0.0, 0.0], 0.0),
        (1.5, 8722, [2.0, -2.0, 3.0], 6.0),
        (3.0, 8723, [-2.0, 3.0, -4.0], 0.0),
        (4.5, 8724, [0.0, 0.0, 0.0], -9.0),
        (6.0, 8725, [3.0, 1.0, 5.0], 4.0),
        (7.5, 8726, [-1.0, -3.0, -2.0], 0.0),
    ];
    let only: Option<u64> = std::env::var("FOSSA_SEED")
        .ok()
        .and_then(|x| x.parse().ok());
    let cases = all
        .iter()
        .copied()
        .filter(|c| only.is_none_or(|s| s == c.1));
    let mut found = 0;
    for (sag, seed, rot, obl) in cases {
        let (d, e) = basion(sag, seed, rot, obl, GridPreset::Full);
        match d {
            Detection::Found { confidence, .. } => {
                println!("sag {sag} seed {seed}: basion {e:.2} mm (confidence {confidence:.2})");
                assert!(e <= 1.8, "sag {sag}: basion off by {e:.2} mm");
                if sag <= 3.0 {
                    found += 1;
                }
            }
            Detection::NotFound { reason } => {
                println!("sag {sag} seed {seed}: not found ({reason})");
                assert!(reason.len() > 10);
            }
        }
    }
    assert!(
        found >= 2,
        "basion found on {found} of the 3 heads with sag <= 3 mm"
    );
}
