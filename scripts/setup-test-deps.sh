#!/usr/bin/env bash
# Installs what the test suite needs beyond cargo, idempotently:
#   - Debian: dcm2niix (geometry reference), dicom3tools (dciodvfy), dcmtk
#   - PyPI into .cache/venv: pydicom, pydicom-data (the conformance corpus), numpy, nibabel
# Safe to run repeatedly; each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache="$root/.cache"
mkdir -p "$cache"

apt_pkgs=(dcm2niix dicom3tools dcmtk)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv="$cache/venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating Python venv in .cache/venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import pydicom, data_store, numpy, nibabel" 2>/dev/null; then
  echo "setup: installing pydicom, pydicom-data, numpy, nibabel"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "pydicom==3.0.2" "pydicom-data==1.0.0" "numpy>=2,<3" "nibabel>=5,<6"
fi
echo "setup: ok"
