//! Developer aid: per-slice canal and lesion dump of an axial T2 stack, with an ASCII picture of
//! one slice. `cargo run -p csfleak-spine --example dump_mri -- CASE|DIR [SLICE] [num]`: CASE is
//! a phantom case (dorsal, ventral, circ, normal); DIR holds `t2.txt`/`t2.f32` (and optionally
//! `t1.*`) written by the pipeline's `dump_study` (`SPINE_DUMP_RAW=DIR`).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::format_push_string,
    missing_docs,
    reason = "developer aid"
)]

use std::collections::HashSet;
use std::path::Path;

use csfleak_phantom::spine::{
    CollectionSpec, MrContrast, Position, SpineModel, SpineOptions as Model, axial_grid, render_mr,
};
use csfleak_spine::SpineOptions;
use csfleak_spine::mri::analyze_mri;
use csfleak_volume::Volume;

#[path = "common/raw.rs"]
mod raw;

fn phantom(case: &str) -> (Volume, f64) {
    let (spec, top, bottom) = match case {
        "ventral" => (
            CollectionSpec::new("T3", "T7", Position::Ventral, 4.0).with_dural_defect("T5"),
            "T2",
            "T8",
        ),
        "circ" => (
            CollectionSpec::new("T3", "T8", Position::Circumferential, 2.5),
            "T2",
            "T9",
        ),
        _ => (
            CollectionSpec::new("T9", "T12", Position::Dorsal, 3.0),
            "T8",
            "L1",
        ),
    };
    let (opts, top, bottom) = if case == "normal" {
        (Model::default(), "T10", "L2")
    } else {
        (Model::default().with_collection(spec), top, bottom)
    };
    let model = SpineModel::new(opts).unwrap();
    let a = &model.levels()[model.level_index(top).unwrap()];
    let b = &model.levels()[model.level_index(bottom).unwrap()];
    let g = axial_grid(
        &model,
        (b.body_bottom_z_mm - 10.0, a.body_top_z_mm + 10.0),
        [192, 192],
        0.8,
        4.0,
        true,
    )
    .unwrap();
    let t2 = render_mr(&model, MrContrast::T2Fs, &g, 2, 25.0, 0.15, 13, "t2").unwrap();
    (t2, csfleak_phantom::spine::collection_volume_ml(&model))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args.get(1).map_or("dorsal", String::as_str);
    let (t2, t1, sag, truth) = if Path::new(case).join("t2.txt").exists() {
        let dir = Path::new(case);
        (
            raw::load_raw(dir, "t2").unwrap(),
            raw::load_raw(dir, "t1"),
            raw::load_raw(dir, "sag"),
            f64::NAN,
        )
    } else {
        let (t2, v) = phantom(case);
        (t2, None, None, v)
    };
    // DUMP_MRI_TIMES=N: time N analyses first (the fastest printed; for speed work).
    let times: usize = std::env::var("DUMP_MRI_TIMES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut fastest = f64::INFINITY;
    for _ in 0..times {
        let t = std::time::Instant::now();
        analyze_mri(&t2, t1.as_ref(), &SpineOptions::default()).unwrap();
        fastest = fastest.min(t.elapsed().as_secs_f64());
    }
    if times > 0 {
        println!("fastest of {times} analyses: {fastest:.3} s");
    }
    let t0 = std::time::Instant::now();
    let mut an = analyze_mri(&t2, t1.as_ref(), &SpineOptions::default()).unwrap();
    if let Some(sag) = &sag {
        for n in an.follow_on_sagittal(sag, &SpineOptions::default()) {
            println!("sagittal: {n}");
        }
    }
    println!(
        "analysis {:.2} s; csf ref {} truth volume {truth:.2} mL canal confidence {:.2} \
         intraspinal CSF {:.1} mL over {:.0} mm",
        t0.elapsed().as_secs_f64(),
        an.canal.csf_reference,
        an.canal.confidence,
        an.intraspinal_csf_ml,
        an.covered_mm
    );
    for s in &an.canal.slices {
        let mut d = s.beyond_dura_mm.clone();
        d.sort_by(|a, b| b.total_cmp(a));
        println!(
            "k {:3} found {} z {:7.1} y {:6.1} area {:6.1} csf {:6.1} bridge {:2} depth2 {:.1}",
            s.k,
            s.found,
            s.centre.0[2],
            s.centre.0[1],
            s.sac_area_mm2,
            s.csf_area_mm2,
            s.bridge.len(),
            d.get(1).copied().unwrap_or(0.0)
        );
    }
    for l in an.collections.iter().chain(&an.mimics) {
        println!(
            "{:?} z {:.1}..{:.1} ext {:.0} (sag {:.0}) t {:.1} v {:.2} {:?} {:?} cont {:?} water {:.2} enh {:?}",
            l.k_range,
            l.z_range_mm.0,
            l.z_range_mm.1,
            l.extent_mm,
            l.sagittal_mm,
            l.max_thickness_mm,
            l.volume_ml,
            l.position,
            l.mimic,
            l.continuity_slice,
            l.water_ratio,
            l.enhancement_ratio
        );
    }
    let Some(k) = args.get(2).and_then(|s| s.parse::<usize>().ok()) else {
        return;
    };
    let img = t2.data().index_axis(ndarray::Axis(0), k).to_owned();
    let sl = &an.canal.slices[k];
    let lesion: HashSet<(usize, usize)> = an
        .collections
        .iter()
        .chain(&an.mimics)
        .flat_map(|l| l.pixels.iter())
        .filter(|p| p.0 == k)
        .map(|p| (p.1, p.2))
        .collect();
    let c = t2
        .geometry()
        .voxel_from_world()
        .transform_point3(sl.centre.to_dvec3());
    let (cr, cc) = (c.y.round() as i64, c.x.round() as i64);
    // L lesion, S/s sac (bright/dark), # + . outside by signal / CSF, B bridge.
    for r in (cr - 22)..(cr + 23) {
        let mut line = String::new();
        for col in (cc - 30)..(cc + 31) {
            let (Ok(ru), Ok(cu)) = (usize::try_from(r), usize::try_from(col)) else {
                continue;
            };
            let Some(&v) = img.get([ru, cu]) else {
                continue;
            };
            let f = v / an.canal.csf_reference;
            let ch = if sl.bridge.contains(&(ru, cu)) {
                'B'
            } else if lesion.contains(&(ru, cu)) {
                'L'
            } else if sl.sac.get([ru, cu]).copied().unwrap_or(false) {
                if f >= 0.5 { 'S' } else { 's' }
            } else if f >= 0.75 {
                '#'
            } else if f >= 0.5 {
                '+'
            } else if f >= 0.25 {
                '.'
            } else {
                ' '
            };
            line.push(ch);
        }
        println!("{line}");
    }
    if args.get(3).is_some() {
        for r in (cr - 14)..(cr + 15) {
            let mut line = String::new();
            for col in (cc - 14)..(cc + 15) {
                let (Ok(ru), Ok(cu)) = (usize::try_from(r), usize::try_from(col)) else {
                    continue;
                };
                let v = img.get([ru, cu]).copied().unwrap_or(0.0);
                line.push_str(&format!("{:4.0}", 100.0 * v / an.canal.csf_reference));
            }
            println!("{line}");
        }
    }
}
