//! The loop PID 1 lives in after the spawn: wait for a signal, reap on SIGCHLD, feed the
//! core (`state.rs`) and carry out its actions, every signal of a step before any log line
//! of that step (a line can wait on a stalled stderr; the signal it reports must not).
//! Nothing here is fatal: after the program started, every error is logged and the loop
//! goes on. There is no periodic wake-up: `sigtimedwait` has a timeout only while the core
//! has a deadline (stop delay, grace period, kill phase).

use std::time::{Duration, Instant};

use log::{debug, error, log};
use nix::errno::Errno;

use crate::config::Config;
use crate::exit_code::Outcome;
use crate::signals::{self, name};
use crate::state::{Action, Arg, Core, Event};
use crate::sys::{self, SignalSet};
use crate::{deliver, reap};

/// The running init: the core's decisions, and what only the loop knows (PIDs, the clock).
pub struct Supervisor<'a> {
    core: Core<'a>,
    blocked: SignalSet,
    own_pid: i32,
    /// The program's PID (0 in pause mode), kept after its status is collected: what is left
    /// of its group is still told apart by it.
    program: i32,
    start: Instant,
    /// Unexpected `sigtimedwait` failures in a row.
    failures: u32,
}

impl<'a> Supervisor<'a> {
    /// A supervisor for the program `main` (None in pause mode) of init `own_pid`.
    pub fn new(cfg: &'a Config, blocked: SignalSet, main: Option<i32>, own_pid: i32) -> Self {
        let (core, program) = (Core::new(cfg, own_pid == 1), main.unwrap_or(0));
        let (start, failures) = (Instant::now(), 0);
        Supervisor {
            core,
            blocked,
            own_pid,
            program,
            start,
            failures,
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
            let (now, due) = (self.start.elapsed(), self.core.deadline());
            if due.is_some_and(|at| at <= now) && !std::mem::replace(&mut acted, true) {
                self.step(Event::Deadline);
                continue;
            }
            acted = false;
            let r = sys::wait_signal(&self.blocked, due.map(|at| at.saturating_sub(now)));
            self.failures = if r.is_ok() { 0 } else { self.failures };
            match r {
                Ok(r) if r.signo == libc::SIGCHLD => {
                    self.drain();
                    debug!("Received SIGCHLD");
                }
                Ok(r) => self.step(Event::Signal(r.signo, signals::origin(&r, self.own_pid))),
                // A timeout: the top of the loop sees what expired.
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => self.on_wait_failure(e),
            }
        }
    }

    /// `sigtimedwait` failed in a way it never should (only invalid arguments make it fail).
    /// Retrying at once could spin for ever; instead, reap what is there (the program's exit
    /// must still be seen) and pause, longer each time, up to a second.
    fn on_wait_failure(&mut self, e: Errno) {
        let pause = backoff(self.failures);
        self.failures = self.failures.saturating_add(1);
        self.drain();
        if self.failures.is_power_of_two() {
            let e = crate::error::strerror(e);
            error!("sigtimedwait failed: {e}; retrying every {pause:?} at most");
        }
        std::thread::sleep(pause);
    }

    /// Reaps every zombie and tells the core what the drain found.
    fn drain(&mut self) {
        let main = self.core.program_runs().then_some(self.program);
        let d = reap::drain(main, self.core.cfg.warn_on_reap);
        self.step(Event::Drained(d.main, d.no_children));
    }

    /// Feeds `ev` to the core and carries out its actions: signals first, then lines, then
    /// a drain if one was asked for (which is a step of its own).
    fn step(&mut self, ev: Event) {
        self.core.handle(ev, self.start.elapsed());
        let actions = self.core.take();
        // Only while its status is not collected are the program's PID and group its own.
        let main = self.core.program_runs().then_some(self.program);
        for a in actions.iter().flatten() {
            if let Action::Send(target, sig, cont) = *a {
                let sigs: &[i32] = if cont { &[sig, libc::SIGCONT] } else { &[sig] };
                deliver::send(target, sigs, self.own_pid, self.program, main);
            }
        }
        for a in actions.iter().flatten() {
            if let Action::Log(level, text, arg) = *a {
                log_line(level, text, arg);
            }
        }
        if actions.contains(&Some(Action::Drain)) {
            self.drain();
        }
    }
}

/// Logs what the core asked for, at the line's level.
fn log_line(level: log::Level, text: &str, arg: Arg) {
    match arg {
        Arg::None => log!(level, "{text}"),
        Arg::Signal(s) => log!(level, "{text} '{}'", name(s)),
        Arg::Time(d) => log!(level, "{text} {d:?}"),
        Arg::Exit(Outcome::Exited(n)) => {
            log!(level, "Main child exited normally (with status '{n}')");
        }
        Arg::Exit(Outcome::Signaled(s)) => {
            let s = name(s);
            log!(level, "Main child exited with signal (with signal '{s}')");
        }
    }
}

/// The pause after `failures` unexpected `sigtimedwait` failures in a row: 10 ms, doubling
/// up to 1 s (the wake-up rate tini has all the time).
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(10 << failures.min(7)).min(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_to_one_second() {
        let pauses: Vec<u128> = (0..12).map(|f| backoff(f).as_millis()).collect();
        assert_eq!(
            pauses,
            [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000, 1000]
        );
    }
}
