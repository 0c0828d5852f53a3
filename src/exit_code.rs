//! Pure mapping from what happened to the program to tini-rs's exit code.
//!
//! The table (tini 0.19 compatible): exit N → N; killed by signal N → 128+N; exec failures
//! 127 (not found), 126 (not executable), 1 (anything else); each code may be remapped to 0
//! with `-e`.

use nix::errno::Errno;

/// How the main child ended, as far as the exit code is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by signal number n.
    Signaled(i32),
}

/// The raw code for an outcome, before remapping: N, or 128+N for a signal.
pub fn raw_code(outcome: Outcome) -> u8 {
    match outcome {
        // exit() keeps only the low 8 bits; so does the wait status.
        Outcome::Exited(n) => low_byte(n),
        // A signal number is below 128, so 128 + n fits in a byte.
        Outcome::Signaled(n) => low_byte(128 + (n & 0x7f)),
    }
}

/// The low 8 bits of `n`.
fn low_byte(n: i32) -> u8 {
    u8::try_from(n & 0xff).unwrap_or_default()
}

/// Which codes `-e` turns into 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Remap([u64; 4]);

impl Remap {
    /// Marks `code` as "treat as success".
    pub fn insert(&mut self, code: u8) {
        let (word, bit) = (usize::from(code / 64), code % 64);
        if let Some(w) = self.0.get_mut(word) {
            *w |= 1 << bit;
        }
    }

    /// Whether `code` is remapped to 0.
    pub fn contains(&self, code: u8) -> bool {
        let (word, bit) = (usize::from(code / 64), code % 64);
        self.0.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    /// The final exit code: `code`, or 0 if it was remapped.
    pub fn apply(&self, code: u8) -> u8 {
        if self.contains(code) { 0 } else { code }
    }
}

/// The exit code the child reports when exec fails with `errno`, as tini's: not found 127,
/// not executable (a directory included: execve says EACCES) 126, anything else 1.
pub fn exec_failure_code(errno: Errno) -> u8 {
    match errno {
        Errno::ENOENT => 127,
        Errno::EACCES => 126,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_table() {
        let rows = [
            (Outcome::Exited(0), 0),
            (Outcome::Exited(1), 1),
            (Outcome::Exited(7), 7),
            (Outcome::Exited(255), 255),
            (Outcome::Exited(256), 0),
            (Outcome::Signaled(libc::SIGTERM), 143),
            (Outcome::Signaled(libc::SIGKILL), 137),
            (Outcome::Signaled(libc::SIGINT), 130),
            (Outcome::Signaled(libc::SIGPIPE), 141),
            (
                Outcome::Signaled(libc::SIGRTMIN()),
                128 + u8::try_from(libc::SIGRTMIN()).unwrap_or_default(),
            ),
        ];
        for (outcome, want) in rows {
            assert_eq!(raw_code(outcome), want, "{outcome:?}");
        }
    }

    #[test]
    fn exec_failure_table() {
        let rows = [
            (Errno::ENOENT, 127),
            (Errno::EACCES, 126),
            (Errno::ENOTDIR, 1),
            (Errno::ELOOP, 1),
            (Errno::ENAMETOOLONG, 1),
            (Errno::EISDIR, 1),
            (Errno::ENOEXEC, 1),
            (Errno::E2BIG, 1),
            (Errno::ENOMEM, 1),
            (Errno::EIO, 1),
        ];
        for (errno, want) in rows {
            assert_eq!(exec_failure_code(errno), want, "{errno}");
        }
    }

    #[test]
    fn remap_turns_only_listed_codes_into_zero() {
        let mut r = Remap::default();
        r.insert(143);
        r.insert(0);
        r.insert(255);
        r.insert(63);
        r.insert(64);
        for code in 0..=255u8 {
            let listed = matches!(code, 0 | 63 | 64 | 143 | 255);
            assert_eq!(r.contains(code), listed, "code {code}");
            assert_eq!(r.apply(code), if listed { 0 } else { code });
        }
    }
}
