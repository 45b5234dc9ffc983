#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# every target for a bounded time on its seed corpus. A crash, a sanitizer report, a violated
# invariant, a timeout or running out of memory fails the script; the reproducer is saved under
# fuzz-artifacts/ and its path printed with the command that replays it.
#
#   scripts/fuzz.sh                         every target, 60 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh serve  one target, longer
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 60)
#   FUZZ_JOBS       targets fuzzed at the same time (default: number of CPUs)
#   BUILD_DIR       build directory (default build-fuzz)
#   FUZZ_ARTIFACTS  where reproducers and logs go (default fuzz-artifacts)
#   CXX             the clang++ to use (default clang++)
#
# The repository's corpus (fuzz/corpus/<target>, fuzz/regressions/<target>) is only read:
# libFuzzer writes new inputs to a temporary directory, deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
FUZZ_JOBS="${FUZZ_JOBS:-$(nproc)}"
BUILD_DIR="${BUILD_DIR:-build-fuzz}"
ARTIFACTS="${FUZZ_ARTIFACTS:-fuzz-artifacts}"
CXX="${CXX:-clang++}"

section() { printf '\n==== %s ====\n' "$*"; }
die() { echo "fuzz: FAIL: $*" >&2; exit 1; }

[[ "$FUZZ_SECONDS" =~ ^[0-9]+$ && "$FUZZ_SECONDS" -gt 0 ]] || die "FUZZ_SECONDS must be a positive integer"
command -v "$CXX" >/dev/null || die "$CXX not found (scripts/install-deps.sh --test installs clang)"

# Per target: the largest input worth trying, and its dictionary.
max_len() {
  case "$1" in
    decode_review) echo 32768 ;;  # enough for nesting beyond the 512 limit and long strings
    serve) echo 16384 ;;          # a few components with traits and override policies
    application) echo 1024 ;;     # bytes of choices, not JSON: 1 KiB builds big Applications
    yaml_document) echo 8192 ;;
    *) echo 4096 ;;
  esac
}
dict() {
  case "$1" in
    decode_review | serve) echo fuzz/admission.dict ;;
    yaml_document) echo fuzz/yaml.dict ;;
    *) echo "" ;;
  esac
}

section "build ($BUILD_DIR, $CXX, ASan+UBSan+libFuzzer)"
# Warnings are not errors here: the gcc build (scripts/test.sh) is the one that enforces them.
cmake -S . -B "$BUILD_DIR" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDSW_BUILD_FUZZERS=ON -DDSW_BUILD_TESTS=OFF -DDSW_WERROR=OFF >/dev/null
cmake --build "$BUILD_DIR" --target dsw_fuzzers -j "$(nproc)"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for exe in "$BUILD_DIR"/fuzz/fuzz_*; do targets+=("${exe##*/fuzz_}"); done
fi
[ ${#targets[@]} -gt 0 ] || die "no fuzz targets were built"
for t in "${targets[@]}"; do
  [ -x "$BUILD_DIR/fuzz/fuzz_$t" ] || die "no fuzz target named $t (built: $(ls "$BUILD_DIR"/fuzz | grep '^fuzz_' | tr '\n' ' '))"
done

mkdir -p "$ARTIFACTS"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1:symbolize=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:symbolize=1"

# Runs one target; its exit status is libFuzzer's (0: nothing found).
run_target() {
  local t="$1"
  local new="$work/$t"
  mkdir -p "$new"
  local seeds=("fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && seeds+=("fuzz/regressions/$t")
  local args=(-max_total_time="$FUZZ_SECONDS" -max_len="$(max_len "$t")" -timeout=10
              -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$ARTIFACTS/$t-")
  local d; d="$(dict "$t")"
  [ -n "$d" ] && args+=(-dict="$d")
  # libFuzzer writes new inputs into the first directory only: the temporary one.
  timeout -s KILL $((FUZZ_SECONDS + 300)) \
    "$BUILD_DIR/fuzz/fuzz_$t" "${args[@]}" "$new" "${seeds[@]}" >"$ARTIFACTS/$t.log" 2>&1
}

section "fuzzing ${targets[*]} for ${FUZZ_SECONDS}s each, $FUZZ_JOBS at a time"
rm -f "$ARTIFACTS"/*.log
declare -A status
pids=()
names=()
for t in "${targets[@]}"; do
  # Old reproducers of this target would be mistaken for new ones.
  rm -f "$ARTIFACTS/$t-"crash-* "$ARTIFACTS/$t-"leak-* "$ARTIFACTS/$t-"timeout-* \
        "$ARTIFACTS/$t-"oom-* "$ARTIFACTS/$t-"slow-unit-*
  while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do sleep 1; done
  echo "fuzz: $t started"
  run_target "$t" &
  pids+=($!)
  names+=("$t")
done
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then status[${names[$i]}]=0; else status[${names[$i]}]=$?; fi
done

section "results"
failed=()
total_runs=0
for t in "${targets[@]}"; do
  log="$ARTIFACTS/$t.log"
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -1 || true)"
  total_runs=$((total_runs + ${runs:-0}))
  if [ "${status[$t]}" -eq 0 ]; then
    printf 'fuzz: %-14s ok      %9s runs  %s\n' "$t" "${runs:-?}" "$cov"
    continue
  fi
  failed+=("$t")
  printf 'fuzz: %-14s FAILED  (exit %s)\n' "$t" "${status[$t]}"
  grep -E '^\*\*\* |ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$log" | head -8 | sed 's/^/    /'
  for r in "$ARTIFACTS/$t-"*; do
    case "$r" in *.log) continue ;; esac
    [ -f "$r" ] || continue
    echo "    reproducer: $r"
    echo "    replay:     $BUILD_DIR/fuzz/fuzz_$t $r"
  done
  echo "    full log:   $log"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo
  echo "fuzz: FAIL: ${failed[*]} (reproducers in $ARTIFACTS/; once fixed, add them to fuzz/regressions/<target>/)"
  exit 1
fi
echo
echo "fuzz: PASS: ${#targets[@]} targets x ${FUZZ_SECONDS}s, $total_runs inputs, no crash, no sanitizer report, every invariant held"
