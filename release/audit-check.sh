#!/usr/bin/env bash
# Reads the dependency list back out of each release binary with rust-audit-info (a reader
# of cargo auditable's .dep-v0 format, the one scanners such as cargo audit bin, trivy and
# syft use), and checks that it names tini-rs and exactly the crates and versions that
# Cargo.lock pins.
#
# Usage: release/audit-check.sh [--dist DIR]   (installs rust-audit-info with cargo if missing)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=release/common.sh
. release/common.sh
RUST_AUDIT_INFO_VERSION=0.5.4

dist_args "$@"
[ -d "$DIST" ] || die "no directory $DIST: run release/build.sh first"

if ! cargo install --list 2>/dev/null | grep -qx "rust-audit-info v$RUST_AUDIT_INFO_VERSION:"; then
  echo "cargo install rust-audit-info $RUST_AUDIT_INFO_VERSION"
  cargo install --quiet --locked --version "$RUST_AUDIT_INFO_VERSION" rust-audit-info
fi

json=$(mktemp)
trap 'rm -f "$json"' EXIT
n=0
for a in "${ALL_ARCHS[@]}"; do
  f=$DIST/tini-rs-$a
  [ -f "$f" ] || continue
  n=$((n + 1))
  rust-audit-info "$f" >"$json" 2>&1 || die "rust-audit-info $f: $(head -n1 "$json")"
  python3 - "$f" "$json" Cargo.lock <<'PYEOF'
import json, re, sys
binary, audit, lock = sys.argv[1:]
data = json.load(open(audit))
locked = set(re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', open(lock).read()))
pkgs = data["packages"]
roots = [p for p in pkgs if p.get("root")]
assert [(p["name"], p["version"]) for p in roots] == [r for r in locked if r[0] == "tini-rs"], f"{binary}: root is {roots}"
unknown = [(p["name"], p["version"]) for p in pkgs if (p["name"], p["version"]) not in locked]
assert not unknown, f"{binary}: crates not in Cargo.lock: {unknown}"
runtime = [p for p in pkgs if p.get("kind", "runtime") == "runtime" and not p.get("root")]
build = [p for p in pkgs if p.get("kind") == "build"]
print(f"{binary.rsplit('/', 1)[-1]}: root {roots[0]['name']} {roots[0]['version']}; "
      f"{len(runtime)} runtime crates: " + ", ".join(f"{p['name']} {p['version']}" for p in runtime)
      + f"; {len(build)} build-time: " + ", ".join(p["name"] for p in build))
PYEOF
done
[ "$n" -gt 0 ] || die "no binaries in $DIST"
echo "audit data read back from $n binaries; every crate matches Cargo.lock"
