# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_multipath: `dmsetup table/status --target multipath` parsed, from output recorded in the test VM
(fixtures/dmsetup/multipath_vm_two_paths_one_failed.json and mpath_vm_*.json, see fixtures/README.md) and from
hand-made lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _multipath

from ansible_collections.poolcraft.storage.tests.unit.conftest import FakeRunner, load_transcript


def test_multipath_two_groups_one_failed():
    table, status = load_transcript("dmsetup/multipath_vm_two_paths_one_failed")["steps"]
    assert (table["argv"], status["argv"]) == (_multipath.TABLE_ARGV, _multipath.STATUS_ARGV)
    maps = _multipath.parse(table["stdout"], status["stdout"])
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


# -- the maps of a selection only: `dmsetup table|status NAME...` (fixtures/dmsetup/mpath_vm_*) --------

def replayed(tmp_path, *names):
    runner = FakeRunner(tmp_path, commands=("dmsetup",))
    for name in names:
        runner.load("dmsetup/" + name)
    return runner


def test_named_maps_two_commands_for_any_number(tmp_path):
    runner = replayed(tmp_path, "mpath_vm_two_maps_one_path_failed")
    maps = _multipath.maps_tables(runner, ["pcmpa", "1Linux_scsi_debug_2001"])
    runner.assert_done()
    assert sorted(maps) == ["1Linux_scsi_debug_2001", "pcmpa"]
    states = [(path["maj_min"], path["dm_state"], group["state"]) for group in maps["pcmpa"]["groups"] for path in group["paths"]]
    assert states == [("8:16", "active", "active"), ("8:0", "failed", "enabled")]
    assert maps["pcmpa"]["hw_handler"] == "alua"
    assert all(timeout == _multipath.COMMAND_TIMEOUT for timeout in runner.timeouts)


def test_one_named_map_is_printed_without_its_name(tmp_path):
    runner = replayed(tmp_path, "mpath_vm_one_map")
    maps = _multipath.maps_tables(runner, ["1Linux_scsi_debug_2001"])
    assert [path["maj_min"] for group in maps["1Linux_scsi_debug_2001"]["groups"] for path in group["paths"]] == ["8:32", "8:48"]


def test_a_map_gone_meanwhile_is_left_out_and_the_rest_asked_alone(tmp_path):
    runner = FakeRunner(tmp_path, commands=("dmsetup",))
    table = load_transcript("dmsetup/mpath_vm_two_maps_one_path_failed")["steps"][0]["stdout"].splitlines()
    runner.expect(["dmsetup", "table", "1Linux_scsi_debug_2001", "gone", "pcmpa"], rc=1, stdout=table[0] + "\n",
                  stderr="Device does not exist.\nCommand failed.\n")
    runner.expect(["dmsetup", "table", "gone"], rc=1, stderr="Device does not exist.\nCommand failed.\n")
    runner.expect(["dmsetup", "table", "pcmpa"], stdout=table[1].split(": ", 1)[1] + "\n")
    runner.load("dmsetup/mpath_vm_a_map_gone")
    runner.expect(["dmsetup", "status", "gone"], rc=1, stderr="Device does not exist.\nCommand failed.\n")
    runner.expect(["dmsetup", "status", "pcmpa"], stdout="0 32768 multipath 2 0 1 0 2 1 A 0 1 2 8:16 A 0 0 1 E 0 1 2 8:0 F 1 0 1\n")
    maps = _multipath.maps_tables(runner, ["pcmpa", "gone", "1Linux_scsi_debug_2001"])
    runner.assert_done()
    assert sorted(maps) == ["1Linux_scsi_debug_2001", "pcmpa"]
    assert [path["dm_state"] for group in maps["pcmpa"]["groups"] for path in group["paths"]] == ["active", "failed"]


def test_no_names_no_command(tmp_path):
    assert _multipath.maps_tables(FakeRunner(tmp_path, commands=()), []) == {}
