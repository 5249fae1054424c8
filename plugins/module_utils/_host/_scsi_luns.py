# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The LUNs of a SCSI host, from sysfs and udev's records; no command.

Every SCSI device is /sys/bus/scsi/devices/H:C:T:L, whatever the transport puts between it and its
host (rport-*, session*, target*); its disk is the one under its block/ directory. A LUN is named
unit:C:T:L (libvirt's), keyed by its WWID as scsi_id prints it (udev's ID_SERIAL, else the kernel's
VPD 0x83 designator in the same spelling), and found at a stable link: one in the pool's target
directory (by-path, or by-id), else any other by-id link, else the kernel's node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _iscsi_sessions, _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._host._iscsi_sessions import DISK_TYPES, Lun
from ansible_collections.poolcraft.storage.plugins.module_utils._host._multipath_paths import map_of_path

DEV = "/dev"
_HCTL = re.compile(r"^(\d+):(\d+):(\d+):(\d+)$")

__all__ = ("DEV", "DISK_TYPES", "Lun", "luns", "disk_luns", "link_of", "key_of", "multipath_map_of", "capacity")


def luns(host_number):
    """The Luns (SCSI devices) of the SCSI host of that number, by address."""
    devices = os.path.join(_sysfs.SYS, "bus", "scsi", "devices")
    found = []
    for name in _sysfs.listdir(devices):
        match = _HCTL.match(name)
        if not match or int(match.group(1)) != host_number:
            continue
        base = os.path.join(devices, name)
        blocks = _sysfs.listdir(os.path.join(base, "block"))
        state = _sysfs.read(os.path.join(base, "state"))
        found.append(Lun(hctl=name, lun=int(match.group(4)), scsi_type=_sysfs.read_int(os.path.join(base, "type")),
                         block=blocks[0] if blocks else None, state=state.strip() if state else None))
    return sorted(found, key=lambda lun: tuple(int(part) for part in lun.hctl.split(":")))


def disk_luns(host_number):
    """The LUNs that are disks with a block device: a scsi pool's volumes."""
    return [lun for lun in luns(host_number) if lun.block and lun.scsi_type in DISK_TYPES]


def link_of(block, links, target_dir):
    """The path of the disk called block: its udev link in target_dir (/dev/disk/by-path, or by-id:
    the scsi-WWID one first), else any by-id link, else its node /dev/NAME."""
    def rank(link):
        # by-id has several links per disk: scsi-3... (the NAA WWID) first, then the other scsi- ones
        name = os.path.basename(link)
        return (not name.startswith("scsi-3"), not name.startswith("scsi-"), link)

    def under(directory):
        prefix = os.path.relpath(directory, DEV) + "/"
        mine = sorted((link for link in links if link.startswith(prefix)), key=rank)
        return os.path.join(DEV, mine[0]) if mine else None
    return under(target_dir) or under(os.path.join(DEV, "disk", "by-id")) or os.path.join(DEV, block)


def key_of(block, properties):
    """The WWID of the disk called block (scsi_id's spelling), or None."""
    return _iscsi_sessions.wwid(block, properties)


def capacity(block):
    return _iscsi_sessions.capacity(block) or 0


def udev_record(block):
    return _iscsi_sessions.udev_record(block)


def multipath_map_of(block):
    """The MapOfPath of the multipath map the disk called block is a path of, or None."""
    return map_of_path(block, sys_block=os.path.join(_sysfs.SYS, "class", "block"))
