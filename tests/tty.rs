//! tini-rs at a terminal, as a plain process and as PID 1: the program is the foreground
//! process group of the controlling terminal, so Ctrl-C (`\x03` written to the pty master)
//! ends it and tini-rs exits 130; Ctrl-Z (`\x1a`) stops it, tini-rs keeps running (and does
//! not take the stopped program for an exited one), SIGCONT sent to tini-rs resumes it, and
//! tini-rs exits with the program's status when it ends.
//!
//! The pty comes from `openpty`; util-linux `setsid --ctty` makes its slave the controlling
//! terminal and stdin/stdout/stderr of tini-rs (or of unshare, whose child tini-rs is, as
//! PID 1). The program is tests/helpers/jobprog.py.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;

use std::fs::File;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};

const SIGCONT: i32 = 18;

/// tini-rs (or unshare with tini-rs) in a new session whose controlling terminal is a pty.
struct TtyRun {
    child: Child,
    master: File,
    lines: Receiver<String>,
    seen: Vec<String>,
    tini: i32,
    program: i32,
    _guard: KillOnDrop,
}

impl TtyRun {
    /// Starts `tini-rs -- python3 jobprog.py` at a new pty and waits for the program's
    /// `ready` line; returns it too.
    fn start(mode: Mode) -> (TtyRun, String) {
        // openpty's descriptors are not close-on-exec: set it before any other test of this
        // file can spawn, so no other test's processes hold our pty open.
        static SPAWN: Mutex<()> = Mutex::new(());
        let spawning = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
        let pty = nix::pty::openpty(None, None).unwrap();
        for fd in [&pty.master, &pty.slave] {
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).unwrap();
        }
        let mut cmd = Command::new("setsid");
        cmd.arg("--ctty");
        if mode == Mode::Pid1 {
            cmd.args([
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                "--kill-child",
                "--",
            ]);
        }
        cmd.args([bin(), "--", "python3", &helper("jobprog.py")])
            .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
            .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
            .stderr(Stdio::from(pty.slave));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TINI_") {
                cmd.env_remove(&k);
            }
        }
        let child = cmd.spawn().unwrap();
        drop(spawning);
        // Our copies of the slave go with `cmd`, so the master sees EOF (EIO) once every
        // process of the session has closed it.
        drop(cmd);
        let master = File::from(pty.master);
        let lines = read_lines(master.try_clone().unwrap());
        let pid = child.id() as i32;
        let mut run = TtyRun {
            child,
            master,
            lines,
            seen: Vec::new(),
            tini: 0,
            program: 0,
            _guard: KillOnDrop(Vec::new()),
        };
        // setsid execs in place (it was not a group leader), so the PID we hold is tini-rs,
        // or unshare with tini-rs as its child.
        run.tini = match mode {
            Mode::Plain => pid,
            Mode::Pid1 => only_child(pid),
        };
        run.program = only_child(run.tini);
        run._guard.0.push(run.program);
        let ready = run.wait_prefix("ready ");
        (run, ready)
    }

    /// Waits for the next line from the terminal starting with `prefix` (others, like the
    /// echo of what we typed, are skipped).
    fn wait_prefix(&mut self, prefix: &str) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.starts_with(prefix) {
                        return l;
                    }
                }
                Err(_) => panic!(
                    "no line starting with {prefix:?}; terminal output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Types `bytes` at the terminal.
    fn type_in(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    /// Waits for the process we started to exit; returns its exit code and the output.
    fn finish(mut self) -> (i32, String) {
        let end = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("did not exit; terminal output:\n{}", self.seen.join("\n"));
            }
            thread::sleep(Duration::from_millis(5));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        let text = self.seen.join("\n");
        let code = status
            .code()
            .unwrap_or_else(|| panic!("killed: {status:?}\n{text}"));
        (code, text)
    }
}

impl Drop for TtyRun {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads the pty master in a thread and hands out lines without `\r`; ends at EIO (every
/// slave descriptor closed).
fn read_lines(mut master: File) -> Receiver<String> {
    let (tx, rx) = channel();
    thread::spawn(move || {
        let mut pending: Vec<u8> = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buf[..n]);
            while let Some(i) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=i).collect();
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches(['\r', '\n'])
                    .to_string();
                if tx.send(text).is_err() {
                    return;
                }
            }
        }
        if !pending.is_empty() {
            let _ = tx.send(String::from_utf8_lossy(&pending).into_owned());
        }
    });
    rx
}

/// Fields 5 (pgrp) and 8 (tpgid, the terminal's foreground group) of /proc/PID/stat.
fn pgrp_and_tpgid(pid: i32) -> (i32, i32) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name may contain spaces: count fields after its closing parenthesis.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    (f[2].parse().unwrap(), f[5].parse().unwrap())
}

#[test]
fn the_program_is_the_foreground_group_and_ctrl_c_gives_130() {
    for mode in MODES {
        let (mut run, ready) = TtyRun::start(mode);
        assert!(ready.ends_with(" fg=1"), "{mode:?}: {ready}");
        let (pgrp, tpgid) = pgrp_and_tpgid(run.program);
        assert_eq!(
            pgrp, run.program,
            "{mode:?}: the program leads its own group"
        );
        assert_eq!(
            tpgid, pgrp,
            "{mode:?}: the terminal's foreground is the program"
        );
        run.type_in(b"\x03");
        let (code, out) = run.finish();
        assert_eq!(code, 130, "{mode:?}\n{out}");
    }
}

/// Whether `pid` exists and is not a zombie.
fn alive(pid: i32) -> bool {
    proc_status(pid, "State").is_some_and(|s| !s.starts_with('Z'))
}

/// Polls until `program` is stopped; fails at once if tini-rs exits meanwhile.
fn wait_until_stopped(program: i32, tini: i32) {
    poll_until("the program to stop", || {
        assert!(alive(tini), "tini-rs exited when its program was stopped");
        proc_status(program, "State").filter(|s| s.starts_with('T'))
    });
}

#[test]
fn ctrl_z_stops_the_program_and_sigcont_resumes_it_while_tini_keeps_running() {
    for mode in MODES {
        let (mut run, ready) = TtyRun::start(mode);
        assert!(ready.ends_with(" fg=1"), "{mode:?}: {ready}");
        let (tini, program) = (run.tini, run.program);
        run.type_in(b"\x1a");
        wait_until_stopped(program, tini);
        // tini-rs took the SIGCHLD of the stop, did not stop itself, and still has the
        // program as its child: a stopped program is not an exited one.
        wait_until_tini_is_idle(tini);
        assert!(run.child.try_wait().unwrap().is_none(), "{mode:?}");
        assert_eq!(children(tini), vec![program], "{mode:?}");
        kill(tini, SIGCONT);
        poll_until("the program to resume", || {
            proc_status(program, "State").filter(|s| !s.starts_with('T'))
        });
        run.type_in(b"hello\n");
        assert_eq!(run.wait_prefix("got "), "got hello", "{mode:?}");
        run.type_in(b"exit 5\n");
        assert_eq!(run.wait_prefix("got "), "got exit 5", "{mode:?}");
        let (code, out) = run.finish();
        assert_eq!(code, 5, "{mode:?}\n{out}");
    }
}
