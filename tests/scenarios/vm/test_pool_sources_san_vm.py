# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources scsi and mpath in the test VM, on four scsi_debug hosts that carry two LUNs, each
over two paths, as multipathd's maps (multipath_luns.py, which takes it all down again): the
scsi_debug hosts are found with their driver and unique_id (as sysfs has them) and as scsi_host
adapters; both maps with their WWID, alias, size and both paths (device, H:C:T:L, state); a failed
path is reported failed and its map still listed; nothing in the guest changes. Check mode first,
then real, then again: the same answer each time."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import fingerprints
import harness
from guest import sh


def three_runs(args, state):
    """Check mode, then real, then again: no change, the same sources, nothing touched."""
    before = state()
    results = [harness.run_module("pool_sources", args, check=True), harness.run_module("pool_sources", args),
               harness.run_module("pool_sources", args)]
    for result in results:
        assert not result.failed, result.msg
        assert not result.changed
    assert results[0]["sources"] == results[1]["sources"] == results[2]["sources"]
    assert results[0]["xml"] == results[1]["xml"] == results[2]["xml"]
    harness.assert_unchanged(state, before, "pool_sources %s" % args["type"])
    return results[1]


def sysfs(path):
    with open(path) as handle:
        return handle.read().strip()


def test_scsi_hosts_and_multipath_maps(luns):
    a, b = luns.a, luns.b
    state = fingerprints.combine(maps=lambda: sh("dmsetup", "table", "--target", "multipath"),
                                 hosts=lambda: sorted(os.listdir("/sys/class/scsi_host")))

    # -- scsi: the scsi_debug hosts, with driver and unique_id ---------------------------------------
    found = three_runs({"type": "scsi"}, state)
    hosts = dict((source["name"], source) for source in found["sources"])
    ours = sorted(set("host" + hctl.split(":")[0] for mapped in (a, b) for hctl in mapped["hctl"].values()))
    assert len(ours) == 4, ours
    for name in ours:
        host = hosts[name]
        assert host["driver"] == "scsi_debug", host
        assert host["unique_id"] == int(sysfs("/sys/class/scsi_host/%s/unique_id" % name)), host
        assert host["number"] == int(name[4:]) and host["state"] == "running"
        assert host["pci_address"] is None and host["parent_address"] is None and host["fc"] is None  # a pseudo bus
        assert '<adapter type="scsi_host" name="%s"/>' % name in found["xml"]
    assert sorted(hosts) == sorted(os.listdir("/sys/class/scsi_host"))

    # -- mpath: both maps, with WWID, alias, size and both paths --------------------------------------
    found = three_runs({"type": "mpath"}, state)
    maps = dict((source["name"], source) for source in found["sources"])
    for mapped in (a, b):
        source = maps[mapped["name"]]
        assert source["wwid"] == mapped["wwid"] and source["path"] == "/dev/mapper/" + mapped["name"]
        assert source["size"] == int(sh("blockdev", "--getsize64", source["path"])) == luns.size_mb * 2 ** 20
        assert source["state"] == "active"
        assert sorted(path["device"] for path in source["paths"]) == mapped["paths"]
        for path in source["paths"]:
            assert path["hctl"] == mapped["hctl"][path["device"]] and path["state"] == "active", source
        assert ('<device path="/dev/mapper/%s"/>\n    <name>%s</name>' % (mapped["name"], mapped["wwid"])) in found["xml"]
    assert maps[a["name"]]["name"] != a["wwid"]  # the alias of multipath.conf; b keeps its WWID as its name

    # -- a failed path: reported failed, its map still there -----------------------------------------
    failed = a["paths"][0]
    luns.set_path(failed, "offline", "F", a["name"])
    try:
        source = [found for found in harness.run_module("pool_sources", {"type": "mpath"})["sources"]
                  if found["name"] == a["name"]][0]
        states = dict((path["device"], path["state"]) for path in source["paths"])
        assert states == {failed: "failed", a["paths"][1]: "active"}, source
        assert source["state"] == "active"  # one path still serves it
    finally:
        luns.set_path(failed, "running", "A", a["name"])

    # -- what these kinds do not take ----------------------------------------------------------------
    harness.refused("pool_sources", {"type": "scsi", "devices": ["/dev/" + failed]}, state, "devices",
                    "type scsi reads the host's own SCSI hosts")
    harness.refused("pool_sources", {"type": "mpath", "timeout": 5}, state, "timeout", "type mpath asks no server")
