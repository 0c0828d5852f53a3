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
