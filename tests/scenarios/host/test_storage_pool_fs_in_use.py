# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A device in use is refused even with overwrite: true, and left as it is
(storage_pool_fs/tasks/in_use.yml and mounted.yml):
- mounted elsewhere, by the test itself outside any pool: ext4, and btrfs, whose mounts the
  kernel lists under an anonymous device number;
- active swap, where swapon works on this host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

import fs_pool_host as common
from system import run

fs_host = common.fs_host


@pytest.mark.parametrize("fs_type, size", [("ext4", "64M"), ("btrfs", "128M")])
def test_mounted_elsewhere(fs_host, fs_type, size):
    host = fs_host(size)
    dev = host.dev
    run("mkfs." + fs_type, "-q", "-F" if fs_type == "ext4" else "-f", dev)
    uuid_before = common.blkid(dev).get("UUID")
    elsewhere = os.path.join(host.scratch, "elsewhere")
    os.mkdir(elsewhere, 0o755)
    run("mount", "-t", fs_type, dev, elsewhere)
    try:
        # a build of xfs is refused, even with overwrite
        refusal = host.refused(
            dict(name="fs-mounted", type="fs", source={"device": dev, "format": "xfs"},
                 target={"path": os.path.join(host.mnt, "mounted")}, build=True, overwrite=True, state="running"),
            "source.device", dev, "in use", "mounted at %s" % elsewhere, "even with overwrite")
        # still there, still mounted
        assert common.blkid(dev).get("UUID") == uuid_before
        assert ("%s %s %s" % (elsewhere, dev, fs_type)) in "\n".join(refusal.after["mounts"]), refusal.after["mounts"]
        assert not os.path.exists(os.path.join(host.mnt, "mounted"))
    finally:
        run("umount", elsewhere)


def test_active_swap(fs_host):
    host = fs_host("64M")
    dev = host.dev
    run("mkswap", dev)
    swapon = subprocess.run(["swapon", dev], stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if swapon.returncode != 0:
        pytest.skip("swapon does not work here: %s" % swapon.stderr.strip())
    try:
        # a build on active swap is refused, even with overwrite
        refusal = host.refused(
            dict(name="fs-swap", type="fs", source={"device": dev, "format": "ext4"},
                 target={"path": os.path.join(host.mnt, "swap")}, build=True, overwrite=True),
            "source.device", dev, "in use", "active swap", "even with overwrite")
        # the swap is still on, its bytes unchanged
        assert len(refusal.after["swaps"]) == 1, refusal.after["swaps"]
        assert len(refusal.before["device"]["sha256"] or "") == 64, refusal.before["device"]
        assert refusal.after["device"]["sha256"] == refusal.before["device"]["sha256"]
    finally:
        run("swapoff", dev)
