# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fs pools in the test VM on a real disk (vmdisk3, blank again at the end), within one boot: the
part of the integration target storage_pool_fs_vm that needs no reboot. Build, start and autostart
(a marked nofail entry in an fstab file of the test's own), volumes with data, autostart off (the
fstab byte for byte as before), start, stop refused while a volume is open, stop, undefine with
purge (the filesystem kept, as libvirt does). The guest's /etc/fstab is not touched. What the
guest's boot does with the entry is test_storage_pool_fs_reboot_vm.py.

Probe (and the helpers below) are shared with test_storage_pool_fs_reboot_vm.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import shutil

import fingerprints
import harness
from guest import Holder, boot_id, sh

POOL = "fsvm"
FSTYPE = "xfs"
MIB = 1 << 20
VOLUMES = ({"name": "disk.qcow2", "format": "qcow2", "capacity": "1GiB"},
           {"name": "disk.raw", "format": "raw", "capacity": "32MiB"})


def fstab_entry(path, pool=POOL):
    """Our marked entry in the fstab file path: the marker line and the line after it, joined by '|'."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return ""
    marker = "# poolcraft.storage pool %s" % pool
    if marker not in lines:
        return ""
    index = lines.index(marker)
    return "|".join(lines[index:index + 2])


def listing(directory):
    """The entries under directory, relative, sorted ('' when it does not exist)."""
    found = []
    for top, dirs, names in os.walk(directory):
        found.extend(os.path.relpath(os.path.join(top, name), directory) for name in dirs + names)
    return ",".join(sorted(found))


class Probe(object):
    """What the guest says about the pool's disk, mount, fstab entry and stored state; only reads.
    The port of the target's files/probe.sh; probe() returns a dict."""

    def __init__(self, disk, target, store, fstab):
        self.disk = disk
        self.target = target
        self.store = store
        self.fstab = fstab
        self.unit = sh("systemd-escape", "--path", "--suffix=mount", target)

    def mounted(self):
        """'SOURCE FSTYPE' of the mount on target ('' when nothing is mounted there)."""
        found = [m for m in fingerprints.mountinfo() if m[0] == self.target]
        return " ".join(found[-1][1:3]) if found else ""

    def unit_state(self):
        """'ActiveState SourcePath' of systemd's unit for the mount point."""
        props = dict(line.split("=", 1) for line in sh("systemctl", "show", "--property=ActiveState,SourcePath", self.unit).splitlines())
        return "%s %s" % (props.get("ActiveState", ""), props.get("SourcePath", ""))

    def probe(self):
        mounted = self.mounted()
        raw = os.path.join(self.target, "disk.raw")
        head = "mounted"
        if not mounted:
            # the disk's first MiB (where the signatures are); not while mounted, when the filesystem may write
            with open(self.disk, "rb") as handle:
                head = hashlib.sha256(handle.read(MIB)).hexdigest()
        return {
            "boot_id": boot_id(),
            "device": os.path.realpath(self.disk),
            "signatures": ",".join(sorted(sh("wipefs", "--no-act", "--noheadings", "--output", "TYPE", self.disk).split())),
            "mounted": mounted,
            "head": head,
            # the data written into the raw volume
            "raw": (fingerprints.digest(raw) or "") if mounted else "",
            # who mounted it: systemd's unit for the mount point, and where systemd read it from
            "unit": self.unit_state(),
            "target_dir": "yes" if os.path.isdir(self.target) else "no",
            "fstab_entry": fstab_entry(self.fstab),
            "fstab": fingerprints.digest(self.fstab),
            "config": listing(self.store["config_dir"]),
            "runtime": listing(self.store["runtime_dir"]),
        }

    def fingerprint(self):
        """probe() and the files of the store, for converge(): check mode changes none of it."""
        return dict(self.probe(), store=[fingerprints.tree(self.store[key]) for key in ("config_dir", "runtime_dir")])

    def scenario(self, args, before_check=None):
        """converge() of one storage_pool task; (result of the real run, probe before, probe after)."""
        before = self.probe()
        if before_check:
            before_check(before)
        done = harness.converge("storage_pool", dict(self.store, name=POOL, **args), self.fingerprint)
        after = self.probe()
        assert after["boot_id"] == before["boot_id"]
        return done.real, before, after


def assert_start(start, fstab):
    """The disk is blank and free, nothing is mounted, fstab has no entry of ours."""
    assert start["signatures"] == "", start
    assert start["mounted"] == "", start
    assert start["fstab_entry"] == "", start
    assert re.match(r"/dev/vd[b-z]$", start["device"]), start
    assert os.path.isfile(fstab)


def add_volumes(probe, store):
    """A qcow2 and a raw volume (check mode, for real, again), 4 MiB of random data written into
    the raw one past its first MiB; the probe with the data."""
    for spec in VOLUMES:
        done = harness.converge("storage_volume", dict(store, pool=POOL, **spec), probe.fingerprint)
        assert done.real["volume"]["path"] == os.path.join(probe.target, spec["name"])
    sh("dd", "if=/dev/urandom", "of=%s" % os.path.join(probe.target, "disk.raw"), "bs=1M", "seek=1", "count=4",
       "conv=notrunc,fsync", "status=none")
    return probe.probe()


def clean_up(probe, store, undefined, strict=False):
    """Whatever happened: the pool stopped and undefined with purge (that removes its fstab entry),
    then what is left: our fstab entry, the mount, the disk's signatures. Asserts the guest clean;
    strict (after a scenario that passed): every step of the clean up worked, too."""
    if not undefined:
        for args in (dict(state="stopped"), dict(state="absent", purge=True)):
            result = harness.run_module("storage_pool", dict(store, name=POOL, fstab=probe.fstab, **args))
            assert not (strict and result.failed), "clean up %r: %s" % (args, result.msg)
    if fstab_entry(probe.fstab):
        with open(probe.fstab) as handle:
            lines = handle.read().splitlines()
        index = lines.index("# poolcraft.storage pool %s" % POOL)
        with open(probe.fstab, "w") as handle:
            handle.write("".join(line + "\n" for line in lines[:index] + lines[index + 2:]))
    if probe.mounted():
        sh("umount", probe.target, check=strict)
    # wipefs opens the disk exclusively: it refuses while anything still mounts it
    sh("wipefs", "--all", "--quiet", probe.disk, check=strict)
    sh("udevadm", "settle", check=False)
    if os.path.isdir(probe.target):
        os.rmdir(probe.target)
    for key in ("config_dir", "runtime_dir"):
        shutil.rmtree(store[key], ignore_errors=True)
    end = probe.probe()
    assert end["signatures"] == "" and end["mounted"] == "" and end["target_dir"] == "no", end
    assert sh("blkid", "--probe", probe.disk, check=False) == "", "%s is not blank" % probe.disk
    return end


def test_fs_pool_life_cycle(vm_disk, scratch, store):
    disk = vm_disk(3)
    target = os.path.join(scratch, "fsvmpool")
    fstab = os.path.join(scratch, "fstab")
    # an fstab of the test's own, with the guest's lines in it
    with open("/etc/fstab", "rb") as src, open(fstab, "wb") as dst:
        host_fstab = src.read()
        dst.write(host_fstab)
    probe = Probe(disk, target, store, fstab)
    undefined = passed = False
    holder = None
    start = probe.probe()
    assert_start(start, fstab)
    try:
        # -- build, start, autostart ----------------------------------------------------------
        real, before, after = probe.scenario(dict(type="fs", source={"device": disk, "format": FSTYPE},
                                                  target={"path": target}, build=True, state="running",
                                                  autostart=True, fstab=fstab))
        assert real["pool"]["state"] == "running"
        assert real["pool"]["autostart"]
        assert "make %s on %s)" % (FSTYPE, start["device"]) in " ".join(real.actions), real.actions
        assert "write the entry in %s" % fstab in " ".join(real.actions), real.actions
        assert before["head"] != "mounted"
        assert after["signatures"] == FSTYPE, after
        assert after["mounted"] == "%s %s" % (start["device"], FSTYPE), after
        assert after["fstab_entry"] == "# poolcraft.storage pool %s|%s %s %s nofail 0 2" % (POOL, disk, target, FSTYPE)
        assert after["fstab"] != start["fstab"]
        built = after

        # -- volumes, and data in one -----------------------------------------------------------
        data = add_volumes(probe, store)
        assert len(data["raw"]) == 64, data
        assert data["fstab"] == built["fstab"]

        # -- autostart off: the entry goes, the file is what it was ------------------------------
        real, before, after = probe.scenario(dict(autostart=False, fstab=fstab))
        assert "remove the entry in %s" % fstab in " ".join(real.actions), real.actions
        assert after["fstab_entry"] == ""
        assert after["fstab"] == start["fstab"]
        with open(fstab, "rb") as handle:
            assert handle.read() == host_fstab
        assert after["mounted"] == data["mounted"]
        assert real["pool"]["state"] == "running"
        assert not real["pool"]["autostart"]

        # -- stopped, then started: mounted again, the data intact ----------------------------
        stopped = harness.run_module("storage_pool", dict(store, name=POOL, state="stopped", fstab=fstab))
        assert stopped.changed and not stopped.failed, stopped
        real, before, after = probe.scenario(dict(state="running", fstab=fstab))
        assert real.actions == ["start pool '%s'" % POOL]
        assert real["pool"]["state"] == "running"
        assert after["mounted"] == "%s %s" % (start["device"], FSTYPE)
        assert after["raw"] == data["raw"]
        assert after["fstab"] == start["fstab"]
        started = after

        # -- stop: refused while a volume is open, then done ------------------------------------
        holder = Holder(os.path.join(target, "disk.qcow2"))
        # refused while planning: check mode says what the real run says
        busy = harness.refused("storage_pool", dict(store, name=POOL, state="stopped", fstab=fstab), probe.fingerprint,
                               "busy", target)
        assert not busy.changed
        holder.end()
        real, before, after = probe.scenario(dict(state="stopped", fstab=fstab))
        # the pool was still mounted when the stop began
        assert before["mounted"] == started["mounted"]
        assert real.actions == ["stop pool '%s'" % POOL]
        assert real["pool"]["state"] == "stopped"
        assert after["mounted"] == ""
        assert after["target_dir"] == "yes"

        # -- undefine with purge: the definition and the mount point go, the filesystem stays ---
        real, before, after = probe.scenario(dict(state="absent", purge=True, fstab=fstab))
        undefined = True
        assert (real.get("pool") or {}).get("state", "absent") == "absent", real
        assert "%s.xml" % POOL not in after["config"].split(",")
        assert "autostart/%s.xml" % POOL not in after["config"].split(",")
        assert after["target_dir"] == "no"
        assert after["signatures"] == FSTYPE
        assert after["fstab"] == start["fstab"]
        passed = True
    finally:
        if holder is not None:
            holder.end()
        end = clean_up(probe, store, undefined, strict=passed)
    assert end["config"] == "" and end["runtime"] == "", end
    assert end["fstab"] == start["fstab"]
    with open("/etc/fstab", "rb") as handle:
        assert handle.read() == host_fstab, "the guest's /etc/fstab changed"
