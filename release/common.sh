# Shared by the release scripts (sourced, not run): architecture tables, messages and the
# installation of what the release build needs.
# shellcheck shell=bash

# Tools installed with `cargo install` (cargo-auditable, rust-audit-info) live here; a fresh
# container (the release workflow) does not have it on PATH.
PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH

# Debian architecture names, in the order of dist/ listings.
ALL_ARCHS=(amd64 arm64 armhf i386 ppc64el)
# cargo-auditable, which embeds the dependency list (pinned: its output is part of the binary).
CARGO_AUDITABLE_VERSION=0.7.7
# The .deb's Maintainer field (the project's commit identity; TINI_RS_DEB_MAINTAINER overrides).
DEB_MAINTAINER='tini-rs maintainers <maintainers@users.noreply.h-seed-d7d1a8b1.example>'

die() { echo "${0##*/}: $*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

triple_of() {
  case $1 in
    amd64) echo x86_64-unknown-linux-gnu ;;
    arm64) echo aarch64-unknown-linux-gnu ;;
    armhf) echo armv7-unknown-linux-gnueabihf ;;
    i386) echo i686-unknown-linux-gnu ;;
    ppc64el) echo powerpc64le-unknown-linux-gnu ;;
    *) return 1 ;;
  esac
}

# The GNU triple of Debian's cross compiler and of its libc6-dev-ARCH-cross.
gnu_of() {
  case $1 in
    amd64) echo x86_64-linux-gnu ;;
    arm64) echo aarch64-linux-gnu ;;
    armhf) echo arm-linux-gnueabihf ;;
    i386) echo i686-linux-gnu ;;
    ppc64el) echo powerpc64le-linux-gnu ;;
    *) return 1 ;;
  esac
}
gcc_of() { echo "$(gnu_of "$1")-gcc"; }

# What `file` says about the machine of each architecture's binary.
machine_of() {
  case $1 in
    amd64) echo 'x86-64' ;;
    arm64) echo 'ARM aarch64' ;;
    armhf) echo 'ARM, EABI5' ;;
    i386) echo 'Intel 80386' ;;
    ppc64el) echo '64-bit PowerPC' ;;
    *) return 1 ;;
  esac
}

crate_version() { sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1; }

# Debian packages the build needs for ARCHS (the compiler's std and the C cross toolchain).
build_packages() {
  local a pkgs=(rustc-web cargo-web python3 file binutils git xz-utils)
  for a in "$@"; do
    pkgs+=("libstd-rust-web-dev:$a")
    if [ "$a" = amd64 ]; then pkgs+=(gcc libc6-dev); else pkgs+=("gcc-$(gnu_of "$a")" "libc6-dev-$a-cross"); fi
  done
  printf '%s\n' "${pkgs[@]}"
}

missing_packages() { # PACKAGE... -> those not installed
  local p
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || echo "$p"
  done
}

# Installs (as root) or names (otherwise) what is missing: foreign architectures, packages.
ensure_packages() { # PACKAGE...
  local p a missing=() archs=() native
  native=$(dpkg --print-architecture)
  for p in "$@"; do
    a=${p#*:}
    if [ "$a" != "$p" ] && [ "$a" != "$native" ] && ! dpkg --print-foreign-architectures | grep -qx "$a"; then
      archs+=("$a")
    fi
  done
  mapfile -t missing < <(missing_packages "$@")
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages (run as root to install them): ${archs[*]:+dpkg --add-architecture ${archs[*]}; }apt-get install ${missing[*]}"
  fi
  for a in $(printf '%s\n' "${archs[@]}" | sort -u); do
    echo "dpkg --add-architecture $a"
    dpkg --add-architecture "$a"
  done
  echo "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_build_deps() { # ARCH...
  local pkgs
  mapfile -t pkgs < <(build_packages "$@")
  ensure_packages "${pkgs[@]}"
  if ! cargo install --list 2>/dev/null | grep -qx "cargo-auditable v$CARGO_AUDITABLE_VERSION:"; then
    echo "cargo install cargo-auditable $CARGO_AUDITABLE_VERSION"
    cargo install --quiet --locked --version "$CARGO_AUDITABLE_VERSION" cargo-auditable
  fi
  command -v cargo-auditable >/dev/null ||
    die "cargo-auditable is installed but not on PATH (add \$CARGO_HOME/bin, usually ~/.cargo/bin)"
}

# A release binary must be a static, non-PIE, stripped executable of the right machine that
# carries its dependency list.
check_static() { # FILE ARCH
  local f=$1 desc
  [ -f "$f" ] || die "no binary at $f"
  desc=$(file -b "$f")
  echo "$desc"
  case $desc in *"$(machine_of "$2")"*) ;; *) die "$f: not an $2 binary" ;; esac
  case $desc in *"LSB executable"* | *"MSB executable"*) ;; *) die "$f: not a plain (non-PIE) executable" ;; esac
  case $desc in *"statically linked"*) ;; *) die "$f: not statically linked" ;; esac
  case $desc in *", stripped"*) ;; *) die "$f: not stripped" ;; esac
  readelf -S -W "$f" | grep -q ' \.dep-v0 ' || die "$f: no .dep-v0 section (dependency list)"
}

# The one option of the check scripts: --dist DIR (default: dist/ of the tree), or --help
# (the script's header comment). Sets DIST.
dist_args() {
  DIST=$ROOT/dist
  while [ $# -gt 0 ]; do
    case $1 in
      --dist) [ $# -ge 2 ] && [ -n "$2" ] || die "--dist needs a directory"; DIST=$2; shift 2 ;;
      -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
      *) die "unknown argument '$1' (see --help)" ;;
    esac
  done
}

# The boot machinery of release/boot-check.sh and release/vm-check.sh: Debian's kernels and
# busybox packages are fetched with apt-get download and unpacked with dpkg-deb -x into
# target/boot/ (busybox-static:ARCH is never installed: it would replace the host's).

kernel_flavour() {
  case $1 in
    amd64) echo amd64 ;; arm64) echo arm64 ;; armhf) echo armmp ;; i386) echo 686 ;;
    ppc64el) echo powerpc64le ;;
  esac
}
qemu_package() {
  case $1 in amd64 | i386) echo qemu-system-x86 ;; arm64 | armhf) echo qemu-system-arm ;; ppc64el) echo qemu-system-ppc ;; esac
}

# Downloads PACKAGE:ARCH into the cache once; prints the .deb's path.
download() { # PACKAGE ARCH
  local deb
  deb=$(find "$CACHE" -maxdepth 1 -name "${1}_*_$2.deb" | head -n1)
  if [ -z "$deb" ]; then
    (cd "$CACHE" && apt-get download -q "$1:$2" >/dev/null 2>"$CACHE/download.err") ||
      die "apt-get download $1:$2 failed: $(tail -n1 "$CACHE/download.err")"
    deb=$(find "$CACHE" -maxdepth 1 -name "${1}_*_$2.deb" | head -n1)
  fi
  [ -n "$deb" ] || die "apt-get download $1:$2 left no .deb"
  echo "$deb"
}

# Installs QEMU (and what else PACKAGE... names) for ARCH..., adds the foreign
# architectures, and resolves the kernel package behind each architecture's linux-image
# metapackage in one apt-cache call (each call re-reads every package list: seconds).
# Sets CACHE (target/boot) and KERNEL_PACKAGE.
declare -A KERNEL_PACKAGE=()
boot_prepare() { # ARCH... [-- PACKAGE...]
  local a archs=() pkgs=(python3 seabios) metas=() image arch
  while [ $# -gt 0 ] && [ "$1" != -- ]; do archs+=("$1"); shift; done
  [ $# -eq 0 ] || { shift; pkgs+=("$@"); }
  for a in "${archs[@]}"; do pkgs+=("$(qemu_package "$a")"); done
  ensure_packages "${pkgs[@]}"
  for a in "${archs[@]}"; do
    [ "$a" = "$(dpkg --print-architecture)" ] && continue
    dpkg --print-foreign-architectures | grep -qx "$a" && continue
    [ "$(id -u)" -eq 0 ] || die "architecture $a is not known to dpkg: run as root, or dpkg --add-architecture $a && apt-get update"
    dpkg --add-architecture "$a"
    apt-get update -qq
  done
  CACHE=$ROOT/target/boot
  mkdir -p "$CACHE"
  for a in "${archs[@]}"; do metas+=("linux-image-$(kernel_flavour "$a"):$a"); done
  while read -r image arch; do
    KERNEL_PACKAGE[$arch]=$image
  done < <(apt-cache depends "${metas[@]}" 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[^:]*\)\(:\(.*\)\)\{0,1\}$/\1 \3/p' |
    awk -v native="$(dpkg --print-architecture)" '{ print $1, ($2 == "" ? native : $2) }')
}

# The kernel of ARCH, unpacked from its linux-image package (only /boot is taken).
kernel_of() { # ARCH -> path of the kernel image
  local arch=$1 image=${KERNEL_PACKAGE[$1]:-} deb dir
  [ -n "$image" ] || die "cannot resolve linux-image-$(kernel_flavour "$arch"):$arch to a kernel package"
  dir=$CACHE/$arch/$image
  if ! [ -d "$dir/boot" ]; then
    deb=$(download "$image" "$arch")
    mkdir -p "$dir"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards './boot/vmlinu*'
  fi
  find "$dir/boot" -name 'vmlinu*' -type f | head -n1
}

busybox_of() { # ARCH -> path of a static busybox for ARCH
  local arch=$1 deb dir=$CACHE/$arch/busybox
  if ! [ -x "$dir/bin/busybox" ]; then
    deb=$(download busybox-static "$arch")
    rm -rf "$dir"
    dpkg-deb -x "$deb" "$dir"
  fi
  echo "$dir/bin/busybox"
}

# The unpacked modules of ARCH's kernel (its lib/modules/VERSION directory).
modules_of() { # ARCH -> directory
  local arch=$1 image=${KERNEL_PACKAGE[$1]:-} deb dir
  dir=$CACHE/$arch/$image/modules
  if ! [ -d "$dir/lib/modules" ]; then
    deb=$(download "$image" "$arch")
    mkdir -p "$dir"
    # The drivers of a virtio disk and keyboard and of ext4, with what they depend on.
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards \
      './lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/drivers/block/*' \
      './lib/modules/*/kernel/fs/*' './lib/modules/*/kernel/lib/*' \
      './lib/modules/*/kernel/crypto/*'
  fi
  find "$dir/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1
}

# The QEMU command that boots KERNEL with INITRD and the kernel command line
# "console=... panic=-1 quiet CMDLINE", on one emulated CPU (TCG). X86_MACHINE: pc (default)
# or q35.
qemu_command() { # ARCH KERNEL INITRD CMDLINE -> fills QEMU=()
  local arch=$1 console
  case $arch in
    amd64) QEMU=(qemu-system-x86_64 -M "${X86_MACHINE:-pc}" -cpu qemu64); console=ttyS0 ;;
    i386) QEMU=(qemu-system-i386 -M "${X86_MACHINE:-pc}" -cpu qemu32); console=ttyS0 ;;
    arm64) QEMU=(qemu-system-aarch64 -M virt -cpu cortex-a57); console=ttyAMA0 ;;
    # Debian's armmp kernel has no LPAE: keep the machine's memory below 4 GiB.
    armhf) QEMU=(qemu-system-arm -M virt,highmem=off -cpu cortex-a15); console=ttyAMA0 ;;
    ppc64el) QEMU=(qemu-system-ppc64 -M pseries -cpu POWER9 -vga none); console=hvc0 ;;
  esac
  QEMU+=(-accel tcg -m 512 -smp 1 -nographic -no-reboot -net none
    -kernel "$2" -initrd "$3"
    -append "console=$console panic=-1 quiet $4")
}
