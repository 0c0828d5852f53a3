//! What container users keep asking of an init: a stop delay, waiting for descendants, an
//! automatic subreaper, socket activation, no inherited descriptor held by PID 1, and a
//! drop-in for catatonit. Each runs the real binary as PID 1 and as a plain process where
//! that applies.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;

use std::process::{Command, Stdio};

use common::*;

/// The timeout argument of the `rt_sigtimedwait` that `pid` sleeps in (x86_64: syscall 128,
/// third argument): "0x0" means it waits without a timeout, so it never wakes up by itself.
fn sigtimedwait_timeout(pid: i32) -> String {
    poll_until("tini-rs to sleep in rt_sigtimedwait", || {
        let s = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
        let f: Vec<&str> = s.split_whitespace().collect();
        (f.first() == Some(&"128")).then(|| f.get(3).copied().unwrap_or("").to_string())
    })
}

const TRAPS: &str = "trap 'echo term; exit 0' TERM; trap 'echo winch' WINCH; \
                     trap 'echo usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done";

/// `--stop-delay`: the first SIGTERM is held while the program keeps running and every other
/// signal passes at once; when the delay is over, SIGTERM is passed on. No wake-up is
/// pending unless a delay runs.
#[test]
fn stop_delay_holds_the_first_sigterm() {
    for mode in MODES {
        let mut c = tini(mode, &["--stop-delay", "1500ms", "--", "sh", "-c", TRAPS]);
        c.stdin(Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("ready");
        let t = tini_pid(&p, mode);
        assert_eq!(sigtimedwait_timeout(t), "0x0", "{mode:?}: idle, no timeout");
        kill(t, libc::SIGTERM);
        poll_until("the delay to run", || {
            (sigtimedwait_timeout(t) != "0x0").then_some(())
        });
        kill(t, libc::SIGWINCH);
        // Had SIGTERM gone on, the program would say "term" (and exit) first.
        let first = p.wait_line(|l| l == "winch" || l == "term");
        assert_eq!(first, "winch", "{mode:?}");
        p.wait_prefix("term");
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
    }
}

/// A second SIGTERM ends the stop delay at once; the program's exit during the delay ends
/// it too (tini-rs exits with the program's status).
#[test]
fn stop_delay_ends_on_a_second_sigterm_or_the_programs_exit() {
    for mode in MODES {
        let mut c = tini(mode, &["--stop-delay", "1h", "--", "sh", "-c", TRAPS]);
        c.stdin(Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("ready");
        let t = tini_pid(&p, mode);
        kill(t, libc::SIGTERM);
        kill(t, libc::SIGWINCH);
        p.wait_prefix("winch");
        kill(t, libc::SIGTERM);
        p.wait_prefix("term");
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");

        let mut c = tini(mode, &["--", "sh", "-c", TRAPS]);
        c.stdin(Stdio::null()).env("TINI_STOP_DELAY", "1h");
        let mut p = Proc::spawn(c);
        p.wait_prefix("ready");
        let t = tini_pid(&p, mode);
        kill(t, libc::SIGTERM);
        poll_until("the delay to run", || {
            (sigtimedwait_timeout(t) != "0x0").then_some(())
        });
        kill(t, libc::SIGUSR1);
        let out = p.finish();
        assert_eq!(out.code(), 7, "{mode:?}\n{out}");
        assert!(!out.stdout.contains("term"), "{mode:?}\n{out}");
    }
}

/// The program restarts itself through a forked child and exits (dumb-init #141). With
/// `--wait-descendants`, tini-rs stays, sends nothing, forwards signals to what is left, and
/// exits with the program's code once the last descendant has exited by itself.
#[test]
fn wait_descendants_outlives_a_program_that_re_executes_itself() {
    let program = "sh -c 'trap \"echo child-term\" TERM; trap \"echo child-done; exit 0\" USR1; \
                   echo child-up $$; while :; do sleep 0.05; done' & exit 3";
    for mode in MODES {
        let mut c = tini(mode, &["--wait-descendants", "--", "sh", "-c", program]);
        c.stdin(Stdio::null());
        let mut p = Proc::spawn(c);
        let child = p.wait_prefix("child-up ")[9..].parse::<i32>().unwrap();
        let t = tini_pid(&p, mode);
        let child = if mode == Mode::Pid1 {
            host_pid_of(t, child)
        } else {
            child
        };
        poll_until("the program to be reaped", || {
            (children(t) == [child]).then_some(())
        });
        wait_until_tini_is_idle(t);
        kill(t, libc::SIGUSR1);
        let out = p.finish();
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        assert!(out.stdout.contains("child-done"), "{mode:?}\n{out}");
        assert!(
            !out.stdout.contains("child-term"),
            "{mode:?}: nothing was sent\n{out}"
        );
    }
}

/// `--wait-descendants` with a grace period: what is left runs on by itself until a stop
/// signal comes; then the grace period starts (SIGTERM and SIGCONT, SIGKILL at its end).
#[test]
fn wait_descendants_with_grace_period_stops_on_sigterm() {
    let program = "sh -c 'trap \"echo child-term; exit 0\" TERM; \
                   echo child-up $$; while :; do sleep 0.05; done' & exit 3";
    for mode in MODES {
        let mut c = tini(mode, &["--", "sh", "-c", program]);
        c.stdin(Stdio::null())
            .env("TINI_WAIT_DESCENDANTS", "")
            .env("TINI_GRACE_PERIOD", "20s");
        let mut p = Proc::spawn(c);
        let child = p.wait_prefix("child-up ")[9..].parse::<i32>().unwrap();
        let t = tini_pid(&p, mode);
        let child = if mode == Mode::Pid1 {
            host_pid_of(t, child)
        } else {
            child
        };
        poll_until("the program to be reaped", || {
            (children(t) == [child]).then_some(())
        });
        wait_until_tini_is_idle(t);
        kill(t, libc::SIGTERM);
        let out = p.finish();
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        assert!(out.stdout.contains("child-term"), "{mode:?}\n{out}");
        assert!(!out.stderr.contains("Grace period over"), "{mode:?}\n{out}");
    }
}

/// While waiting for descendants, every signal reaches them whatever the delivery mode
/// (`-c` here), and a SIGTERM is followed by SIGCONT, so a stopped descendant acts on it.
#[test]
fn waiting_for_descendants_forwards_to_them_and_wakes_the_stopped() {
    let program = "setsid sh -c 'trap \"echo child-usr1\" USR1; trap \"echo child-term; exit 0\" TERM; \
                   echo child-up $$; while :; do sleep 0.05; done' & exit 3";
    for mode in MODES {
        let mut c = tini(
            mode,
            &["-c", "--wait-descendants", "--", "sh", "-c", program],
        );
        c.stdin(Stdio::null());
        let mut p = Proc::spawn(c);
        let child = p.wait_prefix("child-up ")[9..].parse::<i32>().unwrap();
        let t = tini_pid(&p, mode);
        let child = if mode == Mode::Pid1 {
            host_pid_of(t, child)
        } else {
            child
        };
        poll_until("the program to be reaped", || {
            (children(t) == [child]).then_some(())
        });
        wait_until_tini_is_idle(t);
        kill(t, libc::SIGUSR1);
        p.wait_prefix("child-usr1");
        kill(child, libc::SIGSTOP);
        poll_until("the child to stop", || {
            proc_status(child, "State")?.starts_with('T').then_some(())
        });
        kill(t, libc::SIGTERM);
        let out = p.finish();
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        assert!(out.stdout.contains("child-term"), "{mode:?}\n{out}");
    }
}

/// Not PID 1 and no `-s`: tini-rs registers as a child subreaper by itself (an info line),
/// so a double-forked orphan is re-parented to it and reaped; no warning.
#[test]
fn not_pid1_registers_as_subreaper_by_itself() {
    let program = "sh -c 'sh -c \"echo orphan \\$\\$; trap \\\"exit 0\\\" USR1; \
                   while :; do sleep 0.05; done\" &' ; echo ready; while :; do sleep 0.05; done";
    let mut c = tini(Mode::Plain, &["-v", "-w", "--", "sh", "-c", program]);
    c.stdin(Stdio::null());
    let mut p = Proc::spawn(c);
    let mut orphan = 0;
    let mut ready = false;
    while orphan == 0 || !ready {
        let l = p.wait_line(|l| l == "ready" || l.starts_with("orphan "));
        match l.strip_prefix("orphan ") {
            Some(pid) => orphan = pid.parse().unwrap(),
            None => ready = true,
        }
    }
    let t = p.pid();
    poll_until("the orphan to be re-parented to tini-rs", || {
        (proc_status(orphan, "PPid")? == t.to_string()).then_some(())
    });
    kill(orphan, libc::SIGUSR1);
    poll_until("the orphan to be reaped", || {
        proc_status(orphan, "State").is_none().then_some(())
    });
    kill(t, libc::SIGTERM);
    let out = p.finish();
    assert_eq!(out.code(), 143, "{out}");
    assert!(
        out.stderr.contains("registered as a child subreaper"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains(&format!("Reaped zombie process with pid={orphan}")),
        "{out}"
    );
    assert!(!out.stderr.contains("zombie reaping won't work"), "{out}");
}

/// systemd's socket activation: `LISTEN_PID` names tini-rs, so the program is told its own
/// PID instead, with `LISTEN_FDS`, `LISTEN_FDNAMES` and descriptor 3 intact, and serves.
#[test]
fn socket_activation_reaches_the_program() {
    let dir = ScratchDir::new("socket-activation");
    let sock = dir.file("sock");
    let server = "import os, socket\n\
                  ok = os.environ.get('LISTEN_PID') == str(os.getpid())\n\
                  s = socket.socket(fileno=3)\n\
                  c, _ = s.accept()\n\
                  c.sendall(('pid-ok %s fds=%s names=%s\\n' % (ok, os.environ.get('LISTEN_FDS'), \
                  os.environ.get('LISTEN_FDNAMES'))).encode())\n\
                  c.close()\n";
    let mut c = Command::new("systemd-socket-activate");
    c.args([
        "-l",
        &sock,
        "--fdname=web",
        "-E",
        "PYTHONDONTWRITEBYTECODE=1",
    ])
    .args([bin(), "--", "python3", "-c", server])
    .stdin(Stdio::null());
    let p = Proc::spawn(c);
    let guard = KillOnDrop(vec![p.pid()]);
    poll_until("the socket to exist", || {
        std::fs::metadata(&sock).is_ok().then_some(())
    });
    let mut conn = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    conn.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut conn, &mut reply).unwrap();
    drop(guard);
    assert_eq!(reply, "pid-ok True fds=1 names=web\n");
}

/// Once the program runs, tini-rs holds none of the descriptors it inherited above 2: a
/// socket passed to it, which the program writes to and then closes, reaches end-of-file at
/// the peer while everything still runs. A Python launcher makes the socket pair, forks the
/// peer (which reports what it read) and execs tini-rs with the other end as descriptor 9.
#[test]
fn inherited_descriptors_are_not_held_by_pid1() {
    let launcher = r#"
import os, socket, sys
a, b = socket.socketpair()
if os.fork() == 0:
    b.close()
    a.settimeout(20)
    got = b""
    try:
        while True:
            chunk = a.recv(100)
            if not chunk:
                os.write(1, b"eof after " + got.strip() + b"\n")
                break
            got += chunk
    except socket.timeout:
        os.write(1, b"no eof after " + got.strip() + b"\n")
    os._exit(0)
a.close()
os.dup2(b.fileno(), 9, inheritable=True)
b.close()
os.execv(sys.argv[1], sys.argv[1:])
"#;
    let program = "echo hello >&9; exec 9>&-; echo closed; while :; do sleep 0.05; done";
    for mode in MODES {
        let mut c = match mode {
            Mode::Plain => Command::new("python3"),
            Mode::Pid1 => {
                let mut c = Command::new("unshare");
                c.args([
                    "--pid",
                    "--fork",
                    "--mount-proc",
                    "--kill-child",
                    "--",
                    "python3",
                ]);
                c
            }
        };
        c.args(["-c", launcher, bin(), "--", "sh", "-c", program])
            .stdin(Stdio::null());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TINI_") {
                c.env_remove(k);
            }
        }
        let mut p = Proc::spawn(c);
        let seen = p.wait_line(|l| l.contains("eof after"));
        let t = tini_pid(&p, mode);
        kill(t, libc::SIGTERM);
        let out = p.finish();
        assert_eq!(seen, "eof after hello", "{mode:?}\n{out}");
        assert_eq!(out.code(), 143, "{mode:?}\n{out}");
    }
}

/// Installed under the name `catatonit`, tini-rs takes catatonit's command line and ends
/// as catatonit does: compared with Debian's catatonit for every case.
#[test]
fn catatonit_drop_in() {
    let dir = ScratchDir::new("catatonit");
    let ours = dir.file("catatonit");
    std::os::unix::fs::symlink(bin(), &ours).unwrap();
    let theirs = "/usr/bin/catatonit";
    assert!(
        std::path::Path::new(theirs).is_file(),
        "Debian's catatonit package (apt-get install catatonit)"
    );
    let cases: &[&[&str]] = &[
        &["-V"],
        &["--version"],
        &["-h"],
        &["-L"],
        &["-x", "true"],
        &[],
        &["-g"],
        &["--", "sh", "-c", "exit 4"],
        &["-g", "--", "sh", "-c", "kill -TERM $$"],
        &["--", "sh", "-c", "kill -KILL $$"],
        &["/nonexistent/program"],
        &["/etc/passwd"],
    ];
    for args in cases {
        let code = |prog: &str| {
            let mut c = Command::new(prog);
            c.args(*args).stdin(Stdio::null());
            run(c)
        };
        let (a, b) = (code(&ours), code(theirs));
        assert_eq!(a.code(), b.code(), "{args:?}\nours: {a}\ncatatonit: {b}");
        // The same streams carry something (the texts differ: ours name tini-rs).
        assert_eq!(
            a.stdout.is_empty(),
            b.stdout.is_empty(),
            "{args:?}\n{a}\n{b}"
        );
        assert_eq!(
            a.stderr.is_empty(),
            b.stderr.is_empty(),
            "{args:?}\n{a}\n{b}"
        );
        if args
            .first()
            .is_some_and(|a| a.contains('V') || a.contains("version"))
        {
            assert!(a.stdout.starts_with("tini version "), "{a}");
        }
    }
    // Signals go to the program only, unless -g: a helper in the program's group hears
    // SIGUSR1 only with -g.
    let program = "sh -c 'trap \"echo helper-usr1\" USR1; echo helper; while :; do sleep 0.05; \
                   done' & trap 'echo main-usr1' USR1; echo ready; \
                   while :; do sleep 0.05; done";
    for (flag, helper_gets_it) in [(None, false), (Some("-g"), true)] {
        let mut c = Command::new("unshare");
        c.args([
            "--pid",
            "--fork",
            "--mount-proc",
            "--kill-child",
            "--",
            &ours,
        ]);
        c.args(flag)
            .args(["sh", "-c", program])
            .stdin(Stdio::null());
        let mut p = Proc::spawn(c);
        let mut up = std::collections::HashSet::new();
        while up.len() < 2 {
            up.insert(p.wait_line(|l| l == "ready" || l == "helper"));
        }
        let t = only_child(p.pid());
        wait_sigtimedwait(t);
        kill(t, libc::SIGUSR1);
        let mut heard = std::collections::HashSet::new();
        while heard.len() < 1 + usize::from(helper_gets_it) {
            heard.insert(p.wait_line(|l| l.ends_with("-usr1")));
        }
        assert!(heard.contains("main-usr1"), "{flag:?}: {heard:?}");
        kill(t, libc::SIGKILL);
        let out = p.finish();
        assert_eq!(
            out.stdout.contains("helper-usr1"),
            helper_gets_it,
            "{flag:?}\n{out}"
        );
    }
    // -P: the pause of a pod's infra container, as PID 1; SIGINT or SIGTERM ends it with 0.
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let mut c = Command::new("unshare");
        c.args([
            "--pid",
            "--fork",
            "--mount-proc",
            "--kill-child",
            "--",
            &ours,
            "-P",
        ])
        .stdin(Stdio::null());
        let p = Proc::spawn(c);
        let t = only_child(p.pid());
        wait_sigtimedwait(t);
        kill(t, sig);
        let out = p.finish();
        assert_eq!(out.code(), 0, "-P, signal {sig}\n{out}");
    }
}
