# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PoolBackend: the operation set of a pool type (libvirt's virStorageBackend).

A backend overrides what its pool type can do; everything else raises
"<type> pools do not support <operation>" from here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from dataclasses import dataclass, field
from typing import Optional

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotSupportedError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._units import round_up
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import BackingStore, Permissions

# Options of storage_volume that only image files have; other pool types refuse them by name.
FILE_ONLY_VOLUME_OPTIONS = ("preallocation", "cluster_size", "compat", "lazy_refcounts", "allocation")
_SECTOR = 512

# The operations a pool type may have; supports() answers only for these.
OPERATIONS = ("build", "build_steps", "start", "stop", "delete", "refresh", "list_volumes", "get_volume",
              "create_volume", "resize_volume", "delete_volume")


@dataclass(frozen=True)
class PoolStatus:
    """What a refresh finds: sizes in bytes and how many volumes there are."""
    capacity: int
    allocation: int
    available: int
    volume_count: int
    # Pool types that hand out space in extents (disk pools) list the free ones:
    # ({"start", "end", "size"} in bytes, end inclusive); None where that means nothing.
    free_extents: Optional[tuple] = None


@dataclass(frozen=True)
class CloneSource:
    path: str
    format: str
    has_backing: bool = False
    capacity: int = 0


@dataclass(frozen=True)
class VolumeSpec:
    """A volume to create, validated by the manager; sizes in bytes."""
    name: str
    format: str
    capacity: Optional[int] = None
    allocation: Optional[int] = None
    preallocation: Optional[str] = None
    cluster_size: Optional[int] = None
    compat: Optional[str] = None
    lazy_refcounts: Optional[bool] = None
    backing: Optional[BackingStore] = None
    clone: Optional[CloneSource] = None
    permissions: Permissions = field(default_factory=Permissions)


class PoolBackend(object):
    """Subclasses set the class data and override the operations they have."""

    pool_type = None
    # Volume formats the pool type can hold; the first one is the default.
    volume_formats = ()
    # Fields of PoolSource a definition of this type must have.
    required_source = ()
    needs_target_path = True
    # Pool options that only some types take: ("thin_pool", ...); others refuse them by name.
    pool_options = ()
    # True where devices can join or leave a running pool (an LVM VG); others must be stopped first.
    source_changes_while_running = False

    def __init__(self, runner, settings=None):
        self.runner = runner
        # host-wide settings from the task, such as the fstab path
        self.settings = settings or {}

    @classmethod
    def supports(cls, operation):
        """True when this pool type overrides the base operation."""
        if operation not in OPERATIONS:
            raise ValueError("unknown pool operation %r" % operation)
        return getattr(cls, operation) is not getattr(PoolBackend, operation)

    @property
    def default_volume_format(self):
        return self.volume_formats[0] if self.volume_formats else None

    def _unsupported(self, operation):
        raise NotSupportedError("%s pools do not support %s" % (self.pool_type, operation))

    def default_target_path(self, pool):
        """Where volumes appear when the task gives no target.path (/dev/VG for LVM); None: required."""
        return None

    def validate(self, pool):
        """Reject a definition this type cannot use, before anything is done."""
        if pool.thin_pool is not None and "thin_pool" not in self.pool_options:
            raise ValidationError("thin_pool", pool.thin_pool.name, "%s pools have no thin pool" % self.pool_type)
        for name in self.required_source:
            if not getattr(pool.source, name):
                raise ValidationError("source.%s" % name, None, "%s pools need it" % self.pool_type)
        if self.needs_target_path and not pool.target_path:
            raise ValidationError("target.path", pool.target_path, "%s pools need a target path" % self.pool_type)

    def validate_volume_format(self, fmt):
        if fmt not in self.volume_formats:
            raise ValidationError("format", fmt, "%s pools hold volumes of format %s"
                                  % (self.pool_type, ", ".join(self.volume_formats) or "none"))

    # -- pool life cycle -----------------------------------------------------

    def is_built(self, pool):
        """Whether the underlying storage exists (libvirt's checkPool)."""
        return True

    def unbuilt_reason(self, pool):
        """Why is_built() is false, for the error message."""
        return "target.path %s does not exist" % pool.target_path

    def build_steps(self, pool, overwrite):
        """What build would do, in words; [] when the storage is there already.
        Raises when the build must be refused (a signature without overwrite, a device in use)."""
        self._unsupported("build")

    def build(self, pool, overwrite):
        self._unsupported("build")

    def live_state(self, pool):
        """True/False where the host itself shows whether the pool runs (a mount);
        None where only the store's records can tell (dir pools)."""
        return None

    def autostart_steps(self, pool, enabled):
        """What the host's own boot mechanism needs changed so the pool does (not) come up at boot."""
        return []

    def set_autostart(self, pool, enabled):
        """Bring the host's boot mechanism in line; nothing to do for types that need none."""

    def start(self, pool):
        self._unsupported("start")

    def stop(self, pool):
        self._unsupported("stop")

    def delete(self, pool):
        self._unsupported("delete")

    def check_delete(self, pool):
        """Raise now, at plan time, if delete() would refuse: a purge must not stop a pool and then fail."""

    def refresh(self, pool):
        """PoolStatus of a started pool."""
        self._unsupported("refresh")

    def target_drift(self, pool):
        """Names of target attributes (mode, owner, ...) that differ from the definition."""
        return []

    def fix_target(self, pool):
        self._unsupported("changing target permissions")

    # -- volumes -------------------------------------------------------------

    def round_capacity(self, pool, size):
        """The capacity a volume of size bytes really gets (whole sectors; whole extents for LVM),
        so that asking again for the same size is no change."""
        return round_up(size, _SECTOR)

    def check_volume_options(self, params, spec):
        """Refuse storage_volume options this pool type cannot honour; params name them as the task did."""
        for option in FILE_ONLY_VOLUME_OPTIONS:
            if params.get(option) is not None:
                raise ValidationError(option, params[option], "%s pools do not take it; it is for image files"
                                      % self.pool_type)

    def format_matches(self, asked, found):
        """Whether an existing volume of format found satisfies a task asking for format asked."""
        return asked == found

    def clone_format(self, source_format):
        """The format of a clone when the task names none: the source's, where volumes are images."""
        return source_format

    def check_create_volume(self, pool, spec):
        """Raise now, at plan time, if create_volume(pool, spec) would refuse (no room, a bad name,
        a snapshot of something the pool does not hold, a missing size ...)."""

    def check_resize(self, pool, volume, capacity):
        """Raise now, at plan time, if resize_volume would refuse this capacity."""

    def check_delete_volume(self, pool, volume):
        """Raise now, at plan time, if delete_volume would refuse (the volume is in use)."""

    def volume_name_at(self, pool, path):
        """The name of the volume at path (a path or key) if this pool holds it, else None."""
        if os.path.dirname(os.path.normpath(path)) == pool.target_path:
            return os.path.basename(path)
        return None

    def list_volumes(self, pool):
        self._unsupported("listing volumes")

    def get_volume(self, pool, name):
        """The VolumeDef called name, or None."""
        self._unsupported("volumes")

    def volume_path(self, pool, name):
        self._unsupported("volumes")

    def create_volume(self, pool, spec):
        self._unsupported("creating volumes")

    def resize_volume(self, pool, volume, capacity, shrink):
        self._unsupported("resizing volumes")

    def delete_volume(self, pool, volume, wipe=None):
        self._unsupported("deleting volumes")

    def volume_drift(self, volume, permissions):
        return []

    def fix_volume(self, volume, permissions):
        self._unsupported("changing volume permissions")
