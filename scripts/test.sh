#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian/Ubuntu machine: installs the dependencies,
# builds with warnings as errors, and runs the whole CTest suite (unit, CLI, integration,
# deployment, soak); then the benchmarks briefly, the suite again under ASan+UBSan and the
# server's integration tests under TSan, and every fuzz target for FUZZ_SECONDS (60) each.
# Exit status is non-zero on any failure.
#
#   scripts/test.sh            everything
#   BUILD_DIR=build-x scripts/test.sh   use another build directory
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"

section() { printf '\n==== %s ====\n' "$*"; }

section "dependencies"
scripts/install-deps.sh --test

section "build ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDSW_WERROR=ON -DDSW_BUILD_TESTS=ON
cmake --build "$BUILD_DIR" -j "$JOBS"

section "tests"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 600

section "benchmarks (smoke: they build and run; speed is not judged)"
BUILD_DIR=build-bench scripts/bench-smoke.sh

section "sanitizers (ASan+UBSan: whole suite; TSan: integration)"
scripts/sanitize.sh

section "fuzzing (${FUZZ_SECONDS:-60} s per target)"
FUZZ_SECONDS="${FUZZ_SECONDS:-60}" scripts/fuzz.sh
