//! The supervisor's decisions as a pure state machine: events in (a signal, a drain's
//! result, a deadline reached), actions out (signal a target, drain, log a line), the next
//! deadline and, in the end, the exit code. No system call, no clock read, no logging here:
//! the loop in `supervise.rs` feeds it and carries its actions out, every signal of a step
//! before any line of that step. Times are durations since tini-rs started, given by the loop.
//! `state_check.rs` explores every configuration against an abstract world (`cargo test`).
//!
//! The rules, as the README's table states them:
//! - While the program runs, a signal goes to the delivery target: its group (and itself if it
//!   left the group), the program only (`-c`), or its group and every other descendant
//!   (`-a`). A stop request is a SIGTERM or SIGINT as received; `-r` changes what is sent, or
//!   drops it (then it is no stop request). `--stop-delay` holds the first SIGTERM until the
//!   delay is over, a second SIGTERM comes, or the program exits.
//! - Once the program's status is collected, tini-rs exits with it (after `-e`) unless a
//!   grace period or `--wait-descendants` is set and descendants remain. A grace period
//!   sends them SIGTERM and SIGCONT, SIGKILL at its end, SIGKILL again every
//!   [`RESCAN`] (a forking process cannot outrun it) until none is left or [`AFTER_KILL`] is
//!   over. `--wait-descendants` waits for them; a stop request that did not reach them all
//!   (held, or sent to the group or the program only) is sent to the rest, with SIGCONT, or
//!   starts the grace period if there is one, and so does a stop request while waiting.
//! - After the program's status is collected, nothing goes to its PID or group (either may be
//!   reused): signals go to the descendants.

use std::time::Duration;

use crate::config::{Config, Delivery};
use crate::exit_code::{Outcome, raw_code};
use crate::signals;
use log::Level;

const WAITING: &str = "Waiting for the remaining processes to exit by themselves";
const GRACE: &str = "Sending SIGTERM and SIGCONT to the remaining processes, grace period";

/// How long the kill phase waits for processes to vanish after SIGKILL (one in
/// uninterruptible sleep can outlive its SIGKILL for a while) before tini-rs exits anyway.
pub const AFTER_KILL: Duration = Duration::from_secs(2);
/// How often the kill phase sends SIGKILL again, to reach what was forked meanwhile.
pub const RESCAN: Duration = Duration::from_millis(20);

/// Who a signal goes to. The loop knows the PIDs; the core only names the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// The program's process group, and the program itself if it left the group.
    Group,
    /// The program's PID only.
    Program,
    /// Every descendant of tini-rs outside the program's group, the program excluded.
    Outside,
    /// What is left of the program's group once its status is collected, found in /proc.
    Members,
    /// Every descendant of tini-rs.
    Descendants,
    /// Every process of the namespace but tini-rs: `kill(-1)`, only ever as PID 1.
    Everyone,
}

/// A log line the core asks for: its level, its text, and what completes the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line(pub Level, pub &'static str, pub Arg);

/// What completes a [`Line`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// Nothing.
    None,
    /// A signal's name, quoted.
    Signal(i32),
    /// A duration.
    Time(Duration),
    /// The program's end, in tini's words.
    Exit(Outcome),
}

/// What the loop must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send the signal to the target.
    Send(Target, i32),
    /// Reap what has exited and report with [`Event::Drained`].
    Drain,
    /// Log the line (after every `Send` of the same step).
    Log(Line),
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A signal other than SIGCHLD, and whether it is a SIGPIPE raised by tini-rs's own write.
    Signal(i32, bool),
    /// A drain ended: the program's outcome if it was collected now, and whether no child at
    /// all is left (ECHILD).
    Drained(Option<Outcome>, bool),
    /// The time given with it reached [`Core::deadline`].
    Deadline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Phase {
    /// The program runs (pause mode: waits for a stop request), or its end is being decided.
    Running,
    /// The program is gone; its descendants run on (`--wait-descendants`).
    Waiting,
    /// The rest got SIGTERM and SIGCONT and have until this time.
    Grace(Duration),
    /// The rest got SIGKILL; `until` tini-rs exits anyway, `next` it sends SIGKILL again.
    Killed { until: Duration, next: Duration },
    /// tini-rs exits.
    Done,
}

/// The state, small and `Copy`: the exhaustive check hashes and clones millions of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct State {
    /// The program's code (before `-e`), once collected (pause mode: once told to stop).
    code: Option<u8>,
    phase: Phase,
    /// The first SIGTERM, held by the stop delay: what to send, and when.
    held: Option<(i32, Duration)>,
    delay_used: bool,
    /// The last stop request sent while the program ran, as sent.
    stop: Option<i32>,
    none_left: bool,
    pipe_noted: bool,
}

/// The decisions of one init: its settings, its state, and the actions of the current step
/// (a fixed queue: nothing is allocated per signal).
#[derive(Debug, Clone)]
pub struct Core<'a> {
    cfg: &'a Config,
    pid1: bool,
    /// The state (public to the check, which hashes it).
    pub st: State,
    queue: [Option<Action>; 8],
}

impl<'a> Core<'a> {
    /// The core of an init configured by `cfg`, PID 1 of its namespace or not.
    pub fn new(cfg: &'a Config, pid1: bool) -> Self {
        let st = State {
            code: None,
            phase: Phase::Running,
            held: None,
            delay_used: false,
            stop: None,
            none_left: false,
            pipe_noted: false,
        };
        Core {
            cfg,
            pid1,
            st,
            queue: [None; 8],
        }
    }

    /// The exit code (after `-e`) once tini-rs is to exit.
    pub fn exit(&self) -> Option<u8> {
        let code = self.st.code.filter(|_| self.st.phase == Phase::Done)?;
        Some(self.cfg.remap.apply(code))
    }

    /// When [`Event::Deadline`] is due, if anything is.
    pub fn deadline(&self) -> Option<Duration> {
        match self.st.phase {
            Phase::Running => self.st.held.map(|(_, at)| at),
            Phase::Grace(at) => Some(at),
            Phase::Killed { until, next } => Some(until.min(next)),
            Phase::Waiting | Phase::Done => None,
        }
    }

    /// The actions of the step so far, in order; the queue is empty afterwards.
    pub fn take(&mut self) -> [Option<Action>; 8] {
        std::mem::take(&mut self.queue)
    }

    /// Takes in `ev`, which happened at `now`.
    pub fn handle(&mut self, ev: Event, now: Duration) {
        match ev {
            Event::Signal(signo, own_pipe) => self.on_signal(signo, own_pipe, now),
            Event::Drained(program, none_left) => {
                self.st.none_left = none_left;
                if let Some(outcome) = program {
                    self.log(Level::Info, "", Arg::Exit(outcome));
                    self.st.code = Some(raw_code(outcome));
                }
                match self.st.phase {
                    Phase::Running if self.st.code.is_some() => self.program_gone(now),
                    Phase::Waiting | Phase::Grace(_) | Phase::Killed { .. } if none_left => {
                        self.st.phase = Phase::Done;
                    }
                    _ => {}
                }
            }
            Event::Deadline => self.on_deadline(now),
        }
    }

    fn push(&mut self, a: Action) {
        // Never more than six actions in a step; a seventh would be a bug of this module,
        // which its tests would catch, and must not crash PID 1.
        if let Some(slot) = self.queue.iter_mut().find(|s| s.is_none()) {
            *slot = Some(a);
        }
    }

    fn send(&mut self, target: Target, sig: i32) {
        self.push(Action::Send(target, sig));
    }

    fn log(&mut self, level: Level, text: &'static str, arg: Arg) {
        self.push(Action::Log(Line(level, text, arg)));
    }

    /// Whether the program's status is still to be collected (so its PID and group are
    /// its own).
    fn program_runs(&self) -> bool {
        !self.cfg.pause && self.st.code.is_none()
    }

    fn shutdown_target(&self) -> Target {
        if self.pid1 {
            Target::Everyone
        } else {
            Target::Descendants
        }
    }

    fn on_signal(&mut self, signo: i32, own_pipe: bool, now: Duration) {
        if signals::is_kept(signo, self.cfg.catatonit) {
            return self.log(Level::Trace, "Not forwarding", Arg::Signal(signo));
        }
        if own_pipe {
            // Said once only: the line goes to the same broken stderr and raises another.
            if !std::mem::replace(&mut self.st.pipe_noted, true) {
                self.log(
                    Level::Debug,
                    "Ignoring SIGPIPE raised by tini-rs's own write",
                    Arg::None,
                );
            }
            return;
        }
        let Some(sig) = self.cfg.rewrite.apply(signo) else {
            return self.log(Level::Debug, "Dropping (rewrite rule)", Arg::Signal(signo));
        };
        let stop = matches!(signo, libc::SIGTERM | libc::SIGINT);
        if self.program_runs() {
            self.while_running(signo, sig, now);
        } else if self.st.code.is_none() {
            // Pause mode, before a stop request.
            if stop {
                self.log(Level::Info, "Pause mode: stopping on", Arg::Signal(signo));
                self.st.code = Some(0);
                self.push(Action::Drain);
            } else if self.cfg.delivery == Delivery::All {
                self.send(Target::Descendants, sig);
            }
        } else if stop && self.st.phase == Phase::Waiting && self.cfg.grace_period.is_some() {
            self.start_grace(now);
        } else {
            self.send(Target::Descendants, sig);
            if stop && self.st.phase == Phase::Waiting {
                self.send(Target::Descendants, libc::SIGCONT);
            }
            self.log(Level::Debug, "Passing signal:", Arg::Signal(sig));
        }
    }

    fn while_running(&mut self, signo: i32, sig: i32, now: Duration) {
        if signo == libc::SIGTERM {
            if let Some((held, _)) = self.st.held.take() {
                self.forward(held, true);
                return self.log(
                    Level::Info,
                    "Second SIGTERM: ending the stop delay",
                    Arg::None,
                );
            }
            if let Some(delay) = self.cfg.stop_delay.filter(|_| !self.st.delay_used) {
                self.st.delay_used = true;
                self.st.held = Some((sig, now + delay));
                return self.log(
                    Level::Info,
                    "Holding SIGTERM (stop delay) for",
                    Arg::Time(delay),
                );
            }
        }
        self.forward(sig, matches!(signo, libc::SIGTERM | libc::SIGINT));
        self.log(Level::Debug, "Passing signal:", Arg::Signal(sig));
    }

    /// `sig` to the delivery target while the program runs.
    fn forward(&mut self, sig: i32, stop: bool) {
        match self.cfg.delivery {
            Delivery::Group => self.send(Target::Group, sig),
            Delivery::Child => self.send(Target::Program, sig),
            Delivery::All => {
                self.send(Target::Group, sig);
                self.send(Target::Outside, sig);
            }
        }
        if stop {
            self.st.stop = Some(sig);
        }
    }

    /// The program's status is collected (or pause mode was told to stop): exit, wait for
    /// the rest, or start the grace period. A stop request that did not reach every process
    /// it is due to goes to them: a held one to what the delivery mode reaches, a sent one,
    /// with `--wait-descendants`, to the descendants it missed.
    fn program_gone(&mut self, now: Duration) {
        let held = self.st.held.take().map(|(sig, _)| sig);
        let (grace, wait) = (self.cfg.grace_period.is_some(), self.cfg.wait_descendants);
        if self.st.none_left {
            self.st.phase = Phase::Done;
            return;
        }
        if grace && (held.or(self.st.stop).is_some() || !wait) {
            return self.start_grace(now);
        }
        let owed = match (held, self.st.stop) {
            (Some(_), _) if wait => Some(Target::Descendants),
            (Some(_), _) => match self.cfg.delivery {
                Delivery::Group => Some(Target::Members),
                Delivery::Child => None,
                Delivery::All => Some(Target::Descendants),
            },
            (None, Some(_)) if wait => Self::missed(self.cfg.delivery),
            (None, _) => None,
        };
        if let (Some(target), Some(sig)) = (owed, held.or(self.st.stop)) {
            self.send(target, sig);
            if wait {
                self.send(target, libc::SIGCONT);
            }
        }
        self.st.phase = if wait { Phase::Waiting } else { Phase::Done };
        if wait {
            self.log(Level::Info, WAITING, Arg::None);
        }
    }

    /// Who a signal sent while the program ran did not reach.
    fn missed(d: Delivery) -> Option<Target> {
        match d {
            Delivery::Group => Some(Target::Outside),
            Delivery::Child => Some(Target::Descendants),
            Delivery::All => None,
        }
    }

    fn start_grace(&mut self, now: Duration) {
        let grace = self.cfg.grace_period.unwrap_or_default();
        let t = self.shutdown_target();
        self.send(t, libc::SIGTERM);
        // A stopped process gets to act on its SIGTERM within the grace period.
        self.send(t, libc::SIGCONT);
        self.st.phase = Phase::Grace(now + grace);
        self.log(Level::Info, GRACE, Arg::Time(grace));
    }

    fn on_deadline(&mut self, now: Duration) {
        match self.st.phase {
            Phase::Running => {
                if let Some((sig, _)) = self.st.held.filter(|(_, at)| *at <= now) {
                    self.st.held = None;
                    self.forward(sig, true);
                    self.log(
                        Level::Info,
                        "Stop delay over: passing SIGTERM on",
                        Arg::None,
                    );
                }
            }
            Phase::Grace(at) if at <= now => {
                self.send(self.shutdown_target(), libc::SIGKILL);
                let (until, next) = (now + AFTER_KILL, now + RESCAN);
                self.st.phase = Phase::Killed { until, next };
                self.log(
                    Level::Warn,
                    "Grace period over: sending SIGKILL to the remaining processes",
                    Arg::None,
                );
            }
            Phase::Killed { until, .. } if until <= now => {
                self.st.phase = Phase::Done;
                self.log(
                    Level::Warn,
                    "Processes remain after SIGKILL; exiting anyway",
                    Arg::None,
                );
            }
            Phase::Killed { until, next } if next <= now => {
                self.send(self.shutdown_target(), libc::SIGKILL);
                let next = (now + RESCAN).min(until);
                self.st.phase = Phase::Killed { until, next };
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "state_check.rs"]
mod check;
