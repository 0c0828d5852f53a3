#!/usr/bin/env python3
"""Misbehaving programs and probes for the reliability tests (tests/reliability_*.rs).

Usage: hostile.py MODE [ARGS...]; every mode that waits for the test prints a `ready ...` line
first. Modes:
  stopself          ready; SIGSTOP itself; once continued, wait for SIGUSR1, print
                    `got 10`, exit 3
  closestdio        ready; close fds 0, 1 and 2; wait for SIGUSR1; exit 4
  redirect          ready; point fds 0, 1, 2 at /dev/null; wait for SIGUSR1; exit 4
  setpgid           start a helper in a new process group, move itself into that group, print
                    `ready PID PGID`, wait for SIGUSR1, print `got 10`, exit 6
  ignoreall         ignore and block every signal it can; print `ready PID`; sleep forever
  daemon            double-fork a daemon (setsid, stdio on /dev/null) that waits until it is
                    re-parented, then print `daemon PID PPID` and exit 9 at once
  storm             block every catchable signal and count them; on SIGTERM print
                    `term after N`, then die of SIGTERM
  forkbomb          fork a subtree until fork fails, release it, wait until every process of it
                    is gone from /proc (reaped by init), print `bomb N clean`, exit 7
  orphans N         make N orphans (grandchildren that exit at once, in batches of 10 per
                    intermediate process), keeping PIDs reused through
                    /proc/sys/kernel/ns_last_pid; wait until none is left; print
                    `orphans N distinct D`, exit 0
  orphan-then-term  print `SigBlk X SigIgn Y` as inherited, make one orphan, wait until it is reaped, print `reaped`, then wait for
                    SIGTERM, print `sig 15`, exit 0
  fdlist            print the open fds (without the one used to list them)
  withmask BLOCK IGNORE -- CMD...
                    block and ignore the comma-separated signal numbers, then exec CMD
  closefds -- CMD...
                    close every fd above 2, then exec CMD
Only runs inside the tests; all sleeping is bounded by DEADLINE.
"""
import errno
import os
import signal
import sys
import time

DEADLINE = 60.0
CATCHABLE = set(range(1, signal.SIGRTMAX + 1)) - {signal.SIGKILL, signal.SIGSTOP, 32, 33}


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def wait_usr1():
    signal.sigwaitinfo({signal.SIGUSR1})


def others():
    """PIDs in /proc other than 1 and ourselves (inside a PID namespace: our leftovers)."""
    me = os.getpid()
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in (1, me):
            out.append(int(name))
    return out


def wait_alone(what):
    end = time.monotonic() + DEADLINE
    while True:
        left = others()
        if not left:
            return
        if time.monotonic() > end:
            states = []
            for p in left:
                try:
                    with open("/proc/%d/stat" % p) as f:
                        states.append(f.read().strip())
                except OSError:
                    pass
            say("leftover after %s: %s" % (what, states))
            sys.exit(99)
        time.sleep(0.005)


def stopself():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    say("ready %d" % os.getpid())
    os.kill(os.getpid(), signal.SIGSTOP)
    wait_usr1()
    say("got 10")
    return 3


def closestdio(redirect):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    say("ready %d" % os.getpid())
    if redirect:
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
    else:
        for fd in (0, 1, 2):
            os.close(fd)
    wait_usr1()
    return 4


def setpgid():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.setpgid(0, 0)
        os.close(w)
        signal.sigwaitinfo({signal.SIGUSR1})  # never comes: nobody signals this group
        os._exit(0)
    os.close(w)
    os.read(r, 1)  # EOF once the helper is in its own group
    os.close(r)
    os.setpgid(0, pid)
    say("ready %d %d" % (os.getpid(), os.getpgrp()))
    wait_usr1()
    say("got 10")
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return 6


def ignoreall():
    for s in CATCHABLE:
        try:
            signal.signal(s, signal.SIG_IGN)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_BLOCK, CATCHABLE)
    say("ready %d" % os.getpid())
    while True:
        time.sleep(3600)


def daemon():
    parent = os.getpid()
    r, w = os.pipe()
    mid = os.fork()
    if mid == 0:
        os.close(r)
        me = os.getpid()
        if os.fork() == 0:
            os.setsid()
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            end = time.monotonic() + DEADLINE
            while os.getppid() in (me, parent):
                if time.monotonic() > end:
                    os._exit(1)
                time.sleep(0.002)
            os.write(w, b"%d %d\n" % (os.getpid(), os.getppid()))
            os.close(w)
            while True:
                time.sleep(3600)
        os._exit(0)
    os.close(w)
    os.waitpid(mid, 0)
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(r, 64)
        if not chunk:
            break
        line += chunk
    say("daemon %s" % line.decode().strip())
    return 9


def storm():
    signal.pthread_sigmask(signal.SIG_BLOCK, CATCHABLE)
    say("ready %d" % os.getpid())
    n = 0
    while True:
        info = signal.sigwaitinfo(CATCHABLE)
        if info.si_signo == signal.SIGTERM:
            say("term after %d" % n)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            os.kill(os.getpid(), signal.SIGTERM)
            return 1  # not reached
        n += 1


def forkbomb():
    report_r, report_w = os.pipe()
    go_r, go_w = os.pipe()
    root = os.fork()
    if root == 0:
        os.close(go_w)
        os.close(report_r)
        while True:
            # The child waits until its parent has counted it (EOF on the gate), so that
            # its own `w` can never come before its `c`: then `waiting == created` means
            # no process is left between fork and being counted.
            gate_r, gate_w = os.pipe()
            try:
                pid = os.fork()
            except OSError:
                os.close(gate_r)
                os.close(gate_w)
                break
            if pid == 0:
                os.close(gate_w)
                os.read(gate_r, 1)
                os.close(gate_r)
                continue  # the child bombs on too
            os.write(report_w, b"c")  # written by the parent, before it can report `w`
            os.close(gate_r)
            os.close(gate_w)
        os.write(report_w, b"w")
        os.read(go_r, 1)  # EOF when the main program releases the bomb
        os._exit(0)
    os.close(go_r)
    os.close(report_w)
    created, waiting = 1, 0
    seen_failure = False
    end = time.monotonic() + DEADLINE
    while not (waiting == created and seen_failure):
        if time.monotonic() > end:
            say("bomb never settled: %d created, %d waiting" % (created, waiting))
            return 98
        for b in os.read(report_r, 4096):
            if b == ord("c"):
                created += 1
            else:
                waiting += 1
                seen_failure = True
    os.close(go_w)
    os.waitpid(root, 0)  # our own child; every other one is an orphan for init
    wait_alone("the bomb")
    say("bomb %d clean" % created)
    return 7


def orphans(n, batch=10):
    last_pid = "/proc/sys/kernel/ns_last_pid"
    try:
        with open(last_pid, "w") as f:
            f.write("1000")
        reset = True
    except OSError:
        reset = False
    r, w = os.pipe()
    os.set_blocking(r, False)
    data = b""
    left = n
    while left > 0:
        k = min(batch, left)
        left -= k
        if reset:
            with open(last_pid, "w") as f:
                f.write("1000")
        mid = retry_fork()
        if mid == 0:
            # k grandchildren that exit at once; they become orphans when we exit.
            for _ in range(k):
                g = retry_fork()
                if g == 0:
                    os._exit(0)
                os.write(w, b"%d\n" % g)
            os._exit(0)
        os.waitpid(mid, 0)
        data += drain(r)  # at most one batch is in the pipe: it never fills
    os.close(w)
    data += drain(r)
    pids = data.split()
    wait_alone("the orphans")
    say("orphans %d distinct %d" % (len(pids), len(set(pids))))
    return 0


def drain(fd):
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return out
        if not chunk:
            return out
        out += chunk


def retry_fork():
    while True:
        try:
            return os.fork()
        except OSError as e:
            if e.errno != errno.EAGAIN:
                raise
            time.sleep(0.001)  # pids limit reached: init has zombies to reap


def orphan_then_term():
    # What the caller of tini-rs left (tini-rs hands it over): print it, then take control.
    with open("/proc/self/status") as f:
        masks = dict(l.split(":", 1) for l in f if l.startswith(("SigBlk", "SigIgn")))
    say("SigBlk %s SigIgn %s" % (masks["SigBlk"].strip(), masks["SigIgn"].strip()))
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    r, w = os.pipe()
    mid = os.fork()
    if mid == 0:
        g = os.fork()
        if g == 0:
            os._exit(0)
        os.write(w, b"%d\n" % g)
        os._exit(0)
    os.close(w)
    g = int(os.read(r, 64).split()[0])
    os.waitpid(mid, 0)
    end = time.monotonic() + DEADLINE
    while os.path.exists("/proc/%d" % g):
        if time.monotonic() > end:
            say("orphan %d not reaped" % g)
            return 99
        time.sleep(0.005)
    say("reaped")
    signal.sigwaitinfo({signal.SIGTERM})
    say("sig 15")
    return 0


def fdlist():
    probe = os.open("/", os.O_RDONLY)
    os.close(probe)
    fds = sorted(int(f) for f in os.listdir("/proc/self/fd") if int(f) != probe)
    say(" ".join(str(f) for f in fds))
    return 0


def numbers(text):
    return {int(x) for x in text.split(",") if x}


def main():
    args = sys.argv[1:]
    mode = args.pop(0)
    if mode == "withmask":
        block, ignore = numbers(args[0]), numbers(args[1])
        cmd = args[args.index("--") + 1:]
        for s in ignore:
            signal.signal(s, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, block)
        os.execvp(cmd[0], cmd)
    if mode == "closefds":
        cmd = args[args.index("--") + 1:]
        os.closerange(3, 65536)
        os.execvp(cmd[0], cmd)
    table = {
        "stopself": stopself,
        "closestdio": lambda: closestdio(False),
        "redirect": lambda: closestdio(True),
        "setpgid": setpgid,
        "ignoreall": ignoreall,
        "daemon": daemon,
        "storm": storm,
        "forkbomb": forkbomb,
        "orphans": lambda: orphans(int(args[0])),
        "orphan-then-term": orphan_then_term,
        "fdlist": fdlist,
    }
    return table[mode]()


if __name__ == "__main__":
    sys.exit(main())
