#!/usr/bin/env bash
# Opt-in long soak runs: the soak and pressure tests that ./scripts/test.sh runs
# briefly, here at full size.
#   WEFT_SOAK_ROUNDS           rounds of the orderer's leader-churn soak (default 20)
#   WEFT_PRESSURE_KEYS         assets GetAllAssets lists in the peer pressure test (default 200000)
#   WEFT_PRESSURE_CONNECTIONS  idle HTTP/2 connections held on the peer (default 10000; needs
#                              `ulimit -n` above twice that)
#   WEFT_PRESSURE_CLIENTS      clients flooding GetAllAssets at once (default 12)
#   WEFT_LEADER_KILLS          times the Raft leader is SIGKILLed mid-append and restarted, with
#                              orderers on separate hosts (default 50; needs root)
# BR2K's experiment has its own script: ./scripts/br2k.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
WEFT_SOAK_ROUNDS="${WEFT_SOAK_ROUNDS:-20}" \
  cargo test --locked -p weft-orderer --test it -- --nocapture soak:: "$@"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
WEFT_PRESSURE_KEYS="${WEFT_PRESSURE_KEYS:-200000}" \
WEFT_PRESSURE_CONNECTIONS="${WEFT_PRESSURE_CONNECTIONS:-10000}" \
  cargo test --locked -p weft-peer --test it -- --nocapture attacks::pressure "$@"
WEFT_LEADER_KILLS="${WEFT_LEADER_KILLS:-50}" \
  cargo test --locked -p weft-network --test it -- --nocapture \
  faults::the_leader_killed_mid_append_round_after_round_loses_and_doubles_nothing "$@"
