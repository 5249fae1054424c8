# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool with dir pools: state present defines a pool (stopped, not built); the uuid is
generated once and kept; an explicit uuid is used (normalised); uuid alone finds a pool.

Ported from tests/integration/targets/storage_pool_dir/tasks/define.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import fingerprints
import harness

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NO_PERMISSIONS = {"mode": None, "owner": None, "group": None, "label": None}


def storage_pool(store, check=False, diff=False, **args):
    """storage_pool with the test's store (conftest's module fixture cannot take name=: its own
    first parameter is called name)."""
    return harness.run_module("storage_pool", dict(store, **args), check=check, diff=diff)


def test_define_uuid_lookup_undefine(scratch, store, pool_schema):
    assert os.geteuid() == 0, "the dir pool scenarios need root (pool directories are given to other owners)"
    pools = os.path.join(scratch, "pools")
    os.mkdir(pools, 0o755)
    cfg, rundir = store["config_dir"], store["runtime_dir"]
    fingerprint = fingerprints.combine(files=lambda: fingerprints.tree(scratch))

    # define p1
    done = harness.converge("storage_pool", dict(store, name="p1", type="dir", target={"path": pools + "/p1"}), fingerprint)
    after = done.check["diff"]["after"]
    pool = done.real["pool"]
    assert done.check["diff"]["before"] == {"state": "absent"}
    assert after["name"] == "p1"
    assert after["type"] == "dir"
    assert after["state"] == "stopped"
    assert after["persistent"]
    assert not after["autostart"]
    assert after["target"]["path"] == pools + "/p1"
    assert UUID_RE.match(after["uuid"])
    # check mode returns the pool as it was found: not there
    assert done.check["pool"] == {"name": "p1", "state": "absent"}
    assert done.real.actions == ["define pool 'p1' (dir, persistent)"]
    assert done.real["diff"]["before"] == {"state": "absent"}
    assert done.real["diff"]["after"]["name"] == "p1"
    assert pool["name"] == "p1"
    assert pool["type"] == "dir"
    assert pool["state"] == "stopped"
    assert pool["persistent"]
    assert not pool["autostart"]
    assert UUID_RE.match(pool["uuid"])
    assert pool["target"]["path"] == pools + "/p1"
    assert pool["target"]["permissions"] == NO_PERMISSIONS
    # stopped: no sizes
    assert pool["capacity"] is None
    assert pool["allocation"] is None
    assert pool["available"] is None
    assert pool["volume_count"] is None
    assert "volumes" not in pool
    # the uuid is made once and kept
    assert done.again["pool"]["uuid"] == pool["uuid"]
    assert done.recheck["pool"]["uuid"] == pool["uuid"]

    # only the definition (and the stopped mark) exist; nothing is built
    assert os.path.isfile(cfg + "/p1.xml") and not os.path.islink(cfg + "/p1.xml")
    assert not os.path.lexists(cfg + "/autostart/p1.xml")
    assert not os.path.lexists(rundir + "/p1.xml")
    assert os.path.lexists(rundir + "/p1.stopped")
    assert not os.path.lexists(pools + "/p1")
    pool_schema(cfg + "/p1.xml")
    # the file is what the module returns, with name, uuid and path
    with open(cfg + "/p1.xml", encoding="utf-8") as handle:
        text = handle.read()
    assert text == pool["xml"]
    assert '<pool type="dir">' in text
    assert "<name>p1</name>" in text
    assert "<uuid>%s</uuid>" % pool["uuid"] in text
    assert "<path>%s/p1</path>" % pools in text
    p1_uuid = pool["uuid"]

    # define p2 with an explicit uuid (upper case, as some tools print them): used, normalised
    p2_uuid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    done = harness.converge("storage_pool", dict(store, name="p2", uuid=p2_uuid.upper(), type="dir",
                                                 target={"path": pools + "/p2"}), fingerprint)
    assert done.check["diff"]["after"]["uuid"] == p2_uuid
    assert done.real["pool"]["uuid"] == p2_uuid
    assert done.again["pool"]["uuid"] == p2_uuid
    pool_schema(cfg + "/p2.xml")

    # lookup by uuid alone (p1's without dashes too) finds the pool and changes nothing
    by_uuid = storage_pool(store, uuid=p2_uuid)
    by_uuid_p1 = storage_pool(store, uuid=p1_uuid.replace("-", ""))
    assert not by_uuid.failed and not by_uuid.changed
    assert by_uuid["pool"]["name"] == "p2"
    assert by_uuid["pool"]["target"]["path"] == pools + "/p2"
    assert not by_uuid_p1.failed and not by_uuid_p1.changed
    assert by_uuid_p1["pool"]["name"] == "p1"
    assert by_uuid_p1["pool"]["uuid"] == p1_uuid

    # name and matching uuid together change nothing
    name_and_uuid = storage_pool(store, name="p1", uuid=p1_uuid)
    assert not name_and_uuid.failed and not name_and_uuid.changed
    assert name_and_uuid["pool"]["uuid"] == p1_uuid

    # undefine p2 by its uuid alone
    done = harness.converge("storage_pool", dict(store, uuid=p2_uuid, state="absent"), fingerprint)
    assert done.real.actions == ["undefine pool 'p2'"]
    assert done.real["pool"] == {"name": "p2", "state": "absent"}
    assert done.check["diff"]["before"]["name"] == "p2"
    assert done.check["diff"]["after"] == {"state": "absent"}
    assert not os.path.lexists(cfg + "/p2.xml")
