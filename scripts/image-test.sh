#!/usr/bin/env bash
# Builds the repository's Dockerfile for real, for linux/amd64 and linux/arm64, and runs the images
# it produced, on a machine with no registry access and no container engine:
#
#   0. QEMU for the other architecture: binfmt_misc mounted if it is not, and QEMU's user-mode
#      emulator registered for it (qemu-aarch64 on an amd64 machine) with the F flag if it is not
#      registered so: the kernel then opens the emulator once, so the other architecture's
#      programs run inside chroots with no copy of QEMU in them. Both are machine-wide and stay
#      after the run (idempotent: a second run changes nothing);
#   1. base images: `debian:bookworm` and `debian:bookworm-slim` for each architecture, made
#      locally from a debootstrap root filesystem the way Debian's official images are made
#      (debuerreotype: minbase, apt's docker-clean settings, dpkg path excludes on slim, no
#      leftover .debs or apt lists); the other architecture's with `debootstrap --foreign`, its
#      second stage run in the root under QEMU; each name a manifest list of the architectures'
#      images, as on Docker Hub; cached between runs (DSW_BASE_MAX_AGE_DAYS);
#   2. `buildah build --pull=never` of ./Dockerfile once per platform, all into the manifest list
#      localhost/dynamodb-streams-webhook:image-test (FROM can only mean the local images). The
#      build stage runs on this machine's platform and cross-compiles (see the Dockerfile);
#   3. then for each platform, amd64 first: the image's config (platform, user 65532, port = the
#      chart's server.port, the entrypoint) and size;
#   4. every shared library of the binary resolves inside that platform's image (ldd run in the
#      image; for arm64 under QEMU), and the binary is the platform's, root-owned and stripped;
#   5. `serve` started from the image's root filesystem, mounted read-only, as uid/gid 65532, with
#      certificates laid out like the chart's Secret volume (tls.crt -> ..data/tls.crt, mode
#      0440, group 65532): /readyz, /mutate and /validate answer correctly (also every body of
#      the fuzz corpus and regressions, to both), a renewed certificate (swapped `..data`
#      symlink) is picked up, and SIGTERM drains and exits 0. Every answer (status,
#      Content-Type, body) of the other platforms must be byte for byte the first platform's.
#
# Usage: scripts/image-test.sh            (needs root: re-executes itself with sudo otherwise)
# Environment:
#   PLATFORMS              the platforms to build and test (default linux/amd64,linux/arm64);
#                          PLATFORMS=linux/arm64 limits a run to one (then there is nothing to
#                          compare its answers with, and the run says so)
#   DSW_IMAGE_CACHE        cache directory (default /var/cache/dsw-image-test): the base root
#                          filesystems, buildah's own storage (so the layer cache survives) and a
#                          lock that serialises concurrent runs on one machine
#   DSW_BASE_MAX_AGE_DAYS  rebuild the cached base images when older than this (default 7)
#   DEBIAN_MIRROR          default http://deb.debian.org/debian
#   DEBIAN_SECURITY_MIRROR default http://deb.debian.org/debian-security
#   IMAGE_BUDGET_MB        largest acceptable image, in MB of 10^6 bytes (default 100 for amd64
#                          and 125 for arm64, whose bookworm-slim is 100 MB, not 78: Debian's
#                          arm64 programs and libraries align their segments to 64 KiB)
#   IMAGE_ADDED_BUDGET_MB  largest acceptable addition to debian:bookworm-slim (default 20)
#   BUILDAH_ISOLATION      buildah's isolation for RUN steps (default chroot, see below)
#
# Everything it creates (containers, mounts, the servers) is removed on exit, also on failure or
# Ctrl-C: mounts are made in private mount namespaces (unshare), which vanish with their process.
# What stays: the cache, the images named above, and the binfmt_misc registration (step 0).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [ "$(id -u)" -ne 0 ]; then
  # debootstrap, chroot, mounts and binfmt_misc need root.
  command -v sudo >/dev/null || { echo "image-test: needs root, and sudo is not installed" >&2; exit 1; }
  exec sudo --preserve-env=PLATFORMS,DSW_IMAGE_CACHE,DSW_BASE_MAX_AGE_DAYS,DEBIAN_MIRROR,DEBIAN_SECURITY_MIRROR,IMAGE_BUDGET_MB,IMAGE_ADDED_BUDGET_MB,BUILDAH_ISOLATION "$0" "$@"
fi

cache="${DSW_IMAGE_CACHE:-/var/cache/dsw-image-test}"
max_age_days="${DSW_BASE_MAX_AGE_DAYS:-7}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
declare -A budget_mb=([amd64]="${IMAGE_BUDGET_MB:-100}" [arm64]="${IMAGE_BUDGET_MB:-125}")
added_budget_mb="${IMAGE_ADDED_BUDGET_MB:-20}"
# chroot isolation runs the Dockerfile's RUN steps with chroot(2) and private mounts: no OCI
# runtime, no cgroups, the host's network. The default (oci) isolation needs crun or runc (not
# installed: buildah only recommends them) and cgroups they accept; on this project's CI
# machines (a cgroup v1/v2 hybrid) crun refuses with "cgroups in hybrid mode not supported".
# The Dockerfile does nothing that depends on the isolation.
isolation="${BUILDAH_ISOLATION:-chroot}"
image="localhost/dynamodb-streams-webhook:image-test"
base_repo="docker.io/library/debian"  # what `FROM debian:...` resolves to (shortnames.conf)
base_local="localhost/dsw-image-test/debian"  # the per-architecture images in its manifest lists

t0=$SECONDS
step() { printf '\n-- image-test: %s (%d s)\n' "$*" "$((SECONDS - t0))"; }
die() { echo "image-test: FAIL: $*" >&2; exit 1; }
timings=()
timed() {  # LABEL START: one line of the summary
  timings+=("$(printf '%-44s %5d s' "$1" "$((SECONDS - $2))")")
}

host_arch="$(dpkg --print-architecture)"
# amd64 first (sorted): its answers are the reference the other platform's are compared with.
mapfile -t platforms < <(tr -s ', ' '\n' <<<"${PLATFORMS:-linux/amd64,linux/arm64}" | sed '/^$/d' | sort -u)
[ ${#platforms[@]} -gt 0 ] || die "PLATFORMS is empty"
for p in "${platforms[@]}"; do
  case "$p" in linux/amd64|linux/arm64) ;; *) die "PLATFORMS: unsupported platform '$p' (linux/amd64, linux/arm64)" ;; esac
done
case "$host_arch" in amd64|arm64) ;; *) die "this machine is $host_arch; the script knows amd64 and arm64 machines" ;; esac
# the architectures whose base images a run needs: the build stage's (this machine's) and the targets'
archs=("$host_arch")
for p in "${platforms[@]}"; do [ "${p#linux/}" = "$host_arch" ] || archs+=("${p#linux/}"); done

step "dependencies"
scripts/install-deps.sh --image

# ---------------------------------------------------------------------------------------------
# The cache, its lock, buildah's storage, the clean-up

mkdir -p "$cache"
exec 9>"$cache/lock"
if ! flock -n 9; then
  echo "image-test: another run holds $cache/lock; waiting (at most 60 min)"
  flock -w 3600 9 || die "timed out waiting for $cache/lock"
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
server_pid=""
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  # With the lock held, every container in this storage is this run's: the working containers
  # below, and a build's own when it was interrupted.
  bah umount --all >/dev/null 2>&1 || true
  bah rm --all >/dev/null 2>&1 || true
  # The images, their build stages and the base images stay tagged (the next run's layer cache;
  # inspect them with `buildah --root $cache/storage --runroot $cache/run images`); earlier
  # runs' images go.
  bah rmi --prune >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# With the lock held, any container in this storage is a leftover of a run that was killed.
bah umount --all >/dev/null 2>&1 || true
bah rm --all >/dev/null 2>&1 || true
# The cache of the amd64-only script (one base per variant, $cache/base/stamp): start afresh.
if [ -e "$cache/base/stamp" ]; then
  echo "   removing the single-platform cache of an earlier version of this script"
  rm -rf "$cache/base" "$cache/storage" "$cache/run"
fi

# ---------------------------------------------------------------------------------------------
# 0. QEMU through binfmt_misc, for the other architecture (under the lock: two runs at once
# would both register)

qemu_name() { case "$1" in arm64) echo aarch64 ;; amd64) echo x86_64 ;; esac; }
binfmt=/proc/sys/fs/binfmt_misc
register_qemu() {  # ARCH
  local name entry conf
  name="qemu-$(qemu_name "$1")"
  entry="$binfmt/$name"
  conf="/usr/lib/binfmt.d/$name.conf"  # qemu-user-static's registration line, flags OPF
  if [ ! -e "$binfmt/register" ]; then
    [ -d "$binfmt" ] || modprobe binfmt_misc 2>/dev/null || true
    mount -t binfmt_misc binfmt_misc "$binfmt" || die "cannot mount binfmt_misc on $binfmt"
    echo "   mounted binfmt_misc on $binfmt"
  fi
  if [ -e "$entry" ]; then
    local interp
    interp="$(sed -n 's/^interpreter //p' "$entry")"
    if grep -qx enabled "$entry" && grep -q '^flags: .*F' "$entry" && [ -x "$interp" ]; then
      echo "   $name is registered ($interp, $(grep '^flags:' "$entry"))"
      return
    fi
    # disabled, without F (needs QEMU inside every root) or a missing interpreter
    echo "   replacing the registration of $name ($(tr '\n' ' ' < "$entry" | cut -c1-120))"
    echo -1 > "$entry"
  fi
  [ -s "$conf" ] || die "$conf is missing (package qemu-user-static)"
  grep -q ':[A-Z]*F[A-Z]*$' "$conf" || die "$conf does not register with the F flag: $(cat "$conf")"
  cat "$conf" > "$binfmt/register" || die "registering $name with binfmt_misc failed"
  echo "   registered $name: $(grep -E '^(interpreter|flags)' "$entry" | tr '\n' ' ')"
}
for a in "${archs[@]}"; do
  if [ "$a" != "$host_arch" ]; then
    step "QEMU for $a through binfmt_misc"
    register_qemu "$a"
  fi
done

# ---------------------------------------------------------------------------------------------
# 1. Base images

# chroot with /proc and /dev mounted in a private mount namespace (gone when the command ends).
in_root() {  # DIR CMD...
  # shellcheck disable=SC2016  # the inner script's own variables
  unshare --mount --propagation private -- /bin/sh -c '
    r=$1; shift
    mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && exec chroot "$r" "$@"' sh "$@"
}

make_rootfs() {  # DIR ARCH: debootstrap + the official images' configuration (debuerreotype)
  local r=${1:?} arch=${2:?} log="$work/debootstrap-$2.log"
  # debootstrap mounts /proc and /sys in the target; a private namespace drops them even if it
  # is interrupted.
  if [ "$arch" = "$host_arch" ]; then
    unshare --mount --propagation private -- \
      debootstrap --variant=minbase --merged-usr bookworm "$r" "$mirror" > "$log" 2>&1 ||
      { tail -20 "$log" >&2; die "debootstrap failed"; }
  else
    # The first stage unpacks the other architecture's packages; the second configures them,
    # running that architecture's programs in the root under QEMU (registered with F, so no
    # emulator binary is copied into the root, and none stays in the image).
    unshare --mount --propagation private -- \
      debootstrap --arch "$arch" --foreign --variant=minbase --merged-usr bookworm "$r" "$mirror" > "$log" 2>&1 ||
      { tail -20 "$log" >&2; die "debootstrap --arch $arch --foreign failed"; }
    unshare --mount --propagation private -- chroot "$r" /debootstrap/debootstrap --second-stage >> "$log" 2>&1 ||
      { tail -20 "$log" >&2; die "debootstrap's second stage for $arch (under QEMU) failed"; }
    [ ! -e "$r/debootstrap" ] || die "debootstrap's second stage for $arch left $r/debootstrap"
  fi
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
    'apt-get update -qq && apt-get full-upgrade -y -qq >/dev/null' || die "apt-get full-upgrade in the $arch base failed"
  # what debuerreotype leaves out of the tarball: caches, lists, logs with timestamps, host data
  rm -rf "${r:?}"/var/cache/apt/* "${r:?}"/var/lib/apt/lists/* "${r:?}"/dev/* "${r:?}"/proc/* \
    "${r:?}"/sys/* "${r:?}"/tmp/* "${r:?}"/run/mount
  rm -f "${r:?}"/var/log/dpkg.log "$r"/var/log/bootstrap.log "$r"/var/log/alternatives.log \
    "$r"/var/log/apt/history.log "$r"/var/log/apt/term.log "$r"/var/cache/ldconfig/aux-cache \
    "$r"/etc/apt/apt.conf.d/01autoremove-kernels "$r"/etc/machine-id "$r"/etc/resolv.conf "$r"/etc/hostname
  ! ls "$r"/var/cache/apt/archives/*.deb >/dev/null 2>&1 || die "leftover .debs in the $arch base"
  ! ls "$r"/usr/bin/qemu-*-static >/dev/null 2>&1 || die "an emulator binary in the $arch base"
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
    # inside the root, so that absolute symlinks resolve there and not on the host (the root's
    # own find: under QEMU for the other architecture)
    chroot "$r" find "$d" -depth -mindepth 1 -not \( "${keep[@]}" \) -not \( -type d -o -type l \) -delete
    # then empty directories and dangling symlinks, until a pass removes nothing
    while [ "$(chroot "$r" find "$d" -depth -mindepth 1 \( -empty -o -xtype l \) -delete -printf . | wc -c)" -gt 0 ]; do :; done
  done
}

import_base() {  # TARBALL VARIANT ARCH STAMP: the image $base_local:VARIANT-ARCH
  local c variant=()
  # Docker Hub's arm64 images say variant v8; so does buildah's --platform linux/arm64
  [ "$3" != arm64 ] || variant=(--variant v8)
  c="$(bah from scratch)"
  bah add "$c" "$1" / >/dev/null
  bah config --os linux --arch "$3" "${variant[@]}" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd '["bash"]' \
    --label dsw.image-test.base="$4" "$c"
  bah commit --rm -q "$c" "$base_local:$2-$3" >/dev/null
}

for arch in "${archs[@]}"; do
  dir="$cache/base/$arch"
  stamp_file="$dir/stamp"
  if [ ! -s "$stamp_file" ] || [ ! -s "$dir/bookworm.tar" ] || [ ! -s "$dir/bookworm-slim.tar" ] ||
     [ -n "$(find "$stamp_file" -mtime +"$max_age_days" 2>/dev/null)" ] ||
     [ "$(sed -n 2p "$stamp_file")" != "$mirror $security_mirror" ]; then
    step "making the $arch base root filesystems with debootstrap (cached in $dir)"
    start=$SECONDS
    rm -rf "$dir"
    mkdir -p "$work/base"
    make_rootfs "$work/base/bookworm" "$arch"
    cp -a "$work/base/bookworm" "$work/base/bookworm-slim"
    slimify "$work/base/bookworm-slim"
    for v in bookworm bookworm-slim; do
      tar --numeric-owner --xattrs -C "$work/base/$v" -cf "$work/base/$v.tar" .
    done
    mkdir -p "$dir"
    mv "$work/base/bookworm.tar" "$work/base/bookworm-slim.tar" "$dir/"
    rm -rf "$work/base"
    printf '%s\n%s\n' "$(date -u +%Y%m%dT%H%M%SZ)" "$mirror $security_mirror" > "$stamp_file"
    timed "base root filesystems ($arch)" "$start"
  else
    step "reusing the $arch base root filesystems of $(head -1 "$stamp_file") (DSW_BASE_MAX_AGE_DAYS=$max_age_days)"
  fi
  stamp_id="$(head -1 "$stamp_file")"
  for v in bookworm bookworm-slim; do
    have="$(bah inspect --type image --format '{{index .OCIv1.Config.Labels "dsw.image-test.base"}}' \
            "$base_local:$v-$arch" 2>/dev/null || true)"
    if [ "$have" != "$stamp_id" ]; then
      step "importing $base_local:$v-$arch"
      import_base "$dir/$v.tar" "$v" "$arch" "$stamp_id"
    fi
  done
done
# docker.io/library/debian:VARIANT, as on Docker Hub: a manifest list of the architectures'
# images, from which a build picks its platform's (made afresh: cheap, and the layer cache
# depends on the images, not on the list)
for v in bookworm bookworm-slim; do
  bah manifest rm "$base_repo:$v" >/dev/null 2>&1 || true
  bah manifest create "$base_repo:$v" >/dev/null
  for arch in "${archs[@]}"; do
    bah manifest add "$base_repo:$v" "$base_local:$v-$arch" >/dev/null
  done
done

# ---------------------------------------------------------------------------------------------
# 2. Build the Dockerfile, once per platform, into the manifest list

bah manifest rm "$image" >/dev/null 2>&1 || true
for platform in "${platforms[@]}"; do
  arch="${platform#linux/}"
  # buildah 1.28 leaves $BUILDPLATFORM empty in FROM lines unless it is a build argument (see
  # the Dockerfile); without it every stage would run on the target platform (the compiler
  # under QEMU: docs/image.md has the measurement). One build per platform, as
  # `--platform linux/amd64,linux/arm64` does inside buildah, so that each is timed and tagged.
  platform_args=(--platform "$platform" --build-arg "BUILDPLATFORM=linux/$host_arch")
  step "buildah build --pull=never --isolation $isolation ${platform_args[*]} --manifest $image ./Dockerfile"
  start=$SECONDS
  # --layers: the build stage's package layer is reused while install-deps.sh and the base do
  # not change. Build output goes to a log, shown when the build fails.
  if ! timeout 2400 buildah --root "$cache/storage" --runroot "$cache/run" --storage-driver "$driver" \
       build --pull=never --isolation "$isolation" --layers "${platform_args[@]}" -f Dockerfile \
       -t "$image-$arch" --manifest "$image" . > "$work/build-$arch.log" 2>&1; then
    tail -40 "$work/build-$arch.log" >&2
    die "buildah build for $platform failed (log above)"
  fi
  grep -E '^(\[[0-9]/[0-9]\] )?(STEP|COMMIT)' "$work/build-$arch.log" | sed 's/^/   /' || true
  # Name the build stage too, so that pruning unused images at the end keeps its layers as the
  # cache of the next run (an untagged intermediate image without children counts as unused).
  # All of its steps come from the cache just made.
  bah build --pull=never --isolation "$isolation" --layers "${platform_args[@]}" --target build \
    -t "$image-build-$arch" . > "$work/build-stage-$arch.log" 2>&1 ||
    { tail -20 "$work/build-stage-$arch.log" >&2; die "tagging the build stage for $platform failed"; }
  timed "build $platform" "$start"
done
bah manifest inspect "$image" > "$work/manifest.json"
/usr/bin/python3 test/image/probe.py manifest --inspect "$work/manifest.json" \
  --platforms "$(IFS=,; echo "${platforms[*]}")" || die "the manifest list $image"

# ---------------------------------------------------------------------------------------------
# 3-5. Each platform's image: config and size, libraries, serve

probe() { /usr/bin/python3 test/image/probe.py "$@"; }
bin=/usr/local/bin/dynamodb-streams-webhook
mountpath=/etc/dynamodb-streams-webhook/tls  # charts/dynamodb-streams-webhook/templates/deployment.yaml
shutdown_delay=10  # long: both SIGTERM checks must land inside it, also under QEMU on a busy machine
shutdown_timeout=40
ca_dir="$work/certs"
certs/make-dev-certs.sh "$ca_dir" 2>/dev/null
mkdir -p "$work/first" && mv "$ca_dir/tls.crt" "$ca_dir/tls.key" "$work/first/"
certs/make-dev-certs.sh "$ca_dir" 2>/dev/null  # the renewal: same CA, a new serving certificate
size_of() { bah images --format '{{.Size}}' "$1" | head -1; }
exited() {  # PID: gone, or a zombie waiting for `wait`
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
  [ -z "$state" ] || [ "$state" = Z ]
}
elf_machine() { readelf -h "$1" | sed -n 's/^ *Machine: *//p'; }
declare -A want_machine=([amd64]="Advanced Micro Devices X86-64" [arm64]="AArch64")
reference=""

for platform in "${platforms[@]}"; do
  arch="${platform#linux/}"
  img="$image-$arch"
  start=$SECONDS
  mkdir -p "$work/$arch"

  step "[$platform] image config and size"
  bah inspect --type image "$img" > "$work/$arch/inspect.json"
  probe config --inspect "$work/$arch/inspect.json" --arch "$arch" \
    --values charts/dynamodb-streams-webhook/values.yaml \
    --size "$(size_of "$img")" --base-size "$(size_of "$base_local:bookworm-slim-$arch")" \
    --budget-mb "${budget_mb[$arch]}" --added-budget-mb "$added_budget_mb" || die "[$platform] the image's config or size"

  step "[$platform] the binary's shared libraries, resolved inside the image"
  ctr="$(bah from --pull=never --platform "$platform" "$img")"
  rootfs="$(bah mount "$ctr")"
  m="$(elf_machine "$rootfs$bin")"
  [ "$m" = "${want_machine[$arch]}" ] || die "[$platform] $bin is built for $m, not ${want_machine[$arch]}"
  m="$(elf_machine "$rootfs/usr/bin/dash")"
  [ "$m" = "${want_machine[$arch]}" ] || die "[$platform] the image's own programs (usr/bin/dash) are $m"
  echo "   ok: the binary and the image's programs are ${want_machine[$arch]}"
  # ldd of the image (libc-bin is essential, so every Debian image has it), run in the image: it
  # reports what the image's own dynamic loader finds, not what the build machine has (for
  # another architecture, the image's loader runs under QEMU).
  ldd_out="$(chroot "$rootfs" /usr/bin/ldd "$bin" 2>&1)" || true
  printf '%s\n' "$ldd_out" | sed 's/^/   /'
  if grep -Eq 'not found|not a dynamic|version .* not found' <<<"$ldd_out" || ! grep -q '=> /' <<<"$ldd_out"; then
    die "[$platform] a shared library of $bin is missing from the image: add its package to the runtime list of scripts/install-deps.sh"
  fi
  echo "   ok: every shared library resolves"
  [ "$(stat -c '%u %a' "$rootfs$bin")" = "0 755" ] || die "$bin is not root-owned mode 755: $(stat -c '%U %a' "$rootfs$bin")"
  if readelf -S "$rootfs$bin" | grep -Eq '\.symtab|\.debug_'; then die "[$platform] $bin is not stripped"; fi
  echo "   ok: $bin is root-owned, mode 755, stripped ($(stat -c %s "$rootfs$bin") bytes)"

  step "[$platform] serve from the image as uid 65532, certificates mounted as the chart mounts them"
  # Why not `buildah run` or a container engine: there is no engine here (no daemon, no OCI
  # runtime), and `buildah run --isolation chroot` answers SIGTERM by killing the process
  # outright (SIGKILL), so a drain could not be observed. Instead, what the kubelet and the
  # runtime would set up, in a private mount namespace (undone when the server exits): the
  # image's root filesystem read-only (the chart's readOnlyRootFilesystem), /proc, a minimal
  # /dev, the certificate volume read-only at the chart's mountPath; then chroot as
  # 65532:65532 with the fsGroup 65532 as supplementary group, and only the image's
  # environment. The network is the host's: the server listens on loopback. An arm64 binary
  # runs under QEMU (the process the kernel starts is the emulator, with the binary's ids).
  vol="$work/$arch/volume"
  probe volume --dir "$vol" --cert "$work/first/tls.crt" --key "$work/first/tls.key"
  mkdir -p "$rootfs$mountpath"  # the runtime creates mount points in the container's writable layer
  mapfile -t image_env < <(probe env --inspect "$work/$arch/inspect.json")
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
    exec "$@"' sh "$rootfs" "$vol" "$mountpath" \
    /usr/bin/env -i "${image_env[@]}" /usr/sbin/chroot --userspec=65532:65532 --groups=65532 "$rootfs" \
    "$bin" serve --port "$port" --bind-address 127.0.0.1 \
    --tls-cert-file "$mountpath/tls.crt" --tls-private-key-file "$mountpath/tls.key" \
    --tls-min-version 1.2 --log-level info --log-format json \
    --shutdown-delay "${shutdown_delay}s" --shutdown-timeout "${shutdown_timeout}s" \
    --applies-to aws-dynamodb-kro --unknown-properties deny --view-type-change deny \
    > "$work/$arch/serve.log" 2>&1 9>&- &
  server_pid=$!
  probe_rc=0
  probe serve --port "$port" --ca "$ca_dir/ca.crt" --pid "$server_pid" --volume "$vol" \
    --renew-cert "$ca_dir/tls.crt" --renew-key "$ca_dir/tls.key" \
    --shutdown-delay "$shutdown_delay" --answers "$work/$arch/answers.json" || probe_rc=$?
  # The probe ends with SIGTERM (unless it failed early): the server drains and exits 0 within
  # --shutdown-timeout; the wait is bounded a little beyond it.
  if [ "$probe_rc" != 0 ] && ! exited "$server_pid"; then kill -TERM "$server_pid"; fi
  t_term=$SECONDS
  while ! exited "$server_pid" && [ $((SECONDS - t_term)) -lt $((shutdown_timeout + 20)) ]; do sleep 0.2; done
  exited "$server_pid" || kill -KILL "$server_pid"
  serve_rc=0
  wait "$server_pid" || serve_rc=$?
  server_pid=""
  if [ "$probe_rc" = 0 ] && [ "$serve_rc" = 0 ]; then
    echo "   server log ($(wc -l < "$work/$arch/serve.log") lines), its end:"
    tail -4 "$work/$arch/serve.log" | sed 's/^/     /'
  else
    echo "   server log:"
    sed 's/^/     /' "$work/$arch/serve.log"
  fi
  [ "$probe_rc" = 0 ] || die "[$platform] the server did not answer as it should (checks above)"
  [ "$serve_rc" = 0 ] || die "[$platform] after SIGTERM the server exited $serve_rc, not 0"
  echo "   ok: after SIGTERM the server drained and exited 0"

  if [ -z "$reference" ]; then
    reference="$platform"
    if [ ${#platforms[@]} -gt 1 ]; then
      echo "   $(grep -c '"request"' "$work/$arch/answers.json") answers recorded: the reference for the other platform"
    else
      echo "   (one platform in PLATFORMS: no other platform's answers to compare with)"
    fi
  else
    step "[$platform] its answers, byte for byte those of $reference"
    probe compare --reference "$work/${reference#linux/}/answers.json" --answers "$work/$arch/answers.json" ||
      die "[$platform] answers differently from $reference"
  fi

  bah umount "$ctr" >/dev/null
  bah rm "$ctr" >/dev/null
  timed "checks $platform" "$start"
done

step "PASS: the image builds for ${platforms[*]}, has every library it needs there, and serves as the chart runs it"
printf '   %s\n' "${timings[@]}"
printf '   %-44s %5d s\n' "total" "$((SECONDS - t0))"
echo "   manifest list: $image ($(IFS=,; echo "${platforms[*]}"))"
