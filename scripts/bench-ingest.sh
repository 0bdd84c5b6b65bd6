#!/usr/bin/env bash
# Ingest benchmark (issue 2): csfleak convert vs dcm2niix vs cat on a generated ~250 MB study.
#
#   bash scripts/bench-ingest.sh [ROUNDS]      # default 5 rounds
#
# Generates once (cached in .cache/bench/study; delete it to regenerate) a flat folder with
# shuffled file names: a 400-slice 512x512 int16 CT, sagittal and axial spinal MR, a 176-slice
# brain MR and NM whole-body multi-frame files (scripts/bench/gen_series.py, fixed seed). Then
# measures, alternating the tools within each round, the median wall time and peak RSS of
# `csfleak convert --no-compress` (release build), `csfleak convert` (gzip), `dcm2niix -z n`,
# `dcm2niix -z y -1` (gzip at csfleak's level 1; pigz when installed, else its internal miniz),
# `csfleak inspect --decode` (when that flag exists) and `cat` of all files, and prints the
# ratios against the targets: convert/dcm2niix wall <= 0.5, inspect-decode/cat wall <= 2,
# convert/dcm2niix peak RSS <= 1.2, plus the gzip-vs-gzip ratio (no target) and the ratios of
# every round (their spread). Numbers are printed as measured, targets met or not.
#
# Needs: dcm2niix and .cache/venv (scripts/setup-test-deps.sh); /usr/bin/time (Debian `time`,
# installed here when missing and possible; otherwise getrusage is used).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=${1:-5}
bench="$root/.cache/bench"
data="$bench/study"
py="$root/.cache/venv/bin/python"

if ! command -v dcm2niix >/dev/null || [ ! -x "$py" ]; then
  echo "bench: dcm2niix or .cache/venv missing; running scripts/setup-test-deps.sh"
  bash scripts/setup-test-deps.sh
fi
if [ ! -x /usr/bin/time ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends time >/dev/null 2>&1; then
    echo "bench: installed /usr/bin/time"
  else
    echo "bench: /usr/bin/time unavailable; peak RSS via getrusage"
  fi
fi

if [ ! -f "$data/.complete" ]; then
  echo "bench: generating the study folder in $data (once)"
  rm -rf "$data"
  "$py" scripts/bench/gen_series.py bench "$data"
  touch "$data/.complete"
fi

echo "bench: building csfleak (release)"
cargo build --release -q -p csfleak
bin="$root/target/release/csfleak"

extra=()
if "$bin" inspect --help 2>/dev/null | grep -q -- '--decode'; then
  extra+=(--inspect-decode)
else
  echo "bench: \`csfleak inspect --decode\` does not exist yet; the ingest/cat row uses convert"
fi

echo "bench: $(nproc) CPUs, $(free -m | awk '/Mem:/{print $2}') MiB RAM, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$py" scripts/bench/run_bench.py "$data" "$bench/out" "$rounds" "$bin" "${extra[@]}"
echo "bench: load average at the end $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine inflates every tool's time)"
