//! The one harness of the integration tests: starts the real binary as a plain process or as
//! PID 1 of a new PID namespace with `TINI_*` cleared, reads its output with a deadline, finds
//! processes in /proc, and cleans up what a test started by pidfd. One name for each concept:
//!
//! - [`Mode`]: plain process or PID 1; [`in_mode`] runs any command so, [`tini`] runs tini-rs.
//! - [`Proc`]: a running process whose output is read as it comes; [`run`] runs one to the end;
//!   [`Output`]: what a finished one printed, byte for byte (and as text).
//! - [`Proc::tini`]: tini-rs's PID as seen from here, the one way to find it.
//! - [`KillOnDrop`]: SIGKILLs, through pidfds, whatever a test started that may outlive it.
//! - [`ScratchDir`]: a private directory for one test's files.
//! - [`helper`]: tests/integration/helper.py, the programs tini-rs runs in the tests.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait of a test may take before the test fails (generous: the machines
/// are shared). Tests never sleep a fixed time; they wait for output or poll /proc.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tini-rs")
}

/// The Python interpreter, one that other users can run too (a per-user shim may not be).
pub fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// The path of tests/integration/helper.py.
pub fn helper_path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/helper.py").to_string()
}

/// `python3 helper.py MODE ARGS...` as an argument list (see helper.py for the modes).
pub fn helper(args: &[&str]) -> Vec<String> {
    let mut v = vec![python().to_string(), helper_path()];
    v.extend(args.iter().map(ToString::to_string));
    v
}

/// How tini-rs (or any command) is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A plain process (PID != 1).
    Plain,
    /// PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc --kill-child`).
    Pid1,
    /// A plain process too, but inside a new PID namespace whose PID 1 is a shell: for the
    /// subreaper tests that make hundreds of processes, which must not run on the bare
    /// machine. Not in [`MODES`].
    InNamespace,
}

pub const MODES: [Mode; 2] = [Mode::Plain, Mode::Pid1];

/// Removes every `TINI_*` variable of the test's own environment from `cmd`.
pub fn clear_tini_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TINI_") {
            cmd.env_remove(&k);
        }
    }
}

/// Debian's tini (installed by `.ci/run`): the reference for what tini really does.
pub fn reference_tini() -> &'static str {
    ["/usr/bin/tini-static", "/usr/bin/tini"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("Debian's tini package (apt-get install tini)")
}

/// The full path of `prog` in the test's own PATH (a test may give the command another
/// PATH, which `Command` would then search).
pub fn which(prog: &str) -> String {
    if prog.contains('/') {
        return prog.to_string();
    }
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{prog} not found"))
        .to_string_lossy()
        .into_owned()
}

/// `argv` run in `mode`: itself, or as PID 1 of a new PID namespace; `TINI_*` cleared.
pub fn in_mode<S: AsRef<OsStr>>(mode: Mode, argv: &[S]) -> Command {
    let (first, rest) = argv.split_first().expect("a program");
    let mut c = match mode {
        Mode::Plain => Command::new(first),
        Mode::Pid1 | Mode::InNamespace => {
            let mut c = Command::new(which("unshare"));
            c.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"]);
            if mode == Mode::InNamespace {
                // The shell waits for its command (no exec: a command follows it).
                c.args(["sh", "-c", "\"$@\"; exit $?", "sh"]);
            }
            c.arg(first);
            c
        }
    };
    c.args(rest);
    clear_tini_env(&mut c);
    c
}

/// tini-rs with `args`, in `mode`.
pub fn tini(mode: Mode, args: &[&str]) -> Command {
    in_mode(mode, &[&[bin()], args].concat())
}

/// tini-rs with `args`, `-s` first when plain: a subreaper, so orphans and daemons are
/// re-parented to it as they are to PID 1.
pub fn tini_s(mode: Mode, args: &[&str]) -> Command {
    match mode {
        Mode::Pid1 => tini(mode, args),
        Mode::Plain | Mode::InNamespace => tini(mode, &[&["-s"], args].concat()),
    }
}

/// `opts -- program...`: tini-rs's arguments to run `program`.
pub fn args_for<'a>(opts: &[&'a str], program: &'a [String]) -> Vec<&'a str> {
    let mut v = opts.to_vec();
    v.push("--");
    v.extend(program.iter().map(String::as_str));
    v
}

/// `prefix... <cmd's program> <cmd's args>`, keeping `cmd`'s environment changes and
/// directory: a wrapper that sets something up and then execs `cmd`.
pub fn wrap<S: AsRef<OsStr>>(prefix: &[S], cmd: &Command) -> Command {
    let (first, rest) = prefix.split_first().expect("a wrapper");
    let mut c = Command::new(first);
    c.args(rest).arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        c.current_dir(d);
    }
    c
}

/// `setpriv` arguments that run a command as nobody (uid 65534), as a container's non-root
/// `USER`.
pub const AS_NOBODY: [&str; 5] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--",
];

/// tini-rs (plain) with `args` under `strace -qq -o LOG TRACE...`: the command and the path of
/// the trace it writes, a file in `dir`.
pub fn under_strace(dir: &ScratchDir, trace: &[&str], args: &[&str]) -> (Command, String) {
    let log = dir.file("trace");
    let prefix = [&["strace", "-qq", "-o", &log], trace].concat();
    (wrap(&prefix, &tini(Mode::Plain, args)), log)
}

/// What a finished process printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    /// Standard output, byte for byte.
    pub stdout_bytes: Vec<u8>,
    /// Standard output as text (invalid UTF-8 replaced).
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

/// Runs `cmd` to completion (stdin null unless set) within [`DEADLINE`].
pub fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null());
    Proc::spawn(cmd).finish()
}

/// A running process whose stdout is read line by line as it comes; killed on drop.
pub struct Proc {
    pub child: Child,
    lines: Receiver<Vec<u8>>,
    /// Every stdout byte taken from `lines` so far.
    seen: Vec<u8>,
    stderr: Option<Receiver<Vec<u8>>>,
}

/// Reads `r` in a thread and hands out pieces ending at `\n` (or at EOF).
fn reader(r: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = channel();
    thread::spawn(move || {
        let mut r = BufReader::new(r);
        loop {
            let mut piece = Vec::new();
            match r.read_until(b'\n', &mut piece) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(piece).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// Takes what `rx` still has: until its writer closes, or nothing came for `quiet` (a
/// process that outlives the one we ran may hold the pipe open).
fn rest(rx: &Receiver<Vec<u8>>, quiet: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(piece) = rx.recv_timeout(quiet) {
        out.extend(piece);
    }
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Proc {
    /// Spawns `cmd` with stdout and stderr piped (stdin as set by the caller).
    pub fn spawn(mut cmd: Command) -> Proc {
        cmd.stderr(Stdio::piped());
        Proc::spawn_with_stderr(cmd, None)
    }

    /// Spawns `cmd` with stdout piped and stderr as set by the caller (`None`: already set,
    /// piped, and read).
    pub fn spawn_with_stderr(mut cmd: Command, stderr: Option<Stdio>) -> Proc {
        let own_stderr = stderr.is_none();
        if let Some(s) = stderr {
            cmd.stderr(s);
        }
        cmd.stdout(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let lines = reader(child.stdout.take().unwrap());
        let stderr = if own_stderr {
            child.stderr.take().map(reader)
        } else {
            None
        };
        Proc {
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// A process started elsewhere whose output is read from `output` (a terminal's master
    /// side, say); it has no stderr of its own.
    pub fn with_output(child: Child, output: impl Read + Send + 'static) -> Proc {
        Proc {
            child,
            lines: reader(output),
            seen: Vec::new(),
            stderr: None,
        }
    }

    /// The PID of the process we started (unshare's, as PID 1).
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// tini-rs's PID as seen from here: the process itself when plain (a wrapper that set
    /// something up has exec'd it by the time a test asks), else unshare's child (or the
    /// child of the namespace's shell) once it has exec'd tini-rs.
    pub fn tini(&self, mode: Mode) -> i32 {
        match mode {
            Mode::Plain => self.pid(),
            Mode::Pid1 => tini_under(self.pid()),
            Mode::InNamespace => tini_under(only_child(self.pid())),
        }
    }

    /// Waits for the next stdout line that satisfies `pred`; returns it without its line end
    /// (`\n`, or a terminal's `\r\n`).
    pub fn wait_line(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(piece) => {
                    self.seen.extend_from_slice(&piece);
                    let line = text(&piece).trim_end_matches(['\r', '\n']).to_string();
                    if pred(&line) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no matching line ({e:?}); stdout so far:\n{}",
                    text(&self.seen)
                ),
            }
        }
    }

    /// Waits for a line starting with `prefix`.
    pub fn wait_prefix(&mut self, prefix: &str) -> String {
        self.wait_line(|l| l.starts_with(prefix))
    }

    /// Waits for the very next line, whatever it is.
    pub fn next_line(&mut self) -> String {
        self.wait_line(|_| true)
    }

    /// Waits (within the deadline) for exit and collects the rest of the output.
    pub fn finish(mut self) -> Output {
        let status = wait_deadline(&mut self.child, DEADLINE, &text(&self.seen));
        let quiet = Duration::from_secs(5);
        let mut stdout_bytes = std::mem::take(&mut self.seen);
        stdout_bytes.extend(rest(&self.lines, quiet));
        let stderr = self.stderr.as_ref().map(|e| rest(e, quiet));
        Output {
            status,
            stdout: text(&stdout_bytes),
            stdout_bytes,
            stderr: text(&stderr.unwrap_or_default()),
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

/// Waits for `child` within `limit`; kills it and fails the test on a hang (`what` is shown).
pub fn wait_deadline(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let end = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process did not exit within {limit:?}; stdout:\n{what}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// `kill(pid, sig)`; the errno on failure.
#[allow(unsafe_code)]
pub fn try_kill(pid: i32, sig: i32) -> Result<(), i32> {
    // SAFETY: kill takes two integers and no pointer.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// `kill(pid, sig)`, failing the test on an error other than ESRCH. Only for processes the
/// test knows are still there (its children, or processes it has just seen).
pub fn kill(pid: i32, sig: i32) {
    let rc = try_kill(pid, sig);
    assert!(
        rc.is_ok() || rc == Err(libc::ESRCH),
        "kill({pid}, {sig}): {rc:?}"
    );
}

/// A pidfd: signals sent through it never reach a process that reused the PID.
pub struct PidFd(std::os::fd::OwnedFd);

impl PidFd {
    /// `None` when `pid` is already gone (a zombie still has a pidfd).
    #[allow(unsafe_code)]
    pub fn try_open(pid: i32) -> Option<PidFd> {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open takes a PID and flags, no pointers.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
        // SAFETY: the kernel just gave us this descriptor; nothing else owns it.
        Some(PidFd(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }))
    }

    pub fn open(pid: i32) -> PidFd {
        PidFd::try_open(pid)
            .unwrap_or_else(|| panic!("pidfd_open({pid}): {}", std::io::Error::last_os_error()))
    }

    /// Sends `sig`; the errno on failure (ESRCH once the process has exited, EAGAIN when
    /// the receiver's real-time signal queue is full).
    #[allow(unsafe_code)]
    pub fn send(&self, sig: i32) -> Result<(), i32> {
        use std::os::fd::AsRawFd;
        let null = std::ptr::null::<libc::siginfo_t>();
        // SAFETY: a null siginfo is allowed (the kernel fills in a kill()-like one).
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                sig,
                null,
                0,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        }
    }
}

/// SIGKILLs, on drop, the processes it was given that are still there: programs, daemons and
/// grandchildren that would outlive a failed test (as PID 1, the namespace goes with tini-rs).
/// Through pidfds opened when the PIDs were added, so a reused PID is never hit.
#[derive(Default)]
pub struct KillOnDrop(Vec<PidFd>);

impl KillOnDrop {
    pub fn new(pids: &[i32]) -> KillOnDrop {
        let mut k = KillOnDrop::default();
        for &pid in pids {
            k.add(pid);
        }
        k
    }

    /// A guard for `pids` in plain mode; none as PID 1, where the PIDs a program reports
    /// are the namespace's, and everything in it dies with tini-rs anyway.
    pub fn if_plain(mode: Mode, pids: &[i32]) -> KillOnDrop {
        match mode {
            Mode::Plain => KillOnDrop::new(pids),
            Mode::Pid1 | Mode::InNamespace => KillOnDrop::default(),
        }
    }

    /// Only PIDs valid in this namespace make sense here.
    pub fn add(&mut self, pid: i32) {
        self.0.extend(PidFd::try_open(pid));
    }

    /// Kills them now (a process that outlives tini-rs by design, once checked).
    pub fn kill_now(&mut self) {
        for fd in self.0.drain(..) {
            let _ = fd.send(libc::SIGKILL);
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill_now();
    }
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

/// A field of /proc/PID/status (e.g. `State`, `SigBlk`), if the process exists.
pub fn proc_status(pid: i32, field: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .map(|v| v.trim().to_string())
}

/// Signal numbers in a mask written as hex (bit N-1 is signal N).
pub fn sigset(hex: &str) -> Vec<i32> {
    let bits = u64::from_str_radix(hex.trim(), 16).unwrap_or_else(|e| panic!("{hex:?}: {e}"));
    (1..=64).filter(|n| bits & (1u64 << (n - 1)) != 0).collect()
}

/// Signal numbers of a /proc/PID/status mask field (`SigBlk`, `SigCgt`, ...).
pub fn proc_sigset(pid: i32, field: &str) -> Option<Vec<i32>> {
    proc_status(pid, field).map(|h| sigset(&h))
}

/// Whether `sig` is pending for `pid` (for a thread or the whole process).
pub fn pending(pid: i32, sig: i32) -> bool {
    ["SigPnd", "ShdPnd"]
        .iter()
        .any(|f| proc_sigset(pid, f).is_some_and(|s| s.contains(&sig)))
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    proc_status(pid, "State").is_some_and(|s| !s.starts_with('Z'))
}

/// Whether `pid` is stopped (state T).
pub fn stopped(pid: i32) -> bool {
    proc_status(pid, "State").is_some_and(|s| s.starts_with('T'))
}

/// /proc/PID/comm.
pub fn comm(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// A memory figure of /proc/PID/status in KiB (e.g. `VmRSS`).
pub fn kib(pid: i32, field: &str) -> u64 {
    proc_status(pid, field)
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("no {field} for {pid}"))
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

/// Every live descendant of `pid`.
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

/// The only child of `pid`, waiting (within the deadline) until it has exactly one.
pub fn only_child(pid: i32) -> i32 {
    poll_until(&format!("the only child of {pid}"), || {
        match children(pid).as_slice() {
            [c] => Some(*c),
            _ => None,
        }
    })
}

/// The child of `pid` that runs tini-rs (its `comm`), waiting until it has exec'd it.
pub fn tini_under(pid: i32) -> i32 {
    poll_until(&format!("tini-rs under {pid}"), || {
        children(pid)
            .into_iter()
            .find(|c| comm(*c).as_deref() == Some("tini-rs"))
    })
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

/// The timeout argument of the `rt_sigtimedwait` that `pid` sleeps in (`x86_64`: syscall 128,
/// third argument), once it sleeps there: "0x0" means it waits without a timeout, so it never
/// wakes up by itself.
pub fn sigtimedwait_timeout(pid: i32) -> String {
    poll_until("tini-rs to sleep in rt_sigtimedwait", || {
        let s = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
        let f: Vec<&str> = s.split_whitespace().collect();
        (f.first() == Some(&"128")).then(|| f.get(3).copied().unwrap_or("").to_string())
    })
}

/// Waits until tini-rs has taken every pending SIGCHLD and sleeps in its wait again.
pub fn wait_until_tini_is_idle(tini: i32) {
    poll_until("tini-rs to take SIGCHLD and sleep", || {
        let state = proc_status(tini, "State")?;
        (state.starts_with('S') && !pending(tini, libc::SIGCHLD)).then_some(())
    });
}

/// The numbers after the first word of a line like `daemon 12 11 1` or `ready 5 5`.
pub fn numbers(line: &str) -> Vec<i32> {
    line.split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

/// Lines of `text` that contain `needle`.
pub fn count(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

/// Checks that every line of `stderr` is `[LEVEL tini-rs (pid)] message`, LEVEL padded to
/// five characters, message not empty; returns the lines.
pub fn log_lines(stderr: &str, pid: i32) -> Vec<&str> {
    let lines: Vec<&str> = stderr.lines().collect();
    for l in &lines {
        let level = l.get(1..6).unwrap_or("");
        assert!(
            l.starts_with('[') && ["ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"].contains(&level),
            "bad level in {l:?}\n{stderr}"
        );
        let msg = l
            .get(6..)
            .and_then(|r| r.strip_prefix(&format!(" tini-rs ({pid})] ")))
            .unwrap_or_else(|| panic!("bad prefix (pid {pid}) in {l:?}"));
        assert!(!msg.trim().is_empty(), "empty message: {l:?}");
    }
    lines
}

/// A fresh directory under the system temp dir for one test's files (mode 755, so another
/// user can use what is in it), removed on drop.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(tag: &str) -> ScratchDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("tini-rs-test-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        ScratchDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path of `name` inside the directory, as a string for command lines.
    pub fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }

    /// Writes `bytes` to `name` with permission bits `mode`; returns its path.
    pub fn write(&self, name: &str, bytes: &[u8], mode: u32) -> String {
        let p = self.file(name);
        std::fs::write(&p, bytes).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
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

/// Copies of the binary and of helper.py that any user can execute (the build tree may not
/// be reachable for them).
pub struct Public {
    pub bin: String,
    pub helper: String,
    _dir: ScratchDir,
}

pub fn public() -> Public {
    let dir = ScratchDir::new("public");
    let bin = dir.write("tini-rs", &std::fs::read(bin()).unwrap(), 0o755);
    let helper = dir.write("helper.py", &std::fs::read(helper_path()).unwrap(), 0o755);
    Public {
        bin,
        helper,
        _dir: dir,
    }
}

/// Whether the full-size runs were asked for (`TINI_RS_FULL=1`).
pub fn full() -> bool {
    std::env::var_os("TINI_RS_FULL").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A child cgroup of the pids controller with `pids.max` set; processes started through
/// [`Cgroup::wrap`] run in it. On drop every process left in it gets SIGKILL (they are all
/// the test's) and the cgroup removed.
pub struct Cgroup {
    dir: PathBuf,
}

/// The pids controller's mount: cgroup v2 (with `pids` enabled for children) or v1.
fn pids_root() -> Option<PathBuf> {
    let v2 = Path::new("/sys/fs/cgroup");
    if std::fs::read_to_string(v2.join("cgroup.subtree_control"))
        .is_ok_and(|s| s.split_whitespace().any(|c| c == "pids"))
    {
        return Some(v2.to_path_buf());
    }
    let v1 = Path::new("/sys/fs/cgroup/pids");
    v1.join("cgroup.procs").exists().then(|| v1.to_path_buf())
}

impl Cgroup {
    /// `None` when no writable pids controller exists (the caller then says why it skips).
    pub fn new(limit: u32) -> Option<Cgroup> {
        static N: AtomicU32 = AtomicU32::new(0);
        let root = pids_root()?;
        let dir = root.join(format!(
            "tini-rs-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).ok()?;
        let cg = Cgroup { dir };
        std::fs::write(cg.dir.join("pids.max"), limit.to_string()).ok()?;
        Some(cg)
    }

    /// `cmd` started as `sh -c 'echo $$ > cgroup.procs && exec "$@"'`, so it is in the
    /// cgroup from its first instruction.
    pub fn wrap(&self, cmd: &Command) -> Command {
        let procs = self.dir.join("cgroup.procs");
        let prefix: [&OsStr; 4] = [
            "/bin/sh".as_ref(),
            "-c".as_ref(),
            "echo $$ > \"$0\" && exec \"$@\"".as_ref(),
            procs.as_os_str(),
        ];
        wrap(&prefix, cmd)
    }

    fn procs(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// How often a fork failed because of the limit (`pids.events` max counter).
    pub fn max_events(&self) -> Option<u64> {
        let s = std::fs::read_to_string(self.dir.join("pids.events")).ok()?;
        s.lines()
            .find_map(|l| l.strip_prefix("max "))
            .and_then(|n| n.trim().parse().ok())
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            for p in self.procs() {
                let _ = try_kill(p, libc::SIGKILL);
            }
            if std::fs::remove_dir(&self.dir).is_ok() || Instant::now() > end {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The harness itself: tini-rs runs as a plain process and as PID 1 (its program is PID 2).
#[test]
fn the_harness_runs_tini_rs_plain_and_as_pid1() {
    for mode in MODES {
        let out = run(tini(mode, &["--", "sh", "-c", "echo pid=$$; exit 5"]));
        assert_eq!(out.code(), 5, "{mode:?}\n{out}");
        if mode == Mode::Pid1 {
            assert_eq!(out.stdout, "pid=2\n", "{out}");
        }
    }
}
