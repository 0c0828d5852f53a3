#!/usr/bin/env bash
# Proves each release binary on its own architecture, as PID 1 of a real kernel: boots
# Debian's kernel for that architecture under qemu-system with an initramfs that holds
# tini-rs (the kernel's rdinit), a busybox of the same architecture and
# release/pid1-check.sh. The check runs as tini-rs's program and exits 7; the exit code must
# come back through the kernel's "Attempted to kill init! exitcode=0x00000700" line.
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

DIST=$ROOT/dist
ARCHS=()
while [ $# -gt 0 ]; do
  case $1 in
    --dist) [ $# -ge 2 ] && [ -n "$2" ] || die "--dist needs a directory"; DIST=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) triple_of "$1" >/dev/null || die "unknown architecture '$1' (known: ${ALL_ARCHS[*]})"
      ARCHS+=("$1"); shift ;;
  esac
done
[ ${#ARCHS[@]} -gt 0 ] || ARCHS=("${ALL_ARCHS[@]}")
[ -d "$DIST" ] || die "no directory $DIST: run release/build.sh first"

kernel_flavour() {
  case $1 in
    amd64) echo amd64 ;; arm64) echo arm64 ;; armhf) echo armmp ;; i386) echo 686 ;;
    ppc64el) echo powerpc64le ;;
  esac
}
qemu_package() {
  case $1 in amd64 | i386) echo qemu-system-x86 ;; arm64 | armhf) echo qemu-system-arm ;; ppc64el) echo qemu-system-ppc ;; esac
}

pkgs=(python3 seabios)
for a in "${ARCHS[@]}"; do pkgs+=("$(qemu_package "$a")"); done
ensure_packages "${pkgs[@]}"
for a in "${ARCHS[@]}"; do
  [ "$a" = "$(dpkg --print-architecture)" ] && continue
  dpkg --print-foreign-architectures | grep -qx "$a" && continue
  [ "$(id -u)" -eq 0 ] || die "architecture $a is not known to dpkg: run as root, or dpkg --add-architecture $a && apt-get update"
  dpkg --add-architecture "$a"
  apt-get update -qq
done

CACHE=$ROOT/target/boot
mkdir -p "$CACHE"

# Downloads PACKAGE:ARCH into the cache once; prints the .deb's path.
download() { # PACKAGE ARCH
  local deb
  deb=$(find "$CACHE" -maxdepth 1 -name "${1}_*_$2.deb" | head -n1)
  if [ -z "$deb" ]; then
    (cd "$CACHE" && apt-get download -q "$1:$2" >/dev/null 2>"$CACHE/download.err") ||
      die "apt-get download $1:$2 failed: $(tail -n1 "$CACHE/download.err")"
    deb=$(find "$CACHE" -maxdepth 1 -name "${1}_*_$2.deb" | head -n1)
  fi
  [ -n "$deb" ] || die "apt-get download $1:$2 left no .deb"
  echo "$deb"
}

# The kernel package behind each architecture's linux-image metapackage, resolved in one
# apt-cache call (each call re-reads every package list: seconds).
declare -A KERNEL_PACKAGE=()
metas=()
for a in "${ARCHS[@]}"; do metas+=("linux-image-$(kernel_flavour "$a"):$a"); done
while read -r image arch; do
  KERNEL_PACKAGE[$arch]=$image
done < <(apt-cache depends "${metas[@]}" 2>/dev/null |
  sed -n 's/^ *Depends: \(linux-image-[^:]*\)\(:\(.*\)\)\{0,1\}$/\1 \3/p' |
  awk -v native="$(dpkg --print-architecture)" '{ print $1, ($2 == "" ? native : $2) }')

# The kernel of ARCH, unpacked from its linux-image package (only /boot is taken).
kernel_of() { # ARCH -> path of the kernel image
  local arch=$1 image=${KERNEL_PACKAGE[$1]:-} deb dir
  [ -n "$image" ] || die "cannot resolve linux-image-$(kernel_flavour "$arch"):$arch to a kernel package"
  dir=$CACHE/$arch/$image
  if ! [ -d "$dir/boot" ]; then
    deb=$(download "$image" "$arch")
    mkdir -p "$dir"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards './boot/vmlinu*'
  fi
  find "$dir/boot" -name 'vmlinu*' -type f | head -n1
}

busybox_of() { # ARCH -> path of a static busybox for ARCH
  local arch=$1 deb dir=$CACHE/$arch/busybox
  if ! [ -x "$dir/bin/busybox" ]; then
    deb=$(download busybox-static "$arch")
    rm -rf "$dir"
    dpkg-deb -x "$deb" "$dir"
  fi
  echo "$dir/bin/busybox"
}

qemu_command() { # ARCH KERNEL INITRD APPEND-PREFIX -> fills QEMU=()
  local arch=$1 console
  case $arch in
    amd64) QEMU=(qemu-system-x86_64 -M pc -cpu qemu64); console=ttyS0 ;;
    i386) QEMU=(qemu-system-i386 -M pc -cpu qemu32); console=ttyS0 ;;
    arm64) QEMU=(qemu-system-aarch64 -M virt -cpu cortex-a57); console=ttyAMA0 ;;
    # Debian's armmp kernel has no LPAE: keep the machine's memory below 4 GiB.
    armhf) QEMU=(qemu-system-arm -M virt,highmem=off -cpu cortex-a15); console=ttyAMA0 ;;
    ppc64el) QEMU=(qemu-system-ppc64 -M pseries -cpu POWER9 -vga none); console=hvc0 ;;
  esac
  QEMU+=(-accel tcg -m 512 -smp 1 -nographic -no-reboot -net none
    -kernel "$2" -initrd "$3"
    -append "console=$console panic=-1 quiet rdinit=/tini-rs -- /bin/sh /check.sh")
}

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
  qemu_command "$arch" "$kernel" "$work/initramfs.cpio"
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
