# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume in dir pools, sizes as users write them (was storage_volume_dir's sizes.yml):
binary units, decimal units, bytes (a string or a number), rounded up to whole 512-byte sectors
as qemu-img does, so a second run does not see a difference."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

import dir_volume_pools as common

SIZES = [
    # (volume, capacity as written, bytes, format)
    ("s-10M.raw", "10M", 10485760, "raw"),
    ("s-512MiB.raw", "512MiB", 536870912, "raw"),
    ("s-1G.qcow2", "1G", 1073741824, "qcow2"),
    ("s-bytes.raw", "3145728", 3145728, "raw"),
    ("s-int.raw", 2097152, 2097152, "raw"),  # a YAML number, as Ansible passes it
    ("s-unaligned.raw", "1000000", 1000448, "raw"),
    ("s-2MB.raw", "2MB", 2000384, "raw"),
    ("s-1.5K.qcow2", "1.5K", 1536, "qcow2"),
]


@pytest.fixture
def pools(scratch, store, volume_schema):
    return common.DirPools(scratch, store, volume_schema)


def test_sizes(pools):
    # one pool for all of them, as in the old loop: each size is a new volume beside the others
    for name, capacity, size, fmt in SIZES:
        pools.new_volume(fmt, size, pool="vols", name=name, capacity=capacity, format=fmt)
