//! tini-rs as the init of a virtual machine (QEMU, Firecracker, Cloud Hypervisor, libkrun):
//! knowing that it is one, setting up what a container runtime would have set up (the core
//! turns the machine's stop requests into SIGTERM: `state.rs`), and ending the machine with the program's
//! status instead of the kernel's panic.
//!
//! It is the machine's init when it is PID 1 of the initial PID namespace, whose
//! `/proc/self/ns/pid` has an inode number fixed by the kernel. In a container (PID 1 of
//! any other namespace) nothing here runs: detection leaves /proc as it found it.

use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::reboot::RebootMode;

use crate::config::MachineEnd;
use crate::error::strerror;
use crate::reap;
use crate::signals;
use crate::sys;

/// The inode number of the initial PID namespace (the kernel's `PROC_PID_INIT_INO`, fixed
/// since Linux 3.8).
pub const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;

/// PATH when the kernel gave none (it passes only HOME and TERM, and `key=value` words of
/// its command line).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How long what is left after the program has, after SIGTERM, before SIGKILL; then how
/// long the processes killed then have to vanish.
const END_TERM: Duration = Duration::from_secs(5);
const END_KILL: Duration = Duration::from_secs(2);

const PID_NS: &str = "/proc/self/ns/pid";
const MOUNTINFO: &str = "/proc/self/mountinfo";

/// Whether tini-rs, as `own_pid`, is the machine's init. /proc is mounted to look when it
/// is not; if the answer is no, it is unmounted again. If yes, /dev and stdio on the
/// console are set up at once. Called before the logger is set up, so it logs nothing.
pub fn detect(no_machine: bool, own_pid: i32) -> bool {
    if own_pid != 1 {
        return false;
    }
    if no_machine {
        return false;
    }
    let proc_was_there = sys::inode("/proc/self").is_ok();
    let (target, fstype, flags, data) = proc_mount();
    if !proc_was_there && sys::mount(fstype, target, fstype, flags, data).is_err() {
        return false;
    }
    let found = match sys::inode(PID_NS) {
        Ok(ino) => ino == PROC_PID_INIT_INO,
        // A kernel without PID namespaces: no container can exist, PID 1 is the machine's.
        Err(Errno::ENOENT) => true,
        Err(_) => false,
    };
    if !found && !proc_was_there {
        let _ = sys::unmount("/proc");
    }
    if found {
        early();
    }
    found
}

/// What must be there before the logger looks at stderr (once, at start-up): /dev, and
/// stdio on the console where the kernel left it closed.
fn early() {
    let (target, fstype, flags, data) = dev_mount();
    if !mount_points().iter().any(|m| m == target) {
        let _ = sys::mkdir(target, 0o755);
        let _ = sys::mount(fstype, target, fstype, flags, data);
    }
    console_stdio();
}

fn dev_mount() -> (&'static str, &'static str, MsFlags, Option<&'static str>) {
    ("/dev", "devtmpfs", MsFlags::MS_NOSUID, Some("mode=0755"))
}

fn proc_mount() -> (&'static str, &'static str, MsFlags, Option<&'static str>) {
    let plain = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    ("/proc", "proc", plain, None)
}

/// What a container runtime mounts, in order: (target, type, flags, data).
fn mounts() -> [(&'static str, &'static str, MsFlags, Option<&'static str>); 7] {
    let plain = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let nosuid_nodev = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    [
        proc_mount(),
        ("/sys", "sysfs", plain, None),
        dev_mount(),
        (
            "/dev/pts",
            "devpts",
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
            Some("mode=0620,ptmxmode=0666"),
        ),
        ("/dev/shm", "tmpfs", nosuid_nodev, Some("mode=1777")),
        ("/run", "tmpfs", nosuid_nodev, Some("mode=0755")),
        ("/sys/fs/cgroup", "cgroup2", plain, None),
    ]
}

/// The set-up before the program, each part only where it is missing: the mounts, stdin,
/// stdout and stderr on /dev/console, `lo` up, PATH, the hostname, and Ctrl-Alt-Del as
/// SIGINT to PID 1. Failures are logged; the program starts anyway.
pub fn set_up(hostname: Option<&std::ffi::OsStr>) {
    info!("PID 1 of the initial PID namespace: tini-rs is the machine's init");
    let mounted = mount_points();
    let mut done = Vec::new();
    for (target, fstype, flags, data) in mounts() {
        if mounted.iter().any(|m| m == target) {
            continue;
        }
        if let Err(e) = sys::mkdir(target, 0o755) {
            if e != Errno::EEXIST {
                done.push(Err(format!("{target}: mkdir: {}", strerror(e))));
                continue;
            }
        }
        done.push(match sys::mount(fstype, target, fstype, flags, data) {
            Ok(()) => Ok(format!("{target} ({fstype})")),
            Err(e) => Err(format!("{target}: mount {fstype}: {}", strerror(e))),
        });
    }
    for line in done {
        match line {
            Ok(line) => info!("Mounted {line}"),
            Err(line) => warn!("Not mounted: {line}"),
        }
    }
    if std::fs::symlink_metadata("/dev/ptmx").is_err() {
        if let Err(e) = sys::symlink("pts/ptmx", "/dev/ptmx") {
            warn!("/dev/ptmx -> pts/ptmx: {}", strerror(e));
        }
    }
    match sys::interface_up("lo") {
        Ok(()) => info!("Loopback interface lo is up"),
        Err(e) => warn!("bringing lo up failed: {}", strerror(e)),
    }
    if std::env::var_os("PATH").is_none() {
        sys::set_env("PATH", DEFAULT_PATH);
        info!("PATH={DEFAULT_PATH}");
    }
    if let Some(name) = hostname {
        match sys::set_hostname(name) {
            Ok(()) => info!("Hostname {}", name.to_string_lossy()),
            Err(e) => warn!("sethostname failed: {}", strerror(e)),
        }
    }
    match sys::ctrl_alt_del_to_signal() {
        Ok(()) => info!("Ctrl-Alt-Del sends SIGINT to PID 1: a stop request"),
        Err(e) => warn!("reboot(RB_DISABLE_CAD) failed: {}", strerror(e)),
    }
    // As a container runtime does with `-t`'s terminal: the console is the controlling
    // terminal of PID 1's session, and the program, in the foreground (spawn), gets its
    // Ctrl-C, Ctrl-Z and job control. The kernel starts PID 1 with none.
    match sys::lead_session_on_stdin() {
        Ok(()) => info!("The console is the controlling terminal"),
        Err(Errno::ENOTTY | Errno::EBADF) => {}
        Err(e) => warn!("the console as controlling terminal: {}", strerror(e)),
    }
}

/// Opens /dev/console on each of descriptors 0, 1 and 2 that is closed (the kernel leaves
/// them closed when the root filesystem had no /dev/console).
fn console_stdio() {
    for fd in 0..=2 {
        if sys::is_open(fd) {
            continue;
        }
        match sys::open_read_write("/dev/console") {
            Ok(c) if c == fd => {}
            Ok(c) => {
                let _ = sys::dup2(c, fd);
                let _ = sys::close(c);
            }
            Err(_) => return,
        }
    }
}

/// The end of the machine, once the program's status `code` (after `-e`) is known:
/// SIGTERM then SIGKILL to everything left, `sync()`, every mount unmounted or read-only,
/// the console line `tini-rs: exit status N`, then `reboot`. Never returns, never exits:
/// PID 1 exiting is the kernel's panic.
pub fn end(code: u8, how: MachineEnd) -> ! {
    let blocked = signals::blocked_set();
    if let Err(e) = sys::block(&blocked) {
        debug!("sigprocmask failed: {}", strerror(e));
    }
    // Opened first: once /dev is read-only or gone, it could not be.
    let console = sys::open_read_write("/dev/console").unwrap_or(2);
    stop_everything(&blocked);
    sys::sync();
    unmount_all();
    // On a line of its own even after output without a newline.
    let line = format!("\ntini-rs: exit status {code}\n");
    if let Err(e) = sys::write_all(console, line.as_bytes()) {
        error!("writing to the console failed: {}", strerror(e));
    }
    let mode = match how {
        MachineEnd::PowerOff => RebootMode::RB_POWER_OFF,
        MachineEnd::Restart => RebootMode::RB_AUTOBOOT,
        MachineEnd::Halt => RebootMode::RB_HALT_SYSTEM,
    };
    let e = sys::reboot(mode);
    error!(
        "reboot failed: {}; waiting here (exiting would panic the kernel)",
        strerror(e)
    );
    loop {
        let _ = sys::wait_signal(&blocked, None);
        reap::drain(None, false);
    }
}

/// SIGTERM (and SIGCONT) to every process, SIGKILL to those left after [`END_TERM`].
fn stop_everything(blocked: &sys::SignalSet) {
    if reap::drain(None, false).no_children {
        return;
    }
    // Every signal before its line: a line can wait on a stalled console.
    let _ = sys::kill(-1, libc::SIGTERM);
    let _ = sys::kill(-1, libc::SIGCONT);
    info!("Sent SIGTERM and SIGCONT to the remaining processes");
    if reap_until(blocked, Instant::now() + END_TERM) {
        return;
    }
    let _ = sys::kill(-1, libc::SIGKILL);
    warn!("Sent SIGKILL to the remaining processes");
    if !reap_until(blocked, Instant::now() + END_KILL) {
        warn!("Processes remain after SIGKILL; ending the machine anyway");
    }
}

/// Reaps until no child is left (true) or the deadline passes (false).
fn reap_until(blocked: &sys::SignalSet, deadline: Instant) -> bool {
    loop {
        if reap::drain(None, false).no_children {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let _ = sys::wait_signal(blocked, Some(left));
    }
}

/// Every mount, deepest first: unmounted where possible, else remounted read-only. Swap
/// goes off first (a swap file holds its filesystem busy), and passes repeat while one
/// unmounts anything: a mount can hide or hold another (a tmpfs over the disk's parent, an
/// image on the disk loop-mounted elsewhere). /proc, which lists them, goes last; a program
/// that unmounted it gets it back first.
fn unmount_all() {
    if sys::inode(MOUNTINFO).is_err() {
        let (target, fstype, flags, data) = proc_mount();
        if let Err(e) = sys::mount(fstype, target, fstype, flags, data) {
            warn!(
                "/proc cannot be mounted to find the mounts: {}",
                strerror(e)
            );
        }
    }
    swap_off();
    let mut unmounted = 0;
    loop {
        let before = unmounted;
        for target in unmount_order(mount_points()) {
            if target != "/" && target != "/proc" && sys::unmount(&target).is_ok() {
                unmounted += 1;
            }
        }
        if unmounted == before {
            break;
        }
    }
    let (mut read_only, mut left) = (0, 0);
    for target in unmount_order(mount_points()) {
        if target == "/proc" {
            continue;
        }
        match sys::remount_read_only(&target) {
            Ok(()) => read_only += 1,
            Err(e) => {
                warn!("{target} stays read-write: {}", strerror(e));
                left += 1;
            }
        }
    }
    unmounted += usize::from(sys::unmount("/proc").is_ok());
    info!("Mounts: {unmounted} unmounted, {read_only} read-only, {left} left as they were");
}

/// Every swap area of /proc/swaps off (its first column; the first line is the heading).
fn swap_off() {
    let swaps = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
    for area in swaps
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
    {
        let area = unescape(area);
        if let Err(e) = sys::swapoff(&area) {
            warn!("swapoff {area}: {}", strerror(e));
        }
    }
}

/// The order to take mounts down: deepest path first; at equal depth, the later mount
/// first (it may sit on top of the earlier).
fn unmount_order(points: Vec<String>) -> Vec<String> {
    let mut order: Vec<(usize, usize, String)> = points
        .into_iter()
        .enumerate()
        .map(|(i, p)| (p.split('/').filter(|c| !c.is_empty()).count(), i, p))
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    order.into_iter().map(|(_, _, p)| p).collect()
}

/// The mount points of /proc/self/mountinfo, in mount order (empty when it cannot be read).
fn mount_points() -> Vec<String> {
    std::fs::read_to_string(MOUNTINFO)
        .map(|text| parse_mountinfo(&text))
        .unwrap_or_default()
}

/// The fifth field of each line, with the kernel's octal escapes (`\040` for a space) undone.
fn parse_mountinfo(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape)
        .collect()
}

fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| b == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        if let Some(c) = octal {
            out.push(c);
            i += 4;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 0:21 / / rw,relatime - ext4 /dev/vda rw
23 22 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw
24 23 0:22 / /dev/pts rw - devpts devpts rw
25 22 0:23 / /proc rw - proc proc rw
26 22 0:24 / /mnt/my\\040disk rw - ext4 /dev/vdb rw
27 22 0:25 / /sys rw - sysfs sysfs rw
28 27 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
";

    #[test]
    fn mountinfo_gives_the_mount_points_unescaped() {
        assert_eq!(
            parse_mountinfo(MOUNTINFO),
            [
                "/",
                "/dev",
                "/dev/pts",
                "/proc",
                "/mnt/my disk",
                "/sys",
                "/sys/fs/cgroup"
            ]
        );
        assert_eq!(unescape("a\\134b\\0"), "a\\b\\0");
    }

    #[test]
    fn mounts_come_down_deepest_first_and_root_last() {
        let order = unmount_order(parse_mountinfo(MOUNTINFO));
        assert_eq!(
            order,
            [
                "/sys/fs/cgroup",
                "/mnt/my disk",
                "/dev/pts",
                "/sys",
                "/proc",
                "/dev",
                "/"
            ]
        );
        // The same point mounted twice: the later (upper) one first.
        let stacked = unmount_order(vec!["/".into(), "/a".into(), "/a".into()]);
        assert_eq!(stacked, ["/a", "/a", "/"]);
    }

    #[test]
    fn the_pid_namespace_inode_is_the_one_proc_names() {
        // The link reads "pid:[INODE]"; stat gives the same number on every target (also on
        // 32-bit ones, whose libc stat has a 32-bit st_ino).
        let link = std::fs::read_link(PID_NS).map(|l| l.to_string_lossy().into_owned());
        let named = link.ok().and_then(|l| {
            l.strip_prefix("pid:[")?
                .strip_suffix(']')?
                .parse::<u64>()
                .ok()
        });
        assert!(named.is_some(), "no inode in the link {PID_NS}");
        assert_eq!(sys::inode(PID_NS).ok(), named);
        assert_eq!(sys::inode("/nonexistent/x"), Err(nix::errno::Errno::ENOENT));
    }

    #[test]
    fn a_process_that_is_not_pid_1_is_no_machines_init() {
        // Whatever the namespace: only PID 1 is looked at, and /proc is not touched.
        assert!(!detect(false, 2));
        assert!(!detect(true, 1));
    }
}
