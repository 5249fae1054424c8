# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mpath pools: the selection, volumes with their paths, start's wait and the refusals, on a sysfs
tree laid out as the test VM's (test_multipath_paths.Tree: maps pcmpa over sda and sdb, and
1Linux_scsi_debug_2001 over sdc and sdd) and dmsetup output recorded there with sda failed
(fixtures/dmsetup/mpath_vm_*). The real maps and multipathd are the VM scenario's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import _mpath
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _multipath_paths, _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._model import MapPath, PoolDef, PoolSource, VolumeSpec

from ansible_collections.poolcraft.storage.tests.unit.conftest import FakeRunner
from ansible_collections.poolcraft.storage.tests.unit.plugins.module_utils._host.test_multipath_paths import Tree

UUID = "6f1c2a3b-1234-4abc-8def-0123456789ab"
A, B = "pcmpa", "1Linux_scsi_debug_2001"
WWID_A = "1Linux_scsi_debug_2000"


@pytest.fixture
def host(tmp_path, monkeypatch):
    """The VM's maps in a sysfs tree; /dev without udev links (the maps are found in sysfs)."""
    tree = Tree(str(tmp_path))
    for name, number, hctl in (("sda", "8:0", "2:0:0:0"), ("sdb", "8:16", "3:0:0:0"),
                               ("sdc", "8:32", "4:0:0:1"), ("sdd", "8:48", "5:0:0:1")):
        tree.disk(name, number, hctl)
    tree.dm("dm-0", "253:0", A, "mpath-" + WWID_A, ("sda", "sdb"))
    tree.dm("dm-1", "253:1", B, "mpath-" + B, ("sdc", "sdd"))
    monkeypatch.setattr(_sysfs, "SYS", tree.sys)
    dev = str(tmp_path / "dev")
    os.makedirs(os.path.join(dev, "mapper"))
    monkeypatch.setattr(_multipath_paths, "DEV", dev)
    monkeypatch.setattr(_mpath, "udev_runs", lambda: False)
    return tree


def pool(wwids=(), aliases=(), **changes):
    return PoolDef(name="pcmp", type="mpath", uuid=UUID, target_path="/dev/mapper",
                   source=PoolSource(wwids=tuple(wwids), aliases=tuple(aliases)), **changes)


def runner(tmp_path, *transcripts):
    found = FakeRunner(tmp_path, commands=("dmsetup", "udevadm"))
    for name in transcripts:
        found.load("dmsetup/" + name)
    return found


def backend(fake):
    return _mpath.MpathBackend(fake)


@pytest.mark.parametrize("changes, option", [
    ({"target_path": "/dev/disk/by-id"}, "target.path"),
    ({"source": PoolSource(devices=("/dev/sda",))}, "source.devices"),
    ({"mount_options": ("ro",)}, "mount_options"),
])
def test_definitions_refused_by_name(changes, option, tmp_path):
    with pytest.raises(ValidationError) as caught:
        backend(runner(tmp_path)).validate(pool().with_changes(**changes))
    assert str(caught.value).startswith(option)


def test_the_target_is_fixed_and_nothing_is_built(tmp_path):
    mpath = backend(runner(tmp_path))
    assert mpath.default_target_path(pool()) == "/dev/mapper"
    assert not mpath.supports("plan_build") and not mpath.supports("plan_delete")


def test_refresh_reads_sysfs_only(tmp_path, host):
    fake = runner(tmp_path)  # no step: any command fails the test
    status = backend(fake).refresh(pool(aliases=[A]))
    assert (status.capacity, status.allocation, status.available, status.volume_count) == (32768 * 512, 32768 * 512, 0, 1)
    assert backend(fake).refresh(pool()).volume_count == 2  # no selection: every map, as libvirt
    assert fake.calls == []


def test_volumes_are_the_selected_maps_with_every_path(tmp_path, host):
    fake = runner(tmp_path, "mpath_vm_two_maps_one_path_failed")
    volumes = backend(fake).list_volumes(pool(wwids=[B], aliases=[A]))
    fake.assert_done()
    assert [(vol.name, vol.key, vol.path, vol.capacity, vol.type, vol.map_state) for vol in volumes] == [
        (B, B, "/dev/mapper/" + B, 32768 * 512, "block", "active"),
        (A, WWID_A, "/dev/mapper/pcmpa", 32768 * 512, "block", "active")]
    assert volumes[1].paths == (MapPath(device="sdb", hctl="3:0:0:0", state="active", group=1, group_state="active"),
                                MapPath(device="sda", hctl="2:0:0:0", state="failed", group=2, group_state="enabled"))


def test_a_map_without_an_active_path_is_degraded_not_hidden(tmp_path, host):
    fake = FakeRunner(tmp_path, commands=("dmsetup",))
    fake.expect(["dmsetup", "table", A], stdout="0 32768 multipath 0 1 alua 2 1 service-time 0 1 2 8:16 1 1 "
                                                "service-time 0 1 2 8:0 1 1\n")
    fake.expect(["dmsetup", "status", A], stdout="0 32768 multipath 2 0 1 0 2 1 E 0 1 2 8:16 F 2 0 1 "
                                                 "E 0 1 2 8:0 F 1 0 1\n")
    volume = backend(fake).get_volume(pool(aliases=[A]), A)
    assert volume.map_state == "degraded" and [path.state for path in volume.paths] == ["failed", "failed"]


def test_dmsetup_is_needed_for_the_paths(tmp_path, host):
    with pytest.raises(StorageError, match="dmsetup"):
        backend(FakeRunner(tmp_path, commands=())).list_volumes(pool(aliases=[A]))


def test_start_waits_for_the_maps_then_names_the_missing(tmp_path, host, monkeypatch):
    assert backend(runner(tmp_path)).plan_start(pool(wwids=[WWID_A], aliases=[B])) == []
    monkeypatch.setattr(_mpath, "MAP_WAIT", 0.3)
    with pytest.raises(StorageError) as caught:
        backend(runner(tmp_path)).plan_start(pool(wwids=[WWID_A, "3600nothere"], aliases=["pcgone"]))
    assert str(caught.value).startswith("pool 'pcmp': no multipath map has WWID 3600nothere, alias pcgone (waited 0 s")


def test_start_finds_a_map_made_while_it_waits(tmp_path, host, monkeypatch):
    monkeypatch.setattr(_mpath, "MAP_WAIT", 5.0)
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        host.dm("dm-2", "253:2", "pclate", "mpath-3600late")  # multipathd made it meanwhile
    monkeypatch.setattr(_mpath.time, "sleep", sleep)
    assert backend(runner(tmp_path)).plan_start(pool(aliases=["pclate"])) == [] and len(sleeps) == 1


def test_start_settles_udev_within_the_deadline(tmp_path, host, monkeypatch):
    monkeypatch.setattr(_mpath, "MAP_WAIT", 0.3)
    monkeypatch.setattr(_mpath, "udev_runs", lambda: True)
    fake = FakeRunner(tmp_path, commands=("udevadm",))
    for _i in range(50):
        fake.expect(["udevadm", "settle", "--timeout=1"])
    with pytest.raises(StorageError):
        backend(fake).plan_start(pool(aliases=["pcgone"]))
    assert fake.calls and all(timeout == 11 for timeout in fake.timeouts)


def test_stop_holds_nothing(tmp_path):
    assert backend(runner(tmp_path)).plan_stop(pool()) == []


def test_volume_name_at_any_name_of_a_map(tmp_path, host):
    mpath, selected = backend(runner(tmp_path)), pool(aliases=[A])
    for given in ("/dev/mapper/pcmpa", WWID_A, "/dev/disk/by-id/dm-uuid-mpath-" + WWID_A):
        assert mpath.volume_name_at(selected, given) == A
    assert mpath.volume_name_at(selected, "/dev/mapper/" + B) is None  # not selected
    assert mpath.volume_path(selected, A) == "/dev/mapper/pcmpa"
    with pytest.raises(NotFoundError, match="has no multipath map '%s'" % B):
        mpath.volume_path(selected, B)


@pytest.mark.parametrize("plan, words", [
    (lambda mpath, vol: mpath.plan_create_volume(pool(), VolumeSpec(name="new", format="raw", capacity=1 << 20)),
     "mpath pools cannot create volume 'new': multipathd makes a map for each LUN"),
    (lambda mpath, vol: mpath.plan_delete_volume(pool(), vol), "mpath pools cannot delete volume 'pcmpa'"),
    (lambda mpath, vol: mpath.plan_resize_volume(pool(), vol, 2 << 20), "mpath pools cannot resize volume 'pcmpa'"),
])
def test_maps_are_neither_made_resized_nor_deleted(plan, words, tmp_path):
    volume = _mpath.VolumeDef(name=A, path="/dev/mapper/pcmpa", key=WWID_A, format="raw", capacity=1 << 20,
                              allocation=1 << 20, type="block")
    with pytest.raises(StorageError) as caught:
        plan(backend(runner(tmp_path)), volume)
    assert words in str(caught.value) and "\n" not in str(caught.value)
