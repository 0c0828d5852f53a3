/* The integration tests' keeper: a child subreaper above every command a test starts, so
 * that whatever the command leaves behind (programs of a tini-rs that exited at once, daemons
 * of one that is not a subreaper) is re-parented to it and stays within the test's reach,
 * never to the machine's init.
 *
 * Usage: keeper FILE CMD [ARGS...]
 *
 * Forks and execs CMD (nothing of the caller's state changed: no signal blocked or ignored,
 * every descriptor kept); writes `pid N\n` to FILE; closes its own descriptors (it holds
 * none of the test's pipes, so their readers see EOF when CMD's tree closes them); when CMD
 * ends, appends `status S\n` (S: the raw wait status); then sleeps until it is killed. It
 * reaps nothing, CMD included (its status is read with WNOWAIT), so CMD's PID stays reserved
 * while the test may still signal it, and every orphan of CMD's tree stays its child, a
 * zombie at worst, with its PID reserved until the test's guard (harness.rs, Keeper) has
 * SIGKILLed it by pidfd.
 * On SIGTERM, and when the thread that started it ends (its parent-death signal), it kills
 * its children itself until none is left and exits: a test binary that dies without running
 * its guards leaves nothing either.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void write_line(const char *path, int flags, const char *line) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (fd < 0) {
        _exit(111);
    }
    size_t n = strlen(line);
    if (write(fd, line, n) != (ssize_t)n) { /* one write: a line is there or not */
        _exit(111);
    }
    close(fd);
}

/* Whether /proc/PID/stat says zombie (or the process is gone). */
static int dead(const char *pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 1;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        return 1;
    }
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    return paren == NULL || paren[1] == '\0' || paren[2] == 'Z';
}

/* SIGKILLs every live child until none is left (or 30 s passed). Children are never reaped
 * here, so a PID read from the list is still the child's. */
static void kill_children(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    for (int round = 0; round < 30000; round++) {
        char buf[65536];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof buf - 1);
        if (fd >= 0) {
            close(fd);
        }
        buf[n > 0 ? n : 0] = '\0';
        int live = 0;
        for (char *tok = strtok(buf, " \n"); tok != NULL; tok = strtok(NULL, " \n")) {
            if (!dead(tok)) {
                live++;
                kill(atoi(tok), SIGKILL);
            }
        }
        if (live == 0) {
            return;
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: keeper FILE CMD [ARGS...]\n");
        return 2;
    }
    const char *file = argv[1];
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        perror("keeper: PR_SET_CHILD_SUBREAPER");
        return 111;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("keeper: fork");
        return 111;
    }
    if (child == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "keeper: exec %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    /* Only the keeper itself: SIGCHLD and SIGTERM (also its parent-death signal) blocked and
     * taken with sigwaitinfo. */
    sigset_t wanted;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGCHLD);
    sigaddset(&wanted, SIGTERM);
    sigprocmask(SIG_BLOCK, &wanted, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    char line[64];
    snprintf(line, sizeof line, "pid %d\n", (int)child);
    write_line(file, O_TRUNC, line);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; fd++) {
        dup2(null, fd);
    }
    if (syscall(SYS_close_range, 3, ~0U, 0) != 0) {
        for (int fd = 3; fd < 4096; fd++) {
            close(fd);
        }
    }
    int reported = 0;
    for (;;) {
        /* Checked before each wait too: a SIGCHLD that came before the block is lost. */
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (!reported && waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            si.si_pid == child) {
            reported = 1;
            /* The raw wait status, as waitpid would have given it. */
            int status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8
                         : si.si_code == CLD_DUMPED ? si.si_status | 0x80
                                                    : si.si_status;
            snprintf(line, sizeof line, "status %d\n", status);
            write_line(file, O_APPEND, line);
        }
        if (sigwaitinfo(&wanted, NULL) == SIGTERM) {
            kill_children();
            return 0;
        }
    }
}
