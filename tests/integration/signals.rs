//! Signal forwarding, end to end, with tini-rs as a plain process and as PID 1: every
//! forwardable signal (standard and real-time) reaches the program with its own number;
//! SIGCHLD, SIGTTIN and SIGTTOU do not; group delivery reaches the program's whole process
//! group (and a program that left its group), child-only delivery only the program; a stopped
//! program is not an exited one; the command line's `-c` beats an image's delivery variables;
//! the parent-death signal (`-p`) ends tini-rs as it ends tini; tini-rs is single-threaded,
//! installs no handler, and sets no timeout on its wait unless a deadline runs.
//!
//! The program is helper.py's `sigrecv`, which blocks every signal and reports each one as
//! `sig N` in the order it takes them. Negative assertions use a marker signal sent after the
//! one that must not arrive: the kernel hands out pending signals lowest number first,
//! standard before real-time, so a wrongly forwarded signal would be reported before the
//! marker. Every test reads the exact sequence of lines, so nothing is left to timing.

use std::io::Write;
use std::process::Stdio;

use crate::harness::*;

/// The forwardable standard signals (DESIGN.md §3): HUP INT QUIT USR1 USR2 PIPE ALRM TERM
/// STKFLT CONT TSTP URG XCPU XFSZ VTALRM PROF WINCH IO PWR.
const STANDARD: [i32; 19] = [
    1, 2, 3, 10, 12, 13, 14, 15, 16, 18, 20, 23, 24, 25, 26, 27, 28, 29, 30,
];

use libc::{SIGCHLD, SIGCONT, SIGTERM, SIGTSTP, SIGUSR1, SIGUSR2};

/// A running tini-rs with `sigrecv` as its program.
struct Run {
    p: Proc,
    /// tini-rs's PID as seen from here.
    tini: i32,
    /// The program's PID as seen from here.
    program: i32,
    /// The grandchild's PID as seen from here (`--child`), else 0.
    grandchild: i32,
    /// `ready` lines: the program's (and the grandchild's) PID and PGID, as the program
    /// sees them (namespace numbers as PID 1).
    ready: Vec<(i32, i32)>,
    _guard: KillOnDrop,
}

/// Starts tini-rs with `args` and `env`, running `sigrecv` with `recv` (plus `--exit-on 15`),
/// and waits until the program (and its grandchild with `--child`) is ready.
fn start(mode: Mode, args: &[&str], env: &[(&str, &str)], recv: &[&str]) -> Run {
    let program = helper(&[&["sigrecv", "--exit-on", "15"], recv].concat());
    let mut cmd = tini(mode, &args_for(args, &program));
    cmd.envs(env.iter().copied()).stdin(Stdio::null());
    let mut p = Proc::spawn(cmd);
    let tini = p.tini(mode);
    let program = only_child(tini);
    let mut guard = KillOnDrop::new(&[program]);
    let child = recv.contains(&"--child");
    let (mut ready, mut grandchild_ready) = (None, None);
    while ready.is_none() || (child && grandchild_ready.is_none()) {
        let line = p.next_line();
        let ids = numbers(line.trim_start_matches("grandchild "));
        let entry = Some((ids[0], ids[1]));
        match line.split(' ').next() {
            Some("ready") if ready.is_none() => ready = entry,
            Some("grandchild") if grandchild_ready.is_none() => grandchild_ready = entry,
            _ => panic!("expected a ready line, got {line:?}"),
        }
    }
    let grandchild = if child { only_child(program) } else { 0 };
    if child {
        guard.add(grandchild);
    }
    Run {
        p,
        tini,
        program,
        grandchild,
        ready: ready.into_iter().chain(grandchild_ready).collect(),
        _guard: guard,
    }
}

impl Run {
    /// Sends `sig` to tini-rs.
    fn send(&self, sig: i32) {
        kill(self.tini, sig);
    }

    /// Expects exactly the lines in `want` next on stdout, in any order, and nothing else
    /// before them.
    fn expect(&mut self, want: &[String]) {
        let mut left: Vec<String> = want.to_vec();
        while !left.is_empty() {
            let line = self.p.next_line();
            let pos = left
                .iter()
                .position(|w| *w == line)
                .unwrap_or_else(|| panic!("got {line:?} while waiting for {left:?}"));
            left.remove(pos);
        }
    }

    fn expect_one(&mut self, line: &str) {
        self.expect(&[line.to_string()]);
    }

    /// Sends SIGTERM to tini-rs (the program reports it and exits 0 by `--exit-on 15`),
    /// expects `lines`, and returns tini-rs's output after it exited.
    fn finish_with_term(mut self, lines: &[String]) -> Output {
        self.send(SIGTERM);
        self.expect(lines);
        self.p.finish()
    }
}

fn sig(n: i32) -> String {
    format!("sig {n}")
}

fn grandchild_sig(n: i32) -> String {
    format!("grandchild sig {n}")
}

#[test]
fn every_forwardable_signal_reaches_the_program_with_its_number() {
    let mut all: Vec<i32> = STANDARD.iter().copied().filter(|s| *s != SIGTERM).collect();
    all.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    assert_eq!(all.len(), 18 + 31, "{all:?}");
    for mode in MODES {
        let mut r = start(mode, &[], &[], &[]);
        // One at a time, each one waited for: SIGCONT then SIGTSTP among them.
        for &s in &all {
            r.send(s);
            r.expect_one(&sig(s));
        }
        // tini-rs itself was never stopped by the SIGTSTP it forwarded.
        assert!(!stopped(r.tini), "{mode:?}: tini-rs stopped");
        let out = r.finish_with_term(&[sig(SIGTERM)]);
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
    }
}

#[test]
fn tstp_then_cont_are_forwarded_in_order() {
    for mode in MODES {
        let mut r = start(mode, &[], &[], &[]);
        r.send(SIGTSTP);
        r.expect_one(&sig(SIGTSTP));
        r.send(SIGCONT);
        r.expect_one(&sig(SIGCONT));
        let out = r.finish_with_term(&[sig(SIGTERM)]);
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
    }
}

/// `sig` sent to tini-rs is not forwarded: a real-time marker sent after it arrives first.
fn assert_not_forwarded(mode: Mode, s: i32) {
    let mut r = start(mode, &[], &[], &[]);
    r.send(s);
    r.send(libc::SIGRTMIN());
    // Had `s` been forwarded, tini-rs would have passed it on before the marker (it takes
    // its own pending signals lowest first too), and the program would report it first.
    r.expect_one(&sig(libc::SIGRTMIN()));
    let out = r.finish_with_term(&[sig(SIGTERM)]);
    assert_eq!(out.code(), 0, "{mode:?} signal {s}\n{out}");
    assert!(
        !out.stdout.contains(&format!("{}\n", sig(s))),
        "{mode:?}\n{out}"
    );
}

#[test]
fn sigchld_is_not_forwarded() {
    for mode in MODES {
        assert_not_forwarded(mode, SIGCHLD);
    }
}

#[test]
fn sigttin_and_sigttou_are_not_forwarded() {
    for mode in MODES {
        assert_not_forwarded(mode, libc::SIGTTIN);
        assert_not_forwarded(mode, libc::SIGTTOU);
    }
}

/// Options and environment variables that select a delivery mode.
type Variant = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// Ways to ask for group delivery: the default, `-g`, the environment variable, and `-g`
/// against an image's `TINI_CHILD_ONLY` (the command line wins, as with `-c` and `-a`).
const GROUP_VARIANTS: [Variant; 4] = [
    (&[], &[]),
    (&["-g"], &[]),
    (&[], &[("TINI_KILL_PROCESS_GROUP", "")]),
    (&["-g"], &[("TINI_CHILD_ONLY", "")]),
];

/// Ways to ask for child-only delivery.
const CHILD_VARIANTS: [Variant; 3] = [
    (&["-c"], &[]),
    (&["--child-only"], &[]),
    (&[], &[("TINI_CHILD_ONLY", "")]),
];

/// Runs `check` on `sigrecv --child` started in every mode with every one of `variants`
/// (with a description of the case).
fn with_a_grandchild(variants: &[Variant], mut check: impl FnMut(Run, String)) {
    for mode in MODES {
        for (args, env) in variants {
            check(
                start(mode, args, env, &["--child"]),
                format!("{mode:?} {args:?} {env:?}"),
            );
        }
    }
}

#[test]
fn group_delivery_reaches_a_grandchild_in_the_programs_group() {
    with_a_grandchild(&GROUP_VARIANTS, |mut r, what| {
        let [(program, group), (_, gc_group)] = r.ready[..] else {
            panic!("{what}: {:?}", r.ready)
        };
        assert_eq!(program, group, "{what}: the program leads its own group");
        assert_eq!(
            gc_group, group,
            "{what}: the grandchild is in the program's group"
        );
        for s in [SIGUSR1, libc::SIGRTMIN() + 5] {
            r.send(s);
            r.expect(&[sig(s), grandchild_sig(s)]);
        }
        let out = r.finish_with_term(&[sig(SIGTERM), grandchild_sig(SIGTERM)]);
        assert_eq!(out.code(), 0, "{what}\n{out}");
    });
}

#[test]
fn child_only_delivery_does_not_reach_the_grandchild() {
    with_a_grandchild(&CHILD_VARIANTS, |mut r, what| {
        let gc = r.grandchild;
        r.send(SIGUSR1);
        r.expect_one(&sig(SIGUSR1));
        // The marker goes straight to the grandchild. A group delivery of USR1 would
        // have been queued to it in the same kill(2) as to the program, and with the
        // lower number it would be reported before the marker.
        kill(gc, SIGUSR2);
        r.expect_one(&grandchild_sig(SIGUSR2));
        // Clean up the grandchild first (child-only delivery would never reach it):
        // the program then reports the grandchild's SIGCHLD.
        kill(gc, SIGTERM);
        r.expect(&[grandchild_sig(SIGTERM), sig(SIGCHLD)]);
        let out = r.finish_with_term(&[sig(SIGTERM)]);
        assert_eq!(out.code(), 0, "{what}\n{out}");
        assert!(
            !out.stdout.contains(&grandchild_sig(SIGUSR1)),
            "{what}\n{out}"
        );
    });
}

/// The command line wins over the environment: with an image's `TINI_KILL_PROCESS_GROUP`
/// (and even `TINI_BROADCAST`) set, `-c` runs and delivers to the program only.
#[test]
fn child_only_option_beats_the_images_variables() {
    let program = "sh -c 'trap \"echo helper-got-usr1\" USR1; echo helper; \
                   while :; do sleep 0.05; done' & \
                   trap 'echo main-got-usr1; kill $!; exit 0' USR1; echo ready; \
                   while :; do sleep 0.05; done";
    for mode in MODES {
        for vars in [
            &[("TINI_KILL_PROCESS_GROUP", "1")][..],
            &[("TINI_KILL_PROCESS_GROUP", ""), ("TINI_BROADCAST", "1")],
        ] {
            let mut c = tini(mode, &["-s", "-c", "--", "sh", "-c", program]);
            c.stdin(Stdio::null()).envs(vars.iter().copied());
            let mut p = Proc::spawn(c);
            let mut up = std::collections::HashSet::new();
            while up.len() < 2 {
                up.insert(p.wait_line(|l| l == "ready" || l == "helper"));
            }
            let t = p.tini(mode);
            wait_sigtimedwait(t);
            kill(t, SIGUSR1);
            let out = p.finish();
            assert_eq!(out.code(), 0, "{mode:?} {vars:?}\n{out}");
            assert!(out.stdout.contains("main-got-usr1"), "{mode:?}\n{out}");
            assert!(!out.stdout.contains("helper-got-usr1"), "{mode:?}\n{out}");
        }
    }
}

/// A program that moved into another process group still gets every signal, exactly once,
/// whatever the delivery (a queued real-time signal would show a second copy); group
/// delivery, and broadcast's, finds the program's old group empty (ESRCH, logged at debug
/// only, never a warning).
#[test]
fn a_program_that_left_its_process_group_still_gets_signals() {
    let broadcast: [Variant; 2] = [(&["-a"], &[]), (&[], &[("TINI_BROADCAST", "")])];
    for mode in MODES {
        for (by_group, (args, env)) in GROUP_VARIANTS
            .map(|v| (true, v))
            .into_iter()
            .chain(broadcast.map(|v| (true, v)))
            .chain(CHILD_VARIANTS.map(|v| (false, v)))
        {
            let args = [args, &["-s", "-vvv"]].concat();
            let mut r = start(mode, &args, env, &["--setpgid"]);
            let what = format!("{mode:?} {args:?} {env:?}");
            let (program, pgid) = r.ready[0];
            assert_ne!(program, pgid, "{what}: the program moved to another group");
            assert_eq!(
                nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(r.program))),
                Ok(nix::unistd::Pid::from_raw(only_child(r.program))),
                "{what}"
            );
            for s in [SIGUSR1, SIGCONT, libc::SIGRTMAX()] {
                r.send(s);
                r.expect_one(&sig(s));
            }
            let out = r.finish_with_term(&[sig(SIGTERM)]);
            assert_eq!(out.code(), 0, "{what}\n{out}");
            assert_eq!(count(&out.stderr, "[WARN"), 0, "{what}\n{out}");
            let esrch = count(&out.stderr, "No process to receive");
            assert_eq!(esrch > 0, by_group, "{what}\n{out}");
        }
    }
}

/// Starts tini-rs (`-s` when plain) running helper.py `helper_mode` with `stdin`; returns it,
/// tini-rs's PID, the program's PID, and a guard for the program.
fn start_helper(mode: Mode, helper_mode: &str, stdin: Stdio) -> (Proc, i32, i32, KillOnDrop) {
    let program = helper(&[helper_mode]);
    let mut cmd = tini_s(mode, &args_for(&[], &program));
    cmd.stdin(stdin);
    let mut p = Proc::spawn(cmd);
    let tini = p.tini(mode);
    let program = only_child(tini);
    (p, tini, program, KillOnDrop::new(&[program]))
}

/// Without a terminal, a SIGTSTP sent to tini-rs stops the program (its default action),
/// tini-rs stays running and does not take the stopped program for an exited one, and
/// SIGCONT resumes it.
#[test]
fn tstp_stops_the_program_and_cont_resumes_it() {
    for mode in MODES {
        let (mut p, tini, program, _guard) = start_helper(mode, "jobprog", Stdio::piped());
        let ready = p.wait_prefix("ready ");
        assert!(ready.ends_with("fg=0"), "{mode:?}: {ready}");
        kill(tini, SIGTSTP);
        poll_until("the program to stop", || {
            assert!(alive(tini), "{mode:?}: tini-rs exited on the stop");
            stopped(program).then_some(())
        });
        wait_until_tini_is_idle(tini);
        assert_eq!(children(tini), vec![program], "{mode:?}");
        kill(tini, SIGCONT);
        poll_until("the program to resume", || {
            (!stopped(program)).then_some(())
        });
        let mut stdin = p.take_stdin().unwrap();
        writeln!(stdin, "hello").unwrap();
        assert_eq!(p.wait_prefix("got "), "got hello", "{mode:?}");
        writeln!(stdin, "exit 4").unwrap();
        drop(stdin);
        let out = p.finish();
        assert_eq!(out.code(), 4, "{mode:?}\n{out}");
    }
}

/// A program that stops itself is not taken for exited; a signal forwarded while it is
/// stopped waits, pending, until SIGCONT resumes it.
#[test]
fn a_program_that_stops_itself_is_not_taken_for_exited() {
    for mode in MODES {
        let (mut p, t, prog, _guard) = start_helper(mode, "stopself", Stdio::null());
        p.wait_prefix("ready");
        poll_until("the program to stop", || stopped(prog).then_some(()));
        assert!(p.try_status().is_none(), "{mode:?}: tini-rs left");
        kill(t, SIGUSR1);
        poll_until("SIGUSR1 pending in the stopped program", || {
            pending(prog, SIGUSR1).then_some(())
        });
        assert!(stopped(prog), "{mode:?}");
        kill(t, SIGCONT);
        p.wait_line(|l| l == "got 10");
        let out = p.finish();
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        assert_eq!(out.stderr, "", "{mode:?}\n{out}");
    }
}

/// `-p SIGUSR1 -- sigrecv --exit-on 10`.
fn pdeathsig_args() -> Vec<String> {
    let mut v: Vec<String> = ["-p", "SIGUSR1", "--"].map(String::from).to_vec();
    v.extend(helper(&["sigrecv", "--exit-on", "10"]));
    v
}

#[test]
fn parent_death_signal_reaches_the_program_plain() {
    let args = pdeathsig_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // A shell is tini-rs's parent; the test kills it.
    let cmd = wrap(
        &["sh", "-c", "\"$@\" & echo tini $!; wait", "sh"],
        &tini(Mode::Plain, &args),
    );
    let mut p = Proc::spawn(cmd);
    let tini_pid = numbers(&p.wait_prefix("tini "))[0];
    let program = numbers(&p.wait_prefix("ready "))[0];
    let _guard = KillOnDrop::new(&[tini_pid, program]);
    kill(p.pid(), libc::SIGKILL);
    p.wait_line(|l| l == "sig 10");
    poll_until("tini-rs and the program to exit", || {
        (!alive(tini_pid) && !alive(program)).then_some(())
    });
}

#[test]
fn parent_death_signal_reaches_the_program_as_pid1() {
    let args = pdeathsig_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // unshare is tini-rs's parent. Its own --kill-child (a SIGKILL parent-death signal) is
    // replaced by ours, so the program survives to report SIGUSR1.
    let mut p = Proc::spawn(tini(Mode::Pid1, &args));
    p.wait_prefix("ready ");
    let tini_pid = p.tini(Mode::Pid1);
    let _guard = KillOnDrop::new(&[tini_pid]);
    kill(p.pid(), libc::SIGKILL);
    p.wait_line(|l| l == "sig 10");
    poll_until("tini-rs to exit", || (!alive(tini_pid)).then_some(()));
}

/// No timed wake-up after the spawn and no madvise: tini-rs waits for its first signal
/// without a timeout (it used to wake 100 ms after the spawn to drop its code pages).
#[test]
fn no_timed_wake_up_and_no_madvise() {
    let dir = ScratchDir::new("no-wake-up");
    let trace = ["-e", "trace=rt_sigtimedwait,madvise"];
    let (c, log) = under_strace(&dir, &trace, &["--", "sh", "-c", "exit 3"]);
    let out = run(c);
    let trace = read_text(&log);
    assert_eq!(out.code(), 3, "{out}\n{trace}");
    let waits: Vec<&str> = trace
        .lines()
        .filter(|l| l.starts_with("rt_sigtimedwait("))
        .collect();
    assert!(!waits.is_empty(), "{trace}");
    assert!(
        waits.iter().all(|l| l.contains(", NULL, 8)")),
        "a timeout was set:\n{trace}"
    );
    assert!(!trace.contains("madvise("), "{trace}");
}

/// How `init -p SIGNAL` ends when its parent dies (helper.py `parent-death`).
fn fate_after_parent_death(init: &str, sig: &str) -> String {
    let out = run(in_mode(Mode::Plain, &helper(&["parent-death", init, sig])));
    out.stdout.lines().next().unwrap_or("").to_string()
}

/// `-p` takes every name tini takes, SIGKILL, SIGSTOP and the fault signals included; when
/// the parent dies, tini-rs ends as tini does (a fault signal kills it; a forwardable one is
/// passed on, so the program's status comes back).
#[test]
fn parent_death_signal_ends_tini_rs_as_it_ends_tini() {
    for (sig, want) in [
        ("SIGSEGV", "signal 11"),
        ("SIGKILL", "signal 9"),
        ("SIGTERM", "exit 143"),
    ] {
        let ours = fate_after_parent_death(bin(), sig);
        let theirs = fate_after_parent_death(reference_tini(), sig);
        assert_eq!(ours, want, "tini-rs -p {sig}");
        assert_eq!(ours, theirs, "tini-rs vs tini, -p {sig}");
    }
    // Accepted on the command line, as tini accepts them.
    for sig in [
        "SIGSTOP", "SIGTTIN", "SIGCHLD", "SIGSYS", "SIGABRT", "SIGTRAP",
    ] {
        let out = run(tini(Mode::Plain, &["-p", sig, "--", "true"]));
        assert_eq!(out.code(), 0, "-p {sig}\n{out}");
    }
}

/// tini-rs catches no signal (`SigCgt` is empty) and runs single-threaded, at start and in the
/// loop, with logging on and after a signal was forwarded: every signal it handles is blocked
/// and taken with `sigtimedwait`, the program inherits no handler of ours, and its `fork`
/// relies on having one thread (the child may allocate and log only because no other thread
/// can hold a lock).
#[test]
fn tini_rs_runs_single_threaded_and_installs_no_signal_handler() {
    for mode in MODES {
        let program = "trap 'exit 4' USR2; trap 'echo got1' USR1; echo ready; \
                       while :; do sleep 0.05; done";
        let mut c = tini(mode, &["-vvvv", "--", "sh", "-c", program]);
        c.stdin(Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("ready");
        let t = p.tini(mode);
        wait_sigtimedwait(t);
        for when in ["at start", "in the loop"] {
            assert_eq!(proc_sigset(t, "SigCgt"), Some(vec![]), "{mode:?} {when}");
            assert_eq!(
                proc_status(t, "Threads").as_deref(),
                Some("1"),
                "{mode:?} {when}"
            );
            if when == "at start" {
                kill(t, SIGUSR1);
                p.wait_line(|l| l == "got1");
            }
        }
        kill(t, SIGUSR2);
        let out = p.finish();
        assert_eq!(out.code(), 4, "{mode:?}\n{out}");
    }
}
