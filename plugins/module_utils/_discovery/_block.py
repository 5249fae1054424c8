# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sources of disk and fs pools: block devices, what each carries and whether it is in use.

libvirt has no discovery for these types; this one lists the candidates in the same
shape. Devices come from /proc/partitions and sysfs (no command), their signatures
from ONE wipefs run for all of them (a process per device costs three times as much
at 200 devices), their uses from sysfs, /proc/self/mountinfo and /proc/swaps, each
read once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from dataclasses import dataclass
from typing import Optional

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev, _mounts, _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._wipefs import Wipefs
from ansible_collections.poolcraft.storage.plugins.module_utils._units import SECTOR

# The formats libvirt's storagepool.rng allows in a disk or fs pool's <source>, and the
# names it gives to the ones wipefs (libblkid) spells differently.
DISK_XML_FORMATS = frozenset(("bsd", "dos", "dvh", "gpt", "lvm2", "mac", "pc98", "sun"))
FS_XML_FORMATS = frozenset(("ext2", "ext3", "ext4", "gfs", "gfs2", "hfs+", "iso9660", "ocfs2", "udf",
                            "ufs", "vfat", "vmfs", "xfs"))
LIBVIRT_NAMES = {"sgi": "dvh", "hfsplus": "hfs+"}
PROC_PARTITIONS = "/proc/partitions"
# A GPT disk's protective MBR: part of the GPT, not a table of its own.
PROTECTIVE_MBR = "PMBR"


@dataclass(frozen=True)
class BlockDevice:
    name: str                 # kernel name (sda, sda1, dm-0, cciss!c0d0)
    path: str                 # /dev/NAME, or /dev/mapper/NAME for device-mapper
    size: int                 # bytes
    parent: Optional[str]     # the whole device of a partition
    read_only: bool

    @property
    def node(self):
        """The kernel's own node, which is what wipefs is given."""
        return "/dev/" + self.name.replace("!", "/")


def _path(name, sys_dir):
    if name.startswith("dm-"):
        dm_name = _sysfs.read(os.path.join(sys_dir, "dm", "name"))
        if dm_name:
            return "/dev/mapper/" + dm_name
    return "/dev/" + name.replace("!", "/")


def list_block_devices(sys_block=None, proc_partitions=None):
    """{kernel name: BlockDevice} of every block device with a medium (size > 0) that the
    kernel does not hide. The kernel lists just those in /proc/partitions: one read instead
    of one per entry of /sys/class/block, where thousands of detached loop devices may be."""
    sys_block = sys_block or _blockdev.SYS_BLOCK
    found = {}
    for name in _sysfs.parse_proc_partitions(_sysfs.read_all(proc_partitions or PROC_PARTITIONS)):
        sys_dir = os.path.join(sys_block, name)
        sectors = _sysfs.read_int(os.path.join(sys_dir, "size"))  # always 512-byte units
        if not sectors or _sysfs.read_bool(os.path.join(sys_dir, "hidden")):
            continue  # gone, or emptied, since the kernel listed it
        parent = None
        if os.path.exists(os.path.join(sys_dir, "partition")):
            parent = os.path.basename(os.path.dirname(os.path.realpath(sys_dir)))
        found[name] = BlockDevice(name=name, path=_path(name, sys_dir), size=sectors * SECTOR, parent=parent,
                                  read_only=bool(_sysfs.read_bool(os.path.join(sys_dir, "ro"))))
    return found


def natural_key(name):
    """loop2 before loop10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def probe(runner, devices):
    """({name: signatures}, {name: error}) of BlockDevices, in one wipefs run. A device that
    cannot be read fails that run; then each is probed alone, so the others still answer."""
    by_base = dict((os.path.basename(device.node), device.name) for device in devices)
    if not devices:
        return {}, {}
    wipefs = Wipefs(runner)
    try:
        found = wipefs.probe([device.node for device in devices])
        return dict((by_base.get(base, base), sigs) for base, sigs in found.items()), {}
    except CommandError:
        pass
    signatures, errors = {}, {}
    for device in devices:
        try:
            signatures.update((device.name, sigs) for sigs in wipefs.probe([device.node]).values())
        except CommandError as exc:
            errors[device.name] = str(exc)
    return signatures, errors


class BlockDiscovery(Discovery):
    """Base of the disk and fs discoveries: which devices, and what each source says."""

    xml_formats = frozenset()

    def find(self, chosen):
        found = list_block_devices()
        names = self.names(found, chosen)
        signatures, errors = probe(self.runner, [found[name] for name in names])
        mounted, swaps = _mounts.mounts_by_device(_mounts.read_mounts()), _mounts.read_swaps()
        partitions = {}
        for device in sorted(found.values(), key=lambda device: natural_key(device.name)):
            if device.parent:
                partitions.setdefault(device.parent, []).append(device.name)
        sources = []
        for name in names:
            device, sigs = found[name], signatures.get(name, [])
            if not self.takes(sigs):
                continue
            uses = _blockdev.current_uses(name, mounted, swaps)
            sources.append({
                "name": name, "path": device.path, "size": device.size, "parent": device.parent,
                "partitions": partitions.get(name, []), "read_only": device.read_only,
                "signatures": sigs, "format": self.format(sigs), "in_use": bool(uses), "uses": uses,
                "probe_error": errors.get(name),
            })
        return sources

    def names(self, found, chosen):
        """Kernel names to probe, sorted naturally."""
        if chosen is None:
            return sorted((name for name in found if self.lists(found[name])), key=natural_key)
        names = []
        for entry in chosen:
            if entry.name not in found:
                raise ValidationError("devices", entry.given, "has no medium (size 0) or is hidden by the kernel")
            names += self.chosen_names(found, entry)
        return sorted(set(names), key=natural_key)

    def lists(self, device):
        """Whether a device is listed when `devices` is not given."""
        return True

    def chosen_names(self, found, entry):
        """Names one entry of `devices` stands for."""
        return [entry.name]

    def takes(self, signatures):
        """Whether a probed device is a source of this kind."""
        return True

    def format(self, signatures):
        raise NotImplementedError

    @classmethod
    def xml_parts(cls, source):
        fmt = source["format"] if source["format"] in cls.xml_formats else None
        return [source["path"]], None, fmt


def _libvirt_name(signature_type):
    return LIBVIRT_NAMES.get(signature_type, signature_type)


class DiskDiscovery(BlockDiscovery):
    """Whole devices (never partitions); format is the partition table on one, if any."""

    xml_formats = DISK_XML_FORMATS

    def lists(self, device):
        return device.parent is None

    def chosen_names(self, found, entry):
        if found[entry.name].parent is not None:
            raise ValidationError("devices", entry.given,
                                  "is a partition of %s; disk pools take whole devices" % found[entry.name].parent)
        return [entry.name]

    def format(self, signatures):
        for sig in signatures:
            if sig["usage"] == "partition-table" and sig["type"] != PROTECTIVE_MBR:
                return _libvirt_name(sig["type"])
        return None


class FsDiscovery(BlockDiscovery):
    """Whole devices and partitions, less those carrying a partition table (their partitions
    stand for them); format is the filesystem on one, if it carries exactly one."""

    xml_formats = FS_XML_FORMATS

    def chosen_names(self, found, entry):
        return [entry.name] + [name for name, device in found.items() if device.parent == entry.name]

    def takes(self, signatures):
        return not any(sig["usage"] == "partition-table" for sig in signatures)

    def format(self, signatures):
        filesystems = [sig["type"] for sig in signatures if sig["usage"] == "filesystem"]
        return _libvirt_name(filesystems[0]) if len(filesystems) == 1 else None
