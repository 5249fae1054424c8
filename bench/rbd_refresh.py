#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: an rbd pool of 1,000 images on a one-node Ceph cluster, ours against libvirt's rbd backend.

Starts a one-node cluster of its own (tests/scenarios/host/ceph_cluster.py: 1 mon, 1 mgr, 1 OSD on
127.0.0.1, free ports, stopped by PID) with a pool of IMAGES images of 1 GiB plus i MiB (made with
the Python bindings of Debian's /usr/bin/python3, which are quick; one in ten has 4 MiB written),
a private libvirtd in session mode (bench/dir_pool_inventory.py's Libvirtd: every file in the
scratch directory, run as nobody when root) with libvirt's own rbd pool on the same Ceph pool and
cephx user (its key in a libvirt secret), and times, interleaved, repeated and by median:

  refresh  libvirt    virsh pool-refresh              libvirtd opens every image (rbd_open, rbd_stat,
                                                       the fast-diff map for the allocation), then
                                                       reads the pool's statistics
           poolcraft  backend.refresh(pool)           what storage_pool does: rbd ls (the directory
                                                       object) and rados df; no image is opened
  listing  libvirt    pool-refresh + vol-list --details   fresh capacity and allocation of each image
           poolcraft  backend.list_volumes(pool)      rbd ls -l (sizes and parents) and rbd du
                                                       (allocations): each opens every image

It checks our sizes against libvirt's (pool capacity, allocation and available; each image's
capacity) and our allocations against what was written (libvirt 9.0 reports an allocation equal
to the provisioned size for these images), prints the ratios libvirt/poolcraft of
both, what bounds each, and exits 1 when a target is missed (refresh >= 10x, listing >= 1x), 2
when the results disagree or the setup fails. Everything is stopped (by PID) and removed before
it exits. Run as root (the cluster's daemons). See bench/README.md.
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
import time
import uuid as uuidlib
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # before importing _harness: no __pycache__ in the checkout

from _harness import ROOT, STOPPED, SetupError, stop_on_signals, stopped, which  # noqa: E402
from dir_pool_inventory import Libvirtd, fmt_seconds, import_collection, timed  # noqa: E402
from iscsi_direct_refresh import ToolClock  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "scenarios", "host"))
import ceph_cluster  # noqa: E402 (the path above)

POOL = "bench"
USER = "bench"
LIBVIRT_POOL = "poolcraft-bench-rbd"
GiB, MiB = 1 << 30, 1 << 20
SECRET_UUID = "7d1b3c2e-5a4f-4c6d-8e9f-0a1b2c3d4e5f"

# made by Debian's system python, where the bindings are (they are not on PyPI)
_MAKE_IMAGES = r"""
import sys, rados, rbd
conf, pool, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
features = rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK | rbd.RBD_FEATURE_OBJECT_MAP | \
    rbd.RBD_FEATURE_FAST_DIFF | rbd.RBD_FEATURE_DEEP_FLATTEN
with rados.Rados(conffile=conf) as cluster:
    with cluster.open_ioctx(pool) as ioctx:
        for index in range(count):
            name = "img%04d" % index
            rbd.RBD().create(ioctx, name, (1 << 30) + index * (1 << 20), old_format=False, features=features)
            if index % 10 == 0:
                with rbd.Image(ioctx, name) as image:
                    image.write(b"\x5a" * (4 << 20), 0)
"""


def libvirt_secret_xml(user):
    return ("<secret ephemeral='no' private='yes'><uuid>%s</uuid><usage type='ceph'><name>client.%s</name>"
            "</usage></secret>" % (SECRET_UUID, user))


def libvirt_pool_xml(port):
    return ("<pool type='rbd'><name>%s</name><source><name>%s</name><host name='127.0.0.1' port='%d'/>"
            "<auth type='ceph' username='%s'><secret uuid='%s'/></auth></source></pool>"
            % (LIBVIRT_POOL, POOL, port, USER, SECRET_UUID))


def libvirt_run(libvirtd, uri, *args):
    proc = subprocess.run([libvirtd.virsh, "-c", uri] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=libvirtd.client_env, check=False)
    if proc.returncode != 0:
        raise SetupError("virsh %s failed (%d): %s" % (" ".join(args), proc.returncode, proc.stderr.strip()))
    return proc.stdout


def libvirt_sizes(libvirtd, names):
    """libvirt's pool (capacity, allocation, available) and {name: (capacity, allocation)} of names."""
    _seconds, text = libvirtd.run("pool-dumpxml", LIBVIRT_POOL)
    root = ET.fromstring(text)
    pool = tuple(int(root.findtext(field)) for field in ("capacity", "allocation", "available"))
    volumes = {}
    for name in names:
        _seconds, text = libvirtd.run("vol-dumpxml", "--pool", LIBVIRT_POOL, name)
        vol = ET.fromstring(text)
        volumes[name] = (int(vol.findtext("capacity")), int(vol.findtext("allocation")))
    return pool, volumes


def check_agreement(status, volumes, libvirt_pool, libvirt_volumes, count):
    """Lines of what disagrees (empty: all agrees)."""
    problems = []
    ours_pool = (status.capacity, status.allocation, status.available)
    if ours_pool[0] != libvirt_pool[0]:
        problems.append("pool capacity: ours %d, libvirt %d" % (ours_pool[0], libvirt_pool[0]))
    for index, (ours, theirs) in enumerate(zip(ours_pool[1:], libvirt_pool[1:])):
        if abs(ours - theirs) > max(64 * MiB, theirs // 100):  # the cluster's own numbers move a little
            problems.append("pool %s: ours %d, libvirt %d" % (("allocation", "available")[index], ours, theirs))
    if status.volume_count != count or len(volumes) != count:
        problems.append("volume count: ours %d and %d listed, %d made" % (status.volume_count, len(volumes), count))
    by_name = dict((vol.name, vol) for vol in volumes)
    for name, (capacity, allocation) in libvirt_volumes.items():
        vol = by_name.get(name)
        if vol is None:
            problems.append("%s: not in our listing" % name)
            continue
        if vol.capacity != capacity:
            problems.append("%s capacity: ours %d, libvirt %d" % (name, vol.capacity, capacity))
        # ours: the objects that exist (rbd du, from the fast-diff map), 4 MiB where that was written;
        # libvirt 9.0 reports the whole provisioned size for these images, never less than ours
        written = 4 * MiB if int(name[3:]) % 10 == 0 else 0
        if vol.allocation != written:
            problems.append("%s allocation: ours %d, %d written" % (name, vol.allocation, written))
        if allocation < vol.allocation:
            problems.append("%s allocation: ours %d, above libvirt's %d" % (name, vol.allocation, allocation))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000, help="images in the pool (default: 1000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of each measurement after one warm-up run; medians are reported (default: 3)")
    parser.add_argument("--refresh-target", type=float, default=10.0, help="minimum libvirt/poolcraft ratio of the refresh")
    parser.add_argument("--listing-target", type=float, default=1.0, help="minimum libvirt/poolcraft ratio of the listing")
    parser.add_argument("--sample", type=int, default=50, help="images whose sizes are checked against libvirt's")
    parser.add_argument("--tmpdir", default=None, help="where to make the scratch directory (default: the system's)")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE (bench/results/ is ignored by git)")
    args = parser.parse_args(argv)
    if args.images < 1 or args.repeat < 1:
        parser.error("--images and --repeat must be >= 1")
    if os.geteuid() != 0:
        print("bench: the Ceph daemons need root", file=sys.stderr)
        return 2

    stop_on_signals()
    work = tempfile.mkdtemp(prefix="poolcraft-bench-", dir=args.tmpdir)
    libvirtd = None
    stack = []
    try:
        os.chmod(work, 0o755)
        for tool in ("rbd", "rados", "ceph", "libvirtd", "virsh", "/usr/bin/python3"):
            which(tool)
        if subprocess.run(["/usr/bin/python3", "-c", "import rados, rbd"], stderr=subprocess.DEVNULL, check=False).returncode:
            raise SetupError("Debian's python3-rbd is missing (the images are made with it)")
        _collections, backends, pool_mod, runner_mod, _store_mod, xml_mod = import_collection(work)

        print("starting a one-node Ceph cluster ...", flush=True)
        context = ceph_cluster.cluster(os.path.join(work, "ceph"))
        cluster = context.__enter__()
        stack.append(context)
        cluster.create_pool(POOL)
        key = cluster.add_user("client." + USER)
        print("making %d images of 1 GiB and more (one in ten with 4 MiB written) ..." % args.images, flush=True)
        started = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-c", _MAKE_IMAGES, cluster.conf, POOL, str(args.images)], check=True)
        print("  %s" % fmt_seconds(time.perf_counter() - started))
        time.sleep(6)  # the mgr's pool statistics follow the writes after a few seconds

        print("starting a private libvirtd (session mode, state in the scratch directory) ...", flush=True)
        libvirtd = Libvirtd(os.path.join(work, "libvirt"))
        libvirtd.start()
        version = subprocess.run([which("libvirtd"), "--version"], stdout=subprocess.PIPE, universal_newlines=True,
                                 check=True).stdout.strip()
        secret_uri = libvirtd.uri.replace("storage+unix", "secret+unix")
        for name, text in (("secret.xml", libvirt_secret_xml(USER)), ("key", key), ("pool.xml", libvirt_pool_xml(cluster.mon_port))):
            path = os.path.join(work, name)
            with open(path, "w") as handle:
                handle.write(text)
            os.chmod(path, 0o600)
        libvirt_run(libvirtd, secret_uri, "secret-define", os.path.join(work, "secret.xml"))
        libvirt_run(libvirtd, secret_uri, "secret-set-value", SECRET_UUID, "--file", os.path.join(work, "key"))
        libvirtd.run("pool-create", os.path.join(work, "pool.xml"))

        clock = ToolClock(runner_mod.Runner)
        backend = backends.backend_for("rbd", runner_mod.Runner())
        pooldef = xml_mod.PoolDef(name="bench", type="rbd", uuid=str(uuidlib.uuid4()), source=xml_mod.PoolSource(
            name=POOL, hosts=(xml_mod.Host("127.0.0.1", cluster.mon_port),), auth=xml_mod.Auth(USER, key, type="ceph")))
        backend.validate(pooldef)
        kept = {}

        def ours(name, work_function):
            def measure():
                clock.reset()
                seconds, kept[name] = timed(work_function)
                kept[name + "_tools"] = (dict(clock.calls), dict(clock.seconds))
                return seconds
            return measure

        def libvirt_listing():
            refresh, _out = libvirtd.run("pool-refresh", LIBVIRT_POOL)
            listing, _out = libvirtd.run("vol-list", "--details", LIBVIRT_POOL)
            return refresh + listing

        measurements = (
            ("libvirt_refresh", "refresh", "libvirt    virsh pool-refresh", lambda: libvirtd.run("pool-refresh", LIBVIRT_POOL)[0]),
            ("refresh", "refresh", "poolcraft  backend.refresh(pool)", ours("status", lambda: backend.refresh(pooldef))),
            ("libvirt_listing", "listing", "libvirt    pool-refresh + vol-list --details", libvirt_listing),
            ("listing", "listing", "poolcraft  backend.list_volumes(pool)", ours("volumes", lambda: backend.list_volumes(pooldef))),
        )
        times = collections.defaultdict(list)
        for run in range(args.repeat + 1):
            for key_name, _group, _label, measure in measurements:
                seconds = measure()
                if run:  # the first round warms caches up
                    times[key_name].append(seconds)
        median = dict((name, statistics.median(values)) for name, values in times.items())

        sample = ["img%04d" % index for index in range(0, args.images, max(1, args.images // args.sample))][:args.sample]
        libvirt_pool, libvirt_volumes = libvirt_sizes(libvirtd, sample)
        problems = check_agreement(kept["status"], kept["volumes"], libvirt_pool, libvirt_volumes, args.images)

        refresh_ratio = median["libvirt_refresh"] / median["refresh"]
        listing_ratio = median["libvirt_listing"] / median["listing"]
        print()
        print("%d images, %s, rbd %s, median of %d runs" % (args.images, version, cluster_version(), args.repeat))
        for key_name, group, label, _measure in measurements:
            print("  %-8s %-46s %s" % (group, label, fmt_seconds(median[key_name])))
        for name in ("status", "volumes"):
            calls, seconds = kept[name + "_tools"]
            print("    %s: %s" % ("refresh" if name == "status" else "listing", ", ".join(
                "%s %d call%s %s" % (tool, calls[tool], "" if calls[tool] == 1 else "s", fmt_seconds(seconds[tool]))
                for tool in sorted(calls))))
        print()
        print("refresh: libvirt/poolcraft = %.1fx (target >= %.0fx). Ours is two commands whatever the image count:"
              % (refresh_ratio, args.refresh_target))
        print("  rbd ls reads one object (the pool's directory), rados df the mgr's statistics; libvirt's grows")
        print("  with the images, as it opens each.")
        print("listing: libvirt/poolcraft = %.2fx (target >= %.1fx); against libvirt's pool-refresh alone, which"
              % (listing_ratio, args.listing_target))
        print("  gathers what vol-list then prints: %.2fx. Both open every image: a size and an allocation per image"
              % (median["libvirt_refresh"] / median["listing"]))
        print("  cost its header and its fast-diff map. Ours runs rbd ls -l (several images at a time) beside rbd du")
        print("  (one at a time, the longer pass): the OSD's answers per image bound it, for libvirt as for us.")
        if problems:
            print("\nDISAGREE with libvirt:\n  " + "\n  ".join(problems))
        results = {"images": args.images, "repeat": args.repeat, "median_seconds": median,
                   "refresh_ratio": refresh_ratio, "listing_ratio": listing_ratio,
                   "listing_against_libvirt_refresh": median["libvirt_refresh"] / median["listing"], "problems": problems}
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(results, handle, indent=1, sort_keys=True)
        if problems:
            return 2
        return 0 if refresh_ratio >= args.refresh_target and listing_ratio >= args.listing_target else 1
    except STOPPED as exc:
        return stopped(exc)
    finally:
        if libvirtd is not None:
            libvirtd.stop()
        for context in reversed(stack):
            context.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)


def cluster_version():
    return subprocess.run(["rbd", "--version"], stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout.split()[2]


if __name__ == "__main__":
    sys.exit(main())
