//! Who gets a signal, and how it is sent without ever hitting the wrong process.
//!
//! The program is signalled by PID (or its group by PGID) only while it is not reaped: a
//! zombie keeps its PID, and with it the group's ID, from being reused. Processes found in
//! /proc (broadcast, and the shutdown when tini-rs is not PID 1) are signalled through a
//! pidfd opened before checking that the PID still names the process that was scanned, so
//! a PID reused in between is never hit; `kill` is the fallback only on kernels without
//! pidfds (before Linux 5.3).

use std::sync::atomic::{AtomicU64, Ordering};

use log::{debug, trace, warn};
use nix::errno::Errno;

use crate::procs::{self, Proc};
use crate::signals;
use crate::sys::{self, Pidfd};

/// A process found in /proc, pinned so that signals reach it and no other.
enum Handle {
    Pidfd(Pidfd),
    /// No pidfds on this kernel: the PID, checked against the scan just before.
    Pid(i32),
}

/// A set of processes taken from one scan of /proc, each pinned for as many signals as
/// needed (the grace period sends SIGTERM and then SIGCONT to the same set).
pub struct Pinned(Vec<(i32, Handle)>);

impl Pinned {
    /// Every descendant of `root`, and every member of `group` if given, as /proc shows
    /// them now (`root` excluded).
    pub fn scan(root: i32, group: Option<i32>) -> Self {
        let table = procs::scan();
        let found = procs::descendants_and_group(&table, root, group);
        trace!("Found {} processes to signal", found.len());
        Pinned(found.iter().filter_map(pin).collect())
    }

    /// Sends `sig` to each process of the set that still runs.
    pub fn send(&self, sig: i32) {
        for (pid, handle) in &self.0 {
            let r = match handle {
                Handle::Pidfd(fd) => fd.send(sig),
                Handle::Pid(pid) => sys::kill(*pid, sig),
            };
            report(r, *pid, sig);
        }
    }
}

/// Pins `p`: a pidfd for its PID, kept only if that PID still names the scanned process.
fn pin(p: &Proc) -> Option<(i32, Handle)> {
    let handle = match Pidfd::open(p.pid) {
        Ok(fd) => Handle::Pidfd(fd),
        Err(Errno::ENOSYS) => Handle::Pid(p.pid),
        // ESRCH: gone since the scan. Anything else: it cannot be pinned, so it is not
        // signalled.
        Err(e) => {
            trace!(
                "pidfd_open({}) failed: {}",
                p.pid,
                crate::error::strerror(e)
            );
            return None;
        }
    };
    // The pidfd names whatever process has the PID now; the start time says whether that
    // is still the scanned one.
    let now = procs::read(p.pid)?;
    (now.start == p.start).then_some((p.pid, handle))
}

/// `kill(target, sig)` for the program (`target` > 0) or its group (`target` < 0), or
/// `kill(-1, sig)` for the shutdown as PID 1. The caller makes sure the PID cannot have
/// been reused (the program is not reaped yet).
pub fn kill(target: i32, sig: i32) {
    report(sys::kill(target, sig), target, sig);
}

/// Failed deliveries other than ESRCH, counted so that a storm (e.g. EAGAIN when the
/// receiver's queue of real-time signals is full) logs a few lines, not one per signal.
static SEND_FAILURES: AtomicU64 = AtomicU64::new(0);

/// ESRCH (the target just died) is normal; other failures are logged, sparsely.
fn report(r: Result<(), Errno>, target: i32, sig: i32) {
    match r {
        Ok(()) => {}
        Err(Errno::ESRCH) => debug!(
            "No process to receive {} (target {target})",
            signals::name(sig)
        ),
        Err(e) => {
            let n = SEND_FAILURES.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                warn!(
                    "Sending {} to {target} failed: {} ({n} failed so far)",
                    signals::name(sig),
                    crate::error::strerror(e)
                );
            }
        }
    }
}
