# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the VM scenarios (a plain module, so tests and the VM conftest import the one copy):
guest commands, disks left blank, configuration files put back, waiting for the boot."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import time

import pytest

import fingerprints
from system import run


def settle():
    run("udevadm", "settle", "--timeout=60")


def signatures(path):
    """What wipefs finds on path (type of each signature), sorted."""
    out = run("wipefs", "--no-act", "--json", path).strip()
    return sorted(entry["type"] for entry in (json.loads(out) if out else {}).get("signatures", []))


def assert_blank(path):
    """No signature (blkid -p, wipefs) and no kernel partition on the whole disk path."""
    settle()
    found = {"wipefs": signatures(path), "blkid": fingerprints.blkid(path), "partitions": fingerprints.partitions(path)}
    assert not any(found.values()), "%s is not blank: %r" % (path, found)


def wipe_disk(path):
    """Leave a disk of the test's blank: its partitions unmounted, swapped off and wiped, every
    signature of the disk erased (the kernel drops the partitions on the re-read), then asserted."""
    settle()
    disk = os.path.realpath(path)
    parts = ["/dev/%s" % name for name, _start, _size in fingerprints.partitions(disk)]
    for part in parts:
        for point in sorted((m[0] for m in fingerprints.mountinfo() if m[1] == part), key=len, reverse=True):
            run("umount", point, check=False)
        if fingerprints.swaps([part]):
            run("swapoff", part, check=False)
        run("wipefs", "--all", "--quiet", part, check=False)
    run("wipefs", "--all", "--quiet", disk)
    settle()
    if fingerprints.partitions(disk):
        run("partx", "--delete", disk, check=False)
        settle()
    assert_blank(disk)


class Saved(object):
    """A guest file the test overwrites (/etc/exports ...): restore() puts it back, or removes it when
    there was none."""

    def __init__(self, path):
        self.path = path
        self.old = None
        if os.path.exists(path):
            with open(path) as handle:
                self.old = handle.read()

    def write(self, text):
        with open(self.path, "w") as handle:
            handle.write(text)

    def restore(self):
        if self.old is None:
            if os.path.exists(self.path):
                os.remove(self.path)
        else:
            self.write(self.old)


FSTAB_MARKER = "# poolcraft.storage pool "


def _apart_from_others(data, own):
    """fstab data (bytes) as lines without the marked entries (marker and mount line) of pools other
    than own, and those entries: the reboot stages of several test files share /etc/fstab."""
    lines = data.decode("utf-8", "surrogateescape").split("\n")
    kept, others, index = [], [], 0
    while index < len(lines):
        line = lines[index]
        if line.startswith(FSTAB_MARKER) and line[len(FSTAB_MARKER):] != own:
            others.extend(lines[index:index + 2])
            index += 2
            continue
        kept.append(line)
        index += 1
    return kept, others


def put_back(path, copy, own):
    """Make path hold what the file copy holds (saved before a reboot stage), apart from the entries
    of other tests' pools, which stay as they are now; atomically, keeping path's mode. Whether it
    held something else."""
    with open(copy, "rb") as handle:
        saved, _theirs_then = _apart_from_others(handle.read(), own)
    with open(path, "rb") as handle:
        now, theirs = _apart_from_others(handle.read(), own)
    if now == saved:
        return False
    tail = [saved.pop()] if saved and saved[-1] == "" else []
    with open(path + ".poolcraft-tmp", "wb") as handle:
        handle.write("\n".join(saved + theirs + tail).encode("utf-8", "surrogateescape"))
    shutil.copymode(path, path + ".poolcraft-tmp")
    os.rename(path + ".poolcraft-tmp", path)
    return True


def same_apart_from_others(path, copy, own):
    """Whether path holds what copy holds, apart from the entries of other tests' pools."""
    with open(path, "rb") as now, open(copy, "rb") as saved:
        return _apart_from_others(now.read(), own)[0] == _apart_from_others(saved.read(), own)[0]


def boot_id():
    with open("/proc/sys/kernel/random/boot_id") as handle:
        return handle.read().strip()


def wait_booted(timeout=300):
    """Wait until systemd has finished the boot (SSH answers long before); its state word."""
    proc = subprocess.run(["timeout", str(timeout), "systemctl", "is-system-running", "--wait"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    return proc.stdout.strip()


def wait_for(predicate, timeout=60.0, what="a condition", interval=0.25):
    """Poll predicate() until it is true; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def sh(*argv, **kwargs):
    """A command of the test itself; its stdout, stripped. Fails the test on rc != 0 unless check=False."""
    check = kwargs.pop("check", True)
    proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          check=False, **kwargs)
    if check:
        assert proc.returncode == 0, "%s: rc %d: %s" % (" ".join(argv), proc.returncode, proc.stderr.strip())
    return proc.stdout.strip()


def is_blank(disk):
    """blkid -p finds nothing on disk (its exit code 2)."""
    return subprocess.run(["blkid", "--probe", disk], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          check=False).returncode == 2


class Holder(object):
    """A process of its own holding `path` open (as its stdin), ended by its PID."""

    def __init__(self, path):
        with open(path, "rb") as handle:
            self.proc = subprocess.Popen(["sleep", "300"], stdin=handle, stdout=subprocess.DEVNULL)

    def end(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=30)
