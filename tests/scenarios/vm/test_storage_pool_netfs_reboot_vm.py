# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netfs pools across reboots of the test VM, against the guest's own NFS server (enabled at boot
for the scenario). autostart: true leaves a marked _netdev,nofail entry in the guest's real
/etc/fstab, from which systemd itself mounts the export at boot (stage 1); autostart: false removes
it, and after the next boot nothing has mounted the pool (stage 2), which then starts again. At
the end (or as soon as a stage fails; the later stages then skip) /etc/fstab is byte for byte what
it was, the server is disabled and stopped again, and the exports are gone.

The mount option x-systemd.after=nfs-server.service orders the mount after the server at boot and
before it at shutdown: an export of the host itself, as here, needs it (mount ignores x- options).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import pytest

import fingerprints
import harness
from guest import put_back, same_apart_from_others, sh, wait_booted
from test_storage_pool_netfs_vm import HOST, MIB, NfsServer, Probe, export_path, proc_mount

POOL = "nfsboot"
# No '-' in the path: systemd names its mount unit srv-netfsboot.mount.
TARGET = "/srv/netfsboot"
FSTAB = "/etc/fstab"
OPTIONS = ["x-systemd.after=nfs-server.service"]
ENTRY = ("# poolcraft.storage pool %s|%s:%s %s nfs vers=4.2,x-systemd.after=nfs-server.service,_netdev,nofail 0 0"
         % (POOL, HOST, export_path("open"), TARGET))


class Stage(object):
    """One stage: its probe and server, and the clean up when it fails or when it is the last."""

    def __init__(self, number, persist, store):
        self.number = number
        self.persist = persist
        self.store = store
        persist.skip_unless_passed_before(number, last=2)
        self.probe = Probe(POOL, "open", TARGET, store, FSTAB)
        self.nfs = NfsServer(units_before=persist.load("units", None))

    def unit(self):
        """'ActiveState SourcePath' of systemd's unit for the mount point."""
        unit = sh("systemd-escape", "--path", "--suffix=mount", TARGET)
        props = dict(line.split("=", 1) for line in sh("systemctl", "show", "--property=ActiveState,SourcePath", unit).splitlines())
        return "%s %s" % (props.get("ActiveState", ""), props.get("SourcePath", ""))

    def finish(self, strict=False):
        """The guest as the test found it: the pool gone, /etc/fstab byte for byte, the server
        disabled and stopped, the exports removed. strict (after the last stage passed): every
        step of it worked."""
        original = self.persist.file("fstab")
        try:
            self.nfs.start()
            for args in (dict(state="stopped"), dict(state="absent", purge=True)):
                result = harness.run_module("storage_pool", self.probe.args(**args))
                assert not (strict and result.failed), "clean up %r: %s" % (args, result.msg)
            if proc_mount(TARGET):
                sh("umount", "-l", TARGET, check=strict)
            if os.path.isdir(TARGET):
                os.rmdir(TARGET)
        finally:
            sh("systemctl", "disable", "nfs-server", check=False)
            self.nfs.tear_down()
            if os.path.isfile(original):
                assert not put_back(FSTAB, original, POOL), "/etc/fstab was not what it was before the test (restored)"
            for key in ("config_dir", "runtime_dir"):
                shutil.rmtree(self.store[key], ignore_errors=True)
        assert sh("systemctl", "is-enabled", "nfs-server", check=False) == "disabled"

    def run(self, body):
        self.persist.run_stage(self.number, body, self.finish)


@pytest.mark.reboot(stage=0)
def test_netfs_autostart_before_reboot(persist, persistent_store):
    # what an earlier run that was cut short may have left
    persist.clear()
    os.makedirs(persist.path)
    from test_storage_pool_netfs_vm import active_units
    persist.save("units", sorted(active_units()))
    stage = Stage(0, persist, persistent_store)
    probe = stage.probe

    def body():
        assert ("# poolcraft.storage pool %s" % POOL) not in open(FSTAB).read().splitlines()
        shutil.copyfile(FSTAB, persist.file("fstab"))
        stage.nfs.set_up()
        sh("systemctl", "enable", "nfs-server")
        real = probe.define("4.2", OPTIONS, autostart=True)
        assert real["pool"]["state"] == "running" and real["pool"]["autostart"]
        assert "write the entry in /etc/fstab" in " ".join(real.actions), real.actions
        assert probe.probe()["fstab_entry"] == ENTRY
        assert proc_mount(TARGET)[0] == "%s:%s" % (HOST, export_path("open"))
        probe.converge("storage_volume", name="boot.raw", format="raw", capacity="8MiB")
        sh("dd", "if=/dev/urandom", "of=%s" % os.path.join(TARGET, "boot.raw"), "bs=1M", "count=2", "conv=notrunc,fsync",
           "status=none")
        persist.save("data", fingerprints.digest(os.path.join(export_path("open"), "boot.raw")))
        persist.save("probe", probe.probe())
    stage.run(body)


@pytest.mark.reboot(stage=1)
def test_netfs_autostart_after_first_reboot(persist, persistent_store):
    stage = Stage(1, persist, persistent_store)
    probe = stage.probe

    def body():
        booted = wait_booted()
        assert booted in ("running", "degraded"), "the guest's boot: %s" % booted
        boot, before = probe.probe(), persist.load("probe")
        # systemd mounted the export from /etc/fstab, after the server had started
        assert boot["boot_id"] != before["boot_id"]
        source, fstype, options = proc_mount(TARGET)
        assert (source, fstype) == ("%s:%s" % (HOST, export_path("open")), "nfs4")
        assert "vers=4.2" in options, options
        assert stage.unit() == "active /etc/fstab"
        assert boot["fstab_entry"] == ENTRY
        # the shutdown before unmounted it before it stopped the server: systemd had been told of
        # the entry (daemon-reload), so the mount it had then was ordered by x-systemd.after too
        shutdown = sh("journalctl", "-b", "-1", "-u", "srv-netfsboot.mount", "--no-pager", "-o", "cat")
        assert "timed out" not in shutdown, shutdown
        seen = harness.run_module("storage_pool", probe.args(state="running", list_volumes=True))
        assert not seen.failed and not seen.changed and seen.actions == [], seen
        assert seen["pool"]["state"] == "running" and seen["pool"]["autostart"]
        assert [(vol["name"], vol["capacity"]) for vol in seen["pool"]["volumes"]] == [("boot.raw", 8 * MIB)]
        assert fingerprints.digest(os.path.join(TARGET, "boot.raw")) == persist.load("data")

        # autostart off: the entry goes, /etc/fstab is what it was, the pool still runs
        real = probe.converge(autostart=False)
        assert real.actions == ["disable autostart of pool '%s' (remove the entry in /etc/fstab)" % POOL]
        assert same_apart_from_others(FSTAB, persist.file("fstab"), POOL), "/etc/fstab is not what it was"
        assert real["pool"]["state"] == "running" and not real["pool"]["autostart"]
        # stopped before the reboot: with no entry, systemd would not order its unmount before the
        # server's stop, and the shutdown would wait 90 s for it (an export of the host's own only)
        real = probe.converge(state="stopped")
        assert real.actions == ["stop pool '%s'" % POOL] and proc_mount(TARGET) is None
        persist.save("probe", probe.probe())
    stage.run(body)


@pytest.mark.reboot(stage=2)
def test_netfs_autostart_after_second_reboot(persist, persistent_store):
    stage = Stage(2, persist, persistent_store)
    probe = stage.probe

    def body():
        booted = wait_booted()
        assert booted in ("running", "degraded"), "the guest's boot: %s" % booted
        boot, before = probe.probe(), persist.load("probe")
        # nothing mounted the pool; it reads as stopped
        assert boot["boot_id"] != before["boot_id"]
        assert boot["mount"] is None and boot["fstab_entry"] == ""
        assert stage.unit().strip() == "inactive"
        assert "timed out" not in sh("journalctl", "-b", "-1", "-u", "srv-netfsboot.mount", "--no-pager", "-o", "cat")
        seen = harness.run_module("storage_pool", probe.args())
        assert not seen.failed and not seen.changed, seen
        assert seen["pool"]["state"] == "stopped" and not seen["pool"]["autostart"]

        # started: mounted again, the data intact; then the volume deleted
        real = probe.converge(state="running")
        assert real.actions == ["start pool '%s'" % POOL]
        assert proc_mount(TARGET)[0] == "%s:%s" % (HOST, export_path("open"))
        assert fingerprints.digest(os.path.join(TARGET, "boot.raw")) == persist.load("data")
        probe.converge("storage_volume", name="boot.raw", state="absent")
    stage.run(body)
    try:
        stage.finish(strict=True)
    finally:
        persist.clear()
