#!/usr/bin/env bash
# Supply-chain check: every crate in Cargo.lock against the RustSec advisory
# database (cargo-audit). Advisories weft accepts are listed, each with its
# reason, in .cargo/audit.toml; anything else fails.
#   WEFT_ADVISORY_DB  a checkout of github.com/rustsec/advisory-db to use offline
#                     (default: cargo-audit fetches the database, which needs GitHub)
# Example: WEFT_ADVISORY_DB=/srv/advisory-db ./scripts/audit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-audit >/dev/null || cargo install --locked cargo-audit
args=()
if [[ -n "${WEFT_ADVISORY_DB:-}" ]]; then
  args+=(--db "$WEFT_ADVISORY_DB" --no-fetch)
fi
exec cargo audit "${args[@]}" "$@"
