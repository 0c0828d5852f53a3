//! Entry point: parse, set up logging, run, turn the result into the exit code.
//!
//! `#![no_main]`: the C runtime calls `main` directly, so Rust's start-up never runs. It
//! would set SIGPIPE to ignored and reopen closed stdin/stdout/stderr on /dev/null, and the
//! program would inherit both; tini-rs must hand over the caller's state untouched.
#![no_main]

use std::ffi::{OsString, c_char, c_int};
use std::io::Write;

use tini_rs::cli::{self, Action};

const LICENSE: &str = include_str!("../LICENSE");

const HELP: &str = "\
tini-rs: a tini-compatible init for containers. It runs PROGRAM, forwards signals to it,
reaps zombies and exits with PROGRAM's status.

Options:
  --version          print the version (only as the sole argument)
  -h, --help         print this help
  -s                 register as a child subreaper (when not PID 1)        TINI_SUBREAPER
  -p SIGNAL          signal to receive when tini-rs's parent dies          TINI_PDEATHSIG
  -v                 more verbose; repeat for more (-vvv)                  TINI_VERBOSITY=N
  -w                 warn about every reaped zombie                         TINI_WARN_ON_REAP
  -g                 signal the program's process group (the default)     TINI_KILL_PROCESS_GROUP
  -c, --child-only   signal the program only, not its group               TINI_CHILD_ONLY
  -a, --broadcast    signal every process tini-rs is responsible for      TINI_BROADCAST
  -e CODE            exit 0 when the program exits with CODE (repeatable)  TINI_REMAP_EXIT=C,C
  -t, --grace-period DURATION
                     when the program exits, SIGTERM what is left and wait
                     up to DURATION (10s, 500ms, 2m) before SIGKILL         TINI_GRACE_PERIOD
  -r, --rewrite FROM:TO
                     deliver TO instead of FROM (names or numbers); TO may
                     be 'drop' (repeatable)                                 TINI_REWRITE=F:T,F:T
  --pause            run no program: only reap zombies, exit 0 on SIGTERM
                     or SIGINT                                              TINI_PAUSE
  -l                 print the licence

Variables marked like TINI_SUBREAPER switch their feature on when merely set.
";

#[allow(unsafe_code)]
// SAFETY: the only unsafe item outside `sys`: the C runtime's `main` symbol, which takes
// the place of Rust's generated one (`#![no_main]`). Its signature is the C standard's; the
// arguments are read through `std::env::args_os`, which glibc fills in before `main`.
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    c_int::from(real_main())
}

fn real_main() -> u8 {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let action = match cli::parse(&args, |k| std::env::var_os(k)) {
        Ok(a) => a,
        Err(cli::UsageError(msg)) => {
            print_err(&format!("tini-rs: {msg}\n{}\n", cli::USAGE));
            return 1;
        }
    };
    match action {
        Action::Version => print_out(&version_line()),
        Action::Help => print_out(&format!("{}\n\n{HELP}", cli::USAGE)),
        Action::License => print_out(LICENSE),
        Action::Run(cfg) => {
            // Read once: the log lines carry it, and run() needs it.
            let pid = std::process::id();
            tini_rs::logging::init(cfg.verbosity, pid);
            match tini_rs::run(&cfg, pid as i32) {
                Ok(code) => code,
                Err(e) => {
                    log::error!("{e}");
                    1
                }
            }
        }
    }
}

/// `tini version X_tini-rs[ - git.HASH]`: Docker needs the `tini version ` prefix and takes
/// the commit after ` - git.` for `docker info`.
fn version_line() -> String {
    let v = env!("CARGO_PKG_VERSION");
    match option_env!("TINI_RS_GIT_HASH") {
        Some(h) => format!("tini version {v}_tini-rs - git.{h}\n"),
        None => format!("tini version {v}_tini-rs\n"),
    }
}

/// Writes to stdout; a closed or broken stdout is not worth a panic.
fn print_out(text: &str) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

fn print_err(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}
