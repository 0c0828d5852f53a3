#!/usr/bin/env python3
"""Prints the kernel modules to load for NAME..., dependencies first, one path a line.

Reads each module's `depends=` field from its .modinfo strings, so no depmod (and no
modules.dep, which Debian's kernel packages do not ship) is needed. A name with no .ko
under DIR is taken to be built into the kernel and skipped.

Usage: kmods.py DIR NAME...   (DIR: an unpacked lib/modules/VERSION)
"""

import os
import re
import sys


def main():
    if len(sys.argv) < 3:
        print("usage: kmods.py DIR NAME...", file=sys.stderr)
        sys.exit(1)
    paths = {}
    for root, _, files in os.walk(sys.argv[1]):
        for f in files:
            if f.endswith(".ko"):
                paths[f[:-3].replace("-", "_")] = os.path.join(root, f)
    order = []

    def visit(name, trail):
        name = name.replace("-", "_")
        if name in order or name not in paths:
            return
        if name in trail:
            sys.exit(f"kmods.py: dependency loop at {name}")
        with open(paths[name], "rb") as f:
            m = re.search(rb"\0depends=([^\0]*)\0", f.read())
        for dep in (m.group(1).decode().split(",") if m and m.group(1) else []):
            visit(dep, trail + [name])
        order.append(name)

    for name in sys.argv[2:]:
        if name.replace("-", "_") not in paths:
            print(f"kmods.py: {name}: no module (built in?)", file=sys.stderr)
        visit(name, [])
    for name in order:
        print(paths[name])


if __name__ == "__main__":
    main()
