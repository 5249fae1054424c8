# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool with dir pools: a transient pool (persistent false, state running) lives only in
runtime_dir and is gone with state absent (its directory is kept); a persistent pool becomes
transient and back.

Ported from tests/integration/targets/storage_pool_dir/tasks/transient.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import fingerprints
import harness

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def storage_pool(store, check=False, diff=False, **args):
    """storage_pool with the test's store (conftest's module fixture cannot take name=: its own
    first parameter is called name)."""
    return harness.run_module("storage_pool", dict(store, **args), check=check, diff=diff)


def is_file(path):
    return os.path.isfile(path) and not os.path.islink(path)


def is_dir(path):
    return os.path.isdir(path) and not os.path.islink(path)


def test_transient_pool(scratch, store, pool_schema):
    pools = os.path.join(scratch, "pools")
    os.mkdir(pools, 0o755)
    cfg, rundir = store["config_dir"], store["runtime_dir"]
    fingerprint = fingerprints.combine(files=lambda: fingerprints.tree(scratch))

    done = harness.converge("storage_pool", dict(store, name="t1", type="dir", target={"path": pools + "/t1"}, build=True,
                                                 persistent=False, state="running"), fingerprint)
    assert done.real.actions == ["define pool 't1' (dir, transient)",
                                 "build pool 't1' (create %s/t1)" % pools,
                                 "start pool 't1'"]
    assert done.check["diff"]["before"] == {"state": "absent"}
    assert not done.check["diff"]["after"]["persistent"]
    assert done.check["diff"]["after"]["state"] == "running"
    assert not done.real["pool"]["persistent"]
    assert not done.real["pool"]["autostart"]
    assert done.real["pool"]["state"] == "running"
    assert UUID_RE.match(done.real["pool"]["uuid"])
    assert done.real["pool"]["volume_count"] == 0
    assert done.again["pool"]["uuid"] == done.real["pool"]["uuid"]
    # nothing in config_dir, only the live definition in runtime_dir
    assert not os.path.lexists(cfg + "/t1.xml")
    assert not os.path.lexists(cfg + "/autostart/t1.xml")
    assert not os.path.lexists(rundir + "/t1.stopped")
    assert is_file(rundir + "/t1.xml")
    assert is_dir(pools + "/t1")
    pool_schema(rundir + "/t1.xml")

    # state absent: gone from runtime_dir, the directory kept
    done = harness.converge("storage_pool", dict(store, name="t1", state="absent"), fingerprint)
    assert done.real.actions == ["stop pool 't1'", "undefine pool 't1'"]
    assert done.check["diff"]["before"]["state"] == "running"
    assert done.check["diff"]["after"] == {"state": "absent"}
    assert done.real["pool"] == {"name": "t1", "state": "absent"}
    assert not os.path.lexists(rundir + "/t1.xml")
    assert not os.path.lexists(rundir + "/t1.stopped")
    assert not os.path.lexists(cfg + "/t1.xml")
    assert is_dir(pools + "/t1")

    # a persistent pool, running, autostart
    p3 = storage_pool(store, name="p3", type="dir", target={"path": pools + "/p3"}, build=True, state="running", autostart=True)
    assert not p3.failed and p3.changed
    assert p3["pool"]["persistent"]
    assert p3["pool"]["autostart"]
    assert p3["pool"]["state"] == "running"

    # made transient: definition and autostart link gone, live definition there
    done = harness.converge("storage_pool", dict(store, name="p3", persistent=False, state="running"), fingerprint)
    assert done.real.actions[0] == "update definition of pool 'p3' (make transient)"
    # dropping the autostart that a transient pool cannot have may be reported too
    assert [action for action in done.real.actions[1:] if not action.startswith("disable autostart of pool 'p3'")] == []
    assert done.check["diff"]["before"]["persistent"]
    assert done.check["diff"]["before"]["autostart"]
    assert not done.check["diff"]["after"]["persistent"]
    assert not done.check["diff"]["after"]["autostart"]
    assert done.check["diff"]["after"]["state"] == "running"
    assert not done.real["pool"]["persistent"]
    assert not done.real["pool"]["autostart"]
    assert done.real["pool"]["state"] == "running"
    assert done.real["pool"]["uuid"] == p3["pool"]["uuid"]
    assert not os.path.lexists(cfg + "/p3.xml")
    assert not os.path.lexists(cfg + "/autostart/p3.xml")
    assert is_file(rundir + "/p3.xml")
    pool_schema(rundir + "/p3.xml")

    # made persistent again: the definition is back
    done = harness.converge("storage_pool", dict(store, name="p3", persistent=True, state="running"), fingerprint)
    assert done.real.actions == ["update definition of pool 'p3' (make persistent)"]
    assert done.real["pool"]["persistent"]
    assert not done.real["pool"]["autostart"]
    assert done.real["pool"]["state"] == "running"
    assert done.real["pool"]["uuid"] == p3["pool"]["uuid"]
    assert is_file(cfg + "/p3.xml")
