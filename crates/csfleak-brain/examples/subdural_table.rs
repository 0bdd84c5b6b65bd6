//! Developer aid: the convexity measurement (pachymeningeal enhancement, subdural thickness per
//! side) on phantom brains over subdural thickness, grid and enhancement, against the truth
//! (`cargo run --release -p csfleak-brain --example subdural_table -- [small|full] [seed]`).

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "developer aid, not shipped"
)]

use csfleak_brain::convexity::{
    ConvexityOptions, enhancement_sign, measure_convexity, subdural_sign,
};
use csfleak_brain::midsagittal::find_plane;
use csfleak_phantom::brain::{BrainOptions, BrainPhantom, GridPreset, Phase};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let grid = match args.get(1).map(String::as_str) {
        Some("full") => GridPreset::Full,
        _ => GridPreset::Small,
    };
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(7);
    let o = ConvexityOptions::default();
    println!("grid {grid:?} seed {seed}");
    println!(
        "truth mm  pme rot | sign side      | R mm  L mm  err  | rays R/L | >=gap R/L | PME  dura width"
    );
    let mut worst: f64 = 0.0;
    for (i, (t, pme, rot)) in [
        (0.0, false, [0.0; 3]),
        (0.0, true, [4.0, -3.0, 5.0]),
        (2.0, false, [0.0; 3]),
        (3.0, true, [0.0; 3]),
        (4.0, false, [3.0, 0.0, 3.0]),
        (5.0, false, [0.0; 3]),
        (6.0, true, [-4.0, 2.0, -5.0]),
        (8.0, false, [2.0, 3.0, -2.0]),
    ]
    .into_iter()
    .enumerate()
    .filter(|(i, _)| std::env::var("ONLY").map_or(true, |v| v == i.to_string()))
    {
        let ph = BrainPhantom::new(
            &BrainOptions::default()
                .with_subdural_fluid(t)
                .with_pachymeningeal_enhancement(pme)
                .with_head_rotation(rot)
                .with_grid(grid),
        )
        .unwrap();
        let s = seed + 10 * i as u64;
        let pre = ph.sagittal_t1(Phase::Pre, Some(s)).unwrap();
        let post = ph.sagittal_t1(Phase::PostContrast, Some(s + 1)).unwrap();
        let plane = find_plane(&pre);
        let m = measure_convexity(&pre, &post, plane.as_ref(), &o).unwrap();
        let sd = subdural_sign(&m, &o);
        let e = enhancement_sign(&m, &o);
        let [r, l] = &m.subdural;
        let (rt, lt) = (
            r.thickness_mm.unwrap_or(f64::NAN),
            l.thickness_mm.unwrap_or(f64::NAN),
        );
        let err = if t > 0.0 {
            (rt - t).abs().max((lt - t).abs())
        } else {
            0.0
        };
        if t > 0.0 {
            worst = worst.max(err);
        }
        println!(
            "{t:>8.1} {pme:<5} {:<3} | {:<5} {:<9} | {rt:>5.2} {lt:>5.2} {err:>4.2} | {:>3}/{:<3} | {:>4.2}/{:<4.2} | {:?} {:.2}",
            if rot == [0.0; 3] { "no" } else { "yes" },
            sd.present.map_or("n/a", |p| if p { "yes" } else { "no" }),
            sd.side.unwrap_or_default(),
            r.rays,
            l.rays,
            r.fraction,
            l.fraction,
            e.present,
            m.dura_thickness_mm.unwrap_or(f64::NAN)
        );
    }
    println!("worst thickness error with fluid present: {worst:.2} mm");
}
