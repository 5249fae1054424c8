# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PoolManager: the pool the task asks for vs the pool on the host -> actions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import uuid as uuidlib

from ansible_collections.poolcraft.storage.plugins.module_utils import _inputs
from ansible_collections.poolcraft.storage.plugins.module_utils._backends import backend_for
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _perms
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action, Adapter, Auth, Host, PciAddress, PoolDef, PoolSource, ThinPool
from ansible_collections.poolcraft.storage.plugins.module_utils._units import parse_size
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import pool_to_xml

DEFAULT_FSTAB = "/etc/fstab"
# PoolDef fields as the task names them
_OPTION_OF = {"target_path": "target.path", "permissions": "target.permissions"}


def validate_name(name, option="name"):
    """A name becomes a file name, an fstab marker and a tool's argument (_inputs.name)."""
    return _inputs.name(name, option)


def _pool_name(name):
    """A pool's name: also without surrounding blanks, which its XML definition would not keep."""
    validate_name(name)
    if name != name.strip():
        raise ValidationError("name", name, "must not begin or end with whitespace")
    return name


def _fstab_path(value):
    """The fstab the task writes to: a good path in a directory that exists (None: the host's)."""
    if value is None:
        return DEFAULT_FSTAB
    _inputs.path(value, "fstab")
    parent = os.path.dirname(value)
    if not os.path.isdir(parent):
        raise ValidationError("fstab", value, "its directory %s does not exist" % parent)
    return value


def _refuse_repeated_devices(params):
    """A device named twice in source.devices (checked after the type's own rules, which say
    "exactly one device" where a type takes one)."""
    devices = (params.get("source") or {}).get("devices") or []
    for index, device in enumerate(devices):
        if os.path.normpath(device) in [os.path.normpath(seen) for seen in devices[:index]]:
            raise ValidationError("source.devices", device, "is listed twice")


def validate_params(params):
    """Every option of the task, before anything is read or written, whatever state says."""
    if params.get("name") is None and params.get("uuid") is None:
        raise ValidationError("name", None, "give name or uuid of the pool")
    if params.get("name") is not None:
        _pool_name(params["name"])
    _inputs.uuid(params.get("uuid"), "uuid")
    _fstab_path(params.get("fstab"))
    target = params.get("target") or {}
    # only its spelling here: whether it is a directory is the backend's to look at (_desired), since a
    # stat on a network mount point blocks in the kernel while its server is away
    _inputs.path(target.get("path"), "target.path")
    if target.get("permissions") is not None:
        _perms.from_params(target["permissions"], "target.permissions")
    source = params.get("source") or {}
    _inputs.existing_device(source.get("device"), "source.device")
    devices = source.get("devices")
    if devices is not None and not devices:
        raise ValidationError("source.devices", devices, "an empty list; leave the option out")
    for device in devices or []:
        _inputs.existing_device(device, "source.devices")
    for field in ("format", "name"):
        _inputs.text(source.get(field), "source." + field)
    _validate_network_source(source)
    _inputs.mount_options(params.get("mount_options"))
    thin_pool = params.get("thin_pool")
    if thin_pool is not None:
        validate_name(thin_pool.get("name"), "thin_pool.name")
        if thin_pool.get("size") is not None:
            parse_size(thin_pool["size"], "thin_pool.size")


def _validate_network_source(source):
    """The options of pools reached over a network (NFS, iSCSI): their syntax, before any
    server is asked anything."""
    _inputs.host(source.get("host"), "source.host")
    _inputs.port(source.get("port"), "source.port")
    _inputs.path(source.get("dir"), "source.dir")
    _inputs.iscsi_name(source.get("target"), "source.target")
    _inputs.iscsi_name(source.get("initiator"), "source.initiator")
    _validate_ceph_source(source)
    _adapter_from_params(source.get("adapter"))
    _map_selection(source.get("wwids"), "source.wwids")
    _map_selection(source.get("aliases"), "source.aliases")
    auth = source.get("auth")
    if auth is None:
        return
    _inputs.text(_inputs.not_empty(auth.get("username"), "source.auth.username"), "source.auth.username")
    _inputs.secret(auth.get("secret"), "source.auth.secret")
    _inputs.text(_inputs.not_empty(auth.get("mutual_username"), "source.auth.mutual_username"), "source.auth.mutual_username")
    _inputs.secret(auth.get("mutual_secret"), "source.auth.mutual_secret")
    if (auth.get("mutual_username") is None) != (auth.get("mutual_secret") is None):
        raise ValidationError("source.auth.mutual_username", auth.get("mutual_username"),
                              "mutual CHAP needs both source.auth.mutual_username and source.auth.mutual_secret")


_CONFIG_OPTION_RE = re.compile(r"[a-z][a-z0-9_]{0,127}")


def _validate_ceph_source(source):
    hosts = source.get("hosts")
    if hosts is not None and not hosts:
        raise ValidationError("source.hosts", hosts, "an empty list; leave the option out")
    for server in hosts or []:
        _inputs.host(server.get("name"), "source.hosts.name")
        _inputs.port(server.get("port"), "source.hosts.port")
    _inputs.name(source.get("namespace"), "source.namespace")
    _config_items(source.get("config"))


def _config_items(config):
    """source.config as sorted (option, text) pairs: YAML's true and 4 become "true" and "4"."""
    items = []
    for option, value in sorted((config or {}).items()):
        if not _CONFIG_OPTION_RE.fullmatch(option):
            raise ValidationError("source.config", option,
                                  "a Ceph client option is a name like rbd_cache (lower case letters, digits and _)")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        items.append((option, _inputs.text(_inputs.not_empty(value, "source.config." + option), "source.config." + option)))
    return tuple(items)


_SCSI_HOST_RE = re.compile(r"(scsi_)?host[0-9]{1,6}")
_WWN_RE = re.compile(r"(0x)?[0-9a-fA-F]{16}")
_PCI_LIMITS = (("domain", 0xFFFF), ("bus", 0xFF), ("slot", 0x1F), ("function", 0x7))


def _adapter_from_params(adapter):
    """source.adapter as an Adapter, its shape checked: which fields go with which type."""
    if adapter is None:
        return None
    kind = adapter.get("type")
    given = sorted(key for key, value in adapter.items() if value is not None and key != "type")
    allowed = {"scsi_host": ("name", "parent_address", "unique_id"),
               "fc_host": ("wwnn", "wwpn", "parent", "managed")}[kind]
    for key in given:
        if key not in allowed:
            raise ValidationError("source.adapter.%s" % key, adapter[key], "an adapter of type %s takes %s"
                                  % (kind, ", ".join("source.adapter." + name for name in allowed)))
    for key in ("name", "parent"):
        if adapter.get(key) is not None and not _SCSI_HOST_RE.fullmatch(adapter[key]):
            raise ValidationError("source.adapter." + key, adapter[key], "a SCSI host's name, such as host3")
    if kind == "scsi_host":
        if (adapter.get("name") is None) == (adapter.get("parent_address") is None):
            raise ValidationError("source.adapter", adapter.get("name"), "give one of source.adapter.name (hostN) "
                                  "and source.adapter.parent_address (with source.adapter.unique_id)")
        if adapter.get("unique_id") is not None and adapter.get("parent_address") is None:
            raise ValidationError("source.adapter.unique_id", adapter["unique_id"], "goes with source.adapter.parent_address")
        if adapter.get("unique_id") is not None and not 0 <= adapter["unique_id"] <= 0xFFFFFFFF:
            raise ValidationError("source.adapter.unique_id", adapter["unique_id"], "a number from 0 to 4294967295")
        address = adapter.get("parent_address")
        if address is not None:
            for part, most in _PCI_LIMITS:
                value = address.get(part)
                if value is None or not 0 <= value <= most:
                    raise ValidationError("source.adapter.parent_address." + part, value, "a number from 0 to 0x%x" % most)
            address = PciAddress(**dict((part, address[part]) for part, _most in _PCI_LIMITS))
        return Adapter(type=kind, name=adapter.get("name"), parent_address=address, unique_id=adapter.get("unique_id"))
    for key in ("wwnn", "wwpn"):
        value = adapter.get(key)
        if value is None or not _WWN_RE.fullmatch(value):
            raise ValidationError("source.adapter." + key, value, "required for an fc_host adapter: 16 hex digits, "
                                  "such as 20000000c9831b4b")
    return Adapter(type=kind, wwnn=_wwn(adapter["wwnn"]), wwpn=_wwn(adapter["wwpn"]), parent=adapter.get("parent"),
                   managed=adapter.get("managed"))


def _wwn(value):
    return value.lower()[2:] if value.lower().startswith("0x") else value.lower()


def _map_selection(values, option):
    """source.wwids or source.aliases: distinct, non-empty names with no slash."""
    if values is None:
        return ()
    if not values:
        raise ValidationError(option, values, "an empty list; leave the option out")
    for value in values:
        _inputs.text(_inputs.not_empty(value, option), option)
        if "/" in value or value != value.strip():
            raise ValidationError(option, value, "a multipath map's name, without a slash or spaces around it")
    if len(set(values)) != len(values):
        raise ValidationError(option, values, "names the same map twice")
    return tuple(values)


def _auth_from_params(auth, auth_type):
    if auth is None:
        return None
    return Auth(username=auth["username"], secret=auth["secret"], mutual_username=auth.get("mutual_username"),
                mutual_secret=auth.get("mutual_secret"), type=auth_type)


def apply_all(actions):
    """Apply planned Actions in order (the backend's steps inside one of the manager's)."""
    for action in actions:
        action.apply()


def _joined(actions):
    return "; ".join(action.description for action in actions)


def is_active(stored, backend, ask_storage=True):
    """Running: what the host shows (a mount, ...), else started since boot,
    or autostarted at boot and not stopped since. ask_storage=False: as the store's marks say, without
    looking whether the storage is still there (for a pool on a cluster, that asks the cluster)."""
    live = backend.live_state(stored.definition)
    if live is not None:
        return live
    marked = stored.marked == "running" if stored.marked is not None else bool(stored.autostart)
    # marked running, but its storage is gone (a directory removed by hand): stopped, as libvirt
    # stops a pool whose refresh fails
    return marked and (not ask_storage or backend.is_built(stored.definition))


def describe(stored, backend, with_volumes=False, active=None, sizes=True):
    """The pool as the modules return it. active: as the caller found it (None: looked at here);
    sizes=False: a running pool is not refreshed (one the task stops: its storage may be out of reach)."""
    pool = stored.definition
    if active is None:
        active = is_active(stored, backend)
    info = {"name": pool.name, "uuid": pool.uuid, "type": pool.type,
            "state": "running" if active else "stopped",
            "persistent": stored.persistent, "autostart": stored.autostart,
            "target": {"path": pool.target_path, "permissions": pool.permissions.as_dict()},
            "source": _source_info(pool.source), "thin_pool": _thin_pool_info(pool.thin_pool),
            "mount_options": list(pool.mount_options),
            "capacity": None, "allocation": None, "available": None, "volume_count": None,
            "xml": pool_to_xml(pool)}
    if not active and stored.marked == "running" and backend.live_state(pool) is None:
        info["reason"] = backend.unbuilt_reason(pool)  # started, and then its storage went away
    if active and sizes:
        status = backend.refresh(pool)
        info.update(capacity=status.capacity, allocation=status.allocation,
                    available=status.available, volume_count=status.volume_count)
        if status.free_extents is not None:
            info["free_extents"] = [dict(extent) for extent in status.free_extents]
        if with_volumes:
            info["volumes"] = [volume_info(vol) for vol in backend.list_volumes(pool)]
    return info


def _source_info(source):
    info = {"devices": list(source.devices), "format": source.format, "name": source.name}
    # the fields of network pools only where set, so the block pools' results stay as they were
    for field in ("host", "port", "dir", "protocol_version", "target", "initiator", "namespace"):
        if getattr(source, field) is not None:
            info[field] = getattr(source, field)
    if source.hosts:
        info["hosts"] = [{"name": server.name, "port": server.port} for server in source.hosts]
    if source.config:
        info["config"] = dict(source.config)
    if source.auth is not None:
        info["auth"] = source.auth.as_dict()
    if source.adapter is not None:
        info["adapter"] = source.adapter.as_dict()
    if source.wwids:
        info["wwids"] = list(source.wwids)
    if source.aliases:
        info["aliases"] = list(source.aliases)
    return info


def _thin_pool_info(thin_pool):
    return None if thin_pool is None else {"name": thin_pool.name, "size": thin_pool.size}


def volume_info(vol):
    info = {"name": vol.name, "key": vol.key, "path": vol.path, "type": vol.type, "format": vol.format,
            "capacity": vol.capacity, "allocation": vol.allocation,
            "backing_chain": [{"path": b.path, "format": b.format} for b in vol.backing],
            "permissions": vol.permissions.as_dict()}
    # SAN volumes only, so the other types' results stay as they were
    if vol.multipath_map is not None:
        info["multipath_map"] = vol.multipath_map
    if vol.map_state is not None:
        info["map_state"] = vol.map_state
        info["paths"] = [{"device": path.device, "hctl": path.hctl, "state": path.state, "group": path.group,
                          "group_state": path.group_state} for path in vol.paths]
    return info


def summary(pool, state, persistent, autostart):
    """Before/after for diff mode: the definition and how it runs."""
    return {"name": pool.name, "uuid": pool.uuid, "type": pool.type, "state": state,
            "persistent": persistent, "autostart": autostart,
            "source": _source_info(pool.source), "thin_pool": _thin_pool_info(pool.thin_pool),
            "mount_options": list(pool.mount_options),
            "target": {"path": pool.target_path, "permissions": pool.permissions.as_dict()}}


def _state_summary(stored, backend):
    if stored is None:
        return {"state": "absent"}
    return summary(stored.definition, "running" if is_active(stored, backend) else "stopped",
                   stored.persistent, stored.autostart)


class PoolManager(object):

    def __init__(self, params, runner, store):
        self.params = params
        self.runner = runner
        self.store = store
        self.name = params.get("name")
        # task-wide settings a backend may need beyond the definition
        self.settings = {"fstab": _fstab_path(params.get("fstab")),  # "" is refused: it is not the host's fstab
                         "remove_devices": bool(params.get("remove_devices")),
                         "force": bool(params.get("force")),
                         "purge_volumes": bool(params.get("purge_volumes"))}
        self.backend = None
        self.stored = None
        self._after = None
        # whether the pool ran when the plan was made (None: not planned, or state absent)
        self._active = None

    # -- finding the pool ----------------------------------------------------

    def _lookup(self):
        wanted_uuid = _inputs.uuid(self.params.get("uuid"), "uuid")
        if self.name is not None:  # "" is a bad name, not a missing one
            stored = self.store.get(_pool_name(self.name))
            if stored and wanted_uuid and str(uuidlib.UUID(stored.definition.uuid)) != wanted_uuid:
                raise ValidationError("uuid", self.params["uuid"], "pool %r has uuid %s" % (self.name, stored.definition.uuid))
            if stored is None and wanted_uuid and self.params["state"] != "absent":
                other = self.store.find_uuid(wanted_uuid)
                if other is not None:
                    raise ValidationError("uuid", self.params["uuid"], "pool %r already has this uuid"
                                          % other.definition.name)
            return stored
        stored = self.store.find_uuid(wanted_uuid)
        if stored is None and self.params["state"] != "absent":
            raise NotFoundError("no pool has uuid %s; give name to define a new pool" % wanted_uuid)
        if stored is not None:
            self.name = stored.definition.name
        return stored

    def _desired_type(self):
        current = self.stored.definition if self.stored else None
        pool_type = self.params.get("type") or (current.type if current else None)
        if pool_type is None:
            raise ValidationError("type", None, "required to define the new pool %r" % self.name)
        if current and pool_type != current.type:
            raise ValidationError("type", pool_type, "pool %r exists with type %s; remove it first to change its type"
                                  % (self.name, current.type))
        return pool_type

    def _desired(self, pool_type):
        params = self.params
        current = self.stored.definition if self.stored else None
        target = params.get("target") or {}
        path = self._target_path(target.get("path")) or (current.target_path if current else None)
        perms = _perms.from_params(target.get("permissions"), "target.permissions") \
            if target.get("permissions") is not None else (current.permissions if current else _perms.from_params(None))
        new_uuid = _inputs.uuid(params.get("uuid"), "uuid") or (current.uuid if current else str(uuidlib.uuid4()))
        mount_options = _inputs.mount_options(params.get("mount_options"))
        pool = PoolDef(name=self.name, type=pool_type, uuid=str(uuidlib.UUID(new_uuid)),
                       target_path=os.path.normpath(path) if path else None, permissions=perms,
                       source=self._desired_source(current),
                       mount_options=tuple(mount_options) if mount_options is not None else
                       (current.mount_options if current else ()),
                       thin_pool=self._desired_thin_pool(current))
        if pool.target_path is None:
            default = self.backend.default_target_path(pool)
            pool = pool.with_changes(target_path=default and os.path.normpath(default))
        return pool

    def _target_path(self, value):
        """target.path: a directory where it exists, looked at in this process unless the type's target
        may be a network mount point (whose stat blocks while the server is away)."""
        if self.backend.remote_target:
            return _inputs.path(value, "target.path")
        return _inputs.directory(value, "target.path")

    def _desired_thin_pool(self, current):
        given = self.params.get("thin_pool")
        if given is None:
            return current.thin_pool if current else None
        validate_name(given.get("name"), "thin_pool.name")
        size = given.get("size")
        return ThinPool(name=given["name"], size=None if size is None else parse_size(size, "thin_pool.size"))

    def _desired_source(self, current):
        given = self.params.get("source")
        if given is None:
            return current.source if current else PoolSource()
        devices = list(given.get("devices") or [])
        if given.get("device"):
            devices.insert(0, given["device"])
        for device in devices:
            _inputs.existing_device(device, "source.device")
        return PoolSource(devices=tuple(devices), format=_inputs.not_empty(given.get("format"), "source.format"),
                          name=_inputs.not_empty(given.get("name"), "source.name"),
                          host=given.get("host"), port=given.get("port"), dir=given.get("dir") and os.path.normpath(given["dir"]),
                          protocol_version=given.get("protocol_version"), target=given.get("target"),
                          initiator=given.get("initiator"), auth=_auth_from_params(given.get("auth"), self.backend.auth_type),
                          hosts=tuple(Host(name=server["name"], port=server.get("port")) for server in given.get("hosts") or ()),
                          namespace=given.get("namespace"),
                          config=_config_items(given.get("config")),
                          adapter=_adapter_from_params(given.get("adapter")),
                          wwids=_map_selection(given.get("wwids"), "source.wwids"),
                          aliases=_map_selection(given.get("aliases"), "source.aliases"))

    # -- planning ------------------------------------------------------------

    def plan(self):
        validate_params(self.params)
        self.stored = self._lookup()
        state = self.params["state"]
        if state == "absent":
            _refuse_repeated_devices(self.params)
            if self.stored is None:
                return []
            self.backend = backend_for(self.stored.definition.type, self.runner, self.settings)
            return self._plan_absent()
        pool_type = self._desired_type()
        self.backend = backend_for(pool_type, self.runner, self.settings)
        desired = self._desired(pool_type)
        self.backend.validate(desired)
        _refuse_repeated_devices(self.params)
        return self._plan_present(desired, state)

    def _plan_absent(self):
        pool, name = self.stored.definition, self.name
        actions = []
        if is_active(self.stored, self.backend):
            stop = self.backend.plan_stop(pool)
            actions.append(Action("stop pool %r" % name, lambda: self._stop(pool, False, stop)))
        if self.params.get("purge") and self.backend.is_built(pool):
            if self.backend.supports("list_volumes") and not self.settings["purge_volumes"]:
                count = len(self.backend.list_volumes(pool))
                if count:
                    raise StorageError("pool %r still holds %d volumes; remove them before purge" % (name, count))
            delete = self.backend.plan_delete(pool)
            actions.append(Action("delete the storage of pool %r (%s)" % (name, pool.target_path or _joined(delete)),
                                  lambda: apply_all(delete)))
        native = self.backend.plan_autostart(pool, False)
        actions.append(Action("undefine pool %r" % name, lambda: self._undefine(pool, native)))
        return actions

    def _check_persistence(self, state):
        persistent, autostart = self.params.get("persistent"), self.params.get("autostart")
        if persistent is False and state in ("present", "stopped"):
            raise ValidationError("persistent", False, "a transient pool exists only while running; use state: running")
        if persistent is False and autostart:
            raise ValidationError("autostart", True, "a transient pool cannot autostart; set persistent: true")
        if persistent is None:
            persistent = self.stored.persistent if self.stored else True
        return persistent

    def _plan_present(self, desired, state):
        persistent = self._check_persistence(state)
        # a stop needs no look at the storage: it may be out of reach, which is often why the pool is stopped
        active = self.stored is not None and is_active(self.stored, self.backend, ask_storage=state != "stopped")
        self._active = active
        autostart = self.params.get("autostart")
        if autostart is None or not persistent:
            autostart = bool(self.stored and self.stored.autostart) and persistent
        # storage with a boot switch of its own (LVM autoactivation) is built with it set;
        # and such a switch on storage made elsewhere is turned off only when the task says so
        self.settings.update(autostart=autostart, autostart_given=self.params.get("autostart") is not None)
        actions = self._plan_definition(desired, persistent, active)
        actions += self._plan_autostart(desired, autostart, active)
        built, build_actions = self._plan_build(desired, state)
        actions += build_actions
        if state == "running" and not active:
            if not built:
                raise NotFoundError("pool %r is not built (%s); set build: true to create it"
                                    % (self.name, self.backend.unbuilt_reason(desired)))
            start = self.backend.plan_start(desired)
            actions.append(Action("start pool %r" % self.name, lambda: self._start(desired, start)))
        elif state == "stopped" and active:
            stop = self.backend.plan_stop(desired)
            actions.append(Action("stop pool %r" % self.name, lambda: self._stop(desired, persistent, stop)))
        self._after = dict(summary(desired, state="running" if state == "running" or (active and state == "present") else "stopped",
                                   persistent=persistent, autostart=autostart))
        return actions

    def _plan_definition(self, desired, persistent, active):
        name, stored = self.name, self.stored
        if stored is None:
            return [Action("define pool %r (%s, %s)" % (name, desired.type, "persistent" if persistent else "transient"),
                           lambda: self._define(desired, persistent, active=False))]
        changed = [f for f in ("target_path", "permissions", "uuid", "source", "mount_options", "thin_pool")
                   if getattr(desired, f) != getattr(stored.definition, f)]
        moved = [_OPTION_OF.get(f, f) for f in ("target_path", "source", "mount_options") if f in changed
                 and not (f == "source" and self.backend.source_changes_while_running)]
        if moved and active:
            raise StorageError("pool %r is running; stop it before changing %s" % (name, ", ".join(moved)))
        if not changed and persistent == stored.persistent:
            return []
        what = ", ".join(_OPTION_OF.get(f, f) for f in changed) if changed else ("make persistent" if persistent else "make transient")
        return [Action("update definition of pool %r (%s)" % (name, what), lambda: self._define(desired, persistent, active))]

    def _plan_autostart(self, desired, autostart, active):
        """The store's autostart mark and the host's own boot mechanism (fstab, ...) both follow autostart."""
        was = bool(self.stored and self.stored.autostart)
        native = self.backend.plan_autostart(desired, autostart)
        if autostart == was and not native:
            return []
        words = "%s autostart of pool %r" % ("enable" if autostart else "disable", self.name)
        if native:
            words += " (%s)" % _joined(native)
        return [Action(words, lambda: self._set_autostart(desired, autostart, active, native))]

    def _plan_build(self, desired, state):
        """(built, actions): build only what is missing, and only when asked."""
        backend, actions = self.backend, []
        if self.params.get("build"):
            steps = backend.plan_build(desired, bool(self.params.get("overwrite")))
            if steps:
                actions.append(Action("build pool %r (%s)" % (self.name, _joined(steps)), lambda: apply_all(steps)))
                return True, actions
        if state == "stopped" and backend.no_target is not None:
            return True, actions  # nothing to start and no target to keep in line: the storage is not asked about
        built = backend.is_built(desired)
        if built:
            actions += backend.plan_target(desired)
        return built, actions

    # -- doing ---------------------------------------------------------------

    def _define(self, pool, persistent, active):
        self.store.save_secrets(pool.name, pool.source.auth.secrets() if pool.source.auth else {}, persistent)
        if persistent:
            self.store.save_persistent(pool, pool_to_xml(pool))
            if not active:
                self.store.mark_stopped(pool.name, True)
        else:
            self.store.remove_persistent(pool.name)
            self.store.mark_running(pool.name, pool_to_xml(pool))

    def _set_autostart(self, pool, enabled, active, native):
        if active and self.stored.marked is None:
            # running only because it autostarted at boot: record that, or losing autostart would stop it
            self.store.mark_running(pool.name, pool_to_xml(pool, self.backend.refresh(pool)))
        apply_all(native)
        self.store.set_autostart(pool.name, enabled)

    def _start(self, pool, steps):
        apply_all(steps)
        self.store.mark_running(pool.name, pool_to_xml(pool, self.backend.refresh(pool)))

    def _stop(self, pool, persistent, steps):
        apply_all(steps)
        self.store.mark_stopped(pool.name, persistent)

    def _undefine(self, pool, native):
        apply_all(native)
        self.store.mark_stopped(pool.name, False)
        self.store.remove_persistent(pool.name)

    # -- reporting -----------------------------------------------------------

    def rollback(self):
        """After a failed action: a pool this task defined leaves no definition, link or marker."""
        if self.stored is None and self.name:
            self.store.rollback(self.name)

    def diff(self, before):
        return {"before": before, "after": self._after or {"state": "absent"}}

    def snapshot(self):
        if self.stored and self.backend and self._active is not None:
            return summary(self.stored.definition, "running" if self._active else "stopped",
                           self.stored.persistent, self.stored.autostart)
        return _state_summary(self.stored, self.backend) if self.stored and self.backend else {"state": "absent"}

    def result(self, applied):
        stored = self.store.get(self.name) if self.name else None
        if stored is None:
            return {"pool": {"name": self.name, "state": "absent"}}
        backend = backend_for(stored.definition.type, self.runner, self.settings)
        if not applied and self._active is not None:
            # check mode: the pool as found; one the plan stops is not refreshed (its storage may be out of reach)
            return {"pool": describe(stored, backend, with_volumes=self.params.get("list_volumes"), active=self._active,
                                     sizes=not (self._active and self.params["state"] == "stopped"))}
        return {"pool": describe(stored, backend, with_volumes=self.params.get("list_volumes"))}
