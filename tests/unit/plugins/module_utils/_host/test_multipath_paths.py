# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_multipath_paths: maps and their paths from a sysfs tree laid out as the test VM's kernel lays it
out (two maps over scsi_debug paths, an LV beside them), made under tmp_path; the real kernel is
tests/scenarios/vm/test_storage_pool_mpath_vm.py's. /dev links are made as udev makes them, to
files that carry no device number here: the lookups by link are proven in the VM, the fallbacks here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _multipath_paths, _sysfs


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text + "\n")


def link(path, target):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(target, path)


class Tree(object):
    """/sys/devices/..., /sys/class/block/NAME links and /sys/dev/block/MAJ:MIN links."""

    def __init__(self, root):
        self.root = root
        self.sys = os.path.join(root, "sys")

    def disk(self, name, number, hctl=None, size=32768):
        if hctl:
            device = os.path.join(self.sys, "devices", "pseudo_0", "adapter0", "host2", "target%s" % hctl.rsplit(":", 1)[0], hctl)
            os.makedirs(device, exist_ok=True)
            base = os.path.join(device, "block", name)
            link(os.path.join(base, "device"), os.path.relpath(device, base))
        else:
            base = os.path.join(self.sys, "devices", "virtual", "block", name)
        write(os.path.join(base, "size"), str(size))
        write(os.path.join(base, "dev"), number)
        os.makedirs(os.path.join(base, "holders"), exist_ok=True)
        os.makedirs(os.path.join(base, "slaves"), exist_ok=True)
        link(os.path.join(self.sys, "class", "block", name), os.path.relpath(base, os.path.join(self.sys, "class", "block")))
        link(os.path.join(self.sys, "dev", "block", number), os.path.relpath(base, os.path.join(self.sys, "dev", "block")))
        return base

    def dm(self, name, number, dm_name, uuid, slaves=(), size=32768):
        base = self.disk(name, number, size=size)
        write(os.path.join(base, "dm", "name"), dm_name)
        write(os.path.join(base, "dm", "uuid"), uuid)
        for slave in slaves:
            slave_base = os.path.realpath(os.path.join(self.sys, "class", "block", slave))
            link(os.path.join(base, "slaves", slave), os.path.relpath(slave_base, os.path.join(base, "slaves")))
            link(os.path.join(slave_base, "holders", name), os.path.relpath(base, os.path.join(slave_base, "holders")))
        return base


@pytest.fixture
def tree(tmp_path, monkeypatch):
    made = Tree(str(tmp_path))
    for name, number, hctl in (("sda", "8:0", "2:0:0:0"), ("sdb", "8:16", "3:0:0:0"),
                               ("sdc", "8:32", "4:0:0:1"), ("sdd", "8:48", "5:0:0:1"), ("vda", "254:0", None)):
        made.disk(name, number, hctl)
    made.dm("dm-0", "253:0", "pcmpa", "mpath-1Linux_scsi_debug_2000", ("sda", "sdb"))
    made.dm("dm-1", "253:1", "1Linux_scsi_debug_2001", "mpath-1Linux_scsi_debug_2001", ("sdc", "sdd"), size=65536)
    made.dm("dm-2", "253:2", "vg-lv", "LVM-abcdef", ("vda",))
    monkeypatch.setattr(_sysfs, "SYS", made.sys)
    return made


def sys_block(tree):
    return os.path.join(tree.sys, "class", "block")


def test_map_of_path_names_the_map_of_a_path_and_nothing_else(tree):
    found = _multipath_paths.map_of_path("sdb", sys_block=sys_block(tree))
    assert found == _multipath_paths.MapOfPath(name="pcmpa", wwid="1Linux_scsi_debug_2000", dm="dm-0")
    assert (found.path, found.by_id) == ("/dev/mapper/pcmpa", "/dev/disk/by-id/dm-uuid-mpath-1Linux_scsi_debug_2000")
    assert _multipath_paths.map_of_path("vda", sys_block=sys_block(tree)) is None  # held by an LV, not a map
    assert _multipath_paths.map_of_path("dm-0", sys_block=sys_block(tree)) is None  # the map itself


def test_map_of_path_of_a_partition_is_its_disks_map(tree):
    base = os.path.realpath(os.path.join(sys_block(tree), "sdc"))
    part = os.path.join(base, "sdc1")
    write(os.path.join(part, "partition"), "1")
    link(os.path.join(sys_block(tree), "sdc1"), os.path.relpath(part, sys_block(tree)))
    assert _multipath_paths.map_of_path("sdc1", sys_block=sys_block(tree)).name == "1Linux_scsi_debug_2001"


def test_every_map_with_size_and_paths_and_no_lv(tree):
    maps = _multipath_paths.all_maps()
    assert [(found.name, found.wwid, found.dm, found.size, found.slaves) for found in maps] == [
        ("1Linux_scsi_debug_2001", "1Linux_scsi_debug_2001", "dm-1", 65536 * 512, ("sdc", "sdd")),
        ("pcmpa", "1Linux_scsi_debug_2000", "dm-0", 32768 * 512, ("sda", "sdb"))]
    assert _multipath_paths.map_at("dm-2") is None and _multipath_paths.map_at("dm-9") is None


def test_find_by_wwid_and_alias_without_udev_links(tree, tmp_path):
    dev = str(tmp_path / "dev")
    os.makedirs(os.path.join(dev, "mapper"))
    assert _multipath_paths.find_by_wwid("1Linux_scsi_debug_2001", dev=dev).dm == "dm-1"
    assert _multipath_paths.find_by_alias("pcmpa", dev=dev).wwid == "1Linux_scsi_debug_2000"
    assert _multipath_paths.find_by_wwid("pcmpa", dev=dev) is None  # an alias is no WWID
    assert _multipath_paths.find_by_alias("1Linux_scsi_debug_2000", dev=dev) is None  # nor a WWID an alias
    assert _multipath_paths.find_by_wwid("3600nothere", dev=dev) is None


def test_a_link_to_another_device_is_not_taken_for_the_map(tree, tmp_path, monkeypatch):
    # /dev/mapper/pcmpa pointing at a node whose number is the LV's: the map's own name decides
    dev = str(tmp_path / "dev")
    os.makedirs(os.path.join(dev, "mapper"))
    write(os.path.join(dev, "mapper", "pcmpa"), "")
    monkeypatch.setattr(_multipath_paths, "_dm_behind", lambda path: "dm-2")
    assert _multipath_paths.find_by_alias("pcmpa", dev=dev).dm == "dm-0"


def test_path_numbers_and_scsi_addresses(tree):
    assert _multipath_paths.device_of_number("8:32") == "sdc"
    assert _multipath_paths.device_of_number("8:99") is None
    assert _multipath_paths.scsi_address("sdd") == "5:0:0:1"
    assert _multipath_paths.scsi_address("vda") is None
