# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IscsiBackend against iscsiadm's answers recorded in the test VM (fixtures/iscsiadm/), an
open-iscsi database and a sysfs of the test's own: the class data and validate()'s refusals, the
plan-time refusals, the commands of start, stop and autostart in order with their deadlines, the
CHAP block written into the record file (0600) and never into a command line, and the LUNs as
volumes. The real initiator and target are the VM scenario's (test_storage_pool_iscsi_vm.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import stat

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import _iscsi
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._iscsi import IscsiBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev, _iscsi_nodes, _iscsi_sessions, _mounts, _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Auth, PoolDef, PoolSource, VolumeSpec
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _systemctl

from ansible_collections.poolcraft.storage.tests.unit.conftest import FakeRunner, load_transcript

IQN = "iqn.2024-01.test.poolcraft:rec"
PORTAL = "127.0.0.1:3260"
UUID = "0b0b8a6c-4f6e-4d1a-9a7a-1f2d1f0d7e41"
SECRET = "unit-secret-4f1d"
MUTUAL = "unit-mutual-9c2e"


def pool_def(auth=True, mutual=False, **source):
    fields = dict(host="127.0.0.1", target=IQN)
    if auth:
        fields["auth"] = Auth("recuser", SECRET, "rectarget" if mutual else None, MUTUAL if mutual else None)
    fields.update(source)
    return PoolDef(name="san", type="iscsi", uuid=UUID, target_path="/dev/disk/by-path", source=PoolSource(**fields))


def steps(name, *numbers):
    """Steps of a recorded transcript by their numbers (all when none is given)."""
    recorded = load_transcript("iscsiadm/" + name)["steps"]
    return [recorded[number] for number in numbers] if numbers else recorded


class Host(object):
    """open-iscsi's database, sysfs and udev's records of the test's own, changed as iscsiadm and the
    kernel change them after the commands the runner replays."""

    def __init__(self, tmp_path, monkeypatch):
        self.root = tmp_path
        self.db = tmp_path / "iscsi"
        (self.db / "nodes").mkdir(parents=True)
        self.sys = tmp_path / "sys"
        (self.sys / "class" / "iscsi_session").mkdir(parents=True)
        (self.sys / "class" / "block").mkdir(parents=True)
        self.udev = tmp_path / "udev"
        self.udev.mkdir()
        self.units = tmp_path / "units"
        self.units.mkdir()
        for unit in ("iscsid.socket", "open-iscsi.service"):
            (self.units / unit).write_text("[Unit]\n")
        monkeypatch.setattr(_iscsi_nodes, "DB_ROOTS", (str(self.db),))
        monkeypatch.setattr(_iscsi_nodes, "LOCK_DIR", str(tmp_path / "lock"))
        monkeypatch.setattr(_iscsi_sessions, "SESSIONS", str(self.sys / "class" / "iscsi_session"))
        monkeypatch.setattr(_sysfs, "SYS", str(self.sys))
        monkeypatch.setattr(_sysfs, "UDEV_DATA", str(self.udev))
        monkeypatch.setattr(_blockdev, "SYS_BLOCK", str(self.sys / "class" / "block"))
        monkeypatch.setattr(_iscsi, "udev_runs", lambda: False)
        monkeypatch.setattr(_systemctl, "UNIT_DIRS", (str(self.units),))
        self.mounts = []
        monkeypatch.setattr(_mounts, "read_mounts", lambda: _mounts.parse_mountinfo("\n".join(self.mounts)))
        monkeypatch.setattr(_mounts, "read_swaps", set)

    # -- what iscsiadm writes ---------------------------------------------------------------

    def record_path(self, iface="default"):
        return self.db / "nodes" / IQN / "127.0.0.1,3260,1" / iface

    def make_record(self, iface="default"):
        path = self.record_path(iface)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(steps_files("node_vm_life_cycle")["record"])
        path.chmod(0o600)

    def update_record(self, argv):
        values = dict(zip(argv[argv.index("-n") + 1::4], argv[argv.index("-v") + 1::4]))
        for path in self.db.glob("nodes/%s/*/*" % IQN):
            path.write_text(_iscsi_nodes.with_values(path.read_text(), values))

    def delete_record(self):
        for path in self.db.glob("nodes/%s/*/*" % IQN):
            path.unlink()

    # -- what the kernel shows ----------------------------------------------------------------

    def login(self, number=3, luns=((1, "sda", "8:0", 16384), (2, "sdb", "8:16", 8192))):
        session_dir = self.sys / "devices" / "platform" / "host4" / ("session%d" % number)
        klass = session_dir / "iscsi_session" / ("session%d" % number)
        klass.mkdir(parents=True)
        for name, value in (("targetname", IQN), ("ifacename", "default"), ("state", "LOGGED_IN")):
            (klass / name).write_text(value + "\n")
        conn = session_dir / ("connection%d:0" % number) / "iscsi_connection" / ("connection%d:0" % number)
        conn.mkdir(parents=True)
        (conn / "persistent_address").write_text("127.0.0.1\n")
        (conn / "persistent_port").write_text("3260\n")
        for lun, block, dev, sectors in ((0, None, None, None),) + tuple(luns):
            lun_dir = session_dir / "target4:0:0" / ("4:0:0:%d" % lun)
            lun_dir.mkdir(parents=True)
            (lun_dir / "type").write_text("12\n" if block is None else "0\n")
            if block:
                (lun_dir / "block" / block).mkdir(parents=True)
                (lun_dir / "block" / block / "dev").write_text(dev + "\n")
                (lun_dir / "block" / block / "size").write_text("%d\n" % sectors)
                os.symlink(str(lun_dir / "block" / block), str(self.sys / "class" / "block" / block))
                (self.udev / ("b" + dev)).write_text(
                    "S:disk/by-path/ip-127.0.0.1:3260-iscsi-%s-lun-%d\nE:ID_BUS=scsi\nE:ID_SERIAL=3600000000000000000000000000%04d\n"
                    % (IQN, lun, lun))
        os.symlink(str(klass), str(self.sys / "class" / "iscsi_session" / ("session%d" % number)))

    def logout(self):
        for link in (self.sys / "class" / "iscsi_session").iterdir():
            link.unlink()
        for link in (self.sys / "class" / "block").iterdir():
            link.unlink()


def steps_files(name):
    return load_transcript("iscsiadm/" + name)["files"]


class HookedRunner(FakeRunner):
    """FakeRunner that changes the Host after a command, as the real command would."""

    def __init__(self, tmpdir, host):
        super(HookedRunner, self).__init__(tmpdir, commands=("iscsiadm", "systemctl", "udevadm"))
        self.host = host

    def run(self, argv, data=None, env=None, check=True, timeout=None):
        result = super(HookedRunner, self).run(argv, data=data, env=env, check=check, timeout=timeout)
        argv = [str(arg) for arg in argv]
        if argv[:4] == ["iscsiadm", "-m", "node", "-o"] and argv[4] == "new":
            self.host.make_record()
        elif "update" in argv and argv[:3] == ["iscsiadm", "-m", "node"]:
            self.host.update_record(argv)
        elif argv[:4] == ["iscsiadm", "-m", "node", "-o"] and argv[4] == "delete":
            self.host.delete_record()
        elif argv[-1] == "--login":
            self.host.login()
        elif argv[-1] == "--logout":
            self.host.logout()
        return result


@pytest.fixture
def host(tmp_path, monkeypatch):
    return Host(tmp_path, monkeypatch)


@pytest.fixture
def runner(tmp_path, host):
    made = HookedRunner(tmp_path, host)
    yield made
    made.assert_done()


def recorded(runner, *pairs):
    """Expect recorded steps: (transcript, step number) pairs."""
    for name, number in pairs:
        runner.steps.extend(steps(name, number))


def expect_startup(runner, value):
    runner.expect(["iscsiadm", "-m", "node", "-T", IQN, "-p", PORTAL, "-o", "update",
                   "-n", "node.conn[0].startup", "-v", value, "-n", "node.startup", "-v", value])


def apply(actions):
    for action in actions:
        action.apply()


# -- class data and validate ---------------------------------------------------------------------

def test_class_data():
    backend = IscsiBackend(None)
    assert backend.default_target_path(pool_def()) == "/dev/disk/by-path"
    assert IscsiBackend.supports("plan_start") and IscsiBackend.supports("list_volumes")
    assert not IscsiBackend.supports("plan_build") and not IscsiBackend.supports("plan_delete")
    assert _iscsi.iface_name("iqn.2024-01.example:a") == _iscsi.iface_name("iqn.2024-01.example:a")
    assert _iscsi.iface_name("iqn.2024-01.example:a") != _iscsi.iface_name("iqn.2024-01.example:b")
    assert _iscsi.iface_name("iqn.2024-01.example:a").startswith("poolcraft-")


@pytest.mark.parametrize("change, option", [
    (dict(target_path="/srv/luns"), "target.path"),
    (dict(mount_options=("ro",)), "mount_options"),
    (dict(source=PoolSource(host="127.0.0.1")), "source.target"),
    (dict(source=PoolSource(target=IQN)), "source.host"),
    (dict(source=PoolSource(host="h", target=IQN, devices=("/dev/sdb",))), "source.devices"),
    (dict(source=PoolSource(host="h", target=IQN, dir="/x")), "source.dir"),
    (dict(source=PoolSource(host="h", target=IQN, auth=Auth("u", "s", type="ceph"))), "source.auth.type"),
    (dict(source=PoolSource(host="h", target=IQN, auth=Auth("u", "s", None, "m"))), "source.auth.mutual_username"),
    (dict(source=PoolSource(host="h", target=IQN, auth=Auth("u", "s", "m", None))), "source.auth.mutual_secret"),
    (dict(source=PoolSource(host="h", target=IQN, auth=Auth(" u", "s"))), "source.auth.username"),
])
def test_validate_refuses(change, option):
    with pytest.raises(ValidationError) as refused:
        IscsiBackend(None).validate(pool_def().with_changes(**change))
    assert refused.value.option == option


@pytest.mark.parametrize("auth, option", [(Auth("u", " %s" % SECRET), "source.auth.secret"),
                                          (Auth("u", "s", "m", "%s " % MUTUAL), "source.auth.mutual_secret")])
def test_a_secret_iscsiadm_would_not_read_back_is_refused_unshown(auth, option):
    with pytest.raises(ValidationError) as refused:
        IscsiBackend(None).validate(pool_def().with_changes(source=PoolSource(host="h", target=IQN, auth=auth)))
    assert refused.value.option == option
    assert SECRET not in str(refused.value) and MUTUAL not in str(refused.value) and "(hidden)" in str(refused.value)


def test_auth_values_and_what_differs():
    chap = _iscsi.auth_values(Auth("u", "s", "m", "ms"))
    assert chap == {_iscsi.AUTHMETHOD: "CHAP", _iscsi.USERNAME: "u", _iscsi.PASSWORD: "s", _iscsi.USERNAME_IN: "m",
                    _iscsi.PASSWORD_IN: "ms"}
    none = _iscsi.auth_values(None)
    record = _iscsi_nodes.parse_record(steps_files("node_vm_life_cycle")["record"])
    assert _iscsi.differs(record, none) == []  # a fresh record has no CHAP
    assert _iscsi.differs({}, none) == []      # a record without the authmethod line reads as None too
    assert _iscsi.differs(record, chap) == sorted(chap)
    assert _iscsi.differs(record, _iscsi.startup_values(False)) == []
    assert _iscsi.differs(record, _iscsi.startup_values(True)) == ["node.conn[0].startup", "node.startup"]


# -- start --------------------------------------------------------------------------------------

def test_start_makes_the_record_writes_chap_into_it_and_logs_in(host, runner, monkeypatch):
    monkeypatch.setattr(_iscsi.socket, "create_connection", lambda address, timeout: socket.socket())
    backend = IscsiBackend(runner, {"autostart": False})
    pool = pool_def(mutual=True)
    actions = backend.plan_start(pool)
    assert [action.description for action in actions] == [
        "log in to %s at %s (sendtargets discovery, node record, login, CHAP as recuser)" % (IQN, PORTAL)]
    assert runner.calls == []  # planning ran nothing
    # the new record says manual already: no update of its startup
    recorded(runner, ("discovery_vm_two_targets", 0), ("node_vm_life_cycle", 0))
    recorded(runner, ("node_vm_life_cycle", 3), ("node_vm_life_cycle", 5))
    apply(actions)
    assert [call[2:4] for call in runner.calls] == [["discovery", "-t"], ["node", "-o"], ["node", "-T"], ["session", "-r"]]
    assert runner.calls[-1] == ["iscsiadm", "-m", "session", "-r", "3", "--rescan"]
    assert all(timeout for timeout in runner.timeouts)
    record = host.record_path()
    assert stat.S_IMODE(os.stat(str(record)).st_mode) == 0o600
    values = _iscsi_nodes.parse_record(record.read_text())
    assert (values[_iscsi.AUTHMETHOD], values[_iscsi.USERNAME], values[_iscsi.PASSWORD]) == ("CHAP", "recuser", SECRET)
    assert (values[_iscsi.USERNAME_IN], values[_iscsi.PASSWORD_IN]) == ("rectarget", MUTUAL)
    assert values["node.startup"] == "manual"
    for secret in (SECRET, MUTUAL):
        assert secret not in json.dumps(runner.calls)
    assert backend.live_state(pool)
    assert backend.plan_start(pool) == []  # running: nothing to do


def test_start_of_a_running_pool_and_volumes(host, runner):
    host.login()
    backend = IscsiBackend(runner)
    pool = pool_def()
    assert backend.plan_start(pool) == []
    volumes = backend.list_volumes(pool)
    assert [(vol.name, vol.capacity, vol.type, vol.format) for vol in volumes] == [
        ("unit:0:0:1", 16384 * 512, "block", "raw"), ("unit:0:0:2", 8192 * 512, "block", "raw")]
    assert volumes[0].path == "/dev/disk/by-path/ip-127.0.0.1:3260-iscsi-%s-lun-1" % IQN
    assert volumes[0].key == "36000000000000000000000000000001"
    status = backend.refresh(pool)
    assert (status.capacity, status.allocation, status.available, status.volume_count) == (24576 * 512, 24576 * 512, 0, 2)
    assert backend.get_volume(pool, "unit:0:0:2").path.endswith("-lun-2")
    assert backend.get_volume(pool, "unit:0:0:0") is None  # the target's controller LUN is no volume
    assert backend.volume_name_at(pool, volumes[1].path) == "unit:0:0:2"
    assert backend.volume_name_at(pool, volumes[1].key) == "unit:0:0:2"
    assert backend.volume_name_at(pool, "/dev/disk/by-path/other") is None
    with pytest.raises(NotFoundError):
        backend.volume_path(pool, "unit:0:0:9")
    # another portal, iface or target: not this pool's session
    for other in (pool_def(port=3261), pool_def(target=IQN + "2"), pool_def(initiator="iqn.2024-01.example:i")):
        assert not backend.live_state(other) and backend.list_volumes(other) == []


def test_failed_login_leaves_no_record(host, runner, monkeypatch):
    monkeypatch.setattr(_iscsi.socket, "create_connection", lambda address, timeout: socket.socket())
    backend = IscsiBackend(runner)
    actions = backend.plan_start(pool_def())
    recorded(runner, ("discovery_vm_two_targets", 0), ("node_vm_life_cycle", 0))
    recorded(runner, ("node_vm_life_cycle", 2), ("node_vm_life_cycle", 9))
    with pytest.raises(StorageError) as refused:
        apply(actions)
    assert "refused the CHAP login" in str(refused.value)
    assert not host.record_path().exists()


def test_unknown_target_refused_before_any_record(host, runner, monkeypatch):
    monkeypatch.setattr(_iscsi.socket, "create_connection", lambda address, timeout: socket.socket())
    backend = IscsiBackend(runner)
    actions = backend.plan_start(pool_def(target=IQN + "-nosuch"))
    recorded(runner, ("discovery_vm_two_targets", 0))
    with pytest.raises(StorageError) as refused:
        apply(actions)
    assert "does not offer target %s-nosuch (it offers %s, %s2)" % (IQN, IQN, IQN) in str(refused.value)


def test_unreachable_portal_refused_while_planning(host, runner):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(StorageError) as refused:
        IscsiBackend(runner).plan_start(pool_def(port=port))
    assert "cannot connect to the portal 127.0.0.1:%d" % port in str(refused.value)
    assert runner.calls == []


def test_a_secret_not_stored_is_refused(host, runner):
    pool = pool_def().with_changes(source=PoolSource(host="127.0.0.1", target=IQN, auth=Auth("recuser")))
    for plan in (lambda backend: backend.plan_start(pool), lambda backend: backend.plan_autostart(pool, True)):
        with pytest.raises(StorageError) as refused:
            plan(IscsiBackend(runner))
        assert "secret is not stored" in str(refused.value)


# -- stop ---------------------------------------------------------------------------------------

def test_stop_refused_while_a_lun_is_mounted(host, runner):
    host.login()
    host.mounts.append("36 25 8:16 / /mnt/lun2 rw,relatime shared:1 - ext4 /dev/sdb rw")
    with pytest.raises(StorageError) as refused:
        IscsiBackend(runner).plan_stop(pool_def())
    assert "LUNs in use (unit:0:0:2 (/dev/sdb): mounted at /mnt/lun2)" in str(refused.value)
    assert "refusing to log out of %s at %s" % (IQN, PORTAL) in str(refused.value)


def test_stop_logs_out_and_removes_the_record_unless_autostart(host, runner):
    host.login()
    host.make_record()
    actions = IscsiBackend(runner, {"autostart": True}).plan_stop(pool_def())
    assert [action.description for action in actions] == ["log out of %s at %s" % (IQN, PORTAL)]
    actions = IscsiBackend(runner, {"autostart": False}).plan_stop(pool_def())
    assert [action.description for action in actions] == [
        "log out of %s at %s" % (IQN, PORTAL), "remove the node record of %s at %s" % (IQN, PORTAL)]
    recorded(runner, ("node_vm_life_cycle", 7), ("node_vm_life_cycle", 9))
    apply(actions)
    assert not host.record_path().exists()
    assert not IscsiBackend(runner).live_state(pool_def())


# -- autostart ----------------------------------------------------------------------------------

def test_autostart_on_writes_the_record_and_enables_the_boot_units(host, runner, monkeypatch):
    monkeypatch.setattr(_iscsi.socket, "create_connection", lambda address, timeout: socket.socket())
    backend = IscsiBackend(runner)
    pool = pool_def()
    for unit in ("iscsid.socket", "open-iscsi.service"):
        runner.expect(["systemctl", "is-enabled", unit], 1, "disabled\n")
    actions = backend.plan_autostart(pool, True)
    assert [action.description for action in actions] == [
        "write the node record of %s at %s, node.startup = automatic" % (IQN, PORTAL),
        "enable iscsid.socket, open-iscsi.service at boot"]
    recorded(runner, ("discovery_vm_two_targets", 0), ("node_vm_life_cycle", 0))
    expect_startup(runner, "automatic")
    for unit in ("iscsid.socket", "open-iscsi.service"):
        runner.expect(["systemctl", "is-enabled", unit], 1, "disabled\n")
    runner.expect(["systemctl", "enable", "--quiet", "iscsid.socket", "open-iscsi.service"])
    apply(actions)
    assert _iscsi_nodes.read_record(str(host.record_path()))["node.startup"] == "automatic"
    marker = host.db / _iscsi.UNITS_MARKER
    assert marker.read_text() == "iscsid.socket\nopen-iscsi.service\n"
    # on, and the units enabled: nothing to do
    for unit in ("iscsid.socket", "open-iscsi.service"):
        runner.expect(["systemctl", "is-enabled", unit], 0, "enabled\n")
    assert backend.plan_autostart(pool, True) == []

    # off while it runs: the record says manual, and the units enabled here are disabled again
    host.login()
    actions = backend.plan_autostart(pool, False)
    assert [action.description for action in actions] == [
        "set node.startup = manual in the node record of %s at %s" % (IQN, PORTAL),
        "disable iscsid.socket, open-iscsi.service at boot (enabled for autostart)"]
    expect_startup(runner, "manual")
    runner.expect(["systemctl", "disable", "--quiet", "iscsid.socket", "open-iscsi.service"])
    apply(actions)
    assert not marker.exists()
    assert backend.plan_autostart(pool, False) == []


def test_autostart_off_of_a_stopped_pool_removes_its_record(host, runner):
    host.make_record()
    host.update_record(["-n", "node.startup", "-v", "automatic"])
    actions = IscsiBackend(runner).plan_autostart(pool_def(), False)
    assert [action.description for action in actions] == ["remove the node record of %s at %s" % (IQN, PORTAL)]
    recorded(runner, ("node_vm_life_cycle", 9))
    apply(actions)
    assert not host.record_path().exists()


def test_units_enabled_by_someone_else_stay(host, runner):
    """No marker: the units were enabled before (by the package, by hand): autostart off leaves them."""
    host.make_record()
    host.update_record(["-n", "node.startup", "-v", "automatic"])
    host.login()
    actions = IscsiBackend(runner).plan_autostart(pool_def(), False)
    assert [action.description for action in actions] == [
        "set node.startup = manual in the node record of %s at %s" % (IQN, PORTAL)]


# -- volumes: LUNs are the target's --------------------------------------------------------------

def test_luns_are_not_made_resized_or_removed_here(host, runner):
    host.login()
    backend = IscsiBackend(runner)
    pool = pool_def()
    volume = backend.get_volume(pool, "unit:0:0:1")
    for plan, words in ((lambda: backend.plan_create_volume(pool, VolumeSpec(name="unit:0:0:5", format="raw", capacity=1 << 20)),
                         "cannot create volume 'unit:0:0:5'"),
                        (lambda: backend.plan_resize_volume(pool, volume, 1 << 30), "cannot resize volume 'unit:0:0:1'"),
                        (lambda: backend.plan_delete_volume(pool, volume, "zero"), "cannot delete volume 'unit:0:0:1'")):
        with pytest.raises(StorageError) as refused:
            plan()
        assert words in str(refused.value) and "target" in str(refused.value) and "\n" not in str(refused.value)


def test_wipe_refused_while_in_use(host, runner):
    host.login()
    host.mounts.append("36 25 8:0 / /mnt/lun1 rw,relatime shared:1 - ext4 /dev/sda rw")
    backend = IscsiBackend(runner)
    pool = pool_def()
    with pytest.raises(StorageError) as refused:
        backend.plan_wipe_volume(pool, backend.get_volume(pool, "unit:0:0:1"), "zero")
    assert "in use (mounted at /mnt/lun1)" in str(refused.value)
    actions = backend.plan_wipe_volume(pool, backend.get_volume(pool, "unit:0:0:2"), "random")
    assert [action.description for action in actions] == [
        "wipe (random) volume 'unit:0:0:2' (/dev/disk/by-path/ip-127.0.0.1:3260-iscsi-%s-lun-2)" % IQN]
