#!/usr/bin/env bash
# Fuzzes every decoder at trendflow's edge for a bounded time: `scripts/fuzz.sh [SECONDS] [TARGET...]`
# (default 120 seconds each, every target of fuzz/fuzz_targets/).
#
# Installs cargo-fuzz once into a cache outside the clone, builds the targets there (libFuzzer,
# optimised, with debug assertions and overflow checks, without a sanitizer: trendflow is safe
# Rust, and a panic or an overflow is what we look for), starts each from
# a corpus seeded with the seed's real dump and the inputs found before (fuzz/regressions/), and
# prints, per target, how long it ran, how many inputs it tried and what it found. A crash or
# hang is saved under fuzz/artifacts/TARGET/; fix it, then move the input to
# fuzz/regressions/TARGET/, where `cargo test` replays it from then on (tests/fuzz_regressions.rs).
#
# cargo fuzz needs nightly features; RUSTC_BOOTSTRAP=1 lets the stable toolchain use them.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "scripts/fuzz.sh: $*" >&2; }

seconds="${1:-120}"
shift || true
cache="${TRENDFLOW_CACHE:-$HOME/.cache/trendflow}"
if [ ! -x "$cache/cargo-fuzz/bin/cargo-fuzz" ]; then
    say "installing cargo-fuzz into $cache/cargo-fuzz (once)"
    cargo install --quiet --locked cargo-fuzz --root "$cache/cargo-fuzz"
fi
scripts/build-deps.sh
export PATH="$cache/cargo-fuzz/bin:$PATH" RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$cache/fuzz-target"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(ls fuzz/fuzz_targets | sed 's/\.rs$//')
fi

seed_dump="${TRENDFLOW_SEED_DUMP:-$PWD/../shared/data/tweet_hashtags_db.sql}"
cargo fuzz build --fuzz-dir fuzz --sanitizer none
status=0
printf '%-14s %8s %12s %10s  %s\n' target seconds inputs corpus found
for target in "${targets[@]}"; do
    corpus="$cache/fuzz-corpus/$target"
    mkdir -p "$corpus" "fuzz/artifacts/$target" "fuzz/regressions/$target"
    # Real input to start from: slices of the seed's dump (its rows, as text, feed every decoder).
    if [ -f "$seed_dump" ] && [ -z "$(ls -A "$corpus")" ]; then
        split -l 40 -a 4 <(head -n 4000 "$seed_dump") "$corpus/seed-"
    fi
    log="$cache/fuzz-logs/$target.log"
    mkdir -p "$(dirname "$log")"
    started=$(date +%s)
    if cargo fuzz run --fuzz-dir fuzz --sanitizer none "$target" "$corpus" "fuzz/regressions/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
        -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1; then
        found="nothing"
    else
        artifact=$(ls -t "fuzz/artifacts/$target" | head -n 1)
        if [ -n "$artifact" ]; then
            found="fuzz/artifacts/$target/$artifact (see $log)"
        else
            found="the run failed without a finding: see $log"
        fi
        status=1
    fi
    ran=$(($(date +%s) - started))
    inputs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9][0-9]*' || true)
    printf '%-14s %8s %12s %10s  %s\n' "$target" "$ran" "${inputs:-?}" "$(ls "$corpus" | wc -l)" "$found"
done
exit "$status"
