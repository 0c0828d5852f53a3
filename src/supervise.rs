//! The loop PID 1 lives in after the spawn: wait for a signal, reap on SIGCHLD, forward
//! everything else, and decide when to exit.
//!
//! Nothing here is fatal: after the program started, every error is logged and the loop
//! goes on. There is no periodic wake-up: `sigtimedwait` waits without a timeout unless a
//! grace-period deadline is pending.

use std::time::{Duration, Instant};

use log::{debug, error, info, trace, warn};
use nix::errno::Errno;

use crate::config::{Config, Delivery};
use crate::deliver;
use crate::exit_code::{Outcome, raw_code};
use crate::reap;
use crate::signals;
use crate::sys::{self, SignalSet};

/// How long to wait for processes to vanish after SIGKILL before giving up on them
/// (a process in uninterruptible sleep can outlive its SIGKILL for a while).
const AFTER_KILL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The program runs (or pause mode waits for SIGTERM/SIGINT).
    Running,
    /// The program is gone; its descendants run on by themselves (`--wait-descendants`).
    Waiting,
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
    /// The program's PID while it is not reaped. Only then may its PID, and its group's
    /// ID (the same number), be signalled: a reaped PID can be reused.
    main: Option<i32>,
    /// The program's exit code (before `-e`), once known.
    code: Option<u8>,
    phase: Phase,
    no_children: bool,
    /// The "ignoring our own SIGPIPE" line was logged (it must not be repeated).
    pipe_noted: bool,
    /// Pauses after unexpected `sigtimedwait` failures, so that they cannot spin.
    backoff: Backoff,
    /// The SIGTERM held back by the stop delay (what to forward, and when).
    held: Option<(i32, Instant)>,
    /// The stop delay was used (only the first SIGTERM is held).
    delay_used: bool,
}

impl<'a> Supervisor<'a> {
    /// A supervisor for the program `main` (None in pause mode) of init `own_pid`.
    pub fn new(cfg: &'a Config, blocked: SignalSet, main: Option<i32>, own_pid: i32) -> Self {
        Supervisor {
            cfg,
            blocked,
            own_pid,
            is_pid1: own_pid == 1,
            main,
            code: None,
            phase: Phase::Running,
            no_children: false,
            pipe_noted: false,
            backoff: Backoff::default(),
            held: None,
            delay_used: false,
        }
    }

    /// Runs until the program has exited (and, with a grace period, everything else too);
    /// returns the exit code after `-e` remapping.
    pub fn run(mut self) -> u8 {
        // A child may have died before we started waiting; its SIGCHLD is pending anyway,
        // so no explicit drain is needed here.
        loop {
            if let Some(code) = self.finished() {
                return self.cfg.remap.apply(code);
            }
            // An expired deadline is acted on before waiting: sigtimedwait hands out a
            // pending signal even with a zero timeout, so a stream of signals could
            // otherwise postpone it for ever. With no deadline (the usual case) the clock
            // is not even read.
            let mut timeout = None;
            if let Some(deadline) = self.deadline() {
                let now = Instant::now();
                if deadline <= now {
                    self.on_deadline(now);
                    continue;
                }
                timeout = Some(deadline.saturating_duration_since(now));
            }
            match sys::wait_signal(&self.blocked, timeout) {
                Ok(r) => {
                    self.backoff.reset();
                    self.on_signal(r);
                }
                // A timeout: the top of the loop sees what expired.
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => self.on_wait_failure(e),
            }
        }
    }

    /// `sigtimedwait` failed in a way it never should (it fails only for invalid
    /// arguments). Retrying at once could spin for ever; instead, reap what is there (the
    /// program's exit must still be seen) and pause, longer each time, up to a second.
    fn on_wait_failure(&mut self, e: Errno) {
        let pause = self.backoff.next();
        if self.backoff.failures.is_power_of_two() {
            error!(
                "sigtimedwait failed: {}; retrying every {pause:?} at most",
                crate::error::strerror(e)
            );
        }
        self.on_sigchld();
        std::thread::sleep(pause);
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
            Phase::Running => self.held.map(|(_, at)| at),
            Phase::Waiting => None,
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
            info!("Pause mode: {} received", signals::name(sig));
            self.main_done(0, false);
            return;
        }
        if r.signo == libc::SIGTERM && self.hold_term(sig) {
            return;
        }
        if self.phase == Phase::Waiting && matches!(r.signo, libc::SIGTERM | libc::SIGINT) {
            if let Some(grace) = self.cfg.grace_period {
                self.start_grace(grace);
                return;
            }
        }
        self.forward(sig);
    }

    /// The stop delay: the first SIGTERM (to be delivered as `sig`) is held while the
    /// program runs; a second one ends the wait at once. Returns whether `sig` was dealt
    /// with here.
    fn hold_term(&mut self, sig: i32) -> bool {
        let Some(delay) = self.cfg.stop_delay else {
            return false;
        };
        if self.main.is_none() {
            return false;
        }
        if let Some((held, _)) = self.held.take() {
            info!("Second SIGTERM: ending the stop delay");
            self.forward(held);
            return true;
        }
        if self.delay_used {
            return false;
        }
        self.delay_used = true;
        info!("Holding SIGTERM for {delay:?} (stop delay)");
        self.held = Some((sig, Instant::now() + delay));
        true
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
                    );
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
        // A SIGTERM held by the stop delay has nobody left to go to.
        self.held = None;
        if self.cfg.grace_period.is_none() && !self.cfg.wait_descendants {
            return;
        }
        if !just_drained {
            // Pause mode may never have drained, and orphans may have been re-parented to
            // us since the last drain said "no children".
            self.no_children = reap::drain(self.main, self.cfg.warn_on_reap).no_children;
        }
        if self.no_children {
            return;
        }
        match (self.cfg.wait_descendants, self.cfg.grace_period) {
            (true, _) => {
                info!("Waiting for the remaining processes to exit by themselves");
                self.phase = Phase::Waiting;
            }
            (false, Some(grace)) => self.start_grace(grace),
            (false, None) => {}
        }
    }

    /// SIGTERM (and SIGCONT) to everything that is left, SIGKILL after `grace`.
    fn start_grace(&mut self, grace: Duration) {
        info!("Sending SIGTERM to the remaining processes, grace period {grace:?}");
        // SIGCONT right after: a stopped process gets to act on its SIGTERM within the
        // grace period instead of sitting it out until the SIGKILL.
        self.shut_down(&[libc::SIGTERM, libc::SIGCONT]);
        self.phase = Phase::Grace(Instant::now() + grace);
    }

    fn on_deadline(&mut self, now: Instant) {
        match self.phase {
            Phase::Running | Phase::Waiting => {
                if let Some((sig, at)) = self.held {
                    if at <= now {
                        self.held = None;
                        info!("Stop delay over: passing SIGTERM on");
                        self.forward(sig);
                    }
                }
            }
            Phase::Grace(_) => {
                warn!("Grace period over: sending SIGKILL to the remaining processes");
                self.shut_down(&[libc::SIGKILL]);
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
        if self.phase == Phase::Waiting {
            // The program is over and its descendants run on (`--wait-descendants`): they
            // get every signal, whatever the delivery mode, and a stopped one is woken to
            // act on a SIGTERM or SIGINT.
            let wake = matches!(sig, libc::SIGTERM | libc::SIGINT);
            let signals: &[i32] = if wake { &[sig, libc::SIGCONT] } else { &[sig] };
            deliver::to_descendants(self.own_pid, None, signals);
            return;
        }
        match (self.cfg.delivery, self.main) {
            // The group by PGID first (one atomic step: a process it forks meanwhile gets it
            // too), then every other descendant.
            (Delivery::All, Some(pid)) => {
                Self::to_program_group(pid, sig);
                deliver::to_descendants(self.own_pid, Some(pid), &[sig]);
            }
            (Delivery::All, None) => deliver::to_descendants(self.own_pid, None, &[sig]),
            (Delivery::Child, Some(pid)) => deliver::kill(pid, sig),
            (Delivery::Group, Some(pid)) => Self::to_program_group(pid, sig),
            // The program is reaped (a grace period runs): its group's ID may be reused,
            // so what is left of it is reached as our descendants.
            (Delivery::Group, None) if !self.cfg.pause => {
                deliver::to_descendants(self.own_pid, None, &[sig]);
            }
            (Delivery::Group | Delivery::Child, None) => {
                trace!("No program to receive {}", signals::name(sig));
            }
        }
    }

    /// `sig` to the program's group, and to the program itself if it moved to another group
    /// (tini -g loses it then). Only while the program is not reaped (`main`).
    fn to_program_group(pid: i32, sig: i32) {
        deliver::kill(-pid, sig);
        if sys::getpgid(pid).is_ok_and(|g| g != pid) {
            deliver::kill(pid, sig);
        }
    }

    /// Sends `signals` to every process tini-rs is responsible for, in order, when
    /// shutting down: `kill(-1)` as PID 1 (everything in the namespace dies with it
    /// anyway), otherwise every descendant, pinned once for all the signals.
    fn shut_down(&self, signals: &[i32]) {
        if self.is_pid1 {
            for sig in signals {
                deliver::kill(-1, *sig);
            }
        } else {
            deliver::to_descendants(self.own_pid, None, signals);
        }
    }
}

/// The pause after each unexpected `sigtimedwait` failure in a row: 10 ms, doubling up to
/// 1 s (the wake-up rate tini has all the time).
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn next(&mut self) -> Duration {
        let pause = Self::FIRST.saturating_mul(1 << self.failures.min(10));
        self.failures = self.failures.saturating_add(1);
        pause.min(Self::MAX)
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_to_one_second_and_reset() {
        let mut b = Backoff::default();
        let pauses: Vec<u128> = (0..12).map(|_| b.next().as_millis()).collect();
        assert_eq!(
            pauses,
            [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000, 1000]
        );
        b.reset();
        assert_eq!(b.next(), Backoff::FIRST);
    }
}
