//! `csfleak inspect` end to end.
