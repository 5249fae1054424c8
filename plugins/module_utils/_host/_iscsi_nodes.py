# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""open-iscsi's node records, read and written as its own files: the one place a CHAP secret can
reach iscsiadm without its command line (it takes node values only as `-o update -n NAME -v VALUE`).

A record is NODES/TARGET/ADDRESS,PORT,TPGT/IFACE ("/etc/iscsi/nodes/iqn.../127.0.0.1,3260,1/default"
on Debian; /var/lib/iscsi on Red Hat's builds), lines `name = value` between `# BEGIN RECORD` and
`# END RECORD`. iscsiadm reads a value as the rest of the line after "= ", blanks stripped at both
ends (idbm_recinfo_config); it writes records 0600 (umask 077) under a lock of its own: a hard link
LOCK_DIR/lock.write to LOCK_DIR/lock, made and removed by each writer (idbm_lock). Writers here take
the same lock, and write the file atomically, 0600.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import time

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._host._atomic import atomic_write

# where open-iscsi keeps its database: Debian's build, then Red Hat's
DB_ROOTS = ("/etc/iscsi", "/var/lib/iscsi")
LOCK_DIR = "/run/lock/iscsi"
END = "# END RECORD"
BEGIN = "# BEGIN RECORD"
# iscsiadm waits 30 s for its lock (DB_LOCK_RETRIES x 10 ms); so do we
_LOCK_WAIT = 30.0
_LOCK_POLL = 0.01
# the record's names of the secrets: never on a command line
SECRET_NAMES = ("node.session.auth.password", "node.session.auth.password_in")


def db_root():
    """The database directory of the host's open-iscsi: the one that has nodes/ (or exists)."""
    for root in DB_ROOTS:
        if os.path.isdir(os.path.join(root, "nodes")):
            return root
    for root in DB_ROOTS:
        if os.path.isdir(root):
            return root
    return DB_ROOTS[0]


def nodes_dir():
    return os.path.join(db_root(), "nodes")


def record_paths(target, address, port, iface="default"):
    """The record files of target at address:port for iface, of any portal group ('ADDRESS,PORT,TPGT/IFACE'),
    and an old-style record file 'ADDRESS,PORT' (open-iscsi before portal groups)."""
    base = os.path.join(nodes_dir(), target)
    prefix = "%s,%s," % (address, port)
    found = []
    for name in _sysfs.listdir(base):
        path = os.path.join(base, name)
        if name.startswith(prefix) and os.path.isfile(os.path.join(path, iface)):
            found.append(os.path.join(path, iface))
        elif name == prefix[:-1] and os.path.isfile(path):
            found.append(path)
    return found


def parse_record(text):
    """{name: value} of a record's `name = value` lines (a repeated name: its last value, as iscsiadm reads it)."""
    values = {}
    for line in (text or "").split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if sep and name.strip():
            values[name.strip()] = value.strip()
    return values


def read_record(path):
    """{name: value} of the record file at path, or None when there is none. Holds the secrets:
    callers compare them, never show them."""
    try:
        with open(path) as handle:
            return parse_record(handle.read())
    except (IOError, OSError):
        return None


def with_values(text, values):
    """The record text with each name of values set to its value, in its own line where it has one
    (a None value: the line goes). Other lines stay as they are; new lines go before `# END RECORD`."""
    lines = (text or "").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    kept, done = [], set()
    for line in lines:
        name = line.partition("=")[0].strip()
        if "=" not in line or line.strip().startswith("#") or name not in values:
            kept.append(line)
        elif name not in done and values[name] is not None:
            kept.append("%s = %s" % (name, values[name]))
        done.add(name)
    new = ["%s = %s" % (name, value) for name, value in sorted(values.items()) if value is not None and name not in done]
    if END not in kept:
        kept = ([] if any(line.startswith(BEGIN) for line in kept) else [BEGIN]) + kept + [END]
    end = kept.index(END)
    return "\n".join(kept[:end] + new + kept[end:]) + "\n"


def check_value(name, value):
    """A value a record line can hold and iscsiadm reads back as it was written."""
    if value is None:
        return
    if "\n" in value or "\r" in value or "\0" in value:
        raise StorageError("%s: a record value cannot hold a line break" % name)
    if value != value.strip() or value == "":
        raise StorageError("%s: iscsiadm strips blanks at both ends of a record value; it cannot begin or end with one" % name)


class DatabaseLock(object):
    """open-iscsi's own lock of its database (idbm_lock): the link lock.write -> lock, waited for
    as iscsiadm waits."""

    def __init__(self, lock_dir=None, wait=_LOCK_WAIT):
        self.lock_dir = lock_dir or LOCK_DIR
        self.wait = wait

    def __enter__(self):
        lock_file = os.path.join(self.lock_dir, "lock")
        write_file = os.path.join(self.lock_dir, "lock.write")
        try:
            os.makedirs(self.lock_dir, 0o770, exist_ok=True)
            os.close(os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666))
        except OSError as exc:
            raise StorageError("cannot make open-iscsi's lock %s: %s" % (lock_file, exc.strerror))
        deadline = time.monotonic() + self.wait
        while True:
            try:
                os.link(lock_file, write_file)
                return self
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise StorageError("cannot lock open-iscsi's database (%s): %s" % (write_file, exc.strerror))
            if time.monotonic() > deadline:
                raise StorageError("open-iscsi's database stayed locked for %d s (%s); is an iscsiadm stuck?"
                                   % (self.wait, write_file))
            time.sleep(_LOCK_POLL)

    def __exit__(self, *exc_info):
        try:
            os.unlink(os.path.join(self.lock_dir, "lock.write"))
        except OSError:
            pass
        return False


def set_values(path, values, lock=None):
    """Set values ({name: value or None}) in the record file at path, under open-iscsi's lock,
    atomically, 0600. The record must exist: iscsiadm makes it, this only fills it in."""
    for name, value in values.items():
        check_value(name, value)
    with lock or DatabaseLock():
        try:
            with open(path) as handle:
                text = handle.read()
        except (IOError, OSError) as exc:
            raise StorageError("cannot read open-iscsi's node record %s: %s" % (path, exc.strerror))
        new = with_values(text, values)
        if new != text or (os.stat(path).st_mode & 0o777) != 0o600:
            atomic_write(path, new, 0o600)
