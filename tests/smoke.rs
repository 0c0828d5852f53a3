//! Smoke test of the harness itself: the binary runs as a plain process and as PID 1.
mod common;
use common::*;

#[test]
fn runs_as_plain_process_and_as_pid1() {
    for mode in MODES {
        let out = run(tini(mode, &["--", "sh", "-c", "echo pid=$$; exit 5"]));
        assert_eq!(out.code(), 5, "{mode:?}\n{out}");
        if mode == Mode::Pid1 {
            assert!(out.stdout.contains("pid=2"), "{out}");
        }
    }
}

/// The subreaper attribute survives exec: a wrapper that set it and then exec'd tini-rs
/// makes tini-rs a working reaper, which it sees (no registration of its own); without it,
/// tini-rs registers itself. Never the "zombie reaping won't work" warning.
#[test]
fn inherited_subreaper_is_seen() {
    let wrapper = "import ctypes, os, sys\n\
                   if sys.argv[1] == 'set':\n    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)\n\
                   os.execv(sys.argv[2], sys.argv[2:])";
    for (set, registers) in [("set", false), ("unset", true)] {
        let mut c = std::process::Command::new("python3");
        c.args(["-c", wrapper, set, bin(), "-v", "--", "true"]);
        c.env_remove("TINI_SUBREAPER").env_remove("TINI_VERBOSITY");
        let out = run(c);
        assert_eq!(out.code(), 0, "{out}");
        assert_eq!(
            out.stderr.contains("registered as a child subreaper"),
            registers,
            "{set}: {out}"
        );
        assert!(!out.stderr.contains("zombie reaping won't work"), "{out}");
    }
}

/// tini-rs runs single-threaded, at start and in the loop: its `fork` relies on it (the
/// child may allocate and log only because no other thread can hold a lock).
#[test]
fn tini_rs_runs_single_threaded() {
    for mode in MODES {
        let program = "trap 'exit 4' USR2; echo ready; while :; do sleep 0.05; done";
        let mut c = tini(mode, &["-vvvv", "--", "sh", "-c", program]);
        c.stdin(std::process::Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("ready");
        let t = tini_pid(&p, mode);
        wait_sigtimedwait(t);
        assert_eq!(proc_status(t, "Threads").as_deref(), Some("1"), "{mode:?}");
        kill(t, libc::SIGUSR2);
        let out = p.finish();
        assert_eq!(out.code(), 4, "{mode:?}\n{out}");
    }
}

/// tini-rs catches no signal (SigCgt is empty), with logging on and after a signal was
/// forwarded: every signal it handles is blocked and taken with `sigtimedwait`, and the
/// program inherits no handler of ours.
#[test]
fn tini_rs_installs_no_signal_handler() {
    for mode in MODES {
        let program = "trap 'exit 4' USR2; trap 'echo got1' USR1; echo ready; \
                       while :; do sleep 0.05; done";
        let mut c = tini(mode, &["-vvvv", "--", "sh", "-c", program]);
        c.stdin(std::process::Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("ready");
        let t = tini_pid(&p, mode);
        wait_sigtimedwait(t);
        assert_eq!(proc_sigset(t, "SigCgt"), Some(vec![]), "{mode:?} at start");
        kill(t, libc::SIGUSR1);
        p.wait_line(|l| l == "got1");
        assert_eq!(
            proc_sigset(t, "SigCgt"),
            Some(vec![]),
            "{mode:?} in the loop"
        );
        kill(t, libc::SIGUSR2);
        let out = p.finish();
        assert_eq!(out.code(), 4, "{mode:?}\n{out}");
    }
}
