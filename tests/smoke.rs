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

/// After the spawn tini-rs drops its start-up code from memory (it is never run again);
/// the loop keeps working on the pages it faults back in: signals are still forwarded and the
/// status still comes back.
#[test]
fn start_up_code_is_released_and_the_loop_still_works() {
    for mode in MODES {
        let mut c = tini(
            mode,
            &[
                "-vvv",
                "--",
                "sh",
                "-c",
                "trap 'exit 9' USR1; echo ready; while :; do sleep 0.05; done",
            ],
        );
        c.stdin(std::process::Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("ready");
        let target = match mode {
            Mode::Plain => p.pid(),
            Mode::Pid1 => poll_until("tini-rs in the namespace", || {
                children(p.pid()).first().copied()
            }),
        };
        kill(target, libc::SIGUSR1);
        let out = p.finish();
        assert_eq!(out.code(), 9, "{mode:?}\n{out}");
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains("Released "))
            .unwrap_or_default();
        let kib: u64 = line
            .split("Released ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(kib > 0, "{mode:?}: no release reported\n{out}");
    }
}
