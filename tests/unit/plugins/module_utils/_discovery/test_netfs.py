# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netfs discovery on showmount's output recorded against nfs-ganesha (fixtures/showmount/), its
<sources> XML against what libvirt printed for the same exports
(fixtures/virsh/find_netfs_ganesha_four.json), and its deadline."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError

from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript

etree = pytest.importorskip("lxml.etree")


def canonical(text):
    return etree.tostring(etree.fromstring(text.encode("utf-8")), method="c14n")


def showmount_runner(fake_runner, transcript):
    runner = fake_runner()
    runner.commands.add("showmount")
    return runner.load(transcript)


def test_one_source_per_export_with_its_clients(fake_runner):
    runner = showmount_runner(fake_runner, "showmount/exports_ganesha_four")
    result = _discovery.discover("netfs", None, runner, source={"host": "127.0.0.1"})
    assert result["sources"] == [
        {"host": "127.0.0.1", "dir": "/srv/nfs/images", "format": "nfs",
         "clients": ["127.0.0.1/32", "192.0.2.0/24", "<unknown>", "*.example.test", "kvmhosts", "2001:db8::/64"]},
        {"host": "127.0.0.1", "dir": "/srv/nfs/iso", "format": "nfs", "clients": ["*"]},
        {"host": "127.0.0.1", "dir": "/srv/nfs/vm backups", "format": "nfs", "clients": ["127.0.0.1/32"]},
        {"host": "127.0.0.1", "dir": "/srv/nfs/archive", "format": "nfs", "clients": ["*"]},
    ]
    assert runner.timeouts == [_discovery.DEFAULT_TIMEOUT]


def test_the_xml_is_what_libvirt_prints(fake_runner):
    result = _discovery.discover("netfs", None, showmount_runner(fake_runner, "showmount/exports_ganesha_four"),
                                 source={"host": "127.0.0.1"})
    libvirt = load_transcript("virsh/find_netfs_ganesha_four")["steps"][0]["stdout"]
    assert canonical(result["xml"]) == canonical(libvirt)


def test_the_task_sets_the_deadline(fake_runner):
    runner = showmount_runner(fake_runner, "showmount/exports_ganesha_none")
    result = _discovery.discover("netfs", None, runner, source={"host": "127.0.0.1"}, timeout=42)
    assert result["sources"] == []
    assert canonical(result["xml"]) == b"<sources></sources>"
    assert runner.timeouts == [42]


def test_a_refusing_server_is_one_line_naming_it(fake_runner):
    with pytest.raises(StorageError) as caught:
        _discovery.discover("netfs", None, showmount_runner(fake_runner, "showmount/refused_no_mountd"),
                            source={"host": "127.0.0.2"})
    assert str(caught.value) == ("could not list the NFS exports of 127.0.0.2: rpc mount export: RPC: Unable to receive; "
                                 "errno = Connection refused")


def test_an_ipv6_server_is_asked_without_brackets(fake_runner):
    runner = fake_runner()
    runner.commands.add("showmount")
    runner.expect(["showmount", "--no-headers", "--exports", "fd00::5"], stdout="/srv/a 10.0.0.0/8\n")
    result = _discovery.discover("netfs", None, runner, source={"host": "[fd00::5]"})
    assert result["sources"] == [{"host": "fd00::5", "dir": "/srv/a", "format": "nfs", "clients": ["10.0.0.0/8"]}]
    assert '<host name="fd00::5"/>' in result["xml"]
