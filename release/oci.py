#!/usr/bin/env python3
"""Writes an OCI image layout holding one FROM-scratch image per architecture.

Each image has a single layer with one file, /tini-rs (mode 0755, owner 0:0). The images
are gathered in an OCI image index, which the layout's index.json names with the version
(org.opencontainers.image.ref.name), so that `skopeo copy oci:LAYOUT:VERSION ...` copies the
whole set, or the instance of the host's platform where the destination takes only one.
Every byte follows from the binaries, the version, the commit and its time: the output is
reproducible.

Usage: oci.py --version V --revision SHA --epoch SECONDS --layout DIR [--archive FILE]
              ARCH=BINARY...
ARCH is a Debian architecture name (amd64, arm64, armel, armhf, i386, mips64el, ppc64el,
riscv64, s390x).
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import time

# Debian architecture -> OCI platform (architecture, variant).
PLATFORMS = {
    "amd64": ("amd64", None),
    "arm64": ("arm64", "v8"),
    "armel": ("arm", "v5"),
    "armhf": ("arm", "v7"),
    "i386": ("386", None),
    "mips64el": ("mips64le", None),
    "ppc64el": ("ppc64le", None),
    "riscv64": ("riscv64", None),
    "s390x": ("s390x", None),
}

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def fail(msg):
    print(f"oci.py: {msg}", file=sys.stderr)
    sys.exit(1)


class Layout:
    """Blobs written by digest under DIR/blobs/sha256."""

    def __init__(self, root):
        self.root = root
        os.makedirs(os.path.join(root, "blobs", "sha256"))

    def put(self, media_type, data, **extra):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.root, "blobs", "sha256", digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data), **extra}


def as_json(obj):
    return json.dumps(obj, indent=2).encode() + b"\n"


def layer_tar(binary, epoch):
    """An uncompressed tar with /tini-rs alone."""
    with open(binary, "rb") as f:
        data = f.read()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("tini-rs")
        info.size = len(data)
        info.mode = 0o755
        info.mtime = epoch
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image(layout, arch, binary, args, created):
    architecture, variant = PLATFORMS[arch]
    tar = layer_tar(binary, args.epoch)
    layer = layout.put(LAYER, gzip.compress(tar, compresslevel=9, mtime=0))
    config = {
        "created": created,
        "architecture": architecture,
        **({"variant": variant} if variant else {}),
        "os": "linux",
        "config": {
            # Running the image itself only names the version; it is meant for COPY --from.
            "Entrypoint": ["/tini-rs"],
            "Cmd": ["--version"],
            "Labels": {
                "org.opencontainers.image.title": "tini-rs",
                "org.opencontainers.image.version": args.version,
                "org.opencontainers.image.revision": args.revision,
            },
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
        "history": [{"created": created, "created_by": f"COPY tini-rs-{arch} /tini-rs"}],
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": layout.put(CONFIG, as_json(config)),
        "layers": [layer],
        "annotations": {
            "org.opencontainers.image.created": created,
            "org.opencontainers.image.version": args.version,
            "org.opencontainers.image.revision": args.revision,
        },
    }
    platform = {"architecture": architecture, "os": "linux"}
    if variant:
        platform["variant"] = variant
    return layout.put(MANIFEST, as_json(manifest), platform=platform)


def archive(layout_dir, path, epoch):
    """The layout as one tar (skopeo's oci-archive: transport), entries sorted, times fixed."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(layout_dir):
        dirnames.sort()
        rel = os.path.relpath(dirpath, layout_dir)
        if rel != ".":
            entries.append(rel)
        entries.extend(os.path.normpath(os.path.join(rel, f)) for f in sorted(filenames))
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for rel in sorted(entries):
            full = os.path.join(layout_dir, rel)
            info = tar.gettarinfo(full, arcname=rel)
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o755 if info.isdir() else 0o644
            if info.isfile():
                with open(full, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)


class Parser(argparse.ArgumentParser):
    """Bad arguments: one line and exit 1, as every release script does."""

    def error(self, message):
        fail(message)


def main():
    p = Parser(description="Write the tini-rs OCI image layout.")
    p.add_argument("--version", required=True)
    p.add_argument("--revision", required=True)
    p.add_argument("--epoch", type=int, required=True)
    p.add_argument("--layout", required=True)
    p.add_argument("--archive")
    p.add_argument("images", nargs="+", metavar="ARCH=BINARY")
    args = p.parse_args()

    pairs = []
    for item in args.images:
        arch, sep, binary = item.partition("=")
        if not sep or arch not in PLATFORMS:
            fail(f"bad image '{item}': expected ARCH=BINARY with ARCH one of {', '.join(PLATFORMS)}")
        if not os.path.isfile(binary):
            fail(f"no binary at {binary}")
        pairs.append((arch, binary))

    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(args.epoch))
    if os.path.exists(args.layout):
        shutil.rmtree(args.layout)
    layout = Layout(args.layout)
    manifests = [image(layout, arch, binary, args, created) for arch, binary in pairs]
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}
    top = layout.put(
        INDEX,
        as_json(index),
        annotations={"org.opencontainers.image.ref.name": args.version},
    )
    with open(os.path.join(args.layout, "index.json"), "wb") as f:
        f.write(as_json({"schemaVersion": 2, "mediaType": INDEX, "manifests": [top]}))
    with open(os.path.join(args.layout, "oci-layout"), "wb") as f:
        f.write(as_json({"imageLayoutVersion": "1.0.0"}))
    for dirpath, _, filenames in os.walk(args.layout):
        for name in filenames + [""]:
            os.utime(os.path.join(dirpath, name), (args.epoch, args.epoch))
    if args.archive:
        archive(args.layout, args.archive, args.epoch)
        os.utime(args.archive, (args.epoch, args.epoch))
    for (arch, _), m in zip(pairs, manifests):
        print(f"{arch:8} {m['platform']['architecture']:8} {m['digest']}")
    print(f"index {args.version}: {top['digest']}")


if __name__ == "__main__":
    main()
