#!/usr/bin/env bash
# Runs tini-rs of other architectures under qemu-user (qemu-ARCH-static): the unit tests
# (cargo test --lib), cross-built with the release's compiler and standard library (Debian's
# Rust 1.96; for the build-std architectures the library compiled from rust-web-src, as
# release/build.sh does), and the release binary of dist/ as a plain process (its version
# line, a program's exit code passed through).
#
# By default it checks the four architectures whose standard library the release compiles
# itself (armel, mips64el, riscv64, s390x). qemu-user emulates a process, not a kernel (no
# child subreaper, some real-time signals missing), so the behaviour as PID 1 is
# release/boot-check.sh's to prove.
#
# Usage: release/qemu-user-check.sh [--dist DIR] [ARCH...]   (after release/build.sh)
# As root it installs what is missing (qemu-user-static, the build packages of build.sh).
# qemu runs each test binary as cargo's runner: no binfmt handler is needed or registered.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=release/common.sh
. release/common.sh

parse_check_args "$0" "$@"
if [ ${#ARCHS[@]} -eq 0 ]; then
  for a in "${ALL_ARCHS[@]}"; do builds_std "$a" && ARCHS+=("$a"); done
fi
[ -d "$DIST" ] || die "no directory $DIST: run release/build.sh first"

# qemu-user's name for each architecture's emulator.
qemu_of() {
  case $1 in
    amd64) echo qemu-x86_64-static ;; arm64) echo qemu-aarch64-static ;;
    armel | armhf) echo qemu-arm-static ;; i386) echo qemu-i386-static ;;
    mips64el) echo qemu-mips64el-static ;; ppc64el) echo qemu-ppc64le-static ;;
    riscv64) echo qemu-riscv64-static ;; s390x) echo qemu-s390x-static ;;
  esac
}

ensure_build_deps "${ARCHS[@]}"
ensure_packages qemu-user-static

export CARGO_TARGET_DIR=$ROOT/target/qemu-user
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
export RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo

# The exhaustive check of the supervisor's state machine is pure code (no system call, no
# architecture's type in its state) and runs in cargo test on the build machine; emulated it
# it would take many times its 45 s on the build machine, for each architecture.
NATIVE_ONLY=state::check::

RESULTS=()
NFAIL=0
for arch in "${ARCHS[@]}"; do
  triple=$(triple_of "$arch")
  t=$(tr 'a-z-' 'A-Z_' <<<"$triple")
  qemu=$(qemu_of "$arch")
  # The release's flags (static, so that qemu needs no foreign libc), the test profile.
  vars=("CARGO_TARGET_${t}_LINKER=$(gcc_of "$arch")" "CARGO_TARGET_${t}_RUSTFLAGS=$(rustflags_of "$arch")"
    "CARGO_TARGET_${t}_RUNNER=$qemu")
  build_std=()
  # build-std: see builds_std in release/common.sh. Without a list cargo builds std and, for
  # a test, the test harness's crates.
  if builds_std "$arch"; then vars+=(RUSTC_BOOTSTRAP=1); build_std=(-Zbuild-std); fi
  step "$arch: cargo test --lib --target $triple ${build_std[*]} (runner $qemu)"
  log=$CARGO_TARGET_DIR/test-$arch.log
  mkdir -p "$CARGO_TARGET_DIR"
  rc=0
  env "${vars[@]}" /usr/bin/cargo test --locked --lib --target "$triple" "${build_std[@]}" \
    -- --skip "$NATIVE_ONLY" 2>&1 | tee "$log" || rc=$?
  summary=$(grep -E '^test result:' "$log" | tail -n1 || true)
  if [ "$rc" -ne 0 ] || [ -z "$summary" ]; then
    RESULTS+=("FAIL  $arch: unit tests under $qemu (exit $rc) ${summary}")
    NFAIL=$((NFAIL + 1))
  else
    RESULTS+=("PASS  $arch: unit tests under $qemu: ${summary#test result: }")
  fi

  step "$arch: $DIST/tini-rs-$arch under $qemu"
  bin=$DIST/tini-rs-$arch
  [ -x "$bin" ] || die "no binary $bin: run release/build.sh first"
  version=$("$qemu" "$bin" --version 2>&1) || true
  echo "--version: $version"
  rc=0
  # The program is the host's sh: qemu-user hands an exec of a host binary to the kernel.
  # Not -s: qemu-user has no PR_SET_CHILD_SUBREAPER (EINVAL), which -s must fail on; without
  # it tini-rs warns that it cannot be a subreaper and goes on.
  "$qemu" "$bin" -- sh -c 'exit 7' || rc=$?
  echo "-- sh -c 'exit 7': exit $rc"
  if [[ $version == "tini version $(crate_version)_tini-rs - git."* ]] && [ "$rc" -eq 7 ]; then
    RESULTS+=("PASS  $arch: release binary under $qemu: version line, exit 7 passed through")
  else
    RESULTS+=("FAIL  $arch: release binary under $qemu: '$version', exit $rc (expected 7)")
    NFAIL=$((NFAIL + 1))
  fi
done

step "qemu-user checks"
printf '%s\n' "${RESULTS[@]}"
[ "$NFAIL" -eq 0 ] || die "$NFAIL checks failed"
