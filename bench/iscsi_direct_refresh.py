#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: refresh of an iscsi-direct pool with 64 LUNs on tgtd, ours against libvirt's.

Starts a tgtd of its own on 127.0.0.1 (tests/scenarios/host/tgt_target.py: a free port, its own
control port, stopped by its PID) with one target of 64 LUNs (sparse files of 16 MiB plus i MiB),
a private libvirtd in session mode (bench/dir_pool_inventory.py's Libvirtd: every file in the
scratch directory, run as nobody when root) with libvirt's own iscsi-direct pool on that target,
and times, interleaved, repeated and by median:

  libvirt    virsh pool-refresh                 libvirtd: one login, REPORT LUNS, then TEST UNIT READY,
                                                INQUIRY and READ CAPACITY 16 per LUN, logout
  libvirt    virsh pool-info                    the same virsh and RPC with no refresh: what of the
                                                above is virsh's own start and connection
  poolcraft  backend.refresh(pool)              what storage_pool does inside the module: iscsi-ls -s,
                                                then iscsi-readcapacity16 per disk LUN, WORKERS at a time
  poolcraft  describe(..., with_volumes=True)   refresh plus the volume list (iscsi-inq per LUN too)
  poolcraft  the refresh in a fresh python      the same as a new process, as Ansible runs a module

Our time is split by tool (calls, and the sum of their wall times, which exceeds the elapsed time
when they run side by side). It checks our capacities against what the target was given (to the
byte), prints what libvirt reports beside them, the ratio libvirt/poolcraft of the refresh (target
>= 1: no slower than libvirt), and exits 1 when the target is missed, 2 when the results are wrong
or the setup fails. Everything is stopped (by PID) and removed before it exits.

See bench/README.md.
"""

from __future__ import absolute_import, division, print_function

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # before importing _harness: no __pycache__ in the checkout

from _harness import ROOT, STOPPED, stop_on_signals, stopped, which
from dir_pool_inventory import Libvirtd, fmt_seconds, import_collection, timed

sys.path.insert(0, os.path.join(ROOT, "tests", "scenarios", "host"))
import tgt_target  # noqa: E402 (the path above)

POOL_NAME = "poolcraft-bench-iscsi"
TARGET = "iqn.2026-12.test.poolcraft:bench"
INITIATOR = "iqn.2026-12.test.poolcraft:bench-host"
MiB = 1 << 20
UUID = "2b7c0a52-7f0e-4d5e-9a52-3b1f0c6d2e11"

_FRESH_PROCESS = r"""
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.poolcraft.storage.plugins.module_utils._backends import backend_for
from ansible_collections.poolcraft.storage.plugins.module_utils._model import PoolDef, PoolSource
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
pool = PoolDef(name="b", type="iscsi-direct", uuid=sys.argv[5],
               source=PoolSource(host="127.0.0.1", port=int(sys.argv[2]), target=sys.argv[3], initiator=sys.argv[4]))
backend_for("iscsi-direct", Runner()).refresh(pool)
"""


class ToolClock(object):
    """Runner.run wrapped: per tool, how many calls and the sum of their wall times."""

    def __init__(self, runner_class):
        self.calls = collections.Counter()
        self.seconds = collections.Counter()
        self._lock = threading.Lock()
        real = runner_class.run
        clock = self

        def run(runner, argv, **kwargs):
            started = time.perf_counter()
            try:
                return real(runner, argv, **kwargs)
            finally:
                with clock._lock:
                    clock.calls[os.path.basename(str(argv[0]))] += 1
                    clock.seconds[os.path.basename(str(argv[0]))] += time.perf_counter() - started
        runner_class.run = run

    def reset(self):
        self.calls.clear()
        self.seconds.clear()


def libvirt_pool_xml(daemon):
    return """<pool type='iscsi-direct'>
  <name>%s</name>
  <source>
    <host name='127.0.0.1' port='%d'/>
    <device path='%s'/>
    <initiator><iqn name='%s'/></initiator>
  </source>
</pool>
""" % (POOL_NAME, daemon.port, TARGET, INITIATOR)


def libvirt_inventory(libvirtd):
    """{volume name: capacity} and the pool's capacity, as libvirt reports them."""
    volumes = {}
    _seconds, listing = libvirtd.run("vol-list", POOL_NAME)
    # " Name  Path" and a rule, then "name path" per volume
    for name in [line.split()[0] for line in listing.splitlines()[2:] if line.strip()]:
        _seconds, text = libvirtd.run("vol-dumpxml", "--pool", POOL_NAME, name)
        volumes[name] = int(ET.fromstring(text).findtext("capacity"))
    _seconds, text = libvirtd.run("pool-dumpxml", POOL_NAME)
    return volumes, int(ET.fromstring(text).findtext("capacity"))


def fresh_process(collections_dir, daemon):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-B", "-c", _FRESH_PROCESS, collections_dir, str(daemon.port), TARGET, INITIATOR, UUID],
                   check=True)
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--luns", type=int, default=64, help="LUNs on the target (default: 64)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="timed runs of each measurement after one warm-up run; medians are reported (default: 5)")
    parser.add_argument("--target", type=float, default=1.0, dest="ratio_target",
                        help="minimum libvirt/poolcraft ratio of the refresh (default: 1.0)")
    parser.add_argument("--tmpdir", default=None, help="where to make the scratch directory (default: the system's)")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE (bench/results/ is ignored by git)")
    args = parser.parse_args(argv)
    if args.luns < 1 or args.repeat < 1:
        parser.error("--luns and --repeat must be >= 1")
    if os.geteuid() != 0:
        print("bench: tgtd needs root", file=sys.stderr)
        return 2

    stop_on_signals()
    work = tempfile.mkdtemp(prefix="poolcraft-bench-", dir=args.tmpdir)
    libvirtd = None
    pool_created = False
    stack = []
    try:
        os.chmod(work, 0o755)
        for tool in ("tgtd", "tgtadm", "iscsi-ls", "iscsi-readcapacity16", "iscsi-inq", "libvirtd", "virsh"):
            which(tool)
        collections_dir, backends, pool_mod, runner_mod, _store_mod, xml_mod = import_collection(work)
        from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _libiscsi

        print("starting tgtd with one target of %d LUNs ..." % args.luns, flush=True)
        context = tgt_target.daemon(os.path.join(work, "tgt"))
        daemon = context.__enter__()
        stack.append(context)
        sizes = [16 * MiB + index * MiB for index in range(args.luns)]
        target = daemon.add_target(TARGET, sizes)

        print("starting a private libvirtd (session mode, state in the scratch directory) ...", flush=True)
        libvirtd = Libvirtd(os.path.join(work, "libvirt"))
        libvirtd.start()
        version = subprocess.run([which("libvirtd"), "--version"], stdout=subprocess.PIPE, universal_newlines=True,
                                 check=True).stdout.strip()
        xml_path = os.path.join(work, "pool.xml")
        with open(xml_path, "w") as handle:
            handle.write(libvirt_pool_xml(daemon))
        libvirtd.run("pool-create", xml_path)
        pool_created = True

        clock = ToolClock(runner_mod.Runner)
        backend = backends.backend_for("iscsi-direct", runner_mod.Runner())
        pooldef = xml_mod.PoolDef(name=POOL_NAME, type="iscsi-direct", uuid=UUID, source=xml_mod.PoolSource(
            host=daemon.host, port=daemon.port, target=TARGET, initiator=INITIATOR))
        backend.validate(pooldef)

        class Stored(object):   # describe() reads what the store would give it
            definition, persistent, autostart, marked = pooldef, False, False, "running"

        def ours_refresh():
            clock.reset()
            seconds, status = timed(lambda: backend.refresh(pooldef))
            kept["refresh_tools"] = (dict(clock.calls), dict(clock.seconds))
            kept["status"] = status
            return seconds

        def ours_listing():
            seconds, kept["described"] = timed(lambda: pool_mod.describe(Stored(), backend, with_volumes=True))
            return seconds

        kept = {}
        measurements = (
            ("libvirt_refresh", "libvirt", "virsh pool-refresh", lambda: libvirtd.run("pool-refresh", POOL_NAME)[0]),
            ("libvirt_info", "libvirt", "  virsh pool-info (no refresh)", lambda: libvirtd.run("pool-info", POOL_NAME)[0]),
            ("refresh", "poolcraft", "backend.refresh(pool)", ours_refresh),
            ("describe_volumes", "poolcraft", "describe(..., with_volumes=True)", ours_listing),
            ("refresh_fresh_process", "poolcraft", "  refresh in a fresh python process",
             lambda: fresh_process(collections_dir, daemon)),
        )
        times = dict((key, []) for key, _who, _what, _func in measurements)
        print("timing: 1 warm-up + %d runs of each, interleaved ..." % args.repeat, flush=True)
        for run in range(args.repeat + 1):
            for key, _who, _what, func in measurements:
                seconds = func()
                if run:
                    times[key].append(seconds)

        print("checking the capacities ...", flush=True)
        problems, notes = [], []
        status, described = kept["status"], kept["described"]
        if status.capacity != sum(sizes) or status.volume_count != len(sizes):
            problems.append("poolcraft: capacity %d of %d LUNs, the target was given %d in %d"
                            % (status.capacity, status.volume_count, sum(sizes), len(sizes)))
        ours = dict((volume["name"], volume["capacity"]) for volume in described["volumes"])
        wanted = dict(("unit:0:0:%d" % lun.number, lun.size) for lun in target.luns)
        if ours != wanted:
            problems.append("poolcraft: the volumes differ from the LUNs: %r" % sorted(set(ours.items()) ^ set(wanted.items()))[:5])
        theirs, their_capacity = libvirt_inventory(libvirtd)
        short = [name for name in wanted if theirs.get(name) == wanted[name] - 512]
        notes.append("libvirt lists %d volumes (poolcraft %d: libvirt counts tgtd's controller LUN 0 too, with capacity %s)"
                     % (len(theirs), len(ours), theirs.get("unit:0:0:0")))
        notes.append("libvirt's capacities are one 512-byte block short for %d of %d LUNs (it multiplies the last LBA "
                     "by the block size); its pool capacity %d, the target's %d" % (len(short), len(wanted), their_capacity, sum(sizes)))

        median = dict((key, statistics.median(values)) for key, values in times.items())
        calls, tool_seconds = kept["refresh_tools"]
        print()
        print("iscsi-direct refresh: %d LUNs on tgtd; %s; python %s; poolcraft runs %d tool calls at a time"
              % (len(sizes), version or "libvirt", sys.version.split()[0], _libiscsi.WORKERS))
        print("%-10s %-40s %10s %10s %10s" % ("", "operation", "median", "min", "max"))
        for key, who, what, _func in measurements:
            row = (who, what, fmt_seconds(median[key]), fmt_seconds(min(times[key])), fmt_seconds(max(times[key])))
            print("%-10s %-40s %10s %10s %10s" % row)
        print()
        print("where the time goes:")
        print("  libvirt: virsh's start and connection %s, libvirtd's refresh %s (one session: login, REPORT LUNS, "
              "TEST UNIT READY + INQUIRY + READ CAPACITY 16 per LUN, logout)"
              % (fmt_seconds(median["libvirt_info"]), fmt_seconds(max(median["libvirt_refresh"] - median["libvirt_info"], 0))))
        spent = ", ".join("%s %d calls %s" % (tool, calls[tool], fmt_seconds(tool_seconds[tool])) for tool in sorted(calls))
        print("  poolcraft (last refresh): %s (summed over calls; each call is a login of its own); elapsed %s"
              % (spent, fmt_seconds(times["refresh"][-1])))
        for note in notes:
            print("check: " + note)
        for problem in problems:
            print("MISMATCH: " + problem)
        ratio = median["libvirt_refresh"] / median["refresh"]
        met = ratio >= args.ratio_target
        print()
        print("refresh: poolcraft %s, libvirt %s, ratio libvirt/poolcraft = %.2fx (target >= %gx): %s"
              % (fmt_seconds(median["refresh"]), fmt_seconds(median["libvirt_refresh"]), ratio, args.ratio_target,
                 "PASS" if met else "MISSED"))
        print("(informational) libvirtd's own refresh work / ours: %.2fx; in a fresh python process: %.2fx"
              % (max(median["libvirt_refresh"] - median["libvirt_info"], 0) / median["refresh"],
                 median["libvirt_refresh"] / median["refresh_fresh_process"]))
        if args.json:
            if os.path.dirname(args.json):
                os.makedirs(os.path.dirname(args.json), exist_ok=True)
            with open(args.json, "w") as handle:
                json.dump({"luns": len(sizes), "repeat": args.repeat, "libvirt": version, "ratio": ratio, "met": met,
                           "seconds": dict((key, {"median": median[key], "runs": times[key]}) for key in times),
                           "tools": {"calls": calls, "seconds": tool_seconds}, "problems": problems}, handle,
                          indent=2, sort_keys=True)
                handle.write("\n")
        if problems:
            return 2
        return 0 if met else 1
    except STOPPED + (tgt_target.pytest.fail.Exception,) as exc:
        return stopped(exc)
    finally:
        if libvirtd is not None:
            if pool_created:
                try:
                    libvirtd.run("pool-destroy", POOL_NAME)
                except Exception:  # best effort: the daemon and its state go away below anyway
                    pass
            libvirtd.stop()
        for context in reversed(stack):
            context.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)
        if os.path.exists(work):
            print("bench: could not remove %s" % work, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
