# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iscsi and iscsi-direct discovery on what the two initiators printed against tgtd: libiscsi's
iscsi-ls on the development host (fixtures/iscsi_ls/), open-iscsi's iscsiadm in the test VM
(fixtures/iscsiadm/sources_vm_*); which of them asks; their failures and the deadline, one line
naming the portal; the <sources> XML against what libvirt's iscsi-direct backend printed
(fixtures/virsh/find_iscsi_direct_tgtd_one.json)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._iscsi import parse_iscsi_ls, parse_portal
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import CommandTimeout

from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript

etree = pytest.importorskip("lxml.etree")

KVM1 = "iqn.2026-12.test.poolcraft:kvm1"
ONE, TWO, ACL = ("iqn.2026-12.test.poolcraft:disc." + name for name in ("one", "two", "acl"))


def canonical(text):
    return etree.tostring(etree.fromstring(text.encode("utf-8")), method="c14n")


def runner_with(fake_runner, tools, transcript=None):
    runner = fake_runner()
    runner.commands.update(tools)
    return runner.load(transcript) if transcript else runner


def found(pool_type, runner, **source):
    return _discovery.discover(pool_type, None, runner, source=source)


def portal(host, port, tpgt=1):
    return {"host": host, "port": port, "tpgt": tpgt}


# -- iscsi-ls ------------------------------------------------------------------------------------

def test_the_targets_a_portal_offers_with_their_portals(fake_runner):
    runner = runner_with(fake_runner, ["iscsi-ls"], "iscsi_ls/sendtargets_tgtd_two_of_three")
    result = found("iscsi", runner, host="127.0.0.1", port=23261)
    assert result["sources"] == [
        {"host": "127.0.0.1", "port": 23261, "target": TWO, "portals": [portal("127.0.0.1", 23261)], "initiator": None},
        {"host": "127.0.0.1", "port": 23261, "target": ONE, "portals": [portal("127.0.0.1", 23261)], "initiator": None},
    ]
    assert runner.timeouts == [_discovery.DEFAULT_TIMEOUT]
    assert result["xml"] == (
        '<sources>\n  <source>\n    <host name="127.0.0.1" port="23261"/>\n    <device path="%s"/>\n  </source>\n'
        '  <source>\n    <host name="127.0.0.1" port="23261"/>\n    <device path="%s"/>\n  </source>\n</sources>\n'
        % (TWO, ONE))


def test_asked_as_an_initiator_the_target_offers_what_it_may_log_in_to(fake_runner):
    runner = runner_with(fake_runner, ["iscsi-ls"], "iscsi_ls/sendtargets_tgtd_three_as_kvm1")
    result = found("iscsi-direct", runner, host="127.0.0.1", port=23261, initiator=KVM1)
    assert [source["target"] for source in result["sources"]] == [ACL, TWO, ONE]
    assert set(source["initiator"] for source in result["sources"]) == {KVM1}
    assert result["xml"].count("<iqn name=\"%s\"/>" % KVM1) == 3


def test_the_xml_is_what_libvirts_iscsi_direct_backend_prints(fake_runner):
    runner = runner_with(fake_runner, ["iscsi-ls"], "iscsi_ls/sendtargets_tgtd_one")
    result = found("iscsi-direct", runner, host="127.0.0.1", port=23263, initiator=KVM1)
    libvirt = load_transcript("virsh/find_iscsi_direct_tgtd_one")["steps"][0]["stdout"]
    assert canonical(result["xml"]) == canonical(libvirt)


@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_an_ipv6_portal_goes_in_brackets_and_comes_back_without(fake_runner, host):
    runner = runner_with(fake_runner, ["iscsi-ls"], "iscsi_ls/sendtargets_tgtd_ipv6")
    result = found("iscsi", runner, host=host, port=23261)
    assert [source["portals"] for source in result["sources"]] == [[portal("::1", 23261)]] * 2
    assert set(source["host"] for source in result["sources"]) == {"::1"}
    assert '<host name="::1" port="23261"/>' in result["xml"]


def test_a_host_name_is_asked_as_it_is_and_the_portals_are_the_targets(fake_runner):
    runner = runner_with(fake_runner, ["iscsi-ls"], "iscsi_ls/sendtargets_tgtd_name")
    result = found("iscsi", runner, host="localhost", port=23261)
    assert [(source["host"], source["portals"]) for source in result["sources"]] == [
        ("localhost", [portal("127.0.0.1", 23261)])] * 2


def test_a_portal_with_nothing_for_this_initiator_has_no_sources(fake_runner):
    runner = runner_with(fake_runner, ["iscsi-ls"], "iscsi_ls/sendtargets_tgtd_none_for_this_initiator")
    result = found("iscsi", runner, host="127.0.0.1", port=23262)
    assert result["sources"] == []
    assert canonical(result["xml"]) == b"<sources></sources>"


@pytest.mark.parametrize("transcript, host, port, words", [
    ("iscsi_ls/refused", "127.0.0.1", 23299,
     "could not ask the iSCSI portal 127.0.0.1:23299 for its targets (iscsi-ls): discoveryconnect_cb: connection "
     "failed : iscsi_service: socket error Connection refused(111)."),
    ("iscsi_ls/unknown_host", "iscsi.invalid", 3260,
     "could not ask the iSCSI portal iscsi.invalid:3260 for its targets (iscsi-ls): connect_async: iscsi_connect "
     "failed. Invalid target:iscsi.invalid:3260  Can not resolv into IPv4/v6."),
    # tgtd ends the discovery session of a portal with no target at all
    ("iscsi_ls/sendtargets_tgtd_no_targets", "127.0.0.1", 23262,
     "could not ask the iSCSI portal 127.0.0.1:23262 for its targets (iscsi-ls): iscsi_service failed with : "
     "iscsi_service_reconnect_if_loggedin. Can not reconnect right now."),
])
def test_iscsi_ls_failing_is_one_line_naming_the_portal(fake_runner, transcript, host, port, words):
    with pytest.raises(StorageError) as caught:
        found("iscsi", runner_with(fake_runner, ["iscsi-ls"], transcript), host=host, port=port)
    assert str(caught.value) == words


def test_iscsi_ls_offers_no_chap_account_of_the_modules_environment(fake_runner):
    """libiscsi takes an account from LIBISCSI_CHAP_* when the URL names none: discovery sets them empty."""
    runner = runner_with(fake_runner, ["iscsi-ls"], "iscsi_ls/sendtargets_tgtd_two_of_three")
    envs = []
    replay = runner.run

    def run(argv, env=None, **kwargs):
        envs.append(env)
        return replay(argv, env=env, **kwargs)
    runner.run = run
    found("iscsi", runner, host="127.0.0.1", port=23261)
    assert envs == [{"LIBISCSI_CHAP_USERNAME": "", "LIBISCSI_CHAP_PASSWORD": "", "LIBISCSI_CHAP_TARGET_USERNAME": "",
                     "LIBISCSI_CHAP_TARGET_PASSWORD": ""}]


@pytest.mark.parametrize("tools", [["iscsi-ls"], ["iscsiadm"]])
def test_no_answer_by_the_deadline_is_one_line_naming_the_portal(fake_runner, tools):
    runner = runner_with(fake_runner, tools)

    def hang(argv, timeout=None, **_kwargs):
        runner.calls.append(argv)
        runner.timeouts.append(timeout)
        raise CommandTimeout(argv, timeout)
    runner.run = hang
    with pytest.raises(StorageError) as caught:
        _discovery.discover("iscsi", None, runner, source={"host": "192.0.2.7"}, timeout=4)
    assert str(caught.value) == ("iSCSI portal 192.0.2.7:3260 did not answer within 4 s (%s was stopped): it is down, "
                                 "or a firewall drops the port" % tools[0])
    assert runner.timeouts == [4]
    assert runner.calls[0][0] == tools[0]


# -- iscsiadm --------------------------------------------------------------------------------------

def test_iscsiadm_asks_where_iscsi_ls_is_missing_and_writes_no_record(fake_runner):
    runner = runner_with(fake_runner, ["iscsiadm"], "iscsiadm/sources_vm_tgtd_two")
    result = found("iscsi", runner, host="127.0.0.1")
    assert runner.calls[0][-2:] == ["-o", "nonpersistent"]
    assert result["sources"] == [
        {"host": "127.0.0.1", "port": 3260, "target": ONE, "portals": [portal("127.0.0.1", 3260)], "initiator": None},
        {"host": "127.0.0.1", "port": 3260, "target": TWO, "portals": [portal("127.0.0.1", 3260)], "initiator": None},
    ]


def test_iscsi_ls_is_preferred_when_both_are_there(fake_runner):
    runner = runner_with(fake_runner, ["iscsi-ls", "iscsiadm"], "iscsi_ls/sendtargets_tgtd_two_of_three")
    assert len(found("iscsi", runner, host="127.0.0.1", port=23261)["sources"]) == 2
    assert [call[0] for call in runner.calls] == ["iscsi-ls"]


@pytest.mark.parametrize("transcript, host", [
    ("iscsiadm/sources_vm_tgtd_two_ipv6", "::1"), ("iscsiadm/sources_vm_tgtd_two_by_name", "localhost")])
def test_iscsiadm_ipv6_portals(fake_runner, transcript, host):
    result = found("iscsi", runner_with(fake_runner, ["iscsiadm"], transcript), host=host)
    assert [source["portals"] for source in result["sources"]] == [[portal("::1", 3260)]] * 2
    assert [source["host"] for source in result["sources"]] == [host] * 2


def test_iscsiadm_failing_is_one_line_naming_the_portal_each_reason_once(fake_runner):
    runner = runner_with(fake_runner, ["iscsiadm"], "iscsiadm/sources_vm_closed_port")
    with pytest.raises(StorageError) as caught:
        found("iscsi", runner, host="127.0.0.1")
    assert str(caught.value) == (
        "could not ask the iSCSI portal 127.0.0.1:3260 for its targets (iscsiadm): cannot make connection to 127.0.0.1: "
        "Connection refused; connection login retries (reopen_max) 5 exceeded; Could not perform SendTargets discovery: "
        "iSCSI PDU timed out")


def test_a_tgtd_with_no_target_at_all_ends_iscsiadms_discovery_too(fake_runner):
    runner = runner_with(fake_runner, ["iscsiadm"], "iscsiadm/sources_vm_tgtd_no_target")
    with pytest.raises(StorageError) as caught:
        found("iscsi", runner, host="127.0.0.1")
    assert str(caught.value) == (
        "could not ask the iSCSI portal 127.0.0.1:3260 for its targets (iscsiadm): Connection to Discovery Address "
        "127.0.0.1 failed; Login I/O error, failed to send a PDU; retrying discovery login to 127.0.0.1; Login I/O error, "
        "failed to receive a PDU; connection login retries (reopen_max) 5 exceeded; Could not perform SendTargets "
        "discovery: iSCSI PDU timed out")


def test_iscsiadm_cannot_ask_as_another_initiator(fake_runner):
    with pytest.raises(ValidationError) as caught:
        found("iscsi", runner_with(fake_runner, ["iscsiadm"]), host="127.0.0.1", initiator=KVM1)
    assert caught.value.option == "source.initiator"
    assert "needs iscsi-ls (libiscsi-bin)" in str(caught.value)


def test_iscsi_direct_asks_only_with_libiscsi(fake_runner):
    with pytest.raises(StorageError) as caught:
        found("iscsi-direct", runner_with(fake_runner, ["iscsiadm"]), host="127.0.0.1", initiator=KVM1)
    assert str(caught.value) == "SendTargets discovery needs iscsi-ls (libiscsi-bin) on the managed host"


def test_no_initiator_tool_is_one_line_naming_both(fake_runner):
    with pytest.raises(StorageError) as caught:
        found("iscsi", fake_runner(), host="127.0.0.1")
    assert str(caught.value) == ("SendTargets discovery needs iscsi-ls (libiscsi-bin) or iscsiadm (open-iscsi) on the "
                                 "managed host")


def test_iscsiadm_finding_no_portals_is_no_sources(fake_runner):
    runner = runner_with(fake_runner, ["iscsiadm"], "iscsiadm/sources_vm_tgtd_none_for_this_initiator")
    result = found("iscsi", runner, host="127.0.0.1", port=3261)
    assert result["sources"] == []
    assert canonical(result["xml"]) == b"<sources></sources>"


def test_iscsiadm_unknown_host(fake_runner):
    runner = runner_with(fake_runner, ["iscsiadm"], "iscsiadm/sources_vm_unknown_host")
    with pytest.raises(StorageError) as caught:
        found("iscsi", runner, host="iscsi.invalid")
    assert str(caught.value) == (
        "could not ask the iSCSI portal iscsi.invalid:3260 for its targets (iscsiadm): Cannot resolve host iscsi.invalid. "
        "getaddrinfo error: [Temporary failure in name resolution]; cannot resolve host name iscsi.invalid; Could not "
        "perform SendTargets discovery: encountered connection failure")


# -- the parsers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:3260,1", portal("127.0.0.1", 3260)),
    ("[fd00::1]:3261,7", portal("fd00::1", 3261, 7)),
    ("iscsi.example.com", portal("iscsi.example.com", 3260, None)),
    ("10.0.0.1,2", portal("10.0.0.1", 3260, 2)),
    ("[fd00::1]", portal("fd00::1", 3260, None)),
    ("::ffff:10.0.0.1:3260,1", portal("::ffff:10.0.0.1", 3260)),
    ("10.0.0.1:3260,-1", portal("10.0.0.1", 3260, None)),
])
def test_a_target_address_as_rfc_7143_writes_it(text, expected):
    assert parse_portal(text) == expected


@pytest.mark.parametrize("text", ["", ":3260", "[fd00::1", "[fd00::1]x", "host:port", "10.0.0.1:3260,one", "[]:3260"])
def test_what_is_no_target_address_is_an_error_naming_it(text):
    with pytest.raises(StorageError) as caught:
        parse_portal(text)
    assert str(caught.value) == "not an iSCSI portal address: %r" % text


def test_a_target_on_several_portals_is_one_source():
    text = ("Target:iqn.2024-01.test:a Portal:10.0.0.1:3260,1\nTarget:iqn.2024-01.test:a Portal:[fd00::1]:3260,1\n"
            "Target:iqn.2024-01.test:b Portal:10.0.0.1:3260,1\nTarget:iqn.2024-01.test:a Portal:10.0.0.1:3260,1\n")
    assert parse_iscsi_ls(text) == [
        ("iqn.2024-01.test:a", [portal("10.0.0.1", 3260), portal("fd00::1", 3260)]),
        ("iqn.2024-01.test:b", [portal("10.0.0.1", 3260)]),
    ]


def test_iscsi_ls_printing_something_else_is_not_read_as_no_targets():
    with pytest.raises(StorageError) as caught:
        parse_iscsi_ls("Target:iqn.2024-01.test:a Portal:10.0.0.1:3260,1\nLun:0    Type:STORAGE_ARRAY_CONTROLLER\n")
    assert str(caught.value) == "iscsi-ls printed a line that is not a target: 'Lun:0    Type:STORAGE_ARRAY_CONTROLLER'"
