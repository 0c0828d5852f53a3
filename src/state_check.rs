//! The exhaustive check of the core: a breadth-first search of every state that every
//! configuration can reach against an abstract world, with the core's properties checked in
//! each. A search of our own rather than the `stateright` crate: the world is a few dozen
//! lines, the properties need the world's bookkeeping (who was promised which signal) more
//! than temporal operators, and the test builds with no new dependency in seconds.
//!
//! The world: the program (plain, ignoring SIGTERM/SIGINT/SIGQUIT, stopped, or moved to a
//! group of its own) and at most one other descendant (plain, stopped, ignoring, or a fork
//! chain that a SIGKILL by /proc scan misses twice; in the program's group or not). Events
//! in any order: SIGTERM, SIGINT (as a VM's init, SIGPWR, the machine's stop request) and
//! SIGUSR1 (up to [`SIGNALS`] of them), SIGCHLD (a drain; any number), each process exiting
//! by itself, and time reaching the core's deadline.

use std::collections::{HashSet, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use log::Level;

use super::{AFTER_KILL, Action, Arg, Core, Event, Origin, Phase, State, Target};
use crate::config::{Config, Delivery};
use crate::exit_code::Outcome;

const TERM: i32 = libc::SIGTERM;
const INT: i32 = libc::SIGINT;
const QUIT: i32 = libc::SIGQUIT;
const KILL: i32 = libc::SIGKILL;
const CONT: i32 = libc::SIGCONT;
const PWR: i32 = libc::SIGPWR;
/// How many signals a run of the world may send tini-rs. `TINI_RS_CHECK_SIGNALS=N` changes
/// it for one run (the mutation run of tests/README.md uses 2: under half the states).
pub const SIGNALS: u8 = 3;

fn budget() -> u8 {
    match std::env::var("TINI_RS_CHECK_SIGNALS") {
        Ok(v) => {
            let n = v.parse();
            assert!(n.is_ok(), "TINI_RS_CHECK_SIGNALS={v:?}: {n:?}");
            n.unwrap_or(SIGNALS)
        }
        Err(_) => SIGNALS,
    }
}
/// The code of a process that exits by itself.
const CODE: u8 = 3;

/// Whether `sig` asks a process to stop (what a stop request is sent as).
fn stop_class(sig: i32) -> bool {
    matches!(sig, TERM | INT | QUIT)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Life {
    Running,
    /// Stopped, with the stop signal it will act on once continued.
    Stopped(Option<i32>),
    /// Dead, not reaped yet: its code.
    Zombie(u8),
    Reaped,
}

/// One process of the world, with what it was promised and what it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Proc {
    life: Life,
    /// In the program's group (for the program: it stayed in the group it was started in).
    in_group: bool,
    /// Ignores SIGTERM, SIGINT and SIGQUIT.
    ignores: bool,
    /// May still exit by itself.
    may_exit: bool,
    /// SIGKILLs sent by /proc scan that it outruns by forking.
    escapes: u8,
    /// Stop requests it is to get now, and once the program is gone.
    owed: u8,
    later: u8,
    /// Stop-class signals it got.
    got: u8,
}

impl Proc {
    fn new(life: Life, in_group: bool, ignores: bool, escapes: u8) -> Self {
        let (may_exit, owed, later, got) = (escapes == 0, 0, 0, 0);
        Proc {
            life,
            in_group,
            ignores,
            may_exit,
            escapes,
            owed,
            later,
            got,
        }
    }

    fn alive(&self) -> bool {
        matches!(self.life, Life::Running | Life::Stopped(_))
    }

    fn die(&mut self, code: u8, chld: &mut bool) {
        self.life = Life::Zombie(code);
        *chld = true;
    }

    /// `sig` arrives; `by_scan`: sent by /proc scan, which a fork chain can outrun.
    fn hit(&mut self, sig: i32, by_scan: bool, chld: &mut bool) {
        if !self.alive() {
            return;
        }
        self.got += u8::from(stop_class(sig));
        let by_sig = 128 + u8::try_from(sig).unwrap_or(0);
        match (sig, self.life) {
            (KILL, _) if by_scan && self.escapes > 0 => self.escapes -= 1,
            (KILL, _) => self.die(by_sig, chld),
            (CONT, Life::Stopped(Some(s))) => self.die(128 + u8::try_from(s).unwrap_or(0), chld),
            (CONT, Life::Stopped(None)) => self.life = Life::Running,
            (s, _) if !stop_class(s) || self.ignores => {}
            (s, Life::Stopped(_)) => self.life = Life::Stopped(Some(s)),
            _ => self.die(by_sig, chld),
        }
    }
}

/// The program, the other descendant, the core's state, and the bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct World {
    core: State,
    prog: Proc,
    other: Option<Proc>,
    /// A SIGCHLD is pending.
    chld: bool,
    now: Duration,
    /// Signals the world may still send.
    budget: u8,
    /// Stop requests pause mode received.
    stops: u8,
    /// When the grace period's SIGKILL went out.
    killed_at: Option<Duration>,
    /// A SIGTERM came while the program ran (noted with a stop delay only, where it decides
    /// whether the next one is held).
    termed: bool,
    /// The machine's stop request came.
    asked: bool,
}

/// What the world can do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Signal(i32),
    Chld,
    ProgramExits,
    OtherExits,
    Deadline,
}

/// One configuration under check.
pub struct Check<'a> {
    cfg: &'a Config,
    pid1: bool,
}

impl Check<'_> {
    fn core(&self, st: State) -> Core<'_> {
        let mut c = Core::new(self.cfg, self.pid1);
        c.st = st;
        c
    }

    /// `ev` to the core, its actions carried out in the world as the loop does.
    fn feed(&self, w: &mut World, ev: Event) -> Result<(), String> {
        let mut core = self.core(w.core);
        let before = w.core.phase;
        core.handle(ev, w.now);
        let actions = core.take();
        w.core = core.st;
        Self::cont_with_a_stop(&actions, before)?;
        if let (Phase::Grace(_) | Phase::Killed { .. } | Phase::Done, Phase::Grace(_)) =
            (before, w.core.phase)
        {
            if before != w.core.phase {
                return Err(format!(
                    "grace_period_starts_once: {before:?} -> {:?}",
                    w.core.phase
                ));
            }
        }
        for a in actions.iter().flatten() {
            if let Action::Send(t, sig, cont) = *a {
                self.deliver(w, t, sig)?;
                if cont {
                    self.deliver(w, t, CONT)?;
                }
            }
        }
        if actions.contains(&Some(Action::Drain)) {
            self.drain(w)?;
        }
        Ok(())
    }

    /// A SIGCONT goes out only after a stop-class signal to the same target (a stopped
    /// process is woken to act on it), and never again once the grace period has begun (its
    /// start sent one to everyone).
    fn cont_with_a_stop(actions: &[Option<Action>], before: Phase) -> Result<(), String> {
        let late = matches!(before, Phase::Grace(_) | Phase::Killed { .. });
        for a in actions.iter().flatten() {
            if matches!(*a, Action::Send(_, s, true) if !stop_class(s) || late) {
                return Err(format!("cont_with_a_stop: {actions:?} in {before:?}"));
            }
        }
        Ok(())
    }

    fn deliver(&self, w: &mut World, t: Target, sig: i32) -> Result<(), String> {
        let collected = self.cfg.pause || w.prog.life == Life::Reaped;
        if collected && matches!(t, Target::Group | Target::Program) {
            return Err(format!("nothing_to_collected_program: {sig} to {t:?}"));
        }
        if t == Target::Everyone && !self.pid1 {
            return Err("kill_all_only_as_pid1".into());
        }
        let by_scan = matches!(t, Target::Outside | Target::Members | Target::Descendants);
        let (prog, other) = match t {
            Target::Group => (true, w.other.is_some_and(|o| o.in_group)),
            Target::Program => (true, false),
            Target::Outside => (false, w.other.is_some_and(|o| !o.in_group)),
            Target::Members => (false, w.other.is_some_and(|o| o.in_group)),
            Target::Descendants | Target::Everyone => (!self.cfg.pause, true),
        };
        if prog {
            w.prog.hit(sig, by_scan, &mut w.chld);
        }
        if let Some(o) = w.other.as_mut().filter(|_| other) {
            o.hit(sig, by_scan, &mut w.chld);
        }
        Ok(())
    }

    fn drain(&self, w: &mut World) -> Result<(), String> {
        w.chld = false;
        let mut program = None;
        if let Life::Zombie(code) = w.prog.life {
            w.prog.life = Life::Reaped;
            program = Some(match code {
                CODE => Outcome::Exited(i32::from(code)),
                c => Outcome::Signaled(i32::from(c) - 128),
            });
            if let Some(o) = w.other.as_mut() {
                o.owed += std::mem::take(&mut o.later);
            }
        }
        if let Some(o) = w
            .other
            .as_mut()
            .filter(|o| matches!(o.life, Life::Zombie(_)))
        {
            o.life = Life::Reaped;
        }
        let none_left = (self.cfg.pause || w.prog.life == Life::Reaped)
            && w.other.is_none_or(|o| o.life == Life::Reaped);
        self.feed(w, Event::Drained(program, none_left))
    }

    /// The world sends tini-rs `signo`; the bookkeeping notes who is promised it.
    fn signal(&self, w: &mut World, sent: i32) -> Result<(), String> {
        w.budget -= 1;
        // The machine's stop request is a SIGTERM; asked again (no stop delay holding the
        // first), a SIGKILL to everyone.
        let machine = self.cfg.machine && sent == PWR;
        if machine && w.asked && w.core.held.is_none() {
            self.feed(w, Event::Signal(sent, Origin::Sent))?;
            let procs = [Some(w.prog).filter(|_| !self.cfg.pause), w.other];
            if procs.iter().flatten().any(Proc::alive) {
                return Err("second_machine_request_kills: a process survived".into());
            }
            return Ok(());
        }
        w.asked |= machine;
        let signo = if machine { TERM } else { sent };
        let stop = matches!(signo, TERM | INT) && self.cfg.rewrite.apply(signo).is_some();
        let merged = signo == TERM && w.core.held.is_some();
        if stop && self.cfg.pause && w.core.code.is_none() {
            w.stops += 1;
            // Waiting for descendants, the stop request is theirs (it went to nobody before).
            if let Some(o) = w
                .other
                .as_mut()
                .filter(|o| o.alive() && self.cfg.wait_descendants)
            {
                o.owed += u8::from(w.stops == 1);
            }
        } else if stop && !merged {
            let running = !self.cfg.pause && w.prog.life != Life::Reaped;
            let (now_prog, now_other) = match (running, self.cfg.delivery) {
                (false, _) | (true, Delivery::All) => (running, true),
                (true, Delivery::Group) => (true, w.other.is_some_and(|o| o.in_group)),
                (true, Delivery::Child) => (true, false),
            };
            if now_prog && w.prog.alive() {
                w.prog.owed += 1;
            }
            if let Some(o) = w.other.as_mut().filter(|o| o.alive()) {
                if now_other {
                    o.owed += 1;
                } else if self.cfg.wait_descendants {
                    // What it missed is made up for once, however many requests came.
                    o.later = 1;
                }
            }
        }
        let running = !self.cfg.pause && w.prog.life != Life::Reaped;
        let delayed = self.cfg.stop_delay.filter(|_| signo == TERM && running);
        let first = !w.termed;
        self.feed(w, Event::Signal(sent, Origin::Sent))?;
        if let (Some(delay), Some(sig)) = (delayed, self.cfg.rewrite.apply(signo)) {
            let want = first.then_some((sig, w.now + delay));
            if w.core.held != want {
                return Err(format!(
                    "stop_delay_holds_the_first_sigterm: held {:?}, want {want:?}",
                    w.core.held
                ));
            }
            w.termed = true;
        }
        Ok(())
    }

    fn apply(&self, w: &World, step: Step) -> Result<World, String> {
        let mut w = *w;
        match step {
            Step::Signal(s) => self.signal(&mut w, s)?,
            Step::Chld => self.drain(&mut w)?,
            Step::ProgramExits => w.prog.die(CODE, &mut w.chld),
            Step::OtherExits => {
                if let Some(o) = w.other.as_mut() {
                    o.die(CODE, &mut w.chld);
                }
            }
            Step::Deadline => {
                let grace_over = matches!(w.core.phase, Phase::Grace(_));
                w.now = self.core(w.core).deadline().unwrap_or(w.now).max(w.now);
                let mut core = self.core(w.core);
                core.handle(Event::Deadline, w.now);
                let kill = Action::Send(core.rest, KILL, false);
                if grace_over && !core.queue.contains(&Some(kill)) {
                    return Err("kill_at_grace_deadline: no SIGKILL".into());
                }
                if grace_over {
                    w.killed_at = Some(w.now);
                }
                self.feed(&mut w, Event::Deadline)?;
                if let Some(next) = self.core(w.core).deadline().filter(|d| *d <= w.now) {
                    return Err(format!(
                        "deadline_moves_on: at {:?} the next is {next:?}",
                        w.now
                    ));
                }
            }
        }
        self.properties(&w)?;
        Ok(w)
    }

    fn steps(&self, w: &World) -> Vec<Step> {
        let mut v = Vec::new();
        if w.budget > 0 {
            // As a VM's init, SIGPWR (the machine's stop request) takes SIGINT's place.
            let stop = if self.cfg.machine { PWR } else { INT };
            v.extend([TERM, stop, libc::SIGUSR1].map(Step::Signal));
        }
        v.push(Step::Chld);
        if w.prog.may_exit && w.prog.alive() && !self.cfg.pause {
            v.push(Step::ProgramExits);
        }
        if w.other.is_some_and(|o| o.may_exit && o.alive()) {
            v.push(Step::OtherExits);
        }
        if self.core(w.core).deadline().is_some() {
            v.push(Step::Deadline);
        }
        v
    }

    /// The properties every reachable state must have.
    fn properties(&self, w: &World) -> Result<(), String> {
        let core = self.core(w.core);
        let procs = [Some(w.prog).filter(|_| !self.cfg.pause), w.other];
        if let Some(code) = core.exit() {
            let want = if self.cfg.pause {
                (w.stops > 0).then_some(0)
            } else if let (Life::Reaped, Some(c)) = (w.prog.life, w.core.code) {
                Some(c)
            } else {
                None
            };
            if want.map(|c| self.cfg.remap.apply(c)) != Some(code) {
                return Err(format!(
                    "exit_with_program_status: exit {code}, want {want:?}"
                ));
            }
            if w.killed_at.is_some() && procs.iter().flatten().any(Proc::alive) {
                return Err("nothing_survives_the_kill_phase".into());
            }
        }
        if let Some(k) = w.killed_at.filter(|k| w.now >= *k + AFTER_KILL) {
            if core.exit().is_none() {
                return Err(format!("exit_within_kill_wait: killed at {k:?}"));
            }
        }
        let waits = self.cfg.grace_period.is_some() || self.cfg.wait_descendants;
        if core.exit().is_some() && waits && procs.iter().flatten().any(Proc::alive) {
            return Err("nothing_outlives_a_grace_period_or_wait".into());
        }
        let due =
            w.core.held.is_some() || matches!(w.core.phase, Phase::Grace(_) | Phase::Killed { .. });
        if due && core.deadline().is_none() {
            return Err("deadline_while_due".into());
        }
        // A wake-up before the deadline (the loop never feeds one, the core must not care).
        if core.deadline().is_some_and(|d| w.now < d) {
            let mut early = self.core(w.core);
            early.handle(Event::Deadline, w.now);
            if early.st != w.core || early.take().iter().any(Option::is_some) {
                return Err("nothing_before_the_deadline".into());
            }
        }
        // Waiting for descendants, one stopped with a stop request it has not acted on would
        // be waited for for ever.
        let stuck = |p: &&Proc| matches!(p.life, Life::Stopped(Some(_)));
        if w.core.phase == Phase::Waiting && procs.iter().flatten().any(|p| stuck(&p)) {
            return Err(format!("a_stopped_process_is_woken: {procs:?}"));
        }
        let bonus = u8::from(self.cfg.grace_period.is_some());
        for p in procs.iter().flatten().filter(|p| p.alive()) {
            if w.core.held.is_none() && p.got < p.owed {
                return Err(format!(
                    "stop_reaches_once: got {} of {} ({p:?})",
                    p.got, p.owed
                ));
            }
            if p.got > p.owed + p.later + bonus {
                return Err(format!(
                    "stop_reaches_once: got {} > {} ({p:?})",
                    p.got, p.owed
                ));
            }
        }
        Ok(())
    }

    /// Liveness: everything dies (as after a SIGKILL to all) and, in pause mode, a SIGINT
    /// comes; tini-rs must then exit within a few of its own steps.
    fn exits_when_all_die(&self, w: &World) -> Result<(), String> {
        let mut w = *w;
        for p in [Some(&mut w.prog), w.other.as_mut()].into_iter().flatten() {
            if p.alive() {
                p.die(128 + 9, &mut w.chld);
            }
        }
        if self.cfg.pause && w.core.code.is_none() {
            w.budget = 1;
            w = self.apply(&w, Step::Signal(INT))?;
        }
        for _ in 0..6 {
            if self.core(w.core).exit().is_some() {
                return Ok(());
            }
            let step = if w.chld { Step::Chld } else { Step::Deadline };
            w = self.apply(&w, step)?;
        }
        Err("always_exits: still running after everything died".into())
    }

    /// Every state reachable from `start`: how many, and the deepest step; or the first
    /// broken property with the steps that lead to it.
    pub fn explore(&self, start: World) -> Result<(usize, usize), String> {
        self.properties(&start)
            .map_err(|e| format!("{e}\nin the start {start:?}"))?;
        let mut seen = HashSet::from([start]);
        let mut queue = VecDeque::from([(start, 0usize)]);
        let mut deepest = 0;
        while let Some((w, depth)) = queue.pop_front() {
            deepest = deepest.max(depth);
            self.exits_when_all_die(&w)
                .map_err(|e| format!("{e}\nin {w:?}"))?;
            if self.core(w.core).exit().is_some() {
                continue;
            }
            for step in self.steps(&w) {
                let next = self
                    .apply(&w, step)
                    .map_err(|e| format!("{e}\nafter {step:?} in {w:?}"))?;
                if seen.insert(next) {
                    queue.push_back((next, depth + 1));
                }
            }
        }
        Ok((seen.len(), deepest))
    }
}

/// Every configuration the check covers: delivery ×3, pause, grace period, stop delay,
/// `--wait-descendants`, a rule on SIGTERM (none, to SIGQUIT, drop), PID 1 (with `-e 3`) or
/// not, and as PID 1 a VM's init or not.
pub fn configs() -> Vec<(Config, bool)> {
    let mut v = Vec::new();
    for bits in 0..(3 * 3 * 64) {
        let on = |k: usize| (bits / 9) & k != 0;
        let mut c = Config {
            delivery: match bits % 3 {
                0 => Delivery::Group,
                1 => Delivery::Child,
                _ => Delivery::All,
            },
            pause: on(1),
            grace_period: on(2).then_some(Duration::from_secs(1)),
            stop_delay: on(4).then_some(Duration::from_millis(1500)),
            wait_descendants: on(8),
            ..Config::default()
        };
        match bits / 3 % 3 {
            1 => c.rewrite.set(TERM, QUIT),
            2 => c.rewrite.set(TERM, 0),
            _ => {}
        }
        // `-e` changes no decision, only the code: it goes with PID 1, to halve the runs.
        if on(16) {
            c.remap.insert(CODE);
        }
        // A VM's init is PID 1 of the initial namespace.
        c.machine = on(32);
        if !c.machine || on(16) {
            v.push((c, on(16)));
        }
    }
    v
}

/// Every starting world: the program's kind × the other descendant's.
pub fn worlds() -> Vec<World> {
    let progs = [
        Proc::new(Life::Running, true, false, 0),
        Proc::new(Life::Running, true, true, 0),
        Proc::new(Life::Stopped(None), true, false, 0),
        Proc::new(Life::Running, false, false, 0),
    ];
    let others = [
        None,
        Some(Proc::new(Life::Running, true, false, 0)),
        Some(Proc::new(Life::Running, false, false, 0)),
        Some(Proc::new(Life::Stopped(None), false, false, 0)),
        Some(Proc::new(Life::Running, false, true, 0)),
        Some(Proc::new(Life::Running, true, true, 0)),
        Some(Proc::new(Life::Running, false, true, 2)),
    ];
    let mut v = Vec::new();
    for prog in progs {
        for other in others {
            let core = Core::new(&Config::default(), false).st;
            let (chld, now, budget, stops, killed_at) = (false, Duration::ZERO, budget(), 0, None);
            v.push(World {
                core,
                prog,
                other,
                chld,
                now,
                budget,
                stops,
                killed_at,
                termed: false,
                asked: false,
            });
        }
    }
    v
}

/// Explores `configs` in every world: (runs, states, deepest step), or the first failure.
/// Stops early (with what it did so far) once `failed` is set, and sets it on a failure.
fn explore_all(
    configs: &[(Config, bool)],
    failed: &AtomicBool,
) -> Result<(usize, usize, usize), String> {
    let (mut runs, mut states, mut deepest) = (0, 0, 0);
    for (cfg, pid1) in configs {
        if failed.load(Ordering::Relaxed) {
            break;
        }
        let check = Check { cfg, pid1: *pid1 };
        // In pause mode there is no program: one world per other descendant.
        let n = if cfg.pause { 7 } else { usize::MAX };
        for mut w in worlds().into_iter().take(n) {
            if cfg.pause {
                w.prog.life = Life::Reaped;
            }
            let (s, d) = check.explore(w).map_err(|e| {
                failed.store(true, Ordering::Relaxed);
                format!("{cfg:?} pid1={pid1}:\n{e}")
            })?;
            (runs, states, deepest) = (runs + 1, states + s, deepest.max(d));
        }
    }
    Ok((runs, states, deepest))
}

/// The check `cargo test` runs, on two threads (the machines have two cores).
#[test]
fn every_configuration_in_every_world_keeps_every_property() {
    let all = configs();
    let (first, second) = all.split_at(all.len() / 2);
    let failed = AtomicBool::new(false);
    // A panic (a broken core's overflow, say) stops the other half too.
    let half = |part| {
        std::panic::catch_unwind(AssertUnwindSafe(|| explore_all(part, &failed))).unwrap_or_else(
            |_| {
                failed.store(true, Ordering::Relaxed);
                Err("panicked".into())
            },
        )
    };
    let results = std::thread::scope(|s| {
        let other = s.spawn(|| half(second));
        [
            half(first),
            other.join().unwrap_or_else(|_| Err("thread died".into())),
        ]
    });
    let (mut runs, mut states, mut deepest) = (0, 0, 0);
    for r in results {
        match r {
            Ok((n, s, d)) => (runs, states, deepest) = (runs + n, states + s, deepest.max(d)),
            Err(e) => assert!(e.is_empty(), "{e}"),
        }
    }
    println!(
        "core check: {} configurations, {runs} runs, {states} states, deepest {deepest} steps",
        all.len()
    );
}

/// The README's table of what a SIGTERM and the program's exit do under each combination of
/// options, checked against the core (as PID 1): each row's options are parsed as the
/// command line, and each cell must be what the core does, in the table's words. Columns: a
/// SIGTERM while the program runs; the program exits (3) while others remain; the same
/// after a SIGTERM; a SIGTERM after the program exited without one.
#[test]
fn the_readmes_stopping_table_is_the_core() {
    let readme = include_str!("../README.md");
    let rows: Vec<Vec<&str>> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| options | SIGTERM"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.split('|').map(str::trim).skip(1).take(5).collect())
        .collect();
    assert!(rows.len() >= 10, "the README's stopping table has {rows:?}");
    let mut wrong: Vec<String> = Vec::new();
    for row in rows {
        let opts = row.first().copied().unwrap_or_default().trim_matches('`');
        let args: Vec<std::ffi::OsString> = opts
            .split_whitespace()
            .filter(|w| *w != "(none)")
            .chain(["--", "x"])
            .map(Into::into)
            .collect();
        let Ok(crate::cli::Action::Run(cfg)) = crate::cli::parse(&args, |_| None) else {
            wrong.push(format!("bad options: {opts}"));
            continue;
        };
        let exits = Event::Drained(Some(Outcome::Exited(CODE.into())), false);
        let term = Event::Signal(TERM, super::Origin::Sent);
        let mut got = vec![row.first().copied().unwrap_or_default().to_string()];
        let mut core = Core::new(&cfg, true);
        got.push(words(&mut core, &[term]));
        let mut core = Core::new(&cfg, true);
        got.push(words(&mut core, &[exits]));
        let after = words(&mut core, &[term]);
        got.push(words(&mut Core::new(&cfg, true), &[term, exits]));
        got.push(after);
        if row != got {
            wrong.push(format!("| {} |", got.join(" | ")));
        }
    }
    assert!(
        wrong.is_empty(),
        "rows of the README's stopping table that are not the core's:\n{}",
        wrong.join("\n")
    );
}

/// The core's actions on the last of `events` (the others come first, a second apart) and
/// the state it is left in, in the words of the README's table.
fn words(core: &mut Core, events: &[Event]) -> String {
    if core.exit().is_some() {
        return "—".into();
    }
    let mut out: Vec<String> = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        core.take();
        core.handle(*ev, Duration::from_secs(i as u64));
    }
    for a in core.take().iter().flatten() {
        if matches!(a, Action::Log(_, text, _) if text.starts_with("Dropping")) {
            out.push("dropped".into());
        }
        let Action::Send(t, sig, cont) = *a else {
            continue;
        };
        let to = match t {
            Target::Group => "group",
            Target::Program => "program",
            Target::Outside => "others",
            Target::Members => "group's rest",
            Target::Descendants => "descendants",
            Target::Everyone => "all",
        };
        let (sig, cont) = (crate::signals::name(sig), if cont { "+CONT" } else { "" });
        out.push(format!("{}{cont} to {to}", sig.trim_start_matches("SIG")));
    }
    let st = core.st;
    out.push(match (core.exit(), st.phase, st.held) {
        (Some(c), ..) => format!("exit {c}"),
        (_, Phase::Waiting, _) => "wait".into(),
        (_, Phase::Grace(_), _) => "KILL at -t".into(),
        (_, Phase::Running, Some(_)) => "held".into(),
        _ => String::new(),
    });
    out.retain(|w| !w.is_empty());
    out.join(", ")
}

/// As a VM's init, SIGPWR and the kernel's SIGINT (Ctrl-Alt-Del) are SIGTERM; a SIGINT sent
/// by a process stays one, and in a container SIGPWR is forwarded as itself.
#[test]
fn the_machines_stop_requests_are_sigterm() {
    use super::Origin::{Kernel, Sent};
    let machine = Config {
        machine: true,
        ..Config::default()
    };
    let sent = |cfg: &Config, sig, origin| {
        let mut core = Core::new(cfg, true);
        core.handle(Event::Signal(sig, origin), Duration::ZERO);
        let mut sends = core.take().into_iter().flatten();
        sends.find(|a| matches!(a, Action::Send(..)))
    };
    let to_group = |sig| Some(Action::Send(Target::Group, sig, false));
    assert_eq!(sent(&machine, libc::SIGPWR, Sent), to_group(TERM));
    assert_eq!(sent(&machine, INT, Kernel), to_group(TERM));
    assert_eq!(sent(&machine, INT, Sent), to_group(INT));
    assert_eq!(
        sent(&Config::default(), libc::SIGPWR, Sent),
        to_group(libc::SIGPWR)
    );
    assert_eq!(sent(&Config::default(), INT, Kernel), to_group(INT));
    // A rule of the signal's own beats its being the machine's stop request.
    let mut ruled = machine.clone();
    ruled.rewrite.set(libc::SIGPWR, 0);
    ruled.rewrite.set(INT, QUIT);
    assert_eq!(sent(&ruled, libc::SIGPWR, Sent), None);
    assert_eq!(sent(&ruled, INT, Kernel), to_group(QUIT));
    // Asked again, the machine's init sends SIGKILL; with a stop delay, the second request
    // ends the delay and the third kills.
    let again = |cfg: &Config, n| {
        let mut core = Core::new(cfg, true);
        for _ in 1..n {
            core.handle(Event::Signal(libc::SIGPWR, Sent), Duration::ZERO);
        }
        core.take();
        core.handle(Event::Signal(INT, Kernel), Duration::ZERO);
        let mut sends = core.take().into_iter().flatten();
        sends.find(|a| matches!(a, Action::Send(..)))
    };
    let to_all = Some(Action::Send(Target::Everyone, KILL, false));
    assert_eq!(again(&machine, 2), to_all);
    let delayed = Config {
        stop_delay: Some(Duration::from_secs(5)),
        ..machine.clone()
    };
    assert_eq!(again(&delayed, 1), None);
    assert_eq!(again(&delayed, 2), to_group(TERM));
    assert_eq!(again(&delayed, 3), to_all);
    // The rule on SIGTERM applies to the stop request (`-r TERM:INT` as for PostgreSQL).
    let mut term_rule = machine.clone();
    term_rule.rewrite.set(TERM, INT);
    assert_eq!(sent(&term_rule, libc::SIGPWR, Sent), to_group(INT));
}

/// The exhaustive check sees what is sent, not what is said: these runs pin each step's
/// actions, log lines included, in order.
fn steps(core: &mut Core<'_>, ev: Event, at_ms: u64) -> Vec<Action> {
    core.handle(ev, Duration::from_millis(at_ms));
    core.take().into_iter().flatten().collect()
}

fn passing(sig: i32) -> Action {
    Action::Log(Level::Debug, "Passing signal:", Arg::Signal(sig))
}

fn sent(sig: i32) -> Event {
    Event::Signal(sig, Origin::Sent)
}

const USR1: i32 = libc::SIGUSR1;

/// A stop delay, then a grace period and its kill phase, as a plain process.
#[test]
fn a_run_through_the_stop_delay_and_the_grace_period() {
    let cfg = Config {
        grace_period: Some(Duration::from_secs(1)),
        stop_delay: Some(Duration::from_millis(1500)),
        ..Config::default()
    };
    let c = &mut Core::new(&cfg, false);
    let ms = Duration::from_millis;
    assert_eq!(
        steps(c, sent(USR1), 0),
        [Action::Send(Target::Group, USR1, false), passing(USR1)]
    );
    let ttin = libc::SIGTTIN;
    let kept = Action::Log(Level::Trace, "Not forwarding", Arg::Signal(ttin));
    assert_eq!(steps(c, sent(ttin), 0), [kept]);
    let own_pipe = Event::Signal(libc::SIGPIPE, Origin::OwnPipe);
    let noted = Action::Log(
        Level::Debug,
        "Ignoring SIGPIPE raised by tini-rs's own write",
        Arg::None,
    );
    assert_eq!(steps(c, own_pipe, 0), [noted]);
    assert_eq!(steps(c, own_pipe, 0), [], "said once only");
    let hold = "Holding SIGTERM (stop delay) for";
    let hold = Action::Log(Level::Info, hold, Arg::Time(ms(1500)));
    assert_eq!(steps(c, sent(TERM), 100), [hold]);
    assert_eq!(c.deadline(), Some(ms(1600)));
    let over = Action::Log(
        Level::Info,
        "Stop delay over: passing on the held",
        Arg::Signal(TERM),
    );
    assert_eq!(
        steps(c, Event::Deadline, 1600),
        [Action::Send(Target::Group, TERM, false), over]
    );
    assert_eq!(c.deadline(), None);
    let exited = Outcome::Exited(i32::from(CODE));
    assert_eq!(
        steps(c, Event::Drained(Some(exited), false), 1700),
        [
            Action::Log(Level::Info, "", Arg::Exit(exited)),
            Action::Send(Target::Descendants, TERM, true),
            Action::Log(
                Level::Info,
                "Sending SIGTERM and SIGCONT to the remaining processes, grace period",
                Arg::Time(ms(1000))
            ),
        ]
    );
    assert_eq!(c.deadline(), Some(ms(2700)));
    for sig in [USR1, TERM] {
        assert_eq!(
            steps(c, sent(sig), 1800),
            [Action::Send(Target::Descendants, sig, false), passing(sig)],
            "no SIGCONT once the grace period runs"
        );
    }
    assert_eq!(
        steps(c, Event::Deadline, 2700),
        [
            Action::Send(Target::Descendants, KILL, false),
            Action::Log(
                Level::Warn,
                "Grace period over: sending SIGKILL to the remaining processes",
                Arg::None
            )
        ]
    );
    assert_eq!(c.deadline(), Some(ms(2720)));
    assert_eq!(
        steps(c, Event::Deadline, 2720),
        [Action::Send(Target::Descendants, KILL, false)]
    );
    assert_eq!(c.deadline(), Some(ms(2740)));
    assert_eq!(c.exit(), None);
    let remain = Action::Log(
        Level::Warn,
        "Processes remain after SIGKILL; exiting anyway",
        Arg::None,
    );
    assert_eq!(steps(c, Event::Deadline, 4700), [remain]);
    assert_eq!(c.exit(), Some(CODE));
}

/// A second SIGTERM ends the stop delay; `--wait-descendants` then owes the rest the stop
/// request the program alone got (`-c`), and passes signals on, a stop request with SIGCONT
/// (the held one too: waiting for descendants, a stop request always wakes whom it reaches).
#[test]
fn a_run_through_the_stop_delay_and_the_wait_for_descendants() {
    let cfg = Config {
        delivery: Delivery::Child,
        stop_delay: Some(Duration::from_millis(1500)),
        wait_descendants: true,
        ..Config::default()
    };
    let c = &mut Core::new(&cfg, true);
    assert_eq!(steps(c, sent(TERM), 0).len(), 1);
    let second = Action::Log(
        Level::Info,
        "Second SIGTERM: ending the stop delay",
        Arg::None,
    );
    assert_eq!(
        steps(c, sent(TERM), 10),
        [Action::Send(Target::Program, TERM, true), second]
    );
    let killed = Outcome::Signaled(TERM);
    assert_eq!(
        steps(c, Event::Drained(Some(killed), false), 20),
        [
            Action::Log(Level::Info, "", Arg::Exit(killed)),
            Action::Send(Target::Descendants, TERM, true),
            Action::Log(
                Level::Debug,
                "Passing the stop request on to the processes it missed:",
                Arg::Signal(TERM)
            ),
            Action::Log(
                Level::Info,
                "Waiting for the remaining processes to exit by themselves",
                Arg::None
            ),
        ]
    );
    assert_eq!(
        steps(c, sent(USR1), 30),
        [
            Action::Send(Target::Descendants, USR1, false),
            passing(USR1)
        ]
    );
    assert_eq!(
        steps(c, sent(INT), 40),
        [Action::Send(Target::Descendants, INT, true), passing(INT)]
    );
    assert_eq!(c.exit(), None);
    assert_eq!(steps(c, Event::Drained(None, true), 50), []);
    assert_eq!(c.exit(), Some(128 + 15));
}

/// Pause mode: a signal reaches the descendants only with `-a` (without, a debug line says it
/// was not passed on); a stop request ends it.
/// A rule that drops a signal says so.
#[test]
fn pause_mode_and_a_dropped_signal() {
    let not_passed = Action::Log(
        Level::Debug,
        "Pause mode: not passing on",
        Arg::Signal(USR1),
    );
    for (delivery, sends) in [
        (Delivery::Group, &[not_passed][..]),
        (Delivery::Child, &[not_passed]),
        (
            Delivery::All,
            &[
                Action::Send(Target::Descendants, USR1, false),
                passing(USR1),
            ],
        ),
    ] {
        let cfg = Config {
            delivery,
            pause: true,
            ..Config::default()
        };
        let c = &mut Core::new(&cfg, true);
        assert_eq!(steps(c, sent(USR1), 0), sends, "{delivery:?}");
        let stopping = "Pause mode: stopping on";
        let stopping = Action::Log(Level::Info, stopping, Arg::Signal(INT));
        assert_eq!(steps(c, sent(INT), 0), [stopping, Action::Drain]);
        assert_eq!(c.exit(), None);
        assert_eq!(steps(c, Event::Drained(None, true), 0), []);
        assert_eq!(c.exit(), Some(0));
    }
    let mut cfg = Config::default();
    cfg.rewrite.set(USR1, 0);
    let c = &mut Core::new(&cfg, false);
    let dropped = "Dropping (rewrite rule)";
    let dropped = Action::Log(Level::Debug, dropped, Arg::Signal(USR1));
    assert_eq!(steps(c, sent(USR1), 0), [dropped]);
}
