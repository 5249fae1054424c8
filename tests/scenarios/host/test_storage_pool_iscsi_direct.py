# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iscsi-direct pools against a tgtd of the test's own on 127.0.0.1 (tgt_target), with libiscsi's
tools as the initiator: define and start with and without CHAP (and with mutual CHAP), the LUNs'
capacities as the target was given them, a LUN added on the target seen by the next task, stop and
undefine; a wrong secret, an unknown IQN, a closed port and a silent one each refused in one line,
in check mode too. Every change is one converge(); nothing stays logged in between tasks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import socket
import stat

import pytest

import fingerprints
import harness
import tgt_target
from tgt_target import MIB, free_port

from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _libiscsi

tgt = tgt_target.tgt

INITIATOR = "iqn.2026-12.test.poolcraft:host1"


def pool_args(store, daemon, target, name="luns", auth=None, **args):
    source = {"host": daemon.host, "port": daemon.port, "target": target, "initiator": INITIATOR}
    if auth is not None:
        source["auth"] = auth
    return dict(store, name=name, type="iscsi-direct", source=source, **args)


def fingerprint(store, daemon):
    """The store's files and the target's LUNs and sessions."""
    return fingerprints.combine(
        store=lambda: [fingerprints.tree(store[key]) for key in ("config_dir", "runtime_dir")],
        target=daemon.fingerprint)


def expected_volumes(daemon, target):
    return [{"name": "unit:0:0:%d" % lun.number, "path": "iscsi://%s/%s/%d" % (daemon.portal, target.iqn, lun.number),
             "capacity": lun.size, "allocation": lun.size, "type": "network", "format": "raw"}
            for lun in target.luns]


def volumes_of(pool):
    return [dict((key, volume[key]) for key in ("name", "path", "capacity", "allocation", "type", "format"))
            for volume in pool["volumes"]]


def assert_no_pool(store, name="luns"):
    found = harness.run_module("storage_pool", dict(store, name=name, state="absent"), check=True)
    assert not found.failed and not found.changed, dict(found)


def test_life_cycle_without_chap(tgt, store, pool_schema):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:plain", [64 * MIB, 32 * MIB, 5 * MIB + 512])
    # a LUN whose T10 vendor identifier the target was told
    daemon.tgtadm("--lld", "iscsi", "--op", "update", "--mode", "logicalunit", "--tid", target.tid, "--lun", 2,
                  "--params", "scsi_id=poolcraft disk two")
    snapshot = fingerprint(store, daemon)

    done = harness.converge("storage_pool", pool_args(store, daemon, target.iqn, state="running", list_volumes=True), snapshot)
    assert done.real.actions == ["define pool 'luns' (iscsi-direct, persistent)", "start pool 'luns'"]
    pool = done.real["pool"]
    assert pool["state"] == "running" and pool["type"] == "iscsi-direct"
    assert pool["source"]["host"] == "127.0.0.1" and pool["source"]["port"] == daemon.port
    assert pool["source"]["target"] == target.iqn and pool["source"]["initiator"] == INITIATOR
    # the capacities are what the target was given, to the byte (the odd-sized LUN too)
    assert volumes_of(pool) == expected_volumes(daemon, target)
    assert pool["capacity"] == pool["allocation"] == (64 + 32 + 5) * MIB + 512
    assert pool["available"] == 0 and pool["volume_count"] == 3
    keys = [volume["key"] for volume in pool["volumes"]]
    assert keys == ["1IET_00010001", "1poolcraft_disk_two", "1IET_00010003"], keys
    assert done.again["pool"] == pool
    pool_schema(os.path.join(store["config_dir"], "luns.xml"))
    assert daemon.fingerprint()["sessions"] == {target.iqn: 0}

    # a LUN made on the target while the pool runs is a volume of the next task
    daemon.add_lun(target, 8 * MIB)
    seen = harness.unchanged("storage_pool", pool_args(store, daemon, target.iqn, state="running", list_volumes=True),
                             fingerprint(store, daemon))
    assert seen["pool"]["volume_count"] == 4 and seen["pool"]["capacity"] == (64 + 32 + 5 + 8) * MIB + 512
    assert volumes_of(seen["pool"]) == expected_volumes(daemon, target)

    done = harness.converge("storage_pool", pool_args(store, daemon, target.iqn, state="stopped"), snapshot)
    assert done.real.actions == ["stop pool 'luns'"]
    assert done.real["pool"]["state"] == "stopped" and done.real["pool"]["capacity"] is None

    done = harness.converge("storage_pool", dict(store, name="luns", state="absent"), snapshot)
    assert done.real.actions == ["undefine pool 'luns'"]
    assert_no_pool(store)


@pytest.mark.parametrize("mutual", [False, True], ids=["chap", "mutual-chap"])
def test_start_with_chap(tgt, store, mutual):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:chap", [16 * MIB], chap=("pool-user", "pool-secret-1"),
                               mutual=("target-user", "target-secret-2") if mutual else None)
    auth = {"username": "pool-user", "secret": "pool-secret-1"}
    if mutual:
        auth.update(mutual_username="target-user", mutual_secret="target-secret-2")
    done = harness.converge("storage_pool", pool_args(store, daemon, target.iqn, auth=auth, state="running", list_volumes=True),
                            fingerprint(store, daemon))
    pool = done.real["pool"]
    assert volumes_of(pool) == expected_volumes(daemon, target)
    assert pool["source"]["auth"]["secret"] == "********"
    assert pool["source"]["auth"]["mutual_secret"] == ("********" if mutual else None)
    # the secrets are kept beside the definition, readable by root only
    kept = os.path.join(store["config_dir"], "luns.secret")
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert daemon.fingerprint()["sessions"] == {target.iqn: 0}


# -- refused in one line, in check mode and for real, and nothing defined -------------------------

@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers (an iSCSI login waits on it forever)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def refused(store, daemon, args, *expect):
    result = harness.refused("storage_pool", args, fingerprint(store, daemon), *expect)
    assert_no_pool(store)
    return result


def test_wrong_secret(tgt, store):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:chap", [16 * MIB], chap=("pool-user", "pool-secret-1"))
    result = refused(store, daemon, pool_args(store, daemon, target.iqn, auth={"username": "pool-user", "secret": "wrong-one"},
                                              state="running"),
                     "refused the login of initiator %s to %s at %s" % (INITIATOR, target.iqn, daemon.portal),
                     "CHAP authentication failed")
    assert "wrong-one" not in result.msg


def test_no_secret_for_a_target_that_wants_one(tgt, store):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:chap", [16 * MIB], chap=("pool-user", "pool-secret-1"))
    refused(store, daemon, pool_args(store, daemon, target.iqn, state="running"), target.iqn, daemon.portal,
            "CHAP authentication failed")


def test_wrong_mutual_secret(tgt, store):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:mutual", [16 * MIB], chap=("pool-user", "pool-secret-1"),
                               mutual=("target-user", "target-secret-2"))
    auth = {"username": "pool-user", "secret": "pool-secret-1", "mutual_username": "target-user",
            "mutual_secret": "not-the-targets"}
    refused(store, daemon, pool_args(store, daemon, target.iqn, auth=auth, state="running"),
            "target %s at %s failed mutual CHAP" % (target.iqn, daemon.portal))


def test_unknown_target(tgt, store):
    daemon = tgt()
    daemon.add_target("iqn.2026-12.test.poolcraft:plain", [16 * MIB])
    refused(store, daemon, pool_args(store, daemon, "iqn.2026-12.test.poolcraft:elsewhere", state="running"),
            "target iqn.2026-12.test.poolcraft:elsewhere is not at %s" % daemon.portal)


def test_initiator_the_target_does_not_let_in(tgt, store):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:acl", [16 * MIB], initiators=("iqn.2026-12.test.poolcraft:other",))
    refused(store, daemon, pool_args(store, daemon, target.iqn, state="running"),
            "target %s is not at %s, or does not let initiator %s in" % (target.iqn, daemon.portal, INITIATOR))


def test_closed_port(tgt, store):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:plain", [16 * MIB])
    args = pool_args(store, daemon, target.iqn, state="running")
    closed = free_port()
    args["source"]["port"] = closed
    refused(store, daemon, args, "cannot connect to 127.0.0.1:%d" % closed)


def test_silent_port_meets_its_deadline(tgt, store, silent_port, monkeypatch):
    # the module runs in this process: a short deadline instead of the 30 s default
    monkeypatch.setattr(_libiscsi, "TIMEOUT", 2)
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:plain", [16 * MIB])
    args = pool_args(store, daemon, target.iqn, state="running")
    args["source"]["port"] = silent_port
    refused(store, daemon, args, "no answer from iSCSI portal 127.0.0.1:%d (target %s) within 2 s" % (silent_port, target.iqn))


def test_a_running_pool_whose_target_went_away(tgt, store):
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:plain", [16 * MIB])
    # another target stays: a tgtd with none closes every connection
    daemon.add_target("iqn.2026-12.test.poolcraft:stays", [16 * MIB])
    args = pool_args(store, daemon, target.iqn, state="running")
    started = harness.run_module("storage_pool", args)
    assert not started.failed and started.changed, started.msg
    daemon.tgtadm("--lld", "iscsi", "--op", "delete", "--force", "--mode", "target", "--tid", target.tid)
    daemon.targets.remove(target)
    # the refresh of its result names the target, in one line
    result = harness.run_module("storage_pool", args)
    harness.assert_clean_failure(result, "target %s is not among the targets portal %s offers" % (target.iqn, daemon.portal))
    stopped = harness.run_module("storage_pool", dict(args, state="stopped"))
    assert not stopped.failed and stopped.changed, stopped.msg


def test_two_targets_with_their_own_chap_on_one_portal(tgt, store):
    # tgtd offers the newest target first, and iscsi-ls stops at the first that refuses its login:
    # the older target's LUNs are then found by asking each LUN number
    daemon = tgt()
    older = daemon.add_target("iqn.2026-12.test.poolcraft:older", [24 * MIB, 8 * MIB], chap=("older-user", "older-secret"))
    newer = daemon.add_target("iqn.2026-12.test.poolcraft:newer", [16 * MIB], chap=("newer-user", "newer-secret"))
    for target, name, account in ((older, "older", ("older-user", "older-secret")), (newer, "newer", ("newer-user", "newer-secret"))):
        args = pool_args(store, daemon, target.iqn, name=name, auth={"username": account[0], "secret": account[1]},
                         state="running", list_volumes=True)
        done = harness.converge("storage_pool", args, fingerprint(store, daemon))
        assert volumes_of(done.real["pool"]) == expected_volumes(daemon, target)
    assert daemon.fingerprint()["sessions"] == {older.iqn: 0, newer.iqn: 0}
