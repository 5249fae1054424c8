# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool with dir pools: a running pool reports the sizes of its filesystem as integers and
counts its volumes (regular files, not our temporaries, not directories); list_volumes returns
them with format and sizes.

Ported from tests/integration/targets/storage_pool_dir/tasks/sizes.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import harness


def storage_pool(store, check=False, diff=False, **args):
    """storage_pool with the test's store (conftest's module fixture cannot take name=: its own
    first parameter is called name)."""
    return harness.run_module("storage_pool", dict(store, **args), check=check, diff=diff)


def command(*argv):
    proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, "%s: %s" % (" ".join(argv), proc.stdout)


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def test_sizes_volume_count_list_volumes(scratch, store):
    pools = os.path.join(scratch, "pools")
    os.mkdir(pools, 0o755)
    path = pools + "/p4"
    p4 = storage_pool(store, name="p4", type="dir", target={"path": path}, build=True, state="running")
    assert not p4.failed and p4.changed
    # two volumes (a raw image of 1 MiB, a qcow2 of 2 MiB) and a subdirectory, a half-made volume
    # and a symlink, which are not volumes
    command("truncate", "-s", "1M", path + "/a.img")
    command("qemu-img", "create", "-q", "-f", "qcow2", path + "/b.qcow2", "2M")
    os.mkdir(path + "/sub", 0o755)
    os.close(os.open(path + "/.poolcraft-tmp-c.img", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    os.symlink("a.img", path + "/link.img")
    fs = os.statvfs(path)  # stat -f -c '%b %S %a'

    p4 = storage_pool(store, name="p4")
    pool = p4["pool"]
    assert not p4.failed and not p4.changed
    assert is_int(pool["capacity"])
    assert is_int(pool["allocation"])
    assert is_int(pool["available"])
    assert pool["capacity"] == fs.f_blocks * fs.f_frsize
    assert abs(pool["available"] - fs.f_bavail * fs.f_frsize) < 256 * 1024 * 1024
    assert pool["allocation"] > 0
    assert pool["allocation"] <= pool["capacity"]
    assert pool["available"] <= pool["capacity"]
    assert pool["volume_count"] == 2
    assert "volumes" not in pool

    # the two volumes, sorted, with format and sizes
    listed = storage_pool(store, name="p4", list_volumes=True)
    assert not listed.failed and not listed.changed
    vols = listed["pool"]["volumes"]
    assert [vol["name"] for vol in vols] == ["a.img", "b.qcow2"]
    assert [vol["format"] for vol in vols] == ["raw", "qcow2"]
    assert [vol["capacity"] for vol in vols] == [1048576, 2097152]
    assert [vol["path"] for vol in vols] == [path + "/a.img", path + "/b.qcow2"]
    assert [vol["key"] for vol in vols] == [path + "/a.img", path + "/b.qcow2"]
    assert set(vol["type"] for vol in vols) == set(["file"])
    assert len([vol for vol in vols if is_int(vol["allocation"])]) == 2
    assert [vol["backing_chain"] for vol in vols] == [[], []]
    assert listed["pool"]["volume_count"] == 2

    # a stopped pool has no sizes and lists no volumes
    stopped = storage_pool(store, name="p4", state="stopped", list_volumes=True)
    assert not stopped.failed and stopped.changed
    assert stopped["pool"]["capacity"] is None
    assert stopped["pool"]["volume_count"] is None
    assert "volumes" not in stopped["pool"]
