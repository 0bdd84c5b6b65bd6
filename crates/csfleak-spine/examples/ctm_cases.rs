//! Development aid: CT myelography phantom cases rendered in memory at several intrathecal
//! densities, with the class and sites the analysis reports (the truth is the case name).
//!
//! `cargo run --release -p csfleak-spine --example ctm_cases -- [SEED] [HU,HU,..]`
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a development example: a phantom that cannot be built is a bug; prints its table"
)]

use csfleak_phantom::spine::{
    CtLeakSpec, PunctureSpec, Side as PSide, SpineModel, SpineOptions as Model, axial_grid,
    render_ct,
};
use csfleak_spine::ctm::{CtmOptions, analyze_ctm};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seed: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(9100);
    let hus: Vec<f64> = args.get(2).map_or_else(
        || vec![250.0, 450.0, 650.0, 900.0],
        |s| s.split(',').filter_map(|x| x.parse().ok()).collect(),
    );
    for &ith in &hus {
        let leak_hu = 0.6 * ith;
        let p = |leak: bool| {
            let mut o = Model::default();
            o.puncture = Some(PunctureSpec::new("L3/4", leak, leak_hu));
            o
        };
        let mut cases: Vec<(&str, Model, &str, &str)> = vec![
            ("normal", p(false), "T10", "S1"),
            ("puncture_only", p(true), "L1", "S1"),
        ];
        let mut o = p(false);
        o.ct_leaks
            .push(CtLeakSpec::new("T12", PSide::Left, true, leak_hu));
        cases.push(("continuous_sleeve_L", o, "T10", "S1"));
        let mut o = p(false);
        o.ct_leaks
            .push(CtLeakSpec::new("T12", PSide::Right, false, leak_hu));
        cases.push(("non_continuous_R", o, "T10", "S1"));
        for (name, model, top, bottom) in cases {
            let m = SpineModel::new(model).unwrap();
            let a = &m.levels()[m.level_index(top).unwrap()];
            let b = &m.levels()[m.level_index(bottom).unwrap()];
            let g = axial_grid(
                &m,
                (b.body_bottom_z_mm, a.body_top_z_mm),
                [160, 160],
                1.0,
                2.5,
                false,
            )
            .unwrap();
            let v = render_ct(&m, ith, &g, 2, 12.0, seed, "ctm-example").unwrap();
            let mut opts = CtmOptions::default();
            opts.puncture_levels = vec!["L3/4".parse().unwrap()];
            if let Ok(d) = std::env::var("CTM_DUMP") {
                dump(&v, &format!("{d}/{name}_{ith}.pgm"), ith);
            }
            let t = std::time::Instant::now();
            let r = analyze_ctm(&v, &opts).unwrap();
            println!(
                "{ith:>4} {name:<22} -> {:<20} ith {:>5.0} {:.2}s",
                r.class.as_str(),
                r.intrathecal_median_hu.unwrap_or(f64::NAN),
                t.elapsed().as_secs_f64()
            );
            for s in &r.sites {
                println!(
                    "       site {:?} {:?} {:?} vol {:.0} z {:.0}..{:.0} max {:.0} mean {:.0} gap {:.1} key {}",
                    s.level.map(|l| l.to_string()),
                    s.side,
                    s.connection,
                    s.volume_mm3,
                    s.z_range_mm.0,
                    s.z_range_mm.1,
                    s.max_hu,
                    s.mean_hu,
                    s.sac_distance_mm,
                    s.key_slice
                );
            }
        }
    }
}

/// Writes every slice (window 0..1.2 x intrathecal HU) side by side as one PGM strip of rows.
fn dump(v: &csfleak_volume::Volume, path: &str, ith: f64) {
    use std::io::Write as _;
    let d = v.data();
    let (nk, nr, nc) = d.dim();
    let per_row = 16;
    let rows = nk.div_ceil(per_row);
    let (w, h) = (nc * per_row, nr * rows);
    let mut buf = vec![0u8; w * h];
    for k in 0..nk {
        let (ox, oy) = ((k % per_row) * nc, (k / per_row) * nr);
        for r in 0..nr {
            for c in 0..nc {
                let x = (f64::from(d[[k, r, c]]) / (1.2 * ith) * 255.0).clamp(0.0, 255.0);
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "clamped"
                )]
                let b = x as u8;
                buf[(oy + r) * w + ox + c] = b;
            }
        }
    }
    let mut f = std::fs::File::create(path).unwrap();
    write!(f, "P5\n{w} {h}\n255\n").unwrap();
    f.write_all(&buf).unwrap();
}
