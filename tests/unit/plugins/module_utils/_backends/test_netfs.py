# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netfs pools: the refusals, the mount and umount commands with their deadline, the fstab entry,
reads that miss their deadline, and volumes made as the target's owner. The mount table is a
stand-in here (the host kernel has no NFS client); mounting real exports, root_squash and a dead
server are tests/scenarios/vm/test_storage_pool_netfs_vm.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import tempfile
import time

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import _netfs
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _mounts
from ansible_collections.poolcraft.storage.plugins.module_utils._model import (
    BackingStore, Permissions, PoolDef, PoolSource, VolumeDef, VolumeSpec)
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import CommandTimeout, DeadlineExceeded, Runner

from ansible_collections.poolcraft.storage.tests.unit.conftest import FakeRunner

UUID = "6f1c2a3b-1234-4abc-8def-0123456789ab"


class Runs(FakeRunner):
    """FakeRunner for the commands, the real call() for the children (they run nothing but Python)."""

    call = Runner.call

    def __init__(self, tmpdir):
        super(Runs, self).__init__(tmpdir, commands=("mount", "umount", "qemu-img"))


@pytest.fixture
def mounted(monkeypatch):
    """The mount table, as a list of mount points to show as NFS mounts (empty: none)."""
    points = []

    def read_mounts(path="/proc/self/mountinfo"):
        return [{"maj_min": "0:52", "root": "/", "mount": point, "options": "rw", "fstype": "nfs4",
                 "source": "127.0.0.1:/srv/x", "super_options": "rw,vers=4.2"} for point in points]

    monkeypatch.setattr(_mounts, "read_mounts", read_mounts)
    return points


@pytest.fixture
def open_dir():
    """A directory any user may reach (pytest's tmp_path is under a 0700 directory of root's)."""
    path = tempfile.mkdtemp(prefix="poolcraft-unit-")
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def pool(target, host="127.0.0.1", version="4.2", options=("noatime",), **source):
    return PoolDef(name="shared", type="netfs", uuid=UUID, target_path=target, mount_options=tuple(options),
                   source=PoolSource(host=host, dir=source.pop("dir", "/srv/x"), protocol_version=version, **source))


def backend(runner, **settings):
    return _netfs.NetfsBackend(runner, settings)


# -- refusals --------------------------------------------------------------------------------

@pytest.mark.parametrize("source, option, words", [
    ({"host": None}, "source.host", "netfs pools need it"),
    ({"dir": None}, "source.dir", "netfs pools need it"),
    ({"format": "cifs"}, "source.format", "auto or nfs"),
    ({"devices": ("/dev/sdb",)}, "source.devices", "netfs pools take no source.devices"),
    ({"version": "5"}, "source.protocol_version", "NFS versions are 3, 4, 4.1, 4.2"),
])
def test_a_source_netfs_cannot_use_is_refused_by_name(tmp_path, source, option, words):
    given = dict({"host": "127.0.0.1", "dir": "/srv/x", "version": "4.2"}, **source)
    with pytest.raises(ValidationError) as caught:
        backend(Runs(tmp_path)).validate(pool(str(tmp_path), **given))
    assert str(caught.value).startswith(option + "=") and words in str(caught.value), str(caught.value)


def test_a_version_in_the_mount_options_must_agree_with_protocol_version(tmp_path):
    runs = backend(Runs(tmp_path))
    with pytest.raises(ValidationError) as caught:
        runs.validate(pool(str(tmp_path), options=("noatime", "vers=3")))
    assert str(caught.value) == ("mount_options=['noatime', 'vers=3']: ask for vers=3 while source.protocol_version "
                                 "is 4.2; give the version once")
    with pytest.raises(ValidationError):
        runs.validate(pool(str(tmp_path), options=("nfsvers=4.1",)))
    # the same version twice, or the version in the options only, is fine
    runs.validate(pool(str(tmp_path), options=("vers=4.2",)))
    runs.validate(pool(str(tmp_path), version=None, options=("vers=3",)))


# -- start and stop ----------------------------------------------------------------------------

def test_start_mounts_with_the_version_first_and_a_deadline(tmp_path, mounted):
    runner = Runs(tmp_path).expect(["mount", "-t", "nfs", "-o", "vers=4.2,noatime,rsize=65536", "127.0.0.1:/srv/x",
                                    str(tmp_path)])
    actions = backend(runner).plan_start(pool(str(tmp_path), options=("noatime", "rsize=65536")))
    assert [a.description for a in actions] == ["mount 127.0.0.1:/srv/x on %s (vers=4.2,noatime,rsize=65536)" % tmp_path]
    actions[0].apply()
    runner.assert_done()
    assert runner.timeouts == [_netfs.DEFAULT_TIMEOUT]


def test_start_without_version_or_options_lets_the_mount_choose(tmp_path, mounted):
    runner = Runs(tmp_path).expect(["mount", "-t", "nfs", "[fd00::5]:/srv/x", str(tmp_path)])
    actions = backend(runner, timeout=7).plan_start(pool(str(tmp_path), host="fd00::5", version=None, options=()))
    assert [a.description for a in actions] == ["mount [fd00::5]:/srv/x on %s" % tmp_path]
    actions[0].apply()
    runner.assert_done()
    assert runner.timeouts == [7]


def test_start_of_a_mounted_pool_mounts_nothing_again(tmp_path, mounted):
    actions = backend(Runs(tmp_path)).plan_start(pool(str(tmp_path)))
    mounted.append(str(tmp_path))  # mounted between the plan and the apply
    actions[0].apply()


def test_start_without_the_mount_point_says_build(tmp_path, mounted):
    actions = backend(Runs(tmp_path)).plan_start(pool(str(tmp_path / "missing")))
    with pytest.raises(StorageError) as caught:
        actions[0].apply()
    assert str(caught.value) == "pool 'shared' is not built (target.path %s does not exist); set build: true" % (tmp_path / "missing")


class Late(Runs):
    """Every command misses its deadline (a dead server)."""

    def run(self, argv, data=None, env=None, check=True, timeout=None, as_user=None):
        self.calls.append(list(argv))
        self.timeouts.append(timeout)
        raise CommandTimeout(argv, timeout)


def test_a_mount_that_misses_its_deadline_names_the_server(tmp_path, mounted):
    actions = backend(Late(tmp_path), timeout=3).plan_start(pool(str(tmp_path), host="nfs1.example.com"))
    with pytest.raises(DeadlineExceeded) as caught:
        actions[0].apply()
    assert str(caught.value) == ("NFS server nfs1.example.com did not answer within 3 s (mounting nfs1.example.com:/srv/x "
                                 "on %s)" % tmp_path)


def test_stop_unmounts_with_a_deadline(open_dir, mounted):
    target = os.path.join(open_dir, "p")
    os.mkdir(target)
    mounted.append(target)
    runner = Runs(open_dir).expect(["umount", "-c", target])
    # the check for open files runs on the mount table's target: here an idle directory of its own
    # filesystem, which no process holds (processes_using compares devices: not here, see below)
    netfs = backend(runner)
    netfs._refuse_busy = lambda pool: None
    actions = netfs.plan_stop(pool(target))
    assert [a.description for a in actions] == ["unmount %s" % target]
    actions[0].apply()
    runner.assert_done()
    assert runner.timeouts == [_netfs.DEFAULT_TIMEOUT]


def test_stop_is_refused_while_a_process_holds_a_file_in_the_pool(open_dir, mounted):
    target = os.path.join(open_dir, "p")
    os.mkdir(target)
    with open(os.path.join(target, "disk.raw"), "wb") as handle:
        handle.write(b"\0" * 512)
    mounted.append(target)
    holder = subprocess.Popen(["sleep", "60"], stdin=open(os.path.join(target, "disk.raw"), "rb"))
    try:
        with pytest.raises(StorageError) as caught:
            backend(Runs(open_dir)).plan_stop(pool(target))
        message = str(caught.value)
        assert message.startswith("pool 'shared': %s is busy (in use by " % target)
        assert "%d (sleep)" % holder.pid in message and message.endswith("refusing to stop it")
    finally:
        holder.kill()
        holder.wait()


def test_force_stops_with_a_lazy_unmount_and_no_check_for_open_files(open_dir, mounted):
    target = os.path.join(open_dir, "p")
    os.mkdir(target)
    mounted.append(target)
    runner = Runs(open_dir).expect(["umount", "-c", "-l", target])
    netfs = backend(runner, force=True)
    netfs._refuse_busy = lambda pool: pytest.fail("a forced stop looks for no open file")
    actions = netfs.plan_stop(pool(target))
    assert [a.description for a in actions] == [
        "unmount %s lazily (force: what is open in it stays in use until closed)" % target]
    actions[0].apply()
    runner.assert_done()


def test_a_busy_umount_says_what_to_do(tmp_path, mounted):
    mounted.append(str(tmp_path))
    runner = Runs(tmp_path).expect(["umount", "-c", str(tmp_path)], rc=16, stderr="umount.nfs4: %s: device is busy\n" % tmp_path)
    netfs = backend(runner)
    netfs._refuse_busy = lambda pool: None
    with pytest.raises(StorageError) as caught:
        netfs.plan_stop(pool(str(tmp_path)))[0].apply()
    assert str(caught.value) == ("%s is busy: a volume or file in it is open; close it before stopping the pool, "
                                 "or stop with force: true (a lazy unmount)" % tmp_path)


class UnmountsThenLate(Runs):
    """umount lets the mount point go, then misses its deadline (NFSv4's goodbye to a dead server)."""

    def __init__(self, tmpdir, points):
        super(UnmountsThenLate, self).__init__(tmpdir)
        self.points = points

    def run(self, argv, data=None, env=None, check=True, timeout=None, as_user=None):
        self.calls.append(list(argv))
        if self.unmounts:
            del self.points[:]
        raise CommandTimeout(argv, timeout)

    unmounts = True


def test_an_unmount_cut_short_after_the_mount_point_went_is_a_stop(tmp_path, mounted):
    mounted.append(str(tmp_path))
    runner = UnmountsThenLate(tmp_path, mounted)
    netfs = backend(runner, force=True)
    netfs.plan_stop(pool(str(tmp_path)))[0].apply()
    assert runner.calls == [["umount", "-c", "-l", str(tmp_path)]]
    # still mounted when the deadline passed: the server is named
    mounted.append(str(tmp_path))
    runner.unmounts = False
    with pytest.raises(DeadlineExceeded) as caught:
        netfs.plan_stop(pool(str(tmp_path)))[0].apply()
    assert str(caught.value).startswith("NFS server 127.0.0.1 did not answer within 20 s (unmounting %s)" % tmp_path)


def test_a_pool_is_built_while_mounted_without_a_look_at_the_mount_point(tmp_path, mounted, monkeypatch):
    target = str(tmp_path / "p")
    netfs = backend(Runs(tmp_path))
    assert not netfs.is_built(pool(target))
    assert [a.description for a in netfs.plan_build(pool(target), False)] == ["create %s" % target]
    mounted.append(target)
    monkeypatch.setattr(_netfs.os.path, "isdir", lambda path: pytest.fail("stat of %s" % path))
    assert netfs.is_built(pool(target))
    assert netfs.plan_build(pool(target), False) == []
    assert netfs.plan_target(pool(target)) == []  # no permissions asked for: nothing read


# -- autostart: the fstab entry ----------------------------------------------------------------

def test_autostart_writes_a_netdev_nofail_entry_and_removes_it(tmp_path, mounted):
    fstab = tmp_path / "fstab"
    fstab.write_text("UUID=1 / ext4 defaults 0 1\n")
    netfs = backend(Runs(tmp_path), fstab=str(fstab))
    wanted = pool("/srv/pools/shared", options=("noatime", "x-systemd.after=nfs-server.service"))
    actions = netfs.plan_autostart(wanted, True)
    assert [a.description for a in actions] == ["write the entry in %s" % fstab]
    actions[0].apply()
    assert fstab.read_text() == ("UUID=1 / ext4 defaults 0 1\n# poolcraft.storage pool shared\n"
                                 "127.0.0.1:/srv/x /srv/pools/shared nfs vers=4.2,noatime,x-systemd.after=nfs-server.service,"
                                 "_netdev,nofail 0 0\n")
    assert netfs.plan_autostart(wanted, True) == []
    actions = netfs.plan_autostart(wanted, False)
    assert [a.description for a in actions] == ["remove the entry in %s" % fstab]
    actions[0].apply()
    assert fstab.read_text() == "UUID=1 / ext4 defaults 0 1\n"


def test_systemd_reloads_the_hosts_fstab_after_a_change(tmp_path, mounted, monkeypatch):
    fstab = tmp_path / "fstab"
    fstab.write_text("")
    (tmp_path / "systemd").mkdir()
    monkeypatch.setattr(_netfs, "HOST_FSTAB", str(fstab))
    monkeypatch.setattr(_netfs, "SYSTEMD_RUNNING", str(tmp_path / "systemd"))
    runner = Runs(tmp_path)
    runner.commands.add("systemctl")
    runner.expect(["systemctl", "daemon-reload"]).expect(["systemctl", "daemon-reload"])
    netfs = backend(runner, fstab=str(fstab))
    for enabled in (True, False):
        for action in netfs.plan_autostart(pool("/srv/p"), enabled):
            action.apply()
    runner.assert_done()
    assert runner.timeouts == [_netfs.SYSTEMCTL_TIMEOUT] * 2
    # another fstab (an image's, a test's) is no business of systemd's
    other = tmp_path / "other"
    other.write_text("")
    for action in backend(Runs(tmp_path), fstab=str(other)).plan_autostart(pool("/srv/p"), True):
        action.apply()


# -- reads with a deadline ----------------------------------------------------------------------

@pytest.mark.parametrize("read", ["refresh", "list_volumes", "get_volume", "plan_stop"])
def test_a_read_that_misses_its_deadline_names_the_server_and_leaves_no_process(tmp_path, mounted, monkeypatch, read, child_pids):
    """On a dead hard mount statvfs, readdir and stat block in the kernel: here they sleep, in the child only."""
    from ansible_collections.poolcraft.storage.plugins.module_utils._backends import _file_volumes, _fs
    mounted.append(str(tmp_path))
    monkeypatch.setattr(_netfs.os, "statvfs", lambda path: time.sleep(60))
    monkeypatch.setattr(_file_volumes, "_volume_files", lambda path: time.sleep(60))
    monkeypatch.setattr(_file_volumes.os, "lstat", lambda path: time.sleep(60))
    monkeypatch.setattr(_fs, "processes_using", lambda path: time.sleep(60))
    netfs = backend(Runner(), timeout=1)
    args = {"get_volume": ("disk.qcow2",)}.get(read, ())
    before = child_pids()
    start = time.time()
    with pytest.raises(DeadlineExceeded) as caught:
        getattr(netfs, read)(pool(str(tmp_path), host="filer7"), *args)
    assert time.time() - start < 10
    message = str(caught.value)
    assert message.startswith("NFS server filer7 did not answer within 1 s (")
    assert message.endswith("on %s)" % tmp_path)
    assert "\n" not in message
    assert child_pids() == before


def test_reads_in_the_child_return_the_volumes(tmp_path, mounted):
    (tmp_path / "b.raw").write_bytes(b"\0" * 4096)
    (tmp_path / "a.raw").write_bytes(b"\0" * 1024)
    mounted.append(str(tmp_path))
    netfs = backend(Runner())
    volumes = netfs.list_volumes(pool(str(tmp_path)))
    assert [(vol.name, vol.capacity, vol.format) for vol in volumes] == [("a.raw", 1024, "raw"), ("b.raw", 4096, "raw")]
    assert netfs.get_volume(pool(str(tmp_path)), "b.raw") == volumes[1]
    assert netfs.get_volume(pool(str(tmp_path)), "c.raw") is None
    status = netfs.refresh(pool(str(tmp_path)))
    assert status.volume_count == 2 and status.capacity > 0


def test_volume_data_round_trips():
    vol = VolumeDef(name="v", path="/p/v", key="/p/v", format="qcow2", capacity=1 << 30, allocation=4096,
                    backing=[BackingStore("/p/base", "raw"), BackingStore("/p/missing", None)],
                    permissions=Permissions(mode=0o600, owner=107, group=108, label=None))
    assert _netfs.volume_from_data(_netfs.volume_data(vol)) == vol
    assert _netfs.volume_from_data(_netfs.volume_data(None)) is None


# -- volumes as the owner of the target ---------------------------------------------------------

def test_volumes_are_made_resized_and_deleted_as_the_target_directorys_owner(open_dir, mounted):
    target = os.path.join(open_dir, "p")
    os.mkdir(target, 0o755)
    os.chown(target, 43210, 43211)
    mounted.append(target)
    netfs = backend(Runner())
    shared = pool(target)
    for action in netfs.plan_create_volume(shared, VolumeSpec(name="disk.qcow2", format="qcow2", capacity=1 << 20)):
        action.apply()
    st = os.stat(os.path.join(target, "disk.qcow2"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (43210, 43211, 0o600)
    vol = netfs.get_volume(shared, "disk.qcow2")
    for action in netfs.plan_resize_volume(shared, vol, 2 << 20):
        action.apply()
    assert netfs.get_volume(shared, "disk.qcow2").capacity == 2 << 20
    for action in netfs.plan_delete_volume(shared, netfs.get_volume(shared, "disk.qcow2")):
        action.apply()
    assert os.listdir(target) == []


def test_a_volumes_own_permissions_choose_who_makes_it(open_dir, mounted):
    target = os.path.join(open_dir, "p")
    os.mkdir(target)
    os.chmod(target, 0o1777)
    mounted.append(target)
    netfs = backend(Runner())
    spec = VolumeSpec(name="disk.raw", format="raw", capacity=1 << 20, permissions=Permissions(mode=0o640, owner=43220, group=43221))
    for action in netfs.plan_create_volume(pool(target), spec):
        action.apply()
    st = os.stat(os.path.join(target, "disk.raw"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (43220, 43221, 0o640)
