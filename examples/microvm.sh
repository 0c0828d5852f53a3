#!/usr/bin/env bash
# Boots a container image's root filesystem as a small virtual machine with tini-rs as its
# init: the image's files (plus /tini-rs) become the initramfs, so no disk and no driver
# module is needed; the kernel starts rdinit=/tini-rs, which mounts /proc, /sys, /dev, /run,
# opens the console, runs the program and powers the machine off with its status. Prints
# the console and exits with the program's status, read from "tini-rs: exit status N".
#
# Usage: examples/microvm.sh IMAGE|DIR|TAR [PROGRAM [ARGS...]]
#   IMAGE  a podman or docker image (exported with `podman export`/`docker export`);
#   DIR    an unpacked root filesystem; TAR such an export.
#   PROGRAM defaults to a demo that shows what tini-rs set up and exits 3. The kernel splits
#   its command line at spaces: ARGS cannot contain any.
# Environment: TINI_RS (default: target/x86_64-unknown-linux-gnu/release/tini-rs),
# KERNEL (default: the one release/vm-check.sh fetched, else /boot/vmlinuz-$(uname -r)).
# The machine is QEMU's Firecracker-like `microvm`, with KVM on bare metal, else under TCG
# with the TSC's frequency on the kernel command line (without a timer to calibrate it
# against, Debian's kernel hangs there: release/vm-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "microvm.sh: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: examples/microvm.sh IMAGE|DIR|TAR [PROGRAM [ARGS...]]"
source=$1
shift
tini=${TINI_RS:-target/x86_64-unknown-linux-gnu/release/tini-rs}
[ -x "$tini" ] || die "no tini-rs at $tini (cargo build --release, or set TINI_RS)"
kernel=${KERNEL:-$(find target/boot/amd64 -path '*/boot/vmlinuz-*' 2>/dev/null | head -n1)}
kernel=${kernel:-/boot/vmlinuz-$(uname -r)}
[ -r "$kernel" ] || die "cannot read the kernel $kernel (set KERNEL)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
if [ -d "$source" ]; then
  cp -a "$source/." "$work/root/"
elif [ -f "$source" ]; then
  tar -x -C "$work/root" -f "$source"
else
  engine=$(command -v podman || command -v docker) || die "no podman or docker for image $source"
  id=$("$engine" create "$source" /tini-rs)
  "$engine" export "$id" | tar -x -C "$work/root" || { "$engine" rm "$id" >/dev/null; die "export failed"; }
  "$engine" rm "$id" >/dev/null
fi
mkdir -p "$work/root/proc"

cat >"$work/demo.sh" <<'DEMO'
#!/bin/sh
echo "--- in the VM: $(uname -srm), hostname $(hostname), PID 1 is $(tr '\0' ' ' </proc/1/cmdline)"
grep -E ' (/proc|/sys|/dev|/dev/pts|/dev/shm|/run|/sys/fs/cgroup) ' /proc/mounts | cut -d' ' -f1-3
echo "--- PATH=$PATH; exiting 3"
exit 3
DEMO
[ $# -gt 0 ] || set -- /bin/sh /tini-rs-demo.sh

python3 release/initramfs.py "$work/initrd" "tree:$work/root" "file:/tini-rs=$tini:0755" \
  "file:/tini-rs-demo.sh=$work/demo.sh:0755"
kcmd="console=ttyS0 quiet panic=-1"
# KVM only on bare metal: a nested guest hangs early in boot (cpuinfo's "hypervisor" flag).
if [ -w /dev/kvm ] && ! grep -qw hypervisor /proc/cpuinfo; then
  accel=(-accel kvm -cpu host)
else
  accel=(-accel tcg -cpu qemu64)
  kcmd+=" tsc_early_khz=2000000 tsc=reliable"
fi
append="$kcmd rdinit=/tini-rs TINI_HOSTNAME=microvm -- $*"
qemu-system-x86_64 -M microvm,rtc=on "${accel[@]}" -m 512 -smp 1 -display none -no-reboot -nodefaults \
  -serial stdio -kernel "$kernel" -initrd "$work/initrd" -append "$append" </dev/null |
  tee "$work/console"
status=$(tr -d '\r' <"$work/console" | sed -n 's/.*tini-rs: exit status \([0-9]*\)$/\1/p' | tail -n1)
[ -n "$status" ] || die "the machine ended without tini-rs's status line"
exit "$status"
