#!/usr/bin/env bash
# Makes a development CA and a serving certificate for the webhook, with every name the
# kube-apiserver or a local client may use: <svc>, <svc>.<ns>, <svc>.<ns>.svc,
# <svc>.<ns>.svc.cluster.local, localhost and 127.0.0.1.
#
# Usage: certs/make-dev-certs.sh [OUT_DIR] [--service NAME] [--namespace NS] [--days N]
#                                [--client] [--new-ca] [--world-readable]
#   OUT_DIR      where to write (default: ./dev-certs)
#   --service    service name (default dynamodb-streams-webhook)
#   --namespace  namespace (default dynamodb-streams-webhook)
#   --days       validity of the serving certificate (default 365)
#   --client     also make client.crt/client.key (clientAuth), for --client-ca-file
#   --new-ca     replace an existing CA in OUT_DIR (by default it is reused, so that a new serving
#                certificate stays trusted by the same caBundle, like a cert-manager renewal)
#   --world-readable  tls.key (and client.key) mode 0644 instead of 0600, so that the image's
#                user (uid 65532) can read them when OUT_DIR is mounted into a container
#
# Writes: ca.crt ca.key tls.crt tls.key [client.crt client.key] and ca-bundle.b64 (the base64 CA
# for a webhook configuration's caBundle). Development only: keys are unencrypted; ca.key stays 0600.
set -euo pipefail

out="./dev-certs"
svc="dynamodb-streams-webhook"
ns="dynamodb-streams-webhook"
days=365
client=0
new_ca=0
key_mode=600
while [ $# -gt 0 ]; do
  case "$1" in
    --service) svc="${2:?--service needs a value}"; shift 2 ;;
    --service=*) svc="${1#*=}"; shift ;;
    --namespace) ns="${2:?--namespace needs a value}"; shift 2 ;;
    --namespace=*) ns="${1#*=}"; shift ;;
    --days) days="${2:?--days needs a value}"; shift 2 ;;
    --days=*) days="${1#*=}"; shift ;;
    --client) client=1; shift ;;
    --new-ca) new_ca=1; shift ;;
    --world-readable) key_mode=644; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "make-dev-certs: unknown option $1" >&2; exit 2 ;;
    *) out="$1"; shift ;;
  esac
done
case "$days" in ''|*[!0-9]*) echo "make-dev-certs: --days must be a number" >&2; exit 2 ;; esac
command -v openssl >/dev/null || { echo "make-dev-certs: openssl is not installed" >&2; exit 1; }

mkdir -p "$out"
cd "$out"
umask 077
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [ "$new_ca" = 1 ] || [ ! -s ca.crt ] || [ ! -s ca.key ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=${svc} development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.crt 2>/dev/null
fi

# Serving certificate.
cat > "$tmp/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:${svc},DNS:${svc}.${ns},DNS:${svc}.${ns}.svc,DNS:${svc}.${ns}.svc.cluster.local,DNS:localhost,IP:127.0.0.1
EXT
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/tls.key" 2>/dev/null
openssl req -new -key "$tmp/tls.key" -subj "/CN=${svc}.${ns}.svc" -out "$tmp/tls.csr" 2>/dev/null
openssl x509 -req -in "$tmp/tls.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
  -days "$days" -sha256 -extfile "$tmp/server.ext" -out "$tmp/tls.crt" 2>/dev/null
chmod "$key_mode" "$tmp/tls.key"
# Replace both files only once both exist (a running server may be watching them).
mv -f "$tmp/tls.key" tls.key
mv -f "$tmp/tls.crt" tls.crt

if [ "$client" = 1 ]; then
  cat > "$tmp/client.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
EXT
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out client.key 2>/dev/null
  openssl req -new -key client.key -subj "/CN=kube-apiserver-webhook-client" -out "$tmp/client.csr" 2>/dev/null
  openssl x509 -req -in "$tmp/client.csr" -CA ca.crt -CAkey ca.key \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -sha256 -extfile "$tmp/client.ext" \
    -out client.crt 2>/dev/null
fi

base64 -w0 ca.crt > ca-bundle.b64
chmod 644 ca.crt tls.crt ca-bundle.b64
if [ "$client" = 1 ]; then chmod 644 client.crt; chmod "$key_mode" client.key; fi
echo "make-dev-certs: wrote $(pwd)/{ca.crt,tls.crt,tls.key$([ "$client" = 1 ] && echo ,client.crt,client.key)} for ${svc}.${ns}.svc" >&2
