#!/usr/bin/env bash
# Points the integration suite at deliberately broken binaries and checks, for each, that the
# suite fails, within LIMIT seconds (default 120), and leaves no process behind (and that the
# real binary, the control, passes).
#
# Usage: tests/broken-binary.sh [--limit SECONDS] [KIND...]   (as root; default: every kind)
#   exit0   exits 0 at once, running nothing
#   hang    never exits, ignores every catchable signal, runs nothing
#   deaf    runs the program and exits with its status, but forwards no signal (it blocks
#           them all) and reaps nothing but its child
#   linger  the real tini-rs, but it never exits after the program has (and ignores signals)
#   good    the real binary: the suite passes (the control)
#
# Each run is `TINI_RS_TEST_BIN=<broken tini-rs> <integration test binary>` inside a PID
# namespace of its own, whose init is the shell that runs it: every process the suite leaves
# behind (anything re-parented past the tests' keepers) ends up in that namespace, and once
# the suite has ended the shell lists every live process in it but itself and the lister,
# and prints `ps` of the namespace (PID, parent, state, command) as the evidence.
# The namespace only contains the check: the tests themselves must already clean up.
# KEEP=1 keeps the logs (printed at the end) in the temporary directory. FILTER="NAME..."
# runs only the tests whose names contain a NAME (the test binary's filters).
set -euo pipefail
cd "$(dirname "$0")/.."

limit=120
if [ "${1:-}" = "--limit" ]; then
  limit=$2
  shift 2
fi
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(exit0 hang deaf linger good)

if [ "$(id -u)" -ne 0 ]; then
  echo "tests/broken-binary.sh must run as root (PID namespaces)" >&2
  exit 1
fi

cargo build --quiet
testbin=$(cargo test --no-run --test integration --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "integration" and m.get("executable"):
        print(m["executable"])')
real=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/x86_64-unknown-linux-gnu/debug/tini-rs
[ -x "$testbin" ] && [ -x "$real" ] || { echo "no test binary or tini-rs built" >&2; exit 1; }

work=$(mktemp -d /tmp/tini-rs-broken.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

# Each broken binary is called tini-rs (the harness finds tini-rs by its name in /proc).
make_kind() {
  local dir=$work/$1
  mkdir -p "$dir"
  case $1 in
    exit0) printf '#!/bin/sh\nexit 0\n' >"$dir/tini-rs" ;;
    hang)
      printf '#!/bin/sh\ntrap "" HUP INT QUIT USR1 USR2 PIPE ALRM TERM CONT TSTP TTIN TTOU\nwhile :; do sleep 1; done\n' >"$dir/tini-rs"
      ;;
    deaf)
      cat >"$dir/tini-rs" <<'EOF'
#!/usr/bin/python3
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
args = sys.argv[1:]
args = args[args.index("--") + 1:] if "--" in args else [a for a in args if not a.startswith("-")]
pid = os.fork()
if pid == 0:
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    os.execvp(args[0], args)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
sys.exit(code if code >= 0 else 128 - code)
EOF
      ;;
    linger)
      printf '#!/bin/sh\ntrap "" HUP INT QUIT USR1 USR2 PIPE ALRM TERM CONT TSTP TTIN TTOU\n"%s" "$@"\nwhile :; do sleep 1; done\n' "$real" >"$dir/tini-rs"
      ;;
    good) cp "$real" "$dir/tini-rs" ;;
    *)
      echo "unknown kind $1" >&2
      exit 1
      ;;
  esac
  chmod 755 "$dir/tini-rs"
  echo "$dir/tini-rs"
}

# Lists the live processes of this namespace but PID 1 and itself: `PID state S ppid P cmdline`.
lister='import os
me = os.getpid()
for p in sorted(int(d) for d in os.listdir("/proc") if d.isdigit()):
    if p in (1, me):
        continue
    try:
        stat = open("/proc/%d/stat" % p).read()
        cmd = open("/proc/%d/cmdline" % p, "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        continue
    if stat[stat.rindex(")") + 2] != "Z":
        f = stat[stat.rindex(")") + 2:].split()
        print(p, "state", f[0], "ppid", f[1], cmd[:150])'

failed=0
summary=()
for kind in "${kinds[@]}"; do
  bin=$(make_kind "$kind")
  log=$work/$kind.log
  echo "==> $kind: the integration suite against $bin"
  start=$(date +%s)
  set +e
  TINI_RS_TEST_BIN=$bin unshare --pid --fork --mount-proc --kill-child -- \
    /bin/sh -c 'bin=$1 log=$2 lister=$3 ps=$4; shift 4; "$bin" "$@" >"$log" 2>&1; echo "suite exit $?"
      ps -A -o pid,ppid,stat,args >"$ps"; python3 -c "$lister"' \
    sh "$testbin" "$log" "$lister" "$work/$kind.ps" ${FILTER:-} \
    >"$work/$kind.after" 2>&1
  set -e
  took=$(($(date +%s) - start))
  suite=$(sed -n 's/^suite exit //p' "$work/$kind.after")
  left=$(grep -vc '^suite exit ' "$work/$kind.after" || true)
  result=$(grep -aE '^test result:' "$log" || echo "no result line")
  echo "    $result"
  echo "    suite exit $suite in ${took}s; processes left: $left"
  { grep -v "^suite exit " "$work/$kind.after" || true; } | sed "s/^/    left: /" | head -20
  # The evidence, by PID and parent: ps of the whole namespace once the suite has ended
  # (PID 1 is the shell that ran it; zombies, state Z, are dead and hold nothing).
  cut -c1-110 "$work/$kind.ps" | sed "s/^/    ps: /" | head -20
  ok=1
  # The control passes in whatever time the suite takes; a broken binary fails within LIMIT.
  if [ "$kind" = good ]; then
    [ "$suite" = 0 ] || ok=0
  else
    [ "$suite" != 0 ] && [ "$took" -le "$limit" ] || ok=0
  fi
  [ "$left" = 0 ] || ok=0
  if [ $ok = 1 ]; then
    summary+=("ok    $kind: suite exit $suite in ${took}s, nothing left")
  else
    failed=1
    summary+=("FAIL  $kind: suite exit $suite in ${took}s (limit ${limit}s), $left processes left")
    tail -40 "$log" | sed 's/^/    /'
  fi
done
echo
printf '%s\n' "${summary[@]}"
[ -z "${KEEP:-}" ] || echo "logs in $work"
exit $failed
