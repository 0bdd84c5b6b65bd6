#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup of reference tools, formatting, lints, unit and
# integration tests (including the conformance corpus), doc tests, dependency direction,
# generated samples in sync, docs without warnings.
#
#   bash scripts/test.sh            # everything
#   SKIP_SETUP=1 bash scripts/test.sh   # do not install Debian/PyPI reference tools
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n==> %s\n' "$*"; }

if [ -z "${SKIP_SETUP:-}" ]; then
  step "setup: reference tools and test corpus"
  bash scripts/setup-test-deps.sh
  bash scripts/install-chromium.sh
  bash scripts/fetch-testdata.sh
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "dependency direction"
bash scripts/check-deps.sh

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi

if [ -x scripts/gen-samples.sh ]; then
  step "data-samples in sync with the generator"
  bash scripts/gen-samples.sh
  git diff --exit-code --stat -- data-samples/
fi

step "docs without warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "all checks passed"
