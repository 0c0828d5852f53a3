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
