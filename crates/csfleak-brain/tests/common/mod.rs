//! Pictures of the midsagittal reformat shared by the inspection tests: the peak used to scale
//! grey levels, a zoomed crop and the crosses that mark true and automatic points.
#![allow(
    dead_code,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "each test file uses part of these inspection helpers"
)]

use csfleak_brain::midsagittal::Reformat;
use csfleak_volume::DVec3;

/// Brightest finite value of the reformat (at least 1e-6, so it can divide).
pub(crate) fn peak(rf: &Reformat) -> f32 {
    rf.image
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .fold(0f32, f32::max)
        .max(1e-6)
}

/// A crop of the reformat, rows `r0..r1` and columns `c0..c1`, enlarged `z` times.
pub(crate) struct Zoom {
    /// First row of the crop.
    pub(crate) r0: usize,
    /// First column of the crop.
    pub(crate) c0: usize,
    /// Enlargement (screen pixels per reformat pixel).
    pub(crate) z: usize,
    /// The picture.
    pub(crate) img: image::RgbImage,
}

impl Zoom {
    /// Grey picture of the crop, levels 1..=250 scaled by `hi` (1 outside the volume).
    pub(crate) fn new(
        rf: &Reformat,
        hi: f32,
        (r0, c0): (usize, usize),
        (r1, c1): (usize, usize),
        z: usize,
    ) -> Self {
        let mut img = image::RgbImage::new(((c1 - c0) * z) as u32, ((r1 - r0) * z) as u32);
        for (x, y, px) in img.enumerate_pixels_mut() {
            let val = rf.image[[r0 + y as usize / z, c0 + x as usize / z]];
            let g = if val.is_finite() {
                (val / hi * 250.0).clamp(1.0, 250.0) as u8
            } else {
                1
            };
            *px = image::Rgb([g, g, g]);
        }
        Self { r0, c0, z, img }
    }

    /// A cross of `arm` screen pixels each way at the patient point `q`, clipped to the picture.
    pub(crate) fn cross(&mut self, rf: &Reformat, q: DVec3, col: [u8; 3], arm: i64) {
        let q = rf.pixel_of(q);
        let z = self.z as f64;
        let (y, x) = ((q[0] - self.r0 as f64) * z, (q[1] - self.c0 as f64) * z);
        for d in -arm..=arm {
            for (yy, xx) in [(y as i64 + d, x as i64), (y as i64, x as i64 + d)] {
                if let (Ok(yy), Ok(xx)) = (u32::try_from(yy), u32::try_from(xx)) {
                    if yy < self.img.height() && xx < self.img.width() {
                        self.img.put_pixel(xx, yy, image::Rgb(col));
                    }
                }
            }
        }
    }
}

/// A volume from a folder written by `csfleak convert --no-compress`: the first `.json`
/// sidecar with a `csfleak.nifti` block (dims, `sform_ras`, `int16` / `uint16` / `float32`)
/// and its `.nii` (data after the 352-byte header). The RAS sform is turned into LPS.
pub(crate) fn read_converted_nifti(dir: &std::path::Path) -> csfleak_volume::Volume {
    use csfleak_volume::{Geometry, PointLps, VecLps, Volume};
    let mut sidecars: Vec<_> = std::fs::read_dir(dir)
        .expect("folder readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    sidecars.sort();
    let (meta, path) = sidecars
        .iter()
        .find_map(|p| {
            let j: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
            let n = j["csfleak"]["nifti"].clone();
            n.is_object().then(|| (n, p.clone()))
        })
        .expect("a converted sidecar");
    let dims: [usize; 3] = serde_json::from_value(meta["dims"].clone()).expect("dims");
    let s: [[f64; 4]; 3] = serde_json::from_value(meta["sform_ras"].clone()).expect("sform");
    // RAS -> LPS: negate the first two rows.
    let col = |c: usize| DVec3::new(-s[0][c], -s[1][c], s[2][c]);
    let g = Geometry::from_steps(
        dims,
        PointLps::from_dvec3(col(3)),
        VecLps::from_dvec3(col(0)),
        VecLps::from_dvec3(col(1)),
        VecLps::from_dvec3(col(2)),
    )
    .expect("geometry");
    let file = path.with_file_name(meta["file"].as_str().expect("file name"));
    let bytes = std::fs::read(file).expect("nii readable");
    let data = &bytes[352..];
    let vox: Vec<f32> = match meta["data_type"].as_str() {
        Some("int16") => data
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])))
            .collect(),
        Some("uint16") => data
            .chunks_exact(2)
            .map(|b| f32::from(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        _ => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    };
    Volume::from_vec(g, vox).expect("voxel count")
}
