# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""logical pools in the test VM, with LVM activation, on the guest's blank vmdisk1 and vmdisk2
(blank again at the end); the port of the integration target storage_pool_logical_vm.

- thick pool on disk 1: build, activation, autostart as LVM autoactivation; a volume used for I/O,
  grown and shrunk with its data kept; a snapshot (thick: copy-on-write space as capacity) that
  keeps the old data; a clone (a copy); stop refused while a volume is open, then stop and start;
  wipe before delete, proven on the extents the next LV gets;
- thin pool on disk 2: thin volumes larger than the pool, a thin snapshot, thin pool growth by
  build, and wipe refused where it would overfill it.

LVM runs with the guest's own configuration (the guest is the test's): activation is what is tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import stat

import pytest

import fingerprints
import harness
from guest import Holder, is_blank, sh

MIB = 1 << 20


def lvs(lv, field):
    return sh("lvm", "lvs", "--noheadings", "-o", field, lv).replace(" ", "")


def head(path, size=MIB):
    """sha256 of the first `size` bytes; LVM writes with O_DIRECT, so the page cache is dropped first."""
    sh("blockdev", "--flushbufs", path)
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read(size)).hexdigest()


def lvm_state():
    """LVM's full report of what it sees, without the use percentages: the kernel's thin pool
    metadata use moves by itself (what the target's state.py compared, and more)."""
    report = fingerprints.lvm_report()
    for section in report.get("report", []):
        for rows in section.values():
            for row in rows:
                for key in [key for key in row if key.endswith("_percent")]:
                    del row[key]
    return report


def lv_digest(path):
    """sha256 of a whole LV while it exists (None when it does not)."""
    if not os.path.exists(path):
        return None
    sh("blockdev", "--flushbufs", path)
    return fingerprints.digest(path)


def write_random(path, mib):
    sh("dd", "if=/dev/urandom", "of=%s" % path, "bs=1M", "count=%d" % mib, "oflag=direct", "status=none")


def is_block(path):
    return os.path.exists(path) and stat.S_ISBLK(os.stat(path).st_mode)


@pytest.fixture
def disks(vm_disk, monkeypatch):
    """vmdisk1 and vmdisk2, blank; blank again after the test whatever it did to them."""
    monkeypatch.setenv("LVM_SUPPRESS_FD_WARNINGS", "1")
    pair = [vm_disk(1), vm_disk(2)]
    for disk in pair:
        assert is_blank(disk), "%s is not blank" % disk
    yield pair
    for vg in ("pcthick", "pcthin"):
        if sh("lvm", "vgs", vg, check=False):
            sh("lvm", "vgchange", "--activate", "n", vg, check=False)
            sh("lvm", "vgremove", "--yes", "--force", vg, check=False)
    for disk in pair:
        sh("lvm", "pvremove", disk, check=False)
        sh("wipefs", "--all", "--quiet", disk, check=False)
    sh("udevadm", "settle", check=False)
    left = [disk for disk in pair if not is_blank(disk)]
    assert not left, "not blank after the test: %s" % left


class Scenario(object):
    """The test's store, disks and holders; the module calls of the scenario."""

    def __init__(self, disks, store):
        self.disks = disks
        self.store = store
        self.holders = []

    def args(self, **args):
        return dict(self.store, **args)

    def state(self, **extra):
        """What a task could change: the disks' first MiB (LVM's metadata), LVM's report, the store;
        extra: more parts (an LV's bytes)."""
        parts = dict(disks=lambda: [head(disk) for disk in self.disks], lvm=lvm_state,
                     store=lambda: fingerprints.tree(os.path.dirname(self.store["config_dir"])))
        parts.update(extra)
        return fingerprints.combine(**parts)

    def pool(self, **args):
        return harness.converge("storage_pool", self.args(**args), self.state())

    def volume(self, fingerprint=None, **args):
        return harness.converge("storage_volume", self.args(**args), fingerprint or self.state())

    def call(self, module, **args):
        result = harness.run_module(module, self.args(**args))
        assert not result.failed, "%s %r: %s" % (module, args, result.msg)
        return result


def test_logical_pools_with_activation(disks, store):
    sc = Scenario(disks, store)
    try:
        thick(sc, disks[0])
        thin(sc, disks[1])
    finally:
        for holder in sc.holders:
            holder.end()


def thick(sc, disk):
    dev = os.path.realpath(disk)
    run = sc.pool(name="pcthick", type="logical", source={"devices": [disk]}, build=True, state="running", autostart=True).real
    assert run.actions == [
        "define pool 'pcthick' (logical, persistent)",
        "enable autostart of pool 'pcthick'",
        "build pool 'pcthick' (make %s a physical volume; create volume group pcthick on %s (LVM autoactivation on))"
        % (dev, dev),
        "start pool 'pcthick'",
    ], run.actions
    assert run["pool"]["state"] == "running"
    assert run["pool"]["autostart"]
    assert run["pool"]["capacity"] > 1000 * MIB

    # a volume used for I/O, grown and shrunk with its data kept
    sc.volume(pool="pcthick", name="data", capacity="20MiB")
    assert is_block("/dev/pcthick/data")
    assert sh("lvm", "vgs", "--noheadings", "-o", "vg_autoactivation", "pcthick") == "enabled"
    write_random("/dev/pcthick/data", 8)
    old = head("/dev/pcthick/data", 8 * MIB)
    sc.volume(pool="pcthick", name="data", capacity="40MiB")
    sc.volume(pool="pcthick", name="data", capacity="20MiB", shrink=True)

    # a thick snapshot keeps the old data while the origin gets new
    run = sc.volume(pool="pcthick", name="datasnap", capacity="8MiB", backing_store={"pool": "pcthick", "name": "data"}).real
    assert int(sh("blockdev", "--getsize64", "/dev/pcthick/data")) == 20 * MIB
    assert head("/dev/pcthick/data", 8 * MIB) == old
    # 4 MiB: the 8 MiB of copy-on-write space also hold the snapshot's own metadata
    write_random("/dev/pcthick/data", 4)
    assert head("/dev/pcthick/data", 8 * MIB) != old
    assert head("/dev/pcthick/datasnap", 8 * MIB) == old
    assert lvs("pcthick/datasnap", "origin") == "data"
    assert run.actions == ["create raw volume 'datasnap' as an overlay on /dev/pcthick/data"], run.actions
    assert run["volume"]["backing_chain"] == [{"path": "/dev/pcthick/data", "format": "raw"}]
    assert run["volume"]["capacity"] == 8 * MIB
    assert run["volume"]["allocation"] < 8 * MIB

    # a clone: a copy, byte for byte
    run = sc.volume(pool="pcthick", name="copy", clone_from={"pool": "pcthick", "name": "data"}).real
    assert lv_digest("/dev/pcthick/copy") == lv_digest("/dev/pcthick/data")
    assert run["clone_method"] == "copy"
    assert run["volume"]["capacity"] == 20 * MIB

    # stop and delete: refused while a volume is open (in a process of its own), then done
    holder = Holder("/dev/pcthick/data")
    sc.holders.append(holder)
    # refused while planning: check mode says what the real run says
    harness.refused("storage_pool", sc.args(name="pcthick", state="stopped"), sc.state(),
                    "'pcthick'", "logical volumes data of volume group pcthick are open")
    # and so is deleting an open volume, in check mode as for real
    copy_holder = Holder("/dev/pcthick/copy")
    sc.holders.append(copy_holder)
    harness.refused("storage_volume", sc.args(pool="pcthick", name="copy", state="absent"),
                    sc.state(copy=lambda: lv_digest("/dev/pcthick/copy")), "'copy'", "is open; refusing to delete it")
    holder.end()
    copy_holder.end()
    sc.pool(name="pcthick", state="stopped")
    assert lvs("pcthick", "lv_active") == ""
    assert not os.path.exists("/dev/pcthick/data")
    assert sc.call("storage_pool", name="pcthick", state="running").changed
    assert is_block("/dev/pcthick/data")

    # wipe before delete, proven on the extents the next LV gets
    extents = lvs("pcthick/copy", "seg_pe_ranges")
    sc.volume(sc.state(copy=lambda: lv_digest("/dev/pcthick/copy")), pool="pcthick", name="copy", state="absent", wipe="zero")
    sc.call("storage_volume", pool="pcthick", name="fresh", capacity="20MiB")
    assert lvs("pcthick/fresh", "seg_pe_ranges") == extents
    sh("blockdev", "--flushbufs", "/dev/pcthick/fresh")
    with open("/dev/pcthick/fresh", "rb") as handle:
        assert handle.read(20 * MIB) == bytes(20 * MIB), "the new LV on the wiped extents holds more than zeros"

    for name in ("datasnap", "data", "fresh"):
        sc.call("storage_volume", pool="pcthick", name=name, state="absent")
    sc.pool(name="pcthick", state="absent", purge=True)
    assert is_blank(disk), "%s holds something after the purge" % disk


def thin(sc, disk):
    dev = os.path.realpath(disk)
    run = sc.pool(name="pcthin", type="logical", source={"devices": [disk]}, thin_pool={"name": "tp", "size": "64MiB"},
                  build=True, state="running").real
    assert run.actions[1].endswith(
        "create volume group pcthin on %s (LVM autoactivation off); create thin pool tp of 64.0 MiB in pcthin)" % dev), run.actions
    assert run["pool"]["thin_pool"] == {"name": "tp", "size": 64 * MIB}
    assert run["pool"]["volume_count"] == 0
    assert "poolcraft:thin_pool" in run["pool"]["xml"]

    # a thin volume four times the size of the thin pool, and a thin snapshot of it
    sc.volume(pool="pcthin", name="t1", capacity="256MiB")
    assert sh("lvm", "lvs", "--noheadings", "-o", "pool_lv,lv_layout", "pcthin/t1").split() == ["tp", "thin,sparse"]
    write_random("/dev/pcthin/t1", 4)
    data = head("/dev/pcthin/t1", 4 * MIB)
    run = sc.volume(pool="pcthin", name="t1snap", backing_store={"pool": "pcthin", "name": "t1"}).real
    listed = sc.call("storage_pool", name="pcthin", list_volumes=True)
    assert head("/dev/pcthin/t1snap", 4 * MIB) == data
    assert sh("lvm", "lvs", "--noheadings", "-o", "origin,pool_lv", "pcthin/t1snap").split() == ["t1", "tp"]
    vols = dict((vol["name"], vol) for vol in listed["pool"]["volumes"])
    assert [vol["name"] for vol in listed["pool"]["volumes"]] == ["t1", "t1snap"]
    assert vols["t1"]["capacity"] == 256 * MIB
    # LVM reports a thin LV's use as a percentage with two decimals: 4 MiB of 256 MiB is 1.56 %
    assert 0.99 * 4 * MIB <= vols["t1"]["allocation"] < 16 * MIB, vols["t1"]
    assert vols["t1snap"]["capacity"] == 256 * MIB
    assert vols["t1snap"]["backing_chain"] == [{"path": "/dev/pcthin/t1", "format": "raw"}]
    assert run.actions == ["create raw volume 't1snap' as an overlay on /dev/pcthin/t1"], run.actions

    # the thin pool grows by build; the thin volume grows
    run = sc.pool(name="pcthin", thin_pool={"name": "tp", "size": "96MiB"}, build=True).real
    assert run.actions == ["update definition of pool 'pcthin' (thin_pool)",
                           "build pool 'pcthin' (grow thin pool tp from 64.0 MiB to 96.0 MiB)"], run.actions
    sc.volume(pool="pcthin", name="t1", capacity="300MiB")

    # a wipe that would overfill the thin pool is refused, the volume kept
    # refused while planning: check mode says what the real run says
    harness.refused("storage_volume", sc.args(pool="pcthin", name="t1snap", state="absent", wipe="zero"),
                    sc.state(snap=lambda: lv_digest("/dev/pcthin/t1snap")),
                    "wiping /dev/pcthin/t1snap would write", "into thin pool tp", "nothing was deleted")

    for name in ("t1snap", "t1"):
        sc.call("storage_volume", pool="pcthin", name=name, state="absent")
    sc.pool(name="pcthin", state="absent", purge=True)
    assert is_blank(disk), "%s holds something after the purge" % disk
