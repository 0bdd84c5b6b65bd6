//! csfleak-brain (being written; see docs/STATUS.md).
