# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_iscsi_nodes: open-iscsi's node record files as iscsiadm wrote one in the test VM
(fixtures/iscsiadm/node_vm_life_cycle.json, files.record), read, changed and written 0600
under open-iscsi's own lock, in a database of the test's own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import threading
import time

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _iscsi_nodes

from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript

IQN = "iqn.2024-01.test.poolcraft:rec"


def recorded_record():
    return load_transcript("iscsiadm/node_vm_life_cycle")["files"]["record"]


@pytest.fixture
def database(tmp_path, monkeypatch):
    """An open-iscsi database with the recorded record at nodes/IQN/127.0.0.1,3260,1/default, 0600."""
    root = tmp_path / "iscsi"
    portal_dir = root / "nodes" / IQN / "127.0.0.1,3260,1"
    portal_dir.mkdir(parents=True)
    record = portal_dir / "default"
    record.write_text(recorded_record())
    record.chmod(0o600)
    monkeypatch.setattr(_iscsi_nodes, "DB_ROOTS", (str(root), str(tmp_path / "other")))
    monkeypatch.setattr(_iscsi_nodes, "LOCK_DIR", str(tmp_path / "lock"))
    return root, str(record)


def test_recorded_record_parsed():
    values = _iscsi_nodes.parse_record(recorded_record())
    assert values["node.name"] == IQN
    assert values["node.tpgt"] == "1"
    assert values["node.startup"] == "manual"
    assert values["node.conn[0].address"] == "127.0.0.1"
    assert values["node.session.auth.authmethod"] == "None"
    assert "node.session.auth.password" not in values


def test_record_found_by_portal_and_iface(database):
    root, record = database
    assert _iscsi_nodes.db_root() == str(root)
    assert _iscsi_nodes.record_paths(IQN, "127.0.0.1", 3260) == [record]
    assert _iscsi_nodes.record_paths(IQN, "127.0.0.1", 3260, iface="poolcraft-x") == []
    assert _iscsi_nodes.record_paths(IQN, "127.0.0.1", 860) == []
    assert _iscsi_nodes.record_paths(IQN + "2", "127.0.0.1", 3260) == []
    # an old-style record: a file named ADDRESS,PORT
    old = root / "nodes" / IQN / "10.0.0.1,3260"
    old.write_text("# BEGIN RECORD 2.0-873\nnode.name = %s\n# END RECORD\n" % IQN)
    assert _iscsi_nodes.record_paths(IQN, "10.0.0.1", 3260) == [str(old)]


def test_values_set_in_place_others_kept():
    text = recorded_record()
    new = _iscsi_nodes.with_values(text, {"node.session.auth.authmethod": "CHAP", "node.session.auth.username": "u",
                                          "node.session.auth.password": "p a s s", "node.startup": None})
    values = _iscsi_nodes.parse_record(new)
    assert values["node.session.auth.authmethod"] == "CHAP"
    assert values["node.session.auth.password"] == "p a s s"
    assert "node.startup" not in values
    assert new.splitlines()[0] == text.splitlines()[0] and new.rstrip("\n").endswith(_iscsi_nodes.END)
    # every other line as it was, in its order
    kept = [line for line in text.splitlines() if not line.startswith(("node.session.auth.authmethod", "node.startup"))]
    assert [line for line in new.splitlines() if line in kept] == kept
    # setting them again changes nothing
    assert _iscsi_nodes.with_values(new, {"node.session.auth.password": "p a s s"}) == new


def test_values_into_a_record_without_its_markers():
    assert _iscsi_nodes.with_values("node.name = x\n", {"a": "1"}) == "# BEGIN RECORD\nnode.name = x\na = 1\n# END RECORD\n"


@pytest.mark.parametrize("value", [" lead", "trail ", "two\nlines", "nul\0", ""])
def test_values_iscsiadm_would_not_read_back(value):
    with pytest.raises(StorageError):
        _iscsi_nodes.check_value("node.session.auth.password", value)


def test_set_values_writes_0600_atomically_under_the_lock(database, tmp_path):
    _root, record = database
    os.chmod(record, 0o644)  # as a careless hand left it: the write makes it 0600 again
    before = os.stat(record).st_ino
    _iscsi_nodes.set_values(record, {"node.session.auth.password": "s3cret-value"})
    st = os.stat(record)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_ino != before  # a new file, renamed into place
    assert "node.session.auth.password = s3cret-value\n" in open(record).read()
    assert sorted(os.listdir(os.path.dirname(record))) == ["default"]  # no temporary file left
    assert not os.path.exists(str(tmp_path / "lock" / "lock.write"))  # the lock released
    # nothing to change: the file is left alone
    _iscsi_nodes.set_values(record, {"node.session.auth.password": "s3cret-value"})
    assert os.stat(record).st_ino == st.st_ino


def test_set_values_waits_for_iscsiadm_lock(database, tmp_path):
    _root, record = database
    lock_dir = str(tmp_path / "lock")
    os.makedirs(lock_dir)
    open(os.path.join(lock_dir, "lock"), "w").close()
    os.link(os.path.join(lock_dir, "lock"), os.path.join(lock_dir, "lock.write"))  # iscsiadm holds it
    released = []

    def release():
        time.sleep(0.3)
        released.append(time.monotonic())
        os.unlink(os.path.join(lock_dir, "lock.write"))

    thread = threading.Thread(target=release)
    thread.start()
    try:
        _iscsi_nodes.set_values(record, {"node.session.auth.username": "u"})
        done = time.monotonic()
    finally:
        thread.join()
    assert released and done >= released[0]


def test_lock_held_too_long_is_one_line(tmp_path):
    lock_dir = str(tmp_path / "lock")
    os.makedirs(lock_dir)
    open(os.path.join(lock_dir, "lock"), "w").close()
    os.link(os.path.join(lock_dir, "lock"), os.path.join(lock_dir, "lock.write"))
    with pytest.raises(StorageError) as failed:
        with _iscsi_nodes.DatabaseLock(lock_dir, wait=0.2):
            pass
    assert "locked" in str(failed.value)


def test_set_values_needs_the_record(database):
    root, _record = database
    with pytest.raises(StorageError):
        _iscsi_nodes.set_values(str(root / "nodes" / IQN / "missing"), {"a": "b"})


def test_values_into_a_record_without_its_end_marker():
    new = _iscsi_nodes.with_values("# BEGIN RECORD 2.1.8\nnode.name = x\n", {"a": "1"})
    assert new == "# BEGIN RECORD 2.1.8\nnode.name = x\na = 1\n# END RECORD\n"
