# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume in dir pools, grow and shrink (was storage_volume_dir's resize.yml): a larger
capacity grows a volume; a smaller one is refused unless shrink: true, and then shrinks it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import dir_volume_pools as common
from dir_volume_pools import GIB, MIB


@pytest.fixture
def pools(scratch, store, volume_schema):
    return common.DirPools(scratch, store, volume_schema)


def test_grow_and_shrink(pools):
    sparse, grow = os.path.join(pools.vols, "sparse.raw"), os.path.join(pools.vols, "grow.qcow2")
    pools.make(pool="vols", name="sparse.raw", capacity="1G")  # raw.yml's sparse volume

    # -- grow sparse.raw from 1G to 2G
    done = pools.converge(pool="vols", name="sparse.raw", capacity="2G")
    assert done.real.actions == ["grow volume 'sparse.raw' from 1.0 GiB to 2.0 GiB"]
    assert done.check["diff"]["before"]["capacity"] == GIB
    assert done.check["diff"]["after"]["capacity"] == 2 * GIB
    assert done.check["volume"]["capacity"] == GIB
    assert done.real["volume"]["capacity"] == 2 * GIB
    assert os.stat(sparse).st_size == 2 * GIB

    # -- a qcow2 volume, grown to 32M
    pools.new_volume("qcow2", 16 * MIB, pool="vols", name="grow.qcow2", format="qcow2", capacity="16M")
    done = pools.converge(pool="vols", name="grow.qcow2", capacity="32M")
    assert done.real.actions == ["grow volume 'grow.qcow2' from 16.0 MiB to 32.0 MiB"]
    assert done.real["volume"]["capacity"] == 32 * MIB
    assert common.qemu_info(grow)["virtual-size"] == 32 * MIB

    # -- shrinking without shrink: true is refused, in check mode and for real, nothing changed
    pools.refused(dict(pool="vols", name="grow.qcow2", capacity="16M"), "capacity=", "'16M'", "shrink: true")
    assert common.qemu_info(grow)["virtual-size"] == 32 * MIB

    # -- with shrink: true it shrinks
    done = pools.converge(pool="vols", name="grow.qcow2", capacity="16M", shrink=True)
    assert done.real.actions == ["shrink volume 'grow.qcow2' from 32.0 MiB to 16.0 MiB"]
    assert done.check["diff"]["after"]["capacity"] == 16 * MIB
    assert done.real["volume"]["capacity"] == 16 * MIB
    assert common.qemu_info(grow)["virtual-size"] == 16 * MIB

    # -- sparse.raw back to 1G
    done = pools.converge(pool="vols", name="sparse.raw", capacity="1G", shrink=True)
    assert done.real.actions == ["shrink volume 'sparse.raw' from 2.0 GiB to 1.0 GiB"]
    assert done.real["volume"]["capacity"] == GIB
    assert os.stat(sparse).st_size == GIB

    # -- shrink: true with the same size does nothing
    same = pools.volume(pool="vols", name="grow.qcow2", capacity="16M", shrink=True)
    assert not same.failed and not same.changed, same
