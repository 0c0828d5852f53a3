//! Issue 7, items 7 and 8. Security: the program receives no file descriptor opened by
//! tini-rs, its arguments never go through a shell, it runs with the caller's user, groups
//! and capabilities (also as a non-root user), and gets the environment byte for byte,
//! including bytes that are not UTF-8. No panics by construction: the lints and the release
//! profile that make a panic impossible to miss are in place.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;
#[path = "helpers/reliability.rs"]
mod rel;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;
use std::time::Duration;

use common::*;
use rel::{RawOutput, TempDir, public, py_args, run_bytes};

const LIMIT: Duration = Duration::from_secs(60);

fn strip_tini(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TINI_") {
            cmd.env_remove(k);
        }
    }
}

#[test]
fn program_gets_no_fd_opened_by_tini_rs() {
    // Everything above 2 is closed first, so what the program sees beyond 0-2 could only
    // come from tini-rs (a terminal reopened for logging, a log file, ...).
    let closefds = py_args("closefds", &["--"]);
    let fdlist = py_args("fdlist", &[]);
    let direct = {
        let mut v = closefds.clone();
        v.extend(fdlist.iter().cloned());
        v
    };
    let mut c = Command::new(&direct[0]);
    c.args(&direct[1..]);
    let base = run_bytes(c, LIMIT);
    assert_eq!(base.out(), "0 1 2\n", "{base}");
    let cases: [(Mode, &[&str]); 4] = [
        (Mode::Plain, &["-s"]),
        (Mode::Plain, &["-s", "-vvvv", "-p", "SIGTERM", "-w"]),
        (Mode::Pid1, &[]),
        (Mode::Pid1, &["-vvvv", "-t", "1s"]),
    ];
    for (mode, opts) in cases {
        let mut args: Vec<&str> = opts.to_vec();
        args.push("--");
        args.extend(fdlist.iter().map(String::as_str));
        let inner = tini(mode, &args);
        let mut c = Command::new(&closefds[0]);
        c.args(&closefds[1..])
            .arg(inner.get_program())
            .args(inner.get_args());
        strip_tini(&mut c);
        let out = run_bytes(c, LIMIT);
        assert_eq!(out.code(), Some(0), "{mode:?} {opts:?}\n{out}");
        assert_eq!(out.out(), "0 1 2\n", "{mode:?} {opts:?}\n{out}");
    }
}

#[test]
fn arguments_never_go_through_a_shell() {
    let d = TempDir::new("noshell");
    let args = [
        "; touch x1",
        "$(touch x2)",
        "`touch x3`",
        "&& touch x4",
        "| touch x5",
        "*",
        "$HOME",
        "a\nb",
        "",
    ];
    for mode in MODES {
        let mut all = vec!["-s", "--", "printf", "[%s]\\n"];
        all.extend(args);
        let mut c = tini(mode, &all);
        c.current_dir(&d.0);
        let out = run_bytes(c, LIMIT);
        assert_eq!(out.code(), Some(0), "{out}");
        let want: String = args.iter().map(|a| format!("[{a}]\n")).collect();
        assert_eq!(out.out(), want, "{mode:?}\n{out}");
        // A program name with shell syntax is a file name, not a command line.
        let mut c = tini(mode, &["-s", "--", "echo hi; touch x6"]);
        c.current_dir(&d.0);
        let out = run_bytes(c, LIMIT);
        assert_eq!(out.code(), Some(127), "{out}");
        assert_eq!(out.out(), "", "{out}");
        let made: Vec<_> = std::fs::read_dir(&d.0).unwrap().flatten().collect();
        assert!(made.is_empty(), "{mode:?}: files created: {made:?}");
    }
}

/// The identity and privilege lines of /proc/self/status as the program sees them.
fn identity(out: &RawOutput) -> Vec<String> {
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
        .out()
        .lines()
        .filter(|l| FIELDS.iter().any(|f| l.starts_with(f)))
        .map(str::to_string)
        .collect();
    assert!(v.len() >= 10, "{out}");
    v
}

#[test]
fn no_change_of_user_groups_or_capabilities() {
    let p = public();
    // (wrapper that sets the caller's identity, modes it can run in)
    let setups: [(&[&str], &[Mode]); 3] = [
        (&[], &[Mode::Plain, Mode::Pid1]),
        (
            &["setpriv", "--bounding-set=-net_raw,-sys_ptrace", "--"],
            &[Mode::Plain, Mode::Pid1],
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
    let mut compared = 0;
    for (wrapper, modes) in setups {
        let cmd = |rest: &[&str]| -> Command {
            let all: Vec<&str> = wrapper.iter().chain(rest).copied().collect();
            let mut c = Command::new(all[0]);
            c.args(&all[1..]);
            strip_tini(&mut c);
            c
        };
        let direct = run_bytes(cmd(&["cat", "/proc/self/status"]), LIMIT);
        assert_eq!(direct.code(), Some(0), "{direct}");
        let want = identity(&direct);
        for mode in modes {
            let out = match mode {
                Mode::Plain => run_bytes(
                    cmd(&[&p.bin, "-s", "--", "cat", "/proc/self/status"]),
                    LIMIT,
                ),
                Mode::Pid1 => run_bytes(
                    cmd(&[
                        "unshare",
                        "--pid",
                        "--fork",
                        "--mount-proc",
                        "--kill-child",
                        "--",
                        &p.bin,
                        "--",
                        "cat",
                        "/proc/self/status",
                    ]),
                    LIMIT,
                ),
            };
            assert_eq!(out.code(), Some(0), "{wrapper:?} {mode:?}\n{out}");
            assert_eq!(identity(&out), want, "{wrapper:?} {mode:?}");
            compared += 1;
        }
        if wrapper.is_empty() {
            eprintln!("as root: {want:?}");
        }
    }
    eprintln!(
        "identity unchanged in {compared} comparisons (root, reduced bounding set, uid 65534)"
    );
}

#[test]
fn environment_passed_verbatim_including_non_utf8() {
    let vars: [(&[u8], &[u8]); 8] = [
        (b"PLAIN", b"value"),
        (b"NOT_UTF8", b"\xff\xfe\x80 latin1 \xe9"),
        (b"KEY_\xff", b"non-UTF-8 name"),
        (b"EMPTY", b""),
        (b"WITH_EQ", b"a=b=c"),
        (b"RUST_LOG", b"trace"),
        (b"NEWLINE", b"line1\nline2"),
        (b"TINI_SUBREAPER", b""),
    ];
    let set = |c: &mut Command| {
        c.env_clear();
        for (k, v) in vars {
            c.env(OsStr::from_bytes(k), OsStr::from_bytes(v));
        }
    };
    let mut direct = Command::new("/usr/bin/env");
    direct.arg("-0");
    set(&mut direct);
    let want = run_bytes(direct, LIMIT);
    assert_eq!(want.code(), Some(0), "{want}");
    assert!(want.stdout.windows(3).any(|w| w == b"\xff\xfe\x80"));
    for mode in MODES {
        let inner = tini(mode, &["--", "/usr/bin/env", "-0"]);
        let prog = match mode {
            Mode::Plain => bin().to_string(),
            Mode::Pid1 => "/usr/bin/unshare".to_string(),
        };
        let mut c = Command::new(prog);
        c.args(inner.get_args());
        set(&mut c);
        let out = run_bytes(c, LIMIT);
        assert_eq!(out.code(), Some(0), "{mode:?}\n{out}");
        assert_eq!(out.stdout, want.stdout, "{mode:?}\n{out}\nwant:\n{want}");
        // RUST_LOG=trace belongs to the program: tini-rs stays quiet.
        assert_eq!(out.err(), "", "{mode:?}\n{out}");
    }
}

/// Item 7: the lints that forbid panicking constructs outside tests and the release
/// profile's `panic = "abort"` are in Cargo.toml (clippy, run in CI with `-D warnings`,
/// enforces the former; the latter turns any panic into a crash that tests would see).
#[test]
fn no_panics_by_construction_settings() {
    let toml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let section = |name: &str| -> Vec<String> {
        let head = format!("[{name}]");
        toml.lines()
            .skip_while(|l| l.trim() != head)
            .skip(1)
            .take_while(|l| !l.trim_start().starts_with('['))
            .map(|l| l.split_whitespace().collect::<String>())
            .collect()
    };
    let release = section("profile.release");
    assert!(
        release.contains(&"panic=\"abort\"".to_string()),
        "{release:?}"
    );
    let clippy = section("lints.clippy");
    for lint in ["unwrap_used", "expect_used", "panic", "indexing_slicing"] {
        assert!(
            clippy.contains(&format!("{lint}=\"deny\"")),
            "{lint} not denied: {clippy:?}"
        );
    }
    let rust = section("lints.rust");
    assert!(
        rust.contains(&"unsafe_code=\"deny\"".to_string()),
        "{rust:?}"
    );
    // The only places allowed to opt out of the lints are test modules.
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for lint in [
            "clippy::unwrap_used",
            "clippy::expect_used",
            "clippy::panic",
            "clippy::indexing_slicing",
        ] {
            assert!(
                !code.contains(lint),
                "{}: {lint} allowed outside tests",
                path.display()
            );
        }
    }
}
