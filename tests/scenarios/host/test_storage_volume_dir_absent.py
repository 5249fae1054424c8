# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume in dir pools, delete and wipe (was storage_volume_dir's absent.yml): state: absent
deletes a volume; with wipe it first overwrites every byte (zero or random). A hard link made
beforehand keeps the inode readable, so the test can see what the wipe wrote."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import pytest

import dir_volume_pools as common
from dir_volume_pools import MIB


@pytest.fixture
def pools(scratch, store, volume_schema):
    return common.DirPools(scratch, store, volume_schema)


def read(path, length=MIB):
    with open(path, "rb") as handle:
        return handle.read(length)


def test_wipe(pools):
    keep = os.path.join(pools.scratch, "keep")
    os.mkdir(keep, 0o700)
    for name in ("wipe-zero.raw", "wipe-random.raw"):
        pools.make(pool="vols", name=name, capacity="1M")
        # random data, and a copy and a hard link of each
        path = os.path.join(pools.vols, name)
        with open(path, "r+b") as handle:
            handle.write(os.urandom(MIB))
        shutil.copyfile(path, os.path.join(keep, name + ".orig"))
        os.link(path, os.path.join(keep, name + ".link"))

    done = pools.converge(pool="vols", name="wipe-zero.raw", state="absent", wipe="zero")
    assert done.real.actions == ["wipe (zero) and delete volume 'wipe-zero.raw' (%s/wipe-zero.raw)" % pools.vols]
    assert done.check["diff"]["before"]["name"] == "wipe-zero.raw"
    assert done.check["diff"]["after"] == {"state": "absent"}
    assert done.check["volume"]["state"] == "present"
    assert done.real["volume"] == {"name": "wipe-zero.raw", "pool": "vols", "state": "absent"}

    done = pools.converge(pool="vols", name="wipe-random.raw", state="absent", wipe="random")
    assert done.real.actions == ["wipe (random) and delete volume 'wipe-random.raw' (%s/wipe-random.raw)" % pools.vols]
    assert done.real["volume"]["state"] == "absent"

    # both files are gone; the old data is zeros, or neither the old data nor zeros
    assert [os.path.exists(os.path.join(pools.vols, name)) for name in ("wipe-zero.raw", "wipe-random.raw")] == [False, False]
    assert read(os.path.join(keep, "wipe-zero.raw.link")) == bytes(MIB)
    wiped = read(os.path.join(keep, "wipe-random.raw.link"))
    assert wiped != read(os.path.join(keep, "wipe-random.raw.orig"))
    assert wiped != bytes(MIB)


def test_delete(pools):
    base = os.path.join(pools.vols, "base.qcow2")
    pools.make(pool="vols", name="base.qcow2", format="qcow2", capacity="32M")
    pools.make(pool="vols", name="overlay-a.qcow2", format="qcow2", backing_store={"path": base})
    pools.make(pool="vols", name="overlay-b.qcow2", format="qcow2",
               backing_store={"path": os.path.join(pools.vols, "overlay-a.qcow2")})
    pools.make(path=os.path.join(pools.vols, "bypath.qcow2"), format="qcow2", capacity="8M")

    # -- by key, without wipe
    done = pools.converge(key=os.path.join(pools.vols, "bypath.qcow2"), state="absent")
    assert done.real.actions == ["delete volume 'bypath.qcow2' (%s/bypath.qcow2)" % pools.vols]
    assert done.real["volume"]["state"] == "absent"

    # -- an overlay: only the overlay is gone, its backing images stay
    pools.converge(pool="vols", name="overlay-b.qcow2", state="absent")
    assert [os.path.exists(os.path.join(pools.vols, name)) for name in ("overlay-b.qcow2", "overlay-a.qcow2", "base.qcow2")] == [
        False, True, True]
