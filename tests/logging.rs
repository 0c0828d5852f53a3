//! What tini-rs says, and where: the not-PID-1 warning, `-w`, the `-v` levels and
//! TINI_VERBOSITY, the `[LEVEL tini-rs (PID)] message` line format on stderr (never stdout),
//! the parent-death signal (`-p`), and a closed or broken stderr that must never harm it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
use common::*;

use std::process::Command;

const WARNING: &str = "zombie reaping won't work";
const SUBREAPER: &str = "registered as a child subreaper";

/// `prefix... <cmd's program> <cmd's args>`, with `cmd`'s environment changes kept.
fn wrap(prefix: &[&str], cmd: &Command) -> Command {
    let (first, rest) = prefix.split_first().unwrap();
    let mut c = Command::new(first);
    c.args(rest).arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

/// Runs `cmd` and returns its output and its PID (tini-rs's PID when plain).
fn run_with_pid(cmd: Command) -> (Output, i32) {
    let mut cmd = cmd;
    cmd.stdin(std::process::Stdio::null());
    let p = Proc::spawn(cmd);
    let pid = p.pid();
    (p.finish(), pid)
}

/// Checks that every stderr line is `[LEVEL tini-rs (pid)] message`, LEVEL padded to five
/// characters; returns the lines.
fn log_lines(stderr: &str, pid: i32) -> Vec<&str> {
    let lines: Vec<&str> = stderr.lines().collect();
    for l in &lines {
        let level = l.get(1..6).unwrap_or("");
        assert!(
            l.starts_with('[') && ["ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"].contains(&level),
            "bad level in {l:?}\n{stderr}"
        );
        let rest = l.get(6..).unwrap();
        let msg = rest
            .strip_prefix(&format!(" tini-rs ({pid})] "))
            .unwrap_or_else(|| panic!("bad prefix (pid {pid}) in {l:?}"));
        assert!(!msg.trim().is_empty(), "empty message: {l:?}");
    }
    lines
}

/// Not PID 1: tini-rs registers as a child subreaper by itself; at the default verbosity it
/// says nothing (no warning: reaping works), at -v one info line.
#[test]
fn not_pid1_becomes_a_subreaper_quietly() {
    let out = run(tini(Mode::Plain, &["--", "sh", "-c", "exit 3"]));
    assert_eq!(out.code(), 3, "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(out.stderr, "", "{out}");
    let (out, pid) = run_with_pid(tini(Mode::Plain, &["-v", "--", "sh", "-c", "exit 3"]));
    let lines = log_lines(&out.stderr, pid);
    let line = lines.first().unwrap();
    assert!(
        line.starts_with(&format!("[INFO  tini-rs ({pid})] ")) && line.contains(SUBREAPER),
        "{out}"
    );
    assert!(!out.stderr.contains(WARNING), "{out}");
}

#[test]
fn no_warning_as_subreaper_or_pid1() {
    type Case<'a> = (Mode, &'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (Mode::Plain, &["-s"], &[]),
        (Mode::Plain, &[], &[("TINI_SUBREAPER", "")]),
        (Mode::Plain, &[], &[("TINI_SUBREAPER", "0")]),
        (Mode::Pid1, &[], &[]),
        (Mode::Pid1, &["-s"], &[]),
    ];
    for (mode, args, env) in cases {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--", "sh", "-c", "exit 0"]);
        let mut cmd = tini(*mode, &all);
        for (k, v) in *env {
            cmd.env(k, v);
        }
        let out = run(cmd);
        assert_eq!(out.code(), 0, "{mode:?} {args:?} {env:?}\n{out}");
        assert_eq!(out.stderr, "", "{mode:?} {args:?} {env:?}\n{out}");
    }
}

/// Makes one orphan (double fork; the middle process exits and is waited for), checks it
/// was re-parented to tini-rs, lets it exit, waits until it has been reaped, and prints
/// `orphan PID`.
const ORPHAN: &str = r#"
import os, sys, time
reaper = os.getppid()
r, w = os.pipe()
pr, pw = os.pipe()
middle = os.fork()
if middle == 0:
    g = os.fork()
    if g == 0:
        os.close(w)
        os.read(r, 1)  # until the program closes w
        os._exit(0)
    os.write(pw, b"%d" % g)
    os._exit(0)
os.close(pw)
g = int(os.read(pr, 20))
os.waitpid(middle, 0)
with open("/proc/%d/stat" % g) as f:
    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
assert ppid == reaper, (ppid, reaper)
os.close(w)
end = time.monotonic() + 20
while os.path.exists("/proc/%d" % g) and time.monotonic() < end:
    time.sleep(0.01)
print("orphan %d" % g)
"#;

fn reap_one_orphan(mode: Mode, args: &[&str], env: &[(&str, &str)]) -> (Output, String) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--", "python3", "-c", ORPHAN]);
    let mut cmd = tini(mode, &all);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(cmd);
    assert_eq!(out.code(), 0, "{out}");
    let pid = out.stdout.strip_prefix("orphan ").unwrap().to_string();
    (out, pid)
}

#[test]
fn w_reports_each_reaped_orphan() {
    for (mode, args, env) in [
        (Mode::Pid1, &["-w"][..], &[][..]),
        (Mode::Plain, &["-s", "-w"][..], &[][..]),
        (Mode::Pid1, &[][..], &[("TINI_WARN_ON_REAP", "")][..]),
    ] {
        let (out, orphan) = reap_one_orphan(mode, args, env);
        let pid = match mode {
            Mode::Pid1 => 1,
            Mode::Plain => out_pid(&out.stderr),
        };
        let lines = log_lines(&out.stderr, pid);
        let want = format!("[WARN  tini-rs ({pid})] Reaped zombie process with pid={orphan}");
        assert_eq!(lines, vec![want.as_str()], "{mode:?} {args:?}\n{out}");
    }
}

/// The PID in the first log line (for plain runs whose PID the test did not record).
fn out_pid(stderr: &str) -> i32 {
    let l = stderr.lines().next().unwrap();
    let start = l.find(" tini-rs (").unwrap() + " tini-rs (".len();
    let end = l[start..].find(')').unwrap() + start;
    l[start..end].parse().unwrap()
}

#[test]
fn no_reap_report_without_w() {
    for (mode, args) in [(Mode::Pid1, &[][..]), (Mode::Plain, &["-s"][..])] {
        let (out, _) = reap_one_orphan(mode, args, &[]);
        assert_eq!(out.stderr, "", "{mode:?} {args:?}\n{out}");
    }
}

/// Runs `sh -c 'echo out; exit 3'` with `args` as PID 1; returns stderr (checked for
/// format) after checking the status and that nothing but the program's output is on stdout.
fn pid1_stderr(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--", "sh", "-c", "echo out; exit 3"]);
    let mut cmd = tini(Mode::Pid1, &all);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(cmd);
    assert_eq!(out.code(), 3, "{args:?} {env:?}\n{out}");
    assert_eq!(out.stdout, "out", "{args:?} {env:?}\n{out}");
    log_lines(&out.stderr, 1);
    out.stderr
}

const SPAWNED: &str = "] Spawned child process";
const EXITED: &str = "] Main child exited normally (with status '3')";
const SIGCHLD: &str = "] Received SIGCHLD";

#[test]
fn verbosity_levels() {
    // Default: warnings only, and as PID 1 there is nothing to warn about.
    assert_eq!(pid1_stderr(&[], &[]), "");
    // -v: info.
    for e in [
        pid1_stderr(&["-v"], &[]),
        pid1_stderr(&[], &[("TINI_VERBOSITY", "2")]),
    ] {
        assert!(
            e.contains(&format!("[INFO  tini-rs (1){SPAWNED} 'sh'")),
            "{e}"
        );
        assert!(e.contains(&format!("[INFO  tini-rs (1){EXITED}")), "{e}");
        assert!(!e.contains("[DEBUG") && !e.contains(SIGCHLD), "{e}");
    }
    // -vv: debug.
    for e in [
        pid1_stderr(&["-vv"], &[]),
        pid1_stderr(&["-v", "-v"], &[]),
        pid1_stderr(&[], &[("TINI_VERBOSITY", "3")]),
    ] {
        assert!(e.contains(SPAWNED) && e.contains(EXITED), "{e}");
        assert!(e.contains(&format!("[DEBUG tini-rs (1){SIGCHLD}")), "{e}");
        assert!(!e.contains("[TRACE"), "{e}");
    }
    // -vvv and beyond: everything above still shows.
    for e in [pid1_stderr(&["-vvv"], &[]), pid1_stderr(&["-vvvv"], &[])] {
        assert!(e.contains(SPAWNED) && e.contains(EXITED), "{e}");
        assert!(e.contains(SIGCHLD), "{e}");
    }
}

#[test]
fn signal_exit_is_logged_at_info() {
    let out = run(tini(
        Mode::Pid1,
        &["-v", "--", "sh", "-c", "kill -TERM $$; sleep 5"],
    ));
    assert_eq!(out.code(), 143, "{out}");
    let lines = log_lines(&out.stderr, 1);
    assert!(
        lines.iter().any(
            |l| l.starts_with("[INFO  tini-rs (1)] Main child exited with signal")
                && l.contains("SIGTERM")
        ),
        "{out}"
    );
}

#[test]
fn tini_verbosity_sets_the_level_unless_v_is_given() {
    let mut cmd = tini(Mode::Plain, &["--", "sh", "-c", "exit 0"]);
    cmd.env("TINI_VERBOSITY", "0");
    let out = run(cmd);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.stderr, "", "{out}");
    // The command line wins: -vvv beats TINI_VERBOSITY=0.
    let mut cmd = tini(Mode::Plain, &["-vvv", "--", "sh", "-c", "exit 0"]);
    cmd.env("TINI_VERBOSITY", "0");
    let out = run(cmd);
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stderr.contains("[DEBUG "), "{out}");
    // Errors still show at 0.
    let mut cmd = tini(Mode::Plain, &["--", "/nonexistent/tini-rs-test"]);
    cmd.env("TINI_VERBOSITY", "0");
    let (out, pid) = run_with_pid(cmd);
    assert_eq!(out.code(), 127, "{out}");
    let lines = log_lines(&out.stderr, pid);
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines.first().unwrap().starts_with("[ERROR"), "{out}");
}

#[test]
fn log_lines_go_to_stderr_only_with_the_right_pid() {
    for mode in MODES {
        let (out, pid) = run_with_pid(tini(
            mode,
            &["-vvvv", "-w", "--", "sh", "-c", "echo out; exit 3"],
        ));
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        assert_eq!(out.stdout, "out", "{mode:?}\n{out}");
        let pid = if mode == Mode::Pid1 { 1 } else { pid };
        let lines = log_lines(&out.stderr, pid);
        assert!(lines.len() >= 3, "{mode:?}\n{out}");
        if mode == Mode::Plain {
            let first = lines.first().unwrap();
            assert!(
                first.starts_with(&format!("[INFO  tini-rs ({pid})] ")),
                "{out}"
            );
            assert!(first.contains(SUBREAPER), "{out}");
        }
    }
}

/// Whether `pid` has exited (gone, or a zombie nobody reaped yet).
fn gone(pid: i32) -> bool {
    proc_status(pid, "State").is_none_or(|s| s.starts_with('Z'))
}

fn sigrecv_args() -> Vec<String> {
    ["--", "python3", &helper("sigrecv.py"), "--exit-on", "10"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn parent_death_signal_reaches_the_program_plain() {
    let mut args = vec!["-p".to_string(), "SIGUSR1".to_string()];
    args.extend(sigrecv_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // A shell is tini-rs's parent; the test kills it.
    let cmd = wrap(
        &["sh", "-c", "\"$@\" & echo tini $!; wait", "sh"],
        &tini(Mode::Plain, &args),
    );
    let mut p = Proc::spawn(cmd);
    let tini_pid: i32 = p.wait_prefix("tini ")[5..].parse().unwrap();
    let ready = p.wait_prefix("ready ");
    let program: i32 = ready.split(' ').nth(1).unwrap().parse().unwrap();
    let guard = KillOnDrop(vec![tini_pid, program]);
    p.signal(libc::SIGKILL);
    p.wait_line(|l| l == "sig 10");
    poll_until("tini-rs and the program to exit", || {
        (gone(tini_pid) && gone(program)).then_some(())
    });
    guard.disarm();
}

#[test]
fn parent_death_signal_reaches_the_program_as_pid1() {
    let mut args = vec!["-p".to_string(), "SIGUSR1".to_string()];
    args.extend(sigrecv_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // unshare is tini-rs's parent. Its own --kill-child (a SIGKILL parent-death signal) is
    // replaced by ours, so the program survives to report SIGUSR1.
    let mut p = Proc::spawn(tini(Mode::Pid1, &args));
    p.wait_prefix("ready ");
    let tini_pid = poll_until("tini-rs under unshare", || {
        children(p.pid()).first().copied()
    });
    let guard = KillOnDrop(vec![tini_pid]);
    p.signal(libc::SIGKILL);
    p.wait_line(|l| l == "sig 10");
    poll_until("tini-rs to exit", || gone(tini_pid).then_some(()));
    guard.disarm();
}

/// Ways to spoil tini-rs's stderr before it starts.
#[derive(Debug, Clone, Copy)]
enum BadStderr {
    /// `2>&-`.
    Closed,
    /// A pipe whose read end is already closed (writes would fail with EPIPE).
    NoReader,
    /// A socket whose peer is closed: poll still says writable, so writes are tried, fail
    /// with EPIPE and raise SIGPIPE on tini-rs itself.
    PeerGone,
}

/// `python3 -c NO_READER pipe|socket PROGRAM ARGS...`: execs PROGRAM with stderr on a pipe
/// or socket whose other end is closed, SIGPIPE at its default action.
const NO_READER: &str = r#"
import os, signal, socket, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
if sys.argv[1] == "pipe":
    r, w = os.pipe()
    os.close(r)
else:
    a, b = socket.socketpair()
    b.close()
    w = a.detach()
os.dup2(w, 2)
os.close(w)
os.execvp(sys.argv[2], sys.argv[2:])
"#;

fn with_bad_stderr(bad: BadStderr, cmd: &Command) -> Command {
    match bad {
        BadStderr::Closed => wrap(&["sh", "-c", "exec \"$@\" 2>&-", "sh"], cmd),
        BadStderr::NoReader => wrap(&["python3", "-c", NO_READER, "pipe"], cmd),
        BadStderr::PeerGone => wrap(&["python3", "-c", NO_READER, "socket"], cmd),
    }
}

#[test]
fn bad_stderr_does_not_change_the_exit_status() {
    for bad in [BadStderr::Closed, BadStderr::NoReader, BadStderr::PeerGone] {
        for mode in MODES {
            for (script, code) in [("echo out; exit 7", 7), ("kill -TERM $$; sleep 5", 143)] {
                let cmd = tini(mode, &["-vvvv", "-w", "--", "sh", "-c", script]);
                let out = run(with_bad_stderr(bad, &cmd));
                assert_eq!(out.code(), code, "{bad:?} {mode:?} {script:?}\n{out}");
                assert_eq!(out.stderr, "", "{bad:?} {mode:?}\n{out}");
            }
            let cmd = tini(mode, &["-vvvv", "--", "/nonexistent/tini-rs-test"]);
            let out = run(with_bad_stderr(bad, &cmd));
            assert_eq!(out.code(), 127, "{bad:?} {mode:?}\n{out}");
        }
    }
}

#[test]
fn bad_stderr_does_not_stop_signal_forwarding() {
    // Every signal makes tini-rs log (and, with no reader, raise SIGPIPE on itself). The
    // program must get exactly the signals sent: never a SIGPIPE (13) of tini-rs's own.
    // SIGTERM (15) comes last and is numbered above SIGPIPE, so a pending SIGPIPE would be
    // taken first and show up before it.
    for bad in [BadStderr::Closed, BadStderr::NoReader, BadStderr::PeerGone] {
        for mode in MODES {
            let sigrecv = helper("sigrecv.py");
            let cmd = tini(
                mode,
                &["-vvvv", "-w", "--", "python3", &sigrecv, "--exit-on", "15"],
            );
            let mut p = Proc::spawn(with_bad_stderr(bad, &cmd));
            let ready = p.wait_prefix("ready ");
            let (tini_pid, guard) = match mode {
                Mode::Plain => {
                    // If the test fails, the program (it waits for signals until SIGTERM)
                    // must not outlive it.
                    let program: i32 = ready.split(' ').nth(1).unwrap().parse().unwrap();
                    (p.pid(), KillOnDrop(vec![program]))
                }
                Mode::Pid1 => {
                    let pid = poll_until("tini-rs under unshare", || {
                        children(p.pid()).first().copied()
                    });
                    (pid, KillOnDrop(vec![]))
                }
            };
            for (sig, line) in [
                (libc::SIGUSR1, "sig 10"),
                (libc::SIGHUP, "sig 1"),
                (libc::SIGUSR2, "sig 12"),
                (libc::SIGTERM, "sig 15"),
            ] {
                kill(tini_pid, sig);
                let got = p.wait_line(|l| l.starts_with("sig "));
                assert_eq!(got, line, "{bad:?} {mode:?}");
            }
            let out = p.finish();
            assert_eq!(out.code(), 0, "{bad:?} {mode:?}\n{out}");
            assert!(!out.stdout.contains("sig 13"), "{bad:?} {mode:?}\n{out}");
            guard.disarm();
        }
    }
}
