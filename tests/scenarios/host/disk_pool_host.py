# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the disk pool scenarios share (no tests of its own): the snapshot of what a task could
change, the partition table as the tools show it, and the converge / refusal calls of one
storage_pool or storage_volume task with the extra checks the old target made.

Ported from tests/integration/targets/storage_pool_disk (snapshot.yml, table.yml, blank.yml,
four_pool.yml, four_volume.yml, refused.yml). The host kernel has no partition-table parser:
parted adds the nodes of what it changes, anything else needs `partx -u DEV`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os
import re
import stat
import subprocess

import fingerprints
import harness

MIB = 1 << 20
BLKFLSBUF = 0x1261

# the GPT partition type GUIDs and MBR ids each volume format gets
GPT_TYPES = {
    "linux": "0fc63daf-8483-4772-8e79-3d69d8477de4",
    "linux-swap": "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f",
    "linux-lvm": "e6d6d379-f507-44c2-a23c-238f2a3df928",
    "linux-raid": "a19d880f-05fc-4d3b-a006-743f0f84911e",
    "fat32": "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
}
DOS_TYPES = {
    "linux": "0x83",
    "linux-swap": "0x82",
    "linux-lvm": "0x8e",
    "linux-raid": "0xfd",
    "fat16": "0xe",
    "fat32": "0xc",
}


def _mounted(dev):
    """dev itself or one of its partitions is a mount's source."""
    dev = os.path.realpath(dev)
    return any(os.path.realpath(m[1]) == dev or os.path.realpath(m[1]).startswith(dev + "p")
               for m in fingerprints.mountinfo())


def device_bytes(dev):
    """sha256 of every byte of dev, its cached blocks dropped first (so writes through its
    partition nodes are seen); None while it or a partition of it is mounted (a mounted
    filesystem writes by itself)."""
    if _mounted(dev):
        return None
    with open(dev, "rb") as handle:
        fcntl.ioctl(handle.fileno(), BLKFLSBUF)
    return fingerprints.digest(dev)


def store_files(store):
    """Every file and link of the test's definition store (name, mode, owner, size, mtime), as
    snapshot.yml listed them: not its directories, nor the lock file (the store makes both on the
    first run that is not in check mode, even one that is then refused)."""
    files = []
    for key in ("config_dir", "runtime_dir"):
        lock = os.path.join(store[key], ".lock")
        for entry in fingerprints.tree(store[key], exclude=[lock]):
            if not stat.S_ISDIR(int(entry.split("|")[1], 8)):
                files.append("%s/%s" % (key, entry))
    return files


def snapshot(dev, store):
    """What a task could change: the device's bytes, what blkid finds on it, the kernel's
    partitions of it, and every file of the test's definition store."""
    return fingerprints.combine(
        device=lambda: device_bytes(dev),
        blkid=lambda: fingerprints.blkid(dev),
        partitions=lambda: fingerprints.partitions(dev),
        store=lambda: store_files(store),
    )


def _tool(*argv):
    proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=dict(os.environ, LC_ALL="C"), check=False)
    return proc


def table(dev):
    """The partition table of dev as the tools show it, independent of the module: parted's label
    and geometry, partx's names, types and PARTUUIDs, and for each partition whether the kernel
    has it (its node, and the node's size, None without one)."""
    out = _tool("parted", "-s", "-m", dev, "unit", "B", "print").stdout
    lines = [line for line in out.splitlines() if line.endswith(";")]
    label = lines[1].split(":")[5] if len(lines) > 1 else None
    geometry = {}
    for line in lines[2:]:
        fields = line.rstrip(";").split(":")
        geometry[int(fields[0])] = (int(fields[1][:-1]), int(fields[2][:-1]))
    parts = []
    if label in ("gpt", "msdos"):
        proc = _tool("partx", "-P", "-o", "NR,UUID,TYPE,NAME", dev)
        assert proc.returncode == 0, "partx %s: %s" % (dev, proc.stderr)
        name = os.path.basename(os.path.realpath(dev))
        for line in proc.stdout.splitlines():
            entry = dict(re.findall(r'([A-Z]+)="([^"]*)"', line))
            number = int(entry["NR"])
            node = "/dev/%s%s%d" % (name, "p" if name[-1].isdigit() else "", number)
            size = None
            if os.path.exists(node):
                with open(node, "rb") as handle:
                    size = handle.seek(0, 2)
            start, end = geometry[number]
            parts.append({"number": number, "start": start, "end": end, "size": end - start + 1,
                          "name": entry["NAME"], "type": entry["TYPE"], "uuid": entry["UUID"],
                          "node": node, "node_size": size})
    return {"label": label, "partitions": parts}


def column(items, key):
    return [item[key] for item in items]


def assert_blank(loop_device, dev):
    """The device is still the test's own, and blkid finds nothing on it (blank.yml's checks; a
    fresh loop_device over a new sparse file is blank, its partition nodes dropped by the fixture)."""
    assert loop_device.owns(dev), "%s is no longer the test's" % dev
    proc = subprocess.run(["blkid", "--probe", dev], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    assert proc.returncode == 2, "%s is not blank: rc %d %s" % (dev, proc.returncode, proc.stdout)
    assert fingerprints.partitions(dev) == []


def converge(module, store, args, fingerprint):
    """four_pool.yml / four_volume.yml: check mode plans and changes nothing, the real run does what
    it planned, the next finds nothing to do (harness.converge), and the second run returns the
    same pool (volume) as the real one."""
    done = harness.converge(module, dict(store, **args), fingerprint)
    key = "pool" if module == "storage_pool" else "volume"
    assert done.again[key] == done.real[key], "%s: again %r, real %r" % (key, done.again[key], done.real[key])
    return done


def refused(module, store, args, fingerprint, *expect):
    """refused.yml: refused in check mode and for real, one clean line naming every string of
    expect, the device's bytes, its partitions and the store unchanged."""
    return harness.refused(module, dict(store, **args), fingerprint, *expect)


def run_ok(module, store, args, changed):
    """A plain task (a loop item of the old target with failed_when on failed / changed)."""
    result = harness.run_module(module, dict(store, **args))
    assert not result.failed, "%s %r: %s" % (module, args, result.msg)
    assert result.changed == changed, "%s %r: changed %r, expected %r" % (module, args, result.changed, changed)
    return result


def realpath(path):
    return os.path.realpath(path)
