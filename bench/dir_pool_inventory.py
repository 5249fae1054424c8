#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: inventory of a dir pool, poolcraft.storage against libvirt, side by side.

Builds a directory of N volumes (default 10,000: 90 % sparse raw, 10 % qcow2),
starts a private, unprivileged libvirtd whose sockets, configuration and state
all live in a temporary directory, defines a transient dir pool on the
directory there, and times, interleaved, repeated and by median:

  refresh   `virsh pool-refresh POOL`          vs  DirBackend.refresh(pool)
  listing   `virsh vol-list POOL --details`    vs  DirBackend.list_volumes(pool)

It checks the two inventories agree, prints a table and the two ratios, and
exits 1 when a target is missed (refresh: libvirt/poolcraft >= 1; listing:
>= 5), 2 when the inventories disagree or the setup fails. Everything it
makes (files, daemon, symlinks) is removed before it exits.

See bench/README.md.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import pwd
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote

# Importing the collection (and _harness) from the checkout must leave no __pycache__ behind in it.
sys.dont_write_bytecode = True

from _harness import ROOT, STOPPED, SBIN_PATH, SetupError, link_collection, stop_on_signals, stopped, which

POOL_NAME = "poolcraft-bench"
GiB = 1 << 30
MiB = 1 << 20
RAW_BASE_SIZE = GiB          # raw volume i is RAW_BASE_SIZE + (i % 97) MiB, all sparse
QCOW2_SIZE = 20 * GiB        # virtual size of every qcow2 volume
UNPRIVILEGED_USER = "nobody"

# In a fresh interpreter: import the collection and do one operation (informational row).
_FRESH_PROCESS = r"""
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.poolcraft.storage.plugins.module_utils._backends import backend_for
from ansible_collections.poolcraft.storage.plugins.module_utils._pool import describe
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
from ansible_collections.poolcraft.storage.plugins.module_utils._store import DefinitionStore
stored = DefinitionStore(sys.argv[3], sys.argv[4]).get(sys.argv[5])
describe(stored, backend_for("dir", Runner()), with_volumes=sys.argv[2] == "listing")
"""


# -- the collection ------------------------------------------------------------

def import_collection(work):
    """Make `ansible_collections.poolcraft.storage` resolve to this checkout, then import."""
    top = link_collection(work)
    sys.path.insert(0, top)
    from ansible_collections.poolcraft.storage.plugins.module_utils import _backends, _pool, _runner, _store, _xml
    origin = os.path.realpath(_backends.__file__)
    if not origin.startswith(os.path.realpath(ROOT) + os.sep):
        raise SetupError("imported the collection from %s, not from this checkout" % origin)
    return top, _backends, _pool, _runner, _store, _xml


# -- the volumes ---------------------------------------------------------------

def is_qcow2(index):
    return index % 10 == 9


def volume_name(index):
    return "vol-%05d.%s" % (index, "qcow2" if is_qcow2(index) else "img")


def raw_size(index):
    return RAW_BASE_SIZE + (index % 97) * MiB


def make_volumes(pool_dir, count, qemu_img):
    """Sparse raw files by ftruncate; qcow2 files as byte copies of one qemu-img image."""
    template = os.path.join(os.path.dirname(pool_dir), "template.qcow2")
    subprocess.run([qemu_img, "create", "-q", "-f", "qcow2", template, str(QCOW2_SIZE)], check=True)
    with open(template, "rb") as handle:
        qcow2_bytes = handle.read()
    os.unlink(template)
    expected = {}
    for index in range(count):
        name = volume_name(index)
        fd = os.open(os.path.join(pool_dir, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            if is_qcow2(index):
                os.write(fd, qcow2_bytes)
                expected[name] = ("qcow2", QCOW2_SIZE)
            else:
                os.ftruncate(fd, raw_size(index))
                expected[name] = ("raw", raw_size(index))
        finally:
            os.close(fd)
    return expected


# -- the private libvirtd ------------------------------------------------------

class Libvirtd(object):
    """An unprivileged (session mode) libvirtd confined to one directory.

    As root it runs as the user `nobody`; otherwise as the calling user. Session
    mode takes its configuration, sockets, state and logs from the XDG
    directories, which all point inside `base`: nothing of the host's libvirt
    (its config, sockets, pools, state) is read or written.
    """

    def __init__(self, base):
        self.base = base
        self.proc = None
        self.log_path = os.path.join(base, "libvirtd.log")
        self._log = None
        self.dirs = {key: os.path.join(base, key) for key in ("home", "config", "runtime", "cache", "data")}
        # virsh gets a home of its own too (it keeps a history file, reads a client config there).
        client = os.path.join(base, "client")
        self.client_env = dict(os.environ, LC_ALL="C", LANG="C", HOME=client,
                               XDG_CONFIG_HOME=os.path.join(client, "config"),
                               XDG_CACHE_HOME=os.path.join(client, "cache"),
                               XDG_RUNTIME_DIR=os.path.join(client, "runtime"))
        self.socket = os.path.join(self.dirs["runtime"], "libvirt", "libvirt-sock")
        # The storage driver's own URI: no hypervisor driver is needed.
        self.uri = "storage+unix:///session?socket=" + quote(self.socket, safe="/")
        self.virsh = which("virsh")

    def start(self, timeout=60):
        libvirtd = which("libvirtd")
        os.makedirs(self.base)
        for path in list(self.dirs.values()) + [self.client_env["HOME"]]:
            os.makedirs(path, 0o700)
        user_args = {}
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(UNPRIVILEGED_USER)
            except KeyError:
                raise SetupError("running as root needs the user %r to drop to" % UNPRIVILEGED_USER)
            os.chmod(self.base, 0o755)
            for path in self.dirs.values():
                os.chown(path, account.pw_uid, account.pw_gid)
            user_args = dict(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
        env = {"PATH": os.pathsep.join(SBIN_PATH), "LC_ALL": "C", "HOME": self.dirs["home"],
               "XDG_CONFIG_HOME": self.dirs["config"], "XDG_RUNTIME_DIR": self.dirs["runtime"],
               "XDG_CACHE_HOME": self.dirs["cache"], "XDG_DATA_HOME": self.dirs["data"]}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([libvirtd], env=env, cwd=self.base, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                                     **user_args)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SetupError("libvirtd exited with %s:\n%s" % (self.proc.returncode, self.log_tail()))
            if os.path.exists(self.socket):
                probe = subprocess.run([self.virsh, "-q", "-c", self.uri, "pool-list", "--all"],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, env=self.client_env, check=False)
                if probe.returncode == 0:
                    return
            if time.monotonic() > deadline:
                raise SetupError("libvirtd did not answer within %d s:\n%s" % (timeout, self.log_tail()))
            time.sleep(0.1)

    def run(self, *args):
        """(seconds, stdout) of `virsh -c URI args...` (never interactive: args are never empty)."""
        started = time.perf_counter()
        proc = subprocess.run([self.virsh, "-c", self.uri] + list(args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              env=self.client_env, check=False)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise SetupError("virsh %s failed (%d): %s" % (" ".join(args), proc.returncode, proc.stderr.strip()))
        return elapsed, proc.stdout

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "r", errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        """SIGTERM the daemon by its PID, wait, SIGKILL if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        if self._log is not None:
            self._log.close()
            self._log = None


# -- checks --------------------------------------------------------------------

def pretty_capacity(value):
    """What virsh prints for a size (vshPrettyCapacity, '%.2lf %s')."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    scaled, unit = float(value), 0
    while scaled >= 1024 and unit < len(units) - 1:
        scaled /= 1024
        unit += 1
    return "%.2f %s" % (scaled, units[unit])


def parse_vol_list(text):
    """{name: (path, type, capacity text, allocation text)} of `vol-list --details`."""
    rows = {}
    pattern = re.compile(r"^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+ \S+)\s+(\S+ \S+)\s*$")
    lines = text.splitlines()
    body = [line for line in lines[2:] if line.strip()]  # header, dashes
    for line in body:
        match = pattern.match(line)
        if not match:
            raise SetupError("cannot parse vol-list line: %r" % line)
        rows[match.group(1)] = match.groups()[1:]
    return rows


def libvirt_volume_xml(daemon, names):
    """{name: (format, capacity, allocation)} from vol-dumpxml of each name, 100 per virsh run."""
    out = []
    for start in range(0, len(names), 100):
        batch = " ; ".join("vol-dumpxml --pool %s %s" % (POOL_NAME, name) for name in names[start:start + 100])
        out.append(daemon.run(batch)[1])
    found = {}
    for chunk in re.findall(r"<volume\b.*?</volume>", "".join(out), re.S):
        root = ET.fromstring(chunk)
        found[root.findtext("name")] = (root.find("target/format").get("type"),
                                        int(root.findtext("capacity")), int(root.findtext("allocation")))
    return found


def sample_names(expected, size):
    """About size names, evenly spread over each format, both formats always present."""
    picked = []
    for fmt in ("raw", "qcow2"):
        names = sorted(name for name, (vol_format, _cap) in expected.items() if vol_format == fmt)
        want = max(1, size * len(names) // max(1, len(expected)))
        step = max(1, len(names) // want)
        picked.extend(names[::step][:want])
    return picked


def check_agreement(daemon, ours_list, ours_status, expected, sample, vol_list_text):
    """Problems (strings) found comparing libvirt's inventory, ours and what was created."""
    problems, notes = [], []
    ours = {vol.name: vol for vol in ours_list}
    libvirt_rows = parse_vol_list(vol_list_text)

    # 1. Every volume, both tools, against what was made.
    if set(ours) != set(expected):
        problems.append("poolcraft lists %d volumes, %d were made (%d missing, %d extra)"
                        % (len(ours), len(expected), len(set(expected) - set(ours)), len(set(ours) - set(expected))))
    if set(libvirt_rows) != set(expected):
        problems.append("virsh vol-list shows %d volumes, %d were made" % (len(libvirt_rows), len(expected)))
    if ours_status.volume_count != len(expected):
        problems.append("poolcraft refresh counts %d volumes, %d were made" % (ours_status.volume_count, len(expected)))
    bad_format = sorted(name for name, vol in ours.items() if name in expected and vol.format != expected[name][0])
    bad_capacity = sorted(name for name, vol in ours.items() if name in expected and vol.capacity != expected[name][1])
    if bad_format:
        problems.append("poolcraft format wrong for %d volumes, e.g. %s" % (len(bad_format), bad_format[0]))
    if bad_capacity:
        problems.append("poolcraft capacity wrong for %d volumes, e.g. %s" % (len(bad_capacity), bad_capacity[0]))
    shown_differently = []
    for name, vol in ours.items():
        row = libvirt_rows.get(name)
        if row is None:
            continue
        path, vol_type, capacity, allocation = row
        if (path, vol_type, capacity, allocation) != (vol.path, "file", pretty_capacity(vol.capacity),
                                                      pretty_capacity(vol.allocation)):
            shown_differently.append((name, row, (vol.path, vol.type, vol.capacity, vol.allocation)))
    if shown_differently:
        name, row, mine = shown_differently[0]
        problems.append("vol-list --details differs from poolcraft for %d volumes, e.g. %s: virsh %r, poolcraft %r"
                        % (len(shown_differently), name, row, mine))
    counts = {}
    for vol in ours.values():
        counts[vol.format] = counts.get(vol.format, 0) + 1
    notes.append("formats (poolcraft, all volumes): %s" % ", ".join("%d %s" % (n, f) for f, n in sorted(counts.items())))

    # 2. Exact format, capacity and allocation from libvirt's XML, on a sample.
    libvirt_xml = libvirt_volume_xml(daemon, sample)
    mismatched = []
    for name in sample:
        vol = ours.get(name)
        theirs = libvirt_xml.get(name)
        mine = (vol.format, vol.capacity, vol.allocation) if vol else None
        if theirs != mine:
            mismatched.append((name, theirs, mine))
    if mismatched:
        name, theirs, mine = mismatched[0]
        problems.append("libvirt and poolcraft disagree on %d of %d sampled volumes, e.g. %s: libvirt %r, poolcraft %r"
                        % (len(mismatched), len(sample), name, theirs, mine))
    sample_counts = {}
    for fmt, _cap, _alloc in libvirt_xml.values():
        sample_counts[fmt] = sample_counts.get(fmt, 0) + 1
    notes.append("sample of %d checked exactly (format, capacity, allocation) against vol-dumpxml: %s"
                 % (len(sample), ", ".join("%d %s" % (n, f) for f, n in sorted(sample_counts.items()))))

    # 3. The pool sizes: the same statvfs, read at slightly different moments.
    _seconds, info = daemon.run("pool-info", POOL_NAME, "--bytes")
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    theirs = {key: int(fields[key.capitalize()].strip()) for key in ("capacity", "allocation", "available")}
    # libvirt's "available" counts the blocks reserved for root (f_bfree); poolcraft's is what an
    # unprivileged user can still write (f_bavail), as its documentation says. So libvirt's
    # available is compared with poolcraft's capacity - allocation instead.
    tolerance = ours_status.capacity // 100
    compared = (("capacity", ours_status.capacity, 0), ("allocation", ours_status.allocation, tolerance),
                ("available", ours_status.capacity - ours_status.allocation, tolerance))
    for key, mine, slack in compared:
        if abs(theirs[key] - mine) > slack:
            problems.append("pool %s: libvirt %d, poolcraft %d" % (key, theirs[key], mine))
    sizes = (pretty_capacity(theirs["available"]), pretty_capacity(ours_status.available))
    notes.append("pool capacity, allocation agree with virsh pool-info (its available is f_bfree, "
                 "poolcraft's f_bavail: %s vs %s)" % sizes)
    return problems, notes


# -- timing --------------------------------------------------------------------

def timed(func):
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


def fresh_process(collections, mode, store, name):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-B", "-c", _FRESH_PROCESS, collections, mode, store.config_dir,
                    store.runtime_dir, name], check=True)
    return time.perf_counter() - started


def fmt_seconds(value):
    return "%.3f s" % value if value >= 0.01 else "%.1f ms" % (value * 1000)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--volumes", type=int, default=10000,
                        help="volumes in the pool, every 10th a qcow2 (default: 10000)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="timed runs of each measurement after one warm-up run; medians are reported (default: 5)")
    parser.add_argument("--sample", type=int, default=200,
                        help="volumes checked exactly against virsh vol-dumpxml (default: 200)")
    parser.add_argument("--refresh-target", type=float, default=1.0,
                        help="minimum libvirt/poolcraft ratio of the refresh (default: 1.0)")
    parser.add_argument("--listing-target", type=float, default=5.0,
                        help="minimum libvirt/poolcraft ratio of the listing (default: 5.0)")
    parser.add_argument("--tmpdir", default=None,
                        help="where to make the scratch directory (default: the system's; as root it must be "
                             "traversable by the user nobody)")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE (bench/results/ is ignored by git)")
    args = parser.parse_args(argv)
    if args.volumes < 10 or args.repeat < 1:
        parser.error("--volumes must be >= 10 and --repeat >= 1")

    stop_on_signals()
    work = tempfile.mkdtemp(prefix="poolcraft-bench-", dir=args.tmpdir)
    daemon = None
    pool_created = False
    try:
        os.chmod(work, 0o755)
        collections, backends, pool_mod, runner_mod, store_mod, xml_mod = import_collection(work)
        pool_dir = os.path.join(work, "pool")
        os.makedirs(pool_dir, 0o755)
        os.chmod(pool_dir, 0o755)

        qemu_img = which("qemu-img")
        print("creating %d volumes in a scratch directory ..." % args.volumes, flush=True)
        seconds, expected = timed(lambda: make_volumes(pool_dir, args.volumes, qemu_img))
        n_qcow2 = sum(1 for fmt, _cap in expected.values() if fmt == "qcow2")
        print("  %d sparse raw + %d qcow2 in %s" % (len(expected) - n_qcow2, n_qcow2, fmt_seconds(seconds)), flush=True)

        print("starting a private libvirtd (session mode, state in the scratch directory) ...", flush=True)
        daemon = Libvirtd(os.path.join(work, "libvirt"))
        daemon.start()
        libvirt_version = subprocess.run([which("libvirtd"), "--version"], stdout=subprocess.PIPE,
                                         universal_newlines=True, check=True).stdout.strip()
        daemon.run("pool-create-as", POOL_NAME, "dir", "--target", pool_dir)
        pool_created = True

        backend = backends.backend_for("dir", runner_mod.Runner())
        pooldef = xml_mod.PoolDef(name=POOL_NAME, type="dir", uuid="8f7c3a52-7f0e-4d5e-9a52-3b1f0c6d2e11",
                                  target_path=pool_dir)
        backend.validate(pooldef)
        store = store_mod.DefinitionStore(os.path.join(work, "store", "etc"), os.path.join(work, "store", "run"))
        with store:
            store.mark_running(POOL_NAME, xml_mod.pool_to_xml(pooldef))  # a running transient pool

        measurements = (
            ("libvirt_refresh", "libvirt", "virsh pool-refresh", lambda: daemon.run("pool-refresh", POOL_NAME)[0]),
            ("refresh", "poolcraft", "backend.refresh(pool)", lambda: timed(lambda: backend.refresh(pooldef))[0]),
            ("describe", "poolcraft", "describe(store.get(), backend)",
             lambda: timed(lambda: pool_mod.describe(store.get(POOL_NAME), backend))[0]),
            ("refresh_fresh_process", "poolcraft", "  same, fresh python process",
             lambda: fresh_process(collections, "refresh", store, POOL_NAME)),
            ("libvirt_listing", "libvirt", "virsh vol-list --details", None),
            ("listing", "poolcraft", "backend.list_volumes(pool)", None),
            ("describe_volumes", "poolcraft", "describe(..., with_volumes=True)",
             lambda: timed(lambda: pool_mod.describe(store.get(POOL_NAME), backend, with_volumes=True))[0]),
            ("listing_fresh_process", "poolcraft", "  same, fresh python process",
             lambda: fresh_process(collections, "listing", store, POOL_NAME)),
        )
        kept = {}

        def libvirt_listing():
            seconds, kept["vol_list"] = daemon.run("vol-list", POOL_NAME, "--details")
            return seconds

        def our_listing():
            seconds, kept["listing"] = timed(lambda: backend.list_volumes(pooldef))
            return seconds

        runners = {"libvirt_listing": libvirt_listing, "listing": our_listing}
        times = {key: [] for key, _who, _what, _func in measurements}
        print("timing: 1 warm-up + %d runs of each, interleaved ..." % args.repeat, flush=True)
        for run in range(args.repeat + 1):
            for key, _who, _what, func in measurements:
                seconds = (func or runners[key])()
                if run:
                    times[key].append(seconds)

        print("checking that the inventories agree ...", flush=True)
        status = backend.refresh(pooldef)
        problems, notes = check_agreement(daemon, kept["listing"], status, expected,
                                          sample_names(expected, args.sample), kept["vol_list"])

        median = {key: statistics.median(values) for key, values in times.items()}
        print()
        print("dir pool inventory: %d volumes (%d sparse raw, %d qcow2); %s; python %s"
              % (len(expected), len(expected) - n_qcow2, n_qcow2, libvirt_version or "libvirt",
                 sys.version.split()[0]))
        print("%-10s %-34s %10s %10s %10s" % ("", "operation", "median", "min", "max"))
        for key, who, what, _func in measurements:
            row = (who, what, fmt_seconds(median[key]), fmt_seconds(min(times[key])), fmt_seconds(max(times[key])))
            print("%-10s %-34s %10s %10s %10s" % row)
        print()
        for note in notes:
            print("check: " + note)
        for problem in problems:
            print("MISMATCH: " + problem)
        print()
        results = {"volumes": len(expected), "qcow2": n_qcow2, "repeat": args.repeat, "libvirt": libvirt_version,
                   "seconds": {key: {"median": median[key], "runs": times[key]} for key in times},
                   "problems": problems}
        missed = False
        for label, ours_key, theirs_key, target in (("refresh", "refresh", "libvirt_refresh", args.refresh_target),
                                                    ("listing", "listing", "libvirt_listing", args.listing_target)):
            ratio = median[theirs_key] / median[ours_key]
            ok = ratio >= target
            missed = missed or not ok
            results[label] = {"ratio": ratio, "target": target, "met": ok}
            print("%s: poolcraft %s, libvirt %s, ratio libvirt/poolcraft = %.1fx (target >= %gx): %s"
                  % (label, fmt_seconds(median[ours_key]), fmt_seconds(median[theirs_key]), ratio, target,
                     "PASS" if ok else "MISSED"))
        print("(informational) module-level: describe %.1fx, describe with volumes %.1fx; "
              "in a fresh python process: %.1fx, %.1fx"
              % (median["libvirt_refresh"] / median["describe"], median["libvirt_listing"] / median["describe_volumes"],
                 median["libvirt_refresh"] / median["refresh_fresh_process"],
                 median["libvirt_listing"] / median["listing_fresh_process"]))
        if args.json:
            if os.path.dirname(args.json):
                os.makedirs(os.path.dirname(args.json), exist_ok=True)
            with open(args.json, "w") as handle:
                json.dump(results, handle, indent=2, sort_keys=True)
                handle.write("\n")
        if problems:
            return 2
        return 1 if missed else 0
    except STOPPED as exc:
        return stopped(exc)
    finally:
        if daemon is not None:
            if pool_created:
                try:
                    daemon.run("pool-destroy", POOL_NAME)
                except Exception:  # best effort: the daemon and its state go away below anyway
                    pass
            daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
        if os.path.exists(work):
            print("bench: could not remove %s" % work, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
