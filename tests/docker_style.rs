//! The shutdown features configured by environment variables only, with the binary invoked
//! exactly as Docker's `--init` does: `tini-rs -- CMD...` (Docker passes no other option).
//! As PID 1 of a namespace (a container), and as a plain process with `TINI_SUBREAPER` set
//! (an ENTRYPOINT that is not PID 1).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod common;
use common::*;

/// `tini-rs -- cmd...` in `mode` with `env` (plus `TINI_SUBREAPER=` when not PID 1).
fn docker(mode: Mode, env: &[(&str, &str)], cmd: &[&str]) -> std::process::Command {
    let mut args = vec!["--"];
    args.extend_from_slice(cmd);
    let mut c = tini(mode, &args);
    c.envs(env.iter().copied());
    if mode == Mode::Plain {
        c.env("TINI_SUBREAPER", "");
    }
    c
}

/// The numbers after the prefix word of a line like `daemon 12 11` or `ready 5 5`.
fn numbers(line: &str) -> Vec<i32> {
    line.split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect()
}

/// Runs, Docker-style, a program that starts a daemon (`daemon.py MODE FILE`) and then becomes
/// sigrecv.py, which exits 0 on `exit_on`. Returns it once both are ready, with the PIDs (seen
/// from here) of tini-rs and of the daemon.
fn daemon_then_sigrecv(
    mode: Mode,
    env: &[(&str, &str)],
    daemon_mode: &str,
    file: &str,
    exit_on: i32,
) -> (Proc, i32, i32) {
    let script = r#"python3 "$0" "$1" "$2" || exit 99; exec python3 "$3" --exit-on "$4""#;
    let (daemon_py, sigrecv, exit_on) = (
        helper("daemon.py"),
        helper("sigrecv.py"),
        exit_on.to_string(),
    );
    let cmd = docker(
        mode,
        env,
        &[
            "sh",
            "-c",
            script,
            &daemon_py,
            daemon_mode,
            file,
            &sigrecv,
            &exit_on,
        ],
    );
    let mut p = Proc::spawn(cmd);
    let daemon = numbers(&p.wait_prefix("daemon "));
    let ready = numbers(&p.wait_prefix("ready "));
    assert_ne!(daemon[1], ready[1], "the daemon has its own process group");
    let t = tini_pid(&p, mode);
    let d = match mode {
        Mode::Plain => daemon[0],
        Mode::Pid1 => host_pid_of(t, daemon[0]),
    };
    (p, t, d)
}

fn complete_data() -> String {
    let mut s = String::from("ready\nterm\n");
    for i in 1..=10 {
        s.push_str(&format!("data {i}\n"));
    }
    s + "END\n"
}

/// `docker stop`: SIGTERM to tini-rs reaches the program, which exits; with
/// `TINI_GRACE_PERIOD` the writer it left behind gets SIGTERM and finishes its file.
fn docker_stop_with_writer(mode: Mode, grace: bool) {
    let dir = ScratchDir::new("docker-writer");
    let data = dir.file("data");
    let env: &[(&str, &str)] = if grace {
        &[("TINI_GRACE_PERIOD", "10s")]
    } else {
        &[]
    };
    let (p, t, writer) = daemon_then_sigrecv(mode, env, "writer", &data, libc::SIGTERM);
    let _guard = KillOnDrop(if mode == Mode::Plain {
        vec![writer]
    } else {
        vec![]
    });
    kill(t, libc::SIGTERM);
    let out = p.finish();
    assert_eq!(out.code(), 0, "{mode:?} grace={grace}\n{out}");
    let text = read_text(&data);
    match (grace, mode) {
        (true, _) => assert_eq!(text, complete_data(), "{mode:?}\n{out}"),
        // Killed with the namespace, before it ever heard of the stop: data lost.
        (false, Mode::Pid1) => assert_eq!(text, "ready\n", "{out}"),
        // Left running, never told to stop.
        (false, Mode::Plain) => {
            assert_eq!(text, "ready\n", "{out}");
            let state = proc_status(writer, "State").unwrap_or_default();
            assert!(state.starts_with('S'), "state {state:?}\n{out}");
            kill(writer, libc::SIGKILL);
        }
    }
}

#[test]
fn grace_period_env_docker_stop_as_pid1() {
    docker_stop_with_writer(Mode::Pid1, true);
}

#[test]
fn grace_period_env_docker_stop_as_subreaper() {
    docker_stop_with_writer(Mode::Plain, true);
}

#[test]
fn no_grace_period_env_docker_stop_loses_data_as_pid1() {
    docker_stop_with_writer(Mode::Pid1, false);
}

#[test]
fn no_grace_period_env_docker_stop_abandons_writer_as_subreaper() {
    docker_stop_with_writer(Mode::Plain, false);
}

/// A TERM-ignoring daemon is SIGKILLed at the end of `TINI_GRACE_PERIOD`; the status is the
/// program's, remapped by `TINI_REMAP_EXIT`.
#[test]
fn grace_period_env_kills_a_term_ignorer() {
    for mode in MODES {
        for remap in [false, true] {
            let dir = ScratchDir::new("docker-stubborn");
            let log = dir.file("log");
            let mut env = vec![("TINI_GRACE_PERIOD", "2s"), ("TINI_WARN_ON_REAP", "")];
            if remap {
                env.push(("TINI_REMAP_EXIT", "3"));
            }
            let daemon_py = helper("daemon.py");
            let script = r#"python3 "$0" logger "$1" || exit 99; exit 3"#;
            let cmd = docker(mode, &env, &["sh", "-c", script, &daemon_py, &log]);
            let mut p = Proc::spawn(cmd);
            let d = numbers(&p.wait_prefix("daemon "))[0];
            let _guard = KillOnDrop(if mode == Mode::Plain { vec![d] } else { vec![] });
            let out = p.finish();
            assert_eq!(out.code(), if remap { 0 } else { 3 }, "{mode:?}\n{out}");
            assert_eq!(
                read_text(&log),
                "ready\nsig 15\nsig 18\n",
                "{mode:?}\n{out}"
            );
            let over = out.stderr.find("Grace period over").unwrap_or(usize::MAX);
            let reaped = out
                .stderr
                .rfind(&format!("Reaped zombie process with pid={d}\n"));
            assert!(
                reaped.is_some_and(|r| r > over && over != usize::MAX),
                "{mode:?}: SIGKILLed at the deadline and reaped\n{out}"
            );
        }
    }
}

/// `TINI_BROADCAST`: the daemon gets the SIGTERM of `docker stop` too.
#[test]
fn broadcast_env_reaches_a_daemon() {
    for mode in MODES {
        let dir = ScratchDir::new("docker-broadcast");
        let log = dir.file("log");
        let env = [("TINI_BROADCAST", "")];
        let (mut p, t, d) = daemon_then_sigrecv(mode, &env, "logger", &log, libc::SIGINT);
        let _guard = KillOnDrop(if mode == Mode::Plain { vec![d] } else { vec![] });
        kill(t, libc::SIGTERM);
        p.wait_line(|l| l == "sig 15");
        poll_until("the daemon to log SIGTERM", || {
            (read_text(&log) == "ready\nsig 15\n").then_some(())
        });
        kill(t, libc::SIGINT);
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
    }
}

/// `TINI_REWRITE`: TERM becomes QUIT, USR1 vanishes, a real-time signal is rewritten.
#[test]
fn rewrite_env() {
    let sigrecv = helper("sigrecv.py");
    let (rt1, rt2) = (libc::SIGRTMIN() + 1, libc::SIGRTMIN() + 2);
    let rt2_s = rt2.to_string();
    let env = [("TINI_REWRITE", "TERM:QUIT,USR1:drop,RTMIN+1:RTMIN+2")];
    for mode in MODES {
        let cmd = docker(mode, &env, &["python3", &sigrecv, "--exit-on", &rt2_s]);
        let mut p = Proc::spawn(cmd);
        p.wait_prefix("ready ");
        let t = tini_pid(&p, mode);
        kill(t, libc::SIGUSR1);
        kill(t, libc::SIGTERM);
        assert_eq!(p.wait_prefix("sig "), "sig 3", "{mode:?}");
        kill(t, rt1);
        assert_eq!(p.wait_prefix("sig "), format!("sig {rt2}"), "{mode:?}");
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
    }
}

/// `TINI_PAUSE` with `tini-rs --` and no CMD (an image whose ENTRYPOINT is
/// `["/tini-rs", "--"]` and that has no CMD): pause mode; it reaps orphans placed in its
/// namespace and exits 0 on SIGTERM.
#[test]
fn pause_env_with_no_cmd() {
    for mode in MODES {
        let p = Proc::spawn(docker(
            mode,
            &[("TINI_PAUSE", ""), ("TINI_WARN_ON_REAP", "")],
            &[],
        ));
        let t = tini_pid(&p, mode);
        wait_sigtimedwait(t);
        let mut orphans = Vec::new();
        if mode == Mode::Pid1 {
            let mut enter = std::process::Command::new("nsenter");
            enter.args(["-t", &t.to_string(), "-p", "-m", "--", "python3"]);
            enter.args([helper("orphans.py"), "50".to_string()]);
            let made = run(enter);
            assert_eq!(made.code(), 0, "{made}");
            orphans = made
                .stdout
                .lines()
                .filter_map(|l| l.strip_prefix("orphan "))
                .map(|n| n.parse::<i32>().unwrap())
                .collect();
            assert_eq!(orphans.len(), 50, "{made}");
            poll_until("the orphans to be reaped", || {
                descendants(t).is_empty().then_some(())
            });
        }
        kill(t, libc::SIGTERM);
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        for o in orphans {
            assert!(
                out.stderr
                    .contains(&format!("Reaped zombie process with pid={o}\n")),
                "{o} not reaped by tini-rs\n{out}"
            );
        }
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
