#!/usr/bin/env bash
# Reproducibility check: clones the committed tree (HEAD) into a new directory elsewhere,
# runs the release command there, and compares every file it makes with dist/, which the
# release command made here. Any difference fails; the binaries' digests are printed.
#
# Usage: release/check-reproducible.sh [--dist DIR]   (after release/build.sh; the working
# tree must be committed, since the clone builds HEAD)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=release/common.sh
. release/common.sh

dist_args "$@"
[ -f "$DIST/SHA256SUMS" ] || die "no $DIST/SHA256SUMS: run release/build.sh first"
git diff --quiet HEAD -- || die "the working tree has uncommitted changes: the clone would build something else"

archs=()
for a in "${ALL_ARCHS[@]}"; do [ -f "$DIST/tini-rs-$a" ] && archs+=("$a"); done
[ ${#archs[@]} -gt 0 ] || die "no binaries in $DIST"

tmp=$(mktemp -d /tmp/tini-rs-repro.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
other=$tmp/another/place/tini-rs
step "second build of $(git rev-parse --short=7 HEAD) in $other"
git clone --quiet --no-checkout "$ROOT" "$other"
git -C "$other" checkout --quiet --detach "$(git rev-parse HEAD)"
(IFS=,; bash "$other/release/build.sh" --out "$tmp/dist" --arch "${archs[*]}") >"$tmp/build.log" 2>&1 ||
  { tail -n 30 "$tmp/build.log"; die "the second build failed"; }

step "comparing $DIST with the second build"
status=0
if ! diff -r "$DIST" "$tmp/dist" >"$tmp/diff.txt"; then
  cat "$tmp/diff.txt"
  status=1
fi
for a in "${archs[@]}"; do
  here=$(sha256sum <"$DIST/tini-rs-$a" | cut -d' ' -f1)
  there=$(sha256sum <"$tmp/dist/tini-rs-$a" | cut -d' ' -f1)
  if [ "$here" = "$there" ]; then
    printf 'identical  %-18s %s\n' "tini-rs-$a" "$here"
  else
    printf 'DIFFERENT  %-18s %s vs %s\n' "tini-rs-$a" "$here" "$there"
    status=1
  fi
done
n=$(cd "$DIST" && find . -type f | wc -l)
[ "$status" -eq 0 ] || die "the two builds differ"
echo "reproducible: all $n files of $DIST (binaries, .debs, OCI layout and archive, SHA256SUMS) are byte-identical"
