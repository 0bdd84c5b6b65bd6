//! csfleak-criteria (being written)
