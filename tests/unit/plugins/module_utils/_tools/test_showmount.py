# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_showmount: the exports of an NFS server from showmount's output (recorded against nfs-ganesha
on 127.0.0.1: fixtures/showmount/*.json, see fixtures/README.md), its failures and its deadline,
each one line naming the server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import CommandTimeout
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _showmount
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._showmount import Showmount, parse_exports

FOUR = [
    {"dir": "/srv/nfs/images", "clients": ["127.0.0.1/32", "192.0.2.0/24", "<unknown>", "*.example.test", "kvmhosts",
                                           "2001:db8::/64"]},
    {"dir": "/srv/nfs/iso", "clients": ["*"]},
    {"dir": "/srv/nfs/vm backups", "clients": ["127.0.0.1/32"]},
    {"dir": "/srv/nfs/archive", "clients": ["*"]},
]


def showmount_runner(fake_runner, transcript):
    runner = fake_runner()
    runner.commands.add("showmount")
    return runner.load(transcript)


def test_the_argv_is_libvirts():
    assert _showmount.argv("nfs1") == ["showmount", "--no-headers", "--exports", "nfs1"]


def test_exports_with_their_clients(fake_runner):
    runner = showmount_runner(fake_runner, "showmount/exports_ganesha_four")
    assert Showmount(runner).exports("127.0.0.1", 7) == FOUR
    # a network call: it has its deadline
    assert runner.timeouts == [7]


def test_a_space_in_a_path_is_kept_and_everyone_is_a_star():
    text = "/a b  (everyone)\n/c   10.0.0.0/8,*.example.com\n"
    assert parse_exports(text) == [{"dir": "/a b", "clients": ["*"]},
                                   {"dir": "/c", "clients": ["10.0.0.0/8", "*.example.com"]}]


def test_no_exports_is_none(fake_runner):
    assert Showmount(showmount_runner(fake_runner, "showmount/exports_ganesha_none")).exports("127.0.0.1", 5) == []


def test_a_line_that_is_no_export_is_not_read_as_none():
    with pytest.raises(StorageError) as caught:
        parse_exports("Export list for 127.0.0.1:\n/srv/a *\n")
    assert str(caught.value) == "showmount printed a line that is not an export: 'Export list for 127.0.0.1:'"


@pytest.mark.parametrize("transcript, host, words", [
    ("showmount/refused_no_mountd", "127.0.0.2", "rpc mount export: RPC: Unable to receive; errno = Connection refused"),
    ("showmount/unknown_host", "nfs.invalid", "clnt_create: RPC: Unknown host"),
    ("showmount/no_rpcbind", "127.0.0.1", "clnt_create: RPC: Unable to receive"),
])
def test_a_failure_is_one_line_naming_the_server(fake_runner, transcript, host, words):
    with pytest.raises(StorageError) as caught:
        Showmount(showmount_runner(fake_runner, transcript)).exports(host, 5)
    assert str(caught.value) == "could not list the NFS exports of %s: %s" % (host, words)


def test_no_answer_by_the_deadline_is_one_line_naming_the_server(fake_runner):
    runner = fake_runner()
    runner.commands.add("showmount")

    def hang(argv, timeout=None, **_kwargs):
        runner.timeouts.append(timeout)
        raise CommandTimeout(argv, timeout)
    runner.run = hang
    with pytest.raises(StorageError) as caught:
        Showmount(runner).exports("nfs1.example.com", 3)
    assert str(caught.value) == ("NFS server nfs1.example.com did not answer within 3 s (showmount was stopped): it is "
                                 "down, or a firewall drops rpcbind (port 111) or mountd")
    assert runner.timeouts == [3]


def test_showmount_missing_is_one_clear_error(fake_runner):
    with pytest.raises(StorageError) as caught:
        Showmount(fake_runner()).exports("nfs1", 5)
    assert str(caught.value) == "required command 'showmount' was not found on the managed host"
