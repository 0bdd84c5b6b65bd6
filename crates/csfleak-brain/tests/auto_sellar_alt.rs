//! Developer aid: the sellar search on T1s converted to NIfTI by `csfleak convert
//! --no-compress` (any generator), against a reference JSON beside each (`truth.json.ref`,
//! `{"brain": {"landmarks": {name: [L, P, S]}, "suprasellar_cistern_mm": .., ..}}`, LPS mm).
//!
//! `SELLAR_ALT="<folder> <folder> ..."` (each holding one converted T1 first in name order and
//! the reference). Per folder: each sellar point's error (mm) and its error vector in the
//! reformat (rows down, columns along the slab), the suprasellar cistern height and the
//! pituitary height against the reference, and whether either would be a wrong value (more
//! than 1 mm off). `SELLAR_ALT_PNG=<dir>` also writes a zoomed picture around the pituitary.
//! `SELLAR_ALT_OFF=1` runs with the sellar search turned off (for timing against it).
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
use csfleak_volume::DVec3;

mod common;

const SELLAR: [L; 5] = [
    L::ChiasmInferior,
    L::DiaphragmaSellae,
    L::PituitaryTop,
    L::PituitaryFloor,
    L::TuberculumSellae,
];

#[test]
#[ignore = "developer aid: needs SELLAR_ALT"]
#[allow(clippy::too_many_lines, reason = "one table")]
fn sellar_alt_table() {
    let Ok(list) = std::env::var("SELLAR_ALT") else {
        println!("SELLAR_ALT not set");
        return;
    };
    let opts = if std::env::var("SELLAR_ALT_OFF").is_ok() {
        AutoOptions::default().with_sellar(false)
    } else {
        AutoOptions::default().with_sellar(true)
    };
    let (mut n, mut wrong, mut supra_ok, mut pit_ok, mut mean_ok) = (0, 0, 0, 0, 0);
    for dir in list.split_whitespace() {
        let dir = Path::new(dir);
        let v = common::read_converted_nifti(dir);
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json.ref")).unwrap())
                .unwrap();
        let b = &j["brain"];
        let truth: BTreeMap<String, [f64; 3]> =
            serde_json::from_value(b["landmarks"].clone()).unwrap();
        let plane = find_plane(&v).unwrap();
        let t0 = std::time::Instant::now();
        let a = detect_landmarks(&v, &plane, &opts).unwrap();
        let dt = t0.elapsed().as_secs_f64();
        let rf = reformat(&v, &plane).unwrap();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        println!("== {name} (sag {}, {dt:.2} s)", b["sag_mm"]);
        let t = |k: L| truth.get(k.as_str()).map(|x| DVec3::from_array(*x));
        let p = |k: L| {
            a.get(k)
                .and_then(Detection::position)
                .map(csfleak_volume::PointLps::to_dvec3)
        };
        for k in SELLAR {
            match (a.get(k).unwrap(), t(k)) {
                (Detection::Found { confidence, .. }, Some(tt)) => {
                    let q = p(k).unwrap();
                    let (pq, pt) = (rf.pixel_of(q), rf.pixel_of(tt));
                    println!(
                        "  {:18} err {:5.2} mm  d_row {:+5.2} d_col {:+5.2} px  conf {confidence:.2}",
                        k.as_str(),
                        q.distance(tt),
                        pq[0] - pt[0],
                        pq[1] - pt[1]
                    );
                }
                (Detection::NotFound { reason }, _) => {
                    println!("  {:18} -- {reason}", k.as_str());
                }
                _ => {}
            }
        }
        // The dorsum tip implied by the diaphragma as the middle of the opening.
        if let (Some(dt), Some(tt), Some(da), Some(ta)) = (
            t(L::DiaphragmaSellae),
            t(L::TuberculumSellae),
            p(L::DiaphragmaSellae),
            p(L::TuberculumSellae),
        ) {
            let (qt, qa) = (rf.pixel_of(dt * 2.0 - tt), rf.pixel_of(da * 2.0 - ta));
            println!(
                "  implied dorsum tip: auto - truth d_row {:+5.2} d_col {:+5.2} px",
                qa[0] - qt[0],
                qa[1] - qt[1]
            );
        }
        let dist = |x: L, y: L| Some(p(x)?.distance(p(y)?));
        let mut bad = false;
        for (key, x, y, ok) in [
            (
                "suprasellar_cistern_mm",
                L::ChiasmInferior,
                L::DiaphragmaSellae,
                &mut supra_ok,
            ),
            (
                "pituitary_height_mm",
                L::PituitaryTop,
                L::PituitaryFloor,
                &mut pit_ok,
            ),
        ] {
            let tv = b[key].as_f64().unwrap_or(f64::NAN);
            let m = dist(x, y);
            let verdict = match m {
                Some(m) if (m - tv).abs() <= 1.0 => {
                    *ok += 1;
                    "ok"
                }
                Some(_) => {
                    bad = true;
                    "WRONG"
                }
                None => "-",
            };
            println!(
                "  {key}: {} vs {tv:.2} {verdict}",
                m.map_or("-".to_owned(), |m| format!("{m:.2}"))
            );
        }
        // Mean error over every found landmark with a reference (arm points aside).
        let errs: Vec<f64> = a
            .landmarks
            .iter()
            .filter(|(k, _)| !matches!(k, L::PmMidbrain | L::PmPons))
            .filter_map(|(k, d)| Some(d.position()?.to_dvec3().distance(t(*k)?)))
            .collect();
        let mean = errs.iter().sum::<f64>() / errs.len().max(1) as f64;
        if mean <= 1.0 {
            mean_ok += 1;
        }
        println!("  landmarks found {}, mean error {mean:.2} mm", errs.len());
        if bad {
            wrong += 1;
        }
        n += 1;
        if let Ok(out) = std::env::var("SELLAR_ALT_PNG") {
            let (h, w) = rf.image.dim();
            let hi = common::peak(&rf);
            let cp = rf.pixel_of(t(L::PituitaryTop).unwrap_or(DVec3::ZERO));
            let half = std::env::var("SELLAR_ALT_HALF")
                .ok()
                .and_then(|x| x.parse().ok())
                .unwrap_or(16.0)
                / rf.px;
            let (r0, c0) = (
                (cp[0] - half).max(0.0) as usize,
                (cp[1] - half).max(0.0) as usize,
            );
            let (r1, c1) = (
                ((cp[0] + half) as usize).min(h - 1),
                ((cp[1] + half) as usize).min(w - 1),
            );
            let z: usize = std::env::var("SELLAR_ALT_ZOOM")
                .ok()
                .and_then(|x| x.parse().ok())
                .unwrap_or(12);
            let mut zoom = common::Zoom::new(&rf, hi, (r0, c0), (r1, c1), z);
            for k in SELLAR {
                if let Some(tt) = t(k) {
                    zoom.cross(&rf, tt, [255, 0, 0], 6);
                }
                if let Some(q) = p(k) {
                    zoom.cross(&rf, q, [0, 255, 0], 6);
                }
            }
            if std::env::var("SELLAR_ALT_TEXT").is_ok() {
                // Two-digit grey levels (percent of the peak), rows down, columns back.
                let (rt, ct) = (r0 + (r1 - r0) / 4, c0 + (c1 - c0) / 4);
                let (rb, cb) = (r1 - (r1 - r0) / 4, c1 - (c1 - c0) / 4);
                println!("crop rows {rt}.., cols {ct}..");
                for r in rt..rb {
                    let row: Vec<String> = (ct..cb)
                        .map(|c| {
                            let v = rf.image[[r, c]];
                            if v.is_finite() {
                                format!("{:2}", ((v / hi) * 99.0).round() as i64)
                            } else {
                                "..".to_owned()
                            }
                        })
                        .collect();
                    println!("{:3} {}", r - rt, row.join(" "));
                }
                for k in SELLAR {
                    if let Some(tt) = t(k) {
                        let q = rf.pixel_of(tt);
                        println!(
                            "truth {k}: row {:.1} col {:.1}",
                            q[0] - rt as f64,
                            q[1] - ct as f64
                        );
                    }
                    if let Some(q) = p(k) {
                        let q = rf.pixel_of(q);
                        println!(
                            "auto  {k}: row {:.1} col {:.1}",
                            q[0] - rt as f64,
                            q[1] - ct as f64
                        );
                    }
                }
            }
            let path = format!("{out}/sellar-{name}.png");
            zoom.img.save(&path).unwrap();
        }
    }
    println!(
        "TOTAL {n}: suprasellar {supra_ok}/{n}, pituitary {pit_ok}/{n}, heads with a wrong \
         value {wrong}, landmarks mean <= 1 mm {mean_ok}/{n}"
    );
    assert!(n > 0);
}
