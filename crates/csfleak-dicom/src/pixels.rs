//! Pixel decoding by hand from the decoded bytes (being written).
//!
//! Contract: `decode_pixels(&file)` returns every frame as `f32` after the Modality LUT (rescale
//! slope/intercept, per-frame functional groups for enhanced objects, Modality LUT Sequence),
//! masked to Bits Stored and sign-extended by Pixel Representation. No VOI/window.

use std::path::Path;

use crate::{DicomFile, Error, Result};

/// Decoded pixel values of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedPixels {
    /// Number of frames.
    pub frames: usize,
    /// Rows per frame.
    pub rows: usize,
    /// Columns per frame.
    pub cols: usize,
    /// Samples per pixel (1 grey, 3 colour).
    pub samples: usize,
    /// Values in order `[frame][row][col][sample]`, after the Modality LUT.
    pub values: Vec<f32>,
}

/// Decode every frame of an opened file.
pub fn decode_pixels(file: &DicomFile, path: &Path) -> Result<DecodedPixels> {
    let _ = file;
    Err(Error::Unsupported {
        what: "operation",
        detail: "decode_pixels is being written".into(),
        path: path.to_path_buf(),
    })
}

/// Open and decode one file.
pub fn decode_file(path: &Path) -> Result<DecodedPixels> {
    let file = crate::open_full(path)?;
    decode_pixels(&file, path)
}
