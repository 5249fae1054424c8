# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume in dir pools, qcow2 and vmdk volumes (was storage_volume_dir's qcow2.yml): each
preallocation, a cluster size, both compat levels, lazy refcounts; a vmdk volume."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

import dir_volume_pools as common
from dir_volume_pools import MIB


@pytest.fixture
def pools(scratch, store, volume_schema):
    return common.DirPools(scratch, store, volume_schema)


def test_qcow2_preallocation(pools):
    done, st, info = pools.new_volume("qcow2", 64 * MIB, pool="vols", name="q-off.qcow2", format="qcow2", capacity="64M",
                                      preallocation="off")
    # a small file, the default cluster size
    assert done.real.actions == ["create qcow2 volume 'q-off.qcow2' of 64.0 MiB"]
    assert done.real["volume"]["allocation"] < MIB
    assert st.st_size < MIB
    assert info["cluster-size"] == 65536
    assert done.real["volume"]["backing_chain"] == []

    done, st, info = pools.new_volume("qcow2", 64 * MIB, pool="vols", name="q-meta.qcow2", format="qcow2", capacity="64M",
                                      preallocation="metadata")
    # the file spans the disk, the data still sparse
    assert st.st_size >= 64 * MIB
    assert done.real["volume"]["allocation"] < 64 * MIB // 2

    done = pools.new_volume("qcow2", 16 * MIB, pool="vols", name="q-falloc.qcow2", format="qcow2", capacity="16M",
                            preallocation="falloc")[0]
    assert done.real["volume"]["allocation"] >= 16 * MIB

    done = pools.new_volume("qcow2", 16 * MIB, pool="vols", name="q-full.qcow2", format="qcow2", capacity="16M",
                            preallocation="full")[0]
    assert done.real["volume"]["allocation"] >= 16 * MIB


def test_qcow2_options(pools):
    info = pools.new_volume("qcow2", 64 * MIB, pool="vols", name="q-cluster.qcow2", format="qcow2", capacity="64M",
                            cluster_size="2M")[2]
    assert info["cluster-size"] == 2 * MIB

    info = pools.new_volume("qcow2", 16 * MIB, pool="vols", name="q-compat010.qcow2", format="qcow2", capacity="16M",
                            compat="0.10")[2]
    assert info["format-specific"]["data"]["compat"] == "0.10"

    info = pools.new_volume("qcow2", 16 * MIB, pool="vols", name="q-lazy.qcow2", format="qcow2", capacity="16M",
                            compat="1.1", lazy_refcounts=True)[2]
    assert info["format-specific"]["data"]["compat"] == "1.1"
    assert info["format-specific"]["data"]["lazy-refcounts"]

    info = pools.new_volume("qcow2", 16 * MIB, pool="vols", name="q-compat11.qcow2", format="qcow2", capacity="16M",
                            compat="1.1", lazy_refcounts=False)[2]
    assert info["format-specific"]["data"]["compat"] == "1.1"
    assert not info["format-specific"]["data"]["lazy-refcounts"]


def test_vmdk(pools):
    done = pools.new_volume("vmdk", 32 * MIB, pool="vols", name="disk.vmdk", format="vmdk", capacity="32M")[0]
    assert done.real.actions == ["create vmdk volume 'disk.vmdk' of 32.0 MiB"]
    assert done.real["volume"]["allocation"] < MIB  # sparse
