#!/usr/bin/env bash
# Makes a Docker build context for Dockerfile.test that needs no registry:
#   OUT/rootfs/        a busybox root filesystem: Debian's static busybox plus one symlink per
#                      applet, the usual empty directories and a minimal /etc/passwd
#   OUT/tini-rs        the static tini-rs binary
#   OUT/selfcheck.sh   the image's default command (tests/e2e/selfcheck.sh)
# The e2e suite also uses OUT/rootfs for runc, podman and `docker import`.
#
# Usage: tests/e2e/make-context.sh OUT [TINI_RS_BINARY]
#   Without TINI_RS_BINARY the static binary is built with `cargo build --release`.
#   Needs /bin/busybox from Debian's busybox-static (apt-get install busybox-static).
# Then: DOCKER_BUILDKIT=0 docker build -f Dockerfile.test -t tini-rs-selfcheck OUT
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 OUT [TINI_RS_BINARY]" >&2
  exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

bin=${2:-}
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --release --quiet)
  target_dir=${CARGO_TARGET_DIR:-target}
  case $target_dir in /*) ;; *) target_dir=$repo/$target_dir ;; esac
  bin=$target_dir/x86_64-unknown-linux-gnu/release/tini-rs
  [ -x "$bin" ] || bin=$target_dir/release/tini-rs
fi
[ -x "$bin" ] || { echo "$0: no tini-rs binary at $bin" >&2; exit 1; }

busybox=/bin/busybox
if ! [ -x "$busybox" ] || ! "$busybox" --list-full >/dev/null 2>&1; then
  echo "$0: $busybox missing: apt-get install busybox-static" >&2
  exit 1
fi
# A dynamically linked busybox (Debian's `busybox` package) cannot run in the empty rootfs.
ldd_out=$(LC_ALL=C ldd "$busybox" 2>&1 || true)
if ! grep -qE 'not a dynamic executable|statically linked' <<<"$ldd_out"; then
  echo "$0: $busybox is not static: apt-get install busybox-static" >&2
  exit 1
fi

mkdir -p "$out"
rootfs=$out/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,run,tmp}
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

install -m 0755 "$bin" "$out/tini-rs"
install -m 0755 "$here/selfcheck.sh" "$out/selfcheck.sh"
echo "build context ready in $out: rootfs/ (busybox, $("$busybox" --list | wc -l) applets), tini-rs, selfcheck.sh"
