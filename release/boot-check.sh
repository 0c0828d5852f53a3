#!/usr/bin/env bash
# Proves each release binary on its own architecture, as PID 1 of a real kernel: boots
# Debian's kernel for that architecture under qemu-system with an initramfs that holds
# tini-rs (the kernel's rdinit), a busybox of the same architecture and
# release/pid1-check.sh. The check runs as tini-rs's program and exits 7; the exit code must
# come back through the kernel's "Attempted to kill init! exitcode=0x00000700" line: the
# kernel command line's TINI_NO_MACHINE=1 keeps tini-rs from acting as the machine's init
# (release/vm-check.sh proves that part), so it exits as in a container.
#
# armel's binary boots on armhf's kernel (it runs ARMv5 binaries; Debian has no armel kernel
# for QEMU's virt machine), mips64el's on Debian's kernel for QEMU's Malta board, riscv64's on
# Debian 13's kernel (Debian 12 has no riscv64; see release/common.sh) on QEMU's virt machine.
#
# Usage: release/boot-check.sh [--dist DIR] [ARCH...]   (default: dist/, all architectures)
# Kernels and busybox packages are fetched with apt-get download and unpacked with
# dpkg-deb -x (busybox-static:ARCH is never installed: it would replace the host's);
# they are kept under target/boot/. As root, missing packages and architectures are added.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=release/common.sh
. release/common.sh

parse_check_args "$0" "$@"
[ ${#ARCHS[@]} -gt 0 ] || ARCHS=("${ALL_ARCHS[@]}")
[ -d "$DIST" ] || die "no directory $DIST: run release/build.sh first"

boot_prepare "${ARCHS[@]}"

RESULTS=()
NFAIL=0
for arch in "${ARCHS[@]}"; do
  step "$arch: boot with tini-rs as PID 1"
  bin=$DIST/tini-rs-$arch
  [ -x "$bin" ] || die "no binary $bin: run release/build.sh first"
  kernel=$(kernel_of "$arch")
  busybox=$(busybox_of "$arch")
  work=$CACHE/$arch/run
  rm -rf "$work"
  mkdir -p "$work"
  python3 release/initramfs.py "$work/initramfs.cpio" \
    dir:/bin dir:/dev dir:/proc dir:/sys dir:/tmp char:/dev/console=5,1 char:/dev/null=1,3 \
    "file:/bin/busybox=$busybox:0755" link:/bin/sh=busybox \
    "file:/tini-rs=$bin:0755" "file:/check.sh=release/pid1-check.sh:0755"
  qemu_command "$arch" "$kernel" "$work/initramfs.cpio" \
    "rdinit=/tini-rs TINI_NO_MACHINE=1 -- /bin/sh /check.sh"
  echo "kernel $(basename "$(dirname "$(dirname "$kernel")")"), ${QEMU[0]}"
  t0=$(date +%s%N)
  rc=0
  timeout 600 "${QEMU[@]}" </dev/null >"$work/console.log" 2>&1 || rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  tr -d '\r' <"$work/console.log" | grep -E 'CHECK|Attempted to kill init' | sed 's/^/    /'
  exitline=$(tr -d '\r' <"$work/console.log" | grep -o 'Attempted to kill init! exitcode=0x[0-9a-f]*' | head -n1 || true)
  if [ "$exitline" = "Attempted to kill init! exitcode=0x00000700" ] &&
    [ "$(grep -c 'CHECK PASS' "$work/console.log")" -eq 3 ]; then
    RESULTS+=("PASS  $arch: 3 checks, $exitline ($((ms / 1000)).$((ms % 1000 / 100)) s)")
  else
    RESULTS+=("FAIL  $arch: qemu exit $rc, '${exitline:-no exit line}' ($((ms / 1000)) s)")
    NFAIL=$((NFAIL + 1))
    echo "    console (last 30 lines):"
    tr -d '\r' <"$work/console.log" | tail -n 30 | sed 's/^/      /'
  fi
done

step "boot checks"
printf '%s\n' "${RESULTS[@]}"
[ "$NFAIL" -eq 0 ] || die "$NFAIL of ${#ARCHS[@]} boot checks failed"
