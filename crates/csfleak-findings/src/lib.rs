//! csfleak-findings (being written)
