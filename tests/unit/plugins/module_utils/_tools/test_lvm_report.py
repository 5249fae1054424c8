# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_lvm_report: the `lvm fullreport` that storage_device_facts runs, parsed from recorded output
(fixtures/lvm/fullreport_host_vga_vgb_same_lv_name.json, see fixtures/README.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _lvm_report

from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript


def test_lvm_fullreport_two_vgs_same_lv_name():
    # recorded on the development host (metadata-only LVM on loop devices): two VGs
    # each with an LV named "data", and a PV in no VG
    step = load_transcript("lvm/fullreport_host_vga_vgb_same_lv_name")["steps"][0]
    assert step["argv"] == _lvm_report.ARGV
    lvm = _lvm_report.parse_fullreport(step["stdout"])
    assert sorted(lvm["lvs"]) == ["vga/data", "vgb/data"]
    assert lvm["lvs"]["vga/data"]["size"] == 8388608
    assert lvm["lvs"]["vgb/data"]["size"] == 12582912
    assert lvm["lvs"]["vga/data"]["name"] == lvm["lvs"]["vgb/data"]["name"] == "data"
    assert lvm["lvs"]["vga/data"]["active"] is False and lvm["lvs"]["vga/data"]["maj_min"] is None
    assert lvm["vgs"]["vga"]["lvs"] == ["vga/data"]
    assert lvm["vgs"]["vga"]["size"] == 62914560 and lvm["vgs"]["vga"]["free"] == 54525952
    assert lvm["vgs"]["vgb"]["pvs"] == ["/dev/loop2001"]
    assert lvm["pvs"]["/dev/loop2002"]["vg"] is None
    assert lvm["pvs"]["/dev/loop2000"]["maj_min"] == "7:2000"
    assert lvm["pvs"]["/dev/loop2000"]["size"] == 62914560


def test_lvm_argv_asks_for_bytes_and_json():
    assert _lvm_report.ARGV[:7] == ["lvm", "fullreport", "--reportformat", "json", "--units", "b", "--nosuffix"]


def test_lvm_not_json():
    with pytest.raises(StorageError, match="no JSON"):
        _lvm_report.parse_fullreport("  WARNING: something\n")
