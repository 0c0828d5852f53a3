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
/// makes tini-rs a working reaper, so the "zombie reaping won't work" warning would be false.
#[test]
fn inherited_subreaper_means_no_warning() {
    let wrapper = "import ctypes, os, sys\n\
                   if sys.argv[1] == 'set':\n    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)\n\
                   os.execv(sys.argv[2], sys.argv[2:])";
    for (set, warns) in [("set", false), ("unset", true)] {
        let mut c = std::process::Command::new("python3");
        c.args(["-c", wrapper, set, bin(), "--", "true"]);
        c.env_remove("TINI_SUBREAPER").env_remove("TINI_VERBOSITY");
        let out = run(c);
        assert_eq!(out.code(), 0, "{out}");
        assert_eq!(
            out.stderr.contains("zombie reaping won't work"),
            warns,
            "{set}: {out}"
        );
    }
}

/// Once the program has run a moment, tini-rs drops its start-up code from memory (it is
/// never run again): its resident set shrinks well below its peak, and the loop keeps working
/// on the pages it faults back in: signals are still forwarded and the status comes back.
#[test]
fn start_up_code_is_released_and_the_loop_still_works() {
    let kib = |pid: i32, field: &str| -> Option<u64> {
        proc_status(pid, field)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    for mode in MODES {
        let program = "trap 'exit 9' USR1; echo ready; while :; do sleep 0.05; done";
        let mut c = tini(mode, &["-vvv", "--", "sh", "-c", program]);
        c.stdin(std::process::Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("ready");
        let target = match mode {
            Mode::Plain => p.pid(),
            Mode::Pid1 => poll_until("tini-rs in the namespace", || {
                children(p.pid()).first().copied()
            }),
        };
        let (rss, hwm) = poll_until("the code pages to be released", || {
            let (rss, hwm) = (kib(target, "VmRSS")?, kib(target, "VmHWM")?);
            (rss + 256 < hwm).then_some((rss, hwm))
        });
        kill(target, libc::SIGUSR1);
        let out = p.finish();
        assert_eq!(
            out.code(),
            9,
            "{mode:?} (VmRSS {rss} KiB, peak {hwm} KiB)\n{out}"
        );
        assert!(out.stderr.contains("Released "), "{mode:?}\n{out}");
    }
}

/// tini-rs catches no signal (SigCgt is empty), with logging on and after a signal was
/// forwarded. The program's child side runs in tini-rs's own memory until it execs
/// (`clone(CLONE_VM | CLONE_VFORK)`); with no handler installed anywhere, a signal reaching
/// that child can only take its default action and never runs code in the shared memory.
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
