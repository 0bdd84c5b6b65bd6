//! `csfleak grade` end to end.
