//! csfleak-cisterno (being written; see docs/STATUS.md).
