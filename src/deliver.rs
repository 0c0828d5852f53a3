//! Who gets a signal, and how it is sent without ever hitting the wrong process.
//!
//! The program is signalled by PID (or its group by PGID) only while it is not reaped: a
//! zombie keeps its PID, and with it the group's ID, from being reused. Processes found in
//! /proc (broadcast, and the shutdown when tini-rs is not PID 1) are signalled through a
//! pidfd opened before checking that the PID still names the process that was scanned, so
//! a PID reused in between is never hit; `kill` is the fallback only where no pidfd can be
//! had (kernels before Linux 5.3, or no descriptor left).

use std::sync::atomic::{AtomicU32, Ordering};

use log::{debug, trace, warn};
use nix::errno::Errno;

use crate::procs::{self, Proc};
use crate::signals;
use crate::state::Target;
use crate::sys::{self, Pidfd};

/// Carries out the core's `Send(target, sig)` for each of `sigs`, in order, for init
/// `own_pid` (one /proc scan for them all). `program` is the program's PID (0 in pause
/// mode), `main` the same while its status is not collected: only then are its PID and
/// group signalled (a reaped PID can be reused). The group's members are still told apart by
/// its ID afterwards: an ID some process still uses is never reused.
pub fn send(target: Target, sigs: &[i32], own_pid: i32, program: i32, main: Option<i32>) {
    let each = |to: i32| sigs.iter().for_each(|s| kill(to, *s));
    match (target, main) {
        (Target::Group, Some(pid)) => {
            each(-pid);
            // A program that left its group (tini -g loses the signal then).
            if sys::getpgid(pid).is_ok_and(|g| g != pid) {
                each(pid);
            }
        }
        (Target::Program, Some(pid)) => each(pid),
        (Target::Outside, _) => {
            to_descendants(own_pid, sigs, |p| p.pgrp != program && Some(p.pid) != main);
        }
        (Target::Members, _) => to_descendants(own_pid, sigs, |p| p.pgrp == program),
        (Target::Descendants, _) => to_descendants(own_pid, sigs, |_| true),
        (Target::Everyone, _) if own_pid == 1 => each(-1),
        (Target::Everyone | Target::Group | Target::Program, _) => {
            trace!("Nobody to receive {sigs:?} as {target:?}");
        }
    }
}

/// Sends `sigs` to every descendant of `root` that /proc shows now and `pick` accepts. One
/// process at a time: pinned by a pidfd, checked, signalled, released, so that no number of
/// processes can run tini-rs out of descriptors.
fn to_descendants(root: i32, sigs: &[i32], pick: impl Fn(&Proc) -> bool) {
    let table = procs::scan();
    let found = procs::descendants(&table, root);
    trace!("Found {} descendants to signal", found.len());
    for p in found.iter().filter(|p| pick(p)) {
        to_pinned(p, sigs);
    }
}

/// Sends `signals` to `p` if its PID still names the scanned process.
fn to_pinned(p: &Proc, signals: &[i32]) {
    // The pidfd names whatever process has the PID now; the start time says whether that
    // is still the scanned one.
    let same = || procs::read(p.pid).is_some_and(|now| now.start == p.start);
    match Pidfd::open(p.pid) {
        Ok(fd) if same() => {
            for sig in signals {
                report(fd.send(*sig), p.pid, *sig);
            }
        }
        Ok(_) | Err(Errno::ESRCH) => {}
        // No pidfds on this kernel: the PID, checked just before.
        Err(Errno::ENOSYS) => {
            if same() {
                for sig in signals {
                    report(sys::kill(p.pid, *sig), p.pid, *sig);
                }
            }
        }
        // No descriptor left, not even to check the PID: it is signalled as it was scanned
        // a moment ago (tini-rs holds two or three descriptors at a time, so only an absurd
        // limit gets here).
        Err(e @ (Errno::EMFILE | Errno::ENFILE)) => {
            warn!(
                "pidfd_open({}): {}; using kill",
                p.pid,
                crate::error::strerror(e)
            );
            for sig in signals {
                report(sys::kill(p.pid, *sig), p.pid, *sig);
            }
        }
        Err(e) => report(Err(e), p.pid, signals.first().copied().unwrap_or(0)),
    }
}

/// `kill(target, sig)` for the program (`target` > 0) or its group (`target` < 0), or
/// `kill(-1, sig)` for the shutdown as PID 1. The caller makes sure the PID cannot have
/// been reused (the program is not reaped yet).
pub fn kill(target: i32, sig: i32) {
    report(sys::kill(target, sig), target, sig);
}

/// Failed deliveries other than ESRCH, counted so that a storm (e.g. EAGAIN when the
/// receiver's queue of real-time signals is full) logs a few lines, not one per signal.
static SEND_FAILURES: AtomicU32 = AtomicU32::new(0);

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
