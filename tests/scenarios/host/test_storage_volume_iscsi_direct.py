# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The volumes of iscsi-direct pools against a tgtd of the test's own: a LUN as storage_volume sees it
(by name, path and key), the refusals of what only the target can do (make, resize, remove a LUN,
set its permissions), a cloud image uploaded into a LUN with clone_from and read back over iSCSI,
with and without CHAP, a LUN that holds data refused, and a LUN wiped (zero). Every change is one
converge()."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

import harness
from system import run
import tgt_target
from tgt_target import MIB
from test_storage_pool_iscsi_direct import INITIATOR, fingerprint, pool_args

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import backend_for
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
from ansible_collections.poolcraft.storage.plugins.module_utils._store import DefinitionStore

tgt = tgt_target.tgt

CHAP = ("pool-user", "volume-secret-1")


def started(store, daemon, target, auth=None):
    """A running pool 'luns' on target; the storage_volume arguments naming its pool."""
    result = harness.run_module("storage_pool", pool_args(store, daemon, target.iqn, auth=auth, state="running"))
    assert not result.failed and result.changed, result.msg
    return dict(store, pool="luns")


def stored_definition(store, name="luns"):
    """The pool's definition as the store has it (with its secrets)."""
    return DefinitionStore(store["config_dir"], store["runtime_dir"], read_only=True).get(name).definition


def auth_of(chap):
    return None if chap is None else {"username": chap[0], "secret": chap[1]}


def make_image(scratch, size=6 * MIB):
    """A qcow2 "cloud image" of size bytes with data at its start, its middle and its end, and
    what it holds as raw bytes."""
    image = os.path.join(scratch, "cloud.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", image, str(size))
    run("qemu-io", "-f", "qcow2", "-c", "write -q -P 0x5a 0 64k", "-c", "write -q -P 0xc3 %d 1M" % (size // 2),
        "-c", "write -q -P 0x7e %d 4k" % (size - 4096), image)
    raw = os.path.join(scratch, "cloud.raw")
    run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", image, raw)
    with open(raw, "rb") as handle:
        return image, handle.read()


def read_over_iscsi(scratch, daemon, target, lun, size, chap=None):
    """The first size bytes of a LUN, read by qemu-img over iSCSI (the test's own secret file)."""
    options = "driver=raw,size=%d,file.driver=iscsi,file.transport=tcp,file.portal=%s,file.target=%s,file.lun=%d,file.initiator-name=%s" % (
        size, daemon.portal, target.iqn, lun, INITIATOR)
    argv = ["qemu-img", "convert", "-O", "raw"]
    if chap is not None:
        secret = os.path.join(scratch, "reader-secret")
        with open(os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(chap[1])
        argv += ["--object", "secret,id=reader,file=%s" % secret]
        options += ",file.user=%s,file.password-secret=reader" % chap[0]
    out = os.path.join(scratch, "read-back.raw")
    run(*(argv + ["--image-opts", options, out]))
    try:
        with open(out, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(out)
        if chap is not None:
            os.unlink(secret)


def test_a_lun_by_name_path_and_key(tgt, store):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:luns", [24 * MIB, 8 * MIB], chap=CHAP)
    volume_args = started(store, daemon, target, auth_of(CHAP))
    url = "iscsi://%s/%s/2" % (daemon.portal, target.iqn)
    found = harness.unchanged("storage_volume", dict(volume_args, name="unit:0:0:2"), fingerprint(store, daemon))
    volume = found["volume"]
    assert (volume["name"], volume["path"], volume["key"], volume["capacity"], volume["type"]) == (
        "unit:0:0:2", url, "1IET_00010002", 8 * MIB, "network")
    assert "<path>%s</path>" % url in volume["xml"]
    for selector in ({"path": url}, {"key": "1IET_00010002"}):
        by = harness.unchanged("storage_volume", dict(store, **selector), fingerprint(store, daemon))
        assert by["volume"]["name"] == "unit:0:0:2", (selector, by["volume"])
    backend, definition = backend_for("iscsi-direct", Runner()), stored_definition(store)
    assert backend.volume_name_at(definition, url) == "unit:0:0:2"
    assert backend.volume_name_at(definition, "1IET_00010002") == "unit:0:0:2"
    assert backend.volume_name_at(definition, "1IET_00010009") is None
    assert daemon.fingerprint()["sessions"] == {target.iqn: 0}


@pytest.mark.parametrize("args, expect", [
    ({"name": "unit:0:0:9", "capacity": "8M"}, "iscsi-direct pools cannot create volume 'unit:0:0:9': LUNs are made on the target"),
    ({"name": "unit:0:0:1", "capacity": "48M"}, "iscsi-direct pools cannot resize volume 'unit:0:0:1': LUNs are resized on the target"),
    ({"name": "unit:0:0:1", "state": "absent"}, "iscsi-direct pools cannot delete volume 'unit:0:0:1': LUNs are removed on the target"),
    ({"name": "unit:0:0:1", "state": "absent", "wipe": "zero"}, "LUNs are removed on the target"),
    ({"name": "unit:0:0:9", "capacity": "8M", "permissions": {"mode": "0600"}}, "who may use a LUN is the target's to say"),
    ({"name": "unit:0:0:1", "format": "qcow2"}, "iscsi-direct pools hold volumes of format raw"),
])
def test_what_only_the_target_does_is_refused(tgt, store, args, expect):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:luns", [24 * MIB])
    volume_args = started(store, daemon, target)
    harness.refused("storage_volume", dict(volume_args, **args), fingerprint(store, daemon), expect)


@pytest.mark.parametrize("chap", [None, CHAP], ids=["no-chap", "chap"])
def test_upload_an_image_into_a_lun(tgt, store, scratch, chap):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:upload", [16 * MIB], chap=chap)
    volume_args = started(store, daemon, target, auth_of(chap))
    image, data = make_image(scratch)
    args = dict(volume_args, name="unit:0:0:1", clone_from={"path": image})
    done = harness.converge("storage_volume", args, fingerprint(store, daemon))
    assert done.real.actions == ["clone %s (qcow2) into volume 'unit:0:0:1' (iscsi://%s/%s/1)" % (image, daemon.portal, target.iqn)]
    assert done.real["clone_method"] == "copy"
    assert done.real["volume"]["capacity"] == 16 * MIB  # the LUN keeps its size
    # read back over iSCSI, and on the target's own backing file
    assert read_over_iscsi(scratch, daemon, target, 1, len(data), chap) == data
    with open(target.luns[0].path, "rb") as handle:
        assert handle.read(len(data)) == data
    assert daemon.fingerprint()["sessions"] == {target.iqn: 0}
    # nothing of qemu-img's private directory stays behind
    assert not [name for name in os.listdir(os.environ.get("TMPDIR", "/tmp")) if name.startswith("poolcraft-iscsi-")]


def test_a_lun_that_holds_data_is_not_overwritten(tgt, store, scratch):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:used", [16 * MIB, 16 * MIB, 4 * MIB])
    # LUN 1 carries a filesystem, LUN 2 a few bytes at its very end
    run("mkfs.ext4", "-q", "-F", target.luns[0].path)
    with open(target.luns[1].path, "r+b") as handle:
        handle.seek(16 * MIB - 512)
        handle.write(b"\x01" * 512)
    volume_args = started(store, daemon, target)
    image, _data = make_image(scratch)
    snapshot = fingerprint(store, daemon)
    harness.refused("storage_volume", dict(volume_args, name="unit:0:0:1", clone_from={"path": image}), snapshot,
                    "volume 'unit:0:0:1'", "holds data (its first MiB is not zeros); refusing to overwrite it")
    harness.refused("storage_volume", dict(volume_args, name="unit:0:0:2", clone_from={"path": image}), snapshot,
                    "holds data (its last MiB is not zeros)")
    harness.refused("storage_volume", dict(volume_args, name="unit:0:0:3", clone_from={"path": image}), snapshot,
                    "clone_from: %s (6.0 MiB) is larger than volume 'unit:0:0:3' (4.0 MiB)" % image)


def test_mutual_chap_pools_take_no_image(tgt, store, scratch):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:mutual", [16 * MIB], chap=CHAP, mutual=("target-user", "target-secret-2"))
    auth = dict(auth_of(CHAP), mutual_username="target-user", mutual_secret="target-secret-2")
    volume_args = started(store, daemon, target, auth)
    image, _data = make_image(scratch)
    harness.refused("storage_volume", dict(volume_args, name="unit:0:0:1", clone_from={"path": image}),
                    fingerprint(store, daemon), "qemu-img logs in with one-way CHAP only")


def test_wipe_a_lun(tgt, store):
    """state=wiped: check mode plans it and writes nothing; the real run zeroes the LUN and keeps it."""
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:wipe", [12 * MIB], chap=CHAP)
    with open(target.luns[0].path, "r+b") as handle:
        handle.write(os.urandom(12 * MIB))
    volume_args = dict(started(store, daemon, target, auth_of(CHAP)), name="unit:0:0:1", state="wiped", wipe="zero")

    def zeroed():
        return subprocess.run(["cmp", "-s", "-n", str(12 * MIB), target.luns[0].path, "/dev/zero"], check=False).returncode == 0

    check = harness.run_module("storage_volume", volume_args, check=True)
    assert not check.failed and check.changed, check.msg
    assert check.actions == ["wipe (zero) volume 'unit:0:0:1' (iscsi://%s/%s/1)" % (daemon.portal, target.iqn)], check.actions
    assert not zeroed()
    real = harness.run_module("storage_volume", volume_args, diff=True)
    assert not real.failed and real.changed and real.actions == check.actions, real
    assert zeroed() and real["volume"]["capacity"] == 12 * MIB
    assert real["diff"]["before"] == real["diff"]["after"]  # the volume is the same one, its bytes are not compared
    no_algorithm = dict((key, value) for key, value in volume_args.items() if key != "wipe")
    harness.assert_clean_failure(harness.run_module("storage_volume", no_algorithm), "state=wiped needs")
    harness.assert_clean_failure(harness.run_module("storage_volume", dict(volume_args, name="unit:0:0:9")), "nothing to wipe")
    assert daemon.fingerprint()["sessions"] == {target.iqn: 0}
