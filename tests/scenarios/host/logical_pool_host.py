# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the logical pool scenarios share (was storage_pool_logical's main, snapshot, four,
vol_four, refused, blank and cleanup task files). No tests of its own.

LVM runs with metadata only: the test's own lvm.conf (lvm_system: activation off, a filter that
accepts the test's loop devices only), so LVM never sees or touches anything else on the host;
each test checks that first. The fingerprint is the old snapshot.yml: the files under scratch but
the loop devices' images, each device's bytes (page cache flushed first: LVM writes with O_DIRECT),
and LVM's report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

import fingerprints
import harness

MIB = 1 << 20
EXTENT = 4 * MIB
# the old target's 320 MiB is what mkfs.xfs wants; the other cases take much less
SIZE = "32M"


def bytes_of(size):
    """Bytes of a size such as "32M"."""
    units = {"K": 1 << 10, "M": MIB, "G": 1 << 30}
    return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)


def extents(size):
    """Extents of 4 MiB in a PV on a device of size bytes (1 MiB of metadata first): 79 of 320 MiB."""
    return (size - MIB) // EXTENT


def flushed_device(path):
    # LVM writes with O_DIRECT: drop the page cache's copy first, or a stale one may be read
    subprocess.run(["blockdev", "--flushbufs", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return fingerprints.device(path)


def without_seqno(report):
    """An lvm fullreport without the VGs' sequence numbers: a metadata write and its undo (an LV made
    and removed again) leave everything else as it was. The old snapshot's pvs/vgs/lvs fields did
    not include it."""
    if "report" not in report:
        return report
    return [dict(vg_report, vg=[dict((key, value) for key, value in vg.items() if key != "vg_seqno")
                                for vg in vg_report.get("vg", [])])
            for vg_report in report["report"]]


class LogicalHost(object):
    """The test's loop devices, its LVM and store, and the old target's task files as methods."""

    def __init__(self, released, scratch, store, loop_device, lvm_system, sizes):
        # setup_poolcraft: root (the test attaches loop devices and writes to them)
        assert os.geteuid() == 0, "the logical pool scenarios need root"
        self.scratch = scratch
        self.store = store
        self.images = [os.path.join(scratch, "disk%d.img" % number) for number in range(1, len(sizes) + 1)]
        self.devs = [loop_device(size, name=os.path.basename(image)) for size, image in zip(sizes, self.images)]
        released.watch(scratch, zip(self.devs, self.images))
        self.lvm = lvm_system(self.devs)
        self.fingerprint = fingerprints.combine(
            files=lambda: fingerprints.tree(self.scratch, exclude=self.images),
            devices=lambda: dict((dev, flushed_device(dev)) for dev in self.devs),
            lvm=self.lvm.report,
        )
        self.assert_sees_only_own_devices()
        # every real run makes the store (its directories, its lock) if missing, a refused one too; the
        # old target's refusals all ran on a store its first tasks had made: so do these
        made = self.ok_pool(name="pcstore", state="absent")
        assert not made.changed and made.actions == [], dict(made)

    # -- main.yml: LVM sees the test's devices and nothing else ---------------------------------

    def assert_sees_only_own_devices(self):
        out = self.lvm.run("lvm", "lvmdiskscan")
        seen = sorted(line.split()[0] for line in out.splitlines() if line.strip().startswith("/dev/"))
        assert seen == sorted(self.devs), "LVM sees %r, the test's devices are %r" % (seen, self.devs)

    def run(self, *argv):
        """A command of the test itself, in the environment of the old target's tasks (the test's
        LVM_SYSTEM_DIR); its stdout. Fails on rc != 0."""
        return self.lvm.run(*argv)

    # -- module calls -------------------------------------------------------------------------

    def args(self, **args):
        return dict(self.store, **args)

    def pool(self, check=False, diff=False, **args):
        return harness.run_module("storage_pool", self.args(**args), check=check, diff=diff)

    def volume(self, check=False, diff=False, **args):
        return harness.run_module("storage_volume", self.args(**args), check=check, diff=diff)

    def ok_pool(self, **args):
        """A storage_pool task that must work (a plain task of the old target)."""
        result = self.pool(**args)
        assert not result.failed, "storage_pool %r: %s" % (args, result.msg)
        return result

    def ok_volume(self, **args):
        result = self.volume(**args)
        assert not result.failed, "storage_volume %r: %s" % (args, result.msg)
        return result

    def four(self, **args):
        """four.yml: check mode, real, again, check again; and the second run reports the same pool."""
        runs = harness.converge("storage_pool", self.args(**args), self.fingerprint)
        assert runs.again["pool"] == runs.real["pool"], "again %r, real %r" % (runs.again["pool"], runs.real["pool"])
        return runs

    def vol_four(self, **args):
        """vol_four.yml, for storage_volume; the second run reports the same volume."""
        runs = harness.converge("storage_volume", self.args(**args), self.fingerprint)
        assert runs.again["volume"] == runs.real["volume"], "again %r, real %r" % (runs.again["volume"], runs.real["volume"])
        return runs

    def refused(self, args, expect, new=True):
        """refused.yml: refused cleanly in check mode and for real, the host untouched, and (new) no
        pool defined. Returns the fingerprints taken before and after."""
        taken = []

        def fingerprint():
            taken.append(self.fingerprint())
            return taken[-1]
        harness.refused("storage_pool", self.args(**args), fingerprint, *expect)
        if new:
            defined = self.pool(check=True, name=args["name"], state="absent")
            assert not defined.failed and not defined.changed, "the refused task defined %s: %r" % (
                args["name"], dict(defined))
        return taken[0], taken[-1]

    # -- blank.yml ------------------------------------------------------------------------------

    def vgs(self):
        return [name.strip() for name in self.lvm.run("lvm", "vgs", "--noheadings", "-o", "vg_name").splitlines()
                if name.strip()]

    def blank(self):
        """No VG, no PV, no signature on the test's devices (LVM sees no VGs but the test's own)."""
        for vg in self.vgs():
            self.lvm.run("lvm", "vgremove", "--yes", "--force", vg)
        for dev in self.devs:
            self.lvm.run("wipefs", "--all", "--quiet", dev)
        for dev in self.devs:
            probe = subprocess.run(["blkid", "--probe", dev], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   universal_newlines=True, check=False)
            assert probe.returncode == 2, "blkid still finds on %s: %s" % (dev, probe.stdout.strip())

    # -- cleanup.yml ------------------------------------------------------------------------------

    def cleanup(self):
        """Undefine the pools left in the test's store, blank the devices (the fixtures detach them
        and remove scratch); fail if undefining failed."""
        names = set()
        for directory in (self.store["config_dir"], self.store["runtime_dir"]):
            for top, _dirs, files in os.walk(directory):
                names.update(name[:-len(".xml")] for name in files if name.endswith(".xml"))
        failed = []
        for name in sorted(names):
            result = self.pool(name=name, state="absent")
            if result.failed:
                failed.append(result.msg)
        self.blank()
        assert not failed, "clean up failed: pools %r" % failed


class Released(object):
    """The old cleanup's last checks, made after the shared fixtures' teardown: the loop devices no
    longer hold the test's images, and the scratch directory is gone."""

    def __init__(self):
        self.scratch = None
        self.devices = []

    def watch(self, scratch, devices):
        self.scratch = scratch
        self.devices.extend(devices)

    def check(self):
        held = [dev for dev, image in self.devices if backing_file(dev) == image]
        assert not held, "loop devices still attached to the test's images: %r" % held
        assert self.scratch is None or not os.path.exists(self.scratch), "%s was not removed" % self.scratch


def backing_file(dev):
    try:
        with open("/sys/block/%s/loop/backing_file" % os.path.basename(dev)) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


@pytest.fixture
def released():
    """Each test file takes it (released = common.released) and asks for it before scratch and the
    loop devices, so it is torn down after them and sees what they left."""
    watched = Released()
    yield watched
    watched.check()


def logical_host(released, scratch, store, loop_device, lvm_system, sizes=(SIZE, SIZE, SIZE)):
    """A LogicalHost, for a fixture of each test file (generator: it cleans up after the test)."""
    host = LogicalHost(released, scratch, store, loop_device, lvm_system, sizes)
    try:
        yield host
    finally:
        host.cleanup()
