# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_scsi_luns on the recorded sysfs tree of a vHBA with an array's LUNs behind an rport
(fixtures/umockdev/fc_npiv_vhba_host8.umockdev, written by hand: no real fabric was involved; see
test_scsi_adapters.py). The LUNs of real SCSI hosts are the VM scenario's (scsi_debug)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _scsi_luns, _sysfs

from ansible_collections.poolcraft.storage.tests.unit.plugins.module_utils._host.test_scsi_adapters import FakeFcKernel


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    made = FakeFcKernel(tmp_path, monkeypatch)
    made.add_vhba()
    monkeypatch.setattr(_sysfs, "SYS", made.sys)
    monkeypatch.setattr(_sysfs, "UDEV_DATA", os.path.join(made.root, "run", "udev", "data"))
    return made


def test_luns_of_a_host(kernel):
    found = _scsi_luns.luns(8)
    assert [(lun.hctl, lun.unit, lun.scsi_type, lun.block, lun.state) for lun in found] == [
        ("8:0:0:0", "unit:0:0:0", 12, None, "running"), ("8:0:0:1", "unit:0:0:1", 0, "sdc", "running"),
        ("8:0:0:2", "unit:0:0:2", 0, "sdd", "running")]
    assert [lun.unit for lun in _scsi_luns.disk_luns(8)] == ["unit:0:0:1", "unit:0:0:2"]
    assert _scsi_luns.luns(5) == [] and _scsi_luns.luns(80) == []


def test_keys_sizes_and_maps(kernel):
    properties, links = _scsi_luns.udev_record("sdc")
    assert _scsi_luns.key_of("sdc", properties) == "360060e80104a3b000000000000000101"
    # no ID_SERIAL in udev's record: the kernel's designator (naa.6...) in scsi_id's spelling
    properties, links = _scsi_luns.udev_record("sdd")
    assert "ID_SERIAL" not in properties and links == []
    assert _scsi_luns.key_of("sdd", properties) == "360060e80104a3b000000000000000102"
    assert _scsi_luns.capacity("sdc") == 1 << 30 and _scsi_luns.capacity("sdx") == 0
    assert _scsi_luns.multipath_map_of("sdc") is None


def test_links():
    links = ["disk/by-id/wwn-0x6001", "disk/by-id/scsi-SATA_X", "disk/by-id/scsi-36001", "disk/by-path/pci-0000:05:00.0-fc-0x5-lun-1"]
    assert _scsi_luns.link_of("sdc", links, "/dev/disk/by-path") == "/dev/disk/by-path/pci-0000:05:00.0-fc-0x5-lun-1"
    assert _scsi_luns.link_of("sdc", links, "/dev/disk/by-id") == "/dev/disk/by-id/scsi-36001"
    assert _scsi_luns.link_of("sdc", links[:2], "/dev/disk/by-path") == "/dev/disk/by-id/scsi-SATA_X"
    assert _scsi_luns.link_of("sdc", ["disk/by-id/wwn-0x6001"], "/dev/disk/by-path") == "/dev/disk/by-id/wwn-0x6001"
    assert _scsi_luns.link_of("sdc", [], "/dev/disk/by-path") == "/dev/sdc"
