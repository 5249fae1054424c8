# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iscsi pools in the test VM: the kernel initiator (open-iscsi) against a tgtd target of the
test's own on 127.0.0.1:3260, with CHAP both ways, within one boot. Start (discovery, the node
record, login, the LUNs' nodes and by-path links), the LUNs as volumes (unit:B:T:L, WWID keys,
by-path paths, capacities as the target was given them), LUN creation and deletion refused, a
wipe, stop refused while a LUN is mounted or open, stop, a pool of a target that lets in only one
initiator name (source.initiator), the refusals of a wrong secret, an unknown target and a closed
port, undefine. Every run of a module and every command our runner ran are kept: a unique secret
is found in none of them, nor in any file but the two 0600 files meant to hold it (open-iscsi's
node record, the store's secret file), and in no file at all at the end.

Target, Guest and the helpers are shared with test_storage_pool_iscsi_reboot_vm.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import secrets
import stat
import subprocess
import time

import pytest

import fingerprints
import harness
from guest import Holder, sh

from ansible_collections.poolcraft.storage.plugins.module_utils import _runner
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._iscsi import IscsiBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Auth, PoolDef, PoolSource

POOL = "iscsivm"
IQN = "iqn.2024-01.test.poolcraft:iscsivm"
IQN_ACL = "iqn.2024-01.test.poolcraft:iscsivm-acl"
INITIATOR = "iqn.2024-01.test.poolcraft:vm-initiator"
MIB = 1 << 20
LUN_SIZES = (64 * MIB, 32 * MIB)
ISCSI_DB = "/etc/iscsi"
BY_PATH = "/dev/disk/by-path"
TARGET_UNIT = "poolcraft-scenario-tgtd.service"
UNIT_DIR = "/etc/systemd/system"
BOOT_UNITS = ("iscsid.socket", "open-iscsi.service")
# where a secret may be written: every file of these trees is searched
SEARCHED = ("/etc", "/run", "/var", "/tmp", "/root", "/srv", "/home")


# -- the target: tgtd of the test's own, as a systemd unit --------------------------------------

class Target(object):
    """tgtd on 127.0.0.1:3260 as the unit TARGET_UNIT, set up by a script of tgtadm commands run
    when it starts (so a boot that starts the unit has the same target). The unit is ordered before
    open-iscsi's, so that a login at boot finds it. The script holds the target's CHAP secrets:
    it is 0600 and the secret searches leave it out (it is the target's, not ours)."""

    def __init__(self, directory):
        self.directory = directory
        self.script = os.path.join(directory, "tgtd-setup.sh")
        self.unit = os.path.join(UNIT_DIR, TARGET_UNIT)

    def backing(self, tid, lun):
        return os.path.join(self.directory, "t%d-lun%d.img" % (tid, lun))

    def write(self, targets):
        """targets: [{tid, iqn, luns: [size, ...] (LUN 1, 2 ...), chap: (user, secret) or None,
        mutual: (user, secret) or None, initiator: a name the target lets in alone, or None (all)}]."""
        os.makedirs(self.directory, exist_ok=True)
        lines = ["#!/bin/sh", "set -e", "i=0",
                 "until tgtadm --lld iscsi --op show --mode sys >/dev/null 2>&1; do",
                 "  i=$((i + 1)); [ $i -lt 600 ] || exit 1; sleep 0.1", "done"]
        for spec in targets:
            tid = spec["tid"]
            lines.append("tgtadm --lld iscsi --op new --mode target --tid %d -T %s" % (tid, spec["iqn"]))
            for lun, size in enumerate(spec["luns"], 1):
                path = self.backing(tid, lun)
                if not os.path.exists(path):
                    with open(path, "wb") as handle:
                        handle.truncate(size)
                lines.append("tgtadm --lld iscsi --op new --mode logicalunit --tid %d --lun %d -b %s" % (tid, lun, path))
            if spec.get("initiator"):
                lines.append("tgtadm --lld iscsi --op bind --mode target --tid %d --initiator-name %s" % (tid, spec["initiator"]))
            else:
                lines.append("tgtadm --lld iscsi --op bind --mode target --tid %d -I ALL" % tid)
            for key, outgoing in (("chap", False), ("mutual", True)):
                if spec.get(key):
                    user, secret = spec[key]
                    lines.append("tgtadm --lld iscsi --op new --mode account --user %s --password %s" % (user, secret))
                    lines.append("tgtadm --lld iscsi --op bind --mode account --tid %d --user %s%s"
                                 % (tid, user, " --outgoing" if outgoing else ""))
        fd = os.open(self.script, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        with open(self.unit, "w") as handle:
            handle.write("\n".join([
                "[Unit]", "Description=iSCSI target of a poolcraft scenario (tgtd on 127.0.0.1)",
                # ordered before open-iscsi.service only: before sysinit.target its start took 23 s
                "DefaultDependencies=no", "After=local-fs.target network.target",
                "Before=open-iscsi.service shutdown.target", "Conflicts=shutdown.target",
                "[Service]", "Type=simple", "ExecStart=/usr/sbin/tgtd -f --iscsi portal=127.0.0.1:3260",
                "ExecStartPost=/bin/sh %s" % self.script,
                # tgtd ignores SIGTERM
                "ExecStop=/usr/sbin/tgtadm --op delete --mode system", "TimeoutStopSec=20", "KillSignal=SIGKILL",
                "[Install]", "WantedBy=multi-user.target", ""]))
        sh("systemctl", "daemon-reload")

    def start(self):
        sh("systemctl", "start", TARGET_UNIT)

    def enable(self):
        sh("systemctl", "enable", "--quiet", TARGET_UNIT)

    def remove(self):
        """Stopped, not started at boot, its unit file gone."""
        subprocess.run(["systemctl", "disable", "--now", "--quiet", TARGET_UNIT], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        if os.path.exists(self.unit):
            os.unlink(self.unit)
        subprocess.run(["systemctl", "daemon-reload"], check=False)
        # killed with SIGKILL (tgtd ignores SIGTERM), systemd remembers it as failed
        subprocess.run(["systemctl", "reset-failed", TARGET_UNIT], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)

    def zeroed(self, tid, lun):
        """Whether the backing file of a LUN holds only zeros."""
        with open(self.backing(tid, lun), "rb") as handle:
            return all(chunk.count(0) == len(chunk) for chunk in iter(lambda: handle.read(MIB), b""))


# -- what the guest shows -----------------------------------------------------------------------

def _read(path):
    with open(path) as handle:
        return handle.read().strip()


def sessions():
    """'TARGET ADDRESS:PORT IFACE STATE' of each iSCSI session of the kernel."""
    found = []
    for name in sorted(os.listdir("/sys/class/iscsi_session")) if os.path.isdir("/sys/class/iscsi_session") else []:
        base = os.path.join("/sys/class/iscsi_session", name)
        conn_dir = [entry for entry in os.listdir(os.path.join(base, "device")) if entry.startswith("connection")]
        conn = os.path.join(base, "device", conn_dir[0], "iscsi_connection", conn_dir[0]) if conn_dir else None
        found.append("%s %s:%s %s %s" % (_read(os.path.join(base, "targetname")),
                                         _read(os.path.join(conn, "persistent_address")) if conn else "?",
                                         _read(os.path.join(conn, "persistent_port")) if conn else "?",
                                         _read(os.path.join(base, "ifacename")), _read(os.path.join(base, "state"))))
    return found


def iscsi_links():
    return sorted(name for name in os.listdir(BY_PATH) if "-iscsi-" in name) if os.path.isdir(BY_PATH) else []


def unit_states(units=BOOT_UNITS):
    """Where each unit is linked to start at boot (the .wants/ links under /etc/systemd/system; what
    `systemctl enable` makes), read from the links: a systemctl per fingerprint costs seconds under TCG."""
    found = dict((unit, []) for unit in units)
    for wants in sorted(os.listdir(UNIT_DIR)):
        if wants.endswith(".wants"):
            for unit in units:
                if os.path.lexists(os.path.join(UNIT_DIR, wants, unit)):
                    found[unit].append(wants)
    return found


def node_records():
    """{path: mode} of the files in open-iscsi's database (its config files left out)."""
    found = {}
    for top, _dirs, names in os.walk(ISCSI_DB):
        for name in names:
            path = os.path.join(top, name)
            if path not in (os.path.join(ISCSI_DB, "iscsid.conf"), os.path.join(ISCSI_DB, "initiatorname.iscsi")):
                found[path] = "%o" % stat.S_IMODE(os.lstat(path).st_mode)
    return found


def remove_empty_dirs(root=ISCSI_DB):
    """The directories open-iscsi made for records that are gone (nodes/, ifaces/, static/)."""
    for top, dirs, names in os.walk(root, topdown=False):
        if top != root and not dirs and not names:
            os.rmdir(top)


class Guest(object):
    """What an iscsi pool changes on the guest: sessions, links, records, boot units, the store."""

    def __init__(self, store):
        self.store = store

    def fingerprint(self):
        # the records' files, with their contents (a failed start makes a record and removes it again:
        # its directories' times change, the files are as before)
        records = dict((path, (mode, fingerprints.digest(path))) for path, mode in node_records().items())
        return {"sessions": sessions(), "links": iscsi_links(), "records": records,
                "units": unit_states(),
                "store": [fingerprints.tree(self.store[key]) for key in ("config_dir", "runtime_dir")]}


class Recorder(object):
    """Every module result and every command our runner ran, for the secret searches."""

    def __init__(self, monkeypatch):
        self.results = []
        self.commands = []
        self.times = []  # (seconds, what) of each module run
        real_run, real_module = _runner.Runner.run, harness.run_module
        recorder = self

        def run(runner, argv, data=None, env=None, check=True, timeout=None):
            recorder.commands.append({"argv": [str(arg) for arg in argv], "data": data, "env": env})
            return real_run(runner, argv, data=data, env=env, check=check, timeout=timeout)

        def run_module(name, args, check=False, diff=False):
            started = time.monotonic()
            result = real_module(name, args, check=check, diff=diff)
            recorder.results.append(dict(result))
            recorder.times.append((time.monotonic() - started, "%s %s%s: %s" % (
                name, args.get("name") or args.get("path"), " (check)" if check else "",
                "; ".join(result.get("actions") or []) or result.get("msg", "")[:60] or "no change")))
            return result

        monkeypatch.setattr(_runner.Runner, "run", run)
        monkeypatch.setattr(harness, "run_module", run_module)

    def assert_secret_nowhere(self, secret):
        assert self.results, "no module result was recorded"
        assert self.commands, "no command was recorded"
        for result in self.results:
            assert secret not in json.dumps(result), "a module result holds the secret: %r" % sorted(result)
        for command in self.commands:
            assert secret not in json.dumps(command), "a command holds the secret: %r" % command["argv"]


def files_holding(secret, leave_out=()):
    """Every file under SEARCHED whose bytes hold secret, but those of leave_out (directories or files)."""
    argv = ["grep", "-rlsF", "--devices=skip", "--", secret] + [path for path in SEARCHED if os.path.isdir(path)]
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, check=False).stdout
    left_out = tuple(os.path.realpath(path) for path in leave_out)
    return sorted(path for path in out.splitlines()
                  if path and not any(os.path.realpath(path) == out_path or os.path.realpath(path).startswith(out_path + "/")
                                      for out_path in left_out))


def chap(user):
    """A user and a secret no run has had before."""
    return user, "pc-" + secrets.token_hex(10)


def pool_args(store, auth=None, **extra):
    source = {"host": "127.0.0.1", "target": IQN}
    if auth:
        source["auth"] = auth
    source.update(extra.pop("source", {}))
    return dict(store, name=extra.pop("name", POOL), type="iscsi", source=source, **extra)


def auth_option(user_secret, mutual=None):
    auth = {"username": user_secret[0], "secret": user_secret[1]}
    if mutual:
        auth.update(mutual_username=mutual[0], mutual_secret=mutual[1])
    return auth


def udev_serial(node):
    """scsi_id's WWID of a disk (what libvirt keys an iscsi volume by), asked of scsi_id itself."""
    return sh("/lib/udev/scsi_id", "--whitelisted", "--replace-whitespace", "--device=%s" % node)


def clean_up(store, target, names=(POOL,)):
    """Whatever happened: our pools stopped and undefined, no session left to our targets, no record
    of them, the target gone. Best effort, every step."""
    for name in names:
        for args in (dict(state="stopped"), dict(state="absent")):
            harness.run_module("storage_pool", dict(store, name=name, **args))
    for line in sessions():
        iqn = line.split()[0]
        if iqn.startswith("iqn.2024-01.test.poolcraft:iscsivm"):
            subprocess.run(["iscsiadm", "-m", "node", "-T", iqn, "--logout"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False, timeout=120)
    for iqn in (IQN, IQN_ACL, IQN + "-nosuch"):
        subprocess.run(["iscsiadm", "-m", "node", "-o", "delete", "-T", iqn], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False, timeout=60)
    target.remove()
    subprocess.run(["udevadm", "settle", "--timeout=60"], check=False)


# -- the scenario -------------------------------------------------------------------------------

def test_iscsi_pool_life_cycle(scratch, store, units, monkeypatch, vm_report):
    units.watch()  # iscsid, started by iscsiadm's first login, is stopped at the end
    recorder = Recorder(monkeypatch)
    guest = Guest(store)
    target = Target(os.path.join(scratch, "target"))
    login, mutual = chap("pcuser"), chap("pctarget")
    other = chap("pcother")
    records_before, units_before = node_records(), unit_states()
    assert not [line for line in sessions() if IQN in line], sessions()
    target.write([{"tid": 1, "iqn": IQN, "luns": LUN_SIZES, "chap": login, "mutual": mutual},
                  {"tid": 2, "iqn": IQN_ACL, "luns": [16 * MIB], "initiator": INITIATOR}])
    passed = False
    try:
        target.start()
        auth = auth_option(login, mutual)

        # -- start: discovery, node record, login, the LUNs' links; check mode first -----------
        done = harness.converge("storage_pool", pool_args(store, auth, state="running"), guest.fingerprint)
        real = done.real
        assert real.actions == ["define pool '%s' (iscsi, persistent)" % POOL, "start pool '%s'" % POOL], real.actions
        pool = real["pool"]
        assert pool["state"] == "running" and not pool["autostart"]
        assert pool["target"]["path"] == BY_PATH
        assert pool["source"]["auth"]["secret"] == "********" and pool["source"]["auth"]["mutual_secret"] == "********"
        assert pool["capacity"] == sum(LUN_SIZES) and pool["volume_count"] == 2, pool
        assert done.check["diff"]["after"]["state"] == "running"
        assert [line for line in sessions() if line.startswith(IQN + " ")] == ["%s 127.0.0.1:3260 default LOGGED_IN" % IQN]

        # the record: one, 0600, with the CHAP block in it; autostart off: manual
        records = dict((path, mode) for path, mode in node_records().items() if path not in records_before)
        record = os.path.join(ISCSI_DB, "nodes", IQN, "127.0.0.1,3260,1", "default")
        assert record in records and records[record] == "600", records
        with open(record) as handle:
            text = handle.read()
        assert "node.session.auth.password = %s\n" % login[1] in text
        assert "node.session.auth.password_in = %s\n" % mutual[1] in text
        assert "node.session.auth.username_in = %s\n" % mutual[0] in text
        assert "node.startup = manual\n" in text

        # -- the LUNs as volumes ---------------------------------------------------------------
        listed = harness.run_module("storage_pool", dict(store, name=POOL, list_volumes=True))
        volumes = listed["pool"]["volumes"]
        assert [vol["name"] for vol in volumes] == ["unit:0:0:1", "unit:0:0:2"], volumes
        for vol, size, lun in zip(volumes, LUN_SIZES, (1, 2)):
            assert vol["path"] == "%s/ip-127.0.0.1:3260-iscsi-%s-lun-%d" % (BY_PATH, IQN, lun), vol
            node = os.path.realpath(vol["path"])
            assert node.startswith("/dev/sd") and os.path.exists(node), vol
            assert vol["key"] == udev_serial(node), vol
            assert vol["capacity"] == size and vol["allocation"] == size and vol["type"] == "block", vol
            assert int(sh("blockdev", "--getsize64", node)) == size
        lun1, lun2 = volumes
        fingerprint = guest.fingerprint

        seen = harness.unchanged("storage_volume", dict(store, pool=POOL, name="unit:0:0:1"), fingerprint)
        assert seen["volume"]["key"] == lun1["key"] and seen["volume"]["path"] == lun1["path"]
        by_path = harness.unchanged("storage_volume", dict(store, path=lun2["path"]), fingerprint)
        assert by_path["volume"]["name"] == "unit:0:0:2"
        harness.refused("storage_volume", dict(store, pool=POOL, name="unit:0:0:7", capacity="8M"), fingerprint,
                        "cannot create volume 'unit:0:0:7'", "target")
        harness.refused("storage_volume", dict(store, pool=POOL, name="unit:0:0:1", state="absent"), fingerprint,
                        "cannot delete volume 'unit:0:0:1'", "target")
        harness.refused("storage_volume", dict(store, pool=POOL, name="unit:0:0:1", state="absent", wipe="zero"),
                        fingerprint, "cannot delete volume 'unit:0:0:1'")
        harness.refused("storage_volume", dict(store, pool=POOL, name="unit:0:0:2", capacity="48M"), fingerprint,
                        "cannot resize volume 'unit:0:0:2'")

        # -- wipe: the LUN overwritten, through the backend (storage_volume has no wipe of a kept volume)
        sh("dd", "if=/dev/urandom", "of=%s" % lun2["path"], "bs=1M", "count=4", "seek=8", "oflag=direct", "status=none")
        assert not target.zeroed(1, 2)
        definition = PoolDef(name=POOL, type="iscsi", uuid=pool["uuid"], target_path=BY_PATH,
                             source=PoolSource(host="127.0.0.1", target=IQN, auth=Auth(login[0], login[1], mutual[0], mutual[1])))
        backend = IscsiBackend(_runner.Runner())
        volume = backend.get_volume(definition, "unit:0:0:2")
        holder = Holder(lun2["path"])
        try:
            with pytest.raises(StorageError) as refused:
                backend.plan_wipe_volume(definition, volume, "zero")
            assert "in use" in str(refused.value) and "open by" in str(refused.value), refused.value
        finally:
            holder.end()
        wipe = backend.plan_wipe_volume(definition, volume, "zero")
        assert [action.description for action in wipe] == ["wipe (zero) volume 'unit:0:0:2' (%s)" % lun2["path"]]
        for action in wipe:
            action.apply()
        assert target.zeroed(1, 2), "the LUN's backing file is not all zeros after the wipe"

        # -- stop refused while a LUN is mounted, or open ------------------------------------------
        mnt = os.path.join(scratch, "mnt")
        os.mkdir(mnt)
        sh("mkfs.ext4", "-q", "-F", lun1["path"])
        sh("mount", lun1["path"], mnt)
        try:
            harness.refused("storage_pool", dict(store, name=POOL, state="stopped"), fingerprint,
                            "LUNs in use", "unit:0:0:1", "mounted at %s" % mnt)
        finally:
            sh("umount", mnt)
        holder = Holder(lun1["path"])
        try:
            harness.refused("storage_pool", dict(store, name=POOL, state="stopped"), fingerprint,
                            "LUNs in use", "open by %d (sleep)" % holder.proc.pid)
        finally:
            holder.end()
        sh("wipefs", "--all", "--quiet", lun1["path"])

        # the secret is in the record and the store's secret file, both 0600, and nowhere else
        holding = files_holding(login[1], leave_out=[target.script])
        assert holding == sorted([record, os.path.join(store["config_dir"], POOL + ".secret")]), holding
        assert all(stat.S_IMODE(os.stat(path).st_mode) == 0o600 for path in holding), holding
        assert files_holding(mutual[1], leave_out=[target.script]) == holding

        # -- stop: logout, the record goes (no autostart), the links go -------------------------------
        done = harness.converge("storage_pool", dict(store, name=POOL, state="stopped"), fingerprint)
        assert done.real.actions == ["stop pool '%s'" % POOL], done.real.actions
        assert done.real["pool"]["state"] == "stopped"
        assert not [line for line in sessions() if line.startswith(IQN + " ")]
        assert not [name for name in iscsi_links() if IQN in name]
        assert not os.path.exists(record)

        # -- an initiator name of the pool's own: the only one the second target lets in ------------
        acl = pool_args(store, name=POOL + "-acl", source={"target": IQN_ACL, "initiator": INITIATOR}, state="running")
        denied = dict(acl, name=POOL + "-denied", source={"host": "127.0.0.1", "target": IQN_ACL})
        # with the host's own initiator name, tgtd does not even offer the target to discovery (asked
        # only at apply: iscsiadm's discovery starts iscsid, which check mode must not)
        harness.refused("storage_pool", denied, fingerprint, "does not offer target %s" % IQN_ACL, check=False)
        done = harness.converge("storage_pool", acl, fingerprint)
        assert done.real["pool"]["volume_count"] == 1 and done.real["pool"]["capacity"] == 16 * MIB
        iface = [line for line in sessions() if line.startswith(IQN_ACL + " ")]
        assert len(iface) == 1 and iface[0].split()[2].startswith("poolcraft-"), iface
        acl_session = next(name for name in os.listdir("/sys/class/iscsi_session")
                           if _read("/sys/class/iscsi_session/%s/targetname" % name) == IQN_ACL)
        assert _read("/sys/class/iscsi_session/%s/initiatorname" % acl_session) == INITIATOR
        done = harness.converge("storage_pool", dict(store, name=POOL + "-acl", state="absent"), fingerprint)
        assert done.real.actions == ["stop pool '%s-acl'" % POOL, "undefine pool '%s-acl'" % POOL], done.real.actions
        assert not [path for path in node_records() if path not in records_before], node_records()

        # -- refusals in one line, nothing left behind ------------------------------------------------
        bad = pool_args(store, auth_option(other, None), name=POOL + "-bad", state="running")
        # a wrong secret shows only at login: check mode cannot know it
        result = harness.refused("storage_pool", bad, fingerprint, "CHAP", IQN, "127.0.0.1:3260", check=False)
        assert other[1] not in result.msg
        harness.refused("storage_pool", pool_args(store, name=POOL + "-nosuch", source={"target": IQN + "-nosuch"},
                                                  state="running"), fingerprint, "does not offer target %s-nosuch" % IQN,
                        check=False)
        harness.refused("storage_pool", pool_args(store, name=POOL + "-closed", source={"port": 3262}, state="running"),
                        fingerprint, "127.0.0.1:3262", "cannot connect")

        # -- undefine ----------------------------------------------------------------------------------
        done = harness.converge("storage_pool", dict(store, name=POOL, state="absent"), fingerprint)
        assert done.real.actions == ["undefine pool '%s'" % POOL], done.real.actions
        assert fingerprints.tree(store["config_dir"]) == [] or not [
            entry for entry in fingerprints.tree(store["config_dir"]) if POOL in entry.split("|")[0]]
        passed = True
    finally:
        clean_up(store, target, names=(POOL, POOL + "-acl", POOL + "-denied", POOL + "-bad",
                                       POOL + "-nosuch", POOL + "-closed"))
        remove_empty_dirs()
    # the secrets: in no result, no command, no file
    for secret in (login[1], mutual[1], other[1]):
        recorder.assert_secret_nowhere(secret)
        assert files_holding(secret, leave_out=[target.script]) == []
    assert node_records() == records_before
    assert unit_states() == units_before
    vm_report.append("iscsi: %d module runs (%.1f s), %d commands, secrets in none; slowest:" % (
        len(recorder.results), sum(seconds for seconds, _what in recorder.times), len(recorder.commands)))
    vm_report.extend("  %.1f s %s" % item for item in sorted(recorder.times, reverse=True)[:6])
    assert passed
