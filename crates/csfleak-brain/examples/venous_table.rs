//! Developer aid: the venous distension sign on the full-size phantom, normal and distended
//! sinuses with and without pachymeningeal enhancement, a few seeds
//! (`cargo run --release -p csfleak-brain --example venous_table -- [SEEDS]`).

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "developer aid, not shipped"
)]

use csfleak_brain::midsagittal::find_plane;
use csfleak_brain::venous::{VenousOptions, venous_distension};
use csfleak_phantom::brain::{BrainOptions, BrainPhantom, GridPreset, Phase};

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    println!("distended pachy seed | got   fill  area  side  lateral  reason");
    for distended in [false, true] {
        for pachy in [false, true] {
            for seed in 0..seeds {
                let ph = BrainPhantom::new(
                    &BrainOptions::default()
                        .with_venous_distension(distended)
                        .with_pachymeningeal_enhancement(pachy)
                        .with_grid(GridPreset::Full),
                )
                .unwrap();
                let pre = ph.sagittal_t1(Phase::Pre, Some(700 + seed)).unwrap();
                let post = ph
                    .sagittal_t1(Phase::PostContrast, Some(1700 + seed))
                    .unwrap();
                let plane = find_plane(&pre);
                let (sign, sec) =
                    venous_distension(&pre, &post, plane.as_ref(), &VenousOptions::default());
                println!(
                    "{distended:<9} {pachy:<5} {seed:>4} | {:<5} {:>5.2} {:>5.0} {:<5} {:>4.0}  {}",
                    sign.present
                        .map_or("n/a", |p| if p { "true" } else { "false" }),
                    sec.as_ref().map_or(f64::NAN, |s| s.fill),
                    sec.as_ref().map_or(f64::NAN, |s| s.area_mm2),
                    sec.as_ref().map_or("", |s| s.side),
                    sec.as_ref().map_or(f64::NAN, |s| s.lateral_mm),
                    sign.reason.unwrap_or_default(),
                );
            }
        }
    }
}
