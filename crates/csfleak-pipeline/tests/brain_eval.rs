//! Evaluation of the automatic brain method on phantom studies with new seeds and several sag
//! values, through DICOM (write, scan, load, choose by role, analyse). Prints a table
//! (`scripts/eval-brain.sh` runs it with `--nocapture`).
//!
//! What is checked: the midsagittal plane found by symmetry (angle and offset against the
//! model's plane); every automatic landmark is either found with a confidence or not
//! assessable with a reason (never silently guessed); landmark error and MPD error are
//! reported for the landmarks that were found.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    reason = "an evaluation that prints its table"
)]

use std::sync::Arc;

use csfleak_brain::{BrainOptions as Opts, LandmarkName, analyze};
use csfleak_dicom::{Role, load_series, scan};
use csfleak_phantom::brain::{BrainOptions, BrainPhantom, write_study};
use csfleak_phantom::{ScenarioContext, Size};
use csfleak_pipeline::brain_input::{inputs, select};
use csfleak_volume::DVec3;

struct Row {
    sag: f64,
    seed: u64,
    mpd_truth: f64,
    mpd_auto: Option<f64>,
    found: usize,
    mean_err: Option<f64>,
    /// Per found automatic landmark: name and error, mm.
    errs: Vec<(LandmarkName, f64)>,
    plane_deg: f64,
    plane_mm: f64,
    symmetry: f64,
    onsd_truth: [f64; 2],
    onsd_auto: [Option<f64>; 2],
}

fn run_case(sag: f64, seed: u64, options: &BrainOptions) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let truth = BrainPhantom::new(options).unwrap().truth;
    let mut ctx = ScenarioContext::new(seed, Size::Small, dir.path());
    write_study(&mut ctx, options).unwrap();
    let report = scan(dir.path()).unwrap();
    let study = &report.studies[0];
    let loaded: Vec<_> = study
        .series
        .iter()
        .map(|s| Arc::new(load_series(s).unwrap()))
        .collect();
    let pairs: Vec<(Role, &csfleak_dicom::LoadedSeries)> = study
        .series
        .iter()
        .zip(&loaded)
        .map(|(s, l)| (s.role.role, l.as_ref()))
        .collect();
    let chosen = select(&pairs);
    let a = analyze(&inputs(&chosen, Vec::new()), &Opts::default()).unwrap();

    let mut errs = Vec::new();
    let mut named = Vec::new();
    for name in LandmarkName::ALL {
        if let Some(l) = a.landmarks.automatic(*name) {
            assert!((0.0..=1.0).contains(&l.confidence));
            if let Some(t) = truth.landmarks.get(name.as_str()) {
                let e = l.position.to_dvec3().distance(DVec3::from_array(*t));
                errs.push(e);
                named.push((*name, e));
            }
        } else {
            let why = a.landmarks.why_missing(*name).unwrap();
            assert!(!why.is_empty(), "{name}: missing without a reason");
        }
    }
    let plane = a.midsagittal.expect("a midsagittal plane on a head T1");
    let n_true = DVec3::from_array(truth.midsagittal_normal);
    let n = plane.normal.to_dvec3();
    let plane_deg = n.dot(n_true).abs().min(1.0).acos().to_degrees();
    // Offset: distance of the truth's midline landmarks from the found plane.
    let mids: Vec<f64> = ["basion", "opisthion", "iter", "tuberculum_sellae"]
        .iter()
        .map(|k| {
            (DVec3::from_array(truth.landmarks[*k]) - plane.point.to_dvec3())
                .dot(n)
                .abs()
        })
        .collect();
    let plane_mm = mids.iter().copied().fold(0.0, f64::max);
    Row {
        sag,
        seed,
        mpd_truth: truth.mamillopontine_distance_mm,
        mpd_auto: a.measurements.mamillopontine_distance_mm.value(),
        found: errs.len(),
        mean_err: (!errs.is_empty()).then(|| errs.iter().sum::<f64>() / errs.len() as f64),
        errs: named,
        plane_deg,
        plane_mm,
        symmetry: plane.symmetry,
        onsd_truth: [truth.onsd_mm.right, truth.onsd_mm.left],
        onsd_auto: [a.onsd_mm[0].value(), a.onsd_mm[1].value()],
    }
}

#[test]
fn eval_brain_on_new_seeds() {
    let cases = [
        (0.0, 7001_u64, [0.0, 0.0, 0.0], 0.0),
        (2.0, 7002, [2.0, -3.0, 4.0], 0.0),
        (4.0, 7003, [0.0, 0.0, 0.0], 12.0),
        (6.0, 7004, [-3.0, 2.0, -5.0], -8.0),
        (8.0, 7005, [1.0, 1.0, 7.0], 5.0),
    ];
    let rows: Vec<Row> = cases
        .iter()
        .map(|(sag, seed, rot, obl)| {
            let onsd = 4.0 + sag * 0.25;
            let o = BrainOptions::default()
                .with_onsd(onsd, onsd + 0.6)
                .with_sag(*sag)
                .with_head_rotation(*rot)
                .with_oblique(*obl);
            run_case(*sag, *seed, &o)
        })
        .collect();
    let f = |x: Option<f64>| x.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}"));
    println!();
    println!(
        "| sag mm | seed | MPD truth | MPD auto | landmarks found | mean landmark err mm | plane err deg | plane offset mm | symmetry | ONSD R truth/auto mm | ONSD L truth/auto mm |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {:.1} | {} | {:.2} | {} | {}/{} | {} | {:.2} | {:.2} | {:.3} | {:.2}/{} | {:.2}/{} |",
            r.sag,
            r.seed,
            r.mpd_truth,
            f(r.mpd_auto),
            r.found,
            LandmarkName::ALL.len(),
            f(r.mean_err),
            r.plane_deg,
            r.plane_mm,
            r.symmetry,
            r.onsd_truth[0],
            f(r.onsd_auto[0]),
            r.onsd_truth[1],
            f(r.onsd_auto[1])
        );
    }
    println!();
    println!("| landmark | found | mean err mm | max err mm |");
    println!("|---|---|---|---|");
    let mut all = Vec::new();
    for name in LandmarkName::ALL {
        let e: Vec<f64> = rows
            .iter()
            .flat_map(|r| r.errs.iter().filter(|(n, _)| n == name).map(|(_, e)| *e))
            .collect();
        all.extend(e.iter().copied());
        println!(
            "| {name} | {}/{} | {} | {} |",
            e.len(),
            rows.len(),
            f((!e.is_empty()).then(|| e.iter().sum::<f64>() / e.len() as f64)),
            f((!e.is_empty()).then(|| e.iter().copied().fold(0.0, f64::max)))
        );
    }
    let mean_all = all.iter().sum::<f64>() / all.len().max(1) as f64;
    let mpd_errs: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.mpd_auto.map(|a| a - r.mpd_truth))
        .collect();
    println!(
        "TOTAL: {} automatic landmarks found of {} ({} cases x {} names), mean error {:.2} mm, max {:.2} mm; MPD on {}/{} cases, mean |error| {:.2} mm, max {:.2} mm",
        all.len(),
        rows.len() * LandmarkName::ALL.len(),
        rows.len(),
        LandmarkName::ALL.len(),
        mean_all,
        all.iter().copied().fold(0.0, f64::max),
        mpd_errs.len(),
        rows.len(),
        mpd_errs.iter().map(|e| e.abs()).sum::<f64>() / mpd_errs.len().max(1) as f64,
        mpd_errs.iter().map(|e| e.abs()).fold(0.0, f64::max)
    );
    let autos: Vec<f64> = rows.iter().filter_map(|r| r.mpd_auto).collect();
    if autos.len() == rows.len() {
        let monotonic = autos.windows(2).all(|w| w[1] <= w[0]);
        println!("sag trend of automatic MPD monotonic: {monotonic}");
    } else {
        println!(
            "sag trend: not evaluated (automatic MPD on {}/{} studies)",
            autos.len(),
            rows.len()
        );
    }
    let onsd_errs: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            r.onsd_auto
                .iter()
                .zip(r.onsd_truth)
                .filter_map(|(a, t)| a.map(|a| (a - t).abs()))
        })
        .collect();
    println!(
        "ONSD on the 1 mm in-plane orbit grid: measured {}/{} sides, mean |error| {:.2} mm, max {:.2} mm",
        onsd_errs.len(),
        2 * rows.len(),
        onsd_errs.iter().sum::<f64>() / onsd_errs.len().max(1) as f64,
        onsd_errs.iter().copied().fold(0.0, f64::max)
    );
    for r in &rows {
        assert!(
            r.plane_deg < 2.0,
            "sag {}: plane off by {:.2} deg",
            r.sag,
            r.plane_deg
        );
        assert!(
            r.plane_mm < 1.5,
            "sag {}: plane offset {:.2} mm",
            r.sag,
            r.plane_mm
        );
        // What the automatic method meets (issue 7): the MPD on every case within 1 mm.
        let a = r.mpd_auto.expect("an automatic MPD on every phantom");
        assert!(
            (a - r.mpd_truth).abs() <= 1.0,
            "sag {}: MPD {a:.2} vs {:.2}",
            r.sag,
            r.mpd_truth
        );
    }
    assert!(mean_all <= 1.0, "mean landmark error {mean_all:.2}");
    // The anterior pons surface (mid-pons) on most studies, each within 1.5 mm; the clivus is
    // not searched on these 2 mm T1s (its cortex is not resolved), so the prepontine cistern
    // stays not assessable here (crates/csfleak-brain/tests/auto_landmarks.rs, AUTO_GRID=full,
    // measures it on 1 mm voxels).
    let pons_ant: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            r.errs
                .iter()
                .filter(|(n, _)| *n == LandmarkName::PonsAnterior)
        })
        .map(|(_, e)| *e)
        .collect();
    assert!(
        pons_ant.len() >= 3,
        "anterior pons on {} studies",
        pons_ant.len()
    );
    assert!(
        pons_ant.iter().all(|e| *e <= 1.5),
        "anterior pons errors {pons_ant:?}"
    );
    assert!(
        rows.iter().all(|r| r
            .errs
            .iter()
            .all(|(n, _)| *n != LandmarkName::ClivusPrepontine)),
        "clivus reported on 2 mm voxels"
    );
    assert!(
        autos.windows(2).all(|w| w[1] < w[0]),
        "sag trend of the automatic MPD not monotonic: {autos:?}"
    );
}

/// Developer aid: the midsagittal reformat of a study on disk (`BRAIN_DUMP_STUDY=<dir>`), with
/// the automatic landmarks (value 255 crosses) and, when the folder has a `truth.json` with
/// `landmarks`, the truth (value 0 crosses), written as `BRAIN_DUMP_OUT` (PGM, default
/// `/tmp/brain_dump.pgm`).
#[test]
#[ignore = "developer aid: needs BRAIN_DUMP_STUDY"]
fn dump_study() {
    use csfleak_brain::midsagittal::{find_plane, reformat};
    let Ok(dir) = std::env::var("BRAIN_DUMP_STUDY") else {
        return;
    };
    let out = std::env::var("BRAIN_DUMP_OUT").unwrap_or_else(|_| "/tmp/brain_dump.pgm".to_owned());
    let report = scan(std::path::Path::new(&dir)).unwrap();
    let study = &report.studies[0];
    let loaded: Vec<_> = study
        .series
        .iter()
        .map(|s| Arc::new(load_series(s).unwrap()))
        .collect();
    let pairs: Vec<(Role, &csfleak_dicom::LoadedSeries)> = study
        .series
        .iter()
        .zip(&loaded)
        .map(|(s, l)| (s.role.role, l.as_ref()))
        .collect();
    let chosen = select(&pairs);
    let inp = inputs(&chosen, Vec::new());
    let a = analyze(&inp, &Opts::default()).unwrap();
    let t1 = inp.t1.expect("a 3D T1");
    let plane = find_plane(t1).unwrap();
    let rf = reformat(t1, &plane).unwrap();
    let (h, w) = rf.image.dim();
    let hi = rf
        .image
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .fold(0f32, f32::max)
        .max(1e-6);
    let mut px: Vec<u8> = rf
        .image
        .iter()
        .map(|v| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "clamped grey level"
            )]
            let g = if v.is_finite() {
                (v / hi * 250.0).clamp(1.0, 250.0) as u8
            } else {
                1
            };
            g
        })
        .collect();
    // The reformat's own values (f32 little-endian, rows x cols) beside the marked image.
    let raw: Vec<u8> = rf.image.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(format!("{out}.{h}x{w}.f32"), raw).unwrap();
    let mut mark = |p: DVec3, val: u8| {
        let q = rf.pixel_of(p);
        #[allow(clippy::cast_possible_truncation, reason = "pixel of a bounded image")]
        let (r, c) = (q[0].round() as i64, q[1].round() as i64);
        for d in -2..=2_i64 {
            for (rr, cc) in [(r + d, c), (r, c + d)] {
                if let (Ok(rr), Ok(cc)) = (usize::try_from(rr), usize::try_from(cc)) {
                    if rr < h && cc < w {
                        px[rr * w + cc] = val;
                    }
                }
            }
        }
    };
    let truth: Option<serde_json::Value> = std::fs::read(format!("{dir}/truth.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(lm) = truth
        .as_ref()
        .and_then(|t| {
            t.get("landmarks")
                .or_else(|| t.get("brain")?.get("landmarks"))
        })
        .and_then(|l| l.as_object())
    {
        for (k, v) in lm {
            let p: Option<Vec<f64>> = v
                .as_array()
                .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect());
            if let Some(p) = p.filter(|p| p.len() == 3) {
                let q = rf.pixel_of(DVec3::new(p[0], p[1], p[2]));
                println!("truth {k:22} row {:6.1} col {:6.1}", q[0], q[1]);
                mark(DVec3::new(p[0], p[1], p[2]), 0);
            }
        }
    }
    for name in LandmarkName::ALL {
        if let Some(l) = a.landmarks.automatic(*name) {
            let q = rf.pixel_of(l.position.to_dvec3());
            println!("auto  {name:22} row {:6.1} col {:6.1}", q[0], q[1]);
            mark(l.position.to_dvec3(), 255);
        }
    }
    let mut buf = format!("P5\n{w} {h}\n255\n").into_bytes();
    buf.extend_from_slice(&px);
    std::fs::write(&out, buf).unwrap();
    println!("reformat px {:.2} mm, {w} x {h}, written {out}", rf.px);
    assert!(std::path::Path::new(&out).exists());
}

/// Developer aid: automatic landmarks against `truth.json` on studies on disk
/// (`BRAIN_ALT_STUDIES="<dir> <dir> ..."`, e.g. the independent generator's cached heads),
/// with every detection whatever its confidence (`min_confidence` 0): per landmark the error
/// (mm) and the confidence, and the MPD, prepontine width and PM angle against the truth.
#[test]
#[ignore = "developer aid: needs BRAIN_ALT_STUDIES"]
fn alt_errors() {
    use csfleak_brain::auto::{AutoOptions, Detection, detect_landmarks};
    use csfleak_brain::midsagittal::find_plane;
    let Ok(list) = std::env::var("BRAIN_ALT_STUDIES") else {
        return;
    };
    let mut n = 0;
    for dir in list.split_whitespace() {
        let report = scan(std::path::Path::new(dir)).unwrap();
        let study = &report.studies[0];
        let loaded: Vec<_> = study
            .series
            .iter()
            .map(|s| Arc::new(load_series(s).unwrap()))
            .collect();
        let pairs: Vec<(Role, &csfleak_dicom::LoadedSeries)> = study
            .series
            .iter()
            .zip(&loaded)
            .map(|(s, l)| (s.role.role, l.as_ref()))
            .collect();
        let chosen = select(&pairs);
        let inp = inputs(&chosen, Vec::new());
        let t1 = inp.t1.expect("a 3D T1");
        let plane = find_plane(t1).unwrap();
        let auto = detect_landmarks(
            t1,
            &plane,
            &AutoOptions::default()
                .with_min_confidence(0.0)
                .with_pm_angle(std::env::var("BRAIN_ALT_PM").is_ok()),
        )
        .unwrap();
        let truth: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{dir}/truth.json")).unwrap()).unwrap();
        let b = truth.get("brain").unwrap_or(&truth);
        let tp = |k: &str| -> Option<DVec3> {
            let a = b.get("landmarks")?.get(k)?.as_array()?;
            Some(DVec3::new(a[0].as_f64()?, a[1].as_f64()?, a[2].as_f64()?))
        };
        let ap = |k: LandmarkName| {
            auto.get(k)
                .and_then(Detection::position)
                .map(csfleak_volume::PointLps::to_dvec3)
        };
        let tv = |k: &str| {
            b.get(k)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        println!(
            "== {dir}: sag {:.1}",
            b.get("sag_mm")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        );
        for (name, d) in &auto.landmarks {
            match d {
                Detection::Found {
                    position,
                    confidence,
                    ..
                } => {
                    let e = tp(name.as_str()).map(|t| position.to_dvec3() - t);
                    println!(
                        "  {:20} conf {confidence:.2} err {} (LPS {})",
                        name.as_str(),
                        e.map_or("-".to_owned(), |e| format!("{:.2}", e.length())),
                        e.map_or("-".to_owned(), |e| format!(
                            "{:.1},{:.1},{:.1}",
                            e.x, e.y, e.z
                        ))
                    );
                }
                Detection::NotFound { reason }
                    if tp(name.as_str()).is_some() && !reason.starts_with("not located") =>
                {
                    let r: String = reason.chars().take(90).collect();
                    println!("  {:20} -- {r}", name.as_str());
                }
                Detection::NotFound { .. } => {}
            }
        }
        let dist = |a: LandmarkName, b: LandmarkName| Some(ap(a)?.distance(ap(b)?));
        // The angle's arms: each arm's direction against the truth's (degrees).
        let arm_deg = |a: DVec3, b: DVec3| a.angle_between(b).to_degrees();
        if let (Some(v), Some(m), Some(p), Some(tv0), Some(tm), Some(tpp)) = (
            ap(LandmarkName::PmVertex),
            ap(LandmarkName::PmMidbrain),
            ap(LandmarkName::PmPons),
            tp("pm_vertex"),
            tp("pm_midbrain"),
            tp("pm_pons"),
        ) {
            println!(
                "  PMA {:.1} vs {:.1}; midbrain arm off {:.1} deg, pons arm off {:.1} deg, \
                 vertex err {:.2} mm",
                arm_deg(m - v, p - v),
                arm_deg(tm - tv0, tpp - tv0),
                arm_deg(m - v, tm - tv0),
                arm_deg(p - v, tpp - tv0),
                v.distance(tv0)
            );
            // Elevation of each arm above the anterior direction (degrees, LPS y-z plane).
            let el = |d: DVec3| d.z.atan2(-d.y).to_degrees();
            println!(
                "  arm elevation: midbrain {:.1} vs {:.1}, pons {:.1} vs {:.1}",
                el(m - v),
                el(tm - tv0),
                el(p - v),
                el(tpp - tv0)
            );
        }
        println!(
            "  MPD {:?} vs {:.2}; prepontine {:?} vs {:.2}; PMA truth {:.1}",
            dist(LandmarkName::MamillaryInferior, LandmarkName::PonsSuperior),
            tv("mamillopontine_distance_mm"),
            dist(LandmarkName::PonsAnterior, LandmarkName::ClivusPrepontine),
            tv("prepontine_cistern_mm"),
            tv("pontomesencephalic_angle_deg")
        );
        n += 1;
    }
    assert!(n > 0, "no study in BRAIN_ALT_STUDIES");
}
