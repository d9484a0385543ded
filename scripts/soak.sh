#!/usr/bin/env bash
# Opt-in long soak runs: the soak tests that ./scripts/test.sh runs briefly
# (2 rounds), here with many rounds of failures under load.
#   WEFT_SOAK_ROUNDS  rounds of the orderer's leader-churn soak (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
WEFT_SOAK_ROUNDS="${WEFT_SOAK_ROUNDS:-20}" \
  cargo test --locked -p weft-orderer --test it -- --nocapture soak:: "$@"
