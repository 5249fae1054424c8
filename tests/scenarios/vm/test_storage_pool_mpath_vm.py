# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mpath pools in the test VM, on two scsi_debug LUNs each over two paths, as multipathd's maps
(multipath_luns.py): one map selected by WWID and the other by alias, every path with its device,
SCSI address, state and group as dmsetup and sysfs show them; a failed path reported failed, a map
whose paths all failed reported degraded (not hidden), and both back once the paths return; a
selected map that does not exist refused by name; volumes neither made nor deleted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import fingerprints
import harness
from guest import sh
from multipath_luns import node_number

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import _mpath


def size64(path):
    return int(sh("blockdev", "--getsize64", path))


def volumes_by_name(result):
    return dict((volume["name"], volume) for volume in result["pool"]["volumes"])


def test_mpath_pool_selects_maps_reports_paths_and_failures(luns, store, monkeypatch):
    a, b = luns.a, luns.b

    state = fingerprints.combine(store=lambda: fingerprints.tree(os.path.dirname(store["config_dir"])),
                                 maps=lambda: sh("dmsetup", "table", "--target", "multipath"))

    args = dict(store, name="pcmp", type="mpath", state="running", list_volumes=True,
                source={"wwids": [b["wwid"]], "aliases": [a["name"]]})
    done = harness.converge("storage_pool", args, state)
    assert done.check.actions == ["define pool 'pcmp' (mpath, persistent)", "start pool 'pcmp'"]
    pool = done.again["pool"]
    assert pool["state"] == "running" and pool["target"]["path"] == "/dev/mapper"
    assert pool["volume_count"] == 2 and pool["capacity"] == size64("/dev/mapper/" + a["name"]) * 2
    volumes = volumes_by_name(done.again)
    assert sorted(volumes) == sorted([a["name"], b["name"]])
    for mapped in (a, b):
        volume = volumes[mapped["name"]]
        assert volume["key"] == mapped["wwid"] and volume["path"] == "/dev/mapper/" + mapped["name"]
        assert volume["capacity"] == size64(volume["path"]) and volume["map_state"] == "active"
        assert sorted(path["device"] for path in volume["paths"]) == mapped["paths"]
        assert dict((path["device"], path["hctl"]) for path in volume["paths"]) == mapped["hctl"]
        assert all(path["state"] == "active" for path in volume["paths"])
        # ALUA gives each path a group of its own: the kernel's first group is the active one
        assert sorted(path["group"] for path in volume["paths"]) == [1, 2]
        assert [path["group_state"] for path in sorted(volume["paths"], key=lambda path: path["group"])][0] == "active"

    # one path of A fails, then the other: failed paths, then a degraded map, still listed
    first, second = a["paths"]
    luns.set_path(first, "offline", "F", a["name"])
    volume = volumes_by_name(harness.run_module("storage_pool", args))[a["name"]]
    assert dict((path["device"], path["state"]) for path in volume["paths"]) == {first: "failed", second: "active"}
    assert volume["map_state"] == "active"
    luns.set_path(second, "offline", "F", a["name"])
    result = harness.run_module("storage_pool", args)
    assert not result.changed, result.actions
    volume = volumes_by_name(result)[a["name"]]
    assert volume["map_state"] == "degraded" and all(path["state"] == "failed" for path in volume["paths"])
    assert volumes_by_name(result)[b["name"]]["map_state"] == "active"
    for device in (first, second):
        luns.set_path(device, "running", "A", a["name"])
    volume = volumes_by_name(harness.run_module("storage_pool", args))[a["name"]]
    assert volume["map_state"] == "active" and all(path["state"] == "active" for path in volume["paths"])

    # storage_volume finds a map by its path, its WWID or a by-id link; maps are never made or deleted
    for given in ({"path": "/dev/mapper/" + b["name"]}, {"path": "/dev/disk/by-id/dm-uuid-mpath-" + b["wwid"]}, {"key": b["wwid"]}):
        found = harness.run_module("storage_volume", dict(store, state="present", **given), check=True)
        assert not found.failed and not found.changed, found.msg
        assert found["volume"]["name"] == b["name"] and len(found["volume"]["paths"]) == 2
    harness.refused("storage_volume", dict(store, pool="pcmp", name="new", capacity="8M"), state,
                    "mpath pools cannot create volume 'new'")
    harness.refused("storage_volume", dict(store, pool="pcmp", name=a["name"], state="absent"), state,
                    "mpath pools cannot delete volume %r" % a["name"])

    # the selection is what the pool holds: one alias only, and no selection (every map, as libvirt)
    one = harness.converge("storage_pool", dict(args, name="pcmp1", source={"aliases": [a["name"]]}), state)
    assert [volume["name"] for volume in one.again["pool"]["volumes"]] == [a["name"]]
    every = harness.converge("storage_pool", dict(args, name="pcmpall", source={}), state)
    assert sorted(volume["name"] for volume in every.again["pool"]["volumes"]) == sorted([a["name"], b["name"]])

    # a selected map that is not there: start fails naming it, after the deadline, and defines nothing
    monkeypatch.setattr(_mpath, "MAP_WAIT", 1.0)
    harness.refused("storage_pool", dict(args, name="pcmpnone", source={"wwids": ["3600nosuchwwid"], "aliases": [a["name"]]}),
                    state, "no multipath map has WWID 3600nosuchwwid (waited 1 s")
    assert node_number(first)  # the paths are still there

    for name in ("pcmp", "pcmp1", "pcmpall"):
        harness.converge("storage_pool", dict(store, name=name, state="absent"), state)
    # the maps are multipathd's: the pools leave them as they were
    assert sorted(line.split()[0] for line in sh("dmsetup", "ls", "--target", "multipath").splitlines()) == \
        sorted([a["name"], b["name"]])
