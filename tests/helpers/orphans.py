#!/usr/bin/env python3
"""Test helper: makes a burst of orphans. Forks N children that block until this process has
exited, prints `orphan PID` for each and then `done`, and exits: the children are re-parented
to the nearest reaper (PID 1 of the namespace, or a subreaper above us) and exit at once, so
that reaper must collect N zombies at the same time.

Usage: orphans.py N [--wait-parent]

  --wait-parent  first wait (up to 30 s) until the parent process sleeps in sigtimedwait,
                 i.e. an init that exec'd over our parent has finished its set-up.
"""
import os
import sys
import time


def wait_parent():
    ppid = os.getppid()
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            with open("/proc/%d/wchan" % ppid) as f:
                if "sigtimedwait" in f.read():
                    return True
        except OSError:
            return False
        time.sleep(0.01)
    return False


def main():
    args = sys.argv[1:]
    if not args:
        sys.stderr.write(__doc__)
        return 2
    n = int(args[0])
    if "--wait-parent" in args[1:] and not wait_parent():
        sys.stderr.write("orphans.py: parent never waited for signals\n")
        return 1
    r, w = os.pipe()
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os.close(w)
            os.read(r, 1)  # EOF once the parent (the only writer) has exited
            os._exit(0)
        pids.append(pid)
    os.close(r)
    sys.stdout.write("".join("orphan %d\n" % p for p in pids))
    sys.stdout.write("done\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
