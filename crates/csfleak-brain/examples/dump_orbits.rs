//! Developer aid: render the phantom's coronal fat-saturated T2 of the orbits and write one
//! slice as PNG (`cargo run --release -p csfleak-brain --example dump_orbits -- K OUT.png`).
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::print_stdout,
    reason = "developer aid, not shipped"
)]

use csfleak_phantom::brain::{BrainOptions, BrainPhantom, GridPreset};
use csfleak_volume::VoxelIdx;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let k: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let out = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "/tmp/orb.png".to_owned());
    let grid = if args.get(3).is_some_and(|s| s == "small") {
        GridPreset::Small
    } else {
        GridPreset::Full
    };
    let ph =
        BrainPhantom::new(&BrainOptions::default().with_onsd(4.2, 5.8).with_grid(grid)).unwrap();
    let v = ph.orbits_t2fs(Some(3)).unwrap();
    let [ni, nj, nk] = v.dims();
    let mut img = image::GrayImage::new(ni as u32, nj as u32);
    for j in 0..nj {
        for i in 0..ni {
            let x = v.get(VoxelIdx::new(i, j, k)).unwrap();
            img.put_pixel(
                i as u32,
                j as u32,
                image::Luma([(x / 1000.0 * 255.0).clamp(0.0, 255.0) as u8]),
            );
        }
    }
    img.save(&out).unwrap();
    let vfw = v.geometry().voxel_from_world();
    for key in [
        "globe_posterior_right",
        "globe_posterior_left",
        "onsd_point_right",
        "onsd_point_left",
    ] {
        let p = ph.truth.landmarks[key];
        let c = vfw.transform_point3(csfleak_volume::DVec3::from_array(p));
        println!("{key:24} ijk {:.1} {:.1} {:.1}", c.x, c.y, c.z);
    }
    println!(
        "dims {ni} {nj} {nk} spacing {:?}",
        v.geometry().spacing_mm()
    );
    let t = std::time::Instant::now();
    let sides = csfleak_brain::orbit::measure_onsd(&v);
    println!("{:?}\ntruth right 4.0 left 6.0; {:?}", sides, t.elapsed());
}
