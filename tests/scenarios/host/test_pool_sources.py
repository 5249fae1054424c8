# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources on real loop devices of the test's own: an ext4, a mounted xfs, a GPT disk with an
ext4 partition, a DOS disk, active swap, a blank device, and a metadata-only VG on two more (a
private LVM_SYSTEM_DIR that sees only those two). The results are compared with what blkid -p,
vgs and sysfs say, the XML is validated against libvirt's <source> definitions, the images are
shown unchanged by the module, and the logical XML is compared with what libvirt itself finds (a
libvirtd of the test's own in a private mount namespace, files/libvirt_find_sources.sh). Only
this test's loop devices are asked about, except in the one whole-host run, which only reads.

Ported from tests/integration/targets/pool_sources/tasks/main.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import json
import os

from lxml import etree

import fingerprints
import harness
from schemas import sources_schema
from system import run

MIB = 1048576
IMAGE_MIB = 40  # the YAML used 64; the GPT partition (1-33 MiB) and two PVs fit in 40, and hashing is faster
XFS_IMAGE_MIB = 320  # mkfs.xfs wants 300 MiB at least
VG = "pc_sources_vg"
FIND_SOURCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files", "libvirt_find_sources.sh")
SIZES = {"ext4": IMAGE_MIB, "xfs": XFS_IMAGE_MIB, "gpt": IMAGE_MIB, "dos": IMAGE_MIB, "swap": IMAGE_MIB,
         "blank": 16, "pv1": IMAGE_MIB, "pv2": IMAGE_MIB}
# images the module must leave byte-identical (the xfs is mounted and the swap active: the kernel may write there)
STILL = ("ext4", "gpt", "dos", "blank", "pv1", "pv2")


def sources(check=False, **args):
    return harness.run_module("pool_sources", args, check=check)


def blkid(device):
    return dict(line.split("=", 1) for line in run("blkid", "-p", "-o", "export", device).splitlines())


def c14n(text):
    return etree.tostring(etree.fromstring(text.encode("utf-8")), method="c14n")


def test_pool_sources(scratch, loop_device, lvm_system):
    mnt = os.path.join(scratch, "mnt")
    os.mkdir(mnt, 0o755)
    loops = dict((name, loop_device("%dM" % mib, name="%s.img" % name)) for name, mib in SIZES.items())
    part = loops["gpt"] + "p1"
    every = sorted(loops.values())
    lvm = lvm_system([loops["pv1"], loops["pv2"]])
    try:
        # a GPT with one partition (parted adds its node itself) and an empty DOS table
        run("parted", "-s", loops["gpt"], "mklabel", "gpt", "mkpart", "pcs-data", "ext4", "1MiB", "33MiB")
        run("parted", "-s", loops["dos"], "mklabel", "msdos")
        run("mkfs.ext4", "-q", "-L", "pcs-ext4", loops["ext4"])
        run("mkfs.ext4", "-q", "-L", "pcs-part", part)
        run("mkfs.xfs", "-q", "-L", "pcs-xfs", loops["xfs"])
        run("mkswap", "-L", "pcs-swap", loops["swap"])
        run("mount", loops["xfs"], mnt)
        run("swapon", loops["swap"])
        lvm.run("vgcreate", "--quiet", VG, loops["pv1"], loops["pv2"])
        images = fingerprints.combine(**dict(
            (name, functools.partial(fingerprints.digest, os.path.join(scratch, name + ".img"))) for name in STILL))
        images_before = images()

        # -- logical ---------------------------------------------------------------------------
        logical = sources(check=True, type="logical")
        vgs = json.loads(lvm.run("vgs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o",
                                 "vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,pv_count,lv_count"))
        vg = vgs["report"][0]["vg"][0]
        assert not logical.failed, logical.msg
        assert not logical.changed
        assert logical["sources"] == [{
            "name": VG, "devices": sorted([loops["pv1"], loops["pv2"]]), "format": "lvm2",
            "uuid": vg["vg_uuid"], "size": int(vg["vg_size"]), "free": int(vg["vg_free"]),
            "extent_size": int(vg["vg_extent_size"]), "pv_count": 2, "lv_count": 0}], (logical["sources"], vgs)
        assert vg["vg_name"] == VG
        assert vg["vg_free"] == vg["vg_size"]
        assert int(vg["vg_size"]) > IMAGE_MIB * MIB
        sources_schema("sourcelogical")(logical["xml"])

        # a PV brings its VG; other devices bring none
        one_pv = sources(type="logical", devices=[loops["pv2"]])
        no_pv = sources(type="logical", devices=[loops["ext4"], loops["blank"]])
        assert one_pv["sources"] == logical["sources"]
        assert no_pv["sources"] == []
        assert no_pv["xml"].strip() == "<sources/>"

        # -- disk ------------------------------------------------------------------------------
        disk = sources(type="disk", devices=every)
        assert not disk.failed, disk.msg
        found = {
            "ext4": blkid(loops["ext4"]), "swap": blkid(loops["swap"]), "xfs": blkid(loops["xfs"]), "part": blkid(part)}
        by_path = dict((source["path"], source) for source in disk["sources"])
        gpt = by_path[loops["gpt"]]
        why = json.dumps(disk["sources"])
        assert not disk.changed
        assert sorted(by_path) == every, why
        assert part not in by_path, why
        assert by_path[loops["blank"]] == {
            "name": os.path.basename(loops["blank"]), "path": loops["blank"], "size": 16 * MIB, "parent": None,
            "partitions": [], "read_only": False, "signatures": [], "format": None, "in_use": False, "uses": [],
            "probe_error": None}, why
        assert by_path[loops["ext4"]] == {
            "name": os.path.basename(loops["ext4"]), "path": loops["ext4"], "size": IMAGE_MIB * MIB, "parent": None,
            "partitions": [], "read_only": False, "format": None, "in_use": False, "uses": [], "probe_error": None,
            "signatures": [{"type": "ext4", "usage": "filesystem", "offsets": [1080], "uuid": found["ext4"]["UUID"],
                            "label": "pcs-ext4"}]}, why
        assert gpt["format"] == "gpt", why
        assert gpt["partitions"] == [os.path.basename(part)], why
        assert [sig["type"] for sig in gpt["signatures"]] == ["gpt", "PMBR"], why
        assert gpt["signatures"][0]["offsets"] == [512, IMAGE_MIB * MIB - 512], why
        assert not gpt["in_use"], why
        assert by_path[loops["dos"]]["format"] == "dos", why
        assert [sig["type"] for sig in by_path[loops["dos"]]["signatures"]] == ["dos"], why
        assert by_path[loops["xfs"]]["size"] == XFS_IMAGE_MIB * MIB, why
        assert by_path[loops["xfs"]]["signatures"][0]["uuid"] == found["xfs"]["UUID"], why
        assert by_path[loops["xfs"]]["format"] is None, why
        assert by_path[loops["xfs"]]["in_use"], why
        assert by_path[loops["xfs"]]["uses"] == ["mounted at " + mnt], why
        assert by_path[loops["swap"]]["signatures"] == [{
            "type": "swap", "usage": "other", "offsets": [4086], "uuid": found["swap"]["UUID"], "label": "pcs-swap"}], why
        assert by_path[loops["swap"]]["uses"] == ["active swap"], why
        assert by_path[loops["pv1"]]["signatures"][0]["type"] == "LVM2_member", why
        assert by_path[loops["pv2"]]["signatures"][0]["type"] == "LVM2_member", why
        assert not by_path[loops["pv1"]]["in_use"], why
        sources_schema("sourcedisk")(disk["xml"])
        # a source per device, and the tables as formats
        assert disk["xml"].count("<source>") == len(every), disk["xml"]
        assert ('<device path="%s"/>\n    <format type="gpt"/>' % loops["gpt"]) in disk["xml"], disk["xml"]
        assert ('<device path="%s"/>\n    <format type="dos"/>' % loops["dos"]) in disk["xml"], disk["xml"]
        assert disk["xml"].count("<format ") == 2, disk["xml"]

        # -- fs: the GPT disk (and so its partition), the ext4, xfs, swap and blank devices ----
        fs = sources(type="fs", devices=[loops["gpt"], loops["ext4"], loops["xfs"], loops["swap"], loops["blank"]])
        assert not fs.failed, fs.msg
        by_path = dict((source["path"], source) for source in fs["sources"])
        why = json.dumps(fs["sources"])
        assert not fs.changed
        # the partitioned disk is left out for its partition
        assert sorted(by_path) == sorted([loops["ext4"], loops["xfs"], loops["swap"], loops["blank"], part]), why
        assert by_path[part]["parent"] == os.path.basename(loops["gpt"]), why
        assert by_path[part]["format"] == "ext4", why
        assert by_path[part]["size"] == 32 * MIB, why
        assert by_path[part]["signatures"][0]["uuid"] == found["part"]["UUID"], why
        assert by_path[part]["signatures"][0]["label"] == "pcs-part", why
        assert by_path[loops["ext4"]]["format"] == "ext4", why
        assert by_path[loops["xfs"]]["format"] == "xfs", why
        assert by_path[loops["xfs"]]["uses"] == ["mounted at " + mnt], why
        assert by_path[loops["swap"]]["format"] is None, why
        assert by_path[loops["blank"]]["format"] is None, why
        sources_schema("sourcefs")(fs["xml"])
        # the XML names the filesystems
        assert ('<device path="%s"/>\n    <format type="ext4"/>' % part) in fs["xml"], fs["xml"]
        assert ('<device path="%s"/>\n    <format type="xfs"/>' % loops["xfs"]) in fs["xml"], fs["xml"]
        assert ('<device path="%s"/>\n  </source>' % loops["swap"]) in fs["xml"], fs["xml"]

        # -- the whole host (reads only): this test's devices are among them, its partition is not
        host = sources(type="disk")
        assert not host.failed, host.msg
        paths = [source["path"] for source in host["sources"]]
        assert not host.changed
        assert [path for path in every if path not in paths] == []
        assert part not in paths
        assert [source for source in host["sources"] if source["path"] == loops["gpt"]][0]["format"] == "gpt"

        # -- errors: refused in check mode and for real, naming the device; nothing touched ------
        table = fingerprints.combine(partitions=lambda: fingerprints.partitions(loops["gpt"]))
        harness.refused("pool_sources", {"type": "disk", "devices": [part]}, table,
                        "devices", part, "is a partition of %s" % os.path.basename(loops["gpt"]))
        harness.refused("pool_sources", {"type": "fs", "devices": [scratch]}, table, "devices", scratch, "not a block device")
        harness.refused("pool_sources", {"type": "zfs"}, table, "type", "zfs")

        # -- read only: the module changed no byte of the images ------------------------------
        harness.assert_unchanged(images, images_before, "pool_sources")

        # -- libvirt itself (a libvirtd of the test's own, with the same LVM_SYSTEM_DIR) -------
        libvirt = run("sh", FIND_SOURCES, scratch, "logical", env=lvm.env)
        assert ("<name>%s</name>" % VG) in libvirt, libvirt
        assert c14n(libvirt) == c14n(logical["xml"]), "libvirt: %s ours: %s" % (libvirt, logical["xml"])

        # -- without lxml: one clear line -------------------------------------------------------
        harness.assert_clean_failure(
            harness.run_module_bare(scratch, "pool_sources", {"type": "disk", "devices": [loops["blank"]]}), "lxml")
    finally:
        lvm.run("vgremove", "--force", VG, check=False)
        lvm.run("pvremove", "--force", loops["pv1"], loops["pv2"], check=False)
