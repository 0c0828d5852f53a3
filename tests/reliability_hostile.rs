//! Issue 7, item 3: hostile programs (tests/helpers/hostile.py), each as a plain process and
//! as PID 1 of a PID namespace: one that stops itself and is continued later, one that exits
//! while signals are being forwarded (ESRCH), one that closes or redirects its stdio, one
//! that moves itself into another process group, one that blocks and ignores every signal,
//! and one that forks a daemon and exits at once.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;
#[path = "helpers/reliability.rs"]
mod rel;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;
use rel::{PidFd, comm, count, inner_tini, only_child, py_args};

/// Starts `tini-rs OPTS -- python3 hostile.py MODE` (plain runs get `-s` unless `opts` says
/// otherwise, so the not-PID-1 warning does not clutter stderr).
fn start(mode: Mode, opts: &[&str], hostile_mode: &str) -> Proc {
    let py = py_args(hostile_mode, &[]);
    let mut args: Vec<&str> = opts.to_vec();
    args.push("--");
    args.extend(py.iter().map(String::as_str));
    let mut c = tini(mode, &args);
    c.stdin(Stdio::null());
    Proc::spawn(c)
}

/// (tini-rs, program) PIDs as seen from the test.
fn pids(p: &Proc, mode: Mode) -> (i32, i32) {
    let t = match mode {
        Mode::Plain => p.pid(),
        Mode::Pid1 => inner_tini(p.pid()),
    };
    (t, only_child(t))
}

/// Whether `sig` is pending for `pid` (thread or process-wide).
fn pending(pid: i32, sig: i32) -> bool {
    let bit = 1u64 << (sig - 1);
    ["SigPnd", "ShdPnd"].iter().any(|f| {
        proc_status(pid, f)
            .and_then(|v| u64::from_str_radix(&v, 16).ok())
            .is_some_and(|m| m & bit != 0)
    })
}

fn plain_opts(mode: Mode) -> &'static [&'static str] {
    match mode {
        Mode::Plain => &["-s"],
        Mode::Pid1 => &[],
    }
}

#[test]
fn program_that_stops_itself_is_not_taken_for_exited() {
    for mode in MODES {
        let mut p = start(mode, plain_opts(mode), "stopself");
        p.wait_prefix("ready");
        let (t, prog) = pids(&p, mode);
        poll_until("the program to stop", || {
            proc_status(prog, "State").filter(|s| s.starts_with('T'))
        });
        assert!(
            p.child.try_wait().unwrap().is_none(),
            "{mode:?}: tini-rs left"
        );
        // Forwarded while stopped: it waits, pending, in the stopped program.
        let fd = PidFd::open(t);
        fd.send(libc::SIGUSR1).unwrap();
        poll_until("SIGUSR1 pending in the stopped program", || {
            pending(prog, libc::SIGUSR1).then_some(())
        });
        assert!(proc_status(prog, "State").is_some_and(|s| s.starts_with('T')));
        fd.send(libc::SIGCONT).unwrap();
        p.wait_line(|l| l == "got 10");
        let out = p.finish();
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        assert_eq!(out.stderr, "", "{mode:?}\n{out}");
        eprintln!("{mode:?}: stopped, USR1 forwarded while stopped, continued, exit 3");
    }
}

#[test]
fn program_exiting_during_a_signal_flood_gives_its_status_and_no_error() {
    const ROUNDS: usize = 10;
    let mut esrch_logged = 0;
    let mut sent_total = 0;
    for mode in MODES {
        for round in 0..ROUNDS {
            // The last round at debug level, to count the ESRCH path.
            let verbose = round == ROUNDS - 1;
            let mut args: Vec<&str> = plain_opts(mode).to_vec();
            if verbose {
                args.push("-vvv");
            }
            args.extend(["--", "sh", "-c", "echo ready; read x; exit 5"]);
            let mut c = tini(mode, &args);
            c.stdin(Stdio::piped());
            let mut p = Proc::spawn(c);
            p.wait_prefix("ready");
            let (t, _) = pids(&p, mode);
            let fd = PidFd::open(t);
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
            drop(p.child.stdin.take()); // `read` sees EOF: the program exits mid-flood
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

#[test]
fn program_that_closes_or_redirects_its_stdio() {
    for mode in MODES {
        for hostile_mode in ["closestdio", "redirect"] {
            let mut opts = plain_opts(mode).to_vec();
            opts.push("-vvvv");
            let mut p = start(mode, &opts, hostile_mode);
            p.wait_prefix("ready");
            let (t, prog) = pids(&p, mode);
            poll_until("the program's stdio to change", || {
                let fd1 = std::fs::read_link(format!("/proc/{prog}/fd/1"));
                let done = match hostile_mode {
                    "closestdio" => fd1.is_err(),
                    _ => fd1.is_ok_and(|l| l.to_string_lossy() == "/dev/null"),
                };
                done.then_some(())
            });
            PidFd::open(t).send(libc::SIGUSR1).unwrap();
            let out = p.finish();
            assert_eq!(out.code(), 4, "{mode:?} {hostile_mode}\n{out}");
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
fn program_in_another_process_group_still_gets_signals() {
    for mode in MODES {
        for delivery in [&[][..], &["-g"][..], &["-c"][..]] {
            let mut opts = plain_opts(mode).to_vec();
            opts.extend_from_slice(delivery);
            opts.push("-vvv");
            let mut p = start(mode, &opts, "setpgid");
            let ready = p.wait_prefix("ready");
            let f: Vec<&str> = ready.split_whitespace().collect();
            assert_ne!(f[1], f[2], "the program left its own group: {ready}");
            let (t, _) = pids(&p, mode);
            PidFd::open(t).send(libc::SIGUSR1).unwrap();
            p.wait_line(|l| l == "got 10");
            let out = p.finish();
            assert_eq!(out.code(), 6, "{mode:?} {delivery:?}\n{out}");
            assert_eq!(count(&out.stderr, "[WARN"), 0, "{out}");
            // Group delivery finds the program's old group empty (ESRCH, logged at debug).
            let esrch = count(&out.stderr, "No process to receive");
            assert_eq!(
                esrch > 0,
                delivery != ["-c"],
                "{mode:?} {delivery:?}\n{out}"
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
        let mut p = start(mode, plain_opts(mode), "ignoreall");
        p.wait_prefix("ready");
        let (t, prog) = pids(&p, mode);
        let fd = PidFd::open(t);
        for s in sent {
            fd.send(s).unwrap();
        }
        // Blocked signals are kept pending even when ignored: proof that each was forwarded.
        poll_until("every forwarded signal pending in the program", || {
            sent.iter().all(|s| pending(prog, *s)).then_some(())
        });
        assert!(p.child.try_wait().unwrap().is_none(), "tini-rs left");
        assert!(proc_status(prog, "State").is_some(), "program left");
        match mode {
            Mode::Plain => {
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
                    proc_status(prog, "State")
                        .is_none_or(|s| s.starts_with('Z'))
                        .then_some(())
                });
            }
        }
    }
}

#[test]
fn program_that_forks_a_daemon_and_exits_at_once() {
    for (mode, opts) in [
        (Mode::Plain, &["-s"][..]),
        (Mode::Plain, &[][..]),
        (Mode::Pid1, &[][..]),
    ] {
        let mut p = start(mode, opts, "daemon");
        let (t, _) = match mode {
            Mode::Plain => (p.pid(), 0),
            Mode::Pid1 => (inner_tini(p.pid()), 0),
        };
        let line = p.wait_prefix("daemon");
        let f: Vec<i32> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let (daemon, ppid) = (f[0], f[1]);
        let out = p.finish();
        assert_eq!(out.code(), 9, "{mode:?} {opts:?}\n{out}");
        match (mode, opts.is_empty()) {
            (Mode::Pid1, _) => assert_eq!(ppid, 1, "{line}"),
            // Not PID 1, tini-rs is a subreaper with or without -s.
            (Mode::Plain, _) => assert_eq!(ppid, t, "re-parented to tini-rs: {line}"),
        }
        if mode == Mode::Plain {
            // The daemon outlives tini-rs here (it is not PID 1): end it by its PID.
            assert_eq!(comm(daemon).as_deref(), Some("python3"), "{line}");
            kill(daemon, libc::SIGKILL);
        }
        eprintln!("{mode:?} {opts:?}: daemon re-parented to {ppid} (tini-rs {t}), exit 9");
    }
}
