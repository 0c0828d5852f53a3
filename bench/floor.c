/* The floor: the least work an init can do, for bench/run to measure beside the real ones.
 *
 *   floor -- PROGRAM [ARG...]
 *
 * Blocks every signal, forks PROGRAM in its own process group, then loops: wait for one
 * signal (sigwaitinfo); SIGCHLD -> reap with waitpid(-1, WNOHANG) until none is left, exit
 * with the program's status once it is reaped; any other signal -> kill(-group, sig).
 * That is one wait and one kill per forwarded signal, nothing else: no options, no logging,
 * no checks, no tty hand-over. It is not a product (it ignores everything tini-rs handles);
 * it bounds what any forwarding init can reach on this machine, so that a target below it
 * can be shown to be out of reach.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int first = (argc > 1 && argv[1][0] == '-' && argv[1][1] == '-' && !argv[1][2]) ? 2 : 1;
    if (first >= argc) {
        fputs("usage: floor -- PROGRAM [ARG...]\n", stderr);
        return 1;
    }
    sigset_t all, old;
    sigfillset(&all);
    if (sigprocmask(SIG_BLOCK, &all, &old) != 0) {
        perror("floor: sigprocmask");
        return 1;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("floor: fork");
        return 1;
    }
    if (child == 0) {
        setpgid(0, 0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[first], argv + first);
        perror("floor: exec");
        _exit(127);
    }
    for (;;) {
        int sig = sigwaitinfo(&all, NULL);
        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(-child, sig);
            continue;
        }
        for (;;) {
            int status;
            pid_t pid = waitpid(-1, &status, WNOHANG);
            if (pid <= 0)
                break;
            if (pid == child)
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
}
