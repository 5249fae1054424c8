# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources rbd: the Ceph pools whose application is rbd, with their sizes, from what the real
ceph command printed for a one-node cluster with two rbd pools and one of rgw
(fixtures/rbd/discovery.json), with the deadline of the query and the key in no argv or source."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from collections import namedtuple

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import sources_to_xml
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._rbd import RbdDiscovery
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Auth, Host

KEY = "AQDXvA9rpY7iIhAAuM8XotFsQJ3HHhZkoRX6GA=="
Query = namedtuple("Query", "host port initiator timeout hosts auth")


def query(timeout=10, **changes):
    fields = dict(host=None, port=None, initiator=None, timeout=timeout,
                  hosts=(Host("127.0.0.1", 3300), Host("mon2.example.test")), auth=Auth("u1", KEY, type="ceph"))
    fields.update(changes)
    return Query(**fields)


def test_the_rbd_pools_with_their_sizes(fake_runner):
    runner = fake_runner("rbd/discovery")
    runner.commands.add("ceph")
    found = RbdDiscovery(runner).find(query(7))
    hosts = [{"name": "127.0.0.1", "port": 3300}, {"name": "mon2.example.test", "port": None}]
    assert found == [
        {"name": "guests", "hosts": hosts, "format": None, "replicas": 1, "stored": 4194374, "used": 4206592,
         "max_available": 9891643392},
        {"name": "images", "hosts": hosts, "format": None, "replicas": 1, "stored": 19, "used": 4096,
         "max_available": 9891643392},
    ]
    # the query's deadline: the tool's own wait for a monitor, and the runner's beyond it
    assert runner.timeouts == [12, 12]
    assert KEY not in json.dumps(found) and all(KEY not in " ".join(call) for call in runner.calls)
    xml = sources_to_xml([RbdDiscovery.xml_parts(source) for source in found])
    assert xml.splitlines()[:6] == ["<sources>", "  <source>", '    <host name="127.0.0.1" port="3300"/>',
                                    '    <host name="mon2.example.test"/>', "    <name>guests</name>", "  </source>"]


def test_one_monitor_as_host_and_port(fake_runner):
    runner = fake_runner("rbd/discovery")
    runner.commands.add("ceph")
    found = RbdDiscovery(runner).find(query(hosts=(), host="127.0.0.1", port=3300))
    assert found[0]["hosts"] == [{"name": "127.0.0.1", "port": 3300}]


def test_a_cluster_that_refuses_the_key_is_one_line(fake_runner):
    runner = fake_runner()
    runner.commands.add("ceph")
    runner.expect(["ceph", "--id", "u1", "osd", "pool", "ls", "detail", "--format", "json"], rc=1,
                  stderr="2026-12-02T06:43:27.199+0000 7f3cb159a6c0 -1 monclient(hunting): handle_auth_bad_method server "
                         "allowed_methods [2] but i only support [2,1]\n[errno 110] RADOS timed out (error connecting to "
                         "the cluster)\n")
    with pytest.raises(StorageError) as caught:
        RbdDiscovery(runner).find(query())
    assert str(caught.value) == ("Ceph cluster at 127.0.0.1:3300,mon2.example.test: the Ceph cluster at "
                                 "127.0.0.1:3300,mon2.example.test refused the key of client.u1 (a wrong key, or no such user)")
