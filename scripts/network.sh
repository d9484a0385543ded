#!/usr/bin/env bash
# A local weft network with a sample chaincode, until `weft-network up` (issue 7) replaces it.
#
#   ./scripts/network.sh up     build, generate crypto and the channel, start one Raft orderer and
#                               one peer each for Org1 and Org2, join them to `mychannel`, deploy
#                               asset-transfer-basic with Fabric's lifecycle and call InitLedger
#   ./scripts/network.sh down   stop what `up` started (by PID) and delete its data
#
# Everything lives under .weft-network/ (logs in .weft-network/logs). Ports are Fabric's:
# orderer 7050/7053/8443, Org1's peer 7051/9443, Org2's peer 9051/9444.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NET=$ROOT/.weft-network
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug

log() { echo "[network] $*"; }

down() {
  if [ -d "$NET/pids" ]; then
    for f in "$NET"/pids/*; do
      [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
  fi
  rm -rf "$NET"
  log "stopped"
}

# Waits (up to 30 s) until a TCP port accepts connections.
wait_port() {
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1; see $NET/logs" >&2
  exit 1
}

as_org() {
  local n=$1 p=$NET/crypto/peerOrganizations/org$1.example.com
  export CORE_PEER_LOCALMSPID=Org${n}MSP
  export CORE_PEER_MSPCONFIGPATH=$p/users/Admin@org$n.example.com/msp
  export CORE_PEER_TLS_ROOTCERT_FILE=$p/tlsca/tlsca.org$n.example.com-cert.pem
  export CORE_PEER_TLS_CLIENTCERT_FILE=$p/users/Admin@org$n.example.com/tls/client.crt
  export CORE_PEER_TLS_CLIENTKEY_FILE=$p/users/Admin@org$n.example.com/tls/client.key
  export CORE_PEER_ADDRESS=127.0.0.1:$([ "$n" = 1 ] && echo 7051 || echo 9051)
}

up() {
  down >/dev/null
  log "building (cargo build -p weft-configtx -p weft-orderer -p weft-peer)"
  cargo build -q -p weft-configtx -p weft-orderer -p weft-peer
  mkdir -p "$NET/logs" "$NET/pids"
  sed "s#crypto-config/#$NET/crypto/#g" configtx/samples/configtx.yaml > "$NET/configtx.yaml"
  "$BIN/weft-configtx" crypto generate --config configtx/samples/crypto-config.yaml --output "$NET/crypto" >/dev/null
  "$BIN/weft-configtx" genesis --config "$NET/configtx.yaml" --profile TwoOrgsApplicationGenesis \
    --channel mychannel --output "$NET/mychannel.block" 2>/dev/null
  local o=$NET/crypto/ordererOrganizations/example.com
  local od=$o/orderers/orderer.example.com
  ORDERER_GENERAL_TLS_CERTIFICATE=$od/tls/server.crt ORDERER_GENERAL_TLS_PRIVATEKEY=$od/tls/server.key \
  ORDERER_ADMIN_TLS_CERTIFICATE=$od/tls/server.crt ORDERER_ADMIN_TLS_PRIVATEKEY=$od/tls/server.key \
  ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$o/tlsca/tlsca.example.com-cert.pem]" \
  ORDERER_MSP_DIR=$od/msp ORDERER_FILELEDGER_LOCATION=$NET/orderer \
    nohup "$BIN/weft-orderer" start --config orderer/samples/orderer.yaml > "$NET/logs/orderer.log" 2>&1 &
  echo $! > "$NET/pids/orderer"
  for n in 1 2; do
    local pd=$NET/crypto/peerOrganizations/org$n.example.com/peers/peer0.org$n.example.com
    local port ops
    if [ "$n" = 1 ]; then port=7051; ops=9443; else port=9051; ops=9444; fi
    CORE_PEER_ID=peer0.org$n.example.com CORE_PEER_LISTENADDRESS=0.0.0.0:$port \
    CORE_OPERATIONS_LISTENADDRESS=127.0.0.1:$ops CORE_PEER_MSP_ID=Org${n}MSP CORE_PEER_MSP_DIR=$pd/msp \
    CORE_PEER_TLS_CERTIFICATE=$pd/tls/server.crt CORE_PEER_TLS_PRIVATEKEY=$pd/tls/server.key \
    CORE_PEER_FILESYSTEMPATH=$NET/peer0.org$n \
      nohup "$BIN/weft-peer" node start --config peer/samples/core.yaml > "$NET/logs/peer0.org$n.log" 2>&1 &
    echo $! > "$NET/pids/peer0.org$n"
  done
  wait_port 7053; wait_port 7051; wait_port 9051
  log "joining the orderer and both peers to mychannel"
  curl -sf --cacert "$o/tlsca/tlsca.example.com-cert.pem" --cert "$o/users/Admin@example.com/tls/client.crt" \
    --key "$o/users/Admin@example.com/tls/client.key" -F "config-block=@$NET/mychannel.block" \
    https://127.0.0.1:7053/participation/v1/channels >/dev/null
  for n in 1 2; do as_org "$n"; "$BIN/weft-peer" channel join -b "$NET/mychannel.block" 2>/dev/null; done
  log "deploying asset-transfer-basic (build to WASM, package, install, approve by both orgs, commit)"
  export ORDERER_ADDRESS=127.0.0.1:7050 ORDERER_CA=$o/tlsca/tlsca.example.com-cert.pem
  "$BIN/weft-peer" lifecycle chaincode package "$NET/basic.tar.gz" --path samples/asset-transfer-basic \
    --label basic_1.0 --build >/dev/null
  local pkg
  pkg=$("$BIN/weft-peer" lifecycle chaincode calculatepackageid "$NET/basic.tar.gz")
  for n in 1 2; do
    as_org "$n"
    "$BIN/weft-peer" lifecycle chaincode install "$NET/basic.tar.gz" >/dev/null
    "$BIN/weft-peer" lifecycle chaincode approveformyorg -C mychannel -n basic -v 1.0 --sequence 1 \
      --package-id "$pkg" 2>/dev/null
  done
  local peers=(--peerAddresses 127.0.0.1:7051
    --tlsRootCertFiles "$NET/crypto/peerOrganizations/org1.example.com/tlsca/tlsca.org1.example.com-cert.pem"
    --peerAddresses 127.0.0.1:9051
    --tlsRootCertFiles "$NET/crypto/peerOrganizations/org2.example.com/tlsca/tlsca.org2.example.com-cert.pem")
  as_org 1
  "$BIN/weft-peer" lifecycle chaincode commit -C mychannel -n basic -v 1.0 --sequence 1 "${peers[@]}" 2>/dev/null
  "$BIN/weft-peer" chaincode invoke -C mychannel -n basic -c '{"function":"InitLedger","Args":[]}' "${peers[@]}" 2>/dev/null
  log "asset1 is: $("$BIN/weft-peer" chaincode query -C mychannel -n basic -c '{"Args":["ReadAsset","asset1"]}')"
  log "up. As Org1's admin: source <(./scripts/network.sh env 1); weft-peer chaincode query -C mychannel -n basic -c '{\"Args\":[\"GetAllAssets\"]}'"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env)
    as_org "${2:-1}"
    env | grep -E '^CORE_PEER_' | sed 's/^/export /'
    echo "export ORDERER_ADDRESS=127.0.0.1:7050 ORDERER_CA=$NET/crypto/ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem"
    echo "export PATH=$BIN:\$PATH"
    ;;
  *) echo "usage: $0 up | down | env [1|2]" >&2; exit 2 ;;
esac
