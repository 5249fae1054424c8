# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources scsi: the SCSI hosts with their driver, PCI parent address and unique_id, and the
FC details of FC hosts, with libvirt's <adapter> of each.

FC: no FC hardware and no fabric exist on the development or CI machines. The FC part runs the real
code (pyudev enumeration, sysfs reads) under umockdev-run on the hand-written sysfs tree of a
dual-port QLogic HBA with one NPIV vport (fixtures/umockdev/fc_hba_qla2xxx.umockdev; see
fixtures/README.md): no real fabric was involved. Real SCSI hosts (scsi_debug) are found in the
test VM (tests/scenarios/vm/test_pool_sources_san_vm.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

try:
    from lxml import etree
except ImportError:
    etree = None

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import _scsi as scsi_discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import sources_to_xml
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._scsi import ScsiDiscovery, parent_address
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError

from ansible_collections.poolcraft.storage.tests.unit.conftest import FIXTURES

TESTBED = os.path.join(FIXTURES, "umockdev", "fc_hba_qla2xxx.umockdev")
SCHEMA = os.path.join(os.environ.get("POOLCRAFT_LIBVIRT_SCHEMAS", "/usr/share/libvirt/schemas"), "storagepool.rng")

# Runs inside umockdev-run: pool_sources' own discover(), with the host's pyudev
_PROBE = r"""
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import discover
print(json.dumps(discover("scsi", None, None)))
"""


@pytest.fixture(scope="module")
def fc_found():
    pytest.importorskip("pyudev")
    pytest.importorskip("lxml")
    if shutil.which("umockdev-run") is None:
        pytest.skip("umockdev-run is not installed (scripts/install-deps installs it)")
    proc = subprocess.run(["umockdev-run", "-d", TESTBED, "--", sys.executable, "-c", _PROBE, json.dumps(sys.path)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_fc_ports_and_the_vhba_with_their_wwns_and_npiv_room(fc_found):
    hosts = dict((source["name"], source) for source in fc_found["sources"])
    assert [source["name"] for source in fc_found["sources"]] == ["host5", "host6", "host7"]  # by number
    port = hosts["host5"]
    assert (port["driver"], port["unique_id"], port["state"], port["transport"]) == ("qla2xxx", 5, "running", "fc")
    assert port["pci_address"] == "0000:05:00.0"
    assert port["parent_address"] == {"domain": 0, "bus": 5, "slot": 0, "function": 0}
    assert port["fc"] == {"wwnn": "2000001b32912a4c", "wwpn": "2100001b32912a4c", "port_state": "Online",
                          "port_type": "NPort (fabric via point-to-point)", "speed": "8 Gbit",
                          "fabric_name": "100000051e0271b6", "is_vport": False, "parent": None,
                          "npiv": {"max_vports": 254, "vports_in_use": 1, "can_create": True}}
    # the second port has no link: no vport can be made on it
    down = hosts["host6"]
    assert down["parent_address"] == {"domain": 0, "bus": 5, "slot": 0, "function": 1}
    assert down["fc"]["port_state"] == "Linkdown" and down["fc"]["npiv"]["can_create"] is False
    # the vHBA sits under its port's PCI function, and makes no vports itself
    vport = hosts["host7"]
    assert vport["fc"]["is_vport"] is True and vport["fc"]["wwpn"] == "2101001b32912a4c"
    assert vport["fc"]["parent"] == "host5"
    assert vport["pci_address"] == "0000:05:00.0" and vport["unique_id"] == 7
    assert vport["fc"]["npiv"] == {"max_vports": None, "vports_in_use": None, "can_create": False}


def test_fc_hosts_are_fc_host_adapters_libvirt_accepts(fc_found):
    root = etree.fromstring(fc_found["xml"].encode("utf-8"))
    adapters = [dict(node.attrib) for node in root.findall("source/adapter")]
    assert adapters == [{"type": "fc_host", "wwnn": "2000001b32912a4c", "wwpn": "2100001b32912a4c"},
                        {"type": "fc_host", "wwnn": "2000001b32912a4d", "wwpn": "2100001b32912a4d"},
                        {"type": "fc_host", "parent": "host5", "wwnn": "2001001b32912a4c", "wwpn": "2101001b32912a4c"}]
    _validate(fc_found["xml"])


# -- SCSI hosts of other drivers, from a sysfs-like tree ---------------------------------------------

class FakeDevice(object):
    def __init__(self, sys_path):
        self.sys_path = sys_path
        self.sys_name = sys_path.rsplit("/", 1)[-1]


class FakeContext(object):
    """pyudev's list_devices(subsystem=...) over a tree of the test's."""

    def __init__(self, classes):
        self.classes = classes

    def list_devices(self, subsystem):
        return [FakeDevice(path) for path in self.classes.get(subsystem, [])]


def _host(root, device, attrs):
    path = os.path.join(root, device.lstrip("/"))
    os.makedirs(path)
    for name, value in attrs.items():
        with open(os.path.join(path, name), "w") as handle:
            handle.write(value + "\n")
    return path


def test_a_pseudo_host_and_a_pci_host(tmp_path):
    root = str(tmp_path)
    debug = _host(root, "devices/pseudo_0/adapter0/host2/scsi_host/host2",
                  {"proc_name": "scsi_debug", "unique_id": "1", "state": "running"})
    ahci = _host(root, "devices/pci0000:00/0000:00:1f.2/ata1/host10/scsi_host/host10",
                 {"proc_name": "ahci", "unique_id": "1", "state": "running"})
    found = ScsiDiscovery(None, context=FakeContext({"scsi_host": [ahci, debug]})).find(None)
    assert found == [
        {"name": "host2", "number": 2, "driver": "scsi_debug", "state": "running", "unique_id": 1, "pci_address": None,
         "parent_address": None, "transport": None, "fc": None},
        {"name": "host10", "number": 10, "driver": "ahci", "state": "running", "unique_id": 1,
         "pci_address": "0000:00:1f.2", "parent_address": {"domain": 0, "bus": 0, "slot": 0x1f, "function": 2},
         "transport": None, "fc": None},
    ]
    xml = sources_to_xml([ScsiDiscovery.xml_parts(source) for source in found])
    assert xml == ('<sources>\n  <source>\n    <adapter type="scsi_host" name="host2"/>\n  </source>\n'
                   '  <source>\n    <adapter type="scsi_host" name="host10"/>\n  </source>\n</sources>\n')
    _validate(xml)


def test_no_scsi_host_is_no_source():
    # the development host's kernel has no SCSI layer: pool_sources finds nothing, and says so
    assert ScsiDiscovery(None, context=FakeContext({})).find(None) == []
    assert sources_to_xml([]) == "<sources/>\n"


def test_without_pyudev_it_is_one_line(monkeypatch):
    monkeypatch.setattr(scsi_discovery, "pyudev", None)
    with pytest.raises(StorageError) as caught:
        ScsiDiscovery(None).find(None)
    assert str(caught.value) == ("scsi discovery reads udev's view of the SCSI hosts and needs the Python library pyudev "
                                 "on the managed host (python3-pyudev)")


def test_parent_address():
    assert parent_address("0001:af:1e.7") == {"domain": 1, "bus": 0xaf, "slot": 0x1e, "function": 7}
    assert parent_address(None) is None


def _validate(xml):
    if etree is None or not os.path.isfile(SCHEMA):
        pytest.skip("libvirt's storagepool.rng is not installed")
    grammar = ('<grammar xmlns="http://relaxng.org/ns/structure/1.0"><include href="%s"><start>'
               '<element name="sources"><zeroOrMore><ref name="sourcescsi"/></zeroOrMore></element>'
               '</start></include></grammar>' % SCHEMA)
    schema = etree.RelaxNG(etree.fromstring(grammar.encode("utf-8")))
    assert schema.validate(etree.fromstring(xml.encode("utf-8"))), schema.error_log
