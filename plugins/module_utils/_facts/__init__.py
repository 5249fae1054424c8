# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_device_facts: which subsets to gather, and gathering them (never lxml
unless pool definitions are there to read).

External commands run only where no file has the data, each at most once:
`lvm fullreport` (only when a device carries an LVM signature or an LV is
mapped, or udev's database is missing so that cannot be known), and
`dmsetup table` / `dmsetup status` of the multipath targets (only when a
multipath map exists).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import traceback

from ansible_collections.poolcraft.storage.plugins.module_utils._entry import COMMON_ARGS, exit_with, require_library, validate_directories
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._facts import _devices, _scsi
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _mounts
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import DeadlineExceeded, Runner
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _lvm_report, _multipath

try:
    import pyudev
    PYUDEV_IMPORT_ERROR = None
except ImportError:
    pyudev = None
    PYUDEV_IMPORT_ERROR = traceback.format_exc()

# the module fits it to the task (_entry.fitted_spec) when it builds its AnsibleModule
ARGUMENT_SPEC = dict(
    COMMON_ARGS,
    gather_subset={"type": "list", "elements": "str", "default": ["all"]},
    devices={"type": "list", "elements": "str"},
    network_usage={"type": "bool", "default": False},
    usage_timeout={"type": "int", "default": 5},
)

MAX_USAGE_TIMEOUT = 3600  # seconds; longer than any df of a network mount should take

SUBSETS = ("devices", "iscsi", "lvm", "mounts", "multipath", "pools", "scsi_hosts")
NEEDS_PYUDEV = frozenset(("devices", "iscsi", "multipath", "scsi_hosts"))


def resolve_subsets(requested):
    """gather_subset as a set: 'all', names, and '!name' to leave one out."""
    chosen = set()
    excluded = set()
    for item in requested or ["all"]:
        negate = item.startswith("!")
        name = item[1:] if negate else item
        names = set(SUBSETS) if name == "all" else {name}
        if not names <= set(SUBSETS):
            raise ValidationError("gather_subset", item, "unknown subset; known: all, %s" % ", ".join(SUBSETS))
        (excluded if negate else chosen).update(names)
    if not chosen:
        chosen = set(SUBSETS)  # only exclusions given: everything else
    return chosen - excluded


def validate_params(params):
    """Every option, before anything is read."""
    validate_directories(params)
    timeout = params.get("usage_timeout")
    if timeout is not None and not 0 <= timeout <= MAX_USAGE_TIMEOUT:
        raise ValidationError("usage_timeout", timeout, "must be from 0 to %d seconds" % MAX_USAGE_TIMEOUT)
    for pattern in params.get("devices") or []:
        _devices.validate_pattern(pattern)


class Gatherer(object):
    """Gathers the chosen subsets. Never changes anything on the host."""

    def __init__(self, params, runner, context=None):
        self.params = params
        self.runner = runner
        self.subsets = resolve_subsets(params.get("gather_subset"))
        self.context = context
        sys_root = context.sys_path if context is not None else _devices._sysfs.SYS
        run_path = context.run_path if context is not None else "/run/udev"
        self.scanner = _devices.Scanner(sys_root=sys_root, udev_data=run_path + "/data")
        self.commands = []
        self._raw = None
        self._found = None
        self._mounts = None

    def run(self, argv):
        self.commands.append(" ".join(argv[:2]))
        return self.runner.run(argv)

    # -- shared reads -----------------------------------------------------------

    def found(self):
        if self._found is None:
            self.scanner.load_devnums()
            self._found = self.scanner.list()
        return self._found

    def mounts(self):
        if self._mounts is None:
            self._mounts = _mounts.read_mounts()
        return self._mounts

    def raw_devices(self):
        """Every block device, read once (the devices subset may restrict its own output)."""
        if self._raw is None:
            self._raw = dict((name, self.scanner.probe(name, devpath)) for name, devpath in self._probe_list())
        return self._raw

    def _probe_list(self):
        """All devices; with `devices` given and only the devices subset, the selected ones
        plus what their facts depend on (their disks, and every stacking device for holders)."""
        found = self.found()
        patterns = self.params.get("devices")
        names = set(found)
        if patterns and not ({"lvm", "multipath"} & self.subsets):
            names = set(self.scanner.select(found, patterns))
            names.update(name for name in found if name.startswith(_devices.STACKING))
            names.update(found[name].rsplit("/", 2)[-2] for name in list(names))
        return sorted((name, found[name]) for name in names if name in found and not self.scanner.detached(name))

    # -- subsets ----------------------------------------------------------------

    def gather(self):
        facts = {}
        if "devices" in self.subsets:
            facts["storage_devices"] = self.devices()
        if "multipath" in self.subsets:
            facts["storage_multipath"] = self.multipath()
        if "lvm" in self.subsets:
            facts["storage_lvm"] = self.lvm()
            if "storage_devices" in facts:
                _link_lvm(facts["storage_devices"], facts["storage_lvm"])
        if "devices" in self.subsets:
            _devices.set_free(facts["storage_devices"])
        if "scsi_hosts" in self.subsets:
            facts["storage_scsi_hosts"] = _scsi.scsi_host_facts(self.context)
        if "iscsi" in self.subsets:
            facts["storage_iscsi"] = _scsi.iscsi_facts(self.context, self.found())
        if "mounts" in self.subsets:
            facts["storage_mounts"] = _mounts.mount_facts(
                self.mounts(), self.params.get("network_usage"), self.params.get("usage_timeout") or 5)
        if "pools" in self.subsets:
            facts["storage_pools"] = self.pools()
        facts["storage_facts_info"] = {
            "gather_subset": sorted(self.subsets), "commands": self.commands,
            "udev_database": self.scanner.udev_running(),
        }
        return facts

    def devices(self):
        raw = self.raw_devices()
        selected = set(raw)
        patterns = self.params.get("devices")
        if patterns:
            selected = set(self.scanner.select(self.found(), patterns))
        devices = {}
        for name, item in raw.items():
            devices[name] = _devices.device_facts(item, raw.get(item.parent))
        mounts = _mounts.mounts_by_device(self.mounts())
        _devices.link_devices(devices, mounts, _mounts.read_swaps())
        if patterns:
            devices = dict((name, info) for name, info in devices.items() if name in selected)
        return devices

    def multipath(self):
        raw = self.raw_devices()
        maps = {}
        for name, item in sorted(raw.items()):
            if not name.startswith("dm-"):
                continue
            dm_dir = "%s%s/dm/" % (self.scanner.sys_root, item.devpath)
            uuid = item.props.get("DM_UUID") or _devices._sysfs.read(dm_dir + "uuid")
            if not uuid or not uuid.startswith("mpath-"):
                continue
            map_name = item.props.get("DM_NAME") or _devices._sysfs.read(dm_dir + "name")
            maps[map_name] = {"name": map_name, "dm": name, "path": "/dev/mapper/%s" % map_name,
                              "wwid": uuid[len("mpath-"):], "size": item.size, "maj_min": item.maj_min,
                              "features": None, "hw_handler": None, "path_groups": [],
                              "paths": [_path_facts(raw.get(slave), slave) for slave in item.slaves]}
        if maps and self.runner.has("dmsetup"):
            _merge_tables(maps, raw, _multipath.parse(self.run(_multipath.TABLE_ARGV)[1],
                                                      self.run(_multipath.STATUS_ARGV)[1]))
        return maps

    def lvm(self):
        if not self.runner.has("lvm"):
            return {"pvs": {}, "vgs": {}, "lvs": {}}
        if self.scanner.udev_running():
            raw = self.raw_devices()
            signatures = any(item.props.get("ID_FS_TYPE") == "LVM2_member"
                             or item.props.get("DM_UUID", "").startswith("LVM-") for item in raw.values())
            if not signatures:
                return {"pvs": {}, "vgs": {}, "lvs": {}}
        _rc, out, _err = self.run(_lvm_report.ARGV)
        return _lvm_report.parse_fullreport(out)

    def pools(self):
        if not any(_has_definitions(self.params[key]) for key in ("config_dir", "runtime_dir")):
            return {}  # nothing defined here: no need to load the store and lxml
        from ansible_collections.poolcraft.storage.plugins.module_utils._xml import LXML_IMPORT_ERROR
        require_library("lxml", LXML_IMPORT_ERROR)
        from ansible_collections.poolcraft.storage.plugins.module_utils._store import DefinitionStore
        store = DefinitionStore(self.params["config_dir"], self.params["runtime_dir"], read_only=True)
        pools = {}
        with store:
            usable, unusable = store.scan()
            for stored in usable:
                pools[stored.definition.name] = self._pool_facts(stored)
            for entry in unusable:  # a definition that cannot be used is reported, and stops no other pool
                pools[entry.name] = entry.as_facts()
        return pools

    def _pool_facts(self, stored):
        """One pool as storage_pool reports it (less its XML). Where reading its storage fails (a
        directory removed by hand, an NFS server that does not answer by usage_timeout), the pool is
        reported stopped, without sizes, with the reason."""
        from ansible_collections.poolcraft.storage.plugins.module_utils._backends import backend_for
        from ansible_collections.poolcraft.storage.plugins.module_utils._pool import describe
        try:
            # the deadline of what waits on a network (a netfs pool's reads)
            backend = backend_for(stored.definition.type, self.runner, {"timeout": self.params.get("usage_timeout") or 5})
        except StorageError as exc:
            return _unusable_facts(stored, exc)
        try:
            info = describe(stored, backend, with_volumes=True)
        except (StorageError, IOError, OSError) as exc:
            info = self._pool_without_storage(stored, backend, exc)
        info.pop("xml", None)
        info.setdefault("volumes", [])
        return info

    @staticmethod
    def _pool_without_storage(stored, backend, failure):
        from ansible_collections.poolcraft.storage.plugins.module_utils._pool import describe
        from ansible_collections.poolcraft.storage.plugins.module_utils._store import StoredPool
        pool = stored.definition
        if isinstance(failure, DeadlineExceeded):
            # storage that did not answer in time is not asked again (the facts would wait twice)
            backend = _Unanswered(backend)
        try:
            reason = _failure_text(failure) if backend.is_built(pool) else backend.unbuilt_reason(pool)
            # as libvirt does when a refresh fails: the pool is not running
            info = describe(StoredPool(pool, stored.persistent, stored.autostart, "stopped"), backend)
        except (StorageError, IOError, OSError) as exc:
            return _unusable_facts(stored, exc)
        info.update(state="stopped", reason=reason)
        return info


class _Unanswered(object):
    """A pool's backend after its storage missed a deadline: it reads as not running and built,
    so that describe() asks the storage nothing more."""

    def __init__(self, backend):
        self.backend = backend

    @staticmethod
    def live_state(pool):
        return False

    @staticmethod
    def is_built(pool):
        return True


def _failure_text(exc):
    if isinstance(exc, (IOError, OSError)) and exc.strerror:
        return "%s: %s" % (exc.filename, exc.strerror) if exc.filename else exc.strerror
    return " ".join(str(exc).split())


def _unusable_facts(stored, exc):
    return {"name": stored.definition.name, "state": "unusable", "reason": _failure_text(exc)}


def _has_definitions(directory):
    try:
        return any(entry.endswith(".xml") and not entry.startswith(".") for entry in os.listdir(directory))
    except (OSError, ValueError):  # ValueError: a NUL in the path (validate_params refuses it first)
        return False


def _path_facts(item, name):
    info = {"name": name, "maj_min": None, "scsi_address": None, "device_state": None,
            "dm_state": None, "fail_count": None, "path_group": None, "path_group_state": None}
    if item is not None:
        info.update(maj_min=item.maj_min, scsi_address=item.hw.get("scsi_address"), device_state=item.hw.get("state"))
    return info


def _merge_tables(maps, raw, tables):
    by_devnum = dict((item.maj_min, name) for name, item in raw.items())
    for map_name, table in tables.items():
        facts = maps.get(map_name)
        if facts is None:
            continue
        facts.update(features=table["features"], hw_handler=table["hw_handler"])
        paths = dict((path["name"], path) for path in facts["paths"])
        for group in table["groups"]:
            members = []
            for member in group["paths"]:
                name = by_devnum.get(member["maj_min"], member["maj_min"])
                members.append(name)
                path = paths.get(name)
                if path is None:
                    path = paths[name] = _path_facts(raw.get(name), name)
                    facts["paths"].append(path)
                path.update(dm_state=member["dm_state"], fail_count=member["fail_count"],
                            path_group=group["number"], path_group_state=group["state"])
            facts["path_groups"].append({"number": group["number"], "selector": group["selector"],
                                         "state": group["state"], "paths": members})
        facts["paths"].sort(key=lambda path: (path["path_group"] or 0, path["name"]))


def _link_lvm(devices, lvm):
    by_devnum = dict((info["maj_min"], name) for name, info in devices.items())
    for pv in lvm["pvs"].values():
        name = by_devnum.get(pv["maj_min"])
        if name is not None:
            devices[name].setdefault("used_by", {})["lvm_vg"] = pv["vg"] or ""
            pv["device"] = name
    for key, lv in lvm["lvs"].items():
        name = by_devnum.get(lv["maj_min"])
        if name is not None:
            devices[name]["lvm_lv"] = key
            lv["device"] = name


def gather_facts(module, runner=None, context=None):
    """Check the libraries the chosen subsets need, gather, exit once (changed: never)."""

    def gather():
        validate_params(module.params)
        subsets = resolve_subsets(module.params.get("gather_subset"))
        if NEEDS_PYUDEV & subsets:
            require_library("pyudev", PYUDEV_IMPORT_ERROR)
        host_context = context
        if host_context is None and pyudev is not None:
            host_context = pyudev.Context()
        return {"changed": False, "ansible_facts": Gatherer(module.params, runner or Runner(), host_context).gather()}

    exit_with(module, gather)
