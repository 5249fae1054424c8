# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_device_facts' commands: lvm fullreport and dmsetup, parsed from recorded output,
and the Gatherer running each at most once, only when needed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _facts
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _lvm_report, _multipath

from ansible_collections.poolcraft.storage.tests.unit.plugins.module_utils.test_devices import make_tree

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "devices")


def fixture_text(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


# -- lvm fullreport ------------------------------------------------------------

def test_lvm_fullreport_two_vgs_same_lv_name():
    # recorded on the development host (metadata-only LVM on loop devices): two VGs
    # each with an LV named "data", and a PV in no VG
    lvm = _lvm_report.parse_fullreport(fixture_text("lvm_fullreport_two_vgs.json"))
    assert sorted(lvm["lvs"]) == ["vga/data", "vgb/data"]
    assert lvm["lvs"]["vga/data"]["size"] == 8388608
    assert lvm["lvs"]["vgb/data"]["size"] == 12582912
    assert lvm["lvs"]["vga/data"]["name"] == lvm["lvs"]["vgb/data"]["name"] == "data"
    assert lvm["lvs"]["vga/data"]["active"] is False and lvm["lvs"]["vga/data"]["maj_min"] is None
    assert lvm["vgs"]["vga"]["lvs"] == ["vga/data"]
    assert lvm["vgs"]["vga"]["size"] == 62914560 and lvm["vgs"]["vga"]["free"] == 54525952
    assert lvm["vgs"]["vgb"]["pvs"] == ["/dev/loop2001"]
    assert lvm["pvs"]["/dev/loop2002"]["vg"] is None
    assert lvm["pvs"]["/dev/loop2000"]["maj_min"] == "7:2000"
    assert lvm["pvs"]["/dev/loop2000"]["size"] == 62914560


def test_lvm_argv_asks_for_bytes_and_json():
    assert _lvm_report.ARGV[:7] == ["lvm", "fullreport", "--reportformat", "json", "--units", "b", "--nosuffix"]


def test_lvm_not_json():
    with pytest.raises(StorageError, match="no JSON"):
        _lvm_report.parse_fullreport("  WARNING: something\n")


# -- dmsetup multipath -----------------------------------------------------------

TABLE = fixture_text("dmsetup_table_multipath.txt")
STATUS = fixture_text("dmsetup_status_multipath.txt")


def test_multipath_two_groups_one_failed():
    maps = _multipath.parse(TABLE, STATUS)
    assert sorted(maps) == ["pcfmp"]
    groups = maps["pcfmp"]["groups"]
    assert [g["number"] for g in groups] == [1, 2]
    assert all(g["selector"] for g in groups)
    paths = [p for g in groups for p in g["paths"]]
    assert sorted(p["dm_state"] for p in paths) == ["active", "failed"]
    assert all(p["maj_min"].count(":") == 1 for p in paths)


def test_multipath_hand_made_line():
    table = "m: 0 131072 multipath 1 queue_if_no_path 1 alua 2 1 service-time 0 1 2 8:16 1 1 round-robin 0 1 1 8:32 1\n"
    status = "m: 0 131072 multipath 2 0 0 0 2 1 A 0 1 2 8:16 A 0 0 1 E 0 1 2 8:32 F 3 0 1\n"
    parsed = _multipath.parse(table, status)["m"]
    assert parsed["features"] == "queue_if_no_path"
    assert parsed["hw_handler"] == "alua"
    assert parsed["groups"] == [
        {"number": 1, "selector": "service-time", "state": "active",
         "paths": [{"maj_min": "8:16", "dm_state": "active", "fail_count": 0}]},
        {"number": 2, "selector": "round-robin", "state": "enabled",
         "paths": [{"maj_min": "8:32", "dm_state": "failed", "fail_count": 3}]},
    ]


def test_multipath_garbage_is_skipped():
    assert _multipath.parse("m: 0 8 multipath 1\n", "") == {}
    assert _multipath.parse("No devices found\n", "No devices found\n") == {}


# -- the gatherer ----------------------------------------------------------------

MPATH_TREE = {
    "sdc": ("/devices/platform/host3/target3:0:0/3:0:0:0/block/sdc", "8:32",
            {"size": "65536", "ro": "0", "removable": "0", "queue/logical_block_size": "512",
             "queue/physical_block_size": "512", "queue/rotational": "1"}, ["E:ID_FS_TYPE=mpath_member"]),
    "sdd": ("/devices/platform/host4/target4:0:0/4:0:0:0/block/sdd", "8:48",
            {"size": "65536", "ro": "0", "removable": "0", "queue/logical_block_size": "512",
             "queue/physical_block_size": "512", "queue/rotational": "1"}, ["E:ID_FS_TYPE=mpath_member"]),
    "dm-3": ("/devices/virtual/block/dm-3", "254:3",
             {"size": "65536", "ro": "0", "queue/logical_block_size": "512", "queue/physical_block_size": "512",
              "queue/rotational": "1", "slaves/sdc": None, "slaves/sdd": None},
             ["E:DM_NAME=mpatha", "E:DM_UUID=mpath-3333333000000138"]),
}


class Context(object):
    """The two things the gatherer takes from a pyudev context for block devices."""

    def __init__(self, root):
        self.sys_path = os.path.join(str(root), "sys")
        self.run_path = os.path.join(str(root), "udev")


def gatherer(tmp_path, runner, tree, **params):
    scanner = make_tree(tmp_path, tree)
    params.setdefault("gather_subset", ["devices", "lvm", "multipath"])
    gathered = _facts.Gatherer(params, runner, Context(tmp_path))
    gathered.scanner.proc_partitions = scanner.proc_partitions
    return gathered


def test_multipath_facts_from_sysfs_and_dmsetup(tmp_path, fake_runner):
    runner = fake_runner()
    runner.commands = {"dmsetup", "lvm"}
    runner.expect(_multipath.TABLE_ARGV, stdout=(
        "mpatha: 0 65536 multipath 0 0 2 1 service-time 0 1 1 8:32 1 service-time 0 1 1 8:48 1\n"))
    runner.expect(_multipath.STATUS_ARGV, stdout=(
        "mpatha: 0 65536 multipath 2 0 0 0 2 1 A 0 1 2 8:32 A 0 0 1 E 0 1 2 8:48 F 1 0 1\n"))
    facts = gatherer(tmp_path, runner, MPATH_TREE).gather()
    mpatha = facts["storage_multipath"]["mpatha"]
    assert mpatha["wwid"] == "3333333000000138"
    assert mpatha["dm"] == "dm-3" and mpatha["size"] == 33554432
    assert mpatha["path_groups"] == [
        {"number": 1, "selector": "service-time", "state": "active", "paths": ["sdc"]},
        {"number": 2, "selector": "service-time", "state": "enabled", "paths": ["sdd"]}]
    assert [(p["name"], p["scsi_address"], p["dm_state"], p["path_group"]) for p in mpatha["paths"]] == [
        ("sdc", "3:0:0:0", "active", 1), ("sdd", "4:0:0:0", "failed", 2)]
    assert facts["storage_devices"]["sdc"]["used_by"] == {"multipath": "mpatha"}
    # no LVM signature anywhere: lvm is not run
    assert facts["storage_lvm"] == {"pvs": {}, "vgs": {}, "lvs": {}}
    assert facts["storage_facts_info"]["commands"] == ["dmsetup table", "dmsetup status"]


def test_lvm_runs_once_when_a_pv_is_there(tmp_path, fake_runner):
    tree = {"loop2000": ("/devices/virtual/block/loop2000", "7:2000",
                         {"size": "131072", "ro": "0", "queue/logical_block_size": "512",
                          "queue/physical_block_size": "512", "queue/rotational": "1"},
                         ["E:ID_FS_TYPE=LVM2_member", "E:ID_FS_USAGE=raid"])}
    runner = fake_runner()
    runner.commands = {"dmsetup", "lvm"}
    runner.expect(_lvm_report.ARGV, stdout=fixture_text("lvm_fullreport_two_vgs.json"))
    facts = gatherer(tmp_path, runner, tree).gather()
    assert facts["storage_devices"]["loop2000"]["used_by"] == {"lvm_vg": "vga"}
    assert facts["storage_lvm"]["pvs"]["/dev/loop2000"]["device"] == "loop2000"
    assert facts["storage_multipath"] == {}
    assert facts["storage_facts_info"]["commands"] == ["lvm fullreport"]


def test_no_tools_no_commands(tmp_path, quiet_runner):
    facts = gatherer(tmp_path, quiet_runner, MPATH_TREE).gather()
    assert facts["storage_multipath"]["mpatha"]["path_groups"] == []
    assert [p["name"] for p in facts["storage_multipath"]["mpatha"]["paths"]] == ["sdc", "sdd"]
    assert facts["storage_lvm"] == {"pvs": {}, "vgs": {}, "lvs": {}}


def test_devices_restriction(tmp_path, quiet_runner):
    facts = gatherer(tmp_path, quiet_runner, MPATH_TREE, gather_subset=["devices"], devices=["sdc"]).gather()
    assert sorted(facts["storage_devices"]) == ["sdc"]
    # the map was read for the holders, though it is not returned
    assert facts["storage_devices"]["sdc"]["used_by"] == {"multipath": "mpatha"}
    assert sorted(facts) == ["storage_devices", "storage_facts_info"]


@pytest.mark.parametrize("requested, expected", [
    (["all"], set(_facts.SUBSETS)),
    (None, set(_facts.SUBSETS)),
    (["devices", "lvm"], {"devices", "lvm"}),
    (["!lvm"], set(_facts.SUBSETS) - {"lvm"}),
    (["all", "!pools", "!mounts"], set(_facts.SUBSETS) - {"pools", "mounts"}),
])
def test_resolve_subsets(requested, expected):
    assert _facts.resolve_subsets(requested) == expected


def test_unknown_subset():
    with pytest.raises(ValidationError, match="unknown subset"):
        _facts.resolve_subsets(["hardware"])


def test_defaults_agree_with_the_store():
    pytest.importorskip("lxml")
    from ansible_collections.poolcraft.storage.plugins.module_utils._module import COMMON_ARGS
    for option, spec in COMMON_ARGS.items():
        assert _facts.ARGUMENT_SPEC[option] == spec


def test_facts_are_json(tmp_path, quiet_runner):
    facts = gatherer(tmp_path, quiet_runner, MPATH_TREE, gather_subset=["devices", "multipath"]).gather()
    assert json.loads(json.dumps(facts)) == facts


# -- the module's one exit --------------------------------------------------------

class Exited(Exception):
    def __init__(self, result):
        super(Exited, self).__init__(result)
        self.result = result


class FakeModule(object):
    def __init__(self, params):
        self.params = dict((key, spec.get("default")) for key, spec in _facts.ARGUMENT_SPEC.items())
        self.params.update(params)
        self.check_mode = True

    def exit_json(self, **result):
        raise Exited(dict(result, failed=False))

    def fail_json(self, **result):
        raise Exited(dict(result, failed=True))


def test_missing_pyudev_is_one_line(monkeypatch):
    monkeypatch.setattr(_facts, "PYUDEV_IMPORT_ERROR", "Traceback ...\nImportError: No module named 'pyudev'\n")
    with pytest.raises(Exited) as exited:
        _facts.gather_facts(FakeModule({"gather_subset": ["devices"]}))
    result = exited.value.result
    assert result["failed"] and "pyudev" in result["msg"] and "\n" not in result["msg"]


def test_mounts_alone_need_no_pyudev(monkeypatch, tmp_path, quiet_runner):
    monkeypatch.setattr(_facts, "PYUDEV_IMPORT_ERROR", "ImportError")
    with pytest.raises(Exited) as exited:
        _facts.gather_facts(FakeModule({"gather_subset": ["mounts"]}), runner=quiet_runner, context=Context(tmp_path))
    assert exited.value.result["failed"] is False
    assert "storage_mounts" in exited.value.result["ansible_facts"]


def test_bad_subset_fails_cleanly():
    with pytest.raises(Exited) as exited:
        _facts.gather_facts(FakeModule({"gather_subset": ["nope"]}))
    assert exited.value.result["failed"] and "nope" in exited.value.result["msg"]


def test_exit_is_not_changed(tmp_path, quiet_runner):
    make_tree(tmp_path, MPATH_TREE)
    module = FakeModule({"gather_subset": ["devices"]})
    with pytest.raises(Exited) as exited:
        _facts.gather_facts(module, runner=quiet_runner, context=Context(tmp_path))
    assert exited.value.result["changed"] is False
    assert "sdc" in exited.value.result["ansible_facts"]["storage_devices"]


def test_pools_without_definitions_need_no_lxml(tmp_path, quiet_runner, monkeypatch):
    params = {"gather_subset": ["pools"], "config_dir": str(tmp_path / "etc"), "runtime_dir": str(tmp_path / "run")}
    assert _facts.Gatherer(params, quiet_runner, Context(tmp_path)).gather()["storage_pools"] == {}


def test_pools_with_definitions_and_no_lxml(tmp_path, quiet_runner, monkeypatch):
    pytest.importorskip("lxml")
    from ansible_collections.poolcraft.storage.plugins.module_utils import _xml
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "images.xml").write_text("<pool type='dir'/>")
    monkeypatch.setattr(_xml, "LXML_IMPORT_ERROR", "ImportError: lxml")
    module = FakeModule({"gather_subset": ["pools"], "config_dir": str(tmp_path / "etc"),
                         "runtime_dir": str(tmp_path / "run")})
    with pytest.raises(Exited) as exited:
        _facts.gather_facts(module, runner=quiet_runner, context=Context(tmp_path))
    assert exited.value.result["failed"] and "lxml" in exited.value.result["msg"]


def test_pools_of_this_collection(tmp_path, quiet_runner):
    """The pools subset reads the collection's own definitions: state, capacity and volumes."""
    pytest.importorskip("lxml")
    from ansible_collections.poolcraft.storage.plugins.module_utils._store import DefinitionStore
    from ansible_collections.poolcraft.storage.plugins.module_utils._xml import PoolDef, Permissions, pool_to_xml
    images = tmp_path / "images"
    images.mkdir()
    (images / "disk.img").write_bytes(b"\0" * 4096)
    config, runtime = str(tmp_path / "etc"), str(tmp_path / "run")
    running = PoolDef(name="images", type="dir", uuid="00000000-0000-4000-8000-000000000001",
                      target_path=str(images), permissions=Permissions(mode=0o755))
    stopped = PoolDef(name="spare", type="dir", uuid="00000000-0000-4000-8000-000000000002",
                      target_path=str(tmp_path / "spare"), permissions=Permissions(mode=0o755))
    with DefinitionStore(config, runtime) as store:
        for pool in (running, stopped):
            store.save_persistent(pool, pool_to_xml(pool))
        store.mark_running("images", pool_to_xml(running))
        store.mark_stopped("spare", True)
    params = {"gather_subset": ["pools"], "config_dir": config, "runtime_dir": runtime}
    pools = _facts.Gatherer(params, quiet_runner, Context(tmp_path)).gather()["storage_pools"]
    assert sorted(pools) == ["images", "spare"]
    assert pools["images"]["state"] == "running" and pools["images"]["capacity"] > 0
    assert [volume["name"] for volume in pools["images"]["volumes"]] == ["disk.img"]
    assert pools["images"]["volumes"][0]["capacity"] == 4096
    assert pools["spare"]["state"] == "stopped" and pools["spare"]["volumes"] == []
    assert "xml" not in pools["images"]


def test_without_udev_lvm_cannot_be_ruled_out(tmp_path, fake_runner):
    """No udev database: sysfs facts only, and lvm runs since no signature can be seen."""
    import shutil
    runner = fake_runner()
    runner.commands = {"lvm"}
    runner.expect(_lvm_report.ARGV, stdout='{"report": []}')
    gathered = gatherer(tmp_path, runner, MPATH_TREE, gather_subset=["devices", "lvm"])
    shutil.rmtree(str(tmp_path / "udev"))
    facts = gathered.gather()
    assert facts["storage_facts_info"]["udev_database"] is False
    assert facts["storage_facts_info"]["commands"] == ["lvm fullreport"]
    assert "fs" not in facts["storage_devices"]["sdc"] and facts["storage_devices"]["sdc"]["size"] == 33554432
