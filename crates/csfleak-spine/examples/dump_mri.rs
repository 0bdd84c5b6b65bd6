//! Developer aid: per-slice canal and lesion dump of a phantom axial T2 stack, with an ASCII
//! picture of one slice. `cargo run -p csfleak-spine --example dump_mri -- CASE [SLICE]`.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::format_push_string,
    missing_docs,
    reason = "developer aid"
)]

use csfleak_phantom::spine::{
    CollectionSpec, MrContrast, Position, SpineModel, SpineOptions as Model, axial_grid, render_mr,
};
use csfleak_spine::SpineOptions;
use csfleak_spine::mri::analyze_mri;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args.get(1).map_or("dorsal", String::as_str);
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
    let an = analyze_mri(&t2, None, &SpineOptions::default()).unwrap();
    println!(
        "csf ref {} truth volume {:.2} mL canal confidence {:.2} intraspinal CSF {:.1} mL over {:.0} mm",
        an.canal.csf_reference,
        csfleak_phantom::spine::collection_volume_ml(&model),
        an.canal.confidence,
        an.intraspinal_csf_ml,
        an.covered_mm
    );
    for s in &an.canal.slices {
        println!(
            "k {:3} found {} z {:7.1} area {:6.1} csf {:6.1} bridge {}",
            s.k,
            s.found,
            s.centre.0[2],
            s.sac_area_mm2,
            s.csf_area_mm2,
            s.bridge.len()
        );
    }
    for l in &an.collections {
        println!(
            "{:?} {:?} t {:.1} v {:.2} {:?} cont {:?} water {:.2}",
            l.k_range,
            l.z_range_mm,
            l.max_thickness_mm,
            l.volume_ml,
            l.position,
            l.continuity_slice,
            l.water_ratio
        );
    }
    let k: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(t2.dims()[2] / 2);
    let img = t2.data().index_axis(ndarray::Axis(0), k).to_owned();
    let sl = &an.canal.slices[k];
    let c = t2
        .geometry()
        .voxel_from_world()
        .transform_point3(sl.centre.to_dvec3());
    let (cr, cc) = (c.y.round() as i64, c.x.round() as i64);
    for r in (cr - 20)..(cr + 20) {
        let mut line = String::new();
        for col in (cc - 30)..(cc + 30) {
            let (Ok(ru), Ok(cu)) = (usize::try_from(r), usize::try_from(col)) else {
                continue;
            };
            let Some(&v) = img.get([ru, cu]) else {
                continue;
            };
            let f = v / an.canal.csf_reference;
            let ch = if sl.sac.get([ru, cu]).copied().unwrap_or(false) {
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
    for r in (cr - 12)..(cr + 2) {
        let mut line = String::new();
        for col in (cc - 6)..(cc + 7) {
            let v = img
                .get([usize::try_from(r).unwrap(), usize::try_from(col).unwrap()])
                .copied()
                .unwrap_or(0.0);
            line.push_str(&format!("{:4.0}", 100.0 * v / an.canal.csf_reference));
        }
        println!("{line}");
    }
}
