#!/usr/bin/env bash
# Opt-in: the Kubernetes manifests of `weft-network k8s` run for real on Podman
# (`podman kube play`, see network/src/k8s/podman.rs for what is translated):
# installs Podman and buildah, builds the images (scripts/images.sh), then runs
# network/tests/containers.rs — the default topology up from the manifests, every
# org's setup job done, a client outside the pods committing, a rolling restart of
# the peers, a peer's volume backed up and restored; then BR2K's recovery loop with its
# service in a pod (samples/br2k-recovery/tests/containers.rs). Needs root (rootful Podman).
#
#   ./scripts/containers.sh [--no-build]    (--no-build: images from the release binaries as built)
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/containers.conf}"
./scripts/setup.sh --containers
./scripts/images.sh "$@"
cargo test --locked -p weft-network --features container-tests --test containers -- --nocapture
cargo test --locked -p br2k-recovery --features container-tests --test containers -- --nocapture
