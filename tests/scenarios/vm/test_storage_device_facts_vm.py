# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_device_facts in the test VM, against real kernel drivers: scsi_debug disks with WWNs,
a two-path multipath map with one path failed, a kernel iSCSI session, LVM with two VGs holding
LVs of the same name, and an NFS mount whose server is dead. What the module finds is compared
with what the tools themselves say (lsscsi, sysfs, udev, dmsetup, lvs, iscsiadm).

(Was the integration target storage_device_facts_vm with its setup.sh and cleanup.sh.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import subprocess

import harness
from guest import Saved, settle, wait_for, wipe_disk
from system import run

IQN = "iqn.2024-01.test.poolcraft:facts"
PORTAL = "127.0.0.1:3260"
EXPORT = "/srv/pcfnfs"
NFS_MOUNT = "/mnt/pcfnfs"
EXPORTS_LINE = "%s 127.0.0.1(rw,sync,no_subtree_check,no_root_squash)\n" % EXPORT
MULTIPATH_CONF = """defaults {
    user_friendly_names no
    find_multipaths no
    polling_interval 1
    no_path_retry fail
}
blacklist {
    devnode "^(vd|loop|ram|sr)"
    device {
        vendor "IET"
    }
}
multipaths {
    multipath {
        wwid %s
        alias pcfmp
    }
}
"""


def udev_properties(device):
    out = run("udevadm", "info", "--query=property", "--name=%s" % device)
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def hctl(name):
    return os.path.basename(os.path.realpath("/sys/block/%s/device" % name))


def size64(device):
    return int(run("blockdev", "--getsize64", device))


def lv_size(lv):
    return int(run("lvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "lv_size", lv).strip())


def multipath_states(letter):
    out = subprocess.run(["dmsetup", "status", "pcfmp"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         universal_newlines=True, check=False).stdout.split()
    # the path fields of a multipath status: "MAJ:MIN A|F count"
    return [word for word, state in zip(out, out[1:]) if ":" in word and state == letter]


def statfs_answers(path, timeout):
    return subprocess.run(["timeout", str(timeout), "stat", "-f", path], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0


def build(scratch, d1, d2, units, exports, multipath_conf):
    """setup.sh: LVM, iSCSI, multipath over scsi_debug, a dead NFS mount; what the tools see."""
    # -- LVM: two VGs, an LV of the same name in each
    run("pvcreate", "-q", "-ff", "-y", d1, d2)
    run("vgcreate", "-q", "pcfa", d1)
    run("vgcreate", "-q", "pcfb", d2)
    run("lvcreate", "-q", "-y", "-W", "y", "-Z", "y", "-n", "data", "-L", "64M", "pcfa")
    run("lvcreate", "-q", "-y", "-W", "y", "-Z", "y", "-n", "data", "-L", "96M", "pcfb")
    settle()

    # -- iSCSI: tgtd target, one LUN, kernel initiator session
    lun = os.path.join(scratch, "lun1.img")
    with open(lun, "wb") as handle:
        handle.truncate(64 << 20)
    units.start("tgt")
    run("tgtadm", "--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", "7", "-T", IQN)
    run("tgtadm", "--lld", "iscsi", "--op", "new", "--mode", "logicalunit", "--tid", "7", "--lun", "1", "-b", lun)
    run("tgtadm", "--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", "7", "-I", "ALL")
    units.start("iscsid", also=["iscsid.socket"])
    run("iscsiadm", "-m", "discovery", "-t", "sendtargets", "-p", PORTAL)
    run("iscsiadm", "-m", "node", "-T", IQN, "-p", PORTAL, "--login")
    link = "/dev/disk/by-path/ip-%s-iscsi-%s-lun-1" % (PORTAL, IQN)
    wait_for(lambda: os.path.exists(link), 30, link)
    settle()
    iscsi_disk = os.path.basename(os.path.realpath(link))

    # -- multipath over scsi_debug: two paths to one LUN, as map "pcfmp"
    run("modprobe", "-r", "scsi_debug", check=False)
    run("modprobe", "scsi_debug", "dev_size_mb=32", "add_host=2", "num_tgts=1", "vpd_use_hostno=0")
    settle()
    paths = sorted(os.path.basename(line.split()[-1]) for line in run("lsscsi").splitlines() if "scsi_debug" in line)
    assert len(paths) == 2, paths
    # the WWID multipath uses: udev's ID_SERIAL of the path
    props = udev_properties("/dev/%s" % paths[0])
    wwid = props.get("ID_SERIAL")
    assert wwid, props
    multipath_conf.write(MULTIPATH_CONF % wwid)
    units.start("multipathd", also=["multipathd.socket"])
    try:
        wait_for(lambda: len(multipath_states("A")) == 2, 60, "two active paths of pcfmp")
    except BaseException:
        print(run("multipath", "-v3", check=False))
        raise
    settle()
    failed = paths[1]
    with open("/sys/block/%s/device/state" % failed, "w") as handle:
        handle.write("offline\n")
    wait_for(lambda: multipath_states("F"), 60, "a failed path of pcfmp")
    settle()

    # -- NFS: a mount whose server then dies (statfs on it would block for ever)
    for path in (EXPORT, NFS_MOUNT):
        os.makedirs(path, exist_ok=True)
    exports.write(EXPORTS_LINE)
    units.start("nfs-server")
    run("mount", "-t", "nfs", "-o", "vers=4.2", "127.0.0.1:%s" % EXPORT, NFS_MOUNT)
    assert statfs_answers(NFS_MOUNT, 30)
    run("systemctl", "stop", "nfs-server")
    # the server is gone: a statfs now blocks (checked with a timeout)
    assert not statfs_answers(NFS_MOUNT, 3), "the NFS server still answers"

    wwn = props.get("ID_WWN_WITH_EXTENSION") or props.get("ID_WWN")
    with open("/sys/block/%s/device/wwid" % paths[0]) as handle:
        kernel_wwid = handle.read().strip()
    with open("/etc/iscsi/initiatorname.iscsi") as handle:
        initiator = [line.split("=", 1)[1].strip() for line in handle if line.startswith("InitiatorName=")][0]
    sessions = glob.glob("/sys/class/iscsi_session/session*")
    assert len(sessions) == 1, sessions
    expected = {
        "paths": paths, "failed": failed, "hctl": dict((path, hctl(path)) for path in paths),
        "wwid": wwid, "wwn": wwn, "kernel_wwid": kernel_wwid,
        "dm": os.path.basename(os.path.realpath("/dev/mapper/pcfmp")), "size": size64("/dev/mapper/pcfmp"),
        "iscsi_disk": iscsi_disk, "iscsi_lun_hctl": hctl(iscsi_disk), "iqn": IQN, "initiator": initiator,
        "session": os.path.basename(sessions[0]),
        "lv_a": lv_size("pcfa/data"), "lv_b": lv_size("pcfb/data"), "vda_size": size64("/dev/vda"),
    }
    # the kernel's own view, for the record (and for the unit test fixtures)
    print("dmsetup table:\n" + run("dmsetup", "table", "--target", "multipath"))
    print("dmsetup status:\n" + run("dmsetup", "status", "--target", "multipath"))
    return expected


def clean(d1, d2, exports, multipath_conf):
    """cleanup.sh: undo build(), so later tests in the guest start from a clean one."""
    # the NFS server comes back first: umount stats the mount point, which blocks while it is dead
    # (and so would `mountpoint`: the mount table is read instead)
    with open("/proc/mounts") as handle:
        mounted = any(line.split()[1:2] == [NFS_MOUNT] for line in handle)
    if mounted:
        exports.write(EXPORTS_LINE)
        run("systemctl", "start", "nfs-server", check=False)
        run("timeout", "60", "umount", NFS_MOUNT, check=False)
    exports.restore()
    run("systemctl", "stop", "nfs-server", check=False)
    run("systemctl", "stop", "multipathd", "multipathd.socket", check=False)
    for line in run("dmsetup", "ls", "--target", "multipath", check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        if name and not line.startswith("No devices"):
            if subprocess.run(["dmsetup", "remove", "--retry", name], stderr=subprocess.DEVNULL, check=False).returncode != 0:
                run("dmsetup", "remove", "-f", name, check=False)
    multipath_conf.restore()
    settle()
    if subprocess.run(["modprobe", "-r", "scsi_debug"], stderr=subprocess.DEVNULL, check=False).returncode != 0:
        settle()
        wait_for(lambda: subprocess.run(["modprobe", "-r", "scsi_debug"], stderr=subprocess.DEVNULL,
                                        check=False).returncode == 0, 30, "scsi_debug to unload")
    run("iscsiadm", "-m", "node", "-T", IQN, "-p", PORTAL, "--logout", check=False)
    run("iscsiadm", "-m", "node", "-T", IQN, "-p", PORTAL, "-o", "delete", check=False)
    run("tgtadm", "--lld", "iscsi", "--op", "delete", "--mode", "target", "--tid", "7", "--force", check=False)
    run("systemctl", "stop", "iscsid", "iscsid.socket", "tgt", check=False)
    run("vgremove", "-q", "-y", "pcfa", "pcfb", check=False)
    for disk in (d1, d2):
        run("pvremove", "-q", "-y", disk, check=False)
        wipe_disk(disk)
    for path in (NFS_MOUNT, EXPORT):
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)


def test_facts_of_a_san_like_guest(scratch, vm_disk, units):
    d1, d2 = vm_disk(1), vm_disk(2)
    units.watch()
    exports, multipath_conf = Saved("/etc/exports"), Saved("/etc/multipath.conf")
    try:
        exp = build(scratch, d1, d2, units, exports, multipath_conf)
        print("expected: %r" % exp)
        # gather everything (the NFS server is dead by now)
        facts_all = harness.run_module("storage_device_facts", {}, check=True)
        assert not facts_all.failed, facts_all.msg
        # network filesystem usage too, with a deadline
        facts_nfs = harness.run_module("storage_device_facts", {
            "gather_subset": ["mounts"], "network_usage": True, "usage_timeout": 3})
        assert not facts_nfs.failed, facts_nfs.msg
        facts = facts_all["ansible_facts"]
        devs = facts["storage_devices"]
        mp = facts["storage_multipath"]["pcfmp"]
        path_by_name = dict((path["name"], path) for path in mp["paths"])
        live = [path for path in exp["paths"] if path != exp["failed"]][0]
        session = facts["storage_iscsi"]["sessions"][exp["session"]]
        lvm = facts["storage_lvm"]
        info = facts["storage_facts_info"]

        # multipath: the map, its WWID and size, both paths with their state and address
        assert mp["wwid"] == exp["wwid"]
        assert mp["dm"] == exp["dm"]
        assert mp["size"] == exp["size"]
        assert sorted(path["name"] for path in mp["paths"]) == exp["paths"]
        assert path_by_name[exp["failed"]]["dm_state"] == "failed"
        assert path_by_name[exp["failed"]]["device_state"] == "offline"
        assert path_by_name[live]["dm_state"] == "active"
        assert path_by_name[live]["device_state"] == "running"
        assert path_by_name[exp["paths"][0]]["scsi_address"] == exp["hctl"][exp["paths"][0]]
        assert path_by_name[exp["paths"][1]]["scsi_address"] == exp["hctl"][exp["paths"][1]]
        assert len(mp["path_groups"]) >= 1
        assert len([p for p in mp["paths"] if isinstance(p.get("path_group"), int) and not isinstance(p["path_group"], bool)]) == 2
        assert sorted(name for group in mp["path_groups"] for name in group["paths"]) == exp["paths"]
        # the paths as block devices: WWN, WWID, SCSI address, member of the map
        assert devs[exp["paths"][0]]["wwn"] == exp["wwn"]
        assert devs[exp["paths"][0]]["wwid"] == exp["kernel_wwid"]
        assert devs[exp["paths"][0]]["scsi_address"] == exp["hctl"][exp["paths"][0]]
        assert devs[exp["paths"][0]]["used_by"]["multipath"] == "pcfmp"
        assert devs[exp["paths"][1]]["used_by"]["multipath"] == "pcfmp"
        assert devs[exp["failed"]]["scsi_state"] == "offline"
        assert devs[exp["dm"]]["dm"]["kind"] == "mpath"
        assert devs[exp["dm"]]["dm"]["name"] == "pcfmp"
        assert sorted(devs[exp["dm"]]["slaves"]) == exp["paths"]
        assert not devs[exp["paths"][0]]["free"]
        assert devs["vda"]["size"] == exp["vda_size"]
        # iSCSI: initiator, session, portal, state and the disk it attached
        assert facts["storage_iscsi"]["initiator_name"] == exp["initiator"]
        assert session["target"] == exp["iqn"]
        assert session["portal"] == PORTAL
        assert session["state"] == "LOGGED_IN"
        assert [disk["name"] for disk in session["disks"]] == [exp["iscsi_disk"]]
        assert session["disks"][0]["scsi_address"] == exp["iscsi_lun_hctl"]
        assert session["disks"][0]["lun"] == 1
        hosts = facts["storage_scsi_hosts"]
        assert hosts[session["host"]]["transport"] == "iscsi"
        assert hosts[session["host"]]["driver"] == "iscsi_tcp"
        assert len([host for host in hosts.values() if host.get("driver") == "scsi_debug"]) == 2
        assert devs[exp["iscsi_disk"]]["vendor"] == "IET"
        # LVM: two VGs with an LV named data each, keyed apart, sizes in bytes
        assert lvm["vgs"]["pcfa"]["lvs"] == ["pcfa/data"]
        assert lvm["vgs"]["pcfb"]["lvs"] == ["pcfb/data"]
        assert lvm["lvs"]["pcfa/data"]["name"] == "data"
        assert lvm["lvs"]["pcfb/data"]["name"] == "data"
        assert lvm["lvs"]["pcfa/data"]["size"] == exp["lv_a"]
        assert lvm["lvs"]["pcfb/data"]["size"] == exp["lv_b"]
        assert lvm["lvs"]["pcfa/data"]["active"]
        assert devs[lvm["lvs"]["pcfa/data"]["device"]]["lvm_lv"] == "pcfa/data"
        assert devs[lvm["lvs"]["pcfb/data"]["device"]]["lvm_lv"] == "pcfb/data"
        assert devs[lvm["lvs"]["pcfa/data"]["device"]]["dm"]["kind"] == "lvm"
        assert sorted(devs[pv["device"]]["used_by"]["lvm_vg"] for pv in lvm["pvs"].values()) == ["pcfa", "pcfb"]
        # mounts: the dead NFS server cost the deadline, not a hang
        nfs_all = facts["storage_mounts"][NFS_MOUNT]
        assert nfs_all["network"]
        assert nfs_all["fstype"] == "nfs4"
        assert nfs_all["usage"] is None
        assert "network_usage" in nfs_all["usage_error"]
        mounts_nfs = facts_nfs["ansible_facts"]["storage_mounts"]
        assert mounts_nfs[NFS_MOUNT]["usage"] is None
        assert mounts_nfs[NFS_MOUNT]["usage_error"] == "no answer within 3 s"
        assert mounts_nfs["/"]["usage"]["size_total"] > 0
        # every command at most once
        assert sorted(info["commands"]) == ["dmsetup status", "dmsetup table", "lvm fullreport"]
        assert info["udev_database"]
    finally:
        clean(d1, d2, exports, multipath_conf)
