#!/usr/bin/env bash
# Evaluate the automatic brain method on phantom brains with new seeds and several sag values
# (written as DICOM, scanned, loaded, analysed) and print the table.
# Usage: scripts/eval-brain.sh   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release -p csfleak-pipeline --test brain_eval -- --nocapture --test-threads 1
