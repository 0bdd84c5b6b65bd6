#!/usr/bin/env bash
# RI cisternography evaluation on phantom studies with seeds not used in development.
# Usage: scripts/eval-cisterno.sh [ROUNDS] [SEED]   (each round = 9 studies, ~10 s in release)
# Prints per-study errors, the summary against issue 6 and the analysis time per study.
# Set CISTERNO_EVAL_STRICT=1 to fail when a target of issue 6 is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
export CISTERNO_EVAL_ROUNDS="${1:-3}"
export CISTERNO_EVAL_SEED="${2:-7001}"
exec cargo test --release -p csfleak-pipeline --test cisterno_eval -- --nocapture
