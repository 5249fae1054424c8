# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool with dir pools: running -> stopped -> present (stays stopped) -> running -> present
(stays running); autostart on and off (the libvirt-style symlink); what a reboot (an emptied
runtime_dir) does to pools with and without autostart.

Ported from tests/integration/targets/storage_pool_dir/tasks/lifecycle.yml (which ran on the p1
that define.yml and build.yml left: built with permissions, running; made here the same way)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import fingerprints
import harness


def storage_pool(store, check=False, diff=False, **args):
    """storage_pool with the test's store (conftest's module fixture cannot take name=: its own
    first parameter is called name)."""
    return harness.run_module("storage_pool", dict(store, **args), check=check, diff=diff)


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def reboot(rundir, name):
    """Empty the runtime directory of a pool, as a reboot empties /run."""
    for suffix in (".xml", ".stopped"):
        if os.path.lexists(os.path.join(rundir, name + suffix)):
            os.unlink(os.path.join(rundir, name + suffix))


def test_lifecycle_autostart_reboot(scratch, store):
    pools = os.path.join(scratch, "pools")
    os.mkdir(pools, 0o755)
    cfg, rundir, path = store["config_dir"], store["runtime_dir"], pools + "/p1"
    fingerprint = fingerprints.combine(files=lambda: fingerprints.tree(scratch))
    made = storage_pool(store, name="p1", type="dir", build=True, state="running", target={
        "path": path, "permissions": {"mode": "0750", "owner": "4242", "group": "4243"}})
    assert not made.failed and made.changed and made["pool"]["state"] == "running"
    p1_uuid = made["pool"]["uuid"]

    # stop p1: live status gone, stopped mark made, definition and directory kept
    done = harness.converge("storage_pool", dict(store, name="p1", state="stopped"), fingerprint)
    assert done.real.actions == ["stop pool 'p1'"]
    assert done.check["diff"]["before"]["state"] == "running"
    assert done.check["diff"]["after"]["state"] == "stopped"
    assert done.real["pool"]["state"] == "stopped"
    assert done.real["pool"]["capacity"] is None
    assert done.real["pool"]["volume_count"] is None
    assert done.real["pool"]["uuid"] == p1_uuid
    assert not os.path.lexists(rundir + "/p1.xml")
    assert os.path.lexists(rundir + "/p1.stopped")
    assert os.path.lexists(cfg + "/p1.xml")
    assert os.path.isdir(path) and not os.path.islink(path)

    # state present does not start a stopped pool
    present_stopped = storage_pool(store, name="p1", state="present")
    assert not present_stopped.failed and not present_stopped.changed
    assert present_stopped["pool"]["state"] == "stopped"

    # start p1 (already built, so no build needed)
    done = harness.converge("storage_pool", dict(store, name="p1", state="running"), fingerprint)
    assert done.real.actions == ["start pool 'p1'"]
    assert done.check["diff"]["before"]["state"] == "stopped"
    assert done.check["diff"]["after"]["state"] == "running"
    assert done.real["pool"]["state"] == "running"
    assert is_int(done.real["pool"]["capacity"])
    assert done.real["pool"]["volume_count"] == 0

    # state present does not stop a running pool
    present_running = storage_pool(store, name="p1", state="present")
    assert not present_running.failed and not present_running.changed
    assert present_running["pool"]["state"] == "running"

    # autostart: a relative symlink to ../p1.xml, as libvirt makes it
    done = harness.converge("storage_pool", dict(store, name="p1", autostart=True), fingerprint)
    assert done.real.actions == ["enable autostart of pool 'p1'"]
    assert not done.check["diff"]["before"]["autostart"]
    assert done.check["diff"]["after"]["autostart"]
    assert done.real["pool"]["autostart"]
    assert done.real["pool"]["state"] == "running"
    link = cfg + "/autostart/p1.xml"
    assert os.path.islink(link)
    assert os.readlink(link) == "../p1.xml"
    assert os.stat(link).st_ino == os.stat(cfg + "/p1.xml").st_ino

    # reboot: an autostart pool whose directory exists comes up running
    reboot(rundir, "p1")
    rebooted = storage_pool(store, name="p1")
    assert not rebooted.failed and not rebooted.changed
    assert rebooted["pool"]["state"] == "running"
    assert rebooted["pool"]["autostart"]
    assert is_int(rebooted["pool"]["capacity"])

    # autostart off: the link is gone, the definition kept; a running pool is not stopped
    done = harness.converge("storage_pool", dict(store, name="p1", autostart=False, state="running"), fingerprint)
    assert done.real.actions == ["disable autostart of pool 'p1'"]
    assert done.check["diff"]["before"]["autostart"]
    assert not done.check["diff"]["after"]["autostart"]
    assert not done.real["pool"]["autostart"]
    assert done.real["pool"]["state"] == "running"
    assert not os.path.lexists(link)
    assert os.path.exists(cfg + "/p1.xml")

    # reboot again: without autostart the pool is stopped
    reboot(rundir, "p1")
    rebooted = storage_pool(store, name="p1")
    assert not rebooted.failed
    assert rebooted["pool"]["state"] == "stopped"
    assert not rebooted["pool"]["autostart"]

    # and starts again
    started = storage_pool(store, name="p1", state="running")
    assert not started.failed and started.changed
    assert started["pool"]["state"] == "running"
