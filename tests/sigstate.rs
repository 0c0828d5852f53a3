//! What the program inherits from tini-rs's caller, with tini-rs as a plain process and as
//! PID 1: the caller's blocked and ignored signals exactly (SIGPIPE included, both ways: the
//! Rust runtime would otherwise leak "SIGPIPE ignored"), the caller's file descriptors and no
//! others, and a closed stdin left closed (not replaced by /dev/null).
//!
//! The caller is tests/helpers/sigstage.py, which sets an exact signal state and fd set and
//! execs tini-rs. As PID 1 the stage runs inside the new PID namespace and execs tini-rs there,
//! so tini-rs keeps PID 1 and nothing (unshare included) stands between the stage's state and
//! tini-rs.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;

use std::process::{Command, Stdio};

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGILL: i32 = 4;
const SIGUSR1: i32 = 10;
const SIGSEGV: i32 = 11;
const SIGPIPE: i32 = 13;
const SIGTERM: i32 = 15;
const SIGCHLD: i32 = 17;
const SIGTTIN: i32 = 21;
const SIGTTOU: i32 = 22;
const SIGXFSZ: i32 = 25;

/// tini-rs started by sigstage.py with `stage` options, running `program`.
fn staged(mode: Mode, stage: &[&str], program: &[&str]) -> Command {
    let mut c = match mode {
        Mode::Plain => Command::new("python3"),
        Mode::Pid1 => {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
                .arg("python3");
            c
        }
    };
    c.arg(helper("sigstage.py"))
        .args(stage)
        .args(["--", bin(), "--"])
        .args(program)
        .stdin(Stdio::null());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TINI_") {
            c.env_remove(&k);
        }
    }
    c
}

fn list(sigs: &[i32]) -> String {
    sigs.iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A mask field of /proc/self/status as printed by the program, as signal numbers.
fn mask(out: &Output, field: &str) -> Vec<i32> {
    let hex = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in the program's output\n{out}"))
        .trim();
    let bits = u64::from_str_radix(hex, 16).unwrap();
    (1..=64).filter(|n| bits & (1u64 << (n - 1)) != 0).collect()
}

/// Runs `cat /proc/self/status` under tini-rs with the caller ignoring `ignore` and blocking
/// `block`; checks the program's SigIgn and SigBlk are exactly those and the status is 0.
fn check_signal_state(mode: Mode, ignore: &[i32], block: &[i32]) {
    let stage = ["--ignore", &list(ignore), "--block", &list(block)];
    let out = run(staged(mode, &stage, &["cat", "/proc/self/status"]));
    let what = format!("{mode:?} ignore {ignore:?} block {block:?}");
    assert_eq!(out.code(), 0, "{what}\n{out}");
    let (mut ignore, mut block) = (ignore.to_vec(), block.to_vec());
    ignore.sort_unstable();
    block.sort_unstable();
    assert_eq!(mask(&out, "SigIgn"), ignore, "{what}: SigIgn\n{out}");
    assert_eq!(mask(&out, "SigBlk"), block, "{what}: SigBlk\n{out}");
    // The stage really made tini-rs PID 1 (the program's parent) or left it a plain process.
    let parent_is_pid1 = out.stdout.lines().any(|l| l == "PPid:\t1");
    assert_eq!(parent_is_pid1, mode == Mode::Pid1, "{what}\n{out}");
}

#[test]
fn the_callers_ignored_and_blocked_signals_reach_the_program_exactly() {
    for mode in MODES {
        // tini's own test: ignore TTOU, SEGV, INT; block TTIN, ILL, TERM; with SIGPIPE
        // ignored by the caller, and not ignored (the program must not see it ignored).
        check_signal_state(
            mode,
            &[SIGTTOU, SIGSEGV, SIGINT, SIGPIPE],
            &[SIGTTIN, SIGILL, SIGTERM],
        );
        check_signal_state(
            mode,
            &[SIGTTOU, SIGSEGV, SIGINT],
            &[SIGTTIN, SIGILL, SIGTERM],
        );
    }
}

#[test]
fn with_nothing_blocked_or_ignored_the_program_has_empty_masks() {
    for mode in MODES {
        check_signal_state(mode, &[], &[]);
    }
}

#[test]
fn ignored_sigchld_and_real_time_signals_are_passed_on_and_reaping_still_works() {
    let (rtmin, rtmax) = (tini_rs::signals::rt_min(), tini_rs::signals::rt_max());
    for mode in MODES {
        // An ignored SIGCHLD would make the kernel reap behind tini-rs's back; it must still
        // see the program exit (status 0 here, checked inside) and hand SIG_IGN on.
        check_signal_state(
            mode,
            &[SIGCHLD, SIGHUP, SIGXFSZ, rtmin + 1],
            &[SIGUSR1, SIGPIPE, rtmax],
        );
    }
}

/// The program's open fds as `fd=target`, then exit 7.
const LIST_FDS: &str = "
import os, sys
seen = []
for fd in range(1024):
    try:
        os.fstat(fd)
    except OSError:
        continue
    seen.append('%d=%s' % (fd, os.readlink('/proc/self/fd/%d' % fd)))
print('fds ' + ' '.join(seen))
sys.exit(7)
";

/// The fds the program saw, as (fd, target).
fn fds(out: &Output) -> Vec<(i32, String)> {
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("fds "))
        .unwrap_or_else(|| panic!("no fds line\n{out}"));
    line.split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let (fd, target) = w.split_once('=').unwrap();
            (fd.parse().unwrap(), target.to_string())
        })
        .collect()
}

fn fd_numbers(out: &Output) -> Vec<i32> {
    fds(out).into_iter().map(|(fd, _)| fd).collect()
}

#[test]
fn the_program_gets_the_callers_fds_and_no_others() {
    for mode in MODES {
        let out = run(staged(mode, &[], &["python3", "-c", LIST_FDS]));
        assert_eq!(out.code(), 7, "{mode:?}\n{out}");
        assert_eq!(fd_numbers(&out), vec![0, 1, 2], "{mode:?}\n{out}");
        let out = run(staged(
            mode,
            &["--keep-fd", "5", "--keep-fd", "9"],
            &["python3", "-c", LIST_FDS],
        ));
        assert_eq!(out.code(), 7, "{mode:?}\n{out}");
        assert_eq!(fd_numbers(&out), vec![0, 1, 2, 5, 9], "{mode:?}\n{out}");
        let got = fds(&out);
        assert!(
            got.iter()
                .all(|(fd, t)| ![0, 5, 9].contains(fd) || t == "/dev/null"),
            "{mode:?}: {got:?}"
        );
    }
}

#[test]
fn a_closed_stdin_stays_closed_and_the_status_propagates() {
    for mode in MODES {
        let out = run(staged(
            mode,
            &["--close-stdin"],
            &["python3", "-c", LIST_FDS],
        ));
        assert_eq!(out.code(), 7, "{mode:?}\n{out}");
        // fd 0 closed, not reopened on /dev/null (Rust's runtime would do that).
        assert_eq!(fd_numbers(&out), vec![1, 2], "{mode:?}\n{out}");
        // The same with a program that fails: its status is passed on too.
        let out = run(staged(mode, &["--close-stdin"], &["sh", "-c", "exit 42"]));
        assert_eq!(out.code(), 42, "{mode:?}\n{out}");
    }
}
