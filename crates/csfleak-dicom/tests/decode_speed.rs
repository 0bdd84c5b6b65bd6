//! Decode throughput, for profiling by hand (ignored by default):
//!
//! ```sh
//! CSFLEAK_SPEED_FILES="a.dcm b.dcm" cargo test --release -p csfleak-dicom --test decode_speed \
//!     -- --ignored --nocapture
//! ```
//!
//! Without `CSFLEAK_SPEED_FILES` it times a few uncompressed files of the conformance corpus
//! (`scripts/fetch-testdata.sh`). Prints, per file, the median of 15 runs of `open_header`,
//! `open_full` and `open_full` + `decode_pixels`, and the reading speed of the last in MB/s.

#![allow(clippy::print_stdout, reason = "a timing report")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use csfleak_dicom::{decode_pixels, open_full, open_header};

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

#[test]
#[ignore = "timing, run by hand with --release"]
fn decode_speed() {
    let files: Vec<PathBuf> = if let Ok(list) = std::env::var("CSFLEAK_SPEED_FILES") {
        list.split_whitespace().map(PathBuf::from).collect()
    } else {
        let base = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../.cache/testdata/files/pydicom-data");
        [
            "693_UNCR.dcm",
            "MR2_UNCR.dcm",
            "RG1_UNCR.dcm",
            "emri_small.dcm",
        ]
        .iter()
        .map(|n| base.join(n))
        .collect()
    };
    for path in files.iter().filter(|p| p.exists()) {
        let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        let header = time(15, || {
            open_header(path).expect("header");
        });
        let full = time(15, || {
            open_full(path).expect("open");
        });
        let decode = time(15, || {
            let f = open_full(path).expect("open");
            decode_pixels(&f, path).expect("decode");
        });
        let mb_s = bytes as f64 / 1e6 / decode.as_secs_f64();
        println!(
            "{}: {bytes} bytes; header {header:?}, open_full {full:?}, open+decode {decode:?} \
             ({mb_s:.0} MB/s)",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        assert!(decode >= full / 2, "decode cannot be faster than reading");
    }
}
