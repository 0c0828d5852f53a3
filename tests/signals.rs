//! Signal forwarding, end to end, with tini-rs as a plain process and as PID 1: every
//! forwardable signal (standard and real-time) reaches the program with its own number;
//! SIGCHLD, SIGTTIN and SIGTTOU do not; group delivery reaches the program's whole process
//! group (and a program that left its group), child-only delivery only the program; a
//! forwarded SIGTSTP really stops the program and SIGCONT resumes it; tini-rs exits with the
//! program's status.
//!
//! The program is tests/helpers/sigrecv.py, which blocks every signal and reports each one
//! as `sig N` in the order it takes them. Negative assertions use a marker signal sent after
//! the one that must not arrive: the kernel hands out pending signals lowest number first,
//! standard before real-time, so a wrongly forwarded signal would be reported before the
//! marker. Every test reads the exact sequence of lines, so nothing is left to timing.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;

use std::io::Write;
use std::process::Stdio;

/// The forwardable standard signals (DESIGN.md §3): HUP INT QUIT USR1 USR2 PIPE ALRM TERM
/// STKFLT CONT TSTP URG XCPU XFSZ VTALRM PROF WINCH IO PWR.
const STANDARD: [i32; 19] = [
    1, 2, 3, 10, 12, 13, 14, 15, 16, 18, 20, 23, 24, 25, 26, 27, 28, 29, 30,
];

const SIGUSR1: i32 = 10;
const SIGUSR2: i32 = 12;
const SIGTERM: i32 = 15;
const SIGCHLD: i32 = 17;
const SIGCONT: i32 = 18;
const SIGTSTP: i32 = 20;
const SIGTTIN: i32 = 21;
const SIGTTOU: i32 = 22;

fn sigrtmin() -> i32 {
    tini_rs::signals::rt_min()
}

fn sigrtmax() -> i32 {
    tini_rs::signals::rt_max()
}

/// A running tini-rs with sigrecv.py as its program.
struct Run {
    p: Proc,
    /// tini-rs's PID as seen from here.
    tini: i32,
    /// The program's PID as seen from here.
    program: i32,
    /// `ready` lines: the program's (and the grandchild's) PID and PGID, as the program
    /// sees them (namespace numbers as PID 1).
    ready: Vec<(i32, i32)>,
    _guard: KillOnDrop,
}

/// Starts tini-rs with `args` and `env`, running sigrecv.py with `recv` (plus
/// `--exit-on 15`), and waits until the program (and its grandchild with `--child`) is ready.
fn start(mode: Mode, args: &[&str], env: &[(&str, &str)], recv: &[&str]) -> Run {
    let recv_py = helper("sigrecv.py");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--", "python3", &recv_py, "--exit-on", "15"]);
    all.extend(recv);
    let mut cmd = tini(mode, &all);
    cmd.envs(env.iter().copied()).stdin(Stdio::null());
    let mut p = Proc::spawn(cmd);
    let tini = tini_pid(&p, mode);
    let program = only_child(tini);
    let mut guard = KillOnDrop(vec![program]);
    let mut ready = Vec::new();
    let mut want = vec!["ready".to_string()];
    if recv.contains(&"--child") {
        want.push("grandchild ready".to_string());
    }
    for _ in 0..want.len() {
        let line = p.wait_line(|_| true);
        let (head, rest) = line
            .rsplit_once(" ready ")
            .map(|(h, r)| (format!("{h} ready"), r))
            .or_else(|| {
                line.strip_prefix("ready ")
                    .map(|r| ("ready".to_string(), r))
            })
            .unwrap_or_else(|| panic!("expected a ready line, got {line:?}"));
        let pos = want
            .iter()
            .position(|w| *w == head)
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        want.remove(pos);
        let ids: Vec<i32> = rest.split(' ').map(|n| n.parse().unwrap()).collect();
        let entry = (ids[0], ids[1]);
        if head == "ready" {
            ready.insert(0, entry);
        } else {
            ready.push(entry);
        }
    }
    if recv.contains(&"--child") {
        guard.0.push(only_child(program));
    }
    Run {
        p,
        tini,
        program,
        ready,
        _guard: guard,
    }
}

impl Run {
    /// The grandchild's PID as seen from here (sigrecv.py --child).
    fn grandchild(&self) -> i32 {
        self._guard.0[1]
    }

    /// Sends `sig` to tini-rs.
    fn send(&self, sig: i32) {
        kill(self.tini, sig);
    }

    /// Expects exactly the lines in `want` next on stdout, in any order, and nothing else
    /// before them.
    fn expect(&mut self, want: &[String]) {
        let mut left: Vec<String> = want.to_vec();
        while !left.is_empty() {
            let line = self.p.wait_line(|_| true);
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
    all.extend(sigrtmin()..=sigrtmax());
    assert_eq!(all.len(), 18 + 31, "{all:?}");
    for mode in MODES {
        let mut r = start(mode, &[], &[], &[]);
        // One at a time, each one waited for: SIGTSTP then SIGCONT among them.
        for &s in &all {
            r.send(s);
            r.expect_one(&sig(s));
        }
        // tini-rs itself was never stopped by the SIGTSTP it forwarded.
        let state = proc_status(r.tini, "State").unwrap();
        assert!(!state.starts_with('T'), "{mode:?}: tini-rs {state}");
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
    r.send(sigrtmin());
    // Had `s` been forwarded, tini-rs would have passed it on before the marker (it takes
    // its own pending signals lowest first too), and the program would report it first.
    r.expect_one(&sig(sigrtmin()));
    let out = r.finish_with_term(&[sig(SIGTERM)]);
    assert_eq!(out.code(), 0, "{mode:?} signal {s}\n{out}");
    assert!(!out.stdout.contains(&sig(s)), "{mode:?}\n{out}");
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
        assert_not_forwarded(mode, SIGTTIN);
        assert_not_forwarded(mode, SIGTTOU);
    }
}

/// Options and environment variables that select a delivery mode.
type Variant = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// Ways to ask for group delivery: the default, `-g`, and the environment variable.
const GROUP_VARIANTS: [Variant; 3] = [
    (&[], &[]),
    (&["-g"], &[]),
    (&[], &[("TINI_KILL_PROCESS_GROUP", "")]),
];

/// Ways to ask for child-only delivery.
const CHILD_VARIANTS: [Variant; 3] = [
    (&["-c"], &[]),
    (&["--child-only"], &[]),
    (&[], &[("TINI_CHILD_ONLY", "")]),
];

#[test]
fn group_delivery_reaches_a_grandchild_in_the_programs_group() {
    for mode in MODES {
        for (args, env) in GROUP_VARIANTS {
            let mut r = start(mode, args, env, &["--child"]);
            let what = format!("{mode:?} {args:?} {env:?}");
            let [(pid, pgid), (_, gc_pgid)] = r.ready[..] else {
                panic!("{what}: {:?}", r.ready)
            };
            assert_eq!(pid, pgid, "{what}: the program leads its own group");
            assert_eq!(
                gc_pgid, pgid,
                "{what}: the grandchild is in the program's group"
            );
            for s in [SIGUSR1, sigrtmin() + 5] {
                r.send(s);
                r.expect(&[sig(s), grandchild_sig(s)]);
            }
            let out = r.finish_with_term(&[sig(SIGTERM), grandchild_sig(SIGTERM)]);
            assert_eq!(out.code(), 0, "{what}\n{out}");
        }
    }
}

#[test]
fn child_only_delivery_does_not_reach_the_grandchild() {
    for mode in MODES {
        for (args, env) in CHILD_VARIANTS {
            let mut r = start(mode, args, env, &["--child"]);
            let what = format!("{mode:?} {args:?} {env:?}");
            let gc = r.grandchild();
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
        }
    }
}

#[test]
fn a_program_that_left_its_process_group_still_gets_signals() {
    for mode in MODES {
        for (args, env) in GROUP_VARIANTS {
            let mut r = start(mode, args, env, &["--setpgid"]);
            let what = format!("{mode:?} {args:?} {env:?}");
            let (pid, pgid) = r.ready[0];
            assert_ne!(pid, pgid, "{what}: the program moved to another group");
            assert_eq!(
                tini_rs::sys::getpgid(r.program),
                Ok(only_child(r.program)),
                "{what}"
            );
            for s in [SIGUSR1, SIGCONT, sigrtmax()] {
                r.send(s);
                r.expect_one(&sig(s));
            }
            let out = r.finish_with_term(&[sig(SIGTERM)]);
            assert_eq!(out.code(), 0, "{what}\n{out}");
        }
    }
}

/// A shell program killed by a forwarded signal: tini-rs exits with 128 + its number.
#[test]
fn a_program_killed_by_a_forwarded_signal_gives_128_plus_the_signal() {
    for mode in MODES {
        for (s, code) in [
            (SIGTERM, 143),
            (1, 129),
            (sigrtmin() + 2, 128 + sigrtmin() + 2),
        ] {
            // `env --default-signal`: a caller that ignores HUP (nohup) passes that on.
            let program = [
                "env",
                "--default-signal",
                "sh",
                "-c",
                "echo ready; sleep 1000",
            ];
            let mut cmd = tini(mode, &[&["--"][..], &program[..]].concat());
            cmd.stdin(Stdio::null());
            let mut p = Proc::spawn(cmd);
            let tini = tini_pid(&p, mode);
            let _guard = KillOnDrop(vec![only_child(tini)]);
            p.wait_prefix("ready");
            kill(tini, s);
            let out = p.finish();
            assert_eq!(out.code(), code, "{mode:?} signal {s}\n{out}");
        }
    }
}

/// Without a terminal, a SIGTSTP sent to tini-rs stops the program (its default action),
/// tini-rs stays running and does not take the stopped program for an exited one, and
/// SIGCONT resumes it.
#[test]
fn tstp_stops_the_program_and_cont_resumes_it() {
    for mode in MODES {
        let mut cmd = tini(mode, &["--", "python3", &helper("jobprog.py")]);
        cmd.stdin(Stdio::piped());
        let mut p = Proc::spawn(cmd);
        let tini = tini_pid(&p, mode);
        let program = only_child(tini);
        let _guard = KillOnDrop(vec![program]);
        let ready = p.wait_prefix("ready ");
        assert!(ready.ends_with("fg=0"), "{mode:?}: {ready}");
        kill(tini, SIGTSTP);
        poll_until("the program to stop", || {
            let tini_state = proc_status(tini, "State").filter(|s| !s.starts_with('Z'));
            assert!(tini_state.is_some(), "{mode:?}: tini-rs exited on the stop");
            proc_status(program, "State").filter(|s| s.starts_with('T'))
        });
        wait_until_tini_is_idle(tini);
        assert_eq!(children(tini), vec![program], "{mode:?}");
        kill(tini, SIGCONT);
        poll_until("the program to resume", || {
            proc_status(program, "State").filter(|s| !s.starts_with('T'))
        });
        let mut stdin = p.child.stdin.take().unwrap();
        writeln!(stdin, "hello").unwrap();
        assert_eq!(p.wait_prefix("got "), "got hello", "{mode:?}");
        writeln!(stdin, "exit 4").unwrap();
        drop(stdin);
        let out = p.finish();
        assert_eq!(out.code(), 4, "{mode:?}\n{out}");
    }
}
