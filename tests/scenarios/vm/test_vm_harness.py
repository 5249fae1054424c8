# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM tier itself: our modules run in the guest (in process, with the guest's python3), the
kernel subsystems later pool types rely on (LVM activation, thin pools, multipath, kernel iSCSI,
NFS) work there, and what one in-process module call costs in the guest.

(Was the integration target vm_harness; tests/vm/selftest.sh is still the self-test.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import time

import fingerprints
import harness
from guest import Saved, settle, wipe_disk
from system import run

SELFTEST = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "vm", "selftest.sh")
SELFTEST_IQN = "iqn.2024-01.test.poolcraft:selftest"


def test_dir_pool_with_a_qcow2_volume(scratch, store):
    pool_args = dict(store, name="vmpool", type="dir", target={"path": os.path.join(scratch, "images")}, build=True, state="running")
    fingerprint = fingerprints.combine(files=lambda: fingerprints.tree(scratch))
    try:
        pool = harness.converge("storage_pool", pool_args, fingerprint)
        assert pool.check["pool"]["state"] == "absent", pool.check
        assert pool.real["pool"]["state"] == "running", pool.real
        volume_args = dict(store, pool="vmpool", name="disk.qcow2", format="qcow2", capacity="1G")
        volume = harness.converge("storage_volume", volume_args, fingerprint)
        volume_real = volume.real
        # again, in check mode (converge's last step)
        assert not volume.recheck.changed
        info = json.loads(run("qemu-img", "info", "--output=json", volume_real["volume"]["path"]))
        assert info["format"] == "qcow2", info
        assert info["virtual-size"] == 1073741824, info
        assert volume_real["volume"]["capacity"] == 1073741824, volume_real
    finally:
        removed = harness.run_module("storage_pool", dict(store, name="vmpool", state="absent"))
        assert not removed.failed, removed.msg


def _unmount(point):
    with open("/proc/mounts") as handle:
        if any(line.split()[1:2] == [point] for line in handle):
            run("umount", point, check=False)


def _clean_selftest(d1, d2, units, saved):
    """What selftest.sh leaves (it is written for a throw-away guest): its mounts, the services it
    started, VG, iSCSI target and session, NFS export, multipath map and scsi_debug; the disks
    blank."""
    # the mounts first: an NFS mount whose server is gone would block its umount
    for point in ("/mnt/lv1", "/mnt/thin1", "/mnt/nfs4.2", "/mnt/nfs3"):
        _unmount(point)
    units.stop_all()
    run("systemctl", "stop", "multipathd", "multipathd.socket", check=False)
    run("multipath", "-F", check=False)
    settle()
    run("modprobe", "-r", "scsi_debug", check=False)
    run("iscsiadm", "-m", "node", "-T", SELFTEST_IQN, "-p", "127.0.0.1:3260", "--logout", check=False)
    run("iscsiadm", "-m", "node", "-T", SELFTEST_IQN, "-p", "127.0.0.1:3260", "-o", "delete", check=False)
    run("tgtadm", "--lld", "iscsi", "--op", "delete", "--mode", "target", "--tid", "1", "--force", check=False)
    run("exportfs", "-ua", check=False)
    for handle in saved:
        handle.restore()
    run("vgremove", "-q", "-y", "-f", "vgself", check=False)
    run("pvremove", "-q", "-y", d1, check=False)
    for path in ("/var/lib/vmtest/selftest", "/var/lib/vmtest/iscsi", "/srv/nfs"):
        run("rm", "-rf", path)
    for disk in (d1, d2):
        wipe_disk(disk)


def test_guest_kernel_selftest(vm_disk, units):
    """LVM activation and thin pools, multipath, kernel iSCSI and NFS work in the guest."""
    d1, d2 = vm_disk(1), vm_disk(2)
    units.watch()
    saved = [Saved("/etc/exports"), Saved("/etc/multipath.conf")]
    try:
        proc = subprocess.run(["bash", SELFTEST], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, check=False)
        print(proc.stdout)
        assert proc.returncode == 0, proc.stdout
        assert re.search(r"selftest: [1-9][0-9]* passed, 0 failed", proc.stdout), proc.stdout
    finally:
        _clean_selftest(d1, d2, units, saved)


def test_module_call_overhead(store, vm_report):
    """What one in-process module call costs in the guest beyond its storage commands: a call
    refused by argument validation runs no command (issue target: at most 0.5 s). A benchmark,
    reported at the end of the run, not a timed test."""
    args = dict(store, name="bad", type="no-such-type")
    t0 = time.monotonic()
    first = harness.run_module("storage_pool", args)
    first_time = time.monotonic() - t0
    harness.assert_clean_failure(first, "no-such-type")
    times = []
    for _call in range(20):
        t0 = time.monotonic()
        harness.run_module("storage_pool", args)
        times.append(time.monotonic() - t0)
    times.sort()
    t0 = time.monotonic()
    absent = harness.run_module("storage_pool", dict(store, name="nothing", state="absent"))
    absent_time = time.monotonic() - t0
    assert not absent.failed and not absent.changed, absent
    vm_report.append("module-call overhead (storage_pool refused by validation, in process): first call of this test %.3f s, "
                     "then median %.4f s, max %.4f s over %d calls; "
                     "storage_pool state=absent of an unknown pool: %.3f s"
                     % (first_time, times[len(times) // 2], times[-1], len(times), absent_time))
