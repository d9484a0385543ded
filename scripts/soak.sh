#!/usr/bin/env bash
# Opt-in soak and fault tests, not part of ./scripts/test.sh: long runs of
# failures under load (each is #[ignore]d in the default run).
#   WEFT_SOAK_ROUNDS  rounds of the orderer's leader-churn soak (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo test --locked -p weft-orderer --test it -- --ignored --nocapture "$@"
