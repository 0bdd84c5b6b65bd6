//! Automatic landmarks of the sellar region, the foramen magnum / tonsil and the incisura on
//! phantom T1 volumes (rendered directly, no DICOM) with seeds, sag values and head poses not
//! used while developing the method. The method never sees the truth; the test compares
//! afterwards. Run with `--nocapture` for the table; `REGIONS_DUMP=/tmp/x` also writes a PGM of
//! each midsagittal reformat with the automatic (white) and true (black) points;
//! `REGIONS_DELTA=1` prints each found point's error vector (LPS mm).
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "an evaluation that prints its table"
)]

use csfleak_brain::LandmarkName as L;
use csfleak_brain::auto::{AutoOptions, Detection, detect_landmarks};
use csfleak_brain::midsagittal::{find_plane, reformat};
use csfleak_phantom::brain::{BrainOptions, BrainPhantom, GridPreset, Phase};
use csfleak_volume::DVec3;

mod common;

/// The landmarks of this part of the method.
const REGION: [L; 9] = [
    L::ChiasmInferior,
    L::DiaphragmaSellae,
    L::PituitaryTop,
    L::PituitaryFloor,
    L::TuberculumSellae,
    L::Basion,
    L::Opisthion,
    L::TonsilTip,
    L::Iter,
];

/// One rendered case: per landmark the error (mm) or the reason it was not found.
struct Case {
    label: String,
    res: Vec<(L, Result<f64, String>)>,
}

fn run(sag: f64, seed: u64, rot: [f64; 3], obl: f64, grid: GridPreset, opts: &AutoOptions) -> Case {
    let o = BrainOptions::default()
        .with_sag(sag)
        .with_head_rotation(rot)
        .with_oblique(obl)
        .with_grid(grid);
    let p = BrainPhantom::new(&o).unwrap();
    let v = p.sagittal_t1(Phase::Pre, Some(seed)).unwrap();
    let plane = find_plane(&v).unwrap();
    let a = detect_landmarks(&v, &plane, opts).unwrap();
    let truth = |n: L| DVec3::from_array(p.truth.landmarks[n.as_str()]);
    let names: Vec<L> = REGION.iter().copied().chain([L::GalenJunction]).collect();
    let res = names
        .iter()
        .map(|n| {
            let r = match a.get(*n).unwrap() {
                Detection::Found {
                    position,
                    confidence,
                    ..
                } => {
                    assert!((0.0..=1.0).contains(confidence));
                    if std::env::var("REGIONS_DELTA").is_ok() {
                        // Automatic minus true point (LPS mm: y posterior, z superior).
                        let d = position.to_dvec3() - truth(*n);
                        println!(
                            "sag {sag} seed {seed} {n}: dy {:+.2} dz {:+.2} (dx {:+.2})",
                            d.y, d.z, d.x
                        );
                    }
                    Ok(position.to_dvec3().distance(truth(*n)))
                }
                Detection::NotFound { reason } => {
                    assert!(!reason.is_empty());
                    Err(reason.clone())
                }
            };
            (*n, r)
        })
        .collect();
    if let Ok(dir) = std::env::var("REGIONS_DUMP") {
        let rf = reformat(&v, &plane).unwrap();
        let (h, w) = rf.image.dim();
        let hi = common::peak(&rf);
        // Crop around every true point (15 px margin), 4x, truth red, automatic green.
        let pts: Vec<[f64; 2]> = names.iter().map(|n| rf.pixel_of(truth(*n))).collect();
        let r0 = pts.iter().map(|q| q[0]).fold(f64::MAX, f64::min).max(15.0) as usize - 15;
        let c0 = pts.iter().map(|q| q[1]).fold(f64::MAX, f64::min).max(15.0) as usize - 15;
        let r1 = (pts.iter().map(|q| q[0]).fold(0.0, f64::max) as usize + 15).min(h - 1);
        let c1 = (pts.iter().map(|q| q[1]).fold(0.0, f64::max) as usize + 15).min(w - 1);
        let z: usize = std::env::var("REGIONS_ZOOM")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4);
        let mut zoom = common::Zoom::new(&rf, hi, (r0, c0), (r1, c1), z);
        let mut mark = |q: DVec3, col: [u8; 3]| zoom.cross(&rf, q, col, 4);
        for n in &names {
            let t = rf.pixel_of(truth(*n));
            let q = a
                .get(*n)
                .and_then(Detection::position)
                .map(|q| rf.pixel_of(q.to_dvec3()));
            println!(
                "{n}: truth crop px (r {:.1}, c {:.1}), auto {:?}",
                t[0] - r0 as f64,
                t[1] - c0 as f64,
                q.map(|q| (
                    ((q[0] - r0 as f64) * 10.0).round() / 10.0,
                    ((q[1] - c0 as f64) * 10.0).round() / 10.0
                ))
            );
            mark(truth(*n), [255, 0, 0]);
            if let Some(q) = a.get(*n).and_then(Detection::position) {
                mark(q.to_dvec3(), [0, 255, 0]);
            }
        }
        zoom.img
            .save(format!("{dir}/regions-sag{sag}-{seed}.png"))
            .unwrap();
    }
    Case {
        label: format!("sag {sag} seed {seed}"),
        res,
    }
}

fn print_table(rows: &[Case]) {
    println!();
    for c in rows {
        let per: Vec<String> = c
            .res
            .iter()
            .map(|(n, r)| match r {
                Ok(e) => format!("{n} {e:.2}"),
                Err(_) => format!("{n} -"),
            })
            .collect();
        println!("| {} | {} |", c.label, per.join(", "));
    }
    for (i, (name, _)) in rows[0].res.iter().enumerate() {
        let e: Vec<f64> = rows
            .iter()
            .filter_map(|c| c.res[i].1.as_ref().ok().copied())
            .collect();
        let why = rows
            .iter()
            .find_map(|c| c.res[i].1.as_ref().err().cloned())
            .unwrap_or_default();
        println!(
            "{name}: found {}/{}, mean {:.2} mm, max {:.2} mm{}",
            e.len(),
            rows.len(),
            e.iter().sum::<f64>() / e.len().max(1) as f64,
            e.iter().copied().fold(0.0, f64::max),
            if why.is_empty() {
                String::new()
            } else {
                format!(" (not found: {why})")
            }
        );
    }
}

fn grid() -> GridPreset {
    match std::env::var("AUTO_GRID").as_deref() {
        Ok("small") => GridPreset::Small,
        _ => GridPreset::Full,
    }
}

const CASES: [(f64, u64, [f64; 3], f64); 6] = [
    (0.0, 8401, [0.0, 0.0, 0.0], 0.0),
    (1.5, 8402, [2.0, -2.0, 3.0], 6.0),
    (3.0, 8403, [-2.0, 3.0, -4.0], 0.0),
    (4.5, 8404, [0.0, 0.0, 0.0], -9.0),
    (6.0, 8405, [3.0, 1.0, 5.0], 4.0),
    (7.5, 8406, [-1.0, -3.0, -2.0], 0.0),
];

/// With the default options every landmark of this part is either within 2 mm of the truth or
/// not found with a reason (a wrong point is worse than none), over sag values 0-7.5 mm and
/// tilted heads on 1 mm phantoms.
#[test]
#[ignore = "renders six 1 mm phantoms (slow in debug builds): run with --release --ignored"]
fn region_landmarks_never_wrong_by_default() {
    let g = grid();
    let rows: Vec<Case> = CASES
        .iter()
        .map(|(s, seed, r, o)| run(*s, *seed, *r, *o, g, &AutoOptions::default()))
        .collect();
    print_table(&rows);
    for c in &rows {
        for (n, r) in &c.res {
            match r {
                Ok(e) => assert!(*e <= 2.0, "{}: {n} off by {e:.2} mm", c.label),
                Err(why) => assert!(why.len() > 10, "{}: {n}: {why}", c.label),
            }
        }
    }
}

/// The sellar search (on by default since session 8) on the same phantoms: the chiasm within
/// 1.5 mm, the pituitary top and floor and the tuberculum within 1.75 mm at every sag value
/// (measured session 8: chiasm 0.19-1.35, top 0.28-1.26, floor 0.21-1.55, tuberculum
/// 0.56-1.33 mm); the diaphragma is not found on these phantoms (their dorsum's top is a knife
/// edge of cortex, not resolved) and must say so.
#[test]
#[ignore = "renders six 1 mm phantoms (slow in debug builds): run with --release --ignored"]
fn experimental_sellar_search_table() {
    let g = grid();
    let on = AutoOptions::default().with_sellar(true);
    let rows: Vec<Case> = CASES
        .iter()
        .map(|(s, seed, r, o)| run(*s, *seed, *r, *o, g, &on))
        .collect();
    print_table(&rows);
    for c in &rows {
        for (n, r) in &c.res {
            let tol = match n {
                L::ChiasmInferior => 1.5,
                L::PituitaryTop | L::PituitaryFloor | L::DiaphragmaSellae | L::TuberculumSellae => {
                    1.75
                }
                _ => continue,
            };
            // Our phantom draws the dorsum sellae as a knife edge of dark cortex (no marrow, no
            // thickness at its top): its top is not resolved, so the diaphragma (the middle of
            // the tuberculum-dorsum opening) is not found there, with the reason.
            if let (L::DiaphragmaSellae, Err(why)) = (n, r) {
                assert!(why.contains("dorsum"), "{}: {n}: {why}", c.label);
                continue;
            }
            let e = r
                .as_ref()
                .unwrap_or_else(|why| panic!("{}: {n} not found: {why}", c.label));
            assert!(*e <= tol, "{}: {n} off by {e:.2} mm", c.label);
        }
    }
}

/// Developer aid: one case from `REGIONS_CASE="sag,seed,rx,ry,rz,oblique"` (sellar search on).
#[test]
#[ignore = "developer aid: runs the case named in REGIONS_CASE"]
fn one_region_case() {
    let v: Vec<f64> = std::env::var("REGIONS_CASE")
        .unwrap_or_else(|_| "0,8401,0,0,0,0".to_owned())
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect();
    let on = AutoOptions::default().with_sellar(true);
    let c = run(v[0], v[1] as u64, [v[2], v[3], v[4]], v[5], grid(), &on);
    for (n, r) in &c.res {
        match r {
            Ok(e) => println!("{n}: {e:.2} mm"),
            Err(why) => println!("{n}: not found ({why})"),
        }
    }
    assert_eq!(c.res.len(), REGION.len() + 1);
}
