#!/usr/bin/env python3
"""Test helper: prints `ready PID PGID`, then `sig N` for every signal it receives.

All catchable signals are blocked and fetched with sigwaitinfo, so standard and real-time
signals are reported with their exact numbers and none is coalesced into a handler race.
Options:
  --exit-on N      exit with status 0 after reporting signal N (repeatable)
  --child          also start a grandchild (same process group) that does the same and
                   prefixes its lines with `grandchild`
  --setpgid        move into another process group before saying ready: join the group of
                   a helper child (which prints nothing and exits when we do), so the
                   program's original group is left empty
"""
import os
import signal
import sys

def move_to_other_group():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.setpgid(0, 0)
        os.read(r, 1)  # EOF once the parent is gone
        os._exit(0)
    os.close(r)
    os.setpgid(pid, pid)  # whichever of us runs first creates the group
    os.setpgid(0, pid)

def main():
    args = sys.argv[1:]
    exit_on = set()
    child = False
    setpgid = False
    while args:
        a = args.pop(0)
        if a == "--exit-on":
            exit_on.add(int(args.pop(0)))
        elif a == "--child":
            child = True
        elif a == "--setpgid":
            setpgid = True
    catchable = set(range(1, signal.SIGRTMAX + 1)) - {signal.SIGKILL, signal.SIGSTOP, 32, 33}
    signal.pthread_sigmask(signal.SIG_BLOCK, catchable)
    if setpgid:
        move_to_other_group()
    prefix = ""
    if child:
        r, w = os.pipe()
        if os.fork() == 0:
            os.close(r)
            prefix = "grandchild "
            os.write(w, b"x")
            os.close(w)
        else:
            os.close(w)
            os.read(r, 1)  # the grandchild is set up before we say ready
            os.close(r)
    out = sys.stdout
    out.write("%sready %d %d\n" % (prefix, os.getpid(), os.getpgrp()))
    out.flush()
    while True:
        info = signal.sigwaitinfo(catchable)
        out.write("%ssig %d\n" % (prefix, info.si_signo))
        out.flush()
        if info.si_signo in exit_on:
            return 0

if __name__ == "__main__":
    sys.exit(main())
