//! Pause mode (`--pause`): no program; tini-rs only reaps the zombies that are re-parented to
//! it and exits 0 on SIGTERM or SIGINT (a pod's shared PID namespace, a pause container). As
//! PID 1, a burst of orphans is placed in its namespace from outside with nsenter; as a
//! subreaper, by a process tini-rs inherits when it is exec'd. Bursts run in a PID namespace
//! of their own.

use super::complete_data;
use crate::harness::*;

/// Orphans per burst: a real burst, bounded (the PID space is shared).
const BURST: usize = 300;

/// `argv` run by nsenter in the PID and mount namespaces of `tini`.
pub fn nsenter(tini: i32, argv: &[String]) -> Output {
    let mut c = command(&["nsenter", "-t", &tini.to_string(), "-p", "-m", "--"]);
    c.args(argv);
    run(c)
}

/// Places `n` orphans in the namespace whose PID 1 is `tini` (helper.py `orphans`); returns
/// their PIDs there.
pub fn place_orphans(tini: i32, n: usize) -> Vec<i32> {
    let made = nsenter(tini, &helper(&["orphans", &n.to_string()]));
    assert_eq!(made.code(), 0, "{made}");
    assert!(made.stdout.ends_with("done\n"), "{made}");
    let orphans = orphan_pids(&made.stdout);
    assert_eq!(orphans.len(), n, "{made}");
    orphans
}

fn orphan_pids(stdout: &str) -> Vec<i32> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("orphan "))
        .map(|p| p.parse().unwrap())
        .collect()
}

/// Every orphan appears in a `-w` "Reaped zombie process" line of tini-rs.
pub fn assert_all_reaped_by_tini(orphans: &[i32], stderr: &str) {
    let missing: Vec<_> = orphans
        .iter()
        .filter(|p| !stderr.contains(&format!("Reaped zombie process with pid={p}\n")))
        .collect();
    assert!(
        missing.is_empty(),
        "not reaped by tini-rs: {missing:?}\n{stderr}"
    );
}

/// No process is left below `tini`: every orphan was reaped (none is a zombie either).
pub fn wait_nothing_left(tini: i32) {
    poll_until("every orphan reaped", || {
        descendants(tini).is_empty().then_some(())
    });
}

/// Sends HUP, USR1 and QUIT to a pausing tini-rs and waits until it has taken them and waits
/// again: none of them ends pause mode.
fn other_signals_are_taken_and_ignored(tini: i32) {
    for other in [libc::SIGHUP, libc::SIGUSR1, libc::SIGQUIT] {
        kill(tini, other);
    }
    poll_until("tini-rs to consume HUP, USR1 and QUIT", || {
        let pending = proc_status(tini, "ShdPnd")?;
        let wchan = std::fs::read_to_string(format!("/proc/{tini}/wchan")).ok()?;
        (pending.trim_start_matches('0').is_empty() && wchan.contains("sigtimedwait")).then_some(())
    });
}

#[test]
fn pid1_reaps_a_burst_of_orphans_placed_in_its_namespace() {
    let mut p = Proc::spawn(tini(Mode::Pid1, &["-w", "--pause"]));
    let t = p.tini(Mode::Pid1);
    wait_sigtimedwait(t);
    let orphans = place_orphans(t, BURST);
    wait_nothing_left(t);
    // Inside the namespace too: no zombie or anything else, only PID 1 and the checking
    // shell (which counts with builtins, without forking).
    let script = "n=0; for d in /proc/[0-9]*; do n=$((n+1)); done; echo $n";
    let seen = nsenter(t, &["sh", "-c", script].map(String::from));
    assert_eq!(
        seen.stdout, "2\n",
        "one process besides the checker\n{seen}"
    );
    kill(t, libc::SIGTERM);
    let out = p.finish();
    assert_eq!(out.code(), 0, "{out}");
    assert_all_reaped_by_tini(&orphans, &out.stderr);
}

#[test]
fn subreaper_reaps_a_burst_of_orphans() {
    // PID 1 of the new namespace is a shell; below it, a shell starts the orphan maker in the
    // background and execs tini-rs, which thereby inherits it as a child. The maker waits
    // until tini-rs is in its wait loop (so it is a subreaper by then), then leaves its burst.
    let inner = r#""$0" "$1" orphans "$2" --wait-parent & exec "$3" -s -w --pause"#;
    let (helper_py, burst) = (helper_path(), BURST.to_string());
    let argv = ["sh", "-c", inner, python(), &helper_py, &burst, bin()];
    let mut p = Proc::spawn(in_mode(Mode::InNamespace, &argv));
    let t = p.tini(Mode::InNamespace);
    let mut orphans = Vec::new();
    loop {
        let l = p.wait_line(|l| l.starts_with("orphan ") || l == "done");
        match l.strip_prefix("orphan ") {
            Some(n) => orphans.push(n.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(orphans.len(), BURST);
    wait_nothing_left(t);
    kill(t, libc::SIGTERM);
    let out = p.finish();
    assert_eq!(out.code(), 0, "{out}");
    assert!(!out.stderr.contains("won't work"), "{out}");
    assert_all_reaped_by_tini(&orphans, &out.stderr);
}

/// `p` runs tini-rs in pause mode (with `-w` or its variable): once it waits, it takes
/// `orphans` orphans placed in its namespace (as PID 1) and HUP, USR1 and QUIT without
/// stopping; `sig` then ends it with status 0, every orphan reaped by it.
pub fn check_pause(mode: Mode, mut p: Proc, sig: i32, orphans: usize) {
    let t = p.tini(mode);
    wait_sigtimedwait(t);
    let mut placed = Vec::new();
    if mode == Mode::Pid1 && orphans > 0 {
        placed = place_orphans(t, orphans);
        wait_nothing_left(t);
    }
    other_signals_are_taken_and_ignored(t);
    kill(t, sig);
    let out = p.finish();
    assert_eq!(out.code(), 0, "{mode:?} signal {sig}\n{out}");
    assert!(!out.stderr.contains("won't work"), "{out}");
    assert_all_reaped_by_tini(&placed, &out.stderr);
}

/// Exits 0 on SIGTERM and on SIGINT; other signals (HUP, USR1, QUIT) leave it running.
#[test]
fn exits_zero_on_sigterm_or_sigint_only() {
    for mode in MODES {
        for sig in [libc::SIGTERM, libc::SIGINT] {
            check_pause(mode, Proc::spawn(tini_s(mode, &["--pause"])), sig, 0);
        }
    }
}

/// Pause mode with a grace period and nothing left: SIGTERM ends it at once (no wait for a
/// deadline, no "processes remain" warning: it never had a child to drain before).
#[test]
fn pause_with_grace_and_nothing_left_exits_at_once() {
    for mode in MODES {
        let mut p = Proc::spawn(tini_s(mode, &["-t", "20s", "--pause"]));
        let t = p.tini(mode);
        wait_sigtimedwait(t);
        kill(t, libc::SIGTERM);
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert!(
            !out.stderr.contains("Grace period over") && !out.stderr.contains("remain"),
            "{mode:?}\n{out}"
        );
    }
}

/// Pause mode with a grace period as PID 1: a daemon that joined the namespace after an
/// earlier burst had been reaped (so the last drain had found no child left) still gets
/// SIGTERM and its grace period when the pause ends, and finishes its file.
#[test]
fn pause_with_grace_lets_a_late_daemon_finish_as_pid1() {
    let dir = ScratchDir::new("pause-grace");
    let data = dir.file("data");
    let mut p = Proc::spawn(tini(Mode::Pid1, &["-t", "10s", "--pause"]));
    let t = p.tini(Mode::Pid1);
    wait_sigtimedwait(t);
    place_orphans(t, 5);
    wait_nothing_left(t);
    let made = nsenter(t, &helper(&["daemon", "writer", &data]));
    assert_eq!(made.code(), 0, "{made}");
    assert_eq!(children(t).len(), 1, "the writer is tini-rs's child now");
    kill(t, libc::SIGTERM);
    let out = p.finish();
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(read_text(&data), complete_data(), "{out}");
}

/// Pause mode waiting for descendants, as PID 1 (a shared-PID pod's infra container): the
/// SIGTERM that ends the pause reaches the processes that joined the namespace (with a
/// grace period, it starts it), and tini-rs exits 0 once they are gone. It used to reach
/// nobody: tini-rs waited until the orchestrator's SIGKILL.
#[test]
fn pause_waiting_for_descendants_passes_its_stop_request_on() {
    for opts in [
        &["--wait-descendants"][..],
        &["--wait-descendants", "-t", "30s"],
    ] {
        let dir = ScratchDir::new("pause-wait");
        let (up, term) = (dir.file("up"), dir.file("term"));
        let mut p = Proc::spawn(tini(Mode::Pid1, &[opts, &["--pause"]].concat()));
        let t = p.tini(Mode::Pid1);
        wait_sigtimedwait(t);
        let daemon = format!(
            "trap 'echo term > {term}; exit 0' TERM; echo up > {up}; while :; do sleep 0.05; done"
        );
        let argv = ["setsid", "-f", "sh", "-c", &daemon].map(String::from);
        let made = nsenter(t, &argv);
        assert_eq!(made.code(), 0, "{made}");
        poll_until("the daemon is up", || {
            std::fs::metadata(&up).is_ok().then_some(())
        });
        kill(t, libc::SIGTERM);
        let out = p.finish();
        assert_eq!(out.code(), 0, "{opts:?}\n{out}");
        assert_eq!(read_text(&term), "term\n", "{opts:?}\n{out}");
    }
}
