# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""logical pools on SAN in the test VM: two scsi_debug LUNs each over two paths, as multipath maps
(multipath_luns.py). A VG on a path device is refused, in check mode and for real, naming the map
to use, and the device is untouched (its first MiB compared); a VG on the maps themselves (one by
/dev/mapper/ALIAS, one by its by-id WWID link) is built and holds a volume that data is written to and
read back from; extending it with a path device is refused the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import mmap
import os

import pytest

import fingerprints
import harness
from guest import sh
from multipath_luns import MultipathLuns

MIB = 1 << 20
VG = "pcsan"


def head(path, size=MIB):
    """sha256 of the first size bytes, read past the page cache (O_DIRECT, into mmap's aligned pages):
    what is written through a map is not in its paths' caches."""
    buf = mmap.mmap(-1, size)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
        try:
            count = os.readv(fd, [buf])
        finally:
            os.close(fd)
        return hashlib.sha256(buf[:count]).hexdigest()
    finally:
        buf.close()


@pytest.fixture
def luns(monkeypatch):
    monkeypatch.setenv("LVM_SUPPRESS_FD_WARNINGS", "1")
    found = MultipathLuns()
    try:
        yield found.open()
    finally:
        if sh("lvm", "vgs", VG, check=False):
            sh("lvm", "vgchange", "--activate", "n", VG, check=False)
            sh("lvm", "vgremove", "--yes", "--force", VG, check=False)
        for mapped in (found.a, found.b):
            if mapped:
                sh("lvm", "pvremove", "--yes", "/dev/mapper/" + mapped["name"], check=False)
        found.close()


def test_logical_pool_on_multipath_maps_and_never_on_a_path(luns, store, scratch):
    a, b = luns.a, luns.b
    on_maps = ["/dev/mapper/" + a["name"], "/dev/disk/by-id/dm-uuid-mpath-" + b["wwid"]]
    path_a = "/dev/" + a["paths"][0]
    path_b = "/dev/" + b["paths"][1]
    state = fingerprints.combine(
        store=lambda: fingerprints.tree(os.path.dirname(store["config_dir"])),
        # every path's first MiB: where a PV label and LVM's metadata would go
        heads=lambda: [head(path) for path in ["/dev/" + device for mapped in (a, b) for device in mapped["paths"]]])
    args = dict(store, name=VG, type="logical", state="running", build=True, overwrite=True)

    # a path device: refused while planning (check mode too) and again for real, naming the map
    harness.refused("storage_pool", dict(args, source={"devices": [path_a]}), state,
                    "source.devices %s is a path of multipath map %s" % (path_a, a["name"]),
                    "/dev/mapper/%s" % a["name"], "/dev/disk/by-id/dm-uuid-mpath-%s" % a["wwid"])

    # the maps: a VG on them, a volume on it, data that reads back the same through both paths
    done = harness.converge("storage_pool", dict(args, source={"devices": on_maps}), state)
    assert any(action.startswith("build pool 'pcsan' (make /dev/dm-") for action in done.real.actions), done.real.actions
    pvs = sh("lvm", "pvs", "--noheadings", "-o", "pv_name,vg_name", "--select", "vg_name=" + VG).split()
    assert sorted(os.path.realpath(name) for name in pvs[::2]) == sorted(os.path.realpath(path) for path in on_maps)
    # I/O on the pool: a volume (proven on its own in the logical scenarios: one call here) written and read back
    made = harness.run_module("storage_volume", dict(store, pool=VG, name="data", capacity="32M"))
    assert made.changed and not made.failed, made.msg
    lv = made["volume"]["path"]
    data = os.path.join(scratch, "data")
    sh("dd", "if=/dev/urandom", "of=" + data, "bs=1M", "count=32", "status=none")
    sh("dd", "if=" + data, "of=" + lv, "bs=1M", "oflag=direct", "status=none")
    sh("blockdev", "--flushbufs", lv)
    assert fingerprints.digest(lv) == fingerprints.digest(data)

    # extending it with a path device of map B: refused the same way, nothing touched
    harness.refused("storage_pool", dict(args, source={"devices": on_maps + [path_b]}), state,
                    "source.devices %s is a path of multipath map %s" % (path_b, b["name"]))

    for module, done in (("storage_volume", dict(store, pool=VG, name="data", state="absent")),
                         ("storage_pool", dict(store, name=VG, state="absent", purge=True))):
        result = harness.run_module(module, done)
        assert result.changed and not result.failed, result.msg
    assert not sh("lvm", "vgs", "--noheadings", VG, check=False)
