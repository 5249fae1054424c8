# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_device_facts on real loop devices of the test's own, with udev running (the session
udevd fixture): a GPT disk with an ext4 and a swap-signature partition, a whole-disk xfs that is
mounted, and an empty device. The facts are compared with what blkid -p, lsblk and sysfs say.
Only the loop devices this test attaches are looked at (others may exist by the thousand), also
in the whole-host run, which only reads.

Ported from tests/integration/targets/storage_device_facts/tasks/main.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os


import harness
from system import run

MIB = 1048576
IMAGE_MIB = 64
XFS_IMAGE_MIB = 320  # mkfs.xfs wants 300 MiB at least
LSBLK_COLUMNS = "NAME,SIZE,TYPE,RO,RM,ROTA,LOG-SEC,PHY-SEC,PTTYPE,PTUUID,PARTUUID,PARTTYPE,PARTLABEL,FSTYPE,UUID,LABEL,MOUNTPOINT,PKNAME"


def blkid(device):
    return dict(line.split("=", 1) for line in run("blkid", "-p", "-o", "export", device).splitlines())


def test_storage_device_facts(scratch, store, module, loop_device, udevd):
    loops = {
        "gpt": loop_device("%dM" % IMAGE_MIB, name="gpt.img"),
        "xfs": loop_device("%dM" % XFS_IMAGE_MIB, name="xfs.img"),
        "empty": loop_device("16M", name="empty.img"),
    }
    gpt, xfs, empty = (os.path.basename(loops[key]) for key in ("gpt", "xfs", "empty"))
    mnt = os.path.join(scratch, "mnt")
    # a GPT with two named partitions (parted adds their nodes itself)
    run("parted", "-s", loops["gpt"], "mklabel", "gpt",
        "mkpart", "pcf-data", "ext4", "1MiB", "33MiB", "mkpart", "pcf-swap", "linux-swap", "33MiB", "49MiB")
    run("mkfs.ext4", "-q", "-L", "pcf-ext4", loops["gpt"] + "p1")
    run("mkswap", "-L", "pcf-swap", loops["gpt"] + "p2")
    run("mkfs.xfs", "-q", "-L", "pcf-xfs", loops["xfs"])
    os.mkdir(mnt, 0o755)
    run("mount", loops["xfs"], mnt)
    # udev sees exactly these devices, and the test waits for it
    run("udevadm", "trigger", "--action=change", "--settle",
        *("--sysname-match=%s" % name for name in (gpt, gpt + "p1", gpt + "p2", xfs, empty)))
    blkid_p1, blkid_p2, blkid_xfs = (blkid(dev) for dev in (loops["gpt"] + "p1", loops["gpt"] + "p2", loops["xfs"]))
    lsblk = json.loads(run("lsblk", "--json", "--bytes", "--output", LSBLK_COLUMNS, loops["gpt"], loops["xfs"], loops["empty"]))
    ls = dict((dev["name"], dev) for dev in lsblk["blockdevices"])
    ls.update((child["name"], child) for child in ls[gpt].get("children", []))
    starts = []
    for number in (1, 2):
        with open("/sys/class/block/%sp%d/start" % (gpt, number)) as handle:
            starts.append(int(handle.read()))

    # -- the module, in check mode, on our devices only ------------------------------------------
    result = module("storage_device_facts", check=True, gather_subset=["devices", "mounts"],
                    devices=[gpt, loops["xfs"], "/dev/disk/by-label/pcf-swap", empty])
    assert not result.failed, result.msg
    facts = result["ansible_facts"]
    devs = facts["storage_devices"]
    why = "facts %s; lsblk %s; blkid %r" % (json.dumps(devs), json.dumps(lsblk), (blkid_p1, blkid_p2, blkid_xfs))
    disk, p1, p2, whole_xfs, blank = devs[gpt], devs[gpt + "p1"], devs[gpt + "p2"], devs[xfs], devs[empty]
    ls_disk, ls_p1, ls_xfs, ls_empty = ls[gpt], ls[gpt + "p1"], ls[xfs], ls[empty]
    assert not result.changed
    assert sorted(devs) == sorted([gpt, gpt + "p1", gpt + "p2", empty, xfs]), why
    assert facts["storage_facts_info"]["commands"] == [], why
    assert facts["storage_facts_info"]["udev_database"], why
    # the disk
    assert disk["type"] == "loop", why
    assert disk["size"] == ls_disk["size"], why
    assert disk["size"] == IMAGE_MIB * MIB, why
    assert disk["logical_sector_size"] == ls_disk["log-sec"], why
    assert disk["physical_sector_size"] == ls_disk["phy-sec"], why
    assert disk["read_only"] == ls_disk["ro"], why
    assert disk["removable"] == ls_disk["rm"], why
    assert disk["rotational"] == ls_disk["rota"], why
    assert disk["partition_table"]["type"] == "gpt" == ls_disk["pttype"], why
    assert disk["partition_table"]["uuid"] == ls_disk["ptuuid"], why
    assert disk["partitions"] == [gpt + "p1", gpt + "p2"], why
    assert not disk["free"], why
    # partitions: start, size, type, name, uuid; the filesystem on each
    assert p1["parent"] == gpt == ls_p1["pkname"], why
    assert p1["partition"]["number"] == 1 and p2["partition"]["number"] == 2, why
    assert p1["partition"]["start"] == starts[0] * 512, why
    assert p2["partition"]["start"] == starts[1] * 512, why
    assert p1["partition"]["start"] == MIB, why
    assert p1["size"] == ls_p1["size"] == 32 * MIB, why
    assert p1["partition"]["name"] == "pcf-data" == blkid_p1["PART_ENTRY_NAME"] == ls_p1["partlabel"], why
    assert p1["partition"]["uuid"] == blkid_p1["PART_ENTRY_UUID"] == ls_p1["partuuid"], why
    assert p1["partition"]["type"] == blkid_p1["PART_ENTRY_TYPE"] == ls_p1["parttype"], why
    assert p1["fs"]["type"] == "ext4" == blkid_p1["TYPE"] == ls_p1["fstype"], why
    assert p1["fs"]["uuid"] == blkid_p1["UUID"] == ls_p1["uuid"], why
    assert p1["fs"]["label"] == "pcf-ext4" == blkid_p1["LABEL"] == ls_p1["label"], why
    assert "logical_sector_size" not in p1, why
    assert "/dev/disk/by-uuid/" + blkid_p1["UUID"] in p1["links"], why
    assert "/dev/disk/by-partuuid/" + blkid_p1["PART_ENTRY_UUID"] in p1["links"], why
    assert "/dev/disk/by-label/pcf-ext4" in p1["links"], why
    assert "/dev/disk/by-partlabel/pcf-data" in p1["links"], why
    assert not p1["free"], why
    assert p2["fs"]["type"] == "swap" == blkid_p2["TYPE"], why
    assert p2["fs"]["label"] == "pcf-swap" == blkid_p2["LABEL"], why
    assert p2["partition"]["name"] == "pcf-swap" == blkid_p2["PART_ENTRY_NAME"], why
    assert "swap" not in p2.get("used_by", {}), why
    # the mounted whole-disk xfs
    assert whole_xfs["fs"]["type"] == "xfs" == blkid_xfs["TYPE"] == ls_xfs["fstype"], why
    assert whole_xfs["fs"]["uuid"] == blkid_xfs["UUID"], why
    assert whole_xfs["used_by"]["mounts"] == [mnt] == [ls_xfs["mountpoint"]], why
    assert whole_xfs["size"] == ls_xfs["size"], why
    assert "partitions" not in whole_xfs, why
    assert not whole_xfs["free"], why
    assert facts["storage_mounts"][mnt]["source"] == loops["xfs"], why
    assert facts["storage_mounts"][mnt]["fstype"] == "xfs", why
    assert facts["storage_mounts"][mnt]["usage"]["size_total"] > 0, why
    # the empty device
    assert blank["free"], why
    assert blank["size"] == ls_empty["size"] == 16 * MIB, why
    assert "fs" not in blank and "used_by" not in blank, why

    # -- a path that is not a block device: an error naming it, in one line ---------------------
    harness.assert_clean_failure(module("storage_device_facts", gather_subset=["devices"], devices=[scratch]), scratch)

    # -- the whole host, every subset: every subset is there, and our devices among the rest ------
    every = module("storage_device_facts")
    assert not every.failed, every.msg
    facts = every["ansible_facts"]
    assert sorted(facts["storage_facts_info"]["gather_subset"]) == [
        "devices", "iscsi", "lvm", "mounts", "multipath", "pools", "scsi_hosts"]
    assert gpt in facts["storage_devices"]
    assert facts["storage_pools"] == {}
    assert isinstance(facts["storage_iscsi"]["sessions"], dict)

    # -- a Python without pyudev: one clear line ---------------------------------------------------
    harness.assert_clean_failure(harness.run_module_bare(
        scratch, "storage_device_facts", dict(store, gather_subset=["devices"])), "pyudev")
