# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Devices in use are refused even with overwrite: true, and left as they are (was
storage_pool_logical/tasks/in_use.yml): a mounted filesystem, and a PV of a VG that is not the
pool's. LVM metadata only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import logical_pool_host as common


released = common.released


@pytest.fixture
def lg(released, scratch, store, loop_device, lvm_system):
    yield from common.logical_host(released, scratch, store, loop_device, lvm_system, sizes=(common.SIZE, common.SIZE))


def test_devices_in_use_are_refused_even_with_overwrite(lg):
    dev0, dev1 = lg.devs
    mnt = os.path.join(lg.scratch, "mnt")
    lg.blank()
    os.mkdir(mnt, 0o755)
    lg.run("mkfs.ext4", "-q", "-F", dev0)
    lg.run("mount", dev0, mnt)
    try:
        lg.run("lvm", "vgcreate", "pcother", dev1)
        lg.refused(dict(name="pciu", type="logical", source={"devices": [dev0]}, build=True, overwrite=True),
                   ["source.devices %s is in use" % dev0, "mounted at %s" % mnt, "even with overwrite"])
        lg.refused(dict(name="pciu", type="logical", source={"devices": [dev1]}, build=True, overwrite=True),
                   ["source.devices %s is a physical volume of volume group pcother" % dev1, "even with overwrite"])
    finally:
        lg.run("umount", mnt)
