# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images of every format cloned into the block pools, in the test VM (issue 10): real LVs of a
logical pool on vmdisk1 and real partitions of a disk pool on vmdisk4 (both blank again at the end).

- The sources are made with the guest's qemu-img from known bytes (random, with a MiB of zeros),
  in a dir pool of the test's own: qcow2, a qcow2 overlay whose data is partly its backing file's,
  QED, VHDX, VPC (its size is not a whole MiB), VDI and a VMDK descriptor with its flat extent.
  Each is cloned (converge: check mode, real, again, check mode again) into both pools, and the
  volume is read back byte for byte. The disks hold 0x55 bytes where the volumes go, so a zero
  that qemu-img did not write shows.
- An image that refers to a host file (a backing file, a VMDK extent) is refused by both pools,
  in check mode as for real.
- Any name of a volume's device is a volume of its pool (issue 10, LV paths): overlays whose
  backing files are an LV by /dev/mapper/VG-LV and /dev/dm-N, and partitions by their by-id and
  by-path links, clone without allow_references; storage_volume path= finds the volume by those
  names; a snapshot's backing store may be named /dev/mapper/VG-LV (its second run is an expected
  failure until storage_volume compares a backing store by device rather than by spelling).
- Volume permissions of existing (and new) LVs and partitions are refused in one line naming
  `permissions`, because udev sets them again whenever it makes the node: shown here by an LV's
  activation and a partition's entry read again each undoing a chmod.

Each part's time goes to the end of the run's output (vm_report).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import stat
import time

import pytest

import fingerprints
import harness
from guest import sh, wipe_disk

MIB = 1 << 20
SIZE = 8 * MIB
EXTENT = 4 * MIB        # LVM's default extent size
GRAIN = MIB             # where disk pools put partitions
DIRTY = 96 * MIB        # the part of each disk the volumes use (about 85 MiB), filled with 0x55 first
VG = "pcclone"
DISK_POOL = "pcclonedisk"
IMAGES_POOL = "pcimages"
SECRET = b"HOST-SECRET-0123456789abcdef\n"


def round_up(size, unit):
    return (size + unit - 1) // unit * unit


def fill(path, size, byte):
    """size bytes of byte at the start of the device path, written through."""
    chunk = bytes([byte]) * (4 * MIB)
    with open(path, "r+b") as handle:
        for _offset in range(0, size, len(chunk)):
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())


def read_device(path, size):
    """The first size bytes of a device, the page cache dropped first (LVM and qemu-img write past it)."""
    sh("blockdev", "--flushbufs", path)
    with open(path, "rb") as handle:
        return handle.read(size)


def assert_same_bytes(what, got, expected):
    """Compared by digest; on a difference, the first offset that differs (not 8 MiB of repr)."""
    if hashlib.sha256(got).digest() == hashlib.sha256(expected).digest():
        return
    first = next((index for index, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
    pytest.fail("%s: %d bytes read, %d expected; first difference at byte %d (MiB %d)"
                % (what, len(got), len(expected), first, first // MIB))


def node_stat(path):
    st = os.stat(path)
    return (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


class Sources(object):
    """The images to clone, in the dir pool's directory, each with the bytes a clone must read."""

    def __init__(self, scratch):
        self.dir = os.path.join(scratch, "images")
        self.secret = os.path.join(scratch, "secret", "host.bin")
        os.makedirs(self.dir)
        os.makedirs(os.path.dirname(self.secret))
        with open(self.secret, "wb") as handle:
            handle.write((SECRET * (MIB // len(SECRET) + 1))[:MIB])
        data = bytearray(os.urandom(SIZE))
        data[3 * MIB:4 * MIB] = bytes(MIB)   # zeros that must overwrite the 0x55 on the disks
        self.data = bytes(data)
        self.write("data.raw", self.data)
        # (name, format, the bytes a clone reads): every format from the same data
        for fmt, options in (("qcow2", []), ("qed", []), ("vhdx", []), ("vpc", []), ("vdi", [])):
            self.convert("data.raw", "src.%s" % fmt, fmt, options)
        self.convert("data.raw", "desc.vmdk", "vmdk", ["-o", "subformat=monolithicFlat"])
        vpc_size = self.virtual_size("src.vpc")
        assert vpc_size > SIZE and vpc_size % MIB, "qemu-img's VPC size is CHS-rounded: %d" % vpc_size
        self.images = [("src.qcow2", "qcow2", self.data), ("overlay.qcow2", "qcow2", self.overlay()),
                       ("src.qed", "qed", self.data), ("src.vhdx", "vhdx", self.data),
                       ("src.vpc", "vpc", self.data + bytes(vpc_size - SIZE)), ("src.vdi", "vdi", self.data),
                       ("desc.vmdk", "vmdk", self.data)]
        with open(self.path("desc.vmdk"), "rb") as handle:
            assert b'FLAT "desc-flat.vmdk"' in handle.read(1024), "not a VMDK descriptor with a flat extent"

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data):
        with open(self.path(name), "wb") as handle:
            handle.write(data)

    def convert(self, source, target, fmt, options):
        sh("qemu-img", "convert", "-q", "-f", "raw", "-O", fmt, *(options + [self.path(source), self.path(target)]))

    def virtual_size(self, name):
        return json.loads(sh("qemu-img", "info", "--output=json", self.path(name)))["virtual-size"]

    def overlay(self):
        """overlay.qcow2 on base.qcow2 (other random bytes): 1 MiB of 0x5a and 1 MiB of zeros written
        into the overlay, the rest read from the backing file. The bytes its clone must read."""
        base = bytearray(os.urandom(SIZE))
        self.write("base.raw", bytes(base))
        self.convert("base.raw", "base.qcow2", "qcow2", [])
        os.unlink(self.path("base.raw"))
        sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", self.path("overlay.qcow2"), cwd=self.dir)
        sh("qemu-io", "-f", "qcow2", "-c", "write -q -P 0x5a 1M 1M", "-c", "write -q -z 5M 1M", self.path("overlay.qcow2"))
        base[1 * MIB:2 * MIB] = b"\x5a" * MIB
        base[5 * MIB:6 * MIB] = bytes(MIB)
        return bytes(base)

    def on(self, name, backing):
        """A qcow2 overlay of name on the block device backing, named as given (no data of its own)."""
        sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", backing, "-F", "raw", self.path(name))
        return self.path(name)

    def attacks(self):
        """Images that would copy the host file into a pool: (path, what the refusal names)."""
        backing = self.path("evil-backing.qcow2")
        sh("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "../secret/host.bin", "-F", "raw", backing, str(MIB))
        extent = self.path("evil-extent.vmdk")
        with open(extent, "w") as handle:
            handle.write('# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n'
                         'createType="monolithicFlat"\n\n# Extent description\n'
                         'RW 2048 FLAT "../secret/host.bin" 0\n')
        return [(backing, "backing file"), (extent, "extent")]


class Scenario(object):
    """The store, the two block pools and their fingerprints; the module calls of the test."""

    def __init__(self, store, lv_disk, part_disk, sources):
        self.store = store
        self.lv_disk = lv_disk
        self.part_disk = part_disk
        self.sources = sources
        self.store_dir = os.path.dirname(store["config_dir"])

    def args(self, **args):
        return dict(self.store, **args)

    def _disk_layout(self):
        """The partition disk's GPT areas (first 2 MiB, last MiB) and the kernel's partitions."""
        with open(self.part_disk, "rb") as handle:
            head = hashlib.sha256(handle.read(2 * MIB)).hexdigest()
            handle.seek(-MIB, os.SEEK_END)
            tail = hashlib.sha256(handle.read()).hexdigest()
        return {"head": head, "tail": tail, "kernel": fingerprints.partitions(self.part_disk)}

    def fingerprint(self, pool=None, **extra):
        """What a task on pool could change: LVM's report (VG) or the partition table (DISK_POOL), or
        both (None); the store and the images always."""
        parts = dict(store=lambda: fingerprints.tree(self.store_dir), images=lambda: fingerprints.tree(self.sources.dir))
        if pool in (VG, None):
            parts["lvm"] = fingerprints.lvm_report
        if pool in (DISK_POOL, None):
            parts["disk"] = self._disk_layout
        parts.update(extra)
        return fingerprints.combine(**parts)

    def converge(self, **args):
        return harness.converge("storage_volume", self.args(**args), self.fingerprint(args.get("pool")))

    def call(self, module, **args):
        result = harness.run_module(module, self.args(**args))
        assert not result.failed, "%s %r: %s" % (module, args, result.msg)
        return result

    def refused(self, args, *expect, **extra):
        return harness.refused("storage_volume", self.args(**args), self.fingerprint(args.get("pool"), **extra), *expect)


class Clock(object):
    """Seconds per part of the scenario, for the run's report."""

    def __init__(self):
        self.parts = []
        self.start = self.last = time.monotonic()

    def lap(self, name):
        now = time.monotonic()
        self.parts.append("%s %.1f s" % (name, now - self.last))
        self.last = now

    def line(self):
        return "clone formats into block pools: %s; total %.1f s" % (", ".join(self.parts), time.monotonic() - self.start)


def test_clone_formats_into_block_pools(vm_disk, store, scratch, vm_report):
    for tool in ("qemu-img", "qemu-io"):
        assert shutil.which(tool), "%s is not installed in the guest" % tool
    lv_disk, part_disk = vm_disk(1), vm_disk(4)
    clock = Clock()
    try:
        for disk in (lv_disk, part_disk):
            fill(disk, DIRTY, 0x55)
        sources = Sources(scratch)
        sc = Scenario(store, lv_disk, part_disk, sources)
        make_pools(sc)
        clock.lap("setup")
        clones(sc, clock)
        refusals(sc)
        clock.lap("host-file refusals")
        other_names(sc)
        clock.lap("other names of a volume")
        permissions(sc)
        clock.lap("permissions")
        snapshot_by_mapper_name(sc)
        clock.lap("snapshot by /dev/mapper name")
    finally:
        vm_report.append(clock.line())
        clean_up(lv_disk, part_disk)


def make_pools(sc):
    """The three pools, each made by one call: their life cycle is the pool scenarios' business."""
    for args in ({"name": IMAGES_POOL, "type": "dir", "target": {"path": sc.sources.dir}},
                 {"name": VG, "type": "logical", "source": {"devices": [sc.lv_disk]}},
                 {"name": DISK_POOL, "type": "disk", "source": {"devices": [sc.part_disk], "format": "gpt"}}):
        made = sc.call("storage_pool", build=True, state="running", **args)
        assert made.changed and made["pool"]["state"] == "running", made


def clone_name(image):
    return "from_" + image.replace(".", "_")


def clones(sc, clock):
    """Each image into each pool, converged; read back byte for byte. The pools' units of size:
    whole extents (LVM), whole MiB (partitions); the clone's own bytes are the image's virtual size."""
    for index, (image, fmt, expected) in enumerate(sc.sources.images):
        # half of them with the format given, half probed from the header
        source = {"path": sc.sources.path(image)}
        if index % 2:
            source["format"] = fmt
        name = clone_name(image)
        lv = sc.converge(pool=VG, name=name, clone_from=source)
        vol = lv.real["volume"]
        assert lv.real["clone_method"] == "copy", lv.real
        assert lv.real.actions == ["clone %s (%s) into volume %r (raw)" % (source["path"], fmt, name)], lv.real.actions
        assert vol["path"] == "/dev/%s/%s" % (VG, name) and vol["capacity"] == round_up(len(expected), EXTENT), vol
        assert_same_bytes("LV %s cloned from %s" % (name, image), read_device(vol["path"], len(expected)), expected)

        part = sc.converge(pool=DISK_POOL, name=name, clone_from=source)
        vol = part.real["volume"]
        assert part.real["clone_method"] == "copy", part.real
        assert part.real.actions == ["clone %s (%s) into volume %r (none)" % (source["path"], fmt, name)], part.real.actions
        assert vol["capacity"] == round_up(len(expected), GRAIN) and vol["path"].startswith("/dev/disk/by-partuuid/"), vol
        assert_same_bytes("partition %s cloned from %s" % (name, image), read_device(vol["path"], len(expected)), expected)
        clock.lap("clone %s" % image)


def refusals(sc):
    """A backing file or extent that is a host file: refused by both block pools, nothing made."""
    for number, (path, kind) in enumerate(sc.sources.attacks()):
        for pool in (VG, DISK_POOL):
            sc.refused({"pool": pool, "name": "evil%d" % number, "clone_from": {"path": path}},
                       "clone_from=", "the image refers to a file outside itself", kind, "allow_references")


def partition_links(node):
    """The by-id and by-path links udev made for a partition node."""
    links = []
    for folder in ("/dev/disk/by-id", "/dev/disk/by-path"):
        found = sorted(os.path.join(folder, name) for name in os.listdir(folder)
                       if os.path.realpath(os.path.join(folder, name)) == node)
        assert found, "no link in %s to %s" % (folder, node)
        links.append(found[0])
    return links


def other_names(sc):
    """Overlays whose backing files are volumes named otherwise than by their pool need no
    allow_references: two cloned (converged, read back), two planned in check mode (where a
    refusal would be raised). storage_volume path= finds a volume by any of those names."""
    origin = clone_name("src.qcow2")
    lv = "/dev/%s/%s" % (VG, origin)
    mapper = "/dev/mapper/%s-%s" % (VG, origin)
    dm = os.path.realpath(lv)
    assert dm.startswith("/dev/dm-") and os.path.realpath(mapper) == dm, (lv, mapper, dm)
    part = sc.call("storage_volume", pool=DISK_POOL, name=origin)["volume"]["path"]
    by_id, by_path = partition_links(os.path.realpath(part))
    for image, backing, pool in (("on-mapper.qcow2", mapper, DISK_POOL), ("on-by-path.qcow2", by_path, VG)):
        done = sc.converge(pool=pool, name=clone_name(image), clone_from={"path": sc.sources.on(image, backing)})
        assert done.real["clone_method"] == "copy", done.real
        assert_same_bytes("%s (on %s) cloned into %s" % (image, backing, pool),
                          read_device(done.real["volume"]["path"], SIZE), sc.sources.data)
    for image, backing, pool in (("on-dm.qcow2", dm, VG), ("on-by-id.qcow2", by_id, DISK_POOL)):
        planned = harness.run_module("storage_volume", sc.args(pool=pool, name=clone_name(image),
                                                               clone_from={"path": sc.sources.on(image, backing)}), check=True)
        assert not planned.failed and planned.changed, (image, backing, planned.msg)

    # the volume at another name of its node: found, no change, its pool's own name in the result
    for path, pool in ((mapper, VG), (dm, VG), (by_id, DISK_POOL), (by_path, DISK_POOL)):
        found = sc.call("storage_volume", path=path)
        assert not found.changed and (found["volume"]["pool"], found["volume"]["name"]) == (pool, origin), (path, found)


def permissions(sc):
    """Refused in one line, existing volume or new, in check mode as for real; the node untouched.
    Why: a chmod lasts only until udev makes the node again: an LV's at its next activation (the
    pool's stop and start, a boot), a partition's when the kernel reads its entry again."""
    origin = clone_name("src.qcow2")
    lv = "/dev/%s/%s" % (VG, origin)
    part = sc.call("storage_volume", pool=DISK_POOL, name=origin)["volume"]["path"]
    cases = ((VG, lv, "logical", ({"mode": "0640"}, {"owner": "nobody"})),
             (DISK_POOL, part, "disk", ({"group": "disk", "mode": "0600"},)))
    for pool, path, kind, asked in cases:
        node = os.path.realpath(path)
        watched = dict(node=lambda node=node: node_stat(node))
        words = "%s pools do not set volume permissions" % kind
        for given in asked:
            sc.refused({"pool": pool, "name": origin, "permissions": given},
                       "permissions=", words, "would not last", "udev rule", **watched)
        sc.refused({"pool": pool, "name": "with_mode", "capacity": "4MiB", "permissions": {"mode": "0640"}},
                   "permissions=", words, **watched)

    # what a chmod would come to
    before = node_stat(os.path.realpath(lv))
    os.chmod(os.path.realpath(lv), 0o640)
    sh("lvm", "lvchange", "--activate", "n", "%s/%s" % (VG, origin))
    sh("lvm", "lvchange", "--activate", "y", "%s/%s" % (VG, origin))
    assert node_stat(os.path.realpath(lv)) == before, "LV node after activation: %r" % (node_stat(os.path.realpath(lv)),)
    node = os.path.realpath(part)
    before = node_stat(node)
    os.chmod(node, 0o640)
    number = open("/sys/class/block/%s/partition" % os.path.basename(node)).read().strip()
    sh("partx", "--delete", "--nr", number, sc.part_disk)
    sh("partx", "--add", "--nr", number, sc.part_disk)
    sh("udevadm", "settle")
    assert node_stat(node) == before, "partition node after its entry was read again: %r" % (node_stat(node),)


def snapshot_by_mapper_name(sc):
    """A snapshot whose backing store is named /dev/mapper/VG-LV: an LVM snapshot of that LV.
    Last, as the second run depends on the manager comparing backing stores by device."""
    origin = clone_name("src.qcow2")
    mapper = "/dev/mapper/%s-%s" % (VG, origin)
    args = sc.args(pool=VG, name="snap_mapper", capacity="8MiB", backing_store={"path": mapper})
    fingerprint = sc.fingerprint(VG)
    before = fingerprint()
    check = harness.run_module("storage_volume", args, check=True, diff=True)
    assert not check.failed and check.changed, check
    harness.assert_unchanged(fingerprint, before, "the snapshot's check mode")
    real = harness.run_module("storage_volume", args, diff=True)
    assert not real.failed and real.actions == check.actions, real
    assert sh("lvm", "lvs", "--noheadings", "-o", "origin", "%s/snap_mapper" % VG).strip() == origin
    assert_same_bytes("snapshot of %s" % origin, read_device("/dev/%s/snap_mapper" % VG, SIZE), sc.sources.data)
    again = harness.run_module("storage_volume", args)  # the same LV by its other name: no change
    assert not again.failed and not again.changed, again
    recheck = harness.run_module("storage_volume", args, check=True)
    assert not recheck.failed and not recheck.changed, recheck


def clean_up(lv_disk, part_disk):
    """Whatever the test left: the VG and its PV, the partition table; the disks' bytes zero again."""
    if sh("lvm", "vgs", VG, check=False):
        sh("lvm", "vgchange", "--activate", "n", VG, check=False)
        sh("lvm", "vgremove", "--yes", "--force", "--force", VG, check=False)
    sh("lvm", "pvremove", "--yes", "--force", "--force", lv_disk, check=False)
    for disk in (lv_disk, part_disk):
        fill(disk, DIRTY, 0)
        wipe_disk(disk)
