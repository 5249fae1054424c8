# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A dos disk pool (was storage_pool_disk/tasks/dos.yml): partitions named by number, primary
partitions only (four), types as MBR ids, PARTUUIDs from the disk id."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import harness
from disk_pool_host import (
    DOS_TYPES, MIB, assert_blank, column, converge, realpath, refused, run_ok, snapshot, table)

SIZE = "64M"


def test_dos_life_cycle(loop_device, store):
    dev = loop_device(SIZE, name="disk.img")
    assert_blank(loop_device, dev)
    snap = snapshot(dev, store)

    converge("storage_pool", store, {"name": "dk-dos", "type": "disk", "source": {"device": dev, "format": "dos"},
                                     "build": True, "state": "running"}, snap)
    converge("storage_volume", store, {"pool": "dk-dos", "name": "part1", "format": "fat32", "capacity": "4MiB"}, snap)
    # a name that is not the next number
    refused("storage_volume", store, {"pool": "dk-dos", "name": "data", "capacity": "1MiB"}, snap,
            "name", "'data'", "the next one is part2")
    # three more primary partitions
    for name, fmt in (("part2", "linux-raid"), ("part3", "linux-swap"), ("part4", "fat16")):
        run_ok("storage_volume", store, {"pool": "dk-dos", "name": name, "format": fmt, "capacity": "2MiB"}, changed=True)
    # a fifth
    refused("storage_volume", store, {"pool": "dk-dos", "name": "part5", "capacity": "1MiB"}, snap,
            "no free partition entry", "4 primary")
    grown = converge("storage_volume", store, {"pool": "dk-dos", "name": "part4", "capacity": "6MiB"}, snap)

    tab = table(dev)
    listed = harness.run_module("storage_pool", dict(store, name="dk-dos", list_volumes=True))
    assert not listed.failed, listed.msg
    parts = tab["partitions"]
    vols = listed["pool"]["volumes"]
    disk_id = parts[0]["uuid"].split("-")[0]
    assert tab["label"] == "msdos"
    assert column(parts, "type") == [DOS_TYPES["fat32"], DOS_TYPES["linux-raid"], DOS_TYPES["linux-swap"], DOS_TYPES["fat16"]]
    assert column(parts, "size") == [4 * MIB, 2 * MIB, 2 * MIB, 6 * MIB]
    assert column(parts, "node_size") == [4 * MIB, 2 * MIB, 2 * MIB, 6 * MIB]
    assert column(vols, "name") == ["part1", "part2", "part3", "part4"]
    assert column(vols, "format") == ["fat32", "linux-raid", "linux-swap", "fat16"]
    assert column(vols, "key") == ["/dev/disk/by-partuuid/%s-%02d" % (disk_id, n) for n in (1, 2, 3, 4)]
    # the by-partuuid link where udev made it, else the kernel node
    assert [realpath(path) for path in column(vols, "path")] == ["%sp%d" % (dev, n) for n in (1, 2, 3, 4)]
    assert grown.real["volume"]["capacity"] == 6 * MIB

    # delete a partition in the middle; its number is the next again, in the gap it left
    converge("storage_volume", store, {"pool": "dk-dos", "name": "part2", "state": "absent"}, snap)
    again = converge("storage_volume", store, {"pool": "dk-dos", "name": "part2", "format": "linux", "capacity": "2MiB"},
                     snap).real["volume"]
    assert realpath(again["path"]) == dev + "p2"
    assert again["format"] == "linux"

    for name in ("part1", "part2", "part3", "part4"):
        run_ok("storage_volume", store, {"pool": "dk-dos", "name": name, "state": "absent"}, changed=True)
    purged = run_ok("storage_pool", store, {"name": "dk-dos", "state": "absent", "purge": True}, changed=True)
    assert len(purged.actions) == 3, purged.actions
