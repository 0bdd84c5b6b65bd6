//! Developer aid: a zoomed PNG of the midsagittal reformat around one true landmark of a
//! phantom T1, with the automatic (green) and true (red) points of the sellar region, the
//! foramen magnum and the incisura (`SELLAR_VIEW="sag,seed,rx,ry,rz,oblique,landmark"`,
//! `SELLAR_VIEW_DIR` the folder).
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "an inspection helper"
)]

use csfleak_brain::LandmarkName as L;
use csfleak_brain::auto::{AutoOptions, Detection, detect_landmarks};
use csfleak_brain::midsagittal::{find_plane, reformat};
use csfleak_phantom::brain::{BrainOptions, BrainPhantom, Phase};
use csfleak_volume::DVec3;

mod common;

#[test]
#[ignore = "writes an image for a person to look at; asserts only that it was written"]
fn sellar_view() {
    let spec = std::env::var("SELLAR_VIEW")
        .unwrap_or_else(|_| "4.5,8404,0,0,0,-9,chiasm_inferior".to_owned());
    let f: Vec<&str> = spec.split(',').collect();
    let n: Vec<f64> = f[..6].iter().map(|x| x.trim().parse().unwrap()).collect();
    let centre = f.get(6).copied().unwrap_or("chiasm_inferior");
    let dir = std::env::var("SELLAR_VIEW_DIR").unwrap_or_else(|_| "/tmp".to_owned());
    let o = BrainOptions::default()
        .with_sag(n[0])
        .with_head_rotation([n[2], n[3], n[4]])
        .with_oblique(n[5]);
    let p = BrainPhantom::new(&o).unwrap();
    let v = p.sagittal_t1(Phase::Pre, Some(n[1] as u64)).unwrap();
    let plane = find_plane(&v).unwrap();
    let a = detect_landmarks(&v, &plane, &AutoOptions::default().with_sellar(true)).unwrap();
    let rf = reformat(&v, &plane).unwrap();
    let (h, w) = rf.image.dim();
    let hi = common::peak(&rf);
    let truth = |k: &str| DVec3::from_array(p.truth.landmarks[k]);
    let cp = rf.pixel_of(truth(centre));
    let half = 24.0 / rf.px;
    let (r0, c0) = (
        (cp[0] - half).max(0.0) as usize,
        (cp[1] - half).max(0.0) as usize,
    );
    let (r1, c1) = (
        ((cp[0] + half) as usize).min(h - 1),
        ((cp[1] + half) as usize).min(w - 1),
    );
    let mut zoom = common::Zoom::new(&rf, hi, (r0, c0), (r1, c1), 8);
    let mut mark = |q: DVec3, col: [u8; 3]| zoom.cross(&rf, q, col, 6);
    for &name in L::ALL {
        let Some(t) = p.truth.landmarks.get(name.as_str()) else {
            continue;
        };
        mark(DVec3::from_array(*t), [255, 0, 0]);
        let q = a.get(name).and_then(Detection::position);
        if let Some(q) = q {
            mark(q.to_dvec3(), [0, 255, 0]);
        }
        let tp = rf.pixel_of(DVec3::from_array(*t));
        println!(
            "{name}: truth ({:.1}, {:.1}) auto {:?}",
            tp[0] - r0 as f64,
            tp[1] - c0 as f64,
            q.map(|q| {
                let q = rf.pixel_of(q.to_dvec3());
                ((q[0] - r0 as f64) * 10.0).round() / 10.0
            })
        );
    }
    if std::env::var("SELLAR_TEXT").is_ok() {
        for r in r0..r1 {
            let row: String = (c0..c1)
                .map(|c| {
                    let val = rf.image[[r, c]];
                    let k = if val.is_finite() {
                        (val / hi * 10.0).clamp(0.0, 9.0) as u8
                    } else {
                        0
                    };
                    char::from(b'0' + k)
                })
                .collect();
            println!("{:3} {row}", r - r0);
        }
    }
    let path = format!("{dir}/sellar-{}.png", spec.replace(',', "_"));
    zoom.img.save(&path).unwrap();
    println!("px {} mm, wrote {path}", rf.px);
    assert!(std::path::Path::new(&path).exists());
}
