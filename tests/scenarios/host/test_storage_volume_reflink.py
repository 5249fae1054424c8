# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume clone_from on real filesystems (was the storage_volume_reflink target), each made
on a loop device of the test's own and mounted under its scratch directory:

- xfs and btrfs: a same-format clone is a reflink (instant, shares extents, takes next to no
  space); a clone that converts is a sparse copy;
- ext4: a same-format clone falls back to a sparse copy.

Each clone runs in check mode, for real (timed, with the filesystem's used space taken before
and after), again, and in check mode again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time

import pytest

import fingerprints
import harness
from system import run

MIB = 1 << 20
# the volumes cloned (half the old target's sizes: the proofs hold, the hashing and copying halve):
VOLUME_BYTES = 128 * MIB  # this capacity,
DATA_BYTES = 32 * MIB  # this much random data,
DATA_SEEK = 8 * MIB  # written from here on, so the source has holes before and after it
MAX_GROWTH = 8 * MIB  # a reflink clone may take this much new space (metadata), far below the data's size
# seconds a reflink clone of DATA_BYTES may take: the real run's time less that of the same call
# with nothing to do
MAX_SECONDS = 2.0
TEMP_PREFIX = ".poolcraft-tmp-"

FILESYSTEMS = [
    # name, mkfs (mkfs.xfs wants 300 MiB at least), whether a same-format clone must share extents
    ("xfs", ["mkfs.xfs", "-q", "-f", "-m", "reflink=1"], True),
    ("btrfs", ["mkfs.btrfs", "-q", "-f"], True),
    ("ext4", ["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"], False),
]


class Filesystem(object):
    """A dir pool on a freshly made filesystem, and the clone scenario's steps on it."""

    def __init__(self, name, reflink, scratch, store, image):
        self.name = name
        self.reflink = reflink
        self.method = "reflink" if reflink else "copy"
        self.scratch = scratch
        self.store = store
        self.image = image
        self.mnt = os.path.join(scratch, "mnt-" + name)
        self.pool = "reflink-" + name
        self.pool_dir = os.path.join(self.mnt, "images")

    def volume(self, check=False, diff=False, **args):
        return harness.run_module("storage_volume", dict(self.store, pool=self.pool, **args), check=check, diff=diff)

    def storage_pool(self, **args):
        return harness.run_module("storage_pool", dict(self.store, name=self.pool, **args))

    def fingerprint(self):
        # everything under scratch (the store, the mounted filesystem) but the loop device's file
        return {"files": fingerprints.tree(self.scratch, exclude=(self.image,))}

    def used(self):
        """Bytes the filesystem uses, once flushed (df's Used)."""
        run("sync", "--file-system", self.mnt)
        st = os.statvfs(self.mnt)
        return (st.f_blocks - st.f_bfree) * st.f_frsize

    def temporaries(self):
        return sorted(name for name in os.listdir(self.pool_dir) if name.startswith(TEMP_PREFIX))

    def clone(self, name, source, fmt=None):
        """clone.yml: one clone, four times. Returns (result of the real run, bytes the filesystem
        gained, seconds of the real run beyond a call with nothing to do)."""
        args = dict(name=name, clone_from={"pool": self.pool, "name": source})
        if fmt:
            args["format"] = fmt
        case = "%s %s" % (self.name, name)

        before = self.fingerprint()
        check = self.volume(check=True, diff=True, **args)
        assert not check.failed and check.changed, "%s: check mode: %r" % (case, dict(check))
        assert len(check.actions) == 1 and check.actions[0].startswith("clone "), check.actions
        assert "clone_method" not in check, dict(check)
        assert check["volume"]["state"] == "absent"
        # check mode makes nothing: no clone, no temporary, nothing else changed either
        assert not os.path.lexists(os.path.join(self.pool_dir, name)) and self.temporaries() == []
        harness.assert_unchanged(self.fingerprint, before, "%s in check mode" % case)

        used = self.used()
        started = time.monotonic()
        made = self.volume(**args)
        seconds = time.monotonic() - started
        growth = self.used() - used
        assert not made.failed and made.changed, "%s: %r" % (case, dict(made))
        assert made.actions == check.actions
        assert made["clone_method"] in ("reflink", "copy")
        assert made["volume"]["state"] == "present"
        assert made["volume"]["name"] == name
        assert made["volume"]["path"] == os.path.join(self.pool_dir, name)

        started = time.monotonic()
        again = self.volume(**args)
        noop = time.monotonic() - started
        recheck = self.volume(check=True, diff=True, **args)
        # an existing clone is left alone
        for result in (again, recheck):
            assert not result.failed and not result.changed and result.actions == [], "%s: %r" % (case, dict(result))
            assert "clone_method" not in result, dict(result)
            assert result["volume"]["state"] == "present"
            assert result["volume"]["capacity"] == made["volume"]["capacity"]
            assert result["volume"]["format"] == made["volume"]["format"]
        assert recheck["diff"]["before"] == recheck["diff"]["after"]
        return made, growth, max(seconds - noop, 0.0)


@pytest.mark.parametrize("name, mkfs, reflink", FILESYSTEMS, ids=[fs[0] for fs in FILESYSTEMS])
def test_clone(scratch, store, loop_device, name, mkfs, reflink):
    device = loop_device("512M", name=name + ".img")
    fs = Filesystem(name, reflink, scratch, store, os.path.join(scratch, name + ".img"))
    run(*(mkfs + [device]))
    os.mkdir(fs.mnt, 0o755)
    run("mount", "-t", name, device, fs.mnt)
    try:
        scenario(fs)
        removed = fs.storage_pool(state="absent")  # stop and undefine the pool
        assert not removed.failed, removed.msg
    finally:
        umount = subprocess.run(["umount", fs.mnt], stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert umount.returncode == 0 and not fingerprints.is_mounted(device), "umount %s: %s" % (fs.mnt, umount.stderr)
    assert fingerprints.mounts(scratch) == [], "still mounted under %s" % scratch


def scenario(fs):
    made = fs.storage_pool(type="dir", target={"path": fs.pool_dir}, build=True, state="running")
    assert not made.failed and made.changed, made
    assert made["pool"]["state"] == "running"
    assert made["pool"]["target"]["path"] == fs.pool_dir

    # -- the source: a raw volume with random data between two holes
    made = fs.volume(name="source.raw", capacity="%dMiB" % (VOLUME_BYTES // MIB))
    assert not made.failed and made.changed, made
    with open(made["volume"]["path"], "r+b") as handle:
        handle.seek(DATA_SEEK)
        for _chunk in range(DATA_BYTES // MIB):
            handle.write(os.urandom(MIB))
        handle.flush()
        os.fsync(handle.fileno())
    source = fs.volume(name="source.raw")
    assert not source.failed and not source.changed, source
    source = source["volume"]
    assert source["format"] == "raw"
    assert source["capacity"] == VOLUME_BYTES
    assert DATA_BYTES <= source["allocation"] < DATA_BYTES + 8 * MIB  # holds the data and stays sparse
    source_sum = fingerprints.digest(source["path"])

    # -- raw -> raw: a reflink where the filesystem shares extents, a sparse copy elsewhere
    clone, growth, seconds = fs.clone("clone.raw", "source.raw")
    extents = run("filefrag", "-v", clone["volume"]["path"])
    assert clone["clone_method"] == fs.method, dict(clone)
    assert clone["volume"]["format"] == "raw"
    assert clone["volume"]["capacity"] == source["capacity"]
    assert fingerprints.digest(clone["volume"]["path"]) == source_sum
    assert clone["volume"]["allocation"] < DATA_BYTES + 8 * MIB  # sparse either way: the holes stay holes
    if fs.reflink:
        # shares the source's extents, takes no new space, and is quick
        assert "shared" in extents, extents
        assert growth < MAX_GROWTH, "grew by %d bytes" % growth
        assert seconds < MAX_SECONDS, "took %.2f s beyond a call with nothing to do" % seconds
    else:
        # the copy has the data in blocks of its own
        assert "shared" not in extents, extents
        assert growth >= DATA_BYTES, "grew by %d bytes" % growth

    # -- raw -> qcow2: a conversion, always a copy, with the same guest contents
    clone = fs.clone("source.qcow2", "source.raw", fmt="qcow2")[0]
    assert clone["clone_method"] == "copy"
    assert clone["volume"]["format"] == "qcow2"
    assert clone["volume"]["capacity"] == source["capacity"]
    assert clone["volume"]["backing_chain"] == []
    run("qemu-img", "compare", "-q", "-f", "raw", "-F", "qcow2", source["path"], clone["volume"]["path"])

    # -- qcow2 -> qcow2: a reflink where the filesystem shares extents
    source_qcow2 = os.path.join(fs.pool_dir, "source.qcow2")
    clone, growth, seconds = fs.clone("clone.qcow2", "source.qcow2")
    assert clone["clone_method"] == fs.method, dict(clone)
    assert clone["volume"]["format"] == "qcow2"
    assert clone["volume"]["capacity"] == source["capacity"]
    assert clone["volume"]["backing_chain"] == []
    if fs.reflink:
        # byte for byte the source, in no new space
        assert fingerprints.digest(clone["volume"]["path"]) == fingerprints.digest(source_qcow2)
        assert growth < MAX_GROWTH, "grew by %d bytes" % growth
        assert seconds < MAX_SECONDS, "took %.2f s beyond a call with nothing to do" % seconds
    run("qemu-img", "compare", "-q", "-f", "qcow2", "-F", "qcow2", source_qcow2, clone["volume"]["path"])

    # -- qcow2 -> raw: a conversion, so a sparse copy even where reflinks work, of the original bytes
    clone = fs.clone("back.raw", "source.qcow2", fmt="raw")[0]
    assert clone["clone_method"] == "copy"
    assert clone["volume"]["format"] == "raw"
    assert clone["volume"]["capacity"] == source["capacity"]
    # sparse: only the data takes space, far below the capacity
    assert clone["volume"]["allocation"] < DATA_BYTES + 8 * MIB
    assert clone["volume"]["allocation"] < clone["volume"]["capacity"] // 2
    assert fingerprints.digest(clone["volume"]["path"]) == source_sum

    # -- an all-sparse source stays sparse, however it is cloned, and reads as zeros
    empty = fs.volume(name="empty.raw", capacity="%dMiB" % (VOLUME_BYTES // MIB))
    assert not empty.failed and empty.changed, empty
    clone, growth = fs.clone("empty-clone.raw", "empty.raw")[:2]
    assert clone["clone_method"] == fs.method, dict(clone)
    assert clone["volume"]["format"] == "raw"
    assert clone["volume"]["capacity"] == VOLUME_BYTES
    assert clone["volume"]["allocation"] < MIB
    assert growth < MAX_GROWTH, "grew by %d bytes" % growth
    run("qemu-img", "compare", "-q", "-f", "raw", "-F", "raw", empty["volume"]["path"], clone["volume"]["path"])

    # -- the pool lists every volume, and no temporary file is left
    listed = fs.storage_pool(list_volumes=True)
    assert not listed.failed and not listed.changed, listed
    assert [volume["name"] for volume in listed["pool"]["volumes"]] == [
        "back.raw", "clone.qcow2", "clone.raw", "empty-clone.raw", "empty.raw", "source.qcow2", "source.raw"]
    assert fs.temporaries() == []
