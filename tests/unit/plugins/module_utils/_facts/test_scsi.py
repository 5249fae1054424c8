# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SCSI hosts and FC HBAs through pyudev, on a umockdev testbed.

No FC hardware exists on the development or CI machines, so this runs the real
code (pyudev enumeration, sysfs reads) under umockdev-run, which shows the
process a sysfs tree of a dual-port QLogic QLE2562 (qla2xxx) with one NPIV
vport. That tree (fixtures/umockdev/fc_hba_qla2xxx.umockdev) was not recorded
from a live HBA: it is written by hand in umockdev's record format after the
layout and attribute formats of the kernel's FC transport class and the
qla2xxx driver (see fixtures/README.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._facts import _scsi

from ansible_collections.poolcraft.storage.tests.unit.conftest import FIXTURES

TESTBED = os.path.join(FIXTURES, "umockdev", "fc_hba_qla2xxx.umockdev")

# Runs inside umockdev-run: the collection comes from the same sys.path as the test's.
_PROBE = r"""
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import pyudev
from ansible_collections.poolcraft.storage.plugins.module_utils._facts import _scsi

from ansible_collections.poolcraft.storage.tests.unit.conftest import FIXTURES
context = pyudev.Context()
print(json.dumps({"hosts": _scsi.scsi_host_facts(context), "iscsi": _scsi.iscsi_facts(context, {}, "/nonexistent")}))
"""


@pytest.fixture(scope="module")
def mocked():
    pytest.importorskip("pyudev")
    if shutil.which("umockdev-run") is None:
        pytest.skip("umockdev-run is not installed (scripts/install-deps installs it)")
    proc = subprocess.run(
        ["umockdev-run", "-d", TESTBED, "--",
         sys.executable, "-c", _PROBE, json.dumps(sys.path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_fc_hba_port(mocked):
    host = mocked["hosts"]["host5"]
    assert host["number"] == 5
    assert host["driver"] == "qla2xxx"
    assert host["pci_address"] == "0000:05:00.0"
    assert host["transport"] == "fc"
    fc = host["fc"]
    assert fc["wwnn"] == "2000001b32912a4c"
    assert fc["wwpn"] == "2100001b32912a4c"
    assert fc["fabric_name"] == "100000051e0271b6"
    assert fc["port_state"] == "Online"
    assert fc["speed"] == "8 Gbit"
    assert fc["port_id"] == "0x0a0100"
    assert fc["is_vport"] is False and fc["parent"] is None
    assert fc["npiv"] == {"max_vports": 254, "vports_in_use": 1, "can_create": True}


def test_second_port_without_link_cannot_create_vports(mocked):
    fc = mocked["hosts"]["host6"]["fc"]
    assert mocked["hosts"]["host6"]["pci_address"] == "0000:05:00.1"
    assert fc["port_state"] == "Linkdown"
    assert fc["speed"] is None  # "unknown" in sysfs
    assert fc["npiv"]["can_create"] is False


def test_npiv_vport_host(mocked):
    vport = mocked["hosts"]["host7"]
    assert vport["fc"]["is_vport"] is True
    assert vport["fc"]["parent"] == "host5"  # the port it was made on
    assert vport["fc"]["wwpn"] == "2101001b32912a4c"
    assert vport["fc"]["port_type"] == "NPIV VPORT"
    assert vport["pci_address"] == "0000:05:00.0"
    assert vport["fc"]["npiv"]["can_create"] is False


def test_no_iscsi_on_this_testbed(mocked):
    assert mocked["iscsi"] == {"initiator_name": None, "sessions": {}}


def test_helpers():
    assert _scsi.pci_address("/sys/devices/pci0000:00/0000:00:03.0/0000:05:00.1/host6") == "0000:05:00.1"
    assert _scsi.pci_address("/sys/devices/platform/host3") is None
    assert _scsi.host_of("/sys/devices/platform/host3/session1/iscsi_session/session1") == "host3"
    assert _scsi._wwn("0x2000001B32912A4C\n") == "2000001b32912a4c"
    assert _scsi._wwn(None) is None


def test_initiator_name(tmp_path):
    path = tmp_path / "initiatorname.iscsi"
    path.write_text("## DO NOT EDIT\nInitiatorName=iqn.1993-08.org.debian:01:abc\n")
    assert _scsi.initiator_name(str(path)) == "iqn.1993-08.org.debian:01:abc"
    assert _scsi.initiator_name(str(tmp_path / "none")) is None


class FakeDevice(object):
    def __init__(self, sys_path):
        self.sys_path = sys_path
        self.sys_name = sys_path.rsplit("/", 1)[-1]


class FakeContext(object):
    """Enumerates class devices from a sysfs-like tree, as pyudev's list_devices(subsystem=...)."""

    def __init__(self, classes):
        self.classes = classes

    def list_devices(self, subsystem):
        return [FakeDevice(path) for path in self.classes.get(subsystem, [])]


def test_iscsi_sessions_from_sysfs(tmp_path):
    host = str(tmp_path) + "/devices/platform/host6"
    session = host + "/session3/iscsi_session/session3"
    connection = host + "/session3/connection3:0/iscsi_connection/connection3:0"
    for path, attrs in ((session, {"targetname": "iqn.2024-01.test:t1", "state": "LOGGED_IN", "tpgt": "1",
                                   "ifacename": "default", "initiatorname": "(null)"}),
                        (connection, {"persistent_address": "192.0.2.10", "persistent_port": "3260"}),
                        (host + "/scsi_host/host6", {"proc_name": "iscsi_tcp", "state": "running", "unique_id": "0"})):
        os.makedirs(path)
        for name, value in attrs.items():
            with open(os.path.join(path, name), "w") as handle:
                handle.write(value + "\n")
    blocks = {"sdf": "/devices/platform/host6/session3/target6:0:0/6:0:0:2/block/sdf",
              "sdf1": "/devices/platform/host6/session3/target6:0:0/6:0:0:2/block/sdf/sdf1",
              "sde": "/devices/platform/host6/session3/target6:0:0/6:0:0:1/block/sde",
              "sda": "/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda"}
    context = FakeContext({"iscsi_session": [session], "iscsi_connection": [connection],
                           "scsi_host": [host + "/scsi_host/host6"]})
    facts = _scsi.iscsi_facts(context, blocks, str(tmp_path / "initiatorname.iscsi"))
    assert facts["initiator_name"] is None
    assert facts["sessions"] == {"session3": {
        "number": 3, "target": "iqn.2024-01.test:t1", "tpgt": 1, "state": "LOGGED_IN", "iface": "default",
        "initiator": "(null)", "portals": ["192.0.2.10:3260"], "portal": "192.0.2.10:3260", "host": "host6",
        "disks": [{"name": "sde", "scsi_address": "6:0:0:1", "lun": 1},
                  {"name": "sdf", "scsi_address": "6:0:0:2", "lun": 2}]}}
    hosts = _scsi.scsi_host_facts(context)
    assert hosts["host6"]["transport"] == "iscsi" and hosts["host6"]["driver"] == "iscsi_tcp"
    assert hosts["host6"]["pci_address"] is None


def test_initiator_name_is_read_by_newlines_only(tmp_path):
    # a form feed or U+0085 is no line break in the file: str.splitlines() would cut the name there
    path = tmp_path / "initiatorname.iscsi"
    path.write_bytes("InitiatorName=iqn.2024-01.example:a\x0cb\u0085c\n".encode("utf-8"))
    assert _scsi.initiator_name(str(path)) == "iqn.2024-01.example:a\x0cb\u0085c"
