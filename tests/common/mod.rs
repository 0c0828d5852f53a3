//! Shared harness for the integration tests: runs the real tini-rs binary as a plain process
//! or as PID 1 of a new PID namespace, with `TINI_*` cleared, and cleans up by PID.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait in a test may take before the test fails (generous: the
/// machines are shared). Tests never sleep a fixed time; they wait for output or /proc.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tini-rs")
}

/// A test helper script in tests/helpers.
pub fn helper(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "helpers", name]
        .iter()
        .collect();
    p.to_string_lossy().into_owned()
}

/// How tini-rs is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A plain process (PID != 1).
    Plain,
    /// PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc --kill-child`).
    Pid1,
}

pub const MODES: [Mode; 2] = [Mode::Plain, Mode::Pid1];

/// A `Command` that runs tini-rs with `args` in `mode`, with every `TINI_*` variable removed.
pub fn tini(mode: Mode, args: &[&str]) -> Command {
    let mut c = match mode {
        Mode::Plain => Command::new(bin()),
        Mode::Pid1 => {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
                .arg(bin());
            c
        }
    };
    c.args(args);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TINI_") {
            c.env_remove(&k);
        }
    }
    c
}

/// The result of a finished run.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The exit code; fails the test if the process was killed by a signal.
    pub fn code(&self) -> i32 {
        match self.status.code() {
            Some(c) => c,
            None => panic!("killed by signal {:?}\n{self}", self.status.signal()),
        }
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` to completion (stdin null) within [`DEADLINE`], killing it if it hangs.
pub fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null());
    let p = Proc::spawn(cmd);
    p.finish()
}

/// A running process whose stdout is read line by line; killed (by PID) on drop.
pub struct Proc {
    pub child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Proc {
    /// Spawns `cmd` with piped stdout and stderr (stdin as set by the caller).
    pub fn spawn(mut cmd: Command) -> Proc {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let out: ChildStdout = child.stdout.take().unwrap();
        let err: ChildStderr = child.stderr.take().unwrap();
        let (tx, rx) = channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = BufReader::new(err).read_to_string(&mut s);
            s
        });
        Proc {
            child,
            lines: rx,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for the next stdout line that satisfies `pred`; returns it.
    pub fn wait_line(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if pred(&l) {
                        return l;
                    }
                }
                Err(_) => {
                    panic!(
                        "no matching line within {DEADLINE:?}; stdout so far:\n{}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    /// Waits for a line starting with `prefix`.
    pub fn wait_prefix(&mut self, prefix: &str) -> String {
        self.wait_line(|l| l.starts_with(prefix))
    }

    /// Sends `sig` to the process itself.
    pub fn signal(&self, sig: i32) {
        kill(self.pid(), sig);
    }

    /// Waits (within the deadline) for exit and collects the rest of the output.
    pub fn finish(mut self) -> Output {
        let end = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "process did not exit within {DEADLINE:?}; stdout:\n{}",
                    self.seen.join("\n")
                );
            }
            thread::sleep(Duration::from_millis(5));
        };
        let mut rest: Vec<String> = std::mem::take(&mut self.seen);
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            rest.push(l);
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        Output {
            status,
            stdout: rest.join("\n"),
            stderr,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `kill(pid, sig)`, failing the test on error other than ESRCH.
pub fn kill(pid: i32, sig: i32) {
    let rc = unsafe_free_kill(pid, sig);
    assert!(
        rc.is_ok() || rc == Err(nix::errno::Errno::ESRCH),
        "kill({pid}, {sig}): {rc:?}"
    );
}

fn unsafe_free_kill(pid: i32, sig: i32) -> Result<(), nix::errno::Errno> {
    // Test code reuses the crate's own safe wrapper.
    tini_rs::sys::kill(pid, sig)
}

/// Polls `f` until it returns `Some` or the deadline passes.
pub fn poll_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// A field of /proc/PID/status (e.g. "State", "SigBlk"), if the process exists.
pub fn proc_status(pid: i32, field: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .map(|v| v.trim().to_string())
}

/// Direct children of `pid` (from /proc/PID/task/*/children).
pub fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    out
}

/// Whether any argument of `cmd` equals `needle` (handy for assertions on commands).
pub fn has_arg(cmd: &Command, needle: &str) -> bool {
    cmd.get_args().any(|a| a == OsStr::new(needle))
}

/// The only child of `pid`, waiting (within the deadline) until it has exactly one.
pub fn only_child(pid: i32) -> i32 {
    poll_until(&format!("the only child of {pid}"), || {
        match children(pid).as_slice() {
            [c] => Some(*c),
            _ => None,
        }
    })
}

/// The PID of tini-rs itself for a process started with [`tini`]: the process in
/// `Mode::Plain`; in `Mode::Pid1`, unshare's child, seen with its PID in this namespace, so
/// it can be signalled and read in /proc from here.
pub fn tini_pid(p: &Proc, mode: Mode) -> i32 {
    match mode {
        Mode::Plain => p.pid(),
        Mode::Pid1 => only_child(p.pid()),
    }
}

/// SIGKILLs the listed PIDs on drop unless they are already gone: cleans up programs and
/// grandchildren that outlive a killed plain-mode tini-rs when a test fails.
pub struct KillOnDrop(pub Vec<i32>);

impl KillOnDrop {
    /// Forgets the PIDs once they are known to be gone (a later kill could hit a reused PID).
    pub fn disarm(mut self) {
        self.0.clear();
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if proc_status(pid, "State").is_some_and(|s| !s.starts_with('Z')) {
                let _ = tini_rs::sys::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Signal numbers from a /proc/PID/status mask field (e.g. "SigBlk": hex, bit N-1 is
/// signal N), or `None` if the process or field is missing.
pub fn proc_sigset(pid: i32, field: &str) -> Option<Vec<i32>> {
    let hex = proc_status(pid, field)?;
    let bits = u64::from_str_radix(&hex, 16).ok()?;
    Some((1..=64).filter(|n| bits & (1u64 << (n - 1)) != 0).collect())
}

/// A fresh directory under the system temp dir for one test's files, removed on drop. Its
/// path is unique (test process PID, a counter, a tag), so it also marks what a test made.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(tag: &str) -> ScratchDir {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("tini-rs-test-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {dir:?}: {e}"));
        ScratchDir(dir)
    }

    /// The path of `name` inside the directory, as a string for command lines.
    pub fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The contents of a text file, empty if it does not exist (yet).
pub fn read_text(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Every live descendant of `pid` (from /proc/PID/task/*/children, recursively).
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in children(p) {
            if !out.contains(&c) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

/// The PID, in this namespace, of the descendant of `root` that has PID `ns_pid` in its own
/// (innermost) PID namespace; waits for it within the deadline.
pub fn host_pid_of(root: i32, ns_pid: i32) -> i32 {
    poll_until(
        &format!("a descendant of {root} with namespace PID {ns_pid}"),
        || {
            descendants(root).into_iter().find(|&p| {
                proc_status(p, "NSpid")
                    .and_then(|v| v.split_whitespace().last().map(str::to_string))
                    .is_some_and(|last| last == ns_pid.to_string())
            })
        },
    )
}

/// Waits until `pid` sleeps in `sigtimedwait`: an init blocked its signals, finished its
/// set-up and entered its wait loop.
pub fn wait_sigtimedwait(pid: i32) {
    poll_until(&format!("{pid} to wait in sigtimedwait"), || {
        std::fs::read_to_string(format!("/proc/{pid}/wchan"))
            .ok()
            .filter(|w| w.contains("sigtimedwait"))
    });
}

/// Polls until tini-rs has taken every pending SIGCHLD and sleeps in its wait again.
pub fn wait_until_tini_is_idle(tini: i32) {
    poll_until("tini-rs to take SIGCHLD and sleep", || {
        let pending = [proc_sigset(tini, "SigPnd")?, proc_sigset(tini, "ShdPnd")?];
        let state = proc_status(tini, "State")?;
        let chld = libc::SIGCHLD;
        (state.starts_with('S') && !pending.iter().any(|p| p.contains(&chld))).then_some(())
    });
}
