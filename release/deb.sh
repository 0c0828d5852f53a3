#!/usr/bin/env bash
# Makes dist/tini-rs_VERSION_ARCH.deb from a built binary: /usr/bin/tini-rs, the man page
# tini-rs(1), the licence (a machine-readable copyright file that also names what the static
# binary contains) and a changelog. Every file carries the commit's time (SOURCE_DATE_EPOCH),
# so the package is reproducible. Called by release/build.sh.
#
# Usage: release/deb.sh BINARY ARCH VERSION OUTDIR
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=release/common.sh
. release/common.sh

[ $# -eq 4 ] || die "usage: release/deb.sh BINARY ARCH VERSION OUTDIR"
bin=$1 arch=$2 version=$3 out=$4
[ -x "$bin" ] || die "no executable at $bin"
triple=$(triple_of "$arch") || die "unknown architecture '$arch'"
[ -d "$out" ] || die "no directory $out"
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct HEAD)}"
export SOURCE_DATE_EPOCH
date_rfc2822=$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")
maintainer=${TINI_RS_DEB_MAINTAINER:-$DEB_MAINTAINER}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
doc=$stage/usr/share/doc/tini-rs
install -d -m 0755 "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/share/man/man1" "$doc" \
  "$stage/usr/share/lintian/overrides"
install -m 0755 "$bin" "$stage/usr/bin/tini-rs"
gzip -9n <doc/tini-rs.1 >"$stage/usr/share/man/man1/tini-rs.1.gz"

# The copyright file: tini-rs's own licence, then what the static binary links in.
{
  cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tini-rs
Comment: /usr/bin/tini-rs is statically linked. Besides tini-rs it contains
 the Rust standard library (MIT or Apache-2.0, used here under MIT), the GNU C
 Library (LGPL-2.1-or-later, see /usr/share/common-licenses/LGPL-2.1; its source
 is Debian's glibc package) and these crates, each offered under MIT:
EOF
  /usr/bin/cargo metadata --format-version 1 --locked --offline --filter-platform "$triple" |
    python3 -c '
import json, sys
m = json.load(sys.stdin)
nodes = {n["id"]: n for n in m["resolve"]["nodes"]}
pkgs = {p["id"]: p for p in m["packages"]}
root = m["resolve"]["root"]
seen, todo = set(), [root]
while todo:
    i = todo.pop()
    if i in seen:
        continue
    seen.add(i)
    for d in nodes[i]["deps"]:
        if any(k["kind"] is None for k in d["dep_kinds"]):
            todo.append(d["pkg"])
seen.discard(root)
for p in sorted((pkgs[i] for i in seen), key=lambda p: p["name"]):
    if "MIT" not in (p["license"] or "").split():
        sys.exit("crate %s %s is not offered under MIT (%s): update the copyright file" % (p["name"], p["version"], p["license"]))
    print(" %s %s (%s)" % (p["name"], p["version"], p["license"]))
'
  cat <<EOF

Files: *
Copyright: $(sed -n 's/^Copyright (c) //p' LICENSE)
License: Expat

License: Expat
EOF
  # The licence text after its title and copyright lines, indented, blank lines as " .".
  sed -n '/^Permission/,$p' LICENSE | sed 's/^$/./; s/^/ /'
} >"$doc/copyright"

cat <<EOF | gzip -9n >"$doc/changelog.gz"
tini-rs ($version) unstable; urgency=medium

  * Release $version; the changes are listed in CHANGELOG.md of the source.

 -- $maintainer  $date_rfc2822
EOF

cat >"$stage/usr/share/lintian/overrides/tini-rs" <<EOF
# An init for containers must run in an empty image: static on purpose, as Debian's
# tini-static is.
tini-rs: statically-linked-binary [usr/bin/tini-rs]
EOF
chmod 0644 "$stage/usr/share/lintian/overrides/tini-rs"

size_kb=$(du -k -s --apparent-size "$stage/usr" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: tini-rs
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size_kb
Section: admin
Priority: optional
Description: tini-compatible init for containers
 tini-rs runs as PID 1 of a container: it starts one program, forwards
 every signal it receives to the program's process group, reaps every
 zombie process re-parented to it, and exits with the program's status.
 It accepts tini's options and TINI_* environment variables and can be
 Docker's or podman's init (docker run --init).
 .
 The binary is static and needs nothing from the image it runs in.
EOF
(cd "$stage" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums" "$doc/copyright" "$doc/changelog.gz" \
  "$stage/usr/share/man/man1/tini-rs.1.gz"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb=$out/tini-rs_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb: $(stat -c %s "$deb") bytes"
