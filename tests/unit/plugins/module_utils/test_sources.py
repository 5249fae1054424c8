# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_sources: discover() and the <sources> XML (against libvirt's own schema). Each pool type's
discovery is tested in _discovery/, the `devices` option in _discovery/test_base.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _sources
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError

etree = pytest.importorskip("lxml.etree")

SCHEMA_DIR = os.environ.get("POOLCRAFT_LIBVIRT_SCHEMAS", "/usr/share/libvirt/schemas")


# -- the registry (its own tests are in _discovery/test___init__.py) ---------------------------

def test_the_module_offers_the_registrys_types():
    assert _sources.SOURCE_TYPES == ("disk", "fs", "logical")


def test_an_unknown_type_is_refused_by_name(quiet_runner):
    with pytest.raises(ValidationError) as caught:
        _sources.discover("iscsi", None, quiet_runner)
    assert str(caught.value) == "type='iscsi': no discovery for this pool type; known: disk, fs, logical"


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
