//! The thin system-call layer: safe wrappers over the libc calls that nix does not cover
//! (raw signal numbers for real-time signals, `sigtimedwait`, `fork`/`execvp`, pidfds), and
//! the calls of a VM's init (mounts, the console, `lo`, the hostname, `reboot`), nix's or raw.
//! Nothing else lives here.
//!
//! Every wrapper returns the call's result; none of them panics.
#![allow(unsafe_code)]

use std::ffi::{CString, c_char, c_int};
use std::time::Duration;

use nix::errno::Errno;

/// Highest signal number of this architecture's Linux (the last real-time signal): 64, but
/// 127 on MIPS, whose kernel has 128 signals.
#[cfg(not(any(target_arch = "mips", target_arch = "mips64")))]
pub const MAX_SIGNAL: i32 = 64;
/// Highest signal number of this architecture's Linux (the last real-time signal): 64, but
/// 127 on MIPS, whose kernel has 128 signals.
#[cfg(any(target_arch = "mips", target_arch = "mips64"))]
pub const MAX_SIGNAL: i32 = 127;

/// A set of signal numbers, any of `1..=MAX_SIGNAL` (standard and real-time).
#[derive(Clone, Copy)]
pub struct SignalSet(libc::sigset_t);

impl SignalSet {
    /// The empty set.
    pub fn empty() -> Self {
        // SAFETY: sigset_t is plain data; sigemptyset fully initialises it and cannot
        // fail for a valid pointer.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid, writable sigset_t.
        unsafe { libc::sigemptyset(&raw mut set) };
        SignalSet(set)
    }

    /// Every signal.
    pub fn full() -> Self {
        let mut set = Self::empty();
        // SAFETY: `set.0` is a valid, writable sigset_t; sigfillset cannot fail for it.
        unsafe { libc::sigfillset(&raw mut set.0) };
        set
    }

    /// Adds `sig`; numbers out of range are ignored (sigaddset reports EINVAL).
    pub fn add(&mut self, sig: i32) {
        // SAFETY: `self.0` is an initialised sigset_t; an invalid number only returns EINVAL.
        unsafe { libc::sigaddset(&raw mut self.0, sig) };
    }
}

/// Blocks every signal in `set`; returns the caller's mask.
pub fn block(set: &SignalSet) -> Result<SignalSet, Errno> {
    let mut old = SignalSet::empty();
    // SAFETY: both pointers are valid sigset_t values owned by this frame.
    let rc = unsafe { libc::sigprocmask(libc::SIG_BLOCK, &raw const set.0, &raw mut old.0) };
    Errno::result(rc).map(|_| old)
}

/// What `sigtimedwait` told about one signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The signal's number.
    pub signo: i32,
    /// How it was sent (`si_code`: `SI_USER` for kill, `SI_KERNEL`, ...).
    pub code: i32,
    /// The sender's PID (0 where the kernel sent it).
    pub pid: i32,
}

/// Waits for one signal of `set` (which must be blocked). `None` waits without limit, so an
/// idle init never wakes up. Returns `Err(EAGAIN)` when the timeout expires.
pub fn wait_signal(set: &SignalSet, timeout: Option<Duration>) -> Result<Received, Errno> {
    // nix's TimeSpec fits the timespec of every target (c_long is 32 bits on armhf and i386,
    // where a plain `c_long::from(u32)` does not compile).
    let ts = timeout.map(nix::sys::time::TimeSpec::from_duration);
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| {
        std::ptr::from_ref::<libc::timespec>(t.as_ref())
    });
    // SAFETY: siginfo_t is plain data that the kernel fills in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` and `info` are valid; `ts_ptr` is null or points to `ts`, alive here.
    let rc = unsafe { libc::sigtimedwait(&raw const set.0, &raw mut info, ts_ptr) };
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

/// Whether `sig`'s disposition is `SIG_IGN`.
pub fn is_ignored(sig: i32) -> Result<bool, Errno> {
    // SAFETY: a zeroed sigaction is a valid out-parameter; a null `act` only queries.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: `old` is valid and writable.
    Errno::result(unsafe { libc::sigaction(sig, std::ptr::null(), &raw mut old) })?;
    Ok(old.sa_sigaction == libc::SIG_IGN)
}

/// Sets `sig`'s disposition to `handler` (`SIG_DFL` or `SIG_IGN` only).
pub fn set_disposition(sig: i32, handler: libc::sighandler_t) -> Result<(), Errno> {
    if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
        return Err(Errno::EINVAL);
    }
    // SAFETY: a zeroed sigaction is an empty mask and no flags.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = handler;
    // SAFETY: `act` is valid and holds SIG_DFL or SIG_IGN (checked above), never a function
    // pointer, so no handler code can ever run; a null `oldact` is allowed.
    Errno::result(unsafe { libc::sigaction(sig, &raw const act, std::ptr::null_mut()) }).map(drop)
}

/// `prctl(PR_SET_PDEATHSIG, sig)` with a raw signal number.
pub fn set_parent_death_signal(sig: i32) -> Result<(), Errno> {
    let sig = libc::c_ulong::try_from(sig).map_err(|_| Errno::EINVAL)?;
    // SAFETY: PR_SET_PDEATHSIG takes an integer argument; no pointers are passed.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig) };
    Errno::result(rc).map(drop)
}

/// What `fork` returned, seen from one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// In the parent: the child's PID.
    Parent(i32),
    /// In the child.
    Child,
}

/// `fork()`.
///
/// # Safety
/// The calling process must be single-threaded, so that the child cannot inherit a lock
/// that some other thread held (an allocator's or the logger's): tini-rs starts no thread
/// (`#![no_main]` keeps even the Rust runtime's start-up out), and a test checks that it
/// runs with one thread (`Threads: 1`).
pub unsafe fn fork() -> Result<Forked, Errno> {
    // SAFETY: the caller guarantees a single-threaded process (see above).
    let pid = unsafe { libc::fork() };
    match Errno::result(pid)? {
        0 => Ok(Forked::Child),
        child => Ok(Forked::Parent(child)),
    }
}

/// A null-terminated argument vector for [`execvp`]: owns its strings, so the pointers
/// cannot outlive them.
pub struct Argv {
    _strings: Vec<CString>,
    pointers: Vec<*const c_char>,
}

impl Argv {
    /// The vector for `args` (program first); `None` when `args` is empty.
    pub fn new(args: Vec<CString>) -> Option<Self> {
        if args.is_empty() {
            return None;
        }
        let pointers = args
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        Some(Argv {
            _strings: args,
            pointers,
        })
    }
}

/// `execvp(argv[0], argv)`: libc's PATH search, its `/bin/sh` fallback for a file without
/// `#!`, and its choice of which error to report. Returns only on failure, with the errno.
pub fn execvp(argv: &Argv) -> Errno {
    let file = argv.pointers.first().copied().unwrap_or(std::ptr::null());
    // SAFETY: `pointers` is a null-terminated array of pointers into the C strings that
    // `argv` owns, alive for this call; `file` is its first element (never null: `Argv::new`
    // refuses an empty vector).
    unsafe { libc::execvp(file, argv.pointers.as_ptr()) };
    Errno::last()
}

/// `setpgid(0, 0)`: the calling process leads a new process group.
pub fn new_process_group() -> Result<(), Errno> {
    // SAFETY: setpgid has no memory-safety preconditions.
    Errno::result(unsafe { libc::setpgid(0, 0) }).map(drop)
}

/// `tcsetpgrp(0, getpgrp())`: the calling process's group becomes the foreground group of
/// the terminal on fd 0.
pub fn take_terminal() -> Result<(), Errno> {
    // SAFETY: getpgrp has no preconditions and cannot fail.
    let group = unsafe { libc::getpgrp() };
    // SAFETY: tcsetpgrp takes a plain fd; a closed or non-tty fd only returns an error.
    Errno::result(unsafe { libc::tcsetpgrp(0, group) }).map(drop)
}

/// Replaces the signal mask with `set`.
pub fn set_mask(set: &SignalSet) -> Result<(), Errno> {
    // SAFETY: `set.0` is an initialised sigset_t; a null `oldset` is allowed.
    let rc =
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &raw const set.0, std::ptr::null_mut()) };
    Errno::result(rc).map(drop)
}

/// `_exit(code)`: ends the process at once (no atexit handlers, no flushing).
pub fn exit_now(code: u8) -> ! {
    // SAFETY: _exit has no memory-safety preconditions and does not return.
    unsafe { libc::_exit(c_int::from(code)) }
}

/// A process file descriptor (`pidfd_open`): it names one process for as long as it is
/// open, so a signal sent through it can never reach a later process with the same PID.
pub struct Pidfd(std::os::fd::OwnedFd);

impl Pidfd {
    /// `pidfd_open(pid, 0)`. ENOSYS: the kernel has no pidfds (before Linux 5.3).
    pub fn open(pid: i32) -> Result<Self, Errno> {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open takes two integers and returns a new fd or -1.
        let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let fd = c_int::try_from(Errno::result(rc)?).map_err(|_| Errno::EBADF)?;
        // SAFETY: `fd` was just returned by pidfd_open, so it is a fresh fd that we own
        // (pidfds are close-on-exec).
        Ok(Pidfd(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }))
    }

    /// `pidfd_send_signal(fd, sig, NULL, 0)`. ESRCH: the process has exited.
    pub fn send(&self, sig: i32) -> Result<(), Errno> {
        use std::os::fd::AsRawFd;
        let fd = self.0.as_raw_fd();
        let none: *const libc::siginfo_t = std::ptr::null();
        // SAFETY: a valid pidfd, a signal number, a null siginfo (the kernel fills in the
        // same data as for kill) and no flags.
        let rc = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd, sig, none, 0) };
        Errno::result(rc).map(drop)
    }
}

/// A child's wait status, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `exit(n)`.
    Exited(i32),
    /// Killed by signal n.
    Signaled(i32),
    /// Stopped or continued: only reported if asked for, which tini-rs never does.
    Other,
}

/// `waitpid(-1, &status, WNOHANG)`: `Ok(None)` when children remain but none has exited.
/// Uses the raw status because nix cannot represent a death by a real-time signal.
pub fn wait_any_nohang() -> Result<Option<(i32, Status)>, Errno> {
    let mut status: c_int = 0;
    // SAFETY: `status` is a valid out-parameter on this frame.
    let pid = Errno::result(unsafe { libc::waitpid(-1, &raw mut status, libc::WNOHANG) })?;
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

/// Closes every descriptor from `first` up, except those in `keep`: `close_range`, or one
/// by one from /proc/self/fd on kernels without it (before Linux 5.9).
pub fn close_fds_from(first: c_int, keep: &[c_int]) -> Result<(), Errno> {
    let mut keep: Vec<c_int> = keep.iter().copied().filter(|k| *k >= first).collect();
    keep.sort_unstable();
    let mut lo = first;
    for hi in keep
        .iter()
        .map(|k| k - 1)
        .chain(std::iter::once(c_int::MAX))
    {
        if lo <= hi {
            let (l, h) = (c_uint_of(lo), c_uint_of(hi));
            // SAFETY: close_range takes integers; closing descriptors is memory-safe, and
            // tini-rs keeps the ones it uses (`keep`).
            let rc = unsafe { libc::syscall(libc::SYS_close_range, l, h, 0) };
            match Errno::result(rc) {
                Ok(_) => {}
                Err(Errno::ENOSYS) => return close_listed(first, &keep),
                Err(e) => return Err(e),
            }
        }
        lo = hi.saturating_add(2);
    }
    Ok(())
}

fn c_uint_of(n: c_int) -> libc::c_uint {
    libc::c_uint::try_from(n).unwrap_or(0)
}

/// The fallback of [`close_fds_from`]: the descriptors listed in /proc/self/fd.
fn close_listed(first: c_int, keep: &[c_int]) -> Result<(), Errno> {
    let dir = std::fs::read_dir("/proc/self/fd").map_err(|_| Errno::ENOENT)?;
    let fds: Vec<c_int> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first && !keep.contains(fd))
        .collect();
    for fd in fds {
        // SAFETY: closing a descriptor number is memory-safe; the one read_dir used is
        // closed already, so a failure here is only EBADF.
        let _ = unsafe { libc::close(fd) };
    }
    Ok(())
}

/// `splice(from, to, len, SPLICE_F_NONBLOCK)` from a pipe to a pipe: moves what fits
/// without ever waiting for room in `to`, whatever its file status flags (EAGAIN when full).
pub fn splice_nonblocking(
    from: std::os::fd::BorrowedFd<'_>,
    to: std::os::fd::BorrowedFd<'_>,
    len: usize,
) -> Result<usize, Errno> {
    use std::os::fd::AsRawFd;
    let none: *mut libc::loff_t = std::ptr::null_mut();
    let flags = libc::SPLICE_F_NONBLOCK;
    // SAFETY: two descriptors, null offsets (pipes have none), a length and flags; no memory
    // of ours is passed.
    let n = unsafe { libc::splice(from.as_raw_fd(), none, to.as_raw_fd(), none, len, flags) };
    usize::try_from(Errno::result(n)?).map_err(|_| Errno::EINVAL)
}

/// `send(fd, buf, MSG_DONTWAIT | MSG_NOSIGNAL)`: a socket write that neither waits for
/// room nor raises SIGPIPE.
pub fn send_nonblocking(fd: std::os::fd::BorrowedFd<'_>, buf: &[u8]) -> Result<usize, Errno> {
    use std::os::fd::AsRawFd;
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the duration of the call.
    let n = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), flags) };
    usize::try_from(Errno::result(n)?).map_err(|_| Errno::EINVAL)
}

/// The foreground process group of the terminal on fd 0 (`tcgetpgrp(0)`), without going
/// through `std::io::stdin()`, which would allocate its 8 KiB buffer for nothing.
pub fn stdin_foreground_group() -> Result<i32, Errno> {
    // SAFETY: tcgetpgrp takes a plain fd; a closed or non-tty fd only returns an error.
    Errno::result(unsafe { libc::tcgetpgrp(0) })
}

/// The device of the terminal open on `fd` (`ioctl(TIOCGDEV)`), in the encoding of
/// `st_rdev`. Unlike `fstat`, which reports /dev/tty's own number (5:0) for an open of
/// /dev/tty, it names the real terminal behind it.
pub fn terminal_device(fd: std::os::fd::BorrowedFd<'_>) -> Result<u64, Errno> {
    use std::os::fd::AsRawFd;
    let mut dev: libc::c_uint = 0;
    // SAFETY: TIOCGDEV writes one unsigned int through the pointer, which points to `dev`
    // on this frame.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGDEV, &raw mut dev) };
    Errno::result(rc)?;
    // The kernel's encoding (minor's low byte, major, minor's high bits) equals glibc's
    // st_rdev for every major below 4096, which is all of them.
    Ok(u64::from(dev))
}

/// The number of bytes waiting to be read in the pipe open on `fd` (`ioctl(FIONREAD)`,
/// which answers on either end).
pub fn pipe_pending(fd: std::os::fd::BorrowedFd<'_>) -> Result<usize, Errno> {
    use std::os::fd::AsRawFd;
    let mut n: c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which points to `n` on this frame.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &raw mut n) };
    Errno::result(rc)?;
    usize::try_from(n).map_err(|_| Errno::EINVAL)
}

// The calls of a VM's init (`machine`).

/// The inode number of `path` (`stat`), e.g. of `/proc/self/ns/pid`.
/// std's stat is the large-file one on every target: nix's `st_ino` is 32 bits on 32-bit glibc
/// targets (armel, armhf, i386) with the libc crate this build pins.
pub fn inode(path: &str) -> Result<u64, Errno> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .map(|m| m.ino())
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// `mount(source, target, fstype, flags, data)`.
pub fn mount(
    source: &str,
    target: &str,
    fstype: &str,
    flags: nix::mount::MsFlags,
    data: Option<&str>,
) -> Result<(), Errno> {
    nix::mount::mount(Some(source), target, Some(fstype), flags, data)
}

/// `mount(NULL, target, NULL, MS_REMOUNT | MS_RDONLY, NULL)`: the mount goes read-only.
pub fn remount_read_only(target: &str) -> Result<(), Errno> {
    use nix::mount::MsFlags;
    let none: Option<&str> = None;
    nix::mount::mount(
        none,
        target,
        none,
        MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        none,
    )
}

/// `umount2(target, 0)`: fails with EBUSY while anything uses it.
pub fn unmount(target: &str) -> Result<(), Errno> {
    nix::mount::umount2(target, nix::mount::MntFlags::empty())
}

/// `swapoff(path)`: the swap area's pages back into memory, the area released.
pub fn swapoff(path: &str) -> Result<(), Errno> {
    let path = std::ffi::CString::new(path).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `path` is a NUL-terminated string that lives until the call returns.
    let r = unsafe { libc::swapoff(path.as_ptr()) };
    Errno::result(r).map(drop)
}

/// `sync()`: every filesystem's dirty data to its device.
pub fn sync() {
    nix::unistd::sync();
}

/// `mkdir(path, mode)`.
pub fn mkdir(path: &str, mode: u32) -> Result<(), Errno> {
    nix::unistd::mkdir(path, nix::sys::stat::Mode::from_bits_truncate(mode))
}

/// `symlink(target, path)`.
pub fn symlink(target: &str, path: &str) -> Result<(), Errno> {
    std::os::unix::fs::symlink(target, path)
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))
}

/// Whether descriptor `fd` is open (`fcntl(fd, F_GETFD)` does not fail with EBADF).
pub fn is_open(fd: c_int) -> bool {
    // SAFETY: F_GETFD takes no argument and only reads the descriptor's flags.
    let rc = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    rc >= 0
}

/// Opens `path` read-write, no controlling terminal; the descriptor is not close-on-exec
/// (it is meant for the lowest free number, a closed stdio slot, and the program's use).
pub fn open_read_write(path: &str) -> Result<c_int, Errno> {
    let path = CString::new(path).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `path` is a valid C string alive for the call; no mode is needed without
    // O_CREAT.
    Errno::result(unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_NOCTTY) })
}

/// `dup2(from, to)`.
pub fn dup2(from: c_int, to: c_int) -> Result<(), Errno> {
    // SAFETY: dup2 takes two descriptor numbers; `to` is a closed stdio slot (the caller's
    // check), so no descriptor owned elsewhere is replaced.
    Errno::result(unsafe { libc::dup2(from, to) }).map(drop)
}

/// `close(fd)` of a descriptor that this process owns by number.
pub fn close(fd: c_int) -> Result<(), Errno> {
    // SAFETY: the caller owns `fd` by number and does not use it afterwards.
    Errno::result(unsafe { libc::close(fd) }).map(drop)
}

/// Writes all of `buf` to `fd` (retrying short writes and EINTR).
pub fn write_all(fd: c_int, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the duration of the call.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        match Errno::result(n) {
            Ok(n) => buf = buf.get(usize::try_from(n).unwrap_or(0)..).unwrap_or(&[]),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Brings the network interface `name` up (`SIOCGIFFLAGS`, then `SIOCSIFFLAGS` with
/// `IFF_UP` added), through an `AF_INET` datagram socket.
pub fn interface_up(name: &str) -> Result<(), Errno> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    use std::os::fd::AsRawFd;
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain data (a name and a union of plain fields); zero is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        return Err(Errno::EINVAL);
    }
    for (slot, b) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *slot = c_char::from_ne_bytes([b]);
    }
    // SAFETY: a valid socket and a valid, writable ifreq naming the interface.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut req) };
    Errno::result(rc)?;
    // SAFETY: SIOCGIFFLAGS filled in the union's flags field, so reading it is defined.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    let up = c_short_of(libc::IFF_UP);
    req.ifr_ifru.ifru_flags = flags | up;
    // SAFETY: a valid socket and a valid ifreq with the name and the new flags.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &raw const req) };
    Errno::result(rc).map(drop)
}

fn c_short_of(n: c_int) -> libc::c_short {
    libc::c_short::try_from(n).unwrap_or(0)
}

/// `sethostname(name)`.
pub fn set_hostname(name: &std::ffi::OsStr) -> Result<(), Errno> {
    nix::unistd::sethostname(name)
}

/// Sets the variable `name` in this process's environment, which the program inherits.
pub fn set_env(name: &str, value: &str) {
    // SAFETY: set_var is unsound only while another thread reads or writes the environment;
    // tini-rs starts no thread (see [`fork`]; a test checks `Threads: 1`).
    unsafe { std::env::set_var(name, value) };
}

/// `reboot(LINUX_REBOOT_CMD_CAD_OFF)`: Ctrl-Alt-Del sends SIGINT to PID 1 instead of
/// restarting the machine at once.
pub fn ctrl_alt_del_to_signal() -> Result<(), Errno> {
    nix::sys::reboot::set_cad_enabled(false)
}

/// `setsid()`, then `ioctl(0, TIOCSCTTY, 0)`: the terminal on fd 0 becomes the controlling
/// terminal of a new session that the caller leads. ENOTTY when fd 0 is no terminal.
pub fn lead_session_on_stdin() -> Result<(), Errno> {
    // A process that leads its group already cannot start a session: EPERM, and the
    // ioctl below then says whether it may take the terminal anyway.
    match nix::unistd::setsid() {
        Ok(_) | Err(Errno::EPERM) => {}
        Err(e) => return Err(e),
    }
    // SAFETY: TIOCSCTTY takes an int argument, not a pointer; a closed or non-tty fd only
    // returns an error.
    Errno::result(unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) }).map(drop)
}

/// `reboot(how)`: ends the machine. Returns only on failure.
pub fn reboot(how: nix::sys::reboot::RebootMode) -> Errno {
    match nix::sys::reboot::reboot(how) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}
