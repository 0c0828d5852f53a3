#!/usr/bin/env python3
"""Writes an uncompressed initramfs (cpio "newc") from a list of entries, as any user.

Device nodes such as /dev/console are written as cpio headers, so no mknod (and no root) is
needed; owners are 0:0 and times 0, so the archive depends only on its entries.

Usage: initramfs.py OUT ENTRY...
  dir:/PATH                 a directory (0755)
  file:/PATH=SOURCE[:MODE]  a regular file copied from SOURCE (MODE in octal, default 0644)
  link:/PATH=TARGET         a symbolic link
  char:/PATH=MAJOR,MINOR    a character device (0600)
  tree:DIR                  every directory, regular file and symbolic link under DIR, at
                            the same path under / (modes kept; device nodes left out)
"""

import os
import stat
import sys


def fail(msg):
    print(f"initramfs.py: {msg}", file=sys.stderr)
    sys.exit(1)


def pad4(n):
    return b"\0" * (-n % 4)


def record(ino, mode, name, data=b"", rdev=(0, 0)):
    name_b = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
    header = b"070701" + b"".join(b"%08X" % f for f in fields)
    return header + name_b + pad4(len(header) + len(name_b)) + data + pad4(len(data))


def parse(entry):
    kind, sep, rest = entry.partition(":")
    if not sep or kind not in ("dir", "file", "link", "char"):
        fail(f"bad entry '{entry}' (expected dir:, file:, link: or char:)")
    path, _, value = rest.partition("=")
    if not path.startswith("/") or path == "/":
        fail(f"bad path in '{entry}'")
    name = path.lstrip("/")
    if kind == "dir":
        return name, stat.S_IFDIR | 0o755, b"", (0, 0)
    if kind == "link":
        if not value:
            fail(f"no link target in '{entry}'")
        return name, stat.S_IFLNK | 0o777, value.encode(), (0, 0)
    if kind == "char":
        try:
            major, minor = (int(x) for x in value.split(","))
        except ValueError:
            fail(f"bad device numbers in '{entry}'")
        return name, stat.S_IFCHR | 0o600, b"", (major, minor)
    source, _, mode = value.partition(":")
    try:
        with open(source, "rb") as f:
            data = f.read()
    except OSError as e:
        fail(f"cannot read {source}: {e.strerror}")
    try:
        perm = int(mode or "644", 8)
    except ValueError:
        fail(f"bad mode in '{entry}'")
    return name, stat.S_IFREG | perm, data, (0, 0)


def tree(top):
    """The records of tree:DIR, parents before children, in a stable order."""
    if not os.path.isdir(top):
        fail(f"tree: {top} is not a directory")
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, top)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                yield rel, stat.S_IFLNK | 0o777, os.readlink(path).encode(), (0, 0)
            elif stat.S_ISDIR(st.st_mode):
                yield rel, stat.S_IFDIR | stat.S_IMODE(st.st_mode), b"", (0, 0)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    yield rel, stat.S_IFREG | stat.S_IMODE(st.st_mode), f.read(), (0, 0)


def main():
    if len(sys.argv) < 3:
        fail("usage: initramfs.py OUT ENTRY...")
    out = bytearray()
    ino = 0
    for entry in sys.argv[2:]:
        items = tree(entry[5:]) if entry.startswith("tree:") else [parse(entry)]
        for name, mode, data, rdev in items:
            ino += 1
            out += record(ino, mode, name, data, rdev)
    out += record(0, 0, "TRAILER!!!")
    with open(sys.argv[1], "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
