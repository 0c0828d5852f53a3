//! Reaping: a burst of 1000+ re-parented orphans that exit at once leaves no zombie (checked
//! in /proc for state Z while tini-rs still runs), as PID 1 and as a subreaper without PID 1;
//! a long stream of orphans with reused PIDs too; not PID 1, tini-rs makes itself a subreaper
//! without `-s`; `-w` reports each reaped orphan; tini-rs
//! exits with the main child's status after the drain in which it was reaped, and exits when
//! the main child exits even though other processes (a daemon) remain.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::*;

/// `tini-rs ARGS -- helper.py burst N MODE` in `mode` with `env`.
fn burst_cmd(mode: Mode, args: &[&str], env: &[(&str, &str)], n: usize, how: &str) -> Proc {
    let program = helper(&["burst", &n.to_string(), how]);
    let mut cmd = tini(mode, &args_for(args, &program));
    cmd.envs(env.iter().copied());
    cmd.stdin(if how == "freeze" {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    Proc::spawn(cmd)
}

/// Runs the orphan burst of `n` under tini-rs (`args` before the program) and checks that
/// every orphan was re-parented to tini-rs and reaped while tini-rs still ran.
fn burst(mode: Mode, args: &[&str], env: &[(&str, &str)], n: usize) {
    let mut p = burst_cmd(mode, args, env, n, "drain");
    let ready = p.wait_prefix("ready ");
    // The program's PID is real in plain mode; if it dies, the orphans' pipe closes and
    // they exit.
    let _guard = KillOnDrop::if_plain(mode, &[numbers(&ready)[0]]);
    let orphans = p.wait_prefix("orphans ");
    assert_eq!(
        orphans,
        format!("orphans {n}"),
        "not re-parented to tini-rs"
    );
    let done = p.wait_prefix("done ");
    assert_eq!(done, "done left=0 zombies=0", "{mode:?} {args:?} {env:?}");
    let out = p.finish();
    assert_eq!(out.code(), 0, "{out}");
}

#[test]
fn a_burst_of_1200_orphans_is_reaped_as_pid1() {
    burst(Mode::Pid1, &[], &[], 1200);
}

#[test]
fn orphans_are_reaped_by_a_subreaper_without_pid1() {
    burst(Mode::InNamespace, &["-s"], &[], 200);
    burst(Mode::InNamespace, &[], &[("TINI_SUBREAPER", "")], 200);
}

#[test]
fn a_burst_is_reaped_with_subreaper_inside_a_namespace_too() {
    // -s as PID 1 changes nothing (and -w only logs): a smaller burst with both given.
    burst(Mode::Pid1, &["-s", "-w"], &[], 400);
}

/// Stops tini-rs while the main child and all orphans become zombies at once, then lets it
/// run: the single drain that follows must reap every one of them (each reported by -w)
/// before tini-rs exits with the main child's status.
fn exit_after_the_whole_drain(mode: Mode, args: &[&str], n: usize) {
    let args = [args, &["-w"]].concat();
    let mut p = burst_cmd(mode, &args, &[], n, "freeze");
    let mut stdin = p.take_stdin().unwrap();
    let ready = p.wait_prefix("ready ");
    let tini_pid = p.tini(mode);
    // The program's PID as seen from here (it reports the one of its namespace).
    let program = match mode {
        Mode::Plain => numbers(&ready)[0],
        Mode::Pid1 | Mode::InNamespace => host_pid_of(tini_pid, numbers(&ready)[0]),
    };
    let _guard = KillOnDrop::new(&[tini_pid, program]);
    assert_eq!(p.wait_prefix("orphans "), format!("orphans {n}"));

    kill(tini_pid, libc::SIGSTOP);
    poll_until("tini-rs stopped", || stopped(tini_pid).then_some(()));
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);
    let line = p.wait_prefix("all zombies ");
    assert_eq!(line, format!("all zombies {n} {n}"));
    // The program itself has exited (a zombie too) before tini-rs runs again.
    poll_until("the program to be a zombie", || {
        proc_status(program, "State")
            .filter(|s| s.starts_with('Z'))
            .map(|_| ())
    });
    kill(tini_pid, libc::SIGCONT);

    let out = p.finish();
    assert_eq!(out.code(), 5, "{out}");
    let reaped = count(&out.stderr, "Reaped zombie process with pid=");
    assert_eq!(reaped, n, "{mode:?}: not every orphan was reaped\n{out}");
}

#[test]
fn exits_with_the_main_status_after_the_drain_that_reaped_it() {
    exit_after_the_whole_drain(Mode::InNamespace, &["-s"], 100);
    exit_after_the_whole_drain(Mode::Pid1, &[], 300);
}

#[test]
fn exits_when_the_main_child_exits_though_others_remain() {
    // tini's default: no waiting for the rest (a grace period is opt-in).
    for mode in MODES {
        for args in [&[][..], &["-s"][..]] {
            let mut all: Vec<&str> = args.to_vec();
            all.extend([
                "--",
                "sh",
                "-c",
                "sleep 1000 >/dev/null 2>&1 & echo bg $!; exit 6",
            ]);
            let mut p = Proc::spawn(tini(mode, &all));
            let bg = numbers(&p.wait_prefix("bg "))[0];
            // Inside the namespace the PID is not ours to kill; the namespace dies with
            // tini-rs. As a plain process the sleep outlives tini-rs: kill it afterwards.
            let _guard = KillOnDrop::if_plain(mode, &[bg]);
            let out = p.finish();
            assert_eq!(out.code(), 6, "{mode:?} {args:?}\n{out}");
            if mode == Mode::Plain {
                assert!(alive(bg), "the background sleep should still run");
            }
        }
    }
}

/// A program that double-forks a daemon and exits at once: the daemon is re-parented to
/// tini-rs, as PID 1 and as a plain process with or without `-s`; tini-rs exits with the
/// program's status.
#[test]
fn a_daemon_of_a_program_that_exits_at_once_is_reparented_as_expected() {
    for (mode, opts) in [
        (Mode::Plain, &["-s"][..]),
        (Mode::Plain, &[][..]),
        (Mode::Pid1, &[][..]),
    ] {
        let mut args: Vec<&str> = opts.to_vec();
        let helper_py = helper_path();
        args.extend([
            "--",
            "sh",
            "-c",
            "\"$0\" \"$1\" daemon logger /dev/null || exit 99; exit 9",
            python(),
            &helper_py,
        ]);
        let mut p = Proc::spawn(tini(mode, &args));
        let t = p.tini(mode);
        // daemon PID PGID PPID, as the daemon sees them once re-parented.
        let d = numbers(&p.wait_prefix("daemon "));
        let (daemon, ppid) = (d[0], d[2]);
        let mut guard = KillOnDrop::if_plain(mode, &[daemon]);
        let out = p.finish();
        assert_eq!(out.code(), 9, "{mode:?} {opts:?}\n{out}");
        match mode {
            Mode::Pid1 => assert_eq!(ppid, 1, "{d:?}"),
            // Not PID 1, tini-rs is a subreaper with or without -s.
            Mode::Plain | Mode::InNamespace => assert_eq!(ppid, t, "re-parented: {d:?}"),
        }
        if mode == Mode::Plain {
            // The daemon outlives tini-rs here (it is not PID 1): it is still there.
            assert_eq!(comm(daemon).as_deref(), Some("python3"), "{d:?}");
            guard.kill_now();
        }
    }
}

/// Not PID 1 and no `-s`: tini-rs registers as a child subreaper by itself (an info line),
/// so a double-forked orphan is re-parented to it and reaped; no warning.
#[test]
fn not_pid1_registers_as_subreaper_by_itself() {
    let program = "sh -c 'sh -c \"echo orphan \\$\\$; trap \\\"exit 0\\\" USR1; \
                   while :; do sleep 0.05; done\" &' ; echo ready; while :; do sleep 0.05; done";
    let mut c = tini(Mode::Plain, &["-v", "-w", "--", "sh", "-c", program]);
    c.stdin(Stdio::null());
    let mut p = Proc::spawn(c);
    let (mut orphan, mut ready) = (0, false);
    while orphan == 0 || !ready {
        let l = p.wait_line(|l| l == "ready" || l.starts_with("orphan "));
        match l.strip_prefix("orphan ") {
            Some(pid) => orphan = pid.parse().unwrap(),
            None => ready = true,
        }
    }
    let _guard = KillOnDrop::new(&[orphan]);
    let t = p.pid();
    poll_until("the orphan to be re-parented to tini-rs", || {
        (proc_status(orphan, "PPid")? == t.to_string()).then_some(())
    });
    kill(orphan, libc::SIGUSR1);
    poll_until("the orphan to be reaped", || {
        proc_status(orphan, "State").is_none().then_some(())
    });
    kill(t, libc::SIGTERM);
    let out = p.finish();
    assert_eq!(out.code(), 143, "{out}");
    assert!(
        out.stderr.contains("registered as a child subreaper"),
        "{out}"
    );
    let reaped = format!("Reaped zombie process with pid={orphan}");
    assert!(out.stderr.contains(&reaped), "{out}");
    assert!(!out.stderr.contains("zombie reaping won't work"), "{out}");
}

/// Runs `helper.py orphan` (one orphan, released, printed once reaped) under tini-rs.
fn reap_one_orphan(mode: Mode, args: &[&str], env: &[(&str, &str)]) -> (Output, String) {
    let program = helper(&["orphan"]);
    let mut cmd = tini(mode, &args_for(args, &program));
    cmd.envs(env.iter().copied());
    let out = run(cmd);
    assert_eq!(out.code(), 0, "{out}");
    let pid = out
        .stdout
        .strip_prefix("orphan ")
        .unwrap()
        .trim()
        .to_string();
    (out, pid)
}

/// The PID in the first log line (for plain runs whose PID the test did not record).
fn logged_pid(stderr: &str) -> i32 {
    let l = stderr.lines().next().unwrap();
    let start = l.find(" tini-rs (").unwrap() + " tini-rs (".len();
    let end = l[start..].find(')').unwrap() + start;
    l[start..end].parse().unwrap()
}

#[test]
fn w_reports_each_reaped_orphan() {
    for (mode, args, env) in [
        (Mode::Pid1, &["-w"][..], &[][..]),
        (Mode::Plain, &["-s", "-w"][..], &[][..]),
        (Mode::Pid1, &[][..], &[("TINI_WARN_ON_REAP", "")][..]),
    ] {
        let (out, orphan) = reap_one_orphan(mode, args, env);
        let pid = match mode {
            Mode::Pid1 => 1,
            Mode::Plain | Mode::InNamespace => logged_pid(&out.stderr),
        };
        let lines = log_lines(&out.stderr, pid);
        let want = format!("[WARN  tini-rs ({pid})] Reaped zombie process with pid={orphan}");
        assert_eq!(lines, vec![want.as_str()], "{mode:?} {args:?}\n{out}");
    }
}

#[test]
fn no_reap_report_without_w() {
    for (mode, args) in [(Mode::Pid1, &[][..]), (Mode::Plain, &["-s"][..])] {
        let (out, _) = reap_one_orphan(mode, args, &[]);
        assert_eq!(out.stderr, "", "{mode:?} {args:?}\n{out}");
    }
}

/// A stream of orphans inside a PID namespace, under a pids cgroup limit when there is one:
/// none is left as a zombie, every one is reaped by tini-rs, and PIDs are reused (the program
/// keeps resetting the namespace's `ns_last_pid`) without trouble. CI runs 5 000; the full
/// size (100 000) runs with `TINI_RS_FULL=1 cargo test --release --test integration
/// reaping::orphan_stream -- --nocapture`.
#[test]
fn orphan_stream_leaves_no_zombie_and_pids_are_reused() {
    let n: usize = if full() { 100_000 } else { 5_000 };
    let cg = Cgroup::new(300);
    if cg.is_none() {
        eprintln!("no pids cgroup controller: the orphan stream runs without a pids limit");
        assert!(!full(), "the full-size orphan stream needs a pids cgroup");
    }
    let logs = ScratchDir::new("orphans");
    let log = logs.file("stderr");
    let program = helper(&["stream", &n.to_string()]);
    let base = tini(Mode::Pid1, &args_for(&["-w"], &program));
    let mut cmd = match &cg {
        Some(cg) => cg.wrap(&base),
        None => base,
    };
    // A regular file never refuses a write, so every "Reaped" line is kept.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    let start = Instant::now();
    let mut k = Keeper::spawn(cmd);
    let mut stdout = k.take_stdout().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    // Long (17 s on a loaded 2-core machine): a bound of its own.
    let limit = patient(Duration::from_secs(if full() { 900 } else { 120 }));
    let status = k.wait(limit, "orphan stream");
    let took = start.elapsed();
    let out = reader.join().unwrap();
    let err = std::fs::read_to_string(&log).unwrap();
    let show = || format!("{status:?}\n{out}\n--- stderr (head) ---\n{err:.3000}");
    assert_eq!(status.code(), Some(0), "{}", show());
    let line = out
        .lines()
        .find(|l| l.starts_with("orphans "))
        .unwrap_or_else(|| panic!("no summary\n{}", show()));
    let f: Vec<usize> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let (made, distinct) = (f[0], f[1]);
    assert_eq!(made, n, "{}", show());
    let reaped = count(&err, "Reaped zombie process with pid=");
    assert_eq!(reaped, n, "every orphan reaped by tini-rs\n{}", show());
    assert!(distinct < n, "PIDs were reused: {line}");
    eprintln!(
        "orphan stream: {made} orphans in {took:?}, {distinct} distinct PIDs, {reaped} reaped \
         by tini-rs, none left; refused forks {:?}",
        cg.as_ref().and_then(Cgroup::max_events)
    );
}
