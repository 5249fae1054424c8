# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image format probing from file headers, as libvirt does it, so listing a
pool of thousands of images needs no process per file.

Formats whose size we do not parse here are reported with ``needs_qemu_img``
so the caller can ask qemu-img once for those few.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import struct
from dataclasses import dataclass
from typing import Optional

_QCOW_MAGIC = b"QFI\xfb"
_QCOW2_BACKING_FORMAT_EXT = 0xE2792ACA
_VMDK_SPARSE_MAGIC = b"KDMV"
_SECTOR = 512
# Magic numbers of formats we recognise but leave to qemu-img for the sizes.
_OTHER_MAGIC = ((0, b"QED\x00", "qed"), (0, b"vhdxfile", "vhdx"), (0, b"conectix", "vpc"),
                (64, b"\x7f\x10\xda\xbe", "vdi"), (0, b"# Disk DescriptorFile", "vmdk"),
                (0, b"LUKS\xba\xbe", "luks"))


@dataclass(frozen=True)
class ImageHeader:
    format: str
    capacity: Optional[int]          # None: ask qemu-img
    backing_path: Optional[str] = None
    backing_format: Optional[str] = None

    @property
    def needs_qemu_img(self):
        return self.capacity is None


def probe(handle, file_size):
    """Probe an open binary file; file_size is used as the capacity of raw images."""
    head = handle.read(_SECTOR)
    if head[:4] == _QCOW_MAGIC and len(head) >= 32:
        return _qcow(handle, head)
    if head[:4] == _VMDK_SPARSE_MAGIC and len(head) >= 20:
        return ImageHeader("vmdk", struct.unpack_from("<Q", head, 12)[0] * _SECTOR)
    for offset, magic, name in _OTHER_MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return ImageHeader(name, None)
    return ImageHeader("raw", file_size)


def probe_path(path):
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        # a block device (an LV, a partition) has no st_size: its size is where its end is
        size = os.lseek(handle.fileno(), 0, os.SEEK_END) if stat.S_ISBLK(st.st_mode) else st.st_size
        handle.seek(0)
        return probe(handle, size)


def _qcow(handle, head):
    version = struct.unpack_from(">I", head, 4)[0]
    backing_offset, backing_size = struct.unpack_from(">QI", head, 8)
    capacity = struct.unpack_from(">Q", head, 24)[0]
    if version == 1:
        return ImageHeader("qcow", capacity)
    backing_path = backing_format = None
    if backing_offset and 0 < backing_size <= 4096:
        handle.seek(backing_offset)
        backing_path = handle.read(backing_size).decode("utf-8", "replace")
        backing_format = _qcow2_backing_format(handle, head, version, backing_offset)
    return ImageHeader("qcow2", capacity, backing_path, backing_format)


def _qcow2_backing_format(handle, head, version, limit):
    """Walk the header extensions (they sit between the header and the backing name)."""
    offset = 72
    if version >= 3 and len(head) >= 104:
        offset = struct.unpack_from(">I", head, 100)[0]
    handle.seek(offset)
    area = handle.read(max(0, min(limit, 65536) - offset))
    pos = 0
    while pos + 8 <= len(area):
        ext_type, length = struct.unpack_from(">II", area, pos)
        if ext_type == 0:
            break
        if ext_type == _QCOW2_BACKING_FORMAT_EXT:
            return area[pos + 8:pos + 8 + length].decode("ascii", "replace")
        pos += 8 + ((length + 7) & ~7)
    return None
