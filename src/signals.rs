//! Signal names, the set tini-rs blocks, and which signals are forwarded.
//!
//! Every signal is blocked except the synchronous fault signals (a fault in tini-rs itself
//! must kill it with a core, not be swallowed), SIGKILL and SIGSTOP (which cannot be), and
//! glibc's two internal real-time signals. Blocked signals are fetched with `sigtimedwait`.

use crate::state::Origin;
use crate::sys::{self, MAX_SIGNAL, SignalSet};

/// The standard signals' names with this architecture's numbers: MIPS numbers them
/// differently from the rest of Linux (SIGUSR1 is 16 there, SIGCHLD 18) and has SIGEMT where
/// the others have SIGSTKFLT. Real-time signals' names are computed.
const NAMES: [(&str, i32); 31] = [
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    STKFLT_OR_EMT,
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];
#[cfg(not(any(target_arch = "mips", target_arch = "mips64")))]
const STKFLT_OR_EMT: (&str, i32) = ("STKFLT", libc::SIGSTKFLT);
#[cfg(any(target_arch = "mips", target_arch = "mips64"))]
const STKFLT_OR_EMT: (&str, i32) = ("EMT", libc::SIGEMT);

/// The standard signals are 1..=31 on every Linux architecture (the last is SIGSYS on most,
/// SIGXFSZ on MIPS); from 32 up to [`rt_min`] the numbers are glibc's own.
const LAST_STANDARD: i32 = 31;

/// Whether `sig` is one of the numbers glibc keeps for itself (32 and 33).
pub fn is_reserved(sig: i32) -> bool {
    sig > LAST_STANDARD && sig < rt_min()
}

/// Faults raised by the CPU or by `abort`: left at their default action, never forwarded.
pub const FAULTS: [i32; 7] = [
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// First real-time signal available to programs (glibc keeps 32 and 33 for itself).
pub fn rt_min() -> i32 {
    libc::SIGRTMIN()
}

/// Last real-time signal.
pub fn rt_max() -> i32 {
    libc::SIGRTMAX()
}

/// `SIGTERM`, `SIGRTMIN+3`, `SIGRTMAX`, or `SIG42` for numbers with no name.
pub fn name(sig: i32) -> String {
    let (min, max) = (rt_min(), rt_max());
    if let Some((n, _)) = NAMES.iter().find(|(_, s)| *s == sig) {
        return format!("SIG{n}");
    }
    if sig == min {
        "SIGRTMIN".to_string()
    } else if sig == max {
        "SIGRTMAX".to_string()
    } else if sig > min && sig < max {
        format!("SIGRTMIN+{}", sig - min)
    } else {
        format!("SIG{sig}")
    }
}

/// Parses a signal: `TERM`, `SIGTERM`, `term`, `15`, `RTMIN+2`, `SIGRTMAX-1`.
/// Returns `None` for anything that is not a signal number of this system (`1..=MAX_SIGNAL`).
pub fn parse(text: &str) -> Option<i32> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=MAX_SIGNAL).contains(n));
    }
    let upper = t.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, sig)) = NAMES.iter().find(|(n, _)| *n == bare) {
        return Some(*sig);
    }
    // Common aliases.
    match bare {
        "IOT" => return Some(libc::SIGABRT),
        "POLL" => return Some(libc::SIGIO),
        "CLD" => return Some(libc::SIGCHLD),
        _ => {}
    }
    let (min, max) = (rt_min(), rt_max());
    let rt = |base: i32, rest: &str, sign: i32| -> Option<i32> {
        if rest.is_empty() {
            return Some(base);
        }
        let off: i32 = rest.parse().ok()?;
        let n = base + sign * off;
        (min..=max).contains(&n).then_some(n)
    };
    if let Some(rest) = bare.strip_prefix("RTMIN") {
        return match rest.strip_prefix('+') {
            Some(r) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) => rt(min, r, 1),
            None if rest.is_empty() => Some(min),
            _ => None,
        };
    }
    if let Some(rest) = bare.strip_prefix("RTMAX") {
        return match rest.strip_prefix('-') {
            Some(r) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) => rt(max, r, -1),
            None if rest.is_empty() => Some(max),
            _ => None,
        };
    }
    None
}

/// Whether tini-rs waits for `sig` (blocks it) at all.
pub fn is_blocked(sig: i32) -> bool {
    (1..=MAX_SIGNAL).contains(&sig)
        && sig != libc::SIGKILL
        && sig != libc::SIGSTOP
        && !FAULTS.contains(&sig)
        && !is_reserved(sig)
}

/// Blocked but never passed on: SIGCHLD drives reaping, and SIGTTIN/SIGTTOU are about
/// tini-rs itself (it may touch a terminal whose foreground group it gave to the program).
pub const NEVER_FORWARDED: [i32; 3] = [libc::SIGCHLD, libc::SIGTTIN, libc::SIGTTOU];

/// Whether a received `sig` is passed on to the program: every blocked signal except
/// [`NEVER_FORWARDED`].
pub fn is_forwardable(sig: i32) -> bool {
    is_blocked(sig) && !NEVER_FORWARDED.contains(&sig)
}

/// Whether a received `sig` stays with tini-rs: [`NEVER_FORWARDED`], and under the name
/// `catatonit` SIGTSTP too, which catatonit keeps with the other two terminal stop signals
/// (it forwards every other signal it can block).
pub fn is_kept(sig: i32, catatonit: bool) -> bool {
    NEVER_FORWARDED.contains(&sig) || (catatonit && sig == libc::SIGTSTP)
}

/// The set tini-rs blocks and waits on.
pub fn blocked_set() -> SignalSet {
    let mut set = SignalSet::empty();
    for sig in (1..=MAX_SIGNAL).filter(|s| is_blocked(*s)) {
        set.add(sig);
    }
    set
}

/// Where a received signal came from, for the core. A SIGPIPE is tini-rs's own when the
/// kernel raised it for tini-rs's write to a broken stderr: `SI_USER` from its own PID.
pub fn origin(r: &sys::Received, own_pid: i32) -> Origin {
    match r.code {
        libc::SI_USER if r.signo == libc::SIGPIPE && r.pid == own_pid => Origin::OwnPipe,
        libc::SI_KERNEL => Origin::Kernel,
        _ => Origin::Sent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_for_every_signal() {
        for sig in 1..=MAX_SIGNAL {
            let n = name(sig);
            if is_reserved(sig) {
                assert_eq!(n, format!("SIG{sig}"));
                continue;
            }
            assert_eq!(parse(&n), Some(sig), "{n}");
            assert_eq!(parse(n.trim_start_matches("SIG")), Some(sig), "{n}");
            assert_eq!(parse(&n.to_lowercase()), Some(sig), "{n}");
            assert_eq!(parse(&sig.to_string()), Some(sig));
        }
    }

    #[test]
    fn known_names() {
        assert_eq!(name(libc::SIGTERM), "SIGTERM");
        assert_eq!(name(libc::SIGWINCH), "SIGWINCH");
        assert_eq!(name(rt_min()), "SIGRTMIN");
        assert_eq!(name(rt_min() + 3), "SIGRTMIN+3");
        assert_eq!(name(rt_max()), "SIGRTMAX");
        assert_eq!(parse("SIGRTMAX-2"), Some(rt_max() - 2));
        assert_eq!(parse("iot"), Some(libc::SIGABRT));
    }

    #[test]
    fn rejects_what_is_not_a_signal() {
        for bad in [
            "",
            "0",
            "-1",
            "SIGNOPE",
            "TERMX",
            "SIG",
            "RTMIN+",
            "RTMIN-1",
            "RTMAX+1",
            "RTMIN+99",
            "1x",
            "+5",
            " ",
            "SIGRTMIN+-1",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse(&(MAX_SIGNAL + 1).to_string()), None);
    }

    #[test]
    fn blocked_and_forwarded_sets() {
        for sig in FAULTS {
            assert!(!is_blocked(sig), "{}", name(sig));
        }
        for sig in [libc::SIGKILL, libc::SIGSTOP, 32, 33, 0, MAX_SIGNAL + 1] {
            assert!(!is_blocked(sig), "{sig}");
        }
        for sig in [libc::SIGCHLD, libc::SIGTTIN, libc::SIGTTOU] {
            assert!(is_blocked(sig) && !is_forwardable(sig), "{}", name(sig));
        }
        let forwarded: Vec<i32> = (1..=MAX_SIGNAL).filter(|s| is_forwardable(*s)).collect();
        // By name: the numbers differ on MIPS.
        let mut want = vec![
            libc::SIGHUP,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGPIPE,
            libc::SIGALRM,
            libc::SIGTERM,
            STKFLT_OR_EMT.1,
            libc::SIGCONT,
            libc::SIGTSTP,
            libc::SIGURG,
            libc::SIGXCPU,
            libc::SIGXFSZ,
            libc::SIGVTALRM,
            libc::SIGPROF,
            libc::SIGWINCH,
            libc::SIGIO,
            libc::SIGPWR,
        ];
        want.sort_unstable();
        want.extend(rt_min()..=rt_max());
        assert_eq!(forwarded, want);
        // As catatonit: SIGTSTP is kept too, nothing else changes.
        let as_catatonit: Vec<i32> = forwarded
            .iter()
            .copied()
            .filter(|s| !is_kept(*s, true))
            .collect();
        want.retain(|s| *s != libc::SIGTSTP);
        assert_eq!(as_catatonit, want);
        assert!((1..=MAX_SIGNAL).all(|s| is_kept(s, false) == NEVER_FORWARDED.contains(&s)));
    }

    #[test]
    fn origins() {
        let own = sys::Received {
            signo: libc::SIGPIPE,
            code: libc::SI_USER,
            pid: 42,
        };
        assert_eq!(origin(&own, 42), Origin::OwnPipe);
        assert_eq!(origin(&own, 7), Origin::Sent);
        let queued = sys::Received {
            code: libc::SI_QUEUE,
            ..own
        };
        assert_eq!(origin(&queued, 42), Origin::Sent);
        let term = sys::Received {
            signo: libc::SIGTERM,
            ..own
        };
        assert_eq!(origin(&term, 42), Origin::Sent);
        // Ctrl-Alt-Del's SIGINT to PID 1.
        let kernel = sys::Received {
            signo: libc::SIGINT,
            code: libc::SI_KERNEL,
            pid: 0,
        };
        assert_eq!(origin(&kernel, 1), Origin::Kernel);
    }

    /// The aliases tini's names table lacks, and real-time offsets that are not plain digits
    /// (a sign of their own, nothing after the sign): not signals.
    #[test]
    fn aliases_and_malformed_real_time_offsets() {
        assert_eq!(parse("SIGPOLL"), Some(libc::SIGIO));
        assert_eq!(parse("cld"), Some(libc::SIGCHLD));
        assert_eq!(parse("IOT"), Some(libc::SIGABRT));
        for bad in [
            "RTMIN+",
            "SIGRTMAX-",
            "RTMIN++1",
            "RTMAX-+1",
            "RTMIN+-1",
            "RTMAX--1",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
