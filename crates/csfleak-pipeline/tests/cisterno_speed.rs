//! Timing of the RI cisternography analysis alone (no decoding, no rendering) on a study
//! folder: `CISTERNO_SPEED_DIR=<study> cargo test --release -p csfleak-pipeline --test
//! cisterno_speed -- --nocapture` prints the median and minimum of `CISTERNO_SPEED_RUNS` runs
//! (default 20) on one thread and on the default pool. Without the variable the test only
//! checks that a phantom study is analysed the same way twice (the analysis is deterministic:
//! the parallel parts must not change a number).
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a failure here is a test failure; the timing run prints its figures"
)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use csfleak_cisterno::{CisternoOptions as Opts, analyze};
use csfleak_dicom::{load_series, scan};
use csfleak_phantom::cisterno::{CisternoOptions, write_study};
use csfleak_phantom::{ScenarioContext, Size};
use csfleak_pipeline::cisterno_input::cisterno_input;

fn input_of(dir: &Path) -> csfleak_cisterno::CisternoInput {
    let report = scan(dir).unwrap();
    let loaded: Vec<_> = report
        .series()
        .filter(|s| s.meta.nm.is_some())
        .filter_map(|s| load_series(s).ok())
        .collect();
    let refs: Vec<_> = loaded.iter().collect();
    cisterno_input(&refs).unwrap()
}

/// CPU time of the calling thread (s), from `/proc/thread-self/schedstat` (Linux; `None`
/// elsewhere): the machine is shared, wall time alone says little.
fn thread_cpu_s() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

fn summary(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0])
}

#[test]
fn cisterno_speed() {
    let (dir, _tmp) = if let Some(d) = std::env::var_os("CISTERNO_SPEED_DIR") {
        (PathBuf::from(d), None)
    } else {
        let tmp = tempfile::tempdir().unwrap();
        let mut ctx = ScenarioContext::new(5151, Size::Full, tmp.path().join("DICOM"));
        std::fs::create_dir_all(&ctx.dicom_dir).unwrap();
        write_study(&mut ctx, &CisternoOptions::default()).unwrap();
        (tmp.path().to_owned(), Some(tmp))
    };
    let input = input_of(&dir);
    let first = analyze(&input, &Opts::default())
        .unwrap()
        .to_findings(&input);
    let again = analyze(&input, &Opts::default())
        .unwrap()
        .to_findings(&input);
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
    if std::env::var_os("CISTERNO_SPEED_DIR").is_none() {
        return;
    }
    let runs: usize = std::env::var("CISTERNO_SPEED_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let time = |pool: &rayon::ThreadPool| {
        let t: Vec<(f64, f64)> = (0..runs)
            .map(|_| {
                pool.install(|| {
                    let (s, c) = (Instant::now(), thread_cpu_s());
                    let a = analyze(&input, &Opts::default()).unwrap();
                    let e = s.elapsed().as_secs_f64();
                    let cpu = thread_cpu_s().zip(c).map_or(f64::NAN, |(b, a)| b - a);
                    assert!(!a.hours.is_empty());
                    (e, cpu)
                })
            })
            .collect();
        let mut cpu: Vec<f64> = t.iter().map(|x| x.1).collect();
        let mut wall: Vec<f64> = t.iter().map(|x| x.0).collect();
        (summary(&mut wall), summary(&mut cpu))
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let all = rayon::ThreadPoolBuilder::new().build().unwrap();
    let ((m1, b1), (c1, cb1)) = time(&one);
    let ((ma, ba), _) = time(&all);
    println!(
        "cisterno analyze over {runs} runs: 1 thread wall median {m1:.4} s (min {b1:.4}), \
         thread CPU median {c1:.4} s (min {cb1:.4}); default pool wall median {ma:.4} s (min \
         {ba:.4})"
    );
}
