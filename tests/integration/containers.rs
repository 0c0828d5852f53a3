//! The shutdown features configured by environment variables only, with the binary invoked
//! exactly as Docker's `--init` does: `tini-rs -- CMD...` (Docker passes no other option).
//! As PID 1 of a namespace (a container), and as a plain process with `TINI_SUBREAPER` set
//! (an ENTRYPOINT that is not PID 1). The scenes are those of `shutdown`, stopped the way
//! `docker stop` does: SIGTERM to tini-rs. And tini-rs as podman's init, under the name
//! `catatonit`.

use std::process::Command;

use crate::harness::*;
use crate::shutdown::broadcast::{check_daemon_gets_sigterm, logger_then_sigrecv};
use crate::shutdown::grace::check_term_ignorers;
use crate::shutdown::pause::check_pause;
use crate::shutdown::{Scene, Then, complete_data, daemon_program};

/// `tini-rs -- cmd...` in `mode` with `env` (plus `TINI_SUBREAPER=` when not PID 1).
fn docker<S: AsRef<str>>(mode: Mode, env: &[(&str, &str)], cmd: &[S]) -> Command {
    let mut args = vec!["--"];
    args.extend(cmd.iter().map(AsRef::as_ref));
    let mut c = tini(mode, &args);
    c.envs(env.iter().copied());
    if mode == Mode::Plain {
        c.env("TINI_SUBREAPER", "");
    }
    c
}

/// `docker stop`: SIGTERM to tini-rs reaches the program, which exits; with
/// `TINI_GRACE_PERIOD` the writer it left behind gets SIGTERM and finishes its file. Without
/// it, the writer is killed with the namespace (PID 1) or left running (plain), never told.
#[test]
fn grace_period_env_docker_stop() {
    for mode in MODES {
        for grace in [true, false] {
            let dir = ScratchDir::new("docker-writer");
            let data = dir.file("data");
            let env: &[(&str, &str)] = if grace {
                &[("TINI_GRACE_PERIOD", "10s")]
            } else {
                &[]
            };
            let program = daemon_program("writer", &data, Then::Sigrecv(libc::SIGTERM));
            let s = Scene::start(mode, docker(mode, env, &program));
            kill(s.tini, libc::SIGTERM);
            let out = s.p.finish();
            assert_eq!(out.code(), 0, "{mode:?} grace={grace}\n{out}");
            let text = read_text(&data);
            if grace {
                assert_eq!(text, complete_data(), "{mode:?}\n{out}");
            } else {
                assert_eq!(text, "ready\n", "{mode:?}\n{out}");
            }
            if !grace && mode == Mode::Plain {
                let state = proc_status(s.daemon, "State").unwrap_or_default();
                assert!(state.starts_with('S'), "state {state:?}\n{out}");
            }
        }
    }
}

/// A TERM-ignoring daemon is killed (SIGKILL) at the end of `TINI_GRACE_PERIOD`; the status is the
/// program's, remapped by `TINI_REMAP_EXIT`.
#[test]
fn grace_period_env_kills_a_term_ignorer() {
    check_term_ignorers(|mode, remap, program| {
        let mut env = vec![("TINI_GRACE_PERIOD", "2s"), ("TINI_WARN_ON_REAP", "")];
        if remap {
            env.push(("TINI_REMAP_EXIT", "3"));
        }
        docker(mode, &env, program)
    });
}

/// `TINI_BROADCAST`: the daemon gets the SIGTERM of `docker stop` too.
#[test]
fn broadcast_env_reaches_a_daemon() {
    for mode in MODES {
        let dir = ScratchDir::new("docker-broadcast");
        let log = dir.file("log");
        let env = [("TINI_BROADCAST", "")];
        let cmd = docker(mode, &env, &logger_then_sigrecv(&log));
        check_daemon_gets_sigterm(mode, cmd, &log);
    }
}

/// `TINI_REWRITE`, its list form with a space after a comma: TERM becomes QUIT, USR1
/// vanishes, a real-time signal is rewritten.
#[test]
fn rewrite_env() {
    let (rt1, rt2) = (libc::SIGRTMIN() + 1, libc::SIGRTMIN() + 2);
    let env = [("TINI_REWRITE", "TERM:QUIT, USR1:drop,RTMIN+1:RTMIN+2")];
    for mode in MODES {
        let program = helper(&["sigrecv", "--exit-on", &rt2.to_string()]);
        let mut p = Proc::spawn(docker(mode, &env, &program));
        p.wait_prefix("ready ");
        let t = p.tini(mode);
        kill(t, libc::SIGUSR1);
        kill(t, libc::SIGTERM);
        assert_eq!(p.wait_prefix("sig "), "sig 3", "{mode:?}");
        kill(t, rt1);
        assert_eq!(p.wait_prefix("sig "), format!("sig {rt2}"), "{mode:?}");
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
    }
}

/// Docker's `--init` always passes a CMD, and an image's `TINI_PAUSE` cannot be unset by
/// `docker run`: the command line wins, so the CMD runs and its status comes back.
#[test]
fn pause_env_with_a_cmd_runs_the_cmd() {
    let dir = ScratchDir::new("docker-pause-cmd");
    let marker = dir.file("ran");
    for mode in MODES {
        let _ = std::fs::remove_file(&marker);
        let script = format!("touch {marker}; exit 6");
        let out = run(docker(mode, &[("TINI_PAUSE", "")], &["sh", "-c", &script]));
        assert_eq!(out.code(), 6, "{mode:?}\n{out}");
        assert!(std::fs::metadata(&marker).is_ok(), "{mode:?}: the CMD ran");
    }
}

/// `TINI_PAUSE` (set, empty or not) with `tini-rs --` and no CMD (an image whose ENTRYPOINT
/// is `["/tini-rs", "--"]` and that has no CMD): pause mode; it reaps orphans placed in its
/// namespace, takes HUP, USR1 and QUIT without stopping, and exits 0 on SIGTERM or SIGINT.
#[test]
fn pause_env_with_no_cmd() {
    for mode in MODES {
        for (value, sig) in [("", libc::SIGTERM), ("1", libc::SIGINT)] {
            let env = [("TINI_PAUSE", value), ("TINI_WARN_ON_REAP", "")];
            check_pause(mode, Proc::spawn(docker::<&str>(mode, &env, &[])), sig, 50);
        }
    }
}

/// Installed under the name `catatonit` (podman's init), tini-rs takes catatonit's command
/// line and ends as catatonit does: compared with Debian's catatonit for every case; signals
/// go to the program only unless `-g`; `-P` pauses as a pod's infra container does.
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
        let as_init = |prog: &str| run(in_mode(Mode::Plain, &[&[prog], *args].concat()));
        let (a, b) = (as_init(&ours), as_init(theirs));
        assert_eq!(a.code(), b.code(), "{args:?}\nours: {a}\ncatatonit: {b}");
        // The same streams carry something (the texts differ: ours name tini-rs).
        assert_eq!(
            (a.stdout.is_empty(), a.stderr.is_empty()),
            (b.stdout.is_empty(), b.stderr.is_empty()),
            "{args:?}\nours: {a}\ncatatonit: {b}"
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
    for (flag, helper_gets_it) in [(&[][..], false), (&["-g"][..], true)] {
        let argv = [&[ours.as_str()], flag, &["sh", "-c", program]].concat();
        let mut p = Proc::spawn(in_mode(Mode::Pid1, &argv));
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
        let p = Proc::spawn(in_mode(Mode::Pid1, &[ours.as_str(), "-P"]));
        let t = only_child(p.pid());
        wait_sigtimedwait(t);
        kill(t, sig);
        let out = p.finish();
        assert_eq!(out.code(), 0, "-P, signal {sig}\n{out}");
    }
}

/// Under the name `catatonit`, tini-rs forwards exactly the signals Debian's catatonit
/// forwards (every signal it can block but SIGCHLD, SIGTSTP, SIGTTIN and SIGTTOU), as PID 1
/// and as a plain process. Each signal is sent to the init and then SIGRTMAX as a marker:
/// the program (it blocks and reports every signal) reports the signal before the marker
/// if and only if it was forwarded.
#[test]
fn catatonit_forwards_what_catatonit_forwards() {
    let dir = ScratchDir::new("catatonit-signals");
    let ours = dir.file("catatonit");
    std::os::unix::fs::symlink(bin(), &ours).unwrap();
    let marker = libc::SIGRTMAX();
    let candidates: Vec<i32> = (1..marker)
        .filter(|s| {
            ![libc::SIGKILL, libc::SIGSTOP, 32, 33].contains(s)
                && ![
                    libc::SIGFPE,
                    libc::SIGILL,
                    libc::SIGSEGV,
                    libc::SIGBUS,
                    libc::SIGABRT,
                    libc::SIGTRAP,
                    libc::SIGSYS,
                ]
                .contains(s)
        })
        .collect();
    let forwarded_by = |init: &str, mode: Mode| -> Vec<i32> {
        let program = helper(&["sigrecv"]);
        let argv = [
            &[init, "--"],
            &program.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ]
        .concat();
        let mut c = in_mode(mode, &argv);
        c.stdin(std::process::Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("ready");
        let t = match mode {
            Mode::Plain => p.pid(),
            Mode::Pid1 | Mode::InNamespace => only_child(p.pid()),
        };
        let program = only_child(t);
        let mut guard = KillOnDrop::if_plain(mode, &[program]);
        let mut forwarded = Vec::new();
        for &s in &candidates {
            kill(t, s);
            kill(t, marker);
            let mut got = None;
            loop {
                let line = p.wait_prefix("sig ");
                if line == format!("sig {marker}") {
                    break;
                }
                got = Some(line);
            }
            if got.is_some_and(|l| l == format!("sig {s}")) {
                forwarded.push(s);
            }
        }
        kill(t, libc::SIGKILL);
        // Plain, the program outlives the init and holds the output open.
        guard.kill_now();
        drop(p.finish());
        forwarded
    };
    for mode in MODES {
        let theirs = forwarded_by("/usr/bin/catatonit", mode);
        assert!(
            !theirs.contains(&libc::SIGTSTP) && theirs.contains(&libc::SIGTERM),
            "{mode:?}: catatonit forwards {theirs:?}"
        );
        assert_eq!(
            forwarded_by(&ours, mode),
            theirs,
            "{mode:?}: ours, then catatonit's"
        );
    }
}
