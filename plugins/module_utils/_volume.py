# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VolumeManager: the volume the task asks for vs the volume in the pool -> actions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.poolcraft.storage.plugins.module_utils import _image_header, _perms
from ansible_collections.poolcraft.storage.plugins.module_utils._backends import backend_for
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import FILE_ONLY_VOLUME_OPTIONS, CloneSource, VolumeSpec
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._plan import Action
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import QemuImg
from ansible_collections.poolcraft.storage.plugins.module_utils._pool import is_active, validate_name, volume_info
from ansible_collections.poolcraft.storage.plugins.module_utils._units import human_size, parse_size
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import BackingStore, volume_to_xml

# the task's own values of these options, kept in the VolumeSpec for the backend's refusals
_GIVEN = FILE_ONLY_VOLUME_OPTIONS + ("backing_store",)


class _PoolRef(object):
    """A started pool and its backend."""

    def __init__(self, stored, backend):
        self.stored = stored
        self.definition = stored.definition
        self.backend = backend


class VolumeManager(object):

    def __init__(self, params, runner, store):
        self.params = params
        self.runner = runner
        self.store = store
        self.pool = None
        self.volume = None
        self.name = None
        self.clone_method = None
        self._after = None

    # -- finding pools and volumes ------------------------------------------

    def _pool(self, name, option):
        stored = self.store.get(validate_name(name, option))
        if stored is None:
            raise NotFoundError("%s=%r: no such pool" % (option, name))
        backend = backend_for(stored.definition.type, self.runner)
        if not is_active(stored, backend):
            raise StorageError("%s=%r: pool is not running; start it with storage_pool state: running" % (option, name))
        return _PoolRef(stored, backend)

    def _pool_holding(self, path, option):
        """The started pool that holds the volume at path, and the volume's name."""
        for stored in self.store.all():
            name = backend_for(stored.definition.type, self.runner).volume_name_at(stored.definition, path)
            if name is not None:
                return self._pool(stored.definition.name, "pool"), name
        raise NotFoundError("%s=%r: no defined pool holds this path" % (option, path))

    def _locate(self):
        params = self.params
        for option in ("path", "key"):
            value = params.get(option)
            if value:
                if not os.path.isabs(value):
                    raise ValidationError(option, value, "must be an absolute path")
                pool, name = self._pool_holding(value, option)
                return pool, validate_name(name, option)
        if not params.get("pool") or not params.get("name"):
            raise ValidationError("name", params.get("name"), "give pool and name, or path, or key")
        return self._pool(params["pool"], "pool"), validate_name(params["name"])

    def _source_path(self, spec, option):
        """A path from a {path} or {pool, name} reference; it must exist."""
        if spec.get("path"):
            path = spec["path"]
            if not os.path.isabs(path):
                raise ValidationError(option + ".path", path, "must be an absolute path")
        elif spec.get("pool") and spec.get("name"):
            pool = self._pool(spec["pool"], option + ".pool")
            found = pool.backend.get_volume(pool.definition, validate_name(spec["name"], option + ".name"))
            if found is None:
                raise NotFoundError("%s: pool %r has no volume %r" % (option, spec["pool"], spec["name"]))
            path = found.path
        else:
            raise ValidationError(option, spec, "give path, or pool and name")
        if not os.path.exists(path):
            raise NotFoundError("%s: %s does not exist" % (option, path))
        return path

    # -- planning ------------------------------------------------------------

    def plan(self):
        self.pool, self.name = self._locate()
        pool, backend = self.pool.definition, self.pool.backend
        self.volume = backend.get_volume(pool, self.name)
        if self.params["state"] == "absent":
            return self._plan_absent()
        if self.volume is None:
            return self._plan_create()
        return self._plan_update()

    def _plan_absent(self):
        if self.volume is None:
            self._after = {"state": "absent"}
            return []
        actions = self.pool.backend.plan_delete_volume(self.pool.definition, self.volume, self.params.get("wipe"))
        self._after = {"state": "absent"}
        return actions

    def _sizes(self):
        capacity = self.params.get("capacity")
        allocation = self.params.get("allocation")
        if capacity is not None:
            capacity = self.pool.backend.round_capacity(self.pool.definition, parse_size(capacity, "capacity"))
        allocation = None if allocation is None else parse_size(allocation, "allocation")
        if capacity == 0:
            raise ValidationError("capacity", self.params["capacity"], "a volume needs a size above 0")
        return capacity, allocation

    def _clone_source(self):
        ref = self.params.get("clone_from")
        if not ref:
            return None
        path = self._source_path(ref, "clone_from")
        header = _image_header.probe_path(path)
        fmt = ref.get("format") or header.format
        capacity = header.capacity
        if capacity is None or fmt != header.format:
            # qemu-img itself, whatever the pool type: the header reader does not size every format
            capacity = int(QemuImg(self.runner).info(path, fmt)["virtual-size"])
        return CloneSource(path=path, format=fmt, has_backing=bool(header.backing_path) and fmt == header.format,
                           capacity=capacity)

    def _backing(self):
        ref = self.params.get("backing_store")
        if not ref:
            return None
        path = self._source_path(ref, "backing_store")
        return BackingStore(path=path, format=ref.get("format") or _image_header.probe_path(path).format)

    def _plan_create(self):
        params, backend = self.params, self.pool.backend
        capacity, allocation = self._sizes()
        clone, backing = self._clone_source(), self._backing()
        if clone and backing:
            raise ValidationError("backing_store", params["backing_store"], "cannot be combined with clone_from")
        fmt = params.get("format") or (backend.clone_format(clone.format) if clone else backend.default_volume_format)
        backend.validate_volume_format(fmt)
        if clone and capacity is not None and capacity < clone.capacity:
            raise ValidationError("capacity", params["capacity"], "smaller than the clone source (%s)" % human_size(clone.capacity))
        if capacity is None and clone is None and backing is None:
            raise ValidationError("capacity", None, "required to create volume %r" % self.name)
        spec = VolumeSpec(
            name=self.name, format=fmt, capacity=capacity, allocation=allocation,
            preallocation=params.get("preallocation"), cluster_size=self._cluster_size(),
            compat=params.get("compat"), lazy_refcounts=params.get("lazy_refcounts"),
            backing=backing, clone=clone,
            permissions=_perms.from_params(params.get("permissions")),
            given=dict((option, params.get(option)) for option in _GIVEN))
        self._refuse_options(backend)
        actions = backend.plan_create_volume(self.pool.definition, spec)
        self._after = {"state": "present", "name": self.name, "format": fmt,
                       "path": backend.volume_path(self.pool.definition, self.name),
                       "capacity": capacity if capacity is not None else (clone.capacity if clone else None),
                       "backing": backing.path if backing else None,
                       "permissions": spec.permissions.as_dict()}
        # the backend's apply returns how a clone was made (reflink, copy), reported as clone_method
        return [Action(action.description, lambda action=action: self._created(action.apply())) for action in actions]

    def _refuse_options(self, backend):
        """Options the pool type does not have, refused by name (its class data says which)."""
        params = self.params
        for option in FILE_ONLY_VOLUME_OPTIONS:
            if params.get(option) is not None and option not in backend.volume_options:
                raise ValidationError(option, params[option], "%s pools do not take it; it is for image files"
                                      % backend.pool_type)
        perms = params.get("permissions") or {}
        if backend.no_volume_permissions and any(value is not None for value in perms.values()):
            raise ValidationError("permissions", perms, backend.no_volume_permissions)

    def _cluster_size(self):
        value = self.params.get("cluster_size")
        return None if value is None else parse_size(value, "cluster_size")

    def _plan_update(self):
        params, vol, backend = self.params, self.volume, self.pool.backend
        actions = []
        if params.get("format") and not backend.format_matches(params["format"], vol.format):
            raise ValidationError("format", params["format"], "volume %r exists as %s; it is never converted in place" % (vol.name, vol.format))
        if params.get("backing_store"):
            backing = self._backing()
            have = vol.backing[0].path if vol.backing else None
            if have != backing.path:
                raise ValidationError("backing_store", params["backing_store"], "volume %r has backing store %s" % (vol.name, have))
        capacity, _allocation = self._sizes()
        if capacity is not None and capacity != vol.capacity:
            # the pool type first: it may not resize at all, or not this way
            actions += backend.plan_resize_volume(self.pool.definition, vol, capacity)
            if capacity < vol.capacity and not params.get("shrink"):
                raise ValidationError("capacity", params["capacity"], "smaller than the volume (%s); set shrink: true to shrink it"
                                      % human_size(vol.capacity))
        perms = _perms.from_params(params.get("permissions"))
        actions += backend.plan_volume_permissions(self.pool.definition, vol, perms)
        self._after = dict(self.snapshot(), capacity=capacity if capacity is not None else vol.capacity,
                           permissions=dict(vol.permissions.as_dict(), **{k: v for k, v in perms.as_dict().items() if v is not None}))
        return actions

    def _created(self, clone_method):
        self.clone_method = clone_method

    # -- reporting -----------------------------------------------------------

    def rollback(self):
        """After a failed action: nothing to put back (a new volume is made under a temporary name
        and only linked into place when complete)."""

    def snapshot(self):
        vol = self.volume
        if vol is None:
            return {"state": "absent"}
        return {"state": "present", "name": vol.name, "format": vol.format, "path": vol.path, "capacity": vol.capacity,
                "backing": vol.backing[0].path if vol.backing else None, "permissions": vol.permissions.as_dict()}

    def diff(self, before):
        return {"before": before, "after": self._after}

    def result(self, applied):
        vol = self.pool.backend.get_volume(self.pool.definition, self.name) if self.pool else None
        if vol is None:
            return {"volume": {"name": self.name, "pool": self.pool.definition.name if self.pool else None, "state": "absent"}}
        info = dict(volume_info(vol), pool=self.pool.definition.name, state="present", xml=volume_to_xml(vol))
        result = {"volume": info}
        if self.clone_method:
            result["clone_method"] = self.clone_method
        return result
