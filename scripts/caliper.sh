#!/usr/bin/env bash
# Runs Hyperledger Caliper 0.6 against the network `./scripts/weft-network up` started,
# configured exactly as for a Fabric network (samples/caliper: network config, benchmark,
# workloads). Caliper and the Fabric SDK it binds to are installed with npm into
# .caliper/<binding>/ (not committed) the first time.
#
#   ./scripts/caliper.sh                      # Caliper's fabric-gateway binding (@hyperledger/fabric-gateway)
#   ./scripts/caliper.sh fabric:2.2           # Caliper's legacy binding (fabric-network 2.2, service discovery)
#   ./scripts/caliper.sh fabric:2.2 --caliper-report-path report.html
#
# The report table is printed at the end and written to samples/caliper/report-<binding>.html.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SUT="${1:-fabric:fabric-gateway}"
shift || true
case "$SUT" in
  fabric:2.2|fabric:fabric-gateway) ;;
  *) echo "usage: $0 [fabric:2.2|fabric:fabric-gateway] [caliper options]" >&2; exit 2 ;;
esac
NAME="${SUT#fabric:}"
HOME_DIR="$ROOT/.caliper/$NAME"
if [ ! -f "$HOME_DIR/.installed" ]; then
  echo "==> installing Caliper 0.6 bound to $SUT in $HOME_DIR"
  mkdir -p "$HOME_DIR"
  (cd "$HOME_DIR" \
    && printf '{ "name": "weft-caliper-%s", "private": true }\n' "$NAME" > package.json \
    && npm install --no-audit --no-fund --loglevel=error @hyperledger/caliper-cli@0.6.0 \
    && npx caliper bind --caliper-bind-sut "$SUT") >&2
  touch "$HOME_DIR/.installed"
fi
if [ ! -f "$ROOT/.weft-network/network.json" ]; then
  echo "no network: start one with ./scripts/weft-network up" >&2
  exit 1
fi
cd "$ROOT/samples/caliper"
# Workload modules require @hyperledger/caliper-core from Caliper's install.
export NODE_PATH="$HOME_DIR/node_modules"
# Asset ids of this run (so a run can follow another on the same network).
export WEFT_CALIPER_RUN="${WEFT_CALIPER_RUN:-$(date +%s)}"
exec "$HOME_DIR/node_modules/.bin/caliper" launch manager \
  --caliper-workspace . \
  --caliper-networkconfig networks/weft-network.yaml \
  --caliper-benchconfig benchmarks/basic.yaml \
  --caliper-flow-only-test \
  --caliper-report-path "report-$NAME.html" \
  "$@"
