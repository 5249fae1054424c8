# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sources of scsi pools: the host's SCSI hosts, each with its driver, PCI parent address and
unique_id (what a scsi pool's adapter names it by), and for an FC HBA port or an NPIV vHBA its
WWNN, WWPN, port state, fabric and NPIV room. Read from udev and sysfs by storage_device_facts'
own reader (_facts/_scsi.py); no command, no rescan, nothing written.

libvirt has no discovery for scsi pools; each <source> here is a scsi pool's, with its <adapter>:
type scsi_host by name (hostN), or type fc_host by WWNN and WWPN for an FC host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._facts import _scsi

PYUDEV_IMPORT_ERROR = None
try:
    import pyudev
except ImportError:
    pyudev = None
    PYUDEV_IMPORT_ERROR = traceback.format_exc()


def parent_address(pci_address):
    """{domain, bus, slot, function} of "0000:05:00.1" (as a scsi pool's adapter.parent_address
    takes it), or None."""
    if not pci_address:
        return None
    domain, bus, rest = pci_address.split(":")
    slot, function = rest.split(".")
    return {"domain": int(domain, 16), "bus": int(bus, 16), "slot": int(slot, 16), "function": int(function, 16)}


def _fc(facts):
    if facts is None:
        return None
    npiv = facts["npiv"]
    return {"wwnn": facts["wwnn"], "wwpn": facts["wwpn"], "port_state": facts["port_state"],
            "port_type": facts["port_type"], "speed": facts["speed"], "fabric_name": facts["fabric_name"],
            "is_vport": facts["is_vport"], "parent": facts["parent"],
            "npiv": {"max_vports": npiv["max_vports"], "vports_in_use": npiv["vports_in_use"],
                     "can_create": npiv["can_create"]}}


def sources_of(hosts):
    """One source per SCSI host of scsi_host_facts(), by host number."""
    found = []
    for name, host in sorted(hosts.items(), key=lambda item: item[1]["number"]):
        found.append({"name": name, "number": host["number"], "driver": host["driver"], "state": host["state"],
                      "unique_id": host["unique_id"], "pci_address": host["pci_address"],
                      "parent_address": parent_address(host["pci_address"]), "transport": host["transport"],
                      "fc": _fc(host["fc"])})
    return found


class ScsiDiscovery(Discovery):
    """Every SCSI host of the host: no devices, no server."""

    reads_block_devices = False
    reads = "the host's own SCSI hosts"

    def __init__(self, runner, context=None):
        super(ScsiDiscovery, self).__init__(runner)
        self.context = context  # a pyudev Context; tests give one of their own

    def find(self, chosen):
        context = self.context
        if context is None:
            if pyudev is None:
                raise StorageError("scsi discovery reads udev's view of the SCSI hosts and needs the Python library "
                                   "pyudev on the managed host (python3-pyudev)")
            context = pyudev.Context()
        return sources_of(_scsi.scsi_host_facts(context))

    @staticmethod
    def xml_parts(source):
        fc = source["fc"]
        if fc is not None and fc["wwnn"] and fc["wwpn"]:
            adapter = {"type": "fc_host", "wwnn": fc["wwnn"], "wwpn": fc["wwpn"]}
            if fc["parent"]:
                adapter["parent"] = fc["parent"]
            return {"adapter": adapter}
        return {"adapter": {"type": "scsi_host", "name": source["name"]}}
