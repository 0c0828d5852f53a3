//! The zombie drain: `waitpid(-1, WNOHANG)` until nothing is left to collect.
//!
//! The kernel sends SIGCHLD for every child that exits and for every zombie re-parented to
//! a subreaper or PID 1, but it coalesces them, so one SIGCHLD means "drain them all".
//! WUNTRACED is never used: a stopped program has not exited.

use log::{debug, error, trace, warn};
use nix::errno::Errno;

use crate::exit_code::Outcome;
use crate::sys::{self, Status};

/// What one drain found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drain {
    /// The main child's outcome, if it was reaped in this drain.
    pub main: Option<Outcome>,
    /// `waitpid` said ECHILD: no child of ours is left, running or not.
    pub no_children: bool,
}

/// Reaps every child that has exited. `main` is the program's PID, if it is still running.
pub fn drain(main: Option<i32>, warn_on_reap: bool) -> Drain {
    let mut d = Drain::default();
    loop {
        let (pid, outcome) = match sys::wait_any_nohang() {
            Ok(None) => {
                trace!("No more zombies to reap");
                return d;
            }
            Ok(Some((pid, Status::Exited(code)))) => (pid, Outcome::Exited(code)),
            Ok(Some((pid, Status::Signaled(sig)))) => (pid, Outcome::Signaled(sig)),
            Ok(Some((pid, Status::Other))) => {
                debug!("Ignoring a stop/continue status of pid={pid}");
                continue;
            }
            Err(Errno::ECHILD) => {
                trace!("No child left");
                d.no_children = true;
                return d;
            }
            Err(Errno::EINTR) => continue,
            Err(e) => {
                error!("waitpid failed: {}", crate::error::strerror(e));
                return d;
            }
        };
        if Some(pid) == main {
            d.main = Some(outcome);
        } else if warn_on_reap {
            warn!("Reaped zombie process with pid={pid}");
        } else {
            debug!("Reaped zombie process with pid={pid}");
        }
    }
}
