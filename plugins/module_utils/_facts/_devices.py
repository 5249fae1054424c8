# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One-pass block device inventory: sysfs and udev's database, no commands.

Every sysfs read costs about 10-15 us in the kernel, so the scan reads as
little as gives the facts, once per device:

- /proc/partitions, once, for every device's major:minor (`dev` only for the
  few it leaves out: empty devices);
- the sysfs link of each device: its hardware path, and for a partition its disk;
- `size` and `ro`; for a partition `partition` and `start`; for a whole disk
  three `queue/` attributes, and for a hardware disk `removable` and a few
  `device/` attributes (virtual devices are never removable);
- `slaves` of the stacking drivers only (device-mapper, md, bcache: the only
  users of the kernel's holder links), holders being their inverse;
- the device's udev record, the small file udev keeps per device under its
  run directory (properties and /dev links), as libudev reads it.

(Threads do not help: the reads serialise in the kernel; measured.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os

from ansible_collections.poolcraft.storage.plugins.module_utils import _inputs
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._units import SECTOR, to_int

# Kernel name prefix -> device type, first match wins; partitions are "part".
_TYPES = (
    ("loop", "loop"), ("dm-", "dm"), ("md", "md"), ("nvme", "nvme"), ("sr", "rom"),
    ("zram", "zram"), ("nbd", "nbd"), ("rbd", "rbd"), ("drbd", "drbd"), ("bcache", "bcache"),
)

# DM_UUID prefix -> what kind of device-mapper device it is.
_DM_KINDS = (("LVM-", "lvm"), ("mpath-", "mpath"), ("CRYPT-", "crypt"), ("part", "part"), ("VDO-", "vdo"))


def device_type(name, devtype):
    if devtype == "partition":
        return "part"
    for prefix, kind in _TYPES:
        if name.startswith(prefix):
            return kind
    return "disk"


def dm_kind(uuid):
    for prefix, kind in _DM_KINDS:
        if uuid and uuid.startswith(prefix):
            return kind
    return "other" if uuid else None


# Kernel drivers that hold other block devices (bd_link_disk_holder): only
# their `slaves` directories are read; holders are the inverse relation.
STACKING = ("dm-", "md", "bcache")


class RawDevice(object):
    """What the scan read about one block device, before it becomes facts."""

    __slots__ = ("name", "devpath", "maj_min", "partition", "size", "ro", "removable", "logical", "physical",
                 "rotational", "slaves", "props", "links", "has_record", "start", "hw")

    def __init__(self, name, devpath):
        self.name = name
        self.devpath = devpath
        self.hw = {}
        self.slaves = []
        self.start = self.partition = None
        self.removable = self.logical = self.physical = self.rotational = None

    @property
    def parent(self):
        """The whole disk of a partition: the block device directory above it in sysfs."""
        parts = self.devpath.rsplit("/", 2)
        if len(parts) == 3 and parts[0].endswith("/block"):
            return parts[1]
        return None

    @property
    def virtual(self):
        return "/devices/virtual/" in self.devpath


def _hardware(name, base, devpath):
    """What a hardware disk tells about itself: for SCSI its vendor, model, VPD WWID,
    state and address; for NVMe its model, serial and WWID; for others (virtio) its serial."""
    hw = {}
    parts = devpath.split("/")
    if len(parts) > 2 and parts[-2] == "block" and parts[-3].count(":") == 3:
        hw["scsi_address"] = parts[-3]
        attrs = (("vendor", "device/vendor"), ("model", "device/model"), ("wwid", "device/wwid"),
                 ("state", "device/state"))
    elif name.startswith("nvme"):
        attrs = (("model", "device/model"), ("serial", "device/serial"), ("wwid", "wwid"))
    else:
        attrs = (("serial", "serial"),)
    for key, rel in attrs:
        value = _sysfs.read(base + rel)
        if value is not None and value.strip():
            hw[key] = value.strip()
    return hw


def validate_pattern(pattern):
    """One entry of the facts' `devices`: a /dev path, or a kernel name or glob of one line."""
    if isinstance(pattern, str) and pattern.startswith("/"):
        _inputs.path(pattern, "devices")
    else:
        _inputs.text(pattern, "devices")
    return pattern


class Scanner(object):
    """Reads block devices from a sysfs tree and a udev database directory."""

    def __init__(self, sys_root=_sysfs.SYS, udev_data=_sysfs.UDEV_DATA, proc_partitions="/proc/partitions"):
        self.sys_root = sys_root
        self.udev_data = udev_data
        self.proc_partitions = proc_partitions
        self.class_dir = os.path.join(sys_root, "class", "block")
        self._devnums = {}

    # -- which devices ------------------------------------------------------

    def list(self):
        """{kernel name: devpath} of every block device (detached loop devices left out once
        /proc/partitions is loaded)."""
        found = {}
        for name in _sysfs.listdir(self.class_dir):
            if self.detached(name):
                continue
            link = _sysfs.readlink(os.path.join(self.class_dir, name))
            if link is not None:
                found[name] = os.path.normpath(os.path.join("/class/block", link))
        return found

    @staticmethod
    def select(found, patterns):
        """Names of found matching patterns (kernel names, globs or /dev paths), with the
        partitions of every matched whole disk."""
        if not patterns:
            return sorted(found)
        wanted = set()
        for pattern in patterns:
            validate_pattern(pattern)
            if pattern.startswith("/"):
                name = os.path.basename(os.path.realpath(pattern))
                if name not in found:
                    raise ValidationError("devices", pattern, "not a block device on this host")
                wanted.add(name)
            else:
                wanted.update(fnmatch.filter(found, pattern))
        for name, devpath in found.items():
            if devpath.rsplit("/", 2)[-2] in wanted:
                wanted.add(name)
        return sorted(wanted)

    # -- reading -------------------------------------------------------------

    def probe(self, name, devpath):
        raw = RawDevice(name, devpath)
        base = "%s%s/" % (self.sys_root, devpath)
        raw.maj_min = self._devnums.get(name) or _sysfs.read(base + "dev")
        size = _sysfs.read_int(base + "size")
        raw.size = None if size is None else size * SECTOR
        raw.ro = _sysfs.read_bool(base + "ro")
        if name.startswith(STACKING):
            raw.slaves = _sysfs.listdir(base + "slaves")
        if raw.parent is not None:
            pass  # start and number come with the udev record below, or from sysfs after it
        else:
            raw.logical = _sysfs.read_int(base + "queue/logical_block_size")
            raw.physical = _sysfs.read_int(base + "queue/physical_block_size")
            raw.rotational = _sysfs.read_bool(base + "queue/rotational")
            if raw.virtual:
                raw.removable = False
            else:
                raw.removable = _sysfs.read_bool(base + "removable")
                raw.hw = _hardware(name, base, devpath)
        record = None
        if raw.maj_min:
            record = _sysfs.read("%s/b%s" % (self.udev_data, raw.maj_min))
        raw.has_record = record is not None
        raw.props, raw.links = _sysfs.parse_udev_record(record)
        if raw.parent is not None:
            # udev's blkid read both from the partition table (in 512-byte sectors); sysfs has them too
            start = to_int(raw.props.get("ID_PART_ENTRY_OFFSET"))
            if start is None:
                start = _sysfs.read_int(base + "start")
            raw.start = None if start is None else start * SECTOR
            raw.partition = to_int(raw.props.get("ID_PART_ENTRY_NUMBER"))
            if raw.partition is None:
                raw.partition = _sysfs.read_int(base + "partition")
        return raw

    def load_devnums(self):
        """Read /proc/partitions: the major:minor of every device that is not empty."""
        self._devnums = _sysfs.parse_proc_partitions(_sysfs.read_all(self.proc_partitions))

    def detached(self, name):
        """A loop device with no backing file (empty, so not in /proc/partitions): left out,
        as lsblk leaves it out; hosts keep thousands of them."""
        return bool(self._devnums) and name.startswith("loop") and name not in self._devnums

    def scan(self, patterns=None):
        """{name: RawDevice} of the selected devices (all when patterns is empty)."""
        self.load_devnums()
        found = self.list()
        names = self.select(found, patterns)
        return dict((name, self.probe(name, found[name])) for name in names)

    def udev_running(self):
        """Whether udev keeps a database here (it does only while udevd runs or has run)."""
        return os.path.isdir(self.udev_data)


# -- facts -----------------------------------------------------------------------

def _vendor_model(raw):
    props, hw = raw.props, raw.hw
    vendor = hw.get("vendor") or _sysfs.unescape_udev(props.get("ID_VENDOR_ENC")) or props.get("ID_VENDOR")
    model = hw.get("model") or _sysfs.unescape_udev(props.get("ID_MODEL_ENC")) or props.get("ID_MODEL")
    return (vendor.strip() if vendor else None), (model.strip() if model else None)


def _optional(info, key, value):
    if value not in (None, ""):
        info[key] = value


def device_facts(raw, disk=None):
    """The facts of one block device, before the cross-links (holders, partitions, used_by).

    Only what is known is kept: a field without a value, an empty list or an empty
    dict is left out, which keeps the facts of a host with thousands of devices small.
    """
    props = raw.props
    kind = "part" if raw.parent else device_type(raw.name, None)
    info = {"name": raw.name, "type": kind, "maj_min": raw.maj_min, "size": raw.size, "read_only": raw.ro}
    if raw.parent is None:  # a partition has its disk's, not repeated
        info.update(logical_sector_size=raw.logical, physical_sector_size=raw.physical,
                    rotational=raw.rotational, removable=raw.removable)
    links = _sysfs.stable_links(raw.links)
    if links:
        info["links"] = links
    if raw.slaves:
        info["slaves"] = list(raw.slaves)
    source = disk if disk is not None else raw
    vendor, model = _vendor_model(source)
    _optional(info, "vendor", vendor)
    _optional(info, "model", model)
    _optional(info, "serial", source.props.get("ID_SERIAL_SHORT") or source.hw.get("serial"))
    _optional(info, "wwn", source.props.get("ID_WWN_WITH_EXTENSION") or source.props.get("ID_WWN"))
    _optional(info, "wwid", source.hw.get("wwid"))
    if raw.parent is None:
        _optional(info, "scsi_address", raw.hw.get("scsi_address"))
        _optional(info, "scsi_state", raw.hw.get("state"))
        if props.get("ID_PART_TABLE_TYPE"):
            info["partition_table"] = {"type": props["ID_PART_TABLE_TYPE"], "uuid": props.get("ID_PART_TABLE_UUID")}
    else:
        info["parent"] = raw.parent
        info["partition"] = {
            "number": raw.partition if raw.partition is not None else to_int(props.get("ID_PART_ENTRY_NUMBER")),
            "start": raw.start, "type": props.get("ID_PART_ENTRY_TYPE"),
            "name": _sysfs.unescape_udev(props.get("ID_PART_ENTRY_NAME")), "uuid": props.get("ID_PART_ENTRY_UUID"),
        }
    if props.get("ID_FS_TYPE"):
        info["fs"] = {"type": props["ID_FS_TYPE"], "uuid": props.get("ID_FS_UUID"), "label": props.get("ID_FS_LABEL")}
    if kind == "dm":
        uuid = props.get("DM_UUID")
        info["dm"] = {"name": props.get("DM_NAME"), "uuid": uuid, "kind": dm_kind(uuid)}
    return info


def link_devices(devices, mounts=None, swaps=None):
    """Fill holders, partitions and used_by (mounts, swap, multipath, md, holders).

    mounts: {"major:minor" or "/dev/NAME": [mount points]}; swaps: kernel names in use as swap.
    """
    mounts = mounts or {}
    swaps = swaps or set()
    for name, info in devices.items():
        for slave in info.get("slaves", ()):
            if slave in devices:
                devices[slave].setdefault("holders", []).append(name)
        parent = info.get("parent")
        if parent in devices:
            devices[parent].setdefault("partitions", []).append(name)
    for name, info in devices.items():
        used = {}
        if "partitions" in info:
            info["partitions"].sort(key=lambda part: (devices[part]["partition"]["number"] or 0, part))
        mounted = mounts.get(info["maj_min"], []) + mounts.get("/dev/" + name, [])
        if mounted:
            used["mounts"] = sorted(set(mounted))
        if name in swaps:
            used["swap"] = True
        for holder in sorted(info.get("holders", ())):
            holder_info = devices[holder]
            dm = holder_info.get("dm")
            if dm and dm["kind"] == "mpath":
                used["multipath"] = dm["name"]
            elif holder_info["type"] == "md":
                used["md"] = holder
            else:
                used.setdefault("holders", []).append(holder)
        if "holders" in info:
            info["holders"].sort()
        if used:
            info["used_by"] = used


def set_free(devices):
    """A device is free when nothing is on it or uses it: no signature, no partitions,
    no holders, not mounted, not swap, writable and not empty."""
    for info in devices.values():
        info["free"] = bool(
            info["size"] and not info["read_only"] and "fs" not in info and "partition_table" not in info
            and "partitions" not in info and "holders" not in info and "used_by" not in info
            and info["type"] != "rom")
