# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netfs pools: an NFS export mounted on the target directory; volumes are files, as in dir pools.

A dead server never hangs a task. On a hard mount (the default, and the safe one for disk
images) any stat, statvfs or read under the mount point blocks in the kernel for as long as the
server is away, so this process never touches the mount point: what reads under it (statvfs, the
listing, a volume's header, the owner of the target, who holds a file open) runs in a child
process (Runner.call) that is killed, with all it started, when the deadline passes; mount and
umount have the same deadline. The failure then names the server in one line. Only the mount
table (/proc/self/mountinfo, which stats nothing) is read here. A change to a volume (create,
clone, resize, delete) begins only once the server has answered, and then takes the time it takes.

A squashed root (root_squash, all_squash) may not write to the export: a volume is made, resized
and deleted as the owner and group of the target directory, or those its own permissions ask for;
a volume that root may not read is read as its owner.

Autostart is a marked fstab entry, as for fs pools, with _netdev and nofail. force: true stops
with a lazy unmount (umount -l): the mount point is detached at once, even while files in it are
open; the processes holding them keep using the export until they close them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._file_volumes import FileVolumes
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._fs import FsBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _fstab, _perms
from ansible_collections.poolcraft.storage.plugins.module_utils._host._perms import unset_id
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action, BackingStore, Permissions, PoolStatus, VolumeDef
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import DeadlineExceeded
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._nfs import (
    VERSIONS, Nfs, export_source, mount_options, not_answering, option_versions)

# seconds a server has to answer a mount, an unmount or a read (settings["timeout"] overrides it)
DEFAULT_TIMEOUT = 20
# the fstab systemd reads, and where a systemd running as PID 1 shows itself
HOST_FSTAB = "/etc/fstab"
SYSTEMD_RUNNING = "/run/systemd/system"
SYSTEMCTL_TIMEOUT = 60


# -- volumes as plain data: what a child process sends back -----------------------------------

def volume_data(vol):
    if vol is None:
        return None
    perms = vol.permissions
    return {"name": vol.name, "path": vol.path, "key": vol.key, "format": vol.format, "capacity": vol.capacity,
            "allocation": vol.allocation, "type": vol.type, "backing": [[item.path, item.format] for item in vol.backing],
            "permissions": [perms.mode, perms.owner, perms.group, perms.label]}


def volume_from_data(data):
    if data is None:
        return None
    mode, owner, group, label = data["permissions"]
    return VolumeDef(name=data["name"], path=data["path"], key=data["key"], format=data["format"],
                     capacity=data["capacity"], allocation=data["allocation"], type=data["type"],
                     backing=[BackingStore(path, fmt) for path, fmt in data["backing"]],
                     permissions=Permissions(mode=mode, owner=owner, group=group, label=label))


def _root_may_read(path):
    """Whether this process may open path for reading (a squashed root may not: EACCES)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except PermissionError:
        return False
    except OSError:
        return True  # the reader says what else is wrong
    os.close(fd)
    return True


def _owner_of(path):
    st = os.stat(path)
    return [st.st_uid, st.st_gid]


class NetfsBackend(FsBackend):

    pool_type = "netfs"
    required_source = ("host", "dir")
    source_fields = ("host", "dir", "format", "protocol_version")
    single_device = False
    source_formats = ("auto", "nfs")
    source_formats_reason = "netfs pools mount NFS exports: source.format is auto or nfs"
    remote_target = True

    @property
    def timeout(self):
        return self.settings.get("timeout") or DEFAULT_TIMEOUT

    @staticmethod
    def _device(pool):
        return export_source(pool.source.host, pool.source.dir)

    def _nfs(self, pool):
        return Nfs(self.runner, pool.source.host, self.timeout)

    def validate(self, pool):
        super(NetfsBackend, self).validate(pool)
        version = pool.source.protocol_version
        if version is not None and version not in VERSIONS:
            raise ValidationError("source.protocol_version", version, "NFS versions are %s" % ", ".join(VERSIONS))
        for given in option_versions(pool.mount_options):
            if version is not None and given != version:
                raise ValidationError("mount_options", list(pool.mount_options),
                                      "ask for vers=%s while source.protocol_version is %s; give the version once"
                                      % (given, version))

    # -- the child processes that touch the mount point ---------------------------------------

    def _reading(self, pool, work, what):
        """work() in a child with the deadline; a server that does not answer is named."""
        try:
            return self.runner.call(work, timeout=self.timeout, what=what)
        except DeadlineExceeded:
            raise not_answering(pool.source.host, self.timeout, "%s on %s" % (what, pool.target_path))

    def _reading_files(self, pool, work):
        return self._reading(pool, work, "reading permissions")

    def _answering(self, pool):
        """Raise unless the server answers a statvfs of the mount point by the deadline."""
        self._reading(pool, lambda: os.statvfs(pool.target_path) and None, "statvfs")

    def _on_files(self, pool, work, as_user=None):
        # not bounded: copying an image takes its time; but it begins only on a server that answers
        self._answering(pool)
        return self.runner.call(work, as_user=as_user, what="a change of files on %s" % pool.target_path)

    def _volume_owner(self, pool, permissions, volume=None):
        if volume is not None:
            uid, gid = volume.permissions.owner, volume.permissions.group
        else:
            uid, gid = self._reading(pool, lambda: _owner_of(pool.target_path), "stat")
        owner, group = unset_id(permissions.owner), unset_id(permissions.group)
        return (uid if owner is None else owner, gid if group is None else group)

    def _set_permissions(self, pool, volume, permissions):
        def apply():
            _perms.apply(volume.path, permissions, self.runner)
        try:
            self._on_files(pool, apply)
        except PermissionError:
            # a squashed root: the owner may still set the mode, and the group to the one it runs as
            group = unset_id(permissions.group)
            self._on_files(pool, apply, as_user=(volume.permissions.owner,
                                                 volume.permissions.group if group is None else group))

    # -- reads ---------------------------------------------------------------------------------

    def refresh(self, pool):
        status = self._reading(pool, lambda: vars(FileVolumes.refresh(self, pool)), "statvfs")
        return PoolStatus(**status)

    def list_volumes(self, pool):
        found = self._reading(pool, lambda: [volume_data(vol) for vol in FileVolumes.list_volumes(self, pool)], "listing")
        return [volume_from_data(data) for data in found]

    def get_volume(self, pool, name):
        return volume_from_data(self._reading(pool, lambda: volume_data(FileVolumes.get_volume(self, pool, name)),
                                              "reading volume %r" % name))

    def _describe(self, path, st, chain):
        # in the child of a read already: a volume root may not read is read as its owner
        if _root_may_read(path):
            return FileVolumes._describe(self, path, st, chain)
        return volume_from_data(self.runner.call(lambda: volume_data(FileVolumes._describe(self, path, st, chain)),
                                                 as_user=(st.st_uid, st.st_gid)))

    # -- build, start, stop, delete ------------------------------------------------------------

    def is_built(self, pool):
        # a mounted export is built; its mount point is not stat'ed (a dead server would block that)
        return bool(self.live_state(pool)) or os.path.isdir(pool.target_path)

    def unbuilt_reason(self, pool):
        return PoolBackend.unbuilt_reason(self, pool)

    def plan_build(self, pool, overwrite):
        if self.is_built(pool):
            return []
        return [Action("create %s" % pool.target_path, lambda: os.makedirs(pool.target_path, 0o755, exist_ok=True))]

    def plan_start(self, pool):
        opts = mount_options(pool.source.protocol_version, pool.mount_options)
        return [Action("mount %s on %s%s" % (self._device(pool), pool.target_path, " (%s)" % ",".join(opts) if opts else ""),
                       lambda: self._mount(pool))]

    def _mount(self, pool):
        if self.live_state(pool):
            return  # mounted meanwhile
        if not os.path.isdir(pool.target_path):
            raise StorageError("pool %r is not built (%s); set build: true" % (pool.name, self.unbuilt_reason(pool)))
        self._nfs(pool).mount(pool.source.dir, pool.target_path, pool.source.protocol_version, pool.mount_options)
        for action in self.plan_target(pool):
            action.apply()

    def plan_target(self, pool):
        # the export's root, once mounted; nothing is read when no permissions are asked for
        if pool.permissions == Permissions() or not self.live_state(pool):
            return []
        drift = self._reading_files(pool, lambda: _perms.drift(pool.target_path, pool.permissions))
        if not drift:
            return []
        return [Action("set %s of %s" % ("/".join(drift), pool.target_path),
                       lambda: self._on_files(pool, lambda: _perms.apply(pool.target_path, pool.permissions, self.runner)))]

    def _refuse_busy(self, pool):
        # who holds a file is read from /proc, but stat()ing the files they hold would block on a dead server
        self._reading(pool, lambda: FsBackend._refuse_busy(self, pool), "looking for open files")

    def plan_stop(self, pool):
        if self.settings.get("force"):
            return [Action("unmount %s lazily (force: what is open in it stays in use until closed)" % pool.target_path,
                           lambda: self._unmount(pool, lazy=True))]
        return FsBackend.plan_stop(self, pool)

    def _unmount(self, pool, lazy=False):
        if not self.live_state(pool):
            return  # unmounted meanwhile
        if not lazy:
            self._refuse_busy(pool)
        try:
            self._nfs(pool).umount(pool.target_path, lazy=lazy)
        except DeadlineExceeded:
            # NFSv4 says goodbye to the server after the mount point is let go: when only that was
            # cut short, the pool is stopped
            if self.live_state(pool):
                raise

    # -- autostart: an fstab entry like an fs pool's, mounted once the network is up ------------

    def _set_entry(self, path, name, wanted):
        FsBackend._set_entry(path, name, wanted)
        # systemd reads fstab at boot and at daemon-reload: reloaded, the mount it has now takes the
        # entry's order (_netdev, x-systemd.after=) already at this shutdown, not only after a boot
        if path == HOST_FSTAB and os.path.isdir(SYSTEMD_RUNNING):
            self.runner.run(["systemctl", "daemon-reload"], timeout=SYSTEMCTL_TIMEOUT)

    def _wanted_entry(self, pool, enabled):
        if not enabled:
            return []
        return _fstab.entry_lines(pool.name, self._device(pool), pool.target_path, "nfs",
                                  mount_options(pool.source.protocol_version, pool.mount_options), network=True)
