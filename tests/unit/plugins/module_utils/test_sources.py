# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_sources: the registry, the <sources> XML (against libvirt's own output and schema), logical
discovery on recorded `lvm fullreport` output, and the `devices` option's errors.

Fixtures: fixtures/sources/README.md says how each was recorded.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _sources
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Chosen, resolve_devices
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._logical import LogicalDiscovery
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import (
    CommandError, StorageError, ValidationError)
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _lvm_report

etree = pytest.importorskip("lxml.etree")

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "sources")
SCHEMA_DIR = os.environ.get("POOLCRAFT_LIBVIRT_SCHEMAS", "/usr/share/libvirt/schemas")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def canonical(text):
    """XML as C14N, so quoting and empty-element style do not matter; whitespace does."""
    return etree.tostring(etree.fromstring(text.encode("utf-8")), method="c14n")


def lvm_runner(fake_runner, stdout, rc=0, stderr=""):
    runner = fake_runner()
    runner.commands.add("lvm")
    return runner.expect(_lvm_report.ARGV, rc=rc, stdout=stdout, stderr=stderr)


# -- the registry ----------------------------------------------------------------------------

def test_registry_is_alphabetical_and_the_types_follow_it():
    assert list(_sources.DISCOVERY) == sorted(_sources.DISCOVERY)
    assert _sources.SOURCE_TYPES == ("disk", "fs", "logical")


def test_an_unknown_type_is_refused_by_name(quiet_runner):
    with pytest.raises(ValidationError) as caught:
        _sources.discover("iscsi", None, quiet_runner)
    assert str(caught.value) == "type='iscsi': no discovery for this pool type; known: disk, fs, logical"


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
    result = _sources.discover("logical", None, lvm_runner(fake_runner, fixture("lvm_fullreport_two_vgs.json")))
    # loop9 is a PV in no VG: not a source, as in libvirt
    assert result["sources"] == TWO_VGS


def test_logical_xml_is_what_libvirt_prints(fake_runner):
    result = _sources.discover("logical", None, lvm_runner(fake_runner, fixture("lvm_fullreport_two_vgs.json")))
    assert canonical(result["xml"]) == canonical(fixture("libvirt_find_logical_two_vgs.xml"))


def test_logical_devices_keep_the_vgs_with_a_pv_among_them(fake_runner):
    discovery = LogicalDiscovery(lvm_runner(fake_runner, fixture("lvm_fullreport_two_vgs.json")))
    found = discovery.find([Chosen("/dev/disk/by-id/x", "loop8", "7:8"), Chosen("/dev/loop9", "loop9", "7:9")])
    assert [source["name"] for source in found] == ["pcvg2"]


def test_logical_devices_with_no_pv_find_nothing(fake_runner):
    discovery = LogicalDiscovery(lvm_runner(fake_runner, fixture("lvm_fullreport_two_vgs.json")))
    assert discovery.find([Chosen("/dev/loop1", "loop1", "7:1")]) == []


def test_no_pvs_no_sources(fake_runner):
    result = _sources.discover("logical", None, lvm_runner(fake_runner, fixture("lvm_fullreport_no_pvs.json")))
    assert result["sources"] == []
    assert canonical(result["xml"]) == b"<sources></sources>"


def test_lvm_failing_names_the_command_and_its_reason(fake_runner):
    stderr = "  Parse error at byte 24 (line 2): expected a value\n  Failed to load config file /etc/lvm/lvm.conf\n"
    runner = lvm_runner(fake_runner, "", rc=4, stderr=stderr)
    with pytest.raises(CommandError) as caught:
        _sources.discover("logical", None, runner)
    assert str(caught.value).startswith("lvm fullreport --reportformat json")
    assert "(rc=4): Parse error at byte 24 (line 2): expected a value; Failed to load config file" in str(caught.value)


def test_lvm_missing_is_one_clear_error(fake_runner):
    with pytest.raises(StorageError) as caught:
        _sources.discover("logical", None, fake_runner())
    assert str(caught.value) == "required command 'lvm' was not found on the managed host"


# -- the XML ----------------------------------------------------------------------------------

def test_xml_keeps_libvirts_element_order():
    xml = _sources.sources_to_xml([(["/dev/sdb", "/dev/sdc"], "vg0", "lvm2"), (["/dev/sdd"], None, None)])
    assert xml == ('<sources>\n  <source>\n    <device path="/dev/sdb"/>\n    <device path="/dev/sdc"/>\n'
                   '    <name>vg0</name>\n    <format type="lvm2"/>\n  </source>\n'
                   '  <source>\n    <device path="/dev/sdd"/>\n  </source>\n</sources>\n')


def test_xml_escapes_what_it_must():
    xml = _sources.sources_to_xml([(["/dev/disk/by-id/a&b\"c"], "v<g", None)])
    root = etree.fromstring(xml.encode("utf-8"))
    assert root.find("source/device").get("path") == '/dev/disk/by-id/a&b"c'
    assert root.find("source/name").text == "v<g"


def _sources_schema(kind):
    """libvirt's storagepool.rng with <sources> of kind's <source> as its start (libvirt has
    no schema of its own for <sources>; its <source> definitions are the ones pools use)."""
    path = os.path.join(SCHEMA_DIR, "storagepool.rng")
    if not os.path.isfile(path):
        pytest.skip("libvirt's storagepool.rng is not in %s" % SCHEMA_DIR)
    grammar = ('<grammar xmlns="http://relaxng.org/ns/structure/1.0"><include href="%s"><start>'
               '<element name="sources"><zeroOrMore><ref name="%s"/></zeroOrMore></element>'
               '</start></include></grammar>' % (path, kind))
    return etree.RelaxNG(etree.fromstring(grammar.encode("utf-8")))


@pytest.mark.parametrize("kind, parts", [
    ("sourcelogical", [(["/dev/loop6", "/dev/loop7"], "pcvg", "lvm2"), (["/dev/loop8"], "pcvg2", "lvm2")]),
    ("sourcedisk", [(["/dev/loop2"], None, "gpt"), (["/dev/loop3"], None, "dos"), (["/dev/loop5"], None, None)]),
    ("sourcefs", [(["/dev/loop0"], None, "ext4"), (["/dev/mapper/vg-lv"], None, "xfs"), (["/dev/loop4"], None, None)]),
])
def test_xml_validates_against_libvirts_source_definitions(kind, parts):
    schema = _sources_schema(kind)
    doc = etree.fromstring(_sources.sources_to_xml(parts).encode("utf-8"))
    assert schema.validate(doc), schema.error_log


def test_the_schema_check_can_fail():
    schema = _sources_schema("sourcefs")
    doc = etree.fromstring(_sources.sources_to_xml([(["/dev/loop4"], None, "swap")]).encode("utf-8"))
    assert not schema.validate(doc)


# -- the devices option -----------------------------------------------------------------------

def test_no_devices_means_no_restriction():
    assert resolve_devices(None) is None


def test_a_file_is_not_a_block_device(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(b"")
    with pytest.raises(ValidationError) as caught:
        resolve_devices([str(path)])
    assert str(caught.value) == "devices=%r: not a block device" % str(path)


def test_a_missing_device_is_named(tmp_path):
    with pytest.raises(ValidationError) as caught:
        resolve_devices([str(tmp_path / "sdz")])
    assert str(caught.value) == "devices=%r: no such device" % str(tmp_path / "sdz")


def test_a_relative_path_is_refused():
    with pytest.raises(ValidationError) as caught:
        resolve_devices(["sdb"])
    assert str(caught.value) == "devices='sdb': must be an absolute path to a block device"
