#!/usr/bin/env bash
# Benchmark of `dynamodb-streams-webhook audit --once`: its peak memory (the kernel's high-water
# mark of the process, ru_maxrss) and its duration, against the apiserver stand-in
# (test/server/audit/apiserver_standin.py, script mode) holding N generated Applications spread
# over M namespaces (every 7th invalid, every 5th of the others with a warning only), TLS on
# 127.0.0.1. The first run creates the M reports, the next ones update them (read, PUT).
#
# Usage: bench/audit.sh [--apps N:M] [--runs K] [--page-size P] [--bin PATH] [--no-build]
#   --apps N:M     Applications and namespaces (default 6000:60, the goal: within 64 MiB)
#   --runs K       audits in a row against the same stand-in (default 3)
#   --page-size P  the audit's --page-size (default 500)
#   --bin PATH     benchmark this binary instead of building one (build-release/)
#   --no-build     use build-release/bin/dynamodb-streams-webhook as it is
# Prints one line per run: scan duration (the audit's own log line), wall time, the audit's CPU
# time (user + system), peak RSS, exit status, reports written. The durations include the time
# the stand-in (Python) takes to answer; the CPU time is the audit's alone. Exits 1 when a
# run did not complete its scan (exit status not 0), 2 when it could not run; never because of
# speed or memory. Loopback only; every process it starts is stopped on exit.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
apps="6000:60"
runs=3
page=500
bin=""
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --apps) apps="${2:?--apps needs N:M}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --page-size) page="${2:?--page-size needs a number}"; shift 2 ;;
    --bin) bin="${2:?--bin needs a value}"; build=0; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "audit.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$apps" in *[!0-9:]*|:*|*:|*:*:*) echo "audit.sh: --apps must be N:M" >&2; exit 2 ;; esac
case "$runs" in ''|*[!0-9]*|0) echo "audit.sh: --runs must be a whole number >= 1" >&2; exit 2 ;; esac
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# shellcheck source=bench/common.sh
. "$root/bench/common.sh"
if [ -z "$bin" ]; then
  bin=$(release_binary audit.sh "$build") || exit 2
fi
[ -x "$bin" ] || { echo "audit.sh: no binary at $bin" >&2; exit 2; }

work=$(mktemp -d)
standin_pid=""
cleanup() {
  if [ -n "$standin_pid" ]; then
    kill -TERM "$standin_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$standin_pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$standin_pid" 2>/dev/null
    wait "$standin_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

bash "$root/certs/make-dev-certs.sh" "$work/certs" >/dev/null 2>&1 ||
  { echo "audit.sh: cannot make certificates" >&2; exit 2; }
token=bench-token
"$py" "$root/test/server/audit/apiserver_standin.py" --cert "$work/certs/tls.crt" \
  --key "$work/certs/tls.key" --token "$token=audit" --allow 'audit=*,*,*' \
  --generate-applications "$apps" --invalid-every 7 --warning-every 5 \
  --port-file "$work/port" 2>"$work/standin.log" &
standin_pid=$!
for _ in $(seq 1200); do [ -s "$work/port" ] && break; kill -0 "$standin_pid" 2>/dev/null || break; sleep 0.1; done
[ -s "$work/port" ] || { echo "audit.sh: the stand-in did not start:" >&2; cat "$work/standin.log" >&2; exit 2; }
port=$(cat "$work/port")
cat >"$work/kubeconfig" <<EOF
apiVersion: v1
kind: Config
current-context: bench
clusters: [{name: standin, cluster: {server: "https://localhost:$port", certificate-authority: certs/ca.crt}}]
users: [{name: audit, user: {token: $token}}]
contexts: [{name: bench, context: {cluster: standin, user: audit}}]
EOF

echo "audit of $apps (Applications:namespaces), page size $page, $runs run(s); binary $bin"
printf '%-4s %-10s %-10s %-10s %-10s %-6s %s\n' run scan_ms wall_ms cpu_ms peak_MiB exit reports
failed=0
for i in $(seq "$runs"); do
  # ru_maxrss of exactly this child (os.wait4), in KiB on Linux.
  out=$("$py" - "$work/audit.log" "$bin" audit --kubeconfig "$work/kubeconfig" --once \
          --page-size "$page" <<'PY'
import os, subprocess, sys, time
log = open(sys.argv[1], "w")
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=log)
_, status, usage = os.wait4(p.pid, 0)
p.returncode = os.waitstatus_to_exitcode(status)
print(int((time.monotonic() - t0) * 1000), usage.ru_maxrss, p.returncode,
      int((usage.ru_utime + usage.ru_stime) * 1000))
PY
)
  read -r wall_ms rss_kib rc cpu_ms <<<"$out"
  scan=$(grep -o '"msg":"scan[^"]*".*' "$work/audit.log" | head -1)
  scan_ms=$(sed -n 's/.*"duration_ms":\([0-9]*\).*/\1/p' <<<"$scan")
  written=$(sed -n 's/.*"reports_written":\([0-9]*\).*/\1/p' <<<"$scan")
  printf '%-4s %-10s %-10s %-10s %-10s %-6s %s written\n' "$i" "${scan_ms:-?}" "$wall_ms" "$cpu_ms" \
    "$(awk -v k="$rss_kib" 'BEGIN{printf "%.1f", k/1024}')" "$rc" "${written:-?}"
  [ "$rc" = 0 ] || { failed=1; tail -3 "$work/audit.log" >&2; }
done
exit "$failed"
