//! The exit-code table of DESIGN.md §2, row by row, as a plain process and as PID 1: the
//! program's status, 128+N when it is killed by a signal (its own or a forwarded one), 127 /
//! 126 / 1 for exec failures with exactly one line `exec PROG failed: <reason>` (every case,
//! PATH rules included, compared with tini's own exit code), and `-e` / `TINI_REMAP_EXIT`
//! remapping of each.

use std::path::Path;

use crate::harness::*;

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

/// Asserts tini-rs exited with `code` after printing nothing on stdout and exactly one error
/// line, `exec PROG failed: REASON`.
fn assert_exec_failure(out: &Output, code: i32, prog: &str, reason: &str) {
    assert_eq!(out.code(), code, "{out}");
    let lines = error_lines(out);
    assert_eq!(lines.len(), 1, "expected one error line\n{out}");
    let line = &lines[0];
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

/// A shell program killed by a signal sent to tini-rs: tini-rs exits with 128 + its number.
#[test]
fn program_killed_by_a_forwarded_signal_gives_128_plus_n() {
    for mode in MODES {
        let rt = libc::SIGRTMIN() + 2;
        for (s, code) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129), (rt, 128 + rt)] {
            // `env --default-signal`: a caller that ignores HUP (nohup) passes that on.
            let mut cmd = tini(
                mode,
                &[
                    "--",
                    "env",
                    "--default-signal",
                    "sh",
                    "-c",
                    "echo ready; sleep 1000",
                ],
            );
            cmd.stdin(std::process::Stdio::null());
            let mut p = Proc::spawn(cmd);
            let tini = p.tini(mode);
            let _guard = KillOnDrop::new(&[only_child(tini)]);
            p.wait_prefix("ready");
            kill(tini, s);
            let out = p.finish();
            assert_eq!(out.code(), code, "{mode:?} signal {s}\n{out}");
        }
    }
}

#[test]
fn program_not_found_is_127() {
    let dir = ScratchDir::new("enoent");
    let missing = dir.file("no-such-program");
    for mode in MODES {
        for prog in [
            missing.as_str(),
            "/nonexistent/prog",
            // Through the PATH search too.
            "tini-rs-test-no-such-program-xyz",
        ] {
            let out = go(mode, &["--", prog, "arg"]);
            assert_exec_failure(&out, 127, prog, "No such file or directory");
        }
    }
}

#[test]
fn program_not_executable_is_126() {
    let dir = ScratchDir::new("eacces");
    let noexec = dir.write("noexec", b"#!/bin/sh\nexit 3\n", 0o644);
    let sub = dir.file("a-directory");
    std::fs::create_dir(&sub).unwrap();
    for mode in MODES {
        let out = go(mode, &["--", &noexec]);
        assert_exec_failure(&out, 126, &noexec, "Permission denied");
        let out = go(mode, &["--", &sub]);
        assert_exec_failure(&out, 126, &sub, "Permission denied");
        // Found through PATH but not executable: EACCES wins over later ENOENTs (execvp).
        let mut c = tini(mode, &["--", "noexec"]);
        c.env(
            "PATH",
            format!("{}:/nonexistent", dir.path().to_string_lossy()),
        );
        assert_exec_failure(&run(c), 126, "noexec", "Permission denied");
    }
}

/// Copies /bin/true and points its ELF interpreter at `interp`, a file in `dir` that is
/// not ELF: execve then fails with ELIBBAD, an exec error that is neither "not found" nor
/// "not executable". Returns the program's name relative to `dir`.
fn elf_with_bad_interpreter(dir: &ScratchDir) -> &'static str {
    let mut elf = std::fs::read("/bin/true").unwrap();
    let u16_at = |e: &[u8], o: usize| u16::from_le_bytes(e[o..o + 2].try_into().unwrap());
    let u32_at = |e: &[u8], o: usize| u32::from_le_bytes(e[o..o + 4].try_into().unwrap());
    let u64_at = |e: &[u8], o: usize| {
        usize::try_from(u64::from_le_bytes(e[o..o + 8].try_into().unwrap())).unwrap()
    };
    assert_eq!(
        &elf[..5],
        b"\x7fELF\x02",
        "/bin/true is not a 64-bit ELF file"
    );
    let phoff = u64_at(&elf, 0x20);
    let phentsize = usize::from(u16_at(&elf, 0x36));
    let phnum = usize::from(u16_at(&elf, 0x38));
    let interp = (0..phnum)
        .map(|i| phoff + i * phentsize)
        .find(|&ph| u32_at(&elf, ph) == 3) // PT_INTERP
        .expect("/bin/true has no ELF interpreter (is it static?)");
    let off = u64_at(&elf, interp + 8);
    let size = u64_at(&elf, interp + 32);
    let name = b"interp\0";
    assert!(size >= name.len());
    elf[off..off + name.len()].copy_from_slice(name);
    dir.write("bad-elf", &elf, 0o755);
    // Long enough for the kernel to read an ELF header from it, and not ELF.
    dir.write("interp", &[b'#'; 256], 0o755);
    "./bad-elf"
}

#[test]
fn other_exec_errors_are_1() {
    let dir = ScratchDir::new("elibbad");
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
fn arguments_too_big_for_exec_are_e2big_and_1() {
    // With a 512 KiB stack limit the kernel allows ARG_MAX = 128 KiB of argument and
    // environment strings. The program is found through a PATH entry of ~3000 bytes, and the
    // kernel counts the path of the file it execs: so argv can be sized to pass tini-rs's
    // own exec with ~1000 bytes to spare and fail the program's exec by ~1800.
    let d = ScratchDir::new("e2big");
    let mut dir = d.path().to_path_buf();
    for i in 0..15 {
        dir.push(format!("{i:02}{}", "d".repeat(198)));
    }
    std::fs::create_dir_all(&dir).unwrap();
    let dir_text = dir.to_string_lossy().into_owned();
    std::fs::copy("/bin/true", dir.join("p")).unwrap();
    let b = bin().len();
    let dlen = dir_text.len();
    assert!(dlen > 2 * b + 2000, "path {dlen} vs binary path {b}");
    let limit = 131_072 - 8 * 6;
    // tini-rs's exec: filename + [bin, -s, --, p, X] + PATH=<dir>.
    let tini_fixed = 2 * (b + 1) + 3 + 3 + 2 + 1 + ("PATH=".len() + dlen + 1);
    let x = "x".repeat(limit - tini_fixed - 1000);
    for mode in MODES {
        let inner = tini(mode, &["-s", "--", "p", &x]);
        let mut c = wrap(&[which("prlimit"), "--stack=524288:524288".into()], &inner);
        c.env_clear().env("PATH", &dir_text);
        let out = run(c);
        assert_exec_failure(&out, 1, "p", "Argument list too long");
    }
}

/// `init -s -- prog` in `mode`, in `dir`, with `path` as PATH (None: PATH unset).
fn exec_with(init: &str, mode: Mode, prog: &str, dir: &Path, path: Option<&str>) -> Output {
    let mut c = in_mode(mode, &[init, "-s", "--", prog]);
    c.current_dir(dir);
    match path {
        Some(p) => c.env("PATH", p),
        None => c.env_remove("PATH"),
    };
    run(c)
}

/// Spawning is glibc's `execvp`, as in tini: for every way an exec can go wrong, or go
/// through PATH, tini-rs exits with the code tini exits with. The codes tini gives are
/// also pinned where they do not depend on the machine: ENOTDIR and ELOOP give 1, a file
/// found through an empty PATH entry runs from the current directory. An ELF for another
/// machine and a truncated one are compared with tini only: glibc runs a file the kernel
/// refuses with ENOEXEC through /bin/sh, and a registered binfmt handler may even run the
/// foreign one.
#[test]
fn exec_failures_and_path_rules_are_tinis() {
    let d = ScratchDir::new("exec-like-tini");
    let elf = std::fs::read("/bin/true").unwrap();
    let mut arm = elf.clone();
    // e_machine (offset 18, little-endian) = EM_AARCH64 (183).
    arm[18..20].copy_from_slice(&183u16.to_le_bytes());
    d.write("foreign", &arm, 0o755);
    d.write("truncated", &elf[..100], 0o755);
    d.write("plain", b"exit 4\n", 0o755);
    d.write("noexec", b"#!/bin/sh\nexit 0\n", 0o644);
    std::os::unix::fs::symlink("loop-b", d.path().join("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", d.path().join("loop-b")).unwrap();
    let with_dir = format!("/nonexistent:{}", d.path().to_string_lossy());
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
            let ours = exec_with(bin(), mode, prog, d.path(), *path);
            let theirs = exec_with(reference, mode, prog, d.path(), *path);
            let what = format!("{mode:?} {prog} PATH={path:?}");
            assert_eq!(
                ours.status.code(),
                theirs.status.code(),
                "{what}: tini-rs vs tini\n{ours}\n{theirs}"
            );
            if let Some(code) = want {
                assert_eq!(ours.code(), *code, "{what}\n{ours}");
            }
        }
    }
}

/// A file without `#!` runs under /bin/sh (execvp's rule, as in tini), with its own path as
/// `$0` and the arguments verbatim.
#[test]
fn script_without_shebang_runs_under_sh() {
    let dir = ScratchDir::new("noshebang");
    let script = dir.write(
        "script",
        b"echo \"no shebang: $0\"\nprintf '[%s]' \"$@\"\necho\nexit 4\n",
        0o755,
    );
    for mode in MODES {
        let out = go(mode, &["--", &script, "a b", "", "-x"]);
        assert_eq!(out.code(), 4, "{mode:?}\n{out}");
        assert_eq!(
            out.stdout,
            format!("no shebang: {script}\n[a b][][-x]\n"),
            "{mode:?}\n{out}"
        );
        assert!(error_lines(&out).is_empty(), "{mode:?}\n{out}");
    }
}

#[test]
fn remapping_with_e() {
    let dir = ScratchDir::new("remap");
    let missing = dir.file("missing");
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
            (&["-e", "127", "--", &missing], 0),
            (&["-e", "126", "--", "/"], 0),
            (&["-e", "126", "--", &missing], 127),
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
        for script in ["exit 4", "exit 3"] {
            let mut cmd = tini(mode, &["-e", "4", "--", "sh", "-c", script]);
            cmd.env("TINI_REMAP_EXIT", "3");
            assert_eq!(run(cmd).code(), 0, "{mode:?} {script}");
        }
    }
}
