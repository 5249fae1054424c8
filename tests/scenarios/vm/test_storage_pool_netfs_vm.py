# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netfs pools in the test VM, against the guest's own NFS server (nfs-kernel-server) exporting to
127.0.0.1, within one boot:

- NFS 4.2 and 3 mounts with mount_options, as /proc/mounts shows them (vers=, the options);
  build makes the mount point, start mounts, stop unmounts; stop refused while a volume is open;
  force: true stops with a lazy unmount while it is open; autostart is a marked _netdev,nofail
  entry in an fstab of the test's own, removed (the file byte for byte as before) by autostart: false;
- root_squash and all_squash exports: volumes created, resized, cloned, listed and deleted as the
  owner of the target directory (or of the volume's own permissions), where root may not write;
- a stopped server: the refresh of a running pool, the start of another and storage_device_facts'
  pools each return by their deadline, in one line naming the server, leaving no process behind.

Every change is converge()d: check mode, for real, again with no change, check mode again. What
the guest's boot does with the fstab entry is test_storage_pool_netfs_reboot_vm.py (which shares
NfsServer and Probe from here).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

import fingerprints
import harness
from guest import Holder, boot_id, sh

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._netfs import DEFAULT_TIMEOUT

EXPORT_ROOT = "/srv/poolcraft-nfs"
EXPORTS_DIR = "/etc/exports.d"
EXPORTS_FILE = os.path.join(EXPORTS_DIR, "poolcraft-scenarios.exports")
HOST = "127.0.0.1"
# export name: (export options, owner, group, mode of the exported directory)
EXPORTS = {
    "open": ("no_root_squash", 0, 0, 0o755),
    "squash": ("root_squash", 1000, 1000, 0o775),
    "all": ("all_squash,anonuid=1001,anongid=1001", 1001, 1001, 0o755),
}
MIB = 1 << 20
# what a task may take beyond its deadline under TCG (a module's own work, the child's fork)
SLACK = 15


# -- the NFS server ---------------------------------------------------------------------------------

def export_path(name):
    return os.path.join(EXPORT_ROOT, name)


def active_units():
    out = sh("systemctl", "list-units", "--type=service,socket", "--state=active", "--plain", "--no-legend", "--no-pager")
    return set(line.split()[0] for line in out.splitlines() if line.strip())


class NfsServer(object):
    """The guest's nfs-server with our three exports, in a file of ours in /etc/exports.d (the
    guest's /etc/exports is not touched). stop()/start(): a dead server and its return;
    tear_down(): every unit that started with it stopped, the exports gone."""

    def __init__(self, units_before=None):
        # the active units before the server started (a reboot scenario keeps them from stage 0)
        self.units_before = None if units_before is None else set(units_before)

    def set_up(self):
        if self.units_before is None:
            self.units_before = active_units()
        if not os.path.isdir(EXPORTS_DIR):
            os.mkdir(EXPORTS_DIR)
            # ours, removed again at the end
            with open(os.path.join(EXPORTS_DIR, ".poolcraft-made"), "w"):
                pass
        lines = []
        for name, (options, owner, group, mode) in sorted(EXPORTS.items()):
            path = export_path(name)
            os.makedirs(path, exist_ok=True)
            os.chown(path, owner, group)
            os.chmod(path, mode)
            lines.append("%s %s(rw,sync,no_subtree_check,%s)\n" % (path, HOST, options))
        with open(EXPORTS_FILE, "w") as handle:
            handle.write("".join(lines))
        self.start()
        return self

    def start(self):
        sh("systemctl", "start", "nfs-server")
        sh("exportfs", "-ra")

    def stop(self):
        sh("systemctl", "stop", "nfs-server")

    @staticmethod
    def files(name):
        """'name owner:group mode size' of each file in export name, read on the server side."""
        path = export_path(name)
        found = []
        for entry in sorted(os.listdir(path)):
            st = os.lstat(os.path.join(path, entry))
            found.append("%s %d:%d %04o %d" % (entry, st.st_uid, st.st_gid, st.st_mode & 0o7777, st.st_size))
        return found

    @staticmethod
    def clear(name):
        """Remove what a test left in export name, on the server side (never through a mount)."""
        path = export_path(name)
        for entry in os.listdir(path):
            full = os.path.join(path, entry)
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.unlink(full)

    def tear_down(self):
        # only what started with the server is stopped (never all units: ssh is one of them)
        new = sorted(active_units() - self.units_before) if self.units_before is not None else []
        subprocess.run(["systemctl", "stop", "nfs-server"] + new, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        if os.path.exists(EXPORTS_FILE):
            os.unlink(EXPORTS_FILE)
        if os.path.exists(os.path.join(EXPORTS_DIR, ".poolcraft-made")):
            shutil.rmtree(EXPORTS_DIR)
        shutil.rmtree(EXPORT_ROOT, ignore_errors=True)
        subprocess.run(["exportfs", "-ra"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


@pytest.fixture(scope="module")
def nfs():
    server = NfsServer()
    try:
        yield server.set_up()
    finally:
        server.tear_down()


# -- what the guest says about a pool ----------------------------------------------------------------

def proc_mount(target):
    """(source, fstype, options) of the mount on target in /proc/mounts, where the NFS options
    (vers=, rsize=) are; None when nothing is mounted there."""
    found = None
    with open("/proc/mounts") as handle:
        for line in handle:
            fields = line.split()
            if fields[1] == target:
                found = (fields[0], fields[2], fields[3].split(","))
    return found


def fstab_entry(path, pool):
    """Our marked entry in the fstab file path: the marker line and the line after it, joined by '|'."""
    with open(path) as handle:
        lines = handle.read().splitlines()
    marker = "# poolcraft.storage pool %s" % pool
    if marker not in lines:
        return ""
    index = lines.index(marker)
    return "|".join(lines[index:index + 2])


class Probe(object):
    """One netfs pool of a test: its export, mount point, fstab and store; reads only (the export
    on the server side: nothing here waits on the NFS client)."""

    def __init__(self, pool, export, target, store, fstab):
        self.pool = pool
        self.export = export
        self.target = target
        self.store = store
        self.fstab = fstab

    def mounted(self):
        return proc_mount(self.target)

    def probe(self):
        mount = self.mounted()
        return {
            "boot_id": boot_id(),
            "mount": None if mount is None else [mount[0], mount[1], sorted(mount[2])],
            "target_dir": os.path.isdir(self.target),
            "files": NfsServer.files(self.export),
            "fstab_entry": fstab_entry(self.fstab, self.pool),
            "fstab": fingerprints.digest(self.fstab),
        }

    def fingerprint(self):
        """probe(), the export's files in full and the store's, for converge()."""
        return dict(self.probe(), export=fingerprints.tree(export_path(self.export)),
                    store=[fingerprints.tree(self.store[key]) for key in ("config_dir", "runtime_dir")])

    def args(self, **args):
        return dict(self.store, name=self.pool, fstab=self.fstab, **args)

    def converge(self, module="storage_pool", **args):
        """converge() of one task; its real result. Volume tasks name the pool, pool tasks the pool."""
        if module == "storage_pool":
            args = self.args(**args)
        else:
            args = dict(self.store, pool=self.pool, **args)
        return harness.converge(module, args, self.fingerprint).real

    def define(self, version, options=(), **args):
        """build, start: the pool on its export."""
        return self.converge(type="netfs", source={"host": HOST, "dir": export_path(self.export), "protocol_version": version},
                             mount_options=list(options), target={"path": self.target}, build=True, state="running", **args)

    def remove(self):
        """Undefine with purge (the mount point goes; the export keeps what it holds)."""
        return self.converge(state="absent", purge=True)


def own_fstab(scratch):
    """An fstab of the test's own with the guest's lines in it; its path and bytes."""
    path = os.path.join(scratch, "fstab")
    with open("/etc/fstab", "rb") as src:
        data = src.read()
    with open(path, "wb") as dst:
        dst.write(data)
    return path, data


def clean_up(probes, nfs):
    """Whatever a test left: the server up again, our mounts gone (lazily), the pools undefined
    by hand (the store is under scratch), the exports emptied on the server side."""
    nfs.start()
    for probe in probes:
        if probe.mounted():
            subprocess.run(["umount", "-l", probe.target], check=False)
        nfs.clear(probe.export)


def children_of_this_process():
    """The PIDs and states of our children (a process a module left behind)."""
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except (IOError, OSError):
                continue
            if fields[1] == me:
                found.append("%s %s" % (entry, fields[0]))
    return found


def stuck_processes():
    """Processes (not kernel threads) in uninterruptible sleep: a read blocked on a dead NFS server."""
    out = sh("ps", "--ppid", "2", "-p", "2", "--deselect", "-o", "pid=,stat=,comm=")
    return [line.strip() for line in out.splitlines() if line.split()[1].startswith("D")]


# -- NFS 4.2: options, autostart, busy, force -------------------------------------------------------

def test_netfs_v42_mount_options_autostart_busy_and_force(nfs, scratch, store):
    fstab, guest_fstab = own_fstab(scratch)
    probe = Probe("nfs42", "open", os.path.join(scratch, "nfs42"), store, fstab)
    holder = None
    try:
        # -- build, start, autostart: NFS 4.2 with the options, the marked entry ------------------
        real = probe.define("4.2", ["noatime", "rsize=65536"], autostart=True)
        assert real.actions == ["define pool 'nfs42' (netfs, persistent)",
                                "enable autostart of pool 'nfs42' (write the entry in %s)" % fstab,
                                "build pool 'nfs42' (create %s)" % probe.target,
                                "start pool 'nfs42'"], real.actions
        assert real["pool"]["state"] == "running" and real["pool"]["autostart"]
        assert real["pool"]["source"]["host"] == HOST and real["pool"]["source"]["protocol_version"] == "4.2"
        source, fstype, options = probe.mounted()
        assert (source, fstype) == ("%s:%s" % (HOST, export_path("open")), "nfs4")
        assert {"vers=4.2", "rsize=65536", "noatime", "hard"} <= set(options), options
        assert probe.probe()["fstab_entry"] == ("# poolcraft.storage pool nfs42|%s:%s %s nfs vers=4.2,noatime,rsize=65536,"
                                                "_netdev,nofail 0 0" % (HOST, export_path("open"), probe.target))

        # -- volumes, data written into one ------------------------------------------------------
        for spec in ({"name": "disk.qcow2", "format": "qcow2", "capacity": "1GiB"},
                     {"name": "disk.raw", "format": "raw", "capacity": "32MiB"}):
            done = probe.converge("storage_volume", **spec)
            assert done["volume"]["path"] == os.path.join(probe.target, spec["name"])
        sh("dd", "if=/dev/urandom", "of=%s" % os.path.join(probe.target, "disk.raw"), "bs=1M", "seek=1", "count=4",
           "conv=notrunc,fsync", "status=none")
        data = fingerprints.digest(os.path.join(export_path("open"), "disk.raw"))
        assert [line.split()[:3] for line in probe.probe()["files"]] == [["disk.qcow2", "0:0", "0600"], ["disk.raw", "0:0", "0600"]]
        listed = harness.run_module("storage_pool", probe.args(list_volumes=True))
        assert [(vol["name"], vol["capacity"]) for vol in listed["pool"]["volumes"]] == [("disk.qcow2", 1 << 30),
                                                                                         ("disk.raw", 32 * MIB)]
        assert listed["pool"]["volume_count"] == 2 and listed["pool"]["capacity"] > 0

        # -- stop: refused while a volume is open (check mode too) ---------------------------------
        holder = Holder(os.path.join(probe.target, "disk.qcow2"))
        harness.refused("storage_pool", probe.args(state="stopped"), probe.fingerprint,
                        "busy", probe.target, "%d (sleep)" % holder.proc.pid)

        # -- force: a lazy unmount while it is open; the holder keeps its file ----------------------
        real = probe.converge(state="stopped", force=True)
        assert real.actions == ["stop pool 'nfs42'"]
        assert real["pool"]["state"] == "stopped"
        assert probe.mounted() is None
        assert holder.proc.poll() is None
        assert os.readlink("/proc/%d/fd/0" % holder.proc.pid).endswith("/disk.qcow2")
        holder.end()
        holder = None

        # -- autostart off: the entry goes, the file is what it was ---------------------------------
        real = probe.converge(autostart=False)
        assert real.actions == ["disable autostart of pool 'nfs42' (remove the entry in %s)" % fstab]
        with open(fstab, "rb") as handle:
            assert handle.read() == guest_fstab

        # -- started again: mounted anew, the data intact; then stopped ----------------------------
        real = probe.converge(state="running")
        assert real.actions == ["start pool 'nfs42'"]
        assert probe.mounted()[0] == "%s:%s" % (HOST, export_path("open"))
        assert fingerprints.digest(os.path.join(probe.target, "disk.raw")) == data
        for name in ("disk.qcow2", "disk.raw"):
            probe.converge("storage_volume", name=name, state="absent")
        assert probe.probe()["files"] == []
        real = probe.converge(state="stopped")
        assert real.actions == ["stop pool 'nfs42'"] and probe.mounted() is None
        assert probe.probe()["target_dir"]

        # -- undefined with purge: the mount point goes ---------------------------------------------
        real = probe.remove()
        assert real.actions == ["delete the storage of pool 'nfs42' (%s)" % probe.target, "undefine pool 'nfs42'"]
        assert not probe.probe()["target_dir"]
        with open(fstab, "rb") as handle:
            assert handle.read() == guest_fstab
    finally:
        if holder is not None:
            holder.end()
        clean_up([probe], nfs)


# -- NFS 3 ------------------------------------------------------------------------------------

def test_netfs_v3_with_options(nfs, scratch, store):
    fstab, _data = own_fstab(scratch)
    probe = Probe("nfs3", "open", os.path.join(scratch, "nfs3"), store, fstab)
    try:
        real = probe.define("3", ["nolock", "noatime"])
        assert real["pool"]["state"] == "running" and not real["pool"]["autostart"]
        source, fstype, options = probe.mounted()
        assert (source, fstype) == ("%s:%s" % (HOST, export_path("open")), "nfs")
        assert {"vers=3", "nolock", "noatime"} <= set(options), options
        done = probe.converge("storage_volume", name="v3.qcow2", format="qcow2", capacity="64MiB")
        assert done["volume"]["capacity"] == 64 * MIB
        probe.converge("storage_volume", name="v3.qcow2", state="absent")
        real = probe.remove()
        assert real.actions == ["stop pool 'nfs3'", "delete the storage of pool 'nfs3' (%s)" % probe.target,
                                "undefine pool 'nfs3'"], real.actions
        assert probe.mounted() is None and not os.path.exists(probe.target)
    finally:
        clean_up([probe], nfs)


# -- squashed root: volumes as the target's owner --------------------------------------------------

SQUASHED = {
    # export, protocol, the owner:group files get, a volume's own permissions (and the owner:group they give)
    "root_squash": ("squash", "4.2", "1000:1000", ({"owner": 1002, "group": 1000, "mode": "0640"}, "1002:1000 0640")),
    "all_squash": ("all", "3", "1001:1001", None),
}


@pytest.mark.parametrize("kind", sorted(SQUASHED))
def test_netfs_volumes_on_a_squashed_export(nfs, scratch, store, kind):
    export, version, owner, own_permissions = SQUASHED[kind]
    fstab, _data = own_fstab(scratch)
    probe = Probe("squashed", export, os.path.join(scratch, "squashed"), store, fstab)
    source = os.path.join(scratch, "cloud.raw")
    with open(source, "wb") as handle:
        handle.write(os.urandom(MIB) + b"\0" * (7 * MIB) + os.urandom(MIB))
    os.chmod(source, 0o644)
    try:
        real = probe.define(version, ["nolock"] if version == "3" else [])
        assert real["pool"]["state"] == "running"
        if kind == "root_squash":
            # root is squashed: it may not write in the export, so no volume below is made by root
            with pytest.raises(OSError) as caught:
                open(os.path.join(probe.target, "root-was-here"), "w").close()
            assert caught.value.errno == errno.EACCES

        done = probe.converge("storage_volume", name="a.qcow2", format="qcow2", capacity="64MiB")
        assert done["volume"]["capacity"] == 64 * MIB
        done = probe.converge("storage_volume", name="a.qcow2", capacity="128MiB")
        assert done["volume"]["capacity"] == 128 * MIB
        done = probe.converge("storage_volume", name="clone.raw", clone_from={"path": source})
        assert done["volume"]["capacity"] == 9 * MIB
        assert fingerprints.digest(os.path.join(export_path(export), "clone.raw")) == fingerprints.digest(source)
        done = probe.converge("storage_volume", name="clone.qcow2", format="qcow2", clone_from={"path": source},
                              capacity="16MiB")
        assert done["volume"]["capacity"] == 16 * MIB
        files = NfsServer.files(export)
        assert [line.split()[:3] for line in files] == [
            ["a.qcow2", owner, "0600"], ["clone.qcow2", owner, "0600"], ["clone.raw", owner, "0600"]], files
        names = ["a.qcow2", "clone.qcow2", "clone.raw"]
        if own_permissions is not None:
            permissions, made = own_permissions
            done = probe.converge("storage_volume", name="own.raw", format="raw", capacity="4MiB", permissions=permissions)
            assert [line for line in NfsServer.files(export) if line.startswith("own.raw ")] == ["own.raw %s %d" % (made, 4 * MIB)]
            names.append("own.raw")

        # every volume is listed, though root may not read one of them (0600, the owner's)
        listed = harness.run_module("storage_pool", probe.args(list_volumes=True))
        assert not listed.failed, listed.msg
        assert [vol["name"] for vol in listed["pool"]["volumes"]] == sorted(names)
        assert [vol["format"] for vol in listed["pool"]["volumes"]][:2] == ["qcow2", "qcow2"]
        # and deleted as their owners
        for name in names:
            probe.converge("storage_volume", name=name, state="absent")
        assert NfsServer.files(export) == []
        probe.remove()
        assert not os.path.exists(probe.target)
    finally:
        clean_up([probe], nfs)


# -- a dead server ---------------------------------------------------------------------------------

def test_a_dead_server_never_hangs_a_task(nfs, scratch, store, vm_report):
    fstab, _data = own_fstab(scratch)
    running = Probe("alive", "open", os.path.join(scratch, "alive"), store, fstab)
    later = Probe("later", "open", os.path.join(scratch, "later"), store, fstab)
    stopped = False
    try:
        # actimeo=0: every stat asks the server, as it does once a dead server's cached attributes
        # are older than a minute; nothing here is answered from the cache
        running.define("4.2", ["actimeo=0"])
        running.converge("storage_volume", name="d.qcow2", format="qcow2", capacity="16MiB")
        later.converge(type="netfs", source={"host": HOST, "dir": export_path("open"), "protocol_version": "4.2"},
                       target={"path": later.target}, build=True, state="stopped")
        before = children_of_this_process()
        nfs.stop()
        stopped = True
        named = "NFS server %s did not answer within %d s" % (HOST, DEFAULT_TIMEOUT)

        # the refresh of the running pool (its mount blocks every stat): check mode, then for real
        for check in (True, False):
            start = time.time()
            result = harness.run_module("storage_pool", running.args(state="running", list_volumes=True), check=check)
            took = time.time() - start
            harness.assert_clean_failure(result, named, running.target)
            assert took < DEFAULT_TIMEOUT + SLACK, took
            vm_report.append("netfs dead server: refresh (check mode %s) failed after %.1f s: %s" % (check, took, result.msg))

        # the start of another pool on it: check mode plans it, the real run fails by the deadline
        check = harness.run_module("storage_pool", later.args(state="running"), check=True)
        assert not check.failed and check.actions == ["start pool 'later'"], check
        start = time.time()
        result = harness.run_module("storage_pool", later.args(state="running"))
        took = time.time() - start
        harness.assert_clean_failure(result, named, "mounting %s:%s on %s" % (HOST, export_path("open"), later.target))
        assert took < DEFAULT_TIMEOUT + SLACK, took
        assert later.mounted() is None
        vm_report.append("netfs dead server: start failed after %.1f s: %s" % (took, result.msg))

        # the facts: reported by usage_timeout, in one line naming the server
        start = time.time()
        facts = harness.run_module("storage_device_facts", dict(store, gather_subset=["pools"], usage_timeout=5))
        took = time.time() - start
        assert not facts.failed, facts.msg
        pools = facts["ansible_facts"]["storage_pools"]
        assert pools["alive"]["state"] == "stopped", pools["alive"]
        assert pools["alive"]["reason"].startswith("NFS server %s did not answer within 5 s" % HOST), pools["alive"]
        assert "\n" not in pools["alive"]["reason"]
        assert pools["later"]["state"] == "stopped"
        assert took < 5 + SLACK, took
        vm_report.append("netfs dead server: facts in %.1f s: %s" % (took, pools["alive"]["reason"]))

        # nothing left behind: no child of ours, no process stuck on the mount
        assert children_of_this_process() == before
        assert stuck_processes() == []

        # the server back: the hard mount goes on where it was
        nfs.start()
        stopped = False
        listed = harness.run_module("storage_pool", running.args(state="running", list_volumes=True))
        assert not listed.failed, listed.msg
        assert [vol["name"] for vol in listed["pool"]["volumes"]] == ["d.qcow2"]
        running.converge("storage_volume", name="d.qcow2", state="absent")
        running.remove()
        later.remove()
    finally:
        if stopped:
            nfs.start()
        clean_up([running, later], nfs)


def run_module_within(seconds, module, args):
    """run_module in a Python of its own, killed after seconds (a task blocked in the kernel cannot
    be stopped from within); its result, or None when it was still waiting."""
    code = "import json, sys; sys.path[:0] = %r; import harness; print(json.dumps(harness.run_module(%r, %r)))" % (
        sys.path, module, args)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, universal_newlines=True)
    try:
        out, _err = child.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return None
    return harness.Result(json.loads(out.strip().splitlines()[-1]))


def test_a_dead_server_never_hangs_a_task_that_gives_the_whole_definition(nfs, scratch, store):
    """What a playbook runs again and again: the whole definition, target.path included."""
    fstab, _data = own_fstab(scratch)
    probe = Probe("whole", "open", os.path.join(scratch, "whole"), store, fstab)
    stopped = False
    try:
        probe.define("4.2", ["actimeo=0"])
        nfs.stop()
        stopped = True
        task = probe.args(type="netfs", source={"host": HOST, "dir": export_path("open"), "protocol_version": "4.2"},
                          mount_options=["actimeo=0"], target={"path": probe.target}, build=True, state="running")
        result = run_module_within(DEFAULT_TIMEOUT + SLACK, "storage_pool", task)
        assert result is not None, "storage_pool was still waiting after %d s" % (DEFAULT_TIMEOUT + SLACK)
        harness.assert_clean_failure(result, "NFS server %s did not answer within %d s" % (HOST, DEFAULT_TIMEOUT))
        assert stuck_processes() == []
    finally:
        if stopped:
            nfs.start()
        clean_up([probe], nfs)
