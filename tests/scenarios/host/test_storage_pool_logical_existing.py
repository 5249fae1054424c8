# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VG made by hand counts as built (was storage_pool_logical/tasks/existing.yml): one that already
holds exactly what the pool asks for (the same VG with the same PVs) is not built again, only the
definition is new; undefining the pools leaves the VG alone. LVM metadata only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

import logical_pool_host as common


released = common.released


@pytest.fixture
def lg(released, scratch, store, loop_device, lvm_system):
    yield from common.logical_host(released, scratch, store, loop_device, lvm_system, sizes=(common.SIZE, common.SIZE))


def test_a_vg_made_by_hand_counts_as_built(lg):
    dev0, dev1 = lg.devs
    two_pvs = 2 * common.extents(common.bytes_of(common.SIZE)) * common.EXTENT
    lg.blank()
    lg.lvm.run("lvm", "vgcreate", "pcex", dev0, dev1)

    # the devices listed the other way round
    runs = lg.four(name="pcex", type="logical", source={"devices": [dev1, dev0]}, build=True, state="running")
    assert runs.real.actions == ["define pool 'pcex' (logical, persistent)", "start pool 'pcex'"]
    assert runs.real["pool"]["capacity"] == two_pvs
    # LVM's default for a VG made by hand is kept: the pool was defined, not told autostart: false
    assert [action for action in runs.check.actions if "autoactivation" in action] == []

    # the VG by source.name, in a pool of another name, without devices
    runs = lg.four(name="guests", type="logical", source={"name": "pcex"}, state="running")
    assert runs.real.actions == ["define pool 'guests' (logical, persistent)", "start pool 'guests'"]
    assert runs.real["pool"]["target"]["path"] == "/dev/pcex"
    assert runs.real["pool"]["capacity"] == two_pvs

    for name in ("guests", "pcex"):
        lg.ok_pool(name=name, state="absent")
    # the VG is still there, and still autoactivates (undefining a pool does not touch it)
    assert lg.lvm.run("lvm", "vgs", "--noheadings", "-o", "vg_name,vg_autoactivation", "pcex").split() == ["pcex", "enabled"]
