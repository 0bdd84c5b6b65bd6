//! Developer aid: time the optic nerve sheath measurement alone on the full-size phantom's
//! coronal fat-saturated T2 and print every field of the result, so a speed change can be checked
//! for identical output (`cargo run --release -p csfleak-brain --example time_orbits -- [ROUNDS]`;
//! `RAYON_NUM_THREADS=1` for CPU time).

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "developer aid, not shipped"
)]
use std::time::Instant;

use csfleak_phantom::brain::{BrainOptions, BrainPhantom};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    for seed in [3_u64, 7] {
        let ph = BrainPhantom::new(&BrainOptions::default().with_sag(3.0)).unwrap();
        let orb = ph.orbits_t2fs(Some(seed)).unwrap();
        let mut best = f64::INFINITY;
        let mut sides = None;
        for _ in 0..rounds {
            let t = Instant::now();
            sides = Some(csfleak_brain::orbit::measure_onsd(&orb));
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "seed {seed} dims {:?}: best of {rounds} {best:.3} s",
            orb.dims()
        );
        println!("{}", serde_json::to_string(&sides).unwrap());
    }
}
