//! Bad input, fuzzed: arbitrary argv and `TINI_*` environments (option names, signal names
//! and numbers, durations, rewrite rules, exit codes, and arbitrary bytes, including bytes
//! that are not UTF-8) go to `tini_rs::cli::parse`: it never panics, and gives either an
//! action or a usage error whose message is one non-empty line. The real binary, run on a
//! sample of the inputs the parser rejects, exits 1 with exactly `tini-rs: <message>` and the
//! usage line on stderr, and never hangs. And no panics by construction: the lints and the
//! release profile that make a panic impossible to miss are in place.
//!
//! CI runs 2 000 parser cases and 100 binary runs; a long run:
//!     PROPTEST_CASES=2000000 cargo test --release --test integration parser_props -- --nocapture
//! (PARSER_PROPS_BINARY_CASES sets the binary sample). Failing inputs are kept in
//! tests/integration/proptest-regressions/parser_props.txt and replayed first.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::Instant;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use tini_rs::cli::{self, Action, UsageError};

use crate::harness::*;

const OPTIONS: [&str; 26] = [
    "-s",
    "-v",
    "-vvvv",
    "-w",
    "-g",
    "-c",
    "-a",
    "-l",
    "-h",
    "-e",
    "-p",
    "-t",
    "-r",
    "--",
    "-",
    "--version",
    "--help",
    "--child-only",
    "--broadcast",
    "--pause",
    "--grace-period",
    "--rewrite",
    "--grace-period=3s",
    "--rewrite=INT:TERM",
    "-sv",
    "-x",
];

const VALUES: [&str; 36] = [
    "0",
    "1",
    "143",
    "255",
    "256",
    "-1",
    "+3",
    " 7 ",
    "TERM",
    "SIGTERM",
    "term",
    "KILL",
    "SIGRTMIN+2",
    "RTMAX-1",
    "RTMIN+99",
    "65",
    "15",
    "drop",
    "10s",
    "500ms",
    "1.5s",
    "2m",
    "1h",
    "25h",
    ".5",
    "5.",
    "1..2",
    "1e3",
    "TERM:drop",
    "HUP:USR1",
    "KILL:TERM",
    "INT:33",
    "x:y",
    ":",
    "1,2,,3",
    "true",
];

/// One command-line word or environment value.
fn word() -> impl Strategy<Value = OsString> {
    prop_oneof![
        3 => proptest::sample::select(&OPTIONS[..]).prop_map(OsString::from),
        3 => proptest::sample::select(&VALUES[..]).prop_map(OsString::from),
        // Two known pieces glued together (`-e143`, `TERM:10s`, ...).
        2 => (proptest::sample::select(&OPTIONS[..]), proptest::sample::select(&VALUES[..]))
            .prop_map(|(a, b)| OsString::from(format!("{a}{b}"))),
        2 => proptest::collection::vec(any::<u8>(), 0..12).prop_map(OsString::from_vec),
        1 => proptest::collection::vec(
            proptest::sample::select(&b"-:,.0123456789sSmhTERMINTdrop \n\t\x00\xff"[..]),
            0..10,
        )
        .prop_map(OsString::from_vec),
        1 => any::<String>().prop_map(OsString::from),
    ]
}

type Env = Vec<(&'static str, OsString)>;

fn input() -> impl Strategy<Value = (Vec<OsString>, Env)> {
    (
        proptest::collection::vec(word(), 0..8),
        proptest::collection::vec((proptest::sample::select(cli::env_vars()), word()), 0..4),
    )
}

fn parse(args: &[OsString], env: &Env) -> Result<Action, UsageError> {
    let map: HashMap<&str, OsString> = env.iter().cloned().collect();
    cli::parse(args, |k| map.get(k).cloned())
}

fn config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        max_shrink_iters: 10_000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/integration/proptest-regressions/parser_props.txt"
        )))),
        ..Config::default()
    }
}

/// The property: no panic (a panic fails the case), and an error is one non-empty line.
fn check(args: &[OsString], env: &Env) -> Result<(), TestCaseError> {
    match parse(args, env) {
        Err(UsageError(msg)) => {
            prop_assert!(!msg.trim().is_empty(), "empty message for {args:?} {env:?}");
            prop_assert!(
                !msg.contains('\n') && !msg.contains('\r'),
                "message is not one line: {msg:?} for {args:?} {env:?}"
            );
        }
        Ok(Action::Run(cfg)) => {
            prop_assert!(
                cfg.pause == cfg.program.is_empty(),
                "a program xor pause: {cfg:?}"
            );
        }
        Ok(Action::Help | Action::License | Action::Version) => {}
    }
    Ok(())
}

#[test]
fn parser_never_panics_and_errors_are_one_line() {
    let mut runner = TestRunner::new(config(2_000));
    let cases = runner.config().cases;
    let start = Instant::now();
    let result = runner.run(&input(), |(args, env)| check(&args, &env));
    let took = start.elapsed();
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "parser property: {cases} cases in {took:?} ({:.0} cases/s)",
        f64::from(cases) / took.as_secs_f64()
    );
}

#[test]
fn binary_on_rejected_input_exits_1_with_message_and_usage() {
    let want_runs: usize = std::env::var("PARSER_PROPS_BINARY_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    // A fixed seed: CI runs the same sample each time.
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::from_seed(
            proptest::test_runner::RngAlgorithm::ChaCha,
            &[7; 32],
        ),
    );
    let strategy = input();
    let (mut runs, mut drawn) = (0, 0);
    let start = Instant::now();
    while runs < want_runs {
        drawn += 1;
        assert!(drawn < 100 * want_runs, "too few rejected inputs drawn");
        let (args, env) = strategy.new_tree(&mut runner).unwrap().current();
        // Only inputs the parser rejects: anything else would run a random program.
        let Err(UsageError(msg)) = parse(&args, &env) else {
            continue;
        };
        // The binary cannot receive a NUL byte in an argument or variable.
        let has_nul = |s: &OsString| s.as_bytes().contains(&0);
        if args.iter().any(has_nul) || env.iter().any(|(_, v)| has_nul(v)) {
            continue;
        }
        let mut c = command(&[bin()]);
        c.args(&args).env_clear();
        for (k, v) in &env {
            c.env(k, v);
        }
        let out = run(c);
        let what = format!("argv {args:?} env {env:?}");
        assert_eq!(out.code(), 1, "{what}\n{out}");
        assert_eq!(out.stdout, "", "{what}\n{out}");
        assert_eq!(
            out.stderr,
            format!("tini-rs: {msg}\n{}\n", cli::USAGE),
            "{what}"
        );
        runs += 1;
    }
    eprintln!(
        "binary on rejected input: {runs} runs ({drawn} inputs drawn) in {:?}, all exit 1 \
         with message + usage",
        start.elapsed()
    );
}

/// The lints that forbid panicking constructs outside tests and the release
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
