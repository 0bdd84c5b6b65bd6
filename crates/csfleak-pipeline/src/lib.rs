//! One study: ingest -> measurements in parallel -> findings -> grades (being written; see
//! docs/STATUS.md).
//!
//! The adapters from loaded DICOM series to each measurement crate's own input types live in one
//! module per family, so measurement crates never see DICOM.

pub mod brain_input;
pub mod cisterno_input;
