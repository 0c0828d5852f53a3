//! Entry point: parse, set up logging, run, turn the result into the exit code.
//!
//! `#![no_main]`: the C runtime calls `main` directly, so Rust's start-up never runs. It
//! would set SIGPIPE to ignored and reopen closed stdin/stdout/stderr on /dev/null, and the
//! program would inherit both; tini-rs must hand over the caller's state untouched.
#![no_main]

use std::ffi::{OsString, c_char, c_int};
use std::io::Write;

use tini_rs::catatonit;
use tini_rs::cli::{self, Action};

const LICENSE: &str = include_str!("../LICENSE");

#[allow(unsafe_code)]
// SAFETY: the only unsafe item outside `sys`: the C runtime's `main` symbol, which takes
// the place of Rust's generated one (`#![no_main]`). Its signature is the C standard's; the
// arguments are read through `std::env::args_os`, which glibc fills in before `main`.
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    c_int::from(real_main())
}

fn real_main() -> u8 {
    let mut all = std::env::args_os();
    let catatonit = all.next().is_some_and(|a| catatonit::is_invoked_as(&a));
    let args: Vec<OsString> = all.collect();
    let (usage, parsed) = if catatonit {
        (catatonit::USAGE, catatonit::parse(&args))
    } else {
        (cli::USAGE, cli::parse(&args, |k| std::env::var_os(k)))
    };
    let code = match parsed {
        Ok(Action::Run(cfg)) => return run(&cfg),
        Err(cli::UsageError(msg)) => {
            let name = if catatonit { "catatonit" } else { "tini-rs" };
            print_err(&format!("{name}: {msg}\n{usage}\n"));
            1
        }
        Ok(Action::Version) => print_out(&version_line()),
        Ok(Action::Help) if catatonit => {
            print_err(&format!("{usage}\n\n{}", catatonit::HELP));
            0
        }
        Ok(Action::Help) => print_out(&format!("{usage}\n\n{}", tini_rs::options::help())),
        Ok(Action::License) => print_out(LICENSE),
    };
    end_early(code, &args)
}

/// As a VM's init, even a usage error, `-h` or `--version` ends the machine with its code
/// (`tini-rs: exit status N`, then power-off or `TINI_MACHINE_END`): exiting would be the
/// kernel's panic. Anywhere else, the code is returned.
fn end_early(code: u8, args: &[OsString]) -> u8 {
    let var = |k| std::env::var_os(k).and_then(|v| v.into_string().ok());
    let no_machine = var("TINI_NO_MACHINE").is_some() || args.iter().any(|a| a == "--no-machine");
    if std::process::id() != 1 || !tini_rs::machine::detect(no_machine, 1) {
        return code;
    }
    tini_rs::logging::init(tini_rs::config::DEFAULT_VERBOSITY, 1);
    let how = var("TINI_MACHINE_END").and_then(|v| tini_rs::config::MachineEnd::parse(&v).ok());
    tini_rs::machine::end(code, how.unwrap_or_default())
}

/// Runs the init; its errors before the program started are logged, exit code 1.
fn run(cfg: &tini_rs::Config) -> u8 {
    // Read once: the log lines carry it, and run() needs it.
    let pid = std::process::id();
    // Before the logger, which looks at stderr once: a VM's init may have to open the
    // console first.
    let machine = pid == 1 && tini_rs::machine::detect(cfg.no_machine, 1);
    tini_rs::logging::init(cfg.verbosity, pid);
    let Ok(pid) = i32::try_from(pid) else {
        log::error!("PID {pid} is out of range");
        return 1;
    };
    let machine_cfg;
    let cfg = if machine {
        machine_cfg = tini_rs::Config {
            machine: true,
            ..cfg.clone()
        };
        &machine_cfg
    } else {
        cfg
    };
    match tini_rs::run(cfg, pid) {
        Ok(code) => code,
        Err(e) => {
            log::error!("{e}");
            1
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
