//! Developer aid: the automatic foramen-magnum, tonsil and incisura landmarks on T1 heads
//! converted by `csfleak convert --no-compress` (any generator), each landmark's error against
//! that head's truth.json and the two "below the line" measurements.
//!
//! `FOSSA_ROOT=<folder of converted heads>` `FOSSA_SET="<name> <name> ..."` (each a folder under
//! the root), `FOSSA_TRUTH_ROOT=<folder>` (truth at `<truth root>/<name>/truth.json`).
//! `FOSSA_PNG=<folder>` also writes a picture per head (normalised window `FOSSA_LO..FOSSA_HI`,
//! CSF 0 and white matter 1; `FOSSA_X` mm beside the plane; `FOSSA_HALF` mm around the
//! foramen magnum): truth red, automatic green.
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
use csfleak_brain::measure::below_line;
use csfleak_brain::midsagittal::{MidsagittalPlane, find_plane, reformat};
use csfleak_volume::{DVec3, PointLps};

mod common;

const NAMES: [L; 6] = [
    L::Basion,
    L::Opisthion,
    L::TonsilTip,
    L::Iter,
    L::GalenJunction,
    L::TuberculumSellae,
];

fn env_f(k: &str, d: f64) -> f64 {
    std::env::var(k)
        .ok()
        .and_then(|x| x.parse().ok())
        .unwrap_or(d)
}

#[test]
#[ignore = "developer aid: needs FOSSA_ROOT, FOSSA_SET and FOSSA_TRUTH_ROOT"]
fn fossa_alt() {
    let (Ok(root), Ok(set), Ok(troot)) = (
        std::env::var("FOSSA_ROOT"),
        std::env::var("FOSSA_SET"),
        std::env::var("FOSSA_TRUTH_ROOT"),
    ) else {
        println!("FOSSA_ROOT / FOSSA_SET / FOSSA_TRUTH_ROOT not set");
        return;
    };
    let mut n = 0;
    for name in set.split_whitespace() {
        let v = common::read_converted_nifti(&Path::new(&root).join(name));
        let j: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(Path::new(&troot).join(name).join("truth.json")).unwrap(),
        )
        .unwrap();
        let b = &j["brain"];
        let truth: BTreeMap<String, [f64; 3]> =
            serde_json::from_value(b["landmarks"].clone()).unwrap();
        let tp = |k: L| truth.get(k.as_str()).map(|t| DVec3::from_array(*t));
        let plane = find_plane(&v).unwrap();
        let t0 = std::time::Instant::now();
        let a =
            detect_landmarks(&v, &plane, &AutoOptions::default().with_min_confidence(0.0)).unwrap();
        let dt = t0.elapsed().as_secs_f64();
        println!("== {name} sag {} ({dt:.2} s)", b["sag_mm"]);
        let ap = |k: L| {
            a.get(k)
                .and_then(Detection::position)
                .map(PointLps::to_dvec3)
        };
        for k in NAMES {
            match a.get(k).unwrap() {
                Detection::Found {
                    position,
                    confidence,
                    ..
                } => {
                    let e = tp(k).map(|t| position.to_dvec3() - t);
                    println!(
                        "  {:18} conf {confidence:.2} err {} (LPS {})",
                        k.as_str(),
                        e.map_or("-".to_owned(), |e| format!("{:.2}", e.length())),
                        e.map_or("-".to_owned(), |e| format!(
                            "{:.1},{:.1},{:.1}",
                            e.x, e.y, e.z
                        ))
                    );
                }
                Detection::NotFound { reason } => {
                    let r: String = reason.chars().take(110).collect();
                    println!("  {:18} -- {r}", k.as_str());
                }
            }
        }
        let nrm = plane.normal.to_dvec3();
        let inf = DVec3::new(0.0, 0.0, -1.0);
        let mine = |p: L, x: L, y: L| below_line(ap(p)?, ap(x)?, ap(y)?, nrm, inf);
        println!(
            "  tonsil below McRae {:?} vs {}; iter below incisural {:?} vs {}",
            mine(L::TonsilTip, L::Basion, L::Opisthion).map(|x| (x * 100.0).round() / 100.0),
            b["tonsil_below_mcrae_mm"],
            mine(L::Iter, L::TuberculumSellae, L::GalenJunction)
                .map(|x| (x * 100.0).round() / 100.0),
            b["iter_below_incisural_line_mm"],
        );
        if let Ok(dir) = std::env::var("FOSSA_PNG") {
            picture(&v, &plane, &a, &truth, Path::new(&dir), name);
        }
        n += 1;
    }
    assert!(n > 0, "FOSSA_SET is empty");
}

fn picture(
    v: &csfleak_volume::Volume,
    plane: &MidsagittalPlane,
    a: &csfleak_brain::auto::AutoLandmarks,
    truth: &BTreeMap<String, [f64; 3]>,
    dir: &Path,
    name: &str,
) {
    let Some(cl) = a.classes else {
        return;
    };
    let x = env_f("FOSSA_X", 0.0);
    let mut p = *plane;
    p.point = PointLps::from_dvec3(plane.point.to_dvec3() + plane.normal.to_dvec3() * x);
    let rf = reformat(v, &p).unwrap();
    let (lo, hi) = (env_f("FOSSA_LO", -0.6), env_f("FOSSA_HI", 1.6));
    let centre = std::env::var("FOSSA_CENTRE").unwrap_or_else(|_| "basion".to_owned());
    let cp = truth
        .get(&centre)
        .map_or(DVec3::ZERO, |t| DVec3::from_array(*t));
    let q = rf.pixel_of(cp);
    let half = env_f("FOSSA_HALF", 40.0) / rf.px;
    let (h, w) = rf.image.dim();
    let (r0, c0) = (
        (q[0] - half).max(0.0) as usize,
        (q[1] - half).max(0.0) as usize,
    );
    let (r1, c1) = (
        ((q[0] + half) as usize).min(h - 1),
        ((q[1] + half) as usize).min(w - 1),
    );
    let mut zoom = common::Zoom::new(&rf, 1.0, (r0, c0), (r1, c1), (300.0 / half) as usize);
    let z = zoom.z;
    for (xx, yy, px) in zoom.img.enumerate_pixels_mut() {
        let val = rf.image[[r0 + yy as usize / z, c0 + xx as usize / z]];
        let g = if val.is_finite() {
            let t = (cl.normalise(f64::from(val)) - lo) / (hi - lo);
            (t * 250.0).clamp(1.0, 250.0) as u8
        } else {
            1
        };
        *px = image::Rgb([g, g, g]);
    }
    for t in truth.values() {
        zoom.cross(&rf, DVec3::from_array(*t), [255, 0, 0], 5);
    }
    for d in a.landmarks.values() {
        if let Some(q) = d.position() {
            zoom.cross(&rf, q.to_dvec3(), [0, 255, 0], 5);
        }
    }
    // Profiles: rows through the centre point +- FOSSA_DROWS mm, every 1 mm across.
    if let Ok(rows) = std::env::var("FOSSA_DROWS") {
        for dr in rows.split(',').filter_map(|x| x.parse::<f64>().ok()) {
            let r = (q[0] + dr / rf.px).round() as usize;
            let line: Vec<String> = (-20..=30)
                .map(|k| {
                    let c = (q[1] + f64::from(k) / rf.px).round() as usize;
                    let val = rf.image.get([r, c]).copied().unwrap_or(f32::NAN);
                    format!("{:.0}", cl.normalise(f64::from(val)) * 100.0)
                })
                .collect();
            println!("  row {dr:+}: {}", line.join(" "));
        }
    }
    if let Ok(cols) = std::env::var("FOSSA_DCOLS") {
        for dc in cols.split(',').filter_map(|x| x.parse::<f64>().ok()) {
            let c = (q[1] + dc / rf.px).round() as usize;
            let line: Vec<String> = (-20..=20)
                .map(|k| {
                    let r = (q[0] + f64::from(k) / rf.px).round() as usize;
                    let val = rf.image.get([r, c]).copied().unwrap_or(f32::NAN);
                    format!("{:.0}", cl.normalise(f64::from(val)) * 100.0)
                })
                .collect();
            println!("  col {dc:+}: {}", line.join(" "));
        }
    }
    let path = dir.join(format!("{name}_x{x}.png"));
    zoom.img.save(&path).unwrap();
}
