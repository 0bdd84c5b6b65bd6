//! Study folders -> studies -> series -> [`Volume`](csfleak_volume::Volume) /
//! [`PlanarImage`](csfleak_volume::PlanarImage) with typed series metadata.
//!
//! This is the only crate of the workspace that reads DICOM tags. (Being written; see
//! docs/STATUS.md.)

mod error;
mod open;
mod pixels;

pub use error::{Error, Result};
pub use open::{DicomFile, open_full, open_header};
pub use pixels::{DecodedPixels, decode_file, decode_pixels};
