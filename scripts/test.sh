#!/usr/bin/env bash
# Runs weft's default test suite: set-up (idempotent), then every crate's tests.
# Soak tests run briefly here; ./scripts/soak.sh runs them long.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo test --workspace --locked "$@"
