//! `csfleak convert` end to end.
