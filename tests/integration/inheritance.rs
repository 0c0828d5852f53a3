//! What the program gets from tini-rs's caller, with tini-rs as a plain process and as PID 1:
//! its arguments and environment byte for byte (never through a shell); the caller's blocked
//! and ignored signals exactly (SIGPIPE included both ways: the Rust runtime would otherwise
//! leak "SIGPIPE ignored"), while tini-rs still forwards and reaps; the caller's file
//! descriptors and no others, closed ones left closed, none held by tini-rs once the program
//! runs; socket activation's `LISTEN_*`; the caller's user, groups and capabilities.
//!
//! The caller is helper.py's `stage` mode, which sets an exact signal state and fd set and
//! execs tini-rs. As PID 1 the stage runs inside the new PID namespace and execs tini-rs
//! there, so tini-rs keeps PID 1 and nothing (unshare included) stands between the stage's
//! state and tini-rs.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use crate::harness::*;

use libc::{
    SIGCHLD, SIGHUP, SIGILL, SIGINT, SIGPIPE, SIGSEGV, SIGTERM, SIGTTIN, SIGTTOU, SIGUSR1, SIGXFSZ,
};

#[test]
fn arguments_reach_the_program_byte_for_byte_and_never_through_a_shell() {
    let args: [&[u8]; 21] = [
        b"a b",
        b"",
        b"  two  spaces  ",
        b"tab\there",
        b"new\nline",
        b"*",
        b"$HOME",
        b"'\"\\",
        b"-v",
        b"--",
        b"\xff\xfe not utf-8 \x80",
        b"caf\xc3\xa9",
        b"; touch x1",
        b"$(touch x2)",
        b"`touch x3`",
        b"&& touch x4",
        b"| touch x5",
        b"> x6",
        b"a\nb",
        b"%s",
        b"",
    ];
    let d = ScratchDir::new("args");
    for mode in MODES {
        // `printf` found through the PATH search; each argument printed in brackets.
        let mut c = tini(mode, &["--", "printf", "[%s]\\n"]);
        c.args(args.iter().map(|a| OsStr::from_bytes(a)))
            .current_dir(d.path());
        let out = run(c);
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        let want: Vec<u8> = args
            .iter()
            .flat_map(|a| [b"[", *a, b"]\n"].concat())
            .collect();
        assert_eq!(out.stdout_bytes, want, "{mode:?}\n{out}");

        // The program's own argument list, in order: `zero` is the shell's $0.
        let script = "printf '%s|' \"$0\" \"$@\"";
        let out = run(tini(mode, &["sh", "-c", script, "zero", "x y", ""]));
        assert_eq!(out.stdout, "zero|x y||", "{mode:?}\n{out}");

        // A program name with shell syntax is a file name, not a command line.
        let mut c = tini(mode, &["-s", "--", "echo hi; touch x7"]);
        c.current_dir(d.path());
        let out = run(c);
        assert_eq!(out.code(), 127, "{out}");
        assert_eq!(out.stdout, "", "{out}");
        let made: Vec<_> = std::fs::read_dir(d.path()).unwrap().flatten().collect();
        assert!(made.is_empty(), "{mode:?}: files created: {made:?}");
    }
}

#[test]
fn the_environment_reaches_the_program_byte_for_byte() {
    let vars: [(&[u8], &[u8]); 10] = [
        (b"PLAIN", b"value"),
        (b"NOT_UTF8", b"\xff\xfe\x80 latin1 \xe9"),
        (b"KEY_\xff", b"non-UTF-8 name"),
        (b"BYTES", b"\xff=\x80 x"),
        (b"EMPTY", b""),
        (b"WITH_EQ", b"a=b=c"),
        (b"NEWLINE", b"line1\nline2"),
        // The program's, not tini-rs's: tini-rs stays quiet at its default level.
        (b"RUST_LOG", b"trace"),
        // tini-rs reads these and passes them on too.
        (b"TINI_VERBOSITY", b"1"),
        (b"TINI_SUBREAPER", b""),
    ];
    let set = |mut c: Command| -> Command {
        c.env_clear();
        for (k, v) in vars {
            c.env(OsStr::from_bytes(k), OsStr::from_bytes(v));
        }
        c
    };
    let direct = command(&["/usr/bin/env", "-0"]);
    let want = run(set(direct));
    assert_eq!(want.code(), 0, "{want}");
    assert!(want.stdout_bytes.windows(3).any(|w| w == b"\xff\xfe\x80"));
    for mode in MODES {
        let out = run(set(tini(mode, &["--", "/usr/bin/env", "-0"])));
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert_eq!(
            out.stdout_bytes, want.stdout_bytes,
            "{mode:?}\n{out}\nwant:\n{want}"
        );
        assert_eq!(out.stderr, "", "{mode:?}\n{out}");
    }
}

/// tini-rs started by helper.py's `stage` with `stage` options, running `program`.
fn staged(mode: Mode, stage: &[&str], program: &[&str]) -> Command {
    let mut argv = helper(&["stage"]);
    argv.extend(stage.iter().map(ToString::to_string));
    argv.extend(["--", bin(), "--"].map(String::from));
    argv.extend(program.iter().map(ToString::to_string));
    in_mode(mode, &argv)
}

fn list(sigs: &[i32]) -> String {
    sigs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A mask field of /proc/self/status as printed by the program, as signal numbers.
fn mask(out: &Output, field: &str) -> Vec<i32> {
    let hex = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in the program's output\n{out}"));
    sigset(hex)
}

/// Runs `cat /proc/self/status` under tini-rs with the caller ignoring `ignore` and blocking
/// `block`; checks the program's `SigIgn` and `SigBlk` are exactly those and the status is 0.
fn check_signal_state(mode: Mode, ignore: &[i32], block: &[i32]) {
    let stage = ["--ignore", &list(ignore), "--block", &list(block)];
    let out = run(staged(mode, &stage, &["cat", "/proc/self/status"]));
    let what = format!("{mode:?} ignore {ignore:?} block {block:?}");
    assert_eq!(out.code(), 0, "{what}\n{out}");
    let (mut ignore, mut block) = (ignore.to_vec(), block.to_vec());
    ignore.sort_unstable();
    block.sort_unstable();
    assert_eq!(mask(&out, "SigIgn"), ignore, "{what}: SigIgn\n{out}");
    assert_eq!(mask(&out, "SigBlk"), block, "{what}: SigBlk\n{out}");
    // The stage really made tini-rs PID 1 (the program's parent) or left it a plain process.
    let parent_is_pid1 = out.stdout.lines().any(|l| l == "PPid:\t1");
    assert_eq!(parent_is_pid1, mode == Mode::Pid1, "{what}\n{out}");
}

#[test]
fn the_callers_ignored_and_blocked_signals_reach_the_program_exactly() {
    for mode in MODES {
        // tini's own test: ignore TTOU, SEGV, INT; block TTIN, ILL, TERM; with SIGPIPE
        // ignored by the caller, and not ignored (the program must not see it ignored).
        check_signal_state(
            mode,
            &[SIGTTOU, SIGSEGV, SIGINT, SIGPIPE],
            &[SIGTTIN, SIGILL, SIGTERM],
        );
        check_signal_state(
            mode,
            &[SIGTTOU, SIGSEGV, SIGINT],
            &[SIGTTIN, SIGILL, SIGTERM],
        );
        // TERM blocked and ignored, CHLD ignored: what the test below starts tini-rs with.
        check_signal_state(mode, &[SIGTERM, SIGCHLD], &[SIGTERM]);
    }
}

#[test]
fn with_nothing_blocked_or_ignored_the_program_has_empty_masks() {
    for mode in MODES {
        check_signal_state(mode, &[], &[]);
    }
}

#[test]
fn ignored_sigchld_and_real_time_signals_are_passed_on_and_reaping_still_works() {
    let (rtmin, rtmax) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    for mode in MODES {
        // An ignored SIGCHLD would make the kernel reap behind tini-rs's back; it must still
        // see the program exit (status 0 here, checked inside) and hand SIG_IGN on.
        check_signal_state(
            mode,
            &[SIGCHLD, SIGHUP, SIGXFSZ, rtmin + 1],
            &[SIGUSR1, SIGPIPE, rtmax],
        );
    }
}

/// The caller blocks TERM and ignores TERM and CHLD: tini-rs still reaps an orphan of the
/// program and forwards `docker stop`'s SIGTERM.
#[test]
fn signals_the_caller_blocked_or_ignored_are_still_forwarded_and_reaped() {
    for mode in MODES {
        let mut program = vec![bin().to_string(), "-s".into(), "--".into()];
        program.extend(helper(&["orphan", "--wait-term"]));
        let mut argv = helper(&["stage", "--block", "15", "--ignore", "15,17", "--"]);
        argv.extend(program);
        let mut p = Proc::spawn(in_mode(mode, &argv));
        p.wait_prefix("orphan ");
        kill(p.tini(mode), SIGTERM);
        assert_eq!(p.next_line(), "sig 15", "{mode:?}");
        let out = p.finish();
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert_eq!(out.stderr, "", "{mode:?}\n{out}");
    }
}

/// The fds the program saw (helper.py `fds`), as (fd, target).
fn fds(out: &Output) -> Vec<(i32, String)> {
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("fds "))
        .unwrap_or_else(|| panic!("no fds line\n{out}"));
    line.split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let (fd, target) = w.split_once('=').unwrap();
            (fd.parse().unwrap(), target.to_string())
        })
        .collect()
}

fn fd_numbers(out: &Output) -> Vec<i32> {
    fds(out).into_iter().map(|(fd, _)| fd).collect()
}

/// With every fd above 2 closed by the caller, anything the program has beyond 0-2 could
/// only come from tini-rs (a terminal reopened for logging, a log file, ...); fds the caller
/// passes on do arrive.
#[test]
fn the_program_gets_the_callers_fds_and_no_others() {
    let mut argv = helper(&["stage", "--"]);
    argv.extend(helper(&["fds"]));
    let probe = run(in_mode(Mode::Plain, &argv));
    assert_eq!(
        fd_numbers(&probe),
        vec![0, 1, 2],
        "the probe itself\n{probe}"
    );
    let cases: [(Mode, &[&str]); 4] = [
        (Mode::Plain, &["-s"]),
        (Mode::Plain, &["-s", "-vvvv", "-p", "SIGTERM", "-w"]),
        (Mode::Pid1, &[]),
        (Mode::Pid1, &["-vvvv", "-t", "1s"]),
    ];
    for (mode, opts) in cases {
        let mut argv = helper(&["stage", "--", bin()]);
        argv.extend(opts.iter().map(ToString::to_string));
        argv.push("--".into());
        argv.extend(helper(&["fds"]));
        let out = run(in_mode(mode, &argv));
        assert_eq!(out.code(), 0, "{mode:?} {opts:?}\n{out}");
        assert_eq!(fd_numbers(&out), vec![0, 1, 2], "{mode:?} {opts:?}\n{out}");
    }
    for mode in MODES {
        let out = run(staged(
            mode,
            &["--keep-fd", "5", "--keep-fd", "9"],
            &helper(&["fds"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        ));
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert_eq!(fd_numbers(&out), vec![0, 1, 2, 5, 9], "{mode:?}\n{out}");
        let got = fds(&out);
        assert!(
            got.iter()
                .all(|(fd, t)| ![0, 5, 9].contains(fd) || t == "/dev/null"),
            "{mode:?}: {got:?}"
        );
    }
}

/// systemd's socket activation: `LISTEN_PID` names tini-rs, so the program is told its own
/// PID instead, with `LISTEN_FDS`, `LISTEN_FDNAMES` and descriptor 3 intact, and serves.
#[test]
fn socket_activation_reaches_the_program() {
    let dir = ScratchDir::new("socket-activation");
    let sock = dir.file("sock");
    let mut argv: Vec<String> = [
        "systemd-socket-activate",
        "-l",
        &sock,
        "--fdname=web",
        bin(),
        "--",
    ]
    .map(String::from)
    .to_vec();
    argv.extend(helper(&["socket-activated"]));
    let p = Proc::spawn(in_mode(Mode::Plain, &argv));
    let _guard = KillOnDrop::new(&[p.pid()]);
    poll_until("the socket to exist", || {
        std::fs::metadata(&sock).is_ok().then_some(())
    });
    let mut conn = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    conn.set_read_timeout(Some(deadline())).unwrap();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut conn, &mut reply).unwrap();
    assert_eq!(reply, "pid-ok True fds=1 names=web\n");
}

/// Once the program runs, tini-rs holds none of the descriptors it inherited above 2: a
/// socket passed to it (helper.py `fd9-peer` makes the pair and execs tini-rs with one end as
/// descriptor 9), which the program writes to and then closes, reaches end-of-file at the peer
/// while everything still runs.
#[test]
fn inherited_descriptors_are_not_held_by_pid1() {
    let program = "echo hello >&9; exec 9>&-; echo closed; while :; do sleep 0.05; done";
    for mode in MODES {
        let argv = helper(&["fd9-peer", "--", bin(), "--", "sh", "-c", program]);
        let mut p = Proc::spawn(in_mode(mode, &argv));
        let seen = p.wait_line(|l| l.contains("eof after"));
        kill(p.tini(mode), libc::SIGTERM);
        let out = p.finish();
        assert_eq!(seen, "eof after hello", "{mode:?}\n{out}");
        assert_eq!(out.code(), 143, "{mode:?}\n{out}");
    }
}

/// tini-rs started with `fds` closed by a shell, running `program` (`-vvvv` when `verbose`).
fn with_closed(mode: Mode, fds: &[u8], verbose: bool, program: &[&str]) -> Output {
    let closes = fds
        .iter()
        .fold(String::new(), |s, f| s + &format!("exec {f}>&-; "));
    let mut args = vec!["-s"];
    if verbose {
        args.push("-vvvv");
    }
    args.push("--");
    args.extend_from_slice(program);
    let script = format!("{closes}exec \"$@\"");
    run(wrap(&["/bin/sh", "-c", &script, "sh"], &tini(mode, &args)))
}

/// stdin, stdout or stderr closed by the caller: tini-rs neither reopens them (Rust's runtime
/// would put /dev/null there) nor puts its own files there, and the status comes through.
#[test]
fn closed_stdio_stays_closed_and_the_status_propagates() {
    // Exits 50+N if fd N (of those listed in $0) is open, else 7.
    let check = "for fd in $0; do [ -e /proc/$$/fd/$fd ] && exit $((50+fd)); done; exit 7";
    for mode in MODES {
        for fds in [&[0u8][..], &[1], &[2], &[0, 1, 2]] {
            let list: Vec<String> = fds.iter().map(u8::to_string).collect();
            let list = list.join(" ");
            for verbose in [false, true] {
                let out = with_closed(mode, fds, verbose, &["sh", "-c", check, &list]);
                assert_eq!(
                    out.code(),
                    7,
                    "{mode:?} closed {fds:?} -vvvv {verbose}\n{out}"
                );
            }
        }
        // The program's whole fd list with stdin closed (and nothing above 2 open in the
        // caller): exactly 1 and 2.
        let fds_prog = helper(&["fds"]);
        let fds_prog: Vec<&str> = fds_prog.iter().map(String::as_str).collect();
        let out = run(staged(mode, &["--close-stdin"], &fds_prog));
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert_eq!(fd_numbers(&out), vec![1, 2], "{mode:?}\n{out}");
    }
}

/// The identity and privilege lines of /proc/self/status as the program sees them.
fn identity(out: &Output) -> Vec<String> {
    const FIELDS: [&str; 11] = [
        "Uid:",
        "Gid:",
        "Groups:",
        "CapInh:",
        "CapPrm:",
        "CapEff:",
        "CapBnd:",
        "CapAmb:",
        "NoNewPrivs:",
        "Seccomp:",
        "Umask:",
    ];
    let v: Vec<String> = out
        .stdout
        .lines()
        .filter(|l| FIELDS.iter().any(|f| l.starts_with(f)))
        .map(str::to_string)
        .collect();
    assert!(v.len() >= 10, "{out}");
    v
}

/// The program runs with the caller's user, groups and capabilities (also as a non-root
/// user, and with a reduced bounding set): tini-rs changes none of them.
#[test]
fn no_change_of_user_groups_or_capabilities() {
    let p = public();
    // (wrapper that sets the caller's identity, modes it can run in)
    let setups: [(&[&str], &[Mode]); 3] = [
        (&[], &MODES),
        (
            &["setpriv", "--bounding-set=-net_raw,-sys_ptrace", "--"],
            &MODES,
        ),
        (
            &[
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
            ],
            &[Mode::Plain],
        ),
    ];
    let with = |wrapper: &[&str], cmd: Command| match wrapper {
        [] => cmd,
        _ => wrap(wrapper, &cmd),
    };
    for (wrapper, modes) in setups {
        let direct = command(&["cat", "/proc/self/status"]);
        let direct = run(with(wrapper, direct));
        assert_eq!(direct.code(), 0, "{direct}");
        let want = identity(&direct);
        for &mode in modes {
            let mut argv = vec![p.bin.as_str()];
            if mode == Mode::Plain {
                argv.push("-s");
            }
            argv.extend(["--", "cat", "/proc/self/status"]);
            let out = run(with(wrapper, in_mode(mode, &argv)));
            assert_eq!(out.code(), 0, "{wrapper:?} {mode:?}\n{out}");
            assert_eq!(identity(&out), want, "{wrapper:?} {mode:?}");
        }
    }
}
