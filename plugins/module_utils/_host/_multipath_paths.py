# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which multipath map, if any, a block device is a path of: from its sysfs holders, whose
device-mapper uuid is "mpath-WWID" for a multipath map. No command, no multipathd.

Writing to a path device behind its map's back corrupts what the map holds; the backends ask
this before they build on, wipe or clone into a device, and name the map to use instead."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from dataclasses import dataclass

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _sysfs

SYS_BLOCK = "/sys/class/block"
MPATH_UUID_PREFIX = "mpath-"


@dataclass(frozen=True)
class MapOfPath:
    name: str   # the map's name under /dev/mapper (its alias, or its WWID)
    wwid: str
    dm: str     # its kernel name, dm-N

    @property
    def path(self):
        return "/dev/mapper/%s" % self.name

    @property
    def by_id(self):
        return "/dev/disk/by-id/dm-uuid-mpath-%s" % self.wwid


def kernel_name(device):
    """sdb for /dev/sdb, a link to it, or sdb itself; None when it is no block device here."""
    name = os.path.basename(os.path.realpath(device)) if device.startswith("/") else device
    return name if os.path.isdir(os.path.join(SYS_BLOCK, name)) else None


def map_of_path(device, sys_block=SYS_BLOCK):
    """The MapOfPath of the multipath map that holds device (a whole disk, or the disk of a
    partition), or None when no multipath map holds it."""
    name = kernel_name(device) if sys_block == SYS_BLOCK else device
    if name is None:
        return None
    candidates = [name]
    parent = os.path.basename(os.path.dirname(os.path.realpath(os.path.join(sys_block, name))))
    if os.path.exists(os.path.join(sys_block, name, "partition")):
        candidates.append(parent)  # a partition of a path: its disk is the path
    for disk in candidates:
        for holder in sorted(_sysfs.listdir(os.path.join(sys_block, disk, "holders"))):
            uuid = _sysfs.read(os.path.join(sys_block, holder, "dm", "uuid")) or ""
            if uuid.startswith(MPATH_UUID_PREFIX):
                return MapOfPath(name=_sysfs.read(os.path.join(sys_block, holder, "dm", "name")) or holder,
                                 wwid=uuid[len(MPATH_UUID_PREFIX):], dm=holder)
    return None
