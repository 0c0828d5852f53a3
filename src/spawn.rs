//! Starting the program: everything that allocates (argv, the PATH search) is prepared here
//! before the clone; the child side lives in `sys::spawn`.
//!
//! The child puts itself in its own process group, takes the terminal's foreground when
//! tini-rs had it (so Ctrl-C reaches the program), restores the caller's signal mask and
//! ignored signals exactly, and execs. It shares tini-rs's memory until then (as with
//! posix_spawn), so a failure before exec is simply written where the parent reads it; the
//! parent logs one line, and the exit code (127/126/1) comes from the child's status like
//! any other.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use log::{error, info};
use nix::errno::Errno;

use crate::error::Error;
use crate::sys::{self, ChildStep, ExecPlan, SignalSet};

/// The caller's signal state, restored in the program.
#[derive(Clone, Copy)]
pub struct CallerSignals {
    pub mask: SignalSet,
    /// The caller ignored SIGCHLD (tini-rs itself cannot keep it ignored).
    pub chld_ignored: bool,
}

/// Starts `program`; returns its PID once it has exec'd (or failed, then it has exited).
pub fn spawn(program: &[OsString], caller: &CallerSignals) -> Result<i32, Error> {
    let name = program
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
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
    let first = args.first().ok_or(Error::BadArgument {
        op: "exec",
        reason: "no program".into(),
    })?;
    let candidates = candidates(first, std::env::var_os("PATH").as_deref());

    let mut plan = ExecPlan::new(
        &args,
        candidates,
        caller.mask,
        caller.chld_ignored,
        owns_terminal(),
    )
    .ok_or(Error::BadArgument {
        op: "exec",
        reason: "no program".into(),
    })?;
    let (pid, failure) = sys::spawn(&mut plan).map_err(Error::sys("fork"))?;
    info!("Spawned child process '{name}' with pid '{pid}'");
    if let Some((step, errno)) = failure {
        log_child_failure(step, errno, &name);
    }
    Ok(pid)
}

/// The paths execvp would try, in order.
pub fn candidates(program: &CString, path: Option<&OsStr>) -> Vec<CString> {
    let bytes = program.as_bytes();
    if bytes.is_empty() {
        return vec![program.clone()];
    }
    if bytes.contains(&b'/') {
        return vec![program.clone()];
    }
    let path = path.map_or(&b"/usr/local/bin:/usr/bin:/bin"[..], OsStr::as_bytes);
    path.split(|b| *b == b':')
        .filter_map(|dir| {
            let mut full = dir.to_vec();
            if full.is_empty() {
                full.push(b'.');
            }
            if !full.ends_with(b"/") {
                full.push(b'/');
            }
            full.extend_from_slice(bytes);
            CString::new(full).ok()
        })
        .collect()
}

/// Whether tini-rs's process group is the foreground group of the terminal on stdin.
fn owns_terminal() -> bool {
    sys::stdin_foreground_group().is_ok_and(|fg| fg == nix::unistd::getpgrp().as_raw())
}

/// One line for a child that failed before exec.
fn log_child_failure(step: ChildStep, errno: Errno, name: &str) {
    let why = crate::error::strerror(errno);
    match step {
        ChildStep::Exec => error!("exec {name} failed: {why}"),
        ChildStep::Setpgid => error!("setpgid failed in the child: {why}"),
        ChildStep::Tcsetpgrp => error!("tcsetpgrp failed in the child: {why}"),
        ChildStep::Signals => error!("restoring signals failed in the child: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> CString {
        CString::new(s).unwrap_or_default()
    }

    #[test]
    fn path_search_like_execvp() {
        let got = candidates(&c("ls"), Some(OsStr::new("/a:/b/::/c")));
        assert_eq!(got, vec![c("/a/ls"), c("/b/ls"), c("./ls"), c("/c/ls")]);
        assert_eq!(
            candidates(&c("./x"), Some(OsStr::new("/a"))),
            vec![c("./x")]
        );
        assert_eq!(candidates(&c("/bin/x"), None), vec![c("/bin/x")]);
        assert_eq!(candidates(&c("x"), None).len(), 3);
    }
}
