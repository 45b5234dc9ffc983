# Sourced by the benchmark scripts (bench/load.sh, bench/audit.sh).

# release_binary SCRIPT BUILD: prints the path of the binary to benchmark: build-release/'s
# (configured and built first when BUILD is 1), or exits 2 with SCRIPT's name when there is none.
release_binary() {
  local script=$1 build=$2 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local bin="$root/build-release/bin/dynamodb-streams-webhook"
  if [ "$build" = 1 ]; then
    echo "== building Release in build-release/" >&2
    cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
      cmake --build "$root/build-release" -j"$(nproc)" --target dynamodb-streams-webhook >/dev/null ||
      { echo "$script: the Release build failed" >&2; exit 2; }
  fi
  [ -x "$bin" ] || { echo "$script: no binary at $bin" >&2; exit 2; }
  echo "$bin"
}
