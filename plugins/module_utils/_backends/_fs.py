# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fs pools: a filesystem on a block device, mounted on the target directory;
volumes are files, exactly as in dir pools."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.poolcraft.storage.plugins.module_utils import _blockdev, _fstab, _mounts
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._dir import DirBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._filesystems import MKFS, MOUNTABLE, Filesystems
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._wipefs import Wipefs


class FsBackend(DirBackend):

    pool_type = "fs"
    required_source = ("devices",)

    def validate(self, pool):
        super(FsBackend, self).validate(pool)
        if len(pool.source.devices) != 1:
            raise ValidationError("source.devices", list(pool.source.devices), "fs pools take exactly one device")
        fmt = pool.source.format or "auto"
        if fmt != "auto" and fmt not in MKFS:
            raise ValidationError("source.format", fmt, "fs pools take auto or one of %s" % ", ".join(sorted(MKFS)))

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

    def build_steps(self, pool, overwrite):
        steps = [] if os.path.isdir(pool.target_path) else ["create %s" % pool.target_path]
        state = _blockdev.inspect(self._device(pool), self.runner)
        if self._has_filesystem(pool, state.signatures):
            return steps
        fmt = self._format(pool)
        if fmt not in MKFS:
            raise ValidationError("source.format", fmt, "set the filesystem to make on %s (one of %s)"
                                  % (state.path, ", ".join(sorted(MKFS))))
        _blockdev.ensure_writable(state, overwrite)
        if state.signatures:
            steps.append("erase %s signature on %s" % ("/".join(state.signatures), state.path))
        return steps + ["make %s on %s" % (fmt, state.path)]

    def build(self, pool, overwrite):
        if not os.path.isdir(pool.target_path):
            os.makedirs(pool.target_path, 0o755)
        state = _blockdev.inspect(self._device(pool), self.runner)
        if not self._has_filesystem(pool, state.signatures):
            # checked again here: the device may have changed since the plan
            _blockdev.ensure_writable(state, overwrite)
            if state.signatures:
                Wipefs(self.runner).erase_all(state.path)
            Filesystems(self.runner).make(state.path, self._format(pool))

    # -- running -----------------------------------------------------------------

    def live_state(self, pool):
        return any(mount["mount"] == pool.target_path for mount in _mounts.read_mounts())

    def start(self, pool):
        if not self.is_built(pool):
            raise StorageError("pool %r is not built (%s); set build: true" % (pool.name, self.unbuilt_reason(pool)))
        Filesystems(self.runner).mount(self._device(pool), pool.target_path, self._format(pool), pool.mount_options)
        self.fix_target(pool)

    def stop(self, pool):
        Filesystems(self.runner).umount(pool.target_path)

    def check_delete(self, pool):
        """While mounted the target shows the filesystem (lost+found and all); only volumes
        count, and the manager counts those. The bare mount point is checked at delete time."""

    def target_drift(self, pool):
        # the permissions belong to the mounted filesystem's root, not the mount point below it
        return super(FsBackend, self).target_drift(pool) if self.live_state(pool) else []

    # -- autostart: an fstab entry -------------------------------------------------

    def _wanted_entry(self, pool, enabled):
        if not enabled:
            return []
        return _fstab.entry_lines(pool.name, self._device(pool), pool.target_path,
                                  self._format(pool), pool.mount_options)

    def autostart_steps(self, pool, enabled):
        path = self.settings.get("fstab", "/etc/fstab")
        wanted = self._wanted_entry(pool, enabled)
        if _fstab.current_entry(path, pool.name) == wanted:
            return []
        return ["%s the entry in %s" % ("write" if wanted else "remove", path)]

    def set_autostart(self, pool, enabled):
        path = self.settings.get("fstab", "/etc/fstab")
        wanted = self._wanted_entry(pool, enabled)
        if _fstab.current_entry(path, pool.name) != wanted:
            _fstab.set_entry(path, pool.name, wanted)
