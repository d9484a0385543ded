#!/usr/bin/env bash
# Builds weft's container images with podman (buildah underneath):
#   weft-orderer, weft-peer, weft-ca and weft-tools, tagged localhost/<name>:<tag>, and the
#   BR2K recovery sample's service, localhost/br2k-echo:<tag>.
# Each image is FROM scratch: the release binary, exactly the shared libraries
# `ldd` says it loads, a passwd entry for the non-root user 10001, and its data
# path owned by that user. The Containerfiles under deploy/images/ take the
# staging directory this script prepares as their build context, so
# `docker build -f deploy/images/peer.Containerfile target/images/weft-peer` works too.
#
# Usage: scripts/images.sh [--tag TAG] [--no-build]
#   --tag TAG    image tag (default: dev)
#   --no-build   use the release binaries already built
set -euo pipefail
cd "$(dirname "$0")/.."

tag=dev
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/containers.conf}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
bins="$target/release"
stage_root="$target/images"
log() { printf '==> %s\n' "$*"; }

if ! command -v podman >/dev/null 2>&1; then
  echo "podman not found: run ./scripts/setup.sh --containers first" >&2
  exit 1
fi
if [ "$build" = 1 ]; then
  log "building release binaries"
  cargo build --release --locked -p weft-orderer -p weft-peer -p weft-ca -p weft-configtx -p weft-network \
    -p br2k-recovery
fi

# stage <image> <binary>...: rootfs/ and state/ under $stage_root/<image>
stage() {
  local image=$1; shift
  local dir="$stage_root/$image"
  rm -rf "$dir"
  mkdir -p "$dir/rootfs/usr/local/bin" "$dir/rootfs/etc" "$dir/rootfs/tmp" "$dir/state"
  chmod 1777 "$dir/rootfs/tmp"
  for b in "$@"; do
    install -m 0755 "$bins/$b" "$dir/rootfs/usr/local/bin/$b"
    strip --strip-unneeded "$dir/rootfs/usr/local/bin/$b"
    # Every library the binary loads, the dynamic loader included, at its path.
    for lib in $(ldd "$bins/$b" | grep -o '/[^ ]*' | sort -u); do
      mkdir -p "$dir/rootfs$(dirname "$lib")"
      cp -L "$lib" "$dir/rootfs$lib"
    done
  done
  printf 'root:x:0:0:root:/:/sbin/nologin\nweft:x:10001:10001:weft:/home/weft:/sbin/nologin\n' > "$dir/rootfs/etc/passwd"
  printf 'root:x:0:\nweft:x:10001:\n' > "$dir/rootfs/etc/group"
  printf 'hosts: files dns\n' > "$dir/rootfs/etc/nsswitch.conf"
  mkdir -p "$dir/state/etc/hyperledger/fabric" "$dir/state/var/hyperledger/production" \
    "$dir/state/var/hyperledger/fabric-ca-server" "$dir/state/home/weft"
}

# build_image <name> <Containerfile>
build_image() {
  local image=$1 file=$2
  log "building localhost/$image:$tag"
  podman build -q -f "$file" -t "localhost/$image:$tag" "$stage_root/$image" >/dev/null
}

stage weft-orderer weft-orderer
stage weft-peer weft-peer
stage weft-ca weft-ca
stage weft-tools weft-peer weft-orderer weft-ca weft-configtx weft-network
for image in orderer peer ca tools; do
  build_image "weft-$image" "deploy/images/$image.Containerfile"
done
stage br2k-echo br2k-echo
build_image br2k-echo samples/br2k-recovery/Containerfile
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "(weft-.*|br2k-echo):$tag"
