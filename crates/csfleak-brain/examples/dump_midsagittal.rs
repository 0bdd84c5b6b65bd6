//! Developer aid: render a phantom brain, find the midsagittal plane and write the reformat as
//! PNG (`cargo run --release -p csfleak-brain --example dump_midsagittal -- SAG OUT.png`).

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::print_stdout,
    reason = "developer aid, not shipped"
)]
use csfleak_brain::midsagittal::{find_plane, reformat};
use csfleak_phantom::brain::{BrainOptions, BrainPhantom, Phase};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sag: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let out = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "/tmp/mid.png".to_owned());
    let ph = BrainPhantom::new(&BrainOptions::default().with_sag(sag)).expect("phantom");
    let t1 = ph.sagittal_t1(Phase::Pre, Some(7)).expect("render");
    let plane = find_plane(&t1).expect("plane");
    let rf = reformat(&t1, &plane).expect("reformat");
    let (rows, cols) = rf.image.dim();
    let mut img = image::GrayImage::new(u32::try_from(cols).unwrap(), u32::try_from(rows).unwrap());
    for ((r, c), v) in rf.image.indexed_iter() {
        let g = (v / 1100.0 * 255.0).clamp(0.0, 255.0) as u8;
        img.put_pixel(c as u32, r as u32, image::Luma([g]));
    }
    img.save(&out).expect("save");
    for (k, p) in &ph.truth.landmarks {
        let px = rf.pixel_of(csfleak_volume::DVec3::from_array(*p));
        println!("{k:24} row {:7.1} col {:7.1}", px[0], px[1]);
    }
    println!(
        "normal {:?} truth {:?} symmetry {}",
        plane.normal, ph.truth.midsagittal_normal, plane.symmetry
    );
}
