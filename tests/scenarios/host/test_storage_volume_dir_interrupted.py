# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume in dir pools, an interrupted create (was storage_volume_dir's interrupted.yml):
it leaves only .poolcraft-tmp-NAME, which is not a volume (not listed, not counted, not taken as
done), and the next run makes the volume properly."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import harness
import dir_volume_pools as common
from system import run
from dir_volume_pools import MIB


@pytest.fixture
def pools(scratch, store, volume_schema):
    return common.DirPools(scratch, store, volume_schema)


def test_interrupted_create(pools):
    # volumes beside it, as the old life cycle had them by now
    pools.make(pool="vols", name="sparse.raw", capacity="1G")
    pools.make(pool="vols", name="base.qcow2", format="qcow2", capacity="32M")
    # a half-written image under the temporary name
    temp = os.path.join(pools.vols, ".poolcraft-tmp-late.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", temp, "16M")
    os.truncate(temp, 100)

    listed = pools.pool(name="vols", list_volumes=True)
    names = [volume["name"] for volume in listed["pool"]["volumes"]]
    files = os.listdir(pools.vols)
    assert not listed.failed and not listed.changed, listed
    assert ".poolcraft-tmp-late.qcow2" in files
    assert ".poolcraft-tmp-late.qcow2" not in names
    assert "late.qcow2" not in names
    assert names == sorted(name for name in files if not name.startswith(common.TEMP_PREFIX))
    assert listed["pool"]["volume_count"] == len(names)

    # the volume is still missing: not taken as done
    missing = pools.volume(pool="vols", name="late.qcow2")
    harness.assert_clean_failure(missing, "capacity=None")

    # the next run makes the volume, a sound image
    pools.new_volume("qcow2", 16 * MIB, pool="vols", name="late.qcow2", format="qcow2", capacity="16M")
    run("qemu-img", "check", "-q", "-f", "qcow2", os.path.join(pools.vols, "late.qcow2"))
