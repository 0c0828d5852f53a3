//! The integration tests: one crate, one module per behaviour, one harness. Each test runs
//! the real binary, as a plain process and as PID 1 of a new PID namespace, with `TINI_*`
//! cleared; it synchronises on output or polls /proc with a deadline, never sleeps a fixed
//! time, and kills what it started by pidfd. Anything that signals a process group or `-1`,
//! or makes hundreds of processes, runs inside a PID namespace.
//!
//! The programs tini-rs runs in the tests are modes of one helper, `helper.py` (see its
//! docstring): Python is the plain tool for forking, `setsid`, `sigwaitinfo` and setting an
//! exact signal state before an exec.
//!
//! One module a behaviour (`cargo test --test integration MODULE::` runs one):
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

/// Shared harness: modes, processes, output, /proc, clean-up.
mod harness;

/// The command line: usage errors, `--version`, `-h`, `-l`, POSIX parsing.
mod cli;
/// Containers: `tini-rs -- CMD` as Docker's `--init` runs it, configured by environment.
mod containers;
/// Exit codes: the program's status, 128+N, exec failures (127/126/1), remapping.
mod exit_codes;
/// Hostile conditions: hostile programs, broken stdio, fork failure, signal storms.
mod hostile;
/// What the program gets from the caller: arguments, environment, signal state, fds, user.
mod inheritance;
/// Logging: the not-PID-1 warning, `-v` levels, the line format.
mod logging;
/// A VM's init only in a VM: as a container's PID 1 nothing changes.
mod machine;
/// The man page against what `-h` prints.
mod manpage;
/// Property test of the parser and of the binary on rejected input; no panics by construction.
mod parser_props;
/// Reaping: bursts and streams of orphans, `-s`, `-w`, exit after the drain.
mod reaping;
/// Shutdown features: grace period, broadcast, rewrite, pause.
mod shutdown;
/// Signal forwarding: every signal, delivery modes, stopped programs, `-p`.
mod signals;
/// At a terminal: foreground group, Ctrl-C, Ctrl-Z.
mod terminal;
