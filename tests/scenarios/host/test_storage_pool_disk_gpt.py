# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A gpt disk pool on a blank device (was storage_pool_disk/tasks/gpt.yml): build and start,
volumes of several formats, sizes rounded to whole MiB, growing the last partition, refusals,
lookups by key and path, delete with wipe (and refused while mounted), a clone, purge. Every
change: check mode, for real, again, check mode again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os

import pytest

import harness
from system import run
from disk_pool_host import (
    BLKFLSBUF, GPT_TYPES, MIB, assert_blank, column, converge, realpath, refused, run_ok, snapshot, table)

SIZE = "64M"

# (case, args, expected strings) of the volume tasks a gpt pool refuses; the table is as the
# volumes alpha (8 MiB), beta (5 MiB) and gamma (10 MiB, last) left it
REFUSALS = [
    ("grow a partition that is not the last", {"name": "alpha", "capacity": "9MiB"},
     ["capacity", "only the last partition grows", "'beta' follows it"]),
    ("shrink", {"name": "gamma", "capacity": "4MiB", "shrink": True},
     ["capacity", "disk pools do not shrink partitions"]),
    ("grow past the end of the disk", {"name": "gamma", "capacity": "1GiB"},
     ["capacity", "volume 'gamma' can grow to", "at most"]),
    ("a volume larger than any free extent", {"name": "delta", "capacity": "60MiB"},
     ["capacity", "no free extent", "the largest holds 39.0 MiB"]),
    ("a partN name", {"name": "part4", "capacity": "1MiB"},
     ["name", "'part4'", "partitions without a name"]),
    ("a name with a blank", {"name": "my disk", "capacity": "1MiB"},
     ["name", "'my disk'", "1 to 36 characters"]),
    ("fat16 on gpt", {"name": "delta", "format": "fat16", "capacity": "1MiB"},
     ["format", "'fat16'", "use fat32"]),
    ("a format that is no partition type", {"name": "delta", "format": "qcow2", "capacity": "1MiB"},
     ["format", "'qcow2'", "disk pools hold volumes of format none, linux"]),
    ("another format for an existing partition", {"name": "beta", "format": "linux-raid"},
     ["format", "'linux-raid'", "exists as linux-swap", "never converted"]),
    ("an overlay", {"name": "delta", "capacity": "1MiB", "backing_store": {"path": "the image of the disk", "format": "raw"}},
     ["backing_store", "no overlays"]),
    ("preallocation", {"name": "delta", "capacity": "1MiB", "preallocation": "full"},
     ["preallocation", "disk pools do not take it"]),
]


def _bytes_at(dev, offset, length):
    """The set of byte values of dev in [offset, offset + length), its cached blocks dropped first."""
    with open(dev, "rb") as handle:
        fcntl.ioctl(handle.fileno(), BLKFLSBUF)
        handle.seek(offset)
        return sorted(set(handle.read(length)))


def test_gpt_life_cycle(loop_device, scratch, store, pool_schema, volume_schema):
    dev = loop_device(SIZE, name="disk.img")
    image = os.path.join(scratch, "disk.img")
    assert_blank(loop_device, dev)
    snap = snapshot(dev, store)
    mnt = os.path.join(scratch, "mnt")

    # -- define, build and start ------------------------------------------------------------
    done = converge("storage_pool", store, {"name": "dk-gpt", "type": "disk", "source": {"device": dev, "format": "gpt"},
                                            "build": True, "state": "running"}, snap)
    tab = table(dev)
    pool = done.real["pool"]
    assert done.real.actions == ["define pool 'dk-gpt' (disk, persistent)",
                                 "build pool 'dk-gpt' (make a gpt partition table on %s)" % dev,
                                 "start pool 'dk-gpt'"]
    assert tab["label"] == "gpt"
    assert tab["partitions"] == []
    assert pool["state"] == "running"
    assert pool["target"]["path"] == "/dev"
    assert pool["source"]["devices"] == [dev]
    assert pool["source"]["format"] == "gpt"
    assert pool["capacity"] == 64 * MIB
    assert pool["allocation"] == 0
    assert pool["volume_count"] == 0
    # from the first MiB to the last whole MiB before the backup GPT
    assert len(pool["free_extents"]) == 1
    assert pool["free_extents"][0] == {"start": MIB, "end": 63 * MIB - 1, "size": 62 * MIB}
    assert pool["available"] == 62 * MIB
    pool_schema(os.path.join(store["config_dir"], "dk-gpt.xml"))

    # -- volumes ----------------------------------------------------------------------------
    alpha = converge("storage_volume", store, {"pool": "dk-gpt", "name": "alpha", "format": "linux-lvm",
                                               "capacity": "8MiB"}, snap).real["volume"]
    # 5000000 bytes: whole MiB, so 5 MiB
    beta = converge("storage_volume", store, {"pool": "dk-gpt", "name": "beta", "format": "linux-swap",
                                              "capacity": "5000000"}, snap).real["volume"]
    # the default format
    gamma = converge("storage_volume", store, {"pool": "dk-gpt", "name": "gamma", "capacity": "2MiB"},
                     snap).real["volume"]
    parts = table(dev)["partitions"]
    assert column(parts, "number") == [1, 2, 3]
    assert column(parts, "name") == ["alpha", "beta", "gamma"]
    assert column(parts, "type") == [GPT_TYPES["linux-lvm"], GPT_TYPES["linux-swap"], GPT_TYPES["linux"]]
    assert column(parts, "start") == [MIB, 9 * MIB, 14 * MIB]
    assert column(parts, "size") == [8 * MIB, 5 * MIB, 2 * MIB]
    assert column(parts, "node_size") == [8 * MIB, 5 * MIB, 2 * MIB]
    # the by-partuuid link where udev runs, else the kernel node
    assert alpha["path"] in [dev + "p1", alpha["key"]]
    assert realpath(alpha["path"]) == dev + "p1"
    assert alpha["key"] == "/dev/disk/by-partuuid/" + parts[0]["uuid"]
    assert alpha["type"] == "block"
    assert alpha["format"] == "linux-lvm"
    assert alpha["capacity"] == 8 * MIB
    assert alpha["allocation"] == 8 * MIB
    assert beta["capacity"] == 5 * MIB
    assert beta["key"] == "/dev/disk/by-partuuid/" + parts[1]["uuid"]
    # gamma was made with the default format, none: no particular type; the table says Linux data
    assert gamma["format"] == "linux"
    assert realpath(gamma["path"]) == dev + "p3"
    volume_schema(alpha["xml"])

    # asking again, by the same or an equivalent format and size, is no change
    for same in ({"name": "beta", "capacity": "5MiB", "format": "linux-swap"},
                 {"name": "beta", "capacity": "4999999"},
                 {"name": "gamma", "capacity": "2MiB", "format": "none"},
                 {"name": "gamma", "capacity": "2MiB", "format": "linux"}):
        run_ok("storage_volume", store, dict(same, pool="dk-gpt"), changed=False)

    # -- growing ----------------------------------------------------------------------------
    done = converge("storage_volume", store, {"pool": "dk-gpt", "name": "gamma", "capacity": "10MiB"}, snap)
    parts = table(dev)["partitions"]
    assert done.real.actions == ["grow volume 'gamma' from 2.0 MiB to 10.0 MiB"]
    assert done.real["volume"]["capacity"] == 10 * MIB
    assert parts[2]["size"] == 10 * MIB
    assert parts[2]["node_size"] == 10 * MIB
    assert parts[2]["start"] == 14 * MIB

    for case, args, expect in REFUSALS:
        args = dict(args, pool="dk-gpt")
        if "backing_store" in args:
            args["backing_store"] = dict(args["backing_store"], path=image)
        try:
            refused("storage_volume", store, args, snap, *expect)
        except AssertionError as exc:
            pytest.fail("gpt refused: %s: %s" % (case, exc))

    # -- lookups ----------------------------------------------------------------------------
    by_key = harness.run_module("storage_volume", dict(store, key=alpha["key"]))
    by_path = harness.run_module("storage_volume", dict(store, path=dev + "p2"))
    listed = harness.run_module("storage_pool", dict(store, name="dk-gpt", list_volumes=True))
    for found in (by_key, by_path, listed):
        assert not found.failed, found.msg
    assert [by_key.changed, by_path.changed] == [False, False]
    assert [by_key["volume"]["name"], by_path["volume"]["name"]] == ["alpha", "beta"]
    assert [by_key["volume"]["pool"], by_path["volume"]["pool"]] == ["dk-gpt", "dk-gpt"]
    assert not listed.changed
    assert column(listed["pool"]["volumes"], "name") == ["alpha", "beta", "gamma"]
    assert column(listed["pool"]["volumes"], "format") == ["linux-lvm", "linux-swap", "linux"]
    assert listed["pool"]["volume_count"] == 3
    assert listed["pool"]["allocation"] == 23 * MIB
    assert listed["pool"]["free_extents"] == [{"start": 24 * MIB, "end": 63 * MIB - 1, "size": 39 * MIB}]

    # -- delete: refused while mounted, then with wipe --------------------------------------
    os.makedirs(os.path.join(mnt, "beta"))
    run("mkfs.ext4", "-q", "-F", dev + "p2")
    run("mount", dev + "p2", os.path.join(mnt, "beta"))
    try:
        refused("storage_volume", store, {"pool": "dk-gpt", "name": "beta", "state": "absent"}, snap,
                "volume 'beta'", dev + "p2", "in use", "mounted at %s/beta" % mnt)
    finally:
        run("umount", os.path.join(mnt, "beta"))

    fd = os.open(dev + "p1", os.O_WRONLY)
    try:
        os.write(fd, b"\1" * (8 << 20))
        os.fsync(fd)
    finally:
        os.close(fd)
    done = converge("storage_volume", store, {"pool": "dk-gpt", "name": "alpha", "state": "absent", "wipe": "zero"}, snap)
    wiped = _bytes_at(dev, 1 << 20, 8 << 20)
    parts = table(dev)["partitions"]
    assert len(done.real.actions) == 1
    assert done.real.actions[0].startswith("wipe (zero) and delete volume 'alpha' ("), done.real.actions
    assert done.real["volume"]["state"] == "absent"
    assert wiped == [0]
    assert column(parts, "name") == ["beta", "gamma"]
    assert not os.path.exists(dev + "p1")

    # -- clone ------------------------------------------------------------------------------
    source = os.path.join(scratch, "source.raw")
    with open(source, "wb") as handle:
        handle.write(os.urandom(3 * MIB - 512))
    done = converge("storage_volume", store, {"pool": "dk-gpt", "name": "copy", "clone_from": {"path": source}}, snap)
    run("cmp", "--bytes", str(3 * MIB - 512), source, done.real["volume"]["path"])
    assert done.real["clone_method"] == "copy"
    assert done.real["volume"]["capacity"] == 3 * MIB
    assert realpath(done.real["volume"]["path"]) == dev + "p1"

    # -- purge ------------------------------------------------------------------------------
    refused("storage_pool", store, {"name": "dk-gpt", "state": "absent", "purge": True}, snap, "'dk-gpt'", "3 volumes")
    for name in ("beta", "copy", "gamma"):
        run_ok("storage_volume", store, {"pool": "dk-gpt", "name": name, "state": "absent"}, changed=True)
    done = converge("storage_pool", store, {"name": "dk-gpt", "state": "absent", "purge": True}, snap)
    purged = json.loads(run("wipefs", "--no-act", "--json", dev) or "{}")
    assert done.real.actions == ["stop pool 'dk-gpt'", "delete the storage of pool 'dk-gpt' (/dev)", "undefine pool 'dk-gpt'"]
    assert purged.get("signatures", []) == []
    assert done.again["pool"]["state"] == "absent"
    # the kernel's partitions after the purge: none
    assert snap()["partitions"] == []
