//! Opening DICOM files robustly (being written by the pixel/decoding work).
//!
//! Contract: `open_header(path)` reads up to (not including) Pixel Data; `open_full(path)` reads
//! everything. Both handle files without a File Meta group, standard tags stored with VR UN
//! (re-read as their dictionary VR), and return a clear [`Error`] naming the file otherwise.

use std::path::Path;

use crate::{Error, Result};

/// An opened DICOM file (File Meta group synthesised when the file had none).
pub type DicomFile = dicom_object::DefaultDicomObject;

/// Open a file's header: every attribute before Pixel Data.
pub fn open_header(path: &Path) -> Result<DicomFile> {
    Err(Error::Unsupported {
        what: "operation",
        detail: "open_header is being written".into(),
        path: path.to_path_buf(),
    })
}

/// Open a whole file, pixel data included.
pub fn open_full(path: &Path) -> Result<DicomFile> {
    Err(Error::Unsupported {
        what: "operation",
        detail: "open_full is being written".into(),
        path: path.to_path_buf(),
    })
}
