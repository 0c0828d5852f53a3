//! The shutdown features, each configured by its options here (by environment, Docker-style,
//! in `containers`): the grace period on exit, broadcast delivery, signal rewriting, pause
//! mode, the stop delay, waiting for descendants. Real processes, as PID 1 and as a subreaper. The scenes share one shape: a program
//! that starts a daemon (helper.py `daemon`: double-forked into its own session, re-parented
//! to tini-rs) and then exits or becomes `sigrecv`.

use std::process::Command;

use crate::harness::*;

pub mod broadcast;
pub mod grace;
pub mod pause;
pub mod rewrite;
pub mod stop_delay;
pub mod wait_descendants;

/// What the program does once its daemon is ready.
#[derive(Clone, Copy)]
pub enum Then {
    /// Exits with this status.
    Exit(i32),
    /// Becomes `sigrecv --exit-on N`.
    Sigrecv(i32),
}

/// `sh -c ...` that starts `helper.py daemon KIND FILE` and then does `then`: the program of
/// every scene.
pub fn daemon_program(kind: &str, file: &str, then: Then) -> Vec<String> {
    let start = r#""$0" "$1" daemon "$2" "$3" || exit 99"#;
    let rest = match then {
        Then::Exit(n) => format!("exit {n}"),
        Then::Sigrecv(n) => format!(r#"exec "$0" "$1" sigrecv --exit-on {n}"#),
    };
    let script = format!("{start}; {rest}");
    let mut v: Vec<String> = ["sh", "-c", &script].map(String::from).to_vec();
    v.extend([python(), &helper_path(), kind, file].map(String::from));
    v
}

/// A program that started a daemon and exits: the daemon's PID as tini-rs sees it, and a
/// guard for it (plain mode: it may outlive tini-rs).
pub fn start_exiting(mode: Mode, cmd: Command) -> (Proc, i32, KillOnDrop) {
    let mut p = Proc::spawn(cmd);
    let daemon = numbers(&p.wait_prefix("daemon "))[0];
    (p, daemon, KillOnDrop::if_plain(mode, &[daemon]))
}

/// A running scene whose program became `sigrecv`: tini-rs, the program, its daemon.
pub struct Scene {
    pub p: Proc,
    pub tini: i32,
    /// The daemon's PID as seen from here.
    pub daemon: i32,
    _guard: KillOnDrop,
}

impl Scene {
    /// Starts `cmd` (a `Then::Sigrecv` program under tini-rs) and waits for its daemon and
    /// for the program; checks the daemon is in a group of its own and was re-parented to
    /// tini-rs.
    pub fn start(mode: Mode, cmd: Command) -> Scene {
        let mut p = Proc::spawn(cmd);
        let d = numbers(&p.wait_prefix("daemon "));
        let r = numbers(&p.wait_prefix("ready "));
        assert_ne!(
            d[1], r[1],
            "the daemon is not in the program's process group"
        );
        let tini = p.tini(mode);
        let daemon = match mode {
            Mode::Plain => d[0],
            Mode::Pid1 | Mode::InNamespace => host_pid_of(tini, d[0]),
        };
        assert_eq!(
            proc_status(daemon, "PPid"),
            Some(tini.to_string()),
            "the daemon was re-parented to tini-rs"
        );
        Scene {
            p,
            tini,
            daemon,
            _guard: KillOnDrop::if_plain(mode, &[daemon]),
        }
    }
}

/// A daemon's file once it has seen `line`.
pub fn wait_file_line(file: &str, line: &str) -> String {
    poll_until(&format!("{line:?} in {file}"), || {
        let t = read_text(file);
        t.lines().any(|l| l == line).then_some(t)
    })
}

/// What the `writer` daemon leaves when it could finish after SIGTERM.
pub fn complete_data() -> String {
    let data: Vec<String> = (1..=10).map(|i| format!("data {i}\n")).collect();
    format!("ready\nterm\n{}END\n", data.concat())
}

/// Runs `tini-rs INIT_ARGS -- sh -c PROGRAM` as a plain process under strace (tracing `kill`,
/// `pidfd_open` and `pidfd_send_signal`) until the program prints a line starting `ready`,
/// lets `drive` act on it (with that line and tini-rs's PID), and returns the output and the
/// trace.
pub fn traced(
    init_args: &[&str],
    program: &str,
    drive: impl FnOnce(&str, i32),
) -> (Output, String) {
    let dir = ScratchDir::new("strace");
    let program = ["sh", "-c", program].map(String::from);
    let trace = ["-e", "trace=kill,pidfd_open,pidfd_send_signal"];
    let (mut c, log) = under_strace(&dir, &trace, &args_for(init_args, &program));
    c.stdin(std::process::Stdio::null());
    let mut p = Proc::spawn(c);
    let ready = p.wait_prefix("ready");
    let t = only_child(p.pid());
    wait_sigtimedwait(t);
    drive(&ready, t);
    let out = p.finish();
    (out, read_text(&log))
}

/// A shell command that counts the live `sleep` processes left in its PID namespace, again
/// every 50 ms while any is left, for 10 s at most: one that got its SIGTERM just before
/// tini-rs exited may not have run yet (nor is a zombie, of which the namespace's shell
/// reaps none, a process left); one that the signal missed sleeps on for 1000 s.
pub const COUNT_SLEEPS: &str = "k=0; while :; do n=0; for s in /proc/[0-9]*/stat; do \
                                case \"$(cat $s 2>/dev/null)\" in *'(sleep) '[!Z]*) \
                                n=$((n+1));; esac; done; [ $n -eq 0 ] || [ $k -ge 200 ] && \
                                break; k=$((k+1)); sleep 0.05; done; echo \"left $n\"";
