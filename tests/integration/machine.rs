//! A VM's init only in a VM: as PID 1 of a container (a PID namespace that is not the
//! initial one) tini-rs does nothing of `machine`: no announcement, no mounts, /proc left as
//! it found it, SIGPWR forwarded as itself, and it exits with the program's status instead
//! of ending a machine. (The VM itself is proven under QEMU by `release/vm-check.sh`.)

use crate::harness::*;

const ANNOUNCED: &str = "the machine's init";

/// PID 1 of a PID namespace: the program's status comes back as the exit code, nothing is
/// announced or mounted, and SIGPWR reaches the program as SIGPWR (as the machine's init it
/// would be SIGTERM).
#[test]
fn container_pid1_is_no_machines_init() {
    let script = "trap 'echo got PWR; exit 7' PWR; trap 'echo got TERM; exit 8' TERM; \
                  kill -PWR 1; sleep 30 & wait";
    let out = run(tini(Mode::Pid1, &["-vvv", "--", "sh", "-c", script]));
    assert_eq!(out.code(), 7, "{out}");
    assert_eq!(out.stdout, "got PWR\n", "{out}");
    assert!(!out.stderr.contains(ANNOUNCED), "{out}");
    assert!(!out.stderr.contains("Mounted"), "{out}");
    assert!(!out.stderr.contains("exit status"), "{out}");
}

/// PID 1 of a PID namespace with no /proc mounted: tini-rs mounts it to look at its
/// namespace, finds a container, and unmounts it again: the program sees no /proc.
#[test]
fn container_pid1_leaves_a_missing_proc_missing() {
    // A private mount namespace, /proc unmounted in it (every proc mounted there: the test
    // may itself run in a namespace whose /proc covers another, as tests/broken-binary.sh
    // runs it), then tini-rs as PID 1 (exec).
    let inner = format!(
        "while [ -e /proc/self ]; do umount -l /proc || exit 9; done; exec {} -vvv -- sh -c 'if [ -e /proc/self ]; then echo proc; \
         else echo no proc; fi; exit 5'",
        bin()
    );
    let mut cmd = command(&[which("unshare")]);
    cmd.args([
        "--pid",
        "--fork",
        "--mount",
        "--propagation",
        "private",
        "--kill-child",
    ])
    .args(["--", "sh", "-c", &inner]);
    clear_tini_env(&mut cmd);
    let out = run(cmd);
    assert_eq!(out.code(), 5, "{out}");
    assert_eq!(out.stdout, "no proc\n", "{out}");
    assert!(!out.stderr.contains(ANNOUNCED), "{out}");
}

/// `--no-machine` and `TINI_NO_MACHINE` are accepted where a machine's init is not at
/// stake (a container, a plain process): nothing changes.
#[test]
fn no_machine_changes_nothing_in_a_container() {
    let out = run(tini(
        Mode::Pid1,
        &["--no-machine", "--", "sh", "-c", "exit 4"],
    ));
    assert_eq!(out.code(), 4, "{out}");
    let mut cmd = tini(
        Mode::Plain,
        &["--machine-end", "halt", "--", "sh", "-c", "exit 3"],
    );
    cmd.env("TINI_NO_MACHINE", "1").env("TINI_HOSTNAME", "x");
    let out = run(cmd);
    assert_eq!(out.code(), 3, "{out}");
    let out = run(tini(Mode::Plain, &["--machine-end", "off", "--", "true"]));
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stderr.contains("invalid machine end 'off'"), "{out}");
}
