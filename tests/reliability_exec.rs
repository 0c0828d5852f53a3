//! Exec failures: a missing file (127), no execute bit (126), a directory (126), a script
//! without `#!` (runs under /bin/sh), arguments too big for exec (E2BIG, 1): the documented
//! exit code and exactly one line `exec <prog> failed: <reason>`, as a plain process and as
//! PID 1; and every case, PATH rules included, compared with tini's own exit code.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;
#[path = "helpers/reliability.rs"]
mod rel;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use rel::{RawOutput, TempDir, run_bytes};

const LIMIT: Duration = Duration::from_secs(60);

fn run_prog(mode: Mode, prog: &[&str]) -> RawOutput {
    let mut args = vec!["-s", "--"];
    args.extend_from_slice(prog);
    run_bytes(tini(mode, &args), LIMIT)
}

/// Exit `code` and stderr exactly one ERROR line `exec <prog> failed: <reason>`.
fn assert_exec_failed(out: &RawOutput, code: i32, prog: &str, reason: &str, what: &str) {
    assert_eq!(out.code(), Some(code), "{what}\n{out}");
    let err = out.err();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: one line expected\n{out}");
    let want = format!("] exec {prog} failed: {reason}");
    assert!(
        lines[0].starts_with("[ERROR tini-rs (") && lines[0].ends_with(&want),
        "{what}: {:?} should end with {want:?}\n{out}",
        lines[0]
    );
    assert_eq!(out.out(), "", "{what}\n{out}");
}

/// The full path of `prog` in the test's own PATH: the tests below replace PATH, which
/// `Command` would use to find `unshare` or `prlimit`.
fn which(prog: &str) -> String {
    if prog.contains('/') {
        return prog.to_string();
    }
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{prog} not found"))
        .to_string_lossy()
        .into_owned()
}

/// `cmd` with its program given by full path.
fn absolute(cmd: &Command) -> Command {
    let mut c = Command::new(which(&cmd.get_program().to_string_lossy()));
    c.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn missing_file_is_127() {
    for mode in MODES {
        let out = run_prog(mode, &["/nonexistent/prog"]);
        assert_exec_failed(
            &out,
            127,
            "/nonexistent/prog",
            "No such file or directory",
            "absolute",
        );
        let out = run_prog(mode, &["no-such-program-tini-rs-test"]);
        assert_exec_failed(
            &out,
            127,
            "no-such-program-tini-rs-test",
            "No such file or directory",
            "PATH search",
        );
    }
}

#[test]
fn no_execute_bit_and_directory_are_126() {
    let d = TempDir::new("exec");
    let file = d.path("noexec");
    write_file(&file, b"#!/bin/sh\nexit 0\n", 0o644);
    let file = file.to_string_lossy().into_owned();
    let dir = d.0.to_string_lossy().into_owned();
    for mode in MODES {
        let out = run_prog(mode, &[&file]);
        assert_exec_failed(&out, 126, &file, "Permission denied", "no x bit");
        let out = run_prog(mode, &[&dir]);
        assert_exec_failed(&out, 126, &dir, "Permission denied", "a directory");
        // Found through PATH but not executable: EACCES wins over later ENOENTs (execvp).
        let mut c = absolute(&tini(mode, &["-s", "--", "noexec"]));
        c.env("PATH", format!("{dir}:/nonexistent"));
        let out = run_bytes(c, LIMIT);
        assert_exec_failed(&out, 126, "noexec", "Permission denied", "PATH, no x bit");
    }
}

#[test]
fn script_without_shebang_runs_under_sh() {
    let d = TempDir::new("exec");
    let file = d.path("script");
    write_file(&file, b"echo \"no shebang: $0 $1\"\nexit 3\n", 0o755);
    let file = file.to_string_lossy().into_owned();
    for mode in MODES {
        let out = run_prog(mode, &[&file, "arg1"]);
        assert_eq!(out.code(), Some(3), "{mode:?}\n{out}");
        assert_eq!(out.out(), format!("no shebang: {file} arg1\n"), "{out}");
        assert_eq!(out.err(), "", "{out}");
    }
}

/// Debian's tini (installed by `.ci/run`): the reference for what glibc's `execvp` does.
fn reference_tini() -> String {
    ["/usr/bin/tini-static", "/usr/bin/tini"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("Debian's tini package (apt-get install tini)")
        .to_string()
}

/// `init -s -- prog` in `mode`, in `dir`, with `path` as PATH (None: PATH unset).
fn exec_with(init: &str, mode: Mode, prog: &str, dir: &Path, path: Option<&str>) -> RawOutput {
    let mut c = match mode {
        Mode::Plain => Command::new(init),
        Mode::Pid1 => {
            let mut c = Command::new(which("unshare"));
            c.args([
                "--pid",
                "--fork",
                "--mount-proc",
                "--kill-child",
                "--",
                init,
            ]);
            c
        }
    };
    c.args(["-s", "--", prog]).current_dir(dir);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TINI_") {
            c.env_remove(k);
        }
    }
    match path {
        Some(p) => c.env("PATH", p),
        None => c.env_remove("PATH"),
    };
    run_bytes(c, LIMIT)
}

/// Spawning is glibc's `execvp`, as in tini: for every way an exec can go wrong, or go
/// through PATH, tini-rs exits with the code tini exits with. The codes tini gives are
/// also pinned where they do not depend on the machine: ENOTDIR and ELOOP give 1 (127 before
/// tini-rs used execvp), a file found through an empty PATH entry runs from the current
/// directory. An ELF for another machine and a truncated one are compared with tini only:
/// glibc runs a file the kernel refuses with ENOEXEC through /bin/sh, and a registered
/// binfmt handler may even run the foreign one.
#[test]
fn exec_failures_and_path_rules_are_tinis() {
    let d = TempDir::new("exec-like-tini");
    let elf = std::fs::read("/bin/true").unwrap();
    let mut arm = elf.clone();
    // e_machine (offset 18, little-endian) = EM_AARCH64 (183).
    arm[18..20].copy_from_slice(&183u16.to_le_bytes());
    write_file(&d.path("foreign"), &arm, 0o755);
    write_file(&d.path("truncated"), &elf[..100], 0o755);
    write_file(&d.path("plain"), b"exit 4\n", 0o755);
    write_file(&d.path("noexec"), b"#!/bin/sh\nexit 0\n", 0o644);
    std::os::unix::fs::symlink("loop-b", d.path("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", d.path("loop-b")).unwrap();
    let dir = d.0.to_string_lossy().into_owned();
    let with_dir = format!("/nonexistent:{dir}");
    // (program, PATH, the code when it does not depend on the machine)
    let cases: &[(&str, Option<&str>, Option<i32>)] = &[
        ("/etc/passwd/x", Some("/bin"), Some(1)),
        ("./loop-a", Some("/bin"), Some(1)),
        ("./missing", Some("/bin"), Some(127)),
        (".", Some("/bin"), Some(126)),
        ("./noexec", Some("/bin"), Some(126)),
        ("./plain", Some("/bin"), Some(4)),
        ("plain", Some(":/nonexistent"), Some(4)),
        ("plain", Some(&with_dir), Some(4)),
        ("noexec", Some(&with_dir), Some(126)),
        ("true", None, Some(0)),
        ("no-such-program-tini-rs", None, Some(127)),
        ("./foreign", Some("/bin"), None),
        ("./truncated", Some("/bin"), None),
    ];
    let reference = reference_tini();
    for mode in MODES {
        for (prog, path, want) in cases {
            let ours = exec_with(bin(), mode, prog, &d.0, *path);
            let theirs = exec_with(&reference, mode, prog, &d.0, *path);
            let what = format!("{mode:?} {prog} PATH={path:?}");
            assert_eq!(
                ours.code(),
                theirs.code(),
                "{what}: tini-rs vs tini\n{ours}\n{theirs}"
            );
            if let Some(code) = want {
                assert_eq!(ours.code(), Some(*code), "{what}\n{ours}");
            }
        }
    }
}

#[test]
fn arguments_too_big_for_exec_are_e2big() {
    // With a 512 KiB stack limit the kernel allows ARG_MAX = 128 KiB of argument and
    // environment strings. The program is found through a PATH entry of ~3000 bytes, and the
    // kernel counts the path of the file it execs: so argv can be sized to pass tini-rs's
    // own exec with ~1000 bytes to spare and fail the program's exec by ~1800.
    let d = TempDir::new("e2big");
    let mut dir = d.0.clone();
    for i in 0..15 {
        dir.push(format!("{i:02}{}", "d".repeat(198)));
    }
    std::fs::create_dir_all(&dir).unwrap();
    write_file(&dir.join("p"), &std::fs::read("/bin/true").unwrap(), 0o755);
    let dir_text = dir.to_string_lossy().into_owned();
    let b = bin().len();
    let dlen = dir_text.len();
    assert!(dlen > 2 * b + 2000, "path {dlen} vs binary path {b}");
    let limit = 131_072 - 8 * 6;
    // tini-rs's exec: filename + [bin, -s, --, p, X] + PATH=<dir>.
    let tini_fixed = 2 * (b + 1) + 3 + 3 + 2 + 1 + ("PATH=".len() + dlen + 1);
    let x = "x".repeat(limit - tini_fixed - 1000);
    for mode in MODES {
        let inner = absolute(&tini(mode, &["-s", "--", "p", &x]));
        let mut c = Command::new(which("prlimit"));
        c.arg("--stack=524288:524288")
            .arg(inner.get_program())
            .args(inner.get_args())
            .env_clear()
            .env("PATH", &dir_text);
        let out = run_bytes(c, LIMIT);
        assert_exec_failed(&out, 1, "p", "Argument list too long", &format!("{mode:?}"));
        eprintln!(
            "{mode:?}: argv {} bytes + PATH {dlen}: exit {:?}, {}",
            x.len(),
            out.code(),
            out.err().trim()
        );
    }
}
