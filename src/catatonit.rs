//! The catatonit personality: installed under the name `catatonit`, tini-rs takes
//! catatonit's command line (`-g`, `-h`, `-L`, `-P`, `-V`/`--version`, `--`), so that podman
//! can use it for its pods' infra containers (`catatonit -P`) and for `--init`.
//!
//! Where users can tell, it behaves as catatonit: signals go to the program only unless
//! `-g`, and SIGTSTP is not forwarded (`signals::is_kept`); `-P` runs no program (one given is ignored) and exits 0 on SIGINT or SIGTERM; the
//! `TINI_*` variables are not read; a usage error and a failed exec exit 1; `-h` prints on
//! stderr.

use std::ffi::OsString;
use std::path::Path;

use crate::cli::Action;
use crate::config::{Config, DEFAULT_VERBOSITY, Delivery, UsageError};

/// The usage line catatonit prints.
pub const USAGE: &str = "usage: catatonit [-ghLPV] [--] <progname> [<arguments>...]";

/// The help text for `catatonit -h`.
pub const HELP: &str = "\
options:
  -g              Forward signals to the program's process group.
  -h              Print this help page.
  -L              Print license information.
  -P              Run in pause mode (no program is run; exit 0 on SIGINT or SIGTERM).
  -V, --version   Print version information.

This is tini-rs answering to the name catatonit.
";

/// Whether the program was started under the name `catatonit` (argv\[0\]'s file name).
pub fn is_invoked_as(argv0: &OsString) -> bool {
    Path::new(argv0)
        .file_name()
        .is_some_and(|n| n == "catatonit")
}

/// Parses catatonit's command line (without argv\[0\]), getopt style: options cluster
/// (`-gP`), parsing stops at `--` or the first non-option.
pub fn parse(args: &[OsString]) -> Result<Action, UsageError> {
    let mut cfg = Config {
        catatonit: true,
        delivery: Delivery::Child,
        verbosity: DEFAULT_VERBOSITY,
        ..Config::default()
    };
    let mut rest = args;
    while let Some((first, tail)) = rest.split_first() {
        let bytes = first.as_encoded_bytes();
        if bytes == b"--" {
            rest = tail;
            break;
        }
        if bytes == b"--version" {
            return Ok(Action::Version);
        }
        let Some(flags) = bytes.strip_prefix(b"-").filter(|f| !f.is_empty()) else {
            break;
        };
        for flag in flags {
            match flag {
                b'g' => cfg.delivery = Delivery::Group,
                b'P' => cfg.pause = true,
                b'h' => return Ok(Action::Help),
                b'L' => return Ok(Action::License),
                b'V' => return Ok(Action::Version),
                other => {
                    let shown = char::from(*other).escape_default();
                    return Err(UsageError(format!("invalid option -- '{shown}'")));
                }
            }
        }
        rest = tail;
    }
    if cfg.pause {
        return Ok(Action::Run(Box::new(cfg)));
    }
    if rest.is_empty() {
        return Err(UsageError("missing program name".into()));
    }
    cfg.program = rest.to_vec();
    Ok(Action::Run(Box::new(cfg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Action, UsageError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse(&args)
    }

    fn cfg(args: &[&str]) -> Config {
        match parse_str(args) {
            Ok(Action::Run(c)) => *c,
            other => unreachable!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn catatonits_command_line() {
        assert_eq!(cfg(&["prog", "-g"]).delivery, Delivery::Child);
        let plain = cfg(&["prog"]);
        assert!(plain.catatonit && plain.verbosity == DEFAULT_VERBOSITY);
        assert_eq!(cfg(&["prog", "-g"]).program.len(), 2);
        assert_eq!(cfg(&["-g", "prog"]).delivery, Delivery::Group);
        assert_eq!(
            cfg(&["-g", "--", "-prog"]).program,
            vec![OsString::from("-prog")]
        );
        let p = cfg(&["-P"]);
        assert!(p.pause && p.program.is_empty());
        let p = cfg(&["-gP", "--", "ignored"]);
        assert!(p.pause && p.program.is_empty() && p.delivery == Delivery::Group);
        assert_eq!(parse_str(&["-V"]), Ok(Action::Version));
        assert_eq!(parse_str(&["--version"]), Ok(Action::Version));
        assert_eq!(parse_str(&["-g", "-h", "x"]), Ok(Action::Help));
        assert_eq!(parse_str(&["-L"]), Ok(Action::License));
        assert!(parse_str(&[]).is_err());
        assert!(parse_str(&["-g"]).is_err());
        assert!(parse_str(&["-x", "prog"]).is_err_and(|e| e.0.contains("'x'")));
        assert!(parse_str(&["-s", "prog"]).is_err());
    }

    #[test]
    fn the_name_decides() {
        assert!(is_invoked_as(&OsString::from(
            "/usr/libexec/podman/catatonit"
        )));
        assert!(is_invoked_as(&OsString::from("catatonit")));
        assert!(!is_invoked_as(&OsString::from("/catatonit/tini-rs")));
        assert!(!is_invoked_as(&OsString::from("tini-rs")));
    }
}
