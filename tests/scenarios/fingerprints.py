# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fingerprints of the storage a test owns, for converge() and the refusal checks.

Each function returns something comparable with ==; combine() joins several into one callable
that returns a dict, so a difference names the part that changed (files, device, lvm ...).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import stat
import subprocess


def combine(**parts):
    """One fingerprint callable from named callables: combine(files=lambda: tree(root), ...)."""
    def fingerprint():
        return dict((name, part()) for name, part in parts.items())
    return fingerprint


def tree(root, exclude=()):
    """Every entry under root: relative path, mode, owner, group, size, blocks, mtime, link target.
    A directory's size is left out (it depends on the entries' history, not on them). exclude:
    absolute paths to leave out, such as the image behind a mounted loop device."""
    root = str(root)
    excluded = set(str(path) for path in exclude)
    entries = []
    for top, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + names):
            path = os.path.join(top, name)
            if path in excluded:
                continue
            st = os.lstat(path)
            is_dir = stat.S_ISDIR(st.st_mode)
            entries.append("%s|%o|%d|%d|%d|%d|%d|%s" % (
                os.path.relpath(path, root), st.st_mode, st.st_uid, st.st_gid,
                0 if is_dir else st.st_size, 0 if is_dir else st.st_blocks, st.st_mtime_ns,
                os.readlink(path) if stat.S_ISLNK(st.st_mode) else ""))
    return entries


def digest(path):
    """sha256 of a file's or a whole device's bytes; None when it does not exist."""
    if not os.path.exists(path):
        return None
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def mountinfo():
    """(mount point, source, fstype, options) of every mount, octal escapes decoded."""
    mounts = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            sep = fields.index("-")
            point = fields[4].encode("latin-1").decode("unicode_escape")
            mounts.append((point, fields[sep + 2], fields[sep + 1], fields[5]))
    return mounts


def mounts(prefix, devices=()):
    """The mounts under prefix and those of the given devices, sorted."""
    prefix = str(prefix).rstrip("/") + "/"
    devices = set(devices)
    return sorted(" ".join(m) for m in mountinfo() if m[0].startswith(prefix) or m[1] in devices)


def is_mounted(device):
    return any(m[1] == device for m in mountinfo())


def swaps(devices):
    with open("/proc/swaps") as handle:
        return sorted(line.strip() for line in handle if line.split()[:1] and line.split()[0] in devices)


def device(path):
    """A device's bytes (sha256) while nothing mounts it, and what blkid -p finds on it."""
    return {
        "sha256": None if is_mounted(path) else digest(path),
        "blkid": blkid(path),
        "partitions": partitions(path),
    }


def blkid(path):
    proc = subprocess.run(["blkid", "--probe", "--output", "export", path], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, universal_newlines=True, check=False)
    return sorted(proc.stdout.splitlines())


def partitions(path):
    """The kernel's partitions of a whole device: (name, start, size) from sysfs."""
    name = os.path.basename(os.path.realpath(path))
    sysdir = os.path.join("/sys/class/block", name)
    found = []
    if not os.path.isdir(sysdir):
        return found
    for entry in sorted(os.listdir(sysdir)):
        part = os.path.join(sysdir, entry)
        if entry.startswith(name) and os.path.exists(os.path.join(part, "partition")):
            with open(os.path.join(part, "start")) as start, open(os.path.join(part, "size")) as size:
                found.append((entry, int(start.read()), int(size.read())))
    return found


def lvm_report(env=None):
    """`lvm fullreport` of the VGs, PVs and LVs LVM sees (with the test's LVM_SYSTEM_DIR)."""
    proc = subprocess.run(["lvm", "fullreport", "--reportformat", "json", "--units", "b", "--nosuffix"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env, check=False)
    if proc.returncode != 0:
        return {"rc": proc.returncode, "stderr": proc.stderr.strip()}
    return json.loads(proc.stdout)
