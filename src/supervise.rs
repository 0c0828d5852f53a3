//! The loop PID 1 lives in after the spawn: wait for a signal, reap on SIGCHLD, feed the
//! core (`state.rs`) and carry out what it decides, every signal of a step before any log
//! line of that step (a line can wait on a stalled stderr; the signal it reports must not).
//!
//! Nothing here is fatal: after the program started, every error is logged and the loop
//! goes on. There is no periodic wake-up: `sigtimedwait` waits without a timeout unless the
//! core has a deadline (stop delay, grace period, kill phase).

use std::time::{Duration, Instant};

use log::{debug, error, log};
use nix::errno::Errno;

use crate::config::Config;
use crate::deliver;
use crate::exit_code::Outcome;
use crate::reap;
use crate::signals::{self, name};
use crate::state::{Action, Arg, Core, Event, Line};
use crate::sys::{self, SignalSet};

/// The running init: the core's decisions, and what only the loop knows (PIDs, the clock).
pub struct Supervisor<'a> {
    core: Core<'a>,
    warn_on_reap: bool,
    blocked: SignalSet,
    own_pid: i32,
    /// The program's PID (0 in pause mode), kept after its status is collected: what is left
    /// of its group is still told apart by it.
    program: i32,
    /// Whether the program's status is not collected yet: only then may its PID, and its
    /// group's ID (the same number), be signalled, since a reaped PID can be reused.
    running: bool,
    start: Instant,
    /// Pauses after unexpected `sigtimedwait` failures, so that they cannot spin.
    backoff: Backoff,
    /// The machine's init (`cfg.machine`): SIGPWR and Ctrl-Alt-Del's SIGINT are SIGTERM.
    machine: bool,
}

impl<'a> Supervisor<'a> {
    /// A supervisor for the program `main` (None in pause mode) of init `own_pid`.
    pub fn new(cfg: &'a Config, blocked: SignalSet, main: Option<i32>, own_pid: i32) -> Self {
        Supervisor {
            core: Core::new(cfg, own_pid == 1),
            warn_on_reap: cfg.warn_on_reap,
            blocked,
            own_pid,
            program: main.unwrap_or(0),
            running: main.is_some(),
            start: Instant::now(),
            backoff: Backoff::default(),
            machine: cfg.machine,
        }
    }

    /// Runs until the core says to exit; returns the exit code after `-e` remapping.
    pub fn run(mut self) -> u8 {
        // A child may have died before we started waiting; its SIGCHLD is pending anyway.
        let mut acted = false;
        loop {
            if let Some(code) = self.core.exit() {
                return code;
            }
            // An expired deadline is acted on before waiting, since sigtimedwait hands out a
            // pending signal even with a zero timeout (a stream of signals must not postpone
            // it for ever); and a wait comes between two deadlines, so a deadline that is
            // always due again (the kill phase's rescans) cannot starve the signals.
            let now = self.start.elapsed();
            let due = self.core.deadline();
            if due.is_some_and(|at| at <= now) && !std::mem::replace(&mut acted, true) {
                self.step(Event::Deadline);
                continue;
            }
            acted = false;
            match sys::wait_signal(&self.blocked, due.map(|at| at.saturating_sub(now))) {
                Ok(r) if r.signo == libc::SIGCHLD => {
                    self.backoff.reset();
                    self.drain();
                    debug!("Received SIGCHLD");
                }
                Ok(r) => {
                    self.backoff.reset();
                    let r = if self.machine {
                        crate::machine::as_stop_request(r)
                    } else {
                        r
                    };
                    let own_pipe = signals::is_self_raised_pipe(&r, self.own_pid);
                    self.step(Event::Signal(r.signo, own_pipe));
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
        self.drain();
        if self.backoff.failures.is_power_of_two() {
            error!(
                "sigtimedwait failed: {}; retrying every {pause:?} at most",
                crate::error::strerror(e)
            );
        }
        std::thread::sleep(pause);
    }

    /// Reaps every zombie and tells the core what the drain found.
    fn drain(&mut self) {
        let d = reap::drain(self.running.then_some(self.program), self.warn_on_reap);
        self.running &= d.main.is_none();
        self.step(Event::Drained(d.main, d.no_children));
    }

    /// Feeds `ev` to the core and carries out its actions: signals first, then lines, then
    /// a drain if one was asked for (which is a step of its own).
    fn step(&mut self, ev: Event) {
        self.core.handle(ev, self.start.elapsed());
        let actions = self.core.take();
        for a in actions.iter().flatten() {
            if let Action::Send(target, sig) = *a {
                let main = self.running.then_some(self.program);
                deliver::send(target, sig, self.own_pid, self.program, main);
            }
        }
        for a in actions.iter().flatten() {
            if let Action::Log(line) = *a {
                log_line(line);
            }
        }
        if actions.contains(&Some(Action::Drain)) {
            self.drain();
        }
    }
}

/// Logs what the core asked for, at the line's level.
fn log_line(Line(level, text, arg): Line) {
    match arg {
        Arg::None => log!(level, "{text}"),
        Arg::Signal(s) => log!(level, "{text} '{}'", name(s)),
        Arg::Time(d) => log!(level, "{text} {d:?}"),
        Arg::Exit(Outcome::Exited(n)) => {
            log!(level, "Main child exited normally (with status '{n}')");
        }
        Arg::Exit(Outcome::Signaled(s)) => {
            log!(
                level,
                "Main child exited with signal (with signal '{}')",
                name(s)
            );
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
