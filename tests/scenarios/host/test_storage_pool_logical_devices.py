# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""source.devices and the VG (was storage_pool_logical/tasks/devices.yml): a device added to the
list joins the VG (while the pool runs); a PV dropped from the list is an error unless
remove_devices, and then is taken out only while no extent of it is in use; devices are matched by
device number, so another name of the same device changes nothing; a PV whose device is gone is
named by its UUID, not LVM's "[unknown]". LVM metadata only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import logical_pool_host as common


released = common.released


@pytest.fixture
def lg(released, scratch, store, loop_device, lvm_system):
    yield from common.logical_host(released, scratch, store, loop_device, lvm_system)


def test_devices_join_and_leave_the_vg(lg):
    dev0, dev1, dev2 = lg.devs
    lg.blank()
    lg.ok_pool(name="pcdv", type="logical", source={"devices": [dev0, dev1]}, build=True, state="running")
    # LVM puts it on the first PV
    lg.ok_volume(pool="pcdv", name="v1", capacity="8MiB")

    runs = lg.four(name="pcdv", source={"devices": [dev0, dev1, dev2]}, build=True, state="running")
    assert runs.real.actions == [
        "update definition of pool 'pcdv' (source)",
        "build pool 'pcdv' (make %s a physical volume; add %s to volume group pcdv)" % (dev2, dev2)]
    assert runs.real["pool"]["state"] == "running"
    assert runs.real["pool"]["volume_count"] == 1
    assert runs.real["pool"]["capacity"] == 3 * common.extents(common.bytes_of(common.SIZE)) * common.EXTENT

    lg.refused(dict(name="pcdv", source={"devices": [dev0, dev2]}, build=True, state="running"),
               [dev1, "volume group pcdv", "not listed", "remove_devices: true"], new=False)

    runs = lg.four(name="pcdv", source={"devices": [dev0, dev2]}, remove_devices=True, build=True, state="running")
    pvs = lg.lvm.run("lvm", "pvs", "--noheadings", "-o", "pv_name,vg_name")
    assert runs.real.actions == [
        "update definition of pool 'pcdv' (source)",
        "build pool 'pcdv' (take %s out of volume group pcdv and remove its physical volume label)" % dev1]
    assert sorted(line.split() for line in pvs.splitlines() if line.strip()) == sorted([[dev0, "pcdv"], [dev2, "pcdv"]])

    lg.refused(dict(name="pcdv", source={"devices": [dev2]}, remove_devices=True, build=True, state="running"),
               ["cannot take %s out of volume group pcdv" % dev0, "2 of its extents are in use"], new=False)

    link = os.path.join(lg.scratch, "first-device")
    os.symlink(dev0, link)
    runs = lg.four(name="pcdv", source={"devices": [link, dev2]}, build=True, state="running")
    assert runs.real.actions == ["update definition of pool 'pcdv' (source)"]
    assert runs.real["pool"]["source"]["devices"] == [link, dev2]

    lg.ok_volume(pool="pcdv", name="v1", state="absent")
    lg.ok_pool(name="pcdv", state="absent", purge=True)


def test_a_missing_pv_is_named_by_its_uuid(lg):
    dev0, dev1, _dev2 = lg.devs
    lg.blank()
    lg.ok_pool(name="pcms", type="logical", source={"devices": [dev0, dev1]}, build=True, state="running")
    uuid = lg.lvm.run("lvm", "pvs", "--noheadings", "-o", "pv_uuid", dev1).strip()
    # dev1's label and metadata area gone: LVM still knows the PV from dev0's copy of the metadata
    with open(dev1, "r+b") as device:
        device.write(b"\0" * common.MIB)
        device.flush()
        os.fsync(device.fileno())  # LVM reads with O_DIRECT: past the page cache
    assert lg.lvm.run("lvm", "vgs", "--noheadings", "-o", "vg_missing_pv_count", "pcms").strip() == "1"
    try:
        lg.refused(dict(name="pcms", source={"devices": [dev0]}, build=True, state="running"),
                   ["volume group pcms has a physical volume whose device is missing", "PV UUID %s" % uuid,
                    "vgreduce --removemissing"], new=False)
    finally:
        lg.lvm.run("lvm", "vgreduce", "--removemissing", "pcms", check=False)
    lg.ok_pool(name="pcms", state="absent", purge=True)
