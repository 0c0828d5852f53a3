#!/usr/bin/env bash
# Builds the static tini-rs and runs it as PID 1 of a fresh PID namespace on a small
# program that leaves orphans behind, gets a signal forwarded, and exits 3.
# Usage: examples/demo.sh   (as root; otherwise a user namespace is used)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/x86_64-unknown-linux-gnu/release/tini-rs
echo "== $(file -b "$bin" | cut -d, -f1-2), $(stat -c %s "$bin") bytes"
"$bin" --version

ns=(unshare --pid --fork --mount-proc)
[ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --pid --fork --mount-proc)

# The program: starts three orphans (double-forked background jobs), shows the process
# table with tini-rs as PID 1, counts zombies once the orphans are done, asks tini-rs (PID 1)
# to forward SIGUSR1 to it, and exits 3.
program='
trap "echo \"program: got SIGUSR1 from tini-rs\"" USR1
for i in 1 2 3; do (sleep 0.$i &) ; done
ps -o pid,ppid,stat,comm 2>/dev/null || ps
sleep 0.5
echo "program: zombies left: $(grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l)"
kill -USR1 1; sleep 1  # the forwarded signal interrupts the sleep (same group)
exit 3
'
set +e
"${ns[@]}" "$bin" -w -vv -- sh -c "$program"
code=$?
set -e
echo "== tini-rs exited with $code (the program's status)"
[ "$code" -eq 3 ]
