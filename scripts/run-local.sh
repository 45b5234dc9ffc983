#!/usr/bin/env bash
# Runs the webhook locally on a fresh Debian/Ubuntu machine: installs the dependencies, builds,
# makes development certificates and starts `serve` on https://localhost:8443 (Ctrl-C stops it).
# Prints a curl command that sends the basic-usage example as an AdmissionReview.
#
# Usage: scripts/run-local.sh [extra serve flags...]     e.g. scripts/run-local.sh --log-level debug
# Environment: PORT (default 8443), BUILD_DIR (default build), SKIP_DEPS=1 to skip apt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
port="${PORT:-8443}"
build="${BUILD_DIR:-build}"

if [ "${SKIP_DEPS:-0}" != 1 ]; then
  scripts/install-deps.sh --build
  # The certificate script needs openssl; the printed commands (and the README's) curl and
  # python3.
  if ! command -v openssl >/dev/null || ! command -v curl >/dev/null || ! command -v python3 >/dev/null; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends openssl curl python3
  fi
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target dynamodb-streams-webhook
certs/make-dev-certs.sh "$build/dev-certs"

review="test/fixtures/reviews/basic-usage.json"
cat <<MSG

Webhook starting on https://localhost:${port} (Ctrl-C stops it). In another terminal, send the
basic-usage example as an AdmissionReview:

  curl --cacert $build/dev-certs/ca.crt -H 'Content-Type: application/json' --data-binary @$review https://localhost:${port}/mutate

and to see the JSON Patch it returns:

  curl -s --cacert $build/dev-certs/ca.crt -H 'Content-Type: application/json' --data-binary @$review https://localhost:${port}/mutate | python3 -c 'import sys,json,base64; r=json.load(sys.stdin)["response"]; print(json.dumps(r, indent=2)); print(base64.b64decode(r.get("patch","")).decode())'

Probes and metrics: curl --cacert $build/dev-certs/ca.crt https://localhost:${port}/readyz  (/healthz, /metrics)

MSG
exec "$build/bin/dynamodb-streams-webhook" serve \
  --tls-cert-file "$build/dev-certs/tls.crt" --tls-private-key-file "$build/dev-certs/tls.key" \
  --port "$port" --log-format text "$@"
