#!/usr/bin/env bash
# Dependency direction (architecture.md §3): fails when a crate depends on what it must not.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
forbid() {
  local krate=$1 pattern=$2
  cargo metadata --format-version 1 --no-deps >/dev/null 2>&1 || return 0
  if ! cargo tree -p "$krate" -e normal --prefix none >/dev/null 2>&1; then return 0; fi
  local hit
  # the first line is the crate itself
  hit=$(cargo tree -p "$krate" -e normal --prefix none | tail -n +2 | grep -Eo "^($pattern) " | sort -u | tr '\n' ' ' || true)
  if [ -n "$hit" ]; then echo "dependency direction: $krate must not depend on: $hit"; status=1; fi
}
forbid csfleak-findings 'ndarray|dicom-[a-z-]+|image|nifti|rayon|csfleak-[a-z]+'
forbid csfleak-criteria 'ndarray|dicom-[a-z-]+|image|nifti|rayon|glam|csfleak-(volume|dicom|spine|cisterno|brain|report|pipeline|phantom)'
forbid csfleak-volume 'dicom-[a-z-]+|nifti|image|csfleak-[a-z]+'
for m in csfleak-spine csfleak-cisterno csfleak-brain; do
  forbid "$m" 'dicom-[a-z-]+|csfleak-dicom|csfleak-phantom|csfleak-report|csfleak-pipeline|csfleak-criteria'
done
forbid csfleak-report 'dicom-[a-z-]+|csfleak-dicom|csfleak-criteria|csfleak-pipeline'
[ $status -eq 0 ] && echo "dependency direction: ok"
exit $status
