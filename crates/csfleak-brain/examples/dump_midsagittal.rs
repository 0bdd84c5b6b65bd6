//! Developer aid: render a phantom brain, find the midsagittal plane and write the reformat as
//! PNG, plus a 4x crop of the skull base with the truth landmarks marked
//! (`cargo run --release -p csfleak-brain --example dump_midsagittal -- SAG OUT.png`).

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::print_stdout,
    clippy::format_push_string,
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
    let mut o = BrainOptions::default().with_sag(sag);
    if args.get(3).is_some_and(|g| g == "small") {
        o = o.with_grid(csfleak_phantom::brain::GridPreset::Small);
    }
    let ph = BrainPhantom::new(&o).expect("phantom");
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
    // 4x crop rows 60..180, cols 70..200 with truth landmarks in red (DUMP_CROP="r0,c0,h,w,zoom"
    // chooses another).
    let crop_env: Vec<usize> = std::env::var("DUMP_CROP")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    let (r0, c0, h, w, z) = match crop_env[..] {
        [a, b, c, d, e] => (a, b, c, d, e),
        _ => (60_usize, 70_usize, 120_usize, 130_usize, 4_usize),
    };
    let mut crop = image::RgbImage::new((w * z) as u32, (h * z) as u32);
    for y in 0..h * z {
        for x in 0..w * z {
            let v = rf
                .image
                .get((r0 + y / z, c0 + x / z))
                .copied()
                .unwrap_or(0.0);
            let g = (v / 1100.0 * 255.0).clamp(0.0, 255.0) as u8;
            crop.put_pixel(x as u32, y as u32, image::Rgb([g, g, g]));
        }
    }
    for (k, p) in &ph.truth.landmarks {
        let px = rf.pixel_of(csfleak_volume::DVec3::from_array(*p));
        println!("{k:24} row {:7.1} col {:7.1}", px[0], px[1]);
        let (y, x) = (
            ((px[0] - r0 as f64 + 0.5) * z as f64) as i64,
            ((px[1] - c0 as f64 + 0.5) * z as f64) as i64,
        );
        for d in -3..=3_i64 {
            for (yy, xx) in [(y + d, x), (y, x + d)] {
                if yy >= 0 && xx >= 0 && (yy as usize) < h * z && (xx as usize) < w * z {
                    crop.put_pixel(xx as u32, yy as u32, image::Rgb([255, 0, 0]));
                }
            }
        }
    }
    // Automatic landmarks in green.
    let auto = csfleak_brain::auto::detect_landmarks(
        &t1,
        &plane,
        &csfleak_brain::auto::AutoOptions::default(),
    )
    .expect("auto");
    for (k, d) in &auto.landmarks {
        let Some(p) = d.position() else { continue };
        let px = rf.pixel_of(p.to_dvec3());
        println!("auto {k:19} row {:7.1} col {:7.1}", px[0], px[1]);
        let (y, x) = (
            ((px[0] - r0 as f64 + 0.5) * z as f64) as i64,
            ((px[1] - c0 as f64 + 0.5) * z as f64) as i64,
        );
        for d in -3..=3_i64 {
            for (yy, xx) in [(y + d, x), (y, x + d)] {
                if yy >= 0 && xx >= 0 && (yy as usize) < h * z && (xx as usize) < w * z {
                    crop.put_pixel(xx as u32, yy as u32, image::Rgb([0, 255, 0]));
                }
            }
        }
    }
    if let Some(c) = ph.truth.landmarks.get("clivus_prepontine") {
        let mut line = String::new();
        for d in -20..=12 {
            let p = csfleak_volume::PointLps([c[0], c[1] + f64::from(d) * 0.5, c[2]]);
            let t = ph.tissue_at(p);
            let v = t1.sample(p).unwrap_or(f32::NAN);
            line.push_str(&format!("{:+.1}:{t:?}:{v:.0} ", f64::from(d) * 0.5));
        }
        println!("clivus row: {line}");
    }
    crop.save(out.replace(".png", "-crop.png")).expect("save");
    println!(
        "normal {:?} truth {:?} symmetry {}",
        plane.normal, ph.truth.midsagittal_normal, plane.symmetry
    );
}
