# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PoolBackend: the operation set of a pool type (libvirt's virStorageBackend).

Three kinds of members (docs/architecture.md tells the whole contract):

- class data: the per-type rules (how many devices, which source fields, a fixed
  target path, volume formats ...), checked by validate() and the managers;
- read operations: what the host has (is_built, refresh, list_volumes, ...);
- planning operations (plan_*): what a change would do, as a list of Actions.
  A refusal is raised while planning, so check mode refuses what the real run
  refuses; each Action's apply checks again what it relies on.

A backend overrides what its pool type can do; everything else raises
"<type> pools do not support <operation>" from here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from typing import List, Optional, Tuple  # noqa: F401 (type comments)

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotSupportedError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host._perms import unset_id
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action, Permissions, PoolStatus, VolumeSpec  # noqa: F401 (type comments)
from ansible_collections.poolcraft.storage.plugins.module_utils._units import SECTOR, human_size, round_up

# Options of storage_volume that only image files have; other pool types refuse them by name.
FILE_ONLY_VOLUME_OPTIONS = ("preallocation", "cluster_size", "compat", "lazy_refcounts", "allocation")

# The operations a pool type may have; supports() answers only for these.
OPERATIONS = ("plan_build", "plan_start", "plan_stop", "plan_delete", "refresh", "list_volumes", "get_volume",
              "plan_create_volume", "plan_resize_volume", "plan_delete_volume", "plan_clone_into", "plan_wipe_volume",
              "plan_flatten_volume")


# -- the words of volume actions: the same for every pool type -------------------------------

def create_volume_words(spec):
    # type: (VolumeSpec) -> str
    if spec.clone:
        return "clone %s (%s) into volume %r (%s)" % (spec.clone.path, spec.clone.format, spec.name, spec.format)
    if spec.backing:
        return "create %s volume %r as an overlay on %s" % (spec.format, spec.name, spec.backing.path)
    return "create %s volume %r of %s" % (spec.format, spec.name, human_size(spec.capacity))


def resize_volume_words(volume, capacity):
    return "%s volume %r from %s to %s" % ("shrink" if capacity < volume.capacity else "grow", volume.name,
                                           human_size(volume.capacity), human_size(capacity))


def delete_volume_words(volume, wipe):
    return "%s volume %r (%s)" % ("wipe (%s) and delete" % wipe if wipe else "delete", volume.name, volume.path)


class PoolBackend(object):
    """Subclasses set the class data and override the operations they have."""

    # -- class data: the rules of the pool type ---------------------------------------------
    pool_type = None                    # type: Optional[str]
    # Volume formats the pool type can hold; the first one is the default.
    volume_formats = ()                 # type: Tuple[str, ...]
    # A volume format that any existing volume satisfies (disk: "none", no particular type).
    any_volume_format = None            # type: Optional[str]
    # A clone keeps its source's (image) format when the task names none; False: the default format.
    clone_keeps_format = True
    # Fields of PoolSource a definition of this type must have, and the ones it may have at all.
    required_source = ()                # type: Tuple[str, ...]
    source_fields = ("devices", "name", "format")  # type: Tuple[str, ...]
    # How source.auth logs in: "chap" (iSCSI; mutual CHAP too) or "ceph" (a cephx user and key).
    auth_type = "chap"
    # source.devices holds exactly one device (a filesystem, a partition table).
    single_device = False
    # The values source.format may take (None is always allowed); () means any. And why, when refused.
    source_formats = ()                 # type: Tuple[str, ...]
    source_formats_reason = None        # type: Optional[str]
    # Where the volumes are, when the type decides it: {source_name} is source.name, or the pool's
    # name. A task may leave target.path out or give this; None: the task must give one.
    fixed_target_path = None            # type: Optional[str]
    fixed_target_reason = None          # type: Optional[str]  ({path} is the fixed path)
    # Why the type has no target at all (its volumes have no path on the host: iscsi-direct); None: it has one.
    no_target = None                    # type: Optional[str]
    # The target is (or will be) a network mount point: the module's own process must not stat it, which
    # blocks in the kernel while the server is away; the backend looks at it in a child with a deadline.
    remote_target = False
    # Why target.permissions cannot be set ({path} is the target path); None: they can.
    no_target_permissions = None        # type: Optional[str]
    # Why storage_volume's permissions cannot be set; None: they can.
    no_volume_permissions = None        # type: Optional[str]
    # storage_volume options of image files (FILE_ONLY_VOLUME_OPTIONS) that this type takes.
    volume_options = ()                 # type: Tuple[str, ...]
    # False: mount_options are refused.
    takes_mount_options = True
    # Pool options that only some types take: ("thin_pool", ...); others refuse them by name.
    pool_options = ()                   # type: Tuple[str, ...]
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
        # type: (object) -> Optional[str]
        """The fixed target path of the type for this pool (class data), or None."""
        if self.fixed_target_path is None:
            return None
        return self.fixed_target_path.format(source_name=pool.source.name or pool.name)

    # -- read operations ------------------------------------------------------------------

    def validate(self, pool):
        # type: (object) -> None
        """Reject a definition this type cannot use, before anything is read or done.
        The class data says most of it; a backend adds what only it knows (LVM's names)."""
        kind = self.pool_type
        if pool.thin_pool is not None and "thin_pool" not in self.pool_options:
            raise ValidationError("thin_pool", pool.thin_pool.name, "%s pools have no thin pool" % kind)
        for name in pool.source.given_fields():
            if name not in self.source_fields:
                value = getattr(pool.source, name)
                raise ValidationError("source.%s" % name, value.as_dict() if name == "auth" else value,
                                      "%s pools take no source.%s (they take %s)"
                                      % (kind, name, ", ".join("source." + field for field in self.source_fields) or "no source"))
        auth = pool.source.auth
        if auth is not None and auth.mutual_username and self.auth_type != "chap":
            raise ValidationError("source.auth.mutual_username", auth.mutual_username,
                                  "mutual authentication is CHAP's; %s pools log in with %s" % (kind, self.auth_type))
        for name in self.required_source:
            if not getattr(pool.source, name):
                raise ValidationError("source.%s" % name, None, "%s pools need it" % kind)
        if self.single_device and len(pool.source.devices) != 1:
            raise ValidationError("source.devices", list(pool.source.devices), "%s pools take exactly one device" % kind)
        if self.source_formats and pool.source.format is not None and pool.source.format not in self.source_formats:
            raise ValidationError("source.format", pool.source.format, self.source_formats_reason)
        if not self.takes_mount_options and pool.mount_options:
            raise ValidationError("mount_options", list(pool.mount_options), "%s pools mount nothing" % kind)
        if self.no_target is not None:
            if pool.target_path or pool.permissions != Permissions():
                raise ValidationError("target", {"path": pool.target_path, "permissions": pool.permissions.as_dict()},
                                      self.no_target)
            return
        fixed = self.default_target_path(pool)
        if fixed is None and not pool.target_path:
            raise ValidationError("target.path", pool.target_path, "%s pools need a target path" % kind)
        if fixed is not None and pool.target_path != fixed:
            raise ValidationError("target.path", pool.target_path, self.fixed_target_reason.format(path=fixed))
        if self.no_target_permissions and pool.permissions != Permissions():
            raise ValidationError("target.permissions", pool.permissions.as_dict(),
                                  self.no_target_permissions.format(path=pool.target_path))

    def validate_volume_format(self, fmt):
        # type: (str) -> None
        if fmt not in self.volume_formats:
            raise ValidationError("format", fmt, "%s pools hold volumes of format %s"
                                  % (self.pool_type, ", ".join(self.volume_formats) or "none"))

    def format_matches(self, asked, found):
        # type: (str, str) -> bool
        """Whether an existing volume of format found satisfies a task asking for format asked."""
        return asked == found or (self.any_volume_format is not None and asked == self.any_volume_format)

    def clone_format(self, source_format):
        # type: (str) -> str
        """The format of a clone when the task names none."""
        return source_format if self.clone_keeps_format else self.default_volume_format

    def is_built(self, pool):
        # type: (object) -> bool
        """Whether the underlying storage exists (libvirt's checkPool)."""
        return True

    def unbuilt_reason(self, pool):
        # type: (object) -> str
        """Why is_built() is false, for the error message."""
        return "target.path %s does not exist" % pool.target_path

    def live_state(self, pool):
        # type: (object) -> Optional[bool]
        """True/False where the host itself shows whether the pool runs (a mount);
        None where only the store's records can tell (dir pools)."""
        return None

    def refresh(self, pool):
        # type: (object) -> PoolStatus
        """PoolStatus of a started pool."""
        self._unsupported("refresh")

    def list_volumes(self, pool):
        # type: (object) -> List[object]
        """The VolumeDefs of a started pool, sorted by name."""
        self._unsupported("listing volumes")

    def get_volume(self, pool, name):
        # type: (object, str) -> Optional[object]
        """The VolumeDef called name, or None."""
        self._unsupported("volumes")

    def volume_path(self, pool, name):
        # type: (object, str) -> str
        """Where the volume called name is, or would be once made."""
        self._unsupported("volumes")

    def volume_name_at(self, pool, path):
        # type: (object, str) -> Optional[str]
        """The name of the volume at path (a path or key) if this pool holds it, else None."""
        if os.path.dirname(os.path.normpath(path)) == pool.target_path:
            return os.path.basename(path)
        return None

    def round_capacity(self, pool, size):
        # type: (object, int) -> int
        """The capacity a volume of size bytes really gets (whole sectors; whole extents for LVM),
        so that asking again for the same size is no change."""
        return round_up(size, SECTOR)

    # -- planning operations: each returns List[Action], and raises a refusal -------------

    def plan_build(self, pool, overwrite):
        # type: (object, bool) -> List[Action]
        """What building the storage takes; [] when it is there already. Each description is
        one step ("make ext4 on /dev/sdb"). Refused here: a signature without overwrite, a device in use."""
        self._unsupported("build")

    def plan_start(self, pool):
        # type: (object) -> List[Action]
        """What starting the pool takes (mount, activate); [] when nothing is to be done on the host.
        Called in the same plan as plan_build, so it must not refuse what the build will make."""
        self._unsupported("start")

    def plan_stop(self, pool):
        # type: (object) -> List[Action]
        """What stopping the pool takes; refused here while a volume is in use."""
        self._unsupported("stop")

    def plan_delete(self, pool):
        # type: (object) -> List[Action]
        """What destroying the (stopped) storage takes; refused here while it holds anything."""
        self._unsupported("delete")

    def plan_autostart(self, pool, enabled):
        # type: (object, bool) -> List[Action]
        """What the host's own boot mechanism needs changed so the pool does (not) come up at boot."""
        return []

    def plan_target(self, pool):
        # type: (object) -> List[Action]
        """Bring the target's permissions in line with the definition ("set mode/owner of /srv/p")."""
        return []

    def plan_create_volume(self, pool, spec):
        # type: (object, VolumeSpec) -> List[Action]
        """Make the volume spec asks for; one Action whose apply returns the clone method
        (reflink, copy) or None. Refused here: no room, a bad name, a missing size ..."""
        self._unsupported("creating volumes")

    def plan_resize_volume(self, pool, volume, capacity):
        # type: (object, object, int) -> List[Action]
        """Resize volume to capacity bytes (shrinking is the manager's to allow)."""
        self._unsupported("resizing volumes")

    def plan_delete_volume(self, pool, volume, wipe=None):
        # type: (object, object, Optional[str]) -> List[Action]
        """Delete volume, after overwriting it with the wipe algorithm if one is given;
        refused here while it is in use."""
        self._unsupported("deleting volumes")

    def plan_clone_into(self, pool, volume, clone, overwrite=False):
        # type: (object, object, object, bool) -> List[Action]
        """Copy the image clone (a CloneSource) into the existing volume, for pool types whose
        volumes are made elsewhere (a target's LUNs); [] when it holds that image already.
        Refused here: a volume holding data without overwrite, an image larger than the volume."""
        self._unsupported("copying an image into an existing volume")

    def plan_wipe_volume(self, pool, volume, algorithm):
        # type: (object, object, str) -> List[Action]
        """Overwrite the volume with the wipe algorithm and keep it, for pool types that cannot
        delete their volumes (LUNs); refused here while it is in use."""
        self._unsupported("wiping volumes")

    def plan_flatten_volume(self, pool, volume):
        # type: (object, object) -> List[Action]
        """Make a copy-on-write clone independent of its parent (rbd flatten); [] when it is."""
        self._unsupported("flattening volumes")

    def plan_volume_permissions(self, pool, volume, permissions):
        # type: (object, object, Permissions) -> List[Action]
        """Bring the volume's permissions in line with permissions (the unset ones are left alone).
        Where the type cannot (no_volume_permissions), any that are set are refused in one line saying
        why: leaving them as they are would report a volume in line that is not."""
        self.refuse_volume_permissions(permissions)
        return []

    def refuse_volume_permissions(self, permissions):
        # type: (Permissions) -> None
        """Where the type sets no volume permissions (no_volume_permissions), refuse any that are set;
        libvirt's "unset" ids (-1, 4294967295) are unset."""
        wanted = Permissions(mode=permissions.mode, owner=unset_id(permissions.owner), group=unset_id(permissions.group),
                             label=permissions.label)
        if self.no_volume_permissions and wanted != Permissions():
            raise ValidationError("permissions", dict((key, value) for key, value in wanted.as_dict().items()
                                                      if value is not None), self.no_volume_permissions)
