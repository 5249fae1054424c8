# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool with dir pools: build makes the target directory with the permissions of the
definition; state running starts the pool; later drift of the directory's mode/owner/group is put
back (and reported as a change).

Ported from tests/integration/targets/storage_pool_dir/tasks/build.yml (which ran on the p1 that
define.yml left: defined, stopped, not built; made here the same way)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import fingerprints
import harness

# ids given to the pool directory; they need not exist as users or groups on the host
TEST_UID = 4242
TEST_GID = 4243


def storage_pool(store, check=False, diff=False, **args):
    """storage_pool with the test's store (conftest's module fixture cannot take name=: its own
    first parameter is called name)."""
    return harness.run_module("storage_pool", dict(store, **args), check=check, diff=diff)


def test_build_permissions_drift(scratch, store, pool_schema):
    assert os.geteuid() == 0, "the dir pool scenarios need root (pool directories are given to other owners)"
    pools = os.path.join(scratch, "pools")
    os.mkdir(pools, 0o755)
    cfg, rundir, path = store["config_dir"], store["runtime_dir"], pools + "/p1"
    fingerprint = fingerprints.combine(files=lambda: fingerprints.tree(scratch))
    defined = storage_pool(store, name="p1", type="dir", target={"path": path})
    assert not defined.failed and defined.changed and defined["pool"]["state"] == "stopped"
    p1_uuid = defined["pool"]["uuid"]

    # build and start p1 with permissions
    p1_built = dict(store, name="p1", build=True, state="running", target={
        "path": path, "permissions": {"mode": "0750", "owner": str(TEST_UID), "group": str(TEST_GID)}})
    done = harness.converge("storage_pool", p1_built, fingerprint)
    pool = done.real["pool"]
    assert len(done.real.actions) == 3
    assert re.match(r"update definition of pool 'p1' \((target\.)?permissions\)$", done.real.actions[0])
    assert done.real.actions[1] == "build pool 'p1' (create %s)" % path
    assert done.real.actions[2] == "start pool 'p1'"
    assert done.check["diff"]["before"]["state"] == "stopped"
    assert done.check["diff"]["after"]["state"] == "running"
    assert done.check["diff"]["after"]["target"]["permissions"]["mode"] == "0750"
    assert pool["state"] == "running"
    assert pool["uuid"] == p1_uuid
    assert pool["target"]["permissions"] == {"mode": "0750", "owner": TEST_UID, "group": TEST_GID, "label": None}
    for size in ("capacity", "allocation", "available"):
        assert isinstance(pool[size], int) and not isinstance(pool[size], bool), (size, pool[size])
    assert pool["capacity"] > 0
    assert pool["capacity"] >= pool["allocation"]
    assert pool["capacity"] >= pool["available"]
    assert pool["volume_count"] == 0
    assert "volumes" not in pool

    # the directory, made with mode, owner and group
    st = os.lstat(path)
    assert os.path.isdir(path) and not os.path.islink(path)
    assert oct(st.st_mode & 0o7777) == oct(0o750)
    assert st.st_uid == TEST_UID
    assert st.st_gid == TEST_GID
    # running: the live status is written and the stopped mark gone
    assert os.path.isfile(rundir + "/p1.xml") and not os.path.islink(rundir + "/p1.xml")
    assert not os.path.lexists(rundir + "/p1.stopped")
    # definition and live status are valid pool XML
    pool_schema(cfg + "/p1.xml")
    pool_schema(rundir + "/p1.xml")
    # the live status has the sizes, the definition the permissions
    with open(rundir + "/p1.xml", encoding="utf-8") as handle:
        status = handle.read()
    assert '<capacity unit="bytes">' in status
    assert '<available unit="bytes">' in status
    assert "<mode>0750</mode>" in pool["xml"]
    assert "<owner>%d</owner>" % TEST_UID in pool["xml"]

    # drift of mode, owner and group, made by hand, is put back as one action
    os.chmod(path, 0o777)
    os.chown(path, 0, 0)
    done = harness.converge("storage_pool", p1_built, fingerprint)
    assert done.real.actions == ["set mode/owner/group of %s" % path]
    assert done.real["pool"]["uuid"] == p1_uuid
    st = os.lstat(path)
    assert oct(st.st_mode & 0o7777) == oct(0o750)
    assert st.st_uid == TEST_UID
    assert st.st_gid == TEST_GID

    # drift of the mode only: one action, only the mode
    os.chmod(path, 0o700)
    mode_fix = harness.run_module("storage_pool", p1_built)
    assert not mode_fix.failed and mode_fix.changed
    assert mode_fix.actions == ["set mode of %s" % path]

    # permissions dropped from the task: the stored ones are kept and applied
    no_perms = storage_pool(store, name="p1")
    assert not no_perms.failed and not no_perms.changed
    assert no_perms["pool"]["target"]["permissions"]["mode"] == "0750"
