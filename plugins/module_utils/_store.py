# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where pool definitions live, laid out as libvirt lays out its own.

config_dir/NAME.xml            persistent definition
config_dir/autostart/NAME.xml  symlink to ../NAME.xml when autostart is on
runtime_dir/NAME.xml           live status of a started pool (the only file of a transient pool)
runtime_dir/NAME.stopped       the pool was stopped by hand since boot (so autostart does not apply)

Every write is atomic (temp file, fsync, rename); a lock serialises writers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import tempfile

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError

DEFAULT_CONFIG_DIR = "/etc/poolcraft/storage"
DEFAULT_RUNTIME_DIR = "/run/poolcraft/storage"


def atomic_write(path, text, mode=0o600):
    """Write text to path so readers see the old or the new file, never half of one."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path):
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


class StoredPool(object):
    """A pool definition with the facts the store holds about it."""

    def __init__(self, definition, persistent, autostart, marked):
        self.definition = definition
        self.persistent = persistent
        self.autostart = autostart
        # 'running', 'stopped' or None: what was recorded since boot.
        self.marked = marked


class DefinitionStore(object):

    def __init__(self, config_dir=DEFAULT_CONFIG_DIR, runtime_dir=DEFAULT_RUNTIME_DIR, read_only=False):
        for option, value in (("config_dir", config_dir), ("runtime_dir", runtime_dir)):
            if not os.path.isabs(value):
                raise StorageError("%s=%r: must be an absolute path" % (option, value))
        self.config_dir = config_dir
        self.runtime_dir = runtime_dir
        self.autostart_dir = os.path.join(config_dir, "autostart")
        self._lock_fd = None
        self.read_only = read_only  # check mode: create nothing, not even the store's directories

    # -- locking -------------------------------------------------------------

    def __enter__(self):
        if not self.read_only:
            self._ensure_dirs()
        elif not os.path.exists(os.path.join(self.runtime_dir, ".lock")):
            return self  # no store yet: nothing to read under a lock
        self._lock_fd = os.open(os.path.join(self.runtime_dir, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self._lock_fd is None:
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)
        self._lock_fd = None

    def _ensure_dirs(self):
        for directory in (self.config_dir, self.autostart_dir, self.runtime_dir):
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755, exist_ok=True)  # another run may make it meanwhile

    # -- reading -------------------------------------------------------------

    def _config_path(self, name):
        return os.path.join(self.config_dir, name + ".xml")

    def _status_path(self, name):
        return os.path.join(self.runtime_dir, name + ".xml")

    def _stopped_path(self, name):
        return os.path.join(self.runtime_dir, name + ".stopped")

    def _autostart_path(self, name):
        return os.path.join(self.autostart_dir, name + ".xml")

    @staticmethod
    def _read(path):
        # imported here: the store's defaults are read by modules that must run without lxml
        from ansible_collections.poolcraft.storage.plugins.module_utils._xml import pool_from_xml
        try:
            with open(path, encoding="utf-8") as handle:
                return pool_from_xml(handle.read(), origin=path)
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise

    def names(self):
        found = set()
        for directory in (self.config_dir, self.runtime_dir):
            if os.path.isdir(directory):
                found.update(entry[:-4] for entry in os.listdir(directory)
                             if entry.endswith(".xml") and not entry.startswith("."))
        return sorted(found)

    def get(self, name):
        """The StoredPool called name, or None."""
        persistent = self._read(self._config_path(name))
        live = self._read(self._status_path(name))
        definition = persistent or live
        if definition is None:
            return None
        if live is not None:
            marked = "running"
        elif os.path.exists(self._stopped_path(name)):
            marked = "stopped"
        else:
            marked = None
        autostart = persistent is not None and os.path.islink(self._autostart_path(name))
        return StoredPool(definition, persistent is not None, autostart, marked)

    def find_uuid(self, uuid):
        for name in self.names():
            stored = self.get(name)
            if stored.definition.uuid == uuid:
                return stored
        return None

    def all(self):
        return [stored for stored in (self.get(name) for name in self.names()) if stored is not None]

    # -- writing (callers hold the lock) ------------------------------------

    def save_persistent(self, definition, xml):
        atomic_write(self._config_path(definition.name), xml, 0o644)

    def remove_persistent(self, name):
        self.set_autostart(name, False)
        _remove(self._config_path(name))
        _fsync_dir(self.config_dir)

    def set_autostart(self, name, enabled):
        link = self._autostart_path(name)
        if enabled and not os.path.islink(link):
            os.symlink(os.path.join("..", name + ".xml"), link)
        elif not enabled and os.path.islink(link):
            os.unlink(link)

    def mark_running(self, name, status_xml):
        atomic_write(self._status_path(name), status_xml, 0o644)
        _remove(self._stopped_path(name))

    def mark_stopped(self, name, persistent):
        _remove(self._status_path(name))
        if persistent:
            atomic_write(self._stopped_path(name), "", 0o644)
        else:
            _remove(self._stopped_path(name))
