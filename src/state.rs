//! The supervisor's decisions as a pure state machine: events in (a signal and where it came
//! from, a drain's result, a deadline reached), actions out (signal a target, drain, log a
//! line), the next deadline and the exit code. No system call, clock read or logging of its
//! own; times are durations since the start. `state_check.rs` checks it in every
//! configuration and order of events, and against the README's table ("Stopping").

use std::time::Duration;

use crate::config::{Config, Delivery};
use crate::exit_code::{Outcome, raw_code};
use crate::signals;
use libc::{SIGINT, SIGKILL, SIGTERM};
use log::Level::{self, Debug, Info, Trace, Warn};

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

/// What the loop must do: send a signal (then SIGCONT, if `true`, to wake a stopped process
/// to act on it), reap and report [`Event::Drained`], or log a line after the step's signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Action {
    Send(Target, i32, bool),
    Drain,
    Log(Level, &'static str, Arg),
}

/// Where a signal came from: a process (or the kernel, for most reasons), tini-rs's own
/// write to a broken stderr, or the kernel itself (`SI_KERNEL`: Ctrl-Alt-Del's SIGINT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Origin {
    Sent,
    OwnPipe,
    Kernel,
}

/// What happened: a signal other than SIGCHLD; a drain's end, with the program's outcome
/// if it was collected now and whether no child is left (ECHILD); or [`Core::deadline`].
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
    machine_asked: bool,
}

/// The decisions of one init: its settings, its state, and the actions of the current step
/// (a fixed queue: nothing is allocated per signal; a step never has more than five).
#[derive(Debug, Clone)]
pub struct Core<'a> {
    /// Its settings.
    pub cfg: &'a Config,
    /// Who the shutdown reaches: everyone as PID 1, else every descendant.
    pub rest: Target,
    /// The state (public to the check, which hashes it).
    pub st: State,
    queue: [Option<Action>; 8],
}

impl<'a> Core<'a> {
    /// The core of an init configured by `cfg`, PID 1 of its namespace or not.
    pub fn new(cfg: &'a Config, pid1: bool) -> Self {
        let rest = if pid1 {
            Target::Everyone
        } else {
            Target::Descendants
        };
        let (st, queue) = (State::default(), [None; 8]);
        Core {
            cfg,
            rest,
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

    fn log(&mut self, level: Level, text: &'static str, arg: Arg) {
        self.push(Action::Log(level, text, arg));
    }

    fn on_signal(&mut self, mut signo: i32, origin: Origin, now: Duration) {
        if signals::is_kept(signo, self.cfg.catatonit) {
            return self.log(Trace, "Not forwarding", Arg::Signal(signo));
        } else if origin == Origin::OwnPipe {
            // Said once: the line goes to the same broken stderr and raises another.
            if !std::mem::replace(&mut self.st.pipe_noted, true) {
                let text = "Ignoring SIGPIPE raised by tini-rs's own write";
                self.log(Debug, text, Arg::None);
            }
            return;
        }
        // As a VM's init, SIGPWR and the kernel's SIGINT (Ctrl-Alt-Del) ask the machine to
        // stop, unless a rule of their own says otherwise: as SIGTERM, and the second time
        // with SIGKILL to everyone, since no orchestrator's SIGKILL comes to a VM (while the
        // stop delay holds the first, the second ends the delay as a SIGTERM would).
        let asked = signo == libc::SIGPWR || (signo == SIGINT && origin == Origin::Kernel);
        if self.cfg.machine && asked && self.cfg.rewrite.apply(signo) == Some(signo) {
            if self.st.machine_asked && self.st.held.is_none() {
                self.push(Action::Send(self.rest, SIGKILL, false));
                let again = "The machine's second stop request: SIGKILL, on";
                return self.log(Warn, again, Arg::Signal(signo));
            }
            self.st.machine_asked = true;
            let text = "The machine's stop request, taken as SIGTERM:";
            self.log(Info, text, Arg::Signal(signo));
            signo = SIGTERM;
        }
        let Some(sig) = self.cfg.rewrite.apply(signo) else {
            return self.log(Debug, "Dropping (rewrite rule)", Arg::Signal(signo));
        };
        let stop = matches!(signo, SIGTERM | SIGINT);
        let waiting = self.st.phase == Phase::Waiting;
        if self.program_runs() {
            return self.while_running(signo, sig, now);
        } else if self.st.code.is_none() {
            // Pause mode, before a stop request: it stops as if a program exited 0; other
            // signals reach the descendants only with `-a`.
            if stop {
                self.log(Info, "Pause mode: stopping on", Arg::Signal(signo));
                (self.st.code, self.st.stop) = (Some(0), Some(sig));
                return self.push(Action::Drain);
            } else if self.cfg.delivery != Delivery::All {
                return self.log(Debug, "Pause mode: not passing on", Arg::Signal(sig));
            }
        } else if stop && waiting && self.cfg.grace_period.is_some() {
            return self.start_grace(now);
        }
        self.push(Action::Send(Target::Descendants, sig, stop && waiting));
        self.log(Debug, "Passing signal:", Arg::Signal(sig));
    }

    fn while_running(&mut self, signo: i32, sig: i32, now: Duration) {
        if signo == SIGTERM {
            if let Some((held, _)) = self.st.held.take() {
                self.forward(held, true);
                return self.log(Info, "Second SIGTERM: ending the stop delay", Arg::None);
            } else if let Some(delay) = self.cfg.stop_delay.filter(|_| !self.st.delay_used) {
                (self.st.delay_used, self.st.held) = (true, Some((sig, now + delay)));
                return self.log(Info, "Holding SIGTERM (stop delay) for", Arg::Time(delay));
            }
        }
        self.forward(sig, matches!(signo, SIGTERM | SIGINT));
        self.log(Debug, "Passing signal:", Arg::Signal(sig));
    }

    /// `sig` to the delivery mode's target while the program runs; a stop request is noted.
    /// Waiting for descendants, a stop request wakes whom it reaches: one stopped now would
    /// never act on it, and tini-rs would wait for it for ever.
    fn forward(&mut self, sig: i32, stop: bool) {
        let to = match self.cfg.delivery {
            Delivery::Group | Delivery::All => Target::Group,
            Delivery::Child => Target::Program,
        };
        let cont = stop && self.cfg.wait_descendants;
        self.push(Action::Send(to, sig, cont));
        if self.cfg.delivery == Delivery::All {
            self.push(Action::Send(Target::Outside, sig, cont));
        }
        self.st.stop = if stop { Some(sig) } else { self.st.stop };
    }

    /// The program's status is collected (or pause mode was told to stop): exit, wait for
    /// the rest, or start the grace period. A stop request that did not reach every process
    /// it is due to goes to them: a held one to what the delivery mode reaches, a sent one,
    /// with `--wait-descendants`, to the descendants it missed.
    fn program_gone(&mut self, now: Duration) {
        let held = self.st.held.take().map(|(sig, _)| sig);
        let (wait, sig) = (self.cfg.wait_descendants, held.or(self.st.stop));
        if self.st.none_left {
            return self.st.phase = Phase::Done;
        } else if self.cfg.grace_period.is_some() && (sig.is_some() || !wait) {
            return self.start_grace(now);
        }
        // Pause mode's stop request went to nobody yet; `-c`'s only to the program.
        let missed_all = self.cfg.pause || self.cfg.delivery == Delivery::Child;
        let owed = match (held.is_some(), wait, self.cfg.delivery) {
            (true, true, _) | (true, _, Delivery::All) => Some(Target::Descendants),
            (false, true, _) if missed_all => Some(Target::Descendants),
            (true, false, Delivery::Group) => Some(Target::Members),
            (false, true, Delivery::Group) => Some(Target::Outside),
            _ => None,
        };
        if let (Some(target), Some(sig)) = (owed, sig) {
            self.push(Action::Send(target, sig, wait));
            let owed = "Passing the stop request on to the processes it missed:";
            self.log(Debug, owed, Arg::Signal(sig));
        }
        self.st.phase = if wait { Phase::Waiting } else { Phase::Done };
        if wait {
            self.log(
                Info,
                "Waiting for the remaining processes to exit by themselves",
                Arg::None,
            );
        }
    }

    fn start_grace(&mut self, now: Duration) {
        let grace = self.cfg.grace_period.unwrap_or_default();
        // A stopped process gets to act on its SIGTERM within the grace period.
        self.push(Action::Send(self.rest, SIGTERM, true));
        self.st.phase = Phase::Grace(now + grace);
        let text = "Sending SIGTERM and SIGCONT to the remaining processes, grace period";
        self.log(Info, text, Arg::Time(grace));
    }

    fn on_deadline(&mut self, now: Duration) {
        match self.st.phase {
            Phase::Running => {
                if let Some((sig, _)) = self.st.held.filter(|(_, at)| *at <= now) {
                    self.st.held = None;
                    self.forward(sig, true);
                    self.log(
                        Info,
                        "Stop delay over: passing on the held",
                        Arg::Signal(sig),
                    );
                }
            }
            Phase::Grace(at) if at <= now => {
                self.push(Action::Send(self.rest, SIGKILL, false));
                let (until, next) = (now + AFTER_KILL, now + RESCAN);
                self.st.phase = Phase::Killed { until, next };
                let text = "Grace period over: sending SIGKILL to the remaining processes";
                self.log(Warn, text, Arg::None);
            }
            Phase::Killed { until, .. } if until <= now => {
                self.st.phase = Phase::Done;
                self.log(
                    Warn,
                    "Processes remain after SIGKILL; exiting anyway",
                    Arg::None,
                );
            }
            Phase::Killed { until, next } if next <= now => {
                self.push(Action::Send(self.rest, SIGKILL, false));
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
