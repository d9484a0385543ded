#!/usr/bin/env bash
# Long fuzzing runs: every cargo-fuzz target in fuzz/ under libFuzzer (nightly).
# The default tests run the same targets briefly (fuzz-targets/tests/short_run.rs).
#   WEFT_FUZZ_SECONDS  seconds per target (default 60)
#   arguments          target names (default: all), e.g. ./scripts/fuzz.sh block envelope
# Crashes are saved in fuzz/artifacts/<target>/; each one found becomes a seed
# or a regression test in fuzz-targets/tests.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
for t in "${targets[@]}"; do
  echo "== $t (${WEFT_FUZZ_SECONDS:-60} s)"
  cargo +nightly fuzz run "$t" -- -max_total_time="${WEFT_FUZZ_SECONDS:-60}" -rss_limit_mb=2048
done
