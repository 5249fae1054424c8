# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""disk and fs discovery: devices from a sysfs tree made in tmp_path, signatures from wipefs
output recorded on real loop devices (fixtures/wipefs/probe_host_eight_devices.json, see
fixtures/README.md), and the probe of many devices in one run, with its fall-back when one
device cannot be read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import _block
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Chosen
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._block import (
    BlockDevice, DiskDiscovery, FsDiscovery, list_block_devices, natural_key)
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev, _mounts
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._wipefs import PROBE_COLUMNS, parse_probe

from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript

MiB = 1048576
WIPEFS = ["wipefs", "--no-act", "--json", "-O", PROBE_COLUMNS]


def recorded_probe():
    """The stdout of the recorded probe of loop0..loop6 and loop2p1 in one run."""
    return load_transcript("wipefs/probe_host_eight_devices")["steps"][0]["stdout"]


def probe_output(names):
    """The recorded run, less the devices not asked for (wipefs prints only those it is given)."""
    entries = json.loads(recorded_probe())["signatures"]
    return json.dumps({"signatures": [entry for entry in entries if entry["device"] in names]}, indent=3)


@pytest.fixture
def sysfs(tmp_path, monkeypatch):
    """/sys/class/block as links into a devices tree: loop0..loop6 (320 MiB; loop2 with the
    partition loop2p1), loop7 detached (size 0), nvme0c0n1 hidden, dm-0 (pcvg-data,
    read-only) holding loop6, and loop8 that /proc/partitions does not list. loop1 is
    mounted and loop4 active swap. The /proc/partitions written here lists loop7 and
    nvme0c0n1 too (the kernel leaves them out) to show that sysfs is checked as well."""
    devices = tmp_path / "devices" / "virtual" / "block"
    links = tmp_path / "class-block"
    links.mkdir()
    listed = []

    def add(name, dev, sectors, parent=None, **attrs):
        node = (devices / parent / name) if parent else (devices / name)
        (node / "holders").mkdir(parents=True)
        (node / "dev").write_text(dev + "\n")
        (node / "size").write_text("%d\n" % sectors)
        (node / "ro").write_text("%d\n" % attrs.get("ro", 0))
        if parent:
            (node / "partition").write_text("1\n")
        if "hidden" in attrs:
            (node / "hidden").write_text("1\n")
        if "dm_name" in attrs:
            (node / "dm").mkdir()
            (node / "dm" / "name").write_text(attrs["dm_name"] + "\n")
        for holder in attrs.get("holders", ()):
            (node / "holders" / holder).mkdir()
        os.symlink(str(node), str(links / name))
        if name != "loop8":
            major, minor = dev.split(":")
            listed.append("%4s %7s %10d %s" % (major, minor, sectors // 2, name))

    for number in range(7):
        add("loop%d" % number, "7:%d" % number, 320 * 2048, holders=["dm-0"] if number == 6 else ())
    add("loop2p1", "259:0", 99 * 2048, parent="loop2")
    add("loop7", "7:7", 0)
    add("nvme0c0n1", "259:1", 1 << 20, hidden=True)
    add("dm-0", "254:0", 8 * 2048, ro=1, dm_name="pcvg-data")
    add("loop8", "7:8", 64 * 2048)
    proc = tmp_path / "partitions"
    proc.write_text("major minor  #blocks  name\n\n" + "\n".join(listed) + "\n")
    monkeypatch.setattr(_blockdev, "SYS_BLOCK", str(links))
    monkeypatch.setattr(_block, "PROC_PARTITIONS", str(proc))
    monkeypatch.setattr(_mounts, "read_mounts", lambda: _mounts.parse_mountinfo(
        "42 27 7:1 / /srv/xfs rw,relatime - xfs /dev/loop1 rw,inode64,logbufs=8,logbsize=32k,noquota\n"))
    monkeypatch.setattr(_mounts, "read_swaps", lambda: {"loop4"})
    return links


def wipefs_runner(fake_runner, names, **step):
    runner = fake_runner()
    runner.commands.add("wipefs")
    if step:
        return runner.expect(WIPEFS + ["/dev/" + name for name in names], **step)
    return runner.expect(WIPEFS + ["/dev/" + name for name in names], stdout=probe_output(names))


def by_name(sources):
    return dict((source["name"], source) for source in sources)


# -- the devices sysfs shows --------------------------------------------------------------------

def test_devices_with_a_medium_and_not_hidden(sysfs):
    found = list_block_devices()
    # loop8 has a medium, but only what /proc/partitions lists is looked at
    assert sorted(found, key=natural_key) == ["dm-0", "loop0", "loop1", "loop2", "loop2p1", "loop3", "loop4",
                                              "loop5", "loop6"]
    assert found["loop2p1"] == BlockDevice("loop2p1", "/dev/loop2p1", 99 * MiB, "loop2", False)
    assert found["dm-0"] == BlockDevice("dm-0", "/dev/mapper/pcvg-data", 8 * MiB, None, True)
    assert found["dm-0"].node == "/dev/dm-0"


def test_natural_order():
    assert sorted(["loop10", "loop2", "sda", "loop2p10", "loop2p2", "dm-1"], key=natural_key) == \
        ["dm-1", "loop2", "loop2p2", "loop2p10", "loop10", "sda"]


def test_an_odd_kernel_name_has_its_node_under_a_directory():
    assert BlockDevice("cciss!c0d0", "/dev/cciss/c0d0", 1, None, False).node == "/dev/cciss/c0d0"


# -- wipefs on many devices -----------------------------------------------------------------------

def test_probe_groups_by_device_and_merges_a_types_headers():
    found = parse_probe(recorded_probe())
    assert sorted(found) == ["loop0", "loop1", "loop2", "loop2p1", "loop3", "loop4", "loop6"]
    assert found["loop2"] == [
        {"type": "gpt", "usage": "partition-table", "offsets": [0x200, 0x13fffe00], "uuid": None, "label": None},
        {"type": "PMBR", "usage": "partition-table", "offsets": [0x1fe], "uuid": None, "label": None},
    ]
    assert found["loop0"] == [{"type": "ext4", "usage": "filesystem", "offsets": [0x438],
                               "uuid": "e75e7f0a-1cc7-4cee-8609-d0a48cc5b3d9", "label": "x4"}]


def test_probe_of_blank_devices():
    assert parse_probe('{\n   "signatures": [\n\n   ]\n}\n') == {}
    assert parse_probe("") == {}


def test_probe_output_that_is_not_json():
    with pytest.raises(StorageError) as caught:
        parse_probe("wipefs: something else")
    assert str(caught.value) == "wipefs printed no JSON: wipefs: something else"


# -- disk ----------------------------------------------------------------------------------------

WHOLE = ["dm-0", "loop0", "loop1", "loop2", "loop3", "loop4", "loop5", "loop6"]


def test_disk_lists_whole_devices_with_their_partition_table(sysfs, fake_runner):
    sources = DiskDiscovery(wipefs_runner(fake_runner, WHOLE)).find(None)
    assert [source["name"] for source in sources] == WHOLE
    found = by_name(sources)
    assert found["loop2"] == {
        "name": "loop2", "path": "/dev/loop2", "size": 320 * MiB, "parent": None, "partitions": ["loop2p1"],
        "read_only": False, "format": "gpt", "in_use": False, "uses": [], "probe_error": None,
        "signatures": [
            {"type": "gpt", "usage": "partition-table", "offsets": [0x200, 0x13fffe00], "uuid": None, "label": None},
            {"type": "PMBR", "usage": "partition-table", "offsets": [0x1fe], "uuid": None, "label": None}],
    }
    assert found["loop3"]["format"] == "dos"
    assert [found[name]["format"] for name in ("dm-0", "loop0", "loop1", "loop4", "loop5", "loop6")] == [None] * 6
    assert found["loop5"]["signatures"] == [] and not found["loop5"]["in_use"]
    assert found["loop1"]["uses"] == ["mounted at /srv/xfs"]
    assert found["loop4"]["uses"] == ["active swap"]
    assert found["loop6"]["uses"] == ["held by dm-0"]
    assert found["dm-0"]["path"] == "/dev/mapper/pcvg-data" and found["dm-0"]["read_only"]


def test_disk_xml_parts_carry_the_table_only():
    assert DiskDiscovery.xml_parts({"path": "/dev/loop2", "format": "gpt"}) == (["/dev/loop2"], None, "gpt")
    assert DiskDiscovery.xml_parts({"path": "/dev/loop5", "format": None}) == (["/dev/loop5"], None, None)
    # atari tables are real but libvirt's schema has no name for them
    assert DiskDiscovery.xml_parts({"path": "/dev/loop5", "format": "atari"}) == (["/dev/loop5"], None, None)


def test_disk_format_names_as_libvirt_does():
    sig = {"usage": "partition-table", "offsets": [0], "uuid": None, "label": None}
    assert DiskDiscovery(None).format([dict(sig, type="PMBR"), dict(sig, type="gpt")]) == "gpt"
    assert DiskDiscovery(None).format([dict(sig, type="sgi")]) == "dvh"
    assert DiskDiscovery(None).format([dict(sig, type="PMBR")]) is None


def test_disk_devices_restrict_the_probe(sysfs, fake_runner):
    runner = wipefs_runner(fake_runner, ["loop2", "loop5"])
    chosen = [Chosen("/dev/loop5", "loop5", "7:5"), Chosen("/dev/disk/by-id/x", "loop2", "7:2"),
              Chosen("/dev/loop2", "loop2", "7:2")]
    assert [source["name"] for source in DiskDiscovery(runner).find(chosen)] == ["loop2", "loop5"]


def test_disk_refuses_a_partition(sysfs, quiet_runner):
    with pytest.raises(ValidationError) as caught:
        DiskDiscovery(quiet_runner).find([Chosen("/dev/loop2p1", "loop2p1", "259:0")])
    assert str(caught.value) == "devices='/dev/loop2p1': is a partition of loop2; disk pools take whole devices"


@pytest.mark.parametrize("name", ["loop7", "nvme0c0n1"])
def test_a_device_with_no_medium_or_hidden_is_refused(sysfs, quiet_runner, name):
    with pytest.raises(ValidationError) as caught:
        DiskDiscovery(quiet_runner).find([Chosen("/dev/" + name, name, "7:7")])
    assert str(caught.value) == "devices='/dev/%s': has no medium (size 0) or is hidden by the kernel" % name


# -- fs ------------------------------------------------------------------------------------------

def test_fs_lists_filesystems_and_leaves_out_partitioned_disks(sysfs, fake_runner):
    probed = ["dm-0", "loop0", "loop1", "loop2", "loop2p1", "loop3", "loop4", "loop5", "loop6"]
    sources = FsDiscovery(wipefs_runner(fake_runner, probed)).find(None)
    # loop2 (gpt) and loop3 (dos) carry partition tables: their partitions stand for them
    assert [source["name"] for source in sources] == ["dm-0", "loop0", "loop1", "loop2p1", "loop4", "loop5", "loop6"]
    found = by_name(sources)
    assert [found[name]["format"] for name in found] == [None, "ext4", "xfs", "ext4", None, None, None]
    assert found["loop2p1"]["parent"] == "loop2" and found["loop2p1"]["partitions"] == []
    assert found["loop2p1"]["size"] == 99 * MiB
    assert found["loop1"]["in_use"] and found["loop1"]["uses"] == ["mounted at /srv/xfs"]
    assert found["loop4"]["signatures"][0]["type"] == "swap" and found["loop4"]["uses"] == ["active swap"]
    assert found["loop6"]["signatures"][0]["type"] == "LVM2_member"


def test_fs_a_whole_device_brings_its_partitions(sysfs, fake_runner):
    runner = wipefs_runner(fake_runner, ["loop2", "loop2p1"])
    assert [source["name"] for source in FsDiscovery(runner).find([Chosen("/dev/loop2", "loop2", "7:2")])] == \
        ["loop2p1"]


def test_fs_format_only_for_exactly_one_filesystem():
    sig = {"offsets": [0], "uuid": None, "label": None}
    fs = FsDiscovery(None)
    assert fs.format([dict(sig, type="btrfs", usage="filesystem")]) == "btrfs"
    assert fs.format([dict(sig, type="hfsplus", usage="filesystem")]) == "hfs+"
    assert fs.format([dict(sig, type="ext4", usage="filesystem"), dict(sig, type="xfs", usage="filesystem")]) is None
    assert fs.format([dict(sig, type="crypto_LUKS", usage="crypto")]) is None


def test_fs_xml_parts_leave_out_formats_libvirt_lacks():
    assert FsDiscovery.xml_parts({"path": "/dev/loop0", "format": "ext4"}) == (["/dev/loop0"], None, "ext4")
    assert FsDiscovery.xml_parts({"path": "/dev/loop0", "format": "btrfs"}) == (["/dev/loop0"], None, None)


# -- a device that cannot be read -------------------------------------------------------------------

def test_one_unreadable_device_does_not_hide_the_others(sysfs, fake_runner):
    error = "wipefs: error: /dev/loop5: probing initialization failed: Input/output error\n"
    runner = wipefs_runner(fake_runner, ["loop0", "loop5"], rc=1, stderr=error)
    runner.expect(WIPEFS + ["/dev/loop0"], stdout=probe_output(["loop0"]))
    runner.expect(WIPEFS + ["/dev/loop5"], rc=1, stderr=error)
    chosen = [Chosen("/dev/loop0", "loop0", "7:0"), Chosen("/dev/loop5", "loop5", "7:5")]
    found = by_name(DiskDiscovery(runner).find(chosen))
    assert found["loop0"]["signatures"][0]["type"] == "ext4" and found["loop0"]["probe_error"] is None
    assert found["loop5"]["signatures"] == []
    assert found["loop5"]["probe_error"] == (
        "wipefs --no-act --json -O %s /dev/loop5 failed (rc=1): %s" % (PROBE_COLUMNS, error.strip()))


def test_no_devices_no_probe(tmp_path, monkeypatch, quiet_runner):
    empty = tmp_path / "class-block"
    empty.mkdir()
    (tmp_path / "partitions").write_text("major minor  #blocks  name\n\n")
    monkeypatch.setattr(_blockdev, "SYS_BLOCK", str(empty))
    monkeypatch.setattr(_block, "PROC_PARTITIONS", str(tmp_path / "partitions"))
    assert DiskDiscovery(quiet_runner).find(None) == []
    assert _block.probe(quiet_runner, []) == ({}, {})
