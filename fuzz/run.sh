#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time; exits non-zero on a crash.
#
#   fuzz/run.sh [SECONDS_PER_TARGET]     (default 60)
#
# FUZZ_SEED=N fixes libFuzzer's random seed (default 0: a new one each run),
# and FUZZ_RUNS=N stops each target after N inputs (default -1: no limit, the
# time bound only). With both, a run from the committed seeds tries the same
# inputs in the same order however fast the machine is (given the same
# toolchain); .ci/run uses that. Without them, a run explores anew.
#
# Works with a stable toolchain: RUSTC_BOOTSTRAP=1 lets stable rustc accept
# the nightly-only flags cargo-fuzz passes (-Zsanitizer, sancov passes).
# The sanitizer is off by default: the core is safe Rust, so every finding
# is a panic or a failed assertion, and AddressSanitizer costs about 4x in
# executions per second. FUZZ_SANITIZER=address turns it back on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
sanitizer="${FUZZ_SANITIZER:-none}"
seed="${FUZZ_SEED:-0}"
runs="${FUZZ_RUNS:--1}"
export RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
if ! command -v c++ >/dev/null 2>&1; then
    # libfuzzer-sys compiles libFuzzer's C++ sources.
    echo "== installing a C++ compiler"
    apt-get update -qq && apt-get install -y -qq g++
fi

targets=(sse_split fold_split fold_responses anthropic_split)
echo "== building ${targets[*]} (sanitizer: $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer"

for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${seconds}s at most (seed $seed, runs $runs)"
    # The first corpus directory receives new inputs: keep it out of git;
    # the committed seeds are read only.
    mkdir -p "fuzz/corpus/$target"
    cargo fuzz run --sanitizer "$sanitizer" "$target" \
        "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -seed="$seed" -runs="$runs" -max_len=16384 -timeout=30 \
        -print_final_stats=1
done
echo "== fuzzing: no crash in ${#targets[@]} targets (each ${seconds}s at most, seed $seed, runs $runs)"
