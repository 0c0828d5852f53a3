//! The one error type: every failure tini-rs reports before the program runs, rendered as
//! `<operation> failed: <reason>`.

use std::fmt;

use nix::errno::Errno;

/// A fatal set-up error (before or while spawning the program). Exit code 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A system call failed.
    Sys {
        /// The call, as the message names it.
        op: &'static str,
        /// Its error.
        errno: Errno,
    },
    /// The program's arguments cannot be passed to exec.
    BadArgument {
        /// The operation, as the message names it.
        op: &'static str,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// Shorthand for `map_err(Error::sys("op"))`.
    pub fn sys(op: &'static str) -> impl Fn(Errno) -> Error {
        move |errno| Error::Sys { op, errno }
    }
}

/// The C library's text for `errno` (strerror), e.g. "No such file or directory".
pub fn strerror(errno: Errno) -> String {
    let text = std::io::Error::from_raw_os_error(errno as i32).to_string();
    match text.rfind(" (os error ") {
        Some(i) => text.get(..i).unwrap_or(&text).to_string(),
        None => text,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sys { op, errno } => write!(f, "{op} failed: {}", strerror(*errno)),
            Error::BadArgument { op, reason } => write!(f, "{op} failed: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_operation_and_the_reason() {
        let e = Error::sys("fork")(Errno::ENOMEM);
        assert_eq!(e.to_string(), "fork failed: Cannot allocate memory");
        let e = Error::BadArgument {
            op: "exec",
            reason: "argument 2 contains a NUL byte".into(),
        };
        assert_eq!(e.to_string(), "exec failed: argument 2 contains a NUL byte");
    }
}
