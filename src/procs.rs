//! The process table, read from /proc: which processes descend from tini-rs. Used only as a
//! subreaper, to signal "everything of ours" by PID (`kill(-1)` is only for PID 1).

use std::collections::{HashMap, HashSet};

/// Parses the PID and PPID out of a `/proc/PID/stat` line. The command name may contain
/// spaces and parentheses, so the fields are found after the last `)`.
pub fn parse_stat(line: &str) -> Option<(i32, i32)> {
    let (head, tail) = line.rsplit_once(')')?;
    let pid = head.split_once(" (")?.0.trim().parse().ok()?;
    let mut fields = tail.split_ascii_whitespace();
    let _state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((pid, ppid))
}

/// Every live descendant of `root`, each after its parent.
pub fn descendants(root: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some((pid, ppid)) = parse_stat(&stat) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    tree_below(root, &children)
}

/// Walks `children` from `root` (excluded); each process comes after its parent.
pub fn tree_below(root: i32, children: &HashMap<i32, Vec<i32>>) -> Vec<i32> {
    let mut out = Vec::new();
    let mut seen = HashSet::from([root]);
    let mut next = vec![root];
    while let Some(p) = next.pop() {
        for c in children.get(&p).into_iter().flatten() {
            if seen.insert(*c) {
                out.push(*c);
                next.push(*c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines() {
        assert_eq!(parse_stat("42 (sleep) S 7 42 42 0"), Some((42, 7)));
        assert_eq!(parse_stat("43 (a) b) (c) R 1 1 1"), Some((43, 1)));
        assert_eq!(parse_stat("44 (with space) Z 9"), Some((44, 9)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("45 (x) S"), None);
    }

    #[test]
    fn tree() {
        let mut m: HashMap<i32, Vec<i32>> = HashMap::new();
        m.insert(10, vec![11, 12]);
        m.insert(11, vec![13]);
        m.insert(13, vec![14]);
        m.insert(99, vec![100]);
        let mut got = tree_below(10, &m);
        got.sort_unstable();
        assert_eq!(got, vec![11, 12, 13, 14]);
        assert!(tree_below(14, &m).is_empty());
    }

    #[test]
    fn reads_own_children() {
        let mut child = match std::process::Command::new("sleep").arg("30").spawn() {
            Ok(c) => c,
            Err(e) => unreachable!("spawn sleep: {e}"),
        };
        let found = descendants(std::process::id() as i32);
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.contains(&(child.id() as i32)), "{found:?}");
    }
}
