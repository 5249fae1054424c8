# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_multipath: `dmsetup table/status --target multipath` parsed, from output recorded in the test VM
(fixtures/dmsetup/multipath_vm_two_paths_one_failed.json, see fixtures/README.md) and from hand-made lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _multipath

from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript


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
