//! Signal rewriting (`-r`/`--rewrite FROM:TO`, `TINI_REWRITE=F:T,F:T`): a rule applies before
//! forwarding; TO may be `drop`; standard and real-time signals, by name or number. The
//! program is sigrecv.py, which reports every signal it gets with its number. As PID 1 and as
//! a subreaper. Bad rules are usage errors (exit 1).
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;
use common::*;

fn rtmin() -> i32 {
    libc::SIGRTMIN()
}

/// Starts tini-rs (`-s` as a subreaper) with `opts` and `env`, running sigrecv.py, which
/// exits 0 after reporting `exit_on`; returns it and tini-rs's PID once the program is ready.
fn start(mode: Mode, opts: &[&str], env: &[(&str, &str)], exit_on: i32) -> (Proc, i32) {
    let sigrecv = helper("sigrecv.py");
    let exit_on = exit_on.to_string();
    let mut args: Vec<&str> = Vec::new();
    if mode == Mode::Plain {
        args.push("-s");
    }
    args.extend_from_slice(opts);
    args.extend_from_slice(&["--", "python3", &sigrecv, "--exit-on", &exit_on]);
    let mut cmd = tini(mode, &args);
    cmd.envs(env.iter().copied());
    let mut p = Proc::spawn(cmd);
    p.wait_prefix("ready ");
    let t = tini_pid(&p, mode);
    (p, t)
}

/// Sends each of `sent` to tini-rs in order, then checks the program's next lines are exactly
/// `seen` and that it then exits 0 (on the last of `seen`).
fn check(mode: Mode, opts: &[&str], env: &[(&str, &str)], sent: &[i32], seen: &[i32]) {
    let (mut p, tini) = start(mode, opts, env, *seen.last().unwrap());
    for &s in sent {
        kill(tini, s);
    }
    for &s in seen {
        let want = format!("sig {s}");
        let got = p.wait_prefix("sig ");
        assert_eq!(got, want, "{mode:?} {opts:?} {env:?}: sent {sent:?}");
    }
    let out = p.finish();
    assert_eq!(out.code(), 0, "{mode:?} {opts:?} {env:?}\n{out}");
    assert!(
        !out.stdout
            .lines()
            .skip_while(|l| !l.starts_with("sig "))
            .any(|l| {
                let n: i32 = l.trim_start_matches("sig ").parse().unwrap_or(0);
                !seen.contains(&n)
            }),
        "{mode:?}: an unexpected signal reached the program\n{out}"
    );
}

#[test]
fn term_becomes_quit() {
    for mode in MODES {
        check(
            mode,
            &["-r", "TERM:QUIT"],
            &[],
            &[libc::SIGTERM],
            &[libc::SIGQUIT],
        );
        // Same rule, other spellings.
        check(
            mode,
            &["--rewrite", "SIGTERM:3"],
            &[],
            &[libc::SIGTERM],
            &[3],
        );
        check(mode, &["-r", "15:sigquit"], &[], &[libc::SIGTERM], &[3]);
    }
}

/// USR1 is dropped. USR2 is the marker: sent after USR1, and a program with both pending
/// would report the lower number first, so USR1 can never come after it unseen.
#[test]
fn drop_rule_makes_a_signal_vanish() {
    for mode in MODES {
        check(
            mode,
            &["-r", "USR1:drop"],
            &[],
            &[libc::SIGUSR1, libc::SIGUSR2],
            &[libc::SIGUSR2],
        );
    }
}

#[test]
fn real_time_signals_are_rewritten() {
    for mode in MODES {
        check(
            mode,
            &["-r", "RTMIN+1:RTMIN+2", "-r", "RTMIN:USR1"],
            &[],
            &[rtmin() + 1],
            &[rtmin() + 2],
        );
        check(
            mode,
            &["-r", "RTMIN+1:RTMIN+2", "-r", "RTMIN:USR1"],
            &[],
            &[rtmin()],
            &[libc::SIGUSR1],
        );
        let (a, b) = (["-r", "SIGRTMAX:HUP"], ["-r", "USR2:SIGRTMAX-1"]);
        check(mode, &a, &[], &[libc::SIGRTMAX()], &[libc::SIGHUP]);
        check(mode, &b, &[], &[libc::SIGUSR2], &[libc::SIGRTMAX() - 1]);
    }
}

/// Signals without a rule pass unchanged next to rewritten ones.
#[test]
fn other_signals_are_untouched() {
    for mode in MODES {
        check(
            mode,
            &["-r", "TERM:QUIT"],
            &[],
            &[libc::SIGHUP, libc::SIGTERM],
            &[libc::SIGHUP, libc::SIGQUIT],
        );
    }
}

/// The environment list form, with spaces after commas; `-r` adds to it.
#[test]
fn env_list_form() {
    let env = [("TINI_REWRITE", "TERM:QUIT, USR1:drop,RTMIN+1:RTMIN+2")];
    for mode in MODES {
        check(
            mode,
            &[],
            &env,
            &[libc::SIGUSR1, libc::SIGTERM],
            &[libc::SIGQUIT],
        );
        check(mode, &[], &env, &[rtmin() + 1], &[rtmin() + 2]);
        check(
            mode,
            &["-r", "HUP:USR2"],
            &env,
            &[libc::SIGHUP],
            &[libc::SIGUSR2],
        );
    }
}

#[test]
fn bad_rules_are_usage_errors() {
    let cases: &[(&[&str], Option<&str>)] = &[
        (&["-r", "TERM"], None),
        (&["-r", "NOPE:TERM"], None),
        (&["-r", "TERM:NOPE"], None),
        (&["-r", "KILL:TERM"], None),
        (&["-r", "TERM:99"], None),
        (&["-r", "RTMAX+1:TERM"], None),
        (&["-r", "CHLD:TERM"], None),
        (&[], Some("TERM:QUIT,bogus")),
    ];
    let dir = ScratchDir::new("badrule");
    let marker = dir.file("ran");
    for (opts, env) in cases {
        let mut args = opts.to_vec();
        args.extend_from_slice(&["--", "touch", &marker]);
        let mut cmd = tini(Mode::Plain, &args);
        if let Some(v) = env {
            cmd.env("TINI_REWRITE", v);
        }
        let out = run(cmd);
        assert_eq!(out.code(), 1, "{opts:?} {env:?}\n{out}");
        assert!(
            out.stderr.contains("rewrite") && out.stderr.contains("Usage"),
            "{opts:?} {env:?}: a clear message and the usage line\n{out}"
        );
        assert!(
            std::fs::metadata(&marker).is_err(),
            "{opts:?} {env:?}: nothing runs"
        );
    }
}
