//! The only module with `unsafe`: thin, safe wrappers over the libc calls that nix does
//! not cover (raw signal numbers for real-time signals, `sigtimedwait`, the clone/exec
//! child side).
//!
//! Every wrapper returns the call's result; none of them panics. The child side of
//! [`spawn`] runs between the clone and `exec`, in tini-rs's own memory, and therefore does
//! only async-signal-safe work: no allocation, no logging, no locks.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int};
use std::marker::PhantomData;
use std::time::Duration;

use nix::errno::Errno;

use crate::exit_code::exec_failure_code;

/// Highest signal number on Linux (the last real-time signal).
pub const MAX_SIGNAL: i32 = 64;

/// A set of signal numbers, any of 1..=64 (standard and real-time).
#[derive(Clone, Copy)]
pub struct SignalSet(libc::sigset_t);

impl SignalSet {
    /// The empty set.
    pub fn empty() -> Self {
        // SAFETY: sigset_t is plain data; sigemptyset fully initialises it and cannot
        // fail for a valid pointer.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid, writable sigset_t.
        unsafe { libc::sigemptyset(&mut set) };
        SignalSet(set)
    }

    /// Adds `sig`; numbers out of range are ignored (sigaddset reports EINVAL).
    pub fn add(&mut self, sig: i32) {
        // SAFETY: `self.0` is an initialised sigset_t; an invalid number only returns EINVAL.
        unsafe { libc::sigaddset(&mut self.0, sig) };
    }
}

/// Blocks every signal in `set`; returns the caller's mask.
pub fn block(set: &SignalSet) -> Result<SignalSet, Errno> {
    let mut old = SignalSet::empty();
    // SAFETY: both pointers are valid sigset_t values owned by this frame.
    let rc = unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set.0, &mut old.0) };
    Errno::result(rc).map(|_| old)
}

/// What `sigtimedwait` told about one signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub signo: i32,
    pub code: i32,
    pub pid: i32,
}

/// Waits for one signal of `set` (which must be blocked). `None` waits without limit, so an
/// idle init never wakes up. Returns `Err(EAGAIN)` when the timeout expires.
pub fn wait_signal(set: &SignalSet, timeout: Option<Duration>) -> Result<Received, Errno> {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(d.subsec_nanos() as i32),
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: siginfo_t is plain data that the kernel fills in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` and `info` are valid; `ts_ptr` is null or points to `ts`, alive here.
    let rc = unsafe { libc::sigtimedwait(&set.0, &mut info, ts_ptr) };
    Errno::result(rc)?;
    // SAFETY: for every signal the kernel fills si_pid's slot (zero where not meaningful);
    // reading it is reading plain data of the union.
    let pid = unsafe { info.si_pid() };
    Ok(Received {
        signo: rc,
        code: info.si_code,
        pid,
    })
}

/// `kill(pid, sig)` with a raw signal number (nix's `Signal` lacks the real-time ones).
pub fn kill(pid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: kill has no memory-safety preconditions.
    Errno::result(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// `getpgid(pid)`.
pub fn getpgid(pid: i32) -> Result<i32, Errno> {
    // SAFETY: getpgid has no memory-safety preconditions.
    Errno::result(unsafe { libc::getpgid(pid) })
}

/// Whether `sig`'s disposition is SIG_IGN.
pub fn is_ignored(sig: i32) -> Result<bool, Errno> {
    // SAFETY: a zeroed sigaction is a valid out-parameter; a null `act` only queries.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: `old` is valid and writable.
    Errno::result(unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) })?;
    Ok(old.sa_sigaction == libc::SIG_IGN)
}

/// Sets `sig`'s disposition to `handler` (SIG_DFL or SIG_IGN only).
pub fn set_disposition(sig: i32, handler: libc::sighandler_t) -> Result<(), Errno> {
    // SAFETY: only the plain dispositions SIG_DFL / SIG_IGN are installed, never a function
    // pointer, so no handler code can run.
    unsafe { raw_set_disposition(sig, handler) }
}

/// # Safety
/// `handler` must be SIG_DFL or SIG_IGN. Async-signal-safe (only `sigaction`).
unsafe fn raw_set_disposition(sig: i32, handler: libc::sighandler_t) -> Result<(), Errno> {
    // SAFETY: zeroed sigaction = empty mask, no flags; the caller guarantees the handler.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = handler;
    // SAFETY: `act` is valid; a null `oldact` is allowed.
    Errno::result(unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) }).map(drop)
}

/// `prctl(PR_SET_PDEATHSIG, sig)` with a raw signal number.
pub fn set_parent_death_signal(sig: i32) -> Result<(), Errno> {
    // SAFETY: PR_SET_PDEATHSIG takes an integer argument; no pointers are passed.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::c_ulong::from(sig as u32)) };
    Errno::result(rc).map(drop)
}

/// Which step of the child's set-up failed, reported to the parent with the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStep {
    Setpgid,
    Tcsetpgrp,
    Signals,
    Exec,
}

/// Everything the child needs, prepared (allocated) by the parent before the clone.
///
/// The pointer vectors are built here from borrowed strings, so they are always
/// null-terminated and cannot outlive what they point into (`'a`).
pub struct ExecPlan<'a> {
    /// Paths to try in order (PATH search done in the parent).
    candidates: Vec<CString>,
    /// argv: pointers into the borrowed arguments, null-terminated.
    argv: Vec<*const c_char>,
    /// `["/bin/sh", <candidate>, argv[1..]..., NULL]`; slot 1 is filled in by the child for
    /// a file without `#!` (execvp's ENOEXEC fallback).
    sh_argv: Vec<*const c_char>,
    args: PhantomData<&'a [CString]>,
    /// The caller's signal mask, restored just before exec.
    caller_mask: SignalSet,
    /// The caller ignored SIGCHLD: restore SIG_IGN before exec (other ignored signals were
    /// never changed and pass through exec as they are).
    chld_ignored: bool,
    /// Make the child's group the terminal's foreground group (stdin is our terminal).
    take_terminal: bool,
    /// Written by the child (which shares our memory until it execs) when a step fails.
    failure: Option<(ChildStep, i32)>,
    /// The child's stack: allocated, never initialised (the child writes its own frames).
    stack: Vec<u8>,
}

/// The child's stack. Its frames are a few hundred bytes (thin libc wrappers, no PATH
/// buffers: the candidates are built in the parent); only the pages it touches cost memory.
const CHILD_STACK: usize = 64 * 1024;

impl<'a> ExecPlan<'a> {
    /// A plan for running `args` (program first; at least one), trying `candidates` in order.
    pub fn new(
        args: &'a [CString],
        candidates: Vec<CString>,
        caller_mask: SignalSet,
        chld_ignored: bool,
        take_terminal: bool,
    ) -> Option<Self> {
        let (_, rest) = args.split_first()?;
        let null = std::iter::once(std::ptr::null());
        let argv = args
            .iter()
            .map(|a| a.as_ptr())
            .chain(null.clone())
            .collect();
        let sh_argv = [SH.as_ptr(), std::ptr::null()]
            .into_iter()
            .chain(rest.iter().map(|a| a.as_ptr()))
            .chain(null)
            .collect();
        Some(ExecPlan {
            candidates,
            argv,
            sh_argv,
            args: PhantomData,
            caller_mask,
            chld_ignored,
            take_terminal,
            failure: None,
            stack: Vec::with_capacity(CHILD_STACK),
        })
    }
}

const SH: &CStr = c"/bin/sh";

/// Starts the program: the child sets itself up and execs `plan`. Returns the child's PID
/// and, if the child failed before exec (it has exited then), the failed step and errno.
///
/// The child is made with `clone(CLONE_VM | CLONE_VFORK)`, as posix_spawn does: it runs on
/// its own stack in our address space until it execs, and we sleep until then. Nothing is
/// copied (no page tables, no copy-on-write faults on either side), which makes the spawn
/// cheaper than `fork`, and the child's failure is simply written into `plan`. The wait is
/// the child's few system calls before exec (plus the exec itself); signals that arrive
/// meanwhile stay pending and are forwarded right after. As with posix_spawn, a child
/// stopped (SIGSTOP) in that window of microseconds, or an exec hung on a dead file system,
/// holds us until it goes on.
///
/// This relies on tini-rs never installing a signal handler (every disposition is SIG_DFL or
/// SIG_IGN; `#![no_main]` keeps even the Rust runtime's out; tests/smoke.rs checks SigCgt):
/// a signal reaching the child before exec can then only take its default action and never
/// runs code on our memory.
pub fn spawn(plan: &mut ExecPlan<'_>) -> Result<(i32, Option<(ChildStep, Errno)>), Errno> {
    plan.failure = None;
    let top = plan.stack.as_mut_ptr().wrapping_add(plan.stack.capacity());
    let top = top.wrapping_sub(top as usize % 16);
    let arg: *mut ExecPlan<'_> = plan;
    // SAFETY: `child_main` gets `arg`, a valid pointer to `plan`, and the top of a
    // 16-byte-aligned stack of CHILD_STACK bytes owned by `plan`. CLONE_VFORK suspends this
    // (single-threaded) process until the child has exec'd or exited, so nothing of ours runs
    // while the child uses our memory, and `plan` outlives the child's use of it. Without
    // CLONE_SIGHAND the child has its own signal dispositions, and no handler exists (see
    // above), so no signal runs code in the child. The child never returns (exec or `_exit`).
    let pid = unsafe {
        libc::clone(
            child_main,
            top.cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            arg.cast(),
        )
    };
    if pid == -1 {
        return Err(Errno::last());
    }
    // SAFETY: the child is done with `plan` (CLONE_VFORK); a volatile read makes sure the
    // value it wrote is the one seen.
    let failure = unsafe { std::ptr::read_volatile(&raw const plan.failure) };
    Ok((pid, failure.map(|(step, e)| (step, Errno::from_raw(e)))))
}

/// The child, on its own stack in the parent's memory, until exec.
extern "C" fn child_main(arg: *mut libc::c_void) -> c_int {
    // SAFETY: `arg` is the `&mut ExecPlan` that `spawn` passed, valid and not used by the
    // (suspended) parent until we exec or exit.
    unsafe { child(&mut *arg.cast::<ExecPlan<'_>>()) }
}

/// # Safety
/// Must only run in the child made by `spawn`, before exec.
unsafe fn child(plan: &mut ExecPlan<'_>) -> ! {
    // SAFETY: every call below is async-signal-safe and gets valid pointers from `plan`,
    // which was fully built before the clone; no allocation, no locks, no logging.
    unsafe {
        if libc::setpgid(0, 0) != 0 {
            fail(plan, ChildStep::Setpgid, 1);
        }
        if plan.take_terminal && libc::tcsetpgrp(0, libc::getpgrp()) != 0 {
            // Not a terminal, or no longer ours: the program simply does not get it.
            let e = *libc::__errno_location();
            if e != libc::ENOTTY && e != libc::ENXIO && e != libc::EBADF {
                fail(plan, ChildStep::Tcsetpgrp, 1);
            }
        }
        if plan.chld_ignored && raw_set_disposition(libc::SIGCHLD, libc::SIG_IGN).is_err() {
            fail(plan, ChildStep::Signals, 1);
        }
        if libc::sigprocmask(libc::SIG_SETMASK, &plan.caller_mask.0, std::ptr::null_mut()) != 0 {
            fail(plan, ChildStep::Signals, 1);
        }
        let env = environ_ptr();
        let mut first_eacces = false;
        let mut last = libc::ENOENT;
        for cand in &plan.candidates {
            libc::execve(cand.as_ptr(), plan.argv.as_ptr(), env);
            let e = *libc::__errno_location();
            match e {
                libc::ENOEXEC => {
                    if !is_elf(cand.as_ptr()) {
                        // A file without `#!`: run it with /bin/sh, as execvp and tini do.
                        if let Some(slot) = plan.sh_argv.get_mut(1) {
                            *slot = cand.as_ptr();
                        }
                        libc::execve(SH.as_ptr(), plan.sh_argv.as_ptr(), env);
                        last = *libc::__errno_location();
                    } else {
                        last = libc::ENOEXEC;
                    }
                    break;
                }
                libc::EACCES => {
                    first_eacces = true;
                    last = e;
                }
                libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {
                    last = e;
                }
                _ => {
                    last = e;
                    break;
                }
            }
        }
        if first_eacces && (last == libc::ENOENT || last == libc::ENOTDIR) {
            last = libc::EACCES;
        }
        *libc::__errno_location() = last;
        fail(plan, ChildStep::Exec, exec_failure_code(last))
    }
}

/// # Safety
/// Child side only. Records `step` and errno in `plan` for the parent and `_exit`s.
unsafe fn fail(plan: &mut ExecPlan<'_>, step: ChildStep, code: u8) -> ! {
    // SAFETY: errno's location is valid; the write lands in the parent's `plan`, which it
    // reads once we are gone; _exit is async-signal-safe and ends only this process.
    unsafe {
        let e = *libc::__errno_location();
        std::ptr::write_volatile(&raw mut plan.failure, Some((step, e)));
        libc::_exit(c_int::from(code))
    }
}

/// # Safety
/// `path` must be a valid C string. Async-signal-safe (open/read/close).
unsafe fn is_elf(path: *const c_char) -> bool {
    // SAFETY: `path` is valid per the contract; `buf` is a local buffer of the given size.
    unsafe {
        let fd = libc::open(path, libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let mut buf = [0u8; 4];
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        n == 4 && buf == *b"\x7fELF"
    }
}

unsafe extern "C" {
    static environ: *const *const c_char;
}

fn environ_ptr() -> *const *const c_char {
    // SAFETY: `environ` is libc's process environment; tini-rs never modifies it, so the
    // program gets the caller's environment byte for byte.
    unsafe { environ }
}

/// A child's wait status, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Exited(i32),
    Signaled(i32),
    /// Stopped or continued: only reported if asked for, which tini-rs never does.
    Other,
}

/// `waitpid(-1, &status, WNOHANG)`: `Ok(None)` when children remain but none has exited.
/// Uses the raw status because nix cannot represent a death by a real-time signal.
pub fn wait_any_nohang() -> Result<Option<(i32, Status)>, Errno> {
    let mut status: c_int = 0;
    // SAFETY: `status` is a valid out-parameter on this frame.
    let pid = Errno::result(unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) })?;
    if pid == 0 {
        return Ok(None);
    }
    let decoded = if libc::WIFEXITED(status) {
        Status::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Status::Signaled(libc::WTERMSIG(status))
    } else {
        Status::Other
    };
    Ok(Some((pid, decoded)))
}

/// `fd` moved to a number of 3 or above (close-on-exec), so that it never takes the place
/// of a closed stdin, stdout or stderr (the program must see those closed).
pub fn above_stdio(fd: std::os::fd::OwnedFd) -> Result<std::os::fd::OwnedFd, Errno> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    let new = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))?;
    // SAFETY: `new` was just returned by F_DUPFD_CLOEXEC, so it is a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

unsafe extern "C" {
    /// Start of the executable's first segment (provided by the linker).
    static __executable_start: u8;
    /// End of the executable's code (provided by the linker).
    static etext: u8;
}

/// Drops tini-rs's own code pages from its resident set (`madvise(MADV_DONTNEED)`), so that
/// only the code the loop really runs comes back (on demand, from the page cache). The
/// start-up code (argument parsing, spawning) is never run again and stays out.
///
/// Only the range from the start of the image to the end of the code is touched: it is
/// mapped read-only or read-execute and never written (no text relocations in a static
/// executable), so every page is a clean copy of the file and nothing can be lost.
pub fn release_code_pages() -> Result<usize, Errno> {
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = usize::try_from(page)
        .ok()
        .filter(|p| p.is_power_of_two())
        .ok_or(Errno::EINVAL)?;
    // Only the addresses of the linker symbols are taken; they are never read.
    let (start, end) = (
        &raw const __executable_start as usize,
        &raw const etext as usize,
    );
    let start = (start + page - 1) & !(page - 1);
    let end = end & !(page - 1);
    if end <= start {
        return Ok(0);
    }
    let len = end - start;
    // SAFETY: [start, end) lies inside this executable's read-only/read-execute file
    // mappings (between two linker symbols of the same image), so MADV_DONTNEED only drops
    // clean file pages, which the kernel faults back in from the file when they are used.
    let rc = unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
    Errno::result(rc).map(|_| len)
}

/// The foreground process group of the terminal on fd 0 (`tcgetpgrp(0)`), without going
/// through `std::io::stdin()`, which would allocate its 8 KiB buffer for nothing.
pub fn stdin_foreground_group() -> Result<i32, Errno> {
    // SAFETY: tcgetpgrp takes a plain fd; a closed or non-tty fd only returns an error.
    Errno::result(unsafe { libc::tcgetpgrp(0) })
}
