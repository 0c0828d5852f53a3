#!/usr/bin/env python3
"""Test helper: starts a daemon the way real ones start (fork, setsid, fork again, stdio on
/dev/null), so it is re-parented to the nearest reaper and is in its own session and process
group. The launcher prints `daemon PID PGID` once the daemon is ready (its signal handling is
in place and it has written `ready` to FILE), then exits 0.

Usage: daemon.py MODE FILE [--exit-on N]...

Modes (every line is appended to FILE with one write, so a line is either there or not):
  writer  on SIGTERM writes `term`, then `data 1` .. `data 10` a tenth of a second apart
          (about one second of flushing), then `END`, and exits 0. Other signals: ignored.
  logger  writes `sig N` for every signal it receives and keeps running (so it ignores
          SIGTERM), except that it exits 0 after logging a signal given with --exit-on.
"""
import os
import signal
import sys
import time


def append(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def writer(path, catchable, _exit_on):
    while True:
        info = signal.sigwaitinfo(catchable)
        if info.si_signo == signal.SIGTERM:
            break
    append(path, "term\n")
    for i in range(1, 11):
        time.sleep(0.1)
        append(path, "data %d\n" % i)
    append(path, "END\n")


def logger(path, catchable, exit_on):
    while True:
        info = signal.sigwaitinfo(catchable)
        append(path, "sig %d\n" % info.si_signo)
        if info.si_signo in exit_on:
            return


MODES = {"writer": writer, "logger": logger}


def main():
    args = sys.argv[1:]
    if len(args) < 2 or args[0] not in MODES:
        sys.stderr.write(__doc__)
        return 2
    mode, path = MODES[args[0]], args[1]
    exit_on = set()
    rest = args[2:]
    while rest:
        if rest.pop(0) == "--exit-on":
            exit_on.add(int(rest.pop(0)))
    # Blocked before the forks: no signal can arrive before the daemon waits for it.
    catchable = set(range(1, signal.SIGRTMAX + 1)) - {signal.SIGKILL, signal.SIGSTOP, 32, 33}
    signal.pthread_sigmask(signal.SIG_BLOCK, catchable)
    r, w = os.pipe()
    first = os.fork()
    if first == 0:
        os.close(r)
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        append(path, "ready\n")
        os.write(w, b"%d %d\n" % (os.getpid(), os.getpgrp()))
        os.close(w)
        try:
            mode(path, catchable, exit_on)
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(first, 0)
    report = b""
    while True:
        chunk = os.read(r, 64)
        if not chunk:
            break
        report += chunk
    if not report:
        return 1
    sys.stdout.write("daemon %s\n" % report.decode().strip())
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
