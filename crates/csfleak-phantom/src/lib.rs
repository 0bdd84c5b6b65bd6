//! csfleak-phantom (being written)
