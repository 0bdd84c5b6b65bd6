#!/usr/bin/env bash
# Conformance corpus: copies every DICOM test file shipped in the PyPI packages pydicom 3.0.2 and
# pydicom-data 1.0.0 (installed in .cache/venv by scripts/setup-test-deps.sh) into the git-ignored
# cache .cache/testdata/files, then writes pydicom's reference decoding of each file
# (.cache/testdata/ref/*.f32 + manifest.json) with scripts/conformance/make_reference.py.
# tests/conformance.rs compares csfleak's decoding with it.
#
# pydicom itself decodes compressed pixel data only through plugins; the pylibjpeg plugins
# (libjpeg: JPEG baseline/extended/lossless/JPEG-LS; openjpeg: JPEG 2000) are installed into the
# same venv, pinned, so that the reference covers compressed files too.
# Idempotent and fast on re-run: copies only changed files, regenerates only when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv="$root/.cache/venv"
py="$venv/bin/python"
if [ ! -x "$py" ]; then
  bash scripts/setup-test-deps.sh
fi
if ! "$py" -c "import pydicom, data_store, numpy" 2>/dev/null; then
  bash scripts/setup-test-deps.sh
fi
if ! "$py" -c "import pylibjpeg, libjpeg, openjpeg" 2>/dev/null; then
  echo "fetch-testdata: installing pylibjpeg decoders into .cache/venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "pylibjpeg==2.1.0" "pylibjpeg-libjpeg==2.5.0" "pylibjpeg-openjpeg==2.6.0"
fi

site=$("$py" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
out="$root/.cache/testdata"
mkdir -p "$out/files/pydicom" "$out/files/pydicom-data"

# every data file of the two packages except Python sources and caches
copy_tree() {
  local src=$1 dst=$2
  (cd "$src" && find . -type f ! -name '*.py' ! -name '*.pyc' ! -path '*/__pycache__/*' -print0) |
    while IFS= read -r -d '' f; do
      if [ ! -f "$dst/$f" ] || ! cmp -s "$src/$f" "$dst/$f"; then
        mkdir -p "$dst/$(dirname "$f")"
        cp "$src/$f" "$dst/$f"
      fi
    done
}
copy_tree "$site/pydicom/data" "$out/files/pydicom"
copy_tree "$site/data_store/data" "$out/files/pydicom-data"

"$py" scripts/conformance/make_reference.py "$out/files" "$out/ref"
