//! Logging: verbosity → level, and an `env_logger` writing `[LEVEL tini-rs (PID)] message`
//! lines to stderr that can never block or kill PID 1.
//!
//! The logger is built with `Builder::new()`, never from `RUST_LOG`, which belongs to the
//! program. A line is written through a descriptor of tini-rs's own that cannot block,
//! whatever stderr is; when that is impossible the line is dropped. A lost log line is
//! better than a PID 1 asleep in `pipe_write` while `docker stop` runs out. The SIGPIPE a
//! broken pipe raises is recognised and not forwarded (see `signals`).
//!
//! The forked child is not PID 1: its one line (the exec failure) is written with
//! [`write_blocking`], which waits for room as tini's does, so a reader that is slow for a
//! moment still gets it.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use log::LevelFilter;
use nix::errno::Errno;
use nix::sys::stat::{SFlag, fstat};

/// `-v` count (or `TINI_VERBOSITY`) → level: 0 errors, 1 warnings, 2 info, 3 debug, 4+ trace.
pub fn level(verbosity: u8) -> LevelFilter {
    match verbosity {
        0 => LevelFilter::Error,
        1 => LevelFilter::Warn,
        2 => LevelFilter::Info,
        3 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

/// Formats one record; `pid` is tini-rs's own PID (1 in a container).
pub fn format_line(level: log::Level, pid: u32, msg: &std::fmt::Arguments<'_>) -> String {
    format!("[{level:<5} tini-rs ({pid})] {msg}\n")
}

/// Longest line written: one write of at most this much to a pipe is all or nothing. A
/// longer line is cut to fit and keeps its newline, so the program's next output starts on a
/// line of its own.
const MAX_LINE: usize = 4096;

/// At most this many lines of tini-rs's own wait unread in a pipe it splices into: a spliced
/// line takes a whole slot of the pipe (a default pipe has 16, of 4 KiB each) however short
/// it is, and the program needs those slots for its own output when the reader stalls.
const MAX_SPLICED: usize = 4;

/// Where log lines go, decided once at start-up from what fd 2 is.
enum Sink {
    /// A pipe, FIFO, terminal or other device: our own open of it, non-blocking. The
    /// program's file description is never made non-blocking: it is not ours to change,
    /// and a program that shares it could fill the pipe between a check and a write.
    Own(OwnedFd),
    /// A pipe or FIFO that tini-rs may not open anew (another user's, as when a container
    /// runs as a non-root user, or no /proc): each line goes into a private pipe and is
    /// moved to fd 2 with `splice(SPLICE_F_NONBLOCK)`, which never waits for room.
    Spliced(Splicer),
    /// A socket: `send` with `MSG_DONTWAIT` on fd 2 (a socket cannot be opened by path).
    Socket,
    /// A regular file: writing to it never waits for a reader; written as is, so that the
    /// program's offset and `O_APPEND` are respected.
    File,
    /// Closed, or a device that cannot be written without the risk of blocking: dropped.
    Drop(Option<Errno>),
}

impl Sink {
    /// The sink for what fd 2 is now.
    fn for_stderr() -> Sink {
        let stderr = io::stderr();
        let Ok(st) = fstat(stderr.as_fd()) else {
            return Sink::Drop(None);
        };
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        if kind == SFlag::S_IFSOCK {
            return Sink::Socket;
        }
        if kind == SFlag::S_IFREG {
            return Sink::File;
        }
        let refused = match nonblocking_open("/proc/self/fd/2") {
            Ok(fd) => return Sink::Own(fd),
            Err(e) => e,
        };
        if kind == SFlag::S_IFIFO {
            return private_pipe().map_or(Sink::Drop(Some(refused)), |(read, write)| {
                Sink::Spliced(Splicer {
                    read,
                    write,
                    ends: VecDeque::new(),
                    sent: 0,
                })
            });
        }
        // A terminal of another user's (root's terminal under `docker run -t`, tini-rs run
        // as a user): /dev/tty names the controlling terminal whatever its owner; it is used
        // only if it is the very device on fd 2. `fstat` of /dev/tty says 5:0 whatever the
        // terminal; TIOCGDEV says which terminal it is.
        if kind == SFlag::S_IFCHR {
            if let Ok(fd) = nonblocking_open("/dev/tty") {
                if crate::sys::terminal_device(fd.as_fd()).is_ok_and(|dev| dev == st.st_rdev) {
                    return Sink::Own(fd);
                }
            }
        }
        Sink::Drop(Some(refused))
    }

    /// Writes `line` at once or not at all (a terminal may take part of it).
    fn write(&mut self, line: &[u8]) -> Result<usize, Errno> {
        let stderr = io::stderr();
        let fd2: BorrowedFd<'_> = stderr.as_fd();
        match self {
            Sink::Own(fd) => nix::unistd::write(fd, line),
            Sink::Spliced(s) => s.write(fd2, line),
            Sink::Socket => crate::sys::send_nonblocking(fd2, line),
            Sink::File => nix::unistd::write(fd2, line),
            Sink::Drop(_) => Ok(0),
        }
    }

    /// The descriptors of tini-rs's own that the sink uses.
    fn fds(&self) -> Vec<RawFd> {
        match self {
            Sink::Own(fd) => vec![fd.as_raw_fd()],
            Sink::Spliced(s) => vec![s.read.as_raw_fd(), s.write.as_raw_fd()],
            _ => Vec::new(),
        }
    }
}

/// Lines moved into fd 2 (a pipe) by `splice`, with a count of those that may still take a
/// slot of it.
struct Splicer {
    /// The private pipe's ends, both non-blocking.
    read: OwnedFd,
    write: OwnedFd,
    /// For each line of ours that may still be unread: how many bytes of ours the pipe had
    /// got when that line was complete, counted from `sent`'s last reset.
    ends: VecDeque<usize>,
    /// Bytes of ours moved into the pipe since the last reset.
    sent: usize,
}

impl Splicer {
    /// Moves `line` into `fd2`, or drops it while [`MAX_SPLICED`] lines of ours may be
    /// unread there.
    fn write(&mut self, fd2: BorrowedFd<'_>, line: &[u8]) -> Result<usize, Errno> {
        self.forget_read(fd2);
        if self.ends.len() >= MAX_SPLICED {
            return Err(Errno::EAGAIN);
        }
        let queued = nix::unistd::write(&self.write, line)?;
        let moved = crate::sys::splice_nonblocking(self.read.as_fd(), fd2, queued);
        if moved != Ok(queued) {
            // What did not fit is dropped, so that the next line starts clean.
            let mut scrap = [0u8; 512];
            while nix::unistd::read(&self.read, &mut scrap).is_ok_and(|n| n > 0) {}
        }
        if let Ok(n @ 1..) = moved {
            self.sent = self.sent.saturating_add(n);
            self.ends.push_back(self.sent);
        }
        moved
    }

    /// Forgets the lines the reader has certainly taken. The reader takes bytes in order;
    /// since the last reset the pipe got `sent` bytes of ours and any number of others', so
    /// with `pending` bytes left unread, every line of ours that ended within the first
    /// `sent - pending` bytes of ours is gone, whatever others wrote.
    fn forget_read(&mut self, fd2: BorrowedFd<'_>) {
        let Ok(pending) = crate::sys::pipe_pending(fd2) else {
            return;
        };
        let taken = self.sent.saturating_sub(pending);
        while self.ends.front().is_some_and(|end| *end <= taken) {
            self.ends.pop_front();
        }
        if self.ends.is_empty() {
            self.sent = 0;
        }
    }
}

/// A new, non-blocking open of `path` for writing. For /proc/self/fd/2 it fails for a pipe
/// whose reader is gone (ENXIO), one of another user's (EACCES) or without /proc (ENOENT).
fn nonblocking_open(path: &str) -> Result<OwnedFd, Errno> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    crate::sys::above_stdio(OwnedFd::from(file))
}

/// A private pipe, both ends non-blocking and above 2: (read, write).
fn private_pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    use nix::fcntl::OFlag;
    let (r, w) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
    Ok((crate::sys::above_stdio(r)?, crate::sys::above_stdio(w)?))
}

/// The descriptors tini-rs opened for its log lines (they must stay open).
pub fn own_fds() -> &'static [RawFd] {
    OWN_FDS.get().map_or(&[], Vec::as_slice)
}

/// Set once by [`init`].
static OWN_FDS: std::sync::OnceLock<Vec<RawFd>> = std::sync::OnceLock::new();

/// The PID that log lines name, set once by [`init`].
static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// Writes one error line to fd 2 itself, waiting for room as long as it takes (and whole,
/// however long): for the forked child only, which is not PID 1 and may wait, as tini's
/// child does. Errors (stderr closed or broken) drop the line.
pub fn write_blocking(msg: &std::fmt::Arguments<'_>) {
    let pid = PID.get().copied().unwrap_or_else(std::process::id);
    let line = format_line(log::Level::Error, pid, msg);
    let mut rest = line.as_bytes();
    while !rest.is_empty() {
        match nix::unistd::write(io::stderr().as_fd(), rest) {
            Ok(0) => return,
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// `line` (one record, ending in a newline) cut to at most [`MAX_LINE`] bytes at a
/// character's boundary, still ending in its newline.
fn fit(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if line.len() <= MAX_LINE {
        return line.into();
    }
    // A UTF-8 continuation byte is 0b10xx_xxxx: back off to the start of its character (a
    // bounded search: no loop of PID 1 can run on).
    let end = (1..MAX_LINE)
        .rev()
        .find(|&i| line.get(i).is_none_or(|b| b & 0xC0 != 0x80))
        .unwrap_or(0);
    let mut cut = line.get(..end).unwrap_or_default().to_vec();
    cut.push(b'\n');
    cut.into()
}

/// Stderr that never blocks: each line is written whole through the [`Sink`] or dropped.
struct NonBlockingStderr {
    sink: Sink,
}

impl Write for NonBlockingStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // EAGAIN (no room), EPIPE (no reader) or any other error: the line is dropped.
        let _ = self.sink.write(&fit(buf));
        // Report everything as written: a lost log line is not an error worth acting on.
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs the logger for process `pid`. Failure (a logger already set) is harmless and
/// ignored.
pub fn init(verbosity: u8, pid: u32) {
    let sink = Sink::for_stderr();
    let _ = OWN_FDS.set(sink.fds());
    let _ = PID.set(pid);
    let dropped = match sink {
        Sink::Drop(Some(e)) => Some(e),
        _ => None,
    };
    let mut b = env_logger::Builder::new();
    b.filter_level(level(verbosity))
        .write_style(env_logger::WriteStyle::Never)
        .target(env_logger::Target::Pipe(Box::new(NonBlockingStderr {
            sink,
        })))
        .format(move |f, r| f.write_all(format_line(r.level(), pid, r.args()).as_bytes()));
    let _ = b.try_init();
    if let Some(e) = dropped {
        // Nobody sees this line; it documents the case for a reader of the code and strace.
        log::debug!(
            "stderr cannot be written without blocking ({})",
            crate::error::strerror(e)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_levels() {
        assert_eq!(level(0), LevelFilter::Error);
        assert_eq!(level(1), LevelFilter::Warn);
        assert_eq!(level(2), LevelFilter::Info);
        assert_eq!(level(3), LevelFilter::Debug);
        assert_eq!(level(4), LevelFilter::Trace);
        assert_eq!(level(200), LevelFilter::Trace);
    }

    #[test]
    fn a_long_line_is_cut_and_keeps_its_newline() {
        let short = b"short\n";
        assert_eq!(&*fit(short), short);
        let mut long = vec![b'a'; MAX_LINE - 2];
        long.extend("é and more\n".as_bytes());
        let cut = fit(&long);
        assert_eq!(cut.len(), MAX_LINE - 1, "the é is not split");
        assert_eq!(cut.last(), Some(&b'\n'));
        let exact = [vec![b'a'; MAX_LINE - 1], vec![b'\n']].concat();
        assert_eq!(&*fit(&exact), &exact[..]);
    }

    #[test]
    fn line_format() {
        let line = format_line(log::Level::Warn, 1, &format_args!("hello {}", 5));
        assert_eq!(line, "[WARN  tini-rs (1)] hello 5\n");
        let line = format_line(log::Level::Error, 42, &format_args!("x"));
        assert_eq!(line, "[ERROR tini-rs (42)] x\n");
    }
}
