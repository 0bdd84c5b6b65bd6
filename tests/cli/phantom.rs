//! `csfleak phantom` end to end.
