#!/usr/bin/env bash
# The release command: builds, from a clean checkout, everything a release publishes into
# dist/ (or --out DIR):
#   tini-rs-ARCH               static, stripped, non-PIE binaries for the Debian
#                              architectures amd64 arm64 armel armhf i386 mips64el ppc64el
#                              riscv64 s390x, each with its Rust dependency list in a
#                              .dep-v0 section (cargo auditable)
#   tini-rs_VERSION_ARCH.deb   installs /usr/bin/tini-rs, its man page and licence
#   oci/                       an OCI image layout: one FROM-scratch image per architecture
#                              holding only /tini-rs, gathered in an image index tagged VERSION
#   tini-rs-VERSION-oci.tar    the same layout as one archive (skopeo's oci-archive:)
#   SHA256SUMS                 over the binaries, the .debs and the OCI archive
#
# All nine binaries are built with Debian's own Rust 1.96 (/usr/bin/cargo, /usr/bin/rustc)
# and Debian's cross compilers, so one compiler made every file; for armel, mips64el, riscv64
# and s390x, where Debian has no standard library for that compiler, it first compiles the
# library's source (rust-web-src; see builds_std in release/common.sh). Output is
# reproducible: the same commit gives byte-identical files in any directory
# (release/check-reproducible.sh).
#
# Usage: release/build.sh [--out DIR] [--arch amd64,arm64,...]
# As root it installs what is missing (Debian packages, foreign architectures, cargo-auditable);
# otherwise it names what is missing and stops.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=release/common.sh
. release/common.sh

OUT=dist
ARCHS=("${ALL_ARCHS[@]}")
while [ $# -gt 0 ]; do
  case $1 in
    --out) [ $# -ge 2 ] && [ -n "$2" ] || die "--out needs a directory"; OUT=$2; shift 2 ;;
    --arch) [ $# -ge 2 ] && [ -n "$2" ] || die "--arch needs a list such as amd64,arm64"
      IFS=, read -r -a ARCHS <<<"$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for a in "${ARCHS[@]}"; do triple_of "$a" >/dev/null || die "unknown architecture '$a' (known: ${ALL_ARCHS[*]})"; done
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac
# The output directory is emptied first: refuse one that holds anything this script did not make.
if [ -d "$OUT" ]; then
  for f in "$OUT"/* "$OUT"/.[!.]*; do
    [ -e "$f" ] || continue
    case ${f##*/} in tini-rs-* | tini-rs_*.deb | oci | SHA256SUMS) ;;
      *) die "$OUT holds ${f##*/}, which is no release output: choose another --out" ;;
    esac
  done
elif [ -e "$OUT" ]; then
  die "$OUT is not a directory"
fi

VERSION=$(crate_version)
[ -n "$VERSION" ] || die "cannot read the version from Cargo.toml"
git rev-parse --verify -q HEAD >/dev/null || die "not a git checkout: the version line needs the commit"
# Every timestamp inside the packages is the commit's.
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct HEAD)
export SOURCE_DATE_EPOCH

ensure_build_deps "${ARCHS[@]}"
for a in "${ARCHS[@]}"; do
  builds_std "$a" || continue
  # The standard library compiled from source must be the compiler's own.
  v=$(dpkg-query -W -f='${Version}\n' rustc-web rust-web-src | sort -u | wc -l)
  [ "$v" -eq 1 ] || die "rust-web-src and rustc-web differ in version: $(dpkg-query -W rustc-web rust-web-src | tr '\n\t' '; ')"
  break
done

step "tini-rs $VERSION ($(git rev-parse --short=7 HEAD)) for ${ARCHS[*]} into $OUT"
rm -rf "$OUT"
mkdir -p "$OUT"
# The release build has its own target directory: the usual one holds rustup-built artifacts.
export CARGO_TARGET_DIR=$ROOT/target/release-build
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
export RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo
# Registry sources live under CARGO_HOME, whose path would otherwise end up in panic
# locations: map it to a fixed name so that the binary does not depend on the builder's home.
CARGO_HOME_DIR=${CARGO_HOME:-$HOME/.cargo}

for arch in "${ARCHS[@]}"; do
  triple=$(triple_of "$arch")
  t=$(tr 'a-z-' 'A-Z_' <<<"$triple")
  # Debian's standard library for the target, or (armel, mips64el, riscv64, s390x: Debian 12
  # has none for Rust 1.96) the same library compiled from rust-web-src: see builds_std in
  # release/common.sh for why the unstable -Zbuild-std is used there and nowhere else.
  vars=("CARGO_TARGET_${t}_LINKER=$(gcc_of "$arch")"
    "CARGO_TARGET_${t}_RUSTFLAGS=$(rustflags_of "$arch") --remap-path-prefix=$CARGO_HOME_DIR=/cargo")
  build_std=()
  if builds_std "$arch"; then vars+=(RUSTC_BOOTSTRAP=1); build_std=(-Zbuild-std=std,panic_abort); fi
  step "$arch: /usr/bin/cargo auditable build --release --target $triple ${build_std[*]}"
  env "${vars[@]}" /usr/bin/cargo auditable build --release --locked --target "$triple" "${build_std[@]}"
  bin=$CARGO_TARGET_DIR/$triple/release/tini-rs
  check_static "$bin" "$arch"
  install -m 0755 "$bin" "$OUT/tini-rs-$arch"
  touch -d "@$SOURCE_DATE_EPOCH" "$OUT/tini-rs-$arch"
  echo "$OUT/tini-rs-$arch: $(stat -c %s "$OUT/tini-rs-$arch") bytes"
done

step "man page, .deb packages"
for arch in "${ARCHS[@]}"; do
  bash release/deb.sh "$OUT/tini-rs-$arch" "$arch" "$VERSION" "$OUT"
done

step "OCI image layout (image index $VERSION: ${ARCHS[*]})"
oci_args=()
for arch in "${ARCHS[@]}"; do oci_args+=("$arch=$OUT/tini-rs-$arch"); done
python3 release/oci.py --version "$VERSION" --revision "$(git rev-parse HEAD)" \
  --epoch "$SOURCE_DATE_EPOCH" --layout "$OUT/oci" --archive "$OUT/tini-rs-$VERSION-oci.tar" \
  "${oci_args[@]}"

step "SHA256SUMS"
(cd "$OUT" && sha256sum -- tini-rs-* tini-rs_*.deb >SHA256SUMS && cat SHA256SUMS)
echo
echo "release: $OUT ready ($(cd "$OUT" && find . -maxdepth 1 -type f | wc -l) files, and oci/)"
