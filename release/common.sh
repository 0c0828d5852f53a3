# Shared by the release scripts (sourced, not run): architecture tables, messages and the
# installation of what the release build needs.
# shellcheck shell=bash

# Tools installed with `cargo install` (cargo-auditable, rust-audit-info) live here; a fresh
# container (the release workflow) does not have it on PATH.
PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH

# Debian architecture names, in the order of dist/ listings: the eight tini releases for, and
# riscv64.
ALL_ARCHS=(amd64 arm64 armel armhf i386 mips64el ppc64el riscv64 s390x)
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
    armel) echo armv5te-unknown-linux-gnueabi ;;
    armhf) echo armv7-unknown-linux-gnueabihf ;;
    i386) echo i686-unknown-linux-gnu ;;
    mips64el) echo mips64el-unknown-linux-gnuabi64 ;;
    ppc64el) echo powerpc64le-unknown-linux-gnu ;;
    riscv64) echo riscv64gc-unknown-linux-gnu ;;
    s390x) echo s390x-unknown-linux-gnu ;;
    *) return 1 ;;
  esac
}

# The GNU triple of Debian's cross compiler and of its libc6-dev-ARCH-cross.
gnu_of() {
  case $1 in
    amd64) echo x86_64-linux-gnu ;;
    arm64) echo aarch64-linux-gnu ;;
    armel) echo arm-linux-gnueabi ;;
    armhf) echo arm-linux-gnueabihf ;;
    i386) echo i686-linux-gnu ;;
    mips64el) echo mips64el-linux-gnuabi64 ;;
    ppc64el) echo powerpc64le-linux-gnu ;;
    riscv64) echo riscv64-linux-gnu ;;
    s390x) echo s390x-linux-gnu ;;
    *) return 1 ;;
  esac
}
gcc_of() { echo "$(gnu_of "$1")-gcc"; }

# What `file` says about the machine of each architecture's binary.
machine_of() {
  case $1 in
    amd64) echo 'x86-64' ;;
    arm64) echo 'ARM aarch64' ;;
    armel | armhf) echo 'ARM, EABI5' ;;
    i386) echo 'Intel 80386' ;;
    mips64el) echo 'MIPS, MIPS64' ;;
    ppc64el) echo '64-bit PowerPC' ;;
    riscv64) echo 'UCB RISC-V' ;;
    s390x) echo 'IBM S/390' ;;
    *) return 1 ;;
  esac
}

# Where Debian has no standard library for the compiler, the release compiles it from source.
# Debian 12's Rust 1.96 (rustc-web) comes with a prebuilt standard library
# (libstd-rust-web-dev:ARCH) for amd64, arm64, armhf, i386 and ppc64el only: for armel,
# mips64el and s390x Debian 12 has only its older Rust 1.63, and riscv64 is not one of its
# architectures at all. rust-web-src holds the source of the same 1.96 standard library, and
# cargo's -Zbuild-std compiles it for the target with the same 1.96 compiler and our flags, so
# one compiler still makes every binary of a release. -Zbuild-std is unstable (RUSTC_BOOTSTRAP=1
# lets the stable compiler accept it) and fetches the standard library's own dependencies from
# the crate registry, pinned by its Cargo.lock. Where Debian ships the standard library, the
# release uses Debian's build of it: a stable interface, the library Debian tested, nothing
# fetched. So build-std is used for these four architectures and nowhere else.
builds_std() { case $1 in armel | mips64el | riscv64 | s390x) return 0 ;; *) return 1 ;; esac; }

# The target's RUSTFLAGS. Static glibc, and a plain static executable rather than static-pie
# (as Debian's tini-static): the flags .cargo/config.toml gives the default x86_64 build.
# Not relocation-model=static on mips64el: with it the binary dies of SIGSEGV at its first
# instructions (even --version, under qemu-user); the target's default code, linked into a
# static executable, is still a plain non-PIE one.
rustflags_of() { # ARCH
  local flags='-C target-feature=+crt-static'
  [ "$1" = mips64el ] || flags+=' -C relocation-model=static'
  echo "$flags"
}

crate_version() { sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1; }

# Debian packages the build needs for ARCHS (the compiler's std and the C cross toolchain).
build_packages() {
  local a pkgs=(rustc-web cargo-web python3 file binutils git xz-utils)
  for a in "$@"; do
    # The standard library: Debian's build of it, or its source (see builds_std).
    if builds_std "$a"; then pkgs+=(rust-web-src); else pkgs+=("libstd-rust-web-dev:$a"); fi
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
  # file says the same of armel and armhf: the ARM attributes tell them apart.
  case $2 in
    armel) readelf -A "$f" | grep -q 'Tag_CPU_arch: v5TE' || die "$f: not an ARMv5TE binary" ;;
    armhf) readelf -A "$f" | grep -q 'Tag_ABI_VFP_args: VFP registers' || die "$f: not a hard-float binary" ;;
  esac
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

# The Debian architecture of the kernel that boots ARCH's binary: armel's ARMv5 binaries run on
# armhf's kernel (Debian has no armel kernel for QEMU's virt machine).
kernel_arch() { case $1 in armel) echo armhf ;; *) echo "$1" ;; esac; }
kernel_flavour() {
  case $1 in
    amd64) echo amd64 ;; arm64) echo arm64 ;; armel | armhf) echo armmp ;; i386) echo 686 ;;
    mips64el) echo 5kc-malta ;; ppc64el) echo powerpc64le ;; riscv64) echo riscv64 ;;
    s390x) echo s390x ;;
  esac
}
qemu_package() {
  case $1 in
    amd64 | i386) echo qemu-system-x86 ;; arm64 | armel | armhf) echo qemu-system-arm ;;
    mips64el) echo qemu-system-mips ;; ppc64el) echo qemu-system-ppc ;;
    # riscv64's firmware (OpenSBI) comes with qemu-system-data, which qemu-system-misc depends on.
    riscv64 | s390x) echo qemu-system-misc ;;
  esac
}

# riscv64 is no architecture of Debian 12, so its kernel and busybox come from Debian 13, the
# first release that has it, through an apt state of their own under target/boot/apt-riscv64
# (the host's mirror, Debian's archive key; riscv64 only): the host's dpkg architectures and
# package sources stay as they are.
OTHER_SUITE=trixie
other_suite() { [ "$1" = riscv64 ]; }
other_apt() { # apt-get|apt-cache ARG... with the apt state of the riscv64 packages
  local tool=$1 dir=$CACHE/apt-riscv64
  shift
  "$tool" -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$dir/lists" -o Dir::State::Status="$dir/status" -o Dir::Cache="$dir/cache" \
    -o APT::Architecture=riscv64 -o APT::Architectures=riscv64 \
    -o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false \
    -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false \
    -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false "$@"
}
other_apt_update() {
  local dir=$CACHE/apt-riscv64 mirror
  # The Debian mirror the host's own release comes from.
  mirror=$(apt-get indextargets --format '$(REPO_URI)' "Release: $(. /etc/os-release && echo "$VERSION_CODENAME")" \
    'Component: main' 2>/dev/null | head -n1)
  [ -n "$mirror" ] || die "no Debian mirror found in the host's apt sources (for riscv64's packages)"
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  touch "$dir/status"
  echo "deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} $OTHER_SUITE main" >"$dir/sources.list"
  other_apt apt-get update -qq 2>"$dir/update.err" ||
    die "apt-get update of Debian $OTHER_SUITE (riscv64) failed: $(tail -n1 "$dir/update.err")"
}

# Downloads PACKAGE:ARCH into the cache once; prints the .deb's path.
download() { # PACKAGE ARCH
  local deb apt=(apt-get)
  other_suite "$2" && apt=(other_apt apt-get)
  deb=$(find "$CACHE" -maxdepth 1 -name "${1}_*_$2.deb" | head -n1)
  if [ -z "$deb" ]; then
    (cd "$CACHE" && "${apt[@]}" download -q "$1:$2" >/dev/null 2>"$CACHE/download.err") ||
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
  local a archs=() pkgs=(python3 seabios) metas=() other=() image arch
  while [ $# -gt 0 ] && [ "$1" != -- ]; do archs+=("$1"); shift; done
  [ $# -eq 0 ] || { shift; pkgs+=("$@"); }
  for a in "${archs[@]}"; do pkgs+=("$(qemu_package "$a")"); done
  ensure_packages "${pkgs[@]}"
  CACHE=$ROOT/target/boot
  mkdir -p "$CACHE"
  # busybox comes from ARCH, the kernel from kernel_arch ARCH: dpkg must know both.
  for a in $(for a in "${archs[@]}"; do echo "$a"; kernel_arch "$a"; done | sort -u); do
    other_suite "$a" && continue
    [ "$a" = "$(dpkg --print-architecture)" ] && continue
    dpkg --print-foreign-architectures | grep -qx "$a" && continue
    [ "$(id -u)" -eq 0 ] || die "architecture $a is not known to dpkg: run as root, or dpkg --add-architecture $a && apt-get update"
    dpkg --add-architecture "$a"
    apt-get update -qq
  done
  for a in "${archs[@]}"; do
    if other_suite "$a"; then
      other+=("linux-image-$(kernel_flavour "$a"):$a")
    else
      metas+=("linux-image-$(kernel_flavour "$a"):$(kernel_arch "$a")")
    fi
  done
  [ ${#other[@]} -eq 0 ] || other_apt_update
  while read -r image arch; do
    KERNEL_PACKAGE[$arch]=$image
  done < <(
    [ ${#metas[@]} -eq 0 ] || apt-cache depends "${metas[@]}" 2>/dev/null | kernel_depends "$(dpkg --print-architecture)"
    [ ${#other[@]} -eq 0 ] || other_apt apt-cache depends "${other[@]}" 2>/dev/null | kernel_depends riscv64
  )
}
# apt-cache depends's output -> "PACKAGE ARCH" of each kernel package (NATIVE: apt's own
# architecture, which apt-cache leaves unnamed).
kernel_depends() { # NATIVE
  sed -n 's/^ *Depends: \(linux-image-[^:]*\)\(:\(.*\)\)\{0,1\}$/\1 \3/p' |
    awk -v native="$1" '{ print $1, ($2 == "" ? native : $2) }'
}

# The kernel of ARCH, unpacked from its linux-image package (only /boot is taken).
kernel_of() { # ARCH -> path of the kernel image
  local arch image deb dir
  arch=$(kernel_arch "$1")
  image=${KERNEL_PACKAGE[$arch]:-}
  [ -n "$image" ] || die "cannot resolve linux-image-$(kernel_flavour "$1"):$arch to a kernel package"
  dir=$CACHE/$arch/$image
  if ! [ -d "$dir/boot" ]; then
    deb=$(download "$image" "$arch")
    mkdir -p "$dir"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards './boot/vmlinu*'
  fi
  find "$dir/boot" -name 'vmlinu*' -type f | head -n1
}

busybox_of() { # ARCH -> path of a static busybox for ARCH
  local arch=$1 deb dir
  dir=$CACHE/$arch/busybox
  if ! [ -x "$dir/bin/busybox" ]; then
    deb=$(download busybox-static "$arch")
    rm -rf "$dir" "$dir.x"
    mkdir -p "$dir/bin"
    # Debian 12 ships it in /bin, Debian 13 (riscv64's) in /usr/bin.
    dpkg-deb -x "$deb" "$dir.x"
    cp "$(find "$dir.x/bin" "$dir.x/usr/bin" -name busybox -type f 2>/dev/null | head -n1)" "$dir/bin/busybox"
    rm -rf "$dir.x"
  fi
  echo "$dir/bin/busybox"
}

# The unpacked modules of ARCH's kernel (its lib/modules/VERSION directory).
modules_of() { # ARCH -> directory
  local arch image deb dir
  arch=$(kernel_arch "$1")
  image=${KERNEL_PACKAGE[$arch]:-}
  dir=$CACHE/$arch/$image/modules
  if ! [ -f "$dir/.whole" ]; then
    deb=$(download "$image" "$arch")
    # Unpacked aside, marked and renamed once whole: an interrupted unpack must not be taken
    # for the cache (arm64's VM checks then found no virtio modules; a cache made before the
    # mark existed may be such a one, and is made again).
    rm -rf "$dir.part"
    mkdir -p "$dir.part"
    # The drivers of a virtio disk and keyboard and of ext4, with what they depend on.
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir.part" --wildcards \
      './lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/drivers/block/*' \
      './lib/modules/*/kernel/fs/*' './lib/modules/*/kernel/lib/*' \
      './lib/modules/*/kernel/crypto/*'
    touch "$dir.part/.whole"
    rm -rf "$dir"
    mv "$dir.part" "$dir"
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
    # armel's ARMv5 binary on the armhf kernel (see armhf), which runs it on the same CPU.
    armel) QEMU=(qemu-system-arm -M virt,highmem=off -cpu cortex-a15); console=ttyAMA0 ;;
    ppc64el) QEMU=(qemu-system-ppc64 -M pseries -cpu POWER9 -vga none); console=hvc0 ;;
    mips64el) QEMU=(qemu-system-mips64el -M malta -cpu 5KEc); console=ttyS0 ;;
    # OpenSBI (QEMU's default firmware for virt) starts the kernel.
    riscv64) QEMU=(qemu-system-riscv64 -M virt); console=ttyS0 ;;
    s390x) QEMU=(qemu-system-s390x -M s390-ccw-virtio); console=ttysclp0 ;;
  esac
  QEMU+=(-accel tcg -m 512 -smp 1 -nographic -no-reboot -net none
    -kernel "$2" -initrd "$3"
    -append "console=$console panic=-1 quiet $4")
}

# The command line of the check scripts, `[--dist DIR] [ARCH...]`: sets DIST (default dist/)
# and ARCHS (default: none; the script picks). With ALLOWED set to a list, only those
# architectures are taken.
parse_check_args() { # SCRIPT ARGS...
  local script=$1
  shift
  DIST=$ROOT/dist
  ARCHS=()
  while [ $# -gt 0 ]; do
    case $1 in
      --dist) [ $# -ge 2 ] && [ -n "$2" ] || die "--dist needs a directory"; DIST=$2; shift 2 ;;
      -h | --help) sed -n '2,/^set -euo/p' "$script" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
      -*) die "unknown option '$1' (see --help)" ;;
      *) triple_of "$1" >/dev/null || die "unknown architecture '$1' (known: ${ALL_ARCHS[*]})"
        [ -z "${ALLOWED:-}" ] || [[ " $ALLOWED " == *" $1 "* ]] ||
          die "architecture '$1' is not checked here (only: $ALLOWED)"
        ARCHS+=("$1"); shift ;;
    esac
  done
}
