# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iscsi pools: the LUNs of an iSCSI target, logged in with the kernel initiator (open-iscsi).

The pool runs while the kernel has a session to the target at the portal (sysfs shows it). Start
makes open-iscsi's node record when there is none (sendtargets discovery on the portal, then
`iscsiadm -m node -o new` for this target only: nothing else is recorded), writes the CHAP block of
the record into its file (0600, atomically, under open-iscsi's lock: iscsiadm would take the secret
only on its command line), logs in, rescans the session and waits, with a deadline, until udev has
made each LUN's node and by-path link. Stop is refused while a LUN is in use, then logs out; the
record goes too unless the pool autostarts. Autostart is node.startup = automatic in the record,
and open-iscsi's boot units enabled (and disabled again when no automatic record is left, if they
were enabled here).

Volumes are the session's disks: named unit:BUS:TARGET:LUN as libvirt names them, keyed by their
WWID, at their /dev/disk/by-path link. LUNs are made, resized and removed on the target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import socket
import time

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _iscsi_nodes, _iscsi_sessions, _perms, _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._host._lun_uses import lun_uses
from ansible_collections.poolcraft.storage.plugins.module_utils._host._atomic import atomic_write
from ansible_collections.poolcraft.storage.plugins.module_utils._host._wipe import overwrite
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action, Permissions, PoolStatus, VolumeDef
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._iscsiadm import Iscsiadm, portal
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._systemctl import Systemctl, unit_exists
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._udevadm import Udevadm, udev_runs

DEFAULT_PORT = 3260
BY_PATH = "/dev/disk/by-path"
# how long start waits for the LUNs' nodes and links, and stop for them to go
DEVICE_WAIT = 60.0
_POLL = 0.2
# how long planning waits for the portal to answer a TCP connect
PROBE_TIMEOUT = 10
# how long a look at who uses the LUNs waits for udev's probes of them
USE_SETTLE = 10
# iface records made here for a source.initiator: one per initiator name, shared by its pools
IFACE_PREFIX = "poolcraft-"
# the units that log in to automatic nodes at boot: one of each group (Debian's name first)
BOOT_UNITS = (("iscsid.socket",), ("open-iscsi.service", "iscsi.service"))
# beside open-iscsi's database: the boot units enabled here, disabled again only by us
UNITS_MARKER = "poolcraft-storage.boot-units"

AUTHMETHOD = "node.session.auth.authmethod"
USERNAME = "node.session.auth.username"
PASSWORD = "node.session.auth.password"
USERNAME_IN = "node.session.auth.username_in"
PASSWORD_IN = "node.session.auth.password_in"
STARTUP = ("node.startup", "node.conn[0].startup")


def iface_name(initiator):
    """The iface record of an initiator name: a file name, the same for every pool with that name."""
    return IFACE_PREFIX + hashlib.sha256(initiator.encode("utf-8")).hexdigest()[:16]


def startup_values(automatic):
    return dict((name, "automatic" if automatic else "manual") for name in STARTUP)


def auth_values(auth):
    """The CHAP block of a node record for auth (None: no CHAP); a None value is a line left out."""
    if auth is None:
        return {AUTHMETHOD: "None", USERNAME: None, PASSWORD: None, USERNAME_IN: None, PASSWORD_IN: None}
    mutual = bool(auth.mutual_username)
    return {AUTHMETHOD: "CHAP", USERNAME: auth.username, PASSWORD: auth.secret,
            USERNAME_IN: auth.mutual_username if mutual else None, PASSWORD_IN: auth.mutual_secret if mutual else None}


def differs(record, values):
    """The names of values the record (a parsed record; None: none) does not hold as wanted."""
    record = record or {}
    return sorted(name for name, value in values.items()
                  if record.get(name) != value and not (value == "None" and name == AUTHMETHOD and name not in record))


class IscsiBackend(PoolBackend):

    pool_type = "iscsi"
    volume_formats = ("raw",)
    required_source = ("host", "target")
    source_fields = ("host", "port", "target", "initiator", "auth")
    fixed_target_path = BY_PATH
    fixed_target_reason = ("iscsi pools show their LUNs under /dev/disk/by-path (udev's links); "
                           "leave it out or give /dev/disk/by-path")
    takes_mount_options = False
    no_target_permissions = "iscsi pools have no directory of their own; udev sets the permissions of the LUNs' nodes"
    no_volume_permissions = "iscsi pools do not set permissions: udev sets those of the LUNs' nodes"

    # -- the pool's portal, target and records ---------------------------------------------

    @staticmethod
    def _host(pool):
        host = pool.source.host
        return host[1:-1] if host.startswith("[") and host.endswith("]") else host

    def _port(self, pool):
        return pool.source.port or DEFAULT_PORT

    def _where(self, pool):
        return portal(self._host(pool), self._port(pool))

    @staticmethod
    def _iface(pool):
        return iface_name(pool.source.initiator) if pool.source.initiator else None

    def _words(self, pool):
        return "%s at %s" % (pool.source.target, self._where(pool))

    def _record_path(self, pool):
        found = _iscsi_nodes.record_paths(pool.source.target, self._host(pool), self._port(pool),
                                          self._iface(pool) or "default")
        return found[0] if found else None

    def _session(self, pool):
        """The kernel's session of this pool (target, portal and iface as the pool's), or None."""
        iface = self._iface(pool) or "default"
        for session in _iscsi_sessions.sessions():
            if (session.target == pool.source.target and session.port == self._port(pool)
                    and session.address == self._host(pool) and (session.iface or "default") == iface):
                return session
        return None

    # -- checks ---------------------------------------------------------------------------

    def validate(self, pool):
        super(IscsiBackend, self).validate(pool)
        auth = pool.source.auth
        if auth is None:
            return
        if auth.type != "chap":
            raise ValidationError("source.auth.type", auth.type, "iscsi pools log in with chap")
        if auth.mutual_secret and not auth.mutual_username:
            raise ValidationError("source.auth.mutual_username", None, "needed with source.auth.mutual_secret")
        if auth.mutual_username and auth.secret is not None and not auth.mutual_secret:
            raise ValidationError("source.auth.mutual_secret", None, "needed with source.auth.mutual_username")
        for option, value, shown in (("username", auth.username, auth.username),
                                     ("mutual_username", auth.mutual_username, auth.mutual_username),
                                     ("secret", auth.secret, "(hidden)"), ("mutual_secret", auth.mutual_secret, "(hidden)")):
            if value is not None and value != value.strip():
                raise ValidationError("source.auth." + option, shown, "open-iscsi's node records strip blanks at "
                                      "both ends of a value: it cannot begin or end with one")

    def _refuse_unknown_secret(self, pool):
        auth = pool.source.auth
        if auth is not None and (auth.secret is None or (auth.mutual_username and auth.mutual_secret is None)):
            raise StorageError("pool %r: its CHAP secret is not stored on this host; give source.auth with the secret"
                               % pool.name)

    # -- state ------------------------------------------------------------------------------

    def live_state(self, pool):
        return self._session(pool) is not None

    def refresh(self, pool):
        volumes = self.list_volumes(pool)
        total = sum(vol.capacity for vol in volumes)
        return PoolStatus(capacity=total, allocation=total, available=0, volume_count=len(volumes))

    # -- start --------------------------------------------------------------------------------

    def _refuse_unreachable(self, pool):
        """Before a record is made: the portal must answer (check mode refuses it too). A TCP connect
        only: iscsiadm's discovery would start iscsid, which check mode must not; which targets the
        portal offers is asked when the record is made."""
        if self._record_path(pool) is not None:
            return
        try:
            socket.create_connection((self._host(pool), self._port(pool)), timeout=PROBE_TIMEOUT).close()
        except (OSError, socket.error) as exc:
            raise StorageError("pool %r: cannot connect to the portal %s (%s)"
                               % (pool.name, self._where(pool), getattr(exc, "strerror", None) or exc))

    def plan_start(self, pool):
        self._refuse_unknown_secret(pool)
        if self._session(pool) is not None:
            return []
        self.runner.which("iscsiadm")  # missing: refused now, in check mode too
        self._refuse_unreachable(pool)
        how = "sendtargets discovery, node record, " if self._record_path(pool) is None else ""
        chap = ", CHAP as %s" % pool.source.auth.username if pool.source.auth else ""
        return [Action("log in to %s (%slogin%s)" % (self._words(pool), how, chap), lambda: self._start(pool))]

    def _start(self, pool):
        self._refuse_unknown_secret(pool)
        if self._session(pool) is None:
            had_record = self._record_path(pool) is not None
            try:
                self._ensure_record(pool, bool(self.settings.get("autostart")))
                Iscsiadm(self.runner).login(pool.source.target, self._where(pool), self._iface(pool))
            except StorageError:
                if not had_record:
                    self._remove_record(pool)  # a failed start leaves no record behind, with a secret in it
                raise
        self._await_luns(pool)

    def _offered_tpgt(self, pool):
        """The portal group of the target at the portal, by sendtargets discovery (it writes nothing);
        a portal that cannot be reached or does not offer the target is refused in one line."""
        offers = Iscsiadm(self.runner).discover(self._where(pool), self._iface(pool))
        mine = [offer for offer in offers if offer.target == pool.source.target]
        if not mine:
            offered = sorted(set(offer.target for offer in offers))
            raise StorageError("pool %r: the portal %s does not offer target %s (it offers %s)"
                               % (pool.name, self._where(pool), pool.source.target,
                                  ", ".join(offered) or "none to this initiator"))
        return next((offer.tpgt for offer in mine if offer.port == self._port(pool)), mine[0].tpgt)

    def _ensure_iface(self, pool):
        name = self._iface(pool)
        path = os.path.join(_iscsi_nodes.db_root(), "ifaces", name)
        adm = Iscsiadm(self.runner)
        if not os.path.isfile(path):
            adm.new_iface(name)
        if (_iscsi_nodes.read_record(path) or {}).get("iface.initiatorname") != pool.source.initiator:
            adm.set_initiator(name, pool.source.initiator)

    def _ensure_record(self, pool, automatic):
        """The pool's node record as it must be: made if missing (after discovery), its startup and
        its CHAP block as the definition says. Only what differs is written."""
        adm = Iscsiadm(self.runner)
        target, where, iface = pool.source.target, self._where(pool), self._iface(pool)
        if iface:
            self._ensure_iface(pool)
        path = self._record_path(pool)
        if path is None:
            adm.new_node(target, "%s,%d" % (where, self._offered_tpgt(pool)), iface)
            path = self._record_path(pool)
            if path is None:
                raise StorageError("pool %r: iscsiadm made no node record of %s under %s"
                                   % (pool.name, self._words(pool), _iscsi_nodes.nodes_dir()))
        record = _iscsi_nodes.read_record(path)
        startup = startup_values(automatic)
        adm.update(target, where, dict((name, startup[name]) for name in differs(record, startup)), iface)
        # the CHAP block, secrets and all, into the file itself
        _iscsi_nodes.set_values(path, auth_values(pool.source.auth))

    def _await_luns(self, pool):
        """After login: the session scanned (synchronously), then every disk LUN with its node and,
        where udev runs, its by-path link; polled with a deadline, never a fixed sleep."""
        deadline = time.monotonic() + DEVICE_WAIT
        session = self._session(pool)
        if session is None:
            raise StorageError("pool %r: iscsiadm logged in to %s, but the kernel shows no session" % (pool.name, self._words(pool)))
        Iscsiadm(self.runner).rescan(session.number)
        udev = udev_runs()
        while True:
            if udev:
                Udevadm(self.runner).settle(deadline - time.monotonic())
            session = self._session(pool)
            if session is None:
                raise StorageError("pool %r: the session to %s ended while its LUNs were looked for" % (pool.name, self._words(pool)))
            missing = [lun.unit for lun in session.luns if lun.scsi_type in _iscsi_sessions.DISK_TYPES
                       and (lun.block is None or (udev and self._link(session, lun) is None))]
            if not missing:
                return session
            if time.monotonic() > deadline:
                raise StorageError("pool %r: logged in to %s, but after %d s %s still %s no %s" % (
                    pool.name, self._words(pool), DEVICE_WAIT, ", ".join(missing), "has" if len(missing) == 1 else "have",
                    "by-path link from udev" if udev else "block device"))
            time.sleep(_POLL)

    @staticmethod
    def _link(session, lun):
        _properties, links = _iscsi_sessions.udev_record(lun.block) if lun.block else ({}, [])
        return _iscsi_sessions.by_path_link(session, lun, links) if lun.block else None

    # -- stop -------------------------------------------------------------------------------

    def _lun_uses(self, session):
        """lun_uses() of the session's LUNs, once udev's probes of them are done."""
        if udev_runs():
            Udevadm(self.runner).settle(USE_SETTLE)
        return lun_uses(session.luns)

    def _refuse_busy(self, pool):
        session = self._session(pool)
        if session is None:
            return None
        busy = self._lun_uses(session)
        if busy:
            raise StorageError("pool %r: LUNs in use (%s); refusing to log out of %s" % (
                pool.name, "; ".join("%s: %s" % (lun, ", ".join(uses)) for lun, uses in sorted(busy.items())),
                self._words(pool)))
        return session

    def plan_stop(self, pool):
        self._refuse_busy(pool)
        actions = [Action("log out of %s" % self._words(pool), lambda: self._logout(pool))]
        if not self.settings.get("autostart") and self._record_path(pool) is not None:
            actions.append(Action("remove the node record of %s" % self._words(pool), lambda: self._remove_record(pool)))
        return actions

    def _logout(self, pool):
        session = self._refuse_busy(pool)  # again: a LUN may have been mounted since the plan
        if session is None:
            return
        links = [self._link(session, lun) for lun in session.luns]
        Iscsiadm(self.runner).logout(pool.source.target, self._where(pool), self._iface(pool))
        # the kernel removed the disks; udev's links go a moment later
        deadline = time.monotonic() + DEVICE_WAIT
        while udev_runs() and any(link and os.path.lexists(link) for link in links) and time.monotonic() < deadline:
            Udevadm(self.runner).settle(deadline - time.monotonic())
            time.sleep(_POLL)

    def _remove_record(self, pool):
        if self._session(pool) is not None:
            return  # logged in again: iscsiadm refuses to remove a record in use
        adm = Iscsiadm(self.runner)
        if self._record_path(pool) is not None:
            adm.delete_node(pool.source.target, self._where(pool), self._iface(pool))
        iface = self._iface(pool)
        if iface and os.path.isfile(os.path.join(_iscsi_nodes.db_root(), "ifaces", iface)) \
                and not any(os.path.basename(path) == iface for path in self._all_records()):
            adm.delete_iface(iface)
        self._disable_units_unless_needed()

    # -- autostart ----------------------------------------------------------------------------

    @staticmethod
    def _all_records():
        """Every node record file of the host."""
        found = []
        nodes = _iscsi_nodes.nodes_dir()
        for target in _sysfs.listdir(nodes):
            for portal_dir in _sysfs.listdir(os.path.join(nodes, target)):
                path = os.path.join(nodes, target, portal_dir)
                if os.path.isdir(path):
                    found.extend(os.path.join(path, iface) for iface in _sysfs.listdir(path))
                else:
                    found.append(path)
        return found

    def _automatic_records(self, but=None):
        return [path for path in self._all_records()
                if path != but and (_iscsi_nodes.read_record(path) or {}).get("node.startup") == "automatic"]

    @staticmethod
    def _boot_units():
        units = []
        for group in BOOT_UNITS:
            unit = next((name for name in group if unit_exists(name)), None)
            if unit is None:
                raise StorageError("autostart of iscsi pools needs open-iscsi's systemd unit %s; it is not installed"
                                   % " or ".join(group))
            units.append(unit)
        return units

    def _units_off(self):
        systemctl = Systemctl(self.runner)
        return [unit for unit in self._boot_units() if not systemctl.is_enabled(unit)]

    @staticmethod
    def _marker():
        return os.path.join(_iscsi_nodes.db_root(), UNITS_MARKER)

    def _marked_units(self):
        text = _sysfs.read(self._marker())
        return [line.strip() for line in (text or "").split("\n") if line.strip()]

    def _enable_units(self):
        units = self._units_off()
        if not units:
            return
        marked = self._marked_units()
        atomic_write(self._marker(), "".join(unit + "\n" for unit in sorted(set(marked + units))), 0o644)
        Systemctl(self.runner).enable(units)

    def _disable_units_unless_needed(self, but=None):
        marked = self._marked_units()
        if not marked or self._automatic_records(but):
            return
        Systemctl(self.runner).disable(marked)
        os.unlink(self._marker())

    def plan_autostart(self, pool, enabled):
        path = self._record_path(pool)
        record = None if path is None else _iscsi_nodes.read_record(path)
        if enabled:
            self._refuse_unknown_secret(pool)
            self.runner.which("iscsiadm")
            self.runner.which("systemctl")
            actions = []
            if record is None:
                self._refuse_unreachable(pool)
            if record is None or differs(record, dict(startup_values(True), **auth_values(pool.source.auth))):
                actions.append(Action("write the node record of %s, node.startup = automatic" % self._words(pool),
                                      lambda: self._ensure_record(pool, True)))
            units = self._units_off()
            if units:
                actions.append(Action("enable %s at boot" % ", ".join(units), self._enable_units))
            return actions
        if record is None or record.get("node.startup") != "automatic":
            return []
        if self.live_state(pool):
            actions = [Action("set node.startup = manual in the node record of %s" % self._words(pool),
                              lambda: self._set_manual(pool))]
        else:
            actions = [Action("remove the node record of %s" % self._words(pool), lambda: self._remove_record(pool))]
        marked = self._marked_units()
        if marked and not self._automatic_records(but=path):
            actions.append(Action("disable %s at boot (enabled for autostart)" % ", ".join(marked),
                                  self._disable_units_unless_needed))
        return actions

    def _set_manual(self, pool):
        path = self._record_path(pool)
        if path is None:
            return  # removed meanwhile (a stop of the same task)
        wanted = startup_values(False)
        Iscsiadm(self.runner).update(pool.source.target, self._where(pool),
                                     dict((name, wanted[name]) for name in differs(_iscsi_nodes.read_record(path), wanted)),
                                     self._iface(pool))

    # -- volumes: the session's LUNs -------------------------------------------------------------

    def _volume(self, session, lun):
        properties, links = _iscsi_sessions.udev_record(lun.block)
        node = os.path.join(_iscsi_sessions.DEV, lun.block)
        path = _iscsi_sessions.by_path_link(session, lun, links) or node
        capacity = _iscsi_sessions.capacity(lun.block) or 0
        try:
            permissions = _perms.of_path(node)
        except OSError:
            permissions = Permissions()
        return VolumeDef(name=lun.unit, path=path, key=_iscsi_sessions.wwid(lun.block, properties) or path,
                         format="raw", capacity=capacity, allocation=capacity, type="block", permissions=permissions)

    def list_volumes(self, pool):
        session = self._session(pool)
        if session is None:
            return []
        return sorted((self._volume(session, lun) for lun in session.luns
                       if lun.block and lun.scsi_type in _iscsi_sessions.DISK_TYPES), key=lambda vol: vol.name)

    def get_volume(self, pool, name):
        return next((vol for vol in self.list_volumes(pool) if vol.name == name), None)

    def volume_path(self, pool, name):
        volume = self.get_volume(pool, name)
        if volume is None:
            raise NotFoundError("pool %r has no LUN %r; LUNs are made on the target" % (pool.name, name))
        return volume.path

    def volume_name_at(self, pool, path):
        if not isinstance(path, str) or not path:
            return None
        real = os.path.realpath(path) if path.startswith("/dev/") else None
        for volume in self.list_volumes(pool):
            if path in (volume.path, volume.key) or (real is not None and os.path.realpath(volume.path) == real):
                return volume.name
        return None

    def plan_create_volume(self, pool, spec):
        raise StorageError("pool %r: iscsi pools cannot create volume %r: LUNs are made on the target, and appear "
                           "here once the pool is started again" % (pool.name, spec.name))

    def plan_resize_volume(self, pool, volume, capacity):
        raise StorageError("pool %r: iscsi pools cannot resize volume %r: LUNs are resized on the target"
                           % (pool.name, volume.name))

    def plan_delete_volume(self, pool, volume, wipe=None):
        raise StorageError("pool %r: iscsi pools cannot delete volume %r: LUNs are removed on the target"
                           % (pool.name, volume.name))

    # -- wipe: overwrite a LUN, which stays -------------------------------------------------------

    def _refuse_wipe(self, pool, volume):
        session = self._session(pool)
        lun = None if session is None else next((lun for lun in session.luns if lun.unit == volume.name and lun.block), None)
        if lun is None:
            raise StorageError("pool %r: LUN %r is gone" % (pool.name, volume.name))
        uses = self._lun_uses(session).get("%s (/dev/%s)" % (lun.unit, lun.block))
        if uses:
            raise StorageError("volume %r (%s) is in use (%s); refusing to wipe it" % (volume.name, volume.path, ", ".join(uses)))
        if (_iscsi_sessions.capacity(lun.block) or 0) != volume.capacity:
            raise StorageError("volume %r (%s) changed size since it was read; refusing to wipe it" % (volume.name, volume.path))
        return os.path.join(_iscsi_sessions.DEV, lun.block)

    def plan_wipe_volume(self, pool, volume, algorithm):
        """Overwrite every byte of a LUN (zero or random); refused while it is in use."""
        self._refuse_wipe(pool, volume)
        return [Action("wipe (%s) volume %r (%s)" % (algorithm, volume.name, volume.path),
                       lambda: self._wipe(pool, volume, algorithm))]

    def _wipe(self, pool, volume, algorithm):
        node = self._refuse_wipe(pool, volume)
        # O_EXCL: the kernel refuses while anything mounts or holds the disk
        overwrite(node, algorithm, expected_size=volume.capacity, exclusive=True)
