# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The partition table of a disk as a disk pool sees it, read-only and without parted.

parted opens the disk for writing even to print it, and where udev runs that makes udev
re-read the table, dropping and re-adding every partition node. So the label comes from
wipefs, the partitions (their names, PARTUUIDs and types too) from partx, the size from
sysfs, and the usable area from the GPT header. Sizes and offsets are in bytes, ends
inclusive; the kernel's partitions are in 512-byte sectors (_units.SECTOR).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os
import re
import struct
from dataclasses import dataclass
from typing import Tuple

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev, _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._host._blockdev import kernel_name
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._parted import Partx
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._wipefs import Wipefs
from ansible_collections.poolcraft.storage.plugins.module_utils._units import SECTOR

BY_PARTUUID = "/dev/disk/by-partuuid/"
DEV = "/dev"
_GPT_SIGNATURE = b"EFI PART"
# an MBR addresses 2^32 sectors
_DOS_MAX_SECTORS = 1 << 32
# a volume's format, from the partition type (GPT type GUID, MBR system id)
GPT_FORMATS = {
    "0fc63daf-8483-4772-8e79-3d69d8477de4": "linux",
    "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f": "linux-swap",
    "e6d6d379-f507-44c2-a23c-238f2a3df928": "linux-lvm",
    "a19d880f-05fc-4d3b-a006-743f0f84911e": "linux-raid",
    # "Microsoft basic data": one type for every FAT
    "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7": "fat32",
}
DOS_FORMATS = {0x83: "linux", 0x82: "linux-swap", 0x8e: "linux-lvm", 0xfd: "linux-raid",
               0x04: "fat16", 0x06: "fat16", 0x0e: "fat16", 0x0b: "fat32", 0x0c: "fat32"}
DOS_EXTENDED = (0x05, 0x0f, 0x85)
DOS_PRIMARY_SLOTS = 4
GPT_SLOTS = 128

# partN: the name of a partition without a (usable) GPT name, and of every dos partition
UNNAMED = re.compile(r"^part[0-9]+$")


def kernel_partitions(disk):
    """{number: (name, start, size)} of the partitions the kernel has of disk; 512-byte sectors."""
    found = {}
    base = os.path.join(_blockdev.SYS_BLOCK, disk)
    for child in _blockdev.partitions(disk):
        number = _sysfs.read_int(os.path.join(base, child, "partition"))
        if number is not None and os.path.exists(os.path.join(DEV, child)):
            found[number] = (child, _sysfs.read_int(os.path.join(base, child, "start")),
                             _sysfs.read_int(os.path.join(base, child, "size")))
    return found


def disk_geometry(disk):
    """(size in bytes, logical sector size) of a disk, from sysfs."""
    base = os.path.join(_blockdev.SYS_BLOCK, disk)
    return ((_sysfs.read_int(os.path.join(base, "size")) or 0) * SECTOR,
            _sysfs.read_int(os.path.join(base, "queue", "logical_block_size")) or SECTOR)


def read_bytes(path, offset, length):
    # read-only, always: closing a disk opened for writing makes udev re-read its table
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(length)


@dataclass(frozen=True)
class Extent:
    """Free space on a disk, in bytes; end is the last byte."""
    start: int
    end: int

    @property
    def size(self):
        return self.end - self.start + 1


@dataclass(frozen=True)
class Slot:
    """One partition as the pool sees it; bytes, end inclusive."""
    number: int
    start: int
    end: int
    uuid: str
    label_name: str           # the GPT name as on disk ("" on dos)
    kind: str                 # primary, logical, extended
    format: str
    volume: str               # the volume name: the GPT name, or partN

    @property
    def size(self):
        return self.end - self.start + 1


@dataclass(frozen=True)
class Layout:
    node: str                 # the disk's kernel node
    disk: str                 # its kernel name
    size: int
    label: str                # gpt or dos, or None
    signatures: Tuple[str, ...]
    slots: Tuple[Slot, ...]
    free: Tuple[Extent, ...]  # every gap in the usable area outside primary and extended partitions

    def slot_named(self, name):
        return next((slot for slot in self.slots if slot.volume == name), None)

    def slot_keyed(self, key):
        return next((slot for slot in self.slots if BY_PARTUUID + slot.uuid == key), None)


def label_of(signatures):
    """gpt or dos from what wipefs finds on a whole disk, or None."""
    return next((label for label in ("gpt", "dos") if label in signatures), None)


def format_of(scheme, type_id):
    if scheme == "gpt":
        return GPT_FORMATS.get(type_id, "none")
    try:
        number = int(type_id, 16)
    except ValueError:
        return "none"
    return "extended" if number in DOS_EXTENDED else DOS_FORMATS.get(number, "none")


def _usable_name(name):
    return bool(name) and not UNNAMED.match(name) and "/" not in name and not name.startswith(".") \
        and all(char.isprintable() for char in name)


def usable_area(node, label, size, sector):
    """(first, last) byte partitions may use: from the GPT header, or the MBR's reach."""
    if label == "gpt":
        header = read_bytes(node, sector, 92)
        if header[:8] != _GPT_SIGNATURE:
            raise StorageError("%s: the primary GPT header is damaged (no EFI PART signature at LBA 1)" % node)
        first, last = struct.unpack_from("<QQ", header, 40)
        return first * sector, (last + 1) * sector - 1
    return sector, min(size, _DOS_MAX_SECTORS * sector) - 1


def gaps(first, last, taken):
    """Extents of [first, last] outside the (start, end) ranges in taken."""
    free, pos = [], first
    for start, end in sorted(taken):
        if start > pos:
            free.append(Extent(pos, min(start - 1, last)))
        pos = max(pos, end + 1)
    if pos <= last:
        free.append(Extent(pos, last))
    return [extent for extent in free if extent.start <= extent.end]


def read_layout(runner, node):
    """The partition table of node, read-only: wipefs for the label, partx for the partitions
    (their names, PARTUUIDs and types too), sysfs for the size, the GPT header for its usable area."""
    disk = kernel_name(node)
    size, sector = disk_geometry(disk)
    signatures = tuple(Wipefs(runner).signatures(node))
    label = label_of(signatures)
    if label is None:
        return Layout(node=node, disk=disk, size=size, label=None, signatures=signatures, slots=(), free=())
    entries = Partx(runner).entries(node)
    names = collections.Counter(entry.name for entry in entries)
    slots = []
    for entry in entries:
        fmt = format_of(entry.scheme, entry.type)
        kind = "extended" if fmt == "extended" else \
            "logical" if label == "dos" and entry.number > DOS_PRIMARY_SLOTS else "primary"
        usable = label == "gpt" and _usable_name(entry.name) and names[entry.name] == 1
        slots.append(Slot(number=entry.number, start=entry.start * SECTOR,
                          end=(entry.end + 1) * SECTOR - 1, uuid=entry.uuid, label_name=entry.name,
                          kind=kind, format=fmt, volume=entry.name if usable else "part%d" % entry.number))
    first, last = usable_area(node, label, size, sector)
    # logical partitions lie inside the extended one
    free = gaps(first, last, [(slot.start, slot.end) for slot in slots if slot.kind != "logical"])
    return Layout(node=node, disk=disk, size=size, label=label, signatures=signatures,
                  slots=tuple(slots), free=tuple(free))
