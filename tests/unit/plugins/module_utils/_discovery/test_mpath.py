# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources mpath: every multipath map with its WWID, alias, size and paths, from a sysfs-like
tree of the test's (a map pcfmp over sdb and sdc, an LV that is no map) and the dmsetup table and
status recorded in the test VM (fixtures/dmsetup/multipath_vm_two_paths_one_failed.json: one path
active, one failed). Real maps are found in the test VM (tests/scenarios/vm/test_pool_sources_san_vm.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import discover
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._mpath import MpathDiscovery
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _sysfs

from ansible_collections.poolcraft.storage.tests.unit.conftest import load_transcript

WWID = "36001405a1b2c3d4e5f60718293a4b5c6"


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text + "\n")


def _link(link, target):
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(target, link)


@pytest.fixture
def sys_tree(tmp_path, monkeypatch):
    """/sys with dm-0 (the map pcfmp, 32 MiB, over sdb 8:16 and sdc 8:32 at 2:0:0:0 and 3:0:0:0) and
    dm-1 (an LV)."""
    sys_root = str(tmp_path / "sys")
    block = os.path.join(sys_root, "class", "block")
    devices = os.path.join(sys_root, "devices", "virtual", "block")
    for dm, uuid, name in (("dm-0", "mpath-" + WWID, "pcfmp"), ("dm-1", "LVM-abcdef", "vg-lv")):
        _write(os.path.join(devices, dm, "dm", "uuid"), uuid)
        _write(os.path.join(devices, dm, "dm", "name"), name)
        _write(os.path.join(devices, dm, "size"), "65536")
        _link(os.path.join(block, dm), os.path.join(devices, dm))
    for disk, number, hctl in (("sdb", "8:16", "2:0:0:0"), ("sdc", "8:32", "3:0:0:0")):
        scsi = os.path.join(sys_root, "devices", "pseudo_0", "adapter0", "host" + hctl[0], "target%s:0:0" % hctl[0], hctl)
        os.makedirs(os.path.join(scsi, "block", disk))
        _link(os.path.join(scsi, "block", disk, "device"), scsi)
        _link(os.path.join(block, disk), os.path.join(scsi, "block", disk))
        _link(os.path.join(sys_root, "dev", "block", number), os.path.join(scsi, "block", disk))
        _link(os.path.join(devices, "dm-0", "slaves", disk), os.path.join(scsi, "block", disk))
    monkeypatch.setattr(_sysfs, "SYS", sys_root)
    return sys_root


def _runner(fake_runner):
    """dmsetup of the one map, as the recorded run printed it (one map: its lines without its name)."""
    runner = fake_runner()
    runner.commands.add("dmsetup")
    steps = load_transcript("dmsetup/multipath_vm_two_paths_one_failed")["steps"]
    for kind, step in zip(("table", "status"), steps):
        runner.expect(["dmsetup", kind, "pcfmp"], stdout=step["stdout"].split(": ", 1)[1])
    return runner


def test_each_map_with_its_wwid_size_and_paths(sys_tree, fake_runner):
    runner = _runner(fake_runner)
    found = discover("mpath", None, runner)
    assert found["sources"] == [{
        "name": "pcfmp", "wwid": WWID, "path": "/dev/mapper/pcfmp", "size": 32 * 2 ** 20, "state": "active",
        "paths": [{"device": "sdb", "hctl": "2:0:0:0", "state": "active", "group": 1, "group_state": "active"},
                  {"device": "sdc", "hctl": "3:0:0:0", "state": "failed", "group": 2, "group_state": "enabled"}],
    }]
    assert found["xml"] == ('<sources>\n  <source>\n    <device path="/dev/mapper/pcfmp"/>\n    <name>%s</name>\n'
                            '  </source>\n</sources>\n' % WWID)
    runner.assert_done()


def test_a_host_without_maps_runs_no_command(tmp_path, monkeypatch, quiet_runner):
    monkeypatch.setattr(_sysfs, "SYS", str(tmp_path))
    assert MpathDiscovery(quiet_runner).find(None) == []
