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


def put_back(path, copy):
    """Make path hold what the file copy holds (a copy saved before a reboot stage), atomically and
    keeping path's mode; whether it held something else."""
    with open(copy, "rb") as handle:
        saved = handle.read()
    with open(path, "rb") as handle:
        now = handle.read()
    if now == saved:
        return False
    with open(path + ".poolcraft-tmp", "wb") as handle:
        handle.write(saved)
    shutil.copymode(path, path + ".poolcraft-tmp")
    os.rename(path + ".poolcraft-tmp", path)
    return True


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
