//! The command line as users and Docker see it: every bad input (options and environment) is
//! a one-line message plus the usage line on stderr, exit 1, and no program run; `--version`,
//! `-h`, `-l`; POSIX parsing (options after the program belong to the program) and tini's
//! getopt habits (repeated switches, `-h` anywhere among the options). The usage errors and the
//! parsing cases run both as a plain process and as PID 1.

use crate::harness::*;

/// The first line of the usage text (printed by `-h` and after every usage error).
fn usage_line() -> String {
    let out = run(tini(Mode::Plain, &["-h"]));
    assert_eq!(out.code(), 0, "{out}");
    out.stdout.lines().next().unwrap().to_string()
}

/// Runs `args` (where the token "PROG" is replaced by `touch <marker>`) with `env` set and
/// checks the usage-error contract: exit 1, nothing on stdout, exactly two stderr lines
/// (`tini-rs: <message containing needle>` and the usage line), and the program never ran.
fn assert_usage_error(args: &[&str], env: &[(&str, &str)], needle: &str) {
    let usage = usage_line();
    let dir = ScratchDir::new("usage");
    let marker = dir.file("touched");
    for mode in MODES {
        let mut full: Vec<&str> = Vec::new();
        for a in args {
            if *a == "PROG" {
                full.extend(["touch", &marker]);
            } else {
                full.push(a);
            }
        }
        let mut cmd = tini(mode, &full);
        cmd.envs(env.iter().copied());
        let out = run(cmd);
        let what = format!("{mode:?} args {full:?} env {env:?}\n{out}");
        assert_eq!(out.code(), 1, "{what}");
        assert_eq!(out.stdout, "", "{what}");
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "expected message + usage line: {what}");
        let msg = lines[0];
        assert!(msg.starts_with("tini-rs: "), "{what}");
        assert!(
            msg.len() > "tini-rs: ".len() + 5,
            "message too short: {what}"
        );
        assert!(msg.contains(needle), "message lacks {needle:?}: {what}");
        assert_eq!(lines[1], usage, "{what}");
        assert!(out.stderr.ends_with('\n'), "{what}");
        assert!(
            std::fs::metadata(&marker).is_err(),
            "the program ran: {what}"
        );
    }
}

#[test]
fn usage_line_names_the_grammar() {
    let u = usage_line();
    assert!(u.starts_with("Usage: tini-rs "), "{u}");
    for part in ["[OPTIONS]", "PROGRAM", "--pause", "--version"] {
        assert!(u.contains(part), "{u} lacks {part}");
    }
}

#[test]
fn unknown_options() {
    assert_usage_error(&["-x", "PROG"], &[], "-x");
    assert_usage_error(&["--nope", "PROG"], &[], "--nope");
    assert_usage_error(&["-s", "-x", "PROG"], &[], "-x");
    // tini answers --version only alone; with a program it is not an option of ours.
    assert_usage_error(&["--version", "PROG"], &[], "--version");
}

#[test]
fn missing_values() {
    assert_usage_error(&["-e"], &[], "-e");
    assert_usage_error(&["-p"], &[], "-p");
    assert_usage_error(&["-s", "-e"], &[], "-e");
    assert_usage_error(&["-w", "-p"], &[], "-p");
    assert_usage_error(&["-t"], &[], "grace-period");
    assert_usage_error(&["-r"], &[], "rewrite");
}

#[test]
fn bad_exit_codes() {
    assert_usage_error(&["-e", "256", "PROG"], &[], "256");
    assert_usage_error(&["-e", "x", "PROG"], &[], "'x'");
    assert_usage_error(&["-e", "1", "-e", "1000", "PROG"], &[], "1000");
    assert_usage_error(&["-e", "5x", "PROG"], &[], "'5x'");
    assert_usage_error(&["-e", "-1", "PROG"], &[], "'-1'");
}

/// `-e` takes exactly what Debian's tini takes (its `strtol`: blanks first, a sign, the empty
/// text as 0; nothing after the digits; 0 to 255): run side by side, both exit 0 when the
/// value is the program's 5, 5 when it is another accepted code, 1 when it is refused.
#[test]
fn exit_codes_as_tini_reads_them() {
    let values = [
        "+5",
        "",
        "-0",
        "+0",
        " 5",
        "\t5",
        "  +7",
        "010",
        "255",
        "5x",
        "5 ",
        "256",
        "-1",
        "-",
        "+",
        " ",
        "0x5",
        "1e2",
        "99999999999999999999",
    ];
    for value in values {
        let program = ["--", "sh", "-c", "exit 5"];
        let reference = run(in_mode(
            Mode::Plain,
            &[&[reference_tini(), "-s", "-e", value][..], &program].concat(),
        ));
        for mode in MODES {
            let out = run(tini(mode, &[&["-e", value][..], &program].concat()));
            let what = format!("{mode:?} -e {value:?}\ntini:\n{reference}\ntini-rs:\n{out}");
            assert_eq!(out.code(), reference.code(), "{what}");
            assert_eq!(out.stderr.is_empty(), reference.stderr.is_empty(), "{what}");
        }
    }
}

/// tini's getopt loop takes the options in order: the first of `-h`, `-l` or an invalid
/// value decides, whatever follows. Each case side by side with Debian's tini: the same exit
/// code, the help or the licence on stdout alike, the error naming the same value.
#[test]
fn the_first_decision_wins_as_in_tini() {
    type Case<'a> = (&'a [&'a str], Option<&'a str>);
    let cases: [Case; 10] = [
        (&["-e", "+5", "-h"], None),
        (&["-e", "", "-h"], None),
        (&["-e", "-0", "-l"], None),
        (&["-l", "-x"], None),
        (&["-l", "-p", "BOGUS"], None),
        (&["-p", "BOGUS", "-p", "SIGTERM"], Some("BOGUS")),
        (&["-p", "SIGTERM", "-p", "BOGUS"], Some("BOGUS")),
        (&["-e", "300", "-p", "BOGUS"], Some("300")),
        (&["-p", "BOGUS", "-h"], Some("BOGUS")),
        (&["-e", "5", "-e", "300", "-h"], Some("300")),
    ];
    for (args, named) in cases {
        let program = ["--", "true"];
        let reference = run(in_mode(
            Mode::Plain,
            &[&[reference_tini(), "-s"], args, &program].concat(),
        ));
        let out = run(tini(Mode::Plain, &[args, &program].concat()));
        let what = format!("{args:?}\ntini:\n{reference}\ntini-rs:\n{out}");
        assert_eq!(out.code(), reference.code(), "{what}");
        let shows = |o: &Output, text: &str| o.stdout.contains(text);
        for text in ["Usage: ", "MIT License"] {
            assert_eq!(shows(&out, text), shows(&reference, text), "{what}");
        }
        if let Some(value) = named {
            assert!(reference.stderr.contains(value), "{what}");
            assert!(out.stderr.contains(&format!("'{value}'")), "{what}");
        }
    }
}

#[test]
fn bad_signals() {
    assert_usage_error(&["-p", "SIGNOPE", "PROG"], &[], "SIGNOPE");
    assert_usage_error(&["-p", "99", "PROG"], &[], "99");
}

#[test]
fn no_program() {
    assert_usage_error(&[], &[], "no program");
    assert_usage_error(&["-s", "-v"], &[], "no program");
    assert_usage_error(&["--"], &[], "no program");
}

#[test]
fn contradictions() {
    assert_usage_error(&["--pause", "PROG"], &[], "--pause");
    assert_usage_error(&["--pause", "--", "PROG"], &[], "--pause");
    assert_usage_error(&["-c", "-a", "PROG"], &[], "exclude");
    assert_usage_error(&["--child-only", "--broadcast", "PROG"], &[], "exclude");
}

#[test]
fn bad_grace_period() {
    assert_usage_error(&["-t", "soon", "PROG"], &[], "soon");
    assert_usage_error(&["--grace-period", "5x", "PROG"], &[], "5x");
}

/// Every kind of bad rule: the message names the rule.
#[test]
fn bad_rewrite_rules() {
    for rule in [
        "TERM",
        "NOPE:TERM",
        "TERM:NOPE",
        "KILL:TERM",
        "TERM:99",
        "RTMAX+1:TERM",
        "CHLD:TERM",
    ] {
        let needle = format!("rewrite rule '{rule}'");
        assert_usage_error(&["-r", rule, "PROG"], &[], &needle);
        assert_usage_error(&["-r", rule, "--", "PROG"], &[], &needle);
    }
    assert_usage_error(&["--rewrite", "TERM:NOPE", "PROG"], &[], "NOPE");
}

#[test]
fn bad_environment_values() {
    assert_usage_error(&["PROG"], &[("TINI_REMAP_EXIT", "1,300")], "300");
    assert_usage_error(&["PROG"], &[("TINI_REMAP_EXIT", "x")], "'x'");
    assert_usage_error(
        &["PROG"],
        &[("TINI_REWRITE", "TERM:QUIT,bogus")],
        "rewrite rule 'bogus'",
    );
    assert_usage_error(&["PROG"], &[("TINI_GRACE_PERIOD", "1.2.3s")], "1.2.3s");
    assert_usage_error(&["PROG"], &[("TINI_PDEATHSIG", "SIGNOPE")], "SIGNOPE");
    // Options do not rescue a bad variable.
    assert_usage_error(
        &["-v", "--", "PROG"],
        &[("TINI_REWRITE", "x")],
        "rewrite rule 'x'",
    );
}

/// getopt habits: a repeated switch is accepted (`-s -s`, `-vswss`, `-g -g`, `-w -w`), `-h`
/// prints the help and exits 0 wherever it stands among the options, `-l` inside a cluster
/// prints the licence.
#[test]
fn tinis_command_line_habits() {
    for args in [
        &["-s", "-s"][..],
        &["-vswss"],
        &["-g", "-g"],
        &["-w", "-w"],
        &["-p", "INT", "-p", "HUP"],
    ] {
        let out = run(tini(
            Mode::Plain,
            &[args, &["--", "sh", "-c", "exit 7"]].concat(),
        ));
        assert_eq!(out.code(), 7, "{args:?}\n{out}");
    }
    for args in [
        &["-h"][..],
        &["-v", "-h"],
        &["-vh"],
        &["-s", "-h", "--", "true"],
        &["-e", "3", "-h", "true"],
        &["-e", "+5", "-h", "true"],
        &["-t", "5s", "-h"],
    ] {
        let out = run(tini(Mode::Plain, args));
        assert_eq!(out.code(), 0, "{args:?}\n{out}");
        assert!(out.stdout.starts_with("Usage: tini-rs"), "{args:?}\n{out}");
    }
    let out = run(tini(Mode::Plain, &["-vslss", "true"]));
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("MIT"), "{out}");
}

#[test]
fn version_line_is_what_docker_parses() {
    let want = format!("tini version {}_tini-rs", env!("CARGO_PKG_VERSION"));
    for mode in MODES {
        let out = run(tini(mode, &["--version"]));
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert_eq!(out.stderr, "", "{mode:?}\n{out}");
        assert_eq!(out.stdout.lines().count(), 1, "{mode:?}\n{out}");
        let line = out.stdout.strip_suffix('\n').unwrap();
        // Docker splits the line on " - ": the first part must be "tini version X", the
        // second, if any, "git.<hash>" (its commit, shown by `docker info`).
        let mut parts = line.split(" - ");
        assert_eq!(parts.next().unwrap(), want, "{mode:?}\n{out}");
        // Built from a git checkout, the commit must be there (else `docker info` is empty).
        let in_git = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".git")
            .exists();
        assert_eq!(line.contains(" - git."), in_git, "{out}");
        if let Some(git) = parts.next() {
            let hash = git.strip_prefix("git.").unwrap();
            assert!(
                hash.len() >= 7 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
                "{out}"
            );
        }
        assert_eq!(parts.next(), None, "{out}");
    }
}

#[test]
fn help_lists_every_option_and_runs_nothing() {
    let usage = usage_line();
    let dir = ScratchDir::new("help");
    let marker = dir.file("touched");
    for mode in MODES {
        for flag in ["-h", "--help"] {
            let out = run(tini(mode, &["-s", flag, "touch", &marker]));
            assert_eq!(out.code(), 0, "{mode:?} {flag}\n{out}");
            assert_eq!(out.stderr, "", "{mode:?} {flag}\n{out}");
            assert!(
                std::fs::metadata(&marker).is_err(),
                "{mode:?} {flag} ran the program"
            );
            assert_eq!(out.stdout.lines().next(), Some(usage.as_str()), "{out}");
            for opt in [
                "--version",
                "-h",
                "--help",
                "-s",
                "-p SIGNAL",
                "-v",
                "-w",
                "-g",
                "-c",
                "--child-only",
                "-a",
                "--broadcast",
                "-e CODE",
                "-t",
                "--grace-period",
                "-r",
                "--rewrite",
                "--pause",
                "-l",
            ]
            .into_iter()
            // Every variable tini-rs reads is documented in the help.
            .chain(tini_rs::cli::env_vars())
            {
                assert!(
                    out.stdout.contains(opt),
                    "help lacks {opt}:\n{}",
                    out.stdout
                );
            }
        }
    }
}

#[test]
fn license_is_printed() {
    let dir = ScratchDir::new("license");
    let marker = dir.file("touched");
    for mode in MODES {
        let out = run(tini(mode, &["-l", "touch", &marker]));
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert_eq!(out.stderr, "", "{mode:?}\n{out}");
        assert!(
            std::fs::metadata(&marker).is_err(),
            "{mode:?}: -l ran the program"
        );
        assert!(out.stdout.starts_with("MIT License"), "{out}");
        assert!(out.stdout.contains("Permission is hereby granted"), "{out}");
    }
}

/// A program that prints each of its arguments in brackets.
const SHOW_ARGS: [&str; 4] = ["sh", "-c", "printf '[%s]' \"$@\"", "sh"];

fn program_args(mode: Mode, tini_args: &[&str]) -> String {
    let out = run(tini(mode, tini_args));
    assert_eq!(out.code(), 0, "{mode:?} {tini_args:?}\n{out}");
    out.stdout
}

#[test]
fn options_after_the_program_belong_to_the_program() {
    for mode in MODES {
        // `tini-rs ls -l /` style: -l and -v are the program's, not ours (tini on glibc
        // permutes and would print its licence).
        let mut a: Vec<&str> = SHOW_ARGS.to_vec();
        a.extend(["-l", "-v"]);
        assert_eq!(program_args(mode, &a), "[-l][-v]", "{mode:?}");

        // The brief's exact form: echo "$@".
        let out = run(tini(mode, &["sh", "-c", "echo \"$@\"", "sh", "-l", "-v"]));
        assert_eq!(out.code(), 0, "{out}");
        assert_eq!(out.stdout, "-l -v\n", "{mode:?}\n{out}");

        // Our options before the program, the program's after it; -h, --version, -e and
        // -- after the program are the program's too.
        let mut a: Vec<&str> = vec!["-s", "-e", "3"];
        a.extend(SHOW_ARGS);
        a.extend(["-h", "--version", "-e", "256", "--", "-x"]);
        assert_eq!(
            program_args(mode, &a),
            "[-h][--version][-e][256][--][-x]",
            "{mode:?}"
        );
    }
}

#[test]
fn double_dash_ends_our_options() {
    for mode in MODES {
        // After --, a leading - is a program argument.
        let mut a: Vec<&str> = vec!["-s", "--"];
        a.extend(SHOW_ARGS);
        a.extend(["-s", "--", "-p"]);
        assert_eq!(program_args(mode, &a), "[-s][--][-p]", "{mode:?}");

        // Only the first -- is ours.
        let mut a: Vec<&str> = vec!["--"];
        a.extend(SHOW_ARGS);
        a.push("--");
        assert_eq!(program_args(mode, &a), "[--]", "{mode:?}");

        // After --, even a name starting with - is the program: `-v` is looked up and not
        // found (127), not taken as verbosity.
        let out = run(tini(mode, &["--", "-v"]));
        assert_eq!(out.code(), 127, "{mode:?}\n{out}");
        assert!(
            out.stderr
                .contains("exec -v failed: No such file or directory"),
            "{mode:?}\n{out}"
        );
    }
}

#[test]
fn control_a_valid_command_line_does_run_the_program() {
    // Guards the "runs nothing" checks above: the same program does leave its marker.
    let dir = ScratchDir::new("control");
    for mode in MODES {
        let marker = dir.file(&format!("{mode:?}"));
        let out = run(tini(mode, &["-s", "--", "touch", &marker]));
        assert_eq!(out.code(), 0, "{mode:?}\n{out}");
        assert!(
            std::fs::metadata(&marker).is_ok(),
            "{mode:?}: touch did not run\n{out}"
        );
    }
}
