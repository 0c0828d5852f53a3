//! Signal rewriting (`-r`/`--rewrite FROM:TO`): a rule applies before forwarding; TO may be
//! `drop`; standard and real-time signals, by name or number; `-r` adds to `TINI_REWRITE`.
//! The program is `sigrecv`, which reports every signal it gets with its number. (Bad rules
//! are usage errors: `cli`.)

use crate::harness::*;

/// Starts tini-rs (`-s` as a subreaper) with `opts` and `env`, running `sigrecv`, which exits
/// 0 after reporting `exit_on`; returns it and tini-rs's PID once the program is ready.
fn start(mode: Mode, opts: &[&str], env: &[(&str, &str)], exit_on: i32) -> (Proc, i32) {
    let program = helper(&["sigrecv", "--exit-on", &exit_on.to_string()]);
    let mut cmd = tini_s(mode, &args_for(opts, &program));
    cmd.envs(env.iter().copied());
    let mut p = Proc::spawn(cmd);
    p.wait_prefix("ready ");
    let t = p.tini(mode);
    (p, t)
}

/// Sends each of `sent` to tini-rs in order, then checks the program's next lines are exactly
/// `seen` and that it then exits 0 (on the last of `seen`) with no other signal reported.
fn check(mode: Mode, opts: &[&str], env: &[(&str, &str)], sent: &[i32], seen: &[i32]) {
    let what = format!("{mode:?} {opts:?} {env:?}: sent {sent:?}");
    let (mut p, tini) = start(mode, opts, env, *seen.last().unwrap());
    for &s in sent {
        kill(tini, s);
    }
    for &s in seen {
        assert_eq!(p.wait_prefix("sig "), format!("sig {s}"), "{what}");
    }
    let out = p.finish();
    assert_eq!(out.code(), 0, "{what}\n{out}");
    let reported: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("sig "))
        .collect();
    assert_eq!(
        reported.len(),
        seen.len(),
        "{what}: an unexpected signal\n{out}"
    );
}

/// Runs each (options, sent, seen) case in both modes.
fn check_all(cases: &[(&[&str], &[i32], &[i32])]) {
    for mode in MODES {
        for (opts, sent, seen) in cases {
            check(mode, opts, &[], sent, seen);
        }
    }
}

#[test]
fn term_becomes_quit() {
    let term: &[i32] = &[libc::SIGTERM];
    check_all(&[
        (&["-r", "TERM:QUIT"], term, &[libc::SIGQUIT]),
        // Same rule, other spellings.
        (&["--rewrite", "SIGTERM:3"], term, &[3]),
        (&["-r", "15:sigquit"], term, &[3]),
    ]);
}

/// USR1 is dropped. USR2 is the marker: sent after USR1, and a program with both pending
/// would report the lower number first, so USR1 can never come after it unseen.
#[test]
fn drop_rule_makes_a_signal_vanish() {
    check_all(&[(
        &["-r", "USR1:drop"],
        &[libc::SIGUSR1, libc::SIGUSR2],
        &[libc::SIGUSR2],
    )]);
}

#[test]
fn real_time_signals_are_rewritten() {
    let (rtmin, rtmax) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    let two: &[&str] = &["-r", "RTMIN+1:RTMIN+2", "-r", "RTMIN:USR1"];
    check_all(&[
        (two, &[rtmin + 1], &[rtmin + 2]),
        (two, &[rtmin], &[libc::SIGUSR1]),
        (&["-r", "SIGRTMAX:HUP"], &[rtmax], &[libc::SIGHUP]),
        (&["-r", "USR2:SIGRTMAX-1"], &[libc::SIGUSR2], &[rtmax - 1]),
    ]);
}

/// Signals without a rule pass unchanged next to rewritten ones.
#[test]
fn other_signals_are_untouched() {
    check_all(&[(
        &["-r", "TERM:QUIT"],
        &[libc::SIGHUP, libc::SIGTERM],
        &[libc::SIGHUP, libc::SIGQUIT],
    )]);
}

/// `-r` adds a rule to those of `TINI_REWRITE`.
#[test]
fn option_rules_add_to_the_variables() {
    let env = [("TINI_REWRITE", "TERM:QUIT, USR1:drop,RTMIN+1:RTMIN+2")];
    for mode in MODES {
        let opts = ["-r", "HUP:USR2"];
        check(mode, &opts, &env, &[libc::SIGHUP], &[libc::SIGUSR2]);
        check(
            mode,
            &opts,
            &env,
            &[libc::SIGUSR1, libc::SIGTERM],
            &[libc::SIGQUIT],
        );
    }
}
