# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_openers: processes that hold a block device open, found by a real process holding a real
block device node, and the descriptors that are never stat'ed (those outside /dev)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import subprocess

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _openers


def _a_block_device():
    for name in ("loop0", "loop1", "ram0", "vda", "sda"):
        path = "/dev/" + name
        if os.path.exists(path) and stat.S_ISBLK(os.stat(path).st_mode) and os.access(path, os.R_OK):
            return path
    pytest.skip("no block device node to open here")


def test_a_process_holding_a_block_device_is_named():
    path = _a_block_device()
    rdev = os.stat(path).st_rdev
    with open(path, "rb") as handle:
        holder = subprocess.Popen(["sleep", "30"], stdin=handle)
    try:
        found = _openers.processes_opening([rdev])
        assert "%d (sleep)" % holder.pid in found.get(rdev, []), found
    finally:
        holder.kill()
        holder.wait()
    assert "%d (sleep)" % holder.pid not in _openers.processes_opening([rdev]).get(rdev, [])


def test_only_links_into_dev_are_looked_at(tmp_path, monkeypatch):
    """A fake /proc: a descriptor naming a file elsewhere (it could be on a dead NFS mount) is never
    stat'ed, a character device is no block device, a vanished process is skipped."""
    proc = tmp_path / "proc"
    fd_dir = proc / "4242" / "fd"
    fd_dir.mkdir(parents=True)
    (proc / "4242" / "comm").write_text("qemu\n")
    os.symlink("/nfs/dead/server/file", str(fd_dir / "3"))
    os.symlink("/dev/null", str(fd_dir / "4"))
    (proc / "4343").mkdir()  # no fd directory: gone, or a kernel thread
    stats = []
    real_stat = os.stat

    def watched(path, *args, **kwargs):
        stats.append(str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(_openers, "PROC", str(proc))
    monkeypatch.setattr(os, "stat", watched)
    assert _openers.processes_opening([os.makedev(7, 0)]) == {}
    assert stats == [str(fd_dir / "4")], stats
