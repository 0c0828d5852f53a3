//! The supervisor's decisions as a pure state machine: events in (a signal, a drain's result,
//! a deadline reached), actions out (signal a target, drain, log a line), the next deadline
//! and the exit code. No system call, clock read or logging: `supervise.rs` feeds it (times
//! are durations since the start) and carries its actions out, signals before lines. The
//! rules are the README's table ("Stopping"), which `state_check.rs` checks against this
//! module along with every configuration and order of events.

use std::time::Duration;

use crate::config::{Config, Delivery};
use crate::exit_code::{Outcome, raw_code};
use crate::signals;
use libc::{SIGCONT, SIGINT, SIGKILL, SIGTERM};
use log::Level::{self, Debug, Info, Trace, Warn};

const OWN_PIPE: &str = "Ignoring SIGPIPE raised by tini-rs's own write";
const MACHINE_STOP: &str = "The machine's stop request, taken as SIGTERM:";
const MACHINE_AGAIN: &str = "The machine's second stop request: SIGKILL, on";
const SECOND_TERM: &str = "Second SIGTERM: ending the stop delay";
const DELAY_OVER: &str = "Stop delay over: passing on the held";
const OWED: &str = "Passing the stop request on to the processes it missed:";
const WAITING: &str = "Waiting for the remaining processes to exit by themselves";
const GRACE: &str = "Sending SIGTERM and SIGCONT to the remaining processes, grace period";
const GRACE_OVER: &str = "Grace period over: sending SIGKILL to the remaining processes";
const REMAIN: &str = "Processes remain after SIGKILL; exiting anyway";

/// How long the kill phase waits for processes to vanish after SIGKILL (one in
/// uninterruptible sleep can outlive it for a while) before tini-rs exits anyway.
pub const AFTER_KILL: Duration = Duration::from_secs(2);
/// How often the kill phase sends SIGKILL again, to reach what was forked meanwhile.
pub const RESCAN: Duration = Duration::from_millis(20);

/// Who a signal goes to. The loop knows the PIDs; the core only names the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// The program's process group, and the program if it left the group.
    Group,
    /// The program only.
    Program,
    /// Every descendant outside the program's group, the program excluded.
    Outside,
    /// What is left of the program's group once its status is collected (by /proc).
    Members,
    /// Every descendant.
    Descendants,
    /// `kill(-1)`, only ever as PID 1.
    Everyone,
}

/// What completes a log line's text: nothing, a signal's name, a duration, the program's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Arg {
    None,
    Signal(i32),
    Time(Duration),
    Exit(Outcome),
}

/// What the loop must do: send a signal, reap and report [`Event::Drained`], or log a line
/// (after every `Send` of the same step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Action {
    Send(Target, i32),
    Drain,
    Log(Level, &'static str, Arg),
}

/// Where a signal came from: a process (or the kernel, for most reasons), tini-rs's own
/// write to a broken stderr (a SIGPIPE that is not the program's), or the kernel itself
/// (`SI_KERNEL`: Ctrl-Alt-Del's SIGINT to PID 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Origin {
    Sent,
    OwnPipe,
    Kernel,
}

/// What happened: a signal other than SIGCHLD; a drain's end, with the program's outcome
/// if it was collected now and whether no child at all is left (ECHILD); or the time
/// given with it reaching [`Core::deadline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Event {
    Signal(i32, Origin),
    Drained(Option<Outcome>, bool),
    Deadline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
enum Phase {
    /// The program runs (pause mode: waits for a stop request), or its end is being decided.
    #[default]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
    /// The machine's stop request came once already.
    machine_asked: bool,
}

/// The decisions of one init: its settings, its state, and the actions of the current step
/// (a fixed queue: nothing is allocated per signal; a step never has more than six).
#[derive(Debug, Clone)]
pub struct Core<'a> {
    /// Its settings.
    pub cfg: &'a Config,
    pid1: bool,
    /// The state (public to the check, which hashes it).
    pub st: State,
    queue: [Option<Action>; 8],
}

impl<'a> Core<'a> {
    /// The core of an init configured by `cfg`, PID 1 of its namespace or not.
    pub fn new(cfg: &'a Config, pid1: bool) -> Self {
        let (st, queue) = (State::default(), [None; 8]);
        Core {
            cfg,
            pid1,
            st,
            queue,
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

    /// Whether the program's status is still to be collected (its PID and group its own).
    pub fn program_runs(&self) -> bool {
        !self.cfg.pause && self.st.code.is_none()
    }

    /// The actions of the step so far, in order; the queue is empty afterwards.
    pub fn take(&mut self) -> [Option<Action>; 8] {
        std::mem::take(&mut self.queue)
    }

    /// Takes in `ev`, which happened at `now`.
    pub fn handle(&mut self, ev: Event, now: Duration) {
        match ev {
            Event::Signal(signo, origin) => self.on_signal(signo, origin, now),
            Event::Drained(program, none_left) => {
                self.st.none_left = none_left;
                if let Some(outcome) = program {
                    self.log(Info, "", Arg::Exit(outcome));
                    self.st.code = Some(raw_code(outcome));
                }
                if self.st.phase == Phase::Running && self.st.code.is_some() {
                    self.program_gone(now);
                } else if none_left && self.st.phase != Phase::Running {
                    self.st.phase = Phase::Done;
                }
            }
            Event::Deadline => self.on_deadline(now),
        }
    }

    fn push(&mut self, a: Action) {
        // A full queue would be a bug of this module, caught by its check; never a crash.
        if let Some(slot) = self.queue.iter_mut().find(|s| s.is_none()) {
            *slot = Some(a);
        }
    }

    fn send(&mut self, target: Target, sig: i32) {
        self.push(Action::Send(target, sig));
    }

    fn log(&mut self, level: Level, text: &'static str, arg: Arg) {
        self.push(Action::Log(level, text, arg));
    }

    fn shutdown_target(&self) -> Target {
        if self.pid1 {
            Target::Everyone
        } else {
            Target::Descendants
        }
    }

    fn on_signal(&mut self, mut signo: i32, origin: Origin, now: Duration) {
        if signals::is_kept(signo, self.cfg.catatonit) {
            return self.log(Trace, "Not forwarding", Arg::Signal(signo));
        } else if origin == Origin::OwnPipe {
            // Said once: the line goes to the same broken stderr and raises another.
            if !std::mem::replace(&mut self.st.pipe_noted, true) {
                self.log(Debug, OWN_PIPE, Arg::None);
            }
            return;
        }
        // A rule of the signal's own (`-r PWR:drop`) beats its being a stop request.
        let kernel_int = signo == SIGINT && origin == Origin::Kernel;
        let own_rule = self.cfg.rewrite.apply(signo) != Some(signo);
        if self.cfg.machine && (signo == libc::SIGPWR || kernel_int) && !own_rule {
            // Asked again, the machine stops now: nothing else would end a program that
            // ignores SIGTERM (no orchestrator's SIGKILL comes to a VM).
            // (A request while the stop delay holds the first ends the delay, as a SIGTERM.)
            if self.st.machine_asked && self.st.held.is_none() {
                let target = if self.program_runs() {
                    Target::Group
                } else {
                    self.shutdown_target()
                };
                self.send(target, SIGKILL);
                return self.log(Warn, MACHINE_AGAIN, Arg::Signal(signo));
            }
            self.st.machine_asked = true;
            self.log(Info, MACHINE_STOP, Arg::Signal(signo));
            signo = SIGTERM;
        }
        let Some(sig) = self.cfg.rewrite.apply(signo) else {
            return self.log(Debug, "Dropping (rewrite rule)", Arg::Signal(signo));
        };
        let stop = matches!(signo, SIGTERM | SIGINT);
        if self.program_runs() {
            self.while_running(signo, sig, now);
        } else if self.st.code.is_none() {
            // Pause mode, before a stop request.
            if stop {
                self.log(Info, "Pause mode: stopping on", Arg::Signal(signo));
                (self.st.code, self.st.stop) = (Some(0), Some(sig));
                self.push(Action::Drain);
            } else if self.cfg.delivery == Delivery::All {
                self.send(Target::Descendants, sig);
            }
        } else if stop && self.st.phase == Phase::Waiting && self.cfg.grace_period.is_some() {
            self.start_grace(now);
        } else {
            self.send(Target::Descendants, sig);
            if stop && self.st.phase == Phase::Waiting {
                self.send(Target::Descendants, SIGCONT);
            }
            self.log(Debug, "Passing signal:", Arg::Signal(sig));
        }
    }

    fn while_running(&mut self, signo: i32, sig: i32, now: Duration) {
        if signo == SIGTERM {
            if let Some((held, _)) = self.st.held.take() {
                self.forward(held, true);
                return self.log(Info, SECOND_TERM, Arg::None);
            }
            if let Some(delay) = self.cfg.stop_delay.filter(|_| !self.st.delay_used) {
                self.st.delay_used = true;
                self.st.held = Some((sig, now + delay));
                return self.log(Info, "Holding SIGTERM (stop delay) for", Arg::Time(delay));
            }
        }
        self.forward(sig, matches!(signo, SIGTERM | SIGINT));
        self.log(Debug, "Passing signal:", Arg::Signal(sig));
    }

    /// `sig` to the delivery target while the program runs; a stop request is remembered.
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
        let (wait, sig) = (self.cfg.wait_descendants, held.or(self.st.stop));
        if self.st.none_left {
            self.st.phase = Phase::Done;
            return;
        } else if self.cfg.grace_period.is_some() && (sig.is_some() || !wait) {
            return self.start_grace(now);
        }
        // Pause mode's stop request went to nobody yet.
        let missed_all = self.cfg.pause || self.cfg.delivery == Delivery::Child;
        let owed = match (held.is_some(), wait, self.cfg.delivery) {
            (true, true, _) | (true, _, Delivery::All) => Some(Target::Descendants),
            (false, true, _) if missed_all => Some(Target::Descendants),
            (true, false, Delivery::Group) => Some(Target::Members),
            (false, true, Delivery::Group) => Some(Target::Outside),
            _ => None,
        };
        if let (Some(target), Some(sig)) = (owed, sig) {
            self.send(target, sig);
            if wait {
                self.send(target, SIGCONT);
            }
            self.log(Debug, OWED, Arg::Signal(sig));
        }
        self.st.phase = if wait { Phase::Waiting } else { Phase::Done };
        if wait {
            self.log(Info, WAITING, Arg::None);
        }
    }

    fn start_grace(&mut self, now: Duration) {
        let (grace, t) = (
            self.cfg.grace_period.unwrap_or_default(),
            self.shutdown_target(),
        );
        self.send(t, SIGTERM);
        // A stopped process gets to act on its SIGTERM within the grace period.
        self.send(t, SIGCONT);
        self.st.phase = Phase::Grace(now + grace);
        self.log(Info, GRACE, Arg::Time(grace));
    }

    fn on_deadline(&mut self, now: Duration) {
        match self.st.phase {
            Phase::Running => {
                if let Some((sig, _)) = self.st.held.filter(|(_, at)| *at <= now) {
                    self.st.held = None;
                    self.forward(sig, true);
                    self.log(Info, DELAY_OVER, Arg::Signal(sig));
                }
            }
            Phase::Grace(at) if at <= now => {
                self.send(self.shutdown_target(), SIGKILL);
                let (until, next) = (now + AFTER_KILL, now + RESCAN);
                self.st.phase = Phase::Killed { until, next };
                self.log(Warn, GRACE_OVER, Arg::None);
            }
            Phase::Killed { until, .. } if until <= now => {
                self.st.phase = Phase::Done;
                self.log(Warn, REMAIN, Arg::None);
            }
            Phase::Killed { until, next } if next <= now => {
                self.send(self.shutdown_target(), SIGKILL);
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
