#!/usr/bin/env bash
# CI smoke run of the benchmarks, so they do not rot: builds them (Release, warnings as errors,
# in its own build directory), runs every microbenchmark briefly (well under a second each),
# runs bench/load.sh for one second per run, and bench/audit.sh once on 600 Applications. Fails on a build failure, a benchmark error or a
# socket error / non-2xx answer under load — never because of speed.
#
#   scripts/bench-smoke.sh                     build in build-bench
#   BUILD_DIR=build-x scripts/bench-smoke.sh   use another build directory
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR="${BUILD_DIR:-build-bench}"
JOBS="${JOBS:-$(nproc)}"

section() { printf '\n==== %s ====\n' "$*"; }

section "build benchmarks ($BUILD_DIR, Release)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDSW_WERROR=ON -DDSW_BUILD_TESTS=OFF \
  -DDSW_BUILD_BENCHMARKS=ON
cmake --build "$BUILD_DIR" -j "$JOBS" --target dsw_micro_bench dynamodb-streams-webhook

section "microbenchmarks (brief)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$BUILD_DIR/bin/dsw_micro_bench" --benchmark_min_time=0.02 | tee "$out"
if grep -q "ERROR OCCURRED" "$out"; then
  echo "bench-smoke: a microbenchmark reported an error" >&2
  exit 1
fi

section "load benchmark (1 s per run)"
load_status=0
bench/load.sh --bin "$BUILD_DIR/bin/dynamodb-streams-webhook" --seconds 1 || load_status=$?

section "audit benchmark (600 Applications in 6 namespaces, one run)"
bench/audit.sh --bin "$BUILD_DIR/bin/dynamodb-streams-webhook" --apps 600:6 --runs 1
exit "$load_status"
