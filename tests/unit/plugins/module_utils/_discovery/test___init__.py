# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_discovery: the registry of discoveries, each imported when a task first asks for its type; discover()
and the <sources> XML. Each pool type's discovery is tested beside this file, the `devices` option in
test_base.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import json
import os
import subprocess
import sys

import pytest

try:
    from lxml import etree
except ImportError:
    etree = None

from ansible_collections.poolcraft.storage.plugins.module_utils import _discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import DISCOVERY, SOURCE_TYPES, discovery_class, discovery_for
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError


def test_registry_is_alphabetical_and_the_types_follow_it():
    assert list(DISCOVERY) == sorted(DISCOVERY)
    assert SOURCE_TYPES == tuple(DISCOVERY) == ("disk", "fs", "logical")


@pytest.mark.parametrize("pool_type", sorted(DISCOVERY))
def test_every_registered_discovery_loads(pool_type, quiet_runner):
    assert issubclass(discovery_class(pool_type), Discovery)
    assert discovery_for(pool_type, quiet_runner).runner is quiet_runner


@pytest.mark.parametrize("pool_type", ["iscsi", "LOGICAL", "", None, ["fs"]])
def test_an_unknown_type_is_one_line_naming_the_known_ones(pool_type, quiet_runner):
    with pytest.raises(ValidationError) as caught:
        discovery_for(pool_type, quiet_runner)
    assert str(caught.value) == "type=%r: no discovery for this pool type; known: disk, fs, logical" % (pool_type,)
    assert caught.value.option == "type"


def test_the_payload_has_every_discovery():
    """AnsiballZ packs what import statements name, not what importlib imports."""
    with open(_discovery.__file__) as handle:
        tree = ast.parse(handle.read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == _discovery.__name__:
            imported.update(alias.name for alias in node.names)
    assert imported == set(module_name for module_name, _class in DISCOVERY.values())


def test_only_the_asked_for_discovery_is_imported():
    code = ("import json, sys\n"
            "from ansible_collections.poolcraft.storage.plugins.module_utils import _discovery\n"
            "before = sorted(name for name in sys.modules if name.startswith(_discovery.__name__ + '.'))\n"
            "_discovery.discovery_class('logical')\n"
            "after = sorted(name for name in sys.modules if name.startswith(_discovery.__name__ + '.'))\n"
            "tools = sorted(name for name in sys.modules if '._tools.' in name)\n"
            "print(json.dumps([before, after, tools]))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr
    before, after, tools = json.loads(proc.stdout)
    prefix = _discovery.__name__ + "."
    assert before == [prefix + "_base"]
    assert after == [prefix + "_base", prefix + "_logical"]
    tools = [name.rsplit(".", 1)[-1] for name in tools]
    assert "_lvm_report" in tools and "_parted" not in tools and "_filesystems" not in tools, tools


needs_lxml = pytest.mark.skipif(etree is None, reason="the <sources> XML needs lxml")

SCHEMA_DIR = os.environ.get("POOLCRAFT_LIBVIRT_SCHEMAS", "/usr/share/libvirt/schemas")


# -- discover() and the <sources> XML (against libvirt's own schema) ----------------------------

@needs_lxml
def test_the_module_offers_the_registrys_types():
    assert _discovery.SOURCE_TYPES == ("disk", "fs", "logical")


@needs_lxml
def test_an_unknown_type_is_refused_by_name(quiet_runner):
    with pytest.raises(ValidationError) as caught:
        _discovery.discover("iscsi", None, quiet_runner)
    assert str(caught.value) == "type='iscsi': no discovery for this pool type; known: disk, fs, logical"


# -- the XML ----------------------------------------------------------------------------------

@needs_lxml
def test_xml_keeps_libvirts_element_order():
    xml = _discovery.sources_to_xml([(["/dev/sdb", "/dev/sdc"], "vg0", "lvm2"), (["/dev/sdd"], None, None)])
    assert xml == ('<sources>\n  <source>\n    <device path="/dev/sdb"/>\n    <device path="/dev/sdc"/>\n'
                   '    <name>vg0</name>\n    <format type="lvm2"/>\n  </source>\n'
                   '  <source>\n    <device path="/dev/sdd"/>\n  </source>\n</sources>\n')


@needs_lxml
def test_xml_escapes_what_it_must():
    xml = _discovery.sources_to_xml([(["/dev/disk/by-id/a&b\"c"], "v<g", None)])
    root = etree.fromstring(xml.encode("utf-8"))
    assert root.find("source/device").get("path") == '/dev/disk/by-id/a&b"c'
    assert root.find("source/name").text == "v<g"


def _schema_of(kind):
    """libvirt's storagepool.rng with <sources> of kind's <source> as its start (libvirt has
    no schema of its own for <sources>; its <source> definitions are the ones pools use)."""
    path = os.path.join(SCHEMA_DIR, "storagepool.rng")
    if not os.path.isfile(path):
        pytest.skip("libvirt's storagepool.rng is not in %s" % SCHEMA_DIR)
    grammar = ('<grammar xmlns="http://relaxng.org/ns/structure/1.0"><include href="%s"><start>'
               '<element name="sources"><zeroOrMore><ref name="%s"/></zeroOrMore></element>'
               '</start></include></grammar>' % (path, kind))
    return etree.RelaxNG(etree.fromstring(grammar.encode("utf-8")))


@needs_lxml
@pytest.mark.parametrize("kind, parts", [
    ("sourcelogical", [(["/dev/loop6", "/dev/loop7"], "pcvg", "lvm2"), (["/dev/loop8"], "pcvg2", "lvm2")]),
    ("sourcedisk", [(["/dev/loop2"], None, "gpt"), (["/dev/loop3"], None, "dos"), (["/dev/loop5"], None, None)]),
    ("sourcefs", [(["/dev/loop0"], None, "ext4"), (["/dev/mapper/vg-lv"], None, "xfs"), (["/dev/loop4"], None, None)]),
])
def test_xml_validates_against_libvirts_source_definitions(kind, parts):
    schema = _schema_of(kind)
    doc = etree.fromstring(_discovery.sources_to_xml(parts).encode("utf-8"))
    assert schema.validate(doc), schema.error_log


@needs_lxml
def test_the_schema_check_can_fail():
    schema = _schema_of("sourcefs")
    doc = etree.fromstring(_discovery.sources_to_xml([(["/dev/loop4"], None, "swap")]).encode("utf-8"))
    assert not schema.validate(doc)
