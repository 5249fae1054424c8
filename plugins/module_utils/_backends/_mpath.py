# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mpath pools: multipath maps (device-mapper's multipath target) as volumes, at /dev/mapper/NAME.

With neither source.wwids nor source.aliases the pool holds every map of the host, as libvirt's
does; with them, only the maps they name. The maps belong to multipathd (or whoever made them):
the pool makes, grows and removes none. Start waits, with a deadline, until each selected map is
there, and fails naming those that are not. A volume is a map: keyed by its WWID, sized from
sysfs, and listed with every path (its device, SCSI address, state and priority group, from
`dmsetup table` and `dmsetup status` of the selected maps only). A map with no active path is
reported degraded, never hidden.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _multipath_paths, _perms
from ansible_collections.poolcraft.storage.plugins.module_utils._model import MapPath, Permissions, PoolStatus, VolumeDef
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._multipath import maps_tables
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._udevadm import Udevadm, udev_runs

MAPPER = "/dev/mapper"
# how long start waits for the selected maps (multipathd makes them as paths appear)
MAP_WAIT = 30.0
_POLL = 0.25


class MpathBackend(PoolBackend):

    pool_type = "mpath"
    volume_formats = ("raw",)
    source_fields = ("wwids", "aliases")
    fixed_target_path = MAPPER
    fixed_target_reason = "the volumes of mpath pools are the multipath maps under {path}; leave it out or give {path}"
    takes_mount_options = False
    no_target_permissions = "{path} belongs to device-mapper and udev; mpath pools cannot set it"
    no_volume_permissions = "mpath pools do not set permissions: udev sets those of the maps' nodes"

    # -- the selected maps ------------------------------------------------------------------

    @staticmethod
    def _selection(pool):
        """(the MultipathMaps the pool holds, the selected ones missing, in words)."""
        source = pool.source
        if not source.wwids and not source.aliases:
            return _multipath_paths.all_maps(), []
        found, missing = {}, []
        for wwid in source.wwids:
            mapped = _multipath_paths.find_by_wwid(wwid)
            if mapped is None:
                missing.append("WWID %s" % wwid)
            else:
                found[mapped.dm] = mapped
        for alias in source.aliases:
            mapped = _multipath_paths.find_by_alias(alias)
            if mapped is None:
                missing.append("alias %s" % alias)
            else:
                found[mapped.dm] = mapped
        return sorted(found.values(), key=lambda mapped: mapped.name), missing

    def _maps(self, pool):
        return self._selection(pool)[0]

    # -- start and stop: the maps are multipathd's --------------------------------------------

    def plan_start(self, pool):
        # waited for now, so check mode fails on a missing map as the real run does
        self._await_maps(pool)
        return []

    def _await_maps(self, pool):
        deadline = time.monotonic() + MAP_WAIT
        udev = None
        while True:
            found, missing = self._selection(pool)
            if not missing:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise StorageError("pool %r: no multipath map has %s (waited %d s; `multipath -ll` lists the maps, "
                                   "multipathd makes them)" % (pool.name, ", ".join(missing), MAP_WAIT))
            if udev is None:
                udev = udev_runs()
            if udev:
                Udevadm(self.runner).settle(min(left, 5))
            time.sleep(_POLL)

    def plan_stop(self, pool):
        return []  # nothing is held: the maps stay, as multipathd keeps them

    # -- reading ---------------------------------------------------------------------------------

    def refresh(self, pool):
        # sysfs alone: sizes and the count need no command
        maps = self._maps(pool)
        total = sum(mapped.size for mapped in maps)
        return PoolStatus(capacity=total, allocation=total, available=0, volume_count=len(maps))

    def _volumes(self, maps):
        if not maps:
            return []
        self.runner.which("dmsetup")  # the paths' states are the kernel's, and only dmsetup tells them
        tables = maps_tables(self.runner, [mapped.name for mapped in maps])
        return [self._volume(mapped, tables.get(mapped.name)) for mapped in maps]

    @staticmethod
    def _paths(mapped, table):
        """MapPaths of a map from its table and status; its sysfs slaves where those do not say."""
        paths = []
        for group in (table or {}).get("groups", ()):
            for path in group["paths"]:
                device = _multipath_paths.device_of_number(path["maj_min"]) or path["maj_min"]
                paths.append(MapPath(device=device, hctl=_multipath_paths.scsi_address(device),
                                     state=path["dm_state"] or "unknown", group=group["number"],
                                     group_state=group["state"]))
        listed = set(path.device for path in paths)
        for device in mapped.slaves:
            if device not in listed:  # the table changed since sysfs was read
                paths.append(MapPath(device=device, hctl=_multipath_paths.scsi_address(device), state="unknown", group=0))
        return tuple(paths)

    @staticmethod
    def _volume(mapped, table):
        paths = MpathBackend._paths(mapped, table)
        try:
            permissions = _perms.of_path(mapped.path)
        except OSError:
            permissions = Permissions()
        return VolumeDef(name=mapped.name, path=mapped.path, key=mapped.wwid, format="raw", capacity=mapped.size,
                         allocation=mapped.size, type="block", permissions=permissions, paths=paths,
                         map_state="active" if any(path.state == "active" for path in paths) else "degraded")

    def list_volumes(self, pool):
        return self._volumes(self._maps(pool))

    def get_volume(self, pool, name):
        return next(iter(self._volumes([mapped for mapped in self._maps(pool) if mapped.name == name])), None)

    def volume_path(self, pool, name):
        if not any(mapped.name == name for mapped in self._maps(pool)):
            raise NotFoundError("pool %r has no multipath map %r; multipathd makes the maps" % (pool.name, name))
        return os.path.join(MAPPER, name)

    def volume_name_at(self, pool, path):
        if not isinstance(path, str) or not path:
            return None
        real = os.path.realpath(path) if path.startswith("/dev/") else None
        for mapped in self._maps(pool):
            if path in (mapped.path, mapped.wwid, mapped.by_id, mapped.name) or \
                    (real is not None and os.path.basename(real) == mapped.dm):
                return mapped.name
        return None

    # -- volumes are made elsewhere ---------------------------------------------------------------

    def plan_create_volume(self, pool, spec):
        raise StorageError("pool %r: mpath pools cannot create volume %r: multipathd makes a map for each LUN the "
                           "host sees" % (pool.name, spec.name))

    def plan_resize_volume(self, pool, volume, capacity):
        raise StorageError("pool %r: mpath pools cannot resize volume %r: grow the LUN on its target, then "
                           "`multipathd resize map %s`" % (pool.name, volume.name, volume.name))

    def plan_delete_volume(self, pool, volume, wipe=None):
        raise StorageError("pool %r: mpath pools cannot delete volume %r: remove the LUN on its target, or flush "
                           "the map with `multipath -f %s`" % (pool.name, volume.name, volume.name))
