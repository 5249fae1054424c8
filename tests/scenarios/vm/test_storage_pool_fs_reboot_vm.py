# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fs pools across reboots of the test VM, on vmdisk3: the reboot part of the integration target
storage_pool_fs_vm. autostart: true leaves a marked nofail entry in the guest's real /etc/fstab,
from which systemd itself mounts the pool at boot (stage 1); autostart: false removes it, and the
pool is stopped after the next boot (stage 2). The disk is blank and /etc/fstab byte for byte what
it was at the end, or as soon as a stage fails (the later stages then skip).

The definitions persist across reboots (persistent_store: config_dir under persist); the live
state is under /run, which every boot empties, as it is for the modules' own defaults.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import pytest

import harness
from test_storage_pool_fs_vm import FSTYPE, POOL, Probe, add_volumes, assert_start, clean_up
from guest import put_back, same_apart_from_others, wait_booted

# No '-' in the path: systemd names its mount unit srv-fsvmpool.mount.
TARGET = "/srv/fsvmpool"
FSTAB = "/etc/fstab"
DISK = 3
ENTRY = "# poolcraft.storage pool %s|/dev/disk/by-id/virtio-vmdisk%d %s %s nofail 0 2" % (POOL, DISK, TARGET, FSTYPE)


class Stage(object):
    """One stage of the scenario: its probe, and the clean up when it fails or when it is the last."""

    def __init__(self, number, vm_disk, persist, store):
        self.number = number
        self.persist = persist
        self.store = store
        persist.skip_unless_passed_before(number, last=2)
        self.disk = vm_disk(DISK, blank=number == 0)
        self.probe = Probe(self.disk, TARGET, store, FSTAB)

    def boot(self, booted):
        """After a reboot: systemd has finished the boot; the probe, and the boot before."""
        assert booted in ("running", "degraded"), "the guest's boot: %s" % booted
        return self.probe.probe(), self.persist.load("probe")

    def finish(self, strict=False):
        """The clean up: the guest as the test found it, /etc/fstab byte for byte; strict (after the
        last stage passed): every step of it worked."""
        original = self.persist.file("fstab")
        try:
            end = clean_up(self.probe, self.store, False, strict)
        finally:
            if os.path.isfile(original):
                assert not put_back(FSTAB, original, POOL), "/etc/fstab was not what it was before the test (restored)"
            shutil.rmtree(self.store["runtime_dir"], ignore_errors=True)
        assert end["config"] == "" and end["runtime"] == "", end
        return end

    def run(self, body):
        self.persist.run_stage(self.number, body, self.finish)


def converge(probe, args):
    real, before, after = probe.scenario(args)
    return real, after


@pytest.mark.reboot(stage=0)
def test_fs_autostart_before_reboot(vm_disk, persist, persistent_store):
    # what an earlier run that was cut short may have left
    persist.clear()
    os.makedirs(persist.path)
    stage = Stage(0, vm_disk, persist, persistent_store)
    probe = stage.probe

    def body():
        start = probe.probe()
        assert_start(start, FSTAB)
        assert ("# poolcraft.storage pool %s" % POOL) not in open(FSTAB).read().splitlines()
        shutil.copyfile(FSTAB, persist.file("fstab"))
        persist.save("start", start)
        real, after = converge(probe, dict(type="fs", source={"device": stage.disk, "format": FSTYPE},
                                           target={"path": TARGET}, build=True, state="running", autostart=True))
        assert real["pool"]["state"] == "running"
        assert real["pool"]["autostart"]
        assert "make %s on %s)" % (FSTYPE, start["device"]) in " ".join(real.actions), real.actions
        assert "write the entry in /etc/fstab" in " ".join(real.actions), real.actions
        assert after["signatures"] == FSTYPE
        assert after["mounted"] == "%s %s" % (start["device"], FSTYPE)
        assert after["fstab_entry"] == ENTRY
        assert after["fstab"] != start["fstab"]
        data = add_volumes(probe, persistent_store)
        assert len(data["raw"]) == 64, data
        assert data["fstab"] == after["fstab"]
        persist.save("probe", data)
    stage.run(body)


@pytest.mark.reboot(stage=1)
def test_fs_autostart_after_first_reboot(vm_disk, persist, persistent_store):
    stage = Stage(1, vm_disk, persist, persistent_store)
    probe = stage.probe

    def body():
        boot, data = stage.boot(wait_booted())
        # systemd mounted the pool from /etc/fstab
        assert boot["boot_id"] != data["boot_id"]
        assert boot["mounted"] == "%s %s" % (boot["device"], FSTYPE), boot
        assert boot["unit"] == "active /etc/fstab", boot
        # no module started it since boot: the live state under /run is empty
        assert boot["runtime"] == "", boot
        assert boot["raw"] == data["raw"]
        assert boot["fstab_entry"] == ENTRY
        seen = harness.run_module("storage_pool", dict(persistent_store, name=POOL, state="running", list_volumes=True))
        assert not seen.failed and not seen.changed, seen
        assert seen.actions == []
        assert seen["pool"]["state"] == "running"
        assert seen["pool"]["autostart"]
        volumes = seen["pool"]["volumes"]
        assert [vol["name"] for vol in volumes] == ["disk.qcow2", "disk.raw"]
        assert [vol["format"] for vol in volumes] == ["qcow2", "raw"]
        assert [vol["capacity"] for vol in volumes] == [1 << 30, 32 << 20]

        # autostart off: the entry goes, /etc/fstab is what it was, the pool still runs
        real, after = converge(probe, dict(autostart=False))
        assert "remove the entry in /etc/fstab" in " ".join(real.actions), real.actions
        assert after["fstab_entry"] == ""
        # the file as before the test, apart from other reboot tests' entries (a hash of the whole file would see those)
        assert same_apart_from_others(FSTAB, persist.file("fstab"), POOL), "/etc/fstab is not what it was"
        assert after["mounted"] == boot["mounted"]
        assert real["pool"]["state"] == "running"
        assert not real["pool"]["autostart"]
        persist.save("probe", boot)
    stage.run(body)


@pytest.mark.reboot(stage=2)
def test_fs_autostart_after_second_reboot(vm_disk, persist, persistent_store):
    stage = Stage(2, vm_disk, persist, persistent_store)
    probe = stage.probe

    def body():
        boot, boot1 = stage.boot(wait_booted())
        start = persist.load("start")
        # nothing mounted the pool; it reads as stopped
        assert boot["boot_id"] != boot1["boot_id"]
        assert boot["mounted"] == ""
        assert boot["unit"].strip() == "inactive", boot
        assert boot["signatures"] == FSTYPE
        assert boot["fstab"] == start["fstab"]
        seen = harness.run_module("storage_pool", dict(persistent_store, name=POOL))
        assert not seen.failed and not seen.changed, seen
        assert seen["pool"]["state"] == "stopped"
        assert not seen["pool"]["autostart"]

        # started: mounted again, the data intact
        real, after = converge(probe, dict(state="running"))
        assert real.actions == ["start pool '%s'" % POOL]
        assert real["pool"]["state"] == "running"
        assert after["mounted"] == "%s %s" % (boot["device"], FSTYPE)
        assert after["raw"] == boot1["raw"]
        # the file as before the test, apart from other reboot tests' entries (a hash of the whole file would see those)
    stage.run(body)
    try:
        stage.finish(strict=True)
    finally:
        persist.clear()
