# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt itself reads what storage_pool and storage_volume make:
  - the stored pool definition validates against libvirt's storagepool.rng and `virsh
    pool-define` takes it; the pool starts and refreshes there;
  - every volume's returned XML validates against storagevol.rng;
  - for raw (sparse and preallocated), qcow2 (preallocated metadata), a qcow2 overlay and vmdk
    volumes, libvirt's vol-dumpxml has the same capacity, allocation, format, path, key,
    permissions and backing store as the module returned.
The libvirtd is a session daemon of the test's own (libvirt_daemon.py), run as another user with
every directory it uses under the scratch directory, stopped by its PID at the end.

Ported from tests/integration/targets/libvirt_compare/tasks/main.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil

from lxml import etree

import harness
import libvirt_daemon

POOL = "pc-libvirt-compare"
# made with storage_volume and looked at by libvirt, in order (the overlay needs its backing volume first)
VOLUMES = [
    {"name": "sparse.raw", "format": "raw", "capacity": "64MiB"},
    {"name": "falloc.raw", "format": "raw", "capacity": "16MiB", "preallocation": "falloc"},
    {"name": "base.qcow2", "format": "qcow2", "capacity": "1GiB", "preallocation": "metadata"},
    {"name": "overlay.qcow2", "format": "qcow2", "backing": "base.qcow2"},
    {"name": "disk.vmdk", "format": "vmdk", "capacity": "512MiB"},
]
POOL_FIELDS = ("concat(/pool/name, '|', /pool/uuid, '|', /pool/@type, '|', /pool/target/path, '|', "
               "/pool/target/permissions/mode, '|', /pool/capacity, '|', /pool/capacity/@unit)")
# every field compared, '|'-separated, from one volume XML (libvirt's or ours)
VOLUME_FIELDS = (
    "concat(/volume/capacity, '|', /volume/capacity/@unit, '|', /volume/allocation, '|', /volume/allocation/@unit, '|', "
    "/volume/target/format/@type, '|', /volume/target/path, '|', /volume/key, '|', "
    "/volume/target/permissions/mode, '|', /volume/target/permissions/owner, '|', /volume/target/permissions/group, '|', "
    "/volume/backingStore/path, '|', /volume/backingStore/format/@type)")


def xpath(text, expression):
    return etree.fromstring(text.encode("utf-8")).xpath(expression)


def returned_fields(volume):
    """The compared fields from what storage_volume returned."""
    backing = (volume.get("backing_chain") or [{}])[0]
    return "|".join([
        str(volume["capacity"]), "bytes", str(volume["allocation"]), "bytes", volume["format"], volume["path"], volume["key"],
        volume["permissions"]["mode"], str(volume["permissions"]["owner"]), str(volume["permissions"]["group"]),
        backing.get("path", ""), backing.get("format", "")])


def test_libvirt_reads_our_pool_and_volumes(scratch, store, pool_schema, volume_schema):
    pool_dir = os.path.join(scratch, "pool")
    pool_xml = os.path.join(store["config_dir"], POOL + ".xml")
    with libvirt_daemon.session(scratch) as daemon:
        try:
            # the PID is a libvirtd (the one its pid file names); libvirt answers, and knows no pool of that name
            assert daemon.comm() == "libvirtd", daemon.comm()
            with open(daemon.pidfile) as handle:
                assert int(handle.read().strip()) == daemon.pid
            assert POOL not in daemon.virsh("pool-list", "--all", "--name").stdout.split()

            # -- the pool ------------------------------------------------------------------------
            made = harness.run_module("storage_pool", dict(
                store, name=POOL, type="dir", target={"path": pool_dir, "permissions": {"mode": "0755"}}, build=True,
                state="running"))
            assert not made.failed, made.msg
            pool_schema(pool_xml)
            daemon.virsh("pool-define", pool_xml)
            daemon.virsh("pool-start", POOL)
            daemon.virsh("pool-refresh", POOL)
            theirs = xpath(daemon.virsh("pool-dumpxml", POOL).stdout, POOL_FIELDS)
            pool = made["pool"]
            assert made.changed
            assert pool["state"] == "running"
            assert theirs.split("|") == [POOL, pool["uuid"], "dir", pool_dir, "0755", str(pool["capacity"]), "bytes"], (
                "libvirt: %s; ours: %r" % (theirs, pool))

            # -- the volumes ---------------------------------------------------------------------
            volumes = []
            for spec in VOLUMES:
                args = dict(store, pool=POOL, name=spec["name"], format=spec["format"],
                            permissions={"mode": "0644"})  # readable by the daemon's user
                for option in ("capacity", "preallocation"):
                    if option in spec:
                        args[option] = spec[option]
                if "backing" in spec:
                    args["backing_store"] = {"pool": POOL, "name": spec["backing"]}
                volumes.append(harness.run_module("storage_volume", args))
            why = [(result.actions, result.get("clone_method", "-"), result.msg) for result in volumes]
            assert [result.changed and not result.failed for result in volumes] == [True] * len(VOLUMES), why
            assert [result["volume"]["format"] for result in volumes] == [spec["format"] for spec in VOLUMES], why
            # clone_method is for clones only
            assert [result for result in volumes if "clone_method" in result] == [], why
            for result in volumes:
                volume_schema(result["volume"]["xml"])

            daemon.virsh("pool-refresh", POOL)
            listed = daemon.virsh("vol-list", "--pool", POOL).stdout
            for spec, result in zip(VOLUMES, volumes):
                theirs = xpath(daemon.virsh("vol-dumpxml", "--pool", POOL, spec["name"]).stdout, VOLUME_FIELDS)
                ours = xpath(result["volume"]["xml"], VOLUME_FIELDS)
                returned = returned_fields(result["volume"])
                why = "%s: libvirt %s, returned %s, our XML %s" % (spec["name"], theirs, returned, ours)
                assert theirs == returned, why
                assert theirs == ours, why

            # what the comparison covers
            made = [result["volume"] for result in volumes]
            assert sorted(line.split()[0] for line in listed.splitlines() if line.strip()) == sorted(
                spec["name"] for spec in VOLUMES), listed
            # sparse raw: nothing allocated; falloc raw: all of it; overlay: backed by base.qcow2
            assert made[0]["allocation"] < made[0]["capacity"]
            assert made[1]["allocation"] >= made[1]["capacity"]
            assert made[2]["allocation"] > 0
            assert made[3]["backing_chain"][0]["path"] == pool_dir + "/base.qcow2"
            assert made[3]["capacity"] == made[2]["capacity"]
        finally:
            # each step reports instead of failing, so the next runs; the test fails after if any did
            problems = []
            info = daemon.virsh("pool-info", POOL, check=False)
            if info.returncode == 0:
                # libvirt stops and undefines the pool (its files stay for storage_pool to remove)
                for verb in (["pool-destroy"] if re.search(r"State:\s+running", info.stdout) else []) + ["pool-undefine"]:
                    done = daemon.virsh(verb, POOL, check=False)
                    if done.returncode != 0:
                        problems.append("virsh %s: %s" % (verb, done.stderr.strip()))
            gone = harness.run_module("storage_pool", dict(store, name=POOL, state="absent"))
            if gone.failed:
                problems.append("storage_pool state=absent: %s" % gone.msg)
    problems.extend(daemon.stop_problems)
    if daemon.proc.poll() is None:
        problems.append("libvirtd (PID %d) still runs" % daemon.pid)
    for path in (daemon.home, daemon.virsh_env["HOME"]):
        shutil.rmtree(path, ignore_errors=True)
        if os.path.exists(path):
            problems.append("%s could not be removed" % path)
    assert problems == [], problems
