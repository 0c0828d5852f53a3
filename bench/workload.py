#!/usr/bin/env python3
"""The program bench/run starts under each init (and with no init).

It talks to bench/run over stdin (commands, one per line) and stdout (replies):

  ready PID                   written once at start; then it idles, blocked in read(0)
  sig N                       receive N SIGUSR1 with sigwait; after each one write the
                              CLOCK_MONOTONIC receipt time as 8 bytes (little-endian
                              int64) and wait for the next; SIGTERM ends the loop early
  burst N -> armed K          fork a middle process M that forks K <= N children which exit
                              at once (zombies of M); M then waits for `go`
  go      -> gone T           M writes its exit time T and exits: its K zombies are
                              re-parented to the init all at once
          -> burst-done       after M itself was reaped by this program
  stream N -> streamed K T    a chain of N orphans: each link forks the next and exits, so
                              every link is re-parented to the init and reaped by it one
                              after the other; the last link writes its exit time T
  quit                        exit 0

Usage: workload.py [ZOMBIES]: ZOMBIES is bench/zombies.c compiled (forking from C is 10-20x
faster than from Python); without it burst and stream fork from Python.
Only the standard library; no process it makes outlives the PID namespace it runs in.
"""

import os
import signal
import struct
import sys
import time

OUT = 1


def say(text):
    os.write(OUT, text.encode() + b"\n")


def read_line(buf):
    """One line from fd 0 (unbuffered beyond what was read); None at EOF."""
    while b"\n" not in buf[0]:
        chunk = os.read(0, 4096)
        if not chunk:
            return None
        buf[0] += chunk
    line, _, rest = buf[0].partition(b"\n")
    buf[0] = rest
    return line.decode()


def receive(n):
    sigs = {signal.SIGUSR1, signal.SIGTERM}
    wait, now, write, pack = signal.sigwait, time.monotonic_ns, os.write, struct.Struct("<q").pack
    usr1 = signal.SIGUSR1
    for _ in range(n):
        s = wait(sigs)
        t = now()
        if s != usr1:
            sys.exit(0)
        write(OUT, pack(t))


def fork_retry():
    """fork, retrying a short while on EAGAIN (the PID space is shared)."""
    for _ in range(200):
        try:
            return os.fork()
        except BlockingIOError:
            time.sleep(0.01)
    return -1


HELPER = sys.argv[1] if len(sys.argv) > 1 else None  # the compiled zombies.c, if any


def burst(n, buf):
    m = os.fork()
    if m == 0 and HELPER:
        os.execv(HELPER, [HELPER, "burst", str(n)])
    if m == 0:
        gate_r, gate_w = os.pipe()
        made = 0
        for _ in range(n):
            try:
                c = os.fork()
            except OSError:
                break
            if c == 0:
                os._exit(0)
            made += 1
        # Every child holds gate_w until it exits: EOF means all of them are zombies now.
        os.close(gate_w)
        while os.read(gate_r, 1):
            pass
        say(f"armed {made}")
        line = read_line(buf)
        say(f"gone {time.monotonic_ns()}")
        os._exit(0 if line == "go" else 1)
    os.waitpid(m, 0)
    say("burst-done")


def stream(n):
    p = os.fork()
    if p == 0 and HELPER:
        os.execv(HELPER, [HELPER, "stream", str(n)])
    if p == 0:
        i = 0
        while i < n:
            c = fork_retry()
            if c < 0:
                break
            if c > 0:
                os._exit(0)  # the parent leaves; the child is now an orphan of the init
            i += 1
        say(f"streamed {i} {time.monotonic_ns()}")
        os._exit(0)
    os.waitpid(p, 0)


def main():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})
    say(f"ready {os.getpid()}")
    buf = [b""]
    while True:
        line = read_line(buf)
        if line is None:
            return
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], [int(w) for w in words[1:]]
        if cmd == "sig":
            receive(args[0])
        elif cmd == "burst":
            burst(args[0], buf)
        elif cmd == "stream":
            stream(args[0])
        elif cmd == "quit":
            return
        else:
            say(f"error unknown command {cmd}")


if __name__ == "__main__":
    main()
