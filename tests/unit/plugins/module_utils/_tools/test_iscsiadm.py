# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_iscsiadm against iscsiadm's answers recorded in the test VM (fixtures/iscsiadm/*.json, made by
fixtures/iscsiadm/record_iscsiadm.py): the sendtargets parser, the argv of each call, its deadline,
which exit codes are no failure, and the one-line refusals."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _iscsiadm
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._iscsiadm import Iscsiadm, Offer

from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript

IQN = "iqn.2024-01.test.poolcraft:rec"
PORTAL = "127.0.0.1:3260"


@pytest.fixture
def adm(fake_runner):
    def make(*transcripts, **kwargs):
        runner = fake_runner(*("iscsiadm/" + name for name in transcripts), **kwargs)
        runner.commands.add("iscsiadm")
        return runner, Iscsiadm(runner)
    return make


def test_sendtargets_parsed_as_recorded():
    out = load_transcript("iscsiadm/discovery_vm_two_targets")["steps"][0]["stdout"]
    assert _iscsiadm.parse_sendtargets(out) == [Offer("127.0.0.1", 3260, 1, IQN), Offer("127.0.0.1", 3260, 1, IQN + "2")]


def test_sendtargets_ipv6_and_other_lines():
    out = "[fd00::1]:3261,2 iqn.2004-04.com.example:a\niscsiadm: some warning\n\n10.0.0.1:3260,-1 iqn.2004-04.com.example:b\n"
    offers = _iscsiadm.parse_sendtargets(out)
    assert offers == [Offer("fd00::1", 3261, 2, "iqn.2004-04.com.example:a"), Offer("10.0.0.1", 3260, -1, "iqn.2004-04.com.example:b")]
    assert offers[0].portal == "[fd00::1]:3261,2"


@pytest.mark.parametrize("host, port, expected", [
    ("127.0.0.1", 3260, "127.0.0.1:3260"), ("san.example.com", 860, "san.example.com:860"),
    ("fd00::1", 3260, "[fd00::1]:3260"), ("[fd00::1]", 3260, "[fd00::1]:3260")])
def test_portal_as_iscsiadm_takes_it(host, port, expected):
    assert _iscsiadm.portal(host, port) == expected


def test_discover_writes_no_record_and_has_a_deadline(adm):
    runner, iscsiadm = adm("discovery_vm_two_targets")
    offers = iscsiadm.discover(PORTAL)
    assert [offer.target for offer in offers] == [IQN, IQN + "2"]
    assert runner.calls[0][-2:] == ["-o", "nonpersistent"]
    assert runner.timeouts == [_iscsiadm.DISCOVERY_TIMEOUT]


def test_discover_closed_port_is_one_line(adm):
    _runner, iscsiadm = adm("discovery_vm_closed_port")
    with pytest.raises(StorageError) as failed:
        iscsiadm.discover("127.0.0.1:3262")
    msg = str(failed.value)
    assert "\n" not in msg and "127.0.0.1:3262: cannot connect" in msg
    # the six retried connections are said once
    assert msg.count("Connection refused") == 1, msg


def test_node_life_cycle_as_recorded(adm):
    runner, iscsiadm = adm("node_vm_life_cycle")
    iscsiadm.new_node(IQN, PORTAL + ",1")
    iscsiadm.update(IQN, PORTAL, {"node.startup": "manual", "node.conn[0].startup": "manual"})
    with pytest.raises(StorageError) as refused:
        iscsiadm.login(IQN, PORTAL)
    assert "CHAP" in str(refused.value) and IQN in str(refused.value) and "\n" not in str(refused.value)
    iscsiadm.login(IQN, PORTAL)
    iscsiadm.login(IQN, PORTAL)  # logged in already (rc 15): no failure
    iscsiadm.rescan(3)
    with pytest.raises(StorageError):
        iscsiadm.delete_node(IQN, PORTAL)  # in use by the session (rc 15)
    iscsiadm.logout(IQN, PORTAL)
    iscsiadm.logout(IQN, PORTAL)  # no session (rc 21): no failure
    iscsiadm.delete_node(IQN, PORTAL)
    iscsiadm.delete_node(IQN, PORTAL)  # no record (rc 21): no failure
    assert all(timeout for timeout in runner.timeouts), runner.timeouts
    assert runner.timeouts[2] == _iscsiadm.LOGIN_TIMEOUT


def test_unknown_target_login_says_so(adm):
    _runner, iscsiadm = adm("login_vm_unknown_target")
    iscsiadm.new_node(IQN + "-nosuch", PORTAL + ",1")
    with pytest.raises(StorageError) as refused:
        iscsiadm.login(IQN + "-nosuch", PORTAL)
    assert "unknown target" in str(refused.value)
    iscsiadm.delete_node(IQN + "-nosuch", PORTAL)


def test_iface_as_recorded(adm):
    runner, iscsiadm = adm("iface_vm", **{})
    runner.steps.pop()  # deleting it twice: never done (callers delete an iface that is there)
    iscsiadm.new_iface("poolcraft-0123456789abcdef")
    iscsiadm.set_initiator("poolcraft-0123456789abcdef", "iqn.2024-01.test.poolcraft:rec-initiator")
    iscsiadm.delete_iface("poolcraft-0123456789abcdef")


def test_update_never_takes_a_secret(adm):
    runner, iscsiadm = adm()
    for name in ("node.session.auth.password", "node.session.auth.password_in", "discovery.sendtargets.auth.password"):
        with pytest.raises(ValueError):
            iscsiadm.update(IQN, PORTAL, {name: "s3cret"})
    iscsiadm.update(IQN, PORTAL, {})  # nothing to set: nothing run
    assert runner.calls == []
