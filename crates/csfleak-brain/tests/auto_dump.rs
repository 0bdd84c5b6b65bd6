//! Writes the midsagittal reformat of a phantom T1 as a PNG for visual inspection
//! (`cargo test -p csfleak-brain --test auto_dump -- --ignored`; `AUTO_DUMP_DIR` sets the
//! folder).
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "an inspection helper"
)]

use csfleak_brain::midsagittal::{find_plane, reformat};
use csfleak_phantom::brain::{BrainOptions, BrainPhantom};

mod common;

#[test]
#[ignore = "writes images for a person to look at; asserts only that they were written"]
fn dump_midsagittal() {
    let dir = std::env::var("AUTO_DUMP_DIR").unwrap_or_else(|_| "/tmp".to_owned());
    for sag in [0.0, 8.0] {
        let p = BrainPhantom::new(&BrainOptions::default().with_sag(sag)).unwrap();
        let v = p
            .sagittal_t1(csfleak_phantom::brain::Phase::Pre, Some(11))
            .unwrap();
        println!(
            "dims {:?} spacing {:?}",
            v.dims(),
            v.geometry().spacing_mm()
        );
        let plane = find_plane(&v).unwrap();
        let rf = reformat(&v, &plane).unwrap();
        let (h, w) = rf.image.dim();
        let hi = common::peak(&rf);
        let img = image::GrayImage::from_fn(
            u32::try_from(w).unwrap(),
            u32::try_from(h).unwrap(),
            |x, y| {
                let val = rf.image[[y as usize, x as usize]];
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "clamped"
                )]
                let g = if val.is_finite() {
                    (val / hi * 255.0).clamp(0.0, 255.0) as u8
                } else {
                    0
                };
                image::Luma([g])
            },
        );
        let path = format!("{dir}/midsag_{sag}.png");
        img.save(&path).unwrap();
        let crop = image::imageops::crop_imm(&img, 80, 60, 120, 110).to_image();
        let big = image::imageops::resize(&crop, 480, 440, image::imageops::FilterType::Nearest);
        big.save(format!("{dir}/midsag_crop_{sag}.png")).unwrap();
        for (k, t) in &p.truth.landmarks {
            let px = rf.pixel_of(csfleak_volume::DVec3::from_array(*t));
            println!("{k}: row {:.1} col {:.1}", px[0], px[1]);
        }
        assert!(std::path::Path::new(&path).exists());
    }
}
