# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iscsi pools across a reboot of the test VM. Stage 0: a pool with CHAP (both ways) started with
autostart: true: its node record says node.startup = automatic and open-iscsi's boot units
(iscsid.socket, open-iscsi.service) are enabled. Stage 1, after the reboot: open-iscsi itself logged
in at boot (no module ran since: the live state under /run is empty), the pool reads as running
with its LUNs; autostart: false sets the record back to manual and disables the units it enabled;
then stop and undefine. The guest's open-iscsi database and units are as they were at the end, or
as soon as a stage fails (the next stage then skips).

The target is tgtd of the test's own (Target of test_storage_pool_iscsi_vm.py), a unit enabled
for the boot and ordered before open-iscsi's, set up from files kept under persist.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

import harness
from guest import sh, wait_booted
from test_storage_pool_iscsi_vm import (BY_PATH, IQN, LUN_SIZES, POOL, Guest, Target, auth_option, chap, clean_up,
                                        files_holding, iscsi_links, node_records, pool_args, remove_empty_dirs, sessions,
                                        unit_states)

RECORD = "/etc/iscsi/nodes/%s/127.0.0.1,3260,1/default" % IQN


class Stage(object):
    """One stage: skipped unless the one before passed; its clean up when it fails or is the last."""

    def __init__(self, number, persist, store):
        self.number = number
        self.persist = persist
        self.store = store
        persist.skip_unless_passed_before(number, last=1)
        self.target = Target(persist.file("target"))
        self.guest = Guest(store)

    def finish(self):
        """The guest as the test found it: no pool, no record, the boot units as they were."""
        try:
            clean_up(self.store, self.target)
            remove_empty_dirs()
            start = self.persist.load("start", None)
            if start is not None:
                assert node_records() == start["records"], node_records()
                assert unit_states() == start["units"], unit_states()
        finally:
            self.persist.clear()

    def run(self, body):
        self.persist.run_stage(self.number, body, self.finish)


@pytest.mark.reboot(stage=0)
def test_iscsi_autostart_before_reboot(persist, persistent_store):
    persist.clear()  # what a run cut short may have left
    stage = Stage(0, persist, persistent_store)
    login, mutual = chap("pcuser"), chap("pctarget")

    def body():
        start = {"records": node_records(), "units": unit_states(), "sessions": sessions()}
        assert not [line for line in start["sessions"] if line.startswith(IQN + " ")], start
        persist.save("start", start)
        # the test's own copy of the secrets, for the searches of stage 1 (the target has one too)
        persist.save("secrets", {"login": login, "mutual": mutual})
        os.chmod(persist.file("secrets.json"), 0o600)
        stage.target.write([{"tid": 1, "iqn": IQN, "luns": LUN_SIZES, "chap": login, "mutual": mutual}])
        stage.target.enable()
        stage.target.start()
        done = harness.converge("storage_pool", pool_args(persistent_store, auth_option(login, mutual), state="running",
                                                          autostart=True), stage.guest.fingerprint)
        actions = done.real.actions
        assert actions[0] == "define pool '%s' (iscsi, persistent)" % POOL, actions
        enabled = [unit for unit in sorted(start["units"]) if not start["units"][unit]]
        assert actions[1] == "enable autostart of pool '%s' (write the node record of %s at 127.0.0.1:3260, " \
            "node.startup = automatic%s)" % (POOL, IQN, "; enable %s at boot" % ", ".join(enabled) if enabled else ""), actions
        assert actions[2:] == ["start pool '%s'" % POOL], actions
        assert done.real["pool"]["state"] == "running" and done.real["pool"]["autostart"]
        with open(RECORD) as handle:
            text = handle.read()
        assert "node.startup = automatic\n" in text and "node.session.auth.password = %s\n" % login[1] in text
        assert stat.S_IMODE(os.stat(RECORD).st_mode) == 0o600
        units = unit_states()
        assert units["iscsid.socket"] and units["open-iscsi.service"], units
        persist.save("before", {"links": iscsi_links(), "volumes": done.real["pool"]["volume_count"]})
        # active as after a boot, so the shutdown logs the session out before the target stops;
        # otherwise the kernel waits out the session's 120 s recovery timeout at every reboot
        sh("systemctl", "start", "open-iscsi.service")
        assert sh("systemctl", "is-active", "open-iscsi.service", check=False) == "active"
    stage.run(body)


@pytest.mark.reboot(stage=1)
def test_iscsi_autostart_after_reboot(persist, persistent_store):
    stage = Stage(1, persist, persistent_store)

    def body():
        assert wait_booted() in ("running", "degraded")
        start, before = persist.load("start"), persist.load("before")
        secrets = persist.load("secrets")
        # open-iscsi logged in at boot; nothing of ours ran since (the live state under /run is empty)
        assert [line for line in sessions() if line.startswith(IQN + " ")] == ["%s 127.0.0.1:3260 default LOGGED_IN" % IQN]
        assert not os.listdir(persistent_store["runtime_dir"]) if os.path.isdir(persistent_store["runtime_dir"]) else True
        assert iscsi_links() == before["links"] and len(before["links"]) == 2, iscsi_links()
        seen = harness.run_module("storage_pool", dict(persistent_store, name=POOL, state="running", list_volumes=True))
        assert not seen.failed and not seen.changed and seen.actions == [], seen
        assert seen["pool"]["state"] == "running" and seen["pool"]["autostart"]
        volumes = seen["pool"]["volumes"]
        assert [vol["name"] for vol in volumes] == ["unit:0:0:1", "unit:0:0:2"]
        assert [vol["capacity"] for vol in volumes] == list(LUN_SIZES)
        assert all(vol["path"].startswith(BY_PATH + "/ip-127.0.0.1:3260-iscsi-") for vol in volumes), volumes

        # autostart off while it runs: the record says manual again, the units go back as they were
        done = harness.converge("storage_pool", dict(persistent_store, name=POOL, autostart=False), stage.guest.fingerprint)
        enabled = [unit for unit in sorted(start["units"]) if not start["units"][unit]]
        assert done.real.actions == [
            "disable autostart of pool '%s' (set node.startup = manual in the node record of %s at 127.0.0.1:3260%s)"
            % (POOL, IQN, "; disable %s at boot (enabled for autostart)" % ", ".join(enabled) if enabled else "")], \
            done.real.actions
        assert done.real["pool"]["state"] == "running" and not done.real["pool"]["autostart"]
        with open(RECORD) as handle:
            assert "node.startup = manual\n" in handle.read()
        assert unit_states() == start["units"]

        # stop: logout, and the record (with its secret) goes
        done = harness.converge("storage_pool", dict(persistent_store, name=POOL, state="stopped"), stage.guest.fingerprint)
        assert done.real.actions == ["stop pool '%s'" % POOL]
        assert not os.path.exists(RECORD)
        assert not [line for line in sessions() if line.startswith(IQN + " ")]
        done = harness.converge("storage_pool", dict(persistent_store, name=POOL, state="absent"), stage.guest.fingerprint)
        assert done.real.actions == ["undefine pool '%s'" % POOL]
        for secret in (secrets["login"][1], secrets["mutual"][1]):
            assert files_holding(secret, leave_out=[stage.target.script, persist.file("secrets.json")]) == []
            assert secret not in json.dumps([dict(seen), dict(done.real)])
    stage.run(body)
    stage.finish()
