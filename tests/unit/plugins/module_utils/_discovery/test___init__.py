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
    assert SOURCE_TYPES == tuple(DISCOVERY) == ("disk", "fs", "iscsi", "iscsi-direct", "logical", "mpath", "netfs", "rbd",
                                                "scsi")


@pytest.mark.parametrize("pool_type", sorted(DISCOVERY))
def test_every_registered_discovery_loads(pool_type, quiet_runner):
    assert issubclass(discovery_class(pool_type), Discovery)
    assert discovery_for(pool_type, quiet_runner).runner is quiet_runner


@pytest.mark.parametrize("pool_type", ["dir", "LOGICAL", "", None, ["fs"]])
def test_an_unknown_type_is_one_line_naming_the_known_ones(pool_type, quiet_runner):
    with pytest.raises(ValidationError) as caught:
        discovery_for(pool_type, quiet_runner)
    assert str(caught.value) == ("type=%r: no discovery for this pool type; known: disk, fs, iscsi, iscsi-direct, "
                                 "logical, mpath, netfs, rbd, scsi" % (pool_type,))
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
    assert after == [prefix + "_base", prefix + "_logical"]  # not _block, _iscsi, _netfs
    tools = [name.rsplit(".", 1)[-1] for name in tools]
    assert "_lvm_report" in tools and "_parted" not in tools and "_filesystems" not in tools, tools


needs_lxml = pytest.mark.skipif(etree is None, reason="the <sources> XML needs lxml")

SCHEMA_DIR = os.environ.get("POOLCRAFT_LIBVIRT_SCHEMAS", "/usr/share/libvirt/schemas")


# -- discover() and the <sources> XML (against libvirt's own schema) ----------------------------

@needs_lxml
def test_the_module_offers_the_registrys_types():
    assert _discovery.SOURCE_TYPES == ("disk", "fs", "iscsi", "iscsi-direct", "logical", "mpath", "netfs", "rbd", "scsi")


@needs_lxml
def test_an_unknown_type_is_refused_by_name(quiet_runner):
    with pytest.raises(ValidationError) as caught:
        _discovery.discover("zfs", None, quiet_runner)
    assert str(caught.value) == ("type='zfs': no discovery for this pool type; known: disk, fs, iscsi, iscsi-direct, "
                                 "logical, mpath, netfs, rbd, scsi")


# -- what a task may ask of each kind: block devices, or a server and a deadline ------------------

def refusal(pool_type, runner, devices=None, **kwargs):
    with pytest.raises(ValidationError) as caught:
        _discovery.discover(pool_type, devices, runner, **kwargs)
    return caught.value


@pytest.mark.parametrize("pool_type", ["iscsi", "iscsi-direct", "netfs"])
def test_a_kind_that_asks_a_server_takes_no_devices(pool_type, quiet_runner):
    caught = refusal(pool_type, quiet_runner, devices=["/dev/sdb"], source={"host": "nfs1"})
    assert str(caught) == ("devices=['/dev/sdb']: type %s asks a server (source.host), not block devices; devices is "
                           "for disk, fs, logical" % pool_type)


def test_rbd_takes_no_devices_and_names_its_monitors(quiet_runner):
    caught = refusal("rbd", quiet_runner, devices=["/dev/sdb"], source={"hosts": [{"name": "mon1"}]})
    assert str(caught) == ("devices=['/dev/sdb']: type rbd asks a server (source.hosts), not block devices; devices is "
                           "for disk, fs, logical")


@pytest.mark.parametrize("pool_type, reads", [("mpath", "multipath maps"), ("scsi", "SCSI hosts")])
def test_a_kind_that_reads_all_of_one_thing_takes_no_devices_server_or_deadline(pool_type, reads, quiet_runner):
    caught = refusal(pool_type, quiet_runner, devices=["/dev/sdb"])
    assert str(caught) == ("devices=['/dev/sdb']: type %s reads the host's own %s, all of them; devices is for disk, fs, "
                           "logical" % (pool_type, reads))
    caught = refusal(pool_type, quiet_runner, devices=[])
    assert caught.option == "devices"
    caught = refusal(pool_type, quiet_runner, source={"host": "nfs1"})
    assert str(caught) == ("source={'host': 'nfs1'}: type %s reads the host's own %s; source is for iscsi, iscsi-direct, "
                           "netfs, rbd" % (pool_type, reads))
    caught = refusal(pool_type, quiet_runner, timeout=5)
    assert str(caught) == "timeout=5: type %s asks no server; timeout is for iscsi, iscsi-direct, netfs, rbd" % pool_type


def test_a_secret_given_to_a_kind_without_a_server_is_not_shown(quiet_runner):
    caught = refusal("scsi", quiet_runner, source={"auth": {"username": "u", "secret": "s3cr3t-key"}})
    assert "s3cr3t-key" not in str(caught) and caught.option == "source"


@pytest.mark.parametrize("pool_type", ["disk", "fs", "logical"])
def test_a_kind_that_reads_block_devices_takes_no_server(pool_type, quiet_runner):
    caught = refusal(pool_type, quiet_runner, source={"host": "nfs1", "port": None})
    assert str(caught) == ("source={'host': 'nfs1'}: type %s reads the host's own block devices; source is for iscsi, "
                           "iscsi-direct, netfs, rbd" % pool_type)
    caught = refusal(pool_type, quiet_runner, timeout=5)
    assert caught.option == "timeout"


@pytest.mark.parametrize("pool_type, source, option, words", [
    ("netfs", None, "source.host", "required: type netfs asks a server for its sources, and needs source.host"),
    ("netfs", {"host": None}, "source.host", "required"),
    ("iscsi-direct", {"host": "10.0.0.1"}, "source.initiator",
     "required: type iscsi-direct asks a server for its sources, and needs source.host, source.initiator"),
    ("netfs", {"host": "nfs1", "port": 2049}, "source.port", "netfs discovery takes no source.port; it takes source.host"),
    ("netfs", {"host": "nfs1", "initiator": "iqn.2024-01.test:x"}, "source.initiator", "takes no source.initiator"),
    ("iscsi", {"host": "10.0.0.1:3260"}, "source.host", "a port or a path goes in its own option"),
    ("iscsi", {"host": "1:2:3"}, "source.host", "a port or a path goes in its own option"),
    ("iscsi", {"host": "-o"}, "source.host", "not a host name or IP address"),
    ("iscsi", {"host": "nfs1/export"}, "source.host", "not a host name or IP address"),
    ("iscsi", {"host": "a\nb"}, "source.host", "U+000A"),
    ("iscsi", {"host": "10.0.0.1", "port": 0}, "source.port", "1 to 65535"),
    ("iscsi", {"host": "10.0.0.1", "port": 65536}, "source.port", "1 to 65535"),
    ("iscsi", {"host": "10.0.0.1", "initiator": "kvm1"}, "source.initiator", "not an iSCSI name"),
    ("iscsi", "10.0.0.1", "source", "must be a dict"),
])
def test_the_server_is_checked_before_anything_is_asked(pool_type, source, option, words, quiet_runner):
    caught = refusal(pool_type, quiet_runner, source=source)
    assert caught.option == option
    assert words in str(caught)
    assert "\n" not in str(caught)


KEY = "AQDXvA9rpY7iIhAAuM8XotFsQJ3HHhZkoRX6GA=="


@pytest.mark.parametrize("source, option, words", [
    (None, "source.hosts", "required: type rbd asks a server for its sources, and needs source.hosts"),
    ({"host": "mon1"}, "source.host", "rbd discovery takes no source.host; it takes source.hosts, source.auth"),
    ({"hosts": []}, "source.hosts", "with at least one"),
    ({"hosts": "mon1"}, "source.hosts", "a list of monitors"),
    ({"hosts": ["mon1"]}, "source.hosts", "each monitor is a dict"),
    ({"hosts": [{"port": 3300}]}, "source.hosts.name", "required"),
    ({"hosts": [{"name": "mon1:3300"}]}, "source.hosts.name", "a port or a path goes in its own option"),
    ({"hosts": [{"name": "mon1", "port": 0}]}, "source.hosts.port", "1 to 65535"),
    ({"hosts": [{"name": "mon1", "addr": "x"}]}, "source.hosts.addr", "only name and port"),
    ({"hosts": [{"name": "mon1"}], "auth": KEY}, "source.auth", "must be a dict"),
    ({"hosts": [{"name": "mon1"}], "auth": {"secret": KEY}}, "source.auth.username", "required"),
    ({"hosts": [{"name": "mon1"}], "auth": {"username": "", "secret": KEY}}, "source.auth.username", "empty"),
    ({"hosts": [{"name": "mon1"}], "auth": {"username": "u1", "secret": KEY + "\n"}}, "source.auth.secret", "control"),
    ({"hosts": [{"name": "mon1"}], "auth": {"username": "u1", "key": KEY}}, "source.auth.key", "only username and secret"),
])
def test_the_monitors_and_the_login_are_checked_before_anything_is_asked(source, option, words, quiet_runner):
    caught = refusal("rbd", quiet_runner, source=source)
    assert caught.option == option
    assert words in str(caught)
    assert "\n" not in str(caught) and KEY not in str(caught)


def test_a_login_for_a_kind_that_takes_none_is_not_shown(quiet_runner):
    caught = refusal("netfs", quiet_runner, source={"host": "nfs1", "auth": {"username": "u1", "secret": KEY}})
    assert caught.option == "source.auth" and KEY not in str(caught)


def test_the_query_of_rbd_has_the_monitors_and_the_login():
    cls = discovery_class("rbd")
    query = _discovery.server_query(cls, "rbd", {"hosts": [{"name": "[fd00::1]", "port": 3300}, {"name": "mon2", "port": None}],
                                                 "auth": {"username": "u1", "secret": KEY}, "host": None}, 4)
    assert query.host is None and query.timeout == 4
    assert [(host.name, host.port) for host in query.hosts] == [("fd00::1", 3300), ("mon2", None)]
    assert (query.auth.username, query.auth.secret, query.auth.type) == ("u1", KEY, "ceph")
    assert KEY not in repr(query)


@pytest.mark.parametrize("timeout", [0, -1, 601, 1.5, True, "5"])
def test_the_deadline_is_1_to_600_seconds(timeout, quiet_runner):
    caught = refusal("netfs", quiet_runner, source={"host": "nfs1"}, timeout=timeout)
    assert str(caught) == "timeout=%r: a number of seconds from 1 to 600" % (timeout,)


@pytest.mark.parametrize("host", ["nfs1.example.com", "10.0.0.1", "fd00::1", "[fd00::1]", "fe80::1%eth0"])
def test_good_hosts_are_asked(host, fake_runner):
    runner = fake_runner()
    runner.commands.add("showmount")
    runner.expect(["showmount", "--no-headers", "--exports", host.strip("[]")], stdout="/srv/a *\n")
    assert _discovery.discover("netfs", None, runner, source={"host": host})["sources"][0]["dir"] == "/srv/a"


# -- the XML ----------------------------------------------------------------------------------

@needs_lxml
def test_xml_keeps_libvirts_element_order():
    xml = _discovery.sources_to_xml([(["/dev/sdb", "/dev/sdc"], "vg0", "lvm2"), (["/dev/sdd"], None, None)])
    assert xml == ('<sources>\n  <source>\n    <device path="/dev/sdb"/>\n    <device path="/dev/sdc"/>\n'
                   '    <name>vg0</name>\n    <format type="lvm2"/>\n  </source>\n'
                   '  <source>\n    <device path="/dev/sdd"/>\n  </source>\n</sources>\n')


@needs_lxml
def test_xml_of_a_server_source_keeps_libvirts_element_order():
    xml = _discovery.sources_to_xml([
        {"hosts": [("nfs1", None)], "dir": "/srv/a", "format": "nfs"},
        {"format": "x", "initiator": "iqn.2024-01.test:i", "devices": ["iqn.2024-01.test:t"], "hosts": [("::1", 3260)]},
    ])
    assert xml == ('<sources>\n  <source>\n    <host name="nfs1"/>\n    <dir path="/srv/a"/>\n    <format type="nfs"/>\n'
                   '  </source>\n  <source>\n    <host name="::1" port="3260"/>\n    <device path="iqn.2024-01.test:t"/>\n'
                   '    <initiator>\n      <iqn name="iqn.2024-01.test:i"/>\n    </initiator>\n    <format type="x"/>\n'
                   '  </source>\n</sources>\n')


@needs_lxml
def test_xml_of_an_adapter_keeps_libvirts_attribute_order():
    xml = _discovery.sources_to_xml([{"adapter": {"wwpn": "2101001b32912a4c", "wwnn": "2001001b32912a4c", "type": "fc_host"}},
                                     {"adapter": {"name": "host0", "type": "scsi_host"}}])
    assert xml == ('<sources>\n  <source>\n    <adapter type="fc_host" wwnn="2001001b32912a4c" wwpn="2101001b32912a4c"/>\n'
                   '  </source>\n  <source>\n    <adapter type="scsi_host" name="host0"/>\n  </source>\n</sources>\n')


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
    ("sourcenetfs", [{"hosts": [("127.0.0.1", None)], "dir": "/srv/vm backups", "format": "nfs"},
                     {"hosts": [("nfs1.example.com", None)], "dir": "/", "format": "nfs"}]),
    ("sourceiscsi", [{"hosts": [("10.0.0.1", 3260)], "devices": ["iqn.2024-01.test:disk1"], "initiator": None},
                     {"hosts": [("fd00::1", 3261)], "devices": ["iqn.2024-01.test:disk2"], "initiator": "iqn.2024-01.test:kvm1"}]),
    ("sourceiscsidirect", [{"hosts": [("10.0.0.1", 3260)], "devices": ["iqn.2024-01.test:disk1"],
                            "initiator": "iqn.2024-01.test:kvm1"}]),
    ("sourcerbd", [{"hosts": [("127.0.0.1", 3300), ("fd00::1", None)], "name": "guests"}]),
    ("sourcescsi", [{"adapter": {"type": "scsi_host", "name": "host3"}},
                    {"adapter": {"type": "fc_host", "wwnn": "2000001b32912a4c", "wwpn": "2100001b32912a4c"}}]),
])
def test_xml_validates_against_libvirts_source_definitions(kind, parts):
    schema = _schema_of(kind)
    doc = etree.fromstring(_discovery.sources_to_xml(parts).encode("utf-8"))
    assert schema.validate(doc), schema.error_log


@needs_lxml
@pytest.mark.parametrize("kind, part", [
    ("sourcefs", (["/dev/loop4"], None, "swap")),
    # libvirt's iscsi-direct <source> needs the initiator
    ("sourceiscsidirect", {"hosts": [("10.0.0.1", 3260)], "devices": ["iqn.2024-01.test:disk1"], "initiator": None}),
    ("sourcenetfs", {"hosts": [("nfs1", None)], "dir": "/srv/a", "format": "lvm2"}),
    ("sourcescsi", {"adapter": {"type": "fc_host", "wwnn": "not-a-wwn", "wwpn": "2100001b32912a4c"}}),
    # libvirt's mpath <source> is empty: ours names the map, and is ours (the module's notes say so)
    ("sourcempath", {"devices": ["/dev/mapper/mpatha"], "name": "36001405a1b2c3d4e5f60718293a4b5c6"}),
])
def test_the_schema_check_can_fail(kind, part):
    schema = _schema_of(kind)
    doc = etree.fromstring(_discovery.sources_to_xml([part]).encode("utf-8"))
    assert not schema.validate(doc)
