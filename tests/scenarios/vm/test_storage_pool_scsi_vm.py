# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scsi pools in the test VM, on the guest kernel's real SCSI layer.

- By hostN: scsi_debug, loaded by the test (one host, one target, one LUN at first). Start rescans
  the host; the LUN is a volume (unit:C:T:L, keyed by its WWID, at a stable udev link, its size);
  LUN creation, resize and deletion are refused in one line; a wipe overwrites it (check mode first:
  nothing written), refused while it is open; an image copied into it (clone_from); both refused
  while it is a path of a multipath map (a map made with dmsetup over it, named in the refusal). A
  LUN added on the target side (scsi_debug's max_luns) is not seen until a start rescans the host,
  then it is.
- By PCI parent address and unique_id: the guest's IDE controller (ata_piix), whose two ports are
  two SCSI hosts under one PCI function: without unique_id the pool is refused naming both, with it
  the pool starts on the right one (it has no disks, so no volumes).

Every change is made in check mode first, then for real, then again with no change. scsi_debug is
unloaded again at the end (it must not be loaded when the test starts: another test may use it in
its own way, and a reload with other parameters is silently ignored).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time

import pytest

import fingerprints
import harness
from guest import Holder, settle, sh

POOL = "scsivm"
MIB = 1 << 20
DEBUG = "/sys/bus/pseudo/drivers/scsi_debug"
SCSI_DEVICES = "/sys/bus/scsi/devices"
MAP = "poolcraft-scsivm-map"


# -- scsi_debug and what the kernel shows ----------------------------------------------------------

class ScsiDebug(object):
    """scsi_debug loaded by the test with its parameters, unloaded at the end."""

    def __init__(self):
        assert not os.path.isdir("/sys/module/scsi_debug"), "scsi_debug is loaded already: the test loads it itself"
        self.loaded = False

    def load(self, **params):
        sh("modprobe", "scsi_debug", *("%s=%s" % item for item in sorted(params.items())))
        self.loaded = True
        settle()
        hosts = [name for adapter in os.listdir(DEBUG) if adapter.startswith("adapter")
                 for name in os.listdir(os.path.join(DEBUG, adapter)) if name.startswith("host")]
        assert len(hosts) == 1, hosts
        return hosts[0]

    @staticmethod
    def set(name, value):
        with open(os.path.join(DEBUG, name), "w") as handle:
            handle.write("%s\n" % value)

    def unload(self):
        if not self.loaded:
            return
        for _attempt in range(20):  # "in use" for a moment after udev's last probe
            settle()
            if subprocess.run(["modprobe", "-r", "scsi_debug"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              check=False).returncode == 0:
                self.loaded = False
                return
            time.sleep(0.5)
        raise AssertionError("scsi_debug could not be unloaded")


def luns_of(host):
    """The H:C:T:L addresses of host's SCSI devices, as the kernel has them."""
    number = host[len("host"):]
    return sorted(name for name in os.listdir(SCSI_DEVICES) if name.split(":")[0] == number and name.count(":") == 3)


def disk_of(hctl):
    return "/dev/" + os.listdir(os.path.join(SCSI_DEVICES, hctl, "block"))[0]


def udev_serial(node):
    """udev's ID_SERIAL of a disk (the WWID multipath takes by default)."""
    for line in sh("udevadm", "info", "--query=property", "--name=%s" % node).splitlines():
        if line.startswith("ID_SERIAL="):
            return line[len("ID_SERIAL="):]
    return None


def pci_scsi_hosts():
    """{PCI address: {hostN: unique_id}} of the SCSI hosts that hang under a PCI function."""
    found = {}
    for name in sorted(os.listdir("/sys/class/scsi_host")):
        parts = os.path.realpath(os.path.join("/sys/class/scsi_host", name)).split("/")
        pci = [part for part in parts if len(part) == 12 and part[4] == ":" and part[7] == ":" and part[10] == "."]
        if pci:
            with open(os.path.join("/sys/class/scsi_host", name, "unique_id")) as handle:
                found.setdefault(pci[-1], {})[name] = int(handle.read())
    return found


class Guest(object):
    def __init__(self, store, host, watched=()):
        self.store = store
        self.host = host
        self.watched = watched

    def fingerprint(self):
        return {"luns": luns_of(self.host) if self.host else [],
                "data": [fingerprints.digest(path) for path in self.watched],
                "store": [fingerprints.tree(self.store[key]) for key in ("config_dir", "runtime_dir")]}


def pool_args(store, adapter, **extra):
    return dict(store, name=POOL, type="scsi", source={"adapter": adapter}, **extra)


def zeroed(node, size):
    with open(node, "rb") as handle:
        data = handle.read(size)
    return data.count(0) == len(data) == size


# -- by hostN, on scsi_debug ------------------------------------------------------------------------

def test_scsi_pool_by_host_name(scratch, store):
    debug = ScsiDebug()
    # dmsetup's multipath table loads these; what the test loaded it unloads
    modules = [name for name in ("dm_round_robin", "dm_multipath") if not os.path.isdir("/sys/module/" + name)]
    try:
        host = debug.load(dev_size_mb=16, num_tgts=1, max_luns=1)
        guest = Guest(store, host)
        args = pool_args(store, {"type": "scsi_host", "name": host}, state="running")
        assert luns_of(host) == ["%s:0:0:0" % host[4:]]

        done = harness.converge("storage_pool", args, guest.fingerprint)
        assert done.real.actions == ["define pool '%s' (scsi, persistent)" % POOL, "start pool '%s'" % POOL]
        pool = done.real["pool"]
        assert pool["state"] == "running" and pool["target"]["path"] == "/dev/disk/by-path"
        assert pool["source"]["adapter"]["name"] == host and pool["source"]["adapter"]["type"] == "scsi_host"
        assert pool["capacity"] == 16 * MIB and pool["volume_count"] == 1, pool
        assert "<adapter" in pool["xml"] and host in pool["xml"], pool["xml"]

        listed = harness.run_module("storage_pool", dict(store, name=POOL, list_volumes=True))["pool"]["volumes"]
        assert [vol["name"] for vol in listed] == ["unit:0:0:0"], listed
        lun = listed[0]
        node = disk_of("%s:0:0:0" % host[4:])
        # scsi_debug's disks have no by-path link (udev's path_id knows no pseudo bus): a by-id one
        assert lun["path"].startswith("/dev/disk/by-") and os.path.realpath(lun["path"]) == node, lun
        assert lun["key"] == udev_serial(node) and lun["key"], lun
        assert lun["capacity"] == 16 * MIB and lun["type"] == "block" and lun["format"] == "raw", lun
        assert "multipath_map" not in lun or lun["multipath_map"] is None, lun

        # the LUN found by name, key and node; LUNs are not made, resized or removed here
        fingerprint = guest.fingerprint
        for how in ({"pool": POOL, "name": "unit:0:0:0"}, {"key": lun["key"]}, {"path": node}):
            seen = harness.unchanged("storage_volume", dict(store, **how), fingerprint)
            assert seen["volume"]["name"] == "unit:0:0:0" and seen["volume"]["key"] == lun["key"], seen
        made_there = "LUNs of a scsi pool are made on the storage array"
        harness.refused("storage_volume", dict(store, pool=POOL, name="unit:0:0:5", capacity="8M"), fingerprint,
                        "cannot create volume 'unit:0:0:5'", made_there)
        harness.refused("storage_volume", dict(store, pool=POOL, name="unit:0:0:0", state="absent"), fingerprint,
                        "cannot delete volume 'unit:0:0:0'", made_there)
        harness.refused("storage_volume", dict(store, pool=POOL, name="unit:0:0:0", capacity="32M"), fingerprint,
                        "cannot resize volume 'unit:0:0:0'", made_there)

        # -- wipe: check mode writes nothing, the real run zeroes the LUN ------------------------
        sh("dd", "if=/dev/urandom", "of=%s" % node, "bs=1M", "count=16", "oflag=direct", "status=none")
        watched = Guest(store, host, watched=[node])
        wipe = dict(store, pool=POOL, name="unit:0:0:0", state="wiped", wipe="zero")
        holder = Holder(node)
        try:
            harness.refused("storage_volume", wipe, watched.fingerprint, "is in use", "open by %d" % holder.proc.pid)
        finally:
            holder.end()
        before = watched.fingerprint()
        check = harness.run_module("storage_volume", wipe, check=True)
        assert check.changed and check.actions == ["wipe (zero) volume 'unit:0:0:0' (%s)" % lun["path"]], dict(check)
        harness.assert_unchanged(watched.fingerprint, before, "a wipe in check mode")
        real = harness.run_module("storage_volume", wipe)
        assert real.changed and real.actions == check.actions, dict(real)
        assert zeroed(node, 16 * MIB), "the LUN is not all zeros after the wipe"

        # -- an image copied into the LUN: check mode, the copy, then no change (it holds the image)
        image = os.path.join(scratch, "image.raw")
        with open(image, "wb") as handle:
            handle.write(os.urandom(MIB))
        clone = dict(store, pool=POOL, name="unit:0:0:0", clone_from={"path": image, "format": "raw"})
        copied = harness.converge("storage_volume", clone, watched.fingerprint)
        assert copied.real.actions == ["clone %s (raw) into volume 'unit:0:0:0' (%s)" % (image, lun["path"])], copied.real.actions
        assert fingerprints.digest(image) == sh("sh", "-c", "head -c %d %s | sha256sum" % (MIB, node)).split()[0]

        # -- a path of a multipath map is never written: the refusal names the map ---------------
        sh("dd", "if=/dev/urandom", "of=%s" % node, "bs=1M", "count=1", "oflag=direct", "status=none")
        major_minor = sh("cat", "/sys/class/block/%s/dev" % os.path.basename(node))
        sh("dmsetup", "create", MAP, "--uuid", "mpath-" + lun["key"], "--table",
           "0 %d multipath 0 0 1 1 round-robin 0 1 1 %s 1000" % (16 * MIB // 512, major_minor))
        try:
            settle()
            for refused in (wipe, clone):
                harness.refused("storage_volume", refused, watched.fingerprint, "is a path of multipath map %s" % MAP,
                                "/dev/mapper/%s" % MAP, "dm-uuid-mpath-%s" % lun["key"])
            shown = harness.run_module("storage_pool", dict(store, name=POOL, list_volumes=True))["pool"]["volumes"]
            assert shown[0].get("multipath_map") == MAP, shown
        finally:
            sh("dmsetup", "remove", "--retry", MAP)
            settle()

        # -- a LUN added on the target side: seen once a start has rescanned the host --------------
        debug.set("max_luns", 2)
        time.sleep(1)
        assert luns_of(host) == ["%s:0:0:0" % host[4:]], "the kernel found the new LUN without a rescan"
        harness.unchanged("storage_pool", args, guest.fingerprint)  # running: nothing to do, no rescan
        stopped = harness.converge("storage_pool", dict(args, state="stopped"), guest.fingerprint)
        assert stopped.real.actions == ["stop pool '%s'" % POOL]
        assert luns_of(host) == ["%s:0:0:0" % host[4:]]  # stopping changes nothing on the host
        # check mode does not rescan (converge: the fingerprint, with the kernel's LUNs, is unchanged)
        started = harness.converge("storage_pool", args, guest.fingerprint)
        assert started.real.actions == ["start pool '%s'" % POOL]
        assert luns_of(host) == ["%s:0:0:0" % host[4:], "%s:0:0:1" % host[4:]]
        assert started.real["pool"]["volume_count"] == 2 and started.real["pool"]["capacity"] == 32 * MIB
        listed = harness.run_module("storage_pool", dict(store, name=POOL, list_volumes=True))["pool"]["volumes"]
        assert [vol["name"] for vol in listed] == ["unit:0:0:0", "unit:0:0:1"], listed
        new = disk_of("%s:0:0:1" % host[4:])
        assert os.path.realpath(listed[1]["path"]) == new and listed[1]["key"] == udev_serial(new)
        assert listed[0]["key"] != listed[1]["key"]

        gone = harness.converge("storage_pool", dict(store, name=POOL, state="absent"), guest.fingerprint)
        assert gone.real.actions == ["stop pool '%s'" % POOL, "undefine pool '%s'" % POOL]
        assert luns_of(host) == ["%s:0:0:0" % host[4:], "%s:0:0:1" % host[4:]]
    finally:
        harness.run_module("storage_pool", dict(store, name=POOL, state="absent"))
        subprocess.run(["dmsetup", "remove", "--retry", MAP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        debug.unload()
        for name in modules:
            if os.path.isdir("/sys/module/" + name):
                subprocess.run(["modprobe", "-r", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


# -- by PCI parent address and unique_id ----------------------------------------------------------

def test_scsi_pool_by_parent_address(store):
    shared = dict((address, hosts) for address, hosts in pci_scsi_hosts().items() if len(hosts) > 1)
    if not shared:
        pytest.skip("no PCI function with two SCSI hosts in this guest (its IDE controller is expected: %r)" % pci_scsi_hosts())
    address, hosts = sorted(shared.items())[0]
    domain, bus, rest = address.split(":")
    slot, function = rest.split(".")
    parent = {"domain": int(domain, 16), "bus": int(bus, 16), "slot": int(slot, 16), "function": int(function, 16)}
    name, unique_id = sorted(hosts.items(), key=lambda item: item[1])[-1]
    guest = Guest(store, name)
    try:
        listing = ", ".join("%s: %d" % item for item in sorted(hosts.items()))
        harness.refused("storage_pool", pool_args(store, {"type": "scsi_host", "parent_address": parent}, state="running"),
                        guest.fingerprint, "source.adapter.unique_id=None", "%d SCSI hosts are under %s (%s)"
                        % (len(hosts), address, listing))
        harness.refused("storage_pool", pool_args(store, {"type": "scsi_host", "parent_address": parent, "unique_id": 4242},
                                                  state="running"),
                        guest.fingerprint, "source.adapter.unique_id=4242", "no SCSI host under %s has it" % address)
        args = pool_args(store, {"type": "scsi_host", "parent_address": parent, "unique_id": unique_id}, state="running")
        done = harness.converge("storage_pool", args, guest.fingerprint)
        assert done.real.actions == ["define pool '%s' (scsi, persistent)" % POOL, "start pool '%s'" % POOL]
        pool = done.real["pool"]
        assert pool["source"]["adapter"]["parent_address"] == parent and pool["source"]["adapter"]["unique_id"] == unique_id
        assert "parentaddr" in pool["xml"] and "unique_id" in pool["xml"], pool["xml"]
        # the controller's ports have no disks: a running pool without volumes
        assert pool["state"] == "running" and pool["volume_count"] == len([lun for lun in luns_of(name)
                                                                           if os.path.isdir(os.path.join(SCSI_DEVICES, lun, "block"))])
        gone = harness.converge("storage_pool", dict(store, name=POOL, state="absent"), guest.fingerprint)
        assert gone.real.actions == ["stop pool '%s'" % POOL, "undefine pool '%s'" % POOL]
    finally:
        harness.run_module("storage_pool", dict(store, name=POOL, state="absent"))
