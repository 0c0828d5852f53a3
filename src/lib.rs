//! tini-rs: a tini-compatible init for containers.
//!
//! It runs as PID 1, starts one program, forwards every signal it receives to that
//! program's process group, reaps every zombie re-parented to it, and exits with the
//! program's status. [`run`] follows the start-up order: block signals, parent-death
//! signal, subreaper, the "not PID 1" check, spawn, loop. As the init of a virtual machine
//! ([`machine`]), it sets the machine up before the program and ends it afterwards.

pub mod catatonit;
pub mod cli;
pub mod config;
pub mod deliver;
pub mod error;
pub mod exit_code;
pub mod logging;
pub mod machine;
pub mod options;
pub mod procs;
pub mod reap;
pub mod signals;
pub mod spawn;
pub mod state;
pub mod supervise;
pub mod sys;

use log::{debug, error, info, trace, warn};

pub use config::Config;
pub use error::Error;
use spawn::CallerSignals;
use sys::SignalSet;

/// Runs the init described by `cfg` in this process, whose PID is `own_pid`; returns the
/// process exit code. An `Err` is a set-up failure before the program ran (exit code 1).
///
/// As the machine's init (`cfg.machine`, from [`machine::detect`] before the logger was
/// set up) it never returns: the machine ends with the code instead ([`machine::end`]),
/// since PID 1 exiting would panic the kernel.
pub fn run(cfg: &Config, own_pid: i32) -> Result<u8, Error> {
    if !cfg.machine {
        return run_init(cfg, own_pid);
    }
    let code = run_init(cfg, own_pid).unwrap_or_else(|e| {
        error!("{e}");
        1
    });
    machine::end(code, cfg.machine_end)
}

fn run_init(cfg: &Config, own_pid: i32) -> Result<u8, Error> {
    for note in &cfg.notes {
        warn!("{note}");
    }
    let blocked = signals::blocked_set();
    let caller = block_signals(&blocked)?;
    if cfg.machine {
        machine::set_up(cfg.hostname.as_deref());
    }
    if let Some(sig) = cfg.parent_death_signal {
        set_parent_death_signal(sig, own_pid)?;
    }
    become_reaper(cfg.subreaper, own_pid)?;
    let main = if cfg.pause {
        None
    } else {
        let setup = spawn::Setup {
            caller,
            activation: spawn::socket_activation(own_pid),
            catatonit_codes: cfg.catatonit,
        };
        Some(spawn::spawn(&cfg.program, &setup)?)
    };
    close_inherited_descriptors();
    Ok(supervise::Supervisor::new(cfg, blocked, main, own_pid).run())
}

/// Makes sure orphans are re-parented to tini-rs: PID 1 gets them anyway; otherwise it
/// registers as a child subreaper by itself (as catatonit does), unless it already is one
/// (inherited across exec). `-s` makes a refusal fatal, as in tini; without it, the refusal
/// is tini's warning, and tini-rs goes on.
fn become_reaper(asked: bool, own_pid: i32) -> Result<(), Error> {
    use nix::sys::prctl::{get_child_subreaper, set_child_subreaper};
    if own_pid == 1 && !asked {
        return Ok(());
    }
    if !asked && get_child_subreaper().unwrap_or(false) {
        trace!("Already a child subreaper");
        return Ok(());
    }
    match set_child_subreaper(true) {
        Ok(()) if asked => trace!("Registered as a child subreaper"),
        Ok(()) => info!("Not PID 1: registered as a child subreaper, so orphans come to tini-rs"),
        Err(e) if asked => return Err(Error::sys("prctl(PR_SET_CHILD_SUBREAPER)")(e)),
        Err(e) => warn!(
            "tini-rs is not PID 1 and cannot become a child subreaper ({}), so orphans are not \
             re-parented to it and zombie reaping won't work",
            error::strerror(e)
        ),
    }
    Ok(())
}

/// Closes every descriptor above 2 that tini-rs inherited, once the program has its own
/// copies: PID 1 must not hold a passed socket open, or a mount busy, for its whole life.
/// Its own log descriptor stays.
fn close_inherited_descriptors() {
    match sys::close_fds_from(3, logging::own_fds()) {
        Ok(()) => trace!("Closed the inherited descriptors above 2"),
        Err(e) => debug!(
            "closing inherited descriptors failed: {}",
            error::strerror(e)
        ),
    }
}

/// Blocks `blocked` and returns the caller's signal state for the program.
///
/// Ignored signals need no work: a blocked signal is queued even when its disposition is
/// `SIG_IGN` (the handler could change before it is unblocked), so `sigtimedwait` still gets
/// it, and `SIG_IGN` passes through fork and exec to the program by itself. SIGCHLD is the
/// exception: ignored, it would make the kernel reap our children behind our back, so it
/// is set back to its default action here and to `SIG_IGN` again in the child.
fn block_signals(blocked: &SignalSet) -> Result<CallerSignals, Error> {
    let mask = sys::block(blocked).map_err(Error::sys("sigprocmask"))?;
    let chld_ignored = sys::is_ignored(libc::SIGCHLD).map_err(Error::sys("sigaction"))?;
    if chld_ignored {
        sys::set_disposition(libc::SIGCHLD, libc::SIG_DFL).map_err(Error::sys("sigaction"))?;
    }
    Ok(CallerSignals { mask, chld_ignored })
}

/// Arms the parent-death signal. A parent that died before the prctl would never send it,
/// so that case is caught by comparing the parent PID before and after, and the signal is
/// raised at once (it is blocked, so it waits for the loop and is forwarded).
fn set_parent_death_signal(sig: i32, own_pid: i32) -> Result<(), Error> {
    let parent = nix::unistd::getppid();
    sys::set_parent_death_signal(sig).map_err(Error::sys("prctl(PR_SET_PDEATHSIG)"))?;
    if nix::unistd::getppid() != parent {
        sys::kill(own_pid, sig).map_err(Error::sys("kill"))?;
    }
    Ok(())
}
