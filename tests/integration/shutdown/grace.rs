//! The grace period on exit (`-t`/`--grace-period`): when the program exits, what it left
//! behind gets SIGTERM, time to finish, then SIGKILL; tini-rs exits with the program's status
//! only when nothing of its own is left; a stopped process gets SIGCONT with the SIGTERM;
//! after the program is reaped, signals go by pidfd, never to its (reusable) group. Without it
//! (tini's behaviour) the writer's data is lost.

use std::process::Command;

use super::{COUNT_SLEEPS, Then, complete_data, daemon_program, start_exiting, traced};
use crate::harness::*;

/// A program that starts a `writer` daemon and exits 7, under tini-rs with `opts`: returns
/// tini-rs's output, the writer's PID (plain mode) with its guard, and what it wrote.
fn writer_scene(mode: Mode, opts: &[&str]) -> (Output, i32, KillOnDrop, String) {
    let dir = ScratchDir::new("writer");
    let data = dir.file("data");
    let program = daemon_program("writer", &data, Then::Exit(7));
    let (p, writer, guard) = start_exiting(mode, tini_s(mode, &args_for(opts, &program)));
    let out = p.finish();
    assert_eq!(
        out.code(),
        7,
        "{mode:?} {opts:?}: the program's status\n{out}"
    );
    (out, writer, guard, read_text(&data))
}

#[test]
fn grace_period_lets_a_writer_finish() {
    for mode in MODES {
        let (out, writer, _guard, data) = writer_scene(mode, &["-t", "10s"]);
        assert_eq!(
            data,
            complete_data(),
            "{mode:?}: the writer must finish before tini-rs exits\n{out}"
        );
        if mode == Mode::Plain {
            // tini-rs waited for it and reaped it: nothing of it is left, not even a zombie.
            assert_eq!(proc_status(writer, "State"), None, "{out}");
        }
    }
}

/// The same scenario without a grace period: tini's behaviour. As PID 1, tini-rs exits as
/// soon as the program has, and the kernel SIGKILLs the rest of the namespace: the writer
/// never even learns it should flush, its data is lost. As a plain subreaper nothing kills
/// the writer either: tini-rs just exits and the writer is re-parented further up, still
/// running and never told to flush (whoever tears the container down later kills it
/// mid-work).
#[test]
fn without_grace_period_the_writer_is_lost() {
    for mode in MODES {
        let (out, writer, _guard, data) = writer_scene(mode, &[]);
        if mode == Mode::Plain {
            let state = proc_status(writer, "State").unwrap_or_default();
            assert!(
                state.starts_with('S'),
                "the writer outlives tini-rs, asleep, state {state:?}\n{out}"
            );
        }
        // As PID 1: when unshare returns, its child (PID 1) has exited, and a PID
        // namespace's init exits only after the kernel has killed and reaped every other
        // process in it, so the file is final.
        assert_eq!(data, "ready\n", "{mode:?}: never got SIGTERM\n{out}");
    }
}

/// For each mode, without and with remapping: `cmd(mode, remap, program)` runs `program`
/// (it starts a TERM-ignoring daemon, a `logger`, and exits 3) under tini-rs with a 2 s grace
/// period, `-w`, and 3 remapped to 0 when `remap`. The daemon gets SIGTERM and SIGCONT,
/// survives them, gets SIGKILL at the deadline and is reaped before tini-rs exits with the
/// program's (remapped) status.
pub fn check_term_ignorers(cmd: impl Fn(Mode, bool, &[String]) -> Command) {
    for mode in MODES {
        for remap in [false, true] {
            let what = format!("{mode:?} remap={remap}");
            let dir = ScratchDir::new("stubborn");
            let log = dir.file("log");
            let program = daemon_program("logger", &log, Then::Exit(3));
            let (p, stubborn, _guard) = start_exiting(mode, cmd(mode, remap, &program));
            let out = p.finish();
            assert_eq!(out.code(), if remap { 0 } else { 3 }, "{what}\n{out}");
            assert_eq!(
                read_text(&log),
                "ready\nsig 15\nsig 18\n",
                "{what}: it got SIGTERM first (and SIGCONT) and survived it"
            );
            let over = out
                .stderr
                .find("Grace period over: sending SIGKILL")
                .unwrap_or_else(|| panic!("{what}: no SIGKILL at the deadline\n{out}"));
            let reaped = format!("Reaped zombie process with pid={stubborn}\n");
            assert!(
                out.stderr.rfind(&reaped).is_some_and(|r| r > over),
                "{what}: tini-rs killed and reaped it before exiting\n{out}"
            );
            assert!(
                !out.stderr.contains("exiting anyway"),
                "{what}: nothing survived SIGKILL\n{out}"
            );
            if mode == Mode::Plain {
                assert_eq!(proc_status(stubborn, "State"), None, "{what}\n{out}");
            }
        }
    }
}

#[test]
fn a_term_ignorer_is_killed_at_the_end_of_the_grace_period() {
    check_term_ignorers(|mode, remap, program| {
        let remap: &[&str] = if remap { &["-e", "3"] } else { &[] };
        let opts = [&["-t", "2s", "-w"], remap].concat();
        tini_s(mode, &args_for(&opts, program))
    });
}

/// A process that is stopped when the program exits gets SIGCONT right after the grace
/// period's SIGTERM, so it can act on the SIGTERM and exit cleanly instead of sitting out the
/// period and being killed.
#[test]
fn grace_period_wakes_a_stopped_process_to_act_on_sigterm() {
    for mode in MODES {
        let program = "sh -c 'trap \"echo termed; exit 0\" TERM; kill -STOP $$; \
                       while :; do sleep 0.05; done' & \
                       while ! grep -q '^State:.*T' /proc/$!/status; do sleep 0.01; done; \
                       echo stopped; exit 0";
        let mut c = tini(mode, &["-s", "-t", "25s", "--", "sh", "-c", program]);
        c.stdin(std::process::Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("stopped");
        p.wait_prefix("termed");
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert!(!out.stderr.contains("Grace period over"), "{mode:?}\n{out}");
    }
}

/// The program exits while a TERM-ignoring helper lives on (grace period, tini-rs a
/// subreaper): SIGTERM and SIGCONT reach the helper by pidfd. The program is reaped, so its
/// PID, and with it its group's ID, may be reused: a signal forwarded now goes to our
/// descendants by pidfd, never to the group (`kill(-PGID)`), and never to `-1`.
#[test]
fn after_the_program_is_reaped_signals_go_by_pidfd_never_to_its_group() {
    let program = "d=$(mktemp -d); \
                   sh -c \"trap '' TERM; touch $d/ok; echo ready \\$\\$; while :; do sleep 0.05; done\" & \
                   while [ ! -e $d/ok ]; do sleep 0.01; done; rm -r $d; exit 5";
    let (out, trace) = traced(&["-s", "-t", "30s", "-vv"], program, |ready, t| {
        let helper = numbers(ready)[0];
        poll_until("the program to be reaped", || {
            (children(t) == [helper]).then_some(())
        });
        wait_until_tini_is_idle(t);
        kill(t, libc::SIGUSR2);
    });
    assert_eq!(out.code(), 5, "{out}\n{trace}");
    assert!(out.stderr.contains("Main child exited normally"), "{out}");
    for sig in ["SIGTERM", "SIGCONT", "SIGUSR2"] {
        assert!(
            trace
                .lines()
                .any(|l| l.starts_with("pidfd_send_signal(") && l.contains(sig)),
            "{sig} by pidfd:\n{trace}"
        );
    }
    assert!(
        !trace.contains("kill(-"),
        "a group or -1 was signalled:\n{trace}"
    );
}

/// With few descriptors allowed (`ulimit -n 32`), the grace period as a subreaper still
/// reaches every one of 100 processes in sessions of their own: they are signalled one at a
/// time, not all pinned at once. In a namespace whose PID 1 is a shell, which counts the
/// `sleep`s left after tini-rs exited.
#[test]
fn grace_period_reaches_more_processes_than_descriptors() {
    let script = format!(
        "ulimit -n 32; $1 -t 20s -- sh -c 'i=0; while [ $i -lt 100 ]; do setsid sleep 1000 & \
         i=$((i+1)); done; echo ready; exit 0' 2>&1; echo \"tini $?\"; {COUNT_SLEEPS}"
    );
    let mut p = Proc::spawn(in_mode(Mode::Pid1, &["sh", "-c", &script, "sh", bin()]));
    // The program ran and started its sleeps (a binary that runs nothing fails here).
    p.wait_prefix("ready");
    assert_eq!(p.wait_prefix("tini "), "tini 0");
    assert_eq!(p.wait_prefix("left "), "left 0");
    let out = p.finish();
    assert!(!out.stdout.contains("Grace period over"), "{out}");
}

/// With a grace period but nothing left behind, tini-rs exits with the program at once
/// (no SIGTERM broadcast, no waiting).
#[test]
fn grace_period_with_nothing_left_exits_with_the_program() {
    for mode in MODES {
        let program = ["sh", "-c", "exit 5"].map(String::from);
        let out = run(tini_s(
            mode,
            &args_for(&["-t", "30s", "-v", "-v"], &program),
        ));
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
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("strace not installed: skipped");
        return;
    }
    let dir = ScratchDir::new("strace");
    let log = dir.file("log");
    let program = daemon_program("logger", &log, Then::Exit(3));
    let args = args_for(&["-s", "-t", "2s"], &program);
    let (cmd, trace) = under_strace(&dir, &["-e", "trace=rt_sigtimedwait"], &args);
    let (p, _, _guard) = start_exiting(Mode::Plain, cmd);
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

/// Not PID 1, the kill phase reaches what is forked after it began: 20 chains that ignore
/// SIGTERM, each a process forking and exiting every 2 ms, are all gone when tini-rs exits
/// (it sends SIGKILL again until nothing of its own is left; a single /proc scan at the
/// deadline left most of them running). As PID 1, `kill(-1)` reaches them at once. tini-rs
/// runs under a shell that is PID 1 of a new namespace, so survivors die with it.
#[test]
fn the_kill_phase_reaches_processes_that_keep_forking() {
    let py = python();
    let script_helper = helper_path();
    let script = format!(
        "{} -t 1s -- {py} {script_helper} forkchains 20; echo tini-exit $?; \
         {py} {script_helper} count-alive forkchains",
        bin()
    );
    let out = run(in_mode(Mode::Pid1, &["sh", "-c", &script]));
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("tini-exit 3\nalive 0\n"), "{out}");
    assert!(!out.stderr.contains("Processes remain"), "{out}");
    let out = run(tini(
        Mode::Pid1,
        &args_for(&["-t", "1s"], &helper(&["forkchains", "20"])),
    ));
    assert_eq!(out.code(), 3, "{out}");
    assert!(!out.stderr.contains("Processes remain"), "{out}");
}

/// A log line never holds back the signal it reports. A process that ignores SIGTERM writes
/// to tini-rs's stderr pipe from a page nobody fills (userfaultfd), so it sleeps in the
/// kernel holding the pipe's lock, where any write to that pipe waits, non-blocking or not.
/// At the grace period's end the SIGKILL goes out first, frees the pipe, and the line
/// "Grace period over" follows; written first, it waited on the lock for ever.
#[test]
fn the_grace_periods_sigkill_goes_out_before_its_line() {
    for mode in MODES {
        let mut p = Proc::spawn(tini(
            mode,
            &args_for(&["-t", "1s"], &helper(&["stall-stderr"])),
        ));
        let t = p.tini(mode);
        let staller = numbers(&p.wait_prefix("staller "))[0];
        let _guard = KillOnDrop::new(&[match mode {
            Mode::Plain => staller,
            Mode::Pid1 | Mode::InNamespace => host_pid_of(t, staller),
        }]);
        let out = p.finish();
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        assert!(out.stderr.contains("Grace period over"), "{mode:?}\n{out}");
    }
}
