# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool with dir pools: state absent stops and undefines, keeping the directory; with purge
it also removes the (empty) directory; a pool that still holds volumes is refused, with their
number, and nothing is changed.

Ported from tests/integration/targets/storage_pool_dir/tasks/absent.yml (which ran on the p1 of
build.yml and lifecycle.yml and the p4 of sizes.yml; made here the same way)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import fingerprints
import harness


def storage_pool(store, check=False, diff=False, **args):
    """storage_pool with the test's store (conftest's module fixture cannot take name=: its own
    first parameter is called name)."""
    return harness.run_module("storage_pool", dict(store, **args), check=check, diff=diff)


def made(result):
    assert not result.failed and result.changed, result.msg
    return result


def command(*argv):
    proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, "%s: %s" % (" ".join(argv), proc.stdout)


def test_absent_and_purge(scratch, store):
    assert os.geteuid() == 0, "the dir pool scenarios need root (pool directories are given to other owners)"
    pools = os.path.join(scratch, "pools")
    os.mkdir(pools, 0o755)
    cfg, rundir = store["config_dir"], store["runtime_dir"]
    fingerprint = fingerprints.combine(files=lambda: fingerprints.tree(scratch))
    # p1 as build.yml and lifecycle.yml leave it: built with permissions, autostart on and off, running
    made(storage_pool(store, name="p1", type="dir", build=True, state="running", autostart=True, target={
        "path": pools + "/p1", "permissions": {"mode": "0750", "owner": "4242", "group": "4243"}}))
    made(storage_pool(store, name="p1", autostart=False))
    # p4 as sizes.yml leaves it: two volumes and three entries that are not volumes, stopped
    p4 = pools + "/p4"
    made(storage_pool(store, name="p4", type="dir", target={"path": p4}, build=True, state="running"))
    command("truncate", "-s", "1M", p4 + "/a.img")
    command("qemu-img", "create", "-q", "-f", "qcow2", p4 + "/b.qcow2", "2M")
    os.mkdir(p4 + "/sub", 0o755)
    os.close(os.open(p4 + "/.poolcraft-tmp-c.img", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    os.symlink("a.img", p4 + "/link.img")
    made(storage_pool(store, name="p4", state="stopped"))

    # remove p1 (without purge): every file of the definition gone, the directory kept as it was
    done = harness.converge("storage_pool", dict(store, name="p1", state="absent"), fingerprint)
    assert done.real.actions == ["stop pool 'p1'", "undefine pool 'p1'"]
    assert done.check["diff"]["before"]["name"] == "p1"
    assert done.check["diff"]["after"] == {"state": "absent"}
    assert done.real["pool"] == {"name": "p1", "state": "absent"}
    gone = [cfg + "/p1.xml", cfg + "/autostart/p1.xml", rundir + "/p1.xml", rundir + "/p1.stopped"]
    assert [os.path.lexists(path) for path in gone] == [False, False, False, False]
    assert os.path.isdir(pools + "/p1") and not os.path.islink(pools + "/p1")
    st = os.lstat(pools + "/p1")
    assert oct(st.st_mode & 0o7777) == oct(0o750)
    assert st.st_uid == 4242

    # purge p5, running and empty: directory and definition gone
    made(storage_pool(store, name="p5", type="dir", target={"path": pools + "/p5"}, build=True, state="running", autostart=True))
    done = harness.converge("storage_pool", dict(store, name="p5", state="absent", purge=True), fingerprint)
    assert done.real.actions == ["stop pool 'p5'",
                                 "delete the storage of pool 'p5' (%s/p5)" % pools,
                                 "undefine pool 'p5'"]
    assert done.real["pool"] == {"name": "p5", "state": "absent"}
    gone = [pools + "/p5", cfg + "/p5.xml", cfg + "/autostart/p5.xml", rundir + "/p5.xml"]
    assert [os.path.lexists(path) for path in gone] == [False, False, False, False]

    # purge of p4, running again and holding two volumes: refused with their number, in check mode
    # and for real, and nothing changed
    made(storage_pool(store, name="p4", state="running"))
    harness.refused("storage_pool", dict(store, name="p4", state="absent", purge=True), fingerprint, "'p4'", "2 volumes")
    after = storage_pool(store, name="p4")
    assert not after.failed and not after.changed
    assert after["pool"]["state"] == "running"
    assert after["pool"]["volume_count"] == 2
