//! A PID 1 nobody has to distrust: log writes that cannot block it, broadcast without
//! `kill(-1)`, pidfds for processes found in /proc, SIGCONT in the grace period, no signal to
//! a process group that may have been reused, tini's parent-death signals and getopt habits,
//! and each `-v` adding output. Each runs the real binary as PID 1 and as a plain process
//! where that applies.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;

use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;

/// A pipe: (read end, write end).
fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap()
}

/// Where the kernel says `pid` sleeps, and its kernel stack (root may read it).
fn sleeping_in(pid: i32) -> String {
    let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    let stack = std::fs::read_to_string(format!("/proc/{pid}/stack")).unwrap_or_default();
    format!("{wchan}\n{stack}")
}

/// Whether a kernel stack shows a write or send that is waiting.
fn asleep_in_a_write(at: &str) -> bool {
    [
        "pipe_write",
        "ksys_write",
        "vfs_write",
        "sendmsg",
        "sendto",
        "sock_alloc_send",
    ]
    .iter()
    .any(|f| at.contains(f))
}

/// What tini-rs's stderr is in [`a_log_write_never_blocks_pid1`].
#[derive(Debug, Clone, Copy)]
enum Shared {
    Pipe,
    Socket,
}

/// The program floods the pipe (or socket) that tini-rs logs to at `-vvv` (a line for every
/// signal), while a reader empties it in bursts and a stream of signals makes tini-rs log.
/// strace, attached to tini-rs, delays each of its writes by 20 ms: whatever tini-rs checked
/// before writing is stale by then, as when the program fills the pipe between a `poll` and
/// a `write` (the race that froze tini-rs before). tini-rs is never found asleep in a write,
/// and SIGTERM still ends the program (143).
#[test]
fn a_log_write_never_blocks_pid1() {
    for mode in MODES {
        for kind in [Shared::Pipe, Shared::Socket] {
            log_flood_round(mode, kind);
        }
    }
}

fn log_flood_round(mode: Mode, kind: Shared) {
    let (rd, wr): (OwnedFd, OwnedFd) = match kind {
        Shared::Pipe => pipe(),
        Shared::Socket => {
            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            (OwnedFd::from(a), OwnedFd::from(b))
        }
    };
    let mut cmd = tini(mode, &["-vvv", "--", "yes", "flooding the shared stderr"]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(wr.try_clone().unwrap()))
        .stderr(Stdio::from(wr));
    let mut child = cmd.spawn().unwrap();
    // The Command holds our copies of the write end: drop them, or the reader never sees
    // the end.
    drop(cmd);
    let mut guard = KillOnDrop(vec![child.id() as i32]);
    let t = match mode {
        Mode::Plain => child.id() as i32,
        Mode::Pid1 => only_child(child.id() as i32),
    };
    poll_until("the program to run", || {
        (children(t).len() == 1).then_some(())
    });
    let mut tracer = Command::new("strace")
        .args(["-qq", "-o", "/dev/null", "-e", "trace=write,sendto"])
        .args([
            "-e",
            "inject=write,sendto:delay_enter=20000",
            "-p",
            &t.to_string(),
        ])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    guard.0.push(tracer.id() as i32);
    poll_until("strace to attach", || {
        proc_status(t, "TracerPid").filter(|p| p != "0")
    });
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut f = std::fs::File::from(rd);
            let mut buf = vec![0u8; 1 << 16];
            // Bursts: empty the pipe for 40 ms, then leave it full for 100 ms (a load
            // pattern, not a synchronisation).
            while !done.load(Ordering::Relaxed) {
                let burst = std::time::Instant::now();
                while burst.elapsed() < Duration::from_millis(40) {
                    if matches!(f.read(&mut buf), Ok(0) | Err(_)) {
                        return;
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = std::io::copy(&mut f, &mut std::io::sink());
        })
    };
    let mut blocked = Vec::new();
    for _ in 0..1500 {
        kill(t, libc::SIGWINCH);
        let at = sleeping_in(t);
        if asleep_in_a_write(&at) {
            blocked.push(at);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    kill(tracer.id() as i32, libc::SIGTERM);
    let _ = tracer.wait();
    poll_until("strace to detach", || {
        proc_status(t, "TracerPid").filter(|p| p == "0")
    });
    kill(t, libc::SIGTERM);
    let status = poll_until("tini-rs to exit after SIGTERM", || {
        child.try_wait().unwrap()
    });
    done.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    guard.disarm();
    assert!(
        blocked.is_empty(),
        "{mode:?} {kind:?}: tini-rs was found asleep in a write {} times:\n{}",
        blocked.len(),
        blocked.first().map_or("", String::as_str)
    );
    assert_eq!(status.code(), Some(143), "{mode:?} {kind:?}");
}

/// A shell entered into the container from outside (as `docker exec` or `nsenter` do: its
/// parent is not in the namespace) is not ours: `-a` delivers to the program and its
/// descendants, never to it.
#[test]
fn broadcast_spares_a_shell_entered_from_outside() {
    let program = "trap 'echo got-hup' HUP; echo ready; while :; do sleep 0.05; done";
    let mut c = tini(Mode::Pid1, &["-a", "--", "sh", "-c", program]);
    c.stdin(Stdio::null());
    let mut p = Proc::spawn(c);
    p.wait_prefix("ready");
    let t = tini_pid(&p, Mode::Pid1);
    let shell = "trap 'echo shell-hup' HUP; trap 'echo shell-usr1' USR1; echo entered; \
                 while :; do sleep 0.05; done";
    let mut e = Command::new("nsenter");
    e.args(["-t", &t.to_string(), "-p", "-m", "--", "sh", "-c", shell])
        .stdin(Stdio::null());
    let mut entered = Proc::spawn(e);
    entered.wait_prefix("entered");
    let shell_pid = only_child(entered.pid());
    assert!(
        !descendants(t).contains(&shell_pid),
        "the shell is no descendant"
    );
    kill(t, libc::SIGHUP);
    p.wait_prefix("got-hup");
    wait_until_tini_is_idle(t);
    // Had the shell been sent SIGHUP, its trap would run before the USR1 trap (dash runs
    // pending traps in signal-number order).
    kill(shell_pid, libc::SIGUSR1);
    let first = entered.wait_line(|l| l.starts_with("shell-"));
    assert_eq!(first, "shell-usr1", "the entered shell got the broadcast");
    kill(t, libc::SIGKILL);
}

/// Runs `init_args -- sh -c program` under strace (plain mode: tini-rs is a subreaper),
/// with `drive` acting on the running process; returns the output and the trace.
fn traced(init_args: &[&str], program: &str, drive: impl FnOnce(&str, i32)) -> (Output, String) {
    let dir = ScratchDir::new("strace");
    let log = dir.file("trace");
    let mut args: Vec<&str> = init_args.to_vec();
    args.extend(["--", "sh", "-c", program]);
    let base = tini(Mode::Plain, &args);
    let mut c = Command::new("strace");
    c.args([
        "-qq",
        "-e",
        "trace=kill,pidfd_open,pidfd_send_signal",
        "-o",
        &log,
    ])
    .arg(base.get_program())
    .args(base.get_args())
    .stdin(Stdio::null());
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let mut p = Proc::spawn(c);
    let ready = p.wait_prefix("ready");
    let t = only_child(p.pid());
    wait_sigtimedwait(t);
    drive(&ready, t);
    let out = p.finish();
    (out, read_text(&log))
}

/// `-a` with the program running: its group by PGID (one atomic step), and every other
/// descendant (here a helper in a session of its own) through a pidfd, never by a bare PID.
#[test]
fn broadcast_signals_through_pidfds() {
    let program = "setsid sh -c 'trap \"exit 0\" USR1; echo ready; while :; do sleep 0.05; done' & \
                   trap '' USR1; wait";
    let (out, trace) = traced(&["-s", "-a"], program, |_, t| kill(t, libc::SIGUSR1));
    assert_eq!(out.code(), 0, "{out}\n{trace}");
    let lines: Vec<&str> = trace.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("kill(-") && l.contains("SIGUSR1")),
        "the program's group:\n{trace}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("pidfd_send_signal(") && l.contains("SIGUSR1")),
        "the helper, by pidfd:\n{trace}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("kill(") && !l.starts_with("kill(-") && l.contains("SIGUSR1")),
        "a bare kill by PID:\n{trace}"
    );
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
        let helper: i32 = ready[6..].parse().unwrap();
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

/// A process that is stopped when the program exits gets SIGCONT right after the grace
/// period's SIGTERM, so it can act on the SIGTERM and exit cleanly instead of sitting out the
/// period and being SIGKILLed.
#[test]
fn grace_period_wakes_a_stopped_process_to_act_on_sigterm() {
    for mode in MODES {
        let program = "sh -c 'trap \"echo termed; exit 0\" TERM; kill -STOP $$; \
                       while :; do sleep 0.05; done' & \
                       while ! grep -q '^State:.*T' /proc/$!/status; do sleep 0.01; done; \
                       echo stopped; exit 0";
        let mut c = tini(mode, &["-s", "-t", "25s", "--", "sh", "-c", program]);
        c.stdin(Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("stopped");
        p.wait_prefix("termed");
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert!(!out.stderr.contains("Grace period over"), "{mode:?}\n{out}");
    }
}

/// How `init -p SIGNAL` ends when its parent dies: a Python parent that makes itself a
/// subreaper starts a middle process, which starts the init and exits once it runs.
fn fate_after_parent_death(init: &str, sig: &str) -> String {
    let script = r#"
import ctypes, os, resource, signal, sys, time
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
init, sig = sys.argv[1], sys.argv[2]
r, w = os.pipe()
middle = os.fork()
if middle == 0:
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1)
        os.execv(init, [init, "-s", "-p", sig, "--", "sh", "-c", "echo up; exec sleep 1000"])
    os.read(r, 3)
    os._exit(0)
os.waitpid(middle, 0)
deadline = time.time() + 30
while time.time() < deadline:
    pid, status = os.waitpid(-1, os.WNOHANG)
    if pid == 0:
        time.sleep(0.01)
        continue
    if os.WIFSIGNALED(status):
        print(f"signal {os.WTERMSIG(status)}", flush=True)
    elif os.WIFEXITED(status):
        print(f"exit {os.WEXITSTATUS(status)}", flush=True)
    break
else:
    print("still running", flush=True)
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) != os.getpid():
        try:
            if open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1] == str(os.getpid()):
                os.kill(int(entry), signal.SIGKILL)
                os.waitpid(int(entry), 0)
        except (OSError, IndexError, ChildProcessError):
            pass
"#;
    let mut c = Command::new("python3");
    c.args(["-c", script, init, sig]).stdin(Stdio::null());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TINI_") {
            c.env_remove(k);
        }
    }
    let out = run(c);
    out.stdout.lines().next().unwrap_or("").to_string()
}

/// `-p` takes every name tini takes, SIGKILL, SIGSTOP and the fault signals included; when
/// the parent dies, tini-rs ends as tini does (a fault signal kills it; a forwardable one is
/// passed on, so the program's status comes back).
#[test]
fn parent_death_signal_ends_tini_rs_as_it_ends_tini() {
    let reference = ["/usr/bin/tini-static", "/usr/bin/tini"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("Debian's tini package (apt-get install tini)");
    for (sig, want) in [
        ("SIGSEGV", "signal 11"),
        ("SIGKILL", "signal 9"),
        ("SIGTERM", "exit 143"),
    ] {
        let ours = fate_after_parent_death(bin(), sig);
        let theirs = fate_after_parent_death(reference, sig);
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

/// getopt habits: a repeated switch is accepted (`-s -s`, `-vswss`, `-g -g`, `-w -w`), `-h`
/// prints the help and exits 0 wherever it stands among the options, `-l` inside a cluster
/// prints the licence.
#[test]
fn tinis_command_line_habits() {
    for args in [
        &["-s", "-s"][..],
        &["-vswss"],
        &["-g", "-g"],
        &["-w", "-w"],
        &["-p", "INT", "-p", "HUP"],
    ] {
        let mut all = args.to_vec();
        all.extend(["--", "sh", "-c", "exit 7"]);
        let out = run(tini(Mode::Plain, &all));
        assert_eq!(out.code(), 7, "{args:?}\n{out}");
    }
    for args in [
        &["-h"][..],
        &["-v", "-h"],
        &["-vh"],
        &["-s", "-h", "--", "true"],
        &["-e", "3", "-h", "true"],
        &["-t", "5s", "-h"],
    ] {
        let out = run(tini(Mode::Plain, args));
        assert_eq!(out.code(), 0, "{args:?}\n{out}");
        assert!(out.stdout.starts_with("Usage: tini-rs"), "{args:?}\n{out}");
    }
    let out = run(tini(Mode::Plain, &["-vslss", "true"]));
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("MIT"), "{out}");
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
            let t = tini_pid(&p, mode);
            wait_sigtimedwait(t);
            kill(t, libc::SIGUSR1);
            let out = p.finish();
            assert_eq!(out.code(), 0, "{mode:?} {vars:?}\n{out}");
            assert!(out.stdout.contains("main-got-usr1"), "{mode:?}\n{out}");
            assert!(!out.stdout.contains("helper-got-usr1"), "{mode:?}\n{out}");
        }
    }
}

/// Each `-v` adds output: -v INFO, -vv DEBUG, -vvv TRACE lines (the subreaper registration,
/// drains that found nothing) that -vv does not show; `TINI_VERBOSITY=4` is -vvv.
#[test]
fn each_v_adds_output() {
    let tags = ["[WARN ", "[INFO ", "[DEBUG ", "[TRACE "];
    for mode in MODES {
        let mut last = 0;
        for (i, v) in ["", "-v", "-vv", "-vvv"].into_iter().enumerate() {
            let mut args = vec!["-s"];
            if !v.is_empty() {
                args.push(v);
            }
            args.extend(["--", "sh", "-c", "exit 0"]);
            let out = run(tini(mode, &args));
            assert_eq!(out.code(), 0, "{mode:?} {v}\n{out}");
            let n = out.stderr.lines().count();
            assert!(n > last || i == 0, "{mode:?} {v} adds nothing\n{out}");
            if i > 0 {
                assert!(out.stderr.contains(tags[i]), "{mode:?} {v}\n{out}");
            }
            if let Some(next) = tags.get(i + 1) {
                assert!(!out.stderr.contains(next), "{mode:?} {v}\n{out}");
            }
            last = n;
        }
        let mut c = tini(mode, &["-s", "--", "sh", "-c", "exit 0"]);
        c.env("TINI_VERBOSITY", "4");
        let out = run(c);
        assert!(out.stderr.contains("[TRACE "), "{mode:?}\n{out}");
    }
}

/// Log lines still arrive whatever stderr is: a file (appended to where the program writes),
/// a FIFO, a socket, a terminal; with /dev/null nothing breaks.
#[test]
fn log_lines_reach_every_kind_of_stderr() {
    let dir = ScratchDir::new("stderr-kinds");
    let want = "Spawned child process 'sh'";
    for mode in MODES {
        // A regular file, shared with the program: both lines are there, none overwritten.
        let path = dir.file("log");
        std::fs::write(&path, "").unwrap();
        let f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let mut c = tini(
            mode,
            &["-v", "--", "sh", "-c", "echo from-program >&2; exit 3"],
        );
        c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(f);
        assert_eq!(c.status().unwrap().code(), Some(3), "{mode:?}");
        let text = read_text(&path);
        assert!(
            text.contains(want) && text.contains("from-program\n"),
            "{text}"
        );
        // /dev/null.
        let mut c = tini(mode, &["-vvv", "--", "sh", "-c", "exit 4"]);
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        assert_eq!(c.status().unwrap().code(), Some(4), "{mode:?}");
        // A socket.
        let (mine, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut c = tini(mode, &["-v", "--", "sh", "-c", "exit 5"]);
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(OwnedFd::from(theirs));
        assert_eq!(c.status().unwrap().code(), Some(5), "{mode:?}");
        drop(c);
        let mut got = String::new();
        let mut mine = mine;
        mine.read_to_string(&mut got).unwrap();
        assert!(got.contains(want), "{mode:?} socket: {got:?}");
        // A FIFO.
        let fifo = dir.file("fifo");
        let _ = std::fs::remove_file(&fifo);
        let mk = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(mk.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        let w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        let mut c = tini(mode, &["-v", "--", "sh", "-c", "exit 6"]);
        c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(w);
        assert_eq!(c.status().unwrap().code(), Some(6), "{mode:?}");
        drop(c);
        let got = reader.join().unwrap();
        assert!(got.contains(want), "{mode:?} FIFO: {got:?}");
    }
    // A terminal: `script` gives tini-rs a pseudo-terminal as its stdio.
    let out = run({
        let mut c = Command::new("script");
        c.args([
            "-qec",
            &format!("{} -v -- sh -c 'exit 7'", bin()),
            "/dev/null",
        ])
        .stdin(Stdio::null());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TINI_") {
                c.env_remove(k);
            }
        }
        c
    });
    assert_eq!(out.code(), 7, "{out}");
    assert!(out.stdout.contains(want), "terminal:\n{out}");
}

/// `setpriv` arguments that run a command as nobody (uid 65534), as a container's non-root
/// `USER`: the stderr pipe the test made belongs to root, so tini-rs may not reopen it.
const AS_NOBODY: [&str; 5] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--",
];

/// A stderr pipe of another user's (a container running as non-root): log lines written
/// after the program started still arrive (moved there with a non-blocking splice), as PID
/// 1 and plain.
#[test]
fn log_lines_reach_a_pipe_of_another_user() {
    for mode in MODES {
        let mut args: Vec<&str> = AS_NOBODY.to_vec();
        args.extend([bin(), "-v", "--", "sh", "-c", "exit 3"]);
        let mut c = match mode {
            Mode::Plain => Command::new(args[0]),
            Mode::Pid1 => {
                let mut c = Command::new("unshare");
                c.args([
                    "--pid",
                    "--fork",
                    "--mount-proc",
                    "--kill-child",
                    "--",
                    args[0],
                ]);
                c
            }
        };
        c.args(&args[1..]).stdin(Stdio::null());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TINI_") {
                c.env_remove(k);
            }
        }
        let out = run(c);
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        assert!(
            out.stderr
                .contains("Main child exited normally (with status '3')"),
            "{mode:?}: the line after the spawn is lost\n{out}"
        );
    }
}

/// A full FIFO of another user's as stderr: tini-rs cannot reopen it and nobody reads it;
/// it still starts the program and passes its status on, at any verbosity.
#[test]
fn a_full_stderr_of_another_user_never_blocks_the_start() {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = ScratchDir::new("full-fifo");
    let fifo = dir.file("fifo");
    assert!(
        Command::new("mkfifo")
            .args(["-m", "600", &fifo])
            .status()
            .unwrap()
            .success()
    );
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let page = [b'x'; 4096];
    while std::io::Write::write(&mut f, &page).is_ok() {}
    let mut args: Vec<&str> = AS_NOBODY.to_vec();
    args.extend([bin(), "-vvv", "-w", "--", "sh", "-c", "exit 4"]);
    let mut c = Command::new(args[0]);
    c.args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(f.try_clone().unwrap()));
    let mut child = c.spawn().unwrap();
    let guard = KillOnDrop(vec![child.id() as i32]);
    let status = poll_until("tini-rs to run the program and exit", || {
        child.try_wait().unwrap()
    });
    guard.disarm();
    assert_eq!(status.code(), Some(4));
}

/// Runs `script` with `sh` as PID 1 of a new PID namespace and returns its output: what is
/// left in the namespace can be counted after tini-rs (a child of that sh) has exited.
fn in_namespace(script: &str) -> Proc {
    let mut c = Command::new("unshare");
    c.args([
        "--pid",
        "--fork",
        "--mount-proc",
        "--kill-child",
        "--",
        "sh",
        "-c",
        script,
    ])
    .arg("sh")
    .arg(bin())
    .stdin(Stdio::null());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TINI_") {
            c.env_remove(k);
        }
    }
    Proc::spawn(c)
}

/// Counts the `sleep` processes left in the namespace, after tini-rs exited.
const COUNT_SLEEPS: &str = "n=0; for s in /proc/[0-9]*/comm; do \
                            [ \"$(cat $s 2>/dev/null)\" = sleep ] && n=$((n+1)); done; \
                            echo \"left $n\"";

/// `-a` while the program is forking: the program's group gets the signal by PGID, in one
/// step, so no process it forks meanwhile escapes (a scan of /proc alone misses them).
#[test]
fn broadcast_misses_nothing_the_program_forks_meanwhile() {
    let script = format!(
        "$1 -a -- sh -c 'echo ready; i=0; while [ $i -lt 300 ]; do sleep 1000 & i=$((i+1)); \
         done; wait'; echo \"tini $?\"; {COUNT_SLEEPS}"
    );
    let mut p = in_namespace(&script);
    p.wait_prefix("ready");
    let t = only_child(only_child(p.pid()));
    kill(t, libc::SIGTERM);
    assert_eq!(p.wait_prefix("tini "), "tini 143");
    assert_eq!(p.wait_prefix("left "), "left 0");
    let out = p.finish();
    assert_eq!(out.code(), 0, "{out}");
}

/// With few descriptors allowed (`ulimit -n 32`), the grace period as a subreaper still
/// reaches every one of 100 processes in sessions of their own: they are signalled one at
/// a time, not all pinned at once.
#[test]
fn grace_period_reaches_more_processes_than_descriptors() {
    let script = format!(
        "ulimit -n 32; $1 -t 20s -- sh -c 'i=0; while [ $i -lt 100 ]; do setsid sleep 1000 & \
         i=$((i+1)); done; echo ready; exit 0' 2>&1; echo \"tini $?\"; {COUNT_SLEEPS}"
    );
    let mut p = in_namespace(&script);
    assert_eq!(p.wait_prefix("tini "), "tini 0");
    assert_eq!(p.wait_prefix("left "), "left 0");
    let out = p.finish();
    assert!(!out.stdout.contains("Grace period over"), "{out}");
}

/// Runs `tini-rs ARGS` under `strace -f -e TRACE` (plain mode) to its end; returns its output
/// and the trace of tini-rs itself (the lines of its PID).
fn strace_run(trace: &[&str], args: &[&str]) -> (Output, String) {
    let dir = ScratchDir::new("strace-run");
    let log = dir.file("trace");
    let base = tini(Mode::Plain, args);
    let mut c = Command::new("strace");
    c.args(["-qq", "-o", &log])
        .args(trace)
        .arg(base.get_program())
        .args(base.get_args())
        .stdin(Stdio::null());
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let out = run(c);
    (out, read_text(&log))
}

/// No timed wake-up after the spawn and no madvise: tini-rs waits for its first signal
/// without a timeout (it used to wake 100 ms after the spawn to drop its code pages).
#[test]
fn no_timed_wake_up_and_no_madvise() {
    let (out, trace) = strace_run(
        &["-e", "trace=rt_sigtimedwait,madvise"],
        &["--", "sh", "-c", "exit 3"],
    );
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

/// `sigtimedwait` failing for ever (strace makes every call fail with
/// EINVAL): tini-rs does not spin; it backs off (10 ms doubling to 1 s), still reaps, and
/// exits with the program's status.
#[test]
fn a_failing_sigtimedwait_cannot_spin() {
    let (out, trace) = strace_run(
        &[
            "-e",
            "trace=rt_sigtimedwait",
            "-e",
            "inject=rt_sigtimedwait:error=EINVAL",
        ],
        &["--", "sh", "-c", "sleep 0.5; exit 6"],
    );
    assert_eq!(out.code(), 6, "{out}\n{trace}");
    let calls = trace
        .lines()
        .filter(|l| l.starts_with("rt_sigtimedwait("))
        .count();
    // Half a second of backing off is 10+20+40+80+160+320 ms: about 7 calls; a spin makes
    // hundreds of thousands.
    assert!((2..50).contains(&calls), "{calls} calls:\n{out}");
    assert!(out.stderr.contains("sigtimedwait failed"), "{out}");
}
