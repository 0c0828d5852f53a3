//! The loop PID 1 lives in after the spawn: wait for a signal, reap on SIGCHLD, forward
//! everything else, and decide when to exit.
//!
//! Nothing here is fatal: after the program started, every error is logged and the loop
//! goes on. There is no periodic wake-up: `sigtimedwait` waits without a timeout unless a
//! grace-period deadline is pending (and once, 100 ms after the spawn, to drop the start-up
//! code from memory).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use log::{debug, error, info, trace, warn};
use nix::errno::Errno;

use crate::cli::{Config, Delivery};
use crate::exit_code::{Outcome, raw_code};
use crate::signals;
use crate::sys::{self, SignalSet};
use crate::{procs, reap};

/// When the program has run this long, tini-rs drops its start-up code from memory (one
/// single timed wake-up; a program that is over sooner costs nothing).
const RELEASE_CODE_AFTER: Duration = Duration::from_millis(100);

/// Drops the code pages: argument parsing and spawning are never run again, and the loop
/// faults back in only what it uses.
fn release_code() {
    match sys::release_code_pages() {
        Ok(n) => debug!("Released {} KiB of start-up code from memory", n / 1024),
        Err(e) => debug!("madvise failed: {}", crate::error::strerror(e)),
    }
}

/// How long to wait for processes to vanish after SIGKILL before giving up on them
/// (a process in uninterruptible sleep can outlive its SIGKILL for a while).
const AFTER_KILL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The program runs (or pause mode waits for SIGTERM/SIGINT).
    Running,
    /// The program is gone; the rest got SIGTERM and have until the deadline.
    Grace(Instant),
    /// The rest got SIGKILL; wait a little for them to be reaped.
    Killed(Instant),
}

/// State of the running init.
pub struct Supervisor<'a> {
    cfg: &'a Config,
    blocked: SignalSet,
    own_pid: i32,
    is_pid1: bool,
    /// The program's PID while it has not been reaped.
    main: Option<i32>,
    /// The program's PID, kept after it is reaped (its process group may live on).
    main_pgid: Option<i32>,
    /// The program's exit code (before `-e`), once known.
    code: Option<u8>,
    phase: Phase,
    no_children: bool,
    /// The "ignoring our own SIGPIPE" line was logged (it must not be repeated).
    pipe_noted: bool,
}

impl<'a> Supervisor<'a> {
    pub fn new(cfg: &'a Config, blocked: SignalSet, main: Option<i32>, own_pid: i32) -> Self {
        Supervisor {
            cfg,
            blocked,
            own_pid,
            is_pid1: own_pid == 1,
            main,
            main_pgid: main,
            code: None,
            phase: Phase::Running,
            no_children: false,
            pipe_noted: false,
        }
    }

    /// Runs until the program has exited (and, with a grace period, everything else too);
    /// returns the exit code after `-e` remapping.
    pub fn run(mut self) -> u8 {
        // A child may have died before we started waiting; its SIGCHLD is pending anyway,
        // so no explicit drain is needed here.
        let mut release_at = Some(Instant::now() + RELEASE_CODE_AFTER);
        loop {
            if let Some(code) = self.finished() {
                return self.cfg.remap.apply(code);
            }
            // Expired times are acted on before waiting: sigtimedwait hands out a pending
            // signal even with a zero timeout, so a stream of signals could otherwise
            // postpone them for ever. With nothing timed (the usual case) the clock is not
            // even read.
            let mut timeout = None;
            if release_at.is_some() || self.deadline().is_some() {
                let now = Instant::now();
                if release_at.is_some_and(|t| t <= now) {
                    release_at = None;
                    release_code();
                }
                if self.deadline().is_some_and(|d| d <= now) {
                    self.on_deadline();
                    continue;
                }
                let wake = [self.deadline(), release_at].into_iter().flatten().min();
                timeout = wake.map(|w| w.saturating_duration_since(now));
            }
            match sys::wait_signal(&self.blocked, timeout) {
                Ok(r) => self.on_signal(r),
                // A timeout: the top of the loop sees what expired.
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => {
                    // sigtimedwait fails only for invalid arguments, which we never pass.
                    error!("sigtimedwait failed: {}", crate::error::strerror(e));
                    if let Some(code) = self.code {
                        return self.cfg.remap.apply(code);
                    }
                }
            }
        }
    }

    /// The exit code, once tini-rs may exit.
    fn finished(&self) -> Option<u8> {
        let code = self.code?;
        match self.phase {
            Phase::Running => Some(code),
            _ if self.no_children => Some(code),
            _ => None,
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Running => None,
            Phase::Grace(d) | Phase::Killed(d) => Some(d),
        }
    }

    fn on_signal(&mut self, r: sys::Received) {
        if r.signo == libc::SIGCHLD {
            debug!("Received SIGCHLD");
            self.on_sigchld();
            return;
        }
        // sigtimedwait only returns blocked signals, so only these need a look here.
        if signals::NEVER_FORWARDED.contains(&r.signo) {
            trace!("Not forwarding {}", signals::name(r.signo));
            return;
        }
        if signals::is_self_raised_pipe(&r, self.own_pid) {
            // Said once only: this line goes to the same broken stderr and raises another
            // SIGPIPE, which (numbered below SIGCHLD) would be taken first forever.
            if !self.pipe_noted {
                self.pipe_noted = true;
                debug!("Ignoring SIGPIPE raised by tini-rs's own write");
            }
            return;
        }
        let Some(sig) = self.cfg.rewrite.apply(r.signo) else {
            debug!("Dropping {} (rewrite rule)", signals::name(r.signo));
            return;
        };
        if self.cfg.pause && self.code.is_none() && matches!(sig, libc::SIGTERM | libc::SIGINT) {
            info!("Pause mode: {} received, exiting", signals::name(sig));
            self.main_done(0, false);
            return;
        }
        self.forward(sig);
    }

    fn on_sigchld(&mut self) {
        let d = reap::drain(self.main, self.cfg.warn_on_reap);
        self.no_children = d.no_children;
        if let Some(outcome) = d.main {
            match outcome {
                Outcome::Exited(n) => info!("Main child exited normally (with status '{n}')"),
                Outcome::Signaled(s) => {
                    info!(
                        "Main child exited with signal (with signal '{}')",
                        signals::name(s)
                    )
                }
            }
            self.main = None;
            self.main_done(raw_code(outcome), true);
        }
    }

    /// The program is over (or pause mode was told to stop): exit now, or start the grace
    /// period if one is configured and anything of ours is left. `just_drained` says
    /// whether `no_children` is fresh (the caller drained a moment ago).
    fn main_done(&mut self, code: u8, just_drained: bool) {
        self.code = Some(code);
        let Some(grace) = self.cfg.grace_period else {
            return;
        };
        if !just_drained {
            // Pause mode may never have drained, and orphans may have been re-parented to
            // us since the last drain said "no children".
            self.no_children = reap::drain(self.main, self.cfg.warn_on_reap).no_children;
        }
        if self.no_children {
            return;
        }
        info!("Sending SIGTERM to the remaining processes, grace period {grace:?}");
        self.signal_everything(libc::SIGTERM);
        self.phase = Phase::Grace(Instant::now() + grace);
    }

    fn on_deadline(&mut self) {
        match self.phase {
            Phase::Running => {}
            Phase::Grace(_) => {
                warn!("Grace period over: sending SIGKILL to the remaining processes");
                self.signal_everything(libc::SIGKILL);
                self.phase = Phase::Killed(Instant::now() + AFTER_KILL);
            }
            Phase::Killed(_) => {
                warn!("Processes remain after SIGKILL; exiting anyway");
                self.no_children = true;
            }
        }
    }

    /// Forwards `sig` according to the delivery mode.
    fn forward(&self, sig: i32) {
        debug!("Passing signal: '{}'", signals::name(sig));
        match self.cfg.delivery {
            Delivery::All => self.signal_everything(sig),
            Delivery::Child => {
                if let Some(pid) = self.main {
                    deliver(pid, sig);
                }
            }
            Delivery::Group => {
                let Some(pgid) = self.main_pgid else {
                    return;
                };
                deliver(-pgid, sig);
                // A program that moved itself to another group must still get the signal
                // (tini -g loses it).
                if let Some(pid) = self.main {
                    if sys::getpgid(pid).is_ok_and(|g| g != pgid) {
                        deliver(pid, sig);
                    }
                }
            }
        }
    }

    /// Sends `sig` to every process tini-rs is responsible for.
    fn signal_everything(&self, sig: i32) {
        if self.is_pid1 {
            deliver(-1, sig);
        } else {
            for pid in procs::descendants(self.own_pid) {
                deliver(pid, sig);
            }
        }
    }
}

/// Failed deliveries other than ESRCH, counted so that a storm (e.g. EAGAIN when the
/// receiver's queue of real-time signals is full) logs a few lines, not one per signal.
static SEND_FAILURES: AtomicU64 = AtomicU64::new(0);

/// `kill`, with ESRCH (the target just died) being normal.
fn deliver(target: i32, sig: i32) {
    match sys::kill(target, sig) {
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
