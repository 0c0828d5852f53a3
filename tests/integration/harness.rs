//! The one harness of the integration tests: starts the real binary as a plain process or as
//! PID 1 of a new PID namespace with `TINI_*` cleared, reads its output with a deadline, finds
//! processes in /proc, and cleans up what a test started by pidfd. One name for each concept:
//!
//! - [`Mode`]: plain process or PID 1; [`in_mode`] runs any command so, [`tini`] runs tini-rs.
//! - [`command`]: every command a test starts runs under a [`Keeper`] of its own
//!   (tests/integration/keeper.c), a child subreaper that nothing the command leaves behind can
//!   escape; dropping the `Keeper` SIGKILLs the whole tree by pidfd, whatever tini-rs did.
//! - [`Proc`]: a running process whose output is read as it comes; [`run`] runs one to the end;
//!   [`Output`]: what a finished one printed, byte for byte (and as text).
//! - [`Proc::tini`]: tini-rs's PID as seen from here, the one way to find it.
//! - [`deadline`]: the bound of every wait; [`KillOnDrop`]: SIGKILLs, through pidfds, what a
//!   test started outside a keeper's tree (processes it found and must not leave).
//! - [`ScratchDir`]: a private directory for one test's files.
//! - [`helper`]: tests/integration/helper.py, the programs tini-rs runs in the tests.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

/// The bound of a wait while every wait so far came in time: generous, since the machines are
/// shared and loaded, yet a test of a binary that exits at once, never exits or ignores
/// signals fails within it. The slowest wait of a healthy run on a loaded 2-core machine
/// (tests/README.md) is far below it. `TINI_RS_TEST_DEADLINE=SECONDS` replaces it.
const GENEROUS: Duration = Duration::from_secs(20);

/// The bound of a wait once some wait of this test run has timed out: the binary is broken
/// (or the machine stuck) and the run has failed already, so the other tests need not wait
/// generously for it. This keeps a broken binary's run of the whole suite to about a minute
/// instead of a timeout per test (146 tests x 20 s) on a loaded machine.
const AFTER_A_TIMEOUT: Duration = Duration::from_millis(300);

static TIMED_OUT: AtomicBool = AtomicBool::new(false);

/// How long the next wait may take before the test fails. Tests never sleep a fixed time;
/// they wait for output or poll /proc, each wait bounded by this.
pub fn deadline() -> Duration {
    static BASE: OnceLock<Duration> = OnceLock::new();
    patient(*BASE.get_or_init(|| {
        match std::env::var("TINI_RS_TEST_DEADLINE") {
            Ok(v) => Duration::from_secs(
                v.parse()
                    .unwrap_or_else(|e| panic!("TINI_RS_TEST_DEADLINE={v:?}: {e}")),
            ),
            Err(_) => GENEROUS,
        }
    }))
}

/// The bound of a wait known to take long in a healthy run (`long`), cut to
/// [`AFTER_A_TIMEOUT`] once a wait of the run has timed out.
pub fn patient(long: Duration) -> Duration {
    if TIMED_OUT.load(Ordering::Relaxed) {
        AFTER_A_TIMEOUT
    } else {
        long
    }
}

/// One bounded wait: over when its limit has passed, or, once another wait of the run has
/// timed out, after [`AFTER_A_TIMEOUT`] (a wait in progress is cut short too).
pub struct Wait {
    start: Instant,
    limit: Duration,
}

impl Wait {
    /// A wait bounded by `limit` (usually [`deadline`]) from now.
    pub fn new(limit: Duration) -> Wait {
        Wait {
            start: Instant::now(),
            limit,
        }
    }

    /// How long it may still go on.
    pub fn left(&self) -> Duration {
        patient(self.limit).saturating_sub(self.start.elapsed())
    }

    /// Fails the test if the wait is over (`what` says what it waited for); every later
    /// wait of the run is then cut to [`AFTER_A_TIMEOUT`].
    pub fn check(&self, what: &str) {
        if self.left().is_zero() {
            TIMED_OUT.store(true, Ordering::Relaxed);
            panic!(
                "timed out after {:?} waiting for {what}",
                self.start.elapsed()
            );
        }
    }
}

/// The binary under test: `TINI_RS_TEST_BIN` when set (tests/broken-binary.sh points the
/// suite at deliberately broken ones), else the one cargo built.
pub fn bin() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("TINI_RS_TEST_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_tini-rs").to_string())
    })
}

/// The keeper (tests/integration/keeper.c), compiled once per test run next to the build.
fn keeper_bin() -> &'static str {
    static KEEPER: OnceLock<String> = OnceLock::new();
    KEEPER.get_or_init(|| {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/keeper.c");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let out = dir.join("keeper");
        // Built under a name of our own and renamed: another test run may be using `out`.
        let tmp = dir.join(format!("keeper.{}", std::process::id()));
        let st = Command::new("gcc")
            .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&tmp)
            .arg(src)
            .status()
            .unwrap_or_else(|e| panic!("gcc (apt-get install gcc libc6-dev): {e}"));
        assert!(st.success(), "gcc {src}: {st}");
        std::fs::rename(&tmp, &out).unwrap();
        out.to_string_lossy().into_owned()
    })
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

/// `argv` as a command to start with [`Proc::spawn`], [`run`] or [`Keeper::spawn`]: the
/// keeper, then `argv` (see [`Keeper`]). Set its environment, directory and standard streams
/// as those of `argv`: the keeper passes them all on.
pub fn command<S: AsRef<OsStr>>(argv: &[S]) -> Command {
    let mut c = Command::new(keeper_bin());
    c.arg(Keeper::new_file());
    c.args(argv);
    c
}

/// `argv` run in `mode`: itself, or as PID 1 of a new PID namespace; `TINI_*` cleared; under
/// a keeper ([`command`]).
pub fn in_mode<S: AsRef<OsStr>>(mode: Mode, argv: &[S]) -> Command {
    let (first, rest) = argv.split_first().expect("a program");
    let mut c = match mode {
        Mode::Plain => command(&[first]),
        Mode::Pid1 | Mode::InNamespace => {
            let mut c = command(&[which("unshare")]);
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
/// directory: a wrapper that sets something up and then execs `cmd`. The keeper of a
/// [`command`] stays outermost: `keeper FILE prefix... program args`.
pub fn wrap<S: AsRef<OsStr>>(prefix: &[S], cmd: &Command) -> Command {
    assert!(!prefix.is_empty(), "a wrapper");
    let mut args = cmd.get_args();
    let mut c = if cmd.get_program() == OsStr::new(keeper_bin()) {
        let mut c = Command::new(keeper_bin());
        c.arg(args.next().expect("the keeper's file"));
        c.args(prefix);
        c
    } else {
        let mut c = Command::new(&prefix[0]);
        c.args(&prefix[1..]).arg(cmd.get_program());
        c
    };
    c.args(args);
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

/// The keeper of one command started by a test (tests/integration/keeper.c): a child
/// subreaper that forks and execs the command, reports its PID and its wait status through a
/// file, and then stays, reaping nothing (the command's PID stays reserved while the test may
/// still signal it), so whatever the command's tree leaves behind is re-parented to it and
/// keeps its PID. Dropping the `Keeper` SIGKILLs, by pidfd, every
/// live child of the keeper until none is left (tini-rs's programs and daemons included,
/// whatever tini-rs did), then the keeper. As PID 1, the namespace goes with unshare.
pub struct Keeper {
    /// The keeper process; its standard streams are the command's.
    child: Child,
    /// The command's PID.
    pid: i32,
    file: PathBuf,
    status: Option<ExitStatus>,
}

impl Keeper {
    /// A fresh path for a keeper's report.
    fn new_file() -> PathBuf {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("tini-rs-keeper-{}-{n}", std::process::id()))
    }

    /// Starts `cmd`, made by [`command`] or [`in_mode`], and waits for the command's PID.
    pub fn spawn(mut cmd: Command) -> Keeper {
        assert_eq!(
            cmd.get_program(),
            OsStr::new(keeper_bin()),
            "start commands with harness::command or harness::in_mode: {cmd:?}"
        );
        let file = PathBuf::from(cmd.get_args().next().expect("the keeper's file"));
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let mut k = Keeper {
            child,
            pid: 0,
            file,
            status: None,
        };
        let wait = Wait::new(deadline());
        k.pid = loop {
            if let Some(pid) = k.report("pid") {
                break pid;
            }
            if let Some(s) = k.child.try_wait().unwrap() {
                panic!("the keeper of {cmd:?} failed: {s}");
            }
            wait.check(&format!("the keeper to start {cmd:?}"));
            thread::sleep(Duration::from_millis(1));
        };
        k
    }

    /// The number after `key` in the keeper's report, once it is there.
    fn report(&self, key: &str) -> Option<i32> {
        let text = std::fs::read_to_string(&self.file).ok()?;
        text.lines()
            .filter(|_| text.ends_with('\n'))
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
    }

    /// The command's PID.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The command's exit status, once it has exited (the keeper has reaped it).
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.report("status").map(ExitStatus::from_raw);
        }
        self.status
    }

    /// Waits within `limit` for the command to exit; fails the test on a hang (`what` is
    /// shown). Whatever it leaves stays until the `Keeper` is dropped.
    pub fn wait(&mut self, limit: Duration, what: &str) -> ExitStatus {
        let wait = Wait::new(limit);
        loop {
            if let Some(s) = self.try_status() {
                return s;
            }
            wait.check(&format!("the process to exit; stdout:\n{what}"));
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// The pipe to the command's stdin, if piped.
    pub fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.child.stdin.take()
    }

    /// The pipe from the command's stdout, if piped.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }

    /// SIGKILLs every live child of the keeper, by pidfd, until none is left: each one killed
    /// hands its own children to the keeper, the subreaper above them.
    fn kill_tree(&self) {
        let keeper = i32::try_from(self.child.id()).unwrap();
        // The keeper is single-threaded: its one task lists its children.
        let list = format!("/proc/{keeper}/task/{keeper}/children");
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            thread::sleep(Duration::from_millis(1));
            // A failed read says nothing about the children: read again.
            let Ok(text) = std::fs::read_to_string(&list) else {
                continue;
            };
            let live: Vec<i32> = text
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .filter(|&c| alive(c))
                .collect();
            if live.is_empty() {
                return;
            }
            for c in live {
                // The keeper reaps nothing: a PID it lists stays its child.
                // Checked through the pidfd's process, so a reused PID is never hit.
                if let Some(fd) = PidFd::try_open(c)
                    && proc_status(c, "PPid") == Some(keeper.to_string())
                {
                    let _ = fd.send(libc::SIGKILL);
                }
            }
        }
    }
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keeper(pid {})", self.pid)
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        // A keeper already reaped lists no children, and its PID may name another process
        // by now: nothing to read there.
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill_tree();
        }
        // Then the keeper's own clean-up, a second line: on SIGTERM it SIGKILLs its children
        // until none is left and exits (keeper.c). Its PID is ours until we reap it.
        if let Ok(keeper) = i32::try_from(self.child.id()) {
            let _ = try_kill(keeper, libc::SIGTERM);
        }
        let end = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < end {
            thread::sleep(Duration::from_millis(1));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

/// What a finished process printed. It holds the keeper: what the process left behind is
/// killed when the `Output` goes (a test may look at it first).
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    /// Standard output, byte for byte.
    pub stdout_bytes: Vec<u8>,
    /// Standard output as text (invalid UTF-8 replaced).
    pub stdout: String,
    pub stderr: String,
    _keeper: Keeper,
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

/// Runs `cmd` (made by [`command`] or [`in_mode`]) to completion (stdin null unless set)
/// within the [`deadline`].
pub fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null());
    Proc::spawn(cmd).finish()
}

/// A running process whose stdout is read line by line as it comes; its tree is killed on
/// drop (see [`Keeper`]).
pub struct Proc {
    keeper: Keeper,
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

/// How long the output of a process that has exited may stay quiet before it is taken as
/// complete (a process that outlives the one we ran may hold the pipe open).
const QUIET: Duration = Duration::from_secs(2);

/// Takes what `rx` still has: until its writer closes, or nothing came for `quiet`.
fn rest(rx: &Receiver<Vec<u8>>, quiet: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    // Bounded too: a leftover that writes more often than `quiet` fails the test.
    let wait = Wait::new(deadline());
    while let Ok(piece) = rx.recv_timeout(quiet) {
        out.extend(piece);
        wait.check("the output to end (something left behind still writes)");
    }
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Proc {
    /// Spawns `cmd` ([`command`] or [`in_mode`]) with stdout and stderr piped (stdin as set
    /// by the caller).
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
        let mut keeper = Keeper::spawn(cmd);
        let lines = reader(keeper.take_stdout().unwrap());
        let stderr = if own_stderr {
            keeper.take_stderr().map(reader)
        } else {
            None
        };
        Proc {
            keeper,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Spawns `cmd` ([`command`] or [`in_mode`]) with its streams as set by the caller,
    /// reading its output from `output` (a terminal's master side, say); no stderr of its own.
    pub fn spawn_reading(cmd: Command, output: impl Read + Send + 'static) -> Proc {
        Proc {
            keeper: Keeper::spawn(cmd),
            lines: reader(output),
            seen: Vec::new(),
            stderr: None,
        }
    }

    /// The PID of the process we started (unshare's, as PID 1; a wrapper's until it has
    /// exec'd what it wraps).
    pub fn pid(&self) -> i32 {
        self.keeper.pid()
    }

    /// Its exit status, once it has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.keeper.try_status()
    }

    /// The pipe to its stdin, if piped.
    pub fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.keeper.take_stdin()
    }

    /// tini-rs's PID as seen from here: the process itself when plain (a wrapper that set
    /// something up has exec'd it by the time a test asks), else unshare's child (or the
    /// child of the namespace's shell) once it has exec'd tini-rs. Fails at once when the
    /// process we started has exited instead.
    pub fn tini(&mut self, mode: Mode) -> i32 {
        match mode {
            Mode::Plain => self.pid(),
            Mode::Pid1 => {
                let pid = self.pid();
                self.poll_until(&format!("tini-rs under {pid}"), || tini_child(pid))
            }
            Mode::InNamespace => {
                let pid = self.pid();
                let sh = self.poll_until("the namespace's shell", || one_child(pid));
                self.poll_until(&format!("tini-rs under {sh}"), || tini_child(sh))
            }
        }
    }

    /// [`poll_until`] that fails at once when the process we started exits first.
    pub fn poll_until<T>(&mut self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        poll_until(what, || {
            if let Some(v) = f() {
                return Some(v);
            }
            if let Some(s) = self.try_status() {
                panic!(
                    "{s} while waiting for {what}; stdout so far:\n{}",
                    text(&self.seen)
                );
            }
            None
        })
    }

    /// Waits for the next stdout line that satisfies `pred`; returns it without its line end
    /// (`\n`, or a terminal's `\r\n`).
    pub fn wait_line(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let wait = Wait::new(deadline());
        loop {
            // In steps, so a timeout elsewhere cuts this wait short too.
            let step = wait.left().min(Duration::from_millis(100));
            match self.lines.recv_timeout(step) {
                Ok(piece) => {
                    self.seen.extend_from_slice(&piece);
                    let line = text(&piece).trim_end_matches(['\r', '\n']).to_string();
                    if pred(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "no matching line: stdout closed ({:?}); stdout:\n{}",
                    self.try_status(),
                    text(&self.seen)
                ),
                Err(RecvTimeoutError::Timeout) => wait.check(&format!(
                    "a matching line; stdout so far:\n{}",
                    text(&self.seen)
                )),
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

    /// Waits (within the deadline) for exit and collects the rest of the output. What the
    /// process left behind goes when the [`Output`] goes.
    pub fn finish(mut self) -> Output {
        let status = self.keeper.wait(deadline(), &text(&self.seen));
        let mut stdout_bytes = std::mem::take(&mut self.seen);
        stdout_bytes.extend(rest(&self.lines, QUIET));
        let stderr = self.stderr.as_ref().map(|e| rest(e, QUIET));
        Output {
            status,
            stdout: text(&stdout_bytes),
            stdout_bytes,
            stderr: text(&stderr.unwrap_or_default()),
            _keeper: self.keeper,
        }
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

/// Polls `f` until it returns `Some` or the [`deadline`] passes.
pub fn poll_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let wait = Wait::new(deadline());
    loop {
        if let Some(v) = f() {
            return v;
        }
        wait.check(what);
        thread::sleep(Duration::from_millis(10));
    }
}

/// [`poll_until`] about `pid`, failing at once when `pid` has exited (or is a zombie): what
/// it waits for can no longer come.
pub fn poll_while_alive<T>(pid: i32, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    poll_until(what, || {
        if let Some(v) = f() {
            return Some(v);
        }
        assert!(alive(pid), "{pid} exited while waiting for {what}");
        None
    })
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

/// The only child of `pid`, if it has exactly one.
fn one_child(pid: i32) -> Option<i32> {
    match children(pid).as_slice() {
        [c] => Some(*c),
        _ => None,
    }
}

/// The child of `pid` that runs tini-rs (its `comm`), if any.
fn tini_child(pid: i32) -> Option<i32> {
    children(pid)
        .into_iter()
        .find(|c| comm(*c).as_deref() == Some("tini-rs"))
}

/// The only child of `pid`, waiting (within the deadline, while `pid` lives) until it has
/// exactly one.
pub fn only_child(pid: i32) -> i32 {
    poll_while_alive(pid, &format!("the only child of {pid}"), || one_child(pid))
}

/// The child of `pid` that runs tini-rs (its `comm`), waiting until it has exec'd it.
pub fn tini_under(pid: i32) -> i32 {
    poll_while_alive(pid, &format!("tini-rs under {pid}"), || tini_child(pid))
}

/// The PID, in this namespace, of the descendant of `root` that has PID `ns_pid` in its own
/// (innermost) PID namespace; waits for it within the deadline.
pub fn host_pid_of(root: i32, ns_pid: i32) -> i32 {
    poll_while_alive(
        root,
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
    poll_while_alive(pid, &format!("{pid} to wait in sigtimedwait"), || {
        std::fs::read_to_string(format!("/proc/{pid}/wchan"))
            .ok()
            .filter(|w| w.contains("sigtimedwait"))
    });
}

/// The timeout argument of the `rt_sigtimedwait` that `pid` sleeps in (`x86_64`: syscall 128,
/// third argument), once it sleeps there: "0x0" means it waits without a timeout, so it never
/// wakes up by itself.
pub fn sigtimedwait_timeout(pid: i32) -> String {
    poll_while_alive(pid, "tini-rs to sleep in rt_sigtimedwait", || {
        let s = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
        let f: Vec<&str> = s.split_whitespace().collect();
        (f.first() == Some(&"128")).then(|| f.get(3).copied().unwrap_or("").to_string())
    })
}

/// Waits until tini-rs has taken every pending SIGCHLD and sleeps in its wait again.
pub fn wait_until_tini_is_idle(tini: i32) {
    poll_while_alive(tini, "tini-rs to take SIGCHLD and sleep", || {
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
