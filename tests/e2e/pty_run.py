#!/usr/bin/env python3
"""Run a command on a new pseudo-terminal, as a user at a keyboard would.

Usage: pty_run.py READY KEYS TIMEOUT -- COMMAND [ARGS...]

Starts COMMAND with a pty as its controlling terminal and stdin/stdout/stderr, copies what it
writes to stdout, types KEYS (Python escapes allowed, e.g. '\\x03' for Ctrl-C) once READY has
appeared in its output, and exits with COMMAND's exit status (128+N when killed by signal N).
If COMMAND has not finished TIMEOUT seconds after the keys were typed (or READY never came),
it is killed by PID and the exit status is 124.
"""

import os
import pty
import select
import signal
import sys
import time


def main() -> int:
    if len(sys.argv) < 6 or sys.argv[4] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    ready = sys.argv[1].encode()
    keys = sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1")
    timeout = float(sys.argv[3])
    command = sys.argv[5:]

    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)

    seen = b""
    typed = False
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            sys.stdout.write("\npty_run: timed out, killing pid %d\n" % pid)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return 124
        readable, _, _ = select.select([master], [], [], min(left, 0.5))
        if not readable:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every holder of the pty's other side has closed it
            data = b""
        if not data:
            break
        seen += data
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        if not typed and ready in seen:
            os.write(master, keys)
            typed = True
            deadline = time.monotonic() + timeout
    _, status = os.waitpid(pid, 0)
    os.close(master)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
