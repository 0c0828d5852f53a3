//! Issue 7, item 1: resource exhaustion. When fork fails (a pids cgroup limit, or
//! RLIMIT_NPROC for a non-root user) tini-rs prints one `fork failed: ...` line and exits 1
//! without hanging; a program that fork-bombs its own subtree up to a pids limit (~200, in a
//! PID namespace) and then exits leaves no zombie behind, and tini-rs exits with its status.
//!
//! Needs root and a pids cgroup controller (v1 or v2); without one the cgroup variants say so
//! and return, the RLIMIT_NPROC variant still runs.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "helpers/reliability.rs"]
mod rel;

use std::process::Command;
use std::time::Duration;

use common::*;
use rel::{Cgroup, RawOutput, count, public, py_args, run_bytes};

const LIMIT: Duration = Duration::from_secs(60);

fn assert_fork_failed(out: &RawOutput, what: &str) {
    assert_eq!(out.code(), Some(1), "{what}\n{out}");
    let err = out.err();
    let lines: Vec<&str> = err.lines().filter(|l| !l.contains("won't work")).collect();
    assert_eq!(lines.len(), 1, "{what}: one error line expected\n{out}");
    let line = lines.first().copied().unwrap_or_default();
    assert!(
        line.starts_with("[ERROR tini-rs (")
            && line.ends_with("] fork failed: Resource temporarily unavailable"),
        "{what}: {line}\n{out}"
    );
}

#[test]
fn fork_failure_under_a_pids_cgroup_limit_is_one_line_and_exit_1() {
    // Plain: the cgroup holds tini-rs only. As PID 1: unshare and tini-rs.
    for (mode, max) in [(Mode::Plain, 1), (Mode::Pid1, 2)] {
        let Some(cg) = Cgroup::new(max) else {
            eprintln!("no writable pids cgroup controller: skipping the cgroup variant");
            return;
        };
        let out = run_bytes(cg.wrap(&tini(mode, &["-s", "--", "true"])), LIMIT);
        assert_fork_failed(&out, &format!("{mode:?} pids.max={max}"));
        eprintln!(
            "{mode:?}: pids.max={max}: exit {:?}, stderr {:?}, refused forks {:?}",
            out.code(),
            out.err(),
            cg.max_events()
        );
    }
}

#[test]
fn fork_failure_under_rlimit_nproc_as_a_non_root_user() {
    // RLIMIT_NPROC counts every process of the real user: with a limit of 1, tini-rs itself
    // uses it up (more processes of that user elsewhere only make the fork fail sooner).
    let p = public();
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "prlimit",
        "--nproc=1",
        &p.bin,
        "-s",
        "--",
        "true",
    ]);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TINI_") {
            c.env_remove(k);
        }
    }
    let out = run_bytes(c, LIMIT);
    assert_fork_failed(&out, "RLIMIT_NPROC=1 as uid 65534");
    eprintln!(
        "RLIMIT_NPROC=1: exit {:?}, stderr {:?}",
        out.code(),
        out.err()
    );
}

#[test]
fn fork_bomb_up_to_the_pids_limit_leaves_no_zombie() {
    let Some(cg) = Cgroup::new(200) else {
        eprintln!("no writable pids cgroup controller: skipping");
        return;
    };
    // -w: one warning per reaped process that is not the program, to count them.
    let args = py_args("forkbomb", &[]);
    let mut all = vec!["-w", "--"];
    all.extend(args.iter().map(String::as_str));
    let out = run_bytes(cg.wrap(&tini(Mode::Pid1, &all)), LIMIT);
    assert_eq!(out.code(), Some(7), "{out}");
    let line = out
        .out()
        .lines()
        .find(|l| l.starts_with("bomb "))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no bomb line\n{out}"));
    let created: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(line.ends_with(" clean"), "{out}");
    // unshare, tini-rs and the program hold 3 of the 200; the bomb filled most of the rest.
    assert!(created >= 150, "only {created} processes\n{out}");
    // The bomb's root is reaped by the program; every other one became tini-rs's zombie.
    let reaped = count(&out.err(), "Reaped zombie process with pid=");
    assert_eq!(reaped, created - 1, "{out}");
    assert_eq!(
        count(&out.err(), "tini-rs"),
        reaped,
        "no other line expected\n{out}"
    );
    eprintln!(
        "fork bomb: {created} processes, {reaped} zombies reaped by tini-rs, refused forks {:?}, exit {:?}",
        cg.max_events(),
        out.code()
    );
}
