//! Landmark search on the midsagittal reformat.

use csfleak_volume::Volume;

use super::{AutoLandmarks, AutoOptions};
use crate::Result;
use crate::midsagittal::MidsagittalPlane;

pub(super) fn run(
    _t1: &Volume,
    _plane: &MidsagittalPlane,
    _opts: &AutoOptions,
) -> Result<AutoLandmarks> {
    Ok(AutoLandmarks::all_missing(
        "automatic landmark search not implemented yet",
    ))
}
