//! The stop delay (`--stop-delay`, `TINI_STOP_DELAY`): the first SIGTERM is held while the
//! program keeps serving, every other signal passes at once; a second SIGTERM, the end of the
//! delay or the program's own exit ends it. No wake-up is pending unless a delay runs.

use std::process::Stdio;

use crate::harness::*;

/// The program: reports TERM (and exits 0), WINCH, USR1 (and exits 7).
const TRAPS: &str = "trap 'echo term; exit 0' TERM; trap 'echo winch' WINCH; \
                     trap 'echo usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done";

/// tini-rs with `opts` and `env` running [`TRAPS`], once the program is ready; and its PID.
fn start(mode: Mode, opts: &[&str], env: &[(&str, &str)]) -> (Proc, i32) {
    let mut c = tini(mode, &[opts, &["--", "sh", "-c", TRAPS]].concat());
    c.stdin(Stdio::null()).envs(env.iter().copied());
    let mut p = Proc::spawn(c);
    p.wait_prefix("ready");
    let t = p.tini(mode);
    (p, t)
}

/// `--stop-delay`: the first SIGTERM is held while the program keeps running and every other
/// signal passes at once; when the delay is over, SIGTERM is passed on. No wake-up is
/// pending unless a delay runs.
#[test]
fn stop_delay_holds_the_first_sigterm() {
    for mode in MODES {
        let (mut p, t) = start(mode, &["--stop-delay", "1500ms"], &[]);
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
        let (mut p, t) = start(mode, &["--stop-delay", "1h"], &[]);
        kill(t, libc::SIGTERM);
        kill(t, libc::SIGWINCH);
        p.wait_prefix("winch");
        kill(t, libc::SIGTERM);
        p.wait_prefix("term");
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");

        let (p, t) = start(mode, &[], &[("TINI_STOP_DELAY", "1h")]);
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
