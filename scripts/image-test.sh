#!/usr/bin/env bash
# Builds the repository's Dockerfile for real and runs the image it produced, on a machine with no
# registry access and no container engine:
#
#   1. base images: `debian:bookworm` and `debian:bookworm-slim` made locally from a debootstrap
#      root filesystem the way Debian's official images are made (debuerreotype: minbase, apt's
#      docker-clean settings, dpkg path excludes on slim, no leftover .debs or apt lists);
#      cached between runs (DSW_BASE_MAX_AGE_DAYS);
#   2. `buildah build --pull=never` of ./Dockerfile, so FROM can only mean those local images;
#   3. the image's config (user 65532, port = the chart's server.port, the entrypoint) and size;
#   4. every shared library of the binary resolves inside the image (ldd run in the image);
#   5. `serve` started from the image's root filesystem, mounted read-only, as uid/gid 65532, with
#      certificates laid out like the chart's Secret volume (tls.crt -> ..data/tls.crt, mode
#      0440, group 65532): /readyz, /mutate and /validate answer correctly, a renewed
#      certificate (swapped `..data` symlink) is picked up, and SIGTERM drains and exits 0.
#
# Usage: scripts/image-test.sh            (needs root: re-executes itself with sudo otherwise)
# Environment:
#   DSW_IMAGE_CACHE        cache directory (default /var/cache/dsw-image-test): the base root
#                          filesystems, buildah's own storage (so the layer cache survives) and a
#                          lock that serialises concurrent runs on one machine
#   DSW_BASE_MAX_AGE_DAYS  rebuild the cached base images when older than this (default 7)
#   DEBIAN_MIRROR          default http://deb.debian.org/debian
#   DEBIAN_SECURITY_MIRROR default http://deb.debian.org/debian-security
#   IMAGE_BUDGET_MB        largest acceptable image, in MB of 10^6 bytes (default 100)
#   IMAGE_ADDED_BUDGET_MB  largest acceptable addition to debian:bookworm-slim (default 20)
#   BUILDAH_ISOLATION      buildah's isolation for RUN steps (default chroot, see below)
#
# Everything it creates (containers, mounts, the server) is removed on exit, also on failure or
# Ctrl-C: mounts are made in private mount namespaces (unshare), which vanish with their process.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [ "$(id -u)" -ne 0 ]; then
  # debootstrap, chroot and mounts need root.
  command -v sudo >/dev/null || { echo "image-test: needs root, and sudo is not installed" >&2; exit 1; }
  exec sudo --preserve-env=DSW_IMAGE_CACHE,DSW_BASE_MAX_AGE_DAYS,DEBIAN_MIRROR,DEBIAN_SECURITY_MIRROR,IMAGE_BUDGET_MB,IMAGE_ADDED_BUDGET_MB,BUILDAH_ISOLATION "$0" "$@"
fi

cache="${DSW_IMAGE_CACHE:-/var/cache/dsw-image-test}"
max_age_days="${DSW_BASE_MAX_AGE_DAYS:-7}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
budget_mb="${IMAGE_BUDGET_MB:-100}"
added_budget_mb="${IMAGE_ADDED_BUDGET_MB:-20}"
# chroot isolation runs the Dockerfile's RUN steps with chroot(2) and private mounts: no OCI
# runtime, no cgroups, the host's network. The default (oci) isolation needs crun or runc (not
# installed: buildah only recommends them) and cgroups they accept; on this project's CI
# machines (a cgroup v1/v2 hybrid) crun refuses with "cgroups in hybrid mode not supported".
# The Dockerfile does nothing that depends on the isolation.
isolation="${BUILDAH_ISOLATION:-chroot}"
image="localhost/dynamodb-streams-webhook:image-test"
base_repo="docker.io/library/debian"  # what `FROM debian:...` resolves to (shortnames.conf)

t0=$SECONDS
step() { printf '\n-- image-test: %s (%d s)\n' "$*" "$((SECONDS - t0))"; }
die() { echo "image-test: FAIL: $*" >&2; exit 1; }

step "dependencies"
scripts/install-deps.sh --image

mkdir -p "$cache"
exec 9>"$cache/lock"
if ! flock -n 9; then
  echo "image-test: another run holds $cache/lock; waiting (at most 30 min)"
  flock -w 1800 9 || die "timed out waiting for $cache/lock"
fi

# buildah with its own storage under the cache: nothing touches the machine's default store
# (other users' images), and the layer cache (the build stage's packages) survives between runs.
# overlay needs a filesystem that is not itself overlayfs; vfs works everywhere (slower).
driver=overlay
[ "$(findmnt -no FSTYPE -T "$cache" 2>/dev/null || true)" = overlay ] && driver=vfs
bah() { buildah --root "$cache/storage" --runroot "$cache/run" --storage-driver "$driver" "$@"; }

# With the lock held, anything left in the cache's work area is from a run that was killed.
rm -rf "$cache"/work.*
work="$(mktemp -d "$cache/work.XXXXXX")"
ctr=""
server_pid=""
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$ctr" ]; then
    bah umount "$ctr" >/dev/null 2>&1 || true
    bah rm "$ctr" >/dev/null 2>&1 || true
  fi
  # The image and its build stage stay tagged (the next run's layer cache; inspect them with
  # `buildah --root $cache/storage --runroot $cache/run images`); earlier runs' images go.
  bah rmi --prune >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# With the lock held, any container in this storage is a leftover of a run that was killed.
bah umount --all >/dev/null 2>&1 || true
bah rm --all >/dev/null 2>&1 || true

# ---------------------------------------------------------------------------------------------
# 1. Base images

# chroot with /proc and /dev mounted in a private mount namespace (gone when the command ends).
in_root() {  # DIR CMD...
  # shellcheck disable=SC2016  # the inner script's own variables
  unshare --mount --propagation private -- /bin/sh -c '
    r=$1; shift
    mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && exec chroot "$r" "$@"' sh "$@"
}

make_rootfs() {  # DIR: debootstrap + the official images' configuration (debuerreotype)
  local r=${1:?}
  # debootstrap mounts /proc and /sys in the target; a private namespace drops them even if it
  # is interrupted.
  unshare --mount --propagation private -- \
    debootstrap --variant=minbase --merged-usr bookworm "$r" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -f "$r/etc/apt/sources.list"
  cat > "$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  printf '#!/bin/sh\nexit 101\n' > "$r/usr/sbin/policy-rc.d"
  chmod 0755 "$r/usr/sbin/policy-rc.d"
  echo 'force-unsafe-io' > "$r/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' > "$r/etc/apt/apt.conf.d/docker-autoremove-suggests"
  local clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";'
  cat > "$r/etc/apt/apt.conf.d/docker-clean" <<EOF
DPkg::Post-Invoke { $clean };
APT::Update::Post-Invoke { $clean };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::GzipIndexes "true";' > "$r/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Acquire::Languages "none";' > "$r/etc/apt/apt.conf.d/docker-no-languages"
  # the point release's security and stable updates, as in the official image
  in_root "$r" /usr/bin/env DEBIAN_FRONTEND=noninteractive /bin/sh -c \
    'apt-get update -qq && apt-get full-upgrade -y -qq >/dev/null' || die "apt-get full-upgrade in the base failed"
  # what debuerreotype leaves out of the tarball: caches, lists, logs with timestamps, host data
  rm -rf "${r:?}"/var/cache/apt/* "${r:?}"/var/lib/apt/lists/* "${r:?}"/dev/* "${r:?}"/proc/* \
    "${r:?}"/sys/* "${r:?}"/tmp/* "${r:?}"/run/mount
  rm -f "${r:?}"/var/log/dpkg.log "$r"/var/log/bootstrap.log "$r"/var/log/alternatives.log \
    "$r"/var/log/apt/history.log "$r"/var/log/apt/term.log "$r"/var/cache/ldconfig/aux-cache \
    "$r"/etc/apt/apt.conf.d/01autoremove-kernels "$r"/etc/machine-id "$r"/etc/resolv.conf "$r"/etc/hostname
  ! ls "$r"/var/cache/apt/archives/*.deb >/dev/null 2>&1 || die "leftover .debs in the base"
}

slimify() {  # DIR: debuerreotype-slimify: dpkg path excludes, and the excluded files removed
  local r=${1:?}
  # (quoted: these are dpkg's and find's patterns, not the host's files)
  local excludes=('/usr/share/doc/*' '/usr/share/groff/*' '/usr/share/info/*' '/usr/share/linda/*'
                  '/usr/share/lintian/overrides/*' '/usr/share/locale/*' '/usr/share/man/*')
  local includes=('/usr/share/doc/*/copyright' '/usr/share/doc/kde/HTML/C/*' '/usr/share/gnome/help/*/C/*'
                  '/usr/share/locale/all_languages' '/usr/share/locale/currency/*' '/usr/share/locale/l10n/*'
                  '/usr/share/locale/languages' '/usr/share/locale/locale.alias' '/usr/share/omf/*/*-C.emf')
  {
    echo '# This is the "slim" variant of the Debian base image.'
    echo '# Many files which are normally unnecessary in containers are excluded,'
    echo '# and this configuration file keeps them that way.'
    printf 'path-exclude %s\n' "${excludes[@]}"
    printf 'path-include %s\n' "${includes[@]}"
  } > "$r/etc/dpkg/dpkg.cfg.d/docker"
  local keep=() p
  for p in "${includes[@]}"; do keep+=(${keep[@]:+-o} -path "$p"); done
  for p in "${excludes[@]}"; do
    local d="${p%/\*}"
    [ -d "$r$d" ] || continue
    # inside the root, so that absolute symlinks resolve there and not on the host
    chroot "$r" find "$d" -depth -mindepth 1 -not \( "${keep[@]}" \) -not \( -type d -o -type l \) -delete
    # then empty directories and dangling symlinks, until a pass removes nothing
    while [ "$(chroot "$r" find "$d" -depth -mindepth 1 \( -empty -o -xtype l \) -delete -printf . | wc -c)" -gt 0 ]; do :; done
  done
}

import_base() {  # TARBALL TAG STAMP
  local c
  c="$(bah from scratch)"
  bah add "$c" "$1" / >/dev/null
  bah config --os linux --arch "$(dpkg --print-architecture)" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd '["bash"]' \
    --label dsw.image-test.base="$3" "$c"
  bah commit --rm -q "$c" "$base_repo:$2" >/dev/null
}

stamp_file="$cache/base/stamp"
stamp="$(cat "$stamp_file" 2>/dev/null || true)"
if [ -z "$stamp" ] || [ ! -s "$cache/base/bookworm.tar" ] || [ ! -s "$cache/base/bookworm-slim.tar" ] ||
   [ -n "$(find "$stamp_file" -mtime +"$max_age_days" 2>/dev/null)" ] ||
   [ "$(sed -n 2p "$stamp_file")" != "$mirror $security_mirror" ]; then
  step "making the base root filesystems with debootstrap (cached in $cache/base)"
  rm -rf "$cache/base"
  mkdir -p "$work/base"
  make_rootfs "$work/base/bookworm"
  cp -a "$work/base/bookworm" "$work/base/bookworm-slim"
  slimify "$work/base/bookworm-slim"
  for v in bookworm bookworm-slim; do
    tar --numeric-owner --xattrs -C "$work/base/$v" -cf "$work/base/$v.tar" .
  done
  mkdir -p "$cache/base"
  mv "$work/base/bookworm.tar" "$work/base/bookworm-slim.tar" "$cache/base/"
  rm -rf "$work/base"
  printf '%s\n%s\n' "$(date -u +%Y%m%dT%H%M%SZ)" "$mirror $security_mirror" > "$stamp_file"
  stamp="$(cat "$stamp_file")"
else
  step "reusing the base root filesystems of $(head -1 "$stamp_file") (DSW_BASE_MAX_AGE_DAYS=$max_age_days)"
fi
stamp_id="$(head -1 "$stamp_file")"
for v in bookworm bookworm-slim; do
  have="$(bah inspect --type image --format '{{index .OCIv1.Config.Labels "dsw.image-test.base"}}' \
          "$base_repo:$v" 2>/dev/null || true)"
  if [ "$have" != "$stamp_id" ]; then
    step "importing $base_repo:$v"
    import_base "$cache/base/$v.tar" "$v" "$stamp_id"
  fi
done

# ---------------------------------------------------------------------------------------------
# 2. Build the Dockerfile

step "buildah build --pull=never --isolation $isolation ./Dockerfile"
# --layers: the build stage's package layer is reused while install-deps.sh and the base do not
# change. Build output goes to a log, shown when the build fails.
if ! timeout 2400 buildah --root "$cache/storage" --runroot "$cache/run" --storage-driver "$driver" \
     build --pull=never --isolation "$isolation" --layers -f Dockerfile -t "$image" . > "$work/build.log" 2>&1; then
  tail -40 "$work/build.log" >&2
  die "buildah build failed (log above)"
fi
grep -E '^(STEP|COMMIT)' "$work/build.log" | sed 's/^/   /' || true
# Name the build stage too, so that pruning unused images at the end keeps its layers as the
# cache of the next run (an untagged intermediate image without children counts as unused). All
# of its steps come from the cache just made.
bah build --pull=never --isolation "$isolation" --layers --target build -t "$image-build" . > "$work/build-stage.log" 2>&1 ||
  { tail -20 "$work/build-stage.log" >&2; die "tagging the build stage failed"; }

# ---------------------------------------------------------------------------------------------
# 3. Config and size

step "image config and size"
bah inspect --type image "$image" > "$work/inspect.json"
size_of() { bah images --format '{{.Size}}' "$1" | head -1; }
/usr/bin/python3 test/image/probe.py config --inspect "$work/inspect.json" \
  --values charts/dynamodb-streams-webhook/values.yaml \
  --size "$(size_of "$image")" --base-size "$(size_of "$base_repo:bookworm-slim")" \
  --budget-mb "$budget_mb" --added-budget-mb "$added_budget_mb" || die "the image's config or size"

# ---------------------------------------------------------------------------------------------
# 4. Shared libraries, inside the image

step "the binary's shared libraries, resolved inside the image"
ctr="$(bah from --pull=never "$image")"
rootfs="$(bah mount "$ctr")"
bin=/usr/local/bin/dynamodb-streams-webhook
# ldd of the image (libc-bin is essential, so every Debian image has it), run in the image: it
# reports what the image's own dynamic loader finds, not what the build machine has.
ldd_out="$(chroot "$rootfs" /usr/bin/ldd "$bin" 2>&1)" || true
printf '%s\n' "$ldd_out" | sed 's/^/   /'
if grep -Eq 'not found|not a dynamic|version .* not found' <<<"$ldd_out" || ! grep -q '=> /' <<<"$ldd_out"; then
  die "a shared library of $bin is missing from the image: add its package to the runtime list of scripts/install-deps.sh"
fi
echo "   ok: every shared library resolves"
[ "$(stat -c '%u %a' "$rootfs$bin")" = "0 755" ] || die "$bin is not root-owned mode 755: $(stat -c '%U %a' "$rootfs$bin")"
if readelf -S "$rootfs$bin" | grep -Eq '\.symtab|\.debug_'; then die "$bin is not stripped"; fi
echo "   ok: $bin is root-owned, mode 755, stripped ($(stat -c %s "$rootfs$bin") bytes)"

# ---------------------------------------------------------------------------------------------
# 5. Run it

step "serve from the image as uid 65532, certificates mounted as the chart mounts them"
# Why not `buildah run` or a container engine: there is no engine here (no daemon, no OCI
# runtime), and `buildah run --isolation chroot` answers SIGTERM by killing the process outright
# (SIGKILL), so a drain could not be observed. Instead, what the kubelet and the runtime would set up, in a private mount namespace
# (undone when the server exits): the image's root filesystem read-only (the chart's
# readOnlyRootFilesystem), /proc, a minimal /dev, the certificate volume read-only at the
# chart's mountPath; then chroot as 65532:65532 with the fsGroup 65532 as supplementary group,
# and only the image's environment. The network is the host's: the server listens on loopback.
ca_dir="$work/certs"
certs/make-dev-certs.sh "$ca_dir" 2>/dev/null
mkdir -p "$work/first" && mv "$ca_dir/tls.crt" "$ca_dir/tls.key" "$work/first/"
certs/make-dev-certs.sh "$ca_dir" 2>/dev/null  # the renewal: same CA, a new serving certificate
probe() { /usr/bin/python3 test/image/probe.py "$@"; }
probe volume --dir "$work/volume" --cert "$work/first/tls.crt" --key "$work/first/tls.key"
mountpath=/etc/dynamodb-streams-webhook/tls  # charts/dynamodb-streams-webhook/templates/deployment.yaml
mkdir -p "$rootfs$mountpath"  # the runtime creates mount points in the container's writable layer
mapfile -t image_env < <(probe env --inspect "$work/inspect.json")
port="$(probe free-port)"
# shellcheck disable=SC2016  # the inner script's own variables
unshare --mount --propagation private -- /bin/sh -c '
  set -e
  r=$1 vol=$2 mnt=$3; shift 3
  mount --bind "$r" "$r"
  mount -t proc proc "$r/proc"
  mount -t tmpfs -o mode=755,nosuid,size=64k tmpfs "$r/dev"
  for d in null zero full random urandom; do : > "$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
  mount --bind -o ro "$vol" "$r$mnt"
  mount -o remount,bind,ro "$r"
  exec "$@"' sh "$rootfs" "$work/volume" "$mountpath" \
  /usr/bin/env -i "${image_env[@]}" /usr/sbin/chroot --userspec=65532:65532 --groups=65532 "$rootfs" \
  "$bin" serve --port "$port" --bind-address 127.0.0.1 \
  --tls-cert-file "$mountpath/tls.crt" --tls-private-key-file "$mountpath/tls.key" \
  --tls-min-version 1.2 --log-level info --log-format json --shutdown-delay 2s --shutdown-timeout 10s \
  --applies-to aws-dynamodb-kro --unknown-properties deny --view-type-change deny \
  > "$work/serve.log" 2>&1 9>&- &
server_pid=$!
probe_rc=0
probe serve --port "$port" --ca "$ca_dir/ca.crt" --pid "$server_pid" --volume "$work/volume" \
  --renew-cert "$ca_dir/tls.crt" --renew-key "$ca_dir/tls.key" || probe_rc=$?
# The probe ends with SIGTERM (unless it failed early): the server drains and exits 0 within
# --shutdown-timeout (10 s).
exited() {  # PID: gone, or a zombie waiting for `wait`
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
  [ -z "$state" ] || [ "$state" = Z ]
}
if [ "$probe_rc" != 0 ] && ! exited "$server_pid"; then kill -TERM "$server_pid"; fi
t_term=$SECONDS
while ! exited "$server_pid" && [ $((SECONDS - t_term)) -lt 15 ]; do sleep 0.2; done
exited "$server_pid" || kill -KILL "$server_pid"
serve_rc=0
wait "$server_pid" || serve_rc=$?
server_pid=""
echo "   server log:"
sed 's/^/     /' "$work/serve.log"
[ "$probe_rc" = 0 ] || die "the server did not answer as it should (checks above)"
[ "$serve_rc" = 0 ] || die "after SIGTERM the server exited $serve_rc, not 0"
echo "   ok: after SIGTERM the server drained and exited 0"

step "PASS: the image builds, has every library it needs, and serves as the chart runs it"
