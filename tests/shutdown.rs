//! The grace period on exit (`-t`/`--grace-period`): when the program exits, what it left
//! behind gets SIGTERM, time to finish, then SIGKILL; tini-rs exits with the program's status
//! only when nothing of its own is left. Real processes, as PID 1 and as a subreaper.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;
use common::*;

/// Program: starts a daemonized writer (re-parented to tini-rs) that needs about 1 s to flush
/// after SIGTERM, prints `daemon PID PGID` once it is ready, and exits 7.
const WRITER_THEN_EXIT_7: &str = r#"python3 "$0" writer "$1" || exit 99; exit 7"#;

/// Program: starts a daemonized process that logs SIGTERM and keeps running, then exits 3.
const STUBBORN_THEN_EXIT_3: &str = r#"python3 "$0" logger "$1" || exit 99; exit 3"#;

/// tini-rs in `mode` (`-s` when not PID 1) with `opts`, running `sh -c script daemon.py file`.
fn tini_sh(mode: Mode, opts: &[&str], script: &str, file: &str) -> Proc {
    let daemon = helper("daemon.py");
    let mut args: Vec<&str> = Vec::new();
    if mode == Mode::Plain {
        args.push("-s");
    }
    args.extend_from_slice(opts);
    args.extend_from_slice(&["--", "sh", "-c", script, &daemon, file]);
    Proc::spawn(tini(mode, &args))
}

/// The daemon's PID as printed by the launcher (its PID in tini-rs's namespace).
fn daemon_pid(p: &mut Proc) -> i32 {
    let line = p.wait_prefix("daemon ");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn writer_completes_with_grace(mode: Mode) {
    let dir = ScratchDir::new("grace-writer");
    let data = dir.file("data");
    let mut p = tini_sh(mode, &["-t", "10s"], WRITER_THEN_EXIT_7, &data);
    let writer = daemon_pid(&mut p);
    let _guard = KillOnDrop(if mode == Mode::Plain {
        vec![writer]
    } else {
        vec![]
    });
    let out = p.finish();
    assert_eq!(out.code(), 7, "{mode:?}: the program's status\n{out}");
    let text = read_text(&data);
    let mut want = vec!["ready".to_string(), "term".to_string()];
    want.extend((1..=10).map(|i| format!("data {i}")));
    want.push("END".to_string());
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        want,
        "{mode:?}: the writer must finish before tini-rs exits\n{out}"
    );
    if mode == Mode::Plain {
        // tini-rs waited for it and reaped it: nothing of it is left, not even a zombie.
        assert_eq!(proc_status(writer, "State"), None, "{out}");
    }
}

#[test]
fn grace_period_lets_a_writer_finish_as_pid1() {
    writer_completes_with_grace(Mode::Pid1);
}

#[test]
fn grace_period_lets_a_writer_finish_as_subreaper() {
    writer_completes_with_grace(Mode::Plain);
}

/// The same scenario without a grace period: tini's behaviour. As PID 1, tini-rs exits as
/// soon as the program has, and the kernel SIGKILLs the rest of the namespace: the writer never
/// even learns it should flush, its data is lost.
#[test]
fn without_grace_period_the_writer_is_killed_as_pid1() {
    let dir = ScratchDir::new("nograce-writer-pid1");
    let data = dir.file("data");
    let mut p = tini_sh(Mode::Pid1, &[], WRITER_THEN_EXIT_7, &data);
    daemon_pid(&mut p);
    let out = p.finish();
    assert_eq!(out.code(), 7, "{out}");
    // When unshare returns, its child (PID 1) has exited, and a PID namespace's init exits
    // only after the kernel has killed and reaped every other process in it: the file is
    // final.
    assert_eq!(read_text(&data), "ready\n", "the data must be lost\n{out}");
}

/// As a plain subreaper without a grace period, nothing kills the writer either: tini-rs just
/// exits and the writer is re-parented further up, still running and never told to flush
/// (whoever tears the container down later kills it mid-work). Observed and asserted here.
#[test]
fn without_grace_period_the_writer_is_abandoned_as_subreaper() {
    let dir = ScratchDir::new("nograce-writer-sub");
    let data = dir.file("data");
    let mut p = tini_sh(Mode::Plain, &[], WRITER_THEN_EXIT_7, &data);
    let writer = daemon_pid(&mut p);
    let _guard = KillOnDrop(vec![writer]);
    let out = p.finish();
    assert_eq!(out.code(), 7, "{out}");
    let state = proc_status(writer, "State").unwrap_or_default();
    assert!(
        state.starts_with('S'),
        "the writer outlives tini-rs, asleep, state {state:?}\n{out}"
    );
    assert_eq!(read_text(&data), "ready\n", "it never got SIGTERM\n{out}");
    kill(writer, libc::SIGKILL);
}

fn stubborn_is_killed(mode: Mode, remap: bool) {
    let dir = ScratchDir::new("stubborn");
    let log = dir.file("log");
    let mut opts = vec!["-t", "2s", "-w"];
    if remap {
        opts.extend_from_slice(&["-e", "3"]);
    }
    let mut p = tini_sh(mode, &opts, STUBBORN_THEN_EXIT_3, &log);
    let stubborn = daemon_pid(&mut p);
    let _guard = KillOnDrop(if mode == Mode::Plain {
        vec![stubborn]
    } else {
        vec![]
    });
    let out = p.finish();
    let want = if remap { 0 } else { 3 };
    assert_eq!(out.code(), want, "{mode:?} remap={remap}\n{out}");
    assert_eq!(
        read_text(&log),
        "ready\nsig 15\nsig 18\n",
        "{mode:?}: it got SIGTERM first and survived it\n{out}"
    );
    let over = out
        .stderr
        .find("Grace period over: sending SIGKILL")
        .unwrap_or_else(|| panic!("{mode:?}: no SIGKILL at the deadline\n{out}"));
    let reaped = format!("Reaped zombie process with pid={stubborn}\n");
    let reaped_at = out.stderr.rfind(&reaped);
    assert!(
        reaped_at.is_some_and(|r| r > over),
        "{mode:?}: tini-rs killed and reaped it before exiting\n{out}"
    );
    assert!(
        !out.stderr.contains("exiting anyway"),
        "{mode:?}: nothing survived SIGKILL\n{out}"
    );
    if mode == Mode::Plain {
        assert_eq!(proc_status(stubborn, "State"), None, "{out}");
    }
}

#[test]
fn term_ignorer_is_killed_after_grace_as_pid1() {
    stubborn_is_killed(Mode::Pid1, false);
}

#[test]
fn term_ignorer_is_killed_after_grace_as_subreaper() {
    stubborn_is_killed(Mode::Plain, false);
}

#[test]
fn exit_status_after_grace_is_still_remapped_as_pid1() {
    stubborn_is_killed(Mode::Pid1, true);
}

#[test]
fn exit_status_after_grace_is_still_remapped_as_subreaper() {
    stubborn_is_killed(Mode::Plain, true);
}

/// With a grace period but nothing left behind, tini-rs exits with the program at once
/// (no SIGTERM broadcast, no waiting).
#[test]
fn grace_period_with_nothing_left_exits_with_the_program() {
    for mode in MODES {
        let mut args = vec!["-t", "30s", "-v", "-v", "--", "sh", "-c", "exit 5"];
        if mode == Mode::Plain {
            args.insert(0, "-s");
        }
        let out = run(tini(mode, &args));
        assert_eq!(out.code(), 5, "{mode:?}\n{out}");
        assert!(
            !out.stderr.contains("grace period"),
            "{mode:?}: no grace needed\n{out}"
        );
    }
}

/// The grace period is waited for with the `sigtimedwait` timeout, not by polling: tracing
/// tini-rs's `rt_sigtimedwait` calls over a 2 s grace (a TERM-ignoring daemon, killed at the
/// deadline) shows a handful of calls, one of which times out.
#[test]
fn grace_period_waits_with_the_sigtimedwait_timeout() {
    if std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("strace not installed: skipped");
        return;
    }
    let dir = ScratchDir::new("strace");
    let log = dir.file("log");
    let trace = dir.file("trace");
    let daemon = helper("daemon.py");
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-o", &trace, "-e", "trace=rt_sigtimedwait", bin()])
        .args([
            "-s",
            "-t",
            "2s",
            "--",
            "sh",
            "-c",
            STUBBORN_THEN_EXIT_3,
            &daemon,
            &log,
        ]);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TINI_") {
            cmd.env_remove(&k);
        }
    }
    let mut p = Proc::spawn(cmd);
    let stubborn = daemon_pid(&mut p);
    let _guard = KillOnDrop(vec![stubborn]);
    let out = p.finish();
    assert_eq!(out.code(), 3, "{out}");
    let text = read_text(&trace);
    let calls: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("rt_sigtimedwait("))
        .collect();
    let timeouts = calls.iter().filter(|l| l.contains("EAGAIN")).count();
    assert!(
        (3..=12).contains(&calls.len()) && timeouts >= 1,
        "{} calls, {timeouts} timeouts:\n{text}",
        calls.len()
    );
}
