#!/usr/bin/env bash
# Runs weft's default test suite: set-up (idempotent), then every crate's tests.
# Slow soak/fault tests are opt-in (WEFT_SLOW_TESTS=1) and not part of this run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo test --workspace --locked "$@"
