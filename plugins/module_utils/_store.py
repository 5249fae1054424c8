# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where pool definitions live, laid out as libvirt lays out its own.

config_dir/NAME.xml            persistent definition
config_dir/autostart/NAME.xml  symlink to ../NAME.xml when autostart is on
runtime_dir/NAME.xml           live status of a started pool (the only file of a transient pool)
runtime_dir/NAME.stopped       the pool was stopped by hand since boot (so autostart does not apply)
runtime_dir/.lock              serialises the runs that may write
config_dir/NAME.secret         the secrets a definition names (CHAP, and the mutual CHAP user, which libvirt's
                               XML has no place for), 0600, JSON; runtime_dir/NAME.secret for a transient
                               pool. Never in the XML, removed with the definition.

Every write is atomic (temp file, fsync, rename); a lock serialises writers. A directory is made
only by the write that needs it. The lock needs runtime_dir: a run that finds no store makes
runtime_dir and the lock file, and removes both again on leaving when it wrote nothing, so a
refused or no-op task leaves the host as it found it.

A definition that cannot be used (damaged XML, no uuid, a malformed mode or port, a type this
collection does not know) never stops the other pools: listing skips it and reports it through
unusable(); only get() of that very pool raises, naming the pool, the file and why.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import re
import stat

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._host._atomic import atomic_write, fsync_dir
from ansible_collections.poolcraft.storage.plugins.module_utils._record import replace

DEFAULT_CONFIG_DIR = "/etc/poolcraft/storage"
DEFAULT_RUNTIME_DIR = "/run/poolcraft/storage"
LOCK_NAME = ".lock"
# A definition is a few hundred bytes; anything far larger is not one of ours
MAX_DEFINITION_BYTES = 1 << 20
# Taking the lock is retried while another run removes the lock file it made and wrote nothing
_LOCK_ATTEMPTS = 100


def _one_line(text):
    return re.sub(r"\s+", " ", str(text)).strip()


class StoredPool(object):
    """A pool definition with the facts the store holds about it."""

    def __init__(self, definition, persistent, autostart, marked):
        self.definition = definition
        self.persistent = persistent
        self.autostart = autostart
        # 'running', 'stopped' or None: what was recorded since boot.
        self.marked = marked


class UnusableDefinitionError(StorageError):
    """A task on a pool whose stored definition cannot be used."""

    def __init__(self, entry):
        super(UnusableDefinitionError, self).__init__(
            "pool %r cannot be used: %s %s; fix or remove that file" % (entry.name, entry.path, entry.reason))
        self.entry = entry


class UnusableDefinition(object):
    """A stored definition that cannot be used: the pool's name (its file name), the file, and why."""

    state = "unusable"

    def __init__(self, name, path, reason):
        self.name = name
        self.path = path
        self.reason = _one_line(reason)

    def error(self):
        return UnusableDefinitionError(self)

    def as_facts(self):
        return {"name": self.name, "state": self.state, "definition": self.path, "reason": self.reason}

    def __repr__(self):
        return "UnusableDefinition(%r, %r, %r)" % (self.name, self.path, self.reason)


class _Unusable(Exception):
    """Raised while reading one definition; becomes an UnusableDefinition."""

    def __init__(self, path, reason):
        super(_Unusable, self).__init__(reason)
        self.path = path
        self.reason = reason


class DefinitionStore(object):

    def __init__(self, config_dir=DEFAULT_CONFIG_DIR, runtime_dir=DEFAULT_RUNTIME_DIR, read_only=False, known_types=None):
        for option, value in (("config_dir", config_dir), ("runtime_dir", runtime_dir)):
            if not os.path.isabs(value):
                raise StorageError("%s=%r: must be an absolute path" % (option, value))
        self.config_dir = config_dir
        self.runtime_dir = runtime_dir
        self.autostart_dir = os.path.join(config_dir, "autostart")
        self.read_only = read_only  # check mode: create nothing, not even the store's directories
        # the pool types a definition may have; None: the backend registry's, read when first needed
        self._known_types = None if known_types is None else tuple(sorted(known_types))
        self._lock_fd = None
        self._made_lock = False
        self._made_dirs = []  # directories this run made, in the order it made them
        self._before = {}  # path: what it was before this run first changed it (None: absent)
        self._order = []  # the paths this run changed, first change first

    # -- locking -------------------------------------------------------------

    def __enter__(self):
        self._made_lock = False
        self._made_dirs = []
        self._before, self._order = {}, []
        self._lock_fd = self._lock_existing() if self.read_only else self._lock_or_make()
        return self

    def __exit__(self, *exc):
        if self._lock_fd is None:
            return
        try:
            if not self._order:
                self._remove_what_was_made()
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _lock_path(self):
        return os.path.join(self.runtime_dir, LOCK_NAME)

    def _lock_or_make(self):
        """Hold runtime_dir/.lock, making it (and runtime_dir) when there is none."""
        path = self._lock_path()
        for _attempt in range(_LOCK_ATTEMPTS):
            self._make_dirs(self.runtime_dir)
            made = False
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                made = True
            except FileExistsError:
                fd = self._open_lock(path)
            except FileNotFoundError:
                fd = None  # runtime_dir removed meanwhile by a run that wrote nothing
            if fd is not None and self._hold(fd, path):
                self._made_lock = made
                return fd
        raise StorageError("could not lock %s: it was removed %d times while waiting" % (path, _LOCK_ATTEMPTS))

    def _lock_existing(self):
        """Check mode: hold the lock if there is one (writers then finish first); make nothing."""
        path = self._lock_path()
        for _attempt in range(_LOCK_ATTEMPTS):
            try:
                fd = self._open_lock(path, os.O_RDONLY)
            except (IOError, OSError) as exc:
                if exc.errno == errno.EACCES:
                    return None  # a reader without the right to lock still reads
                raise
            if fd is None:
                return None  # no store yet: nothing to read under a lock
            if self._hold(fd, path):
                return fd
        raise StorageError("could not lock %s: it was removed %d times while waiting" % (path, _LOCK_ATTEMPTS))

    @staticmethod
    def _open_lock(path, flags=os.O_RDWR):
        try:
            return os.open(path, flags | os.O_CLOEXEC)
        except FileNotFoundError:
            return None

    @staticmethod
    def _hold(fd, path):
        """Lock fd; True if it is still the file at path (a run that made the lock and wrote nothing
        removes it before unlocking: whoever waited on that file must take the new one)."""
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            now = os.stat(path)
        except FileNotFoundError:
            now = None
        held = os.fstat(fd)
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            return True
        os.close(fd)
        return False

    def _make_dirs(self, directory):
        """Make directory and its missing parents, remembering which this run made."""
        missing = []
        while not os.path.isdir(directory) and directory != os.path.dirname(directory):
            missing.append(directory)
            directory = os.path.dirname(directory)
        for path in reversed(missing):
            try:
                os.mkdir(path, 0o755)
            except FileExistsError:
                if not os.path.isdir(path):
                    raise
                continue  # another run made it meanwhile
            self._made_dirs.append(path)

    def _remove_what_was_made(self):
        """Nothing was written (or all of it was rolled back): remove the lock file and the
        directories this run made, so the host is as the run found it."""
        if self._made_lock:
            _remove(self._lock_path())  # still locked: a waiting run sees it gone and takes a new one
            self._made_lock = False
        for directory in reversed(self._made_dirs):
            try:
                os.rmdir(directory)
            except OSError:
                pass  # another run has put something there since
        self._made_dirs = []

    # -- reading -------------------------------------------------------------

    def _config_path(self, name):
        return os.path.join(self.config_dir, name + ".xml")

    def _status_path(self, name):
        return os.path.join(self.runtime_dir, name + ".xml")

    def _stopped_path(self, name):
        return os.path.join(self.runtime_dir, name + ".stopped")

    def _secret_path(self, name, persistent):
        return os.path.join(self.config_dir if persistent else self.runtime_dir, name + ".secret")

    def _autostart_path(self, name):
        return os.path.join(self.autostart_dir, name + ".xml")

    def known_types(self):
        if self._known_types is None:
            # imported here: the store's defaults are read by modules that must run without the backends
            from ansible_collections.poolcraft.storage.plugins.module_utils._backends import POOL_TYPES
            self._known_types = tuple(sorted(POOL_TYPES))
        return self._known_types

    def _read(self, name, path):
        """The PoolDef stored at path, None if there is no file; _Unusable if it cannot be used."""
        # imported here: the store's defaults are read by modules that must run without lxml
        from ansible_collections.poolcraft.storage.plugins.module_utils._xml import DefinitionError, pool_from_xml
        data = self._read_bytes(path)
        if data is None:
            return None
        try:
            definition = pool_from_xml(data, origin=path)
        except DefinitionError as exc:
            raise _Unusable(path, exc.reason)
        if definition.name != name:
            raise _Unusable(path, "defines pool %r, not %r as its file name says" % (definition.name, name))
        if definition.type not in self.known_types():
            raise _Unusable(path, "has type %r, which this collection does not know (known: %s)"
                            % (definition.type, ", ".join(self.known_types())))
        return definition

    @staticmethod
    def _read_bytes(path):
        try:
            # O_NONBLOCK: a FIFO put there must not hang the run
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise _Unusable(path, "cannot be read: %s" % (exc.strerror or exc))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise _Unusable(path, "is not a regular file")
            if st.st_size > MAX_DEFINITION_BYTES:
                raise _Unusable(path, "is larger than %d bytes" % MAX_DEFINITION_BYTES)
            with os.fdopen(os.dup(fd), "rb") as handle:
                return handle.read(MAX_DEFINITION_BYTES + 1)
        except (IOError, OSError) as exc:
            raise _Unusable(path, "cannot be read: %s" % (exc.strerror or exc))
        finally:
            os.close(fd)

    def _load(self, name):
        """The StoredPool called name, None, or an UnusableDefinition."""
        try:
            persistent = self._read(name, self._config_path(name))
            running = os.path.lexists(self._status_path(name))
            # the live status counts only where it is the definition: a transient pool
            definition = persistent or (self._read(name, self._status_path(name)) if running else None)
            if definition is not None and definition.source.auth is not None:
                definition = self._with_secrets(definition, self._secret_path(name, persistent is not None))
        except _Unusable as exc:
            return UnusableDefinition(name, exc.path, exc.reason)
        if definition is None:
            return None
        if running:
            marked = "running"
        elif os.path.exists(self._stopped_path(name)):
            marked = "stopped"
        else:
            marked = None
        autostart = persistent is not None and os.path.islink(self._autostart_path(name))
        return StoredPool(definition, persistent is not None, autostart, marked)

    def _with_secrets(self, definition, path):
        """definition with the secrets its auth names, as stored; a missing file leaves them unset
        (the backend then asks for them), a damaged one makes the pool unusable."""
        data = self._read_bytes(path)
        if data is None:
            return definition
        try:
            secrets = json.loads(data.decode("utf-8"))
            if not isinstance(secrets, dict) or not all(isinstance(value, str) for value in secrets.values()):
                raise ValueError()
        except ValueError:
            raise _Unusable(path, "is not a secret file of this collection")
        auth = replace(definition.source.auth, secret=secrets.get("secret"), mutual_username=secrets.get("mutual_username"),
                       mutual_secret=secrets.get("mutual_secret"))
        return definition.with_changes(source=replace(definition.source, auth=auth))

    def _file_names(self):
        found = set()
        for directory in (self.config_dir, self.runtime_dir):
            if os.path.isdir(directory):
                found.update(entry[:-4] for entry in os.listdir(directory)
                             if entry.endswith(".xml") and not entry.startswith("."))
        return sorted(found)

    def scan(self):
        """(usable, unusable): every StoredPool, and an UnusableDefinition for each definition that
        cannot be used; both sorted by name, each file read once."""
        usable, unusable = [], []
        for name in self._file_names():
            found = self._load(name)
            if isinstance(found, UnusableDefinition):
                unusable.append(found)
            elif found is not None:
                usable.append(found)
        return usable, unusable

    def names(self):
        """The names of the usable pools."""
        return [stored.definition.name for stored in self.all()]

    def get(self, name):
        """The StoredPool called name, or None; UnusableDefinitionError if its definition cannot be used."""
        found = self._load(name)
        if isinstance(found, UnusableDefinition):
            raise found.error()
        return found

    def find_uuid(self, uuid):
        """The usable pool of that uuid (in any spelling), or None."""
        wanted = _canonical_uuid(uuid)
        for stored in self.all():
            if _canonical_uuid(stored.definition.uuid) == wanted:
                return stored
        return None

    def all(self):
        """Every usable pool (definitions that cannot be used are in unusable())."""
        return self.scan()[0]

    def unusable(self):
        return self.scan()[1]

    # -- writing (callers hold the lock) ------------------------------------

    def _remember(self, path):
        """Keep what path is before this run first changes it, for rollback()."""
        if path in self._before:
            return
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            before = None
        else:
            if stat.S_ISLNK(st.st_mode):
                before = ("link", os.readlink(path))
            else:
                with open(path, "rb") as handle:
                    before = ("file", handle.read(), stat.S_IMODE(st.st_mode))
        self._before[path] = before
        self._order.append(path)

    def _write(self, path, text, mode=0o644):
        self._make_dirs(os.path.dirname(path))
        self._remember(path)
        atomic_write(path, text, mode)

    def _unlink(self, path):
        if not os.path.lexists(path):
            return False
        self._remember(path)
        os.unlink(path)
        return True

    def save_persistent(self, definition, xml):
        self._write(self._config_path(definition.name), xml)

    def remove_persistent(self, name):
        self.set_autostart(name, False)
        removed = self._unlink(self._config_path(name))
        if self._unlink(self._secret_path(name, True)) or removed:
            fsync_dir(self.config_dir)

    def save_secrets(self, name, secrets, persistent):
        """Keep secrets (a dict of strings; empty: none) for pool name, readable by root only,
        where its definition is; the other place's copy goes."""
        wanted = self._secret_path(name, persistent)
        if secrets:
            text = json.dumps(secrets, sort_keys=True)
            try:
                same = self._read_bytes(wanted) == text.encode("utf-8")
            except _Unusable:
                same = False  # not a regular file: replaced by the rename
            if not same:
                self._write(wanted, text, 0o600)
        else:
            self._unlink(wanted)
        self._unlink(self._secret_path(name, not persistent))

    def set_autostart(self, name, enabled):
        link = self._autostart_path(name)
        if enabled and not os.path.islink(link):
            self._make_dirs(self.autostart_dir)
            self._remember(link)
            os.symlink(os.path.join("..", name + ".xml"), link)
        elif not enabled and os.path.islink(link):
            self._unlink(link)

    def mark_running(self, name, status_xml):
        self._write(self._status_path(name), status_xml)
        self._unlink(self._stopped_path(name))

    def mark_stopped(self, name, persistent):
        self._unlink(self._status_path(name))
        if persistent:
            self._write(self._stopped_path(name), "")
        else:
            self._unlink(self._stopped_path(name))
            self._unlink(self._secret_path(name, False))  # a transient pool is gone once stopped

    # -- undoing (callers hold the lock) ------------------------------------

    def changed_paths(self):
        """The store's files this run has changed so far, first change first."""
        return list(self._order)

    def rollback(self, name=None):
        """Put back every store file this run changed (only pool name's, when given), newest change
        first: a definition the run wrote is removed, one it replaced comes back, and so do links and
        markers. For a task whose later action failed. The directories and the lock file the run
        made go on leaving the store, if nothing it wrote is left."""
        mine = set(self._paths_of(name)) if name is not None else None
        for path in reversed(list(self._order)):
            if mine is not None and path not in mine:
                continue
            self._restore(path, self._before.pop(path))
            self._order.remove(path)

    def _paths_of(self, name):
        return (self._config_path(name), self._autostart_path(name), self._status_path(name), self._stopped_path(name),
                self._secret_path(name, True), self._secret_path(name, False))

    @staticmethod
    def _restore(path, before):
        if before is not None and before[0] == "file":
            atomic_write(path, before[1], before[2])
            return
        if os.path.lexists(path):
            os.unlink(path)
        if before is not None:
            os.symlink(before[1], path)
        fsync_dir(os.path.dirname(path))


def _canonical_uuid(text):
    return re.sub(r"[^0-9a-f]", "", str(text).lower())


def _remove(path):
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
