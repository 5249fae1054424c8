# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_partition_table: the pure parts of the reader. Reading whole tables from recorded wipefs and
partx output, against what parted finds, is tested through the disk backend (_backends/test_disk.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _partition_table
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._partition_table import (
    Extent, format_of, gaps, kernel_partitions, label_of)


def test_label_of_what_wipefs_finds():
    assert label_of(("PMBR", "gpt")) == "gpt"
    assert label_of(("dos",)) == "dos"
    assert label_of(("ext4",)) is None


def test_format_of_a_partition_type():
    assert format_of("gpt", "0fc63daf-8483-4772-8e79-3d69d8477de4") == "linux"
    assert format_of("gpt", "00000000-0000-0000-0000-000000000001") == "none"
    assert format_of("dos", "0x8e") == "linux-lvm"
    assert format_of("dos", "0x5") == "extended"
    assert format_of("dos", "zz") == "none"


def test_gaps_between_and_around_what_is_taken():
    assert gaps(0, 99, [(10, 19), (40, 49)]) == [Extent(0, 9), Extent(20, 39), Extent(50, 99)]
    assert gaps(0, 99, [(0, 99)]) == []
    assert gaps(10, 20, [(0, 15)]) == [Extent(16, 20)]


def test_kernel_partitions_from_sysfs(tmp_path, monkeypatch):
    sys_block, dev = tmp_path / "block", tmp_path / "dev"
    dev.mkdir()
    for name, number, start in (("loop3p1", 1, 2048), ("loop3p2", 2, 4096), ("loop3p9", 9, 8192)):
        part = sys_block / "loop3" / name
        part.mkdir(parents=True)
        (part / "partition").write_text("%d\n" % number)
        (part / "start").write_text("%d\n" % start)
        (part / "size").write_text("2048\n")
        if name != "loop3p9":  # no node (yet): not counted
            (dev / name).write_text("")
    (sys_block / "loop3" / "queue").mkdir()
    monkeypatch.setattr(_blockdev, "SYS_BLOCK", str(sys_block))
    monkeypatch.setattr(_partition_table, "DEV", str(dev))
    assert kernel_partitions("loop3") == {1: ("loop3p1", 2048, 2048), 2: ("loop3p2", 4096, 2048)}
