# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_libiscsi: the parsers on what iscsi-ls, iscsi-inq and iscsi-readcapacity16 printed against tgtd
(fixtures/libiscsi/, recorded by fixtures/record_libiscsi.py, whose docstring describes the target),
the argv and environment of every call, and each failure in one line naming portal and target.
The same tools against a live tgtd: tests/scenarios/host/test_storage_pool_iscsi_direct.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Auth
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import CommandTimeout
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _libiscsi

from ansible_collections.poolcraft.storage.tests.unit.conftest import FakeRunner, load_transcript

PORT = 3260
INITIATOR = "iqn.2026-12.test.poolcraft:recorder"
PLAIN, CHAP, MUTUAL = ("iqn.2026-12.test.poolcraft:plain", "iqn.2026-12.test.poolcraft:chap",
                       "iqn.2026-12.test.poolcraft:mutual")
AUTH = Auth(username="pool-user", secret="recorded-secret-1")
MUTUAL_AUTH = Auth(username="pool-user", secret="recorded-secret-1", mutual_username="target-user",
                   mutual_secret="recorded-secret-2")
TOOLS = ("iscsi-ls", "iscsi-inq", "iscsi-readcapacity16")


class EnvRunner(FakeRunner):
    """FakeRunner that keeps the environment each command was given."""

    def __init__(self, tmpdir):
        super(EnvRunner, self).__init__(tmpdir, commands=TOOLS)
        self.envs = []

    def run(self, argv, data=None, env=None, check=True, timeout=None):
        self.envs.append(dict(env or {}))
        return super(EnvRunner, self).run(argv, data=data, env=env, check=check, timeout=timeout)


@pytest.fixture
def runner(tmp_path):
    made = []

    def make(*names, **values):
        made.append(EnvRunner(tmp_path))
        for name in names:
            made[-1].load("libiscsi/" + name, PORT=values.get("port", PORT), CLOSED=values.get("port", PORT))
        return made[-1]
    yield make
    for each in made:
        each.assert_done()


def session(runner, target=PLAIN, auth=None, port=PORT):
    return _libiscsi.Session(runner, "127.0.0.1", port, target, INITIATOR, auth)


def stdout_of(name):
    return load_transcript("libiscsi/" + name, PORT=PORT)["steps"][0]["stdout"]


# -- addresses --------------------------------------------------------------------------------

@pytest.mark.parametrize("host, port, expected", [
    ("127.0.0.1", None, "127.0.0.1:3260"),
    ("san.example", 3261, "san.example:3261"),
    ("fd00::5", 3260, "[fd00::5]:3260"),
    ("[fd00::5]", 860, "[fd00::5]:860"),
])
def test_portal(host, port, expected):
    assert _libiscsi.portal(host, port) == expected


def test_url_and_back():
    text = _libiscsi.url("fd00::5", 3261, PLAIN, 2)
    assert text == "iscsi://[fd00::5]:3261/%s/2" % PLAIN
    assert _libiscsi.parse_url(text) == ("fd00::5", 3261, PLAIN, 2)
    assert _libiscsi.parse_url("iscsi://127.0.0.1:3260/%s/0" % PLAIN) == ("127.0.0.1", 3260, PLAIN, 0)


@pytest.mark.parametrize("text", [
    "/dev/sdb", "iscsi://127.0.0.1/%s/1" % PLAIN, "iscsi://user%%pw@127.0.0.1:3260/%s/1" % PLAIN,
    "iscsi://127.0.0.1:3260/%s" % PLAIN, "iscsi://127.0.0.1:3260/%s/x" % PLAIN, "", None])
def test_parse_url_refuses_anything_else(text):
    assert _libiscsi.parse_url(text) is None


# -- parsers ----------------------------------------------------------------------------------

def test_parse_ls_three_targets():
    listing = _libiscsi.parse_ls(stdout_of("ls_with_chap"))
    assert listing.targets() == [MUTUAL, CHAP, PLAIN]
    assert listing.luns_of(PLAIN) == [_libiscsi.Lun(0, "STORAGE_ARRAY_CONTROLLER"), _libiscsi.Lun(1, "DIRECT_ACCESS"),
                                      _libiscsi.Lun(2, "DIRECT_ACCESS")]
    assert listing.luns_of(CHAP) == [_libiscsi.Lun(0, "STORAGE_ARRAY_CONTROLLER"), _libiscsi.Lun(1, "DIRECT_ACCESS")]
    assert listing.luns_of("iqn.2026-12.test.poolcraft:nowhere") is None
    assert listing.stopped_at() is None


def test_parse_ls_stopped_at_a_target():
    listing = _libiscsi.parse_ls(stdout_of("ls_plain_first"), complete=False)
    assert listing.stopped_at() == (MUTUAL, "iscsi_connect failed. Failed to log in to target. Status: Authentication failure(513)")
    assert listing.luns_of(PLAIN) is None
    with pytest.raises(StorageError, match="Authentication failure"):
        listing.luns_of(MUTUAL)


def test_parse_ls_last_block_of_a_failed_run_is_not_trusted():
    # iscsi-ls exits in the middle of a target's LUNs when one of them fails: those listed are not all
    text = "Target:%s Portal:127.0.0.1:3260,1\nLun:0    Type:STORAGE_ARRAY_CONTROLLER\n" % PLAIN
    assert _libiscsi.parse_ls(text, complete=False).luns_of(PLAIN) is None
    assert _libiscsi.parse_ls(text, complete=True).luns_of(PLAIN) == [_libiscsi.Lun(0, "STORAGE_ARRAY_CONTROLLER")]


def test_parse_ls_refuses_unknown_lines():
    with pytest.raises(StorageError, match="not known to print"):
        _libiscsi.parse_ls("Target:%s Portal:127.0.0.1:3260,1\nsomething else\n" % PLAIN)


def test_parse_identification_keeps_text_designators_only():
    found = _libiscsi.parse_identification(stdout_of("vpd83_plain_lun1"))
    assert found.device_type == "DIRECT_ACCESS"
    # the two NAA designators are binary: iscsi-inq printed them cut at their first zero byte
    assert found.designators == [_libiscsi.Designator(1, 0, 3, None), _libiscsi.Designator(1, 0, 3, None),
                                 _libiscsi.Designator(2, 0, 1, "IET     00010001")]
    assert _libiscsi.key_of(found) == "1IET_00010001"


def test_key_of_a_set_scsi_id():
    assert _libiscsi.key_of(_libiscsi.parse_identification(stdout_of("vpd83_plain_lun2"))) == "1poolcraft_disk_two"


def test_parse_identification_of_the_controller():
    found = _libiscsi.parse_identification(stdout_of("vpd83_plain_lun0"))
    assert found.device_type == "STORAGE_ARRAY_CONTROLLER"


def test_key_of_prefers_a_scsi_name_string_and_needs_a_text_one():
    # a logic test, not a recording: no target at hand offers a SCSI name string
    designators = [_libiscsi.Designator(2, 0, 1, "VENDOR  id"), _libiscsi.Designator(3, 0, 8, "naa.6001405abcdef")]
    assert _libiscsi.key_of(_libiscsi.Identification("DIRECT_ACCESS", designators)) == "8naa.6001405abcdef"
    binary_only = [_libiscsi.Designator(1, 0, 3, None)]
    assert _libiscsi.key_of(_libiscsi.Identification("DIRECT_ACCESS", binary_only)) is None
    of_a_port = [_libiscsi.Designator(2, 1, 1, "PORT    id")]
    assert _libiscsi.key_of(_libiscsi.Identification("DIRECT_ACCESS", of_a_port)) is None


@pytest.mark.parametrize("name, blocks, size", [
    ("rc16_plain_lun1", 131072, 512), ("rc16_plain_lun2", 65536, 512), ("rc16_chap_lun1", 32768, 512)])
def test_parse_capacity_counts_the_last_block(name, blocks, size):
    capacity = _libiscsi.parse_capacity(stdout_of(name))
    assert capacity == _libiscsi.Capacity(blocks, size)
    # the tool's own total agrees (libvirt 9 multiplies the last LBA instead: one block short)
    total = [line for line in stdout_of(name).splitlines() if line.startswith("Total size:")][0]
    assert capacity.blocks * capacity.block_size == int(total.split(":")[1])


def test_parse_capacity_refuses_other_output():
    with pytest.raises(StorageError, match="no capacity"):
        _libiscsi.parse_capacity("nothing\n")


# -- the facade: argv, environment, deadlines ----------------------------------------------------

def test_check_login_without_chap_clears_the_chap_variables(runner):
    run = runner("inq_login_plain")
    session(run).check_login()
    assert run.calls == [["iscsi-inq", "-i", INITIATOR, "iscsi://127.0.0.1:3260/%s/0" % PLAIN]]
    assert run.envs == [{"LIBISCSI_CHAP_USERNAME": "", "LIBISCSI_CHAP_PASSWORD": "",
                         "LIBISCSI_CHAP_TARGET_USERNAME": "", "LIBISCSI_CHAP_TARGET_PASSWORD": ""}]
    assert run.timeouts == [_libiscsi.TIMEOUT]


def test_mutual_chap_goes_in_the_environment_only(runner):
    run = runner("inq_login_mutual")
    session(run, MUTUAL, MUTUAL_AUTH).check_login()
    assert run.envs == [{"LIBISCSI_CHAP_USERNAME": "pool-user", "LIBISCSI_CHAP_PASSWORD": "recorded-secret-1",
                         "LIBISCSI_CHAP_TARGET_USERNAME": "target-user", "LIBISCSI_CHAP_TARGET_PASSWORD": "recorded-secret-2"}]
    assert not any("recorded-secret" in arg for argv in run.calls for arg in argv)


def test_luns_asks_with_one_way_chap(runner):
    # iscsi-ls's discovery session fails with mutual CHAP where discovery is not authenticated
    run = runner("ls_with_chap")
    assert session(run, MUTUAL, MUTUAL_AUTH).luns() == [_libiscsi.Lun(0, "STORAGE_ARRAY_CONTROLLER"),
                                                        _libiscsi.Lun(1, "DIRECT_ACCESS")]
    assert run.calls == [["iscsi-ls", "-s", "-i", INITIATOR, "iscsi://127.0.0.1:3260"]]
    assert run.envs[0]["LIBISCSI_CHAP_USERNAME"] == "pool-user"
    assert run.envs[0]["LIBISCSI_CHAP_TARGET_USERNAME"] == "" and run.envs[0]["LIBISCSI_CHAP_TARGET_PASSWORD"] == ""


def test_luns_of_a_target_behind_one_that_refuses_are_probed(runner, monkeypatch):
    # iscsi-ls stopped at mutual, offered first: the LUN numbers of plain are asked one by one
    monkeypatch.setattr(_libiscsi, "PROBE_LUNS", 4)
    monkeypatch.setattr(_libiscsi, "WORKERS", 1)
    run = runner("ls_plain_first", "inq_login_plain", "vpd83_plain_lun0", "vpd83_plain_lun1", "vpd83_plain_lun2",
                 "vpd83_plain_lun3")
    reach = session(run)
    assert reach.luns() == [_libiscsi.Lun(0, "STORAGE_ARRAY_CONTROLLER"), _libiscsi.Lun(1, "DIRECT_ACCESS"),
                            _libiscsi.Lun(2, "DIRECT_ACCESS")]
    # what the probe read is not asked again
    assert _libiscsi.key_of(reach.identification(2)) == "1poolcraft_disk_two"
    assert len(run.calls) == 6


def test_probing_a_target_that_refuses_says_so_once(runner, monkeypatch):
    monkeypatch.setattr(_libiscsi, "PROBE_LUNS", 4)
    with pytest.raises(StorageError, match="CHAP authentication failed"):
        session(runner("ls_plain_first", "inq_login_wrong_secret"), CHAP, Auth(username="pool-user", secret="x")).luns()


def test_luns_of_a_target_that_refuses(runner):
    with pytest.raises(StorageError) as raised:
        session(runner("ls_plain_first"), MUTUAL).luns()
    assert str(raised.value) == ("the target refused the login of initiator %s to %s at 127.0.0.1:3260: CHAP "
                                 "authentication failed (check source.auth)" % (INITIATOR, MUTUAL))


def test_luns_of_a_target_the_portal_does_not_offer(runner):
    with pytest.raises(StorageError) as raised:
        session(runner("ls_with_chap"), "iqn.2026-12.test.poolcraft:nowhere", AUTH).luns()
    assert str(raised.value) == ("target iqn.2026-12.test.poolcraft:nowhere is not among the targets portal 127.0.0.1:3260 "
                                 "offers to initiator %s (%s, %s, %s)" % (INITIATOR, MUTUAL, CHAP, PLAIN))


def test_luns_on_a_closed_port(runner):
    with pytest.raises(StorageError) as raised:
        session(runner("ls_closed_port")).luns()
    assert str(raised.value) == "cannot connect to 127.0.0.1:3260: connection refused"


@pytest.mark.parametrize("name, target, auth, message", [
    ("inq_login_wrong_secret", CHAP, Auth(username="pool-user", secret="not-the-secret"),
     "the target refused the login of initiator %s to %s at 127.0.0.1:3260: CHAP authentication failed "
     "(check source.auth)" % (INITIATOR, CHAP)),
    ("inq_login_no_chap", CHAP, None,
     "the target refused the login of initiator %s to %s at 127.0.0.1:3260: CHAP authentication failed "
     "(check source.auth)" % (INITIATOR, CHAP)),
    ("inq_login_mutual_wrong", MUTUAL, MUTUAL_AUTH,
     "target %s at 127.0.0.1:3260 failed mutual CHAP: it did not prove itself with source.auth.mutual_secret" % MUTUAL),
    ("inq_login_unknown_target", "iqn.2026-12.test.poolcraft:nowhere", None,
     "target iqn.2026-12.test.poolcraft:nowhere is not at 127.0.0.1:3260, or does not let initiator %s in" % INITIATOR),
    ("inq_login_closed_port", PLAIN, None,
     "cannot connect to 127.0.0.1:3260: the connection was refused or closed before a login (no iSCSI target serves that port)"),
])
def test_check_login_failures_in_one_line(runner, name, target, auth, message):
    with pytest.raises(StorageError) as raised:
        session(runner(name), target, auth).check_login()
    assert str(raised.value) == message
    assert "\n" not in str(raised.value) and "secret-1" not in str(raised.value)


def test_identification_and_capacity(runner):
    run = runner("vpd83_plain_lun2", "rc16_plain_lun2")
    reach = session(run)
    assert _libiscsi.key_of(reach.identification(2)) == "1poolcraft_disk_two"
    assert reach.capacity(2) == _libiscsi.Capacity(65536, 512)
    assert run.calls == [["iscsi-inq", "-i", INITIATOR, "-e", "1", "-c", "131", "iscsi://127.0.0.1:3260/%s/2" % PLAIN],
                         ["iscsi-readcapacity16", "-i", INITIATOR, "iscsi://127.0.0.1:3260/%s/2" % PLAIN]]
    assert run.timeouts == [_libiscsi.TIMEOUT] * 2


def test_identification_of_no_such_lun(runner):
    with pytest.raises(_libiscsi.NoSuchLun) as raised:
        session(runner("vpd83_no_such_lun")).identification(7)
    assert str(raised.value) == "target %s at 127.0.0.1:3260 has no LUN 7" % PLAIN


def test_unknown_failures_keep_the_tools_words(tmp_path):
    run = EnvRunner(tmp_path).expect(["iscsi-readcapacity16", "-i", INITIATOR, "iscsi://127.0.0.1:3260/%s/0" % PLAIN],
                                     rc=10, stderr="failed to send readcapacity command\n")
    with pytest.raises(CommandError, match="failed to send readcapacity command"):
        session(run).capacity(0)


def test_a_portal_that_does_not_answer(tmp_path):
    class Silent(EnvRunner):
        def run(self, argv, data=None, env=None, check=True, timeout=None):
            raise CommandTimeout(argv, timeout)
    with pytest.raises(StorageError) as raised:
        session(Silent(tmp_path)).check_login()
    assert str(raised.value) == "no answer from iSCSI portal 127.0.0.1:3260 (target %s) within %d s" % (PLAIN, _libiscsi.TIMEOUT)


def test_each_keeps_the_order_and_raises_the_first_failure():
    assert _libiscsi.Session.each(lambda item: item * 2, range(20)) == [item * 2 for item in range(20)]

    def fail_on_three(item):
        if item == 3:
            raise StorageError("three")
        return item
    with pytest.raises(StorageError, match="three"):
        _libiscsi.Session.each(fail_on_three, range(10))
