#!/usr/bin/env python3
"""Test helper standing in for the caller of tini-rs: sets an exact signal state and fd set,
then execs a command (usually tini-rs).

Usage: sigstage.py [--ignore N,N..] [--block N,N..] [--close-stdin] [--keep-fd N] -- CMD ARGS..

Every signal is first reset to its default action (Python itself ignores SIGPIPE and SIGXFSZ
and handles SIGINT; a caller started with glibc's posix_spawn, as Rust's Command does, has
glibc's internal signals 32 and 33 ignored) and the mask is emptied; then the listed signals are ignored / blocked,
so the command starts with exactly that state and nothing else. Every fd above 2 is closed
except the --keep-fd ones (opened on /dev/null, inheritable), so the command gets exactly
the fds the test asks for; --close-stdin closes fd 0 as `0<&-` does.
"""
import ctypes
import os
import platform
import signal
import sys

# rt_sigaction's number: Python's signal module refuses glibc's internal signals 32 and 33,
# and so does libc's sigaction, so they are reset with the raw system call.
SYS_RT_SIGACTION = {"x86_64": 13, "aarch64": 134}


class KernelSigaction(ctypes.Structure):
    _fields_ = [
        ("handler", ctypes.c_void_p),
        ("flags", ctypes.c_ulong),
        ("restorer", ctypes.c_void_p),
        ("mask", ctypes.c_uint64),
    ]


def reset_internal_signals():
    libc = ctypes.CDLL(None, use_errno=True)
    number = SYS_RT_SIGACTION[platform.machine()]
    for sig in (32, 33):
        default = KernelSigaction(None, 0, None, 0)
        if libc.syscall(number, sig, ctypes.byref(default), None, 8) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "rt_sigaction(%d): %s" % (sig, os.strerror(err)))


def numbers(text):
    return [int(n) for n in text.split(",") if n]


def main():
    args = sys.argv[1:]
    ignore, block, keep = [], [], []
    close_stdin = False
    while args:
        a = args.pop(0)
        if a == "--":
            break
        if a == "--ignore":
            ignore += numbers(args.pop(0))
        elif a == "--block":
            block += numbers(args.pop(0))
        elif a == "--keep-fd":
            keep.append(int(args.pop(0)))
        elif a == "--close-stdin":
            close_stdin = True
        else:
            sys.exit("sigstage.py: unknown option %r" % a)
    if not args:
        sys.exit("sigstage.py: no command")
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        signal.signal(sig, signal.SIG_IGN if sig in ignore else signal.SIG_DFL)
    reset_internal_signals()
    signal.pthread_sigmask(signal.SIG_SETMASK, block)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    for fd in keep:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, fd, inheritable=True)
        os.close(null)
    if close_stdin:
        os.close(0)
    os.execvp(args[0], args)


if __name__ == "__main__":
    main()
