//! Shared pieces of the reliability tests (tests/reliability_*.rs), included with
//! `#[path = "helpers/reliability.rs"] mod rel;`: a pids cgroup to bound process counts,
//! copies of the binary and helpers that any user can run, pidfd-based signalling (never
//! hits a reused PID), and a byte-exact runner with a deadline.
#![allow(
    dead_code,
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Whether the full-size runs were asked for (`TINI_RS_FULL=1`).
pub fn full() -> bool {
    std::env::var_os("TINI_RS_FULL").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The Python interpreter, one that other users can run too (a per-user shim may not be).
pub fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// A directory under the temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "tini-rs-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        TempDir(p)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies of the binary and of tests/helpers/hostile.py that any user can execute.
pub struct Public {
    pub dir: TempDir,
    pub bin: String,
    pub hostile: String,
}

pub fn public() -> Public {
    let dir = TempDir::new("pub");
    let bin = dir.path("tini-rs");
    std::fs::copy(super::common::bin(), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let hostile = dir.path("hostile.py");
    std::fs::copy(super::common::helper("hostile.py"), &hostile).unwrap();
    std::fs::set_permissions(&hostile, std::fs::Permissions::from_mode(0o755)).unwrap();
    Public {
        bin: bin.to_string_lossy().into_owned(),
        hostile: hostile.to_string_lossy().into_owned(),
        dir,
    }
}

/// The hostile.py helper in the source tree.
pub fn hostile() -> String {
    super::common::helper("hostile.py")
}

/// A `Command` for `python3 hostile.py MODE ARGS...` style argument lists.
pub fn py_args<'a>(mode: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut v = vec![python().to_string(), hostile(), mode.to_string()];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// A child cgroup of the pids controller with `pids.max` set; processes started through
/// [`Cgroup::wrap`] run in it. On drop every process left in it is SIGKILLed (by PID: they
/// are all ours) and the cgroup removed.
pub struct Cgroup {
    pub dir: PathBuf,
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
            "tini-rs-rel-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).ok()?;
        let cg = Cgroup { dir };
        std::fs::write(cg.dir.join("pids.max"), limit.to_string()).ok()?;
        Some(cg)
    }

    /// `cmd` started as `sh -c 'echo $$ > cgroup.procs && exec "$@"'`, so it is in the
    /// cgroup from its first instruction. Environment settings of `cmd` are kept.
    pub fn wrap(&self, cmd: &Command) -> Command {
        let mut c = Command::new("/bin/sh");
        c.arg("-c")
            .arg("echo $$ > \"$0\" && exec \"$@\"")
            .arg(self.dir.join("cgroup.procs"))
            .arg(cmd.get_program())
            .args(cmd.get_args());
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

    pub fn procs(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// The most processes the cgroup ever held (cgroup v2 `pids.peak`), if known.
    pub fn peak(&self) -> Option<u64> {
        std::fs::read_to_string(self.dir.join("pids.peak"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
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
            let procs = self.procs();
            for p in &procs {
                let _ = tini_rs::sys::kill(*p, libc::SIGKILL);
            }
            if std::fs::remove_dir(&self.dir).is_ok() || Instant::now() > end {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A pidfd: signals sent through it never reach a process that reused the PID.
pub struct PidFd(i32);

impl PidFd {
    pub fn open(pid: i32) -> PidFd {
        // SAFETY: pidfd_open takes a PID and flags, no pointers.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        assert!(
            fd >= 0,
            "pidfd_open({pid}): {}",
            std::io::Error::last_os_error()
        );
        PidFd(fd as i32)
    }

    /// Sends `sig`; the errno on failure (ESRCH once the process has exited, EAGAIN when
    /// the receiver's real-time signal queue is full).
    pub fn send(&self, sig: i32) -> Result<(), i32> {
        // SAFETY: a null siginfo is allowed (the kernel fills in a kill()-like one).
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0,
                sig,
                std::ptr::null::<libc::siginfo_t>(),
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

impl Drop for PidFd {
    fn drop(&mut self) {
        // SAFETY: the fd is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

/// The output of [`run_bytes`], byte for byte.
#[derive(Debug)]
pub struct RawOutput {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl RawOutput {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl std::fmt::Display for RawOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.out(),
            self.err()
        )
    }
}

/// Runs `cmd` (stdin null unless set) with piped stdout/stderr, within `limit`; a hang is
/// killed by PID and fails the test.
pub fn run_bytes(mut cmd: Command, limit: Duration) -> RawOutput {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let out = reader(child.stdout.take().unwrap());
    let err = reader(child.stderr.take().unwrap());
    let status = wait_deadline(&mut child, limit, &cmd);
    RawOutput {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

fn reader(mut r: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

/// Waits for `child` within `limit`; kills it (by PID) and fails on a hang.
pub fn wait_deadline(child: &mut Child, limit: Duration, what: &dyn std::fmt::Debug) -> ExitStatus {
    let end = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what:?} did not exit within {limit:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// The PID of the tini-rs started by `unshare` (its child whose comm is `tini-rs`).
pub fn inner_tini(unshare_pid: i32) -> i32 {
    super::common::poll_until("tini-rs under unshare", || {
        super::common::children(unshare_pid)
            .into_iter()
            .find(|p| comm(*p).as_deref() == Some("tini-rs"))
    })
}

/// /proc/PID/comm.
pub fn comm(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The single child of `pid` (polling until there is one).
pub fn only_child(pid: i32) -> i32 {
    super::common::poll_until("a child", || super::common::children(pid).first().copied())
}

/// A memory figure of /proc/PID/status in KiB (e.g. "VmRSS").
pub fn kib(pid: i32, field: &str) -> u64 {
    super::common::proc_status(pid, field)
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("no {field} for {pid}"))
}

/// Lines of `text` that contain `needle`.
pub fn count(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

/// Whether `arg` appears among `cmd`'s arguments.
pub fn has(cmd: &Command, arg: &str) -> bool {
    cmd.get_args().any(|a| a == OsStr::new(arg))
}
