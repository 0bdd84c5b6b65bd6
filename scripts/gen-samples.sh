#!/usr/bin/env bash
# Regenerates data-samples/ with the phantom generator: small synthetic studies, each with
# truth.json and provenance.json. Deterministic: every run writes the same bytes, and CI checks
# `git diff --exit-code data-samples/` after running it (scripts/test.sh).
#
#   bash scripts/gen-samples.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

cargo build --release --locked --quiet --bin csfleak
bin=target/release/csfleak

# name | scenario | seed
samples=(
  "spine-mri-ventral-leak|spine-mri-ventral-leak|1"
  "spine-ctm-root-sleeve-leak|spine-ctm-root-sleeve-leak|2"
  "spine-ctm-puncture-leak|spine-ctm-puncture-leak|3"
  "ri-leak-unilateral|ri-leak-unilateral|4"
  "brain-sag-6|brain-sag-6|5"
)

mkdir -p data-samples
for entry in "${samples[@]}"; do
  IFS='|' read -r name scenario seed <<<"$entry"
  out="data-samples/$name"
  rm -rf "$out"
  "$bin" --quiet phantom --scenario "$scenario" --seed "$seed" --size small --out "$out"
done

{
  echo "# data-samples"
  echo
  echo "Small synthetic DICOM studies made by \`csfleak phantom\` (crate \`csfleak-phantom\`)."
  echo "No patient data: every study is computer-generated; the patient \`PHANTOM^<n>\` is synthetic."
  echo "Each folder holds \`DICOM/\` (file names are meaningless, as on a CD export), \`truth.json\`"
  echo "(the ground truth in the findings vocabulary) and \`provenance.json\` (generator, version,"
  echo "seed, command, license CC0-1.0)."
  echo
  echo "Regenerate with \`bash scripts/gen-samples.sh\`; the output is byte-identical on every run."
  echo
  echo "| folder | scenario | seed | files |"
  echo "|---|---|---|---|"
  for entry in "${samples[@]}"; do
    IFS='|' read -r name scenario seed <<<"$entry"
    n=$(find "data-samples/$name/DICOM" -type f | wc -l | tr -d ' ')
    echo "| \`$name\` | \`$scenario\` | $seed | $n |"
  done
} > data-samples/README.md
echo "gen-samples: wrote ${#samples[@]} studies in data-samples/"
