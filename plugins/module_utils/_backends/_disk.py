# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""disk pools: a partition table on a whole device; volumes are its partitions.

Build makes the label (gpt or dos) with parted, only on a blank device unless
overwrite. Partitions start on 1 MiB (or the device's larger optimal I/O size)
and are whole multiples of it. A volume's key is its /dev/disk/by-partuuid
link, computed from the table so it is known even where udev does not run.

The table is read without parted, read-only (wipefs, partx, the GPT header:
_tools/_partition_table.py): parted opens the disk for writing even to print it,
and where udev runs that makes udev re-read the table, dropping and re-adding
every partition node. After every change the kernel's partition nodes are checked against the table
and brought in line with `partx -u` (hosts whose kernel does not read tables).

Any name of a partition's node (a by-id or by-path link, a node made elsewhere) is that volume:
nodes are compared by device number. A volume's permissions are refused, not ignored: udev sets
those of partition nodes again at every boot and every re-read of the table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
import time

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import (
    PoolBackend, create_volume_words, delete_volume_words, resize_volume_words)
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev, _perms, _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._host._blockdev import kernel_name, resolve
from ansible_collections.poolcraft.storage.plugins.module_utils._host._wipe import overwrite
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action, Permissions, PoolStatus, VolumeDef
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._parted import Parted, Partx
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._partition_table import (
    BY_PARTUUID, DEV, DOS_PRIMARY_SLOTS, GPT_SLOTS, UNNAMED, Extent, Slot, kernel_partitions, label_of, read_layout)
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import QemuImg
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._udevadm import Udevadm, udev_runs
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._wipefs import Wipefs
from ansible_collections.poolcraft.storage.plugins.module_utils._units import SECTOR, human_size, round_up

MIB = 1 << 20
# an optimal I/O size above this is taken for a device's mistake, not a wish
_MAX_GRAIN = 64 * MIB
# how often and how long to wait for udev's links after a change
_LINK_WAITS = 10
_LINK_WAIT = 0.5

# source.format -> parted's name of the label (wipefs names them as source.format does)
LABELS = {"gpt": "gpt", "dos": "msdos"}
# how a volume format is made: parted's fs-type at mkpart, then a flag
MAKE = {
    "none": (None, None),
    "linux": ("ext2", None),
    "linux-swap": ("linux-swap", None),
    "linux-lvm": (None, "lvm"),
    "linux-raid": (None, "raid"),
    "fat16": ("fat16", None),
    "fat32": ("fat32", None),
}
# GPT names we write: ASCII (parted refuses others under LC_ALL=C), no blanks or quotes
# (parted splits its arguments into words again), at most 36 characters (the field's size)
_GPT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+@-]{0,35}$")


def optimal_io_size(disk):
    return _sysfs.read_int(os.path.join(_blockdev.SYS_BLOCK, disk, "queue", "optimal_io_size")) or 0


def block_size(path):
    """Bytes of a block device or a file."""
    with open(path, "rb") as handle:
        return handle.seek(0, os.SEEK_END)


def partition_number_at(disk, path):
    """The number of the kernel's partition of disk that path is a node of, by device number (any
    link or name of it); None when path is no block device or no partition of disk."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISBLK(st.st_mode):
        return None
    for number, (name, _start, _size) in kernel_partitions(disk).items():
        try:
            if os.stat(os.path.join(DEV, name)).st_rdev == st.st_rdev:
                return number
        except OSError:
            continue
    return None


def link_target(uuid):
    """Where the by-partuuid link of uuid leads (itself when there is none)."""
    return os.path.realpath(BY_PARTUUID + uuid)


class DiskBackend(PoolBackend):

    pool_type = "disk"
    volume_formats = ("none", "linux", "linux-swap", "linux-lvm", "linux-raid", "fat16", "fat32")
    # none asks for no particular type: any partition satisfies it
    any_volume_format = "none"
    # the source's format is an image format; a partition's is its type
    clone_keeps_format = False
    required_source = ("devices",)
    single_device = True
    source_formats = tuple(LABELS)
    source_formats_reason = "disk pools take gpt or dos (or nothing: the label there)"
    fixed_target_path = DEV
    fixed_target_reason = ("disk pools keep their volumes under /dev (by-partuuid links or kernel nodes); "
                           "leave it out or give /dev")
    takes_mount_options = False
    no_target_permissions = "disk pools have no directory of their own; udev sets the nodes' permissions"
    # refused, not ignored: a chmod of the node would not last, and a task would report it in line when it is not
    no_volume_permissions = ("disk pools do not set volume permissions: udev gives a partition's node its owner, group "
                             "and mode again at every boot and re-read of the table, so a change would not last; "
                             "write a udev rule (ENV{ID_PART_ENTRY_UUID}) instead")

    @staticmethod
    def _device(pool):
        return pool.source.devices[0]

    def _layout(self, pool):
        return read_layout(self.runner, resolve(self._device(pool)))

    def _labelled(self, pool):
        """The layout of a device that holds the label the pool asks for; raise otherwise."""
        layout = self._layout(pool)
        if not self._label_matches(pool, layout.label):
            raise StorageError("pool %r: %s" % (pool.name, self._unbuilt(pool, layout.label, layout.signatures)))
        return layout

    @staticmethod
    def _label_matches(pool, label):
        wanted = pool.source.format
        return label == wanted if wanted else label is not None

    def _unbuilt(self, pool, label, signatures):
        if label is None:
            have = "no partition table%s" % (" (it carries %s)" % ", ".join(signatures) if signatures else "")
        else:
            have = "a %s partition table" % label
        wanted = pool.source.format
        other = ", not %s" % wanted if wanted and label is not None else ""
        return "source.device %s holds %s%s" % (self._device(pool), have, other)

    def _signatures(self, pool):
        return tuple(Wipefs(self.runner).signatures(resolve(self._device(pool))))

    # -- build, start, stop, delete --------------------------------------------------

    def is_built(self, pool):
        return self._label_matches(pool, label_of(self._signatures(pool)))

    def unbuilt_reason(self, pool):
        signatures = self._signatures(pool)
        return self._unbuilt(pool, label_of(signatures), signatures)

    def plan_build(self, pool, overwrite):
        state = _blockdev.inspect(self._device(pool), self.runner)
        if self._label_matches(pool, label_of(state.signatures)):
            return []
        fmt = pool.source.format
        if fmt is None:
            raise ValidationError("source.format", None, "set the partition table to make on %s (gpt or dos)" % state.path)
        _blockdev.ensure_writable(state, overwrite)
        erase = [Action("erase %s signature on %s" % ("/".join(state.signatures), state.path),
                        lambda: self._erase(pool, overwrite))] if state.signatures else []
        return erase + [Action("make a %s partition table on %s" % (fmt, state.path), lambda: self._mklabel(pool, overwrite))]

    def _writable(self, pool, overwrite):
        state = _blockdev.inspect(self._device(pool), self.runner)
        # checked again here: the device may have changed since the plan
        _blockdev.ensure_writable(state, overwrite)
        return state

    def _erase(self, pool, overwrite):
        state = self._writable(pool, overwrite)
        if state.signatures:
            Wipefs(self.runner).erase_all(state.path)

    def _mklabel(self, pool, overwrite):
        state = _blockdev.inspect(self._device(pool), self.runner)
        if self._label_matches(pool, label_of(state.signatures)):
            return
        _blockdev.ensure_writable(state, overwrite)
        if state.signatures:
            Wipefs(self.runner).erase_all(state.path)
        Parted(self.runner).mklabel(state.path, LABELS[pool.source.format])
        self._settle(state.path)

    def plan_start(self, pool):
        # the label may be made by the build planned before this: looked for when started
        return [Action("check the partition table of %s" % self._device(pool), lambda: self._labelled(pool))]

    def plan_stop(self, pool):
        """Nothing to release: the partitions stay as they are."""
        return []

    def _refuse_delete(self, pool):
        """The disk's node, or None when it holds no table of the pool's; raise while it holds or serves anything."""
        layout = self._layout(pool)
        if not self._label_matches(pool, layout.label):
            return None
        if layout.slots:
            raise StorageError("pool %r: %s still holds %d partitions; delete its volumes first"
                               % (pool.name, layout.node, len(layout.slots)))
        state = _blockdev.inspect(layout.node, self.runner)
        if state.in_use:
            raise StorageError("pool %r: %s is in use (%s); refusing to erase its partition table"
                               % (pool.name, layout.node, ", ".join(state.uses)))
        return layout.node

    def plan_delete(self, pool):
        self._refuse_delete(pool)
        return [Action("erase the partition table of %s" % self._device(pool), lambda: self._delete(pool))]

    def _delete(self, pool):
        """Erase the (empty) partition table."""
        self._refuse_delete(pool)
        node = resolve(self._device(pool))
        Wipefs(self.runner).erase_all(node)
        self._settle(node)

    def refresh(self, pool):
        layout = self._layout(pool)
        free = self._free_extents(layout)
        return PoolStatus(capacity=layout.size,
                          allocation=sum(slot.size for slot in layout.slots if slot.kind != "extended"),
                          available=sum(extent.size for extent in free),
                          volume_count=len(layout.slots),
                          free_extents=tuple({"start": extent.start, "end": extent.end, "size": extent.size}
                                             for extent in free))

    # -- partition nodes ---------------------------------------------------------------

    def _nodes_match(self, layout):
        kernel = kernel_partitions(layout.disk)
        if set(kernel) != set(slot.number for slot in layout.slots):
            return False
        for slot in layout.slots:
            _name, start, size = kernel[slot.number]
            # the kernel gives an extended partition 1 KiB, whatever its extent
            if start * SECTOR != slot.start or (slot.kind != "extended" and size * SECTOR != slot.size):
                return False
        return True

    def _settle(self, node):
        """After a change: the kernel's partition nodes as in the table, udev's links made."""
        if udev_runs():
            Udevadm(self.runner).settle()
        layout = read_layout(self.runner, node)
        if self._nodes_match(layout):
            self._await_links(layout)
            return layout
        if layout.label is not None:
            Partx(self.runner).update(node)
        else:
            # no table to read: partx -u fails; the nodes left from the old one go
            Partx(self.runner).delete_all(node)
        if udev_runs():
            Udevadm(self.runner).settle()
        if not self._nodes_match(layout):
            raise StorageError("the kernel's partitions of %s do not match its table even after partx -u; "
                               "check that nothing holds them" % node)
        self._await_links(layout)
        return layout

    def _await_links(self, layout):
        """Where udev runs, its by-partuuid links, a little longer: a close of the disk after writing
        makes udev re-read the table, an event that may come after the settle. Without them,
        volumes are reported by their kernel nodes, so this never fails."""
        if not udev_runs():
            return
        for _attempt in range(_LINK_WAITS):
            if all(link_target(slot.uuid) == self._node_of(layout, slot) for slot in layout.slots):
                return
            time.sleep(_LINK_WAIT)
            Udevadm(self.runner).settle()

    def _node_of(self, layout, slot):
        kernel = kernel_partitions(layout.disk)
        if slot.number in kernel:
            return os.path.join(DEV, kernel[slot.number][0])
        # the kernel's own naming, for a partition it does not show (yet)
        separator = "p" if layout.disk[-1:].isdigit() else ""
        return os.path.join(DEV, "%s%s%d" % (layout.disk, separator, slot.number))

    # -- free space and placement -----------------------------------------------------

    def _grain(self, disk):
        optimal = optimal_io_size(disk)
        if MIB < optimal <= _MAX_GRAIN and optimal % MIB == 0:
            return optimal
        return MIB

    def _free_extents(self, layout):
        """Where a new partition can go: the free extents, each start aligned up and each end down to the grain."""
        grain = self._grain(layout.disk)
        usable = []
        for extent in layout.free:
            start = max(round_up(extent.start, grain), grain)
            end = (extent.end + 1) // grain * grain - 1
            if end - start + 1 >= grain:
                usable.append(Extent(start, end))
        return usable

    def _next_number(self, layout):
        used = set(slot.number for slot in layout.slots)
        limit = DOS_PRIMARY_SLOTS if layout.label == "dos" else GPT_SLOTS
        return next((number for number in range(1, limit + 1) if number not in used), None)

    def round_capacity(self, pool, size):
        return round_up(size, self._grain(kernel_name(resolve(self._device(pool)))))

    # -- volumes ---------------------------------------------------------------------

    def _volume(self, layout, slot):
        node = self._node_of(layout, slot)
        key = BY_PARTUUID + slot.uuid
        path = key if os.path.exists(node) and link_target(slot.uuid) == node else node
        return VolumeDef(name=slot.volume, path=path, key=key, format=slot.format, capacity=slot.size,
                         allocation=slot.size, type="block",
                         permissions=_perms.of_path(node) if os.path.exists(node) else Permissions())

    def list_volumes(self, pool):
        layout = self._labelled(pool)
        return sorted((self._volume(layout, slot) for slot in layout.slots), key=lambda vol: vol.name)

    def get_volume(self, pool, name):
        layout = self._labelled(pool)
        slot = layout.slot_named(name)
        return None if slot is None else self._volume(layout, slot)

    def volume_path(self, pool, name):
        layout = self._labelled(pool)
        slot = layout.slot_named(name)
        if slot is not None:
            return self._volume(layout, slot).path
        number = self._next_number(layout) or 0
        return self._node_of(layout, Slot(number, 0, 0, "", "", "primary", "none", name))

    def volume_name_at(self, pool, path):
        try:
            disk = kernel_name(resolve(self._device(pool)))
        except (StorageError, OSError):
            return None  # not this pool's: its device is missing
        if path.startswith(BY_PARTUUID):
            # the key, known from the table even where no udev makes the link
            return self._volume_where(pool, lambda layout: layout.slot_keyed(BY_PARTUUID + os.path.basename(path).lower()))
        number = partition_number_at(disk, path)
        if number is not None:
            return self._volume_where(pool, lambda layout: next((slot for slot in layout.slots if slot.number == number), None))
        if path.startswith(DEV + "/") and not os.path.lexists(path):
            # a partition of the table whose node the kernel does not show (yet): its kernel name
            real = os.path.realpath(path)
            return self._volume_where(pool, lambda layout: next((slot for slot in layout.slots
                                                                 if self._node_of(layout, slot) == real), None))
        return None

    def _volume_where(self, pool, find):
        """The name of the volume find(layout) gives, or None (no such slot, or no table)."""
        try:
            layout = read_layout(self.runner, resolve(self._device(pool)))
        except StorageError:
            return None  # not this pool's: its device holds no table
        slot = find(layout)
        return None if slot is None else slot.volume

    # -- creating ----------------------------------------------------------------------

    def _new_size(self, pool, spec):
        if spec.clone is None:
            return spec.capacity
        source = spec.clone.capacity or block_size(spec.clone.path)
        if spec.capacity is not None and spec.capacity < source:
            raise ValidationError("capacity", spec.capacity, "smaller than the clone source (%s)" % human_size(source))
        return max(spec.capacity or 0, self.round_capacity(pool, source))

    def _plan_new(self, pool, layout, spec):
        """(number, start, end) of the partition spec asks for; raise when it cannot be made."""
        gpt = layout.label == "gpt"
        number = self._next_number(layout)
        if number is None:
            raise StorageError("pool %r: %s has no free partition entry%s" % (
                pool.name, layout.node, "" if gpt else " (dos labels have 4 primary partitions; "
                "extended and logical ones are not made by this version)"))
        if gpt:
            if UNNAMED.match(spec.name):
                raise ValidationError("name", spec.name, "partN names are those of partitions without a name; "
                                      "choose another name")
            if not _GPT_NAME.match(spec.name):
                raise ValidationError("name", spec.name, "a GPT partition name here is 1 to 36 characters: "
                                      "ASCII letters, digits and _ . + @ - (not first)")
            if any(slot.label_name == spec.name for slot in layout.slots):
                raise ValidationError("name", spec.name, "another partition of %s has this GPT name" % layout.node)
            if spec.format == "fat16":
                raise ValidationError("format", spec.format, "GPT has one partition type for FAT "
                                      "(Microsoft basic data), read back as fat32: use fat32")
        elif spec.name != "part%d" % number:
            raise ValidationError("name", spec.name, "partitions on a dos label are named by number: "
                                  "the next one is part%d" % number)
        size = self._new_size(pool, spec)
        free = self._free_extents(layout)
        place = next((extent for extent in free if extent.size >= size), None)
        if place is None:
            largest = max([extent.size for extent in free] or [0])
            raise ValidationError("capacity", size, "no free extent of %s on %s holds it (the largest holds %s)"
                                  % (human_size(size), layout.node, human_size(largest)))
        return number, place.start, place.start + size - 1

    def plan_create_volume(self, pool, spec):
        if spec.backing is not None:
            raise ValidationError("backing_store", spec.as_given("backing_store"),
                                  "disk pools have no overlays: a partition is raw storage")
        self._plan_new(pool, self._labelled(pool), spec)
        return [Action(create_volume_words(spec), lambda: self._create_volume(pool, spec))]

    def _create_volume(self, pool, spec):
        layout = self._labelled(pool)
        # placed again: the table may have changed since the plan
        _number, start, end = self._plan_new(pool, layout, spec)
        parted = Parted(self.runner)
        fs_type, flag = MAKE[spec.format]
        parted.mkpart(layout.node, spec.name if layout.label == "gpt" else "primary", fs_type, start, end)
        made = next((slot for slot in read_layout(self.runner, layout.node).slots if slot.start == start), None)
        if made is None:
            raise StorageError("parted made no partition at byte %d of %s" % (start, layout.node))
        if flag:
            parted.set_flag(layout.node, made.number, flag)
        layout = self._settle(layout.node)
        if spec.clone is None:
            return None
        # every byte of the source; the rest of the partition keeps what was there
        QemuImg(self.runner).convert(spec.clone.path, spec.clone.format, self._node_of(layout, made), "raw")
        return "copy"

    # -- resizing -------------------------------------------------------------------------

    def _slot_of(self, layout, volume):
        slot = layout.slot_keyed(volume.key)
        if slot is None:
            raise StorageError("volume %r (%s) is gone from %s" % (volume.name, volume.key, layout.node))
        return slot

    def _refuse_resize(self, pool, volume, capacity):
        layout = self._labelled(pool)
        slot = self._slot_of(layout, volume)
        if capacity < slot.size:
            raise ValidationError("capacity", capacity, "disk pools do not shrink partitions (volume %r has %s)"
                                  % (volume.name, human_size(slot.size)))
        if slot.kind != "primary":
            raise ValidationError("capacity", capacity, "volume %r is a %s partition: disk pools grow only "
                                  "primary and GPT partitions" % (volume.name, slot.kind))
        after = sorted((other for other in layout.slots if other.start > slot.start and other.kind != "logical"),
                       key=lambda other: other.start)
        if after:
            raise ValidationError("capacity", capacity, "volume %r cannot grow: only the last partition grows, "
                                  "and %r follows it" % (volume.name, after[0].volume))
        room = next((extent.end for extent in layout.free if extent.start == slot.end + 1), slot.end) - slot.start + 1
        if capacity > room:
            raise ValidationError("capacity", capacity, "volume %r can grow to %d bytes (%s) at most: the end of "
                                  "the free space after it" % (volume.name, room, human_size(room)))
        return slot

    def plan_resize_volume(self, pool, volume, capacity):
        self._refuse_resize(pool, volume, capacity)
        return [Action(resize_volume_words(volume, capacity), lambda: self._resize(pool, volume, capacity))]

    def _resize(self, pool, volume, capacity):
        slot = self._refuse_resize(pool, volume, capacity)
        node = resolve(self._device(pool))
        Parted(self.runner).resizepart(node, slot.number, slot.start + capacity - 1)
        self._settle(node)

    # -- deleting -------------------------------------------------------------------------

    def _refuse_delete_volume(self, pool, volume):
        layout = self._labelled(pool)
        slot = self._slot_of(layout, volume)
        if slot.kind == "extended" and any(other.kind == "logical" for other in layout.slots):
            raise StorageError("volume %r is the extended partition of %s and holds logical partitions; "
                               "delete those first" % (volume.name, layout.node))
        node = self._node_of(layout, slot)
        state = _blockdev.inspect(node, self.runner)
        if state.in_use:
            raise StorageError("volume %r (%s) is in use (%s); refusing to delete it"
                               % (volume.name, node, ", ".join(state.uses)))
        return layout, slot, node

    def plan_delete_volume(self, pool, volume, wipe=None):
        self._refuse_delete_volume(pool, volume)
        return [Action(delete_volume_words(volume, wipe), lambda: self._delete_volume(pool, volume, wipe))]

    def _delete_volume(self, pool, volume, wipe):
        layout, slot, node = self._refuse_delete_volume(pool, volume)
        if wipe and slot.kind != "extended":
            # O_EXCL: the kernel refuses while anything mounts or holds the partition
            overwrite(node, wipe, expected_size=slot.size, exclusive=True)
        Parted(self.runner).rm(layout.node, slot.number)
        self._settle(layout.node)
