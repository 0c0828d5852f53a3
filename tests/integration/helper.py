#!/usr/bin/env python3
"""The integration tests' one helper program: the programs tini-rs runs, and the callers that
start tini-rs in an exact state. Usage: helper.py MODE [ARGS...]. A mode that waits for the
test prints a `ready ...` line first; every wait is bounded by DEADLINE.

Programs that report signals (catchable signals blocked, fetched with sigwaitinfo, so standard
and real-time signals come with their exact numbers, lowest pending first):
  sigrecv [--exit-on N].. [--child] [--setpgid]
        print `ready PID PGID`, then `sig N` for each signal; exit 0 after an --exit-on one.
        --child: a grandchild in the same group does the same, its lines prefixed `grandchild `.
        --setpgid: first move into the group of a silent helper child (the program's own
        group is left empty).
  daemon writer|logger FILE [--exit-on N]..
        start a daemon as real ones start (fork, setsid, fork; stdio on /dev/null), print
        `daemon PID PGID PPID` once it is re-parented and ready (it has written `ready` to
        FILE), exit 0. writer: on SIGTERM appends `term`, `data 1`..`data 10` a tenth of a
        second apart, `END`, exits 0. logger: appends `sig N` per signal, exits after an
        --exit-on one (so it survives SIGTERM).
  storm     count signals; on SIGTERM print `term after N` and die of SIGTERM.

Job control:
  jobprog   print `ready PID PGID fg=F` (F=1 when its group is the terminal's foreground),
            then `got LINE` per stdin line; `exit N` exits N. SIGINT and SIGTSTP at default.
  stopself  ready; SIGSTOP itself; once continued, wait for SIGUSR1, print `got 10`, exit 3.

Orphans:
  orphans N [--wait-parent]
        fork N children blocked until this process exits, print `orphan PID` each and `done`,
        exit: the reaper above gets N zombies at once. --wait-parent: first wait until the
        parent sleeps in sigtimedwait (an init exec'd over our parent is set up).
  burst N drain|freeze
        one shell starts N background `read`s and exits (N orphans of the reaper, our parent);
        print `ready PID REAPER` and `orphans K` once the reaper has K children; release them.
        drain: print `done left=K zombies=Z` once the reaper has no child but us, exit 0.
        freeze: read a stdin line before the release; print `all zombies K Z` once all N are
        zombies, exit 5.
  orphan [--wait-term]
        make one orphan (double fork), check it was re-parented to our parent, release it,
        print `orphan PID` once it is reaped. --wait-term: then print `sig 15` on SIGTERM, exit 0.
  stream N  N orphans in batches of 10, reusing PIDs through ns_last_pid; wait until none is
            left; print `orphans N distinct D`.
  forkbomb  fork until fork fails, release the subtree, wait until all of it is reaped by init,
            print `bomb N clean`, exit 7.

Hostile and probing programs:
  forkchains N            start N chains that ignore SIGTERM, each a process forking and
                          exiting every 2 ms (stdio on /dev/null); print `ready`, exit 3.
  count-alive MODE        print `alive N`: the live processes (no zombies) of this helper
                          running as MODE.
  stall-stderr            start a child that ignores SIGTERM and writes to fd 2 from a page
                          nobody ever fills (userfaultfd): it sleeps in the kernel holding the
                          pipe's lock. Print `staller PID` once it sleeps there; exit 3.
  closestdio | redirect   ready; close fds 0-2 (or point them at /dev/null); on SIGUSR1 exit 4.
  ignoreall               ignore and block every signal; ready; sleep for ever.
  fds                     print `fds N=TARGET ...` for every open fd.
  socket-activated        a server started by socket activation: accept one connection on
                          fd 3, send `pid-ok OK fds=LISTEN_FDS names=LISTEN_FDNAMES` (OK:
                          whether LISTEN_PID is our own PID).

Callers (they exec CMD):
  stage [--ignore N,..] [--block N,..] [--keep-fd N].. [--close-stdin] -- CMD..
        every signal at its default action, then the listed ones ignored / blocked; every fd
        above 2 closed but the --keep-fd ones (on /dev/null); fd 0 closed with --close-stdin.
  subreaper set|unset -- CMD..   set PR_SET_CHILD_SUBREAPER (or not), then exec.
  fd9-peer -- CMD..
        make a socket pair, fork a peer that prints `eof after TEXT` once the other end is
        closed everywhere (or `no eof after TEXT` after 20 s), exec CMD with that end as fd 9.
  parent-death INIT SIGNAL
        as a subreaper, start a middle process that runs `INIT -s -p SIGNAL -- sh -c
        'echo up; exec sleep 1000'` and exits once it is up; print how INIT then ends
        (`signal N`, `exit N`, `still running`), and kill what is left of our children.
"""
import ctypes
import errno
import fcntl
import os
import platform
import resource
import signal
import socket
import struct
import subprocess
import sys
import time

DEADLINE = 60.0
CATCHABLE = set(range(1, signal.SIGRTMAX + 1)) - {signal.SIGKILL, signal.SIGSTOP, 32, 33}


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def wait_for(pred, what):
    end = time.monotonic() + DEADLINE
    while not pred():
        if time.monotonic() > end:
            say("timed out waiting for %s" % what)
            sys.exit(99)
        time.sleep(0.005)


def options(args, flags=(), valued=()):
    """`--flag` and repeatable `--name VALUE` options, then the positional arguments."""
    found, rest = {f: False for f in flags}, []
    found.update({v: [] for v in valued})
    while args:
        a = args.pop(0)
        if a in flags:
            found[a] = True
        elif a in valued:
            found[a].append(args.pop(0))
        elif a == "--":
            rest.extend(args)
            break
        else:
            rest.append(a)
    return found, rest


# Programs that report signals.

def sigrecv(args):
    opts, _ = options(args, ("--child", "--setpgid"), ("--exit-on",))
    exit_on = {int(n) for n in opts["--exit-on"]}
    signal.pthread_sigmask(signal.SIG_BLOCK, CATCHABLE)
    if opts["--setpgid"]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 1)
            os.dup2(null, 2)
            os.setpgid(0, 0)
            os.read(r, 1)  # EOF once the program is gone
            os._exit(0)
        os.close(r)
        os.setpgid(pid, pid)  # whichever of us runs first creates the group
        os.setpgid(0, pid)
    prefix = ""
    if opts["--child"]:
        r, w = os.pipe()
        if os.fork() == 0:
            os.close(r)
            prefix = "grandchild "
            os.close(w)
        else:
            os.close(w)
            os.read(r, 1)  # EOF: the grandchild is set up before we say ready
            os.close(r)
    say("%sready %d %d" % (prefix, os.getpid(), os.getpgrp()))
    while True:
        info = signal.sigwaitinfo(CATCHABLE)
        say("%ssig %d" % (prefix, info.si_signo))
        if info.si_signo in exit_on:
            return 0


def append(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode())  # one write: a line is either there or not
    finally:
        os.close(fd)


def daemon(args):
    opts, (kind, path) = options(args, (), ("--exit-on",))
    exit_on = {int(n) for n in opts["--exit-on"]}
    # Blocked before the forks: no signal can arrive before the daemon waits for it.
    signal.pthread_sigmask(signal.SIG_BLOCK, CATCHABLE)
    r, w = os.pipe()
    first = os.fork()
    if first == 0:
        os.close(r)
        os.setsid()
        middle = os.getpid()
        if os.fork() != 0:
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        append(path, "ready\n")
        wait_for(lambda: os.getppid() != middle, "re-parenting")
        os.write(w, b"%d %d %d\n" % (os.getpid(), os.getpgrp(), os.getppid()))
        os.close(w)
        try:
            while True:
                signo = signal.sigwaitinfo(CATCHABLE).si_signo
                if kind == "logger":
                    append(path, "sig %d\n" % signo)
                    if signo in exit_on:
                        break
                elif signo == signal.SIGTERM:
                    append(path, "term\n")
                    for i in range(1, 11):
                        time.sleep(0.1)
                        append(path, "data %d\n" % i)
                    append(path, "END\n")
                    break
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
    say("daemon %s" % report.decode().strip())
    return 0


def storm(_args):
    signal.pthread_sigmask(signal.SIG_BLOCK, CATCHABLE)
    say("ready %d" % os.getpid())
    n = 0
    while signal.sigwaitinfo(CATCHABLE).si_signo != signal.SIGTERM:
        n += 1
    say("term after %d" % n)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    os.kill(os.getpid(), signal.SIGTERM)
    return 1  # not reached


# Job control.

def jobprog(_args):
    # Python turns SIGINT into an exception: back to the default, so Ctrl-C kills.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTSTP, signal.SIG_DFL)
    try:
        fg = int(os.tcgetpgrp(0) == os.getpgrp())
    except OSError:
        fg = 0
    say("ready %d %d fg=%d" % (os.getpid(), os.getpgrp(), fg))
    for line in sys.stdin:
        line = line.strip()
        say("got %s" % line)
        if line.startswith("exit "):
            return int(line.split()[1])
    return 0


def stopself(_args):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    say("ready %d" % os.getpid())
    os.kill(os.getpid(), signal.SIGSTOP)
    signal.sigwaitinfo({signal.SIGUSR1})
    say("got 10")
    return 3


# Orphans.

def orphans(args):
    opts, (n,) = options(args, ("--wait-parent",))
    if opts["--wait-parent"]:
        ppid = os.getppid()

        def parent_waits():
            try:
                with open("/proc/%d/wchan" % ppid) as f:
                    return "sigtimedwait" in f.read()
            except OSError:
                return False

        wait_for(parent_waits, "the parent to wait in sigtimedwait")
    r, w = os.pipe()
    pids = []
    for _ in range(int(n)):
        pid = os.fork()
        if pid == 0:
            os.close(w)
            os.read(r, 1)  # EOF once the parent (the only writer) has exited
            os._exit(0)
        pids.append(pid)
    os.close(r)
    sys.stdout.write("".join("orphan %d\n" % p for p in pids))
    say("done")
    return 0


def children_of(reaper, me):
    """(children, zombies) of `reaper` other than `me`, from /proc."""
    kids = zombies = 0
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        if int(fields[1]) == reaper:
            kids += 1
            zombies += fields[0] == "Z"
    return kids, zombies


def burst(args):
    n, mode = int(args[0]), args[1]
    me, reaper = os.getpid(), os.getppid()
    say("ready %d %d" % (me, reaper))

    def settle(pred):
        end = time.monotonic() + DEADLINE / 3
        while True:
            k, z = children_of(reaper, me)
            if pred(k, z) or time.monotonic() > end:
                return k, z  # the counts at the deadline fail the test with numbers
            time.sleep(0.01)

    r, w = os.pipe()  # both close-on-exec; only r is handed on
    script = "i=0; while [ $i -lt %d ]; do read x <&%d & i=$((i+1)); done" % (n, r)
    subprocess.run(["/bin/sh", "-c", script], pass_fds=(r,), stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    k, _ = settle(lambda k, z: k >= n)
    say("orphans %d" % k)
    if mode == "freeze":
        sys.stdin.readline()
    os.close(w)
    if mode == "freeze":
        k, z = settle(lambda k, z: z >= n)
        say("all zombies %d %d" % (k, z))
        return 5
    k, z = settle(lambda k, z: k == 0)
    say("done left=%d zombies=%d" % (k, z))
    return 0


def orphan(args):
    opts, _ = options(args, ("--wait-term",))
    # A caller that ignored SIGCHLD would make our own waitpid fail: take control first.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    reaper = os.getppid()
    r, w = os.pipe()
    pr, pw = os.pipe()
    middle = os.fork()
    if middle == 0:
        g = os.fork()
        if g == 0:
            os.close(w)
            os.read(r, 1)  # until the program closes w
            os._exit(0)
        os.write(pw, b"%d" % g)
        os._exit(0)
    os.close(pw)
    g = int(os.read(pr, 20))
    os.waitpid(middle, 0)
    with open("/proc/%d/stat" % g) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    if ppid != reaper:
        say("orphan %d re-parented to %d, not %d" % (g, ppid, reaper))
        return 98
    os.close(w)
    wait_for(lambda: not os.path.exists("/proc/%d" % g), "the orphan to be reaped")
    say("orphan %d" % g)
    if opts["--wait-term"]:
        signal.sigwaitinfo({signal.SIGTERM})
        say("sig 15")
    return 0


def others():
    """PIDs in /proc other than 1 and ourselves (inside a PID namespace: our leftovers)."""
    me = os.getpid()
    return [int(d) for d in os.listdir("/proc") if d.isdigit() and int(d) not in (1, me)]


def retry_fork():
    while True:
        try:
            return os.fork()
        except OSError as e:
            if e.errno != errno.EAGAIN:
                raise
            time.sleep(0.001)  # pids limit reached: init has zombies to reap


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


def stream(args, batch=10):
    n = int(args[0])
    last_pid = "/proc/sys/kernel/ns_last_pid"

    def reset():
        try:
            with open(last_pid, "w") as f:
                f.write("1000")
        except OSError:
            pass

    r, w = os.pipe()
    os.set_blocking(r, False)
    data = b""
    left = n
    while left > 0:
        k = min(batch, left)
        left -= k
        reset()
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
    wait_for(lambda: not others(), "the orphans to be reaped")
    say("orphans %d distinct %d" % (len(pids), len(set(pids))))
    return 0


def forkbomb(_args):
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
    wait_for(lambda: not others(), "the bomb to be reaped")
    say("bomb %d clean" % created)
    return 7


# Hostile and probing programs.

def closestdio(args, redirect=False):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    say("ready %d" % os.getpid())
    if redirect:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
    else:
        for fd in (0, 1, 2):
            os.close(fd)
    signal.sigwaitinfo({signal.SIGUSR1})
    return 4


def forkchains(args):
    for _ in range(int(args[0])):
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            while True:
                time.sleep(0.002)
                if os.fork() != 0:
                    os._exit(0)
    say("ready")
    return 3


def count_alive(args):
    word, alive = args[0].encode(), 0
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read()
            with open("/proc/%s/stat" % d) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        alive += cmd.split(b"\0")[2:3] == [word] and state != "Z"
    say("alive %d" % alive)
    return 0


def stall_stderr(_args):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.syscall.restype = ctypes.c_long
    nr = {"x86_64": 323, "aarch64": 282}[platform.machine()]  # userfaultfd
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        uffd = libc.syscall(nr, os.O_CLOEXEC)
        if uffd < 0:
            os._exit(9)
        fcntl.ioctl(uffd, 0xC018AA3F, bytearray(struct.pack("QQQ", 0xAA, 0, 0)))  # UFFDIO_API
        addr = libc.mmap(None, 4096, 3, 0x22, -1, 0)  # read/write, private anonymous
        # UFFDIO_REGISTER, missing pages: a read of the page waits for a handler that never comes.
        fcntl.ioctl(uffd, 0xC020AA00, bytearray(struct.pack("QQQQ", addr, 4096, 1, 0)))
        libc.write(2, ctypes.c_void_p(addr), 4096)
        os._exit(0)
    def stalled():
        with open("/proc/%d/wchan" % pid) as f:
            return f.read() == "handle_userfault"
    wait_for(stalled, "the stalled write")
    say("staller %d" % pid)
    return 3


def ignoreall(_args):
    for s in CATCHABLE:
        try:
            signal.signal(s, signal.SIG_IGN)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_BLOCK, CATCHABLE)
    say("ready %d" % os.getpid())
    while True:
        time.sleep(3600)


def fds(_args):
    seen = []
    for name in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            seen.append("%s=%s" % (name, os.readlink("/proc/self/fd/" + name)))
        except OSError:
            pass  # the descriptor listdir used, gone already
    say("fds " + " ".join(seen))
    return 0


def socket_activated(_args):
    ok = os.environ.get("LISTEN_PID") == str(os.getpid())
    s = socket.socket(fileno=3)
    c, _ = s.accept()
    c.sendall(("pid-ok %s fds=%s names=%s\n" % (
        ok, os.environ.get("LISTEN_FDS"), os.environ.get("LISTEN_FDNAMES"))).encode())
    c.close()
    return 0


# Callers.

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


def numbers(text):
    return [int(n) for n in text.split(",") if n]


def stage(args):
    """Python ignores SIGPIPE and SIGXFSZ and handles SIGINT; a caller started with glibc's
    posix_spawn (Rust's Command) has glibc's internal 32 and 33 ignored: all reset first."""
    opts, cmd = options(args, ("--close-stdin",), ("--ignore", "--block", "--keep-fd"))
    ignore = [s for t in opts["--ignore"] for s in numbers(t)]
    block = [s for t in opts["--block"] for s in numbers(t)]
    for sig in signal.valid_signals():
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_IGN if sig in ignore else signal.SIG_DFL)
    libc = ctypes.CDLL(None, use_errno=True)
    for sig in (32, 33):
        default = KernelSigaction(None, 0, None, 0)
        number = SYS_RT_SIGACTION[platform.machine()]
        if libc.syscall(number, sig, ctypes.byref(default), None, 8) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "rt_sigaction(%d): %s" % (sig, os.strerror(err)))
    signal.pthread_sigmask(signal.SIG_SETMASK, block)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    for fd in (int(n) for n in opts["--keep-fd"]):
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, fd, inheritable=True)
        os.close(null)
    if opts["--close-stdin"]:
        os.close(0)
    os.execvp(cmd[0], cmd)


def subreaper(args):
    if args[0] == "set":
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    cmd = args[args.index("--") + 1:]
    os.execv(cmd[0], cmd)


def parent_death(args):
    init, sig = args
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    r, w = os.pipe()
    middle = os.fork()
    if middle == 0:
        pid = os.fork()
        if pid == 0:
            os.dup2(w, 1)
            os.execv(init, [init, "-s", "-p", sig, "--", "sh", "-c", "echo up; exec sleep 1000"])
        os.read(r, 3)
        os._exit(0)
    os.waitpid(middle, 0)
    end = time.monotonic() + DEADLINE / 2
    while True:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid != 0:
            if os.WIFSIGNALED(status):
                say("signal %d" % os.WTERMSIG(status))
            elif os.WIFEXITED(status):
                say("exit %d" % os.WEXITSTATUS(status))
            break
        if time.monotonic() > end:
            say("still running")
            break
        time.sleep(0.01)
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            try:
                with open("/proc/%s/stat" % entry) as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == str(me):
                        os.kill(int(entry), signal.SIGKILL)
                        os.waitpid(int(entry), 0)
            except (OSError, IndexError, ChildProcessError):
                pass
    return 0


def fd9_peer(args):
    cmd = args[args.index("--") + 1:]
    a, b = socket.socketpair()
    if os.fork() == 0:
        b.close()
        a.settimeout(20)
        got = b""
        try:
            while True:
                chunk = a.recv(100)
                if not chunk:
                    say("eof after " + got.decode().strip())
                    break
                got += chunk
        except socket.timeout:
            say("no eof after " + got.decode().strip())
        os._exit(0)
    a.close()
    os.dup2(b.fileno(), 9, inheritable=True)
    b.close()
    os.execv(cmd[0], cmd)


MODES = {
    "sigrecv": sigrecv,
    "daemon": daemon,
    "storm": storm,
    "jobprog": jobprog,
    "stopself": stopself,
    "orphans": orphans,
    "burst": burst,
    "orphan": orphan,
    "stream": stream,
    "forkbomb": forkbomb,
    "closestdio": closestdio,
    "redirect": lambda args: closestdio(args, redirect=True),
    "ignoreall": ignoreall,
    "forkchains": forkchains,
    "count-alive": count_alive,
    "stall-stderr": stall_stderr,
    "fds": fds,
    "stage": stage,
    "subreaper": subreaper,
    "parent-death": parent_death,
    "socket-activated": socket_activated,
    "fd9-peer": fd9_peer,
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in MODES:
        sys.stderr.write(__doc__)
        return 2
    return MODES[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
