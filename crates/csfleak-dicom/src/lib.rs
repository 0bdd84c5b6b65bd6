//! csfleak-dicom (being written)
