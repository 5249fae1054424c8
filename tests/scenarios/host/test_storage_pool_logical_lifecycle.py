# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A logical pool on one device (was storage_pool_logical/tasks/lifecycle.yml): build (pvcreate,
vgcreate) and start, volumes (create rounded to extents, grow, shrink), lookup by path, autostart as
LVM autoactivation, stop, purge refused while volumes exist, then purge. LVM metadata only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

import harness
import logical_pool_host as common


released = common.released


@pytest.fixture
def lg(released, scratch, store, loop_device, lvm_system):
    yield from common.logical_host(released, scratch, store, loop_device, lvm_system)


def test_life_cycle(lg, pool_schema, volume_schema):
    dev = lg.devs[0]
    lg.blank()

    # -- build and start ----------------------------------------------------------------------
    runs = lg.four(name="pclg", type="logical", source={"devices": [dev]}, build=True, state="running")
    vgs = json.loads(lg.lvm.run("lvm", "vgs", "--reportformat", "json", "--units", "b", "--nosuffix",
                                "-o", "vg_name,vg_size,vg_free,pv_count,vg_autoactivation"))["report"][0]["vg"]
    pool = runs.real["pool"]
    assert runs.real.actions == [
        "define pool 'pclg' (logical, persistent)",
        "build pool 'pclg' (make %s a physical volume; create volume group pclg on %s (LVM autoactivation off))" % (dev, dev),
        "start pool 'pclg'"]
    assert [vg["vg_name"] for vg in vgs] == ["pclg"]
    assert vgs[0]["pv_count"] == "1"
    assert vgs[0]["vg_autoactivation"] == ""
    assert pool["state"] == "running"
    assert pool["target"]["path"] == "/dev/pclg"
    assert pool["source"]["devices"] == [dev]
    assert pool["capacity"] == int(vgs[0]["vg_size"])
    assert pool["available"] == int(vgs[0]["vg_free"])
    assert pool["allocation"] == 0
    assert pool["volume_count"] == 0
    assert not pool["autostart"]
    pool_schema(os.path.join(lg.store["config_dir"], "pclg.xml"))

    # -- volumes: 5 MiB is 2 extents (8 MiB) ------------------------------------------------------
    runs = lg.vol_four(pool="pclg", name="disk1", capacity="5MiB")
    lv_size = lg.lvm.run("lvm", "lvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "lv_size", "pclg/disk1")
    volume = runs.real["volume"]
    assert runs.real.actions == ["create raw volume 'disk1' of 8.0 MiB"]
    assert int(lv_size.strip()) == 8388608
    assert volume["capacity"] == 8388608
    assert volume["allocation"] == 8388608
    assert volume["path"] == "/dev/pclg/disk1"
    assert volume["key"] == "/dev/pclg/disk1"
    assert volume["type"] == "block"
    assert volume["format"] == "raw"
    volume_schema(volume["xml"])

    runs = lg.vol_four(pool="pclg", name="disk1", capacity="10MiB")
    assert runs.real.actions == ["grow volume 'disk1' from 8.0 MiB to 12.0 MiB"]
    assert runs.real["volume"]["capacity"] == 12582912

    # shrink without shrink: refused (in check mode too), the LV untouched
    harness.refused("storage_volume", lg.args(pool="pclg", name="disk1", capacity="4MiB"), lg.fingerprint, "capacity", "shrink: true")

    runs = lg.vol_four(pool="pclg", name="disk1", capacity="4MiB", shrink=True)
    by_path = lg.ok_volume(path="/dev/pclg/disk1")
    listed = lg.ok_pool(name="pclg", list_volumes=True)
    assert runs.real.actions == ["shrink volume 'disk1' from 12.0 MiB to 4.0 MiB"]
    assert runs.real["volume"]["capacity"] == 4194304
    assert not by_path.changed
    assert by_path["volume"]["name"] == "disk1"
    assert by_path["volume"]["pool"] == "pclg"
    assert not listed.changed
    assert listed["pool"]["volume_count"] == 1
    assert listed["pool"]["allocation"] == 4194304
    assert [vol["name"] for vol in listed["pool"]["volumes"]] == ["disk1"]

    # -- autostart is LVM's autoactivation of the VG ----------------------------------------------
    lg.four(name="pclg", autostart=True)
    autoactivation_on = lg.lvm.run("lvm", "vgs", "--noheadings", "-o", "vg_autoactivation", "pclg").strip()
    runs = lg.four(name="pclg", autostart=False)
    autoactivation_off = lg.lvm.run("lvm", "vgs", "--noheadings", "-o", "vg_autoactivation", "pclg").strip()
    assert autoactivation_on == "enabled"
    assert autoactivation_off == ""
    assert runs.check.actions == ["disable autostart of pool 'pclg' (disable LVM autoactivation of volume group pclg)"]
    assert not runs.real["pool"]["autostart"]

    # -- stop; purge refused while a volume is left; purge -------------------------------------------
    lg.four(name="pclg", state="stopped")
    lg.refused(dict(name="pclg", state="absent", purge=True), ["'pclg'", "1 volumes"], new=False)
    lg.ok_pool(name="pclg", state="running")
    lg.vol_four(pool="pclg", name="disk1", state="absent")
    runs = lg.four(name="pclg", state="absent", purge=True)
    pvs = lg.lvm.run("lvm", "pvs", "--noheadings", "-o", "pv_name")
    assert runs.real.actions == ["stop pool 'pclg'", "delete the storage of pool 'pclg' (/dev/pclg)", "undefine pool 'pclg'"]
    assert runs.real["pool"]["state"] == "absent"
    assert pvs.strip() == ""
