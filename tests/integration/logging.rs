//! What tini-rs says, and where: not PID 1, it makes itself a subreaper quietly (an info
//! line), so the not-PID-1 warning never shows when the kernel agrees; the `-v`
//! levels and `TINI_VERBOSITY` (read as tini reads it; `-v` wins), each level adding output,
//! and the `[LEVEL tini-rs (PID)] message` line format on stderr, never stdout, whatever
//! stderr is (file, FIFO, socket, terminal, /dev/null).

use crate::harness::*;

const WARNING: &str = "zombie reaping won't work";
const SUBREAPER: &str = "registered as a child subreaper";

/// Runs `cmd` and returns its output and its PID (tini-rs's PID when plain).
fn run_with_pid(mut cmd: std::process::Command) -> (Output, i32) {
    cmd.stdin(std::process::Stdio::null());
    let p = Proc::spawn(cmd);
    let pid = p.pid();
    (p.finish(), pid)
}

/// Not PID 1: tini-rs registers as a child subreaper by itself; at the default verbosity it
/// says nothing (no warning: reaping works), at -v one info line.
#[test]
fn not_pid1_becomes_a_subreaper_quietly() {
    let out = run(tini(Mode::Plain, &["--", "sh", "-c", "exit 3"]));
    assert_eq!(out.code(), 3, "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(out.stderr, "", "{out}");
    let (out, pid) = run_with_pid(tini(Mode::Plain, &["-v", "--", "sh", "-c", "exit 3"]));
    let lines = log_lines(&out.stderr, pid);
    assert_is_the_registration(lines[0], pid, &out);
    assert!(!out.stderr.contains(WARNING), "{out}");
}

/// `line` is the info line of tini-rs with PID `pid` that says it made itself a subreaper.
fn assert_is_the_registration(line: &str, pid: i32, out: &Output) {
    let head = format!("[INFO  tini-rs ({pid})] ");
    assert!(line.starts_with(&head) && line.contains(SUBREAPER), "{out}");
}

#[test]
fn no_warning_as_subreaper_or_pid1() {
    type Case<'a> = (Mode, &'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (Mode::Plain, &["-s"], &[]),
        (Mode::Plain, &[], &[("TINI_SUBREAPER", "")]),
        (Mode::Plain, &[], &[("TINI_SUBREAPER", "0")]),
        (Mode::Pid1, &[], &[]),
        (Mode::Pid1, &["-s"], &[]),
    ];
    for (mode, args, env) in cases {
        let mut all: Vec<&str> = args.to_vec();
        // Exit 3: the program ran (a binary that runs nothing and exits 0 fails here).
        all.extend(["--", "sh", "-c", "exit 3"]);
        let mut cmd = tini(*mode, &all);
        cmd.envs(env.iter().copied());
        let out = run(cmd);
        assert_eq!(out.code(), 3, "{mode:?} {args:?} {env:?}\n{out}");
        assert_eq!(out.stderr, "", "{mode:?} {args:?} {env:?}\n{out}");
    }
}

/// The subreaper attribute survives exec: a wrapper that set it and then exec'd tini-rs
/// makes tini-rs a working reaper, which it sees (no registration of its own); without it,
/// tini-rs registers itself. Never the "zombie reaping won't work" warning.
#[test]
fn inherited_subreaper_is_seen() {
    for (set, registers) in [("set", false), ("unset", true)] {
        let argv = helper(&["subreaper", set, "--", bin(), "-v", "--", "true"]);
        let out = run(in_mode(Mode::Plain, &argv));
        assert_eq!(out.code(), 0, "{out}");
        assert_eq!(out.stderr.contains(SUBREAPER), registers, "{set}: {out}");
        assert!(!out.stderr.contains(WARNING), "{out}");
    }
}

/// tini-rs under tini-rs (`docker run --init` with an image whose ENTRYPOINT is an init): the
/// inner one is never PID 1 and registers as a subreaper by itself, so neither warns, and
/// neither says anything else.
#[test]
fn tini_rs_under_tini_rs_never_warns() {
    let program = helper(&["sigrecv", "--exit-on", "15"]);
    // (mode of the outer one, outer options, inner options, expected warnings)
    let table: [(Mode, &[&str], &[&str], usize); 5] = [
        (Mode::Pid1, &[], &[], 0),
        (Mode::Pid1, &[], &["-s"], 0),
        (Mode::Plain, &["-s"], &[], 0),
        (Mode::Plain, &["-s"], &["-s"], 0),
        (Mode::Plain, &[], &["-s"], 0),
    ];
    for (mode, outer, inner, warnings) in table {
        let mut args: Vec<&str> = outer.to_vec();
        args.extend(["--", bin()]);
        args.extend_from_slice(inner);
        args.push("--");
        args.extend(program.iter().map(String::as_str));
        let mut c = tini(mode, &args);
        c.stdin(std::process::Stdio::null());
        let mut p = Proc::spawn(c);
        p.wait_prefix("ready");
        kill(p.tini(mode), libc::SIGTERM);
        p.wait_line(|l| l == "sig 15");
        let out = p.finish();
        let what = format!("{mode:?} outer {outer:?} inner {inner:?}");
        assert_eq!(out.code(), 0, "{what}\n{out}");
        assert_eq!(count(&out.stderr, WARNING), warnings, "{what}\n{out}");
        assert_eq!(count(&out.stderr, "tini-rs"), warnings, "{what}\n{out}");
        if mode == Mode::Pid1 {
            assert!(
                !out.stderr.contains("tini-rs (1)]"),
                "PID 1 never warns\n{out}"
            );
        }
    }
}

/// Runs `sh -c 'echo out; exit 3'` with `args` as PID 1; returns stderr (checked for
/// format) after checking the status and that nothing but the program's output is on stdout.
fn pid1_stderr(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--", "sh", "-c", "echo out; exit 3"]);
    let mut cmd = tini(Mode::Pid1, &all);
    cmd.envs(env.iter().copied());
    let out = run(cmd);
    assert_eq!(out.code(), 3, "{args:?} {env:?}\n{out}");
    assert_eq!(out.stdout, "out\n", "{args:?} {env:?}\n{out}");
    log_lines(&out.stderr, 1);
    out.stderr
}

const SPAWNED: &str = "] Spawned child process";
const EXITED: &str = "] Main child exited normally (with status '3')";
const SIGCHLD: &str = "] Received SIGCHLD";

#[test]
fn verbosity_levels() {
    // Default: warnings only, and as PID 1 there is nothing to warn about.
    assert_eq!(pid1_stderr(&[], &[]), "");
    // -v: info.
    for e in [
        pid1_stderr(&["-v"], &[]),
        pid1_stderr(&[], &[("TINI_VERBOSITY", "2")]),
    ] {
        assert!(
            e.contains(&format!("[INFO  tini-rs (1){SPAWNED} 'sh'")),
            "{e}"
        );
        assert!(e.contains(&format!("[INFO  tini-rs (1){EXITED}")), "{e}");
        assert!(!e.contains("[DEBUG") && !e.contains(SIGCHLD), "{e}");
    }
    // -vv: debug.
    for e in [
        pid1_stderr(&["-vv"], &[]),
        pid1_stderr(&["-v", "-v"], &[]),
        pid1_stderr(&[], &[("TINI_VERBOSITY", "3")]),
    ] {
        assert!(e.contains(SPAWNED) && e.contains(EXITED), "{e}");
        assert!(e.contains(&format!("[DEBUG tini-rs (1){SIGCHLD}")), "{e}");
        assert!(!e.contains("[TRACE"), "{e}");
    }
    // -vvv and beyond: everything above still shows.
    for e in [pid1_stderr(&["-vvv"], &[]), pid1_stderr(&["-vvvv"], &[])] {
        assert!(e.contains(SPAWNED) && e.contains(EXITED), "{e}");
        assert!(e.contains(SIGCHLD), "{e}");
    }
}

#[test]
fn signal_exit_is_logged_at_info() {
    let out = run(tini(
        Mode::Pid1,
        &["-v", "--", "sh", "-c", "kill -TERM $$; sleep 5"],
    ));
    assert_eq!(out.code(), 143, "{out}");
    let lines = log_lines(&out.stderr, 1);
    assert!(
        lines.iter().any(
            |l| l.starts_with("[INFO  tini-rs (1)] Main child exited with signal")
                && l.contains("SIGTERM")
        ),
        "{out}"
    );
}

/// `TINI_VERBOSITY` sets the level unless `-v` is given (the command line wins). It is read as
/// tini reads it (atoi): a value that is not a number means 0 (errors only), so an image that
/// sets `TINI_VERBOSITY=` still starts, with no warning; errors still show at 0.
#[test]
fn tini_verbosity_sets_the_level_unless_v_is_given() {
    for value in ["0", "", "loud", "-1"] {
        let mut cmd = tini(Mode::Plain, &["--", "sh", "-c", "exit 3"]);
        cmd.env("TINI_VERBOSITY", value);
        let out = run(cmd);
        assert_eq!(out.code(), 3, "{value:?}\n{out}");
        assert_eq!(
            out.stderr, "",
            "{value:?}: the not-PID-1 warning hidden\n{out}"
        );
        // -vvv beats the variable.
        let mut cmd = tini(Mode::Plain, &["-vvv", "--", "sh", "-c", "exit 3"]);
        cmd.env("TINI_VERBOSITY", value);
        let out = run(cmd);
        assert_eq!(out.code(), 3, "{value:?}\n{out}");
        assert!(out.stderr.contains("[DEBUG "), "{value:?}\n{out}");
    }
    let mut cmd = tini(Mode::Plain, &["--", "/nonexistent/tini-rs-test"]);
    cmd.env("TINI_VERBOSITY", "0");
    let (out, pid) = run_with_pid(cmd);
    assert_eq!(out.code(), 127, "{out}");
    let lines = log_lines(&out.stderr, pid);
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].starts_with("[ERROR"), "{out}");
}

#[test]
fn log_lines_go_to_stderr_only_with_the_right_pid() {
    for mode in MODES {
        let (out, pid) = run_with_pid(tini(
            mode,
            &["-vvvv", "-w", "--", "sh", "-c", "echo out; exit 3"],
        ));
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        assert_eq!(out.stdout, "out\n", "{mode:?}\n{out}");
        let pid = if mode == Mode::Pid1 { 1 } else { pid };
        let lines = log_lines(&out.stderr, pid);
        assert!(lines.len() >= 3, "{mode:?}\n{out}");
        if mode == Mode::Plain {
            assert_is_the_registration(lines[0], pid, &out);
        }
    }
}

/// Each `-v` adds output: -v INFO, -vv DEBUG, -vvv TRACE lines (the subreaper registration,
/// drains that found nothing) that -vv does not show; `TINI_VERBOSITY=4` is -vvv.
#[test]
fn each_v_adds_output() {
    let tags = ["[WARN ", "[INFO ", "[DEBUG ", "[TRACE "];
    for mode in MODES {
        let mut last = 0;
        for (i, v) in ["", "-v", "-vv", "-vvv"].into_iter().enumerate() {
            let level: &[&str] = if v.is_empty() { &[] } else { &[v] };
            let args = [&["-s"], level, &["--", "sh", "-c", "exit 0"]].concat();
            let out = run(tini(mode, &args));
            assert_eq!(out.code(), 0, "{mode:?} {v}\n{out}");
            let n = out.stderr.lines().count();
            assert!(n > last || i == 0, "{mode:?} {v} adds nothing\n{out}");
            if i > 0 {
                assert!(out.stderr.contains(tags[i]), "{mode:?} {v}\n{out}");
            }
            if let Some(next) = tags.get(i + 1) {
                assert!(!out.stderr.contains(next), "{mode:?} {v}\n{out}");
            }
            last = n;
        }
        let mut c = tini(mode, &["-s", "--", "sh", "-c", "exit 0"]);
        c.env("TINI_VERBOSITY", "4");
        let out = run(c);
        assert!(out.stderr.contains("[TRACE "), "{mode:?}\n{out}");
    }
}

/// Log lines still arrive whatever stderr is: a file (appended to where the program writes),
/// a FIFO, a socket, a terminal; with /dev/null nothing breaks.
#[test]
fn log_lines_reach_every_kind_of_stderr() {
    use std::io::Read;
    use std::process::Stdio;
    let dir = ScratchDir::new("stderr-kinds");
    let want = "Spawned child process 'sh'";
    // tini-rs with `args` and `stderr`, run to the end (within the deadline): its status.
    let status = |mode: Mode, args: &[&str], stderr: Stdio| {
        let mut c = tini(mode, args);
        c.stdin(Stdio::null());
        Proc::spawn_with_stderr(c, Some(stderr))
            .finish()
            .status
            .code()
    };
    for mode in MODES {
        // A regular file, shared with the program: both lines are there, none overwritten.
        let path = dir.file("log");
        std::fs::write(&path, "").unwrap();
        let f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let args = ["-v", "--", "sh", "-c", "echo from-program >&2; exit 3"];
        assert_eq!(status(mode, &args, f.into()), Some(3), "{mode:?}");
        let text = read_text(&path);
        assert!(
            text.contains(want) && text.contains("from-program\n"),
            "{text}"
        );
        // /dev/null.
        let args = ["-vvv", "--", "sh", "-c", "exit 4"];
        assert_eq!(status(mode, &args, Stdio::null()), Some(4), "{mode:?}");
        // A socket.
        let (mut mine, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let args = ["-v", "--", "sh", "-c", "exit 5"];
        let theirs = std::os::fd::OwnedFd::from(theirs);
        assert_eq!(status(mode, &args, theirs.into()), Some(5), "{mode:?}");
        let mut got = String::new();
        mine.read_to_string(&mut got).unwrap();
        assert!(got.contains(want), "{mode:?} socket: {got:?}");
        // A FIFO.
        let fifo = dir.file("fifo");
        let _ = std::fs::remove_file(&fifo);
        let mk = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(mk.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        let w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        let args = ["-v", "--", "sh", "-c", "exit 6"];
        assert_eq!(status(mode, &args, w.into()), Some(6), "{mode:?}");
        let got = reader.join().unwrap();
        assert!(got.contains(want), "{mode:?} FIFO: {got:?}");
    }
    // A terminal: `script` gives tini-rs a pseudo-terminal as its stdio.
    let line = format!("{} -v -- sh -c 'exit 7'", bin());
    let out = run(in_mode(
        Mode::Plain,
        &["script", "-qec", &line, "/dev/null"],
    ));
    assert_eq!(out.code(), 7, "{out}");
    assert!(out.stdout.contains(want), "terminal:\n{out}");
}

/// A stderr pipe of another user's (a container running as non-root): log lines written
/// after the program started still arrive (moved there with a non-blocking splice), as PID
/// 1 and plain.
#[test]
fn log_lines_reach_a_pipe_of_another_user() {
    for mode in MODES {
        let argv = [&AS_NOBODY[..], &[bin(), "-v", "--", "sh", "-c", "exit 3"]].concat();
        let out = run(in_mode(mode, &argv));
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        assert!(
            out.stderr
                .contains("Main child exited normally (with status '3')"),
            "{mode:?}: the line after the spawn is lost\n{out}"
        );
    }
}

/// Through a pipe of another user's, lines keep coming as long as the reader keeps up:
/// tini-rs forgets the spliced lines it has seen read (at most four may be unread at a
/// time). tini-rs's stderr is the stdout pipe the test reads; each forwarded SIGUSR1's line
/// is waited for before the next signal.
#[test]
fn spliced_lines_keep_coming_while_the_reader_reads() {
    let program = "trap '' USR1; echo ready; while :; do sleep 0.05; done";
    for mode in MODES {
        let argv = [
            &AS_NOBODY[..],
            &["sh", "-c", "exec \"$@\" 2>&1", "sh", bin(), "-vv", "--"],
            &["sh", "-c", program],
        ]
        .concat();
        let mut p = Proc::spawn(in_mode(mode, &argv));
        p.wait_prefix("ready");
        let t = p.tini(mode);
        for round in 0..8 {
            kill(t, libc::SIGUSR1);
            let line = p.wait_line(|l| l.contains("Passing signal") && l.contains("USR1"));
            assert!(line.contains("tini-rs"), "{mode:?} round {round}: {line}");
        }
        kill(t, libc::SIGTERM);
        let out = p.finish();
        assert_eq!(out.code(), 128 + 15, "{mode:?}\n{out}");
    }
}

/// `cmd` (run as nobody by `AS_NOBODY`) in a new session whose controlling terminal and
/// stdio are a pty that root owns (mode 620, as a `docker run -t` terminal is to a container
/// whose user is not root): its status and what the terminal showed.
fn at_roots_terminal(cmd: &std::process::Command) -> Output {
    use std::os::unix::fs::OpenOptionsExt;
    use std::process::Stdio;
    let flags =
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_NOCTTY | nix::fcntl::OFlag::O_CLOEXEC;
    let master = nix::pty::posix_openpt(flags).unwrap();
    nix::pty::grantpt(&master).unwrap();
    nix::pty::unlockpt(&master).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(nix::pty::ptsname_r(&master).unwrap())
        .unwrap();
    let mut c = wrap(&["setsid", "--ctty"], cmd);
    c.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // Our copies of the slave go with `c` (consumed here), so reading the master ends (EIO)
    // when the session's last process closes it.
    let master = std::fs::File::from(std::os::fd::OwnedFd::from(master));
    Proc::spawn_reading(c, master).finish()
}

/// A non-root tini-rs on root's terminal (`gosu`/`su-exec` under `docker run -t`): it cannot
/// open the terminal anew, so it writes through /dev/tty, its controlling terminal, which
/// is the very device on its stderr. tini-static prints the exec failure there; so does
/// tini-rs, and its own lines after it as well.
#[test]
fn log_lines_reach_a_terminal_of_roots() {
    let tini_static = [
        &AS_NOBODY[..],
        &[reference_tini(), "--", "/nonexistent-prog"],
    ]
    .concat();
    let out = at_roots_terminal(&in_mode(Mode::Plain, &tini_static));
    assert_eq!(out.code(), 127, "tini-static\n{out}");
    assert!(
        out.stdout.contains("exec /nonexistent-prog failed"),
        "tini-static\n{out}"
    );
    for mode in MODES {
        let argv = [&AS_NOBODY[..], &[bin(), "-v", "--", "/nonexistent-prog"]].concat();
        let out = at_roots_terminal(&in_mode(mode, &argv));
        assert_eq!(out.code(), 127, "{mode:?}\n{out}");
        assert!(
            out.stdout.contains("exec /nonexistent-prog failed"),
            "{mode:?}\n{out}"
        );
        assert!(
            out.stdout
                .contains("Main child exited normally (with status '127')"),
            "{mode:?}: the line of tini-rs itself is lost\n{out}"
        );
    }
}

/// `/bin/` + `./` as often as needed for a path of at least `len` bytes + `prog`: a long
/// name for a short program.
fn long_path(len: usize, prog: &str) -> String {
    let mut path = String::from("/bin/");
    while path.len() < len {
        path.push_str("./");
    }
    path + prog
}

/// A log line longer than 4096 bytes (`-vv` with a long program path) keeps its newline: the
/// program's next output starts a line of its own, and so does the next log line, here the
/// 5000-byte exec-failure line (its path is beyond `PATH_MAX`).
#[test]
fn a_long_log_line_keeps_its_newline() {
    for mode in MODES {
        let path = long_path(4040, "sh");
        let (out, pid) = run_with_pid(tini(
            mode,
            &["-vv", "--", &path, "-c", "echo after >&2; exit 3"],
        ));
        assert_eq!(out.code(), 3, "{mode:?}\n{out}");
        let pid = if mode == Mode::Pid1 { 1 } else { pid };
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert!(lines.contains(&"after"), "{mode:?}: glued\n{out}");
        let others: Vec<&str> = lines.iter().copied().filter(|l| *l != "after").collect();
        let others = others.join("\n");
        let logged = log_lines(&others, pid);
        assert!(
            logged.iter().any(|l| l.contains(SPAWNED)),
            "{mode:?}\n{out}"
        );
        let path = long_path(4990, "sh");
        let (out, pid) = run_with_pid(tini(mode, &["-vv", "--", &path]));
        assert_eq!(out.code(), 1, "{mode:?}\n{out}");
        let pid = if mode == Mode::Pid1 { 1 } else { pid };
        let lines = log_lines(&out.stderr, pid);
        let failed = format!("exec {path} failed: File name too long");
        assert!(
            lines.iter().any(|l| l.ends_with(&failed)),
            "{mode:?}\n{out}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("Main child exited normally")),
            "{mode:?}\n{out}"
        );
    }
}
