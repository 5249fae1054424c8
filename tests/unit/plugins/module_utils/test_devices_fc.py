# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SCSI hosts and FC HBAs through pyudev, on a umockdev testbed.

No FC hardware exists on the development or CI machines, so this runs the real
code (pyudev enumeration, sysfs reads) under umockdev-run, which shows the
process a sysfs tree of a dual-port QLogic QLE2562 (qla2xxx) with one NPIV
vport. That tree (fixtures/devices/fc_hba_qla2xxx.umockdev) was not recorded
from a live HBA: it is written by hand in umockdev's record format after the
layout and attribute formats of the kernel's FC transport class and the
qla2xxx driver (see fixtures/devices/README.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _scsi

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "devices")

# Runs inside umockdev-run: the collection comes from the same sys.path as the test's.
_PROBE = r"""
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import pyudev
from ansible_collections.poolcraft.storage.plugins.module_utils import _scsi
context = pyudev.Context()
print(json.dumps({"hosts": _scsi.scsi_host_facts(context), "iscsi": _scsi.iscsi_facts(context, {}, "/nonexistent")}))
"""


@pytest.fixture(scope="module")
def mocked():
    pytest.importorskip("pyudev")
    if shutil.which("umockdev-run") is None:
        pytest.skip("umockdev-run is not installed (scripts/install-deps installs it)")
    proc = subprocess.run(
        ["umockdev-run", "-d", os.path.join(FIXTURES, "fc_hba_qla2xxx.umockdev"), "--",
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
    assert fc["is_vport"] is False
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
