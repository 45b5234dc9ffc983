#!/usr/bin/env bash
# The long soak of `serve` (test/server/serve/soak_test.py): at least 500,000 mixed reviews over TLS
# keep-alive and fresh connections from wrk, two certificate rotations through a ..data symlink
# swap, every answer checked byte for byte, RSS and open fds flat after warm-up, figures printed.
# Loopback only; gives up after --max-seconds. About 2 minutes on 2 cores. CI runs a short version
# (CTest `soak_short`, label "soak").
#
#   scripts/soak.sh                       builds build-soak (Release) and soaks it
#   scripts/soak.sh --bin PATH            soaks an existing binary
#   scripts/soak.sh --requests N          more or fewer than 500,000
#   scripts/soak.sh --max-seconds S       time bound (default 600)
#   scripts/soak.sh --threads T           wrk threads = connections (default 4)
set -euo pipefail
cd "$(dirname "$0")/.."

bin="" requests=500000 max_seconds=600 threads=4
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="${2:?}"; shift 2 ;;
    --requests) requests="${2:?}"; shift 2 ;;
    --max-seconds) max_seconds="${2:?}"; shift 2 ;;
    --threads) threads="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$bin" ]; then
  BUILD_DIR="${BUILD_DIR:-build-soak}"
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDSW_WERROR=ON >/dev/null
  cmake --build "$BUILD_DIR" -j "$(nproc)" --target dynamodb-streams-webhook
  bin="$BUILD_DIR/bin/dynamodb-streams-webhook"
fi
command -v wrk >/dev/null || { echo "wrk is not installed: scripts/install-deps.sh --test" >&2; exit 1; }

exec /usr/bin/python3 test/server/serve/soak_test.py "$bin" --requests "$requests" \
  --max-seconds "$max_seconds" --threads "$threads"
