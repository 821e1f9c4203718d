#!/usr/bin/env bash
# The whole test suite: `scripts/test.sh [extra cargo test arguments]`.
#
# Builds into a cache outside the clone (CARGO_TARGET_DIR, default ~/.cache/trendflow/target) so
# fresh clones reuse earlier builds, and runs every test of the workspace in release mode: the
# graph's property tests run thousands of dataflows and are slow unoptimised.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trendflow/target}"
if ! command -v cargo >/dev/null 2>&1; then
    echo "scripts/test.sh: cargo is not installed; install Rust (https://rustup.rs) and retry" >&2
    exit 1
fi

cargo test --workspace --release "$@"
