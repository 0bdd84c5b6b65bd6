//! csfleak-pipeline (being written; see docs/STATUS.md).
