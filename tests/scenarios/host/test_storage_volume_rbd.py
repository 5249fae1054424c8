# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume in rbd pools, against the run's one-node Ceph cluster (conftest's `ceph`), each
test in a Ceph pool of its own (`ceph_pool`) reached as its own cephx user:

- the life cycle of an image: create (with the default features), grow, shrink only with
  shrink: true, found by path and by key, delete; delete with wipe: zero (every object discarded);
- refusals, each naming what is in the way: snapshots, clones (children), watchers (the image held
  open by qemu-io, stopped by its PID);
- a copy-on-write clone of another volume (clone_from and backing_store), instant, reading as its
  source; the source refused deletion while it has the clone; a flattened clone independent of
  its source, which can then be deleted;
- a qcow2 image converted into a volume and read back (qemu-img compare), thin;
- image features: a new image with the task's, then enabled and disabled as rbd can (a new object
  map rebuilt), what rbd cannot change refused naming the feature, and a clone with its own;
- the key in no result, diff, argv or environment of a command, and in no file others can read.

Every change goes through harness.converge (check mode, real, again unchanged, check again)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import subprocess
import time

import pytest

import ceph_cluster
import fingerprints
import harness
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._rbd import DEFAULT_FEATURES

MiB = 2 ** 20


@pytest.fixture
def rbd_pool(ceph, ceph_pool, store):
    """The test's Ceph pool as rbd pool 'r1', built and running."""
    started = harness.run_module("storage_pool", dict(store, name="r1", type="rbd", source=ceph_pool.source(),
                                                      build=True, state="running"))
    assert not started.failed and started["pool"]["state"] == "running", started.msg
    return ceph_pool


def fingerprint_of(ceph_pool, store):
    return fingerprints.combine(cluster=ceph_pool.fingerprint, files=lambda: fingerprints.tree(store["config_dir"]))


def features_of(ceph, pool):
    """Each image's features and flags (rbd info): what a change of features changes."""
    found = {}
    for name in ceph.rbd("ls", pool) or []:
        image = info(ceph, pool, name)
        found[name] = (image["features"], image["flags"])
    return found


def volume(store, name, **args):
    return dict(store, pool="r1", name=name, **args)


def info(ceph, pool, image):
    return ceph.rbd("info", "%s/%s" % (pool, image))


class Holder(object):
    """qemu-io with an image open (as a guest would have it), until stop(): stopped by its PID."""

    def __init__(self, ceph, pool, image):
        self.proc = subprocess.Popen(["qemu-io", "-f", "raw", "rbd:%s/%s" % (pool, image)], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ceph.env(),
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while not ceph.rbd("status", "%s/%s" % (pool, image))["watchers"]:
            assert self.proc.poll() is None, "qemu-io exited (rc %s)" % self.proc.returncode
            assert time.monotonic() < deadline, "qemu-io did not open %s/%s within 30 s" % (pool, image)
            time.sleep(0.2)

    def stop(self):
        """quit on its stdin, so that it closes the image (its watch goes at once); SIGTERM to its
        PID should it not exit, SIGKILL after that."""
        if self.proc.poll() is not None:
            return
        try:
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=20)
            return
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def qemu_io(ceph, target, *commands, **kwargs):
    argv = ["qemu-io", "-f", kwargs.get("fmt", "raw")]
    for command in commands:
        argv += ["-c", command]
    proc = subprocess.run(argv + [target], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=ceph.env(), timeout=120, check=False)
    assert proc.returncode == 0 and "failed" not in proc.stdout, "qemu-io %r: %s %s" % (commands, proc.stdout, proc.stderr)
    return proc.stdout


def compare(ceph, first, first_format, second, second_format="raw"):
    proc = subprocess.run(["qemu-img", "compare", "-f", first_format, "-F", second_format, first, second],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=ceph.env(),
                          timeout=300, check=False)
    return proc.returncode, proc.stdout.strip() or proc.stderr.strip()


def test_volume_life_cycle(ceph, rbd_pool, store, scratch, monkeypatch):
    audit = ceph_cluster.KeyAudit(rbd_pool.key, Runner).install(monkeypatch)
    pool = rbd_pool.name
    fingerprint = fingerprint_of(rbd_pool, store)
    results = []

    made = harness.converge("storage_volume", volume(store, "v1", capacity="64M"), fingerprint)
    assert made.real.actions == ["create raw volume 'v1' of 64.0 MiB"]
    found = made.real["volume"]
    assert (found["path"], found["key"], found["type"], found["format"], found["capacity"], found["allocation"]) == (
        "rbd:%s/v1" % pool, "%s/v1" % pool, "network", "raw", 64 * MiB, 0)
    assert found["backing_chain"] == []
    assert "<volume type='network'>" in found["xml"] or "<volume type=\"network\">" in found["xml"], found["xml"]
    assert info(ceph, pool, "v1")["features"] == list(DEFAULT_FEATURES) == found["features"]
    results += [made.check, made.real, made.again, made.recheck]

    grown = harness.converge("storage_volume", volume(store, "v1", capacity="128M"), fingerprint)
    assert grown.real.actions == ["grow volume 'v1' from 64.0 MiB to 128.0 MiB"]
    assert info(ceph, pool, "v1")["size"] == 128 * MiB
    harness.refused("storage_volume", volume(store, "v1", capacity="32M"), fingerprint, "capacity='32M'",
                    "set shrink: true")
    shrunk = harness.converge("storage_volume", volume(store, "v1", capacity="32M", shrink=True), fingerprint)
    assert shrunk.real.actions == ["shrink volume 'v1' from 128.0 MiB to 32.0 MiB"]
    assert info(ceph, pool, "v1")["size"] == 32 * MiB

    # data written by a client counts in its allocation (fast-diff: whole 4 MiB objects)
    qemu_io(ceph, "rbd:%s/v1" % pool, "write -P 0x5a 0 1M", "write -P 0xa5 20M 1M")
    by_path = harness.unchanged("storage_volume", dict(store, path="rbd:%s/v1" % pool, capacity="32M"), fingerprint)
    assert by_path["volume"]["allocation"] == 8 * MiB and by_path["volume"]["pool"] == "r1"
    by_key = harness.unchanged("storage_volume", dict(store, key="%s/v1" % pool), fingerprint)
    assert by_key["volume"]["name"] == "v1"
    results += [grown.real, shrunk.real, by_path, by_key]

    # random bytes are refused (they would not reach the OSDs' disks either); zero discards everything
    harness.refused("storage_volume", volume(store, "v1", state="absent", wipe="random"), fingerprint,
                    "wipe='random'", "rbd volumes are wiped with zero")
    wiped = harness.converge("storage_volume", volume(store, "v1", state="absent", wipe="zero"), fingerprint)
    assert wiped.real.actions == ["wipe (zero) and delete volume 'v1' (rbd:%s/v1)" % pool]
    assert [image["image"] for image in ceph.images(pool)] == []

    harness.converge("storage_volume", volume(store, "v2", capacity="8M"), fingerprint)
    gone = harness.converge("storage_volume", volume(store, "v2", state="absent"), fingerprint)
    assert gone.real.actions == ["delete volume 'v2' (rbd:%s/v2)" % pool]
    results += [wiped.check, wiped.real, gone.real]

    audit.check(*results)
    audit.check_files(scratch)


def test_bad_volume_options_are_refused(rbd_pool, store):
    fingerprint = fingerprint_of(rbd_pool, store)
    harness.refused("storage_volume", volume(store, "v1", capacity="8M", format="qcow2"), fingerprint,
                    "format='qcow2'", "rbd pools hold volumes of format raw")
    harness.refused("storage_volume", volume(store, "v1", capacity="8M", preallocation="full"), fingerprint,
                    "preallocation='full'", "rbd pools do not take it")
    harness.refused("storage_volume", volume(store, "v1", capacity="8M", permissions={"mode": "0640"}), fingerprint,
                    "permissions=", "cephx users' caps")
    harness.refused("storage_volume", volume(store, "v@1", capacity="8M"), fingerprint, "name='v@1'", "names a snapshot")
    harness.refused("storage_volume", volume(store, "v1"), fingerprint, "capacity=None", "required")


def test_image_features(ceph, rbd_pool, store, monkeypatch):
    audit = ceph_cluster.KeyAudit(rbd_pool.key, Runner).install(monkeypatch)
    pool = rbd_pool.name
    fingerprint = fingerprints.combine(images=fingerprint_of(rbd_pool, store),
                                       features=lambda: features_of(ceph, pool))
    made = harness.converge("storage_volume", volume(store, "v1", capacity="16M", features=["layering", "exclusive-lock"]),
                            fingerprint)
    assert info(ceph, pool, "v1")["features"] == ["layering", "exclusive-lock"] == made.real["volume"]["features"]
    # written before the object map exists: the rebuilt map counts it (allocation 4 MiB, not 16)
    qemu_io(ceph, "rbd:%s/v1" % pool, "write -P 0x5a 0 1M")

    more = ["layering", "exclusive-lock", "object-map", "fast-diff", "journaling"]
    enabled = harness.converge("storage_volume", volume(store, "v1", features=more), fingerprint)
    assert enabled.real.actions == ["change features of volume 'v1' (enable object-map, fast-diff, journaling)"]
    found = info(ceph, pool, "v1")
    assert (found["features"], found["flags"]) == (more, []), found  # the new map rebuilt: valid
    assert enabled.real["volume"]["allocation"] == 4 * MiB and enabled.real["volume"]["features"] == more
    assert enabled.check["diff"]["after"]["features"] == sorted(more)
    assert enabled.check["diff"]["before"]["features"] == ["exclusive-lock", "layering"]

    fewer = harness.converge("storage_volume", volume(store, "v1", features=["layering"]), fingerprint)
    assert fewer.real.actions == ["change features of volume 'v1' (disable journaling, fast-diff, object-map, exclusive-lock)"]
    assert info(ceph, pool, "v1")["features"] == ["layering"]

    # what rbd cannot change, and what Ceph's rules forbid, refused by name before anything is done
    harness.refused("storage_volume", volume(store, "v1", features=["layering", "deep-flatten"]), fingerprint,
                    "features=", "volume 'v1' was created without deep-flatten, and Ceph sets it only when an image is created")
    harness.refused("storage_volume", volume(store, "v1", features=[]), fingerprint,
                    "features=[]", "volume 'v1' has layering, which Ceph never takes off an image")
    harness.refused("storage_volume", volume(store, "v1", features=["layering", "object-map", "fast-diff"]), fingerprint,
                    "object-map needs exclusive-lock")
    harness.refused("storage_volume", volume(store, "v2", capacity="8M", features=["exclusive-lock", "object-map"]),
                    fingerprint, "object-map and fast-diff go together")

    # deep-flatten comes off (for good), the action says so; a clone gets the features it is given
    harness.converge("storage_volume", volume(store, "v3", capacity="8M"), fingerprint)
    without_deep_flatten = ["layering", "exclusive-lock", "object-map", "fast-diff"]
    dropped = harness.converge("storage_volume", volume(store, "v3", features=without_deep_flatten), fingerprint)
    assert dropped.real.actions == ["change features of volume 'v3' (disable deep-flatten; deep-flatten cannot be "
                                    "enabled again)"]
    harness.refused("storage_volume", volume(store, "c1", clone_from={"pool": "r1", "name": "v3"}, features=["exclusive-lock"]),
                    fingerprint, "a copy-on-write clone needs layering")
    cloned = harness.converge("storage_volume", volume(store, "c1", clone_from={"pool": "r1", "name": "v3"},
                                                       features=["layering"]), fingerprint)
    assert info(ceph, pool, "c1")["features"] == ["layering"] and cloned.real["clone_method"] == "cow"
    for name in ("c1", "v3", "v1"):
        harness.converge("storage_volume", volume(store, name, state="absent"), fingerprint)
    audit.check(made.real, enabled.check, enabled.real, fewer.real, dropped.real, cloned.real)


def test_delete_refused_for_snapshots_clones_and_watchers(ceph, rbd_pool, store):
    pool = rbd_pool.name
    fingerprint = fingerprint_of(rbd_pool, store)
    for name in ("base", "busy"):
        harness.converge("storage_volume", volume(store, name, capacity="16M"), fingerprint)

    # a snapshot (made elsewhere) is named, and kept
    ceph.rbd("snap", "create", "%s/base@before-upgrade" % pool)
    harness.refused("storage_volume", volume(store, "base", state="absent"), fingerprint,
                    "cannot delete volume 'base'", "it has snapshots (before-upgrade)")
    # a clone of it (made elsewhere) is named too
    ceph.rbd("snap", "protect", "%s/base@before-upgrade" % pool)
    ceph.rbd("clone", "%s/base@before-upgrade" % pool, "%s/child" % pool)
    harness.refused("storage_volume", volume(store, "base", state="absent"), fingerprint,
                    "cannot delete volume 'base'", "it has clones (%s/child)" % pool)
    listed = harness.run_module("storage_volume", volume(store, "child"))
    assert listed["volume"]["backing_chain"] == [{"path": "rbd:%s/base" % pool, "format": "raw"}]

    # an image a client has open: its watcher is named; nothing happens to it
    holder = Holder(ceph, pool, "busy")
    try:
        watcher = ceph.rbd("status", "%s/busy" % pool)["watchers"][0]
        named = "it is open by client.%s at %s" % (watcher["client"], watcher["address"])
        harness.refused("storage_volume", volume(store, "busy", state="absent"), fingerprint,
                        "cannot delete volume 'busy'", named)
        harness.refused("storage_volume", volume(store, "busy", capacity="8M", shrink=True), fingerprint,
                        "cannot shrink volume 'busy'", named)
        # growing an open image is fine: the guest sees the new size
        harness.converge("storage_volume", volume(store, "busy", capacity="32M"), fingerprint)
    finally:
        holder.stop()
    harness.converge("storage_volume", volume(store, "busy", state="absent"), fingerprint)


def test_cow_clone_then_flatten(ceph, rbd_pool, store, scratch, monkeypatch):
    audit = ceph_cluster.KeyAudit(rbd_pool.key, Runner).install(monkeypatch)
    pool = rbd_pool.name
    fingerprint = fingerprint_of(rbd_pool, store)
    harness.converge("storage_volume", volume(store, "base", capacity="32M"), fingerprint)
    qemu_io(ceph, "rbd:%s/base" % pool, "write -P 0x11 0 4M", "write -P 0x22 16M 2M")
    saved = os.path.join(scratch, "base.raw")
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "raw", "rbd:%s/base" % pool, saved], env=ceph.env(),
                   check=True, timeout=120)

    started = time.monotonic()
    cloned = harness.converge("storage_volume", volume(store, "c1", clone_from={"pool": "r1", "name": "base"}), fingerprint)
    assert cloned.real.actions == ["clone rbd:%s/base (raw) into volume 'c1' (raw) (copy-on-write, through snapshot "
                                   "poolcraft-clone-c1)" % pool]
    assert cloned.real["clone_method"] == "cow"
    assert time.monotonic() - started < 60  # instant: no data is copied (four module runs)
    assert cloned.real["volume"]["backing_chain"] == [{"path": "rbd:%s/base" % pool, "format": "raw"}]
    assert cloned.real["volume"]["capacity"] == 32 * MiB and cloned.real["volume"]["allocation"] == 0
    assert compare(ceph, saved, "raw", "rbd:%s/c1" % pool) == (0, "Images are identical.")
    # the same made with backing_store (the way LVM snapshots are asked for), larger than its source
    overlay = harness.converge("storage_volume", volume(store, "c2", backing_store={"pool": "r1", "name": "base"},
                                                        capacity="48M"), fingerprint)
    assert overlay.real["volume"]["capacity"] == 48 * MiB
    assert overlay.real["volume"]["backing_chain"] == [{"path": "rbd:%s/base" % pool, "format": "raw"}]

    # the source cannot go while its clones hang from it
    harness.refused("storage_volume", volume(store, "base", state="absent"), fingerprint,
                    "cannot delete volume 'base'", "it has clones (%s/c1, %s/c2)" % (pool, pool))
    # writes to the clone do not reach the source
    qemu_io(ceph, "rbd:%s/c1" % pool, "write -P 0x33 0 1M")
    assert compare(ceph, saved, "raw", "rbd:%s/base" % pool) == (0, "Images are identical.")

    # flattened, the clone holds its own data; deleting c2 drops its snapshot from the source
    flat = harness.converge("storage_volume", volume(store, "c1", flatten=True), fingerprint)
    assert flat.real.actions == ["flatten volume 'c1' (copy the data of rbd:%s/base into it)" % pool]
    assert flat.real["volume"]["backing_chain"] == []
    harness.converge("storage_volume", volume(store, "c2", state="absent"), fingerprint)
    assert [snap["name"] for snap in ceph.rbd("snap", "ls", "%s/base" % pool)] == []
    harness.converge("storage_volume", volume(store, "base", state="absent"), fingerprint)
    assert "base" not in [image["image"] for image in ceph.images(pool)]
    out = qemu_io(ceph, "rbd:%s/c1" % pool, "read -P 0x33 0 1M", "read -P 0x11 1M 3M", "read -P 0x22 16M 2M",
                  "read -P 0 4M 12M")
    assert "Pattern verification failed" not in out

    # flatten: true when cloning gives an independent copy at once
    harness.converge("storage_volume", volume(store, "base2", capacity="8M"), fingerprint)
    copied = harness.converge("storage_volume", volume(store, "c3", clone_from={"pool": "r1", "name": "base2"},
                                                       flatten=True), fingerprint)
    assert copied.real["clone_method"] == "copy" and copied.real["volume"]["backing_chain"] == []
    assert [snap["name"] for snap in ceph.rbd("snap", "ls", "%s/base2" % pool)] == []
    harness.converge("storage_volume", volume(store, "base2", state="absent"), fingerprint)
    audit.check(cloned.check, cloned.real, overlay.real, flat.real, copied.real)


def test_qcow2_image_converted_in_and_read_back(ceph, rbd_pool, store, scratch, monkeypatch):
    audit = ceph_cluster.KeyAudit(rbd_pool.key, Runner).install(monkeypatch)
    pool = rbd_pool.name
    image = os.path.join(scratch, "cloud.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", image, "48M"], check=True, timeout=60)
    qemu_io(ceph, image, "write -P 0x42 0 2M", "write -P 0x24 40M 1M", fmt="qcow2")
    fingerprint = fingerprint_of(rbd_pool, store)

    done = harness.converge("storage_volume", volume(store, "web1", clone_from={"path": image}, capacity="64M"),
                            fingerprint)
    assert done.real.actions == ["clone %s (qcow2) into volume 'web1' (raw)" % image]
    assert done.real["clone_method"] == "copy"
    found = done.real["volume"]
    assert found["capacity"] == 64 * MiB and found["format"] == "raw"
    assert found["allocation"] <= 8 * MiB, found  # zeros are not written: 2 + 1 MiB of data in 4 MiB objects
    # the first 48 MiB are the image's; the rest of the volume reads as zeros
    assert compare(ceph, image, "qcow2", "rbd:%s/web1" % pool)[0] == 0
    names = [entry["image"] for entry in ceph.images(pool)]
    assert names == ["web1"], names  # no temporary image left behind
    qemu_img_runs = [argv for argv in audit.commands if argv[0].endswith("qemu-img")]
    assert qemu_img_runs and all("key=" not in " ".join(argv) for argv in qemu_img_runs)
    assert any("rbd:%s/.poolcraft-new-web1:id=%s" % (pool, rbd_pool.user) in argv for argv in qemu_img_runs), qemu_img_runs
    audit.check(done.check, done.real, done.again, done.recheck)
    audit.check_files(scratch)
    assert rbd_pool.key not in json.dumps([done.check["diff"], done.real["diff"]])
