# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scsi pools: the LUNs of one SCSI host (an HBA's port, an NPIV vHBA, any SCSI host), as libvirt's.

The adapter (source.adapter) names the host: by name (hostN), by the PCI address of its HBA and its
unique_id (which stay across reboots where hostN may not), or an FC port or vHBA by WWNN and WWPN.
Start makes a managed vHBA first (vport_create on its parent port, then waits for its SCSI host),
rescans the host and waits for udev; stop removes a managed vHBA only (refused while a LUN is in
use) and changes nothing else on the host. Nothing is built: the LUNs are the storage array's.

Volumes are the host's disk LUNs: named unit:C:T:L, keyed by WWID, at a stable link (in the target
directory, /dev/disk/by-path or /dev/disk/by-id). LUNs are made, resized and removed on the array;
a wipe, or a copy of an image, is refused for a LUN that is a path of a multipath map, whose data
is the map's: the refusal names the map to write to instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _perms, _scsi_adapters, _scsi_luns
from ansible_collections.poolcraft.storage.plugins.module_utils._host._lun_uses import lun_uses
from ansible_collections.poolcraft.storage.plugins.module_utils._host._wipe import overwrite
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action, Permissions, PoolStatus, VolumeDef
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import QemuImg, image_opts
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._udevadm import Udevadm, udev_runs
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._wipefs import Wipefs
from ansible_collections.poolcraft.storage.plugins.module_utils._units import human_size

BY_PATH = "/dev/disk/by-path"
BY_ID = "/dev/disk/by-id"
TARGET_PATHS = (BY_PATH, BY_ID)
# how long start waits for udev's nodes and links of the scanned LUNs
UDEV_WAIT = 60
# how long a look at who uses the LUNs waits for udev's probes of them
USE_SETTLE = 10
MADE_ON_ARRAY = "LUNs of a scsi pool are made on the storage array"


class ScsiBackend(PoolBackend):

    pool_type = "scsi"
    volume_formats = ("raw",)
    required_source = ("adapter",)
    source_fields = ("adapter",)
    fixed_target_path = BY_PATH
    fixed_target_reason = ("scsi pools show their LUNs through udev's links: leave target.path out (%s) or give %s"
                           % (BY_PATH, BY_ID))
    takes_mount_options = False
    no_target_permissions = "scsi pools have no directory of their own; udev sets the permissions of the LUNs' nodes"
    no_volume_permissions = "scsi pools do not set permissions: udev sets those of the LUNs' nodes"

    # -- checks -------------------------------------------------------------------------------

    def validate(self, pool):
        # by-id is as good a home as by-path: the base class checks the rest against the default
        super(ScsiBackend, self).validate(pool.with_changes(target_path=BY_PATH) if pool.target_path == BY_ID else pool)

    @staticmethod
    def _managed(pool):
        adapter = pool.source.adapter
        return adapter.type == "fc_host" and bool(adapter.managed)

    @staticmethod
    def _fc_host(pool):
        adapter = pool.source.adapter
        return _scsi_adapters.fc_host_by_wwn(adapter.wwnn, adapter.wwpn)

    def _vport(self, pool):
        """For planning: the FcHost of a managed vHBA that is there, or None; the WWNs of a physical port
        are refused (it is never created or deleted)."""
        adapter, found = pool.source.adapter, self._fc_host(pool)
        if found is not None and found.vport_of is None:
            raise ValidationError("source.adapter.managed", True, "WWNN %s and WWPN %s are those of the physical FC port %s, "
                                  "which is never created or deleted; leave managed out" % (adapter.wwnn, adapter.wwpn, found.name))
        return found

    def _host(self, pool):
        """The pool's ScsiHost, or None when the adapter names none (now)."""
        if self._managed(pool) and self._fc_host(pool) is None:
            return None
        try:
            return _scsi_adapters.resolve(pool.source.adapter)
        except StorageError:
            return None

    # -- state --------------------------------------------------------------------------------

    def live_state(self, pool):
        """A managed vHBA runs while it is there; any other adapter is stopped while it names no host,
        and otherwise as the store's marks say (a SCSI host has no "started")."""
        if self._managed(pool):
            return self._fc_host(pool) is not None
        return None if self._host(pool) is not None else False

    def refresh(self, pool):
        volumes = self.list_volumes(pool)
        total = sum(vol.capacity for vol in volumes)
        return PoolStatus(capacity=total, allocation=total, available=0, volume_count=len(volumes))

    # -- start and stop -----------------------------------------------------------------------

    def plan_start(self, pool):
        adapter = pool.source.adapter
        if self._managed(pool) and self._vport(pool) is None:
            parent = _scsi_adapters.vport_parent(adapter)  # refused now: check mode refuses it too
            return [Action("create the NPIV vHBA WWNN %s WWPN %s on %s, scan its LUNs" % (adapter.wwnn, adapter.wwpn, parent.name),
                           lambda: self._start(pool, parent.name))]
        host = _scsi_adapters.resolve(adapter)
        return [Action("scan %s for LUNs" % host.name, lambda: self._start(pool))]

    def _start(self, pool, parent=None):
        adapter = pool.source.adapter
        if parent is not None and self._vport(pool) is None:
            host = _scsi_adapters.create_vport(parent, adapter.wwnn, adapter.wwpn)
        else:
            host = _scsi_adapters.resolve(adapter)
        _scsi_adapters.rescan(host.name)
        if udev_runs():
            Udevadm(self.runner).settle(UDEV_WAIT)

    def plan_stop(self, pool):
        if not self._managed(pool) or self._vport(pool) is None:
            return []
        self._refuse_busy(pool, "delete its vHBA")
        vport = self._vport(pool)
        return [Action("delete the NPIV vHBA %s (WWPN %s) from %s" % (vport.name, vport.wwpn, vport.vport_of),
                       lambda: self._stop(pool))]

    def _stop(self, pool):
        vport = self._vport(pool)
        if vport is None:
            return
        self._refuse_busy(pool, "delete its vHBA")  # again: a LUN may have been mounted since the plan
        _scsi_adapters.delete_vport(vport)

    # -- who uses the LUNs --------------------------------------------------------------------

    def _lun_uses(self, lun_list):
        """lun_uses() of the LUNs, once udev's probes of them are done."""
        if udev_runs():
            Udevadm(self.runner).settle(USE_SETTLE)
        return lun_uses(lun_list)

    def _refuse_busy(self, pool, doing):
        host = self._host(pool)
        busy = self._lun_uses(_scsi_luns.disk_luns(host.number)) if host is not None else {}
        if busy:
            raise StorageError("pool %r: LUNs in use (%s); refusing to %s" % (
                pool.name, "; ".join("%s: %s" % (lun, ", ".join(uses)) for lun, uses in sorted(busy.items())), doing))

    # -- volumes: the host's LUNs -------------------------------------------------------------

    def _volume(self, pool, lun):
        properties, links = _scsi_luns.udev_record(lun.block)
        node = os.path.join(_scsi_luns.DEV, lun.block)
        path = _scsi_luns.link_of(lun.block, links, pool.target_path or BY_PATH)
        size = _scsi_luns.capacity(lun.block)
        try:
            permissions = _perms.of_path(node)
        except OSError:
            permissions = Permissions()
        found = _scsi_luns.multipath_map_of(lun.block)
        return VolumeDef(name=lun.unit, path=path, key=_scsi_luns.key_of(lun.block, properties) or path, format="raw",
                         capacity=size, allocation=size, type="block", permissions=permissions,
                         multipath_map=found.name if found else None)

    def list_volumes(self, pool):
        host = self._host(pool)
        if host is None:
            return []
        return sorted((self._volume(pool, lun) for lun in _scsi_luns.disk_luns(host.number)), key=lambda vol: vol.name)

    def get_volume(self, pool, name):
        return next((vol for vol in self.list_volumes(pool) if vol.name == name), None)

    def volume_path(self, pool, name):
        volume = self.get_volume(pool, name)
        if volume is None:
            raise NotFoundError("pool %r has no LUN %r; %s" % (pool.name, name, MADE_ON_ARRAY))
        return volume.path

    def volume_name_at(self, pool, path):
        """The LUN at path: its name, its key (WWID), or any path of its node."""
        if not isinstance(path, str) or not path:
            return None
        real = os.path.realpath(path) if path.startswith("/dev/") else None
        for volume in self.list_volumes(pool):
            if path in (volume.name, volume.path, volume.key) or (real is not None and os.path.realpath(volume.path) == real):
                return volume.name
        return None

    def plan_create_volume(self, pool, spec):
        raise StorageError("pool %r: cannot create volume %r: %s, and appear here once the pool is started again"
                           % (pool.name, spec.name, MADE_ON_ARRAY))

    def plan_resize_volume(self, pool, volume, capacity):
        raise StorageError("pool %r: cannot resize volume %r: %s, and resized there" % (pool.name, volume.name, MADE_ON_ARRAY))

    def plan_delete_volume(self, pool, volume, wipe=None):
        raise StorageError("pool %r: cannot delete volume %r: %s, and removed there" % (pool.name, volume.name, MADE_ON_ARRAY))

    # -- writing to a LUN: a wipe, an image copied in -----------------------------------------

    def _writable_node(self, pool, volume, doing):
        """The node of the LUN volume, when nothing stands against writing to it: refused for a
        path of a multipath map (naming the map), a LUN gone, in use, or changed in size."""
        host = self._host(pool)
        lun = None if host is None else next((lun for lun in _scsi_luns.disk_luns(host.number) if lun.unit == volume.name), None)
        if lun is None:
            raise StorageError("pool %r: LUN %r is gone" % (pool.name, volume.name))
        found = _scsi_luns.multipath_map_of(lun.block)
        if found is not None:
            raise StorageError("volume %r (%s) is a path of multipath map %s; refusing to %s it: write to %s (%s) instead"
                               % (volume.name, volume.path, found.name, doing, found.path, found.by_id))
        uses = self._lun_uses([lun]).get("%s (/dev/%s)" % (lun.unit, lun.block))
        if uses:
            raise StorageError("volume %r (%s) is in use (%s); refusing to %s it" % (volume.name, volume.path, ", ".join(uses), doing))
        if _scsi_luns.capacity(lun.block) != volume.capacity:
            raise StorageError("volume %r (%s) changed size since it was read; refusing to %s it" % (volume.name, volume.path, doing))
        return os.path.join(_scsi_luns.DEV, lun.block)

    def plan_wipe_volume(self, pool, volume, algorithm):
        """Overwrite every byte of a LUN (zero or random), which stays."""
        self._writable_node(pool, volume, "wipe")
        return [Action("wipe (%s) volume %r (%s)" % (algorithm, volume.name, volume.path),
                       lambda: self._wipe(pool, volume, algorithm))]

    def _wipe(self, pool, volume, algorithm):
        node = self._writable_node(pool, volume, "wipe")
        # O_EXCL: the kernel refuses while anything mounts or holds the disk
        overwrite(node, algorithm, expected_size=volume.capacity, exclusive=True)

    def plan_clone_into(self, pool, volume, clone, overwrite=False):
        """Copy the image clone (a CloneSource) into the LUN volume, as raw data from its start; []
        when the LUN holds that image already. Refused: a path of a multipath map, a LUN in use or
        smaller than the image, and (without overwrite) a LUN that carries a signature."""
        node = self._writable_node(pool, volume, "copy an image into")
        if clone.capacity > volume.capacity:
            raise StorageError("clone_from: %s (%s) is larger than volume %r (%s)"
                               % (clone.path, human_size(clone.capacity), volume.name, human_size(volume.capacity)))
        if self._holds(node, clone):
            return []
        if not overwrite:
            self._refuse_signatures(volume, node)
        words = "clone %s (%s) into volume %r (%s)" % (clone.path, clone.format, volume.name, volume.path)
        return [Action(words, lambda: self._clone_into(pool, volume, clone, overwrite))]

    def _clone_into(self, pool, volume, clone, overwrite):
        node = self._writable_node(pool, volume, "copy an image into")
        if not overwrite:
            self._refuse_signatures(volume, node)  # again: something may have written to it since the plan
        QemuImg(self.runner).convert_into(clone.path, clone.format, node)
        return "copy"

    def _holds(self, node, clone):
        """Whether the LUN's first bytes read as the image (qemu-img compare with a window of the LUN)."""
        lun = image_opts([("driver", "raw"), ("size", clone.capacity), ("file.driver", "host_device"), ("file.filename", node)])
        return QemuImg(self.runner).same_opts(_source_opts(clone), lun)

    def _refuse_signatures(self, volume, node):
        found = Wipefs(self.runner).signatures(node)
        if found:
            raise StorageError("clone_from: volume %r (%s) carries %s; refusing to overwrite it (state: wiped clears it)"
                               % (volume.name, volume.path, ", ".join(found)))


def _source_opts(clone):
    """--image-opts of an image on the host: its format over the file or block device."""
    protocol = "host_device" if stat.S_ISBLK(os.stat(clone.path).st_mode) else "file"
    return image_opts([("driver", clone.format), ("file.driver", protocol), ("file.filename", clone.path)])
