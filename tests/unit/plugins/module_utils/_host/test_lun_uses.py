# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_lun_uses: the uses of a set of LUNs read from a sysfs tree in tmp_path, mounts and swaps of the
test's own, and the openers /proc would show (the iscsi and scsi scenarios open real LUNs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from collections import namedtuple

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev, _lun_uses, _mounts, _openers

Lun = namedtuple("Lun", "unit block")


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """sdb (8:16) with partition sdb1 (8:17), sdc (8:32) held by dm-0; sdb1 mounted at /srv/images."""
    root = tmp_path / "class-block"
    for name, dev, parent, holders in (("sdb", "8:16", None, ()), ("sdb1", "8:17", "sdb", ()), ("sdc", "8:32", None, ("dm-0",))):
        for node in [root / name] + ([root / parent / name] if parent else []):
            (node / "holders").mkdir(parents=True)
            (node / "dev").write_text(dev + "\n")
            if parent:
                (node / "partition").write_text("1\n")
            for holder in holders:
                (node / "holders" / holder).mkdir()
    monkeypatch.setattr(_blockdev, "SYS_BLOCK", str(root))
    monkeypatch.setattr(_mounts, "read_mounts", lambda: _mounts.parse_mountinfo(
        "36 25 8:17 / /srv/images rw,relatime shared:1 - ext4 /dev/sdb1 rw"))
    monkeypatch.setattr(_mounts, "read_swaps", set)
    return root


def test_each_use_is_named_under_its_lun(tree, monkeypatch):
    monkeypatch.setattr(_openers, "processes_opening", lambda numbers: {os.makedev(8, 17): ["4242 (qemu)"]}
                        if os.makedev(8, 17) in numbers else {})
    found = _lun_uses.lun_uses([Lun("unit:0:0:1", "sdb"), Lun("unit:0:0:2", "sdc"), Lun("unit:0:0:3", None)])
    assert found == {
        "unit:0:0:1 (/dev/sdb)": ["partition sdb1 mounted at /srv/images", "partition sdb1 open by 4242 (qemu)"],
        "unit:0:0:2 (/dev/sdc)": ["held by dm-0"],
    }


def test_unused_luns_are_left_out(tree, monkeypatch):
    monkeypatch.setattr(_openers, "processes_opening", lambda numbers: {})
    monkeypatch.setattr(_mounts, "read_mounts", lambda: _mounts.parse_mountinfo(""))
    assert _lun_uses.lun_uses([Lun("unit:0:0:1", "sdb")]) == {}
