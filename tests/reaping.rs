//! Reaping: a burst of 1000+ re-parented orphans that exit at once leaves no zombie (checked
//! in /proc for state Z while tini-rs still runs), as PID 1 and as a subreaper without PID 1;
//! tini-rs exits with the main child's status after the drain in which it was reaped, and
//! exits when the main child exits even though other processes remain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use std::io::Write;
use std::process::Stdio;

/// The program under tini-rs. It makes N orphans (a shell starts N background `read`s from a
/// pipe and exits, so they are re-parented to tini-rs), each blocked reading a pipe whose
/// only writer is this program. It then closes the writer, so every
/// orphan exits at once, and watches /proc for the children of its parent (tini-rs).
///
/// Usage: orphans N MODE, MODE being
///   `drain`: after the release, wait until no child of tini-rs but this program is left,
///            then print `done left=K zombies=Z`, exit 0 (or print the counts at the
///            deadline, so a broken reaper fails the test with numbers);
///   `freeze`: read one line from stdin first (the test stops tini-rs meanwhile), then
///            release, wait until all N are zombies, print `all zombies`, exit 5.
const ORPHANS: &str = r#"
import os, subprocess, sys, time
n, mode = int(sys.argv[1]), sys.argv[2]
me, reaper = os.getpid(), os.getppid()
print("ready %d %d" % (me, reaper), flush=True)

def scan():
    kids = zombies = 0
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        if int(fields[1]) == reaper:
            kids += 1
            zombies += fields[0] == "Z"
    return kids, zombies

def wait_for(pred, secs=20):
    end = time.monotonic() + secs
    while True:
        k, z = scan()
        if pred(k, z) or time.monotonic() > end:
            return k, z
        time.sleep(0.01)

r, w = os.pipe()  # both close-on-exec; only r is handed on
# One shell starts all N readers in the background and exits: they are orphaned at once.
script = "i=0; while [ $i -lt %d ]; do read x <&%d & i=$((i+1)); done" % (n, r)
subprocess.run(["/bin/sh", "-c", script], pass_fds=(r,), stdin=subprocess.DEVNULL,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
k, z = wait_for(lambda k, z: k >= n)
print("orphans %d" % k, flush=True)
if mode == "freeze":
    sys.stdin.readline()
os.close(w)
if mode == "freeze":
    k, z = wait_for(lambda k, z: z >= n)
    print("all zombies %d %d" % (k, z), flush=True)
    sys.exit(5)
k, z = wait_for(lambda k, z: k == 0)
print("done left=%d zombies=%d" % (k, z), flush=True)
"#;

/// Runs the orphan burst of `n` under tini-rs (`args` before the program) and checks that
/// every orphan was re-parented to tini-rs and reaped while tini-rs still ran.
fn burst(mode: Mode, args: &[&str], env: &[(&str, &str)], n: usize) {
    let n_text = n.to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--", "python3", "-c", ORPHANS, &n_text, "drain"]);
    let mut cmd = tini(mode, &all);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null());
    let mut p = Proc::spawn(cmd);
    let ready = p.wait_prefix("ready ");
    let mut guard = KillOnDrop(Vec::new());
    if mode == Mode::Plain {
        // The program's PID is real here; if it dies, the orphans' pipe closes and they exit.
        let pid: i32 = ready.split(' ').nth(1).unwrap().parse().unwrap();
        guard.0.push(pid);
    }
    let orphans = p.wait_prefix("orphans ");
    assert_eq!(
        orphans,
        format!("orphans {n}"),
        "not re-parented to tini-rs"
    );
    let done = p.wait_prefix("done ");
    assert_eq!(done, "done left=0 zombies=0", "{mode:?} {args:?} {env:?}");
    let out = p.finish();
    assert_eq!(out.code(), 0, "{out}");
    guard.disarm();
}

#[test]
fn a_burst_of_1200_orphans_is_reaped_as_pid1() {
    burst(Mode::Pid1, &[], &[], 1200);
}

#[test]
fn orphans_are_reaped_by_a_subreaper_without_pid1() {
    burst(Mode::Plain, &["-s"], &[], 200);
    burst(Mode::Plain, &[], &[("TINI_SUBREAPER", "")], 200);
}

#[test]
fn a_burst_is_reaped_with_subreaper_inside_a_namespace_too() {
    // -s as PID 1 changes nothing (and -w only logs): a smaller burst with both given.
    burst(Mode::Pid1, &["-s", "-w"], &[], 400);
}

/// Stops tini-rs while the main child and all orphans become zombies at once, then lets it
/// run: the single drain that follows must reap every one of them (each reported by -w)
/// before tini-rs exits with the main child's status.
fn exit_after_the_whole_drain(mode: Mode, args: &[&str], n: usize) {
    let n_text = n.to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-w", "--", "python3", "-c", ORPHANS, &n_text, "freeze"]);
    let mut cmd = tini(mode, &all);
    cmd.stdin(Stdio::piped());
    let mut p = Proc::spawn(cmd);
    let mut stdin = p.child.stdin.take().unwrap();
    let ready = p.wait_prefix("ready ");
    // tini-rs's real PID: the child itself, or unshare's only child.
    let tini_pid = match mode {
        Mode::Plain => p.pid(),
        Mode::Pid1 => poll_until("tini-rs under unshare", || {
            children(p.pid()).first().copied()
        }),
    };
    // The program's real PID (inside the namespace it is 2).
    let program: i32 = match mode {
        Mode::Plain => ready.split(' ').nth(1).unwrap().parse().unwrap(),
        Mode::Pid1 => poll_until("the program under tini-rs", || {
            children(tini_pid).into_iter().find(|&c| {
                proc_status(c, "NSpid").is_some_and(|s| s.split_whitespace().last() == Some("2"))
            })
        }),
    };
    let guard = KillOnDrop(vec![tini_pid, program]);
    assert_eq!(p.wait_prefix("orphans "), format!("orphans {n}"));

    kill(tini_pid, libc::SIGSTOP);
    poll_until("tini-rs stopped", || {
        proc_status(tini_pid, "State")
            .filter(|s| s.starts_with('T'))
            .map(|_| ())
    });
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);
    let line = p.wait_prefix("all zombies ");
    assert_eq!(line, format!("all zombies {n} {n}"));
    // The program itself has exited (a zombie too) before tini-rs runs again.
    poll_until("the program to be a zombie", || {
        proc_status(program, "State")
            .filter(|s| s.starts_with('Z'))
            .map(|_| ())
    });
    kill(tini_pid, libc::SIGCONT);

    let out = p.finish();
    assert_eq!(out.code(), 5, "{out}");
    let reaped = out
        .stderr
        .lines()
        .filter(|l| l.contains("Reaped zombie process with pid="))
        .count();
    assert_eq!(reaped, n, "{mode:?}: not every orphan was reaped\n{out}");
    guard.disarm();
}

#[test]
fn exits_with_the_main_status_after_the_drain_that_reaped_it() {
    exit_after_the_whole_drain(Mode::Plain, &["-s"], 100);
    exit_after_the_whole_drain(Mode::Pid1, &[], 300);
}

#[test]
fn exits_when_the_main_child_exits_though_others_remain() {
    // tini's default: no waiting for the rest (a grace period is opt-in).
    for mode in MODES {
        for args in [&[][..], &["-s"][..]] {
            let mut all: Vec<&str> = args.to_vec();
            all.extend([
                "--",
                "sh",
                "-c",
                "sleep 1000 >/dev/null 2>&1 & echo bg $!; exit 6",
            ]);
            let mut p = Proc::spawn(tini(mode, &all));
            let bg: i32 = p
                .wait_prefix("bg ")
                .strip_prefix("bg ")
                .unwrap()
                .parse()
                .unwrap();
            // Inside the namespace the PID is not ours to kill; the namespace dies with
            // tini-rs. As a plain process the sleep outlives tini-rs: kill it afterwards.
            let _guard = KillOnDrop(if mode == Mode::Plain {
                vec![bg]
            } else {
                vec![]
            });
            let out = p.finish();
            assert_eq!(out.code(), 6, "{mode:?} {args:?}\n{out}");
            if mode == Mode::Plain {
                assert!(
                    proc_status(bg, "State").is_some_and(|s| !s.starts_with('Z')),
                    "the background sleep should still run"
                );
            }
        }
    }
}
