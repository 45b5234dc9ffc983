#!/usr/bin/env bash
# Runs the test suite under sanitizers:
#   1. AddressSanitizer + UndefinedBehaviorSanitizer (build-asan): the whole CTest suite but the
#      deploy label (unit, cli, integration, soak). Integration tests run the built binary through
#      DSW_BINARY, so they exercise the sanitized server; the fuzz corpus replays run here too.
#   2. ThreadSanitizer (build-tsan): the tests labelled "integration" (the server's concurrency
#      tests); when there are none, the unit tests, and it says so.
# Any sanitizer report fails the test that triggered it (halt_on_error), and so this script.
#
#   scripts/sanitize.sh              both
#   scripts/sanitize.sh asan         only ASan+UBSan
#   scripts/sanitize.sh tsan         only TSan
#
# Environment: CXX (default g++: its ASan/UBSan/TSan runtimes are the Debian packages the
# build already installs), JOBS (default: number of CPUs), ASAN_DIR (build-asan),
# TSAN_DIR (build-tsan), CTEST_TIMEOUT (per test, default 600 s).
# Tests can read DSW_SANITIZER (address,undefined or thread) to widen timing bounds.
set -euo pipefail
cd "$(dirname "$0")/.."

CXX="${CXX:-g++}"
JOBS="${JOBS:-$(nproc)}"
ASAN_DIR="${ASAN_DIR:-build-asan}"
TSAN_DIR="${TSAN_DIR:-build-tsan}"
CTEST_TIMEOUT="${CTEST_TIMEOUT:-600}"
what="${1:-all}"
case "$what" in all | asan | tsan) ;; *) echo "usage: $0 [all|asan|tsan]" >&2; exit 2 ;; esac

section() { printf '\n==== %s ====\n' "$*"; }
results=()
failed=0

configure() {  # dir sanitizers
  cmake -S . -B "$1" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDSW_WERROR=ON -DDSW_BUILD_TESTS=ON -DDSW_SANITIZE="$2" >/dev/null
}

if [ "$what" != tsan ]; then
  section "ASan+UBSan build ($ASAN_DIR, $CXX)"
  configure "$ASAN_DIR" "address,undefined"
  cmake --build "$ASAN_DIR" -j "$JOBS"

  # Every test but the deployment ones: they check the chart and the Dockerfile (whose runtime
  # library list would rightly not cover the sanitizer runtimes), not the sanitized code.
  section "ASan+UBSan: every test but the deploy label"
  start=$SECONDS
  if env ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1" \
      UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
      LSAN_OPTIONS="print_suppressions=0" \
      DSW_SANITIZER="address,undefined" \
      ctest --test-dir "$ASAN_DIR" --output-on-failure -j "$JOBS" --timeout "$CTEST_TIMEOUT" \
        -LE deploy; then
    results+=("ASan+UBSan: all tests passed ($((SECONDS - start))s)")
  else
    results+=("ASan+UBSan: FAILED (see the output above)")
    failed=1
  fi
fi

if [ "$what" != asan ]; then
  section "ThreadSanitizer build ($TSAN_DIR, $CXX)"
  configure "$TSAN_DIR" "thread"
  label=integration
  if [ -z "$(ctest --test-dir "$TSAN_DIR" -N -L "$label" | grep -E '^ *Test +#')" ]; then
    echo "sanitize: no tests are labelled '$label' yet: running the unit tests under TSan instead"
    label=unit
  fi
  if [ "$label" = integration ]; then
    # The integration tests drive the binary itself (DSW_BINARY): only it needs building.
    cmake --build "$TSAN_DIR" -j "$JOBS" --target dynamodb-streams-webhook
  else
    cmake --build "$TSAN_DIR" -j "$JOBS"
  fi

  section "ThreadSanitizer: tests labelled '$label'"
  start=$SECONDS
  if env TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:abort_on_error=1" \
      DSW_SANITIZER="thread" \
      ctest --test-dir "$TSAN_DIR" -L "$label" --output-on-failure -j "$JOBS" --timeout "$CTEST_TIMEOUT"; then
    results+=("TSan: tests labelled '$label' passed ($((SECONDS - start))s)")
  else
    results+=("TSan: tests labelled '$label' FAILED (see the output above)")
    failed=1
  fi
fi

section "summary"
for r in "${results[@]}"; do echo "sanitize: $r"; done
if [ "$failed" -ne 0 ]; then
  echo "sanitize: FAIL"
  exit 1
fi
echo "sanitize: PASS"
