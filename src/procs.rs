//! The process table, read from /proc: which processes descend from tini-rs or belong to
//! the program's group. Used to signal processes by PID (broadcast, and the grace period
//! when tini-rs is not PID 1).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

/// One process as /proc showed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    /// Its PID.
    pub pid: i32,
    /// Its parent's PID (0 for a process entered from outside the namespace).
    pub ppid: i32,
    /// Its process group.
    pub pgrp: i32,
    /// Start time in clock ticks after boot: with the PID, it names one process, so a
    /// process that took over a PID after the scan is told apart.
    pub start: u64,
}

/// Parses a `/proc/PID/stat` line. The command name may contain spaces and parentheses,
/// so the fields are counted after the last `)`.
pub fn parse_stat(line: &str) -> Option<Proc> {
    let (head, tail) = line.rsplit_once(')')?;
    let pid = head.split_once(" (")?.0.trim().parse().ok()?;
    // After the name: state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt, cminflt,
    // majflt, cmajflt, utime, stime, cutime, cstime, priority, nice, num_threads,
    // itrealvalue, starttime.
    let fields: Vec<&str> = tail.split_ascii_whitespace().take(20).collect();
    let field = |i: usize| fields.get(i).copied();
    Some(Proc {
        pid,
        ppid: field(1)?.parse().ok()?,
        pgrp: field(2)?.parse().ok()?,
        start: field(19)?.parse().ok()?,
    })
}

/// Reads `/proc/PID/stat` for one process.
pub fn read(pid: i32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// Every process in /proc; none when /proc is another PID namespace's.
pub fn scan() -> Vec<Proc> {
    if !own_namespace() {
        if !FOREIGN_NOTED.swap(true, Ordering::Relaxed) {
            log::warn!(
                "/proc belongs to another PID namespace (mounted without --mount-proc?); \
                 no process is signalled by /proc scan"
            );
        }
        return Vec::new();
    }
    let dir = match std::fs::read_dir("/proc") {
        Ok(dir) => dir,
        Err(e) => {
            log::warn!("reading /proc failed: {e}; no process can be found to signal");
            return Vec::new();
        }
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
        .filter_map(read)
        .collect()
}

static FOREIGN_NOTED: AtomicBool = AtomicBool::new(false);

/// Whether /proc shows this process's PID namespace: `/proc/self` names the reader by its PID
/// in the namespace of the /proc mount. In another namespace's /proc (`unshare --pid --fork`
/// without `--mount-proc`), the PIDs are other processes', which must never be signalled.
fn own_namespace() -> bool {
    let own = std::process::id().to_string();
    std::fs::read_link("/proc/self").is_ok_and(|p| p.as_os_str() == own.as_str())
}

/// The processes of `table` that descend from `root` (`root` excluded), each once,
/// parents before their children.
pub fn descendants(table: &[Proc], root: i32) -> Vec<Proc> {
    let mut children: HashMap<i32, Vec<&Proc>> = HashMap::new();
    for p in table {
        children.entry(p.ppid).or_default().push(p);
    }
    let mut out = Vec::new();
    let mut seen = HashSet::from([root]);
    let mut next = vec![root];
    while let Some(parent) = next.pop() {
        for c in children.get(&parent).into_iter().flatten() {
            if seen.insert(c.pid) {
                out.push(**c);
                next.push(c.pid);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pid: i32, ppid: i32, pgrp: i32) -> Proc {
        Proc {
            pid,
            ppid,
            pgrp,
            start: 7,
        }
    }

    #[test]
    fn stat_lines() {
        let tail = "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 12345 999 42";
        assert_eq!(
            parse_stat(&format!("42 (sleep) S 7 42 42 {tail}")),
            Some(Proc {
                pid: 42,
                ppid: 7,
                pgrp: 42,
                start: 12345
            })
        );
        let odd = parse_stat(&format!("43 (a) b) (c) R 1 5 1 {tail}"));
        assert_eq!(odd.map(|p| (p.pid, p.ppid, p.pgrp)), Some((43, 1, 5)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("45 (x) S 1 1"), None);
    }

    #[test]
    fn tree() {
        let table = [
            entry(10, 1, 10),
            entry(11, 10, 11),
            entry(12, 10, 11),
            entry(13, 11, 13),
            entry(14, 13, 13),
            entry(99, 0, 99),
            entry(100, 99, 11),
        ];
        let pids = |v: Vec<Proc>| {
            let mut v: Vec<i32> = v.into_iter().map(|p| p.pid).collect();
            v.sort_unstable();
            v
        };
        assert_eq!(pids(descendants(&table, 10)), [11, 12, 13, 14]);
        assert!(descendants(&table, 14).is_empty());
        // A process entered from outside (ppid 0) is nobody's descendant.
        assert!(!pids(descendants(&table, 1)).contains(&99));
    }

    #[test]
    fn reads_own_children() {
        let mut child = match std::process::Command::new("sleep").arg("30").spawn() {
            Ok(c) => c,
            Err(e) => unreachable!("spawn sleep: {e}"),
        };
        let me = i32::try_from(std::process::id()).unwrap_or_default();
        let found = descendants(&scan(), me);
        let _ = child.kill();
        let _ = child.wait();
        let id = i32::try_from(child.id()).unwrap_or_default();
        assert!(
            found.iter().any(|p| p.pid == id && p.ppid == me),
            "{found:?}"
        );
    }
}
