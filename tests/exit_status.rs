//! The exit-code table of DESIGN.md §2, row by row, as a plain process and as PID 1: the
//! program's status, 128+N for a signal, 127/126/1 for exec failures (with one error line),
//! `-e` and TINI_REMAP_EXIT remapping of each; arguments and environment passed verbatim.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
use common::*;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A private directory under the temp directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("tini-rs-exit-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).unwrap();
        TempDir(p)
    }

    /// Writes `text` to `name` with permission bits `mode`; returns its path.
    fn file(&self, name: &str, text: &[u8], mode: u32) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p.to_str().unwrap().to_string()
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs tini-rs with `args` in `mode` and returns its output.
fn go(mode: Mode, args: &[&str]) -> Output {
    run(tini(mode, args))
}

/// Stderr lines other than the not-PID-1 warning a plain run prints.
fn error_lines(out: &Output) -> Vec<String> {
    out.stderr
        .lines()
        .filter(|l| !l.contains("zombie reaping won't work"))
        .map(str::to_string)
        .collect()
}

/// Asserts tini-rs exited with `code` and printed exactly one error line, for `exec PROG`
/// failing with `reason`.
fn assert_exec_failure(out: &Output, code: i32, prog: &str, reason: &str) {
    assert_eq!(out.code(), code, "{out}");
    let lines = error_lines(out);
    assert_eq!(lines.len(), 1, "expected one error line\n{out}");
    let line = lines.first().unwrap();
    assert!(line.starts_with("[ERROR tini-rs ("), "{out}");
    assert!(
        line.ends_with(&format!("] exec {prog} failed: {reason}")),
        "{out}"
    );
    assert_eq!(out.stdout, "", "{out}");
}

#[test]
fn program_exit_status_is_ours() {
    for mode in MODES {
        for n in [0, 1, 2, 7, 42, 126, 127, 128, 143, 254, 255] {
            let out = go(mode, &["--", "sh", "-c", &format!("exit {n}")]);
            assert_eq!(out.code(), n, "{mode:?} exit {n}\n{out}");
            assert!(error_lines(&out).is_empty(), "{mode:?}\n{out}");
        }
    }
}

#[test]
fn program_killed_by_a_signal_gives_128_plus_n() {
    let rt = libc::SIGRTMIN() + 6;
    let cases = [
        (libc::SIGTERM, 143),
        (libc::SIGKILL, 137),
        (libc::SIGINT, 130),
        (libc::SIGHUP, 129),
        (libc::SIGUSR1, 138),
        (rt, 128 + rt),
        (libc::SIGRTMAX(), 128 + libc::SIGRTMAX()),
    ];
    for mode in MODES {
        for (sig, code) in cases {
            // The program kills itself (as PID 1 it is PID 2, an ordinary process).
            // `env --default-signal` first: a caller that ignores HUP (nohup) would pass
            // that on to the shell, correctly, and the shell would survive its own kill.
            let script = format!("kill -{sig} $$; sleep 5");
            let out = go(
                mode,
                &["--", "env", "--default-signal", "sh", "-c", &script],
            );
            assert_eq!(out.code(), code, "{mode:?} signal {sig}\n{out}");
        }
    }
}

#[test]
fn program_not_found_is_127() {
    let dir = TempDir::new("enoent");
    let missing = dir.path().join("no-such-program");
    let missing = missing.to_str().unwrap();
    for mode in MODES {
        let out = go(mode, &["--", missing, "arg"]);
        assert_exec_failure(&out, 127, missing, "No such file or directory");
        // Through the PATH search too.
        let out = go(mode, &["tini-rs-test-no-such-program-xyz"]);
        assert_exec_failure(
            &out,
            127,
            "tini-rs-test-no-such-program-xyz",
            "No such file or directory",
        );
    }
}

#[test]
fn program_not_executable_is_126() {
    let dir = TempDir::new("eacces");
    let noexec = dir.file("noexec.sh", b"#!/bin/sh\nexit 3\n", 0o644);
    let sub = dir.path().join("a-directory");
    std::fs::create_dir(&sub).unwrap();
    let sub = sub.to_str().unwrap();
    for mode in MODES {
        let out = go(mode, &["--", &noexec]);
        assert_exec_failure(&out, 126, &noexec, "Permission denied");
        let out = go(mode, &["--", sub]);
        assert_exec_failure(&out, 126, sub, "Permission denied");
    }
}

/// Copies /bin/true and points its ELF interpreter at `interp`, a file in `dir` that is
/// not ELF: execve then fails with ELIBBAD, an exec error that is neither "not found" nor
/// "not executable". Returns the program's name relative to `dir`.
fn elf_with_bad_interpreter(dir: &TempDir) -> &'static str {
    let mut elf = std::fs::read("/bin/true").unwrap();
    let u16_at = |e: &[u8], o: usize| u16::from_le_bytes(e[o..o + 2].try_into().unwrap());
    let u32_at = |e: &[u8], o: usize| u32::from_le_bytes(e[o..o + 4].try_into().unwrap());
    let u64_at = |e: &[u8], o: usize| u64::from_le_bytes(e[o..o + 8].try_into().unwrap());
    assert_eq!(
        &elf[..5],
        b"\x7fELF\x02",
        "/bin/true is not a 64-bit ELF file"
    );
    let phoff = u64_at(&elf, 0x20) as usize;
    let phentsize = usize::from(u16_at(&elf, 0x36));
    let phnum = usize::from(u16_at(&elf, 0x38));
    let interp = (0..phnum)
        .map(|i| phoff + i * phentsize)
        .find(|&ph| u32_at(&elf, ph) == 3) // PT_INTERP
        .expect("/bin/true has no ELF interpreter (is it static?)");
    let off = u64_at(&elf, interp + 8) as usize;
    let size = u64_at(&elf, interp + 32) as usize;
    let name = b"interp\0";
    assert!(size >= name.len());
    elf[off..off + name.len()].copy_from_slice(name);
    dir.file("bad-elf", &elf, 0o755);
    // Long enough for the kernel to read an ELF header from it, and not ELF.
    dir.file("interp", &[b'#'; 256], 0o755);
    "./bad-elf"
}

#[test]
fn other_exec_errors_are_1() {
    let dir = TempDir::new("elibbad");
    let prog = elf_with_bad_interpreter(&dir);
    for mode in MODES {
        let mut cmd = tini(mode, &["--", prog]);
        cmd.current_dir(dir.path());
        let out = run(cmd);
        assert_exec_failure(&out, 1, prog, "Accessing a corrupted shared library");
        // Remappable like any other code.
        let mut cmd = tini(mode, &["-e", "1", "--", prog]);
        cmd.current_dir(dir.path());
        assert_eq!(run(cmd).code(), 0, "{mode:?}");
    }
}

#[test]
fn script_without_shebang_runs_under_sh() {
    let dir = TempDir::new("noshebang");
    let script = dir.file(
        "script",
        b"echo hi\nprintf '[%s]' \"$@\"\necho\nexit 4\n",
        0o755,
    );
    for mode in MODES {
        let out = go(mode, &["--", &script, "a b", "", "-x"]);
        assert_eq!(out.code(), 4, "{mode:?}\n{out}");
        assert_eq!(out.stdout, "hi\n[a b][][-x]", "{mode:?}\n{out}");
        assert!(error_lines(&out).is_empty(), "{mode:?}\n{out}");
    }
}

#[test]
fn remapping_with_e() {
    let dir = TempDir::new("remap");
    let missing = dir.path().join("missing");
    let missing = missing.to_str().unwrap();
    for mode in MODES {
        let cases: &[(&[&str], i32)] = &[
            (
                &["-e", "143", "--", "sh", "-c", "kill -TERM $$; sleep 5"],
                0,
            ),
            (
                &["-e", "137", "--", "sh", "-c", "kill -KILL $$; sleep 5"],
                0,
            ),
            (
                &["-e", "143", "--", "sh", "-c", "kill -INT $$; sleep 5"],
                130,
            ),
            (&["-e", "127", "--", missing], 0),
            (&["-e", "126", "--", "/"], 0),
            (&["-e", "126", "--", missing], 127),
            (&["-e", "3", "--", "sh", "-c", "exit 4"], 4),
            (&["-e", "3", "--", "sh", "-c", "exit 3"], 0),
            (&["-e", "3", "-e", "4", "--", "sh", "-c", "exit 4"], 0),
            (&["-e3", "-e4", "sh", "-c", "exit 5"], 5),
            (&["-e", "255", "--", "sh", "-c", "exit 255"], 0),
            (&["-e", "0", "--", "sh", "-c", "exit 0"], 0),
            (&["-e", "0", "--", "sh", "-c", "exit 1"], 1),
        ];
        for (args, code) in cases {
            let out = go(mode, args);
            assert_eq!(out.code(), *code, "{mode:?} {args:?}\n{out}");
        }
    }
}

#[test]
fn remapping_with_tini_remap_exit() {
    for mode in MODES {
        let cases: &[(&str, &str, i32)] = &[
            ("3,143", "kill -TERM $$; sleep 5", 0),
            ("3,143", "exit 3", 0),
            ("3,143", "exit 4", 4),
            ("130 137", "kill -INT $$; sleep 5", 0),
            (" 5 , 6 ", "exit 6", 0),
            ("", "exit 9", 9),
        ];
        for (var, script, code) in cases {
            let mut cmd = tini(mode, &["--", "sh", "-c", script]);
            cmd.env("TINI_REMAP_EXIT", var);
            let out = run(cmd);
            assert_eq!(out.code(), *code, "{mode:?} {var:?} {script:?}\n{out}");
        }
        // The variable and -e add up.
        let mut cmd = tini(mode, &["-e", "4", "--", "sh", "-c", "exit 4"]);
        cmd.env("TINI_REMAP_EXIT", "3");
        assert_eq!(run(cmd).code(), 0, "{mode:?}");
        let mut cmd = tini(mode, &["-e", "4", "--", "sh", "-c", "exit 3"]);
        cmd.env("TINI_REMAP_EXIT", "3");
        assert_eq!(run(cmd).code(), 0, "{mode:?}");
    }
}

/// Prints each argument and a few environment variables as hex, read as bytes.
const SHOW_BYTES: &str = r#"
import os, sys
for a in sys.argv[1:]:
    print("arg[%s]" % os.fsencode(a).hex())
for k in (b"XTEST_BYTES", b"XTEST_EMPTY", b"XTEST_EQ", b"RUST_LOG", b"TINI_VERBOSITY", b"XTEST_UNSET"):
    v = os.environb.get(k)
    print("env %s %s" % (k.decode(), "unset" if v is None else "[%s]" % v.hex()))
"#;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn arguments_and_environment_are_passed_verbatim() {
    use std::ffi::OsStr;
    let args: Vec<&[u8]> = vec![
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
    ];
    for mode in MODES {
        let mut cmd = tini(mode, &["--", "python3", "-c", SHOW_BYTES]);
        for a in &args {
            cmd.arg(OsStr::from_bytes(a));
        }
        cmd.env("XTEST_BYTES", OsStr::from_bytes(b"\xff=\x80 x"))
            .env("XTEST_EMPTY", "")
            .env("XTEST_EQ", "a=b=c")
            .env("RUST_LOG", "trace")
            .env("TINI_VERBOSITY", "1")
            .env_remove("XTEST_UNSET");
        let out = run(cmd);
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        let mut want: Vec<String> = args.iter().map(|a| format!("arg[{}]", hex(a))).collect();
        want.push(format!("env XTEST_BYTES [{}]", hex(b"\xff=\x80 x")));
        want.push("env XTEST_EMPTY []".to_string());
        want.push(format!("env XTEST_EQ [{}]", hex(b"a=b=c")));
        want.push(format!("env RUST_LOG [{}]", hex(b"trace")));
        want.push(format!("env TINI_VERBOSITY [{}]", hex(b"1")));
        want.push("env XTEST_UNSET unset".to_string());
        assert_eq!(out.stdout, want.join("\n"), "{mode:?}\n{out}");
        // RUST_LOG belongs to the program: tini-rs logged nothing beyond its default level.
        assert!(error_lines(&out).is_empty(), "{mode:?}\n{out}");
    }
}

#[test]
fn arguments_reach_a_program_found_on_path() {
    // Through the PATH search and with the program's own name as argv[0].
    for mode in MODES {
        let out = go(
            mode,
            &["sh", "-c", "printf '%s|' \"$0\" \"$@\"", "zero", "x y", ""],
        );
        assert_eq!(out.stdout, "zero|x y||", "{mode:?}\n{out}");
    }
}
