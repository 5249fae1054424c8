# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_scsi_adapters on recorded sysfs trees of FC HBAs: resolution by name, by PCI parent address and
unique_id, by WWNN/WWPN; NPIV vHBA creation and deletion (the writes to vport_create and
vport_delete, and the waits for the kernel); the rescan write.

No real fabric, HBA or vHBA was involved: no FC hardware exists on the development or CI machines.
The trees are umockdev records (fixtures/umockdev/): fc_hba_qla2xxx.umockdev (a dual-port QLogic
QLE2562 with one NPIV vport, host5 to host7) and fc_npiv_vhba_host8.umockdev (the vHBA host8 the
kernel would add on host5, with an array's LUNs behind an rport), both written by hand after the
layout of the kernel's FC transport class (see fixtures/README.md). A stand-in for the kernel adds
or removes host8 when the code writes to vport_create or vport_delete. Real SCSI hosts, rescans
and LUNs are the VM scenario's (tests/scenarios/vm/test_storage_pool_scsi_vm.py, scsi_debug).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _scsi_adapters
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Adapter, PciAddress

from ansible_collections.poolcraft.storage.tests.unit.conftest import FIXTURES
from ansible_collections.poolcraft.storage.tests.unit.plugins.module_utils._host import umockdev_tree

HBA = os.path.join(FIXTURES, "umockdev", "fc_hba_qla2xxx.umockdev")
VHBA = os.path.join(FIXTURES, "umockdev", "fc_npiv_vhba_host8.umockdev")
VHBA_WWNN, VHBA_WWPN = "2002001b32912a4c", "2102001b32912a4c"
PORT = "/devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5"


class FakeFcKernel(object):
    """The HBA's sysfs under root; what the kernel does on a write to vport_create / vport_delete of
    host5 (adds or removes the vHBA host8, when the WWNs written are its), and every write seen."""

    def __init__(self, root, monkeypatch, appears=True):
        self.root = str(root)
        self.sys = os.path.join(self.root, "sys")
        umockdev_tree.materialize(HBA, root)
        for host in ("host5", "host6", "host7"):  # the fixture leaves out the write-only scan attribute
            open(os.path.join(self.sys, "class", "scsi_host", host, "scan"), "w").close()
        self.appears = appears
        self.writes = []
        self.vhba = []
        real = _scsi_adapters._write

        def write(path, text, what):
            real(path, text, what)
            self.writes.append((os.path.relpath(path, self.sys), text))
            self.react(os.path.relpath(path, self.sys), text)
        monkeypatch.setattr(_scsi_adapters, "_write", write)
        monkeypatch.setattr(_scsi_adapters, "_POLL", 0.01)

    def react(self, path, text):
        if text != "%s:%s" % (VHBA_WWPN, VHBA_WWNN):
            return
        if path == "class/fc_host/host5/vport_create" and self.appears:
            self.add_vhba()
        elif path == "class/fc_host/host5/vport_delete":
            umockdev_tree.remove(self.vhba)
            shutil.rmtree(self.sys + PORT + "/vport-5:0-1")
            self.vhba = []

    def add_vhba(self):
        self.vhba = umockdev_tree.materialize(VHBA, self.root)


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    return FakeFcKernel(tmp_path, monkeypatch)


def test_hosts_and_fc_ports(kernel):
    hosts = _scsi_adapters.scsi_hosts(kernel.sys)
    assert [(host.name, host.number, host.unique_id, host.pci_address, host.driver) for host in hosts] == [
        ("host5", 5, 5, "0000:05:00.0", "qla2xxx"), ("host6", 6, 6, "0000:05:00.1", "qla2xxx"),
        ("host7", 7, 7, "0000:05:00.0", "qla2xxx")]
    assert hosts[0].device == kernel.sys + PORT
    ports = dict((fc.name, fc) for fc in _scsi_adapters.fc_hosts(kernel.sys))
    assert ports["host5"].wwnn == "2000001b32912a4c" and ports["host5"].wwpn == "2100001b32912a4c"
    assert ports["host5"].has_room and ports["host5"].vport_of is None
    assert ports["host7"].vport_of == "host5" and not ports["host7"].has_room
    assert not ports["host6"].has_room  # Linkdown


def test_resolve_by_name(kernel):
    assert _scsi_adapters.resolve(Adapter(type="scsi_host", name="host6"), kernel.sys).name == "host6"
    assert _scsi_adapters.resolve(Adapter(type="scsi_host", name="scsi_host7"), kernel.sys).name == "host7"
    with pytest.raises(ValidationError) as refused:
        _scsi_adapters.resolve(Adapter(type="scsi_host", name="host9"), kernel.sys)
    assert str(refused.value) == "source.adapter.name='host9': no such SCSI host here (SCSI hosts: host5, host6, host7)"


def test_resolve_by_parent_address_and_unique_id(kernel):
    def by(address, unique_id=None):
        return _scsi_adapters.resolve(Adapter(type="scsi_host", parent_address=address, unique_id=unique_id), kernel.sys)
    port0, port1 = PciAddress(0, 5, 0, 0), PciAddress(0, 5, 0, 1)
    assert by(port1).name == "host6"
    assert by(port1, 6).name == "host6"
    # the port and its vport are both under 0000:05:00.0: unique_id picks one
    assert by(port0, 5).name == "host5" and by(port0, 7).name == "host7"
    with pytest.raises(ValidationError) as refused:
        by(port0)
    assert "source.adapter.unique_id=None: 2 SCSI hosts are under 0000:05:00.0 (host5: 5, host7: 7)" in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        by(port0, 6)
    assert str(refused.value) == "source.adapter.unique_id=6: no SCSI host under 0000:05:00.0 has it (host5: 5, host7: 7)"
    with pytest.raises(ValidationError) as refused:
        by(PciAddress(0, 0x1f, 0, 2))
    assert str(refused.value) == ("source.adapter.parent_address='0000:1f:00.2': no SCSI host under this PCI address "
                                  "(SCSI hosts are under 0000:05:00.0, 0000:05:00.1)")


def test_resolve_by_wwn(kernel):
    adapter = Adapter(type="fc_host", wwnn="2001001b32912a4c", wwpn="2101001b32912a4c")
    assert _scsi_adapters.resolve(adapter, kernel.sys).name == "host7"
    missing = Adapter(type="fc_host", wwnn=VHBA_WWNN, wwpn=VHBA_WWPN)
    with pytest.raises(ValidationError) as refused:
        _scsi_adapters.resolve(missing, kernel.sys)
    assert str(refused.value).startswith("source.adapter.wwpn='%s': no FC host has WWNN %s and WWPN %s here" % (
        VHBA_WWPN, VHBA_WWNN, VHBA_WWPN))
    assert "managed: true" in str(refused.value)


def test_vport_parent(kernel):
    assert _scsi_adapters.vport_parent(Adapter(type="fc_host", wwnn=VHBA_WWNN, wwpn=VHBA_WWPN), kernel.sys).name == "host5"
    with pytest.raises(ValidationError) as refused:
        _scsi_adapters.vport_parent(Adapter(type="fc_host", wwnn=VHBA_WWNN, wwpn=VHBA_WWPN, parent="host6"), kernel.sys)
    assert str(refused.value) == ("source.adapter.parent='host6': cannot make an NPIV vport now "
                                  "(port Linkdown, 0 of 254 vports in use)")
    with pytest.raises(ValidationError) as refused:
        _scsi_adapters.vport_parent(Adapter(type="fc_host", wwnn=VHBA_WWNN, wwpn=VHBA_WWPN, parent="host7"), kernel.sys)
    assert "(a vport itself, of host5)" in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        _scsi_adapters.vport_parent(Adapter(type="fc_host", wwnn=VHBA_WWNN, wwpn=VHBA_WWPN, parent="host3"), kernel.sys)
    assert str(refused.value) == "source.adapter.parent='host3': no such FC host here (FC hosts: host5, host6, host7)"


def test_no_port_with_room(kernel):
    with open(os.path.join(kernel.sys, "class", "fc_host", "host5", "npiv_vports_inuse"), "w") as handle:
        handle.write("254\n")
    with pytest.raises(ValidationError) as refused:
        _scsi_adapters.vport_parent(Adapter(type="fc_host", wwnn=VHBA_WWNN, wwpn=VHBA_WWPN), kernel.sys)
    assert str(refused.value) == ("source.adapter.parent=None: no FC port here can make an NPIV vport (host5: port Online, "
                                  "254 of 254 vports in use; host6: port Linkdown, 0 of 254 vports in use)")


def test_create_and_delete_vport(kernel):
    host = _scsi_adapters.create_vport("host5", VHBA_WWNN, "0x" + VHBA_WWPN.upper(), kernel.sys)
    assert (host.name, host.unique_id, host.pci_address) == ("host8", 8, "0000:05:00.0")
    assert kernel.writes == [("class/fc_host/host5/vport_create", "%s:%s" % (VHBA_WWPN, VHBA_WWNN))]
    vport = _scsi_adapters.fc_host_by_wwn(VHBA_WWNN, VHBA_WWPN, kernel.sys)
    assert vport.name == "host8" and vport.vport_of == "host5"
    _scsi_adapters.rescan("host8", kernel.sys)
    assert kernel.writes[-1] == ("class/scsi_host/host8/scan", "- - -")
    _scsi_adapters.delete_vport(vport, kernel.sys)
    assert kernel.writes[-1] == ("class/fc_host/host5/vport_delete", "%s:%s" % (VHBA_WWPN, VHBA_WWNN))
    assert _scsi_adapters.fc_host_by_wwn(VHBA_WWNN, VHBA_WWPN, kernel.sys) is None
    assert [host.name for host in _scsi_adapters.scsi_hosts(kernel.sys)] == ["host5", "host6", "host7"]


def test_a_physical_port_is_never_deleted(kernel):
    port = _scsi_adapters.read_fc_host("host5", kernel.sys)
    with pytest.raises(StorageError) as refused:
        _scsi_adapters.delete_vport(port, kernel.sys)
    assert "physical FC port" in str(refused.value)
    assert kernel.writes == []


def test_vport_that_never_appears_ends_by_the_deadline(kernel):
    kernel.appears = False
    with pytest.raises(StorageError) as refused:
        _scsi_adapters.create_vport("host5", VHBA_WWNN, VHBA_WWPN, kernel.sys, timeout=0.2)
    assert str(refused.value) == ("vport_create of WWPN %s WWNN %s on host5: not done after 0 s" % (VHBA_WWPN, VHBA_WWNN))


def test_kernel_refusal_is_one_line(kernel, monkeypatch):
    def refuse(fd, data):
        raise OSError(22, "Invalid argument")
    monkeypatch.setattr(os, "write", refuse)
    with pytest.raises(StorageError) as refused:
        _scsi_adapters.rescan("host5", kernel.sys)
    assert "the kernel refused the rescan of host5" in str(refused.value) and "Invalid argument" in str(refused.value)
    with pytest.raises(StorageError) as refused:
        _scsi_adapters.rescan("host9", kernel.sys)
    assert "cannot open" in str(refused.value)


def test_helpers():
    assert _scsi_adapters.wwn("0x2000001B32912A4C\n") == "2000001b32912a4c"
    assert _scsi_adapters.wwn(None) is None
    assert _scsi_adapters.host_name("scsi_host3") == "host3" and _scsi_adapters.host_name("host3") == "host3"
    assert _scsi_adapters.pci_address("/sys/devices/pci0000:00/0000:00:03.0/0000:05:00.1/host6") == "0000:05:00.1"
    assert _scsi_adapters.pci_address("/sys/devices/pseudo_0/adapter0/host2") is None


# Runs inside umockdev-run, which shows the process the records as /sys itself (the default root).
_PROBE = r"""
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _scsi_adapters
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Adapter, PciAddress
print(json.dumps([_scsi_adapters.resolve(adapter).name for adapter in (
    Adapter(type="scsi_host", parent_address=PciAddress(0, 5, 0, 0), unique_id=8),
    Adapter(type="fc_host", wwnn="2002001b32912a4c", wwpn="2102001b32912a4c"),
    Adapter(type="scsi_host", name="host6"))]))
"""


def test_the_same_on_umockdev_as_sys():
    if shutil.which("umockdev-run") is None:
        pytest.skip("umockdev-run is not installed (scripts/install-deps installs it)")
    proc = subprocess.run(["umockdev-run", "-d", HBA, "-d", VHBA, "--", sys.executable, "-c", _PROBE, json.dumps(sys.path)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["host8", "host8", "host6"]
