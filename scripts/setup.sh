#!/usr/bin/env bash
# Installs what weft's build and tests need on a fresh Debian machine. Idempotent.
#  - Node.js + npm (the protocol conformance test runs Fabric's official npm package)
#  - the npm packages of protos/conformance, peer/tests/fabric-gateway, peer/tests/fabric-network,
#    ca/tests/fabric-ca-client and network/fabric-node-bench (`weft-network bench --client
#    fabric-node`), from their lock files
#  - RocksDB (Debian's librocksdb-dev, linked dynamically), libclang for its bindings, and protoc
#    (raft-rs's protobuf build needs it)
#  - iproute2 (`ip`): the multi-host tests put each organisation in its own network namespace
#  - nftables (`nft`): the fault tests partition hosts (both ways or one way) and drop packets
#  - libfaketime: the fault tests run a node with its clock skewed
#  - a WASM toolchain for chaincode (see shared notes: Debian's rustc-web + rust-web-src + lld
#    when rustup cannot add the wasm32 target)
#  - kubernetes-validate (PyPI): the tests validate `weft-network k8s` manifests against
#    Kubernetes' schemas
#  - with --containers: podman, buildah and what their networks need (netavark,
#    aardvark-dns, iptables, runc), for scripts/images.sh and scripts/containers.sh
# Rust itself comes from rustup.
set -euo pipefail
containers=0
for arg in "$@"; do
  case "$arg" in
    --containers) containers=1 ;;
    *) echo "setup.sh: unknown argument $arg (only --containers)" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
need_pkg() {
  # need_pkg <command> <debian package>
  if ! command -v "$1" >/dev/null 2>&1; then
    if [ "$apt_updated" = 0 ]; then
      log "apt-get update"
      as_root apt-get update -qq
      apt_updated=1
    fi
    log "installing $2"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  fi
}

need_file() {
  # need_file <path> <debian package>
  if [ ! -e "$1" ]; then need_pkg_force "$2"; fi
}
need_pkg_force() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  log "installing $1"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

need_pkg node nodejs
need_pkg npm npm
need_pkg protoc protobuf-compiler
need_pkg ip iproute2  # the multi-host tests make network namespaces (ip netns, veth, bridge)
need_pkg nft nftables  # partitions and packet loss between those namespaces
need_file /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 libfaketime  # a node's clock skewed
need_pkg curl curl   # the README shows the orderer's participation API with curl
need_file /usr/lib/x86_64-linux-gnu/librocksdb.so librocksdb-dev
need_file /usr/lib/llvm-14/lib/libclang.so libclang-dev
# Building chaincode to WASM: rustup's wasm32 target when installed, else Debian's
# rustc-web (with the std sources for -Zbuild-std) and wasm-ld.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  need_file /usr/bin/rustc rustc-web
  need_file /usr/lib/rustlib/src/rust rust-web-src
  need_pkg wasm-ld lld
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi

# npm packages the tests use as oracles, each from its lock file:
#  - protos/conformance: Fabric's official protobuf bindings
#  - peer/tests/fabric-gateway: Fabric's official Gateway client SDK
#  - peer/tests/fabric-network: Fabric's legacy Node SDK (fabric-network 2.2, service discovery)
#  - ca/tests/fabric-ca-client: Fabric's official CA client
#  - network/fabric-node-bench: Fabric's Gateway client, as a bench client
for dir in protos/conformance peer/tests/fabric-gateway peer/tests/fabric-network ca/tests/fabric-ca-client network/fabric-node-bench; do
  lock=$dir/package-lock.json
  stamp=$dir/node_modules/.weft-installed
  if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
    log "npm ci ($dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  else
    log "$dir npm packages are up to date"
  fi
done
# Kubernetes' schemas, to validate the manifests `weft-network k8s` writes.
# The tests run it as `python3 -m kubernetes_validate`, whatever PATH holds.
if ! python3 -c 'import kubernetes_validate' >/dev/null 2>&1; then
  need_pkg pip3 python3-pip
  log "installing kubernetes-validate (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages kubernetes-validate
fi

if [ "$containers" = 1 ]; then
  need_pkg podman podman
  need_pkg buildah buildah
  need_file /usr/lib/podman/netavark netavark
  need_file /usr/lib/podman/aardvark-dns aardvark-dns
  need_pkg iptables iptables   # netavark's firewall driver
  need_pkg runc runc           # deploy/containers.conf picks runc
fi
log "set-up done"
