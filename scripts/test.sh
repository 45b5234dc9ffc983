#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian/Ubuntu machine: installs the dependencies,
# builds with warnings as errors, and runs the whole CTest suite (unit, CLI, integration,
# deployment, soak); then builds the Dockerfile and runs the image (scripts/image-test.sh, as root
# or through sudo); the benchmarks briefly (they must build and run; speed is not judged),
# the suite again under ASan+UBSan and the server's integration tests under TSan, and every fuzz
# target for FUZZ_SECONDS (60) each. Every stage runs even when an earlier one failed; the exit
# status is non-zero when any failed.
#
#   scripts/test.sh                    everything
#   BUILD_DIR=build-x scripts/test.sh  another build directory for the main suite
#   FUZZ_SECONDS=10 scripts/test.sh    shorter fuzzing
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"
export FUZZ_SECONDS="${FUZZ_SECONDS:-60}"

section() { printf '\n==== %s ====\n' "$*"; }
passed=0
failed=0
summary=()
stage() {  # name command...
  local name=$1 start=$SECONDS
  shift
  section "$name"
  if "$@"; then
    passed=$((passed + 1))
    summary+=("PASS  $name ($((SECONDS - start)) s)")
  else
    failed=$((failed + 1))
    summary+=("FAIL  $name ($((SECONDS - start)) s)")
  fi
}

skipped=""
main_suite() {
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDSW_WERROR=ON -DDSW_BUILD_TESTS=ON &&
    cmake --build "$BUILD_DIR" -j "$JOBS" || return 1
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 600 | tee "$BUILD_DIR/ctest-output.log"
  local rc=${PIPESTATUS[0]}
  # A skipped test (exit 77: a tool it cannot do without is absent) passes in CTest; say so in
  # the summary, so a run that did not check something does not read as if it had.
  skipped=$(sed -n 's/^.*Test *#[0-9]*: \([^ ]*\) .*\*\*\*Skipped.*$/\1/p' "$BUILD_DIR/ctest-output.log" | sort | tr '\n' ' ')
  return "$rc"
}

section "dependencies"
scripts/install-deps.sh --test || { echo "test.sh: installing the dependencies failed" >&2; exit 1; }

stage "build and CTest suite ($BUILD_DIR)" main_suite
stage "image (build the Dockerfile with buildah, run it)" scripts/image-test.sh
stage "benchmarks (smoke)" env BUILD_DIR=build-bench scripts/bench-smoke.sh
stage "sanitizers (ASan+UBSan: whole suite; TSan: integration)" scripts/sanitize.sh
stage "fuzzing ($FUZZ_SECONDS s per target)" scripts/fuzz.sh

section "summary"
printf '%s\n' "${summary[@]}"
[ -n "$skipped" ] && echo "SKIPPED (not checked; each says why in its output above): $skipped"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
