# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_devices: the one-pass block device scan on a fake sysfs tree and udev database."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._facts import _devices
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _sysfs

SCSI = "/devices/pci0000:00/0000:00:05.0/host2/target2:0:0/2:0:0:1"
SDB = SCSI + "/block/sdb"

# name -> (devpath, maj:min, {attribute: value}, udev record lines)
DEVICES = {
    "sdb": (SDB, "8:16", {
        "size": "2097152", "ro": "0", "removable": "0", "queue/logical_block_size": "512",
        "queue/physical_block_size": "4096", "queue/rotational": "0",
    }, ["E:ID_SERIAL_SHORT=beef01", "E:ID_WWN=0x6001405abcdef012", "E:ID_WWN_WITH_EXTENSION=0x6001405abcdef0123456789abcdef012",
        "E:ID_PART_TABLE_TYPE=gpt", "E:ID_PART_TABLE_UUID=5a1e0c2e-0000-4000-8000-000000000001",
        "E:ID_VENDOR_ENC=LIO-ORG\\x20", "E:ID_MODEL=disk01",
        "S:disk/by-id/wwn-0x6001405abcdef0123456789abcdef012", "S:disk/by-path/pci-0000:00:05.0-scsi-0:0:0:1",
        "S:disk/by-diskseq/12", "I:123456", "G:systemd"]),
    "sdb1": (SDB + "/sdb1", "8:17", {"size": "204800", "ro": "0", "start": "2048", "partition": "1"},
             ["E:ID_FS_TYPE=ext4", "E:ID_FS_USAGE=filesystem", "E:ID_FS_UUID=11111111-2222-3333-4444-555555555555",
              "E:ID_FS_LABEL=data", "E:ID_FS_VERSION=1.0", "E:ID_PART_ENTRY_TYPE=0fc63daf-8483-4772-8e79-3d69d8477de4",
              "E:ID_PART_ENTRY_NAME=my\\x20data", "E:ID_PART_ENTRY_UUID=aaaaaaaa-0000-4000-8000-000000000001",
              "E:ID_PART_ENTRY_NUMBER=1",
              "S:disk/by-uuid/11111111-2222-3333-4444-555555555555", "S:disk/by-label/data",
              "S:disk/by-partuuid/aaaaaaaa-0000-4000-8000-000000000001"]),
    "sdb2": (SDB + "/sdb2", "8:18", {"size": "1048576", "ro": "0", "start": "206848", "partition": "2"},
             ["E:ID_FS_TYPE=LVM2_member", "E:ID_FS_USAGE=raid"]),
    "dm-0": ("/devices/virtual/block/dm-0", "254:0", {
        "size": "1040384", "ro": "0", "queue/logical_block_size": "512", "queue/physical_block_size": "4096",
        "queue/rotational": "0", "slaves/sdb2": None,
    }, ["E:DM_NAME=vg0-data", "E:DM_UUID=LVM-abcdefabcdef", "S:mapper/vg0-data", "S:vg0/data"]),
    "loop7": ("/devices/virtual/block/loop7", "7:7", {
        "size": "20480", "ro": "1", "queue/logical_block_size": "4096", "queue/physical_block_size": "4096",
        "queue/rotational": "1",
    }, None),
    "loop8": ("/devices/virtual/block/loop8", "7:8", {
        "size": "0", "ro": "0", "queue/logical_block_size": "512", "queue/physical_block_size": "512",
        "queue/rotational": "1", "dev": "7:8",
    }, []),
    "sr0": ("/devices/pci0000:00/0000:00:01.1/ata2/host1/target1:0:0/1:0:0:0/block/sr0", "11:0", {
        "size": "0", "ro": "0", "removable": "1", "queue/logical_block_size": "2048",
        "queue/physical_block_size": "2048", "queue/rotational": "1", "dev": "11:0",
    }, ["E:ID_CDROM=1"]),
}


def make_tree(root, devices=None):
    """A sysfs tree, a udev database and /proc/partitions under root, as the kernel and udev lay them out."""
    devices = DEVICES if devices is None else devices
    sys_root = os.path.join(str(root), "sys")
    data = os.path.join(str(root), "udev", "data")
    os.makedirs(os.path.join(sys_root, "class", "block"))
    os.makedirs(data)
    partitions = ["major minor  #blocks  name", ""]
    for name, (devpath, devnum, attrs, record) in devices.items():
        base = sys_root + devpath
        os.makedirs(base)
        for attr, value in attrs.items():
            path = os.path.join(base, attr)
            if not os.path.isdir(os.path.dirname(path)):
                os.makedirs(os.path.dirname(path))
            if value is None:  # a link in a directory such as slaves/
                os.symlink("../../" + attr.split("/")[-1], path)
            else:
                with open(path, "w") as handle:
                    handle.write(value + "\n")
        os.symlink(os.path.relpath(base, os.path.join(sys_root, "class", "block")),
                   os.path.join(sys_root, "class", "block", name))
        if attrs.get("size") != "0":  # /proc/partitions leaves out empty devices
            major, minor = devnum.split(":")
            partitions.append("%4s  %7s %10d %s" % (major, minor, int(attrs["size"]) // 2, name))
        if record is not None:
            with open(os.path.join(data, "b" + devnum), "w") as handle:
                handle.write("\n".join(record) + "\n")
    scsi = sys_root + SCSI
    if os.path.isdir(scsi):
        for attr, value in (("vendor", "LIO-ORG "), ("model", "disk01          "),
                            ("wwid", "naa.6001405abcdef0123456789abcdef012"), ("state", "running")):
            with open(os.path.join(scsi, attr), "w") as handle:
                handle.write(value + "\n")
        os.symlink("../../../2:0:0:1", os.path.join(sys_root + SDB, "device"))
    proc = os.path.join(str(root), "partitions")
    with open(proc, "w") as handle:
        handle.write("\n".join(partitions) + "\n")
    return _devices.Scanner(sys_root=sys_root, udev_data=data, proc_partitions=proc)


@pytest.fixture
def scanner(tmp_path):
    return make_tree(tmp_path)


def facts(raw, mounts=None, swaps=None):
    devices = dict((name, _devices.device_facts(item, raw.get(item.parent))) for name, item in raw.items())
    _devices.link_devices(devices, mounts, swaps)
    _devices.set_free(devices)
    return devices


def test_scan_reads_sysfs_and_udev(scanner):
    raw = scanner.scan()
    # a loop device with no backing file (size 0, not in /proc/partitions) is left out
    assert sorted(raw) == ["dm-0", "loop7", "sdb", "sdb1", "sdb2", "sr0"]
    sdb = raw["sdb"]
    assert sdb.maj_min == "8:16"
    assert sdb.size == 2097152 * 512
    assert (sdb.logical, sdb.physical, sdb.rotational, sdb.removable, sdb.ro) == (512, 4096, False, False, False)
    assert sdb.hw == {"scsi_address": "2:0:0:1", "vendor": "LIO-ORG", "model": "disk01",
                      "wwid": "naa.6001405abcdef0123456789abcdef012", "state": "running"}
    assert sdb.has_record and sdb.props["ID_SERIAL_SHORT"] == "beef01"
    assert raw["sdb1"].parent == "sdb" and raw["sdb1"].start == 2048 * 512 and raw["sdb1"].partition == 1
    assert raw["dm-0"].slaves == ["sdb2"]
    assert raw["loop7"].has_record is False and raw["loop7"].props == {}
    # an empty drive is not in /proc/partitions either: its number comes from `dev`
    assert raw["sr0"].maj_min == "11:0"
    assert raw["sr0"].removable is True


def test_disk_facts(scanner):
    devices = facts(scanner.scan())
    sdb = devices["sdb"]
    assert sdb["type"] == "disk"
    assert sdb["size"] == 1073741824
    assert sdb["vendor"] == "LIO-ORG" and sdb["model"] == "disk01" and sdb["serial"] == "beef01"
    assert sdb["wwn"] == "0x6001405abcdef0123456789abcdef012"
    assert sdb["wwid"] == "naa.6001405abcdef0123456789abcdef012"
    assert sdb["scsi_address"] == "2:0:0:1" and sdb["scsi_state"] == "running"
    # stable links only: by-diskseq is left out
    assert sdb["links"] == ["/dev/disk/by-id/wwn-0x6001405abcdef0123456789abcdef012",
                            "/dev/disk/by-path/pci-0000:00:05.0-scsi-0:0:0:1"]
    assert sdb["partition_table"] == {"type": "gpt", "uuid": "5a1e0c2e-0000-4000-8000-000000000001"}
    assert sdb["partitions"] == ["sdb1", "sdb2"]
    assert sdb["free"] is False


def test_partition_facts(scanner):
    part = facts(scanner.scan(), mounts={"8:17": ["/srv/data"]})["sdb1"]
    assert part["type"] == "part" and part["parent"] == "sdb"
    assert part["size"] == 104857600
    assert part["partition"] == {"number": 1, "start": 1048576,
                                 "type": "0fc63daf-8483-4772-8e79-3d69d8477de4", "name": "my data",
                                 "uuid": "aaaaaaaa-0000-4000-8000-000000000001"}
    assert part["fs"] == {"type": "ext4", "uuid": "11111111-2222-3333-4444-555555555555", "label": "data"}
    # sector sizes and the like are the disk's, not repeated; identifiers are the disk's
    assert "logical_sector_size" not in part and "rotational" not in part
    assert part["wwn"] == "0x6001405abcdef0123456789abcdef012"
    assert part["used_by"] == {"mounts": ["/srv/data"]}
    assert part["links"] == ["/dev/disk/by-label/data", "/dev/disk/by-partuuid/aaaaaaaa-0000-4000-8000-000000000001",
                             "/dev/disk/by-uuid/11111111-2222-3333-4444-555555555555"]


def test_partition_start_and_number_from_udev(tmp_path):
    tree = {"vdd": ("/devices/virtual/block/vdd", "254:48", {"size": "8192", "ro": "0"}, []),
            "vdd2": ("/devices/virtual/block/vdd/vdd2", "254:50", {"size": "2048", "ro": "0"},
                     ["E:ID_PART_ENTRY_OFFSET=4096", "E:ID_PART_ENTRY_NUMBER=2"])}
    raw = make_tree(tmp_path, tree).scan()
    assert (raw["vdd2"].start, raw["vdd2"].partition) == (4096 * 512, 2)


def test_holders_are_the_inverse_of_slaves(scanner):
    devices = facts(scanner.scan())
    assert devices["sdb2"]["holders"] == ["dm-0"]
    assert devices["sdb2"]["used_by"] == {"holders": ["dm-0"]}
    assert devices["dm-0"]["slaves"] == ["sdb2"]
    assert devices["dm-0"]["dm"] == {"name": "vg0-data", "uuid": "LVM-abcdefabcdef", "kind": "lvm"}
    assert devices["dm-0"]["links"] == ["/dev/mapper/vg0-data"]


def test_free_and_compact(scanner):
    devices = facts(scanner.scan(), swaps={"sdb2"})
    # read-only, no udev record: not free, and nothing empty is returned
    assert devices["loop7"] == {
        "name": "loop7", "type": "loop", "maj_min": "7:7", "size": 10485760, "read_only": True,
        "logical_sector_size": 4096, "physical_sector_size": 4096, "rotational": True, "removable": False,
        "free": False}
    assert devices["sdb2"]["used_by"] == {"swap": True, "holders": ["dm-0"]}
    assert devices["sr0"]["type"] == "rom" and devices["sr0"]["free"] is False
    # an LV with nothing on it and nothing stacked on it is free for a pool
    assert devices["dm-0"]["free"] is True
    assert devices["sdb2"]["free"] is False


def test_a_free_disk(tmp_path):
    tree = {"vdc": ("/devices/pci0000:00/0000:00:07.0/virtio4/block/vdc", "254:32", {
        "size": "2048", "ro": "0", "removable": "0", "queue/logical_block_size": "512",
        "queue/physical_block_size": "512", "queue/rotational": "1", "serial": "vmdisk3"}, [])}
    devices = facts(make_tree(tmp_path, tree).scan())
    assert devices["vdc"]["free"] is True
    assert devices["vdc"]["serial"] == "vmdisk3"
    assert devices["vdc"]["type"] == "disk"


def test_multipath_and_md_members(tmp_path):
    tree = {
        "sdc": ("/devices/platform/host3/target3:0:0/3:0:0:0/block/sdc", "8:32", {"size": "8", "ro": "0"}, []),
        "sdd": ("/devices/platform/host4/target4:0:0/4:0:0:0/block/sdd", "8:48", {"size": "8", "ro": "0"}, []),
        "dm-3": ("/devices/virtual/block/dm-3", "254:3", {"size": "8", "ro": "0", "slaves/sdc": None},
                 ["E:DM_NAME=mpatha", "E:DM_UUID=mpath-3600140512345"]),
        "md0": ("/devices/virtual/block/md0", "9:0", {"size": "8", "ro": "0", "slaves/sdd": None}, []),
    }
    devices = facts(make_tree(tmp_path, tree).scan())
    assert devices["sdc"]["used_by"] == {"multipath": "mpatha"}
    assert devices["sdd"]["used_by"] == {"md": "md0"}
    assert devices["md0"]["type"] == "md"
    assert devices["sdc"]["scsi_address"] == "3:0:0:0"


@pytest.mark.parametrize("patterns, expected", [
    (["sdb"], ["sdb", "sdb1", "sdb2"]),        # a whole disk brings its partitions
    (["sdb1"], ["sdb1"]),
    (["loop*"], ["loop7", "loop8"]),
    (["nothing*"], []),
    (None, ["dm-0", "loop7", "loop8", "sdb", "sdb1", "sdb2", "sr0"]),
])
def test_select(scanner, patterns, expected):
    assert scanner.select(scanner.list(), patterns) == expected


def test_select_by_path(scanner, tmp_path):
    link = tmp_path / "wwn-0x6001405abcdef012"
    os.symlink("/dev/loop7", str(link))
    assert scanner.select(scanner.list(), [str(link)]) == ["loop7"]
    with pytest.raises(ValidationError, match="not a block device"):
        scanner.select(scanner.list(), [str(tmp_path / "missing")])


@pytest.mark.parametrize("name, devtype, kind", [
    ("sda", None, "disk"), ("sda1", "partition", "part"), ("loop0", None, "loop"), ("dm-1", None, "dm"),
    ("md127", None, "md"), ("nvme0n1", None, "nvme"), ("sr0", None, "rom"), ("zram0", None, "zram"),
])
def test_device_type(name, devtype, kind):
    assert _devices.device_type(name, devtype) == kind


def test_udev_record_parser():
    props, links = _sysfs.parse_udev_record("S:disk/by-id/a\nE:A=1\nE:B=x=y\nI:9\nG:systemd\nQ:systemd\nV:1\n")
    assert props == {"A": "1", "B": "x=y"}
    assert links == ["disk/by-id/a"]
    assert _sysfs.unescape_udev("a\\x20b\\x2fc") == "a b/c"
    assert _sysfs.unescape_udev("a\\xzz") == "a\\xzz"


def test_read_all_of_proc_tables():
    # /proc tables come a page per read: a single read would cut /proc/partitions short
    text = _sysfs.read_all("/proc/self/mountinfo")
    assert text.count("\n") == len(_sysfs.read_all("/proc/self/mountinfo").splitlines())
    assert _sysfs.read_all("/nonexistent") is None


def test_read_large_files(tmp_path):
    big = tmp_path / "big"
    big.write_text("x" * 200000 + "\n")
    assert len(_sysfs.read_all(str(big))) == 200001
    assert _sysfs.read(str(tmp_path / "none")) is None
    assert _sysfs.read_int(str(big)) is None


def test_proc_partitions_of_many_devices(tmp_path):
    lines = ["major minor  #blocks  name", ""] + ["   7 %7d       8192 loop%d" % (i, i) for i in range(3000)]
    path = tmp_path / "partitions"
    path.write_text("\n".join(lines) + "\n")
    assert len(_sysfs.parse_proc_partitions(_sysfs.read_all(str(path)))) == 3000


def test_proc_partitions():
    text = "major minor  #blocks  name\n\n   7        0      10240 loop0\n 259        0  500107608 nvme0n1\n"
    assert _sysfs.parse_proc_partitions(text) == {"loop0": "7:0", "nvme0n1": "259:0"}


@pytest.mark.parametrize("pattern", ["/dev/vda\x00", "", "\x1b[2J", "vda\n", "/dev/vd\x85a"])
def test_select_refuses_bad_patterns_in_one_line(scanner, pattern):
    with pytest.raises(ValidationError) as caught:
        _devices.Scanner.select(scanner.list(), [pattern])
    assert caught.value.option == "devices" and "\n" not in str(caught.value)


def test_host_files_are_split_at_newlines_only():
    text = "major minor  #blocks  name\n\n   7        0     1024 loop\x0c0\n 259        0 1000 nvme\u00850n1\n"
    assert _sysfs.parse_proc_partitions(text) == {"loop\x0c0": "7:0", "nvme\u00850n1": "259:0"}
    assert _sysfs.parse_uevent("DEVNAME=sd\u2028a\nMAJOR=8\n") == {"DEVNAME": "sd\u2028a", "MAJOR": "8"}
