//! Pause mode (`--pause`, `TINI_PAUSE`): no program; tini-rs only reaps the zombies that are
//! re-parented to it and exits 0 on SIGTERM or SIGINT (a pod's shared PID namespace, a pause
//! container). As PID 1, a burst of orphans is placed in its namespace from outside with
//! nsenter; as a subreaper, by a process tini-rs inherits when it is exec'd. Bursts run in a
//! PID namespace of their own.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;
use common::*;
use std::process::Command;

/// Orphans per burst: a real burst, bounded (the PID space is shared).
const BURST: usize = 300;

fn orphan_pids(stdout: &str) -> Vec<i32> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("orphan "))
        .map(|p| p.parse().unwrap())
        .collect()
}

/// Every orphan appears in a `-w` "Reaped zombie process" line of tini-rs.
fn assert_all_reaped_by_tini(orphans: &[i32], stderr: &str) {
    assert_eq!(orphans.len(), BURST);
    let reaped: std::collections::HashSet<i32> = stderr
        .lines()
        .filter_map(|l| l.split("Reaped zombie process with pid=").nth(1))
        .map(|p| p.trim().parse().unwrap())
        .collect();
    let missing: Vec<_> = orphans.iter().filter(|p| !reaped.contains(p)).collect();
    assert!(missing.is_empty(), "not reaped by tini-rs: {missing:?}");
}

/// No process is left below `tini`: every orphan was reaped (none is a zombie either).
fn wait_nothing_left(tini: i32) {
    poll_until("every orphan reaped", || {
        descendants(tini).is_empty().then_some(())
    });
}

#[test]
fn pid1_reaps_a_burst_of_orphans_placed_in_its_namespace() {
    let p = Proc::spawn(tini(Mode::Pid1, &["-w", "--pause"]));
    let t = tini_pid(&p, Mode::Pid1);
    wait_sigtimedwait(t);
    let t_arg = t.to_string();
    let orphans_py = helper("orphans.py");
    let burst = BURST.to_string();
    let mut enter = Command::new("nsenter");
    enter.args([
        "-t",
        &t_arg,
        "-p",
        "-m",
        "--",
        "python3",
        &orphans_py,
        &burst,
    ]);
    let made = run(enter);
    assert_eq!(made.code(), 0, "{made}");
    assert!(made.stdout.ends_with("done"), "{made}");
    let orphans = orphan_pids(&made.stdout);
    wait_nothing_left(t);
    // Inside the namespace too: no zombie or anything else, only PID 1 and the checking
    // shell (which counts with builtins, without forking).
    let mut look = Command::new("nsenter");
    look.args(["-t", &t_arg, "-p", "-m", "--", "sh", "-c"])
        .arg("n=0; for d in /proc/[0-9]*; do n=$((n+1)); done; echo $n");
    let seen = run(look);
    assert_eq!(
        seen.stdout.trim(),
        "2",
        "one process besides the checker\n{seen}"
    );
    kill(t, libc::SIGTERM);
    let out = p.finish();
    assert_eq!(out.code(), 0, "{out}");
    assert_all_reaped_by_tini(&orphans, &out.stderr);
}

#[test]
fn subreaper_reaps_a_burst_of_orphans() {
    // PID 1 of the new namespace is a shell; below it, a shell starts the orphan maker in the
    // background and execs tini-rs, which thereby inherits it as a child. The maker waits
    // until tini-rs is in its wait loop (so it is a subreaper by then), then leaves its burst.
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
        .args(["sh", "-c", r#""$@"; exit $?"#, "sh"])
        .args([
            "sh",
            "-c",
            r#"python3 "$0" "$1" --wait-parent & exec "$2" -s -w --pause"#,
        ])
        .args([helper("orphans.py"), BURST.to_string(), bin().to_string()]);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TINI_") {
            cmd.env_remove(&k);
        }
    }
    let mut p = Proc::spawn(cmd);
    let outer = only_child(p.pid());
    let t = only_child(outer);
    poll_until("tini-rs to be exec'd", || {
        std::fs::read_to_string(format!("/proc/{t}/comm"))
            .ok()
            .filter(|c| c.trim() == "tini-rs")
    });
    let mut orphans = Vec::new();
    loop {
        let l = p.wait_line(|l| l.starts_with("orphan ") || l == "done");
        match l.strip_prefix("orphan ") {
            Some(n) => orphans.push(n.parse().unwrap()),
            None => break,
        }
    }
    wait_nothing_left(t);
    kill(t, libc::SIGTERM);
    let out = p.finish();
    assert_eq!(out.code(), 0, "{out}");
    assert!(!out.stderr.contains("won't work"), "{out}");
    assert_all_reaped_by_tini(&orphans, &out.stderr);
}

/// Exits 0 on `sig`; other signals (HUP, USR1, even a child-only SIGCONT) leave it running.
fn exits_zero_on(mode: Mode, sig: i32, env: &[(&str, &str)]) {
    let mut args = Vec::new();
    if mode == Mode::Plain {
        args.push("-s");
    }
    if env.is_empty() {
        args.push("--pause");
    }
    let mut cmd = tini(mode, &args);
    cmd.envs(env.iter().copied());
    let p = Proc::spawn(cmd);
    let t = tini_pid(&p, mode);
    wait_sigtimedwait(t);
    for other in [libc::SIGHUP, libc::SIGUSR1, libc::SIGQUIT] {
        kill(t, other);
    }
    // The three were taken (nothing pending for tini-rs any more) and it waits again.
    poll_until("tini-rs to consume HUP, USR1 and QUIT", || {
        let pending = proc_status(t, "ShdPnd")?;
        let wchan = std::fs::read_to_string(format!("/proc/{t}/wchan")).ok()?;
        (pending.trim_start_matches('0').is_empty() && wchan.contains("sigtimedwait")).then_some(())
    });
    kill(t, sig);
    let out = p.finish();
    assert_eq!(out.code(), 0, "{mode:?} signal {sig}\n{out}");
    assert!(!out.stderr.contains("won't work"), "{out}");
}

#[test]
fn exits_zero_on_sigterm_as_pid1() {
    exits_zero_on(Mode::Pid1, libc::SIGTERM, &[]);
}

#[test]
fn exits_zero_on_sigint_as_pid1() {
    exits_zero_on(Mode::Pid1, libc::SIGINT, &[]);
}

#[test]
fn exits_zero_on_sigterm_as_subreaper() {
    exits_zero_on(Mode::Plain, libc::SIGTERM, &[]);
}

#[test]
fn exits_zero_on_sigint_as_subreaper() {
    exits_zero_on(Mode::Plain, libc::SIGINT, &[]);
}

#[test]
fn pause_env_var_exits_zero_on_signals() {
    for mode in MODES {
        exits_zero_on(mode, libc::SIGTERM, &[("TINI_PAUSE", "")]);
        exits_zero_on(mode, libc::SIGINT, &[("TINI_PAUSE", "1")]);
    }
}

/// A program and pause mode exclude each other: a usage error, nothing runs.
#[test]
fn pause_with_a_program_is_a_usage_error() {
    let out = run(tini(Mode::Plain, &["--pause", "--", "true"]));
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stderr.contains("Usage"), "{out}");
}

/// Pause mode with a grace period and nothing left: SIGTERM ends it at once (no wait for a
/// deadline, no "processes remain" warning: it never had a child to drain before).
#[test]
fn pause_with_grace_and_nothing_left_exits_at_once() {
    for mode in MODES {
        let mut args = vec!["-t", "20s", "--pause"];
        if mode == Mode::Plain {
            args.insert(0, "-s");
        }
        let p = Proc::spawn(tini(mode, &args));
        let t = tini_pid(&p, mode);
        wait_sigtimedwait(t);
        kill(t, libc::SIGTERM);
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert!(
            !out.stderr.contains("Grace period over") && !out.stderr.contains("remain"),
            "{mode:?}\n{out}"
        );
    }
}

/// Pause mode with a grace period as PID 1: a daemon that joined the namespace after an
/// earlier burst had been reaped (so the last drain had found no child left) still gets
/// SIGTERM and its grace period when the pause ends, and finishes its file.
#[test]
fn pause_with_grace_lets_a_late_daemon_finish_as_pid1() {
    let dir = ScratchDir::new("pause-grace");
    let data = dir.file("data");
    let p = Proc::spawn(tini(Mode::Pid1, &["-t", "10s", "--pause"]));
    let t = tini_pid(&p, Mode::Pid1);
    wait_sigtimedwait(t);
    let t_arg = t.to_string();
    let enter = |args: &[String]| {
        let mut c = Command::new("nsenter");
        c.args(["-t", &t_arg, "-p", "-m", "--", "python3"])
            .args(args);
        let out = run(c);
        assert_eq!(out.code(), 0, "{out}");
    };
    enter(&[helper("orphans.py"), "5".to_string()]);
    wait_nothing_left(t);
    enter(&[helper("daemon.py"), "writer".to_string(), data.clone()]);
    assert_eq!(children(t).len(), 1, "the writer is tini-rs's child now");
    kill(t, libc::SIGTERM);
    let out = p.finish();
    assert_eq!(out.code(), 0, "{out}");
    let mut want = String::from("ready\nterm\n");
    for i in 1..=10 {
        want.push_str(&format!("data {i}\n"));
    }
    want.push_str("END\n");
    assert_eq!(read_text(&data), want, "{out}");
}
