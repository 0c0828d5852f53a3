//! Issue 7, item 4: broken surroundings. tini-rs started with stdin, stdout or stderr closed,
//! with a stderr pipe that is broken from the start or breaks while it logs at -vvvv, or that
//! is full and never read; started with TERM blocked and ignored and CHLD ignored by its
//! caller; run under itself (the `docker run --init` + ENTRYPOINT tini double init). Each
//! time it keeps forwarding and reaping, exits with the program's status, and the
//! not-PID-1 warning appears exactly when it is accurate.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;
#[path = "helpers/reliability.rs"]
mod rel;

use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use common::*;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use rel::{PidFd, RawOutput, count, inner_tini, py_args, python, run_bytes, wait_deadline};

const LIMIT: Duration = Duration::from_secs(60);

fn sigrecv() -> Vec<String> {
    vec![
        python().to_string(),
        helper("sigrecv.py"),
        "--exit-on".into(),
        "15".into(),
    ]
}

/// Runs tini-rs with `fds` closed by a shell first; the program exits 50+N if any of them is
/// open in it (tini-rs must not reopen them or put its own files there), else 7.
fn with_closed(mode: Mode, fds: &[u8], verbose: bool) -> RawOutput {
    let list: Vec<String> = fds.iter().map(u8::to_string).collect();
    let closes: String = fds.iter().map(|f| format!("exec {f}>&-; ")).collect();
    let mut args = vec!["-s"];
    if verbose {
        args.push("-vvvv");
    }
    let check = "for fd in $0; do [ -e /proc/$$/fd/$fd ] && exit $((50+fd)); done; exit 7";
    let joined = list.join(" ");
    args.extend(["--", "sh", "-c", check, &joined]);
    let inner = tini(mode, &args);
    let mut c = Command::new("/bin/sh");
    c.arg("-c")
        .arg(format!("{closes}exec \"$@\""))
        .arg("sh")
        .arg(inner.get_program())
        .args(inner.get_args());
    for (k, v) in inner.get_envs() {
        if v.is_none() {
            c.env_remove(k);
        }
    }
    run_bytes(c, LIMIT)
}

#[test]
fn closed_stdin_stdout_stderr_at_start() {
    let mut tried = 0;
    for mode in MODES {
        for fds in [&[0u8][..], &[1], &[2], &[0, 1, 2]] {
            for verbose in [false, true] {
                let out = with_closed(mode, fds, verbose);
                assert_eq!(
                    out.code(),
                    Some(7),
                    "{mode:?} closed {fds:?} -v {verbose}\n{out}"
                );
                tried += 1;
            }
        }
    }
    eprintln!("closed stdio at start: {tried} runs, all exit 7, closed fds stay closed");
}

/// A pipe; the caller decides what happens to each end.
fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe().unwrap()
}

/// Spawns `cmd` with stdout read line by line and stderr = `stderr`; returns the child and a
/// receiver of stdout lines.
fn spawn_lines(
    mut cmd: Command,
    stderr: OwnedFd,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr));
    let mut child = cmd.spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn expect(rx: &std::sync::mpsc::Receiver<String>, seen: &mut Vec<String>, pred: &str) {
    loop {
        let l = rx
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("no line starting {pred:?}; got {seen:?}"));
        seen.push(l.clone());
        if l.starts_with(pred) {
            return;
        }
    }
}

/// Kills a child still running when a test fails, and (plain mode) the program under it,
/// by PID. (As PID 1, the namespace goes with `unshare --kill-child`.)
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            for pid in children(self.0.id() as i32) {
                kill(pid, libc::SIGKILL);
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn tini_pid(child: &std::process::Child, mode: Mode) -> i32 {
    match mode {
        Mode::Plain => child.id() as i32,
        Mode::Pid1 => inner_tini(child.id() as i32),
    }
}

/// The program (sigrecv.py) gets USR1, USR2, then TERM, and never a SIGPIPE, while tini-rs
/// logs at -vvvv into `stderr` (broken from the start, broken after `ready`, or full).
fn signals_through(mode: Mode, stderr: OwnedFd, mut on_ready: impl FnMut()) {
    let s = sigrecv();
    let mut args = vec!["-s", "-vvvv", "--"];
    args.extend(s.iter().map(String::as_str));
    let (child, rx) = spawn_lines(tini(mode, &args), stderr);
    let mut guard = Guard(child);
    let child = &mut guard.0;
    let mut seen = Vec::new();
    expect(&rx, &mut seen, "ready");
    on_ready();
    let fd = PidFd::open(tini_pid(child, mode));
    for (sig, line) in [(libc::SIGUSR1, "sig 10"), (libc::SIGUSR2, "sig 12")] {
        fd.send(sig).unwrap();
        expect(&rx, &mut seen, line);
    }
    fd.send(libc::SIGTERM).unwrap();
    expect(&rx, &mut seen, "sig 15");
    let status = wait_deadline(child, LIMIT, &"tini-rs");
    assert_eq!(status.code(), Some(0), "{mode:?} {seen:?}");
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(2)) {
        seen.push(l);
    }
    assert!(
        !seen.iter().any(|l| l == "sig 13"),
        "SIGPIPE forwarded: {seen:?}"
    );
}

#[test]
fn stderr_broken_from_the_start_at_vvvv() {
    for mode in MODES {
        let (r, w) = pipe();
        drop(r);
        signals_through(mode, w, || {});
    }
}

#[test]
fn stderr_socket_with_closed_peer_at_vvvv() {
    // Unlike a pipe, a socket whose peer is gone may poll as writable: the write then fails
    // with EPIPE and raises SIGPIPE in tini-rs, which must neither forward it nor loop on it.
    for mode in MODES {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(b);
        signals_through(mode, OwnedFd::from(a), || {});
    }
}

#[test]
fn stderr_breaking_while_it_logs_at_vvvv() {
    for mode in MODES {
        let (r, w) = pipe();
        let mut r = Some(r);
        signals_through(mode, w, || drop(r.take()));
    }
}

#[test]
fn stderr_pipe_full_and_never_read_does_not_block() {
    for mode in MODES {
        let (r, w) = pipe();
        // Fill it (non-blocking just for the filling, then blocking again for tini-rs).
        let flags = OFlag::from_bits_truncate(fcntl(&w, FcntlArg::F_GETFL).unwrap());
        fcntl(&w, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).unwrap();
        let mut filled = 0usize;
        let chunk = [b'x'; 4096];
        while let Ok(n) = nix::unistd::write(&w, &chunk) {
            filled += n;
        }
        fcntl(&w, FcntlArg::F_SETFL(flags)).unwrap();
        assert!(w.as_raw_fd() > 2);
        signals_through(mode, w, || {});
        drop(r); // read never
        eprintln!("{mode:?}: stderr pipe full with {filled} bytes: forwarded, exit 0");
    }
}

#[test]
fn stdout_broken_from_the_start() {
    for mode in MODES {
        let (r, w) = pipe();
        drop(r);
        let mut c = tini(mode, &["-s", "-vvvv", "--", "sh", "-c", "exit 7"]);
        c.stdin(Stdio::null())
            .stdout(Stdio::from(w))
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        let status = wait_deadline(&mut child, LIMIT, &"tini-rs");
        assert_eq!(status.code(), Some(7), "{mode:?}");
    }
}

#[test]
fn caller_blocked_and_ignored_signals_still_forwarded_and_reaped() {
    // The caller blocks TERM and ignores TERM and CHLD (an ignored CHLD would make the kernel
    // reap behind tini-rs's back, losing the program's status).
    let mask = |rest: Vec<String>| -> Vec<String> {
        let mut v = py_args("withmask", &["15", "15,17", "--"]);
        v.extend(rest);
        v
    };
    let prog = py_args("orphan-then-term", &[]);
    for mode in MODES {
        let mut inner = vec![bin().to_string(), "-s".into(), "--".into()];
        inner.extend(prog.iter().cloned());
        let wrapped = mask(inner);
        let mut c = match mode {
            Mode::Plain => Command::new(&wrapped[0]),
            Mode::Pid1 => {
                let mut c = Command::new("unshare");
                c.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
                    .arg(&wrapped[0]);
                c
            }
        };
        c.args(&wrapped[1..]);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TINI_") {
                c.env_remove(k);
            }
        }
        c.stdin(Stdio::null());
        let mut p = Proc::spawn(c);
        // The program sees the caller's state: TERM blocked, TERM and CHLD ignored.
        let masks = p.wait_prefix("SigBlk");
        let f: Vec<u64> = masks
            .split_whitespace()
            .filter_map(|w| u64::from_str_radix(w, 16).ok())
            .collect();
        let bit = |s: i32| 1u64 << (s - 1);
        assert_eq!(f[0], bit(libc::SIGTERM), "{mode:?}: {masks}");
        assert_eq!(
            f[1] & (bit(libc::SIGTERM) | bit(libc::SIGCHLD)),
            bit(libc::SIGTERM) | bit(libc::SIGCHLD),
            "{mode:?}: {masks}"
        );
        p.wait_line(|l| l == "reaped");
        let t = match mode {
            Mode::Plain => p.pid(),
            Mode::Pid1 => inner_tini(p.pid()),
        };
        PidFd::open(t).send(libc::SIGTERM).unwrap();
        p.wait_line(|l| l == "sig 15");
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert_eq!(out.stderr, "", "{mode:?}\n{out}");
    }
}

#[test]
fn tini_rs_under_tini_rs_never_warns() {
    let s = sigrecv();
    // (mode of the outer one, outer options, inner options, expected warnings): the inner
    // one is never PID 1 and registers as a subreaper by itself, so nothing is wrong.
    let table: [(Mode, &[&str], &[&str], usize); 5] = [
        (Mode::Pid1, &[], &[], 0),
        (Mode::Pid1, &[], &["-s"], 0),
        (Mode::Plain, &["-s"], &[], 0),
        (Mode::Plain, &["-s"], &["-s"], 0),
        (Mode::Plain, &[], &["-s"], 0),
    ];
    for (mode, outer, inner, warnings) in table {
        let mut args: Vec<&str> = outer.to_vec();
        args.extend(["--", bin()]);
        args.extend_from_slice(inner);
        args.push("--");
        args.extend(s.iter().map(String::as_str));
        let mut c = tini(mode, &args);
        c.stdin(Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("ready");
        let t = match mode {
            Mode::Plain => p.pid(),
            Mode::Pid1 => inner_tini(p.pid()),
        };
        PidFd::open(t).send(libc::SIGTERM).unwrap();
        p.wait_line(|l| l == "sig 15");
        let out = p.finish();
        let what = format!("{mode:?} outer {outer:?} inner {inner:?}");
        assert_eq!(out.code(), 0, "{what}\n{out}");
        assert_eq!(
            count(&out.stderr, "zombie reaping won't work"),
            warnings,
            "{what}\n{out}"
        );
        assert_eq!(count(&out.stderr, "tini-rs"), warnings, "{what}\n{out}");
        if mode == Mode::Pid1 {
            assert!(
                !out.stderr.contains("tini-rs (1)]"),
                "PID 1 never warns\n{out}"
            );
        }
        eprintln!("{what}: exit 0, {warnings} not-PID-1 warning(s)");
    }
}
