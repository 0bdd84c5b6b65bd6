//! Raw volume dumps shared by the developer examples: `NAME.txt` (dims i j k, then the 12
//! columns of `world_from_voxel`: the i, j and k axes and the origin, LPS mm) and `NAME.f32`
//! (little-endian values, slice-major), as the pipeline's `dump_study` writes them.

use std::path::Path;

use csfleak_volume::{DAffine3, Geometry, Volume};

/// The volume `NAME` in `dir`, or `None` when its header is absent; a malformed dump panics
/// (a usage error of a developer aid).
#[allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "developer aid: a malformed dump is a usage error"
)]
pub(crate) fn load_raw(dir: &Path, name: &str) -> Option<Volume> {
    let head = std::fs::read_to_string(dir.join(format!("{name}.txt"))).ok()?;
    let nums: Vec<f64> = head
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    let dims = [nums[0] as usize, nums[1] as usize, nums[2] as usize];
    let m: [f64; 12] = nums[3..15].try_into().unwrap();
    let bytes = std::fs::read(dir.join(format!("{name}.f32"))).unwrap();
    let data: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let g = Geometry {
        dims,
        world_from_voxel: DAffine3::from_cols_array(&m),
    };
    let a = ndarray::Array3::from_shape_vec((dims[2], dims[1], dims[0]), data).unwrap();
    Some(Volume::new(g, a).unwrap())
}
