# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Multipath maps and their paths as sysfs shows them: no command, no multipathd.

A device-mapper device is a multipath map when its uuid is "mpath-WWID"; its slaves are its paths,
and a path's holders include its map. Writing to a path device behind its map's back corrupts what
the map holds: the backends ask map_of_path() before they build on, wipe or clone into a device,
and name the map to use instead. The mpath pools find their maps here, one by one where the
selection names them (through /dev/mapper and udev's by-id link, read as device numbers), so a
host with many maps costs no more than one with the selected ones."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from dataclasses import dataclass

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._units import SECTOR

SYS_BLOCK = "/sys/class/block"
DEV = "/dev"
MPATH_UUID_PREFIX = "mpath-"
_HCTL = re.compile(r"^\d+:\d+:\d+:\d+$")


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


@dataclass(frozen=True)
class MultipathMap(MapOfPath):
    """A map with its size in bytes and the kernel names of its paths (its slaves: sdb, sdc)."""
    size: int = 0
    slaves: tuple = ()


def kernel_name(device):
    """sdb for /dev/sdb, a link to it, or sdb itself; None when it is no block device here."""
    name = os.path.basename(os.path.realpath(device)) if device.startswith("/") else device
    return name if os.path.isdir(os.path.join(SYS_BLOCK, name)) else None


def _sys_block():
    return os.path.join(_sysfs.SYS, "class", "block")


def _map_uuid(sys_block, name):
    return _sysfs.read(os.path.join(sys_block, name, "dm", "uuid")) or ""


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
            uuid = _map_uuid(sys_block, holder)
            if uuid.startswith(MPATH_UUID_PREFIX):
                return MapOfPath(name=_sysfs.read(os.path.join(sys_block, holder, "dm", "name")) or holder,
                                 wwid=uuid[len(MPATH_UUID_PREFIX):], dm=holder)
    return None


def map_at(dm, sys_block=None):
    """The MultipathMap of the device-mapper device called dm (dm-3), or None when it is not a
    multipath map (an LV, a crypt device) or is gone."""
    sys_block = sys_block or _sys_block()
    uuid = _map_uuid(sys_block, dm)
    if not uuid.startswith(MPATH_UUID_PREFIX):
        return None
    name = _sysfs.read(os.path.join(sys_block, dm, "dm", "name"))
    sectors = _sysfs.read_int(os.path.join(sys_block, dm, "size"))
    if not name or sectors is None:
        return None
    return MultipathMap(name=name, wwid=uuid[len(MPATH_UUID_PREFIX):], dm=dm, size=sectors * SECTOR,
                        slaves=tuple(_sysfs.listdir(os.path.join(sys_block, dm, "slaves"))))


def all_maps(sys_block=None):
    """Every multipath map of the host, by name."""
    sys_block = sys_block or _sys_block()
    found = (map_at(name, sys_block) for name in _sysfs.listdir(sys_block) if name.startswith("dm-"))
    return sorted((found_map for found_map in found if found_map is not None), key=lambda found_map: found_map.name)


def _dm_behind(link):
    """The kernel name of the block device at link (a udev link or a node of its own), or None."""
    try:
        rdev = os.stat(link).st_rdev
    except OSError:
        return None
    name = os.path.basename(os.path.realpath(os.path.join(_sysfs.SYS, "dev", "block", "%d:%d" % (os.major(rdev), os.minor(rdev)))))
    return name if name.startswith("dm-") else None


def _map_behind(link, sys_block):
    dm = _dm_behind(link)
    return map_at(dm, sys_block) if dm else None


def find_by_wwid(wwid, sys_block=None, dev=None):
    """The MultipathMap whose WWID is wwid, or None: through udev's by-id link, else /dev/mapper/WWID
    (a map without an alias), else a look at every map (a host where udev made no link)."""
    sys_block, dev = sys_block or _sys_block(), dev or DEV
    for link in (os.path.join(dev, "disk", "by-id", "dm-uuid-mpath-" + wwid), os.path.join(dev, "mapper", wwid)):
        found = _map_behind(link, sys_block)
        if found is not None and found.wwid == wwid:
            return found
    return next((found for found in all_maps(sys_block) if found.wwid == wwid), None)


def find_by_alias(alias, sys_block=None, dev=None):
    """The MultipathMap called alias (its name under /dev/mapper), or None."""
    sys_block, dev = sys_block or _sys_block(), dev or DEV
    found = _map_behind(os.path.join(dev, "mapper", alias), sys_block)
    if found is not None and found.name == alias:
        return found
    return next((found for found in all_maps(sys_block) if found.name == alias), None)


def device_of_number(maj_min):
    """The kernel name (sdb) of the block device numbered "8:16", or None."""
    path = os.path.join(_sysfs.SYS, "dev", "block", maj_min)
    return os.path.basename(os.path.realpath(path)) if os.path.exists(path) else None


def scsi_address(device, sys_block=None):
    """H:C:T:L of the SCSI disk called device (sdb), or None (not a SCSI disk)."""
    sys_block = sys_block or _sys_block()
    address = os.path.basename(os.path.realpath(os.path.join(sys_block, device, "device")))
    return address if _HCTL.match(address) else None
