#!/usr/bin/env python3
"""Test helper for job control and terminals: prints `ready PID PGID fg=F` (F is 1 when its
process group is the foreground group of the terminal on stdin, 0 otherwise or without a
terminal), then prints `got LINE` for each line read on stdin; the line `exit N` makes it
exit with status N. SIGINT and SIGTSTP keep their default actions (Python would turn SIGINT
into an exception), so Ctrl-C kills it and Ctrl-Z stops it.
"""
import os
import signal
import sys


def main():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTSTP, signal.SIG_DFL)
    try:
        fg = int(os.tcgetpgrp(0) == os.getpgrp())
    except OSError:
        fg = 0
    out = sys.stdout
    out.write("ready %d %d fg=%d\n" % (os.getpid(), os.getpgrp(), fg))
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        out.write("got %s\n" % line)
        out.flush()
        if line.startswith("exit "):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
