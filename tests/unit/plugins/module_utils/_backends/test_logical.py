# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""logical pools: build plans, refusals and volumes against LVM reports recorded from the real LVM
(fixtures/lvm, see fixtures/record_lvm.py). The host recording has VG pcfix on /dev/loop8 and
/dev/loop9 (LVs data and logs, both on loop8), VG pcother on /dev/loop17, and an orphan PV on
/dev/loop18. Device nodes are replaced by their numbers (7:N for /dev/loopN) and what
_blockdev.inspect would find; the real devices are the integration tests' business."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import _logical
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev
from ansible_collections.poolcraft.storage.plugins.module_utils._host._multipath_paths import MapOfPath
from ansible_collections.poolcraft.storage.plugins.module_utils._model import (
    BackingStore, CloneSource, Permissions, PoolDef, PoolSource, ThinPool, VolumeSpec)
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._lvm import parse_lvs

from ansible_collections.poolcraft.storage.tests.unit.conftest import FakeRunner, load_transcript

UUID = "6f1c2a3b-1234-4abc-8def-0123456789ab"
# the one step of these recordings, for their argv or an edited stdout
VGS_HOST = load_transcript("lvm/vgs_host")["steps"][0]
PVS_HOST = load_transcript("lvm/pvs_host")["steps"][0]
LVS_VM = load_transcript("lvm/lvs_vm_thin_snapshots_open")["steps"][0]
MiB = 1 << 20


class Found(dict):
    """{node: (signatures, uses)}, and .paths: {node: the MapOfPath of the map it is a path of}."""


@pytest.fixture
def devices(monkeypatch):
    """Loop devices as the recording saw them: links resolve to /dev/loopN, numbered 7:N;
    signatures and uses of each as inspect would report them (blank and unused by default)."""
    found = Found()

    def resolve(device, option="source.device"):
        path = device.replace("/dev/disk/by-id/link-", "/dev/")
        if not path.startswith("/dev/loop"):
            raise ValidationError(option, device, "no such device")
        return path

    def inspect(device, runner):
        signatures, uses = found.get(device, ((), ()))
        return _blockdev.DeviceState(path=device, name=device[5:], signatures=tuple(signatures), uses=tuple(uses))

    monkeypatch.setattr(_blockdev, "resolve", resolve)
    monkeypatch.setattr(_blockdev, "inspect", inspect)
    monkeypatch.setattr(_logical, "device_number", lambda path: (7, int(path[len("/dev/loop"):])))
    # no device is a path of a multipath map unless a test says so (paths[node] = MapOfPath)
    paths = found.paths = {}
    monkeypatch.setattr(_logical, "map_of_path", paths.get)
    return found


def runner_for(tmp_path):
    return FakeRunner(tmp_path, commands=("lvm", "wipefs", "qemu-img"))


def replay(runner, *names):
    """runner, expecting the recorded commands of fixtures/lvm/<name>.json, in order."""
    for name in names:
        runner.load("lvm/" + name)
    return runner


def pool(name="pcfix", devices=("/dev/loop8", "/dev/loop9"), **changes):
    return PoolDef(name=name, type="logical", uuid=UUID, target_path="/dev/" + (changes.get("source_name") or name),
                   source=PoolSource(devices=tuple(devices), name=changes.pop("source_name", None)),
                   thin_pool=changes.pop("thin_pool", None))


def backend(runner, **settings):
    return _logical.LogicalBackend(runner, settings)


def described(actions):
    return [action.description for action in actions]


def applied(actions):
    return [action.apply() for action in actions]


# -- definition ------------------------------------------------------------------------

def test_the_vg_is_the_pool_name_unless_source_name_says_otherwise(tmp_path):
    logical = backend(runner_for(tmp_path))
    assert logical.default_target_path(pool()) == "/dev/pcfix"
    named = pool(name="guests", source_name="pcfix")
    assert logical.vg_name(named) == "pcfix" and named.target_path == "/dev/pcfix"
    logical.validate(named)


@pytest.mark.parametrize("changes, option", [
    ({"target_path": "/srv/pcfix"}, "target.path"),
    ({"name": "my pool", "target_path": "/dev/my pool"}, "name (the volume group"),
    ({"source": PoolSource(name="-x")}, "source.name"),
    ({"source": PoolSource(format="gpt")}, "source.format"),
    ({"thin_pool": ThinPool("tp_tmeta", 1)}, "thin_pool.name"),
    ({"thin_pool": ThinPool("snapshot1", 1)}, "thin_pool.name"),
])
def test_definitions_refused_by_name(changes, option, tmp_path):
    with pytest.raises(ValidationError) as caught:
        backend(runner_for(tmp_path)).validate(pool().with_changes(**changes))
    assert str(caught.value).startswith(option)


# -- build: a new VG -------------------------------------------------------------------

VGS_EMPTY = '{"report": [{"vg": []}]}'
PVS_EMPTY = '{"report": [{"pv": []}]}'


def test_build_of_a_new_vg_on_blank_devices(tmp_path, devices):
    runner = runner_for(tmp_path)
    runner.expect(VGS_HOST["argv"], stdout=VGS_EMPTY)
    runner.expect(PVS_HOST["argv"], stdout=PVS_EMPTY)
    steps = described(backend(runner, autostart=False).plan_build(pool(name="pcnew", devices=["/dev/loop3", "/dev/loop4"]), False))
    runner.assert_done()
    assert steps == ["make /dev/loop3 a physical volume", "make /dev/loop4 a physical volume",
                     "create volume group pcnew on /dev/loop3, /dev/loop4 (LVM autoactivation off)"]


def test_build_runs_the_plan_it_makes_looking_again_at_what_each_step_needs(tmp_path, devices):
    devices["/dev/loop3"] = (("ext4",), ())
    runner = runner_for(tmp_path)
    runner.expect(VGS_HOST["argv"], stdout=VGS_EMPTY)
    runner.expect(PVS_HOST["argv"], stdout=PVS_EMPTY)
    runner.expect(["wipefs", "--all", "--quiet", "/dev/loop3"])
    runner.expect(["lvm", "pvcreate", "/dev/loop3"])
    runner.expect(VGS_HOST["argv"], stdout=VGS_EMPTY)  # the VG is still not there
    runner.expect(["lvm", "vgcreate", "--setautoactivation", "y", "pcnew", "/dev/loop3"])
    applied(backend(runner, autostart=True).plan_build(pool(name="pcnew", devices=["/dev/loop3"]), True))
    runner.assert_done()


@pytest.mark.parametrize("signature", ["ext4", "xfs", "btrfs", "gpt", "dos", "LVM2_member", "swap", "crypto_LUKS"])
def test_a_signature_is_refused_without_overwrite_naming_device_and_signature(signature, tmp_path, devices):
    devices["/dev/loop4"] = ((signature,), ())
    runner = runner_for(tmp_path)
    runner.expect(VGS_HOST["argv"], stdout=VGS_EMPTY)
    runner.expect(PVS_HOST["argv"], stdout=PVS_EMPTY)
    with pytest.raises(StorageError) as caught:
        backend(runner).plan_build(pool(name="pcnew", devices=["/dev/loop3", "/dev/loop4"]), False)
    message = str(caught.value)
    assert "source.devices /dev/loop4" in message and signature in message and "overwrite: true" in message


def test_overwrite_erases_the_signature_first(tmp_path, devices):
    devices["/dev/loop4"] = (("gpt", "PMBR"), ())
    runner = runner_for(tmp_path)
    runner.expect(VGS_HOST["argv"], stdout=VGS_EMPTY)
    runner.expect(PVS_HOST["argv"], stdout=PVS_EMPTY)
    steps = described(backend(runner).plan_build(pool(name="pcnew", devices=["/dev/loop4"]), True))
    assert steps[:2] == ["erase gpt/PMBR signature on /dev/loop4", "make /dev/loop4 a physical volume"]


def test_a_device_in_use_is_refused_even_with_overwrite(tmp_path, devices):
    devices["/dev/loop4"] = (("ext4",), ("mounted at /mnt/x",))
    runner = replay(runner_for(tmp_path), "vgs_host", "pvs_host")
    with pytest.raises(StorageError, match=r"/dev/loop4 is in use \(mounted at /mnt/x\).*even with overwrite"):
        backend(runner).plan_build(pool(name="pcnew", devices=["/dev/loop4"]), True)


def test_a_pv_of_another_vg_is_refused_even_with_overwrite(tmp_path, devices):
    runner = replay(runner_for(tmp_path), "vgs_host", "pvs_host")
    with pytest.raises(StorageError) as caught:
        backend(runner).plan_build(pool(name="pcnew", devices=["/dev/disk/by-id/link-loop17"]), True)
    assert str(caught.value) == ("source.devices /dev/disk/by-id/link-loop17 is a physical volume of volume group "
                                 "pcother; refusing to use it, even with overwrite")


def test_the_same_device_twice_under_two_names(tmp_path, devices):
    runner = replay(runner_for(tmp_path), "vgs_host")
    with pytest.raises(ValidationError, match="the same device as /dev/loop3"):
        backend(runner).plan_build(pool(name="pcnew", devices=["/dev/loop3", "/dev/disk/by-id/link-loop3"]), False)


def test_a_new_vg_needs_devices(tmp_path, devices):
    runner = runner_for(tmp_path)
    runner.expect(VGS_HOST["argv"], stdout=VGS_EMPTY)
    runner.expect(PVS_HOST["argv"], stdout=PVS_EMPTY)
    with pytest.raises(ValidationError, match="volume group pcnew does not exist; list the devices"):
        backend(runner).plan_build(pool(name="pcnew", devices=()), False)


# -- build on SAN: never on a path of a multipath map ---------------------------------------

MAP = MapOfPath(name="pcmpa", wwid="1Linux_scsi_debug_2000", dm="dm-0")
MAP_WORDS = "list the map instead, /dev/mapper/pcmpa or /dev/disk/by-id/dm-uuid-mpath-1Linux_scsi_debug_2000"


def test_a_new_vg_on_a_path_is_refused_naming_the_map(tmp_path, devices):
    devices.paths["/dev/loop4"] = MAP
    runner = runner_for(tmp_path)
    runner.expect(VGS_HOST["argv"], stdout=VGS_EMPTY)
    runner.expect(PVS_HOST["argv"], stdout=PVS_EMPTY)
    with pytest.raises(StorageError) as caught:
        backend(runner).plan_build(pool(name="pcnew", devices=["/dev/loop3", "/dev/disk/by-id/link-loop4"]), True)
    assert str(caught.value) == ("source.devices /dev/disk/by-id/link-loop4 is a path of multipath map pcmpa; refusing "
                                 "to use it, even with overwrite: " + MAP_WORDS)
    runner.assert_done()  # and nothing written: no wipefs, no pvcreate


def test_extending_a_vg_with_a_path_is_refused_naming_the_map(tmp_path, devices):
    devices.paths["/dev/loop3"] = MAP
    runner = replay(runner_for(tmp_path), "vgs_host", "pvs_host")
    with pytest.raises(StorageError, match="source.devices /dev/loop3 is a path of multipath map pcmpa"):
        backend(runner).plan_build(pool(devices=["/dev/loop8", "/dev/loop9", "/dev/loop3"]), False)


def test_a_device_that_became_a_path_since_the_plan_is_refused_when_applied(tmp_path, devices):
    runner = runner_for(tmp_path)
    runner.expect(VGS_HOST["argv"], stdout=VGS_EMPTY)
    runner.expect(PVS_HOST["argv"], stdout=PVS_EMPTY)
    actions = backend(runner).plan_build(pool(name="pcnew", devices=["/dev/loop3"]), False)
    devices.paths["/dev/loop3"] = MAP  # multipathd made a map of it meanwhile
    with pytest.raises(StorageError, match="is a path of multipath map pcmpa"):
        applied(actions)
    runner.assert_done()  # pvcreate never ran


def test_a_vg_on_the_maps_themselves_is_built(tmp_path, devices):
    devices.paths["/dev/loop5"] = MAP  # a path elsewhere changes nothing for the maps listed
    runner = runner_for(tmp_path)
    runner.expect(VGS_HOST["argv"], stdout=VGS_EMPTY)
    runner.expect(PVS_HOST["argv"], stdout=PVS_EMPTY)
    steps = described(backend(runner, autostart=False).plan_build(pool(name="pcsan", devices=["/dev/loop3", "/dev/loop4"]), False))
    assert steps[-1] == "create volume group pcsan on /dev/loop3, /dev/loop4 (LVM autoactivation off)"


# -- build: the VG there ----------------------------------------------------------------

def test_the_vg_with_the_same_pvs_is_built_whatever_the_device_names(tmp_path, devices):
    runner = replay(runner_for(tmp_path), "vgs_host", "pvs_host", "lvs_host_linear")
    links = ["/dev/disk/by-id/link-loop9", "/dev/disk/by-id/link-loop8"]
    assert backend(runner).plan_build(pool(devices=links), False) == []
    runner.assert_done()


def test_a_new_device_extends_the_vg(tmp_path, devices):
    runner = replay(runner_for(tmp_path), "vgs_host", "pvs_host", "lvs_host_linear")
    steps = described(backend(runner).plan_build(pool(devices=["/dev/loop8", "/dev/loop9", "/dev/loop3"]), False))
    assert steps == ["make /dev/loop3 a physical volume", "add /dev/loop3 to volume group pcfix"]


def test_a_pv_not_listed_is_an_error_without_remove_devices(tmp_path, devices):
    runner = replay(runner_for(tmp_path), "vgs_host", "pvs_host")
    with pytest.raises(StorageError) as caught:
        backend(runner).plan_build(pool(devices=["/dev/loop8"]), False)
    assert "/dev/loop9 is a physical volume of volume group pcfix but is not listed" in str(caught.value)
    assert "remove_devices: true" in str(caught.value)


def test_remove_devices_takes_out_an_empty_pv(tmp_path, devices):
    runner = replay(runner_for(tmp_path), "vgs_host", "pvs_host", "lvs_host_linear")
    steps = described(backend(runner, remove_devices=True).plan_build(pool(devices=["/dev/loop8"]), False))
    assert steps == ["take /dev/loop9 out of volume group pcfix and remove its physical volume label"]


def test_remove_devices_never_takes_out_a_pv_holding_extents(tmp_path, devices):
    runner = replay(runner_for(tmp_path), "vgs_host", "pvs_host")
    with pytest.raises(StorageError) as caught:
        backend(runner, remove_devices=True).plan_build(pool(devices=["/dev/loop9"]), False)
    assert str(caught.value).startswith("cannot take /dev/loop8 out of volume group pcfix: 7 of its extents are in use")


def test_thin_pool_made_by_build_rounded_to_extents(tmp_path, devices):
    runner = replay(runner_for(tmp_path), "vgs_host", "pvs_host", "lvs_host_linear")
    steps = described(backend(runner).plan_build(pool(thin_pool=ThinPool("tp", 10 * MiB)), False))
    assert steps == ["create thin pool tp of 12.0 MiB in pcfix"]


def test_thin_pool_needs_a_size_to_be_made(tmp_path, devices):
    runner = replay(runner_for(tmp_path), "vgs_host", "pvs_host", "lvs_host_linear")
    with pytest.raises(ValidationError, match="thin_pool.size=None: needed to make thin pool tp in pcfix"):
        backend(runner).plan_build(pool(thin_pool=ThinPool("tp")), False)


def test_thin_pool_name_taken_by_a_plain_lv(tmp_path, devices):
    runner = replay(runner_for(tmp_path), "vgs_host", "pvs_host", "lvs_host_linear")
    with pytest.raises(StorageError, match="pcfix/data is an LV that is not a thin pool"):
        backend(runner).plan_build(pool(thin_pool=ThinPool("data", 8 * MiB)), False)


def vm_pool(**changes):
    return pool(name="pcvm", devices=(), **changes)


def test_thin_pool_grows_and_never_shrinks(tmp_path):
    runner = replay(runner_for(tmp_path), "vgs_vm", "pvs_vm", "lvs_vm_thin_snapshots_open")
    steps = described(backend(runner).plan_build(vm_pool(thin_pool=ThinPool("tp", 100 * MiB)), False))
    assert steps == ["grow thin pool tp from 64.0 MiB to 100.0 MiB"]
    runner = replay(runner_for(tmp_path), "vgs_vm", "pvs_vm", "lvs_vm_thin_snapshots_open")
    with pytest.raises(ValidationError, match="thin pools cannot shrink"):
        backend(runner).plan_build(vm_pool(thin_pool=ThinPool("tp", 32 * MiB)), False)
    runner = replay(runner_for(tmp_path), "vgs_vm", "pvs_vm", "lvs_vm_thin_snapshots_open")
    assert backend(runner).plan_build(vm_pool(thin_pool=ThinPool("tp", 63 * MiB)), False) == []


# -- running and autostart ---------------------------------------------------------------

def test_stop_is_refused_while_an_lv_is_open_when_planned(tmp_path):
    # at plan time, so check mode refuses it as the real run does
    runner = replay(runner_for(tmp_path), "vgs_vm", "lvs_vm_thin_snapshots_open")
    with pytest.raises(StorageError) as caught:
        backend(runner).plan_stop(vm_pool())
    assert str(caught.value) == "pool 'pcvm': logical volumes thick of volume group pcvm are open; refusing to stop it"
    runner.assert_done()


def test_stop_deactivates_after_looking_again(tmp_path):
    runner = replay(runner_for(tmp_path), "vgs_host", "lvs_host_linear", "vgs_host", "lvs_host_linear")
    runner.expect(["lvm", "vgchange", "--activate", "n", "pcfix"])
    planned = backend(runner).plan_stop(pool())
    assert described(planned) == ["deactivate volume group pcfix"]
    applied(planned)
    runner.assert_done()


def test_stop_refused_when_an_lv_was_opened_since_the_plan(tmp_path):
    closed = LVS_VM["stdout"].replace('"lv_device_open":"open"', '"lv_device_open":""')
    runner = replay(runner_for(tmp_path), "vgs_vm")
    runner.expect(LVS_VM["argv"], stdout=closed)
    planned = backend(runner).plan_stop(vm_pool())
    replay(runner, "vgs_vm", "lvs_vm_thin_snapshots_open")
    with pytest.raises(StorageError, match="logical volumes thick of volume group pcvm are open"):
        applied(planned)
    runner.assert_done()


@pytest.mark.parametrize("vg, enabled, given, steps", [
    ("pcfix", True, False, ["enable LVM autoactivation of volume group pcfix"]),
    ("pcfix", False, True, []),
    ("pcother", True, True, []),
    ("pcother", False, True, ["disable LVM autoactivation of volume group pcother"]),
    # a VG made elsewhere keeps its autoactivation when the task does not say autostart: false
    ("pcother", False, False, []),
    ("pcnone", True, True, []),
])
def test_autostart_is_lvm_autoactivation(vg, enabled, given, steps, tmp_path):
    runner = replay(runner_for(tmp_path), "vgs_host")
    assert described(backend(runner, autostart_given=given).plan_autostart(pool(name=vg), enabled)) == steps


def test_refresh_counts_volumes_only(tmp_path):
    runner = replay(runner_for(tmp_path), "vgs_vm", "lvs_vm_thin_snapshots_open")
    status = backend(runner).refresh(vm_pool())
    assert status.volume_count == 4
    assert status.allocation == status.capacity - status.available


def test_purge_refuses_lvs_that_are_not_the_pools_own(tmp_path):
    runner = replay(runner_for(tmp_path), "lvs_vm_thin_snapshots_open")
    with pytest.raises(StorageError, match="still holds thick, thicksnap, thin1, thin1snap, tp"):
        backend(runner).plan_delete(vm_pool())


# -- volumes ------------------------------------------------------------------------------

def test_volumes_of_a_thin_pool_with_snapshots(tmp_path):
    runner = replay(runner_for(tmp_path), "lvs_vm_thin_snapshots_open")
    volumes = dict((vol.name, vol) for vol in backend(runner).list_volumes(vm_pool(thin_pool=ThinPool("tp"))))
    assert sorted(volumes) == ["thick", "thicksnap", "thin1", "thin1snap"]
    assert volumes["thin1"].path == volumes["thin1"].key == "/dev/pcvm/thin1"
    assert volumes["thin1"].type == "block" and volumes["thin1"].format == "raw"
    assert volumes["thin1"].capacity == 32 * MiB
    # 4 MiB of random data written into the thin LV: that much is provisioned
    assert 4 * MiB <= volumes["thin1"].allocation < 8 * MiB
    assert volumes["thick"].allocation == volumes["thick"].capacity == 16 * MiB
    assert [(b.path, b.format) for b in volumes["thin1snap"].backing] == [("/dev/pcvm/thin1", "raw")]
    assert [b.path for b in volumes["thicksnap"].backing] == ["/dev/pcvm/thick"]
    assert volumes["thicksnap"].capacity == 8 * MiB


def test_capacity_rounds_up_to_whole_extents(tmp_path):
    runner = replay(runner_for(tmp_path), "vgs_host", "vgs_host")
    logical = backend(runner)
    assert logical.round_capacity(pool(), 1) == 4 * MiB
    assert logical.round_capacity(pool(), 8 * MiB) == 8 * MiB


def test_linear_volume_created(tmp_path):
    runner = replay(runner_for(tmp_path), "lvs_host_linear")
    planned = backend(runner).plan_create_volume(pool(), VolumeSpec(name="new", format="raw", capacity=8 * MiB))
    assert described(planned) == ["create raw volume 'new' of 8.0 MiB"]
    replay(runner, "lvs_host_linear")  # planned again when applied
    runner.expect(["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", "new",
                   "--size", "8388608b", "pcfix"])
    assert applied(planned) == [None]
    runner.assert_done()


def test_volumes_of_a_thin_pool_are_thin(tmp_path):
    runner = replay(runner_for(tmp_path), "lvs_vm_thin_snapshots_open")
    runner.expect(["lvm", "lvcreate", "--type", "thin", "--thinpool", "tp", "--name", "new",
                   "--virtualsize", "1073741824b", "pcvm"])
    backend(runner)._create_volume(vm_pool(thin_pool=ThinPool("tp")), VolumeSpec(name="new", format="raw", capacity=1 << 30))
    runner.assert_done()


def test_a_clone_is_copied_and_removed_again_when_the_copy_fails(tmp_path):
    runner = replay(runner_for(tmp_path), "lvs_host_linear")
    runner.expect(["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", "copy",
                   "--size", "20971520b", "pcfix"])
    runner.expect(["lvm", "lvremove", "--yes", "pcfix/copy"])
    spec = VolumeSpec(name="copy", format="raw", capacity=20 * MiB,
                      clone=CloneSource(path="/dev/pcfix/data", format="raw", capacity=20 * MiB))
    with pytest.raises(StorageError, match="no device node"):
        backend(runner)._create_volume(pool(), spec)
    runner.assert_done()


def test_snapshots(tmp_path):
    thick = VolumeSpec(name="s1", format="raw", capacity=4 * MiB, backing=BackingStore("/dev/pcvm/thick"))
    thin = VolumeSpec(name="s2", format="raw", backing=BackingStore("/dev/pcvm/thin1"))
    runner = replay(runner_for(tmp_path), "lvs_vm_thin_snapshots_open")
    runner.expect(["lvm", "lvcreate", "--snapshot", "--name", "s1", "--size", "4194304b", "pcvm/thick"])
    replay(runner, "lvs_vm_thin_snapshots_open")
    runner.expect(["lvm", "lvcreate", "--snapshot", "--name", "s2", "--setactivationskip", "n", "pcvm/thin1"])
    logical = backend(runner)
    logical._create_volume(vm_pool(), thick)
    logical._create_volume(vm_pool(), thin)
    runner.assert_done()


@pytest.mark.parametrize("spec, message", [
    (VolumeSpec(name="s", format="raw", backing=BackingStore("/dev/pcvm/thick")), "needs its copy-on-write space"),
    (VolumeSpec(name="s", format="raw", capacity=MiB, backing=BackingStore("/dev/pcvm/thin1")), "leave capacity out"),
    (VolumeSpec(name="s", format="raw", capacity=MiB, backing=BackingStore("/srv/images/base.raw")), "same pool"),
    (VolumeSpec(name="s", format="raw", capacity=MiB, backing=BackingStore("/dev/pcvm/tp")), "same pool"),
    (VolumeSpec(name="tp", format="raw", capacity=MiB), "an LV of this name that is not a volume"),
])
def test_volumes_refused_at_plan_time(spec, message, tmp_path):
    runner = replay(runner_for(tmp_path), "lvs_vm_thin_snapshots_open")
    with pytest.raises(ValidationError, match=message):
        backend(runner).plan_create_volume(vm_pool(), spec)


@pytest.mark.parametrize("params, option", [
    ({"permissions": {"mode": "0600", "owner": None}}, "permissions"),
    ({"preallocation": "full"}, "preallocation"),
])
def test_options_logical_volumes_do_not_have(params, option, tmp_path):
    from ansible_collections.poolcraft.storage.plugins.module_utils._volume import VolumeManager
    with pytest.raises(ValidationError) as caught:
        VolumeManager(params, None, None)._refuse_options(backend(runner_for(tmp_path)))
    assert caught.value.option == option


@pytest.mark.parametrize("name", ["-v", "a/b", "snapshot0", "x_tdata", "pvmove1", "a b"])
def test_lv_names_lvm_would_refuse(name, tmp_path):
    with pytest.raises(ValidationError) as caught:
        backend(runner_for(tmp_path)).plan_create_volume(pool(), VolumeSpec(name=name, format="raw", capacity=MiB))
    assert caught.value.option == "name"


def _vm_lv(name, stdout=None):
    lvs = parse_lvs(stdout or LVS_VM["stdout"])
    return [lv for lv in lvs if lv.name == name][0]


def test_delete_refuses_an_open_lv(tmp_path):
    runner = replay(runner_for(tmp_path), "lvs_vm_thin_snapshots_open")
    logical = backend(runner)
    # at plan time, so check mode refuses it as the real run does
    with pytest.raises(StorageError, match=r"volume 'thick' \(/dev/pcvm/thick\) is open; refusing to delete it"):
        logical.plan_delete_volume(vm_pool(), logical._volume(vm_pool(), _vm_lv("thick")))
    runner.assert_done()


def test_delete_refused_when_the_lv_was_opened_since_the_plan(tmp_path):
    runner = replay(runner_for(tmp_path), "lvs_vm_thin_snapshots_open")
    logical = backend(runner)
    planned = logical.plan_delete_volume(vm_pool(), logical._volume(vm_pool(), _vm_lv("thin1")))
    assert described(planned) == ["delete volume 'thin1' (/dev/pcvm/thin1)"]
    thin1_open = LVS_VM["stdout"].replace('"lv_name":"thin1", ', '"lv_name":"thin1", "x":"",').replace(
        '"lv_device_open":"", "data_percent":"12.50"', '"lv_device_open":"open", "data_percent":"12.50"')
    runner.expect(LVS_VM["argv"], stdout=thin1_open)
    with pytest.raises(StorageError, match=r"volume 'thin1' \(/dev/pcvm/thin1\) is open"):
        applied(planned)
    runner.assert_done()


def test_delete_refuses_an_origin_whose_thick_snapshots_lvm_would_delete_with_it(tmp_path):
    closed = LVS_VM["stdout"].replace('"lv_device_open":"open"', '"lv_device_open":""')
    runner = runner_for(tmp_path).expect(LVS_VM["argv"], stdout=closed)
    logical = backend(runner)
    with pytest.raises(StorageError, match=r"volume 'thick' has snapshots \(thicksnap\)"):
        logical.plan_delete_volume(vm_pool(), logical._volume(vm_pool(), _vm_lv("thick", closed)))


def test_delete_of_a_thin_origin_keeps_its_snapshot(tmp_path):
    runner = replay(runner_for(tmp_path), "lvs_vm_thin_snapshots_open")
    replay(runner, "lvs_vm_thin_snapshots_open")  # looked at again when applied
    runner.expect(["lvm", "lvremove", "--yes", "pcvm/thin1"])
    logical = backend(runner)
    applied(logical.plan_delete_volume(vm_pool(), logical._volume(vm_pool(), _vm_lv("thin1"))))
    runner.assert_done()


def test_wipe_needs_an_active_lv(tmp_path):
    runner = replay(runner_for(tmp_path), "lvs_host_linear")
    logical = backend(runner)
    runner2 = replay(runner_for(tmp_path), "lvs_host_linear")
    data = backend(runner2).get_volume(pool(), "data")
    with pytest.raises(StorageError, match="wipe needs the LV active.*nothing was deleted"):
        logical.plan_delete_volume(pool(), data, wipe="zero")
    runner.assert_done()


# -- any name of an LV's node; permissions ------------------------------------------------------


def test_any_name_of_an_lvs_node_is_that_volume(tmp_path, block_node):
    """/dev/mapper/VG-LV and /dev/dm-N are the LV at /dev/VG/LV: the same device number. Nodes of
    the test's own, made where /dev/VG and /dev/mapper would be; LVM's report says which are volumes."""
    vg_dir = tmp_path / "pcvm"
    block_node(vg_dir / "thin1", 253, 7)
    block_node(vg_dir / "tp", 253, 3)
    mapper = block_node(tmp_path / "mapper" / "pcvm-thin1", 253, 7)
    dm = block_node(tmp_path / "dm-7", 253, 7)
    thin_pool = block_node(tmp_path / "mapper" / "pcvm-tp", 253, 3)
    other = block_node(tmp_path / "mapper" / "pcother-data", 253, 9)
    regular = tmp_path / "image.raw"
    regular.write_bytes(b"\0" * 512)
    at_vg = vm_pool().with_changes(target_path=str(vg_dir))
    # one report for each node found in the VG's directory (three), two for the snapshot's plan
    runner = replay(runner_for(tmp_path), *["lvs_vm_thin_snapshots_open"] * 5)
    logical = backend(runner)
    assert logical.volume_name_at(at_vg, mapper) == "thin1"
    assert logical.volume_name_at(at_vg, dm) == "thin1"
    # the thin pool has a node too, but it is no volume
    assert logical.volume_name_at(at_vg, thin_pool) is None
    # neither another device, nor a file, nor a missing path reads LVM's report
    for path in (other, str(regular), str(tmp_path / "missing"), "/dev/null"):
        assert logical.volume_name_at(at_vg, path) is None
    # the pool's own spelling needs no device at all
    assert logical.volume_name_at(at_vg, str(vg_dir / "thick")) == "thick"
    # a snapshot's backing store named by its device mapper name
    planned = logical.plan_create_volume(at_vg, VolumeSpec(name="s2", format="raw", backing=BackingStore(mapper)))
    assert described(planned) == ["create raw volume 's2' as an overlay on %s" % mapper]
    runner.assert_done()


@pytest.mark.parametrize("permissions", [Permissions(mode=0o640), Permissions(owner=0), Permissions(group=6),
                                         Permissions(label="system_u:object_r:fixed_disk_device_t:s0")])
def test_volume_permissions_are_refused_not_ignored(permissions, tmp_path):
    """udev sets them again at every activation and boot: refused in one line, in check mode too (at plan time)."""
    with pytest.raises(ValidationError) as caught:
        backend(runner_for(tmp_path)).plan_volume_permissions(vm_pool(), None, permissions)
    message = str(caught.value)
    assert caught.value.option == "permissions" and "\n" not in message
    assert "logical pools do not set volume permissions" in message and "would not last" in message
    assert "udev rule" in message


def test_unset_volume_permissions_are_no_change(tmp_path):
    logical = backend(runner_for(tmp_path))
    assert logical.plan_volume_permissions(vm_pool(), None, Permissions()) == []
    # libvirt's "unset" ids
    assert logical.plan_volume_permissions(vm_pool(), None, Permissions(owner=4294967295, group=-1)) == []


@pytest.mark.parametrize("source_format", ["qcow2", "qed", "vhdx", "vpc", "vdi", "vmdk", "raw"])
def test_a_clone_of_any_image_format_is_a_raw_lv(source_format, tmp_path):
    """An LV holds raw data: a clone converts its source, whatever the source's format, with no format given."""
    logical = backend(runner_for(tmp_path))
    assert logical.clone_format(source_format) == "raw"
    logical.validate_volume_format(logical.clone_format(source_format))
