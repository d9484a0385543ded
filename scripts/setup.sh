#!/usr/bin/env bash
# Installs what weft's build and tests need on a fresh Debian machine. Idempotent.
#  - Node.js + npm (the protocol conformance test runs Fabric's official npm package)
#  - the npm packages of protos/conformance (from its lock file)
# Rust itself comes from rustup; RocksDB/wasm tooling will be added by the issues that need them.
set -euo pipefail
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

need_pkg node nodejs
need_pkg npm npm

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi

lock=protos/conformance/package-lock.json
stamp=protos/conformance/node_modules/.weft-installed
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  log "npm ci (protos/conformance: Fabric's official protobuf bindings, test oracle)"
  (cd protos/conformance && npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
else
  log "protos/conformance npm packages are up to date"
fi
log "set-up done"
