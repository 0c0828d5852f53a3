//! Hostile conditions, each as a plain process and as PID 1 of a PID namespace. Programs: one
//! that closes or redirects its stdio, one that blocks and ignores every signal, one that
//! exits in the middle of a flood of signals (ESRCH). Surroundings: a stderr that is closed,
//! broken from the start, breaks while tini-rs logs at -vvvv, or is full and never read, or
//! is shared with a program that floods it (a log write never blocks PID 1), or is another
//! user's full FIFO, or another user's pipe whose reader stalls (tini-rs's spliced lines
//! leave the program room); the exec-failure line waits for a full stderr to be read; a broken stdout; a `sigtimedwait` that keeps failing (no spin).
//! Exhaustion: fork failing under a pids limit or `RLIMIT_NPROC`, a fork bomb, a storm of
//! signals. Each time tini-rs keeps forwarding and reaping, exits with the program's
//! status, never forwards a SIGPIPE of its own, and logs no error it should not.
//!
//! Fork failure and the fork bomb need a pids cgroup controller (v1 or v2); without one they
//! say so and return. The signal storm runs 50 000 signals; the full size (1 000 000)
//! with `TINI_RS_FULL=1 cargo test --release --test integration hostile::signal_storm --
//! --nocapture` (`TINI_RS_STORM_SIGNALS=N` sets the size alone).

use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, OFlag, fcntl};

use crate::harness::*;

/// `tini-rs OPTS -- helper.py MODE` (with `-s` when plain, so the not-PID-1 warning does not
/// clutter stderr).
fn start(mode: Mode, opts: &[&str], helper_mode: &str) -> Proc {
    let program = helper(&[helper_mode]);
    let mut c = tini_s(mode, &args_for(opts, &program));
    c.stdin(Stdio::null());
    Proc::spawn(c)
}

#[test]
fn program_that_closes_or_redirects_its_stdio() {
    for mode in MODES {
        for helper_mode in ["closestdio", "redirect"] {
            let mut p = start(mode, &["-vvvv"], helper_mode);
            p.wait_prefix("ready");
            let t = p.tini(mode);
            let prog = only_child(t);
            poll_until("the program's stdio to change", || {
                let fd1 = std::fs::read_link(format!("/proc/{prog}/fd/1"));
                let done = match helper_mode {
                    "closestdio" => fd1.is_err(),
                    _ => fd1.is_ok_and(|l| l.to_string_lossy() == "/dev/null"),
                };
                done.then_some(())
            });
            kill(t, libc::SIGUSR1);
            let out = p.finish();
            assert_eq!(out.code(), 4, "{mode:?} {helper_mode}\n{out}");
            assert!(out.stderr.contains("Passing signal: 'SIGUSR1'"), "{out}");
            assert!(
                out.stderr
                    .contains("Main child exited normally (with status '4')"),
                "{out}"
            );
        }
    }
}

#[test]
fn program_that_blocks_and_ignores_everything() {
    let sent = [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGUSR1,
    ];
    for mode in MODES {
        let mut p = start(mode, &[], "ignoreall");
        p.wait_prefix("ready");
        let t = p.tini(mode);
        let prog = only_child(t);
        let _guard = KillOnDrop::new(&[prog]);
        let fd = PidFd::open(t);
        for s in sent {
            fd.send(s).unwrap();
        }
        // Blocked signals are kept pending even when ignored: proof that each was forwarded.
        poll_until("every forwarded signal pending in the program", || {
            sent.iter().all(|s| pending(prog, *s)).then_some(())
        });
        assert!(p.try_status().is_none(), "tini-rs left");
        assert!(alive(prog), "program left");
        match mode {
            Mode::Plain | Mode::InNamespace => {
                // Only SIGKILL from outside ends it; tini-rs reports 128+9.
                kill(prog, libc::SIGKILL);
                let out = p.finish();
                assert_eq!(out.code(), 137, "{out}");
            }
            Mode::Pid1 => {
                // Killing the namespace's init ends every process in it. (unshare then
                // reports it in its own way: killed by 9, 137, or 1 when it fails to re-raise.)
                fd.send(libc::SIGKILL).unwrap();
                let out = p.finish();
                assert!(!out.status.success(), "{out}");
                poll_until("the program to be gone with its namespace", || {
                    (!alive(prog)).then_some(())
                });
            }
        }
    }
}

#[test]
fn program_exiting_during_a_signal_flood_gives_its_status_and_no_error() {
    const ROUNDS: usize = 10;
    let (mut esrch_logged, mut sent_total) = (0, 0);
    for mode in MODES {
        for round in 0..ROUNDS {
            // The last round at debug level, to count the ESRCH path.
            let verbose = round == ROUNDS - 1;
            let level: &[&str] = if verbose { &["-vvv"] } else { &[] };
            let args = [level, &["--", "sh", "-c", "echo ready; read x; exit 5"]].concat();
            let mut c = tini_s(mode, &args);
            c.stdin(Stdio::piped());
            let mut p = Proc::spawn(c);
            p.wait_prefix("ready");
            // A pidfd: the flood must never hit a process that reuses tini-rs's PID.
            let fd = PidFd::open(p.tini(mode));
            let stop = Arc::new(AtomicBool::new(false));
            let sent = Arc::new(AtomicUsize::new(0));
            let flood = {
                let (stop, sent) = (stop.clone(), sent.clone());
                std::thread::spawn(move || {
                    // Signals whose default action is to ignore them: the shell exits 5.
                    let kinds = [libc::SIGWINCH, libc::SIGURG, libc::SIGCONT, libc::SIGCHLD];
                    for sig in kinds.iter().cycle() {
                        if stop.load(Ordering::Relaxed) || fd.send(*sig).is_err() {
                            return;
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                })
            };
            poll_until("the flood to start", || {
                (sent.load(Ordering::Relaxed) > 100).then_some(())
            });
            drop(p.take_stdin()); // `read` sees EOF: the program exits mid-flood
            let out = p.finish();
            stop.store(true, Ordering::Relaxed);
            flood.join().unwrap();
            sent_total += sent.load(Ordering::Relaxed);
            assert_eq!(out.code(), 5, "{mode:?} round {round}\n{out}");
            if verbose {
                esrch_logged += count(&out.stderr, "No process to receive");
                assert_eq!(count(&out.stderr, "[WARN"), 0, "{out}");
                assert_eq!(count(&out.stderr, "[ERROR"), 0, "{out}");
            } else {
                assert_eq!(out.stderr, "", "{mode:?} round {round}\n{out}");
            }
        }
    }
    eprintln!(
        "exit during a flood: {} runs, {sent_total} signals sent, {esrch_logged} ESRCH \
         deliveries logged at -vvv, all exit 5, no error line",
        2 * ROUNDS
    );
}

/// Ways to spoil tini-rs's stderr before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadStderr {
    /// `2>&-`.
    Closed,
    /// A pipe whose read end is already closed (writes fail with EPIPE and raise SIGPIPE).
    NoReader,
    /// A socket whose peer is closed: unlike a pipe it may poll as writable, so writes are
    /// tried, fail with EPIPE and raise SIGPIPE on tini-rs itself.
    PeerGone,
    /// A pipe whose reader goes away once the program is ready, while tini-rs logs.
    Breaking,
    /// A pipe filled before tini-rs starts and never read.
    Full,
}

const BAD_STDERR: [BadStderr; 5] = [
    BadStderr::Closed,
    BadStderr::NoReader,
    BadStderr::PeerGone,
    BadStderr::Breaking,
    BadStderr::Full,
];

/// Starts `cmd` with its stderr spoiled as `bad` says; returns it and the read end that
/// must stay open until the test lets go of it (`Breaking`, `Full`).
fn spawn_with_bad_stderr(bad: BadStderr, cmd: Command) -> (Proc, Option<OwnedFd>) {
    let pipe = || nix::unistd::pipe().unwrap();
    let (stderr, keep): (OwnedFd, Option<OwnedFd>) = match bad {
        BadStderr::Closed => {
            // The wrapper's own stderr is ours: it must stay empty.
            let c = wrap(&["sh", "-c", "exec \"$@\" 2>&-", "sh"], &cmd);
            return (Proc::spawn(c), None);
        }
        BadStderr::NoReader => (pipe().1, None),
        BadStderr::PeerGone => {
            let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
            (OwnedFd::from(a), None)
        }
        BadStderr::Breaking => {
            let (r, w) = pipe();
            (w, Some(r))
        }
        BadStderr::Full => {
            let (r, w) = pipe();
            // Filled non-blocking, then blocking again for tini-rs.
            let flags = OFlag::from_bits_truncate(fcntl(&w, FcntlArg::F_GETFL).unwrap());
            fcntl(&w, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).unwrap();
            while nix::unistd::write(&w, &[b'x'; 4096]).is_ok() {}
            fcntl(&w, FcntlArg::F_SETFL(flags)).unwrap();
            assert!(w.as_raw_fd() > 2);
            (w, Some(r))
        }
    };
    (
        Proc::spawn_with_stderr(cmd, Some(Stdio::from(stderr))),
        keep,
    )
}

#[test]
fn a_broken_stderr_does_not_change_the_exit_status() {
    for bad in BAD_STDERR.into_iter().filter(|b| *b != BadStderr::Breaking) {
        for mode in MODES {
            for (script, code, stdout) in [
                ("echo out; exit 7", 7, "out\n"),
                ("kill -TERM $$; sleep 5", 143, ""),
            ] {
                let cmd = tini(mode, &["-vvvv", "-w", "--", "sh", "-c", script]);
                let (p, _keep) = spawn_with_bad_stderr(bad, cmd);
                let out = p.finish();
                assert_eq!(out.code(), code, "{bad:?} {mode:?} {script:?}\n{out}");
                // Nothing of tini-rs's leaks elsewhere.
                assert_eq!(out.stdout, stdout, "{bad:?} {mode:?}\n{out}");
                assert_eq!(out.stderr, "", "{bad:?} {mode:?}\n{out}");
            }
            if bad == BadStderr::Full {
                // The forked child waits for room to say why its exec failed, as tini's
                // does: see the_exec_failure_line_waits_for_room.
                continue;
            }
            let cmd = tini(mode, &["-vvvv", "--", "/nonexistent/tini-rs-test"]);
            let (p, _keep) = spawn_with_bad_stderr(bad, cmd);
            let out = p.finish();
            assert_eq!(out.code(), 127, "{bad:?} {mode:?}\n{out}");
        }
    }
}

/// The exec-failure line comes from the forked child, which is not PID 1 and may wait: with
/// stderr full when it starts and read a moment later, the line still arrives (as with
/// tini-static and dumb-init), and the status is 127.
#[test]
fn the_exec_failure_line_waits_for_room() {
    for mode in MODES {
        let cmd = tini(mode, &["--", "/nonexistent/tini-rs-test"]);
        let (mut p, keep) = spawn_with_bad_stderr(BadStderr::Full, cmd);
        let top = p.pid();
        // The child asleep in its write, or everything over (the line dropped).
        poll_until("the child to wait for room, or tini-rs to exit", || {
            let waiting = descendants(top)
                .into_iter()
                .any(|d| sleeping_in(d).contains("pipe_write"));
            (waiting || p.try_status().is_some()).then_some(())
        });
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut f = std::fs::File::from(keep.unwrap());
            std::io::Read::read_to_end(&mut f, &mut got).unwrap();
            String::from_utf8_lossy(&got).into_owned()
        });
        let out = p.finish();
        let got = reader.join().unwrap();
        let tail = got.trim_start_matches('x');
        assert_eq!(out.code(), 127, "{mode:?}\n{out}");
        assert!(
            tail.contains("exec /nonexistent/tini-rs-test failed: No such file or directory\n"),
            "{mode:?}: after the filler, stderr got {tail:?}"
        );
    }
}

/// A pipe of another user's (tini-rs splices its lines there): with the reader stalled, 20
/// forwarded signals logged at -vv leave the program most of the pipe (a spliced line
/// takes a whole 4 KiB slot of its 16, so tini-rs may keep only a few there).
#[test]
fn spliced_lines_leave_the_program_room() {
    const PROGRAM: &str = "import fcntl, os, signal
sigs = {signal.SIGUSR1, signal.SIGUSR2}
signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
print('ready', flush=True)
while signal.sigwait(sigs) == signal.SIGUSR1:
    print('sig', flush=True)
fcntl.fcntl(2, fcntl.F_SETFL, fcntl.fcntl(2, fcntl.F_GETFL) | os.O_NONBLOCK)
n = 0
try:
    while n < 64000:
        n += os.write(2, b'y' * min(4096, 64000 - n))
except BlockingIOError:
    pass
print('wrote', n, flush=True)";
    for mode in MODES {
        let (stalled, stderr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let argv = [
            &AS_NOBODY[..],
            &[bin(), "-vv", "--", python(), "-c", PROGRAM],
        ]
        .concat();
        let mut cmd = in_mode(mode, &argv);
        cmd.stdin(Stdio::null());
        let mut p = Proc::spawn_with_stderr(cmd, Some(Stdio::from(stderr)));
        p.wait_prefix("ready");
        let t = p.tini(mode);
        let _guard = KillOnDrop::if_plain(mode, &[only_child(t)]);
        for _ in 0..20 {
            kill(t, libc::SIGUSR1);
            p.wait_line(|l| l == "sig");
        }
        // tini-rs back in sigtimedwait: the 20th line is written (or dropped).
        wait_sigtimedwait(t);
        kill(t, libc::SIGUSR2);
        let wrote = p.wait_prefix("wrote ");
        let n: usize = wrote.trim_start_matches("wrote ").parse().unwrap();
        let out = p.finish();
        drop(stalled);
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert!(
            n >= 40_000,
            "{mode:?}: the program could write {n} of 64000 bytes"
        );
    }
}

#[test]
fn a_broken_stderr_does_not_stop_signal_forwarding() {
    // Every signal makes tini-rs log (and, with no reader, raise SIGPIPE on itself). The
    // program must get exactly the signals sent: never a SIGPIPE (13) of tini-rs's own.
    // SIGTERM (15) comes last and is numbered above SIGPIPE, so a pending SIGPIPE would be
    // taken first and show up before it.
    let program = helper(&["sigrecv", "--exit-on", "15"]);
    let args = args_for(&["-vvvv", "-w"], &program);
    for bad in BAD_STDERR {
        for mode in MODES {
            let (mut p, mut keep) = spawn_with_bad_stderr(bad, tini(mode, &args));
            p.wait_prefix("ready ");
            if bad == BadStderr::Breaking {
                keep.take();
            }
            let t = p.tini(mode);
            // If the test fails, the program (it waits for signals until SIGTERM) must not
            // outlive it.
            let _guard = KillOnDrop::if_plain(mode, &[only_child(t)]);
            for sig in [libc::SIGUSR1, libc::SIGHUP, libc::SIGUSR2, libc::SIGTERM] {
                kill(t, sig);
                let got = p.wait_line(|l| l.starts_with("sig "));
                assert_eq!(got, format!("sig {sig}"), "{bad:?} {mode:?}");
            }
            let out = p.finish();
            assert_eq!(out.code(), 0, "{bad:?} {mode:?}\n{out}");
            assert!(!out.stdout.contains("sig 13"), "{bad:?} {mode:?}\n{out}");
        }
    }
}

/// Where the kernel says `pid` sleeps, and its kernel stack (root may read it).
fn sleeping_in(pid: i32) -> String {
    let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    // "0": running or runnable, not asleep (its stack may still show the write it was
    // preempted in, on a loaded machine).
    if matches!(wchan.trim(), "" | "0") {
        return String::new();
    }
    let stack = std::fs::read_to_string(format!("/proc/{pid}/stack")).unwrap_or_default();
    format!("{wchan}\n{stack}")
}

/// Whether a kernel stack shows a write or send that is waiting.
fn asleep_in_a_write(at: &str) -> bool {
    [
        "pipe_write",
        "ksys_write",
        "vfs_write",
        "sendmsg",
        "sendto",
        "sock_alloc_send",
    ]
    .iter()
    .any(|f| at.contains(f))
}

/// What tini-rs's stderr is in [`a_log_write_never_blocks_pid1`].
#[derive(Debug, Clone, Copy)]
enum Shared {
    Pipe,
    Socket,
}

/// The program floods the pipe (or socket) that tini-rs logs to at `-vvv` (a line for every
/// signal), while a reader empties it in bursts and a stream of signals makes tini-rs log.
/// strace, attached to tini-rs, delays each of its writes by 20 ms: whatever tini-rs checked
/// before writing is stale by then, as when the program fills the pipe between a `poll` and
/// a `write` (the race that froze tini-rs before). tini-rs is never found asleep in a write,
/// and SIGTERM still ends the program (143).
#[test]
fn a_log_write_never_blocks_pid1() {
    for mode in MODES {
        for kind in [Shared::Pipe, Shared::Socket] {
            log_flood_round(mode, kind);
        }
    }
}

fn log_flood_round(mode: Mode, kind: Shared) {
    let (rd, wr): (OwnedFd, OwnedFd) = match kind {
        Shared::Pipe => nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap(),
        Shared::Socket => {
            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            (OwnedFd::from(a), OwnedFd::from(b))
        }
    };
    let mut cmd = tini(mode, &["-vvv", "--", "yes", "flooding the shared stderr"]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(wr.try_clone().unwrap()))
        .stderr(Stdio::from(wr));
    // The Command holds our copies of the write end: spawning consumes it, or the reader
    // would never see the end.
    let mut k = Keeper::spawn(cmd);
    let pid = k.pid();
    let mut guard = KillOnDrop::default();
    let t = match mode {
        Mode::Pid1 => tini_under(pid),
        Mode::Plain | Mode::InNamespace => pid,
    };
    poll_until("the program to run", || {
        (children(t).len() == 1).then_some(())
    });
    let mut tracer = Command::new("strace")
        .args(["-qq", "-o", "/dev/null", "-e", "trace=write,sendto"])
        .args([
            "-e",
            "inject=write,sendto:delay_enter=20000",
            "-p",
            &t.to_string(),
        ])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let tracer_pid = i32::try_from(tracer.id()).unwrap();
    guard.add(tracer_pid);
    poll_until("strace to attach", || {
        proc_status(t, "TracerPid").filter(|p| p != "0")
    });
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut f = std::fs::File::from(rd);
            let mut buf = vec![0u8; 1 << 16];
            // Bursts: empty the pipe for 40 ms, then leave it full for 100 ms (a load
            // pattern, not a synchronisation).
            while !done.load(Ordering::Relaxed) {
                let burst = Instant::now();
                while burst.elapsed() < Duration::from_millis(40) {
                    if matches!(std::io::Read::read(&mut f, &mut buf), Ok(0) | Err(_)) {
                        return;
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = std::io::copy(&mut f, &mut std::io::sink());
        })
    };
    let mut blocked = Vec::new();
    for _ in 0..1500 {
        kill(t, libc::SIGWINCH);
        let at = sleeping_in(t);
        if asleep_in_a_write(&at) {
            blocked.push(at);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    kill(tracer_pid, libc::SIGTERM);
    let _ = tracer.wait();
    poll_until("strace to detach", || {
        proc_status(t, "TracerPid").filter(|p| p == "0")
    });
    kill(t, libc::SIGTERM);
    let status = poll_until("tini-rs to exit after SIGTERM", || k.try_status());
    done.store(true, Ordering::Relaxed);
    // Whatever still holds the pipe goes first, or the reader would wait for it.
    drop(k);
    reader.join().unwrap();
    assert!(
        blocked.is_empty(),
        "{mode:?} {kind:?}: tini-rs was found asleep in a write {} times:\n{}",
        blocked.len(),
        blocked.first().map_or("", String::as_str)
    );
    assert_eq!(status.code(), Some(143), "{mode:?} {kind:?}");
}

/// A full FIFO of another user's as stderr: tini-rs cannot reopen it and nobody reads it;
/// it still starts the program and passes its status on, at any verbosity.
#[test]
fn a_full_stderr_of_another_user_never_blocks_the_start() {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = ScratchDir::new("full-fifo");
    let fifo = dir.file("fifo");
    let made = Command::new("mkfifo").args(["-m", "600", &fifo]).status();
    assert!(made.is_ok_and(|s| s.success()));
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    while std::io::Write::write(&mut f, &[b'x'; 4096]).is_ok() {}
    let argv = [
        &AS_NOBODY[..],
        &[bin(), "-vvv", "-w", "--", "sh", "-c", "exit 4"],
    ]
    .concat();
    let mut c = in_mode(Mode::Plain, &argv);
    c.stdin(Stdio::null());
    let out = Proc::spawn_with_stderr(c, Some(Stdio::from(f.try_clone().unwrap()))).finish();
    assert_eq!(out.code(), 4, "{out}");
}

/// `sigtimedwait` failing for ever (strace makes every call fail with EINVAL): tini-rs does
/// not spin; it backs off (10 ms doubling to 1 s), still reaps, and exits with the program's
/// status.
#[test]
fn a_failing_sigtimedwait_cannot_spin() {
    let dir = ScratchDir::new("failing-sigtimedwait");
    let trace = [
        "-e",
        "trace=rt_sigtimedwait",
        "-e",
        "inject=rt_sigtimedwait:error=EINVAL",
    ];
    let args = ["--", "sh", "-c", "sleep 0.5; exit 6"];
    let (c, log) = under_strace(&dir, &trace, &args);
    let out = run(c);
    let trace = read_text(&log);
    assert_eq!(out.code(), 6, "{out}\n{trace}");
    let calls = count(&trace, "rt_sigtimedwait(");
    // Half a second of backing off is 10+20+40+80+160+320 ms: about 7 calls; a spin makes
    // hundreds of thousands.
    assert!((2..50).contains(&calls), "{calls} calls:\n{out}");
    assert!(out.stderr.contains("sigtimedwait failed"), "{out}");
}

#[test]
fn a_broken_stdout_does_not_change_the_exit_status() {
    for mode in MODES {
        let (r, w) = nix::unistd::pipe().unwrap();
        drop(r);
        let mut c = tini(mode, &["-s", "-vvvv", "--", "sh", "-c", "exit 7"]);
        c.stdin(Stdio::null())
            .stdout(Stdio::from(w))
            .stderr(Stdio::null());
        let mut k = Keeper::spawn(c);
        let status = k.wait(deadline(), "tini-rs");
        assert_eq!(status.code(), Some(7), "{mode:?}");
    }
}

/// Exit 1 and exactly one error line, `fork failed: Resource temporarily unavailable` (the
/// not-PID-1 warning aside).
fn assert_fork_failed(out: &Output, what: &str) {
    assert_eq!(out.code(), 1, "{what}\n{out}");
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.contains("won't work"))
        .collect();
    assert_eq!(lines.len(), 1, "{what}: one error line expected\n{out}");
    assert!(
        lines[0].starts_with("[ERROR tini-rs (")
            && lines[0].ends_with("] fork failed: Resource temporarily unavailable"),
        "{what}\n{out}"
    );
}

#[test]
fn fork_failure_under_a_pids_cgroup_limit_is_one_line_and_exit_1() {
    // Plain: the cgroup holds tini-rs only. As PID 1: unshare and tini-rs.
    for (mode, max) in [(Mode::Plain, 1), (Mode::Pid1, 2)] {
        let Some(cg) = Cgroup::new(max) else {
            eprintln!("no writable pids cgroup controller: skipping the cgroup variant");
            return;
        };
        let out = run(cg.wrap(&tini(mode, &["-s", "--", "true"])));
        assert_fork_failed(&out, &format!("{mode:?} pids.max={max}"));
    }
}

#[test]
fn fork_failure_under_rlimit_nproc_as_a_non_root_user() {
    // RLIMIT_NPROC counts every process of the real user: with a limit of 1, tini-rs itself
    // uses it up (more processes of that user elsewhere only make the fork fail sooner).
    let p = public();
    let argv = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "prlimit",
        "--nproc=1",
        &p.bin,
        "-s",
        "--",
        "true",
    ];
    let out = run(in_mode(Mode::Plain, &argv));
    assert_fork_failed(&out, "RLIMIT_NPROC=1 as uid 65534");
}

#[test]
fn fork_bomb_up_to_the_pids_limit_leaves_no_zombie() {
    let Some(cg) = Cgroup::new(200) else {
        eprintln!("no writable pids cgroup controller: skipping");
        return;
    };
    // -w: one warning per reaped process that is not the program, to count them.
    let program = helper(&["forkbomb"]);
    let out = run(cg.wrap(&tini(Mode::Pid1, &args_for(&["-w"], &program))));
    assert_eq!(out.code(), 7, "{out}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("bomb "))
        .unwrap_or_else(|| panic!("no bomb line\n{out}"));
    let created = usize::try_from(numbers(line.trim_end_matches(" clean"))[0]).unwrap();
    assert!(line.ends_with(" clean"), "{out}");
    // unshare, tini-rs and the program hold 3 of the 200; the bomb filled most of the rest.
    assert!(created >= 150, "only {created} processes\n{out}");
    // The bomb's root is reaped by the program; every other one became tini-rs's zombie.
    let reaped = count(&out.stderr, "Reaped zombie process with pid=");
    assert_eq!(reaped, created - 1, "{out}");
    assert_eq!(
        count(&out.stderr, "tini-rs"),
        reaped,
        "no other line expected\n{out}"
    );
}

/// The storm's signal kinds: every forwardable standard signal except SIGTERM (saved for the
/// end), the two never forwarded (TTIN, TTOU), fake SIGCHLDs, and every real-time signal.
fn storm_kinds() -> Vec<i32> {
    let mut v = vec![
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGPIPE,
        libc::SIGALRM,
        libc::SIGSTKFLT,
        libc::SIGCHLD,
        libc::SIGCONT,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGURG,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGWINCH,
        libc::SIGIO,
        libc::SIGPWR,
    ];
    v.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    v
}

/// Sends `n` signals cycling through `kinds`; returns (delivered, refused with EAGAIN).
fn storm(fd: &PidFd, kinds: &[i32], n: usize) -> (usize, usize) {
    let (mut ok, mut again) = (0, 0);
    for sig in kinds.iter().cycle().take(n) {
        match fd.send(*sig) {
            Ok(()) => ok += 1,
            Err(libc::EAGAIN) => again += 1,
            Err(e) => panic!("sending {sig}: errno {e}"),
        }
    }
    (ok, again)
}

/// Waits until `pid` has nothing pending and sleeps, twice in a row. The deadline is long:
/// once a storm has filled the real-time queue (`RLIMIT_SIGPENDING`), each dequeue costs the
/// kernel a walk of that queue and the drain takes minutes on a loaded machine.
fn quiescent(pid: i32) {
    let wait = Wait::new(patient(Duration::from_secs(900)));
    let mut calm = 0;
    while calm < 2 {
        let idle = ["SigPnd", "ShdPnd"]
            .iter()
            .all(|f| proc_sigset(pid, f).is_some_and(|s| s.is_empty()))
            && proc_status(pid, "State").is_some_and(|s| s.starts_with('S'));
        calm = if idle { calm + 1 } else { 0 };
        assert!(
            alive(pid),
            "tini-rs exited while draining its pending signals"
        );
        wait.check("tini-rs to drain its pending signals");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A storm of signals of mixed kinds sent as fast as possible, then SIGTERM: the program gets
/// the final SIGTERM, tini-rs exits 143, and its `VmRSS` is the same before and after (within
/// 8 KiB). Inside a PID namespace, with tini-rs and the program running as a dedicated user
/// (uid 47113), so the queued real-time signals count against that user's
/// `RLIMIT_SIGPENDING`, not root's, which other processes on the machine share.
#[test]
fn signal_storm_then_sigterm_exits_143_with_memory_unchanged() {
    const STORM_UID: &str = "47113";
    let n = std::env::var("TINI_RS_STORM_SIGNALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full() { 1_000_000 } else { 50_000 });
    let p = public();
    let argv = [
        "setpriv",
        "--reuid",
        STORM_UID,
        "--regid",
        STORM_UID,
        "--clear-groups",
        &p.bin,
        "--",
        python(),
        &p.helper,
        "storm",
    ];
    let mut c = in_mode(Mode::Pid1, &argv);
    c.stdin(Stdio::null());
    let mut proc = Proc::spawn(c);
    proc.wait_prefix("ready");
    let tini = proc.tini(Mode::Pid1);
    // setpriv's change of user clears the parent-death signal that `unshare --kill-child`
    // set, so a failing test must end the namespace itself: SIGKILL to its init.
    let _guard = KillOnDrop::new(&[tini]);
    let fd = PidFd::open(tini);
    let kinds = storm_kinds();

    // Warm-up: the forwarding code's pages are faulted in before the first measurement.
    storm(&fd, &kinds, 2 * kinds.len() * 10);
    quiescent(tini);
    let (rss0, anon0) = (kib(tini, "VmRSS"), kib(tini, "RssAnon"));
    let start = Instant::now();
    let (sent, refused) = storm(&fd, &kinds, n);
    let took = start.elapsed();
    quiescent(tini);
    let (rss1, anon1) = (kib(tini, "VmRSS"), kib(tini, "RssAnon"));

    fd.send(libc::SIGTERM).unwrap();
    let term = proc.wait_prefix("term after");
    let out = proc.finish();
    assert_eq!(out.code(), 143, "{out}");
    eprintln!(
        "signal storm: {n} sent in {took:?} ({sent} queued, {refused} refused with EAGAIN), \
         program: '{term}'; tini-rs VmRSS {rss0} -> {rss1} KiB, RssAnon {anon0} -> {anon1} KiB"
    );
    assert!(
        rss1.abs_diff(rss0) <= 8,
        "VmRSS {rss0} -> {rss1} KiB\n{out}"
    );
    // Only failed deliveries (the program's real-time queue full) may be logged.
    for l in out.stderr.lines() {
        assert!(l.contains("Resource temporarily unavailable"), "{l}\n{out}");
    }
}
