#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: an mpath pool selecting 1 multipath map among 64, ours against `multipath -ll MAP`.

The host has no device-mapper: this boots the test VM (tests/vm/run, SSH mode, no extra disk),
copies the collection into it as scripts/test-vm does, and runs itself there with --in-guest.

In the guest: scsi_debug with MAPS LUNs on one target (vpd_use_hostno=0, PATHS hosts: each LUN a
WWID of its own over PATHS paths), a multipath.conf of the benchmark's (every scsi_debug disk a
map, nothing else), multipathd started, and the maps waited for. Then, interleaved, repeated and
by median:

  multipath  multipath -ll MAP                 what an admin runs for one map: multipath scans
                                                every path of the host, then prints the one map
  poolcraft  backend.refresh(pool)             what storage_pool's result needs: the selected
                                                map found through its by-id link, its size from
                                                sysfs; no command
  poolcraft  backend.list_volumes(pool)        the map with every path's device, H:C:T:L, state
                                                and group: dmsetup table and status of that map
  poolcraft    refresh + listing, fresh python  the same as a new process (Python's start and
                                                the imports count, as for `multipath -ll`)

libvirt's mpath pool (libvirt-daemon-driver-storage-mpath) is not in the guest image, which keeps
the image small; its refresh walks every map of the host (it has no selection), so `multipath -ll
MAP` of the one map stands in for it, as the issue allows. The ratio multipath / poolcraft of the
refresh must be at least TARGET (5); the listing's ratio is printed beside it. It checks that our
map, its size and its paths are what multipath -ll and blockdev say. Exit status: 0 target met, 1
missed, 2 results wrong or setup failed, 130/143 interrupted; the guest is taken down in any case.
See bench/README.md.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # before importing _harness: no __pycache__ in the checkout

from _harness import ROOT, STOPPED, SetupError, stop_on_signals, stopped, which  # noqa: E402 (the line above)

GUEST_ROOT = "/root/poolcraft"
GUEST_TREE = GUEST_ROOT + "/ansible_collections/poolcraft/storage"
DRIVER = "/sys/bus/pseudo/drivers/scsi_debug"
UUID = "0f6f0d8e-3f55-4d47-9d1e-6a1c1d4b2a77"
CONF = """defaults {
    user_friendly_names no
    find_multipaths no
}
blacklist {
    devnode "^(vd|loop|ram|sr|dm-)"
    device {
        vendor ".*"
        product ".*"
    }
}
blacklist_exceptions {
    device {
        vendor "Linux"
        product "scsi_debug"
    }
}
"""
_FRESH = r"""
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.poolcraft.storage.plugins.module_utils._backends import backend_for
from ansible_collections.poolcraft.storage.plugins.module_utils._model import PoolDef, PoolSource
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
pool = PoolDef(name="b", type="mpath", uuid=sys.argv[3], target_path="/dev/mapper", source=PoolSource(wwids=(sys.argv[2],)))
backend = backend_for("mpath", Runner())
backend.refresh(pool)
backend.list_volumes(pool)
"""


def fmt(seconds):
    return "%.3f s" % seconds if seconds >= 0.1 else "%.1f ms" % (seconds * 1000)


def timed(func):
    started = time.perf_counter()
    value = func()
    return time.perf_counter() - started, value


def sh(*argv, **kwargs):
    return subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          check=kwargs.pop("check", True), **kwargs).stdout


# -- in the guest ----------------------------------------------------------------------------------

def multipath_maps():
    out = sh("dmsetup", "ls", "--target", "multipath", check=False)
    return sorted(line.split()[0] for line in out.splitlines() if line.strip() and not line.startswith("No devices"))


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SetupError("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(0.5)


class Maps(object):
    """scsi_debug's LUNs as multipath maps; close() puts the guest back as it was."""

    def __init__(self, count, paths):
        self.count, self.paths = count, paths
        self.saved = {}
        self.started = False

    def open(self):
        if os.path.isdir(DRIVER):
            sh("modprobe", "-r", "scsi_debug")
        for path in ("/etc/multipath.conf", "/etc/multipath/wwids"):
            self.saved[path] = open(path).read() if os.path.exists(path) else None
        started = time.monotonic()
        sh("modprobe", "scsi_debug", "dev_size_mb=8", "add_host=%d" % self.paths, "num_tgts=1",
           "max_luns=%d" % self.count, "vpd_use_hostno=0")
        sh("udevadm", "settle", "--timeout=1800")
        disks = self.count * self.paths
        print("bench: %d scsi_debug disks ready in %.0f s (udev's rules)" % (disks, time.monotonic() - started), flush=True)
        with open("/etc/multipath.conf", "w") as handle:
            handle.write(CONF)
        if sh("systemctl", "is-active", "multipathd", check=False).strip() != "active":
            self.started = True
            sh("systemctl", "start", "multipathd")
        else:
            sh("multipathd", "reconfigure")
        wait(lambda: len(multipath_maps()) >= self.count, 1800, "%d multipath maps" % self.count)
        sh("udevadm", "settle", "--timeout=1800")
        print("bench: %d maps made in %.0f s" % (self.count, time.monotonic() - started), flush=True)

    def close(self):
        if self.started:
            sh("systemctl", "stop", "multipathd", "multipathd.socket", check=False)
        for path, text in self.saved.items():
            if text is None:
                if os.path.exists(path):
                    os.remove(path)
            else:
                with open(path, "w") as handle:
                    handle.write(text)
        if not self.started:
            sh("multipathd", "reconfigure", check=False)
        for name in multipath_maps():
            sh("dmsetup", "remove", "--retry", name, check=False)
        sh("udevadm", "settle", "--timeout=600", check=False)
        deadline = time.monotonic() + 120
        while os.path.isdir(DRIVER) and subprocess.run(["modprobe", "-r", "scsi_debug"], stderr=subprocess.DEVNULL,
                                                       check=False).returncode != 0 and time.monotonic() < deadline:
            sh("udevadm", "settle", "--timeout=60", check=False)


def ll_paths(text):
    """[(device, H:C:T:L, dm state)] of `multipath -ll MAP`'s path lines."""
    found = re.findall(r"(\d+:\d+:\d+:\d+) (\S+) \d+:\d+ +(\S+)", text)
    return sorted((device, hctl, state) for hctl, device, state in found)


def in_guest(args):
    sys.path.insert(0, args.collections)
    from ansible_collections.poolcraft.storage.plugins.module_utils._backends import backend_for
    from ansible_collections.poolcraft.storage.plugins.module_utils._model import PoolDef, PoolSource
    from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner

    maps = Maps(args.maps, args.paths)
    try:
        maps.open()
        names = multipath_maps()
        name = names[len(names) // 2]   # the map in the middle: no first or last one's luck
        wwid = open("/sys/block/%s/dm/uuid" % os.path.basename(os.path.realpath("/dev/mapper/" + name))).read().strip()[len("mpath-"):]
        backend = backend_for("mpath", Runner())
        pool = PoolDef(name="bench", type="mpath", uuid=UUID, target_path="/dev/mapper", source=PoolSource(wwids=(wwid,)))
        backend.validate(pool)
        kept = {}

        def ll():
            seconds, kept["ll"] = timed(lambda: sh("multipath", "-ll", name))
            return seconds

        def refresh():
            seconds, kept["status"] = timed(lambda: backend.refresh(pool))
            return seconds

        def listing():
            seconds, kept["volumes"] = timed(lambda: backend.list_volumes(pool))
            return seconds

        def fresh():
            return timed(lambda: subprocess.run([sys.executable, "-B", "-c", _FRESH, args.collections, wwid, UUID], check=True))[0]

        rows = (("ll", "multipath", "multipath -ll MAP", ll),
                ("refresh", "poolcraft", "backend.refresh(pool)", refresh),
                ("listing", "poolcraft", "backend.list_volumes(pool)", listing),
                ("fresh", "poolcraft", "  refresh + listing, fresh python", fresh))
        times = dict((key, []) for key, _who, _what, _func in rows)
        print("bench: timing 1 warm-up + %d runs of each, interleaved ..." % args.repeat, flush=True)
        for run in range(args.repeat + 1):
            for key, _who, _what, func in rows:
                seconds = func()
                if run:
                    times[key].append(seconds)

        problems = []
        volumes = kept["volumes"]
        size = int(sh("blockdev", "--getsize64", "/dev/mapper/" + name))
        if [vol.name for vol in volumes] != [name] or volumes[0].key != wwid or volumes[0].capacity != size:
            problems.append("our volumes %r, not map %s (%s, %d bytes)" % ([(v.name, v.key, v.capacity) for v in volumes], name, wwid, size))
        if kept["status"].volume_count != 1 or kept["status"].capacity != size:
            problems.append("our refresh %r, not one map of %d bytes" % (kept["status"], size))
        theirs = ll_paths(kept["ll"])
        ours = sorted((path.device, path.hctl, path.state) for path in volumes[0].paths) if volumes else []
        if ours != theirs:
            problems.append("our paths %r, multipath -ll's %r" % (ours, theirs))

        median = dict((key, statistics.median(values)) for key, values in times.items())
        print()
        tools = sh("dpkg-query", "-W", "-f=${Version}", "multipath-tools", check=False).strip() or "?"
        print("mpath refresh: 1 map selected among %d (%d path%s each, scsi_debug); multipath-tools %s; python %s; guest under %s"
              % (len(names), args.paths, "" if args.paths == 1 else "s", tools, sys.version.split()[0], args.accel))
        print("libvirt is not in the guest image: `multipath -ll MAP` of the same map stands in for its mpath refresh")
        print("%-10s %-36s %10s %10s %10s" % ("", "operation", "median", "min", "max"))
        for key, who, what, _func in rows:
            print("%-10s %-36s %10s %10s %10s" % (who, what, fmt(median[key]), fmt(min(times[key])), fmt(max(times[key]))))
        for problem in problems:
            print("MISMATCH: " + problem)
        ratio = median["ll"] / median["refresh"]
        met = ratio >= args.target
        print()
        print("refresh: poolcraft %s, multipath -ll %s, ratio multipath/poolcraft = %.1fx (target >= %gx): %s"
              % (fmt(median["refresh"]), fmt(median["ll"]), ratio, args.target, "PASS" if met else "MISSED"))
        print("(informational) with every path (list_volumes): %.1fx; in a fresh python process: %.1fx"
              % (median["ll"] / median["listing"], median["ll"] / median["fresh"]))
        if args.json:
            with open(args.json, "w") as handle:
                json.dump({"maps": len(names), "paths": args.paths, "ratio": ratio, "met": met, "problems": problems,
                           "seconds": dict((key, {"median": median[key], "runs": times[key]}) for key in times)}, handle, indent=2)
        if problems:
            return 2
        return 0 if met else 1
    except STOPPED as exc:
        return stopped(exc)
    finally:
        maps.close()


# -- on the host: boot the guest, run there -------------------------------------------------------

def on_host(args):
    if os.geteuid() != 0:
        print("bench: the test VM needs root", file=sys.stderr)
        return 2
    stop_on_signals()
    state = tempfile.mkdtemp(prefix="poolcraft-bench-mpath-")
    run_vm = os.path.join(ROOT, "tests", "vm", "run")
    booted = False
    try:
        which("qemu-system-x86_64")
        print("bench: booting the test VM ...", flush=True)
        started = subprocess.run([run_vm, "ssh", "start", "--state-dir", state, "--disks", "0"], stderr=subprocess.PIPE,
                                 universal_newlines=True, check=False)
        booted = True
        print(started.stderr.strip(), flush=True)  # its log: "vm: qemu pid N (tcg)"
        if started.returncode != 0:
            raise SetupError("the test VM did not start (tests/vm/run ssh start: rc %d)" % started.returncode)
        accel = "kvm" if "(kvm)" in started.stderr else "tcg"
        ssh = ["ssh", "-F", os.path.join(state, "ssh_config"), "vm"]
        tree = subprocess.run([os.path.join(ROOT, "scripts", "collection-tree")], stdout=subprocess.PIPE,
                              universal_newlines=True, check=True).stdout.strip()
        collections = os.path.dirname(os.path.dirname(os.path.dirname(tree)))
        tar = subprocess.Popen(["tar", "-c", "--exclude=.git", "--exclude=tests/output", "--exclude=__pycache__",
                                "-C", collections, "ansible_collections/poolcraft/storage"], stdout=subprocess.PIPE)
        subprocess.run(ssh + ["rm -rf %s && mkdir -p %s && tar -x -C %s" % (GUEST_ROOT, GUEST_ROOT, GUEST_ROOT)],
                       stdin=tar.stdout, check=True)
        tar.stdout.close()
        if tar.wait() != 0:
            raise SetupError("tar of the collection failed")
        command = "cd %s && python3 bench/mpath_refresh.py --in-guest --collections %s --maps %d --paths %d --repeat %d " \
                  "--target %g --accel %s" % (GUEST_TREE, GUEST_ROOT, args.maps, args.paths, args.repeat, args.target, accel)
        return subprocess.run(ssh + [command], check=False).returncode
    except subprocess.CalledProcessError as exc:
        return stopped(SetupError(str(exc)))
    except STOPPED as exc:
        return stopped(exc)
    finally:
        if booted:
            subprocess.run([run_vm, "ssh", "stop", "--state-dir", state], check=False)
        subprocess.run(["rm", "-rf", state], check=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--maps", type=int, default=64, help="multipath maps in the guest (default: 64)")
    parser.add_argument("--paths", type=int, default=1, help="paths of each map, one scsi_debug host each (default: 1)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after a warm-up; medians reported (default: 5)")
    parser.add_argument("--target", type=float, default=5.0, help="minimum ratio multipath/poolcraft of the refresh (default: 5)")
    parser.add_argument("--in-guest", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--collections", default=GUEST_ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--accel", default="tcg", help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="FILE", help="(in the guest) also write the results to FILE")
    args = parser.parse_args(argv)
    if args.maps < 2 or args.paths < 1 or args.repeat < 1:
        parser.error("--maps >= 2, --paths >= 1 and --repeat >= 1")
    return in_guest(args) if args.in_guest else on_host(args)


if __name__ == "__main__":
    sys.exit(main())
