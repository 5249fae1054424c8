#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: storage facts of a host with 2,000 block devices, side by side.

Makes loop devices, by default a host of 2,000 block devices: 500 plain
disks (every second with ext4) and 500 GPT disks with two partitions (an ext4
and an empty one), every filesystem, disk and partition with a UUID of its own,
with udevd running (started here when none answers, and stopped again), and times,
interleaved, repeated and by median, each as a fresh process the way Ansible
runs a module on a host once AnsiballZ has unpacked it:

  setup       ansible.builtin.setup with gather_subset=hardware
  lsblk       lsblk -J -O
  ours (all)  storage_device_facts, every subset
  ours (dev)  storage_device_facts, gather_subset=devices (what lsblk covers)

It checks the facts against what it made (sizes, filesystems, partitions),
prints a table, the output sizes and the two ratios (setup / ours (all) >= 30,
lsblk / ours (dev) >= 4), and exits 1 when a target is missed, 2 when the facts
are wrong or the setup fails. Everything it makes is removed before it exits;
only the loop devices it attached are detached.

See bench/README.md.
"""

from __future__ import absolute_import, division, print_function

import argparse
import fcntl
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib

sys.dont_write_bytecode = True  # before importing _harness: no __pycache__ in the checkout

from _harness import ROOT, STOPPED, SBIN_PATH, SetupError, link_collection, run, stop_on_signals, stopped, which

UDEVD = "/lib/systemd/systemd-udevd"
MiB = 1 << 20
LOOP_SIZE = 8 * MiB
FS_SIZE = 8 * MiB
PART_DISK_SIZE = 16 * MiB

LOOP_CTL_GET_FREE = 0x4C82
LOOP_SET_FD = 0x4C00
LOOP_CLR_FD = 0x4C01


# -- udev --------------------------------------------------------------------------

class Udevd(object):
    """Uses a running udevd, or starts one and stops it (by its PID) at the end."""

    def __init__(self):
        self.proc = None

    def start(self):
        if subprocess.run([which("udevadm"), "control", "--ping", "--timeout=2"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0:
            return "running already (left alone)"
        if not os.path.exists(UDEVD):
            raise SetupError("%s not found: install udev" % UDEVD)
        self.proc = subprocess.Popen([UDEVD], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        for _i in range(100):
            if subprocess.run([which("udevadm"), "control", "--ping", "--timeout=1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0:
                return "started (pid %d)" % self.proc.pid
            time.sleep(0.1)
        raise SetupError("udevd did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def settle(names):
    """udev processes exactly these devices again (their udev records were made on attach)."""
    udevadm = which("udevadm")
    for start in range(0, len(names), 200):
        run([udevadm, "trigger", "--action=change"] + ["--sysname-match=%s" % n for n in names[start:start + 200]])
    run([udevadm, "settle", "--timeout=300"])


# -- loop devices --------------------------------------------------------------------

class Loops(object):
    """Loop devices attached with ioctls (a process per device would take minutes)."""

    def __init__(self):
        self.names = []
        self.partitioned = set()

    def attach(self, path):
        ctl = os.open("/dev/loop-control", os.O_RDWR)
        fd = os.open(path, os.O_RDWR)
        try:
            for _attempt in range(100):
                number = fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)
                dev = "/dev/loop%d" % number
                for _wait in range(100):
                    if os.path.exists(dev):
                        break
                    time.sleep(0.01)
                loop_fd = os.open(dev, os.O_RDWR)
                try:
                    fcntl.ioctl(loop_fd, LOOP_SET_FD, fd)
                except OSError as exc:
                    if exc.errno == 16:  # EBUSY: another process took it meanwhile
                        continue
                    raise
                finally:
                    os.close(loop_fd)
                name = "loop%d" % number
                self.names.append(name)
                _drop_stale_partitions(name)
                return name
            raise SetupError("no free loop device")
        finally:
            os.close(fd)
            os.close(ctl)

    def detach_all(self):
        partx = shutil.which("partx", path=os.pathsep.join(SBIN_PATH))
        for name in reversed(self.names):
            if name in self.partitioned and partx:
                # partitions added by BLKPG outlive LOOP_CLR_FD: remove them while the disk is attached
                subprocess.run([partx, "--delete", "/dev/" + name], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False)
            try:
                fd = os.open("/dev/" + name, os.O_RDWR)
                try:
                    fcntl.ioctl(fd, LOOP_CLR_FD, 0)
                finally:
                    os.close(fd)
            except OSError as exc:
                print("warning: could not detach %s: %s" % (name, exc), file=sys.stderr)
        self.names = []


def _drop_stale_partitions(name):
    """Partition nodes added by BLKPG outlive the loop device's detach on this kernel: a loop
    device another process partitioned and detached comes with them. Drop them (by number;
    partx reads no table for that) so the device is what this benchmark writes to it."""
    stale = [entry[len(name) + 1:] for entry in os.listdir("/sys/block/" + name)
             if entry.startswith(name + "p") and entry[len(name) + 1:].isdigit()]
    for number in stale:
        run([which("partx"), "--delete", "--nr", "%s:%s" % (number, number), "/dev/" + name])


class SparseImage(object):
    """A disk image as its non-zero 4 KiB blocks, to copy many times with changes."""

    def __init__(self, size, blocks=None):
        self.size = size
        self.blocks = dict(blocks or {})

    def copy(self):
        return SparseImage(self.size, dict((k, bytearray(v)) for k, v in self.blocks.items()))

    def read(self, offset, length):
        out = bytearray()
        while length:
            index, start = divmod(offset, 4096)
            take = min(length, 4096 - start)
            block = self.blocks.get(index)
            out += block[start:start + take] if block is not None else bytes(take)
            offset += take
            length -= take
        return bytes(out)

    def write(self, offset, data):
        data = bytes(data)
        while data:
            index, start = divmod(offset, 4096)
            take = min(len(data), 4096 - start)
            block = self.blocks.setdefault(index, bytearray(4096))
            block[start:start + take] = data[:take]
            offset += take
            data = data[take:]

    def embed(self, offset, other):
        for index, block in other.blocks.items():
            self.write(offset + index * 4096, block)

    def save(self, path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, self.size)
            for index, block in self.blocks.items():
                os.pwrite(fd, bytes(block), index * 4096)
        finally:
            os.close(fd)


EXT4_UUID_OFFSET = 1024 + 0x68  # s_uuid in the primary superblock


def new_ext4_uuid(image):
    """A fresh filesystem UUID (the template has no metadata_csum, so nothing else depends on it)."""
    image.write(EXT4_UUID_OFFSET, uuid.uuid4().bytes)


def new_gpt_guids(image):
    """Fresh disk and partition GUIDs in both GPT headers and entry arrays, with their CRCs."""
    disk_guid = uuid.uuid4().bytes_le
    primary = image.read(512, 92)
    backup_lba = struct.unpack_from("<Q", primary, 32)[0]
    count, entry_size = struct.unpack_from("<II", primary, 80)
    new_guids = {}
    for header_offset in (512, backup_lba * 512):
        header = bytearray(image.read(header_offset, 92))
        entries_lba = struct.unpack_from("<Q", header, 72)[0]
        entries = bytearray(image.read(entries_lba * 512, count * entry_size))
        for number in range(count):
            start = number * entry_size
            if entries[start:start + 16] != bytes(16):
                entries[start + 16:start + 32] = new_guids.setdefault(number, uuid.uuid4().bytes_le)
        image.write(entries_lba * 512, entries)
        header[56:72] = disk_guid
        struct.pack_into("<I", header, 88, zlib.crc32(bytes(entries)) & 0xFFFFFFFF)
        struct.pack_into("<I", header, 16, 0)
        struct.pack_into("<I", header, 16, zlib.crc32(bytes(header)) & 0xFFFFFFFF)
        image.write(header_offset, header)


def template(path, size, commands):
    """A disk image made once by real tools, kept as its non-zero 4 KiB blocks."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    for argv in commands:
        run([path if arg == "@IMG@" else arg for arg in argv])
    blocks = {}
    with open(path, "rb") as handle:
        index = 0
        while True:
            chunk = handle.read(4096)
            if not chunk:
                break
            if chunk.count(0) != len(chunk):
                blocks[index] = bytearray(chunk.ljust(4096, b"\0"))
            index += 1
    os.unlink(path)
    return SparseImage(size, blocks)


def make_devices(work, loops, plain, partitioned, fs_every):
    """Plain disks (every fs_every-th with ext4) and GPT disks with an ext4 partition and an
    empty one. Every filesystem, disk and partition gets a UUID of its own, as on a real host."""
    ext4 = template(os.path.join(work, "ext4.tmpl"), FS_SIZE,
                    [[which("mkfs.ext4"), "-q", "-F", "-O", "^metadata_csum", "-L", "pcbench", "@IMG@"]])
    gpt = template(os.path.join(work, "gpt.tmpl"), PART_DISK_SIZE,
                   [[which("parted"), "-s", "@IMG@", "mklabel", "gpt", "mkpart", "data", "1MiB", "9MiB",
                     "mkpart", "spare", "9MiB", "15MiB"]])
    expected = {}
    images = os.path.join(work, "images")
    os.makedirs(images)
    for index in range(plain):
        path = os.path.join(images, "plain-%05d.img" % index)
        with_fs = bool(fs_every) and index % fs_every == 0
        image = ext4.copy() if with_fs else SparseImage(LOOP_SIZE)
        if with_fs:
            new_ext4_uuid(image)
        image.save(path)
        name = loops.attach(path)
        expected[name] = {"size": LOOP_SIZE, "fs": "ext4" if with_fs else None, "partitions": 0}
    partx = which("partx")
    for index in range(partitioned):
        path = os.path.join(images, "gpt-%05d.img" % index)
        image = gpt.copy()
        new_gpt_guids(image)
        data = ext4.copy()
        new_ext4_uuid(data)
        image.embed(MiB, data)
        image.save(path)
        name = loops.attach(path)
        loops.partitioned.add(name)
        run([partx, "--add", "/dev/" + name])  # the kernel here has no partition parser; BLKPG works
        expected[name] = {"size": PART_DISK_SIZE, "fs": None, "partitions": 2}
        expected[name + "p1"] = {"size": 8 * MiB, "fs": "ext4", "partitions": None}
        expected[name + "p2"] = {"size": 6 * MiB, "fs": None, "partitions": None}
    return expected


# -- the contenders ------------------------------------------------------------------

def module_argv(python, module_path, args_path):
    return [python, module_path, args_path]


def write_args(path, args):
    with open(path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)


def timed(argv, env):
    start = time.time()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.time() - start
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout)[-2000:].decode("utf-8", "replace")
        raise SetupError("%s failed (rc=%d): %s" % (" ".join(argv[:3]), proc.returncode, detail))
    return elapsed, proc.stdout


def check_facts(output, expected):
    result = json.loads(output)
    if result.get("failed"):
        raise SetupError("storage_device_facts failed: %s" % result.get("msg"))
    devices = result["ansible_facts"]["storage_devices"]
    problems = []
    for name, want in expected.items():
        got = devices.get(name)
        if got is None:
            problems.append("%s missing" % name)
            continue
        if got["size"] != want["size"]:
            problems.append("%s size %s != %s" % (name, got["size"], want["size"]))
        if want["fs"] != (got.get("fs") or {}).get("type"):
            problems.append("%s fs %s != %s" % (name, (got.get("fs") or {}).get("type"), want["fs"]))
        if want["partitions"] is not None and len(got.get("partitions", [])) != want["partitions"]:
            problems.append("%s partitions %s" % (name, got.get("partitions")))
        if want["partitions"] == 0 and not want["fs"] and not got["free"]:
            problems.append("%s should be free" % name)
    return problems, len(devices)


def fmt(seconds):
    return "%.3f s" % seconds if seconds >= 0.1 else "%.1f ms" % (seconds * 1000)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--loops", type=int, default=500, help="plain loop devices (default 500)")
    parser.add_argument("--partitioned", type=int, default=500,
                        help="loop devices with a GPT, an ext4 partition and an empty one (default 500)")
    parser.add_argument("--fs-every", type=int, default=2, help="every Nth plain device gets ext4 (default 2; 0: none)")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--setup-target", type=float, default=30.0)
    parser.add_argument("--lsblk-target", type=float, default=4.0)
    parser.add_argument("--skip-setup", action="store_true", help="leave ansible.builtin.setup out (it takes ~20 s a run)")
    parser.add_argument("--tmpdir", default=None)
    parser.add_argument("--json", default=None, help="also write the results as JSON to this file")
    opts = parser.parse_args()

    if os.geteuid() != 0:
        print("device_facts: needs root (it attaches loop devices)", file=sys.stderr)
        return 2
    stop_on_signals()

    work = tempfile.mkdtemp(prefix="poolcraft-bench-facts-", dir=opts.tmpdir)
    loops = Loops()
    udevd = Udevd()
    try:
        print("udevd: %s" % udevd.start())
        start = time.time()
        expected = make_devices(work, loops, opts.loops, opts.partitioned, opts.fs_every)
        settle(sorted(expected))
        print("made %d block devices (%d loop devices) in %.1f s; the host has %d block devices in all"
              % (len(expected), len(loops.names), time.time() - start, len(os.listdir("/sys/class/block"))))

        env = dict(os.environ, PYTHONPATH=link_collection(work), PYTHONDONTWRITEBYTECODE="1", LC_ALL="C.UTF-8")
        python = sys.executable
        ours = os.path.join(ROOT, "plugins", "modules", "storage_device_facts.py")
        args = {}
        for key, value in (("all", {"config_dir": os.path.join(work, "etc"), "runtime_dir": os.path.join(work, "run")}),
                           ("dev", {"gather_subset": ["devices"]}),
                           ("setup", {"gather_subset": ["hardware"]})):
            args[key] = os.path.join(work, "args-%s.json" % key)
            write_args(args[key], value)

        contenders = [
            ("lsblk", "lsblk -J -O", [which("lsblk"), "-J", "-O"]),
            ("dev", "storage_device_facts gather_subset=devices", module_argv(python, ours, args["dev"])),
            ("all", "storage_device_facts (all subsets)", module_argv(python, ours, args["all"])),
        ]
        if not opts.skip_setup:
            # setup imports its module_utils relatively: run it as a module of the ansible-core in use
            contenders.append(("setup", "setup gather_subset=hardware", [python, "-m", "ansible.modules.setup", args["setup"]]))

        times = dict((key, []) for key, _label, _argv in contenders)
        sizes = {}
        outputs = {}
        for round_number in range(opts.repeat + 1):  # round 0 warms the caches and is not counted
            order = contenders[round_number % len(contenders):] + contenders[:round_number % len(contenders)]
            for key, _label, argv in order:
                if round_number == 0 and key == "setup":
                    continue
                elapsed, output = timed(argv, env)
                if round_number:
                    times[key].append(elapsed)
                sizes[key] = len(output)
                outputs[key] = output

        problems, reported = check_facts(outputs["dev"], expected)
        problems_all, _count = check_facts(outputs["all"], expected)
        problems += problems_all

        print("")
        print("%-46s %10s %10s %10s %12s" % ("", "median", "min", "max", "output"))
        for key, label, _argv in contenders:
            row = (label, fmt(statistics.median(times[key])), fmt(min(times[key])), fmt(max(times[key])), sizes[key] / 1024.0)
            print("%-46s %10s %10s %10s %9.1f KB" % row)
        print("")
        print("block devices in the facts: %d (the host's, ours among them)" % reported)
        results = {"block_devices": reported, "made": len(expected), "medians": {}, "sizes": sizes}
        status = 0
        for key in times:
            results["medians"][key] = statistics.median(times[key])
        checks = [("lsblk", "dev", opts.lsblk_target)]
        if not opts.skip_setup:
            checks.insert(0, ("setup", "all", opts.setup_target))
        for theirs, mine, target in checks:
            ratio = results["medians"][theirs] / results["medians"][mine]
            verdict = "PASS" if ratio >= target else "FAIL"
            status = status or (0 if verdict == "PASS" else 1)
            results["ratio_%s" % theirs] = ratio
            print("%s: ours (%s) %s, %s %s, ratio %s/ours = %.1fx (target >= %gx): %s"
                  % (theirs, mine, fmt(results["medians"][mine]), theirs, fmt(results["medians"][theirs]),
                     theirs, ratio, target, verdict))
        print("fact output: %.1f KB for %d devices (%.0f bytes a device); lsblk -J -O: %.1f KB"
              % (sizes["dev"] / 1024.0, reported, sizes["dev"] / float(reported), sizes["lsblk"] / 1024.0))
        if problems:
            print("facts disagree with what was made: %s" % "; ".join(problems[:20]), file=sys.stderr)
            status = 2
        if opts.json:
            with open(opts.json, "w") as handle:
                json.dump(results, handle, indent=2)
        return status
    except STOPPED as exc:
        return stopped(exc, "device_facts")
    finally:
        loops.detach_all()
        udevd.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
