//! Issue 7, item 2: storms. A storm of signals of mixed kinds sent as fast as possible, then
//! SIGTERM: the program gets the final SIGTERM, tini-rs exits 143, and its VmRSS is the same
//! before and after (within 8 KiB). A stream of orphans: none is left as a zombie, and PIDs
//! are reused (the program keeps resetting the namespace's `ns_last_pid`) without trouble.
//!
//! Both run inside a PID namespace; the orphan stream also under a pids cgroup limit. CI runs
//! a reduced size (50 000 signals, 5 000 orphans); the full size (1 000 000 signals,
//! 100 000 orphans) runs with
//!     TINI_RS_FULL=1 cargo test --release --test reliability_storms -- --nocapture
//! (`TINI_RS_STORM_SIGNALS=N` sets the storm's size alone.)
//! The signal storm runs tini-rs and the program as a dedicated user (uid 47113), so the
//! queued real-time signals count against that user's RLIMIT_SIGPENDING, not root's, which
//! other processes on the machine share.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;
#[path = "helpers/reliability.rs"]
mod rel;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rel::{
    Cgroup, PidFd, TempDir, count, full, inner_tini, kib, public, py_args, python, wait_deadline,
};

const STORM_UID: &str = "47113";

/// The kinds sent: every forwardable standard signal except SIGTERM (saved for the end), the
/// two never forwarded (TTIN, TTOU), fake SIGCHLDs, and every real-time signal.
fn kinds() -> Vec<i32> {
    let mut v = vec![
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGPIPE,
        libc::SIGALRM,
        libc::SIGSTKFLT,
        libc::SIGCHLD,
        libc::SIGCONT,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGURG,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGWINCH,
        libc::SIGIO,
        libc::SIGPWR,
    ];
    v.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    v
}

struct KillOnDrop(PidFd);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(libc::SIGKILL);
    }
}

/// Sends `n` signals cycling through `kinds`; returns (delivered, refused with EAGAIN).
fn storm(fd: &PidFd, kinds: &[i32], n: usize) -> (usize, usize) {
    let (mut ok, mut again) = (0, 0);
    for sig in kinds.iter().cycle().take(n) {
        match fd.send(*sig) {
            Ok(()) => ok += 1,
            Err(libc::EAGAIN) => again += 1,
            Err(e) => panic!("sending {sig}: errno {e}"),
        }
    }
    (ok, again)
}

/// Waits until `pid` has nothing pending and sleeps, twice in a row. The deadline is long:
/// once a storm has filled the real-time queue (RLIMIT_SIGPENDING), each dequeue costs the
/// kernel a walk of that queue and the drain takes minutes on a loaded machine.
fn quiescent(pid: i32) {
    let end = Instant::now() + Duration::from_secs(900);
    let mut calm = 0;
    while calm < 2 {
        let idle = ["SigPnd", "ShdPnd"]
            .iter()
            .all(|f| proc_status(pid, f).is_some_and(|v| v.trim_start_matches('0').is_empty()))
            && proc_status(pid, "State").is_some_and(|s| s.starts_with('S'));
        calm = if idle { calm + 1 } else { 0 };
        assert!(
            Instant::now() < end,
            "tini-rs did not drain its pending signals"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn signal_storm_then_sigterm_exits_143_with_memory_unchanged() {
    let n = std::env::var("TINI_RS_STORM_SIGNALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full() { 1_000_000 } else { 50_000 });
    let p = public();
    let mut c = Command::new("unshare");
    c.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
        .args(["setpriv", "--reuid", STORM_UID, "--regid", STORM_UID])
        .args([
            "--clear-groups",
            &p.bin,
            "--",
            python(),
            &p.hostile,
            "storm",
        ]);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TINI_") {
            c.env_remove(k);
        }
    }
    c.stdin(Stdio::null());
    let mut proc = Proc::spawn(c);
    proc.wait_prefix("ready");
    let tini = inner_tini(proc.pid());
    // setpriv's change of user clears the parent-death signal that `unshare --kill-child`
    // set, so a failing test must end the namespace itself: SIGKILL to its init, by pidfd.
    let guard = KillOnDrop(PidFd::open(tini));
    let fd = &guard.0;
    let kinds = kinds();

    // Warm-up: the forwarding code's pages are faulted in before the first measurement.
    storm(fd, &kinds, 2 * kinds.len() * 10);
    quiescent(tini);
    let (rss0, anon0) = (kib(tini, "VmRSS"), kib(tini, "RssAnon"));
    let start = Instant::now();
    let (sent, refused) = storm(fd, &kinds, n);
    let took = start.elapsed();
    quiescent(tini);
    let (rss1, anon1) = (kib(tini, "VmRSS"), kib(tini, "RssAnon"));

    fd.send(libc::SIGTERM).unwrap();
    let term = proc.wait_prefix("term after");
    let out = proc.finish();
    assert_eq!(out.code(), 143, "{out}");
    eprintln!(
        "signal storm: {n} sent in {took:?} ({sent} queued, {refused} refused with EAGAIN), \
         program: '{term}'; tini-rs VmRSS {rss0} -> {rss1} KiB, RssAnon {anon0} -> {anon1} KiB; \
         {} warning lines",
        count(&out.stderr, "WARN")
    );
    assert!(
        rss1.abs_diff(rss0) <= 8,
        "VmRSS {rss0} -> {rss1} KiB\n{out}"
    );
    // Only failed deliveries (the program's real-time queue full) may be logged.
    for l in out.stderr.lines() {
        assert!(l.contains("Resource temporarily unavailable"), "{l}\n{out}");
    }
}

#[test]
fn orphan_stream_leaves_no_zombie_and_pids_are_reused() {
    let n: usize = if full() { 100_000 } else { 5_000 };
    let cg = Cgroup::new(300);
    if cg.is_none() {
        eprintln!("no pids cgroup controller: the orphan stream runs without a pids limit");
        assert!(!full(), "the full-size orphan stream needs a pids cgroup");
    }
    let logs = TempDir::new("orphans");
    let log = logs.path("stderr");
    let n_text = n.to_string();
    let args = py_args("orphans", &[&n_text]);
    let mut all = vec!["-w", "--"];
    all.extend(args.iter().map(String::as_str));
    let base = tini(Mode::Pid1, &all);
    let mut cmd = match &cg {
        Some(cg) => cg.wrap(&base),
        None => base,
    };
    // A regular file never refuses a write, so every "Reaped" line is kept.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let limit = Duration::from_secs(if full() { 900 } else { 240 });
    let status = wait_deadline(&mut child, limit, &"orphan stream");
    let took = start.elapsed();
    let out = reader.join().unwrap();
    let err = std::fs::read_to_string(&log).unwrap();
    let show = || format!("{status:?}\n{out}\n--- stderr (head) ---\n{:.3000}", err);
    assert_eq!(status.code(), Some(0), "{}", show());
    let line = out
        .lines()
        .find(|l| l.starts_with("orphans "))
        .unwrap_or_else(|| panic!("no summary\n{}", show()));
    let f: Vec<usize> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let (made, distinct) = (f[0], f[1]);
    assert_eq!(made, n, "{}", show());
    let reaped = count(&err, "Reaped zombie process with pid=");
    assert_eq!(reaped, n, "every orphan reaped by tini-rs\n{}", show());
    assert!(distinct < n, "PIDs were reused: {line}");
    eprintln!(
        "orphan stream: {made} orphans in {took:?}, {distinct} distinct PIDs, {reaped} reaped \
         by tini-rs, none left; refused forks {:?}",
        cg.as_ref().and_then(Cgroup::max_events)
    );
}
