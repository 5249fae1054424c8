# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A device in use is refused even with overwrite: true, and left as it is (was
storage_pool_disk/tasks/in_use.yml): a filesystem on the whole device mounted, and a partition
of it mounted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import fingerprints
from system import run
from disk_pool_host import assert_blank, refused, snapshot

# room for the 64 MiB partition of the second case (the old target used its 320 MiB device)
SIZE = "80M"


def test_device_in_use_refused_even_with_overwrite(loop_device, scratch, store):
    dev = loop_device(SIZE, name="sig.img")
    assert_blank(loop_device, dev)
    snap = snapshot(dev, store)
    whole = os.path.join(scratch, "mnt", "whole")
    os.makedirs(whole)
    args = {"name": "dk-busy", "type": "disk", "source": {"device": dev}, "build": True, "overwrite": True}
    try:
        # ext4 on the whole device, mounted
        run("mkfs.ext4", "-q", "-F", dev)
        run("mount", dev, whole)
        refused("storage_pool", store, dict(args, source={"device": dev, "format": "gpt"}), snap,
                "source.device", dev, "in use", "mounted at %s" % whole, "even with overwrite")
        run("umount", whole)

        # a gpt label with an ext4 partition, mounted (parted adds the node of the partition)
        run("wipefs", "-a", "-q", dev)
        run("parted", "-s", dev, "mklabel", "gpt", "mkpart", "one", "1MiB", "65MiB")
        run("mkfs.ext4", "-q", "-F", dev + "p1")
        run("mount", dev + "p1", whole)
        refused("storage_pool", store, dict(args, source={"device": dev, "format": "dos"}), snap,
                "source.device", dev, "in use", "partition", "p1 mounted at %s" % whole)
    finally:
        # unmount what is mounted
        for source in (dev + "p1", dev):
            if fingerprints.is_mounted(source):
                run("umount", whole, check=False)
