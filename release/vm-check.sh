#!/usr/bin/env bash
# Proves tini-rs as the init of a virtual machine (issue 19): boots Debian's kernel under
# qemu-system (TCG) with an initramfs holding tini-rs as rdinit, a busybox and
# release/vm-program.sh, on x86_64 `q35` and arm64 `virt`. The initramfs has no /dev, so
# the kernel leaves stdio closed and tini-rs must mount /dev and open the console. Three
# boots per architecture:
#   checks: the program checks PID 1, the mounts, lo, the console, PATH, the hostname and
#           SIGPWR as SIGTERM, and exits 7: QEMU must end by itself (power-off) with the
#           console line "tini-rs: exit status 7" and no panic;
#   disk:   an ext4 image made here with mke2fs -d, mounted and written by the program,
#           which exits 0 without sync and leaves a process on the disk: after the
#           power-off, e2fsck -fn finds it clean and debugfs reads the file back;
#   stop:   the host sends Ctrl-Alt-Del (QEMU monitor: sendkey ctrl-alt-delete; the kernel
#           turns it into SIGINT to PID 1, which tini-rs delivers as SIGTERM): the program
#           exits 143 and the machine powers off with "tini-rs: exit status 143".
# On amd64 also: usage (a bad TINI_* word: the error, status 1, power-off), stubborn (a
# program that ignores SIGTERM, ended by the second Ctrl-Alt-Del: 137) and terminal (the
# console is the program's controlling terminal: Ctrl-C typed there ends it, 5).
#
# Usage: release/vm-check.sh [--dist DIR] [ARCH...]   (default: dist/, amd64 and arm64)
# VM_CHECKS="checks microvm disk stop usage stubborn terminal" (the default) chooses the boots; microvm: the first
# check again on QEMU's `microvm` machine (amd64 only).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=release/common.sh
. release/common.sh

ALLOWED="amd64 arm64" parse_check_args "$0" "$@"
[ ${#ARCHS[@]} -gt 0 ] || ARCHS=(amd64 arm64)
[ -d "$DIST" ] || die "no directory $DIST: run release/build.sh first"

boot_prepare "${ARCHS[@]}" -- e2fsprogs
X86_MACHINE=q35
# The modules of a virtio disk, keyboard and ext4 (Debian builds them as modules).
MODULES=(virtio_pci virtio_blk virtio_input crc32c_generic ext4)
# The longest a boot may take under TCG on a busy machine.
BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-300}

RESULTS=()
NFAIL=0
result() { # PASS|FAIL TEXT
  RESULTS+=("$1  $2")
  [ "$1" = PASS ] || NFAIL=$((NFAIL + 1))
}
# The console log without carriage returns and the firmware's terminal escapes.
console() { tr -d '\r' <"$work/console-$1.log" | sed 's/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g'; }

# Boots CHECK with QEMU's extra arguments "$@"; the console goes to console-CHECK.log.
# Runs QEMU in the background; its PID is VM_PID (the caller waits for it).
start_vm() { # CHECK QEMU-ARGS...
  local check=$1
  shift
  qemu_command "$arch" "$kernel" "$work/initramfs.cpio" \
    "${KERNEL_EXTRA:-}rdinit=/tini-rs TINI_HOSTNAME=tini-vm TINI_VERBOSITY=2 -- /bin/sh /vm-program.sh ${check%-*}"
  timeout "$BOOT_TIMEOUT" "${QEMU[@]}" "$@" <"${SERIAL_IN:-/dev/null}" >"$work/console-$check.log" 2>&1 &
  VM_PID=$!
}

# Waits for the VM of CHECK (PID) to end by itself; judges its console: the status line,
# CHECK lines, no panic. Prints the seconds it took.
judge() { # CHECK PID STATUS T0
  local check=$1 pid=$2 status=$3 t0=$4 rc=0 secs
  wait "$pid" || rc=$?
  secs=$((($(date +%s%N) - t0) / 1000000))
  secs="$((secs / 1000)).$((secs % 1000 / 100)) s"
  console "$check" | grep -E 'CHECK|tini-rs: exit status|Kernel panic|Attempted to kill' | sed 's/^/    /'
  if [ "$rc" -ne 0 ]; then
    result FAIL "$arch $check: qemu ended with $rc (124: did not end by itself in ${BOOT_TIMEOUT}s) ($secs)"
  elif console "$check" | grep -q 'Kernel panic'; then
    result FAIL "$arch $check: kernel panic ($secs)"
  elif ! console "$check" | grep -qx "tini-rs: exit status $status"; then
    result FAIL "$arch $check: no line 'tini-rs: exit status $status' ($secs)"
  elif console "$check" | grep -q 'CHECK FAIL' || ! console "$check" | grep -q 'CHECK DONE'; then
    result FAIL "$arch $check: the program's checks failed ($secs)"
  else
    result PASS "$arch $check: $(console "$check" | grep -c 'CHECK PASS') checks, 'tini-rs: exit status $status', power-off ($secs)"
    return 0
  fi
  echo "    console (last 30 lines):"
  console "$check" | tail -n 30 | sed 's/^/      /'
  return 1
}

# 1. The program checks what tini-rs set up, and exits 7.
check_checks() {
  local t0
  t0=$(date +%s%N)
  start_vm checks
  judge checks "$VM_PID" 7 "$t0" || true
}

# 1b. The same on QEMU's Firecracker-like `microvm` (x86 only). Under TCG Debian's kernel
# hangs there calibrating the TSC (no HPET, no ACPI PM timer): its early frequency given on
# the command line (tsc_early_khz, any plausible value) and tsc=reliable avoid that.
check_microvm() {
  local t0
  [ "$arch" = amd64 ] || return 0
  t0=$(date +%s%N)
  X86_MACHINE=microvm,rtc=on KERNEL_EXTRA="tsc_early_khz=2000000 tsc=reliable " start_vm checks-microvm
  judge checks-microvm "$VM_PID" 7 "$t0" || true
}

# 2. An ext4 disk made here, written in the VM without sync, clean after the power-off.
check_disk() {
  local t0 fsck written features
  rm -rf "$work/tree" "$work/disk.img"
  mkdir -p "$work/tree/data"
  echo "made on the host" >"$work/tree/data/hello.txt"
  mke2fs -q -t ext4 -d "$work/tree" "$work/disk.img" 64M
  t0=$(date +%s%N)
  start_vm disk -drive "file=$work/disk.img,format=raw,if=none,id=disk" \
    -device virtio-blk-pci,drive=disk
  judge disk "$VM_PID" 0 "$t0" || return 0
  fsck=0
  e2fsck -fn "$work/disk.img" >"$work/fsck.log" 2>&1 || fsck=$?
  written=$(debugfs -R 'cat /written.txt' "$work/disk.img" 2>/dev/null || true)
  sed 's/^/    e2fsck: /' "$work/fsck.log"
  # e2fsck -fn passes a filesystem left mounted (it skips the journal): the features tell.
  features=$(dumpe2fs -h "$work/disk.img" 2>/dev/null | grep -i '^Filesystem features:' || true)
  if [ "$fsck" -ne 0 ]; then
    result FAIL "$arch disk: e2fsck -fn exit $fsck"
  elif [ -z "$features" ] || [[ "$features" == *needs_recovery* ]]; then
    result FAIL "$arch disk: not cleanly unmounted ($features)"
  elif [ "$written" != "written in the VM by the program" ]; then
    result FAIL "$arch disk: /written.txt reads '$written'"
  else
    result PASS "$arch disk: e2fsck -fn clean, no needs_recovery, /written.txt intact"
  fi
}

# Waits until the console of CHECK shows the line matching PATTERN (or QEMU ended).
await_console() { # CHECK PATTERN
  local n=0
  until console "$1" | grep -q "$2" || ! kill -0 "$VM_PID" 2>/dev/null; do
    n=$((n + 1))
    [ $n -lt $((BOOT_TIMEOUT * 10)) ] || break
    sleep 0.1
  done
}

# Ctrl-Alt-Del through QEMU's monitor: the command after its first prompt; the connection
# stays until the next one.
ctrl_alt_del() {
  python3 - "$work/monitor.sock" <<'PY' || echo "    (the monitor did not take the command)"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
def until_prompt():
    seen = b""
    while not seen.endswith(b"(qemu) "):
        chunk = s.recv(4096)
        if not chunk:
            break
        seen += chunk
until_prompt()
s.sendall(b"sendkey ctrl-alt-delete\n")
until_prompt()
s.close()
PY
}

# The end of a boot whose program does not finish its checks: QEMU ended by itself, no
# panic, the console shows PATTERN and the line `tini-rs: exit status STATUS`.
judge_ending() { # CHECK T0 STATUS PATTERN WHAT
  local check=$1 t0=$2 status=$3 pattern=$4 what=$5 rc=0
  wait "$VM_PID" || rc=$?
  console "$check" | grep -E 'CHECK|tini-rs|stop request|Kernel panic|Attempted to kill' | sed 's/^/    /'
  if [ "$rc" -eq 0 ] && ! console "$check" | grep -q 'Kernel panic' &&
    console "$check" | grep -q -- "$pattern" &&
    console "$check" | grep -qx "tini-rs: exit status $status"; then
    result PASS "$arch $check: $what, 'tini-rs: exit status $status', power-off ($((($(date +%s%N) - t0) / 1000000000)) s)"
  else
    result FAIL "$arch $check: qemu ended with $rc, or a panic, or no '$pattern' and 'tini-rs: exit status $status'"
  fi
}

# 3. Ctrl-Alt-Del from the monitor once the program waits for it.
check_stop() {
  local t0
  rm -f "$work/monitor.sock"
  t0=$(date +%s%N)
  start_vm stop -device virtio-keyboard-pci -monitor "unix:$work/monitor.sock,server=on,wait=off"
  await_console stop 'CHECK READY'
  ctrl_alt_del
  judge stop "$VM_PID" 143 "$t0" || true
}

# 5. A program that ignores SIGTERM: the second Ctrl-Alt-Del sends SIGKILL (nothing else
# would end it in a VM), and the machine ends with 137.
check_stubborn() {
  local t0
  [ "$arch" = amd64 ] || return 0
  rm -f "$work/monitor.sock"
  t0=$(date +%s%N)
  start_vm stubborn -device virtio-keyboard-pci -monitor "unix:$work/monitor.sock,server=on,wait=off"
  await_console stubborn 'CHECK READY'
  ctrl_alt_del
  await_console stubborn 'CHECK IGNORED'
  ctrl_alt_del
  judge_ending stubborn "$t0" 137 'CHECK IGNORED' "SIGTERM ignored, the second Ctrl-Alt-Del killed it"
}

# 6. Ctrl-C typed on the console (a byte 3 on QEMU's serial input) is SIGINT to the program:
# the console is the controlling terminal and the program's group its foreground. amd64 only.
check_terminal() {
  local t0
  [ "$arch" = amd64 ] || return 0
  rm -f "$work/serial.in"
  mkfifo "$work/serial.in"
  # Held open here for writing, so that QEMU never reads an end of file.
  exec 7<>"$work/serial.in"
  t0=$(date +%s%N)
  SERIAL_IN=$work/serial.in start_vm terminal
  await_console terminal 'CHECK READY'
  printf '\003' >&7
  judge terminal "$VM_PID" 5 "$t0" || true
  exec 7>&-
}

# A usage error (a bad TINI_* word on the kernel command line) ends the machine too, with
# status 1 and the error on the console: exiting would be the kernel's panic. amd64 only.
check_usage() {
  local t0
  [ "$arch" = amd64 ] || return 0
  t0=$(date +%s%N)
  KERNEL_EXTRA="TINI_GRACE_PERIOD=5x " start_vm usage
  judge_ending usage "$t0" 1 "invalid grace period '5x'" "the error line"
}

for arch in "${ARCHS[@]}"; do
  step "$arch: tini-rs as the machine's init"
  bin=$DIST/tini-rs-$arch
  [ -x "$bin" ] || die "no binary $bin: run release/build.sh first"
  kernel=$(kernel_of "$arch")
  busybox=$(busybox_of "$arch")
  work=$CACHE/$arch/vm
  rm -rf "$work"
  mkdir -p "$work"
  entries=(dir:/bin dir:/proc dir:/modules "file:/bin/busybox=$busybox:0755" link:/bin/sh=busybox
    "file:/tini-rs=$bin:0755" "file:/vm-program.sh=release/vm-program.sh:0755"
    "file:/vm-check=/dev/null")
  : >"$work/order"
  while read -r ko; do
    entries+=("file:/modules/${ko##*/}=$ko")
    echo "${ko##*/}" >>"$work/order"
  done < <(python3 release/kmods.py "$(modules_of "$arch")" "${MODULES[@]}" 2>/dev/null)
  entries+=("file:/modules/order=$work/order")
  python3 release/initramfs.py "$work/initramfs.cpio" "${entries[@]}"
  echo "kernel $(basename "$(dirname "$(dirname "$kernel")")"), ${#entries[@]} initramfs entries"

  for check in ${VM_CHECKS:-checks microvm disk stop usage stubborn terminal}; do
    "check_$check"
  done
done

step "VM init checks"
printf '%s\n' "${RESULTS[@]}"
[ "$NFAIL" -eq 0 ] || die "$NFAIL VM init checks failed"
