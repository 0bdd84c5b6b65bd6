//! Development aid: CT myelography analysis of raw volumes, one line per study and one per site.
//!
//! `cargo run --release -p csfleak-spine --example ctm_dump -- DIR...`: each DIR holds
//! `ct.txt` (dims i j k, then the 12 columns of `world_from_voxel`: the i, j and k axes and the
//! origin, LPS mm), `ct.f32` (little-endian HU, slice-major) and optionally `ctx.txt` (line 1:
//! documented puncture levels, comma-separated; line 2: the catheter entry level). Any DICOM
//! reader can write them; the analysis sees only the volume and the context, as in the pipeline.
//! With `CTM_DUMP_PPM=DIR`, every axial key-slice overlay is written as `DIR/<study>_<name>.ppm`
//! (grey image, sac outline in the mask colours, cropped 70 mm around the image centre of the
//! masks, 3x). With `CTM_DUMP_FULL=1` the whole findings section, the veins and the catheter
//! are printed (Debug) to compare two builds; `CTM_DUMP_REPEAT=N` runs the analysis N times
//! (profiling).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "developer aid: a malformed dump is a usage error; prints its table"
)]

use std::path::Path;

use csfleak_spine::ctm::{CtmOptions, analyze_ctm};

#[path = "common/raw.rs"]
mod raw;

fn main() {
    for dir in std::env::args().skip(1) {
        let dir = Path::new(&dir);
        let v = raw::load_raw(dir, "ct").unwrap_or_else(|| panic!("{}: no ct.txt", dir.display()));
        let mut opts = CtmOptions::default();
        if let Ok(ctx) = std::fs::read_to_string(dir.join("ctx.txt")) {
            let mut lines = ctx.lines();
            opts.puncture_levels = lines
                .next()
                .unwrap_or("")
                .split(',')
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            opts.catheter_entry_level = lines.next().and_then(|l| l.trim().parse().ok());
        }
        let repeat: usize = std::env::var("CTM_DUMP_REPEAT")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let t = std::time::Instant::now();
        let cpu0 = process_cpu_s();
        let mut r = analyze_ctm(&v, &opts).unwrap();
        for _ in 1..repeat {
            r = analyze_ctm(&v, &opts).unwrap();
        }
        let cpu = process_cpu_s().zip(cpu0).map_or(f64::NAN, |(b, a)| b - a);
        println!(
            "{:<28} {:<20} ith {:>5.0} levels {:?} {:.2}s (cpu {cpu:.2}s)",
            dir.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            r.class.as_str(),
            r.intrathecal_median_hu.unwrap_or(f64::NAN),
            r.levels.status(),
            t.elapsed().as_secs_f64()
        );
        if std::env::var_os("CTM_DUMP_FULL").is_some() {
            println!("    findings {:?}", r.to_findings(None));
            println!("    veins {:?}", r.veins);
            println!("    catheter {:?}", r.catheter);
            for o in &r.overlays {
                let on: usize = o
                    .masks
                    .iter()
                    .map(|m| m.mask.iter().filter(|&&x| x).count())
                    .sum();
                println!("    overlay {} mask pixels {on}", o.name);
            }
        }
        if let Ok(out) = std::env::var("CTM_DUMP_PPM") {
            let study = dir.file_name().unwrap().to_string_lossy().into_owned();
            for o in r.overlays.iter().filter(|o| o.name.ends_with("_axial")) {
                write_ppm(o, &format!("{out}/{study}_{}.ppm", o.name));
            }
        }
        for s in &r.sites {
            println!(
                "    site {} {:?} {:?} punct {:?} cath {:?} vol {:.0} z {:.0}..{:.0} max {:.0} mean {:.0} gap {:.1} key {}",
                s.level.map_or_else(|| "-".to_owned(), |l| l.to_string()),
                s.side,
                s.connection,
                s.at_puncture_site,
                s.at_catheter_entry,
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

/// User + system CPU time of this process so far, s (Linux `/proc/self/stat`, 100 ticks/s).
fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The overlay's image with its masks (fill: colour; outline mask: colour where the mask
/// borders outside), cropped around the masks' centre, 3x upscaled.
fn write_ppm(o: &csfleak_volume::overlay::Overlay, path: &str) {
    use std::io::Write as _;
    let (nr, nc) = o.base.dim();
    let (mut sr, mut sc, mut n) = (0.0, 0.0, 0.0);
    for m in &o.masks {
        for ((r, c), &on) in m.mask.indexed_iter() {
            if on {
                sr += r as f64;
                sc += c as f64;
                n += 1.0;
            }
        }
    }
    let (cr, cc) = if n > 0.0 {
        (sr / n, sc / n)
    } else {
        (nr as f64 / 2.0, nc as f64 / 2.0)
    };
    let half = (35.0 / o.pixel_spacing_mm.map_or(1.0, |p| p[0])) as usize;
    let r0 = (cr as usize).saturating_sub(half);
    let c0 = (cc as usize).saturating_sub(half);
    let r1 = (r0 + 2 * half).min(nr);
    let c1 = (c0 + 2 * half).min(nc);
    let (h, w) = ((r1 - r0) * 3, (c1 - c0) * 3);
    let mut buf = vec![0u8; h * w * 3];
    for r in r0..r1 {
        for c in c0..c1 {
            let v = ((o.base[[r, c]] - o.window.0) / (o.window.1 - o.window.0) * 255.0)
                .clamp(0.0, 255.0) as u8;
            let mut px = [v, v, v];
            for m in &o.masks {
                let on = m.mask[[r, c]];
                let edge = on
                    && (r == 0
                        || c == 0
                        || r + 1 == nr
                        || c + 1 == nc
                        || !m.mask[[r - 1, c]]
                        || !m.mask[[r + 1, c]]
                        || !m.mask[[r, c - 1]]
                        || !m.mask[[r, c + 1]]);
                if (m.outline_only && edge) || (!m.outline_only && on) {
                    let k = if m.outline_only { 1.0 } else { 0.55 };
                    px = [0, 1, 2]
                        .map(|i| (f32::from(px[i]) * (1.0 - k) + f32::from(m.color[i]) * k) as u8);
                }
            }
            for dy in 0..3 {
                for dx in 0..3 {
                    let at = (((r - r0) * 3 + dy) * w + (c - c0) * 3 + dx) * 3;
                    buf[at..at + 3].copy_from_slice(&px);
                }
            }
        }
    }
    let mut f = std::fs::File::create(path).unwrap();
    write!(f, "P6\n{w} {h}\n255\n").unwrap();
    f.write_all(&buf).unwrap();
}
