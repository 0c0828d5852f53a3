//! Starting the program, as tini does: a plain `fork`, then the child's set-up and libc's
//! `execvp`.
//!
//! The child puts itself in its own process group, takes the terminal's foreground when
//! tini-rs had it (so Ctrl-C reaches the program), restores the caller's signal mask and
//! ignored SIGCHLD exactly, and execs. When the exec fails, the child logs one line,
//! `exec PROG failed: <reason>`, and exits with tini's code for it (ENOENT 127, EACCES 126,
//! anything else 1), which then takes the normal path of a status (and can be remapped).
//! tini-rs is single-threaded, so the forked child may allocate and log.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;

use log::info;
use nix::errno::Errno;

use crate::error::{Error, strerror};
use crate::exit_code::exec_failure_code;
use crate::logging;
use crate::sys::{self, Argv, Forked, SignalSet};

/// The caller's signal state, restored in the program.
#[derive(Clone, Copy)]
pub struct CallerSignals {
    /// The caller's blocked signals.
    pub mask: SignalSet,
    /// The caller ignored SIGCHLD (tini-rs itself cannot keep it ignored).
    pub chld_ignored: bool,
}

/// Whether tini-rs was socket-activated: `LISTEN_PID` names it (systemd's protocol). The
/// program then gets `LISTEN_PID` set to its own PID, so that it accepts the descriptors
/// from 3 on (`LISTEN_FDS`, `LISTEN_FDNAMES` and the descriptors pass through unchanged).
pub fn socket_activation(own_pid: i32) -> bool {
    std::env::var("LISTEN_PID").is_ok_and(|v| v.trim() == own_pid.to_string())
}

/// How the program is started, beyond its command line.
#[derive(Clone, Copy)]
pub struct Setup {
    /// The caller's signal state, restored in the program.
    pub caller: CallerSignals,
    /// Socket activation (see [`socket_activation`]): the program gets `LISTEN_PID` set to
    /// its own PID.
    pub activation: bool,
    /// catatonit's exit code for a failed exec (always 1) instead of tini's 127/126/1.
    pub catatonit_codes: bool,
}

/// Starts `program` (its name first); returns its PID.
pub fn spawn(program: &[OsString], setup: &Setup) -> Result<i32, Error> {
    let name = program
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let argv = argv(program)?;
    let take_terminal = owns_terminal();
    // SAFETY: tini-rs is single-threaded (no thread is ever started; tests check
    // `Threads: 1`), so the child inherits no lock held elsewhere and may allocate and log.
    #[allow(unsafe_code)]
    let forked = unsafe { sys::fork() };
    match forked.map_err(Error::sys("fork"))? {
        Forked::Child => child(&argv, setup, take_terminal, &name),
        Forked::Parent(pid) => {
            info!("Spawned child process '{name}' with pid '{pid}'");
            Ok(pid)
        }
    }
}

/// The argument vector for exec; a NUL byte inside an argument cannot be passed on.
fn argv(program: &[OsString]) -> Result<Argv, Error> {
    let args = program
        .iter()
        .enumerate()
        .map(|(i, a)| {
            CString::new(a.as_bytes()).map_err(|_| Error::BadArgument {
                op: "exec",
                reason: format!("argument {i} contains a NUL byte"),
            })
        })
        .collect::<Result<Vec<CString>, Error>>()?;
    Argv::new(args).ok_or(Error::BadArgument {
        op: "exec",
        reason: "no program".into(),
    })
}

/// The child, between fork and exec. Never returns: it becomes the program or exits.
fn child(argv: &Argv, setup: &Setup, take_terminal: bool, name: &str) -> ! {
    let caller = &setup.caller;
    if setup.activation {
        let pid = std::process::id().to_string();
        // SAFETY: the child is single-threaded (it is a fork of single-threaded tini-rs),
        // so nothing reads the environment while it changes.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("LISTEN_PID", pid);
        };
    }
    if let Err(e) = sys::new_process_group() {
        give_up("setpgid failed in the child", e, 1);
    }
    if take_terminal {
        match sys::take_terminal() {
            // Not a terminal, or no longer ours: the program simply does not get it.
            Ok(()) | Err(Errno::ENOTTY | Errno::ENXIO | Errno::EBADF) => {}
            Err(e) => give_up("tcsetpgrp failed in the child", e, 1),
        }
    }
    if caller.chld_ignored {
        if let Err(e) = sys::set_disposition(libc::SIGCHLD, libc::SIG_IGN) {
            give_up("restoring signals failed in the child", e, 1);
        }
    }
    if let Err(e) = sys::set_mask(&caller.mask) {
        give_up("restoring signals failed in the child", e, 1);
    }
    let e = sys::execvp(argv);
    let code = if setup.catatonit_codes {
        1
    } else {
        exec_failure_code(e)
    };
    give_up(&format!("exec {name} failed"), e, code)
}

/// Logs `what: <reason>` and exits with `code`. The line is written to stderr itself and
/// waits for room, as tini's child does: this process is not PID 1, and a reader that is
/// slow for a moment must still get it. SIGPIPE is blocked first (the caller's mask may
/// leave it deliverable): a write to a broken stderr must not turn the exit code into 141.
/// The other signals stay as the caller had them, so a `docker stop` still ends a child
/// waiting on a stderr that nobody reads.
fn give_up(what: &str, e: Errno, code: u8) -> ! {
    let mut pipe = SignalSet::empty();
    pipe.add(libc::SIGPIPE);
    let _ = sys::block(&pipe);
    logging::write_blocking(&format_args!("{what}: {}", strerror(e)));
    sys::exit_now(code)
}

/// Whether tini-rs's process group is the foreground group of the terminal on stdin.
fn owns_terminal() -> bool {
    sys::stdin_foreground_group().is_ok_and(|fg| fg == nix::unistd::getpgrp().as_raw())
}
