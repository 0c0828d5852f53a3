#!/usr/bin/env bash
# Checks the .deb packages of dist/: lintian on every one (any error or warning fails), then,
# as root, installs the host's own package with dpkg -i, runs the installed /usr/bin/tini-rs
# (version line, a program's exit code, the man page found by man), and removes it again.
#
# Usage: release/deb-check.sh [--dist DIR]   (installs lintian when missing, as root)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=release/common.sh
. release/common.sh

dist_args "$@"
shopt -s nullglob
debs=("$DIST"/tini-rs_*.deb)
[ ${#debs[@]} -gt 0 ] || die "no .deb in $DIST: run release/build.sh first"
ensure_packages lintian man-db

step "lintian ${debs[*]##*/}"
# --fail-on error,warning: the exit status says whether any such tag was emitted.
rc=0
out=$(lintian --fail-on error,warning --tag-display-limit 0 "${debs[@]}" 2>&1) || rc=$?
grep -v '^running with root privileges' <<<"$out" || true
[ "$rc" -eq 0 ] || die "lintian reports errors or warnings (exit $rc)"
echo "lintian: no error, no warning"

host=$(dpkg --print-architecture)
deb=$(printf '%s\n' "${debs[@]}" | grep "_$host.deb$" || true)
[ -n "$deb" ] || die "no .deb for this machine's architecture ($host) in $DIST"
[ "$(id -u)" -eq 0 ] || die "dpkg -i needs root"
if dpkg-query -W -f='${db:Status-Abbrev}' tini-rs 2>/dev/null | grep -q '^ii'; then
  die "a tini-rs package is already installed here; remove it first (dpkg -r tini-rs)"
fi

step "dpkg -i ${deb##*/}"
trap 'dpkg -r tini-rs >/dev/null 2>&1 || true' EXIT
dpkg -i "$deb" >/dev/null
dpkg -L tini-rs | grep -E '^/usr/(bin|share/(man|doc))/.*[^/]$'
version=$(/usr/bin/tini-rs --version)
echo "/usr/bin/tini-rs --version: $version"
[[ $version == "tini version $(crate_version)_tini-rs - git."* ]] || die "unexpected version line"
rc=0
/usr/bin/tini-rs -s -- sh -c 'exit 7' || rc=$?
[ "$rc" -eq 7 ] || die "/usr/bin/tini-rs -s -- sh -c 'exit 7' exited $rc"
echo "/usr/bin/tini-rs -s -- sh -c 'exit 7': exit $rc"
page=$(man -w tini-rs) || die "man does not find tini-rs(1)"
echo "man -w tini-rs: $page"
man -P cat tini-rs 2>/dev/null | grep -q 'DIFFERENCES FROM TINI' || die "man tini-rs does not render"
dpkg -r tini-rs >/dev/null
trap - EXIT
echo "installed, ran and removed ${deb##*/}"
