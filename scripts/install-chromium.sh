#!/usr/bin/env bash
# Install headless Chromium (Debian package `chromium`) for the report.html rendering test
# (tests/cli/analyze.rs). Idempotent: does nothing when a chromium binary is already on PATH.
#
#   bash scripts/install-chromium.sh
set -euo pipefail

for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null 2>&1; then
    echo "chromium present: $(command -v "$b") ($("$b" --version 2>/dev/null || echo '?'))"
    exit 0
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: not root and no sudo; install the Debian package 'chromium' yourself" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# fonts-noto-cjk: the report's Japanese labels render as glyphs rather than boxes.
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
echo "chromium installed: $(command -v chromium) ($(chromium --version 2>/dev/null || echo '?'))"
