# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iscsi-direct pools: the LUNs of an iSCSI target reached by libiscsi in user space, with no local device nodes.

Nothing is held on the host: no session stays logged in, no node or device appears. Start checks
that the initiator can log in (with CHAP); a refresh and the volume list log in for each read
(libiscsi's tools). A volume is a disk LUN of the target, named as libvirt names it (unit:0:0:L),
at the URL qemu opens (iscsi://HOST:PORT/IQN/L, with no user or secret in it), sized by READ
CAPACITY 16, keyed by its text identifiers in VPD page 0x83 (else, as libvirt, by its portal,
target and number). LUNs are made, resized and removed on the target, never here.

clone_from into an existing LUN and wiping one go through qemu-img, with the CHAP secret as a
qemu secret object read from a 0600 file of a private directory, removed right after.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import re
import shutil
import stat
import tempfile

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._host._atomic import atomic_write
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action, PoolStatus, VolumeDef
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _libiscsi
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._qemu_img import QemuImg, image_opts, secret_object, zeros_opts
from ansible_collections.poolcraft.storage.plugins.module_utils._units import human_size

UNIT_PREFIX = "unit:0:0:"      # libvirt's VOL_NAME_PREFIX for these pools
_UNIT_RE = re.compile(r"unit:0:0:([0-9]{1,5})\Z")
SECRET_ID = "poolcraft-chap"
# qemu's own deadline for one iSCSI request (its iscsi driver's timeout option)
QEMU_REQUEST_TIMEOUT = 60
# a deadline for a qemu-img run that moves data: a floor, plus the data at the least rate expected
DATA_TIMEOUT_FLOOR = 300
DATA_TIMEOUT_RATE = 1 << 20     # bytes per second
# how much of each end of a LUN must read as zeros for the LUN to count as blank
BLANK_ENDS = 1 << 20


def data_timeout(size):
    return DATA_TIMEOUT_FLOOR + size // DATA_TIMEOUT_RATE


class IscsiDirectBackend(PoolBackend):

    pool_type = "iscsi-direct"
    no_target = ("iscsi-direct pools have no target: their LUNs are reached by qemu and libiscsi over the network, "
                 "with no device node on the host")
    required_source = ("host", "target", "initiator")
    source_fields = ("host", "port", "target", "initiator", "auth")
    takes_mount_options = False
    volume_formats = ("raw",)
    no_volume_permissions = ("LUNs of iscsi-direct pools have no file on the host; who may use a LUN is the "
                             "target's to say")

    def _session(self, pool):
        source = pool.source
        return _libiscsi.Session(self.runner, source.host, source.port, source.target, source.initiator, source.auth)

    # -- start and stop: nothing is held on the host ----------------------------------------------

    def plan_start(self, pool):
        session = self._session(pool)
        # refused now, so check mode refuses a wrong secret, an unknown target or a closed port too
        session.check_login()
        return [Action("log in to target %s at %s as %s" % (session.target, session.where, session.initiator),
                       session.check_login)]

    def plan_stop(self, pool):
        return []   # no session stays logged in between tasks

    # -- reading ----------------------------------------------------------------------------------

    def _disk_luns(self, session):
        return [lun.number for lun in session.luns() if lun.type == _libiscsi.DIRECT_ACCESS]

    @staticmethod
    def _bytes(session, lun):
        capacity = session.capacity(lun)
        return capacity.blocks * capacity.block_size

    def refresh(self, pool):
        session = self._session(pool)
        sizes = session.each(lambda lun: self._bytes(session, lun), self._disk_luns(session))
        total = sum(sizes)
        return PoolStatus(capacity=total, allocation=total, available=0, volume_count=len(sizes))

    def _volume(self, session, lun, identification=None):
        identification = identification or session.identification(lun)
        if identification.device_type != _libiscsi.DIRECT_ACCESS:
            return None
        size = self._bytes(session, lun)
        # libvirt's key when the LUN has no text identifier: its portal, target and number
        key = _libiscsi.key_of(identification) or "ip-%s-iscsi-%s-lun-%d" % (session.where, session.target, lun)
        return VolumeDef(name="%s%d" % (UNIT_PREFIX, lun), path=_libiscsi.url(session.host, session.port, session.target, lun),
                         key=key, format="raw", capacity=size, allocation=size, type="network")

    def list_volumes(self, pool):
        session = self._session(pool)
        found = session.each(lambda lun: self._volume(session, lun), self._disk_luns(session))
        return sorted((volume for volume in found if volume is not None), key=lambda volume: volume.name)

    def get_volume(self, pool, name):
        lun = _lun_of(name)
        if lun is None:
            return None
        session = self._session(pool)
        try:
            identification = session.identification(lun)
        except _libiscsi.NoSuchLun:
            return None
        return self._volume(session, lun, identification)

    def volume_path(self, pool, name):
        lun = _lun_of(name)
        if lun is None:
            raise NotFoundError("pool %r has no LUN %r; its volumes are named %sN (N the LUN number)"
                                % (pool.name, name, UNIT_PREFIX))
        return _libiscsi.url(pool.source.host, pool.source.port, pool.source.target, lun)

    def volume_name_at(self, pool, path):
        if not isinstance(path, str) or not path or path.startswith("/"):
            return None   # a file on the host is never one of these LUNs
        parsed = _libiscsi.parse_url(path)
        if parsed is not None:
            host, port, target, lun = parsed
            source = pool.source
            same = (_libiscsi.portal(host, port) == _libiscsi.portal(source.host, source.port) and target == source.target)
            return "%s%d" % (UNIT_PREFIX, lun) if same else None
        if path.startswith("iscsi://"):
            return None
        try:
            volumes = self.list_volumes(pool)
        except StorageError:
            return None   # a target that does not answer holds no volume a task can name by key
        return next((volume.name for volume in volumes if volume.key == path), None)

    # -- LUNs are the target's --------------------------------------------------------------------

    def plan_create_volume(self, pool, spec):
        raise StorageError("pool %r: iscsi-direct pools cannot create volume %r: LUNs are made on the target %s, and "
                           "are volumes here as soon as they exist" % (pool.name, spec.name, pool.source.target))

    def plan_resize_volume(self, pool, volume, capacity):
        raise StorageError("pool %r: iscsi-direct pools cannot resize volume %r: LUNs are resized on the target"
                           % (pool.name, volume.name))

    def plan_delete_volume(self, pool, volume, wipe=None):
        raise StorageError("pool %r: iscsi-direct pools cannot delete volume %r: LUNs are removed on the target"
                           % (pool.name, volume.name))

    # -- data through qemu-img: clone_from into a LUN, wipe ---------------------------------------

    def _refuse_qemu(self, pool, volume, what):
        auth = pool.source.auth
        if auth is not None and auth.mutual_username:
            raise StorageError("pool %r: cannot %s volume %r: qemu-img logs in with one-way CHAP only, and this pool "
                               "asks the target to prove itself (source.auth.mutual_username)" % (pool.name, what, volume.name))

    def _current(self, pool, volume):
        """The LUN as it is now: refused if it is gone or changed size since it was read."""
        found = self.get_volume(pool, volume.name)
        if found is None:
            raise StorageError("pool %r: LUN %r is gone from target %s" % (pool.name, volume.name, pool.source.target))
        if found.capacity != volume.capacity:
            raise StorageError("pool %r: volume %r changed size since it was read (%s, now %s)"
                               % (pool.name, volume.name, human_size(volume.capacity), human_size(found.capacity)))
        return found

    @contextlib.contextmanager
    def _qemu(self, pool):
        """(QemuImg, objects, lun_opts(lun, size=None)): the --object that gives qemu the CHAP secret
        from a 0600 file in a private directory (removed on leaving), and the --image-opts of a LUN,
        optionally of its first size bytes only."""
        source = pool.source
        auth = source.auth
        directory = tempfile.mkdtemp(prefix="poolcraft-iscsi-")   # 0700, ours
        try:
            objects = []
            if auth is not None:
                path = os.path.join(directory, "chap")
                atomic_write(path, auth.secret or "", mode=0o600)
                objects = secret_object(SECRET_ID, path)

            def lun_opts(lun, size=None, offset=None):
                options = [("driver", "iscsi"), ("transport", "tcp"), ("portal", _libiscsi.portal(source.host, source.port)),
                           ("target", source.target), ("lun", lun), ("initiator-name", source.initiator),
                           ("timeout", QEMU_REQUEST_TIMEOUT)]
                if auth is not None:
                    options += [("user", auth.username), ("password-secret", SECRET_ID)]
                if size is None:
                    return image_opts(options)
                # a window of the LUN: qemu's raw driver over the iscsi one
                window = [("driver", "raw"), ("offset", offset or 0), ("size", size)]
                return image_opts(window + [("file.%s" % key, value) for key, value in options])
            yield QemuImg(self.runner), objects, lun_opts
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def plan_wipe_volume(self, pool, volume, algorithm):
        """Overwrite every byte of a LUN, which stays (zero only: qemu-img has no source of random
        bytes for a network LUN)."""
        self._refuse_qemu(pool, volume, "wipe")
        if algorithm != "zero":
            raise StorageError("pool %r: cannot wipe volume %r with %s: iscsi-direct LUNs are wiped with zero only"
                               % (pool.name, volume.name, algorithm))
        return [Action("wipe (zero) volume %r (%s)" % (volume.name, volume.path), lambda: self._wipe(pool, volume))]

    def _wipe(self, pool, volume):
        self._current(pool, volume)
        with self._qemu(pool) as (qemu, objects, lun_opts):
            qemu.zero_opts(lun_opts(_lun_of(volume.name)), volume.capacity, objects, timeout=data_timeout(volume.capacity))

    def plan_clone_into(self, pool, volume, clone, overwrite=False):
        """Copy the image clone (a CloneSource) into the existing LUN volume, as raw data from its
        start (the rest of the LUN is left as it is). [] when the LUN holds that image already.
        Refused: a LUN smaller than the image, a pool with mutual CHAP, and (without overwrite) a
        LUN that holds something else: its first or last MiB is not zeros."""
        self._refuse_qemu(pool, volume, "clone into")
        if clone.capacity > volume.capacity:
            raise StorageError("clone_from: %s (%s) is larger than volume %r (%s)"
                               % (clone.path, human_size(clone.capacity), volume.name, human_size(volume.capacity)))
        if self._holds(pool, volume, clone):
            return []
        if not overwrite:
            self._refuse_data(pool, volume)
        words = "clone %s (%s) into volume %r (%s)" % (clone.path, clone.format, volume.name, volume.path)
        return [Action(words, lambda: self._clone_into(pool, volume, clone, overwrite))]

    def _clone_into(self, pool, volume, clone, overwrite):
        self._current(pool, volume)
        if not overwrite:
            self._refuse_data(pool, volume)   # again: something may have written to it since the plan
        with self._qemu(pool) as (qemu, objects, lun_opts):
            qemu.convert_into_opts(clone.path, clone.format, lun_opts(_lun_of(volume.name)), objects,
                                   timeout=data_timeout(clone.capacity))
        return "copy"

    def _holds(self, pool, volume, clone):
        """Whether the LUN's first bytes are the image clone (qemu-img compare of the image and a window
        of the LUN of its size)."""
        with self._qemu(pool) as (qemu, objects, lun_opts):
            return qemu.same_opts(_source_opts(clone), lun_opts(_lun_of(volume.name), size=clone.capacity), objects,
                                  timeout=data_timeout(clone.capacity))

    def _refuse_data(self, pool, volume):
        ends = min(BLANK_ENDS, volume.capacity)
        with self._qemu(pool) as (qemu, objects, lun_opts):
            lun = _lun_of(volume.name)
            for offset in sorted({0, volume.capacity - ends}):
                if not qemu.same_opts(zeros_opts(ends), lun_opts(lun, size=ends, offset=offset), objects,
                                      timeout=data_timeout(ends)):
                    raise StorageError("clone_from: volume %r (%s) holds data (its %s MiB is not zeros); refusing to "
                                       "overwrite it" % (volume.name, volume.path, "first" if offset == 0 else "last"))


def _lun_of(name):
    found = _UNIT_RE.match(name or "")
    return int(found.group(1)) if found else None


def _source_opts(clone):
    """--image-opts of a clone source on the host: its format over the file or block device."""
    protocol = "host_device" if stat.S_ISBLK(os.stat(clone.path).st_mode) else "file"
    return image_opts([("driver", clone.format), ("file.driver", protocol), ("file.filename", clone.path)])
