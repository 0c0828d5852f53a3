//! Broadcast delivery (`-a`/`--broadcast`): forwarded signals reach every process tini-rs is
//! responsible for, so a daemon the program started (double-forked into its own session,
//! re-parented to tini-rs, not in the program's process group) gets the SIGTERM of
//! `docker stop` too, through pidfds; a shell entered from outside (`docker exec`) does not.
//! Without it, the daemon gets nothing.

use std::process::{Command, Stdio};

use super::{COUNT_SLEEPS, Scene, Then, daemon_program, traced, wait_file_line};
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

/// A shell entered into the container from outside (as `docker exec` or `nsenter` do: its
/// parent is not in the namespace) is not ours: `-a` delivers to the program and its
/// descendants, never to it.
#[test]
fn broadcast_spares_a_shell_entered_from_outside() {
    let program = "trap 'echo got-hup' HUP; echo ready; while :; do sleep 0.05; done";
    let mut c = tini(Mode::Pid1, &["-a", "--", "sh", "-c", program]);
    c.stdin(Stdio::null());
    let mut p = Proc::spawn(c);
    p.wait_prefix("ready");
    let t = p.tini(Mode::Pid1);
    let shell = "trap 'echo shell-hup' HUP; trap 'echo shell-usr1' USR1; echo entered; \
                 while :; do sleep 0.05; done";
    let t_str = t.to_string();
    let mut e = command(&["nsenter", "-t", &t_str, "-p", "-m", "--", "sh", "-c", shell]);
    e.stdin(Stdio::null());
    let mut entered = Proc::spawn(e);
    entered.wait_prefix("entered");
    let shell_pid = only_child(entered.pid());
    assert!(
        !descendants(t).contains(&shell_pid),
        "the shell is no descendant"
    );
    kill(t, libc::SIGHUP);
    p.wait_prefix("got-hup");
    wait_until_tini_is_idle(t);
    // Had the shell been sent SIGHUP, its trap would run before the USR1 trap (dash runs
    // pending traps in signal-number order).
    kill(shell_pid, libc::SIGUSR1);
    let first = entered.wait_line(|l| l.starts_with("shell-"));
    assert_eq!(first, "shell-usr1", "the entered shell got the broadcast");
    kill(t, libc::SIGKILL);
}

/// `-a` with the program running: its group by PGID (one atomic step), and every other
/// descendant (here a helper in a session of its own) through a pidfd, never by a bare PID.
#[test]
fn broadcast_signals_through_pidfds() {
    // The program catches USR1 before it starts the helper (a caught signal is reset to its
    // default in the child, so the helper can set its own trap) and waits for it to exit.
    let program = "trap true USR1; \
                   setsid sh -c 'trap \"exit 0\" USR1; echo ready; while :; do sleep 0.05; done' & \
                   h=$!; while kill -0 $h 2>/dev/null; do wait $h; done";
    let (out, trace) = traced(&["-s", "-a"], program, |_, t| kill(t, libc::SIGUSR1));
    assert_eq!(out.code(), 0, "{out}\n{trace}");
    let usr1: Vec<&str> = trace.lines().filter(|l| l.contains("SIGUSR1")).collect();
    assert!(
        usr1.iter().any(|l| l.starts_with("kill(-")),
        "the program's group:\n{trace}"
    );
    assert!(
        usr1.iter().any(|l| l.starts_with("pidfd_send_signal(")),
        "the helper, by pidfd:\n{trace}"
    );
    assert!(
        !usr1
            .iter()
            .any(|l| l.starts_with("kill(") && !l.starts_with("kill(-")),
        "a bare kill by PID:\n{trace}"
    );
}

/// `-a` while the program is forking: the program's group gets the signal by PGID, in one
/// step, so no process it forks meanwhile escapes (a scan of /proc alone misses them). In a
/// namespace whose PID 1 is a shell, which counts the `sleep`s left after tini-rs exited.
#[test]
fn broadcast_misses_nothing_the_program_forks_meanwhile() {
    let script = format!(
        "$1 -a -- sh -c 'echo ready; i=0; while [ $i -lt 300 ]; do sleep 1000 & i=$((i+1)); \
         done; wait'; echo \"tini $?\"; {COUNT_SLEEPS}"
    );
    let mut p = Proc::spawn(in_mode(Mode::Pid1, &["sh", "-c", &script, "sh", bin()]));
    p.wait_prefix("ready");
    let t = only_child(only_child(p.pid()));
    kill(t, libc::SIGTERM);
    assert_eq!(p.wait_prefix("tini "), "tini 143");
    assert_eq!(p.wait_prefix("left "), "left 0");
    let out = p.finish();
    assert_eq!(out.code(), 0, "{out}");
}

/// A /proc of another PID namespace (`unshare --pid --fork` without `--mount-proc`) is never
/// scanned, since its PIDs name other processes: with `-a` a signal reaches the program's
/// group, and a warning says why nothing else is signalled (the scan took the outer
/// namespace's processes for descendants). The outer namespace is the test's own, with its
/// own /proc, so that even a broken build can only hit processes of the test.
#[test]
fn a_proc_of_another_namespace_is_never_scanned() {
    let program = "trap 'echo got; exit 0' USR1; kill -USR1 1; while :; do sleep 0.05; done";
    let script = format!(
        "unshare --pid --fork -- {} -a -- sh -c \"{program}\"; echo tini-exit $?",
        bin()
    );
    let out = run(in_mode(Mode::Pid1, &["sh", "-c", &script]));
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.ends_with("got\ntini-exit 0\n"), "{out}");
    assert!(
        out.stderr
            .contains("/proc belongs to another PID namespace"),
        "{out}"
    );
}
