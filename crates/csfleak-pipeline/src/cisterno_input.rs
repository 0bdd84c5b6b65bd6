//! Adapter: loaded DICOM series -> `csfleak-cisterno` inputs (being written).
