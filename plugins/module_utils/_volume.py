# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VolumeManager: the volume the task asks for vs the volume in the pool -> actions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat

from ansible_collections.poolcraft.storage.plugins.module_utils import _inputs
from ansible_collections.poolcraft.storage.plugins.module_utils._backends import backend_for
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import FILE_ONLY_VOLUME_OPTIONS
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _image_header, _mounts, _perms
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action, BackingStore, CloneSource, VolumeSpec
from ansible_collections.poolcraft.storage.plugins.module_utils._pool import is_active, volume_info
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import QemuImg, qemu_img_errors
from ansible_collections.poolcraft.storage.plugins.module_utils._units import human_size, parse_size
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import volume_to_xml

# the task's own values of these options, kept in the VolumeSpec for the backend's refusals
_GIVEN = FILE_ONLY_VOLUME_OPTIONS + ("backing_store", "flatten", "features")
# options only some pool types take (their backend's volume_options), and what each is for
_TYPE_OPTIONS = tuple((option, "it is for image files") for option in FILE_ONLY_VOLUME_OPTIONS) + (
    ("features", "it sets the features of RBD images"),)
# the options that name another image: clone_from and backing_store
_IMAGE_OPTIONS = ("clone_from", "backing_store")
# where a volume has no path on the host, it has a URL (iscsi://host:port/iqn/lun, rbd:pool/image)
_URL_RE = re.compile(r"^(?:iscsi://|rbd:)")
# the formats an image given to us may be read as (qemu-img reads more, but those read more than one file)
IMAGE_FORMATS = _image_header.PARSED_FORMATS + _image_header.QEMU_IMG_FORMATS
# formats the header probe recognises by their magic: an image of another format cannot be read as one of them
_PROBED_FORMATS = ("qcow", "qcow2", "qed", "vmdk", "vdi", "vhdx", "vpc", "luks")
# the kernel's own file systems: their regular files are the host's state (/proc/self/environ), never an image
_KERNEL_FILESYSTEMS = frozenset(("proc", "sysfs", "debugfs", "tracefs", "securityfs", "configfs", "cgroup", "cgroup2",
                                 "pstore", "efivarfs", "bpf", "fusectl", "binfmt_misc", "selinuxfs", "mqueue", "devpts"))


class _PoolRef(object):
    """A started pool and its backend."""

    def __init__(self, stored, backend):
        self.stored = stored
        self.definition = stored.definition
        self.backend = backend


def _same_image(first, second):
    """Two names of one image: the same block device (/dev/VG/LV and /dev/mapper/VG-LV), or the
    same file; as spelled where either cannot be looked at."""
    try:
        one, other = os.stat(first), os.stat(second)
    except OSError:
        return first == second
    if stat.S_ISBLK(one.st_mode) or stat.S_ISBLK(other.st_mode):
        return stat.S_ISBLK(one.st_mode) and stat.S_ISBLK(other.st_mode) and one.st_rdev == other.st_rdev
    return (one.st_dev, one.st_ino) == (other.st_dev, other.st_ino)


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
        # every option checked before the store is opened or anything is read: whatever
        # `state` says, an invalid option refuses the task
        self._sizes_given = self._validate()
        self._permissions = _perms.from_params(params.get("permissions"))

    # -- the task's options, checked before anything is read ------------------

    def _validate(self):
        """Every option's own rules (no host state is read); the parsed sizes. Permissions follow
        (owner and group names are looked up in the user database)."""
        params = self.params
        for option in ("pool", "name"):
            _inputs.name(params.get(option), option)
        # a path is a file or a device node, or a URL where a pool's volumes have none (iscsi://, rbd:);
        # a key is whatever the pool type makes it (a path, a WWID, pool/image)
        path = params.get("path")
        if path is not None and _URL_RE.match(path):
            _inputs.text(path, "path")
        else:
            _inputs.path(path, "path")
        _inputs.not_empty(_inputs.text(params.get("key"), "key"), "key")
        _inputs.not_empty(_inputs.text(params.get("format"), "format"), "format")
        for option in _IMAGE_OPTIONS:
            self._validate_image_ref(params.get(option), option)
        features = params.get("features")
        if features is not None:
            for feature in features:
                _inputs.not_empty(_inputs.text(feature, "features"), "features")
            if len(set(features)) != len(features):
                raise ValidationError("features", features, "names a feature twice")
        if params.get("lazy_refcounts") and params.get("compat") == "0.10":
            raise ValidationError("lazy_refcounts", params["lazy_refcounts"],
                                  "qemu-img create refuses lazy_refcounts=on with compat=0.10: lazy refcounts need compat 1.1")
        return dict((option, None if params.get(option) is None else parse_size(params[option], option))
                    for option in ("capacity", "allocation", "cluster_size"))

    @staticmethod
    def _validate_image_ref(ref, option):
        """clone_from or backing_store: a path, or a pool and a name, and a format qemu-img reads here."""
        if ref is None:
            return
        if not isinstance(ref, dict):
            raise ValidationError(option, ref, "give path, or pool and name")
        _inputs.path(ref.get("path"), option + ".path")
        for part in ("pool", "name"):
            _inputs.name(ref.get(part), "%s.%s" % (option, part))
        fmt = _inputs.not_empty(_inputs.text(ref.get("format"), option + ".format"), option + ".format")
        if fmt is not None and fmt not in IMAGE_FORMATS:
            raise ValidationError(option + ".format", fmt, "not an image format read here; give one of %s" % ", ".join(IMAGE_FORMATS))
        if ref.get("path") and (ref.get("pool") or ref.get("name")):
            raise ValidationError(option, ref, "give path, or pool and name, not both")
        if not ref.get("path") and not (ref.get("pool") and ref.get("name")):
            raise ValidationError(option, ref, "give path, or pool and name")

    # -- finding pools and volumes ------------------------------------------

    def _pool(self, name, option, shown=None):
        """The started pool called name; shown is how a refusal names it (default: option=name)."""
        stored = self.store.get(_inputs.name(name, option))
        shown = shown or "%s=%r" % (option, name)
        if stored is None:
            raise NotFoundError("%s: no such pool" % shown)
        backend = backend_for(stored.definition.type, self.runner)
        if not is_active(stored, backend):
            raise StorageError("%s: pool is not running; start it with storage_pool state: running" % shown)
        return _PoolRef(stored, backend)

    def _pool_holding(self, path, option):
        """The started pool that holds the volume at path, and the volume's name."""
        for stored in self.store.all():
            name = backend_for(stored.definition.type, self.runner).volume_name_at(stored.definition, path)
            if name is not None:
                pool = stored.definition.name
                return self._pool(pool, "pool", shown="%s=%r (in pool %r)" % (option, path, pool)), name
        raise NotFoundError("%s=%r: no defined pool holds this path" % (option, path))

    def _locate(self):
        params = self.params
        for option in ("path", "key"):
            value = params.get(option)
            if value:
                pool, name = self._pool_holding(value, option)
                return pool, _inputs.name(name, option)
        if not params.get("pool") or not params.get("name"):
            raise ValidationError("name", params.get("name"), "give pool and name, or path, or key")
        return self._pool(params["pool"], "pool"), params["name"]

    def _source_path(self, spec, option):
        """A path from a {path} or {pool, name} reference (checked by _validate_image_ref); it must
        exist and be a regular file or a block device (stat'ed only: opening a FIFO blocks)."""
        if spec.get("path"):
            path = spec["path"]
        else:
            pool = self._pool(spec["pool"], option + ".pool")
            found = pool.backend.get_volume(pool.definition, spec["name"])
            if found is None:
                raise NotFoundError("%s: pool %r has no volume %r" % (option, spec["pool"], spec["name"]))
            path = found.path
        if not os.path.exists(path):
            raise NotFoundError("%s: %s does not exist" % (option, path if path.isprintable() else repr(path)))
        _inputs.source_file(path, option)
        _refuse_kernel_file(path, option)
        return path

    def _network_volume(self, option):
        """The volume a {pool, name} reference names when it has no file on the host (type network: an
        RBD image), which only a pool of its own type can clone; None for a file or a device."""
        ref = self.params[option]
        if ref.get("path"):
            return None
        pool = self._pool(ref["pool"], option + ".pool")
        found = pool.backend.get_volume(pool.definition, ref["name"])
        if found is None or found.type != "network":
            return None
        if pool.backend.pool_type != self.pool.backend.pool_type:
            raise ValidationError(option, ref, "volume %r of pool %r is a %s image: only a %s pool can clone it"
                                  % (ref["name"], ref["pool"], pool.backend.pool_type, pool.backend.pool_type))
        return found

    def _image(self, option):
        """The image option names (clone_from or backing_store), as (path, format, header, references),
        refused unless it is a regular file or block device whose every reference (backing file, data
        file, extent) exists and, without allow_references, is a volume of a defined pool. All of it is
        read from the headers, before qemu-img opens the image (which would follow the references)."""
        ref = self.params[option]
        path = self._source_path(ref, option)
        header = _image_header.probe_path(path, option + ".path")
        fmt = ref.get("format") or header.format
        if fmt != header.format and fmt in _PROBED_FORMATS:
            raise ValidationError(option + ".format", fmt, "%s is a %s image, not %s" % (path, header.format, fmt))
        with qemu_img_errors(option, self.name):
            refs = _image_header.image_references(path, fmt, self.runner, option + ".path")
        for found in refs:
            if found.path is not None and not os.path.lexists(found.path):
                raise ValidationError(option, path, "%s, which does not exist" % found.describe())
        if not self.params.get("allow_references"):
            _image_header.refuse_references(option, path, refs, self._is_pool_volume)
        return path, fmt, header, refs

    def _is_pool_volume(self, real):
        """Whether the file at real (a resolved path) is a volume of a defined pool."""
        for stored in self.store.all():
            definition = stored.definition
            backend = backend_for(definition.type, self.runner)
            if any(backend.volume_name_at(definition, path) is not None for path in _spellings(definition, real)):
                return True
        return False

    # -- planning ------------------------------------------------------------

    def plan(self):
        self.pool, self.name = self._locate()
        pool, backend = self.pool.definition, self.pool.backend
        if self.params.get("format"):
            backend.validate_volume_format(self.params["format"])
        self.volume = backend.get_volume(pool, self.name)
        if self.params["state"] == "absent":
            return self._plan_absent()
        if self.params["state"] == "wiped":
            return self._plan_wipe()
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

    def _plan_wipe(self):
        """Overwrite a volume and keep it: for volumes the pool cannot delete (a target's LUNs). An
        action, not a state: every run wipes again."""
        algorithm, backend = self.params.get("wipe"), self.pool.backend
        if algorithm is None:
            raise ValidationError("wipe", None, "state=wiped needs the algorithm: zero or random")
        if self.volume is None:
            raise NotFoundError("volume %r does not exist in pool %r; nothing to wipe" % (self.name, self.pool.definition.name))
        if not backend.supports("plan_wipe_volume"):
            raise ValidationError("state", "wiped", "%s pools wipe a volume as they delete it: state=absent with wipe"
                                  % backend.pool_type)
        self._after = self.snapshot()
        return backend.plan_wipe_volume(self.pool.definition, self.volume, algorithm)

    def _sizes(self):
        capacity, allocation = self._sizes_given["capacity"], self._sizes_given["allocation"]
        if capacity is not None:
            capacity = self.pool.backend.round_capacity(self.pool.definition, capacity)
        if capacity == 0:
            raise ValidationError("capacity", self.params["capacity"], "a volume needs a size above 0")
        return capacity, allocation

    def _clone_source(self):
        if not self.params.get("clone_from"):
            return None
        network = self._network_volume("clone_from")
        if network is not None:
            return CloneSource(path=network.path, format=network.format, capacity=network.capacity)
        path, fmt, header, refs = self._image("clone_from")
        capacity = header.capacity
        if capacity is None or fmt != header.format:
            # qemu-img itself, whatever the pool type: the header reader does not size every format
            with qemu_img_errors("clone_from", self.name):
                capacity = QemuImg(self.runner).info(path, fmt).get("virtual-size")
            if not isinstance(capacity, int) or isinstance(capacity, bool):
                raise StorageError("clone_from: qemu-img info gives no size of %s for volume %r" % (path, self.name))
        # any reference forces a flattening copy: a reflink of the image would keep the references,
        # which would then be looked up from the pool's directory
        return CloneSource(path=path, format=fmt, has_backing=bool(refs), capacity=capacity)

    def _backing(self):
        if not self.params.get("backing_store"):
            return None
        network = self._network_volume("backing_store")
        if network is not None:
            return BackingStore(path=network.path, format=network.format)
        path, fmt, _header, _refs = self._image("backing_store")
        return BackingStore(path=path, format=fmt)

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
            permissions=self._permissions, features=_features(params),
            given=dict((option, params.get(option)) for option in _GIVEN))
        self._refuse_options(backend)
        actions = backend.plan_create_volume(self.pool.definition, spec)
        self._after = {"state": "present", "name": self.name, "format": fmt,
                       "path": backend.volume_path(self.pool.definition, self.name),
                       "capacity": capacity if capacity is not None else (clone.capacity if clone else None),
                       "backing": backing.path if backing else None,
                       "permissions": spec.permissions.as_dict()}
        if spec.features is not None:
            self._after["features"] = sorted(spec.features)
        # the backend's apply returns how a clone was made (reflink, copy), reported as clone_method;
        # a qemu-img failure reads as one line naming the option it is about and the volume
        option = "clone_from" if clone else ("backing_store" if backing else "capacity")
        return [Action(action.description, lambda action=action: self._created(action.apply, option)) for action in actions]

    def _refuse_options(self, backend):
        """Options the pool type does not have, refused by name (its class data says which)."""
        params = self.params
        for option, purpose in _TYPE_OPTIONS:
            if params.get(option) is not None and option not in backend.volume_options:
                raise ValidationError(option, params[option], "%s pools do not take it; %s" % (backend.pool_type, purpose))
        _refuse_flatten(params, backend)
        backend.refuse_volume_permissions(self._permissions)

    def _cluster_size(self):
        return self._sizes_given["cluster_size"]

    def _plan_update(self):
        params, vol, backend = self.params, self.volume, self.pool.backend
        actions = []
        if params.get("format") and not backend.format_matches(params["format"], vol.format):
            raise ValidationError("format", params["format"], "volume %r exists as %s; it is never converted in place" % (vol.name, vol.format))
        if params.get("backing_store"):
            backing = self._backing()
            have = vol.backing[0].path if vol.backing else None
            if have is None or not _same_image(have, backing.path):
                raise ValidationError("backing_store", params["backing_store"], "volume %r has backing store %s" % (vol.name, have))
        if params.get("clone_from") and backend.supports("plan_clone_into"):
            # a pool whose volumes are made elsewhere (a target's LUNs) takes the image into the existing volume
            actions += [Action(action.description, lambda action=action: self._created(action.apply, "clone_from"))
                        for action in backend.plan_clone_into(self.pool.definition, vol, self._clone_source(),
                                                              bool(params.get("overwrite")))]
        capacity, _allocation = self._sizes()
        if capacity is not None and capacity != vol.capacity:
            # the pool type first: it may not resize at all, or not this way
            actions += [_with_qemu_img_errors(action, "capacity", vol.name)
                        for action in backend.plan_resize_volume(self.pool.definition, vol, capacity)]
            if capacity < vol.capacity and not params.get("shrink"):
                raise ValidationError("capacity", params["capacity"], "smaller than the volume (%s); set shrink: true to shrink it"
                                      % human_size(vol.capacity))
        flatten = []
        if params.get("flatten"):
            _refuse_flatten(params, backend)
            flatten = backend.plan_flatten_volume(self.pool.definition, vol)
            actions += flatten
        features = _features(params)
        if features is not None:
            if "features" not in backend.volume_options:
                raise ValidationError("features", params["features"], "%s pools do not take it; it sets the features of "
                                      "RBD images" % backend.pool_type)
            actions += backend.plan_volume_features(self.pool.definition, vol, features)
        perms = self._permissions
        actions += backend.plan_volume_permissions(self.pool.definition, vol, perms)
        self._after = dict(self.snapshot(), capacity=capacity if capacity is not None else vol.capacity,
                           permissions=dict(vol.permissions.as_dict(), **{k: v for k, v in perms.as_dict().items() if v is not None}))
        if features is not None:
            self._after["features"] = sorted(features)
        if flatten:
            self._after["backing"] = None
        return actions

    def _created(self, apply, option):
        with qemu_img_errors(option, self.name):
            self.clone_method = apply()

    # -- reporting -----------------------------------------------------------

    def rollback(self):
        """After a failed action: nothing to put back (a new volume is made under a temporary name
        and only linked into place when complete)."""

    def snapshot(self):
        vol = self.volume
        if vol is None:
            return {"state": "absent"}
        found = {"state": "present", "name": vol.name, "format": vol.format, "path": vol.path, "capacity": vol.capacity,
                 "backing": vol.backing[0].path if vol.backing else None, "permissions": vol.permissions.as_dict()}
        if _found_features(vol) is not None:
            found["features"] = sorted(_found_features(vol))
        return found

    def diff(self, before):
        return {"before": before, "after": self._after}

    def result(self, applied):
        vol = self.pool.backend.get_volume(self.pool.definition, self.name) if self.pool else None
        if vol is None:
            return {"volume": {"name": self.name, "pool": self.pool.definition.name if self.pool else None, "state": "absent"}}
        info = dict(volume_info(vol), pool=self.pool.definition.name, state="present", xml=volume_to_xml(vol))
        if _found_features(vol) is not None:
            info["features"] = list(_found_features(vol))
        result = {"volume": info}
        if self.clone_method:
            result["clone_method"] = self.clone_method
        return result


def _features(params):
    """The features option as a tuple (None: not given)."""
    return None if params.get("features") is None else tuple(params["features"])


def _found_features(vol):
    """The image features of a volume whose type has them (an RBD image); None for any other."""
    return getattr(vol, "features", None)


def _refuse_flatten(params, backend):
    """flatten where the pool type has no copy-on-write clones (plan_flatten_volume)."""
    if params.get("flatten") and not backend.supports("plan_flatten_volume"):
        raise ValidationError("flatten", True, "%s pools have no copy-on-write clones to flatten" % backend.pool_type)


def _with_qemu_img_errors(action, option, volume):
    """The action, its qemu-img failure as one line naming option and volume."""
    def apply():
        with qemu_img_errors(option, volume):
            return action.apply()
    return Action(action.description, apply)


def _spellings(definition, real):
    """real, and real in the pool's own spelling of its target when that is a link (volume_name_at
    compares with the target as defined)."""
    paths = [real]
    target = getattr(definition, "target_path", None)
    if target and os.path.dirname(real) == os.path.realpath(target) and os.path.realpath(target) != target:
        paths.append(os.path.join(target, os.path.basename(real)))
    return paths


def _refuse_kernel_file(path, option):
    """Refuse a regular file of the kernel's own file systems (/proc, /sys ...), found by the
    device number of the file's file system in the mount table."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        return  # a block device: its node is on devtmpfs, its data is an image
    device = "%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev))
    try:
        mounts = _mounts.read_mounts()
    except (OSError, StorageError):
        return  # no mount table to read: nothing to tell
    fstype = next((mount["fstype"] for mount in mounts if mount["maj_min"] == device), None)
    if fstype in _KERNEL_FILESYSTEMS:
        raise ValidationError(option, path, "is a file of the kernel's %s file system, not an image" % fstype)
