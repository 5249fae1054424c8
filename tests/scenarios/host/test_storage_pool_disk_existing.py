# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A table made by hand (was storage_pool_disk/tasks/existing.yml): it counts as built (no build
action, the partitions stay); without source.format the label there is taken. Partitions without
a name are listed as partN. A partition node the kernel lost (as on this host after a table
change by another tool) is back when a task that changes the table returns."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from system import run
from disk_pool_host import (
    MIB, assert_blank, column, converge, realpath, refused, run_ok, snapshot, table)

SIZE = "64M"


def test_table_made_by_hand(loop_device, store):
    dev = loop_device(SIZE, name="disk.img")
    assert_blank(loop_device, dev)
    snap = snapshot(dev, store)
    args = {"name": "dk-existing", "type": "disk", "source": {"device": dev}, "build": True, "state": "running"}

    # a build without source.format on a blank device: which label?
    refused("storage_pool", store, args, snap, "source.format", "set the partition table to make on %s" % dev)

    # a gpt table by hand, one partition named, one not (parted adds their nodes itself)
    run("parted", "-s", "-a", "optimal", dev, "mklabel", "gpt", "mkpart", "data", "1MiB", "5MiB", "mkpart", "''", "5MiB", "6MiB")
    done = converge("storage_pool", store, dict(args, list_volumes=True), snap)
    assert done.real.actions == ["define pool 'dk-existing' (disk, persistent)", "start pool 'dk-existing'"]
    assert column(done.real["pool"]["volumes"], "name") == ["data", "part2"]
    assert column(done.real["pool"]["volumes"], "capacity") == [4 * MIB, MIB]

    # the kernel loses the node of partition 1
    run("partx", "-d", "--nr", "1", dev)
    before = snap()
    done = converge("storage_volume", store, {"pool": "dk-existing", "name": "more", "format": "linux-raid",
                                              "capacity": "3MiB"}, snap)
    tab = table(dev)
    # every partition has its node again, with its size
    assert len(before["partitions"]) == 1, before
    assert column(tab["partitions"], "name") == ["data", "", "more"]
    assert column(tab["partitions"], "node_size") == [4 * MIB, MIB, 3 * MIB]
    assert realpath(done.real["volume"]["path"]) == dev + "p3"

    # undefine the pool, keep the table
    gone = run_ok("storage_pool", store, {"name": "dk-existing", "state": "absent"}, changed=True)
    assert len(gone.actions) == 2, gone.actions
    assert column(table(dev)["partitions"], "name") == ["data", "", "more"]
