#!/usr/bin/env bash
# BR2K's experiment on weft, as long as you like (issue 22; `./scripts/test.sh` runs it for
# 2 minutes). Three orderers and two orgs of two peers, each node a process on a host of its
# own (a network namespace: needs root and iproute2, which ./scripts/setup.sh installs); five
# clients send 2 requests a second each through the client SDK's bulk path while a node is
# cut off for 20 s every 60-140 s. Then every acknowledged request must be in every peer's
# ledger exactly once and every peer must hold the same chain and state.
#
#   ./scripts/br2k.sh [MINUTES] [mixed|leader|random]     (default: 30 mixed)
#
# The result table (BR2K's Table 2 layout), the attacker's story and the leaders over time go
# to target/br2k/<date>.md, or to $WEFT_BR2K_REPORT. Also read: WEFT_BR2K_CUT_SECS (20),
# WEFT_BR2K_GAP_SECS (60-140), WEFT_BR2K_RATE (2 per client per second), WEFT_BR2K_SEED.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-30}"
targets="${2:-mixed}"
if [ "$(id -u)" != 0 ]; then
  echo "br2k.sh: network namespaces need root" >&2
  exit 2
fi
./scripts/setup.sh
mkdir -p target/br2k
report="${WEFT_BR2K_REPORT:-$PWD/target/br2k/$(date -u +%Y%m%dT%H%M%SZ)-$targets-${minutes}min.md}"
echo "br2k.sh: $minutes minutes, $targets rounds; report in $report"
WEFT_BR2K_SECS="$((minutes * 60))" WEFT_BR2K_TARGETS="$targets" WEFT_BR2K_REPORT="$report" \
  cargo test --locked -p weft-network --test it -- --nocapture --exact \
  br2k::br2k_five_clients_keep_sending_while_nodes_are_cut_off_and_nothing_is_lost_or_doubled
