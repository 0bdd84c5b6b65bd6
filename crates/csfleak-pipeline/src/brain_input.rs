//! Adapter: loaded DICOM series -> `csfleak-brain` inputs (being written).
