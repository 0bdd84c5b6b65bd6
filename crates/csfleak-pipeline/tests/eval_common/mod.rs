//! Helpers shared by the spine evaluations (`spine_eval.rs`, `ctm_eval.rs`): the level names of
//! the phantom's spine and a seeded, deterministic choice of case parameters.

/// Vertebral levels from C1 to S1, in cranio-caudal order.
pub(crate) const LEVELS: [&str; 25] = [
    "C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9",
    "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1",
];

/// A deterministic pick in `0..n` from a seed and a salt (one LCG step over a mixed seed).
pub(crate) fn pick(seed: u64, salt: u64, n: usize) -> usize {
    let x = seed
        .wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    usize::try_from((x >> 33) % n as u64).unwrap_or(0)
}

/// A deterministic fraction in `[0, 1)` in steps of 0.001.
pub(crate) fn frac(seed: u64, salt: u64) -> f64 {
    pick(seed, salt, 1000) as f64 / 1000.0
}
