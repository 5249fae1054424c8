# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool with rbd pools against the run's one-node Ceph cluster (conftest's `ceph`), each
test with a Ceph pool and a cephx user of its own (`ceph_pool`):

- the life cycle: build (the Ceph pool made and initialised for rbd), start, stop, start, purge;
  an existing Ceph pool used without build; an RBD namespace built and purged alone;
- purge refused while the pool holds images, naming how many; with purge_volumes the Ceph pool
  goes with its images (of every namespace, with snapshots and clones), an RBD namespace with its
  own (clones first, then the images, then the trash), and neither while an image is open or has
  a clone outside what is deleted;
- start refused in one line, within its deadline, for a Ceph pool that does not exist, a wrong
  key, a closed port, a port that accepts and never answers (a hung monitor), a cluster whose
  OSDs are down (a monitor alone) and a cluster that has stopped; a running pool whose cluster
  has stopped fails in one line within the deadline, and is stopped (check mode too) and
  undefined without a command run;
- storage_device_facts reports the pool with its sizes;
- the key: in no result, diff, argv or environment of a command, and in no file others can read.

Every change goes through harness.converge (check mode, real, again unchanged, check again)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

import ceph_cluster
import fingerprints
import harness
from test_storage_volume_rbd import Holder
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._rbd import CONNECT_TIMEOUT

# time for Python, the module and the tools to start and stop, beyond a deadline itself
SLACK = 8.0


def pool_args(store, ceph_pool, **args):
    base = dict(store, name="r1", type="rbd", source=ceph_pool.source())
    base.update(args)
    return base


def timed(args, check=False):
    started = time.monotonic()
    result = harness.run_module("storage_pool", args, check=check)
    return result, time.monotonic() - started


def fingerprint_of(ceph_pool, scratch, namespace=None):
    return fingerprints.combine(cluster=lambda: ceph_pool.fingerprint(namespace), files=lambda: fingerprints.tree(scratch))


def test_pool_life_cycle(ceph, ceph_pool, store, scratch, monkeypatch):
    audit = ceph_cluster.KeyAudit(ceph_pool.key, Runner).install(monkeypatch)
    fingerprint = fingerprint_of(ceph_pool, scratch)
    results = []

    built = harness.converge("storage_pool", pool_args(store, ceph_pool, build=True, state="running"), fingerprint)
    assert built.real.actions == ["define pool 'r1' (rbd, persistent)",
                                  "build pool 'r1' (create Ceph pool %r for rbd)" % ceph_pool.name, "start pool 'r1'"]
    assert ceph_pool.name in ceph.pools()
    detail = [pool for pool in ceph.ceph("osd", "pool", "ls", "detail") if pool["pool_name"] == ceph_pool.name][0]
    assert "rbd" in detail["application_metadata"], detail["application_metadata"]
    info = built.real["pool"]
    assert info["state"] == "running" and info["volume_count"] == 0
    # the cluster's raw sizes (rados df), as libvirt reports them: a 10 GiB OSD
    assert 9 * 2 ** 30 < info["capacity"] <= 10 * 2 ** 30, info
    assert 0 < info["available"] <= info["capacity"] and 0 <= info["allocation"] < info["capacity"]
    assert info["source"]["auth"] == {"type": "ceph", "username": ceph_pool.user, "secret": "********",
                                      "mutual_username": None, "mutual_secret": None}
    assert info["source"]["hosts"] == [{"name": "127.0.0.1", "port": ceph.mon_port}]
    assert info["target"]["path"] is None
    # the definition names the user only; the key is in the 0600 secret file beside it
    xml = open(os.path.join(store["config_dir"], "r1.xml")).read()
    assert '<auth type="ceph" username="%s">' % ceph_pool.user in xml and ceph_pool.key not in xml
    secret_file = os.path.join(store["config_dir"], "r1.secret")
    assert os.stat(secret_file).st_mode & 0o777 == 0o600
    results += [built.check, built.real, built.again, built.recheck]

    stopped = harness.converge("storage_pool", pool_args(store, ceph_pool, state="stopped"), fingerprint)
    assert stopped.real.actions == ["stop pool 'r1'"] and stopped.real["pool"]["capacity"] is None
    assert ceph_pool.name in ceph.pools()  # stopping an rbd pool changes nothing in the cluster
    started = harness.converge("storage_pool", pool_args(store, ceph_pool, state="running"), fingerprint)
    assert started.real.actions == ["start pool 'r1'"]

    # an image made by somebody else is counted and listed, with its size
    ceph.rbd("create", "--size", "64M", "%s/outsider" % ceph_pool.name)
    listed = harness.run_module("storage_pool", dict(store, name="r1", state="running", list_volumes=True))
    assert not listed.failed and not listed.changed, listed.msg
    assert listed["pool"]["volume_count"] == 1
    assert [(vol["name"], vol["path"], vol["key"], vol["capacity"], vol["type"]) for vol in listed["pool"]["volumes"]] == [
        ("outsider", "rbd:%s/outsider" % ceph_pool.name, "%s/outsider" % ceph_pool.name, 64 * 2 ** 20, "network")]

    # purge is refused while the Ceph pool holds an image, naming how many; nothing changes
    refusal = harness.refused("storage_pool", dict(store, name="r1", state="absent", purge=True), fingerprint,
                              "holds 1 volumes")
    results += [stopped.real, started.real, listed, refusal]
    ceph.rbd("rm", "%s/outsider" % ceph_pool.name)

    gone = harness.converge("storage_pool", dict(store, name="r1", state="absent", purge=True), fingerprint)
    assert gone.real.actions[0] == "stop pool 'r1'" and gone.real.actions[-1] == "undefine pool 'r1'"
    assert gone.real.actions[1].startswith("delete the storage of pool 'r1'"), gone.real.actions
    assert ceph_pool.name not in ceph.pools()
    assert not os.path.exists(secret_file) and not os.path.exists(os.path.join(store["config_dir"], "r1.xml"))
    results += [gone.check, gone.real]

    audit.check(*results)
    audit.check_files(scratch)
    assert any(argv[0].endswith("rbd") for argv in audit.commands) and any(argv[0].endswith("ceph") for argv in audit.commands)


def test_existing_ceph_pool_without_build(ceph, ceph_pool, store, scratch):
    """A Ceph pool made elsewhere is used as it is; a missing one is refused without build."""
    fingerprint = fingerprint_of(ceph_pool, scratch)
    harness.refused("storage_pool", pool_args(store, ceph_pool, state="running"), fingerprint,
                    "pool 'r1' is not built", "has no pool %r" % ceph_pool.name, "set build: true")
    ceph_pool.create()
    done = harness.converge("storage_pool", pool_args(store, ceph_pool, state="running"), fingerprint)
    assert done.real.actions == ["define pool 'r1' (rbd, persistent)", "start pool 'r1'"]
    # build: true on a pool that is there builds nothing
    again = harness.unchanged("storage_pool", pool_args(store, ceph_pool, build=True, state="running"), fingerprint)
    assert again["pool"]["state"] == "running"


def test_namespace_is_built_and_purged_alone(ceph, ceph_pool, store, scratch):
    ceph_pool.create()
    fingerprint = fingerprint_of(ceph_pool, scratch, namespace="guests")
    args = pool_args(store, ceph_pool, source=ceph_pool.source(namespace="guests"), build=True, state="running")
    built = harness.converge("storage_pool", args, fingerprint)
    assert built.real.actions == ["define pool 'r1' (rbd, persistent)",
                                  "build pool 'r1' (create RBD namespace 'guests' in Ceph pool %r)" % ceph_pool.name,
                                  "start pool 'r1'"]
    assert built.real["pool"]["source"]["namespace"] == "guests"
    ceph.rbd("create", "--size", "4M", "%s/outside-the-namespace" % ceph_pool.name)
    assert harness.run_module("storage_pool", dict(store, name="r1", state="running"))["pool"]["volume_count"] == 0
    gone = harness.converge("storage_pool", dict(store, name="r1", state="absent", purge=True), fingerprint)
    assert gone.real.actions[1].startswith("delete the storage of pool 'r1'")
    assert ceph_pool.name in ceph.pools()  # the Ceph pool stays, with its own image
    assert [entry["name"] for entry in ceph.rbd("namespace", "ls", ceph_pool.name)] == []
    assert [image["image"] for image in ceph.images(ceph_pool.name)] == ["outside-the-namespace"]


def test_start_refusals_each_within_the_deadline(ceph, ceph_pool, store, scratch, monkeypatch):
    """One line each, in check mode and for real, and never past the deadline."""
    ceph_pool.create()
    audit = ceph_cluster.KeyAudit(ceph_pool.key, Runner).install(monkeypatch)
    fingerprint = fingerprint_of(ceph_pool, scratch)
    wrong_key = "AQBfjg9rAAAAABAAkhBADbTNhaZmlhfJEmbbQw=="
    silent = ceph_cluster.SilentMonitor()
    closed = ceph_cluster.closed_port()
    cases = [
        ("a wrong key", ceph_pool.source(auth={"username": ceph_pool.user, "secret": wrong_key}),
         ["refused the key of client.%s" % ceph_pool.user]),
        ("no such user", ceph_pool.source(auth={"username": "nobody-here", "secret": ceph_pool.key}),
         ["refused the key of client.nobody-here"]),
        ("a closed port", ceph_pool.source(hosts=[{"name": "127.0.0.1", "port": closed}]),
         ["no Ceph monitor answered within %d s" % CONNECT_TIMEOUT, "127.0.0.1:%d: connection refused" % closed]),
        ("a hung monitor", ceph_pool.source(hosts=[{"name": "127.0.0.1", "port": silent.port}]),
         ["no Ceph monitor answered", "127.0.0.1:%d: accepts connections but does not answer" % silent.port]),
    ]
    results = []
    try:
        for case, source, words in cases:
            args = pool_args(store, ceph_pool, source=source, state="running")
            for check in (True, False):
                before = fingerprint()
                result, took = timed(args, check=check)
                harness.assert_clean_failure(result, "rbd pool 'r1'", *words)
                assert took < CONNECT_TIMEOUT + SLACK, "%s: %.1f s" % (case, took)
                harness.assert_unchanged(fingerprint, before, case)
                results.append(result)
    finally:
        silent.stop()
    # the wrong key is hidden like the right one
    audit.check(*results)
    assert all(wrong_key not in json.dumps(result) for result in results)


def store_files(store):
    return fingerprints.combine(files=lambda: fingerprints.tree(store["config_dir"]) if os.path.isdir(store["config_dir"]) else {})


def test_osds_down_then_the_cluster_stopped(ceph_pool, store, scratch, monkeypatch):
    """A second, small cluster (a monitor and an OSD, no mgr) of this test's: a pool on it runs and
    holds a volume; its OSD stops (the monitor still answers and authenticates, nothing that reads
    the pool completes), then its monitor. Every task that needs the cluster fails in one line
    within the deadline, changing nothing; the pool can still be stopped and undefined."""
    home = os.path.join(scratch, "small-cluster")
    with ceph_cluster.cluster(home, mgr=False) as small:
        small.create_pool("lonely")
        key = small.add_user("client.lonely")
        source = {"name": "lonely", "hosts": [{"name": "127.0.0.1", "port": small.mon_port}],
                  "auth": {"username": "lonely", "secret": key},
                  # a shorter operation deadline, given to the tools as a client option
                  "config": {"rados_osd_op_timeout": 5}}
        running = dict(store, name="r2", type="rbd", source=source, state="running")
        started = harness.run_module("storage_pool", running)
        assert not started.failed and started["pool"]["state"] == "running", started.msg
        volume = dict(store, pool="r2", name="v1", capacity="8M")
        made = harness.run_module("storage_volume", volume)
        assert not made.failed and made.changed, made.msg

        small.stop_daemon("osd.%d" % small.osd_id)
        osds_down = ["rbd pool 'r2'", "the Ceph cluster at 127.0.0.1:%d did not answer within 5 s" % small.mon_port,
                     "its OSDs are down"]
        # a new pool on it cannot start
        fresh = dict(running, name="r3")
        for check in (True, False):
            result, took = timed(fresh, check=check)
            harness.assert_clean_failure(result, "rbd pool 'r3'", "rbd ls: the Ceph cluster at", "did not answer within 5 s")
            assert took < 5 + SLACK, took
        for module, task in (("storage_pool", dict(store, name="r2", state="running")),
                             ("storage_volume", dict(volume, capacity="16M"))):
            assert_fails_in_time(module, task, store, 5, osds_down)

        small.stop()
    stopped = ["rbd pool 'r2'", "no Ceph monitor answered within %d s" % CONNECT_TIMEOUT, "connection refused"]
    for module, task in (("storage_pool", dict(store, name="r2", state="running")),
                         ("storage_volume", dict(volume, capacity="16M")),
                         ("storage_volume", dict(volume, state="absent"))):
        assert_fails_in_time(module, task, store, CONNECT_TIMEOUT, stopped)
    # the pool still stops, in check mode and for real, without a command run (no deadline waited
    # for: a stop needs nothing of the cluster), and a stopped pool is undefined the same way
    audit = ceph_cluster.KeyAudit(key, Runner).install(monkeypatch)
    started_at = time.monotonic()
    stopped_pool = harness.converge("storage_pool", dict(store, name="r2", state="stopped"), store_files(store))
    assert stopped_pool.real.actions == ["stop pool 'r2'"]
    assert stopped_pool.check["pool"]["state"] == "running" and stopped_pool.check["pool"]["capacity"] is None
    assert stopped_pool.real["pool"]["state"] == "stopped"
    gone = harness.converge("storage_pool", dict(store, name="r2", state="absent"), store_files(store))
    assert gone.real.actions == ["undefine pool 'r2'"]
    assert audit.commands == [], audit.commands
    assert time.monotonic() - started_at < CONNECT_TIMEOUT  # eight module runs, none waiting on the cluster


def test_purge_with_the_images(ceph, ceph_pool, store, scratch, monkeypatch):
    """purge_volumes: the Ceph pool goes with its images (one with a snapshot and a clone, one in a
    namespace, one in the trash), not while one is open, and the action counts them."""
    audit = ceph_cluster.KeyAudit(ceph_pool.key, Runner).install(monkeypatch)
    pool = ceph_pool.create().name
    fingerprint = fingerprint_of(ceph_pool, scratch)
    ceph.rbd("create", "--size", "8M", "%s/base" % pool)
    ceph.rbd("snap", "create", "%s/base@gold" % pool)
    ceph.rbd("snap", "protect", "%s/base@gold" % pool)
    ceph.rbd("clone", "%s/base@gold" % pool, "%s/child" % pool)
    ceph.rbd("create", "--size", "4M", "%s/binned" % pool)
    ceph.rbd("trash", "mv", "%s/binned" % pool)
    ceph.rbd("namespace", "create", "%s/other" % pool)
    ceph.rbd("create", "--size", "4M", "%s/other/inner" % pool)
    started = harness.run_module("storage_pool", pool_args(store, ceph_pool, state="running"))
    assert not started.failed, started.msg
    purge = dict(store, name="r1", state="absent", purge=True)
    harness.refused("storage_pool", purge, fingerprint, "pool 'r1' still holds 2 volumes")

    holder = Holder(ceph, pool, "other/inner")
    try:
        watcher = ceph.rbd("status", "%s/other/inner" % pool)["watchers"][0]
        harness.refused("storage_pool", dict(purge, purge_volumes=True), fingerprint,
                        "cannot purge, image %s/other/inner is open by client.%s at %s" % (pool, watcher["client"],
                                                                                           watcher["address"]))
    finally:
        holder.stop()
    gone = harness.converge("storage_pool", dict(purge, purge_volumes=True), fingerprint)
    assert gone.real.actions == ["stop pool 'r1'",
                                 "delete the storage of pool 'r1' (delete Ceph pool %r and its 4 images (1 in the trash))"
                                 % pool, "undefine pool 'r1'"]
    assert pool not in ceph.pools()
    audit.check(gone.check, gone.real)


def test_purge_of_a_namespace_with_its_images(ceph, ceph_pool, store, scratch):
    """The images of the namespace removed, clones before parents and snapshots before images, then
    its trash and the namespace; refused while an image has a clone outside the namespace."""
    pool = ceph_pool.create().name
    ceph.rbd("namespace", "create", "%s/guests" % pool)
    inner = "%s/guests" % pool
    ceph.rbd("create", "--size", "8M", "%s/base" % inner)
    ceph.rbd("snap", "create", "%s/base@gold" % inner)
    ceph.rbd("snap", "protect", "%s/base@gold" % inner)
    ceph.rbd("clone", "%s/base@gold" % inner, "%s/child" % inner)
    ceph.rbd("snap", "create", "%s/child@mine" % inner)
    ceph.rbd("create", "--size", "4M", "%s/binned" % inner)
    ceph.rbd("trash", "mv", "%s/binned" % inner)
    ceph.rbd("create", "--size", "4M", "%s/outside-the-namespace" % pool)
    fingerprint = fingerprint_of(ceph_pool, scratch, namespace="guests")
    started = harness.run_module("storage_pool", pool_args(store, ceph_pool, source=ceph_pool.source(namespace="guests"),
                                                           state="running"))
    assert not started.failed, started.msg
    purge = dict(store, name="r1", state="absent", purge=True, purge_volumes=True)

    # a clone in the pool's default namespace hangs from the namespace's base: refused, naming it
    ceph.rbd("clone", "--rbd-default-clone-format", "2", "%s/base@gold" % inner, "%s/escaped" % pool)
    harness.refused("storage_pool", purge, fingerprint,
                    "cannot purge, image %s/base has clones outside it (%s/escaped)" % (inner, pool))
    ceph.rbd("rm", "%s/escaped" % pool)

    gone = harness.converge("storage_pool", purge, fingerprint)
    assert gone.real.actions[1] == ("delete the storage of pool 'r1' (remove RBD namespace 'guests' and its 3 images "
                                    "(1 in the trash) from Ceph pool %r)" % pool), gone.real.actions
    assert [entry["name"] for entry in ceph.rbd("namespace", "ls", pool)] == []
    assert [image["image"] for image in ceph.images(pool)] == ["outside-the-namespace"]


def assert_fails_in_time(module, task, store, deadline, words):
    files = store_files(store)
    for check in (True, False):
        before = files()
        started_at = time.monotonic()
        result = harness.run_module(module, task, check=check)
        took = time.monotonic() - started_at
        harness.assert_clean_failure(result, *words)
        assert took < deadline + SLACK, "%s: %.1f s" % (module, took)
        harness.assert_unchanged(files, before, "%s %r" % (module, task))


def test_storage_device_facts_reports_the_pool(ceph, ceph_pool, store):
    ceph_pool.create()
    ceph.rbd("create", "--size", "32M", "%s/disk1" % ceph_pool.name)
    started = harness.run_module("storage_pool", pool_args(store, ceph_pool, state="running"))
    assert not started.failed, started.msg
    facts = harness.run_module("storage_device_facts", dict(store, gather_subset=["pools"]))
    assert not facts.failed, facts.msg
    pool = facts["ansible_facts"]["storage_pools"]["r1"]
    assert pool["state"] == "running" and pool["type"] == "rbd" and pool["volume_count"] == 1
    assert pool["capacity"] > 0 and pool["source"]["auth"]["secret"] == "********"
    assert [(vol["name"], vol["capacity"]) for vol in pool["volumes"]] == [("disk1", 32 * 2 ** 20)]
    assert ceph_pool.key not in json.dumps(dict(facts))
