#!/bin/sh
# tini-rs self-check: the default command of the Dockerfile.test image, where tini-rs is
# PID 1 (ENTRYPOINT ["/tini-rs", "--"]) and this script is its program. It checks, from inside
# the container, that PID 1 reaps orphans, forwards signals to its program's children and
# propagates exit codes, and exits 0 only when every check holds. Busybox applets only.
# shellcheck disable=SC2016,SC2317 # $1 expands in the child shells; functions run via wait_for
TINI=${TINI:-/tini-rs}
tmp=$(mktemp -d)
failures=0
checks=0
pass() { checks=$((checks + 1)); echo "PASS  $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL  $*"; }

# Runs "$@" every 0.1 s until it succeeds; gives up after 10 s. (The explicit return 0
# matters: a loop's status is its last body command's, a sleep that the forwarded USR1 killed.)
wait_for() {
    n=0
    while ! "$@"; do
        n=$((n + 1))
        [ "$n" -le 100 ] || return 1
        sleep 0.1
    done
    return 0
}

# Processes whose parent is PID 1, other than this script: orphans that PID 1 adopted and has
# not reaped yet (alive or zombie).
adopted() { ps -o pid,ppid | awk -v me="$$" 'NR > 1 && $2 == 1 && $1 != me'; }
none_adopted() { [ -z "$(adopted)" ]; }
zombies() { ps -o pid,stat,args | awk 'NR > 1 && $2 ~ /^Z/'; }

# 1. PID 1 is tini-rs (asked through /proc/1/exe, so this holds under `docker run --init` too).
v=$(/proc/1/exe --version 2>&1)
case $v in
    *_tini-rs*) pass "PID 1 is tini-rs: $v" ;;
    *) fail "PID 1 is not tini-rs: /proc/1/exe --version said: $v" ;;
esac

# 2. Reaping: five double-forked background jobs become orphans, adopted by PID 1; once they
#    have exited, PID 1 must have reaped them all: no zombie left.
for _ in 1 2 3 4 5; do (sleep 0.5 &); done
echo "      orphans adopted by PID 1: $(adopted | wc -l)"
if wait_for none_adopted && [ -z "$(zombies)" ]; then
    pass "orphans reaped by PID 1, no zombie"
else
    fail "orphans not reaped:"; ps -o pid,ppid,stat,args
fi

# 3. Signal forwarding: SIGUSR1 sent to PID 1 from inside must reach this script's child (PID 1
#    signals its program's process group, which the child shares) and run its trap.
got_usr1=no
trap 'got_usr1=yes' USR1
sh -c 'trap "echo got > $1/child-usr1; exit 0" USR1
       : > "$1/child-ready"
       while :; do sleep 0.1; done' sh "$tmp" &
child=$!
if wait_for [ -e "$tmp"/child-ready ]; then
    kill -USR1 1
    if wait_for [ -e "$tmp"/child-usr1 ]; then
        pass "kill -USR1 1 reached the program's child (its trap ran)"
    else
        fail "kill -USR1 1 did not reach the program's child"
    fi
else
    fail "the signal-test child did not start"
fi
kill "$child" 2>/dev/null
wait "$child" 2>/dev/null
if [ "$got_usr1" = yes ]; then pass "kill -USR1 1 reached the program itself"; else fail "the program did not get USR1"; fi
trap - USR1

# 4. Exit-code propagation through a nested tini-rs (-s: a subreaper, since it is not PID 1).
"$TINI" -s -- sh -c 'exit 7'; rc=$?
if [ "$rc" -eq 7 ]; then pass "exit 7 propagated (7)"; else fail "exit 7 gave $rc"; fi
"$TINI" -s -- sh -c 'kill -TERM $$'; rc=$?
if [ "$rc" -eq 143 ]; then pass "program killed by SIGTERM gives 143"; else fail "SIGTERM gave $rc, not 143"; fi
"$TINI" -s -e 7 -- sh -c 'exit 7'; rc=$?
if [ "$rc" -eq 0 ]; then pass "-e 7 remaps exit 7 to 0"; else fail "-e 7 gave $rc"; fi

# 5. Forwarding by a nested tini-rs: SIGTERM to it ends its program (143).
"$TINI" -s -- sh -c ': > "$1/nested-ready"; sleep 1000' sh "$tmp" &
nested=$!
if wait_for [ -e "$tmp"/nested-ready ]; then
    kill -TERM "$nested"
    wait "$nested"; rc=$?
    if [ "$rc" -eq 143 ]; then pass "SIGTERM to a nested tini-rs ends its program: 143"; else fail "nested tini-rs gave $rc after SIGTERM"; fi
else
    fail "the nested tini-rs program did not start"; kill -KILL "$nested" 2>/dev/null
fi

# 6. Nothing left as a zombie at the end.
if wait_for none_adopted && [ -z "$(zombies)" ]; then pass "no zombie at the end"; else fail "zombies at the end:"; ps -o pid,ppid,stat,args; fi

rm -rf "$tmp"
if [ "$failures" -eq 0 ]; then
    echo "self-check: all $checks checks passed"
    exit 0
fi
echo "self-check: $failures of $checks checks FAILED"
exit 1
