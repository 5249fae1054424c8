# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the fs pool scenarios share (from tests/integration/targets/storage_pool_fs: main.yml,
four.yml, refused.yml, snapshot.yml, blank.yml and cleanup.yml). It holds no test of its own.

fs_host(size): a blank loop device of the test's own (blank.yml: blkid finds nothing on it) and the
test's fstab in scratch, with the calls every scenario makes:
- host.pool(...): storage_pool with the test's store and fstab (the old target's module_defaults);
- host.converge(...): four.yml, harness.converge with snapshot.yml's fingerprint, plus "again.pool
  is real.pool but for the usage numbers";
- host.refused(args, *expect): refused.yml, harness.refused, plus "no pool was defined".
At the end (main.yml's always and cleanup.yml): swap on the device off, the pools left in the store
removed, the mounts under scratch unmounted, each of which must work, nothing left mounted, and the
host's /etc/fstab byte-identical to what it was before the test.

A test file uses the fixture with `fs_host = common.fs_host`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess

import pytest

import fingerprints
import harness
from system import run

HOST_FSTAB = "/etc/fstab"

# the usage numbers a mounted filesystem may change by itself between two runs
VOLATILE = ("allocation", "available", "capacity")

# the formats libvirt's storagepool.rng allows in an fs pool's <format type=...>; a definition with
# another (btrfs) cannot be checked against the schema
LIBVIRT_FS_FORMATS = ("auto", "ext2", "ext3", "ext4", "ufs", "iso9660", "udf", "gfs", "gfs2", "vfat", "hfs+", "xfs",
                      "ocfs2", "vmfs")


class Recording(object):
    """A fingerprint callable that keeps what it returned since the last clear()."""

    def __init__(self, fingerprint):
        self.fingerprint = fingerprint
        self.taken = []

    def __call__(self):
        snap = self.fingerprint()
        self.taken.append(snap)
        return snap

    def clear(self):
        self.taken = []


class Refusal(object):
    """A refused task: the real run's result, and the snapshots before and after."""

    def __init__(self, result, before, after):
        self.result = result
        self.before = before
        self.after = after


class FsHost(object):
    def __init__(self, scratch, store, device, image):
        self.scratch = scratch
        self.store = store
        self.dev = device
        self.image = image
        self.fstab = os.path.join(scratch, "fstab")
        self.mnt = os.path.join(scratch, "mnt")
        os.makedirs(self.mnt, mode=0o755)
        # snapshot.yml: files under scratch but the image behind the loop device (a mounted
        # filesystem may write to it by itself), the mounts under scratch and of the device, the
        # device in /proc/swaps, the test's fstab, the device's bytes while unmounted, blkid -p
        self.snapshot = Recording(fingerprints.combine(
            files=lambda: fingerprints.tree(scratch, exclude=[image]),
            mounts=lambda: fingerprints.mounts(scratch, [device]),
            swaps=lambda: fingerprints.swaps([device]),
            fstab=lambda: fingerprints.digest(self.fstab),
            device=lambda: fingerprints.device(device),
        ))

    def args(self, **args):
        return dict(self.store, fstab=self.fstab, **args)

    def pool(self, check=False, diff=False, **args):
        return harness.run_module("storage_pool", self.args(**args), check=check, diff=diff)

    def volume(self, **args):
        return harness.run_module("storage_volume", dict(self.store, **args))

    def converge(self, **args):
        """four.yml: check mode, for real, again, check mode again; .before is the snapshot before."""
        self.snapshot.clear()
        done = harness.converge("storage_pool", self.args(**args), self.snapshot)
        done.before = self.snapshot.taken[0]
        # the same pool, but for the usage numbers a mounted filesystem may change by itself
        assert without_usage(done.again["pool"]) == without_usage(done.real["pool"]), (done.real["pool"], done.again["pool"])
        return done

    def refused(self, args, *expect, **kwargs):
        """refused.yml: refused cleanly (check mode and for real, or for real only with check=False),
        nothing changed, and (new=True, the default) no pool defined."""
        self.snapshot.clear()
        result = harness.refused("storage_pool", self.args(**args), self.snapshot, *expect, check=kwargs.get("check", True))
        before, after = self.snapshot.taken[0], self.snapshot.taken[-1]
        if kwargs.get("new", True):
            defined = self.pool(check=True, name=args["name"], state="absent")
            assert not defined.failed and not defined.changed, "refused, yet defined: %r" % (defined.actions,)
        return Refusal(result, before, after)

    def clean_up(self):
        """cleanup.yml: each step whatever the one before did; fails if any failed."""
        problems = []
        if fingerprints.swaps([self.dev]):
            proc = subprocess.run(["swapoff", self.dev], stderr=subprocess.PIPE, universal_newlines=True, check=False)
            if proc.returncode != 0:
                problems.append("swapoff: %s" % proc.stderr.strip())
        names = set()
        for directory in (self.store["config_dir"], self.store["runtime_dir"]):
            if os.path.isdir(directory):
                names.update(name[:-4] for name in os.listdir(directory) if name.endswith(".xml"))
        for name in sorted(names):
            result = self.pool(name=name, state="absent")
            if result.failed:
                problems.append("pool %s: %s" % (name, result.msg))
        prefix = self.scratch.rstrip("/") + "/"
        points = sorted((m[0] for m in fingerprints.mountinfo() if m[0].startswith(prefix)), key=len, reverse=True)
        for point in points:
            proc = subprocess.run(["umount", point], stderr=subprocess.PIPE, universal_newlines=True, check=False)
            if proc.returncode != 0:
                problems.append("umount %s: %s" % (point, proc.stderr.strip()))
        left = [m[0] for m in fingerprints.mountinfo() if m[0].startswith(prefix)]
        assert not problems and not left, "clean up failed: %r; still mounted %r" % (problems, left)


def without_usage(pool):
    return dict((key, value) for key, value in pool.items() if key not in VOLATILE)


def host_fstab():
    return os.path.exists(HOST_FSTAB), fingerprints.digest(HOST_FSTAB)


def blkid(device):
    """What blkid -p finds on device, as a dict (TYPE, UUID, USAGE, ...)."""
    return dict(line.split("=", 1) for line in fingerprints.blkid(device))


def is_blank(device):
    """blank.yml's test: blkid -p finds nothing (rc 2)."""
    return subprocess.run(["blkid", "--probe", device], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          check=False).returncode == 2


def wipefs_types(device):
    """The signatures wipefs finds, by type, in its order."""
    found = json.loads(run("wipefs", "--no-act", "--json", "--output", "TYPE", device) or '{"signatures": []}')
    return [sig["type"] for sig in found.get("signatures", [])]


def mounted_on(point):
    """[source, fstype] of what is mounted on point (the top mount), or None: findmnt --mountpoint."""
    found = [[m[1], m[2]] for m in fingerprints.mountinfo() if m[0] == point]
    return found[-1] if found else None


def mount_options(point):
    """Every option of the top mount on point, its own and its filesystem's: findmnt --output OPTIONS."""
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            sep = fields.index("-")
            if fields[4].encode("latin-1").decode("unicode_escape") == point:
                found = fields[5].split(",") + fields[sep + 3].split(",")
    return found


def filesystem_of(path):
    """The source of the mount that holds path: findmnt --target."""
    path = os.path.realpath(path)
    best = None
    for point, source, _fstype, _options in fingerprints.mountinfo():
        if path == point or path.startswith(point.rstrip("/") + "/"):
            if best is None or len(point) >= len(best[0]):
                best = (point, source)
    return best[1] if best else None


@pytest.fixture
def fs_host(scratch, store, loop_device):
    """fs_host(size="320M"): an FsHost over a blank loop device of the test's own."""
    # setup_poolcraft: root is needed (devices, mounts, swap)
    assert os.geteuid() == 0, "the fs pool scenarios need root"
    fstab_before = host_fstab()
    hosts = []

    def make(size="320M"):
        image = os.path.join(scratch, "disk.img")
        device = loop_device(size, name="disk.img")
        assert is_blank(device), "%s is not blank: %r" % (device, fingerprints.blkid(device))
        host = FsHost(scratch, store, device, image)
        hosts.append(host)
        # a real run makes the store (its directories and lock) even when it refuses; the old target
        # ran its refusals on a store earlier scenarios had made, so these do too
        made = host.pool(name="fs-no-such-pool", state="absent")
        assert not made.failed and not made.changed, dict(made)
        return host

    try:
        yield make
    finally:
        try:
            for host in hosts:
                host.clean_up()
        finally:
            # main.yml: the host's /etc/fstab is byte-identical to what it was before the test
            assert host_fstab() == fstab_before, "/etc/fstab changed during the test: %r -> %r" % (
                fstab_before, host_fstab())
