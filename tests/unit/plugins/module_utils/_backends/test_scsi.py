# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ScsiBackend on recorded sysfs trees of an FC HBA (fixtures/umockdev/, laid out as a plain tree):
the class data and validate()'s refusals, start (a rescan; a managed vHBA created first), stop (the
managed vHBA deleted, refused while a LUN is in use; nothing otherwise), the LUNs as volumes
(unit:C:T:L, WWID keys, by-path and by-id links, the controller LUN left out), the refusals of LUN
creation, resize and deletion, and writes to a LUN (wipe, clone_from) refused for a path of a
multipath map, naming the map.

No real fabric, HBA or vHBA was involved (no FC hardware exists here; see test_scsi_adapters.py for
how the trees were made). The real SCSI layer is the VM scenario's (test_storage_pool_scsi_vm.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import _scsi
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._scsi import ScsiBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev, _mounts, _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._model import (Adapter, CloneSource, PciAddress, Permissions, PoolDef,
                                                                               PoolSource, VolumeSpec)

from ansible_collections.poolcraft.storage.tests.unit.conftest import FakeRunner
from ansible_collections.poolcraft.storage.tests.unit.plugins.module_utils._host.test_scsi_adapters import FakeFcKernel, VHBA_WWNN, VHBA_WWPN

UUID = "5c4b3a29-1f0e-4d2c-9b8a-7e6f5d4c3b2a"
GIB = 1 << 30
LUN1_WWID = "360060e80104a3b000000000000000101"
LUN2_WWID = "360060e80104a3b000000000000000102"
LUN1_BY_PATH = "/dev/disk/by-path/pci-0000:05:00.0-fc-0x50060e80104a3b12-lun-1"


class Host(FakeFcKernel):
    """The HBA's tree as the host's /sys and udev database, mounts of the test's own."""

    def __init__(self, root, monkeypatch):
        super(Host, self).__init__(root, monkeypatch)
        monkeypatch.setattr(_sysfs, "SYS", self.sys)
        monkeypatch.setattr(_sysfs, "UDEV_DATA", os.path.join(self.root, "run", "udev", "data"))
        monkeypatch.setattr(_blockdev, "SYS_BLOCK", os.path.join(self.sys, "class", "block"))
        monkeypatch.setattr(_scsi, "udev_runs", lambda: False)
        self.mounts = []
        monkeypatch.setattr(_mounts, "read_mounts", lambda: _mounts.parse_mountinfo("\n".join(self.mounts)))
        monkeypatch.setattr(_mounts, "read_swaps", set)

    def make_map(self, block, name, wwid):
        """A multipath map dm-0 holding the disk block (what the kernel shows in sysfs)."""
        dm = os.path.join(self.sys, "devices", "virtual", "block", "dm-0")
        os.makedirs(os.path.join(dm, "dm"))
        for attr, value in (("name", name), ("uuid", "mpath-" + wwid)):
            with open(os.path.join(dm, "dm", attr), "w") as handle:
                handle.write(value + "\n")
        os.symlink(dm, os.path.join(self.sys, "class", "block", "dm-0"))
        holders = os.path.join(os.path.realpath(os.path.join(self.sys, "class", "block", block)), "holders")
        os.makedirs(holders, exist_ok=True)
        os.symlink(dm, os.path.join(holders, "dm-0"))


@pytest.fixture
def host(tmp_path, monkeypatch):
    return Host(tmp_path, monkeypatch)


@pytest.fixture
def runner(tmp_path):
    made = FakeRunner(tmp_path, commands=("qemu-img", "wipefs", "udevadm"))
    yield made
    made.assert_done()


def pool_def(target="/dev/disk/by-path", **adapter):
    adapter.setdefault("type", "scsi_host")
    return PoolDef(name="san", type="scsi", uuid=UUID, target_path=target, source=PoolSource(adapter=Adapter(**adapter)))


def managed(**extra):
    return pool_def(type="fc_host", wwnn=VHBA_WWNN, wwpn=VHBA_WWPN, managed=True, **extra)


def descriptions(actions):
    return [action.description for action in actions]


def apply(actions):
    for action in actions:
        action.apply()


# -- class data and validate ---------------------------------------------------------------------

def test_class_data():
    backend = ScsiBackend(None)
    assert backend.default_target_path(pool_def()) == "/dev/disk/by-path"
    assert backend.volume_formats == ("raw",)
    assert ScsiBackend.supports("plan_start") and ScsiBackend.supports("plan_stop") and ScsiBackend.supports("plan_wipe_volume")
    assert ScsiBackend.supports("plan_clone_into")
    assert not ScsiBackend.supports("plan_build") and not ScsiBackend.supports("plan_delete")


def test_validate():
    backend = ScsiBackend(None)
    backend.validate(pool_def(name="host3"))
    backend.validate(pool_def(target="/dev/disk/by-id", name="host3"))
    with pytest.raises(ValidationError) as refused:
        backend.validate(pool_def(target="/srv/luns", name="host3"))
    assert str(refused.value).startswith("target.path='/srv/luns': scsi pools show their LUNs through udev's links")
    with pytest.raises(ValidationError) as refused:
        backend.validate(PoolDef(name="san", type="scsi", uuid=UUID, target_path="/dev/disk/by-path", source=PoolSource()))
    assert str(refused.value) == "source.adapter=None: scsi pools need it"
    with pytest.raises(ValidationError) as refused:
        backend.validate(PoolDef(name="san", type="scsi", uuid=UUID, target_path="/dev/disk/by-path",
                                 source=PoolSource(adapter=Adapter(type="scsi_host", name="host3"), host="192.0.2.1")))
    assert "scsi pools take no source.host (they take source.adapter)" in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        backend.validate(pool_def(name="host3").with_changes(permissions=Permissions(mode=0o700)))
    assert str(refused.value).startswith("target.permissions=")


# -- start, stop and state -----------------------------------------------------------------------

def test_start_by_name_rescans(host):
    host.add_vhba()
    backend = ScsiBackend(None)
    pool = pool_def(name="host8")
    assert backend.live_state(pool) is None  # the store's marks decide
    actions = backend.plan_start(pool)
    assert descriptions(actions) == ["scan host8 for LUNs"]
    assert host.writes == []
    apply(actions)
    assert host.writes == [("class/scsi_host/host8/scan", "- - -")]
    assert backend.plan_stop(pool) == []


def test_start_by_parent_address(host):
    pool = pool_def(parent_address=PciAddress(0, 5, 0, 0), unique_id=5)
    apply(ScsiBackend(None).plan_start(pool))
    assert host.writes == [("class/scsi_host/host5/scan", "- - -")]


def test_start_settles_udev_with_a_deadline(host, runner, monkeypatch):
    monkeypatch.setattr(_scsi, "udev_runs", lambda: True)
    runner.expect(["udevadm", "settle", "--timeout=60"])
    apply(ScsiBackend(runner).plan_start(pool_def(name="host5")))
    assert runner.timeouts == [70]


def test_start_of_a_missing_host_is_refused_while_planning(host):
    backend = ScsiBackend(None)
    pool = pool_def(name="host8")
    assert backend.live_state(pool) is False
    with pytest.raises(ValidationError) as refused:
        backend.plan_start(pool)
    assert str(refused.value) == "source.adapter.name='host8': no such SCSI host here (SCSI hosts: host5, host6, host7)"
    assert backend.list_volumes(pool) == []


def test_managed_vhba_created_on_start_and_deleted_on_stop(host):
    backend = ScsiBackend(None)
    pool = managed()
    assert backend.live_state(pool) is False
    assert backend.plan_stop(pool) == []
    actions = backend.plan_start(pool)
    assert descriptions(actions) == ["create the NPIV vHBA WWNN %s WWPN %s on host5, scan its LUNs" % (VHBA_WWNN, VHBA_WWPN)]
    assert host.writes == []
    apply(actions)
    assert host.writes == [("class/fc_host/host5/vport_create", "%s:%s" % (VHBA_WWPN, VHBA_WWNN)),
                           ("class/scsi_host/host8/scan", "- - -")]
    assert backend.live_state(pool) is True
    assert [vol.name for vol in backend.list_volumes(pool)] == ["unit:0:0:1", "unit:0:0:2"]

    host.mounts.append("36 25 8:32 / /mnt/lun1 rw,relatime shared:1 - ext4 /dev/sdc rw")
    with pytest.raises(StorageError) as refused:
        backend.plan_stop(pool)
    assert str(refused.value) == ("pool 'san': LUNs in use (unit:0:0:1 (/dev/sdc): mounted at /mnt/lun1); "
                                  "refusing to delete its vHBA")
    host.mounts = []
    actions = backend.plan_stop(pool)
    assert descriptions(actions) == ["delete the NPIV vHBA host8 (WWPN %s) from host5" % VHBA_WWPN]
    host.mounts.append("36 25 8:32 / /mnt/lun1 rw,relatime shared:1 - ext4 /dev/sdc rw")
    with pytest.raises(StorageError):
        apply(actions)  # mounted since the plan: the apply looks again
    host.mounts = []
    apply(actions)
    assert host.writes[-1] == ("class/fc_host/host5/vport_delete", "%s:%s" % (VHBA_WWPN, VHBA_WWNN))
    assert backend.live_state(pool) is False and backend.list_volumes(pool) == []


def test_managed_vhba_on_a_parent_that_cannot_is_refused_while_planning(host):
    with pytest.raises(ValidationError) as refused:
        ScsiBackend(None).plan_start(managed(parent="host6"))
    assert str(refused.value).startswith("source.adapter.parent='host6': cannot make an NPIV vport now")
    assert host.writes == []


def test_unmanaged_vhba_is_never_deleted(host):
    host.add_vhba()
    backend = ScsiBackend(None)
    pool = pool_def(type="fc_host", wwnn=VHBA_WWNN, wwpn=VHBA_WWPN)
    assert backend.live_state(pool) is None
    assert descriptions(backend.plan_start(pool)) == ["scan host8 for LUNs"]
    assert backend.plan_stop(pool) == []
    unmanaged = pool_def(type="fc_host", wwnn=VHBA_WWNN, wwpn=VHBA_WWPN, managed=False)
    assert backend.plan_stop(unmanaged) == []


def test_refresh(host):
    host.add_vhba()
    status = ScsiBackend(None).refresh(pool_def(name="host8"))
    assert (status.capacity, status.allocation, status.available, status.volume_count) == (GIB + GIB // 2, GIB + GIB // 2, 0, 2)


# -- volumes ---------------------------------------------------------------------------------------

def test_luns_as_volumes(host):
    host.add_vhba()
    lun1, lun2 = ScsiBackend(None).list_volumes(pool_def(name="host8"))
    assert (lun1.name, lun1.path, lun1.key, lun1.capacity, lun1.allocation, lun1.type, lun1.format, lun1.multipath_map) == (
        "unit:0:0:1", LUN1_BY_PATH, LUN1_WWID, GIB, GIB, "block", "raw", None)
    # no udev record: the key from the kernel's VPD 0x83 designator, the path the kernel's node
    assert (lun2.name, lun2.path, lun2.key, lun2.capacity) == ("unit:0:0:2", "/dev/sdd", LUN2_WWID, GIB // 2)


def test_luns_under_by_id(host):
    host.add_vhba()
    lun1 = ScsiBackend(None).list_volumes(pool_def(target="/dev/disk/by-id", name="host8"))[0]
    assert lun1.path == "/dev/disk/by-id/scsi-" + LUN1_WWID


def test_volume_lookup(host):
    host.add_vhba()
    backend = ScsiBackend(None)
    pool = pool_def(name="host8")
    assert backend.get_volume(pool, "unit:0:0:2").key == LUN2_WWID
    assert backend.get_volume(pool, "unit:0:0:9") is None
    assert backend.volume_path(pool, "unit:0:0:1") == LUN1_BY_PATH
    with pytest.raises(NotFoundError) as refused:
        backend.volume_path(pool, "unit:0:0:9")
    assert "made on the storage array" in str(refused.value)
    for spelling in ("unit:0:0:1", LUN1_WWID, LUN1_BY_PATH):
        assert backend.volume_name_at(pool, spelling) == "unit:0:0:1"
    assert backend.volume_name_at(pool, "/dev/sdd") == "unit:0:0:2"
    assert backend.volume_name_at(pool, "/dev/sdx") is None and backend.volume_name_at(pool, "") is None


@pytest.mark.parametrize("plan, words", [
    (lambda backend, pool, vol: backend.plan_create_volume(pool, VolumeSpec(name="unit:0:0:7", format="raw", capacity=GIB)),
     "pool 'san': cannot create volume 'unit:0:0:7': LUNs of a scsi pool are made on the storage array"),
    (lambda backend, pool, vol: backend.plan_resize_volume(pool, vol, 2 * GIB),
     "pool 'san': cannot resize volume 'unit:0:0:1': LUNs of a scsi pool are made on the storage array"),
    (lambda backend, pool, vol: backend.plan_delete_volume(pool, vol, "zero"),
     "pool 'san': cannot delete volume 'unit:0:0:1': LUNs of a scsi pool are made on the storage array"),
])
def test_luns_are_made_on_the_array(host, plan, words):
    host.add_vhba()
    backend, pool = ScsiBackend(None), pool_def(name="host8")
    with pytest.raises(StorageError) as refused:
        plan(backend, pool, backend.get_volume(pool, "unit:0:0:1"))
    assert str(refused.value).startswith(words) and "\n" not in str(refused.value)


# -- writes to a LUN ---------------------------------------------------------------------------------

def test_wipe(host, monkeypatch):
    host.add_vhba()
    done = []
    monkeypatch.setattr(_scsi, "overwrite", lambda *args, **kwargs: done.append((args, kwargs)))
    backend, pool = ScsiBackend(None), pool_def(name="host8")
    volume = backend.get_volume(pool, "unit:0:0:1")
    actions = backend.plan_wipe_volume(pool, volume, "zero")
    assert descriptions(actions) == ["wipe (zero) volume 'unit:0:0:1' (%s)" % LUN1_BY_PATH]
    apply(actions)
    assert done == [(("/dev/sdc", "zero"), {"expected_size": GIB, "exclusive": True})]
    host.mounts.append("36 25 8:32 / /mnt/lun1 rw,relatime shared:1 - ext4 /dev/sdc rw")
    with pytest.raises(StorageError) as refused:
        backend.plan_wipe_volume(pool, volume, "zero")
    assert str(refused.value) == ("volume 'unit:0:0:1' (%s) is in use (mounted at /mnt/lun1); refusing to wipe it" % LUN1_BY_PATH)


def test_wipe_of_a_lun_that_changed_size_is_refused(host):
    host.add_vhba()
    backend, pool = ScsiBackend(None), pool_def(name="host8")
    volume = backend.get_volume(pool, "unit:0:0:1")
    with open(os.path.join(host.sys, "class", "block", "sdc", "size"), "w") as handle:
        handle.write("4194304\n")
    with pytest.raises(StorageError) as refused:
        backend.plan_wipe_volume(pool, volume, "zero")
    assert "changed size since it was read" in str(refused.value)


def test_a_path_of_a_multipath_map_is_never_written(host, runner, tmp_path):
    host.add_vhba()
    host.make_map("sdc", "mpatha", LUN1_WWID)
    backend, pool = ScsiBackend(runner), pool_def(name="host8")
    volume = backend.get_volume(pool, "unit:0:0:1")
    assert volume.multipath_map == "mpatha"
    assert backend.get_volume(pool, "unit:0:0:2").multipath_map is None
    expected = ("volume 'unit:0:0:1' (%s) is a path of multipath map mpatha; refusing to %%s it: write to /dev/mapper/mpatha "
                "(/dev/disk/by-id/dm-uuid-mpath-%s) instead" % (LUN1_BY_PATH, LUN1_WWID))
    with pytest.raises(StorageError) as refused:
        backend.plan_wipe_volume(pool, volume, "zero")
    assert str(refused.value) == expected % "wipe"
    image = tmp_path / "image.raw"
    image.write_bytes(b"\0" * 4096)
    with pytest.raises(StorageError) as refused:
        backend.plan_clone_into(pool, volume, CloneSource(path=str(image), format="raw", capacity=4096))
    assert str(refused.value) == expected % "copy an image into"


def test_clone_into_a_lun(host, runner, tmp_path):
    host.add_vhba()
    image = tmp_path / "image.raw"
    image.write_bytes(b"\0" * 4096)
    clone = CloneSource(path=str(image), format="raw", capacity=4096)
    backend, pool = ScsiBackend(runner), pool_def(name="host8")
    volume = backend.get_volume(pool, "unit:0:0:2")
    source = "driver=raw,file.driver=file,file.filename=%s" % image
    window = "driver=raw,size=4096,file.driver=host_device,file.filename=/dev/sdd"
    compare = ["qemu-img", "compare", "-q", "--image-opts", source, window]
    probe = ["wipefs", "--no-act", "--json", "-O", "TYPE,OFFSET", "/dev/sdd"]
    # holds it already: nothing to do
    runner.expect(compare, rc=0)
    assert backend.plan_clone_into(pool, volume, clone) == []
    # a signature without overwrite: refused
    runner.expect(compare, rc=1)
    runner.expect(probe, stdout='{"signatures": [{"type": "ext4", "offset": "0x438"}]}')
    with pytest.raises(StorageError) as refused:
        backend.plan_clone_into(pool, volume, clone)
    assert str(refused.value) == ("clone_from: volume 'unit:0:0:2' (/dev/sdd) carries ext4; refusing to overwrite it "
                                  "(state: wiped clears it)")
    # with overwrite: the copy
    runner.expect(compare, rc=1)
    actions = backend.plan_clone_into(pool, volume, clone, overwrite=True)
    assert descriptions(actions) == ["clone %s (raw) into volume 'unit:0:0:2' (/dev/sdd)" % image]
    runner.expect(["qemu-img", "convert", "-q", "-n", "-f", "raw", "-O", "raw", str(image), "/dev/sdd"])
    assert [action.apply() for action in actions] == ["copy"]
    with pytest.raises(StorageError) as refused:
        backend.plan_clone_into(pool, volume, CloneSource(path=str(image), format="raw", capacity=GIB))
    assert "is larger than volume 'unit:0:0:2'" in str(refused.value)


def test_managed_with_the_wwns_of_a_physical_port_is_refused(host):
    backend = ScsiBackend(None)
    pool = pool_def(type="fc_host", wwnn="2000001b32912a4c", wwpn="2100001b32912a4c", managed=True)
    assert backend.live_state(pool) is True  # the port is there
    for plan in (backend.plan_start, backend.plan_stop):
        with pytest.raises(ValidationError) as refused:
            plan(pool)
        assert str(refused.value) == ("source.adapter.managed=True: WWNN 2000001b32912a4c and WWPN 2100001b32912a4c are those "
                                      "of the physical FC port host5, which is never created or deleted; leave managed out")
    assert host.writes == []
