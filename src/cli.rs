//! Command line and environment → [`Config`]: clap for the grammar, tini's quirks and the
//! `TINI_*` variables on top. Pure: the environment comes in as a function, nothing is read
//! or printed here, so every rule is unit-tested.

use std::ffi::{OsStr, OsString};

use clap::{Arg, ArgAction, Command};

pub use crate::config::{Config, Delivery, Rewrite, UsageError};
use crate::config::{
    DEFAULT_VERBOSITY, MachineEnd, atoi_verbosity, parse_duration, parse_exit_code,
    parse_parent_death_signal, parse_rule, split_list,
};
use crate::options::{Kind, OPTIONS};

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run the init with this configuration.
    Run(Box<Config>),
    /// Print the help (`-h`).
    Help,
    /// Print the licence (`-l`).
    License,
    /// Print the version line (`--version` alone).
    Version,
}

pub use crate::options::{USAGE, env_vars};

/// The grammar, made from the option table. `args_override_self`: a repeated switch or
/// value is accepted as getopt accepts it (`-s -s`, `-vslss`); the last value wins.
fn command() -> Command {
    let mut cmd = Command::new("tini-rs")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true)
        .dont_delimit_trailing_values(true)
        .args_override_self(true);
    for o in OPTIONS.iter().filter(|o| o.id != "version") {
        let mut arg = Arg::new(o.id).action(match o.kind {
            Kind::Flag => ArgAction::SetTrue,
            Kind::Count => ArgAction::Count,
            Kind::Value => ArgAction::Set,
            Kind::List => ArgAction::Append,
        });
        if let Some(c) = o.short {
            arg = arg.short(c);
        }
        if let Some(l) = o.long {
            arg = arg.long(l);
        }
        if let Some(v) = o.value {
            // As getopt: the next argument is the value, whatever it looks like (`-e -0`).
            arg = arg.value_name(v).allow_hyphen_values(true);
        }
        cmd = cmd.arg(arg);
    }
    cmd.arg(
        Arg::new("program")
            .value_name("PROGRAM")
            .num_args(1..)
            .trailing_var_arg(true)
            .value_parser(clap::builder::OsStringValueParser::new()),
    )
}

/// Parses `args` (without argv\[0\]) and the environment (`env("TINI_SUBREAPER")` etc.).
pub fn parse<F>(args: &[OsString], env: F) -> Result<Action, UsageError>
where
    F: Fn(&str) -> Option<OsString>,
{
    parse_raw(args, env).map_err(|UsageError(msg)| UsageError(one_line(&msg)))
}

/// A usage error is printed as one line: control characters that came with the user's input
/// (`-e $'1\n2'`, `TINI_REWRITE=$'TERM:\nX'`) are shown escaped.
fn one_line(msg: &str) -> String {
    msg.chars()
        .map(|c| match c {
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn parse_raw<F>(args: &[OsString], env: F) -> Result<Action, UsageError>
where
    F: Fn(&str) -> Option<OsString>,
{
    // tini answers --version only when it is the sole argument; Docker relies on this.
    if let [only] = args {
        if only == "--version" {
            return Ok(Action::Version);
        }
    }
    let o = options(args)?;
    if o.help {
        return Ok(Action::Help);
    }
    if o.license {
        return Ok(Action::License);
    }
    let cfg = configure(o, &Env(&env))?;
    match (cfg.pause, cfg.program.is_empty()) {
        (true, false) => Err(UsageError(
            "--pause runs no program, but one was given".into(),
        )),
        (false, true) => Err(UsageError("no program given".into())),
        _ => Ok(Action::Run(Box::new(cfg))),
    }
}

/// The environment, as the parser reads it.
struct Env<'a>(&'a dyn Fn(&str) -> Option<OsString>);

impl Env<'_> {
    /// Whether `name` is set (even empty: tini's switches are on when merely set).
    fn set(&self, name: &str) -> bool {
        (self.0)(name).is_some()
    }

    /// The value of `name` as text.
    fn text(&self, name: &str) -> Result<Option<String>, UsageError> {
        (self.0)(name)
            .map(|v| {
                v.into_string()
                    .map_err(|_| UsageError(format!("{name} is not valid UTF-8")))
            })
            .transpose()
    }

    /// The option's value, or else the variable's: the command line wins, and a variable
    /// it overrides is not even read (a bad value there cannot fail the start).
    fn or_var(&self, option: Option<String>, name: &str) -> Result<Option<String>, UsageError> {
        match option {
            Some(v) => Ok(Some(v)),
            None => self.text(name),
        }
    }

    /// The variable's list items, then the option's.
    fn list(&self, name: &str, option: Vec<String>) -> Result<Vec<String>, UsageError> {
        let mut items: Vec<String> = self
            .text(name)?
            .map_or_else(Vec::new, |v| split_list(&v).collect());
        items.extend(option);
        Ok(items)
    }
}

/// A duration option's value; 0 means off.
fn duration(what: &str, text: &str) -> Result<Option<std::time::Duration>, UsageError> {
    let d = parse_duration(text)
        .ok_or_else(|| UsageError(format!("invalid {what} '{text}' (use e.g. 10s, 500ms, 2m)")))?;
    Ok((!d.is_zero()).then_some(d))
}

/// The options and the environment → the configuration. The command line wins over the
/// environment, option by option: an image's ENV cannot be unset by `docker run`, so it
/// must never make a command line fail.
fn configure(o: Options, env: &Env<'_>) -> Result<Config, UsageError> {
    let mut cfg = Config {
        subreaper: o.subreaper || env.set("TINI_SUBREAPER"),
        warn_on_reap: o.warn || env.set("TINI_WARN_ON_REAP"),
        wait_descendants: o.wait || env.set("TINI_WAIT_DESCENDANTS"),
        no_machine: o.no_machine || env.set("TINI_NO_MACHINE"),
        hostname: o.hostname.or_else(|| (env.0)("TINI_HOSTNAME")),
        // A program on the command line wins over TINI_PAUSE.
        pause: o.pause || (env.set("TINI_PAUSE") && o.program.is_empty()),
        program: o.program,
        verbosity: DEFAULT_VERBOSITY.saturating_add(o.verbose),
        ..Config::default()
    };
    if o.verbose == 0 {
        if let Some(v) = (env.0)("TINI_VERBOSITY") {
            cfg.verbosity = atoi_verbosity(&v.to_string_lossy());
        }
    }
    let variables = (
        env.set("TINI_KILL_PROCESS_GROUP"),
        env.set("TINI_CHILD_ONLY"),
        env.set("TINI_BROADCAST"),
    );
    let (delivery, note) = delivery((o.group, o.child, o.all), variables)?;
    cfg.delivery = delivery;
    cfg.notes.extend(note);
    if let Some(p) = env.or_var(o.pdeath, "TINI_PDEATHSIG")? {
        cfg.parent_death_signal = Some(parse_parent_death_signal(&p)?);
    }
    for c in env.list("TINI_REMAP_EXIT", o.remap)? {
        cfg.remap.insert(parse_exit_code(&c)?);
    }
    if let Some(g) = env.or_var(o.grace, "TINI_GRACE_PERIOD")? {
        cfg.grace_period = duration("grace period", &g)?;
    }
    if let Some(d) = env.or_var(o.stop_delay, "TINI_STOP_DELAY")? {
        cfg.stop_delay = duration("stop delay", &d)?;
    }
    for r in env.list("TINI_REWRITE", o.rewrite)? {
        let (from, to) = parse_rule(&r)?;
        cfg.rewrite.set(from, to);
    }
    if let Some(e) = env.or_var(o.machine_end, "TINI_MACHINE_END")? {
        cfg.machine_end = MachineEnd::parse(&e)?;
    }
    Ok(cfg)
}

/// The command line, before the environment is looked at.
#[derive(Default)]
struct Options {
    help: bool,
    license: bool,
    subreaper: bool,
    warn: bool,
    pause: bool,
    verbose: u8,
    group: bool,
    child: bool,
    all: bool,
    pdeath: Option<String>,
    remap: Vec<String>,
    grace: Option<String>,
    stop_delay: Option<String>,
    wait: bool,
    rewrite: Vec<String>,
    no_machine: bool,
    machine_end: Option<String>,
    hostname: Option<OsString>,
    program: Vec<OsString>,
}

/// Parses the options. A command line with no option at all, `-- PROG...` (how Docker's
/// `--init` and most entry points call an init) or `PROG...`, needs no grammar: it skips
/// clap, which is most of tini-rs's start-up work.
fn options(args: &[OsString]) -> Result<Options, UsageError> {
    let program = match args.split_first() {
        Some((first, rest)) if first == "--" => Some(rest),
        Some((first, _)) if !first.as_encoded_bytes().starts_with(b"-") => Some(args),
        _ => None,
    };
    if let Some(program) = program {
        return Ok(Options {
            program: program.to_vec(),
            ..Options::default()
        });
    }
    match getopt_walk(args)? {
        Some(Action::Help) => {
            return Ok(Options {
                help: true,
                ..Options::default()
            });
        }
        Some(_) => {
            return Ok(Options {
                license: true,
                ..Options::default()
            });
        }
        None => {}
    }
    let with_name = std::iter::once(OsString::from("tini-rs")).chain(args.iter().cloned());
    let matches = command()
        .try_get_matches_from(with_name)
        .map_err(|e| UsageError(clap_message(&e)))?;
    let m = &matches;
    let strings = |id: &str| -> Vec<String> {
        m.get_raw(id)
            .into_iter()
            .flatten()
            .map(|v| v.to_string_lossy().into_owned())
            .collect()
    };
    Ok(Options {
        // `-h` and `-l` count only where getopt reaches them first (`getopt_walk`).
        help: false,
        license: false,
        subreaper: m.get_flag("subreaper"),
        warn: m.get_flag("warn"),
        pause: m.get_flag("pause"),
        verbose: m.get_count("verbose"),
        group: m.get_flag("group"),
        child: m.get_flag("child"),
        all: m.get_flag("all"),
        pdeath: strings("pdeath").pop(),
        remap: strings("remap"),
        grace: strings("grace").pop(),
        stop_delay: strings("stop_delay").pop(),
        wait: m.get_flag("wait"),
        rewrite: strings("rewrite"),
        no_machine: m.get_flag("no_machine"),
        machine_end: strings("machine_end").pop(),
        hostname: m
            .get_raw("hostname")
            .into_iter()
            .flatten()
            .next_back()
            .map(OsStr::to_os_string),
        program: m
            .get_raw("program")
            .into_iter()
            .flatten()
            .map(OsStr::to_os_string)
            .collect(),
    })
}

/// What getopt, taking the options in order as tini's loop does, meets first: `-h` or `-l`
/// (it prints the help or the licence: tini does this for `-h -x` and `-l -p BOGUS`), or a
/// value that is not valid (the first one: `-p BOGUS -p TERM` fails, `-e 300 -p BOGUS`
/// names the 300). `None`: none of these before an unknown option, a missing value or the
/// end of the options, which clap then handles.
fn getopt_walk(args: &[OsString]) -> Result<Option<Action>, UsageError> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let Some(arg) = arg.to_str() else {
            return Ok(None);
        };
        if arg == "--" || arg == "-" || !arg.starts_with('-') {
            return Ok(None);
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = long
                .split_once('=')
                .map_or((long, None), |(n, v)| (n, Some(v)));
            let Some(o) = OPTIONS
                .iter()
                .find(|o| o.long == Some(name) && o.id != "version")
            else {
                return Ok(None);
            };
            if let Some(action) = decides(o) {
                return Ok(Some(action));
            }
            if o.value.is_some() {
                let Some(value) = inline.or_else(|| rest.next().and_then(|v| v.to_str())) else {
                    return Ok(None);
                };
                check_value(o.id, value)?;
            }
            continue;
        }
        for (i, c) in arg.char_indices().skip(1) {
            let Some(o) = OPTIONS.iter().find(|o| o.short == Some(c)) else {
                return Ok(None);
            };
            if let Some(action) = decides(o) {
                return Ok(Some(action));
            }
            if o.value.is_some() {
                let attached = arg.get(i + c.len_utf8()..).unwrap_or("");
                let value = if attached.is_empty() {
                    rest.next().and_then(|v| v.to_str())
                } else {
                    Some(attached)
                };
                let Some(value) = value else {
                    return Ok(None);
                };
                check_value(o.id, value)?;
                break;
            }
        }
    }
    Ok(None)
}

/// The action an option takes at once, where getopt meets it.
fn decides(o: &crate::options::Opt) -> Option<Action> {
    match o.id {
        "help" => Some(Action::Help),
        "license" => Some(Action::License),
        _ => None,
    }
}

/// Checks one option's value as the configuration will read it.
fn check_value(id: &str, value: &str) -> Result<(), UsageError> {
    match id {
        "pdeath" => parse_parent_death_signal(value).map(drop),
        "remap" => parse_exit_code(value).map(drop),
        "grace" => duration("grace period", value).map(drop),
        "stop_delay" => duration("stop delay", value).map(drop),
        "rewrite" => parse_rule(value).map(drop),
        _ => Ok(()),
    }
}

/// Where signals go. On the command line, `-c` with `-a` is a contradiction (an error);
/// `-g` yields to either, and each of the three beats every variable. The variables count
/// only when the command line says nothing, and never fail: `TINI_CHILD_ONLY` wins over
/// `TINI_BROADCAST` (the second comes back as a note to log), and `TINI_KILL_PROCESS_GROUP`
/// (tini's) yields to both.
fn delivery(
    (group, child, all): (bool, bool, bool),
    (_env_group, env_child, env_all): (bool, bool, bool),
) -> Result<(Delivery, Option<String>), UsageError> {
    match (child, all) {
        (true, true) => Err(UsageError(
            "-c (child only) and -a (broadcast) exclude each other".into(),
        )),
        (true, false) => Ok((Delivery::Child, None)),
        (false, true) => Ok((Delivery::All, None)),
        (false, false) if group => Ok((Delivery::Group, None)),
        (false, false) => Ok(match (env_child, env_all) {
            (true, true) => (
                Delivery::Child,
                Some(
                    "TINI_CHILD_ONLY and TINI_BROADCAST are both set: signalling the program only"
                        .into(),
                ),
            ),
            (true, false) => (Delivery::Child, None),
            (false, true) => (Delivery::All, None),
            (false, false) => (Delivery::Group, None),
        }),
    }
}

/// One line from a clap error: its first line without the `error: ` prefix.
fn clap_message(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid arguments");
    first.trim_start_matches("error: ").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals;
    use std::collections::HashMap;
    use std::time::Duration;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Action, UsageError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let env: HashMap<String, OsString> = env
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        parse(&args, |k| env.get(k).cloned())
    }

    fn cfg(args: &[&str], env: &[(&str, &str)]) -> Config {
        match run(args, env) {
            Ok(Action::Run(c)) => *c,
            other => unreachable!("{args:?} {env:?} gave {other:?}"),
        }
    }

    fn prog(p: &[&str]) -> Vec<OsString> {
        p.iter().map(OsString::from).collect()
    }

    #[test]
    fn usage_errors_are_one_line_even_with_control_characters_in_the_input() {
        let Err(UsageError(msg)) = run(&["x"], &[("TINI_REMAP_EXIT", ".\n.")]) else {
            unreachable!()
        };
        assert_eq!(msg, "invalid exit code '.\\n.' for -e: expected 0 to 255");
        let Err(UsageError(msg)) = run(&["-e", "1\r\t2", "x"], &[]) else {
            unreachable!()
        };
        assert!(!msg.contains(['\r', '\t', '\n']), "{msg}");
    }

    #[test]
    fn plain_program_gets_defaults() {
        let c = cfg(&["--", "sleep", "1"], &[]);
        assert_eq!(c.program, prog(&["sleep", "1"]));
        assert_eq!(c.verbosity, DEFAULT_VERBOSITY);
        assert_eq!(c.delivery, Delivery::Group);
        assert!(!c.subreaper && !c.warn_on_reap && !c.pause);
        assert_eq!(c.grace_period, None);
        assert!(c.rewrite.is_empty());
    }

    #[test]
    fn wait_descendants_by_option_or_variable() {
        assert!(!cfg(&["--", "x"], &[]).wait_descendants);
        assert!(cfg(&["--wait-descendants", "--", "x"], &[]).wait_descendants);
        assert!(cfg(&["--", "x"], &[("TINI_WAIT_DESCENDANTS", "")]).wait_descendants);
    }

    #[test]
    fn machine_settings_by_option_or_variable() {
        assert!(!cfg(&["--", "x"], &[]).no_machine);
        assert!(cfg(&["--no-machine", "--", "x"], &[]).no_machine);
        assert!(cfg(&["--", "x"], &[("TINI_NO_MACHINE", "")]).no_machine);
        let host = |args: &[&str], env: &[(&str, &str)]| cfg(args, env).hostname;
        assert_eq!(host(&["--", "x"], &[]), None);
        assert_eq!(host(&["--hostname", "a", "--", "x"], &[]), Some("a".into()));
        assert_eq!(
            host(&["--", "x"], &[("TINI_HOSTNAME", "b")]),
            Some("b".into())
        );
        let both = [("TINI_HOSTNAME", "b")];
        assert_eq!(host(&["--hostname", "a", "x"], &both), Some("a".into()));
    }

    #[test]
    fn parsing_stops_at_first_non_option() {
        // tini on glibc permutes and would take -l as its own; POSIX parsing runs `ls -l`.
        assert_eq!(cfg(&["ls", "-l"], &[]).program, prog(&["ls", "-l"]));
        assert_eq!(
            cfg(&["-s", "ls", "-s", "--", "-v"], &[]).program,
            prog(&["ls", "-s", "--", "-v"])
        );
        assert_eq!(
            cfg(&["--", "-weird-name", "-h"], &[]).program,
            prog(&["-weird-name", "-h"])
        );
        assert_eq!(
            cfg(&["-e", "0", "sh", "-c", "exit 3"], &[]).program,
            prog(&["sh", "-c", "exit 3"])
        );
    }

    #[test]
    fn table_of_options() {
        let c = cfg(
            &[
                "-s", "-vvv", "-w", "-p", "SIGTERM", "-e", "143", "-e3", "--", "x",
            ],
            &[],
        );
        assert!(c.subreaper && c.warn_on_reap);
        assert_eq!(c.verbosity, 4);
        assert_eq!(c.parent_death_signal, Some(libc::SIGTERM));
        assert!(c.remap.contains(143) && c.remap.contains(3) && !c.remap.contains(0));
        assert_eq!(cfg(&["-sv", "x"], &[]).verbosity, 2);
        assert_eq!(
            cfg(&["-p", "kill", "x"], &[]).parent_death_signal,
            Some(libc::SIGKILL)
        );
        // A number is that signal on every architecture: 10 is SIGUSR1 on most, SIGBUS on MIPS.
        assert_eq!(cfg(&["-p", "10", "x"], &[]).parent_death_signal, Some(10));
        assert_eq!(cfg(&["-g", "x"], &[]).delivery, Delivery::Group);
        assert_eq!(cfg(&["-c", "x"], &[]).delivery, Delivery::Child);
        assert_eq!(cfg(&["--child-only", "x"], &[]).delivery, Delivery::Child);
        assert_eq!(cfg(&["-a", "x"], &[]).delivery, Delivery::All);
        assert_eq!(
            cfg(&["-g", "--broadcast", "x"], &[]).delivery,
            Delivery::All
        );
        assert_eq!(
            cfg(&["-t", "2s", "x"], &[]).grace_period,
            Some(Duration::from_secs(2))
        );
        assert_eq!(cfg(&["--grace-period=0", "x"], &[]).grace_period, None);
        assert!(cfg(&["--pause"], &[]).pause);
        let r = cfg(&["-r", "TERM:QUIT", "--rewrite", "USR1:drop", "x"], &[]).rewrite;
        assert_eq!(r.apply(libc::SIGTERM), Some(libc::SIGQUIT));
        assert_eq!(r.apply(libc::SIGUSR1), None);
        assert_eq!(r.apply(libc::SIGINT), Some(libc::SIGINT));
    }

    #[test]
    fn table_of_environment() {
        // tini's variables switch on when merely set, even empty or "0".
        assert!(cfg(&["x"], &[("TINI_SUBREAPER", "")]).subreaper);
        assert!(cfg(&["x"], &[("TINI_SUBREAPER", "0")]).subreaper);
        assert_eq!(
            cfg(&["x"], &[("TINI_KILL_PROCESS_GROUP", "")]).delivery,
            Delivery::Group
        );
        // The command line wins: -vvv beats TINI_VERBOSITY=0.
        assert_eq!(cfg(&["-vvv", "x"], &[("TINI_VERBOSITY", "0")]).verbosity, 4);
        assert_eq!(cfg(&["x"], &[("TINI_VERBOSITY", "3")]).verbosity, 3);
        // Like tini's atoi: junk and empty mean 0, never an error.
        for (v, want) in [
            ("", 0),
            ("loud", 0),
            ("3x", 3),
            (" 2", 2),
            ("-1", 0),
            ("+4", 4),
            ("999", 255),
        ] {
            assert_eq!(
                cfg(&["x"], &[("TINI_VERBOSITY", v)]).verbosity,
                want,
                "{v:?}"
            );
        }
        assert_eq!(
            cfg(&["x"], &[("TINI_CHILD_ONLY", "")]).delivery,
            Delivery::Child
        );
        assert_eq!(
            cfg(&["x"], &[("TINI_BROADCAST", "1")]).delivery,
            Delivery::All
        );
        assert!(cfg(&["x"], &[("TINI_WARN_ON_REAP", "")]).warn_on_reap);
        assert!(cfg(&[], &[("TINI_PAUSE", "")]).pause);
        assert_eq!(
            cfg(&["x"], &[("TINI_PDEATHSIG", "USR2")]).parent_death_signal,
            Some(libc::SIGUSR2)
        );
        assert_eq!(
            cfg(&["x"], &[("TINI_GRACE_PERIOD", "1500ms")]).grace_period,
            Some(Duration::from_millis(1500))
        );
        // The option beats the variable.
        assert_eq!(
            cfg(&["-t", "3", "x"], &[("TINI_GRACE_PERIOD", "9")]).grace_period,
            Some(Duration::from_secs(3))
        );
        let c = cfg(
            &["x"],
            &[
                ("TINI_REMAP_EXIT", "143, 130"),
                ("TINI_REWRITE", "TERM:QUIT,SIGRTMIN+1:10"),
            ],
        );
        assert!(c.remap.contains(143) && c.remap.contains(130) && !c.remap.contains(1));
        assert_eq!(c.rewrite.apply(libc::SIGTERM), Some(libc::SIGQUIT));
        assert_eq!(c.rewrite.apply(signals::rt_min() + 1), Some(10));
        // Options come after the variable, so a later rule for the same signal wins.
        let c = cfg(&["-r", "TERM:INT", "x"], &[("TINI_REWRITE", "TERM:QUIT")]);
        assert_eq!(c.rewrite.apply(libc::SIGTERM), Some(libc::SIGINT));
    }

    #[test]
    fn command_line_beats_environment() {
        let all_env = [
            ("TINI_KILL_PROCESS_GROUP", "1"),
            ("TINI_BROADCAST", "1"),
            ("TINI_PDEATHSIG", "NOPE"),
            ("TINI_GRACE_PERIOD", "junk"),
            ("TINI_VERBOSITY", "0"),
            ("TINI_PAUSE", ""),
        ];
        let c = cfg(&["-c", "-p", "HUP", "-t", "2s", "-vv", "x"], &all_env);
        assert_eq!(c.delivery, Delivery::Child);
        assert_eq!(c.parent_death_signal, Some(libc::SIGHUP));
        assert_eq!(c.grace_period, Some(Duration::from_secs(2)));
        assert_eq!(c.verbosity, 3);
        assert!(!c.pause);
        assert!(c.notes.is_empty());
        // The image's TINI_KILL_PROCESS_GROUP never stops -c, nor TINI_CHILD_ONLY.
        let group = [("TINI_KILL_PROCESS_GROUP", "")];
        assert_eq!(cfg(&["-c", "x"], &group).delivery, Delivery::Child);
        assert_eq!(cfg(&["-g", "-c", "x"], &[]).delivery, Delivery::Child);
        // -g beats the delivery variables as -c and -a do.
        for var in [
            "TINI_CHILD_ONLY",
            "TINI_BROADCAST",
            "TINI_KILL_PROCESS_GROUP",
        ] {
            assert_eq!(
                cfg(&["-g", "x"], &[(var, "")]).delivery,
                Delivery::Group,
                "{var}"
            );
        }
        let c = cfg(
            &["-g", "x"],
            &[("TINI_CHILD_ONLY", ""), ("TINI_BROADCAST", "")],
        );
        assert_eq!(c.delivery, Delivery::Group);
        assert!(c.notes.is_empty());
        let both = [("TINI_KILL_PROCESS_GROUP", ""), ("TINI_CHILD_ONLY", "")];
        assert_eq!(cfg(&["x"], &both).delivery, Delivery::Child);
        // Two of our own variables that contradict each other: the narrower wins, noted.
        let c = cfg(&["x"], &[("TINI_CHILD_ONLY", ""), ("TINI_BROADCAST", "")]);
        assert_eq!(c.delivery, Delivery::Child);
        assert_eq!(c.notes.len(), 1);
        assert_eq!(
            cfg(&["-a", "x"], &[("TINI_CHILD_ONLY", "")]).delivery,
            Delivery::All
        );
        // Without -v the variable sets the level.
        assert_eq!(cfg(&["x"], &[("TINI_VERBOSITY", "4")]).verbosity, 4);
    }

    #[test]
    fn getopt_habits() {
        for args in [
            &["-s", "-s", "x"][..],
            &["-vswss", "x"],
            &["-g", "-g", "x"],
            &["-w", "-w", "x"],
        ] {
            assert_eq!(cfg(args, &[]).program, prog(&["x"]), "{args:?}");
        }
        assert_eq!(cfg(&["-vswss", "x"], &[]).verbosity, 2);
        assert!(cfg(&["-vswss", "x"], &[]).subreaper);
        // As with tini's getopt, -l inside a cluster prints the licence.
        assert_eq!(run(&["-vslss", "x"], &[]), Ok(Action::License));
        assert_eq!(cfg(&["-vv", "-v", "x"], &[]).verbosity, 4);
        assert_eq!(
            cfg(&["-p", "INT", "-p", "HUP", "x"], &[]).parent_death_signal,
            Some(libc::SIGHUP)
        );
        for (name, sig) in [
            ("SIGKILL", libc::SIGKILL),
            ("SIGSTOP", libc::SIGSTOP),
            ("SIGSEGV", libc::SIGSEGV),
            ("SIGCHLD", libc::SIGCHLD),
            ("SIGTTIN", libc::SIGTTIN),
            ("SIGSYS", libc::SIGSYS),
            ("term", libc::SIGTERM),
            ("9", libc::SIGKILL),
        ] {
            assert_eq!(
                cfg(&["-p", name, "x"], &[]).parent_death_signal,
                Some(sig),
                "{name}"
            );
        }
        for args in [
            &["-v", "-h"][..],
            &["-vh"],
            &["-s", "-h", "--", "x"],
            &["-e", "3", "-h", "x"],
            &["-t", "5s", "-h"],
            &["-h", "-x", "true"],
            &["-h", "--frob"],
            &["-p", "HUP", "-h", "-x"],
            &["-pHUP", "--grace-period", "5s", "-h"],
        ] {
            assert_eq!(run(args, &[]), Ok(Action::Help), "{args:?}");
        }
        // As getopt: an error met before -h wins.
        for args in [
            &["-x", "-h"][..],
            &["-p", "BOGUS", "-h"],
            &["-e", "300", "-h"],
            &["-p", "BOGUS", "-l"],
            &["-x", "-l"],
            // Every value is checked, tini-rs's own options' too.
            &["-pHUP", "--grace-period", "bogus", "-h"],
        ] {
            assert!(run(args, &[]).is_err(), "{args:?}");
        }
        // -h after a value tini's strtol accepts; -l decides where it stands, as -h does.
        for args in [
            &["-e", "+5", "-h"][..],
            &["-e", "", "-h"],
            &["-e", " 5", "-h"],
        ] {
            assert_eq!(run(args, &[]), Ok(Action::Help), "{args:?}");
        }
        for args in [
            &["-l", "-h"][..],
            &["-l", "-x"],
            &["-l", "-p", "BOGUS"],
            &["-e", "-0", "-l"],
        ] {
            assert_eq!(run(args, &[]), Ok(Action::License), "{args:?}");
        }
        assert_eq!(run(&["-h", "-l"], &[]), Ok(Action::Help));
    }

    /// Every value is checked in order and the first bad one is the error, whatever comes
    /// after it (a later good value, another bad one, an unknown option).
    #[test]
    fn the_first_bad_value_wins() {
        for (args, needle) in [
            (&["-p", "BOGUS", "-p", "SIGTERM", "x"][..], "BOGUS"),
            (&["-e", "300", "-p", "BOGUS", "x"], "300"),
            (&["-p", "BOGUS", "-e", "300", "x"], "BOGUS"),
            (&["-t", "soon", "-r", "NOPE:TERM", "x"], "soon"),
            (&["-r", "NOPE:TERM", "-t", "soon", "x"], "NOPE"),
            (&["--stop-delay=never", "-e", "300", "x"], "never"),
            (&["-pBOGUS", "--frob", "x"], "BOGUS"),
            (&["--frob", "-p", "BOGUS", "x"], "--frob"),
        ] {
            match run(args, &[]) {
                Err(UsageError(msg)) => assert!(msg.contains(needle), "{args:?}: {msg}"),
                other => unreachable!("{args:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn special_actions() {
        assert_eq!(run(&["--version"], &[]), Ok(Action::Version));
        assert_eq!(run(&["-h"], &[]), Ok(Action::Help));
        assert_eq!(run(&["--help"], &[]), Ok(Action::Help));
        assert_eq!(run(&["-l"], &[]), Ok(Action::License));
        assert_eq!(run(&["-s", "-h", "x"], &[]), Ok(Action::Help));
        // --version is special only alone: `tini-rs -- prog --version` runs prog.
        assert_eq!(
            cfg(&["--", "prog", "--version"], &[]).program,
            prog(&["prog", "--version"])
        );
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (&["-x", "prog"], &[], "-x"),
            (&["--nope", "prog"], &[], "--nope"),
            (&["-e"], &[], "-e"),
            (&["-p"], &[], "-p"),
            (&["-e", "256", "x"], &[], "256"),
            (&["-e", "x", "y"], &[], "'x'"),
            (&["-e", "-1", "y"], &[], ""),
            (&["-p", "SIGNOPE", "x"], &[], "SIGNOPE"),
            (&["-p", "32", "x"], &[], "32"),
            (&[], &[], "no program"),
            (&["-s", "-v"], &[], "no program"),
            (&["--pause", "x"], &[], "--pause"),
            (&["-c", "-a", "x"], &[], "exclude"),
            (&["x"], &[("TINI_PDEATHSIG", "NOPE")], "NOPE"),
            (&["-t", "soon", "x"], &[], "soon"),
            (&["-t", "-1", "x"], &[], ""),
            (&["-t", "48h", "x"], &[], "48h"),
            (&["-r", "TERM", "x"], &[], "FROM:TO"),
            (&["-r", "NOPE:TERM", "x"], &[], "NOPE"),
            (&["-r", "TERM:NOPE", "x"], &[], "NOPE"),
            (&["-r", "CHLD:TERM", "x"], &[], "never forwarded"),
            (&["-r", "KILL:TERM", "x"], &[], "never forwarded"),
            (&["-r", "TERM:32", "x"], &[], "reserved"),
            (&["x"], &[("TINI_REMAP_EXIT", "1,300")], "300"),
            (&["x"], &[("TINI_REWRITE", "TERM:QUIT,bogus")], "bogus"),
            (&["x"], &[("TINI_GRACE_PERIOD", "1.2.3s")], "1.2.3s"),
            (&["--version", "x"], &[], "--version"),
        ];
        for (args, env, needle) in cases {
            match run(args, env) {
                Err(UsageError(msg)) => {
                    assert!(
                        msg.contains(needle),
                        "{args:?} {env:?}: {msg:?} lacks {needle:?}"
                    );
                    assert!(
                        !msg.contains('\n'),
                        "{args:?}: message is not one line: {msg:?}"
                    );
                    assert!(!msg.is_empty());
                }
                other => unreachable!("{args:?} {env:?} should fail, gave {other:?}"),
            }
        }
    }
}
