//! csfleak-report (being written)
