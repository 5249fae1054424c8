# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""logical discovery on recorded `lvm fullreport` output, its <sources> XML against what libvirt
prints for the same VGs, and lvm's failures. The transcripts (fixtures/lvm/fullreport_host_*.json,
fixtures/virsh/find_logical_host_pcvg_pcvg2.json) and how they were recorded: fixtures/README.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Chosen
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._logical import LogicalDiscovery
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _lvm_report

from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript

etree = pytest.importorskip("lxml.etree")

# VG pcvg on loop6 and loop7 with one LV, VG pcvg2 on loop8, loop9 a PV in no VG
TWO_VGS_REPORT = "lvm/fullreport_host_pcvg_pcvg2_orphan_pv"


def canonical(text):
    """XML as C14N, so quoting and empty-element style do not matter; whitespace does."""
    return etree.tostring(etree.fromstring(text.encode("utf-8")), method="c14n")


def lvm_runner(fake_runner, transcript=None, **step):
    """A runner replaying the lvm fullreport transcript, or expecting _lvm_report.ARGV to end as step says."""
    runner = fake_runner()
    runner.commands.add("lvm")
    if transcript:
        return runner.load(transcript)
    return runner.expect(_lvm_report.ARGV, **step)


# -- logical ----------------------------------------------------------------------------------

TWO_VGS = [
    {"name": "pcvg", "devices": ["/dev/loop6", "/dev/loop7"], "format": "lvm2",
     "uuid": "8tSdHs-hPhf-QeZf-nxeZ-fSfN-q4eh-ANOeyL", "size": 662700032, "free": 654311424,
     "extent_size": 4194304, "pv_count": 2, "lv_count": 1},
    {"name": "pcvg2", "devices": ["/dev/loop8"], "format": "lvm2",
     "uuid": "nkBzAy-rciB-MyTa-N2mM-jFdw-dkm2-10smIu", "size": 62914560, "free": 62914560,
     "extent_size": 4194304, "pv_count": 1, "lv_count": 0},
]


def test_logical_sources_are_the_vgs_with_their_pvs(fake_runner):
    result = _discovery.discover("logical", None, lvm_runner(fake_runner, TWO_VGS_REPORT))
    # loop9 is a PV in no VG: not a source, as in libvirt
    assert result["sources"] == TWO_VGS


def test_logical_xml_is_what_libvirt_prints(fake_runner):
    result = _discovery.discover("logical", None, lvm_runner(fake_runner, TWO_VGS_REPORT))
    libvirt = load_transcript("virsh/find_logical_host_pcvg_pcvg2")["steps"][0]
    assert canonical(result["xml"]) == canonical(libvirt["stdout"])


def test_logical_devices_keep_the_vgs_with_a_pv_among_them(fake_runner):
    discovery = LogicalDiscovery(lvm_runner(fake_runner, TWO_VGS_REPORT))
    found = discovery.find([Chosen("/dev/disk/by-id/x", "loop8", "7:8"), Chosen("/dev/loop9", "loop9", "7:9")])
    assert [source["name"] for source in found] == ["pcvg2"]


def test_logical_devices_with_no_pv_find_nothing(fake_runner):
    discovery = LogicalDiscovery(lvm_runner(fake_runner, TWO_VGS_REPORT))
    assert discovery.find([Chosen("/dev/loop1", "loop1", "7:1")]) == []


def test_no_pvs_no_sources(fake_runner):
    result = _discovery.discover("logical", None, lvm_runner(fake_runner, "lvm/fullreport_host_no_pvs"))
    assert result["sources"] == []
    assert canonical(result["xml"]) == b"<sources></sources>"


def test_lvm_failing_names_the_command_and_its_reason(fake_runner):
    stderr = "  Parse error at byte 24 (line 2): expected a value\n  Failed to load config file /etc/lvm/lvm.conf\n"
    runner = lvm_runner(fake_runner, rc=4, stderr=stderr)
    with pytest.raises(CommandError) as caught:
        _discovery.discover("logical", None, runner)
    assert str(caught.value).startswith("lvm fullreport --reportformat json")
    assert "(rc=4): Parse error at byte 24 (line 2): expected a value; Failed to load config file" in str(caught.value)


def test_lvm_missing_is_one_clear_error(fake_runner):
    with pytest.raises(StorageError) as caught:
        _discovery.discover("logical", None, fake_runner())
    assert str(caught.value) == "required command 'lvm' was not found on the managed host"
