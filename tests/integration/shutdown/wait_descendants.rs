//! Waiting for descendants (`--wait-descendants`, `TINI_WAIT_DESCENDANTS`): a program that
//! re-executes itself through a forked child and exits leaves tini-rs running, forwarding to
//! what is left (whatever the delivery mode, SIGCONT after SIGTERM), until the last
//! descendant has exited; with a grace period, a stop signal starts it.

use std::process::Stdio;

use crate::harness::*;

/// Starts `cmd` (a program that starts a child, which prints `child-up PID`, and exits) and
/// waits until the program has been reaped and only the child is left under tini-rs, which
/// waits again; returns it and tini-rs's PID.
fn until_only_the_child_is_left(mode: Mode, cmd: std::process::Command) -> (Proc, i32) {
    let mut p = Proc::spawn(cmd);
    let child = numbers(&p.wait_prefix("child-up "))[0];
    let t = p.tini(mode);
    let child = match mode {
        Mode::Plain => child,
        Mode::Pid1 | Mode::InNamespace => host_pid_of(t, child),
    };
    poll_until("the program to be reaped", || {
        (children(t) == [child]).then_some(())
    });
    wait_until_tini_is_idle(t);
    (p, t)
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
        let (p, t) = until_only_the_child_is_left(mode, c);
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
        let (p, t) = until_only_the_child_is_left(mode, c);
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
    let program = "setsid sh -c 'trap \"echo child-usr1\" USR1; \
                   trap \"echo child-term; exit 0\" TERM; \
                   echo child-up $$; while :; do sleep 0.05; done' & exit 3";
    for mode in MODES {
        let mut c = tini(
            mode,
            &["-c", "--wait-descendants", "--", "sh", "-c", program],
        );
        c.stdin(Stdio::null());
        let (mut p, t) = until_only_the_child_is_left(mode, c);
        let child = only_child(t);
        kill(t, libc::SIGUSR1);
        p.wait_prefix("child-usr1");
        kill(child, libc::SIGSTOP);
        poll_until("the child to stop", || stopped(child).then_some(()));
        kill(t, libc::SIGTERM);
        let out = p.finish();
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        assert!(out.stdout.contains("child-term"), "{mode:?}\n{out}");
    }
}

/// A SIGTERM that came while the program ran (`docker stop`) reached the program's group
/// only; the program exits 3 and leaves a daemon in a session of its own. With
/// `--wait-descendants` the daemon gets that SIGTERM once the program is gone (with a grace
/// period, the grace period starts), and tini-rs exits 3 as soon as it is gone, not at the
/// orchestrator's SIGKILL (it used to wait for ever, the SIGTERM forgotten).
#[test]
fn a_sigterm_while_the_program_ran_reaches_what_it_left() {
    let program = "setsid sh -c 'trap \"echo daemon-term; exit 0\" TERM; echo daemon-up; \
                   while :; do sleep 0.05; done' & \
                   trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done";
    for mode in MODES {
        for opts in [
            &["--wait-descendants"][..],
            &["--wait-descendants", "-t", "30s"],
        ] {
            let mut c = tini(mode, &[opts, &["--", "sh", "-c", program]].concat());
            c.stdin(Stdio::null());
            let mut p = Proc::spawn(c);
            let mut up = std::collections::HashSet::new();
            while up.len() < 2 {
                up.insert(p.wait_line(|l| l == "ready" || l == "daemon-up"));
            }
            let t = p.tini(mode);
            wait_until_tini_is_idle(t);
            kill(t, libc::SIGTERM);
            let out = p.finish();
            assert_eq!(out.code(), 3, "{mode:?} {opts:?}\n{out}");
            assert!(
                out.stdout.contains("daemon-term"),
                "{mode:?} {opts:?}\n{out}"
            );
            assert!(!out.stderr.contains("Grace period over"), "{mode:?}\n{out}");
        }
    }
}

/// A member of the program's group that is stopped (with a SIGTERM trap) when a stop request
/// comes while the program runs: the request reaches it, and with `--wait-descendants` a
/// SIGCONT follows, so that it acts on it and tini-rs exits with the program's code. Without
/// the SIGCONT it stayed stopped with the SIGTERM pending and tini-rs waited for it for ever
/// (with `-c` it got SIGTERM and SIGCONT once the program was gone; with group delivery,
/// `-a` or a stop delay, never).
#[test]
fn a_stop_request_wakes_a_stopped_member_of_the_group() {
    let program = "sh -c 'trap \"echo member-term; exit 0\" TERM; echo member-up $$; \
                   kill -STOP $$; while :; do sleep 0.05; done' & \
                   trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done";
    for mode in MODES {
        for opts in [
            &["--wait-descendants"][..],
            &["-a", "--wait-descendants"],
            &["--stop-delay", "1ms", "--wait-descendants"],
        ] {
            let mut c = tini(mode, &[opts, &["--", "sh", "-c", program]].concat());
            c.stdin(Stdio::null());
            let mut p = Proc::spawn(c);
            let mut member = 0;
            let mut ready = false;
            while member == 0 || !ready {
                let l = p.wait_line(|l| l == "ready" || l.starts_with("member-up "));
                ready |= l == "ready";
                member = if l == "ready" { member } else { numbers(&l)[0] };
            }
            let t = p.tini(mode);
            let member = match mode {
                Mode::Plain => member,
                Mode::Pid1 | Mode::InNamespace => host_pid_of(t, member),
            };
            poll_until("the member to stop", || stopped(member).then_some(()));
            wait_until_tini_is_idle(t);
            kill(t, libc::SIGTERM);
            let out = p.finish();
            assert_eq!(out.code(), 3, "{mode:?} {opts:?}\n{out}");
            assert!(
                out.stdout.contains("member-term"),
                "{mode:?} {opts:?}\n{out}"
            );
        }
    }
}
