#!/usr/bin/env bash
# Installs every package the project needs to build, test and run, from Debian's archive.
# Usage: scripts/install-deps.sh [--runtime-only|--build|--build-cross ARCH|--test|--image]
#   --build: compilers and -dev packages
#   --build-cross ARCH: what --build gives, to build for the Debian architecture ARCH (amd64 or
#       arm64) on this machine: Debian's cross compiler for ARCH, ARCH's -dev packages through
#       dpkg multiarch (ARCH is added as a foreign architecture) and its pkg-config wrapper
#       (used with cmake/toolchains/ARCH.cmake). When ARCH is this machine's own architecture (or
#       empty), exactly --build. The Dockerfile's build stage runs it with its TARGETARCH.
#   --test  (default): --build plus the tools the test suite uses
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
      # chart tests: ../shared/tools/helm-template builds from these Go packages, and
      # ../shared/tools/kube-validate needs python3-kubernetes; both scripts use python3-yaml
      python3-yaml python3-kubernetes golang-go golang-github-masterminds-sprig-dev
      golang-k8s-sigs-yaml-dev golang-github-xeipuuv-gojsonschema-dev)
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

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if [ -n "$foreign_arch" ] && ! dpkg --print-foreign-architectures | grep -qx "$foreign_arch"; then
  $SUDO dpkg --add-architecture "$foreign_arch"
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
