# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fs pools: a filesystem on a block device, mounted on the target directory;
volumes are files, exactly as in dir pools."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._dir import DirBackend, refuse_unless_empty
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev, _fstab, _mounts
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._filesystems import MKFS, MOUNTABLE, Filesystems
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._wipefs import Wipefs

PROC = "/proc"


def _on_device(path, dev):
    try:
        return os.stat(path).st_dev == dev
    except OSError:
        return False  # gone meanwhile, or not ours to look at


def _maps_device(pid, dev):
    wanted = "%02x:%02x" % (os.major(dev), os.minor(dev))
    try:
        with open(os.path.join(PROC, pid, "maps")) as handle:
            return any(line.split()[3:4] == [wanted] for line in handle)
    except (OSError, UnicodeDecodeError):
        return False


def _command_of(pid):
    try:
        with open(os.path.join(PROC, pid, "comm")) as handle:
            return handle.read().strip()
    except OSError:
        return "?"


def processes_using(target):
    """'PID (command)' of each process with a file open, its cwd or root, or a mapping on the
    filesystem mounted at target: what makes umount fail with "target is busy"."""
    dev = os.stat(target).st_dev
    users = []
    for pid in sorted((name for name in os.listdir(PROC) if name.isdigit()), key=int):
        base = os.path.join(PROC, pid)
        try:
            fds = [os.path.join(base, "fd", fd) for fd in os.listdir(os.path.join(base, "fd"))]
        except OSError:
            fds = []
        if any(_on_device(path, dev) for path in fds + [os.path.join(base, "cwd"), os.path.join(base, "root")]) \
                or _maps_device(pid, dev):
            users.append("%s (%s)" % (pid, _command_of(pid)))
    return users


class FsBackend(DirBackend):

    pool_type = "fs"
    required_source = ("devices",)
    source_fields = ("devices", "format")
    single_device = True
    source_formats = ("auto",) + tuple(sorted(MKFS))
    source_formats_reason = "fs pools take auto or one of %s" % ", ".join(sorted(MKFS))

    @staticmethod
    def _device(pool):
        return pool.source.devices[0]

    @staticmethod
    def _format(pool):
        return pool.source.format or "auto"

    def _has_filesystem(self, pool, signatures):
        fmt = self._format(pool)
        return bool(MOUNTABLE.intersection(signatures)) if fmt == "auto" else fmt in signatures

    # -- build -----------------------------------------------------------------

    def is_built(self, pool):
        if not os.path.isdir(pool.target_path):
            return False
        state = _blockdev.inspect(self._device(pool), self.runner)
        return self._has_filesystem(pool, state.signatures)

    def unbuilt_reason(self, pool):
        if not os.path.isdir(pool.target_path):
            return "target.path %s does not exist" % pool.target_path
        fmt = self._format(pool)
        return "source.device %s holds no %sfilesystem" % (self._device(pool), "" if fmt == "auto" else fmt + " ")

    def plan_build(self, pool, overwrite):
        actions = [] if os.path.isdir(pool.target_path) else [
            Action("create %s" % pool.target_path, lambda: os.makedirs(pool.target_path, 0o755, exist_ok=True))]
        state = _blockdev.inspect(self._device(pool), self.runner)
        if self._has_filesystem(pool, state.signatures):
            return actions
        fmt = self._format(pool)
        if fmt not in MKFS:
            raise ValidationError("source.format", fmt, "set the filesystem to make on %s (one of %s)"
                                  % (state.path, ", ".join(sorted(MKFS))))
        _blockdev.ensure_writable(state, overwrite)
        if state.signatures:
            actions.append(Action("erase %s signature on %s" % ("/".join(state.signatures), state.path),
                                  lambda: self._erase(pool, overwrite)))
        return actions + [Action("make %s on %s" % (fmt, state.path), lambda: self._make(pool, overwrite))]

    def _erase(self, pool, overwrite):
        state = _blockdev.inspect(self._device(pool), self.runner)
        # checked again here: the device may have changed since the plan
        _blockdev.ensure_writable(state, overwrite)
        if state.signatures:
            Wipefs(self.runner).erase_all(state.path)

    def _make(self, pool, overwrite):
        state = _blockdev.inspect(self._device(pool), self.runner)
        if self._has_filesystem(pool, state.signatures):
            return
        _blockdev.ensure_writable(state, overwrite)
        if state.signatures:
            Wipefs(self.runner).erase_all(state.path)
        Filesystems(self.runner).make(state.path, self._format(pool))

    # -- running -----------------------------------------------------------------

    def live_state(self, pool):
        return any(mount["mount"] == pool.target_path for mount in _mounts.read_mounts())

    def plan_start(self, pool):
        return [Action("mount %s on %s" % (self._device(pool), pool.target_path), lambda: self._mount(pool))]

    def _mount(self, pool):
        if not self.is_built(pool):
            raise StorageError("pool %r is not built (%s); set build: true" % (pool.name, self.unbuilt_reason(pool)))
        Filesystems(self.runner).mount(self._device(pool), pool.target_path, self._format(pool), pool.mount_options)
        for action in super(FsBackend, self).plan_target(pool):
            action.apply()

    def _refuse_busy(self, pool):
        """umount would fail; say so now, in check mode too, and name who holds it."""
        if not self.live_state(pool):
            return
        below = sorted(mount["mount"] for mount in _mounts.read_mounts()
                       if mount["mount"].startswith(pool.target_path.rstrip("/") + "/"))
        users = processes_using(pool.target_path)
        if below or users:
            what = (["in use by %s" % ", ".join(users)] if users else []) + \
                (["mounted below it: %s" % ", ".join(below)] if below else [])
            raise StorageError("pool %r: %s is busy (%s); refusing to stop it" % (pool.name, pool.target_path, "; ".join(what)))

    def plan_stop(self, pool):
        self._refuse_busy(pool)
        return [Action("unmount %s" % pool.target_path, lambda: self._unmount(pool))]

    def _unmount(self, pool):
        self._refuse_busy(pool)
        Filesystems(self.runner).umount(pool.target_path)

    def plan_delete(self, pool):
        # While mounted the target shows the filesystem (lost+found and all); only volumes count,
        # and the manager counts those. The bare mount point is checked once unmounted.
        if not self.live_state(pool):
            refuse_unless_empty(pool)
        return [Action("remove %s" % pool.target_path, lambda: self._remove_directory(pool))]

    def plan_target(self, pool):
        # the permissions belong to the mounted filesystem's root, not the mount point below it
        return super(FsBackend, self).plan_target(pool) if self.live_state(pool) else []

    # -- autostart: an fstab entry -------------------------------------------------

    def _wanted_entry(self, pool, enabled):
        if not enabled:
            return []
        return _fstab.entry_lines(pool.name, self._device(pool), pool.target_path,
                                  self._format(pool), pool.mount_options)

    def plan_autostart(self, pool, enabled):
        path = self.settings.get("fstab", "/etc/fstab")
        wanted = self._wanted_entry(pool, enabled)
        if _fstab.current_entry(path, pool.name) == wanted:
            return []
        return [Action("%s the entry in %s" % ("write" if wanted else "remove", path),
                       lambda: self._set_entry(path, pool.name, wanted))]

    @staticmethod
    def _set_entry(path, name, wanted):
        if _fstab.current_entry(path, name) != wanted:
            _fstab.set_entry(path, name, wanted)
