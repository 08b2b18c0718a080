#!/usr/bin/env bash
# Supply-chain checks for `make test` (issue 8): cargo-deny from crates.io, then licences,
# bans and sources (no network needed), then advisories if the RustSec database can be fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deny >/dev/null || cargo install cargo-deny --locked --quiet
cargo deny --all-features --locked check --hide-inclusion-graph licenses bans sources
if timeout 60 cargo deny fetch db >/dev/null 2>&1; then
    cargo deny --locked check --hide-inclusion-graph advisories
else
    echo "cargo deny: advisories not checked: the RustSec database (github.com) is unreachable from here" >&2
fi
