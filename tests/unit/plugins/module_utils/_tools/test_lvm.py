# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Lvm facade against reports and errors recorded from the real LVM (fixtures/record_lvm.py):
on the development host without device-mapper (activation = 0) and in the test VM."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _lvm

from ansible_collections.poolcraft.storage.tests.unit.conftest import FakeRunner


def replaying(tmp_path, *names):
    """A FakeRunner expecting the recorded commands of fixtures/lvm/<name>.json, in order."""
    runner = FakeRunner(tmp_path, commands=("lvm",))
    for name in names:
        runner.load("lvm/" + name)
    return runner


def test_volume_groups_from_the_host(tmp_path):
    runner = replaying(tmp_path, "vgs_host")
    vgs = _lvm.Lvm(runner).volume_groups()
    runner.assert_done()
    assert [vg.name for vg in vgs] == ["pcfix", "pcother"]
    pcfix = vgs[0]
    assert pcfix.size == 125829120 and pcfix.free == 96468992 and pcfix.extent_size == 4 << 20
    assert pcfix.pv_count == 2 and pcfix.lv_count == 2
    # made with --setautoactivation n: the field is empty, not "disabled"
    assert pcfix.autoactivation is False
    assert vgs[1].autoactivation is True


def test_volume_group_by_name_or_none(tmp_path):
    runner = replaying(tmp_path, "vgs_host", "vgs_host")
    lvm = _lvm.Lvm(runner)
    assert lvm.volume_group("pcother").free == 62914560
    assert lvm.volume_group("pcnone") is None


def test_physical_volumes_with_device_numbers_and_orphans(tmp_path):
    runner = replaying(tmp_path, "pvs_host")
    pvs = dict((pv.name, pv) for pv in _lvm.Lvm(runner).physical_volumes())
    assert sorted(pv.vg for pv in pvs.values() if pv.vg) == ["pcfix", "pcfix", "pcother"]
    orphans = [pv for pv in pvs.values() if pv.vg is None]
    assert len(orphans) == 1 and orphans[0].allocated_extents == 0
    in_use = [pv for pv in pvs.values() if pv.allocated_extents]
    # data (20 MiB) and logs (8 MiB) in 4 MiB extents, both on the first PV
    assert [(pv.vg, pv.allocated_extents) for pv in in_use] == [("pcfix", 7)]
    assert all(pv.maj_min[0] == 7 and pv.name == "/dev/loop%d" % pv.maj_min[1] for pv in pvs.values())


def test_linear_lvs_without_activation(tmp_path):
    runner = replaying(tmp_path, "lvs_host_linear")
    lvs = _lvm.Lvm(runner).logical_volumes("pcfix")
    assert [(lv.name, lv.size, lv.path) for lv in lvs] == [
        ("data", 20971520, "/dev/pcfix/data"), ("logs", 8388608, "/dev/pcfix/logs")]
    data = lvs[0]
    assert data.layout == ("linear",) and data.roles == ("public",)
    assert data.is_public and not data.is_thin and not data.is_thin_pool and not data.is_snapshot
    # activation disabled: LVM cannot tell, and says "unknown"
    assert data.active is None and data.open is None and data.data_percent is None


def test_thin_pool_thin_lvs_snapshots_and_an_open_lv_in_the_vm(tmp_path):
    runner = replaying(tmp_path, "lvs_vm_thin_snapshots_open")
    lvs = dict((lv.name, lv) for lv in _lvm.Lvm(runner).logical_volumes("pcvm"))
    public = sorted(name for name, lv in lvs.items() if lv.is_public)
    assert public == ["thick", "thicksnap", "thin1", "thin1snap"]
    assert lvs["tp"].is_thin_pool and not lvs["tp"].is_public
    # LVM's own sub-LVs are listed with -a, in brackets, and are not public
    assert any(name.startswith("[") for name in lvs)
    assert all(not lv.is_public for name, lv in lvs.items() if name.startswith("["))
    assert lvs["thin1"].is_thin and lvs["thin1"].pool == "tp" and lvs["thin1"].data_percent > 0
    assert lvs["thin1snap"].is_thin and lvs["thin1snap"].is_snapshot and lvs["thin1snap"].origin == "thin1"
    assert lvs["thicksnap"].is_snapshot and not lvs["thicksnap"].is_thin and lvs["thicksnap"].origin == "thick"
    # a thick snapshot's size is its copy-on-write space
    assert lvs["thicksnap"].size == 8 << 20
    assert lvs["thick"].open is True and lvs["thin1"].open is False
    assert all(lvs[name].active is True for name in public)


def test_deactivating_a_vg_with_an_open_lv_is_refused_by_lvm(tmp_path):
    runner = replaying(tmp_path, "vgchange_vm_deactivate_open")
    with pytest.raises(CommandError) as caught:
        _lvm.Lvm(runner).activate("pcvm", False)
    assert "in use" in str(caught.value) or "open" in str(caught.value)


def test_lvs_of_a_missing_vg_fails_naming_it(tmp_path):
    runner = replaying(tmp_path, "lvs_host_missing_vg")
    with pytest.raises(CommandError) as caught:
        _lvm.Lvm(runner).logical_volumes("pcnone")
    assert 'Volume group "pcnone" not found' in str(caught.value)


def test_sizes_go_to_lvm_in_bytes_and_lvm_wants_whole_sectors(tmp_path):
    runner = replaying(tmp_path, "lvcreate_host_not_multiple_of_512")
    with pytest.raises(CommandError) as caught:
        _lvm.Lvm(runner).create_linear("pcfix", "odd", 1000)
    assert "not a multiple of 512" in str(caught.value)


def test_thin_pool_needs_device_mapper(tmp_path):
    runner = replaying(tmp_path, "lvcreate_host_thin_pool_without_dm")
    with pytest.raises(CommandError) as caught:
        _lvm.Lvm(runner).create_thin_pool("pcfix", "tp", 16 << 20)
    assert "device-mapper" in str(caught.value)


def test_vgremove_never_forces_a_vg_with_lvs(tmp_path):
    # no --yes, no -f: LVM asks, reads no answer from the empty stdin, and refuses
    runner = replaying(tmp_path, "vgremove_host_with_lvs")
    with pytest.raises(CommandError) as caught:
        _lvm.Lvm(runner).vgremove("pcfix")
    assert "not removed" in str(caught.value)


@pytest.mark.parametrize("call, argv", [
    (lambda lvm: lvm.vgcreate("vg", ["/dev/a", "/dev/b"], True),
     ["lvm", "vgcreate", "--setautoactivation", "y", "vg", "/dev/a", "/dev/b"]),
    (lambda lvm: lvm.set_autoactivation("vg", False), ["lvm", "vgchange", "--setautoactivation", "n", "vg"]),
    (lambda lvm: lvm.activate("vg", True), ["lvm", "vgchange", "--activate", "y", "vg"]),
    (lambda lvm: lvm.create_thin("vg", "tp", "v", 8 << 20),
     ["lvm", "lvcreate", "--type", "thin", "--thinpool", "tp", "--name", "v", "--virtualsize", "8388608b", "vg"]),
    (lambda lvm: lvm.create_snapshot("vg", "o", "s", 4 << 20),
     ["lvm", "lvcreate", "--snapshot", "--name", "s", "--size", "4194304b", "vg/o"]),
    (lambda lvm: lvm.create_snapshot("vg", "o", "s"),
     ["lvm", "lvcreate", "--snapshot", "--name", "s", "--setactivationskip", "n", "vg/o"]),
    (lambda lvm: lvm.resize("vg", "v", 8 << 20), ["lvm", "lvextend", "--size", "8388608b", "vg/v"]),
    (lambda lvm: lvm.resize("vg", "v", 4 << 20, shrink=True), ["lvm", "lvreduce", "--yes", "--size", "4194304b", "vg/v"]),
    (lambda lvm: lvm.lvremove("vg", "v"), ["lvm", "lvremove", "--yes", "vg/v"]),
    (lambda lvm: lvm.vgreduce("vg", "/dev/a"), ["lvm", "vgreduce", "vg", "/dev/a"]),
])
def test_commands(call, argv, tmp_path):
    runner = FakeRunner(tmp_path, commands=("lvm",)).expect(argv)
    call(_lvm.Lvm(runner))
    runner.assert_done()


def test_a_report_that_is_not_json():
    with pytest.raises(StorageError, match="vgs returned no JSON report"):
        _lvm.parse_vgs("  WARNING: Activation disabled.\n")
