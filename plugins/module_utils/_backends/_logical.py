# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""logical pools: an LVM volume group; volumes are its LVs, at /dev/VG/LV.

- The VG is source.name (the pool's name by default), made of source.devices.
  Devices are matched with the PVs LVM reports by device number, never by
  name, so /dev/disk/by-id links and LVM's /dev/sdX names compare equal.
- Build is safe: a device with any signature is refused unless overwrite, a
  device in use (mounted, held, a PV of another VG) always; a path of a
  multipath map always, naming the map to build on instead. Build also brings
  the VG in line with source.devices: new devices are added; a PV no longer
  listed is taken out only with remove_devices and only while nothing is
  allocated on it. A thin_pool is made (and grown) by build too.
- Running is activation (vgchange -ay/-an); the store's marks say whether the
  pool runs (live_state None), since an unactivated VG is still there.
  Autostart is LVM's own autoactivation flag of the VG.
- Volumes: linear LVs, or thin LVs when the pool has a thin pool. A volume made
  with a backing store is an LVM snapshot of it. The key of a volume is its
  path, as for file volumes (storage_volume's key= takes a path). The thin pool
  and LVM's internal LVs are not volumes. Any name of an LV's device node
  (/dev/mapper/VG-LV, /dev/dm-N, a link to either) is that volume: they are
  compared by device number.
- A volume's permissions are refused, not ignored: udev makes an LV's node, with
  its own owner and mode, again at every activation (the pool's stop and start)
  and boot, so a chmod would not last.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
from collections import namedtuple

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import (
    PoolBackend, create_volume_words, delete_volume_words, resize_volume_words)
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev
from ansible_collections.poolcraft.storage.plugins.module_utils._host._blockdev import device_number
from ansible_collections.poolcraft.storage.plugins.module_utils._host._multipath_paths import map_of_path
from ansible_collections.poolcraft.storage.plugins.module_utils._host._wipe import overwrite
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action, BackingStore, PoolStatus, VolumeDef
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._lvm import Lvm
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import QemuImg
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._wipefs import Wipefs
from ansible_collections.poolcraft.storage.plugins.module_utils._units import SECTOR, human_size, round_up

# LVM's own naming rules (lvm(8) VALID NAMES), so a bad name is refused before any command runs
_LVM_NAME = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$")
_LV_RESERVED_PREFIXES = ("snapshot", "pvmove")
_LV_RESERVED_PARTS = ("_cdata", "_cmeta", "_corig", "_iorig", "_mimage", "_mlog", "_pmspare", "_rimage",
                      "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig")

# A device of source.devices: as given, the node it resolves to, and its device number.
Device = namedtuple("Device", "given path number")


def check_lvm_name(name, option, lv=False):
    if not name or len(name) > 127 or name in (".", "..") or not _LVM_NAME.match(name):
        raise ValidationError(option, name, "not a valid LVM name: letters, digits and + _ . - only, "
                                            "not starting with -")
    if lv and (name.startswith(_LV_RESERVED_PREFIXES) or any(part in name for part in _LV_RESERVED_PARTS)):
        raise ValidationError(option, name, "LVM reserves this name for its own LVs")


def refuse_multipath_path(device):
    """A path of a multipath map is never written behind the map's back: refused, naming the map."""
    mapped = map_of_path(device.path)
    if mapped is not None:
        raise StorageError("source.devices %s is a path of multipath map %s; refusing to use it, even with overwrite: "
                           "list the map instead, %s or %s" % (device.given, mapped.name, mapped.path, mapped.by_id))


def lv_name_at(vg_dir, path):
    """The name, in vg_dir (/dev/VG, where LVM links the VG's active LVs), of the node that is the
    same block device as path (by st_rdev); None when path is no block device or none is."""
    try:
        st = os.stat(path)
        names = sorted(os.listdir(vg_dir))
    except (OSError, ValueError):
        return None
    if not stat.S_ISBLK(st.st_mode):
        return None
    for name in names:
        try:
            node = os.stat(os.path.join(vg_dir, name))
        except OSError:
            continue
        if stat.S_ISBLK(node.st_mode) and node.st_rdev == st.st_rdev:
            return name
    return None


class LogicalBackend(PoolBackend):

    pool_type = "logical"
    volume_formats = ("raw",)
    # an LV holds raw data: a qcow2 (VDI, VMDK ...) source is converted, as qemu-img reads it
    clone_keeps_format = False
    volume_options = ()
    pool_options = ("thin_pool",)
    source_formats = ("lvm2",)
    source_formats_reason = "logical pools are lvm2"
    fixed_target_path = "/dev/{source_name}"
    fixed_target_reason = "the volumes of a logical pool are at {path} (LVM makes them there)"
    no_target_permissions = "{path} belongs to LVM and udev; logical pools cannot set it"
    # refused, not ignored: a chmod of the node would not last, and a task would report it in line when it is not
    no_volume_permissions = ("logical pools do not set volume permissions: udev gives an LV's node its owner, group and "
                             "mode again at every activation and boot, so a change would not last; write a udev rule "
                             "(ENV{DM_VG_NAME}, ENV{DM_LV_NAME}) instead")
    # a VG takes and gives up PVs while its LVs are in use
    source_changes_while_running = True

    def __init__(self, runner, settings=None):
        super(LogicalBackend, self).__init__(runner, settings)
        self.lvm = Lvm(runner)

    @staticmethod
    def vg_name(pool):
        return pool.source.name or pool.name

    def validate(self, pool):
        # the VG's name first: the fixed target path is made of it
        check_lvm_name(self.vg_name(pool), "source.name" if pool.source.name else
                       "name (the volume group, as source.name is not set)")
        super(LogicalBackend, self).validate(pool)
        if pool.thin_pool is not None:
            check_lvm_name(pool.thin_pool.name, "thin_pool.name", lv=True)

    # -- what LVM has ----------------------------------------------------------------

    def _vg(self, pool):
        return self.lvm.volume_group(self.vg_name(pool))

    def _lvs(self, pool):
        """{name: LogicalVolume} of the pool's VG."""
        return dict((lv.name, lv) for lv in self.lvm.logical_volumes(self.vg_name(pool)))

    @staticmethod
    def _listed(pool):
        """The Devices of source.devices; the same device twice (under two names) is refused."""
        devices, seen = [], {}
        for given in pool.source.devices:
            path = _blockdev.resolve(given, "source.devices")
            number = device_number(path)
            if number in seen:
                raise ValidationError("source.devices", given, "the same device as %s" % seen[number])
            seen[number] = given
            devices.append(Device(given, path, number))
        return devices

    def _thin_pool(self, pool, lvs):
        """The thin pool LV of the definition, or None when it is not made yet."""
        lv = lvs.get(pool.thin_pool.name)
        if lv is not None and not lv.is_thin_pool:
            raise StorageError("thin_pool.name=%r: %s/%s is an LV that is not a thin pool"
                               % (pool.thin_pool.name, self.vg_name(pool), lv.name))
        return lv

    # -- build ------------------------------------------------------------------------

    def is_built(self, pool):
        # the VG is the storage (what purge deletes); a missing thin pool is made by build,
        # and volumes are refused until it is
        return self._vg(pool) is not None

    def unbuilt_reason(self, pool):
        return "volume group %s does not exist" % self.vg_name(pool)

    def plan_build(self, pool, overwrite):
        return self._changes(pool, overwrite)

    def _changes(self, pool, overwrite):
        """The Actions that make the VG (and its thin pool) what the definition says."""
        name, vg = self.vg_name(pool), self._vg(pool)
        listed = self._listed(pool)
        pvs = self.lvm.physical_volumes()
        if vg is None:
            if not listed:
                raise ValidationError("source.devices", [], "volume group %s does not exist; list the devices to make it of"
                                      % name)
            changes = self._new_devices(listed, pvs, name, overwrite)
            paths = [device.path for device in listed]
            autostart = bool(self.settings.get("autostart"))
            changes.append(Action("create volume group %s on %s (LVM autoactivation %s)"
                                  % (name, ", ".join(paths), "on" if autostart else "off"),
                                  lambda: self._vgcreate(name, paths, autostart)))
            lvs = {}
        else:
            changes = self._device_changes(pool, vg, listed, pvs, overwrite) if listed else []
            lvs = self._lvs(pool)
        if pool.thin_pool is not None:
            changes += self._thin_pool_changes(pool, vg, lvs)
        return changes

    def _new_devices(self, devices, pvs, vg_name, overwrite):
        """Checks and Actions that make each device a PV ready for vg_name."""
        by_number = dict((pv.maj_min, pv) for pv in pvs if pv.maj_min)
        changes = []
        for device in devices:
            refuse_multipath_path(device)
            pv = by_number.get(device.number)
            if pv is not None and pv.vg and pv.vg != vg_name:
                raise StorageError("source.devices %s is a physical volume of volume group %s; refusing to use it, "
                                   "even with overwrite" % (device.given, pv.vg))
            state = _blockdev.inspect(device.path, self.runner)
            _blockdev.ensure_writable(state, overwrite, "source.devices")
            if state.signatures:
                changes.append(Action("erase %s signature on %s" % ("/".join(state.signatures), device.path),
                                      lambda path=device.path: self._erase(path, overwrite)))
            changes.append(Action("make %s a physical volume" % device.path,
                                  lambda path=device.path: self._pvcreate(path, overwrite)))
        return changes

    def _writable(self, path, overwrite):
        """The device as it is now: the plan may be minutes old (multipathd may have made a map of it)."""
        refuse_multipath_path(Device(path, path, None))
        state = _blockdev.inspect(path, self.runner)
        _blockdev.ensure_writable(state, overwrite, "source.devices")
        return state

    def _erase(self, path, overwrite):
        if self._writable(path, overwrite).signatures:
            Wipefs(self.runner).erase_all(path)

    def _pvcreate(self, path, overwrite):
        self._writable(path, overwrite)
        self.lvm.pvcreate([path])

    def _vgcreate(self, name, paths, autostart):
        if self.lvm.volume_group(name) is not None:
            raise StorageError("volume group %s appeared since the plan; nothing more was done" % name)
        self.lvm.vgcreate(name, paths, autostart)

    def _device_changes(self, pool, vg, listed, pvs, overwrite):
        """Add the listed devices the VG lacks; take out its PVs that are not listed (remove_devices)."""
        members = [pv for pv in pvs if pv.vg == vg.name]
        numbers = set(device.number for device in listed)
        member_numbers = set(pv.maj_min for pv in members)
        new = [device for device in listed if device.number not in member_numbers]
        changes = self._new_devices(new, pvs, vg.name, overwrite)
        if new:
            paths = [device.path for device in new]
            changes.append(Action("add %s to volume group %s" % (", ".join(paths), vg.name),
                                  lambda: self.lvm.vgextend(vg.name, paths)))
        for pv in members:
            if pv.maj_min in numbers:
                continue
            if pv.maj_min is None:  # LVM names it "[unknown]": its UUID is what tells it
                raise StorageError("volume group %s has a physical volume whose device is missing (PV UUID %s); "
                                   "bring the device back, or repair the volume group (vgreduce --removemissing) "
                                   "first" % (vg.name, pv.uuid))
            if not self.settings.get("remove_devices"):
                raise StorageError("source.devices: %s is a physical volume of volume group %s but is not listed; "
                                   "list it, or set remove_devices: true to take it out" % (pv.name, vg.name))
            if pv.allocated_extents:
                raise StorageError("cannot take %s out of volume group %s: %d of its extents are in use by LVs; "
                                   "remove or move those first" % (pv.name, vg.name, pv.allocated_extents))
            changes.append(Action("take %s out of volume group %s and remove its physical volume label"
                                  % (pv.name, vg.name), lambda name=pv.name: self._take_out(vg.name, name)))
        return changes

    def _take_out(self, vg_name, device):
        self.lvm.vgreduce(vg_name, device)
        self.lvm.pvremove([device])

    def _thin_pool_changes(self, pool, vg, lvs):
        thin, name = pool.thin_pool, self.vg_name(pool)
        current = self._thin_pool(pool, lvs)
        if current is None:
            if thin.size is None:
                raise ValidationError("thin_pool.size", None, "needed to make thin pool %s in %s" % (thin.name, name))
            size = round_up(thin.size, vg.extent_size) if vg else round_up(thin.size, SECTOR)
            return [Action("create thin pool %s of %s in %s" % (thin.name, human_size(size), name),
                           lambda: self.lvm.create_thin_pool(name, thin.name, size))]
        if thin.size is None:
            return []
        size = round_up(thin.size, vg.extent_size)
        if size < current.size:
            raise ValidationError("thin_pool.size", thin.size, "smaller than thin pool %s (%s); thin pools cannot shrink"
                                  % (thin.name, human_size(current.size)))
        if size == current.size:
            return []
        return [Action("grow thin pool %s from %s to %s" % (thin.name, human_size(current.size), human_size(size)),
                       lambda: self.lvm.resize(name, thin.name, size))]

    # -- running -------------------------------------------------------------------------

    def plan_start(self, pool):
        # the VG may be made by the build planned before this: looked for when started
        return [Action("activate volume group %s" % self.vg_name(pool), lambda: self._activate(pool))]

    def _activate(self, pool):
        if not self.is_built(pool):
            raise StorageError("pool %r is not built (%s); set build: true" % (pool.name, self.unbuilt_reason(pool)))
        self.lvm.activate(self.vg_name(pool), True)

    def _refuse_open(self, pool):
        """False when the VG is gone (nothing to deactivate); raise while a volume is open."""
        name = self.vg_name(pool)
        if self.lvm.volume_group(name) is None:
            return False
        # a thin pool and its sub-LVs are open while any thin LV is active: only volumes count
        busy = sorted(lv.name for lv in self.lvm.logical_volumes(name) if lv.open and lv.is_public)
        if busy:
            raise StorageError("pool %r: logical volumes %s of volume group %s are open; refusing to stop it"
                               % (pool.name, ", ".join(busy), name))
        return True

    def plan_stop(self, pool):
        if not self._refuse_open(pool):
            return []
        return [Action("deactivate volume group %s" % self.vg_name(pool), lambda: self._deactivate(pool))]

    def _deactivate(self, pool):
        if self._refuse_open(pool):
            self.lvm.activate(self.vg_name(pool), False)

    def _autoactivation_change(self, pool, enabled):
        """The VG whose autoactivation flag must change, or None.

        A VG not made yet gets the flag when build makes it (settings["autostart"]).
        The flag is turned on for autostart, but turned off only when the task says
        autostart: false: a VG made elsewhere (the system's own, whose root LV the
        initramfs autoactivates) keeps it when a pool is merely defined on it or removed.
        """
        vg = self._vg(pool)
        if vg is None or vg.autoactivation == enabled:
            return None
        if not enabled and not self.settings.get("autostart_given"):
            return None
        return vg

    def plan_autostart(self, pool, enabled):
        vg = self._autoactivation_change(pool, enabled)
        if vg is None:
            return []
        return [Action("%s LVM autoactivation of volume group %s" % ("enable" if enabled else "disable", vg.name),
                       lambda: self._set_autoactivation(pool, enabled))]

    def _set_autoactivation(self, pool, enabled):
        vg = self._autoactivation_change(pool, enabled)
        if vg is not None:
            self.lvm.set_autoactivation(vg.name, enabled)

    def _refuse_foreign_lvs(self, pool):
        name = self.vg_name(pool)
        thin = pool.thin_pool.name if pool.thin_pool else None
        others = sorted(lv.name for lv in self._lvs(pool).values()
                        if lv.name != thin and not lv.name.startswith("[") and (lv.is_public or lv.is_thin_pool))
        if others:
            raise StorageError("pool %r: volume group %s still holds %s; remove them before purge"
                               % (pool.name, name, ", ".join(others)))

    def plan_delete(self, pool):
        self._refuse_foreign_lvs(pool)
        return [Action("remove volume group %s" % self.vg_name(pool), lambda: self._delete(pool))]

    def _delete(self, pool):
        """vgremove (after the pool's own thin pool), then pvremove of the PVs it had."""
        name = self.vg_name(pool)
        if self.lvm.volume_group(name) is None:
            return
        self._refuse_foreign_lvs(pool)
        devices = sorted(pv.name for pv in self.lvm.physical_volumes() if pv.vg == name)
        if pool.thin_pool is not None and pool.thin_pool.name in self._lvs(pool):
            self.lvm.lvremove(name, pool.thin_pool.name)
        self.lvm.vgremove(name)
        if devices:
            self.lvm.pvremove(devices)

    def refresh(self, pool):
        vg = self._vg(pool)
        if vg is None:
            raise NotFoundError("pool %r: volume group %s does not exist" % (pool.name, self.vg_name(pool)))
        count = sum(1 for lv in self._lvs(pool).values() if lv.is_public)
        return PoolStatus(capacity=vg.size, allocation=vg.size - vg.free, available=vg.free, volume_count=count)

    # -- volumes --------------------------------------------------------------------------

    def round_capacity(self, pool, size):
        vg = self._vg(pool)
        if vg is None:
            return super(LogicalBackend, self).round_capacity(pool, size)
        return round_up(size, vg.extent_size)

    def volume_path(self, pool, name):
        return os.path.join(pool.target_path, name)

    def volume_name_at(self, pool, path):
        name = super(LogicalBackend, self).volume_name_at(pool, path)
        if name is not None:
            return name
        # another name of an LV's node: /dev/mapper/VG-LV, /dev/dm-N, a by-id link
        name = lv_name_at(pool.target_path, path)
        if name is None:
            return None
        try:
            return name if self.get_volume(pool, name) is not None else None
        except StorageError:
            return None

    def _volume(self, pool, lv):
        allocation = lv.size
        if (lv.is_thin or lv.is_snapshot) and not lv.is_thin_pool:
            # thin LVs and snapshots hold only what was written; unknown while inactive
            allocation = int(lv.size * lv.data_percent / 100) if lv.data_percent is not None else 0
        backing = [BackingStore(self.volume_path(pool, lv.origin), "raw")] if lv.origin else []
        path = self.volume_path(pool, lv.name)
        return VolumeDef(name=lv.name, path=path, key=path, format="raw", type="block",
                         capacity=lv.size, allocation=allocation, backing=backing)

    def list_volumes(self, pool):
        return [self._volume(pool, lv) for _name, lv in sorted(self._lvs(pool).items()) if lv.is_public]

    def get_volume(self, pool, name):
        lv = self._lvs(pool).get(name)
        return self._volume(pool, lv) if lv is not None and lv.is_public else None

    def plan_create_volume(self, pool, spec):
        check_lvm_name(spec.name, "name", lv=True)
        self._plan_volume(pool, spec, self._lvs(pool))
        return [Action(create_volume_words(spec), lambda: self._create_volume(pool, spec))]

    def _plan_volume(self, pool, spec, lvs):
        """(origin LV or None, size): what create_volume makes; refusals raised here, at plan time."""
        name = self.vg_name(pool)
        if spec.name in lvs:
            raise ValidationError("name", spec.name, "volume group %s has an LV of this name that is not a volume" % name)
        if spec.backing is not None:
            origin = self._origin(pool, spec.backing.path, lvs)
            if origin.is_thin:
                if spec.capacity is not None:
                    raise ValidationError("capacity", spec.capacity, "a thin snapshot has the size of its origin %s; "
                                                                     "leave capacity out" % origin.name)
                return origin, None
            if spec.capacity is None:
                raise ValidationError("capacity", None, "a snapshot of %s needs its copy-on-write space as capacity"
                                      % origin.name)
            return origin, spec.capacity
        size = spec.capacity if spec.capacity is not None else self.round_capacity(pool, spec.clone.capacity)
        if pool.thin_pool is not None and self._thin_pool(pool, lvs) is None:
            raise StorageError("pool %r has no thin pool %s yet; build the pool" % (pool.name, pool.thin_pool.name))
        return None, size

    def _origin(self, pool, path, lvs):
        origin = lvs.get(self.volume_name_at(pool, path) or "")
        if origin is None or not origin.is_public:
            raise ValidationError("backing_store", path, "a volume of a logical pool is a snapshot of another volume of "
                                                         "the same pool (volume group %s)" % self.vg_name(pool))
        return origin

    def _create_volume(self, pool, spec):
        name, lvs = self.vg_name(pool), self._lvs(pool)
        # planned again: the VG may have changed since the plan
        origin, size = self._plan_volume(pool, spec, lvs)
        if origin is not None:
            self.lvm.create_snapshot(name, origin.name, spec.name, size)
            return None
        if pool.thin_pool is not None:
            self.lvm.create_thin(name, pool.thin_pool.name, spec.name, size)
        else:
            self.lvm.create_linear(name, spec.name, size)
        if spec.clone is None:
            return None
        try:
            self._copy(pool, spec)
        except Exception:
            # never leave an LV that a later run would take as a finished clone
            self.lvm.lvremove(name, spec.name)
            raise
        return "copy"

    def _copy(self, pool, spec):
        target = self.volume_path(pool, spec.name)
        if not os.path.exists(target):
            raise StorageError("cannot copy into %s: the new LV has no device node (LVM activation is off here)" % target)
        # a new thin LV reads as zeros, so only data needs writing; a thick LV holds old bytes
        QemuImg(self.runner).convert_into(spec.clone.path, spec.clone.format, target,
                                          target_is_zero=pool.thin_pool is not None)

    def plan_resize_volume(self, pool, volume, capacity):
        return [Action(resize_volume_words(volume, capacity),
                       lambda: self.lvm.resize(self.vg_name(pool), volume.name, capacity, capacity < volume.capacity))]

    def plan_delete_volume(self, pool, volume, wipe=None):
        self._refuse_delete(pool, volume, wipe)
        return [Action(delete_volume_words(volume, wipe), lambda: self._delete_volume(pool, volume, wipe))]

    def _delete_volume(self, pool, volume, wipe):
        # checked again: the LV may have been opened since the plan
        lv = self._refuse_delete(pool, volume, wipe)
        if lv is None:
            return
        if wipe:
            overwrite(self.volume_path(pool, lv.name), wipe)
        self.lvm.lvremove(self.vg_name(pool), lv.name)

    def _refuse_delete(self, pool, volume, wipe):
        """The LV of the volume, or None when it is gone; raise what would make the delete fail."""
        lvs = self._lvs(pool)
        lv = lvs.get(volume.name)
        if lv is None:
            return None
        if lv.open:
            raise StorageError("volume %r (%s) is open; refusing to delete it" % (volume.name, volume.path))
        snapshots = sorted(other.name for other in lvs.values() if other.origin == lv.name and not other.is_thin)
        if snapshots:
            raise StorageError("volume %r has snapshots (%s) that LVM would delete with it; delete them first"
                               % (volume.name, ", ".join(snapshots)))
        if wipe:
            self._refuse_wipe(pool, lv, lvs)
        return lv

    def _refuse_wipe(self, pool, lv, lvs):
        path = self.volume_path(pool, lv.name)
        if not lv.active or not os.path.exists(path):
            raise StorageError("wipe needs the LV active, and %s is not (the pool is stopped, or LVM activation is off "
                               "on this host); nothing was deleted" % path)
        if lv.is_thin and lv.pool in lvs:
            pool_lv = lvs[lv.pool]
            free = pool_lv.size - int(pool_lv.size * (pool_lv.data_percent or 0) / 100)
            needed = lv.size - self._volume(pool, lv).allocation
            if needed > free:
                raise StorageError("wiping %s would write %s into thin pool %s, which has %s free; nothing was deleted"
                                   % (path, human_size(needed), lv.pool, human_size(free)))
