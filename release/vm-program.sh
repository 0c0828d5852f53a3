#!/bin/sh
# Runs inside a virtual machine (release/vm-check.sh) as the program of tini-rs, which the
# kernel started as the machine's init (rdinit=/tini-rs). One of the checks below, named by the
# first argument; each prints CHECK PASS/FAIL lines, and the host checks what tini-rs did
# after the program: the line "tini-rs: exit status N" and the machine's power-off.
#   checks: PID 1, the mounts tini-rs made, lo, stdio on the console, PATH, the hostname,
#           SIGPWR to PID 1 reaching the program as SIGTERM; exits 7.
#   disk:   mounts the ext4 disk /dev/vda, writes a file without sync, leaves a process
#           holding a file open on it, hides it under a tmpfs, exits 0 (tini-rs must stop
#           the process and unmount both cleanly).
#   stop:   waits for the host's Ctrl-Alt-Del (QEMU's sendkey); exits 143 on SIGTERM.
#   stubborn: ignores SIGTERM until the second Ctrl-Alt-Del's SIGKILL.
#   terminal: has the console as its controlling terminal, in the foreground; waits for the
#           host's Ctrl-C typed on the console; exits 5 on SIGINT.
# Polls have deadlines long enough for an emulated CPU; none is a fixed wait.

# Only there: on any other machine its busybox links would change the host.
if [ "$PPID" != 1 ] || [ ! -x /tini-rs ] || [ ! -x /bin/busybox ] || [ ! -f /vm-check ]; then
  echo "vm-program.sh: runs only as tini-rs's program in release/vm-check.sh's VM" >&2
  exit 1
fi
/bin/busybox --install -s /bin

pass() { echo "CHECK PASS: $*"; }
fail() { echo "CHECK FAIL: $*"; exit 1; }
# Runs the command "$@" every 50 ms until it succeeds, for at most 60 s.
poll() {
  n=0
  until "$@"; do
    n=$((n + 1))
    [ $n -lt 1200 ] || return 1
    sleep 0.05
  done
  # Not the loop's status, which is the last sleep's: a signal forwarded to the program's
  # group can kill that sleep just as "$@" comes true.
  return 0
}
# Loads the modules listed in /modules/order (dependencies first).
load_modules() {
  while read -r m; do
    insmod "/modules/$m" || fail "insmod $m"
  done </modules/order
}
mounted() { # TARGET TYPE
  awk -v t="$1" -v f="$2" '$2 == t && $3 == f { ok = 1 } END { exit !ok }' /proc/mounts
}

echo; echo "CHECK INFO: $(uname -m), kernel $(uname -r), $(/tini-rs --version)"

case $1 in
checks)
  pid1=$(tr '\0' ' ' </proc/1/cmdline)
  case $pid1 in "/tini-rs "*) ;; *) fail "PID 1 runs '$pid1', not /tini-rs" ;; esac
  pass "tini-rs is PID 1 ($pid1) and the program's parent"
  for m in /proc:proc /sys:sysfs /dev:devtmpfs /dev/pts:devpts /dev/shm:tmpfs /run:tmpfs \
    /sys/fs/cgroup:cgroup2; do
    mounted "${m%%:*}" "${m#*:}" || { cat /proc/mounts; fail "no ${m#*:} on ${m%%:*}"; }
  done
  [ -c /dev/ptmx ] || [ -L /dev/ptmx ] || fail "no /dev/ptmx"
  pass "mounts: /proc /sys /dev /dev/pts /dev/shm /run /sys/fs/cgroup, and /dev/ptmx"
  [ $(($(cat /sys/class/net/lo/flags) & 1)) = 1 ] || fail "lo is down: flags $(cat /sys/class/net/lo/flags)"
  pass "lo is up (flags $(cat /sys/class/net/lo/flags))"
  # The initramfs has no /dev/console: the kernel left stdio closed; tini-rs opened it.
  for fd in 0 1 2; do
    [ "$(readlink "/proc/$$/fd/$fd")" = /dev/console ] || fail "fd $fd is $(readlink "/proc/$$/fd/$fd")"
  done
  pass "stdin, stdout and stderr are /dev/console"
  [ "$PATH" = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ] || fail "PATH=$PATH"
  [ "$(hostname)" = tini-vm ] || fail "hostname $(hostname)"
  pass "PATH is the default, the hostname is TINI_HOSTNAME's ($(hostname))"
  got=
  trap 'got=TERM' TERM
  trap 'got=PWR' PWR
  kill -PWR 1
  received() { [ -n "$got" ]; }
  poll received || fail "SIGPWR sent to PID 1 reached the program as nothing"
  [ "$got" = TERM ] || fail "SIGPWR sent to PID 1 reached the program as $got"
  pass "SIGPWR sent to PID 1 reached the program as SIGTERM"
  echo "CHECK DONE: exiting 7"
  exit 7
  ;;
disk)
  load_modules
  poll test -b /dev/vda || fail "no /dev/vda"
  mkdir -p /srv/disk
  mount -t ext4 /dev/vda /srv/disk || fail "mount /dev/vda"
  [ "$(cat /srv/disk/data/hello.txt)" = "made on the host" ] || fail "the host's file is not there"
  echo "written in the VM by the program" >/srv/disk/written.txt
  # A process left behind with a file open for writing on the disk: tini-rs must stop it
  # before the unmount.
  sleep 600 >>/srv/disk/busy.log &
  # A tmpfs over the disk's parent hides the disk: a first pass cannot unmount it.
  mount -t tmpfs tmpfs /srv || fail "mount a tmpfs over /srv"
  pass "ext4 disk mounted, the host's file read, /written.txt written (no sync), sleep $! left on it, hidden under a tmpfs"
  echo "CHECK DONE: exiting 0"
  exit 0
  ;;
stop)
  load_modules
  got=
  trap 'got=TERM' TERM
  trap 'got=INT' INT
  echo "CHECK READY: waiting for the machine's stop request"
  # wait returns as soon as a trapped signal arrives (a foreground sleep would hold the trap).
  sleep 600 &
  wait $!
  [ "$got" = TERM ] || fail "the stop request reached the program as '${got:-nothing}'"
  pass "the stop request reached the program as SIGTERM"
  echo "CHECK DONE: exiting 143"
  exit 143
  ;;
stubborn)
  load_modules
  trap 'echo "CHECK IGNORED: SIGTERM"' TERM
  echo "CHECK READY: ignoring SIGTERM until killed"
  while :; do
    sleep 600 &
    wait $!
  done
  ;;
terminal)
  # Fields of /proc/PID/stat after the name: state ppid pgrp session tty_nr tpgid.
  # shellcheck disable=SC2046
  set -- $(sed 's/.*) //' /proc/$$/stat)
  [ "$5" != 0 ] || fail "the program has no controlling terminal"
  [ "$6" = "$3" ] || fail "the program's group $3 is not the terminal's foreground ($6)"
  pass "the console is the controlling terminal, the program's group in its foreground"
  trap 'got=INT' INT
  echo "CHECK READY: waiting for Ctrl-C on the console"
  sleep 600 &
  wait $!
  kill $! 2>/dev/null
  [ "$got" = INT ] || fail "Ctrl-C did not reach the program as SIGINT"
  pass "Ctrl-C typed on the console reached the program as SIGINT"
  echo "CHECK DONE: exiting 5"
  exit 5
  ;;
*) fail "unknown check '$1'" ;;
esac
