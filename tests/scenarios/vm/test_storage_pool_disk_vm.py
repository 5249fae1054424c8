# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""disk pools in the test VM, on the blank virtio disk vmdisk4 (only that one), with a kernel that
reads partition tables and udev making the by-partuuid links: a gpt label, two named and typed
partitions whose keys and paths are those links, growing the last, deleting one, purge. Each
change in check mode first (the disk's tables unchanged), for real, again. The disk is blank
again at the end.

(Was the integration target storage_pool_disk_vm with its state.py and cleanup.sh.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

import fingerprints
import harness
from guest import settle, wipe_disk
from system import run

VOLUMES = [
    {"name": "alpha", "format": "linux-lvm", "capacity": "64MiB"},
    {"name": "beta", "format": "linux-swap", "capacity": "32MiB"},
]
PARTTYPES = ["e6d6d379-f507-44c2-a23c-238f2a3df928", "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f"]


def disk_state(disk):
    """What the tools see of the disk (state.py): the sha256 of its first 2 MiB and last MiB (both
    GPT headers and the tables), wipefs's signatures, and each kernel partition with udev's
    PARTUUID, PARTLABEL, type and size, and where its by-partuuid link leads."""
    settle()
    with open(disk, "rb") as handle:
        head = hashlib.sha256(handle.read(2 << 20)).hexdigest()
        handle.seek(-(1 << 20), os.SEEK_END)
        tail = hashlib.sha256(handle.read()).hexdigest()
    # the primary and the backup GPT header are one signature
    out = run("wipefs", "--no-act", "--json", disk).strip()
    signatures = sorted(set(entry["type"] for entry in (json.loads(out) if out else {}).get("signatures", [])))
    blockdevices = json.loads(run("lsblk", "--json", "--bytes", "--output", "NAME,PATH,TYPE,SIZE,PARTUUID,PARTLABEL,PARTTYPE", disk))
    parts = []
    for child in blockdevices["blockdevices"][0].get("children", []):
        link = "/dev/disk/by-partuuid/%s" % child["partuuid"]
        child["link_to"] = os.path.realpath(link) if os.path.islink(link) else None
        parts.append(child)
    return {"disk": disk, "head": head, "tail": tail, "signatures": signatures, "partitions": parts,
            "kernel": fingerprints.partitions(disk)}


def test_disk_pool_life_cycle(vm_disk, store):
    disk = os.path.realpath(vm_disk(4))
    pool_args = dict(store, name="vmdisk", type="disk", source={"device": vm_disk(4), "format": "gpt"}, build=True, state="running")
    fingerprint = fingerprints.combine(disk=lambda: disk_state(disk), store=lambda: fingerprints.tree(store["config_dir"]))

    def volume(**args):
        return dict(store, pool="vmdisk", **args)

    try:
        blank = disk_state(disk)
        assert blank["signatures"] == [] and blank["partitions"] == [], blank

        # -- the pool: a gpt label; check mode leaves the disk as it was
        pool = harness.converge("storage_pool", pool_args, fingerprint)
        assert pool.real.actions[1] == "build pool 'vmdisk' (make a gpt partition table on %s)" % blank["disk"], pool.real.actions
        assert len(pool.again["pool"]["free_extents"]) == 1, pool.again["pool"]

        # -- two volumes: check mode of both first (no partition), then each for real and again
        before = fingerprint()
        vol_check = [harness.run_module("storage_volume", volume(**spec), check=True, diff=True) for spec in VOLUMES]
        assert [result.changed for result in vol_check] == [True, True], vol_check
        after_vol_check = harness.assert_unchanged(fingerprint, before, "the volumes' check mode")
        assert after_vol_check["disk"]["partitions"] == []
        vol = [harness.converge("storage_volume", volume(**spec), fingerprint) for spec in VOLUMES]
        assert [v.real.actions for v in vol] == [c.actions for c in vol_check]
        made = disk_state(disk)
        vols = [v.real["volume"] for v in vol]
        parts = made["partitions"]
        assert made["signatures"] == ["PMBR", "gpt"], made
        assert [p["partlabel"] for p in parts] == ["alpha", "beta"], made
        assert [p["parttype"] for p in parts] == PARTTYPES, made
        assert [p["size"] for p in parts] == [67108864, 33554432], made
        assert [v["key"] for v in vols] == ["/dev/disk/by-partuuid/%s" % p["partuuid"] for p in parts], (vols, made)
        # udev runs here: the path is the link, and it leads to the partition
        assert [v["path"] for v in vols] == [v["key"] for v in vols], vols
        assert [p["link_to"] for p in parts] == [p["path"] for p in parts], made
        assert [v["format"] for v in vols] == ["linux-lvm", "linux-swap"], vols

        # -- grow the last partition
        grow = harness.converge("storage_volume", volume(name="beta", capacity="96MiB"), fingerprint)
        assert grow.real["volume"]["capacity"] == 100663296, grow.real["volume"]
        grown = disk_state(disk)
        assert [p["size"] for p in grown["partitions"]] == [67108864, 100663296], grown

        # -- delete alpha (its check mode comes after the real grow: the disk is as the grow left it)
        harness.converge("storage_volume", volume(name="alpha", state="absent"), fingerprint)
        by_key = harness.run_module("storage_volume", dict(store, key=vols[1]["key"]))
        assert not by_key.failed and not by_key.changed, by_key
        assert by_key["volume"]["name"] == "beta", by_key
        changed = disk_state(disk)
        assert [p["partlabel"] for p in changed["partitions"]] == ["beta"], changed
        assert changed["partitions"][0]["size"] == 100663296, changed
        assert changed["partitions"][0]["link_to"] == changed["partitions"][0]["path"], changed

        # -- purge: beta, then the pool and its label
        harness.converge("storage_volume", volume(name="beta", state="absent"), fingerprint)
        purged = harness.converge("storage_pool", dict(store, name="vmdisk", state="absent", purge=True), fingerprint)
        assert len(purged.real.actions) == 3, purged.real
        assert purged.real["pool"]["state"] == "absent", purged.real
        left = disk_state(disk)
        assert left["signatures"] == [] and left["partitions"] == [] and left["kernel"] == [], "the disk is not blank: %r" % left
    finally:
        wipe_disk(disk)
