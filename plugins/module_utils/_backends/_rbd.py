# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rbd pools: a Ceph pool (or an RBD namespace in it); volumes are its RBD images.

Everything is asked of the cluster with the rbd command line (_tools/_rbd.py), with the pool's
cephx key in a private keyring and a deadline on every call; nothing is kept on the host but the
definition. A volume's path is qemu's `rbd:POOL/IMAGE` (`rbd:POOL/NAMESPACE/IMAGE`), its key
libvirt's `POOL/IMAGE`; neither holds a secret.

- Refresh reads the pool's statistics (rados df) and the image directory (rbd ls): no image is
  opened, so it costs the same with 10 images or 10,000. The sizes are libvirt's: the cluster's
  raw capacity and free space, the pool's raw usage (with 3 replicas, a write of 1 GiB counts 3).
- Listing with sizes opens every image (rbd ls -l for sizes and parents, rbd du for what each
  uses): that is what a capacity and an allocation per image cost, for libvirt too.
- A clone of another rbd volume (clone_from, or backing_store: the way LVM snapshots are made) is
  copy-on-write, through a protected snapshot of the source named CLONE_SNAPSHOT + the clone's
  name; flatten copies the parent's data in and drops the snapshot. Such a clone shows its parent
  as its backing store. A clone of a host file is copied in by qemu-img.
- A volume is not deleted while it is open (watchers), has snapshots or has clones; each is named.
  wipe: zero discards every object of the image before it is removed (it is shrunk to nothing):
  no client can read the old data, and the OSDs free the space without overwriting it, as they
  do for any deleted image.
- Image features: a new image gets the task's `features` or current Ceph's default; an existing
  image's are changed where rbd can change them (exclusive-lock, object-map with fast-diff,
  journaling on and off; deep-flatten off), and the rest is refused naming the feature. A new
  object map is rebuilt at once, or the image's allocation would read as its whole size.
- Purge: a pool (or namespace) holding images is deleted only with purge_volumes, and never while
  one of its images is open (watchers) or has a clone outside what is deleted: a guest would lose
  its disk under it, a clone its parent. The plan names the count; the apply asks all of it again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import re
import threading
import weakref

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import (
    PoolBackend, create_volume_words, delete_volume_words, resize_volume_words)
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action, BackingStore, PoolStatus, VolumeDef
from ansible_collections.poolcraft.storage.plugins.module_utils._units import human_size
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._rbd import (
    DEFAULT_FEATURES, DISABLED_LATER, ENABLED_LATER, FEATURE_NEEDS, FEATURES, OWN_OPTIONS, Ceph, CephUnreachable, NoSuchPool,
    image_spec, monitors)

# the prefix of qemu's (and our volumes') names of RBD images
PATH_PREFIX = "rbd:"
# a new image copied from a file is made under this name and renamed when complete; a volume's
# name never starts with "." (_inputs.name), so no volume can be mistaken for one
TEMP_PREFIX = ".poolcraft-new-"
# the protected snapshot of a source that a copy-on-write clone hangs from: ours, by this name
CLONE_SNAPSHOT = "poolcraft-clone-"
# a cephx user's name (as Ceph's entity names go), and a key: base64 of a 28-byte secret or so
_USER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# what Ceph's conf parser would take as a comment, a quote or an escape
_CONF_UNSAFE = re.compile(r"[#;\"\\\[\]=]")
_POOL_NAME_RE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,127}")
# what the cluster said of each pool source, per Runner: a task has one Runner (shared by every
# backend its manager makes), so a dead cluster costs a task one deadline, not one per question
_PROBES = weakref.WeakKeyDictionary()


def parse_path(path):
    """(pool, namespace, image) of rbd:POOL/IMAGE, rbd:POOL/NAMESPACE/IMAGE, or of the same without
    rbd: (a key); None when path is not an image's name (a host path, a snapshot, anything else)."""
    if not isinstance(path, str):
        return None
    name = path[len(PATH_PREFIX):] if path.startswith(PATH_PREFIX) else path
    parts = name.split("/")
    if name.startswith("/") or "@" in name or ":" in name or len(parts) not in (2, 3) or not all(parts):
        return None
    return (parts[0], None, parts[1]) if len(parts) == 2 else tuple(parts)


class RbdBackend(PoolBackend):

    pool_type = "rbd"
    auth_type = "ceph"
    required_source = ("name", "hosts")
    source_fields = ("name", "hosts", "namespace", "config", "auth")
    no_target = "rbd pools have no target: their images are reached by qemu and librbd over the network"
    takes_mount_options = False
    volume_formats = ("raw",)
    # a clone of a qcow2 file is raw data in an image
    clone_keeps_format = False
    no_volume_permissions = ("rbd volumes are RBD images, not files on the host: who may open them is a matter of "
                             "the cephx users' caps")
    volume_options = ("features",)

    def __init__(self, runner, settings=None):
        super(RbdBackend, self).__init__(runner, settings)
        try:
            self._probes = _PROBES.setdefault(runner, {})
        except TypeError:  # a runner that cannot be weakly referred to: answers kept by this backend
            self._probes = {}
        # pools whose build this plan makes: their start must not refuse what the build will create
        self._building = set()

    # -- the pool's definition ------------------------------------------------------------------

    def validate(self, pool):
        super(RbdBackend, self).validate(pool)
        source = pool.source
        if not _POOL_NAME_RE.fullmatch(source.name):
            raise ValidationError("source.name", source.name, "a Ceph pool name is letters, digits, '.', '_' and '-'")
        if source.namespace is not None and not _POOL_NAME_RE.fullmatch(source.namespace):
            raise ValidationError("source.namespace", source.namespace,
                                  "an RBD namespace is letters, digits, '.', '_' and '-'")
        auth = source.auth
        if auth is not None:
            if auth.username.startswith("client."):
                raise ValidationError("source.auth.username", auth.username,
                                      "give the cephx user without 'client.' (%s)" % auth.username[len("client."):])
            if not _USER_RE.fullmatch(auth.username):
                raise ValidationError("source.auth.username", auth.username,
                                      "a cephx user name is letters, digits, '.', '_' and '-'")
            if not _is_key(auth.secret):
                raise ValidationError("source.auth.secret", "(hidden)", "not a cephx key (the base64 text of "
                                      "`ceph auth get-key client.%s`)" % auth.username)
        for option, value in source.config:
            if option in OWN_OPTIONS:
                raise ValidationError("source.config", option, "set by the pool itself (source.hosts, source.auth)")
            if _CONF_UNSAFE.search(value):
                raise ValidationError("source.config.%s" % option, value,
                                      "a Ceph option's value may not hold # ; \" \\ [ ] or =")

    # -- what the cluster says of the pool --------------------------------------------------------

    def _ceph(self, pool):
        """The tools for pool; a cluster found unreachable this task is not asked again."""
        found = self._probes.get(pool.source)
        if isinstance(found, CephUnreachable):
            raise found
        return self._tools(pool)

    def _tools(self, pool):
        # the task may shorten the wait for a monitor (storage_device_facts' usage_timeout)
        return Ceph(self.runner, pool.source, "rbd pool %r" % pool.name, self.settings.get("timeout"))

    def _probe(self, pool, strict=True):
        """"ok", "no pool" or "no namespace", asked once per task (rbd ls: the monitors, the key,
        the pool and an OSD all answer, or the deadline says which did not). strict: a cluster
        that cannot be asked is an error (CephUnreachable); else it reads as None."""
        key = pool.source
        if key not in self._probes:
            try:
                self._tools(pool).names(pool.source.name, pool.source.namespace)
                self._probes[key] = "ok"
            except NoSuchPool as exc:
                self._probes[key] = "no namespace" if "namespace" in str(exc) else "no pool"
            except CephUnreachable as exc:
                self._probes[key] = exc
        found = self._probes[key]
        if isinstance(found, CephUnreachable):
            if strict:
                raise found
            return None
        return found

    def is_built(self, pool):
        # a cluster that cannot be asked is not said to lack the pool: start, refresh and the
        # volumes say what is wrong (and a pool of a dead cluster can still be undefined)
        return self._probe(pool, strict=False) not in ("no pool", "no namespace")

    def unbuilt_reason(self, pool):
        if self._probe(pool, strict=False) == "no namespace":
            return "Ceph pool %r has no RBD namespace %r" % (pool.source.name, pool.source.namespace)
        return "the Ceph cluster at %s has no pool %r" % (monitors(pool.source), pool.source.name)

    def plan_build(self, pool, overwrite):
        state = self._probe(pool)
        name, namespace = pool.source.name, pool.source.namespace
        actions = []
        if state == "no pool":
            actions.append(Action("create Ceph pool %r for rbd" % name, lambda: self._create_pool(pool)))
        if namespace and state in ("no pool", "no namespace"):
            actions.append(Action("create RBD namespace %r in Ceph pool %r" % (namespace, name),
                                  lambda: self._create_namespace(pool)))
        if actions:
            self._building.add(pool.source)
        return actions

    def _create_pool(self, pool):
        ceph = self._ceph(pool)
        if pool.source.name in [entry["pool_name"] for entry in ceph.pools_detail()]:
            return  # made meanwhile, by somebody else: theirs to initialise
        ceph.pool_create(pool.source.name)
        ceph.pool_init(pool.source.name)
        self._probes.pop(pool.source, None)

    def _create_namespace(self, pool):
        ceph = self._ceph(pool)
        if pool.source.namespace not in ceph.namespaces(pool.source.name):
            ceph.namespace_create(pool.source.name, pool.source.namespace)
        self._probes.pop(pool.source, None)

    def plan_start(self, pool):
        if pool.source in self._building:
            return []
        state = self._probe(pool)
        if state != "ok":
            raise NotFoundError("pool %r is not built (%s); set build: true to create it" % (pool.name, self.unbuilt_reason(pool)))
        return []  # nothing runs on the host: a started rbd pool is the store's mark

    def plan_stop(self, pool):
        return []  # nothing to undo on the host; guests keep their images open

    def plan_delete(self, pool):
        self._probe(pool)
        contents = self._refuse_purge(pool)
        name, namespace = pool.source.name, pool.source.namespace
        held = " and its %s" % _count_words(contents) if contents.count else ""
        if namespace:
            words = "remove RBD namespace %r%s from Ceph pool %r" % (namespace, held, name)
        else:
            words = "delete Ceph pool %r%s" % (name, held)
        return [Action(words, lambda: self._purge(pool))]

    def _contents(self, pool):
        """What purging pool deletes: the images of its namespace (of every namespace, for a whole Ceph
        pool) and the trash's."""
        ceph, name = self._ceph(pool), pool.source.name
        namespaces = [pool.source.namespace] if pool.source.namespace else [None] + ceph.namespaces(name)
        return _Contents(dict((namespace, ceph.names(name, namespace)) for namespace in namespaces),
                         dict((namespace, ceph.trash(name, namespace)) for namespace in namespaces))

    def _refuse_purge(self, pool):
        """The contents; refused while any (without purge_volumes), or while an image is open or has a
        clone that the purge would leave without its parent."""
        contents = self._contents(pool)
        if not contents.count:
            return contents
        if not self.settings.get("purge_volumes"):
            named = ", ".join(contents.names()[:10])
            raise StorageError("pool %r: Ceph pool %r still holds %s (%s); delete them, or set purge_volumes: true to "
                               "delete them with the pool" % (pool.name, pool.source.name, _count_words(contents), named))
        ceph, name = self._ceph(pool), pool.source.name
        for namespace, images in sorted(contents.images.items(), key=lambda item: item[0] or ""):
            for image in images:
                spec = image_spec(name, namespace, image)
                watchers = ceph.watchers(spec)
                if watchers:
                    raise StorageError("pool %r: cannot purge, image %s is open by %s; close it (stop the guest) first"
                                       % (pool.name, spec, _watcher_words(watchers)))
                outside = [child for child in ceph.children(spec) if not self._purged_with(pool, child)]
                if outside:
                    raise StorageError("pool %r: cannot purge, image %s has clones outside it (%s); delete or flatten "
                                       "them first" % (pool.name, spec, ", ".join(_child_name(child) for child in outside)))
        return contents

    def _purged_with(self, pool, child):
        """Whether the purge of pool deletes the clone child too."""
        if child.get("pool") != pool.source.name:
            return False
        return not pool.source.namespace or (child.get("pool_namespace") or None) == pool.source.namespace

    def _purge(self, pool):
        contents = self._refuse_purge(pool)  # again: an image may have been made, or opened, since the plan
        ceph = self._ceph(pool)
        if pool.source.namespace:
            self._empty_namespace(ceph, pool, contents)
            ceph.namespace_remove(pool.source.name, pool.source.namespace)
        else:
            ceph.pool_delete(pool.source.name)  # one step, with every image and namespace in it

    def _empty_namespace(self, ceph, pool, contents):
        """Every image of the namespace removed, clones before their parents, snapshots before their
        images; then its trash. A failure names what is left."""
        name, namespace = pool.source.name, pool.source.namespace
        left = list(contents.images.get(namespace, []))
        total = len(left)
        while left:
            removable = [image for image in left if not ceph.children(image_spec(name, namespace, image))]
            if not removable:
                raise StorageError("pool %r: removed %d of %d images of RBD namespace %r; these still have clones: %s"
                                   % (pool.name, total - len(left), total, namespace, ", ".join(left)))
            for image in removable:
                spec = image_spec(name, namespace, image)
                try:
                    snapshots = ceph.snapshots(spec)
                    for snapshot in snapshots:
                        if snapshot.get("protected") == "true":
                            ceph.snap_unprotect("%s@%s" % (spec, snapshot["name"]))
                    if snapshots:
                        ceph.snap_purge(spec)
                    ceph.remove(spec)
                except StorageError as exc:
                    raise StorageError("pool %r: removed %d of %d images of RBD namespace %r, then: %s"
                                       % (pool.name, total - len(left), total, namespace, exc))
                left.remove(image)
        for entry in contents.trash.get(namespace, []):
            ceph.trash_remove(name, namespace, entry["id"])

    # -- reading the pool -----------------------------------------------------------------------

    def refresh(self, pool):
        ceph = self._ceph(pool)
        # the directory first: it fails for a pool that has gone, where the statistics read as none
        names = [name for name in ceph.names(pool.source.name, pool.source.namespace) if not name.startswith(TEMP_PREFIX)]
        usage, totals = ceph.pool_usage(pool.source.name)
        return PoolStatus(capacity=int(totals.get("total_space", 0)) * 1024, allocation=int(usage.get("size_bytes", 0)),
                          available=int(totals.get("total_avail", 0)) * 1024, volume_count=len(names))

    def list_volumes(self, pool):
        ceph = self._ceph(pool)
        name, namespace = pool.source.name, pool.source.namespace
        # two passes over every image, side by side: sizes and parents (rbd ls -l opens the images
        # several at a time), and what each holds (rbd du reads them one by one, the longer pass)
        entries, usage = _side_by_side(lambda: ceph.images_long(name, namespace), lambda: ceph.disk_usage(name, namespace))
        used = _used_by_image(usage)
        volumes = []
        for entry in entries:
            if "snapshot" in entry or entry["image"].startswith(TEMP_PREFIX):
                continue
            volumes.append(self._volume(pool, entry["image"], entry["size"], used.get(entry["image"], 0), entry.get("parent")))
        return sorted(volumes, key=lambda volume: volume.name)

    def get_volume(self, pool, name):
        _refuse_image_name(name, "name")
        ceph = self._ceph(pool)
        spec = self._spec(pool, name)
        info = ceph.info(spec)
        if info is None:
            return None
        if "fast-diff" in info.get("features", []) and "fast diff invalid" not in info.get("flags", []):
            allocation = sum(entry.get("used_size", 0) for entry in ceph.disk_usage(pool.source.name, pool.source.namespace, name))
        else:
            allocation = info["size"]  # as libvirt: without a valid fast-diff map, only reading every object would tell
        return self._volume(pool, name, info["size"], allocation, info.get("parent"), tuple(info.get("features", ())))

    def _volume(self, pool, name, size, allocation, parent, features=None):
        backing = []
        if parent:
            backing = [BackingStore(PATH_PREFIX + image_spec(parent["pool"], parent.get("pool_namespace"), parent["image"]), "raw")]
        return VolumeDef(name=name, path=self.volume_path(pool, name), key=self._spec(pool, name), format="raw",
                         capacity=int(size), allocation=int(allocation), type="network", backing=backing, features=features)

    def _spec(self, pool, name, snapshot=None):
        return image_spec(pool.source.name, pool.source.namespace, name, snapshot)

    def volume_path(self, pool, name):
        return PATH_PREFIX + self._spec(pool, name)

    def volume_name_at(self, pool, path):
        found = parse_path(path)
        if found is None:
            return None
        ceph_pool, namespace, image = found
        if ceph_pool != pool.source.name or (namespace or None) != (pool.source.namespace or None):
            return None
        return image

    # -- volumes --------------------------------------------------------------------------------

    def plan_create_volume(self, pool, spec):
        _refuse_image_name(spec.name, "name")
        if spec.features is not None:
            refuse_features(spec.features)
        source = spec.clone.path if spec.clone is not None else (spec.backing.path if spec.backing is not None else None)
        if source is not None and parse_path(source) is not None:
            return self._plan_cow_clone(pool, spec, source, option="clone_from" if spec.clone is not None else "backing_store")
        if spec.backing is not None:
            raise ValidationError("backing_store", spec.as_given("backing_store"),
                                  "an rbd volume is a copy-on-write clone of another rbd volume, not an overlay on a file")
        if spec.clone is not None:
            size = max(spec.capacity or 0, spec.clone.capacity)
            return [Action(create_volume_words(spec), lambda: self._copy_file(pool, spec, size))]
        return [Action(create_volume_words(spec), lambda: self._create(pool, spec))]

    def _create(self, pool, spec):
        self._ceph(pool).create(self._spec(pool, spec.name), spec.capacity, _new_features(spec))

    def _copy_file(self, pool, spec, size):
        """A new image under a temporary name, the file converted into it, renamed when complete."""
        ceph = self._ceph(pool)
        temp = self._spec(pool, TEMP_PREFIX + spec.name)
        if ceph.info(temp) is not None:
            ceph.remove(temp)  # left by an interrupted run: ours, by its name
        ceph.create(temp, size, _new_features(spec))
        try:
            ceph.convert_into(spec.clone.path, spec.clone.format, temp)
            ceph.rename(temp, self._spec(pool, spec.name))
        except BaseException:
            try:
                ceph.remove(temp)
            except StorageError:
                pass  # the copy's own failure is the one to report; a later run removes what is left
            raise
        return "copy"

    def _plan_cow_clone(self, pool, spec, source, option):
        parent_pool, parent_namespace, parent_image = parse_path(source)
        parent = image_spec(parent_pool, parent_namespace, parent_image)
        info = self._ceph(pool).info(parent)
        if info is None:
            raise NotFoundError("%s: no rbd image %s" % (option, parent))
        if "layering" not in info.get("features", []):
            raise ValidationError(option, source, "image %s lacks the layering feature that clones need" % parent)
        if "layering" not in _new_features(spec):
            raise ValidationError("features", list(spec.features), "a copy-on-write clone needs layering")
        flatten = bool(spec.as_given("flatten")) and option == "clone_from"
        capacity = spec.capacity if spec.capacity is not None else info["size"]
        if capacity < info["size"]:
            raise ValidationError("capacity", human_size(capacity), "smaller than the clone's source %s (%s): a clone "
                                  "starts as large as its source" % (parent, human_size(info["size"])))
        snapshot = CLONE_SNAPSHOT + spec.name
        words = "%s (copy-on-write, through snapshot %s%s)" % (
            create_volume_words(spec), snapshot, ", then flattened" if flatten else "")
        return [Action(words, lambda: self._cow_clone(pool, spec, parent, snapshot, capacity, info["size"], flatten))]

    def _cow_clone(self, pool, spec, parent, snapshot, capacity, parent_size, flatten):
        ceph = self._ceph(pool)
        snap_spec = "%s@%s" % (parent, snapshot)
        found = dict((snap["name"], snap) for snap in ceph.snapshots(parent))
        if snapshot not in found:
            ceph.snap_create(snap_spec)
        if found.get(snapshot, {}).get("protected") != "true":
            ceph.snap_protect(snap_spec)  # clone v1 needs it; v2 does not mind
        child = self._spec(pool, spec.name)
        ceph.clone(snap_spec, child, _new_features(spec))
        if capacity > parent_size:
            ceph.resize(child, capacity)
        if flatten:
            ceph.flatten(child)
            self._drop_clone_snapshot(ceph, parent, snapshot)
            return "copy"
        return "cow"

    def _drop_clone_snapshot(self, ceph, parent, snapshot):
        """Our clone snapshot of parent, once no clone hangs from it."""
        snap_spec = "%s@%s" % (parent, snapshot)
        if ceph.children(snap_spec):
            return
        found = dict((snap["name"], snap) for snap in ceph.snapshots(parent))
        if snapshot not in found:
            return
        if found[snapshot].get("protected") == "true":
            ceph.snap_unprotect(snap_spec)
        ceph.snap_remove(snap_spec)

    def plan_flatten_volume(self, pool, volume):
        """Copy the parent's data into a clone, which then no longer depends on it; [] when the
        volume has no parent."""
        if not volume.backing:
            return []
        return [Action("flatten volume %r (copy the data of %s into it)" % (volume.name, volume.backing[0].path),
                       lambda: self._flatten(pool, volume))]

    def _flatten(self, pool, volume):
        ceph = self._ceph(pool)
        info = ceph.info(self._spec(pool, volume.name))
        if info is None or not info.get("parent"):
            return  # flattened (or deleted) meanwhile
        parent = info["parent"]
        ceph.flatten(self._spec(pool, volume.name))
        if parent.get("snapshot", "").startswith(CLONE_SNAPSHOT):
            self._drop_clone_snapshot(ceph, image_spec(parent["pool"], parent.get("pool_namespace"), parent["image"]),
                                      parent["snapshot"])

    def plan_volume_features(self, pool, volume, features):
        """The image's features brought in line with features (those of FEATURES; any other it has is
        kept); [] when they are. What rbd cannot change on an existing image is refused, naming it."""
        refuse_features(features)
        enable, disable = _feature_changes(volume.features or (), features)
        for feature in enable:
            if feature not in ENABLED_LATER:
                raise ValidationError("features", list(features), "volume %r was created without %s, and Ceph sets it "
                                      "only when an image is created" % (volume.name, feature))
        for feature in disable:
            if feature not in DISABLED_LATER:
                raise ValidationError("features", list(features), "volume %r has %s, which Ceph never takes off an image"
                                      % (volume.name, feature))
        if not enable and not disable:
            return []
        words = "; ".join(part for part in (
            "enable %s" % ", ".join(enable) if enable else "",
            "disable %s" % ", ".join(disable) if disable else "",
            "deep-flatten cannot be enabled again" if "deep-flatten" in disable else "") if part)
        return [Action("change features of volume %r (%s)" % (volume.name, words), lambda: self._set_features(pool, volume, features))]

    def _set_features(self, pool, volume, features):
        ceph = self._ceph(pool)
        spec = self._spec(pool, volume.name)
        info = ceph.info(spec)
        if info is None:
            raise NotFoundError("volume %r was deleted meanwhile" % volume.name)
        enable, disable = _feature_changes(info.get("features", ()), features)  # as they are now
        if disable:
            ceph.feature_disable(spec, disable)
        if enable:
            ceph.feature_enable(spec, enable)
        if "object-map" in enable:
            ceph.object_map_rebuild(spec)

    def plan_resize_volume(self, pool, volume, capacity):
        if capacity < volume.capacity:
            self._refuse_open(pool, volume, "shrink")
        return [Action(resize_volume_words(volume, capacity), lambda: self._resize(pool, volume, capacity))]

    def _resize(self, pool, volume, capacity):
        shrink = capacity < volume.capacity
        if shrink:
            self._refuse_open(pool, volume, "shrink")
        self._ceph(pool).resize(self._spec(pool, volume.name), capacity, shrink=shrink)

    def plan_delete_volume(self, pool, volume, wipe=None):
        if wipe not in (None, "zero"):
            raise ValidationError("wipe", wipe, "rbd volumes are wiped with zero (every object discarded); random bytes "
                                  "written through the OSDs would not overwrite the old ones on their disks either")
        self._refuse_delete(pool, volume)
        return [Action(delete_volume_words(volume, wipe), lambda: self._delete(pool, volume, wipe))]

    def _refuse_open(self, pool, volume, verb):
        watchers = self._ceph(pool).watchers(self._spec(pool, volume.name))
        if watchers:
            raise StorageError("cannot %s volume %r: it is open by %s; close it (stop the guest) first"
                               % (verb, volume.name, _watcher_words(watchers)))

    def _refuse_delete(self, pool, volume):
        """Watchers, clones, and snapshots not ours: named. Returns our snapshots without clones."""
        ceph = self._ceph(pool)
        spec = self._spec(pool, volume.name)
        self._refuse_open(pool, volume, "delete")
        children = ceph.children(spec)
        if children:
            raise StorageError("cannot delete volume %r: it has clones (%s); delete or flatten them first"
                               % (volume.name, ", ".join(_child_name(child) for child in children)))
        snapshots = [snap["name"] for snap in ceph.snapshots(spec)]
        theirs = [name for name in snapshots if not name.startswith(CLONE_SNAPSHOT)]
        if theirs:
            raise StorageError("cannot delete volume %r: it has snapshots (%s); delete them first"
                               % (volume.name, ", ".join(theirs)))
        return [name for name in snapshots if name.startswith(CLONE_SNAPSHOT)]

    def _delete(self, pool, volume, wipe):
        ours = self._refuse_delete(pool, volume)  # again: a guest may have opened it since the plan
        ceph = self._ceph(pool)
        spec = self._spec(pool, volume.name)
        info = ceph.info(spec)
        if info is None:
            return  # deleted meanwhile
        for snapshot in ours:
            self._drop_clone_snapshot(ceph, spec, snapshot)
        if wipe == "zero":
            ceph.resize(spec, 0, shrink=True)  # every data object discarded
        ceph.remove(spec)
        parent = info.get("parent")
        if parent and parent.get("snapshot", "").startswith(CLONE_SNAPSHOT):
            try:
                self._drop_clone_snapshot(ceph, image_spec(parent["pool"], parent.get("pool_namespace"), parent["image"]),
                                          parent["snapshot"])
            except StorageError:
                pass  # the volume is gone, as asked; the parent's delete drops a snapshot of ours left behind


class _Contents(object):
    """The images and the trash entries of the namespaces a purge deletes (None: the default one)."""

    def __init__(self, images, trash):
        self.images = images
        self.trash = trash
        self.in_trash = sum(len(entries) for entries in trash.values())
        self.count = sum(len(names) for names in images.values()) + self.in_trash

    def names(self):
        found = []
        for namespace in sorted(self.images, key=lambda name: name or ""):
            found += [(namespace + "/" if namespace else "") + image for image in self.images[namespace]]
        for namespace in sorted(self.trash, key=lambda name: name or ""):
            found += [(namespace + "/" if namespace else "") + entry.get("name", "?") + " (in the trash)"
                      for entry in self.trash[namespace]]
        return found


def _count_words(contents):
    words = "%d image%s" % (contents.count, "" if contents.count == 1 else "s")
    if contents.in_trash:
        words += " (%d in the trash)" % contents.in_trash
    return words


def refuse_features(features):
    """features as Ceph takes them: each with what it needs; object-map and fast-diff together (rbd turns
    both on, and both off, at once)."""
    for feature in features:
        if feature not in FEATURES:
            raise ValidationError("features", list(features), "%s is not an image feature set here (%s)"
                                  % (feature, ", ".join(FEATURES)))
        need = FEATURE_NEEDS.get(feature)
        if need and need not in features:
            raise ValidationError("features", list(features), "%s needs %s" % (feature, need))
    if ("object-map" in features) != ("fast-diff" in features):
        raise ValidationError("features", list(features), "object-map and fast-diff go together (rbd turns both on and off)")


def _new_features(spec):
    """The features of the image spec makes: the task's, else current Ceph's default."""
    return DEFAULT_FEATURES if spec.features is None else tuple(feature for feature in FEATURES if feature in spec.features)


def _feature_changes(have, want):
    """(to enable, to disable) among FEATURES, each in the order rbd needs them: what others need first."""
    enable = [feature for feature in FEATURES if feature in want and feature not in have]
    disable = [feature for feature in reversed(FEATURES) if feature in have and feature not in want]
    return enable, disable


def _watcher_words(watchers):
    return ", ".join("client.%s at %s" % (watcher.get("client"), watcher.get("address")) for watcher in watchers)


def _is_key(secret):
    try:
        return len(base64.b64decode(secret.encode("ascii"), validate=True)) >= 16
    except (binascii.Error, ValueError, UnicodeEncodeError, AttributeError):
        return False


def _refuse_image_name(name, option):
    if name is not None and "@" in name:
        raise ValidationError(option, name, "an RBD image name may not hold '@' (it names a snapshot)")


def _child_name(child):
    name = image_spec(child.get("pool"), child.get("pool_namespace"), child.get("image"))
    return name + (" (in the trash)" if child.get("trash") else "")


def _side_by_side(first, second):
    """(first(), second()), second run in a thread of its own meanwhile; what either raises is raised
    (first's before second's)."""
    found = {}

    def run_second():
        try:
            found["result"] = second()
        except BaseException as exc:  # pylint: disable=broad-except
            # raised again below, in the calling thread
            found["error"] = exc

    worker = threading.Thread(target=run_second)
    worker.daemon = True
    worker.start()
    try:
        result = first()
    finally:
        worker.join()
    if "error" in found:
        raise found["error"]
    return result, found["result"]


def _used_by_image(entries):
    """rbd du's entries (the image's head and each of its snapshots) summed per image: what the
    image and its snapshots hold."""
    used = {}
    for entry in entries:
        used[entry["name"]] = used.get(entry["name"], 0) + int(entry.get("used_size", 0))
    return used
