//! Broadcast delivery (`-a`/`--broadcast`): forwarded signals reach every process tini-rs is
//! responsible for, so a daemon the program started (double-forked into its own session,
//! re-parented to tini-rs, not in the program's process group) gets the SIGTERM of
//! `docker stop` too. Without it, the daemon gets nothing. As PID 1 and as a subreaper.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod common;
use common::*;

/// Program: starts the logging daemon (prints `daemon PID PGID`), then becomes sigrecv.py
/// (prints `ready PID PGID` and `sig N` lines) and exits 0 on SIGINT.
const DAEMON_THEN_SIGRECV: &str =
    r#"python3 "$0" logger "$1" || exit 99; exec python3 "$2" --exit-on 2"#;

/// A signal the daemon is sent directly as a marker. Its number is above SIGTERM's, so a
/// daemon that had a SIGTERM pending when the marker came would dequeue (and log) SIGTERM
/// first: seeing the marker alone proves no SIGTERM was ever sent to it.
const MARKER: i32 = libc::SIGWINCH;

struct Scene {
    p: Proc,
    mode: Mode,
    tini: i32,
    /// The daemon's PID in this namespace.
    daemon: i32,
    log: String,
    _dir: ScratchDir,
    _guard: KillOnDrop,
}

/// Starts tini-rs with `opts` (and `-s` as a subreaper) and `env`, running the program above;
/// returns once the daemon and the program are ready.
fn start(mode: Mode, opts: &[&str], env: &[(&str, &str)]) -> Scene {
    let dir = ScratchDir::new("broadcast");
    let log = dir.file("log");
    let (daemon_py, sigrecv) = (helper("daemon.py"), helper("sigrecv.py"));
    let mut args: Vec<&str> = Vec::new();
    if mode == Mode::Plain {
        args.push("-s");
    }
    args.extend_from_slice(opts);
    args.extend_from_slice(&["--", "sh", "-c", DAEMON_THEN_SIGRECV]);
    args.extend_from_slice(&[&daemon_py, &log, &sigrecv]);
    let mut cmd = tini(mode, &args);
    cmd.envs(env.iter().copied());
    let mut p = Proc::spawn(cmd);
    let d = p.wait_prefix("daemon ");
    let d: Vec<i32> = d
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    let r = p.wait_prefix("ready ");
    let r: Vec<i32> = r
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    assert_ne!(
        d[1], r[1],
        "the daemon is not in the program's process group"
    );
    let tini = tini_pid(&p, mode);
    let daemon = match mode {
        Mode::Plain => d[0],
        Mode::Pid1 => host_pid_of(tini, d[0]),
    };
    assert_eq!(
        proc_status(daemon, "PPid"),
        Some(tini.to_string()),
        "the daemon was re-parented to tini-rs"
    );
    let guard = KillOnDrop(if mode == Mode::Plain {
        vec![daemon]
    } else {
        vec![]
    });
    Scene {
        p,
        mode,
        tini,
        daemon,
        log,
        _dir: dir,
        _guard: guard,
    }
}

fn wait_log(log: &str, line: &str) -> String {
    poll_until(&format!("{line:?} in the daemon's log"), || {
        let t = read_text(log);
        t.lines().any(|l| l == line).then_some(t)
    })
}

fn daemon_gets_sigterm(mode: Mode, opts: &[&str], env: &[(&str, &str)]) {
    let mut s = start(mode, opts, env);
    kill(s.tini, libc::SIGTERM);
    s.p.wait_line(|l| l == "sig 15");
    let log = wait_log(&s.log, "sig 15");
    assert_eq!(log, "ready\nsig 15\n", "{mode:?}");
    // Stop: SIGINT is broadcast too; the program exits 0 on it.
    kill(s.tini, libc::SIGINT);
    let out = s.p.finish();
    assert_eq!(out.code(), 0, "{mode:?}\n{out}");
    if s.mode == Mode::Plain {
        // (As PID 1 the namespace may be gone before the daemon logs it.)
        assert_eq!(wait_log(&s.log, "sig 2"), "ready\nsig 15\nsig 2\n");
    }
}

#[test]
fn broadcast_reaches_a_daemon_as_pid1() {
    daemon_gets_sigterm(Mode::Pid1, &["-a"], &[]);
}

#[test]
fn broadcast_reaches_a_daemon_as_subreaper() {
    daemon_gets_sigterm(Mode::Plain, &["--broadcast"], &[]);
}

#[test]
fn broadcast_env_reaches_a_daemon_as_pid1() {
    daemon_gets_sigterm(Mode::Pid1, &[], &[("TINI_BROADCAST", "")]);
}

#[test]
fn broadcast_env_reaches_a_daemon_as_subreaper() {
    daemon_gets_sigterm(Mode::Plain, &[], &[("TINI_BROADCAST", "")]);
}

/// The default (the program's process group): the program gets SIGTERM, the daemon does not.
fn daemon_misses_sigterm(mode: Mode) {
    let mut s = start(mode, &[], &[]);
    kill(s.tini, libc::SIGTERM);
    s.p.wait_line(|l| l == "sig 15");
    // tini-rs has done all its forwarding of SIGTERM by now; the marker comes after it.
    kill(s.daemon, MARKER);
    let log = wait_log(&s.log, &format!("sig {MARKER}"));
    assert_eq!(log, format!("ready\nsig {MARKER}\n"), "{mode:?}");
    kill(s.tini, libc::SIGINT);
    let out = s.p.finish();
    assert_eq!(out.code(), 0, "{mode:?}\n{out}");
    if mode == Mode::Plain {
        // The program is gone, tini-rs too; the daemon lives on, never told to stop.
        let state = proc_status(s.daemon, "State").unwrap_or_default();
        assert!(state.starts_with('S'), "state {state:?}\n{out}");
        assert_eq!(read_text(&s.log), format!("ready\nsig {MARKER}\n"));
        kill(s.daemon, libc::SIGKILL);
    }
}

#[test]
fn without_broadcast_a_daemon_gets_nothing_as_pid1() {
    daemon_misses_sigterm(Mode::Pid1);
}

#[test]
fn without_broadcast_a_daemon_gets_nothing_as_subreaper() {
    daemon_misses_sigterm(Mode::Plain);
}
