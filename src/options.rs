//! The one option table: every option's spellings, its variable and its help line. It
//! drives the parser's grammar (`cli`), `-h`, the list of `TINI_*` variables, and the
//! checks that the README and the man page list the same options.

/// How an option takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A switch; repeating it changes nothing (as with getopt).
    Flag,
    /// A switch counted each time it is given (`-vvv`).
    Count,
    /// Takes a value; the last one given wins.
    Value,
    /// Takes a value; repeatable, every value counts.
    List,
}

/// One option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opt {
    /// The parser's name for it.
    pub id: &'static str,
    /// `-x`.
    pub short: Option<char>,
    /// `--name`.
    pub long: Option<&'static str>,
    /// The value's name in the help (`SIGNAL`); `None` for switches.
    pub value: Option<&'static str>,
    /// How it takes its value.
    pub kind: Kind,
    /// The environment variable that sets the same thing.
    pub env: Option<&'static str>,
    /// What it does, one line.
    pub help: &'static str,
}

const fn opt(id: &'static str, short: Option<char>, long: Option<&'static str>) -> Opt {
    Opt {
        id,
        short,
        long,
        value: None,
        kind: Kind::Flag,
        env: None,
        help: "",
    }
}

impl Opt {
    const fn value(mut self, name: &'static str, kind: Kind) -> Self {
        self.value = Some(name);
        self.kind = kind;
        self
    }
    const fn count(mut self) -> Self {
        self.kind = Kind::Count;
        self
    }
    const fn env(mut self, var: &'static str) -> Self {
        self.env = Some(var);
        self
    }
    const fn help(mut self, text: &'static str) -> Self {
        self.help = text;
        self
    }

    /// The spellings as the help and the README show them: `-t DURATION`,
    /// `--grace-period DURATION`.
    pub fn spellings(&self) -> Vec<String> {
        let value = self.value.map(|v| format!(" {v}")).unwrap_or_default();
        let short = self.short.map(|c| format!("-{c}{value}"));
        let long = self.long.map(|l| format!("--{l}{value}"));
        short.into_iter().chain(long).collect()
    }
}

/// Every option, in the order of `-h`.
pub const OPTIONS: &[Opt] = &[
    opt("version", None, Some("version")).help("print the version (only as the sole argument)"),
    opt("help", Some('h'), Some("help")).help("print this help"),
    opt("subreaper", Some('s'), None)
        .env("TINI_SUBREAPER")
        .help("register as a child subreaper (when not PID 1)"),
    opt("pdeath", Some('p'), None)
        .value("SIGNAL", Kind::Value)
        .env("TINI_PDEATHSIG")
        .help("signal to receive when tini-rs's parent dies"),
    opt("verbose", Some('v'), None)
        .count()
        .env("TINI_VERBOSITY")
        .help("more verbose, repeatable (-vvv); the variable takes the level N: 0-4"),
    opt("warn", Some('w'), None)
        .env("TINI_WARN_ON_REAP")
        .help("warn about every reaped zombie"),
    opt("group", Some('g'), None)
        .env("TINI_KILL_PROCESS_GROUP")
        .help("signal the program's process group (the default)"),
    opt("child", Some('c'), Some("child-only"))
        .env("TINI_CHILD_ONLY")
        .help("signal the program only, not its group"),
    opt("all", Some('a'), Some("broadcast"))
        .env("TINI_BROADCAST")
        .help("signal the program's group and every descendant of tini-rs"),
    opt("remap", Some('e'), None)
        .value("CODE", Kind::List)
        .env("TINI_REMAP_EXIT")
        .help("exit 0 when the program exits with CODE (repeatable; variable: C,C)"),
    opt("grace", Some('t'), Some("grace-period"))
        .value("DURATION", Kind::Value)
        .env("TINI_GRACE_PERIOD")
        .help("when the program exits, SIGTERM what is left, SIGKILL after DURATION (10s, 500ms)"),
    opt("rewrite", Some('r'), Some("rewrite"))
        .value("FROM:TO", Kind::List)
        .env("TINI_REWRITE")
        .help("deliver TO instead of FROM; TO may be 'drop' (repeatable; variable: F:T,F:T)"),
    opt("stop_delay", None, Some("stop-delay"))
        .value("DURATION", Kind::Value)
        .env("TINI_STOP_DELAY")
        .help("hold the first SIGTERM for DURATION while the program runs on (draining)"),
    opt("wait", None, Some("wait-descendants"))
        .env("TINI_WAIT_DESCENDANTS")
        .help("after the program exits, wait for its descendants to exit by themselves"),
    opt("pause", None, Some("pause"))
        .env("TINI_PAUSE")
        .help("run no program: only reap zombies, exit 0 on SIGTERM or SIGINT"),
    opt("no_machine", None, Some("no-machine"))
        .env("TINI_NO_MACHINE")
        .help("never act as a VM's init, even as PID 1 of the initial PID namespace"),
    opt("machine_end", None, Some("machine-end"))
        .value("ACTION", Kind::Value)
        .env("TINI_MACHINE_END")
        .help("as a VM's init, end with poweroff (the default), restart or halt"),
    opt("hostname", None, Some("hostname"))
        .value("NAME", Kind::Value)
        .env("TINI_HOSTNAME")
        .help("as a VM's init, set the hostname to NAME"),
    opt("license", Some('l'), None).help("print the licence"),
];

/// Every environment variable tini-rs reads, in table order.
pub fn env_vars() -> Vec<&'static str> {
    OPTIONS.iter().filter_map(|o| o.env).collect()
}

/// The usage line printed with `-h` and after every usage error.
pub const USAGE: &str = "Usage: tini-rs [OPTIONS] [--] PROGRAM [ARGS...] | --pause | --version";

/// The text of `-h`, made from [`OPTIONS`].
pub fn help() -> String {
    let mut out = String::from(
        "tini-rs: a tini-compatible init for containers. It runs PROGRAM, forwards signals to\n\
         it, reaps zombies and exits with PROGRAM's status.\n\nOptions:\n",
    );
    for o in OPTIONS {
        let left = o.spellings().join(", ");
        let env = o.env.map(|v| format!(" [{v}]")).unwrap_or_default();
        let line = if left.len() <= 20 {
            format!("  {left:<20}  {}{env}\n", o.help)
        } else {
            format!("  {left}\n  {:<20}  {}{env}\n", "", o.help)
        };
        out.push_str(&line);
    }
    out.push_str(
        "\nA variable in brackets sets the same as its option; the command line wins over it.\n\
         TINI_SUBREAPER and the other switches are on when merely set, even empty.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_documented_once() {
        let mut seen = std::collections::HashSet::new();
        for o in OPTIONS {
            assert!(!o.help.is_empty(), "{}", o.id);
            for s in o.spellings() {
                let name = s.split(' ').next().unwrap_or_default().to_string();
                assert!(seen.insert(name), "{s} twice");
            }
            assert_eq!(
                o.value.is_some(),
                matches!(o.kind, Kind::Value | Kind::List)
            );
        }
        assert!(env_vars().iter().all(|v| v.starts_with("TINI_")));
        assert_eq!(env_vars().len(), 16);
    }

    #[test]
    fn help_lists_every_spelling_and_variable() {
        let h = help();
        for o in OPTIONS {
            for s in o.spellings() {
                assert!(h.contains(&s), "{s}");
            }
            if let Some(v) = o.env {
                assert!(h.contains(&format!("[{v}]")), "{v}");
            }
        }
    }

    /// The README's options table (`| option | variable | meaning |`) has one row per
    /// option, with the same spellings and variable.
    #[test]
    fn readme_table_matches() {
        let readme = include_str!("../README.md");
        let rows: Vec<(Vec<String>, Option<String>)> = readme
            .lines()
            .skip_while(|l| !l.starts_with("| option | variable | meaning |"))
            .take_while(|l| l.starts_with('|'))
            .filter(|l| l.starts_with("| `-"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let ticked = |cell: &str| -> Vec<String> {
                    cell.split('`')
                        .skip(1)
                        .step_by(2)
                        .map(str::to_string)
                        .collect()
                };
                let spell = ticked(cells.get(1).copied().unwrap_or_default());
                let var = ticked(cells.get(2).copied().unwrap_or_default()).pop();
                (spell, var)
            })
            .collect();
        let want: Vec<(Vec<String>, Option<String>)> = OPTIONS
            .iter()
            .map(|o| (o.spellings(), o.env.map(str::to_string)))
            .collect();
        for w in &want {
            assert!(rows.contains(w), "README lacks the row {w:?}");
        }
        assert_eq!(rows.len(), want.len(), "{rows:?}");
        for r in &rows {
            assert!(
                want.contains(r),
                "README has a row that is no option: {r:?}"
            );
        }
    }

    /// Spellings up to 20 characters share the help's line; longer ones get a line of their
    /// own, the help under them at the same column.
    #[test]
    fn help_columns() {
        let h = help();
        assert!(
            h.contains("\n  -s                    register as a child subreaper"),
            "{h}"
        );
        assert!(
            h.contains("\n  --stop-delay DURATION\n                        hold the first SIGTERM"),
            "{h}"
        );
    }
}
