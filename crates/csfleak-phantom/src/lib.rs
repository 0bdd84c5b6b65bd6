//! Synthetic DICOM studies with ground truth, for tests, samples and benchmarks (being written;
//! see docs/STATUS.md).

pub mod brain;
pub mod cisterno;
