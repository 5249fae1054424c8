# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A logical pool whose autostart is LVM's own autoactivation, across two reboots of the test VM,
on vmdisk2: the port of the integration target storage_pool_logical_reboot_vm. On, the guest's
boot activates the VG and the pool counts as running with nothing of ours run (stage 1); off, the
VG stays inactive after a boot and the pool is stopped (stage 2). The disk is blank again at the
end, or as soon as a stage fails (the later stages then skip).

The definitions persist across reboots (persistent_store: config_dir under persist); the runtime
dir is under /run, so a reboot forgets what was started, as it does for real.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import subprocess

import pytest

import fingerprints
import harness
from guest import boot_id, is_blank, sh, wait_booted

VG = "pcboot"
DISK = 2
LV = "/dev/%s/data" % VG
DATA = 4 << 20


def autoactivation():
    return sh("lvm", "vgs", "--noheadings", "-o", "vg_autoactivation", VG)


def lv_active():
    return sh("lvm", "lvs", "--noheadings", "-o", "lv_active", "%s/data" % VG)


def data_sum():
    sh("blockdev", "--flushbufs", LV)
    with open(LV, "rb") as handle:
        return hashlib.sha256(handle.read(DATA)).hexdigest()


class Scenario(object):
    def __init__(self, number, vm_disk, persist, store, monkeypatch):
        monkeypatch.setenv("LVM_SUPPRESS_FD_WARNINGS", "1")
        self.number = number
        self.persist = persist
        self.store = store
        persist.skip_unless_passed_before(number, last=2)
        self.disk = vm_disk(DISK, blank=number == 0)

    def args(self, **args):
        return dict(self.store, name=VG, **args)

    def fingerprint(self):
        """The disk's first MiB (LVM's metadata), what LVM says of the VG (rc and all), the store."""
        sh("blockdev", "--flushbufs", self.disk)
        with open(self.disk, "rb") as handle:
            head = hashlib.sha256(handle.read(1 << 20)).hexdigest()
        vgs = subprocess.run(["lvm", "vgs", "-o", "vg_name,vg_size,vg_free,vg_autoactivation,lv_count", VG],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, check=False)
        return {"head": head, "vgs": (vgs.returncode, vgs.stdout),
                "store": [fingerprints.tree(self.store[key]) for key in ("config_dir", "runtime_dir")]}

    def seen(self):
        """The pool as the module sees it."""
        result = harness.run_module("storage_pool", self.args())
        assert not result.failed, result.msg
        return result

    def after_boot(self):
        booted = wait_booted()
        assert booted in ("running", "degraded"), "the guest's boot: %s" % booted
        assert boot_id() != self.persist.load("boot_id"), "the guest did not reboot"

    def finish(self):
        """Leave the disk blank whatever happened."""
        try:
            harness.run_module("storage_volume", dict(self.store, pool=VG, name="data", state="absent"))
            harness.run_module("storage_pool", self.args(state="absent", purge=True))
        finally:
            if sh("lvm", "vgs", VG, check=False):
                sh("lvm", "vgchange", "--activate", "n", VG, check=False)
                sh("lvm", "vgremove", "--yes", "--force", VG, check=False)
            sh("lvm", "pvremove", self.disk, check=False)
            sh("wipefs", "--all", "--quiet", self.disk, check=False)
            sh("udevadm", "settle", check=False)
            for key in ("config_dir", "runtime_dir"):
                shutil.rmtree(self.store[key], ignore_errors=True)
        assert is_blank(self.disk), "%s is not blank" % self.disk

    def run(self, body):
        self.persist.run_stage(self.number, body, self.finish)
        self.persist.save("boot_id", boot_id())


@pytest.mark.reboot(stage=0)
def test_logical_autostart_before_reboot(vm_disk, persist, persistent_store, monkeypatch):
    # what an earlier run that was cut short may have left
    persist.clear()
    os.makedirs(persist.path)
    sc = Scenario(0, vm_disk, persist, persistent_store, monkeypatch)

    def body():
        assert is_blank(sc.disk)
        assert sc.fingerprint()["vgs"][0] != 0, "a VG %s exists already" % VG
        # check mode makes no VG (the fingerprint holds `lvm vgs`), then built, started, autostart on
        done = harness.converge("storage_pool", sc.args(type="logical", source={"devices": [sc.disk]}, build=True,
                                                        state="running", autostart=True), sc.fingerprint)
        assert done.real["pool"]["state"] == "running"
        assert done.real["pool"]["autostart"]
        made = harness.run_module("storage_volume", dict(sc.store, pool=VG, name="data", capacity="16M"))
        assert not made.failed, made.msg
        sh("dd", "if=/dev/urandom", "of=%s" % LV, "bs=1M", "count=4", "oflag=direct", "status=none")
        persist.save("sum", data_sum())
        # autoactivation is on in LVM, and the plan said so
        assert autoactivation() == "enabled"
    sc.run(body)


@pytest.mark.reboot(stage=1)
def test_logical_autostart_after_first_reboot(vm_disk, persist, persistent_store, monkeypatch):
    sc = Scenario(1, vm_disk, persist, persistent_store, monkeypatch)

    def body():
        sc.after_boot()
        # running after the boot, by LVM's own means, with the data
        assert lv_active() == "active"
        seen = sc.seen()
        assert not seen.changed
        assert seen["pool"]["state"] == "running"
        assert data_sum() == persist.load("sum")
        # autostart off changes LVM's flag; check mode does not (the fingerprint holds it)
        assert autoactivation() == "enabled"
        done = harness.converge("storage_pool", sc.args(autostart=False), sc.fingerprint)
        assert autoactivation() == ""
        assert done.real["pool"]["state"] == "running"
    sc.run(body)


@pytest.mark.reboot(stage=2)
def test_logical_autostart_after_second_reboot(vm_disk, persist, persistent_store, monkeypatch):
    sc = Scenario(2, vm_disk, persist, persistent_store, monkeypatch)

    def body():
        sc.after_boot()
        # stopped after the boot
        assert lv_active() == ""
        assert sc.seen()["pool"]["state"] == "stopped"
        started = harness.run_module("storage_pool", sc.args(state="running"))
        assert not started.failed and started.changed, started
        assert started["pool"]["state"] == "running"
        assert data_sum() == persist.load("sum")
    sc.run(body)
    try:
        sc.finish()
    finally:
        persist.clear()
