# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume in dir pools, raw volumes (was storage_volume_dir's raw.yml): sparse by default,
preallocated with falloc or full, or with only part of them allocated."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import dir_volume_pools as common
from dir_volume_pools import GIB, MIB


@pytest.fixture
def pools(scratch, store, volume_schema):
    return common.DirPools(scratch, store, volume_schema)


def zeros(path, length):
    with open(path, "rb") as handle:
        return handle.read(length) == bytes(length)


def test_raw_volumes(pools):
    done, st, _info = pools.new_volume("raw", GIB, pool="vols", name="sparse.raw", capacity="1G")
    assert done.real.actions == ["create raw volume 'sparse.raw' of 1.0 GiB"]
    assert done.check["diff"]["after"]["capacity"] == GIB
    assert done.real["volume"]["backing_chain"] == []
    assert done.real["volume"]["allocation"] < MIB  # much smaller than the capacity
    assert st.st_size == GIB

    done = pools.new_volume("raw", 10 * MIB, pool="vols", name="off.raw", capacity="10M", preallocation="off")[0]
    assert done.real["volume"]["allocation"] < MIB

    done = pools.new_volume("raw", 10 * MIB, pool="vols", name="falloc.raw", capacity="10M", preallocation="falloc")[0]
    assert done.real["volume"]["allocation"] >= 10 * MIB

    done = pools.new_volume("raw", 10 * MIB, pool="vols", name="full.raw", capacity="10M", preallocation="full")[0]
    assert done.real["volume"]["allocation"] >= 10 * MIB
    assert zeros(os.path.join(pools.vols, "full.raw"), 10 * MIB)

    done = pools.new_volume("raw", 64 * MIB, pool="vols", name="partial.raw", capacity="64M", allocation="4M")[0]
    assert 4 * MIB <= done.real["volume"]["allocation"] < 16 * MIB  # the allocation, and the rest sparse
