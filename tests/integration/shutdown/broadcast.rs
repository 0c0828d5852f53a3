//! Broadcast delivery (`-a`/`--broadcast`): forwarded signals reach every process tini-rs is
//! responsible for, so a daemon the program started (double-forked into its own session,
//! re-parented to tini-rs, not in the program's process group) gets the SIGTERM of
//! `docker stop` too. Without it, the daemon gets nothing.

use std::process::Command;

use super::{Scene, Then, daemon_program, wait_file_line};
use crate::harness::*;

/// A signal the daemon is sent directly as a marker. Its number is above SIGTERM's, so a
/// daemon that had a SIGTERM pending when the marker came would dequeue (and log) SIGTERM
/// first: seeing the marker alone proves no SIGTERM was ever sent to it.
const MARKER: i32 = libc::SIGWINCH;

/// The program of these scenes: starts a `logger` daemon writing to `log`, then becomes
/// `sigrecv`, which exits 0 on SIGINT.
pub fn logger_then_sigrecv(log: &str) -> Vec<String> {
    daemon_program("logger", log, Then::Sigrecv(libc::SIGINT))
}

/// `cmd` runs `logger_then_sigrecv(log)` under tini-rs with broadcast delivery: SIGTERM
/// reaches both the program and the daemon; SIGINT, broadcast too, then ends the program.
pub fn check_daemon_gets_sigterm(mode: Mode, cmd: Command, log: &str) {
    let mut s = Scene::start(mode, cmd);
    kill(s.tini, libc::SIGTERM);
    s.p.wait_line(|l| l == "sig 15");
    assert_eq!(wait_file_line(log, "sig 15"), "ready\nsig 15\n", "{mode:?}");
    kill(s.tini, libc::SIGINT);
    let out = s.p.finish();
    assert_eq!(out.code(), 0, "{mode:?}\n{out}");
    if mode == Mode::Plain {
        // (As PID 1 the namespace may be gone before the daemon logs it.)
        assert_eq!(wait_file_line(log, "sig 2"), "ready\nsig 15\nsig 2\n");
    }
}

#[test]
fn broadcast_reaches_a_daemon() {
    for mode in MODES {
        for flag in ["-a", "--broadcast"] {
            let dir = ScratchDir::new("broadcast");
            let log = dir.file("log");
            let cmd = tini_s(mode, &args_for(&[flag], &logger_then_sigrecv(&log)));
            check_daemon_gets_sigterm(mode, cmd, &log);
        }
    }
}

/// The default (the program's process group): the program gets SIGTERM, the daemon does not.
#[test]
fn without_broadcast_a_daemon_gets_nothing() {
    for mode in MODES {
        let dir = ScratchDir::new("no-broadcast");
        let log = dir.file("log");
        let mut s = Scene::start(
            mode,
            tini_s(mode, &args_for(&[], &logger_then_sigrecv(&log))),
        );
        kill(s.tini, libc::SIGTERM);
        s.p.wait_line(|l| l == "sig 15");
        // tini-rs has done all its forwarding of SIGTERM by now; the marker comes after it.
        kill(s.daemon, MARKER);
        let text = wait_file_line(&log, &format!("sig {MARKER}"));
        assert_eq!(text, format!("ready\nsig {MARKER}\n"), "{mode:?}");
        kill(s.tini, libc::SIGINT);
        let out = s.p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        if mode == Mode::Plain {
            // The program is gone, tini-rs too; the daemon lives on, never told to stop.
            let state = proc_status(s.daemon, "State").unwrap_or_default();
            assert!(state.starts_with('S'), "state {state:?}\n{out}");
            assert_eq!(read_text(&log), format!("ready\nsig {MARKER}\n"));
        }
    }
}
