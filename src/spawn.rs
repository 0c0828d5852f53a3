//! Starting the program: everything that allocates (argv, the PATH search, the error pipe)
//! is prepared here before `fork`; the child side lives in `sys::spawn`.
//!
//! The child puts itself in its own process group, takes the terminal's foreground when
//! tini-rs had it (so Ctrl-C reaches the program), restores the caller's signal mask and
//! ignored signals exactly, and execs. If exec fails it sends the errno back through a
//! close-on-exec pipe, so tini-rs logs one line and the exit code (127/126/1) comes from
//! the child's status like any other. The pipe is read once the child has exited, so the
//! parent goes straight to its loop instead of sleeping until the exec is done.

use std::ffi::{CString, OsStr, OsString};
use std::io::Read;
use std::os::fd::AsRawFd;
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

/// The started program: its PID, and the pipe on which its child side reports a failure
/// before exec (read once it has exited, so that the spawn never waits for the exec).
pub struct Child {
    pub pid: i32,
    pub report: Report,
}

/// The read end of the child's error pipe, and the program's name for the message.
pub struct Report {
    read_end: std::os::fd::OwnedFd,
    name: String,
}

impl Report {
    /// Logs the child's failure, if it reported one. Call it once the child has exited: the
    /// write end is closed then (by exec or by exit), so the read never blocks.
    pub fn log_failure(self) {
        report_child_failure(self.read_end, &self.name);
    }
}

/// Forks and execs `program`; returns as soon as the child is forked.
pub fn spawn(program: &[OsString], caller: &CallerSignals) -> Result<Child, Error> {
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

    let (read_end, write_end) = sys::report_pipe().map_err(Error::sys("pipe"))?;
    let mut plan = ExecPlan::new(
        &args,
        candidates,
        caller.mask,
        caller.chld_ignored,
        owns_terminal(),
        write_end.as_raw_fd(),
    )
    .ok_or(Error::BadArgument {
        op: "exec",
        reason: "no program".into(),
    })?;
    let pid = sys::spawn(&mut plan).map_err(Error::sys("fork"))?;
    drop(write_end);
    info!("Spawned child process '{name}' with pid '{pid}'");
    Ok(Child {
        pid,
        report: Report { read_end, name },
    })
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

/// Reads the child's report: nothing (EOF) means exec succeeded.
fn report_child_failure(read_end: std::os::fd::OwnedFd, name: &str) {
    let mut buf = [0u8; 5];
    let mut file = std::fs::File::from(read_end);
    let mut got = 0;
    while got < buf.len() {
        match file.read(buf.get_mut(got..).unwrap_or(&mut [])) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if got < buf.len() {
        return;
    }
    let [step, e0, e1, e2, e3] = buf;
    let errno = Errno::from_raw(i32::from_le_bytes([e0, e1, e2, e3]));
    match ChildStep::from_byte(step) {
        Some(ChildStep::Exec) => error!("exec {name} failed: {}", crate::error::strerror(errno)),
        Some(ChildStep::Setpgid) => error!(
            "setpgid failed in the child: {}",
            crate::error::strerror(errno)
        ),
        Some(ChildStep::Tcsetpgrp) => error!(
            "tcsetpgrp failed in the child: {}",
            crate::error::strerror(errno)
        ),
        Some(ChildStep::Signals) => {
            error!(
                "restoring signals failed in the child: {}",
                crate::error::strerror(errno)
            )
        }
        None => error!("the child failed before exec"),
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
