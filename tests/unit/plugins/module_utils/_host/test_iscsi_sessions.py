# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_iscsi_sessions: the sessions and their LUNs read from a sysfs and udev database laid out as
the test VM's kernel showed them for a session to tgtd (two disks and the target's controller
LUN 0); the WWID, by-path and LUN spellings. The real kernel is the VM scenario's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _iscsi_sessions, _sysfs

IQN = "iqn.2024-01.test.poolcraft:explore"
# udev's record of sdb as the VM showed it (a part)
UDEV_SDB = "\n".join([
    "S:disk/by-id/scsi-360000000000000000e00000000010002",
    "S:disk/by-path/ip-127.0.0.1:3260-iscsi-%s-lun-2" % IQN,
    "S:disk/by-diskseq/13",
    "E:ID_BUS=scsi",
    "E:ID_SERIAL=360000000000000000e00000000010002",
    "E:ID_PATH=ip-127.0.0.1:3260-iscsi-%s-lun-2" % IQN, ""])


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


@pytest.fixture
def sysfs(tmp_path, monkeypatch):
    """session2 on host2, as /sys/devices/platform/host2/session2/... with its class link."""
    sys_root = str(tmp_path / "sys")
    udev = str(tmp_path / "udev")
    session_dir = os.path.join(sys_root, "devices", "platform", "host2", "session2")
    klass = os.path.join(session_dir, "iscsi_session", "session2")
    for name, value in (("targetname", IQN), ("ifacename", "default"), ("initiatorname", "iqn.1993-08.org.debian:01:1f"),
                        ("state", "LOGGED_IN")):
        write(os.path.join(klass, name), value + "\n")
    conn = os.path.join(session_dir, "connection2:0", "iscsi_connection", "connection2:0")
    for name, value in (("persistent_address", "127.0.0.1"), ("persistent_port", "3260"), ("address", "127.0.0.1"),
                        ("port", "3260")):
        write(os.path.join(conn, name), value + "\n")
    target = os.path.join(session_dir, "target2:0:0")
    for lun, scsi_type, block, dev, size in ((0, 12, None, None, None), (1, 0, "sda", "8:0", 131072),
                                             (2, 0, "sdb", "8:16", 65536)):
        lun_dir = os.path.join(target, "2:0:0:%d" % lun)
        write(os.path.join(lun_dir, "type"), "%d\n" % scsi_type)
        write(os.path.join(lun_dir, "state"), "running\n")
        if block:
            write(os.path.join(lun_dir, "block", block, "dev"), dev + "\n")
            write(os.path.join(lun_dir, "block", block, "size"), "%d\n" % size)
            write(os.path.join(lun_dir, "wwid"), "naa.60000000000000000e0000000001000%d\n" % lun)
            os.makedirs(os.path.join(sys_root, "class", "block"), exist_ok=True)
            os.symlink(os.path.join(lun_dir, "block", block), os.path.join(sys_root, "class", "block", block))
            os.symlink(lun_dir, os.path.join(lun_dir, "block", block, "device"))
    os.makedirs(os.path.join(sys_root, "class", "iscsi_session"))
    os.symlink(klass, os.path.join(sys_root, "class", "iscsi_session", "session2"))
    write(os.path.join(udev, "b8:16"), UDEV_SDB)
    monkeypatch.setattr(_iscsi_sessions, "SESSIONS", os.path.join(sys_root, "class", "iscsi_session"))
    monkeypatch.setattr(_sysfs, "SYS", sys_root)
    monkeypatch.setattr(_sysfs, "UDEV_DATA", udev)
    return sys_root


def test_session_and_its_luns(sysfs):
    (session,) = _iscsi_sessions.sessions()
    assert (session.number, session.target, session.address, session.port) == (2, IQN, "127.0.0.1", 3260)
    assert (session.iface, session.state, session.host) == ("default", "LOGGED_IN", "host2")
    assert [(lun.hctl, lun.lun, lun.scsi_type, lun.block) for lun in session.luns] == [
        ("2:0:0:0", 0, 12, None), ("2:0:0:1", 1, 0, "sda"), ("2:0:0:2", 2, 0, "sdb")]
    assert [lun.unit for lun in session.luns] == ["unit:0:0:0", "unit:0:0:1", "unit:0:0:2"]
    assert _iscsi_sessions.read_session(7) is None


def test_disk_of_a_lun(sysfs):
    assert _iscsi_sessions.capacity("sdb") == 65536 * 512
    properties, links = _iscsi_sessions.udev_record("sdb")
    # udev's ID_SERIAL, as scsi_id prints it (libvirt's key)
    assert _iscsi_sessions.wwid("sdb", properties) == "360000000000000000e00000000010002"
    # no udev record: the kernel's designator, in scsi_id's spelling
    assert _iscsi_sessions.udev_record("sda") == ({}, [])
    assert _iscsi_sessions.wwid("sda", {}) == "360000000000000000e00000000010001"
    (session,) = _iscsi_sessions.sessions()
    lun2 = session.luns[2]
    assert _iscsi_sessions.by_path_link(session, lun2, links) == "/dev/disk/by-path/ip-127.0.0.1:3260-iscsi-%s-lun-2" % IQN
    assert _iscsi_sessions.by_path_link(session, session.luns[1], []) is None  # no link udev made, none there


def test_no_sessions_at_all(tmp_path, monkeypatch):
    monkeypatch.setattr(_iscsi_sessions, "SESSIONS", str(tmp_path / "none"))
    assert _iscsi_sessions.sessions() == []


@pytest.mark.parametrize("lun, suffix", [(0, "lun-0"), (255, "lun-255"), (256, "lun-0x0100000000000000"),
                                         (0x4001, "lun-0x4001000000000000")])
def test_lun_as_path_id_writes_it(lun, suffix):
    assert _iscsi_sessions.lun_suffix(lun) == suffix


@pytest.mark.parametrize("kernel, key", [("naa.6001405abcdef", "36001405abcdef"), ("eui.0123456789abcdef", "20123456789abcdef"),
                                         ("t10.IET     VIRTUAL-DISK", "1IET_____VIRTUAL-DISK"), ("other", "other")])
def test_kernel_wwid_in_scsi_id_spelling(sysfs, kernel, key):
    write(os.path.join(sysfs, "class", "block", "sda", "device", "wwid"), kernel + "\n")
    assert _iscsi_sessions.wwid("sda", {}) == key
