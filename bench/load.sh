#!/usr/bin/env bash
# End-to-end load benchmark of `dynamodb-streams-webhook serve`, in one command:
# builds Release (build-release/), makes development certificates, starts the server on
# 127.0.0.1, and drives POST /mutate with wrk over TLS keep-alive:
#   basic   the seed's basic-usage review (one trait to default, ~1.2 KB) at concurrency 1, 8, 64
#   large   300 components, each with a streams trait (~250 KB), at concurrency 1, 8, 64
#   stall   basic at concurrency 8 while 2 other connections keep posting 1.5 MiB reviews: the
#           basic p99 here against the plain c=8 one shows whether big reviews stall others
# For each run it prints requests/s, p50, p99, socket errors + non-2xx answers, the server's RSS
# after the run and its CPU time per request (utime+stime from /proc/<pid>/stat, all threads).
#
# Usage: bench/load.sh [--seconds N] [--bin PATH] [--no-build] [--only basic|large|stall]
#   --seconds N   length of each wrk run (default 5; CI smoke uses 1)
#   --bin PATH    benchmark this binary instead of building one
#   --no-build    use build-release/bin/dynamodb-streams-webhook as it is
# Exits 1 when any run saw a socket error or a non-2xx answer, 2 when it could not run; never
# because of speed. Loopback only; every process it starts is stopped on exit.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
secs=5
bin=""
build=1
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) secs="${2:?--seconds needs a value}"; shift 2 ;;
    --bin) bin="${2:?--bin needs a value}"; build=0; shift 2 ;;
    --no-build) build=0; shift ;;
    --only) only="${2:?--only needs basic, large or stall}"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "load.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$secs" in ''|*[!0-9]*|0) echo "load.sh: --seconds must be a whole number >= 1" >&2; exit 2 ;; esac
case "$only" in ''|basic|large|stall) ;; *) echo "load.sh: --only takes basic, large or stall" >&2; exit 2 ;; esac
for tool in wrk curl openssl; do
  command -v "$tool" >/dev/null || { echo "load.sh: $tool is not installed (scripts/install-deps.sh)" >&2; exit 2; }
done
py=/usr/bin/python3

# shellcheck source=bench/common.sh
. "$root/bench/common.sh"
if [ -z "$bin" ]; then
  bin=$(release_binary load.sh "$build") || exit 2
fi
[ -x "$bin" ] || { echo "load.sh: no binary at $bin" >&2; exit 2; }

work=$(mktemp -d)
server_pid=""
bg_pids=()
cleanup() {
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Certificates: the repository's dev-cert script, or plain openssl if it is missing.
if [ -x "$root/certs/make-dev-certs.sh" ]; then
  "$root/certs/make-dev-certs.sh" "$work/certs" 2>/dev/null || { echo "load.sh: make-dev-certs.sh failed" >&2; exit 2; }
else
  mkdir -p "$work/certs"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/certs/tls.key" -out "$work/certs/tls.crt" 2>/dev/null || exit 2
fi

"$py" "$here/make_review.py" >"$work/basic.json"
"$py" "$here/make_review.py" 300 >"$work/large.json"
"$py" "$here/make_review.py" 1900 >"$work/huge.json"
for r in basic large huge; do
  cat >"$work/$r.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/$r.json", "rb"); wrk.body = f:read("*a"); f:close()
LUA
done

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --tls-cert-file "$work/certs/tls.crt" --tls-private-key-file "$work/certs/tls.key" \
  --bind-address 127.0.0.1 --port "$port" --shutdown-delay 0s --shutdown-timeout 3s \
  >"$work/server.log" 2>&1 &
server_pid=$!
url="https://127.0.0.1:$port"
for _ in $(seq 100); do curl -sk -o /dev/null "$url/healthz" && break; sleep 0.1; done
curl -sk -o /dev/null "$url/healthz" || { echo "load.sh: the server did not come up:" >&2; tail -5 "$work/server.log" >&2; exit 2; }

idle_rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")

# Every review must get a real answer before it is timed.
for r in basic large huge; do
  ans=$(curl -sk "$url/mutate" -H 'Content-Type: application/json' --data-binary @"$work/$r.json")
  if ! grep -q '"allowed":true' <<<"$ans" || ! grep -q '"patchType":"JSONPatch"' <<<"$ans"; then
    echo "load.sh: no patched answer for the $r review: ${ans:0:200}" >&2
    exit 2
  fi
done

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); ${secs}s per run; binary $bin"
echo "idle RSS after start: $(( idle_rss / 1024 )) MiB"
printf '%-7s %5s %10s %10s %10s %8s %8s %12s\n' review conc req/s p50 p99 errors rss_MiB cpu_us/req
failed=0

# wrk_run REVIEW CONC [LABEL]: one timed run, one result line.
wrk_run() {
  local review=$1 conc=$2 label=${3:-$1} out t0 t1 reqs errs non2xx
  t0=$(cpu_ticks)
  out=$(timeout $((secs + 20)) wrk -t1 -c"$conc" -d"${secs}s" --timeout 5s --latency \
    -s "$work/$review.lua" "$url/mutate" 2>&1)
  t1=$(cpu_ticks)
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  errs=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  errs=$(( ${errs:-0} + ${non2xx:-0} ))
  if [ -z "$reqs" ] || [ "$reqs" = 0 ]; then
    echo "load.sh: wrk gave no result for $label c=$conc:" >&2
    echo "$out" >&2
    failed=1
    return
  fi
  [ "$errs" -gt 0 ] && failed=1
  printf '%-7s %5s %10s %10s %10s %8s %8s %12s\n' "$label" "$conc" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
    "$errs" "$(( $(rss_kib) / 1024 ))" \
    "$(awk -v d=$((t1 - t0)) -v hz="$clk" -v n="$reqs" 'BEGIN {printf "%.1f", d / hz / n * 1e6}')"
}

if [ -z "$only" ] || [ "$only" = basic ]; then
  for c in 1 8 64; do wrk_run basic "$c"; done
fi
if [ -z "$only" ] || [ "$only" = large ]; then
  for c in 1 8 64; do wrk_run large "$c"; done
fi
if [ -z "$only" ] || [ "$only" = stall ]; then
  # Two connections posting 1.5 MiB reviews back to back for the whole run, beside basic c=8.
  timeout $((secs + 20)) wrk -t1 -c2 -d"$((secs + 1))s" --timeout 10s -s "$work/huge.lua" "$url/mutate" \
    >"$work/huge.out" 2>&1 &
  bg_pids+=($!)
  sleep 0.5
  wrk_run basic 8 "stall"
  wait "${bg_pids[@]}" 2>/dev/null
  bg_pids=()
  huge_reqs=$(awk '/requests in/ {print $1}' "$work/huge.out")
  huge_errs=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10} /Non-2xx/ {print $NF}' "$work/huge.out" |
    awk '{s += $1} END {print s + 0}')
  echo "stall: the 1.5 MiB reviews beside it: ${huge_reqs:-0} answered, mean latency $(awk '$1=="Latency" {print $2}' "$work/huge.out"), $huge_errs errors"
  if [ -z "$huge_reqs" ] || [ "$huge_reqs" = 0 ] || [ "$huge_errs" -gt 0 ]; then failed=1; fi
fi

echo "RSS after the runs: $(( $(rss_kib) / 1024 )) MiB; server CPU total $(awk -v t="$(cpu_ticks)" -v hz="$clk" 'BEGIN {printf "%.2f", t / hz}') s"
if [ "$failed" != 0 ]; then
  echo "load.sh: some runs had errors or non-2xx answers (server log tail below)" >&2
  tail -5 "$work/server.log" >&2
  exit 1
fi
