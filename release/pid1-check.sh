#!/bin/sh
# Runs inside a virtual machine (release/boot-check.sh) as the program of tini-rs, which the
# kernel started as PID 1 (rdinit=/tini-rs). Checks from inside that tini-rs is PID 1, that
# orphans re-parented to it are reaped, and that a signal sent to PID 1 reaches the program;
# then exits 7, which must come back through the kernel's "Attempted to kill init!
# exitcode=0x00000700" line. Any failed check exits 1 instead. Polls have deadlines long
# enough for an emulated CPU; none is a fixed wait.

# Only there: on any other machine its busybox links and /proc mount would change the host.
if [ "$PPID" != 1 ] || [ ! -x /tini-rs ] || [ ! -x /bin/busybox ]; then
  echo "pid1-check.sh: runs only as tini-rs's program in release/boot-check.sh's VM" >&2
  exit 1
fi

/bin/busybox --install -s /bin
PATH=/bin
export PATH
mount -t proc proc /proc

pass() { echo "CHECK PASS: $*"; }
fail() { echo "CHECK FAIL: $*"; exit 1; }
# Runs the command "$@" every 50 ms until it succeeds, for at most 30 s.
poll() {
  n=0
  until "$@"; do
    n=$((n + 1))
    [ $n -lt 600 ] || return 1
    sleep 0.05
  done
  # Not the loop's status, which is the last sleep's: a signal forwarded to the program's
  # group can kill that sleep just as "$@" comes true.
  return 0
}

echo; echo "CHECK INFO: $(uname -m), kernel $(uname -r), $(/tini-rs --version)"

# tini-rs is PID 1, and our parent.
pid1=$(tr '\0' ' ' </proc/1/cmdline)
case $pid1 in
  "/tini-rs "*) ;;
  *) fail "PID 1 runs '$pid1', not /tini-rs" ;;
esac
[ "$PPID" = 1 ] || fail "the program's parent is $PPID, not PID 1"
pass "tini-rs is PID 1 ($pid1) and the program's parent"

# Orphans: five processes whose parent (a subshell) exits at once, so the kernel re-parents
# them to PID 1. They block opening a FIFO until we open it for writing, then read EOF and
# exit; PID 1 must reap them (no zombie left).
mkfifo /tmp/gate
for i in 1 2 3 4 5; do (cat /tmp/gate >/dev/null &); done
adopted() { ps -o ppid,comm | awk '$1 == 1 && $2 == "cat"' | wc -l; }
five_adopted() { [ "$(adopted)" -eq 5 ]; }
poll five_adopted || fail "orphans adopted by PID 1: $(adopted), expected 5"
exec 3>/tmp/gate
exec 3>&-
none_left() { [ "$(adopted)" -eq 0 ] && ! ps -o stat | grep -q Z; }
poll none_left || { ps -o pid,ppid,stat,comm; fail "orphans not reaped"; }
pass "5 orphans adopted by PID 1 and reaped, no zombie"

# A signal sent to PID 1 is forwarded to the program.
got=
trap 'got=USR1' USR1
kill -USR1 1
received() { [ "$got" = USR1 ]; }
poll received || fail "SIGUSR1 sent to PID 1 did not reach the program"
pass "SIGUSR1 sent to PID 1 reached the program"

echo "CHECK DONE: exiting 7"
exit 7
