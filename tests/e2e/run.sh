#!/usr/bin/env bash
# End-to-end suite: tini-rs inside real container engines, with no registry.
#
# Builds the static binary, makes a busybox root filesystem from Debian's busybox-static, and
# checks through runc (an OCI bundle), the Docker engine (a dockerd started here, with
# examples/daemon.json's init-path pointing at tini-rs; `docker run --init`, Dockerfile.test,
# examples/Dockerfile) and podman (--rootfs --init --init-path) that tini-rs is PID 1, passes
# exit codes and signals on, reaps orphans and makes stops fast. Prints a PASS/FAIL summary
# with the stop times with and without an init, and exits non-zero if any check failed.
#
# Usage (as root, from anywhere): bash tests/e2e/run.sh
# Installs what it needs with apt-get when missing. Everything it starts (daemons,
# containers) is stopped by PID and everything it makes is under one temporary directory,
# removed at the end, with the engines' own leftovers on the host.
# shellcheck disable=SC2016 # the containers' programs are single-quoted on purpose
set -euo pipefail
. "$(dirname "$0")/needs.sh"

cd "$(dirname "$0")/../.."
ROOT=$PWD
E2E=$ROOT/tests/e2e
SUITE_START=$(date +%s)

# ---------------------------------------------------------------------------------------------
# Results

RESULTS=()
NFAIL=0
declare -A FIG=()

pass() { RESULTS+=("PASS  $1"); echo "  PASS  $1"; }
fail() { RESULTS+=("FAIL  $1"); echo "  FAIL  $1"; NFAIL=$((NFAIL + 1)); }
section() { printf '\n== %s\n' "$*"; }
note() { echo "  ..    $*"; }
die() { echo "e2e: $*" >&2; exit 1; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%03d s' $(($1 / 1000)) $(($1 % 1000)); } # milliseconds -> "1.234 s"

# Runs "$@" every 50 ms until it succeeds; fails after $WAIT_S seconds (default 20).
wait_until() {
  local deadline=$(($(now_ms) + ${WAIT_S:-20} * 1000))
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
  return 0
}
file_has() { [ -f "$1" ] && grep -qF -- "$2" "$1"; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it starts container engines)"

# ---------------------------------------------------------------------------------------------
# Dependencies

section "dependencies"
# Debian package -> a file it installs that the suite uses.
declare -A NEED=(
  [runc]=/usr/sbin/runc
  [docker.io]=/usr/sbin/dockerd
  [podman]=/usr/bin/podman
  [busybox-static]=/bin/busybox
  [util-linux]=/usr/bin/unshare
  [bsdutils]=/usr/bin/script
  [coreutils]=/usr/bin/timeout
  [python3]=/usr/bin/python3
  [python3-yaml]=/usr/lib/python3/dist-packages/yaml
  [skopeo]=/usr/bin/skopeo
)
install_missing
# The Docker client from docker.io matches its daemon; another `docker` on PATH may not.
DOCKER_BIN=/usr/bin/docker
[ -x "$DOCKER_BIN" ] || DOCKER_BIN=$(command -v docker) || die "no docker client"
PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || PY=python3

# ---------------------------------------------------------------------------------------------
# The binary

section "cargo build --release"
cargo build --release
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
BIN=$TARGET_DIR/x86_64-unknown-linux-gnu/release/tini-rs
[ -x "$BIN" ] || BIN=$TARGET_DIR/release/tini-rs
[ -x "$BIN" ] || die "no binary at $BIN"
echo "$BIN: $("$BIN" --version), $(stat -c %s "$BIN") bytes"

# The release command's output (release/build.sh), whose OCI image the Docker section uses.
RELEASE_DIST=${TINI_RS_DIST:-$ROOT/dist}

# ---------------------------------------------------------------------------------------------
# Temporary directory, and putting the host back as it was

T=$(mktemp -d /tmp/tini-rs-e2e.XXXXXX)
chmod 755 "$T"
RUNC_ROOT=$T/runc
DOCKERD_PID=
DOCKER_SOCK=$T/docker/docker.sock
# The client's own config stays out of ~/.docker (podman reads this file too: it must exist).
export DOCKER_CONFIG=$T/docker-cli
mkdir -p "$DOCKER_CONFIG"
echo '{}' >"$DOCKER_CONFIG/config.json"
PODMAN_ARGS=(--root "$T/podman/root" --runroot "$T/podman/runroot")

# Paths the engines create on the host whatever their configuration says; those that did not
# exist before the run are removed after it (directories only when empty). Deepest first.
HOST_PATHS=(/etc/docker/key.json /etc/docker /run/docker/plugins /run/docker
  /run/containerd/s /run/containerd /run/runc /run/libpod /run/containers/networks
  /run/containers /var/lib/containers)
declare -A HOST_EXISTED=()
for p in "${HOST_PATHS[@]}"; do [ -e "$p" ] && HOST_EXISTED[$p]=1; done

# Processes whose command line names the temporary directory: ours, by construction.
our_pids() {
  local d
  for d in /proc/[0-9]*; do
    [ "${d#/proc/}" != $$ ] && grep -qsF -- "$T/" "$d/cmdline" && echo "${d#/proc/}"
  done
  return 0
}

# A process that exists and is not a zombie (kill -0 also succeeds on a zombie).
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
gone() { ! alive "$1"; }

stop_pid() { # PID SECONDS: SIGTERM, wait, then SIGKILL
  local pid=$1 limit=$2
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  WAIT_S=$limit wait_until gone "$pid" && return 0
  echo "cleanup: pid $pid still alive after ${limit}s, SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

docker_cli() { timeout 120 "$DOCKER_BIN" -H "unix://$DOCKER_SOCK" "$@"; }
podman_cli() { timeout 120 podman "${PODMAN_ARGS[@]}" "$@"; }

cleanup() {
  local rc=$? id pid mnt p ids
  set +e
  trap - EXIT INT TERM
  echo
  echo "== cleanup"
  if [ -d "$RUNC_ROOT" ]; then
    for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
      runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1
    done
  fi
  if [ -n "$DOCKERD_PID" ] && alive "$DOCKERD_PID"; then
    mapfile -t ids < <(docker_cli ps -aq 2>/dev/null)
    [ ${#ids[@]} -eq 0 ] || docker_cli rm -f "${ids[@]}" >/dev/null 2>&1
    mapfile -t ids < <(docker_cli images -q 2>/dev/null | sort -u)
    [ ${#ids[@]} -eq 0 ] || docker_cli rmi -f "${ids[@]}" >/dev/null 2>&1
    echo "stopping dockerd (pid $DOCKERD_PID)"
    stop_pid "$DOCKERD_PID" 30
    wait "$DOCKERD_PID" 2>/dev/null
  fi
  if [ -d "$T/podman" ]; then
    podman_cli rm -af -t 0 >/dev/null 2>&1
  fi
  # Anything still running from the temporary directory (a containerd or conmon left behind).
  for pid in $(our_pids); do
    echo "cleanup: stopping leftover pid $pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | cut -c1-120)"
    stop_pid "$pid" 5
  done
  # Mounts under the temporary directory (the engines unmount their own; this is a net).
  while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || echo "cleanup: cannot unmount $mnt" >&2
  done < <(awk -v t="$T/" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  rm -rf --one-file-system "$T" || echo "cleanup: could not remove all of $T" >&2
  for p in "${HOST_PATHS[@]}"; do
    [ -z "${HOST_EXISTED[$p]:-}" ] || continue
    if [ -f "$p" ]; then
      rm -f "$p"
    elif [ -d "$p" ]; then
      find "$p" -depth -type d -empty -delete 2>/dev/null
      [ ! -e "$p" ] || echo "cleanup: left $p (not empty)" >&2
    fi
  done
  echo "removed $T; host paths put back"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Root filesystem and build contexts

section "root filesystem"
"$E2E/make-context.sh" "$T/ctx" "$BIN"
ROOTFS=$T/rootfs
cp -a "$T/ctx/rootfs" "$ROOTFS"
install -m 0755 "$BIN" "$ROOTFS/tini-rs"
install -m 0755 "$E2E/selfcheck.sh" "$ROOTFS/selfcheck.sh"
INIT=$T/bin/tini-rs # the init given to dockerd and podman
install -D -m 0755 "$BIN" "$INIT"
tar -C "$ROOTFS" -cf "$T/rootfs.tar" .
echo "rootfs: $ROOTFS ($(du -sh "$ROOTFS" | cut -f1)), tarball $(du -h "$T/rootfs.tar" | cut -f1)"

# ---------------------------------------------------------------------------------------------
# Programs run inside the containers (busybox sh); their $ expand there, not here.

# Prints the process table and `PID1=<first word of PID 1's command line>`.
PS_PROG='ps -o pid,args; echo "PID1=$(tr "\0" "\n" < /proc/1/cmdline | head -n1)"; echo "PID1_VERSION=$(/proc/1/exe --version)"'

# Five orphans (double-forked jobs) are adopted by PID 1; waits up to 15 s for every adopted
# process to be gone (reaped) and exits 0 only if none is left and no process is a zombie.
ORPHANS_PROG='
adopted() { ps -o pid,ppid | awk -v me=$$ "NR > 1 && \$2 == 1 && \$1 != me"; }
for i in 1 2 3 4 5; do (sleep 0.5 &); done
echo "adopted by PID 1: $(adopted | wc -l) orphans"
n=0
while [ -n "$(adopted)" ] && [ $n -lt 150 ]; do n=$((n + 1)); sleep 0.1; done
ps -o pid,ppid,stat,comm
if ps -o stat | grep -q Z; then echo "ZOMBIES LEFT"; exit 1; fi
if [ -n "$(adopted)" ]; then echo "ORPHANS NOT REAPED"; exit 1; fi
echo "all orphans reaped, no zombie"'

SLEEP_PROG='echo ready; sleep 1000'

# Signals: the trap re-raises with the default action, so the program really dies of SIGINT
# (a shell running -c catches SIGINT itself and could lose one that arrives just before an
# exec: this makes the check about tini-rs, not the shell).
INT_PROG='trap "trap - INT; kill -INT \$\$" INT; echo ready; while :; do sleep 1; done'
USR1_PROG='trap "echo got USR1; exit 0" USR1; echo ready; sleep 1000 & wait; echo "no USR1"; exit 3'

# TINI_GRACE_PERIOD: the program exits at once and leaves a job that reports SIGTERM.
GRACE_PROG='
(trap "echo leftover: got SIGTERM; exit 0" TERM; : > /tmp/leftover-ready
 while :; do sleep 0.1; done) &
while [ ! -e /tmp/leftover-ready ]; do sleep 0.05; done
echo "program: exiting, leaving a job behind"'

# TINI_SUBREAPER: run under a nested tini-rs (not PID 1); prints its PID and the parent of an
# orphan made by the program.
# The orphan is polled for (up to 5 s) until it has been re-parented (to the nested init or
# to PID 1): right after the subshell exits it may not have exec'd sleep or been adopted yet.
SUBREAPER_PROG='(sleep 5 &); echo "nested_init=$PPID"; i=0; p=; while [ $i -lt 100 ]; do p=$(ps -o ppid,comm | awk "\$2 == \"sleep\" {print \$1}"); if [ "$p" = "$PPID" ] || [ "$p" = 1 ]; then break; fi; i=$((i+1)); sleep 0.05; done; echo "orphan_parent=$p"'

# Extracts KEY=VALUE from a file.
get() { sed -n "s/^$2=//p" "$1" | tr -d '\r' | head -n1; }

# Checks a PID-1 listing: PID 1 runs EXPECTED (path) and answers --version as tini-rs.
check_pid1() { # ENGINE OUTFILE EXPECTED_PATH
  local pid1 ver
  pid1=$(get "$2" PID1)
  ver=$(get "$2" PID1_VERSION)
  cut -c1-110 "$2" | sed 's/^/        /' | grep -v '^        PID1'
  if [ "$pid1" = "$3" ] && [[ $ver == *_tini-rs* ]]; then
    pass "$1: PID 1 is tini-rs ($pid1: $ver)"
  else
    fail "$1: PID 1 is '$pid1' ('$ver'), expected $3 = tini-rs"
  fi
}

check_codes() { # ENGINE RUNNER... : RUNNER PROGRAM runs `sh -c PROGRAM` under the init
  local engine=$1 got=() rc prog
  shift
  for prog in 'exit 0' 'exit 7' 'kill -TERM $$; sleep 5'; do
    rc=0
    "$@" "$prog" >"$T/codes.out" 2>&1 || rc=$?
    got+=("$rc")
  done
  if [ "${got[*]}" = "0 7 143" ]; then
    pass "$engine: exit codes exit 0 / exit 7 / killed by SIGTERM -> ${got[*]// / \/ }"
  else
    fail "$engine: exit codes ${got[*]}, expected 0 7 143 (last output: $(tail -n3 "$T/codes.out" | tr '\n' ' '))"
  fi
  FIG[$engine,codes]="${got[*]// //}"
}

check_orphans() { # ENGINE OUTFILE RC
  sed 's/^/        /' "$2"
  if [ "$3" -eq 0 ] && grep -q 'adopted by PID 1: [1-9]' "$2" && ! grep -q ' Z ' "$2"; then
    pass "$1: orphans adopted by PID 1 are reaped, no zombie"
  else
    fail "$1: orphans not reaped (exit $3)"
  fi
}

# Stop comparison: with an init, fast and 143; without, not stopped by SIGTERM (137 after KILL).
check_stop() { # ENGINE INIT_MS INIT_RC NOINIT_MS NOINIT_RC NOINIT_LABEL
  local e=$1
  FIG[$e,stop_init]="$(secs "$2"), exit $3"
  FIG[$e,stop_noinit]="$(secs "$4"), exit $5 ($6)"
  if [ "$3" -eq 143 ] && [ "$2" -lt 2000 ]; then
    pass "$e: stop with tini-rs took $(secs "$2"), exit 143"
  else
    fail "$e: stop with tini-rs took $(secs "$2"), exit $3 (expected < 2 s and 143)"
  fi
  if [ "$5" -eq 137 ] && [ "$4" -ge 2900 ]; then
    pass "$e: stop without init took $(secs "$4"), exit 137 ($6)"
  else
    fail "$e: stop without init took $(secs "$4"), exit $5 (expected SIGTERM ignored: >= 3 s, 137)"
  fi
}

# ---------------------------------------------------------------------------------------------
# runc

runc_bundle() { # NAME ARGS... -> $T/bundles/NAME with process.args = ARGS
  local dir=$T/bundles/$1
  shift
  mkdir -p "$dir"
  (cd "$dir" && runc spec)
  "$PY" - "$dir/config.json" "$ROOTFS" "$@" <<'PYEOF'
import json, sys
path, rootfs, args = sys.argv[1], sys.argv[2], sys.argv[3:]
spec = json.load(open(path))
spec["root"] = {"path": rootfs, "readonly": True}
spec["process"]["terminal"] = False
spec["process"]["args"] = args
spec["hostname"] = "tini-rs-e2e"
spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "nodev", "mode=1777"]})
json.dump(spec, open(path, "w"), indent=1)
PYEOF
}

RUNC_N=0
runc_fg() { # ARGS... : runs a container in the foreground, output on stdout; returns its code
  RUNC_N=$((RUNC_N + 1))
  runc_bundle "fg$RUNC_N" "$@"
  timeout 60 runc --root "$RUNC_ROOT" run --bundle "$T/bundles/fg$RUNC_N" "e2e-fg$RUNC_N" </dev/null
}
runc_init() { runc_fg /tini-rs -- sh -c "$1"; }

# Starts ID in the background; its output goes to $T/ID.out, its exit code to $T/ID.rc.
runc_bg() { # ID ARGS...
  local id=$1
  shift
  runc_bundle "$id" "$@"
  (
    rc=0
    runc --root "$RUNC_ROOT" run --bundle "$T/bundles/$id" "$id" >"$T/$id.out" 2>&1 </dev/null || rc=$?
    echo "$rc" >"$T/$id.rc"
  ) &
}

runc_section() {
  section "runc $(runc --version | head -n1 | awk '{print $3}')"
  local rc out=$T/runc.out

  rc=0
  runc_fg /tini-rs -- sh -c "$PS_PROG" >"$out" 2>&1 || rc=$?
  check_pid1 runc "$out" /tini-rs

  check_codes runc runc_init

  rc=0
  runc_init "$ORPHANS_PROG" >"$out" 2>&1 || rc=$?
  check_orphans runc "$out" "$rc"

  # runc kill ID TERM: with tini-rs, then with sh as PID 1 (ignores SIGTERM: no handler).
  local t0 init_ms=99999 init_rc=-1 noinit_ms=99999 noinit_rc=-1
  runc_bg stop-init /tini-rs -- sh -c "$SLEEP_PROG"
  if wait_until file_has "$T/stop-init.out" ready; then
    t0=$(now_ms)
    runc --root "$RUNC_ROOT" kill stop-init TERM
    if WAIT_S=30 wait_until test -s "$T/stop-init.rc"; then
      init_ms=$(($(now_ms) - t0))
      init_rc=$(cat "$T/stop-init.rc")
    fi
  fi
  runc_bg stop-noinit sh -c "$SLEEP_PROG"
  if wait_until file_has "$T/stop-noinit.out" ready; then
    t0=$(now_ms)
    runc --root "$RUNC_ROOT" kill stop-noinit TERM
    if WAIT_S=4 wait_until test -s "$T/stop-noinit.rc"; then
      note "runc: the no-init container stopped on SIGTERM (unexpected)"
    else
      runc --root "$RUNC_ROOT" kill stop-noinit KILL
    fi
    if WAIT_S=30 wait_until test -s "$T/stop-noinit.rc"; then
      noinit_ms=$(($(now_ms) - t0))
      noinit_rc=$(cat "$T/stop-noinit.rc")
    fi
  fi
  check_stop runc "$init_ms" "$init_rc" "$noinit_ms" "$noinit_rc" "SIGTERM ignored for 4 s, then runc kill KILL"

  # runc kill ID USR1 reaches the program (its trap runs, it exits 0).
  runc_bg usr1 /tini-rs -- sh -c "$USR1_PROG"
  rc=-1
  if wait_until file_has "$T/usr1.out" ready; then
    runc --root "$RUNC_ROOT" kill usr1 USR1
    if WAIT_S=10 wait_until test -s "$T/usr1.rc"; then
      rc=$(cat "$T/usr1.rc")
    else
      runc --root "$RUNC_ROOT" kill usr1 KILL
    fi
  fi
  if [ "$rc" -eq 0 ] && file_has "$T/usr1.out" "got USR1"; then
    pass "runc: runc kill USR1 reached the program (trap ran, exit 0)"
  else
    fail "runc: USR1 not delivered (exit $rc; output: $(tr '\n' ' ' <"$T/usr1.out"))"
  fi

  # The Dockerfile.test self-check, with tini-rs as process.args like an ENTRYPOINT.
  rc=0
  runc_fg /tini-rs -- /bin/sh /selfcheck.sh >"$out" 2>&1 || rc=$?
  sed 's/^/        /' "$out"
  if [ "$rc" -eq 0 ]; then pass "runc: selfcheck.sh under tini-rs exits 0"; else fail "runc: selfcheck.sh exit $rc"; fi
}

# ---------------------------------------------------------------------------------------------
# Docker engine

IMG=tini-e2e-busybox

start_dockerd() {
  mkdir -p "$T/docker"
  # examples/daemon.json is the template: its init-path, pointed at the binary under test.
  "$PY" - "$ROOT/examples/daemon.json" "$T/docker/daemon.json" "$INIT" <<'PYEOF'
import json, sys
src, dst, init = sys.argv[1:]
config = json.load(open(src))
assert "init-path" in config, "examples/daemon.json has no init-path"
config["init-path"] = init
json.dump(config, open(dst, "w"), indent=2)
PYEOF
  echo "daemon.json: $(tr -d '\n ' <"$T/docker/daemon.json")"
  dockerd --iptables=false --ip6tables=false --bridge=none \
    --data-root "$T/docker/data" --exec-root "$T/docker/exec" \
    --pidfile "$T/docker/dockerd.pid" -H "unix://$DOCKER_SOCK" \
    --config-file "$T/docker/daemon.json" >"$T/docker/dockerd.log" 2>&1 </dev/null &
  DOCKERD_PID=$!
  echo "dockerd pid $DOCKERD_PID"
  local t0
  t0=$(now_ms)
  if WAIT_S=90 wait_until dockerd_up_or_dead && alive "$DOCKERD_PID"; then
    pass "docker: dockerd $(docker_cli version -f '{{.Server.Version}}') started in $(secs $(($(now_ms) - t0)))"
    return 0
  fi
  fail "docker: dockerd did not start; the engine's checks cannot run. Log tail:"
  tail -n 30 "$T/docker/dockerd.log" | sed 's/^/        /'
  return 1
}

dockerd_up_or_dead() { gone "$DOCKERD_PID" || "$DOCKER_BIN" -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1; }

drun() { docker_cli run --rm --network none "$@"; }
drun_init() { drun --init "$IMG" sh -c "$1"; }

# Starts NAME detached with OPTIONS, waits for "ready" in its log.
dstart() { # NAME OPTIONS... -- PROGRAM
  local name=$1
  shift
  local opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  docker_cli run -d --name "$name" --network none "${opts[@]}" "$IMG" sh -c "$1" >/dev/null
  wait_until bash -c "$DOCKER_BIN -H unix://$DOCKER_SOCK logs $name 2>&1 | grep -q ready"
}
# `docker stop ARGS NAME` timed; sets STOP_MS and STOP_RC (the container's exit code).
dstop() {
  local name=${*: -1} t0
  t0=$(now_ms)
  docker_cli stop "$@" >/dev/null
  STOP_MS=$(($(now_ms) - t0))
  STOP_RC=$(docker_cli inspect -f '{{.State.ExitCode}}' "$name")
  docker_cli rm -f "$name" >/dev/null
}

docker_section() {
  section "Docker engine"
  start_dockerd || return 0
  local rc out=$T/docker.out

  # docker info: the init binary and its version as the daemon parsed it.
  docker_cli info >"$T/docker.info" 2>/dev/null || true
  local line json
  line=$(grep -i 'init version' "$T/docker.info" || echo "(no init version line)")
  json=$(docker_cli info -f '{{json .InitCommit}}' 2>/dev/null || echo '?')
  grep -i 'init binary' "$T/docker.info" | sed 's/^ */        /'
  echo "        $line   InitCommit=$json"
  FIG[docker,info]="${line#"${line%%[! ]*}"}   (InitCommit $json)"
  if grep -qi 'init version' "$T/docker.info" && ! grep -qi 'init version: *N/A' "$T/docker.info" &&
    ! grep -qiE 'failed to (parse|retrieve) .*version' "$T/docker/dockerd.log"; then
    pass "docker: docker info parses the init version (not N/A, no parse warning in the daemon log)"
    # Docker shows only the commit after " - git." in `init --version`; a binary built without
    # one prints "tini version X_tini-rs" alone, which parses, with an empty commit.
    [ "$json" != '{"ID":"","Expected":""}' ] || note "docker info shows an empty init version: --version has no ' - git.<commit>' part"
  else
    fail "docker: docker info init version not parsed: $line"
    grep -iE 'version' "$T/docker/dockerd.log" | tail -n 3 | sed 's/^/        /'
  fi

  if docker_cli import "$T/rootfs.tar" "$IMG" >/dev/null; then
    pass "docker: docker import of the busybox rootfs as $IMG"
  else
    fail "docker: docker import failed; the remaining docker checks cannot run"
    return 0
  fi

  rc=0
  drun --init "$IMG" sh -c "$PS_PROG" >"$out" 2>&1 || rc=$?
  check_pid1 docker "$out" /sbin/docker-init

  check_codes docker drun_init

  rc=0
  drun_init "$ORPHANS_PROG" >"$out" 2>&1 || rc=$?
  check_orphans docker "$out" "$rc"

  # docker stop: with --init fast and 143; without, SIGTERM is ignored until -t 3 runs out.
  local init_ms=99999 init_rc=-1 noinit_ms=99999 noinit_rc=-1
  if dstart stop-init --init -- "$SLEEP_PROG"; then
    dstop stop-init && init_ms=$STOP_MS && init_rc=$STOP_RC
  fi
  if dstart stop-noinit -- "$SLEEP_PROG"; then
    dstop -t 3 stop-noinit && noinit_ms=$STOP_MS && noinit_rc=$STOP_RC
  fi
  check_stop docker "$init_ms" "$init_rc" "$noinit_ms" "$noinit_rc" "docker stop -t 3: SIGTERM ignored, SIGKILL after 3 s"

  # docker run --init -it on a pseudo-terminal: Ctrl-C reaches the program.
  rc=0
  "$PY" "$E2E/pty_run.py" ready '\x03' 30 -- \
    "$DOCKER_BIN" -H "unix://$DOCKER_SOCK" run --rm -it --init --network none "$IMG" sh -c "$INT_PROG" \
    >"$out" 2>&1 || rc=$?
  FIG[docker,ctrlc]=$rc
  if [ "$rc" -eq 130 ]; then
    pass "docker: docker run --init -it, Ctrl-C typed on the terminal -> exit 130"
  else
    fail "docker: Ctrl-C through docker run --init -it gave exit $rc (output: $(tr '\r\n' '  ' <"$out"))"
  fi

  docker_env_checks
  docker_builds
  docker_stop_delay
  docker_release_image
}

# --stop-delay through `docker stop -t`: the program keeps serving while its SIGTERM is held,
# then exits 143 well before the SIGKILL.
docker_stop_delay() {
  local serve='echo ready; i=0; while :; do i=$((i+1)); echo "serving $i"; sleep 0.1; done'
  local name=stop-delay before after
  dstart "$name" --init -e TINI_STOP_DELAY=2s -- "$serve" || {
    fail "docker: the stop-delay container did not start"
    return 0
  }
  local t0
  t0=$(now_ms)
  docker_cli stop -t 10 "$name" >/dev/null &
  local stopper=$!
  before=$(docker_cli logs "$name" 2>&1 | grep -c serving)
  # Still serving during the delay: the log grows after the stop began.
  if WAIT_S=10 wait_until bash -c "[ \$($DOCKER_BIN -H unix://$DOCKER_SOCK logs $name 2>&1 | grep -c serving) -ge $((before + 5)) ]"; then
    after=$(docker_cli logs "$name" 2>&1 | grep -c serving)
  else
    after=$before
  fi
  wait "$stopper" || true
  STOP_MS=$(($(now_ms) - t0))
  STOP_RC=$(docker_cli inspect -f '{{.State.ExitCode}}' "$name")
  docker_cli rm -f "$name" >/dev/null
  FIG[docker,stop_delay]="$(secs "$STOP_MS"), exit $STOP_RC, served $((after - before))+ lines during the delay"
  if [ "$STOP_RC" -eq 143 ] && [ "$STOP_MS" -ge 2000 ] && [ "$STOP_MS" -lt 9000 ] && [ "$after" -ge $((before + 5)) ]; then
    pass "docker: TINI_STOP_DELAY=2s + docker stop -t 10: still serving during the delay, exit 143 after $(secs "$STOP_MS")"
  else
    fail "docker: stop delay: ${FIG[docker,stop_delay]} (want 143, 2-9 s, serving during the delay)"
  fi
}

# Configuration by environment alone: Docker gives the init no options.
docker_env_checks() {
  local rc out=$T/docker.out err=$T/docker.err

  # TINI_VERBOSITY=3: debug lines on stderr; none by default.
  rc=0
  drun --init -e TINI_VERBOSITY=3 "$IMG" sh -c 'exit 0' >"$out" 2>"$err" || rc=$?
  local ndebug nquiet=0
  ndebug=$(grep -c '^\[DEBUG *tini-rs' "$err" || true)
  drun --init "$IMG" sh -c 'exit 0' >"$out" 2>"$err.quiet" || true
  nquiet=$(grep -c 'tini-rs' "$err.quiet" || true)
  grep '^\[' "$err" | head -n 3 | sed 's/^/        /'
  if [ "$rc" -eq 0 ] && [ "$ndebug" -gt 0 ] && [ "$nquiet" -eq 0 ]; then
    pass "docker: -e TINI_VERBOSITY=3 -> $ndebug debug lines (none without it)"
  else
    fail "docker: TINI_VERBOSITY=3 gave $ndebug debug lines, exit $rc; $nquiet tini-rs lines without it"
  fi

  # TINI_REWRITE=TERM:INT: docker stop's SIGTERM arrives as SIGINT: exit 130.
  local rw_ms=99999 rw_rc=-1
  if dstart rewrite --init -e TINI_REWRITE=TERM:INT -- "$INT_PROG"; then
    dstop rewrite && rw_ms=$STOP_MS && rw_rc=$STOP_RC
  fi
  FIG[docker,rewrite]="$(secs "$rw_ms"), exit $rw_rc"
  if [ "$rw_rc" -eq 130 ]; then
    pass "docker: -e TINI_REWRITE=TERM:INT -> docker stop gives 130 in $(secs "$rw_ms")"
  else
    fail "docker: TINI_REWRITE=TERM:INT -> docker stop gave $rw_rc, expected 130"
  fi

  # TINI_GRACE_PERIOD=5s: what the program leaves behind gets SIGTERM and time to finish;
  # without it, the kernel kills it with SIGKILL when PID 1 exits.
  rc=0
  drun --init -e TINI_GRACE_PERIOD=5s "$IMG" sh -c "$GRACE_PROG" >"$out" 2>&1 || rc=$?
  local rc0=0
  drun --init "$IMG" sh -c "$GRACE_PROG" >"$out.nograce" 2>&1 || rc0=$?
  sed 's/^/        /' "$out"
  if [ "$rc" -eq 0 ] && grep -q 'leftover: got SIGTERM' "$out" && [ "$rc0" -eq 0 ] &&
    ! grep -q 'leftover: got SIGTERM' "$out.nograce"; then
    pass "docker: -e TINI_GRACE_PERIOD=5s -> the leftover job got SIGTERM (without it: killed silently)"
  else
    fail "docker: TINI_GRACE_PERIOD=5s: exit $rc, leftover message $(grep -c 'got SIGTERM' "$out" || true); without: exit $rc0"
  fi

  # A nested tini-rs (an image's init under docker run --init, not PID 1) adopts the program's
  # orphans with TINI_SUBREAPER= and, as a subreaper by itself, without it too; no warning.
  rc=0
  drun --init -e TINI_SUBREAPER= "$IMG" /sbin/docker-init -- sh -c "$SUBREAPER_PROG" >"$out" 2>"$err" || rc=$?
  local nested parent
  nested=$(get "$out" nested_init)
  parent=$(get "$out" orphan_parent)
  local rc0=0 nested0 parent0 warn0
  drun --init "$IMG" /sbin/docker-init -- sh -c "$SUBREAPER_PROG" >"$out.plain" 2>"$err.plain" || rc0=$?
  nested0=$(get "$out.plain" nested_init)
  parent0=$(get "$out.plain" orphan_parent)
  warn0=$(grep -c "zombie reaping won't work" "$err.plain" || true)
  note "TINI_SUBREAPER set: nested init pid $nested, orphan's parent $parent; unset: nested $nested0, orphan's parent $parent0, $warn0 warning"
  if [ "$rc" -eq 0 ] && [ -n "$nested" ] && [ "$parent" = "$nested" ] && [ "$nested" != 1 ] &&
    ! grep -q "zombie reaping" "$err" && [ "$rc0" -eq 0 ] && [ "$parent0" = "$nested0" ] && [ "$warn0" -eq 0 ]; then
    pass "docker: a nested tini-rs is the orphans' subreaper, with -e TINI_SUBREAPER= and without; no warning"
  else
    fail "docker: TINI_SUBREAPER: exit $rc, nested $nested, orphan parent $parent; unset: exit $rc0, nested $nested0, parent $parent0, warnings $warn0"
  fi
}

# `DOCKER_BUILDKIT=0 docker build ARGS...` (offline): a passed check named LABEL, or a
# failed one with the tail of the build's log; returns the build's success.
dbuild() { # LABEL ARGS...
  local label=$1 log=$T/docker.build rc=0
  shift
  DOCKER_BUILDKIT=0 docker_cli build --network none -q "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "docker: $label failed:"
    tail -n 20 "$log" | sed 's/^/        /'
    return 1
  fi
  pass "docker: $label"
}

docker_builds() {
  local rc out=$T/docker.out

  # Dockerfile.test: FROM scratch + the busybox rootfs, self-check as CMD.
  if dbuild "DOCKER_BUILDKIT=0 docker build -f Dockerfile.test" \
    -f "$ROOT/Dockerfile.test" -t tini-e2e-selfcheck "$T/ctx"; then
    rc=0
    drun tini-e2e-selfcheck >"$out" 2>&1 || rc=$?
    sed 's/^/        /' "$out"
    FIG[docker,selfcheck]=$rc
    if [ "$rc" -eq 0 ] && grep -q 'all .* checks passed' "$out"; then
      pass "docker: docker run tini-e2e-selfcheck (Dockerfile.test) exits 0"
    else
      fail "docker: Dockerfile.test image exited $rc"
    fi
  fi

  # examples/Dockerfile: the build stage takes the binary from the context (no Rust image
  # here), both stages FROM the imported busybox image.
  mkdir -p "$T/example-ctx"
  install -m 0755 "$BIN" "$T/example-ctx/tini-rs"
  dbuild "DOCKER_BUILDKIT=0 docker build -f examples/Dockerfile (BUILDER=BASE=$IMG)" \
    -f "$ROOT/examples/Dockerfile" --build-arg BUILDER="$IMG" --build-arg BASE="$IMG" \
    -t tini-e2e-example "$T/example-ctx" || return 0
  rc=0
  drun tini-e2e-example >"$out" 2>&1 || rc=$?
  sed 's/^/        /' "$out"
  if [ "$rc" -eq 0 ] && grep -q '^PID 1: /tini-rs -- ' "$out" && grep -q 'parent 1$' "$out"; then
    pass "docker: examples/Dockerfile image runs its CMD under tini-rs (PID 1), exit 0"
  else
    fail "docker: examples/Dockerfile image: exit $rc"
  fi
  # Its ENTRYPOINT makes docker stop fast too.
  local ms=99999 code=-1
  docker_cli run -d --name example-stop --network none tini-e2e-example sh -c "$SLEEP_PROG" >/dev/null
  if wait_until bash -c "$DOCKER_BIN -H unix://$DOCKER_SOCK logs example-stop 2>&1 | grep -q ready"; then
    dstop example-stop && ms=$STOP_MS && code=$STOP_RC
  fi
  FIG[docker,example_stop]="$(secs "$ms"), exit $code"
  if [ "$code" -eq 143 ] && [ "$ms" -lt 2000 ]; then
    pass "docker: docker stop of the examples/Dockerfile image: $(secs "$ms"), exit 143"
  else
    fail "docker: docker stop of the examples/Dockerfile image: $(secs "$ms"), exit $code"
  fi
}

# The release's OCI image (release/build.sh: dist/oci, an image index tagged with the version)
# copied into this dockerd with skopeo (Docker 20.10 cannot load an OCI layout; skopeo takes
# the instance for this machine's platform), then used by a Dockerfile's
# `COPY --from=tini-rs:VERSION /tini-rs /tini-rs`.
docker_release_image() {
  local rc out=$T/docker.out version ref layout=$RELEASE_DIST/oci want got
  version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)
  ref=tini-rs:$version
  if ! [ -f "$layout/index.json" ] || ! [ -f "$RELEASE_DIST/tini-rs-amd64" ]; then
    fail "docker: no release image in $RELEASE_DIST (run release/build.sh first, or set TINI_RS_DIST)"
    return 0
  fi
  rc=0
  timeout 120 skopeo copy --quiet --dest-daemon-host "unix://$DOCKER_SOCK" \
    "oci:$layout:$version" "docker-daemon:$ref" >"$out" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "docker: skopeo copy oci:dist/oci:$version docker-daemon:$ref failed:"
    sed 's/^/        /' "$out"
    return 0
  fi
  pass "docker: skopeo copy oci:dist/oci:$version docker-daemon:$ref ($(docker_cli image inspect -f '{{.Os}}/{{.Architecture}}, {{len .RootFS.Layers}} layer' "$ref"))"

  rc=0
  got=$(drun "$ref" 2>&1) || rc=$?
  if [ "$rc" -eq 0 ] && [[ $got == "tini version ${version}_tini-rs - git."* ]]; then
    pass "docker: docker run $ref (FROM scratch, /tini-rs only) prints '$got'"
  else
    fail "docker: docker run $ref gave exit $rc: $got"
  fi

  mkdir -p "$T/copy-from-ctx"
  printf '%s\n' "FROM $IMG" "COPY --from=$ref /tini-rs /tini-rs" 'ENTRYPOINT ["/tini-rs", "--"]' \
    >"$T/copy-from-ctx/Dockerfile"
  dbuild "DOCKER_BUILDKIT=0 docker build of a Dockerfile with COPY --from=$ref" \
    -t tini-e2e-copy-from "$T/copy-from-ctx" || return 0
  rc=0
  drun tini-e2e-copy-from sh -c "$PS_PROG; sha256sum /tini-rs; exit 5" >"$out" 2>&1 || rc=$?
  want=$(sha256sum <"$RELEASE_DIST/tini-rs-amd64" | cut -d' ' -f1)
  got=$(awk 'length($1) == 64 && $2 == "/tini-rs" {print $1}' "$out")
  if [ "$rc" -eq 5 ] && [ "$(get "$out" PID1)" = /tini-rs ] && [ "$got" = "$want" ]; then
    pass "docker: that image runs its program under the release's tini-rs-amd64 (PID 1, sha256 ${want:0:12}..., exit 5)"
  else
    fail "docker: COPY --from image: exit $rc, PID 1 '$(get "$out" PID1)', /tini-rs sha256 '$got', dist/tini-rs-amd64 '$want'"
    sed 's/^/        /' "$out"
  fi
}

# ---------------------------------------------------------------------------------------------
# podman

podman_section() {
  section "podman $(podman --version | awk '{print $3}')"
  mkdir -p "$T/podman"
  cat >"$T/podman/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "none"

[network]
network_config_dir = "$T/podman/networks"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/podman/events.log"
tmp_dir = "$T/podman/tmp"
EOF
  export CONTAINERS_CONF=$T/podman/containers.conf
  local rc out=$T/podman.out
  PINIT=(--init --init-path "$INIT")

  rc=0
  podman_cli run --rm "${PINIT[@]}" --rootfs "$ROOTFS" sh -c "$PS_PROG" >"$out" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "podman: podman run --rootfs --init failed (exit $rc); the engine's checks cannot run:"
    sed 's/^/        /' "$out"
    return 0
  fi
  check_pid1 podman "$out" /run/podman-init

  check_codes podman podman_init

  rc=0
  podman_init "$ORPHANS_PROG" >"$out" 2>&1 || rc=$?
  check_orphans podman "$out" "$rc"

  local init_ms=99999 init_rc=-1 noinit_ms=99999 noinit_rc=-1
  if pstart stop-init "${PINIT[@]}" -- "$SLEEP_PROG"; then
    pstop stop-init && init_ms=$STOP_MS && init_rc=$STOP_RC
  fi
  if pstart stop-noinit -- "$SLEEP_PROG"; then
    pstop -t 3 stop-noinit && noinit_ms=$STOP_MS && noinit_rc=$STOP_RC
  fi
  check_stop podman "$init_ms" "$init_rc" "$noinit_ms" "$noinit_rc" "podman stop -t 3: SIGTERM ignored, SIGKILL after 3 s"
}

podman_init() { podman_cli run --rm "${PINIT[@]}" --rootfs "$ROOTFS" sh -c "$1"; }
pstart() { # NAME OPTIONS... -- PROGRAM
  local name=$1
  shift
  local opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  podman_cli run -d --name "$name" "${opts[@]}" --rootfs "$ROOTFS" sh -c "$1" >/dev/null
  wait_until bash -c "podman ${PODMAN_ARGS[*]} logs $name 2>&1 | grep -q ready"
}
pstop() {
  local name=${*: -1} t0
  t0=$(now_ms)
  podman_cli stop "$@" >/dev/null 2>"$T/podman.stop.err"
  STOP_MS=$(($(now_ms) - t0))
  STOP_RC=$(podman_cli inspect -f '{{.State.ExitCode}}' "$name")
  podman_cli rm -f "$name" >/dev/null
}

# ---------------------------------------------------------------------------------------------
# tini-rs as podman's catatonit: pods (their infra container runs `catatonit -P`), containers
# in a pod, `podman pod stop`, `podman kube play` of the examples, `podman run --init`.

podman_pod_section() {
  section "podman pods with tini-rs as catatonit"
  local dir=$T/catatonit rc out=$T/pod.out
  mkdir -p "$dir"
  cp "$INIT" "$dir/catatonit"
  sed -e "s|^\[engine\]|[engine]\nhelper_binaries_dir = [\"$dir\"]\ninit_path = \"$dir/catatonit\"|" \
    "$T/podman/containers.conf" >"$T/podman/pods.conf"
  export CONTAINERS_CONF=$T/podman/pods.conf

  rc=0
  podman_cli pod create --name tpod --network none >"$out" 2>&1 &&
    podman_cli pod start tpod >>"$out" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "podman: pod create/start with tini-rs as catatonit failed (exit $rc):"
    sed 's/^/        /' "$out"
    return 0
  fi
  local infra pid
  infra=$(podman_cli pod inspect -f '{{.InfraContainerID}}' tpod)
  pid=$(podman_cli inspect -f '{{.State.Pid}}' "$infra")
  if [ -n "$pid" ] && cmp -s "/proc/$pid/exe" "$INIT"; then
    pass "podman: the pod's infra container runs tini-rs as PID 1 ($(tr '\0' ' ' <"/proc/$pid/cmdline"))"
  else
    fail "podman: the infra container does not run tini-rs (pid '$pid': $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))"
  fi

  rc=0
  podman_cli run -d --name tpod-app --pod tpod --init --rootfs "$ROOTFS" sh -c "$SLEEP_PROG" >/dev/null 2>"$out" || rc=$?
  if [ "$rc" -eq 0 ] && wait_until bash -c "podman ${PODMAN_ARGS[*]} logs tpod-app 2>&1 | grep -q ready"; then
    pass "podman: a container runs in the pod (podman run --pod --init)"
  else
    fail "podman: container in the pod: exit $rc $(cat "$out")"
  fi
  local t0 ms
  t0=$(now_ms)
  podman_cli pod stop tpod >/dev/null 2>"$out" || true
  ms=$(($(now_ms) - t0))
  FIG[podman,pod_stop]="$(secs "$ms")"
  local app_rc
  app_rc=$(podman_cli inspect -f '{{.State.ExitCode}}' tpod-app 2>/dev/null || echo '?')
  if [ "$ms" -lt 5000 ] && [ "$app_rc" = 143 ]; then
    pass "podman: podman pod stop took $(secs "$ms"); the app container exited 143"
  else
    fail "podman: podman pod stop took $(secs "$ms"), app exit $app_rc"
  fi
  podman_cli pod rm -f tpod >/dev/null 2>&1 || true

  # podman kube play of the examples, with their images built here from the busybox rootfs.
  local img=$T/kube-rootfs
  cp -a "$ROOTFS" "$img"
  mkdir -p "$img/usr/local/bin"
  printf '#!/bin/sh\necho "my-server $*"\ntrap "exit 0" TERM\nwhile :; do sleep 0.1; done\n' >"$img/usr/local/bin/my-server"
  chmod 755 "$img/usr/local/bin/my-server"
  tar -C "$img" -cf "$T/kube.tar" .
  podman_cli import "$T/kube.tar" localhost/my-app:1.0 >/dev/null 2>&1
  podman_cli import "$T/kube.tar" localhost/my-toolbox:1.0 >/dev/null 2>&1
  local f name
  for f in "$ROOT"/examples/*.yaml; do
    name=$(basename "$f")
    rc=0
    podman_cli kube play --network none "$f" >"$out" 2>&1 || rc=$?
    local pod
    pod=$(sed -n 's/^  name: //p' "$f" | head -n1)
    if [ "$rc" -eq 0 ] && wait_until bash -c "podman ${PODMAN_ARGS[*]} logs $pod-app 2>&1 | grep -q my-server"; then
      t0=$(now_ms)
      podman_cli pod stop "$pod" >/dev/null 2>&1 || true
      ms=$(($(now_ms) - t0))
      pass "podman: kube play $name: the pod runs (app on tini-rs, infra on tini-rs as catatonit); pod stop $(secs "$ms")"
    else
      fail "podman: kube play $name failed (exit $rc): $(tail -n 5 "$out" | tr '\n' ' ')"
    fi
    podman_cli kube down "$f" >/dev/null 2>&1 || podman_cli pod rm -f "$pod" >/dev/null 2>&1 || true
  done
  export CONTAINERS_CONF=$T/podman/containers.conf
}

# ---------------------------------------------------------------------------------------------
# Examples that are not run: the Kubernetes pod specs must at least be valid.

examples_section() {
  section "examples"
  local f
  for f in "$ROOT"/examples/*.yaml; do
    if "$PY" - "$f" <<'PYEOF'; then
import sys, yaml
pod = yaml.safe_load(open(sys.argv[1]))
assert pod["apiVersion"] == "v1" and pod["kind"] == "Pod", "not a v1 Pod"
for c in pod["spec"]["containers"]:
    assert c["command"][0] == "/tini-rs", c["name"] + ": command is not /tini-rs"
PYEOF
      pass "examples: $(basename "$f") is a valid v1 Pod with tini-rs as command"
    else
      fail "examples: $(basename "$f") is not valid"
    fi
  done
}

# ---------------------------------------------------------------------------------------------

# Each section records its own checks; a command failing inside one (set -e is off there)
# shows up as a failed check, and the next section still runs.
for s in runc_section docker_section podman_section podman_pod_section examples_section; do
  "$s" || fail "$s ended with status $?"
done

ELAPSED=$(($(date +%s) - SUITE_START))
section "summary"
printf '%s\n' "${RESULTS[@]}"
echo
echo "Stop of sh -c 'sleep 1000' by the engine's SIGTERM:"
printf '  %-7s %-28s %s\n' engine "with tini-rs" "without an init"
for e in runc docker podman; do
  printf '  %-7s %-28s %s\n' "$e" "${FIG[$e,stop_init]:-not measured}" "${FIG[$e,stop_noinit]:-not measured}"
done
echo "Exit codes (exit 0 / exit 7 / killed by SIGTERM): runc ${FIG[runc,codes]:-?}, docker ${FIG[docker,codes]:-?}, podman ${FIG[podman,codes]:-?}"
echo "docker run --init -it + Ctrl-C: exit ${FIG[docker,ctrlc]:-?}; TINI_REWRITE=TERM:INT + docker stop: ${FIG[docker,rewrite]:-?}"
echo "docker stop of the examples/Dockerfile image: ${FIG[docker,example_stop]:-?}; Dockerfile.test self-check: exit ${FIG[docker,selfcheck]:-?}"
echo "docker info: ${FIG[docker,info]:-?}"
echo "docker stop with TINI_STOP_DELAY=2s: ${FIG[docker,stop_delay]:-?}; podman pod stop (infra on tini-rs as catatonit): ${FIG[podman,pod_stop]:-?}"
echo
if [ "$NFAIL" -eq 0 ]; then
  echo "e2e: all ${#RESULTS[@]} checks PASSED in ${ELAPSED} s"
else
  echo "e2e: $NFAIL of ${#RESULTS[@]} checks FAILED (${ELAPSED} s)"
  exit 1
fi
