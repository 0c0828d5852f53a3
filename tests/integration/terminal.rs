//! tini-rs at a terminal, as a plain process and as PID 1: the program is the foreground
//! process group of the controlling terminal, so Ctrl-C (`\x03` written to the pty master)
//! ends it and tini-rs exits 130; Ctrl-Z (`\x1a`) stops it, tini-rs keeps running (and does
//! not take the stopped program for an exited one), SIGCONT sent to tini-rs resumes it, and
//! tini-rs exits with the program's status when it ends.
//!
//! The pty is opened close-on-exec (other tests spawn processes at the same time and must
//! not hold it open); util-linux `setsid --ctty` makes its slave the controlling terminal and
//! stdin/stdout/stderr of tini-rs (or of unshare, whose child tini-rs is, as PID 1). The
//! program is helper.py's `jobprog`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::Stdio;

use nix::fcntl::OFlag;

use crate::harness::*;

/// tini-rs (or unshare with tini-rs) in a new session whose controlling terminal is a pty.
struct TtyRun {
    p: Proc,
    master: File,
    tini: i32,
    program: i32,
    _guard: KillOnDrop,
}

impl TtyRun {
    /// Starts `tini-rs -- helper.py jobprog` at a new pty and waits for the program's `ready`
    /// line; returns it too.
    fn start(mode: Mode) -> (TtyRun, String) {
        let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let master = nix::pty::posix_openpt(flags).unwrap();
        nix::pty::grantpt(&master).unwrap();
        nix::pty::unlockpt(&master).unwrap();
        let slave_path = nix::pty::ptsname_r(&master).unwrap();
        // std opens with O_CLOEXEC.
        let slave = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&slave_path)
            .unwrap();
        let master = File::from(std::os::fd::OwnedFd::from(master));
        let mut argv = vec!["--".to_string()];
        argv.extend(helper(&["jobprog"]));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let mut cmd = wrap(&["setsid", "--ctty"], &tini(mode, &argv));
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // Our copies of the slave go with `cmd` (consumed here), so the master sees EOF (EIO)
        // once every process of the session has closed it.
        let mut p = Proc::spawn_reading(cmd, master.try_clone().unwrap());
        // setsid execs in place (it was not a group leader), so the PID we hold is tini-rs,
        // or unshare with tini-rs as its child.
        let tini = p.tini(mode);
        let program = only_child(tini);
        let guard = KillOnDrop::new(&[program]);
        let ready = p.wait_prefix("ready ");
        let run = TtyRun {
            p,
            master,
            tini,
            program,
            _guard: guard,
        };
        (run, ready)
    }

    /// Types `bytes` at the terminal.
    fn type_in(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }
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
        let out = run.p.finish();
        assert_eq!(out.code(), 130, "{mode:?}\n{out}");
    }
}

#[test]
fn ctrl_z_stops_the_program_and_sigcont_resumes_it_while_tini_keeps_running() {
    for mode in MODES {
        let (mut run, ready) = TtyRun::start(mode);
        assert!(ready.ends_with(" fg=1"), "{mode:?}: {ready}");
        let (tini, program) = (run.tini, run.program);
        run.type_in(b"\x1a");
        poll_until("the program to stop", || {
            assert!(alive(tini), "tini-rs exited when its program was stopped");
            stopped(program).then_some(())
        });
        // tini-rs took the SIGCHLD of the stop, did not stop itself, and still has the
        // program as its child: a stopped program is not an exited one.
        wait_until_tini_is_idle(tini);
        assert!(run.p.try_status().is_none(), "{mode:?}");
        assert_eq!(children(tini), vec![program], "{mode:?}");
        kill(tini, libc::SIGCONT);
        poll_until("the program to resume", || {
            (!stopped(program)).then_some(())
        });
        run.type_in(b"hello\n");
        assert_eq!(run.p.wait_prefix("got "), "got hello", "{mode:?}");
        run.type_in(b"exit 5\n");
        assert_eq!(run.p.wait_prefix("got "), "got exit 5", "{mode:?}");
        let out = run.p.finish();
        assert_eq!(out.code(), 5, "{mode:?}\n{out}");
    }
}
