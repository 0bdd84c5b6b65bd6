#!/usr/bin/env bash
# Spinal MRI (and, when present, CT myelography) evaluation on phantom studies with seeds not
# used in development, written as DICOM and read back through csfleak-dicom.
# Usage: scripts/eval-spine.sh [ROUNDS] [SEED]   (each MRI round = 8 studies)
# Prints a per-case table and the summary against the targets of issue 5, plus the wall time
# of the analysis of a full-spine axial T2.
set -euo pipefail
cd "$(dirname "$0")/.."
export SPINE_EVAL_ROUNDS="${1:-1}"
export SPINE_EVAL_SEED="${2:-9101}"
cargo test --release -p csfleak-pipeline --test spine_eval -- --nocapture --include-ignored --test-threads 1
if [ -f crates/csfleak-pipeline/tests/ctm_eval.rs ]; then
  cargo test --release -p csfleak-pipeline --test ctm_eval -- --nocapture --include-ignored --test-threads 1
fi
