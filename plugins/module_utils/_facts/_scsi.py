# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SCSI hosts, FC HBAs and iSCSI sessions, from udev (pyudev) and sysfs; no commands.

pyudev enumerates the few devices of the scsi_host, fc_host, iscsi_session and
iscsi_connection classes; their attributes are read from sysfs. The hardware
path of each device gives its host number and PCI address.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _sysfs
# one reading of PCI addresses and WWNs, the scsi pool's and the facts'
from ansible_collections.poolcraft.storage.plugins.module_utils._host._scsi_adapters import pci_address, wwn as _wwn  # noqa: F401

_HOST = re.compile(r"^host(\d+)$")
INITIATOR_NAME_FILE = "/etc/iscsi/initiatorname.iscsi"

_FC_TEXT = ("port_id", "port_state", "port_type", "speed", "supported_speeds", "supported_classes",
            "fabric_name", "symbolic_name")


def _devices(context, subsystem):
    return sorted(context.list_devices(subsystem=subsystem), key=lambda device: device.sys_path)


def host_of(sys_path):
    """The SCSI host (hostN) a device sits under, or None."""
    found = None
    for part in sys_path.split("/"):
        if _HOST.match(part):
            found = part
    return found


def _text(path):
    value = _sysfs.read(path)
    return value.strip() if value is not None and value.strip() not in ("", "unknown", "Unknown") else None


def fc_facts(sys_path):
    base = sys_path + "/"
    info = {"wwnn": _wwn(_sysfs.read(base + "node_name")), "wwpn": _wwn(_sysfs.read(base + "port_name"))}
    for key in _FC_TEXT:
        info[key] = _text(base + key)
    if info["fabric_name"]:
        info["fabric_name"] = _wwn(info["fabric_name"])
    max_vports = _sysfs.read_int(base + "max_npiv_vports")
    in_use = _sysfs.read_int(base + "npiv_vports_inuse")
    can_create = os.path.exists(base + "vport_create")
    info["npiv"] = {
        "max_vports": max_vports, "vports_in_use": in_use,
        # the driver offers vport_create and has room for another vport on a port that is up
        "can_create": bool(can_create and max_vports and (in_use or 0) < max_vports and info["port_state"] == "Online"),
    }
    info["is_vport"] = "/vport-" in sys_path
    # a vport sits under its port: .../host5/vport-5:0-0/host7/fc_host/host7
    info["parent"] = host_of(sys_path.split("/vport-", 1)[0]) if info["is_vport"] else None
    return info


def scsi_host_facts(context):
    """{hostN: facts} of every SCSI host, with FC details for FC HBAs."""
    hosts = {}
    for device in _devices(context, "scsi_host"):
        name = device.sys_name
        match = _HOST.match(name)
        if not match:
            continue
        base = device.sys_path + "/"
        hosts[name] = {
            "number": int(match.group(1)), "driver": _text(base + "proc_name"),
            "pci_address": pci_address(device.sys_path), "state": _text(base + "state"),
            "unique_id": _sysfs.read_int(base + "unique_id"), "transport": None, "fc": None,
        }
        if "/session" in device.sys_path or _text(base + "proc_name") in ("iscsi_tcp", "iser", "bnx2i", "cxgb4i"):
            hosts[name]["transport"] = "iscsi"
    for device in _devices(context, "fc_host"):
        if device.sys_name in hosts:
            hosts[device.sys_name]["transport"] = "fc"
            hosts[device.sys_name]["fc"] = fc_facts(device.sys_path)
    for device in _devices(context, "sas_host"):
        if device.sys_name in hosts:
            hosts[device.sys_name]["transport"] = "sas"
    return hosts


def initiator_name(path=INITIATOR_NAME_FILE):
    for line in (_sysfs.read(path) or "").split("\n"):  # the file's own line rule
        key, sep, value = line.strip().partition("=")
        if sep and key.strip() == "InitiatorName":
            return value.strip()
    return None


def iscsi_facts(context, block_devpaths, initiator_file=INITIATOR_NAME_FILE):
    """The initiator name and the sessions, each with the disks it attached.

    block_devpaths: {kernel name: devpath} of the block devices (Scanner.list()).
    """
    connections = {}
    for device in _devices(context, "iscsi_connection"):
        base = device.sys_path + "/"
        address = _text(base + "persistent_address") or _text(base + "address")
        port = _text(base + "persistent_port") or _text(base + "port")
        if address is None:
            continue
        if ":" in address:
            address = "[%s]" % address  # IPv6
        for part in device.sys_path.split("/"):
            if part.startswith("session"):
                connections.setdefault(part, []).append("%s:%s" % (address, port) if port else address)
    sessions = {}
    for device in _devices(context, "iscsi_session"):
        name = device.sys_name
        base = device.sys_path + "/"
        marker = "/%s/" % name
        disks = []
        for disk, devpath in block_devpaths.items():
            parts = devpath.split("/")
            if marker in devpath and parts[-2] == "block":
                disks.append({"name": disk, "scsi_address": parts[-3], "lun": int(parts[-3].rsplit(":", 1)[-1])})
        disks.sort(key=lambda disk: (disk["lun"], disk["name"]))
        sessions[name] = {
            "number": int(name[len("session"):]) if name[len("session"):].isdigit() else None,
            "target": _text(base + "targetname"), "tpgt": _sysfs.read_int(base + "tpgt"),
            "state": _text(base + "state"), "iface": _text(base + "ifacename"),
            "initiator": _text(base + "initiatorname"),
            "portals": connections.get(name, []), "host": host_of(device.sys_path), "disks": disks,
        }
        sessions[name]["portal"] = sessions[name]["portals"][0] if sessions[name]["portals"] else None
    return {"initiator_name": initiator_name(initiator_file), "sessions": sessions}
