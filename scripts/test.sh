#!/usr/bin/env bash
# Runs weft's default test suite: set-up (idempotent), then every crate's tests.
# Slow soak/fault tests are #[ignore]d here; ./scripts/soak.sh runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo test --workspace --locked "$@"
