/* Zombie factory for bench/run (forking from Python is 10-20x slower).
 *
 *   zombies burst N   fork up to N children that exit at once (zombies of this process);
 *                     when all have exited print "armed K", wait for a line on stdin, print
 *                     "gone T" and exit, so that the K zombies are re-parented together.
 *   zombies stream N  a chain of N orphans: each link forks the next and exits; the last
 *                     prints "streamed K T".
 *
 * T is CLOCK_MONOTONIC in ns. Output goes to stdout, unbuffered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void say(const char *text) {
    size_t n = strlen(text);
    while (n > 0) {
        ssize_t w = write(1, text, n);
        if (w <= 0) return;
        text += w;
        n -= (size_t)w;
    }
}

static pid_t fork_retry(void) {
    for (int i = 0; i < 200; i++) {
        pid_t p = fork();
        if (p >= 0 || errno != EAGAIN) return p;
        usleep(10000);
    }
    return -1;
}

static int burst(long n) {
    int gate[2];
    if (pipe(gate) != 0) return 1;
    long made = 0;
    for (; made < n; made++) {
        pid_t c = fork();
        if (c < 0) break;
        if (c == 0) _exit(0);
    }
    /* Every child held gate[1] until it exited: EOF means all of them are zombies. */
    close(gate[1]);
    char b;
    while (read(gate[0], &b, 1) > 0) {
    }
    char line[64];
    snprintf(line, sizeof line, "armed %ld\n", made);
    say(line);
    char in[16];
    ssize_t r = read(0, in, sizeof in);
    snprintf(line, sizeof line, "gone %lld\n", now_ns());
    say(line);
    _exit(r > 0 ? 0 : 1);
}

static int stream(long n) {
    long i = 0;
    while (i < n) {
        pid_t c = fork_retry();
        if (c < 0) break;
        if (c > 0) _exit(0); /* the parent leaves; the child is an orphan of the init */
        i++;
    }
    char line[64];
    snprintf(line, sizeof line, "streamed %ld %lld\n", i, now_ns());
    say(line);
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    long n = atol(argv[2]);
    if (strcmp(argv[1], "burst") == 0) return burst(n);
    if (strcmp(argv[1], "stream") == 0) return stream(n);
    return 2;
}
