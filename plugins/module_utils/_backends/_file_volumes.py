# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""File volumes (raw, qcow2, vmdk images in a directory): shared by dir, fs and netfs pools."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import stat

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import (
    FILE_ONLY_VOLUME_OPTIONS, create_volume_words, delete_volume_words, resize_volume_words)
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _perms
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action, BackingStore, PoolStatus, VolumeDef
from ansible_collections.poolcraft.storage.plugins.module_utils._units import SECTOR

# A volume is made under this name and renamed when complete, so an
# interrupted run never leaves something a later run would take as done.
TEMP_PREFIX = ".poolcraft-tmp-"
DEFAULT_VOLUME_MODE = 0o600
_FICLONE = 0x40049409
_MAX_CHAIN = 16
# Which creation options each file format takes (qemu-img's own limits).
PREALLOCATION = {"raw": ("off", "falloc", "full"), "qcow2": ("off", "metadata", "falloc", "full"), "vmdk": ("off",)}


def _volume_files(directory):
    """DirEntry of each regular file that is a volume (not our temporaries)."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False) and not entry.name.startswith(TEMP_PREFIX):
                yield entry


def reflink(source, target):
    """Clone source into a new file target sharing its extents; False where the filesystem cannot."""
    with open(source, "rb") as src:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.ioctl(fd, _FICLONE, src.fileno())
        except OSError as exc:
            os.close(fd)
            os.unlink(target)
            if exc.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS):
                return False
            raise
        os.fsync(fd)
        os.close(fd)
    return True


class FileVolumes(object):
    """Mixin: volumes are image files in pool.target_path."""

    volume_formats = ("raw", "qcow2", "vmdk")

    volume_options = FILE_ONLY_VOLUME_OPTIONS

    @staticmethod
    def _refuse_options(spec):
        """The rules of each image format (qemu-img's own limits), with the task's own values."""
        fmt = spec.format
        allowed = PREALLOCATION.get(fmt, ("off",))
        if spec.preallocation and spec.preallocation not in allowed:
            raise ValidationError("preallocation", spec.preallocation, "%s volumes allow %s" % (fmt, ", ".join(allowed)))
        for option in ("cluster_size", "compat", "lazy_refcounts"):
            if getattr(spec, option) is not None and fmt != "qcow2":
                raise ValidationError(option, spec.as_given(option), "only qcow2 volumes have it, not %s" % fmt)
        if spec.allocation is not None:
            if fmt != "raw":
                raise ValidationError("allocation", spec.as_given("allocation"),
                                      "only raw volumes take an allocation; use preallocation for %s" % fmt)
            if spec.capacity is not None and spec.allocation > spec.capacity:
                raise ValidationError("allocation", spec.as_given("allocation"), "larger than capacity")
        if spec.backing and fmt == "raw":
            raise ValidationError("backing_store", spec.as_given("backing_store"),
                                  "raw volumes cannot have a backing store; use qcow2")

    # -- where the files are worked on -----------------------------------------------------
    # dir and fs pools work on their files in this process, as the module's own user. netfs
    # pools override these: only a child process touches the mount point (a read has a deadline),
    # and a volume is made, resized and deleted as its owner (a squashed root may not write there).

    def _volume_owner(self, pool, permissions, volume=None):
        # type: (object, object, object) -> object
        """(uid, gid) that makes (volume None) or changes volume with permissions; None: this
        process, as it is."""
        return None

    def _on_files(self, pool, work, as_user=None):
        """work() that changes the pool's files, as_user=(uid, gid) when given; its (plain) result."""
        return work()

    def _reading_files(self, pool, work):
        """work() that only reads the pool's files; its (plain) result."""
        return work()

    # The image tools are imported where they are used: a task with nothing to do (most tasks)
    # reads no image, and every module a task imports is compiled again from the AnsiballZ zip.

    @property
    def _qemu_img(self):
        from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import QemuImg
        return QemuImg(self.runner)

    def _statvfs_status(self, pool, volume_count):
        st = os.statvfs(pool.target_path)
        return PoolStatus(capacity=st.f_blocks * st.f_frsize,
                          allocation=(st.f_blocks - st.f_bfree) * st.f_frsize,
                          available=st.f_bavail * st.f_frsize,
                          volume_count=volume_count)

    def refresh(self, pool):
        # The count needs no header reads: one readdir and no stat per file.
        return self._statvfs_status(pool, sum(1 for _entry in _volume_files(pool.target_path)))

    def volume_path(self, pool, name):
        return os.path.join(pool.target_path, name)

    def list_volumes(self, pool):
        volumes = [self._describe(entry.path, entry.stat(follow_symlinks=False), chain=False)
                   for entry in _volume_files(pool.target_path)]
        return sorted(volumes, key=lambda vol: vol.name)

    def get_volume(self, pool, name):
        path = self.volume_path(pool, name)
        try:
            st = os.lstat(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        if not stat.S_ISREG(st.st_mode):
            raise StorageError("%s exists and is not a regular file" % path)
        return self._describe(path, st, chain=True)

    def _describe(self, path, st, chain):
        from ansible_collections.poolcraft.storage.plugins.module_utils._host import _image_header
        # stat'ed and opened without blocking: a FIFO put in the pool directory cannot stop a listing
        with _image_header.open_image(path) as handle:
            header = _image_header.probe(handle, st.st_size)
        fmt, capacity = header.format, header.capacity
        if header.needs_qemu_img:
            info = self._qemu_img.info(path, header.format)
            capacity = int(info["virtual-size"])
        backing = []
        if header.backing_path:
            backing = self._chain(path, header) if chain else [
                BackingStore(self._absolute(path, header.backing_path), header.backing_format)]
        return VolumeDef(name=os.path.basename(path), path=path, key=path, format=fmt,
                         capacity=capacity, allocation=st.st_blocks * SECTOR, backing=backing,
                         permissions=_perms.of_path(path, st))

    @staticmethod
    def _absolute(image, backing):
        return backing if os.path.isabs(backing) else os.path.join(os.path.dirname(image), backing)

    def _chain(self, path, header):
        """The backing files, nearest first: at most _MAX_CHAIN, each once (a loop ends the list),
        a file that is missing or not an image ends it too (it is listed, not read)."""
        from ansible_collections.poolcraft.storage.plugins.module_utils._host import _image_header
        chain, seen = [], {os.path.realpath(path)}
        while header.backing_path and len(chain) < _MAX_CHAIN:
            path = self._absolute(path, header.backing_path)
            chain.append(BackingStore(path, header.backing_format))
            if not os.path.isfile(path) or os.path.realpath(path) in seen:
                break
            seen.add(os.path.realpath(path))
            header = _image_header.probe_path(path)
        return chain

    # -- changes -------------------------------------------------------------

    def plan_create_volume(self, pool, spec):
        self._refuse_options(spec)
        return [Action(create_volume_words(spec), lambda: self._on_files(
            pool, lambda: self._create_volume(pool, spec), self._volume_owner(pool, spec.permissions)))]

    def _create_volume(self, pool, spec):
        final = self.volume_path(pool, spec.name)
        temp = os.path.join(pool.target_path, TEMP_PREFIX + spec.name)
        if os.path.lexists(temp):
            os.unlink(temp)  # left by an interrupted run: never a finished volume
        method = None  # clone_method is reported for clones only
        try:
            if spec.clone is not None:
                method = self._clone_into(temp, spec)
            else:
                self._create(temp, spec)
            # libvirt's default for new volumes, whichever way the file was made
            os.chmod(temp, DEFAULT_VOLUME_MODE)
            _perms.apply(temp, spec.permissions, self.runner)
            # link() fails if something appeared under the final name meanwhile: never clobber.
            os.link(temp, final)
        finally:
            if os.path.lexists(temp):
                os.unlink(temp)
        return method

    @staticmethod
    def _create_options(spec):
        options = {"preallocation": spec.preallocation}
        if spec.format == "qcow2":
            options.update(cluster_size=spec.cluster_size, compat=spec.compat, lazy_refcounts=spec.lazy_refcounts)
        return options

    def _create(self, temp, spec):
        backing = spec.backing
        self._qemu_img.create(temp, spec.format, spec.capacity, self._create_options(spec),
                              backing=backing.path if backing else None,
                              backing_format=backing.format if backing else None)
        if spec.allocation:
            with open(temp, "r+b") as handle:
                os.posix_fallocate(handle.fileno(), 0, spec.allocation)

    def _clone_into(self, temp, spec):
        """Reflink when the format stays and the filesystem can; a sparse copy otherwise."""
        source = spec.clone
        method = "copy"
        same = source.format == spec.format and not source.has_backing
        if same and reflink(source.path, temp):
            method = "reflink"
        else:
            self._qemu_img.convert(source.path, source.format, temp, spec.format, self._create_options(spec))
        if spec.capacity and spec.capacity > source.capacity:
            self._qemu_img.resize(temp, spec.format, spec.capacity)
        return method

    def plan_resize_volume(self, pool, volume, capacity):
        def resize():
            self._qemu_img.resize(volume.path, volume.format, capacity, shrink=capacity < volume.capacity)
        return [Action(resize_volume_words(volume, capacity),
                       lambda: self._on_files(pool, resize, self._volume_owner(pool, volume.permissions, volume)))]

    def plan_delete_volume(self, pool, volume, wipe=None):
        return [Action(delete_volume_words(volume, wipe), lambda: self._on_files(
            pool, lambda: self._delete_volume(volume, wipe), self._volume_owner(pool, volume.permissions, volume)))]

    @staticmethod
    def _delete_volume(volume, wipe):
        if wipe:
            from ansible_collections.poolcraft.storage.plugins.module_utils._host._wipe import overwrite
            overwrite(volume.path, wipe)
        os.unlink(volume.path)

    def plan_volume_permissions(self, pool, volume, permissions):
        drift = self._reading_files(pool, lambda: _perms.drift(volume.path, permissions))
        if not drift:
            return []
        return [Action("set %s of volume %r" % ("/".join(drift), volume.name),
                       lambda: self._set_permissions(pool, volume, permissions))]

    def _set_permissions(self, pool, volume, permissions):
        self._on_files(pool, lambda: _perms.apply(volume.path, permissions, self.runner))
