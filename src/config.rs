//! The validated configuration and its parts: where signals go, rewrite rules, and the
//! parsers of single values (exit codes, durations, signals, verbosity). Pure: nothing here
//! reads the environment or prints.

use std::ffi::OsString;
use std::time::Duration;

use crate::exit_code::Remap;
use crate::signals;

/// Where forwarded signals go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// The program's process group (tini's `-g`, dumb-init's default). Default here.
    #[default]
    Group,
    /// The program's PID only (tini's default).
    Child,
    /// Everything tini-rs is responsible for: `kill(-1)` as PID 1, else every descendant.
    All,
}

/// Signal rewriting rules: `table[from]` is `None` (unchanged), `Some(0)` (drop), `Some(to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite([Option<u8>; 65]);

impl Default for Rewrite {
    fn default() -> Self {
        Rewrite([None; 65])
    }
}

impl Rewrite {
    /// What `sig` becomes: `None` when it is dropped.
    pub fn apply(&self, sig: i32) -> Option<i32> {
        let rule = usize::try_from(sig)
            .ok()
            .and_then(|i| self.0.get(i))
            .copied()
            .flatten();
        match rule {
            None => Some(sig),
            Some(0) => None,
            Some(to) => Some(i32::from(to)),
        }
    }

    /// Delivers `to` instead of `from` (0: drops `from`).
    pub fn set(&mut self, from: i32, to: i32) {
        if let (Some(slot), Ok(to)) = (
            usize::try_from(from).ok().and_then(|i| self.0.get_mut(i)),
            u8::try_from(to),
        ) {
            *slot = Some(to);
        }
    }

    /// Whether any rule exists.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

/// How the machine ends when tini-rs is a VM's init (`--machine-end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MachineEnd {
    /// `reboot(RB_POWER_OFF)`: QEMU and Cloud Hypervisor end.
    #[default]
    PowerOff,
    /// `reboot(RB_AUTOBOOT)`: Firecracker ends on this (it has no power-off).
    Restart,
    /// `reboot(RB_HALT_SYSTEM)`: the machine stops but stays.
    Halt,
}

impl MachineEnd {
    /// `poweroff`, `restart` or `halt`.
    pub fn parse(text: &str) -> Result<Self, UsageError> {
        match text {
            "poweroff" => Ok(MachineEnd::PowerOff),
            "restart" => Ok(MachineEnd::Restart),
            "halt" => Ok(MachineEnd::Halt),
            _ => Err(UsageError(format!(
                "invalid machine end '{text}' (use poweroff, restart or halt)"
            ))),
        }
    }
}

/// Everything `run` needs, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Program and its arguments; empty in pause mode.
    pub program: Vec<OsString>,
    /// `-s`: register as a child subreaper even as PID 1, and fail if the kernel refuses.
    pub subreaper: bool,
    /// `-p`: the signal tini-rs gets when its parent dies.
    pub parent_death_signal: Option<i32>,
    /// 0 errors, 1 warnings, 2 info, 3 debug, 4+ trace.
    pub verbosity: u8,
    /// `-w`: a warning for every reaped process that is not the program.
    pub warn_on_reap: bool,
    /// Where forwarded signals go.
    pub delivery: Delivery,
    /// `-e`: exit codes turned into 0.
    pub remap: Remap,
    /// `-t`: after the program exits, SIGTERM the rest and SIGKILL after this long.
    pub grace_period: Option<Duration>,
    /// `-r`: signals delivered as others, or dropped.
    pub rewrite: Rewrite,
    /// `--pause`: no program; exit 0 on SIGTERM or SIGINT.
    pub pause: bool,
    /// `--stop-delay`: how long the first SIGTERM is held while the program runs.
    pub stop_delay: Option<Duration>,
    /// `--wait-descendants`: after the program exits, wait for what is left to exit.
    pub wait_descendants: bool,
    /// Started as `catatonit`: a failed exec exits 1, as catatonit's does.
    pub catatonit: bool,
    /// `--no-machine`: never act as a VM's init.
    pub no_machine: bool,
    /// `--machine-end`: how a VM ends after the program.
    pub machine_end: MachineEnd,
    /// `--hostname`: the hostname a VM's init sets.
    pub hostname: Option<OsString>,
    /// Set from [`crate::machine::detect`] at start-up, not by the parser: tini-rs is the
    /// machine's init (PID 1 of the initial PID namespace), so it sets the machine up and
    /// ends it, and SIGPWR and the kernel's Ctrl-Alt-Del SIGINT are stop requests
    /// delivered as SIGTERM.
    pub machine: bool,
    /// Warnings about the configuration, logged once the logger is up.
    pub notes: Vec<String>,
}

/// A usage error: one line, printed with the usage line; exit code 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

/// Default verbosity: warnings and errors.
pub const DEFAULT_VERBOSITY: u8 = 1;

/// The longest grace period accepted.
const MAX_GRACE: Duration = Duration::from_secs(24 * 3600);

/// `TINI_VERBOSITY` read as tini reads it (C `atoi`): leading blanks, an optional sign and
/// digits; anything else counts as 0, so an image with `TINI_VERBOSITY=` that works under
/// tini still starts. Negative means 0, more than 255 means 255 (both: "as quiet/loud as
/// it gets").
pub fn atoi_verbosity(text: &str) -> u8 {
    let t = text.trim_start();
    let (negative, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..).unwrap_or("")),
        Some(b'+') => (false, t.get(1..).unwrap_or("")),
        _ => (false, t),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let value = rest
        .get(..digits)
        .filter(|d| !d.is_empty())
        .map_or(0, |d| d.parse::<u64>().unwrap_or(u64::MAX));
    if negative {
        0
    } else {
        u8::try_from(value).unwrap_or(u8::MAX)
    }
}

/// `-p SIGNAL`: every signal name tini accepts (SIGKILL, SIGSTOP and the fault signals
/// included: the kernel then does to tini-rs what it does to tini), names without `SIG`,
/// any case, numbers and real-time signals. Only glibc's reserved numbers are refused.
pub fn parse_parent_death_signal(text: &str) -> Result<i32, UsageError> {
    signals::parse(text)
        .filter(|s| !signals::is_reserved(*s))
        .ok_or_else(|| UsageError(format!("invalid parent death signal '{text}'")))
}

/// A variable's list: items separated by commas or blanks.
pub fn split_list(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `-e CODE`: what tini's `strtol(CODE, &end, 10)` takes whole (blanks first, a sign, digits,
/// nothing after; the empty text is 0), in 0..=255: `+5`, `-0`, `" 5"` and `""` are
/// accepted, `"5 "`, `5x`, `0x5`, `-1` and `256` are not.
pub fn parse_exit_code(text: &str) -> Result<u8, UsageError> {
    if text.is_empty() {
        return Ok(0);
    }
    let invalid = || {
        UsageError(format!(
            "invalid exit code '{text}' for -e: expected 0 to 255"
        ))
    };
    // C's isspace: space, \t, \n, \v, \f, \r.
    let t = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let significant = digits.trim_start_matches('0');
    match significant.parse::<u8>() {
        _ if significant.is_empty() => Ok(0),
        Ok(code) if !negative => Ok(code),
        _ => Err(UsageError(format!(
            "exit code '{text}' for -e is out of range: expected 0 to 255"
        ))),
    }
}

/// A duration: `10`, `10s`, `1.5s`, `500ms`, `2m`, `1h` (plain numbers are seconds).
/// Integer arithmetic only: no float parsing code in the binary, no rounding surprises.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit_nanos: u128 = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1_000_000_000,
        "ms" => 1_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    };
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (num.contains('.') && !digits(frac)) {
        return None;
    }
    let whole: u128 = whole.parse().ok()?;
    // frac = "5" means 5/10 of the unit; scale to nanoseconds of the unit.
    let mut frac_nanos: u128 = 0;
    let mut scale = unit_nanos;
    for b in frac.bytes() {
        scale /= 10;
        frac_nanos += u128::from(b - b'0') * scale;
    }
    let nanos = whole.checked_mul(unit_nanos)?.checked_add(frac_nanos)?;
    let d = Duration::from_nanos(u64::try_from(nanos).ok()?);
    (d <= MAX_GRACE).then_some(d)
}

/// `FROM:TO` with names or numbers; TO may be `drop` (or 0). Returns (from, to) with to=0 for drop.
pub fn parse_rule(text: &str) -> Result<(i32, i32), UsageError> {
    let bad = |why: &str| UsageError(format!("invalid rewrite rule '{text}': {why}"));
    let (from, to) = text
        .split_once(':')
        .ok_or_else(|| bad("expected FROM:TO"))?;
    let from_sig = signals::parse(from).ok_or_else(|| bad(&format!("'{from}' is not a signal")))?;
    if !signals::is_forwardable(from_sig) {
        return Err(bad(&format!(
            "{} is never forwarded, so it cannot be rewritten",
            signals::name(from_sig)
        )));
    }
    let to = to.trim();
    if to.eq_ignore_ascii_case("drop") || to == "0" {
        return Ok((from_sig, 0));
    }
    let to_sig =
        signals::parse(to).ok_or_else(|| bad(&format!("'{to}' is not a signal (or 'drop')")))?;
    if signals::is_reserved(to_sig) {
        return Err(bad(&format!(
            "signal {to_sig} is reserved by the C library"
        )));
    }
    Ok((from_sig, to_sig))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("10", 10_000),
            ("10s", 10_000),
            ("1.5s", 1_500),
            ("250ms", 250),
            ("2m", 120_000),
            ("1h", 3_600_000),
            ("0", 0),
            ("1.25s", 1_250),
            ("0.001", 1),
            ("2.5m", 150_000),
            ("24h", 86_400_000),
        ];
        for (t, ms) in ok {
            assert_eq!(parse_duration(t), Some(Duration::from_millis(ms)), "{t}");
        }
        for t in [
            "", "s", "1.", ".5", "1..2", "5x", "-5", "1e3", "25h", "nan", "inf",
        ] {
            assert_eq!(parse_duration(t), None, "{t}");
        }
    }

    /// `-e` takes what tini's `strtol(.., 10)` takes whole, in 0..=255 (checked against
    /// tini-static 0.19).
    #[test]
    fn exit_codes() {
        for (text, code) in [
            ("5", 5),
            ("+5", 5),
            ("", 0),
            ("-0", 0),
            ("+0", 0),
            ("-00", 0),
            (" 5", 5),
            ("\t\n\x0b\x0c\r 5", 5),
            ("  +7", 7),
            ("010", 10),
            ("00000000000000000000005", 5),
            ("255", 255),
        ] {
            assert_eq!(parse_exit_code(text), Ok(code), "{text:?}");
        }
        for text in [
            "5x",
            "5 ",
            "5\n",
            "0x5",
            "1e2",
            "-1",
            "-256",
            "256",
            "99999999999999999999",
            "-",
            "+",
            " ",
            "\t",
            "+-5",
            "x",
        ] {
            assert!(parse_exit_code(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn rules() {
        assert_eq!(parse_rule("TERM:QUIT"), Ok((libc::SIGTERM, libc::SIGQUIT)));
        assert_eq!(
            parse_rule("sigterm:sigint"),
            Ok((libc::SIGTERM, libc::SIGINT))
        );
        assert_eq!(parse_rule("15:3"), Ok((15, 3)));
        assert_eq!(parse_rule("USR1:drop"), Ok((libc::SIGUSR1, 0)));
        assert_eq!(parse_rule("USR1:0"), Ok((libc::SIGUSR1, 0)));
        assert_eq!(
            parse_rule("RTMIN:RTMAX"),
            Ok((signals::rt_min(), signals::rt_max()))
        );
        assert_eq!(parse_rule("TERM:KILL"), Ok((libc::SIGTERM, libc::SIGKILL)));
    }

    /// SIGSYS is a classic signal and SIGRTMIN the first real-time one: both are taken; only
    /// glibc's reserved numbers, 32 up to SIGRTMIN, are refused (on MIPS SIGSYS is 12 and 13
    /// is SIGPIPE: the range is found by number, not after SIGSYS).
    #[test]
    fn the_reserved_numbers_end_where_they_should() {
        let (sys, min) = (libc::SIGSYS, signals::rt_min());
        assert_eq!(parse_parent_death_signal("SIGSYS"), Ok(sys));
        assert_eq!(parse_parent_death_signal("RTMIN"), Ok(min));
        assert_eq!(parse_rule("TERM:SYS"), Ok((libc::SIGTERM, sys)));
        assert_eq!(parse_rule("TERM:RTMIN"), Ok((libc::SIGTERM, min)));
        for reserved in [32, min - 1] {
            let n = reserved.to_string();
            assert!(parse_parent_death_signal(&n).is_err(), "{n}");
            assert!(parse_rule(&format!("TERM:{n}")).is_err(), "{n}");
        }
    }

    #[test]
    fn machine_ends() {
        assert_eq!(MachineEnd::parse("poweroff"), Ok(MachineEnd::PowerOff));
        assert_eq!(MachineEnd::parse("restart"), Ok(MachineEnd::Restart));
        assert_eq!(MachineEnd::parse("halt"), Ok(MachineEnd::Halt));
        for bad in ["off", "Halt", ""] {
            let e = MachineEnd::parse(bad).map_err(|e| e.0);
            assert_eq!(
                e,
                Err(format!(
                    "invalid machine end '{bad}' (use poweroff, restart or halt)"
                ))
            );
        }
    }

    #[test]
    fn a_rewrite_is_empty_until_a_rule_is_set() {
        let mut r = Config::default().rewrite;
        assert!(r.is_empty());
        r.set(libc::SIGUSR1, 0);
        assert!(!r.is_empty());
    }
}
