//! Logging: verbosity → level, and an env_logger writing `[LEVEL tini-rs (PID)] message`
//! lines to stderr that can never block or kill PID 1.
//!
//! The logger is built with `Builder::new()`, never from `RUST_LOG`, which belongs to the
//! program. A line is written only if stderr can take it without blocking (a full pipe that
//! nobody reads must not freeze signal forwarding); a closed or broken stderr just loses the
//! line. The SIGPIPE a broken pipe raises is recognised and not forwarded (see `signals`).

use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};

use log::LevelFilter;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// `-v` count (or TINI_VERBOSITY) → level: 0 errors, 1 warnings, 2 info, 3 debug, 4+ trace.
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

/// Longest line written: a pipe takes this much atomically once poll says it is writable.
const MAX_LINE: usize = 4096;

/// Stderr that never blocks: checks writability first and drops what does not fit.
///
/// On a terminal, "writable" only means "some room", which can be less than a line, so a
/// terminal is written through its own non-blocking open (`tty`): a stalled terminal (a
/// frozen `docker run -it` session) loses lines instead of freezing PID 1. The program's
/// file description is never made non-blocking. Whether stderr is a terminal is found out
/// at the first line, so that a run that logs nothing spends no system call on it.
struct NonBlockingStderr {
    tty: Option<Option<OwnedFd>>,
}

impl Write for NonBlockingStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let line = buf.get(..buf.len().min(MAX_LINE)).unwrap_or(buf);
        if let Some(tty) = self.tty.get_or_insert_with(nonblocking_tty) {
            // EAGAIN (no room) or any other error: the line is dropped.
            let _ = nix::unistd::write(tty, line);
            return Ok(buf.len());
        }
        // fd 2 is borrowed only for this call; if it is closed, poll reports POLLNVAL and
        // the line is dropped. POLLHUP (a socket whose reader is gone) would only earn us a
        // SIGPIPE.
        let handle = io::stderr();
        let fd = handle.as_fd();
        let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
        let ready = matches!(poll(&mut fds, PollTimeout::ZERO), Ok(1))
            && fds.first().and_then(PollFd::revents).is_some_and(|r| {
                r.contains(PollFlags::POLLOUT)
                    && !r.intersects(PollFlags::POLLNVAL | PollFlags::POLLERR | PollFlags::POLLHUP)
            });
        if ready {
            let _ = nix::unistd::write(fd, line);
        }
        // Report everything as written: a lost log line is not an error worth acting on.
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A non-blocking open of the terminal on stderr, if stderr is one (and /proc is there).
fn nonblocking_tty() -> Option<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    if !nix::unistd::isatty(io::stderr().as_fd()).unwrap_or(false) {
        return None;
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open("/proc/self/fd/2")
        .ok()?;
    crate::sys::above_stdio(OwnedFd::from(file)).ok()
}

/// Installs the logger for process `pid`. Failure (a logger already set) is harmless and
/// ignored.
pub fn init(verbosity: u8, pid: u32) {
    let mut b = env_logger::Builder::new();
    b.filter_level(level(verbosity))
        .write_style(env_logger::WriteStyle::Never)
        .target(env_logger::Target::Pipe(Box::new(NonBlockingStderr {
            tty: None,
        })))
        .format(move |f, r| f.write_all(format_line(r.level(), pid, r.args()).as_bytes()));
    let _ = b.try_init();
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
    fn line_format() {
        let line = format_line(log::Level::Warn, 1, &format_args!("hello {}", 5));
        assert_eq!(line, "[WARN  tini-rs (1)] hello 5\n");
        let line = format_line(log::Level::Error, 42, &format_args!("x"));
        assert_eq!(line, "[ERROR tini-rs (42)] x\n");
    }
}
