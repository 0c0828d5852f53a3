#!/usr/bin/env bash
# The README's recipes, shown on the real servers: PostgreSQL, nginx and uWSGI from Debian's
# packages run under tini-rs as PID 1 of a runc container and are stopped as `docker stop`
# stops a container (SIGTERM to PID 1, SIGKILL when the timeout runs out). Each recipe is
# checked for its outcome (a clean shutdown in the server's log, no crash recovery on the next
# start, committed rows kept, a download or a request in flight completed), and so is the bad
# outcome without it. gunicorn is checked too, as a server that needs no recipe.
#
# Usage (as root, from anywhere): bash tests/e2e/recipes.sh
# The root filesystem is built from the host's files, nothing is pulled: the host's /usr bound
# read-only, an /etc of a few lines, the static tini-rs. Network: each container's own
# loopback only; the clients run on the host inside the container's network namespace.
# Installs what it needs with apt-get when missing. Everything runs under one temporary
# directory, removed at the end; every container and client is stopped by its ID or PID.
set -euo pipefail
. "$(dirname "$0")/needs.sh"

cd "$(dirname "$0")/../.."
ROOT=$PWD
RECIPES=$ROOT/tests/e2e/recipes
SUITE_START=$(date +%s)
# `docker stop -t 5`: seconds between the SIGTERM and the SIGKILL.
STOP_TIMEOUT=5

RESULTS=()
NFAIL=0
declare -A FIG=()
pass() { RESULTS+=("PASS  $1"); echo "  PASS  $1"; }
fail() { RESULTS+=("FAIL  $1"); echo "  FAIL  $1"; NFAIL=$((NFAIL + 1)); }
section() { printf '\n== %s\n' "$*"; }
die() { echo "recipes: $*" >&2; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%03d s' $(($1 / 1000)) $(($1 % 1000)); }
# Runs "$@" every 50 ms until it succeeds; fails after $WAIT_S seconds (default 30).
wait_until() {
  local deadline=$(($(now_ms) + ${WAIT_S:-30} * 1000))
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}
file_has() { [ -f "$1" ] && grep -qF -- "$2" "$1"; }
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
gone() { ! alive "$1"; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it runs containers)"

section "dependencies"
declare -A NEED=(
  [runc]=/usr/sbin/runc
  [util-linux]=/usr/bin/nsenter
  [python3]=/usr/bin/python3
  [postgresql]=/usr/share/doc/postgresql
  [nginx]=/usr/sbin/nginx
  [uwsgi-core]=/usr/bin/uwsgi-core
  [uwsgi-plugin-python3]=/usr/share/doc/uwsgi-plugin-python3
  [gunicorn]=/usr/bin/gunicorn
)
install_missing
PGBIN=$(find /usr/lib/postgresql -path '*/bin/postgres' | sort -V | tail -n1)
PGBIN=${PGBIN%/postgres}
[ -x "$PGBIN/initdb" ] || die "no PostgreSQL server under /usr/lib/postgresql"
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), $(nginx -v 2>&1 | cut -d' ' -f3), uWSGI $(uwsgi-core --version), runc $(runc --version | awk 'NR == 1 {print $3}')"

section "cargo build --release"
cargo build --release
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
BIN=$TARGET_DIR/x86_64-unknown-linux-gnu/release/tini-rs
[ -x "$BIN" ] || BIN=$TARGET_DIR/release/tini-rs
[ -x "$BIN" ] || die "no binary at $BIN"
echo "$BIN: $("$BIN" --version)"

T=$(mktemp -d /tmp/tini-rs-recipes.XXXXXX)
chmod 755 "$T"
RUNC_ROOT=$T/runc
CLIENTS=() # PIDs of the clients started on the host and not yet waited for
# Waits for client PID (SIGKILL after SECONDS) and forgets it; returns its exit status.
reap_client() { # PID SECONDS
  local pid=$1 rc=0 p kept=()
  WAIT_S=$2 wait_until gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || rc=$?
  for p in "${CLIENTS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  CLIENTS=("${kept[@]}")
  return "$rc"
}

cleanup() {
  local rc=$? id pid mnt
  set +e
  trap - EXIT INT TERM
  echo
  echo "== cleanup"
  exec 7>&- 2>/dev/null
  for pid in "${CLIENTS[@]}"; do
    kill -KILL "$pid" 2>/dev/null
  done
  if [ -d "$RUNC_ROOT" ]; then
    for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
      runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1
    done
  fi
  wait 2>/dev/null
  while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || echo "cleanup: cannot unmount $mnt" >&2
  done < <(awk -v t="$T/" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  rm -rf --one-file-system "$T" || echo "cleanup: could not remove all of $T" >&2
  echo "removed $T"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# The root filesystem: the host's /usr (bound read-only by each container), the usual
# symlinks of a merged-/usr Debian, an /etc of a few lines with Debian's alternatives
# (uWSGI's python3 plugin is one), tini-rs. Read-only; /tmp and /run are tmpfs.

section "root filesystem"
ROOTFS=$T/rootfs
mkdir -p "$ROOTFS"/{usr,etc,proc,sys,dev,tmp,run,srv,data,var/lib}
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/run" # runc gives a tmpfs its mount point's mode
for d in bin sbin lib lib64; do
  [ -L "/$d" ] || die "/$d is not a symlink: the host is not a merged-/usr Debian"
  ln -s "$(readlink "/$d")" "$ROOTFS/$d"
done
PG_UID=999
cat >"$ROOTFS/etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
postgres:x:$PG_UID:$PG_UID:PostgreSQL:/var/lib/postgresql:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
printf 'root:x:0:\npostgres:x:%s:\nnogroup:x:65534:\n' "$PG_UID" >"$ROOTFS/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$ROOTFS/etc/hosts"
cp -a /etc/alternatives "$ROOTFS/etc/alternatives"
mkdir -p "$ROOTFS/etc/nginx"
cp "$RECIPES/nginx.conf" "$ROOTFS/etc/nginx/nginx.conf"
install -m 0755 "$BIN" "$ROOTFS/tini-rs"
# /srv: what the servers serve (read-only), /data: PostgreSQL's cluster (kept across runs).
SRV=$T/srv
mkdir -p "$SRV"
head -c $((24 * 1024 * 1024)) /dev/zero >"$SRV/big.bin"
cp "$RECIPES/app.py" "$SRV/app.py"
DATA=$T/data
mkdir -p "$DATA"
chown "$PG_UID:$PG_UID" "$DATA"
chmod 700 "$DATA"
echo "rootfs $ROOTFS: /usr from the host, $(wc -l <"$ROOTFS/etc/passwd") users; /srv/big.bin 24 MiB"

# ---------------------------------------------------------------------------------------------
# Containers

# Makes the bundle $T/bundles/ID: UID runs ARGS... with Docker's default capabilities.
bundle() { # ID UID ARGS...
  local dir=$T/bundles/$1 uid=$2
  shift 2
  mkdir -p "$dir"
  (cd "$dir" && runc spec)
  python3 - "$dir/config.json" "$ROOTFS" "$uid" "$SRV" "$DATA" "$@" <<'PYEOF'
import json, sys
path, rootfs, uid, srv, data, args = *sys.argv[1:6], sys.argv[6:]
spec = json.load(open(path))
spec["root"] = {"path": rootfs, "readonly": True}
proc = spec["process"]
proc["terminal"] = False
proc["args"] = args
proc["user"] = {"uid": int(uid), "gid": int(uid)}
proc["cwd"] = "/tmp"
proc["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG=C.UTF-8"]
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
proc["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
spec["hostname"] = "tini-rs-recipes"
tmpfs = ["nosuid", "nodev", "mode=1777"]
spec["mounts"] += [
    {"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]},
    {"destination": "/srv", "type": "bind", "source": srv, "options": ["rbind", "ro"]},
    {"destination": "/data", "type": "bind", "source": data, "options": ["rbind", "rw"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": tmpfs},
    {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": tmpfs},
]
json.dump(spec, open(path, "w"), indent=1)
PYEOF
}

# Runs container ID in the background: its output (the server's log) in $T/ID.log, its exit
# code in $T/ID.rc once it has ended.
start() { # ID UID ARGS...
  local id=$1
  bundle "$@"
  (
    rc=0
    runc --root "$RUNC_ROOT" run --bundle "$T/bundles/$id" "$id" >"$T/$id.log" 2>&1 </dev/null || rc=$?
    echo "$rc" >"$T/$id.rc"
  ) &
}

# The host PID of the container's PID 1.
init_pid() { runc --root "$RUNC_ROOT" state "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'; }

# Runs ARGS... on the host inside the network namespace of container ID (a client on the
# container's loopback, like a sidecar of its pod).
in_net() { # ID ARGS...
  local pid
  pid=$(init_pid "$1") || return 1
  shift
  nsenter --net="/proc/$pid/ns/net" -- "$@"
}

# Stops ID as `docker stop` does: SIGNAL (the image's STOPSIGNAL, SIGTERM by default) to
# PID 1, SIGKILL after STOP_TIMEOUT seconds. Sets STOP_MS, STOP_RC and KILLED (yes/no).
stop() { # ID [SIGNAL]
  local id=$1 sig=${2:-TERM} t0
  t0=$(now_ms)
  KILLED=no
  runc --root "$RUNC_ROOT" kill "$id" "$sig"
  if ! WAIT_S=$STOP_TIMEOUT wait_until test -s "$T/$id.rc"; then
    KILLED=yes
    runc --root "$RUNC_ROOT" kill "$id" KILL
  fi
  if WAIT_S=30 wait_until test -s "$T/$id.rc"; then
    STOP_RC=$(cat "$T/$id.rc")
  else
    STOP_RC=none
  fi
  STOP_MS=$(($(now_ms) - t0))
  runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
}

# Prints the tail of container ID's log, indented.
show_log() { tail -n "${2:-8}" "$T/$1.log" | cut -c1-150 | sed 's/^/        /'; }

# ---------------------------------------------------------------------------------------------
# PostgreSQL: a plain SIGTERM is a smart shutdown, which waits for every session to end; an
# idle connection (a pool, a psql left open) holds it until the SIGKILL, and the next start
# runs crash recovery. SIGINT is the fast shutdown: sessions are ended, a checkpoint written.

sql() { # ID SQL: prints the result, unaligned
  in_net "$1" "$PGBIN/psql" -X -q -At -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$2"
}

PG_READY="database system is ready to accept connections"
PG_RECOVERY="database system was not properly shut down; automatic recovery in progress"
pg_ready_or_ended() { file_has "$T/$1.log" "$PG_READY" || test -s "$T/$1.rc"; }

pg_start() { # ID TINI_OPTIONS...
  local id=$1
  shift
  start "$id" "$PG_UID" /tini-rs "$@" -- "$PGBIN/postgres" -D /data/pg \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories=/tmp
  if WAIT_S=60 wait_until pg_ready_or_ended "$id" && file_has "$T/$id.log" "$PG_READY"; then
    return 0
  fi
  fail "postgresql: $id did not become ready"
  show_log "$id"
  return 1
}

# Opens an idle session on ID (psql connected, waiting on its input), and waits until it is
# connected.
IDLE_PID=
pg_idle_session() { # ID
  rm -f "$T/idle.fifo"
  mkfifo "$T/idle.fifo"
  in_net "$1" "$PGBIN/psql" -X -At -h 127.0.0.1 -U postgres -d postgres <"$T/idle.fifo" >"$T/idle.out" 2>&1 &
  IDLE_PID=$!
  CLIENTS+=("$IDLE_PID")
  exec 7>"$T/idle.fifo"
  echo "select 'idle session ready';" >&7
  WAIT_S=30 wait_until file_has "$T/idle.out" "idle session ready"
}
pg_idle_close() {
  exec 7>&-
  reap_client "$IDLE_PID" 10 || true
}

pg_stop_check() { # ID LABEL SIGNAL: the stop took less than the timeout, exit 0, log clean
  local id=$1 label=$2
  pg_idle_session "$id" || fail "postgresql: $label: the idle session did not connect"
  stop "$id" "$3"
  pg_idle_close
  FIG[pg,$id]="$(secs "$STOP_MS"), exit $STOP_RC"
  show_log "$id" 4
  if [ "$KILLED" = no ] && [ "$STOP_RC" = 0 ] && file_has "$T/$id.log" "received fast shutdown request" &&
    file_has "$T/$id.log" "database system is shut down"; then
    pass "postgresql: $label: stopped in $(secs "$STOP_MS") with a session open, exit 0, fast shutdown, 'database system is shut down'"
  else
    fail "postgresql: $label: killed $KILLED after $(secs "$STOP_MS"), exit $STOP_RC (want a fast shutdown, exit 0)"
  fi
}

postgresql_section() {
  section "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}')"
  local rc=0 n
  runc_init_db || return 0

  # 1. The recipe: -r TERM:INT.
  pg_start pg-recipe -r TERM:INT || return 0
  sql pg-recipe "create table kept (n int); insert into kept select generate_series(1, 1000)" || rc=$?
  [ "$rc" -eq 0 ] || fail "postgresql: could not insert the rows"
  pg_stop_check pg-recipe "tini-rs -r TERM:INT, docker stop" TERM

  # 2. Plain SIGTERM: the next start finds a clean cluster; the smart shutdown then waits for
  # the idle session until the SIGKILL.
  pg_start pg-plain || return 0
  n=$(sql pg-plain "select count(*) from kept" || echo '?')
  if [ "$n" = 1000 ] && file_has "$T/pg-plain.log" "database system was shut down at" &&
    ! file_has "$T/pg-plain.log" "automatic recovery"; then
    pass "postgresql: the start after the recipe's stop runs no recovery ('database system was shut down at'); 1000 rows kept"
  else
    fail "postgresql: the start after the recipe's stop: $n rows; log:"
    show_log pg-plain
  fi
  sql pg-plain "insert into kept select generate_series(1001, 2000)" >/dev/null || fail "postgresql: insert failed"
  pg_idle_session pg-plain || fail "postgresql: the idle session did not connect"
  stop pg-plain TERM
  pg_idle_close
  FIG[pg,plain]="$(secs "$STOP_MS"), exit $STOP_RC, SIGKILL $KILLED"
  show_log pg-plain 3
  if [ "$KILLED" = yes ] && [ "$STOP_RC" = 137 ] && file_has "$T/pg-plain.log" "received smart shutdown request" &&
    ! file_has "$T/pg-plain.log" "database system is shut down"; then
    pass "postgresql: without the recipe, docker stop -t $STOP_TIMEOUT: smart shutdown waits for the idle session, SIGKILL after $(secs "$STOP_MS"), exit 137"
  else
    fail "postgresql: without the recipe: SIGKILL $KILLED after $(secs "$STOP_MS"), exit $STOP_RC (expected the smart shutdown to hang until the SIGKILL)"
  fi

  # 3. After that SIGKILL: crash recovery; committed rows kept. Stopped with SIGINT to PID 1,
  # as an engine that honours STOPSIGNAL SIGINT sends it, tini-rs without options.
  pg_start pg-stopsignal || return 0
  n=$(sql pg-stopsignal "select count(*) from kept" || echo '?')
  if [ "$n" = 2000 ] && file_has "$T/pg-stopsignal.log" "$PG_RECOVERY"; then
    pass "postgresql: the start after the SIGKILL runs crash recovery ('$PG_RECOVERY'); all 2000 committed rows kept"
  else
    fail "postgresql: the start after the SIGKILL: $n rows, recovery: $(grep -c 'automatic recovery' "$T/pg-stopsignal.log")"
    show_log pg-stopsignal
  fi
  pg_stop_check pg-stopsignal "STOPSIGNAL SIGINT (SIGINT to PID 1, tini-rs without options)" INT
}

runc_init_db() {
  local id=pg-initdb rc
  start "$id" "$PG_UID" /tini-rs -- "$PGBIN/initdb" -D /data/pg -U postgres --auth=trust -E UTF8 --no-locale
  WAIT_S=120 wait_until test -s "$T/$id.rc" || true
  rc=$(cat "$T/$id.rc" 2>/dev/null || echo none)
  runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
  if [ "$rc" = 0 ]; then
    pass "postgresql: initdb under tini-rs in the container (exit 0)"
    return 0
  fi
  fail "postgresql: initdb gave $rc"
  show_log "$id"
  return 1
}

# ---------------------------------------------------------------------------------------------
# nginx: SIGTERM is the fast shutdown (connections closed, downloads cut), SIGQUIT the
# graceful one (requests in flight finish).

nginx_run() { # ID EXPECT(complete|cut) TINI_OPTIONS...: a 24 MiB download at 8 MiB/s, stopped after 1 MiB
  local id=$1 want=$2 crc=none
  shift 2
  start "$id" 0 /tini-rs "$@" -- nginx
  if ! WAIT_S=30 wait_until file_has "$T/$id.log" "start worker process"; then
    fail "nginx: $id did not start"
    show_log "$id"
    return 0
  fi
  in_net "$id" python3 "$RECIPES/slow_get.py" 127.0.0.1 8080 /big.bin $((8 * 1024 * 1024)) $((1024 * 1024)) \
    >"$T/$id.client" 2>&1 &
  local client=$!
  CLIENTS+=("$client")
  WAIT_S=30 wait_until file_has "$T/$id.client" started || fail "nginx: $id: the download did not start"
  stop "$id" TERM
  reap_client "$client" 60 && crc=0 || crc=$?
  local got
  got=$(sed -n 's/^received \([0-9]*\) of.*/\1/p' "$T/$id.client")
  FIG[nginx,$id]="$(secs "$STOP_MS"), exit $STOP_RC, download $((${got:-0} / 1024)) KiB of 24576 KiB"
  grep -E 'signal|shutting|exiting|exit' "$T/$id.log" | head -n 6 | cut -c1-150 | sed 's/^/        /'
  sed 's/^/        client: /' "$T/$id.client"
  if [ "$want" = complete ]; then
    if [ "$crc" = 0 ] && file_has "$T/$id.client" complete && [ "$KILLED" = no ] && [ "$STOP_RC" = 0 ] &&
      file_has "$T/$id.log" "gracefully shutting down"; then
      pass "nginx: tini-rs $*, docker stop during a download: graceful shutdown, the 24 MiB download completed, exit 0 after $(secs "$STOP_MS")"
    else
      fail "nginx: tini-rs $*: download ${got:-?} bytes (client exit $crc), SIGKILL $KILLED, exit $STOP_RC after $(secs "$STOP_MS")"
    fi
  else
    if file_has "$T/$id.client" cut && [ "${got:-0}" -lt $((24 * 1024 * 1024)) ] && [ "$STOP_RC" = 0 ] &&
      file_has "$T/$id.log" "exiting" && ! file_has "$T/$id.log" "gracefully shutting down"; then
      pass "nginx: without the recipe, docker stop: fast shutdown, the download cut after $((got / 1024)) KiB of 24576 KiB"
    else
      fail "nginx: without the recipe: download ${got:-?} bytes, exit $STOP_RC (expected a fast shutdown cutting it)"
    fi
  fi
}

nginx_section() {
  section "nginx $(nginx -v 2>&1 | cut -d/ -f2)"
  nginx_run nginx-recipe complete -r TERM:QUIT
  nginx_run nginx-plain cut
}

# ---------------------------------------------------------------------------------------------
# uWSGI 2.0: a plain SIGTERM makes the master reload (it never stops: SIGKILL at the timeout);
# its hook `unix_signal:15 gracefully_kill_them_all` makes SIGTERM a graceful shutdown, but
# only if the workers do not get the SIGTERM themselves (they drop their requests): so the
# signal goes to the master alone, tini-rs -c. gunicorn, for comparison, needs no recipe: its
# master and its workers read SIGTERM as a graceful shutdown.

UWSGI=(uwsgi-core --plugin python3 --master --processes 2 --http-socket 127.0.0.1:8000
  --wsgi-file /srv/app.py --uid nobody --gid nogroup)
UWSGI_HOOK=(--hook-master-start "unix_signal:15 gracefully_kill_them_all")
GUNICORN=(gunicorn --chdir /srv --workers 2 --bind 127.0.0.1:8000 --user nobody --group nogroup app:application)

# Runs a WSGI server serving tests/e2e/recipes/app.py on port 8000, stops it while a request
# to /slow (2 s) is in flight and checks the request's fate, the SIGKILL and the exit code.
wsgi_run() { # NAME ID EXPECT(complete|cut) KILLED(yes|no) READY_LINE CLEAN_LINE TINI_OPTIONS... -- SERVER...
  local name=$1 id=$2 want=$3 want_killed=$4 ready=$5 clean=$6 crc=none
  shift 6
  local tini=()
  while [ "$1" != -- ]; do tini+=("$1"); shift; done
  shift
  start "$id" 0 /tini-rs "${tini[@]}" -- "$@"
  if ! WAIT_S=30 wait_until file_has "$T/$id.log" "$ready"; then
    fail "$name: $id did not start"
    show_log "$id"
    return 0
  fi
  in_net "$id" python3 "$RECIPES/slow_get.py" 127.0.0.1 8000 /slow 0 0 >"$T/$id.client" 2>&1 &
  local client=$!
  CLIENTS+=("$client")
  WAIT_S=30 wait_until file_has "$T/$id.log" "app: slow request started" || fail "$name: $id: the request did not start"
  stop "$id" TERM
  reap_client "$client" 30 && crc=0 || crc=$?
  FIG[$name,$id]="$(secs "$STOP_MS"), exit $STOP_RC, request $(tail -n1 "$T/$id.client")"
  grep -E 'graceful|brutal|reload|killing|goodbye|buried|signal|exiting|Shutting' "$T/$id.log" | head -n 5 |
    cut -c1-150 | sed 's/^/        /'
  sed 's/^/        client: /' "$T/$id.client"
  local ok=yes what="tini-rs ${tini[*]:-(no options)}, $name"
  [[ $* != *gracefully_kill_them_all* ]] || what+=" --hook-master-start 'unix_signal:15 gracefully_kill_them_all'"
  [ "$KILLED" = "$want_killed" ] || ok=no
  file_has "$T/$id.client" "$want" || ok=no
  if [ "$want" = complete ]; then
    [ "$crc" = 0 ] && [ "$STOP_RC" = 0 ] && file_has "$T/$id.log" "$clean" || ok=no
  fi
  if [ "$ok" = yes ]; then
    pass "$name: $what: request in flight $want, SIGKILL $KILLED, exit $STOP_RC after $(secs "$STOP_MS")"
  else
    fail "$name: $what: request $(tail -n1 "$T/$id.client") (want $want), SIGKILL $KILLED (want $want_killed), exit $STOP_RC"
  fi
}

uwsgi_section() {
  section "uWSGI $(uwsgi-core --version)"
  local up="spawned uWSGI worker 2" clean="graceful shutdown triggered"
  wsgi_run uwsgi uwsgi-recipe complete no "$up" "$clean" -c -- "${UWSGI[@]}" "${UWSGI_HOOK[@]}"
  wsgi_run uwsgi uwsgi-plain cut yes "$up" "$clean" -- "${UWSGI[@]}"
  wsgi_run uwsgi uwsgi-hook-group cut no "$up" "$clean" -- "${UWSGI[@]}" "${UWSGI_HOOK[@]}"
}

gunicorn_section() {
  section "gunicorn $(gunicorn --version | tr -dc '0-9.')"
  wsgi_run gunicorn gunicorn-plain complete no "Booting worker" "Shutting down: Master" -- "${GUNICORN[@]}"
}

# ---------------------------------------------------------------------------------------------

for s in postgresql_section nginx_section uwsgi_section gunicorn_section; do
  "$s" || fail "$s ended with status $?"
done

ELAPSED=$(($(date +%s) - SUITE_START))
section "summary"
printf '%s\n' "${RESULTS[@]}"
echo
echo "docker stop -t $STOP_TIMEOUT (runc kill TERM, KILL after $STOP_TIMEOUT s) of each server under tini-rs as PID 1:"
printf '  %-40s %s\n' \
  "postgresql, -r TERM:INT" "${FIG[pg,pg-recipe]:-?}" \
  "postgresql, no option" "${FIG[pg,plain]:-?}" \
  "postgresql, STOPSIGNAL SIGINT" "${FIG[pg,pg-stopsignal]:-?}" \
  "nginx, -r TERM:QUIT" "${FIG[nginx,nginx-recipe]:-?}" \
  "nginx, no option" "${FIG[nginx,nginx-plain]:-?}" \
  "uwsgi, -c + uWSGI's graceful hook" "${FIG[uwsgi,uwsgi-recipe]:-?}" \
  "uwsgi, no option" "${FIG[uwsgi,uwsgi-plain]:-?}" \
  "uwsgi, the hook without -c" "${FIG[uwsgi,uwsgi-hook-group]:-?}" \
  "gunicorn, no option (none needed)" "${FIG[gunicorn,gunicorn-plain]:-?}"
echo
if [ "$NFAIL" -eq 0 ]; then
  echo "recipes: all ${#RESULTS[@]} checks PASSED in ${ELAPSED} s"
else
  echo "recipes: $NFAIL of ${#RESULTS[@]} checks FAILED (${ELAPSED} s)"
  exit 1
fi
