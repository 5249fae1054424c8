# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two scsi_debug LUNs, each over two paths, with data of their own, as multipath maps in the guest
(the mpath and logical-on-SAN scenarios share it).

scsi_debug keeps one RAM store for all the hosts made when it loads, and with vpd_use_hostno=0 names
a LUN by its target and LUN number alone. So: hosts 1 and 2, made at load, are two paths to LUN 0
(map A); hosts 3 and 4, added later with LUN 0 left out (host 3 with a store of its own, host 4
taking the newest store), two paths to LUN 1 (map B), whose data is not A's. Only these four
disks are made: under TCG udev's rules cost seconds a disk. Map A gets an alias from
multipath.conf, map B keeps its WWID as its name. close() takes everything down again:
multipathd (when it was not running before), the maps, scsi_debug, the files written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

from guest import Saved, settle, sh, wait_for

DRIVER = "/sys/bus/pseudo/drivers/scsi_debug"
SCSI_DEVICES = "/sys/bus/scsi/devices"
ALIAS = "pcmpa"
CONF = """defaults {
    user_friendly_names no
    find_multipaths no
    polling_interval 1
    no_path_retry fail
}
blacklist {
    devnode "^(vd|loop|ram|sr|dm-)"
    device {
        vendor ".*"
        product ".*"
    }
}
blacklist_exceptions {
    device {
        vendor "Linux"
        product "scsi_debug"
    }
}
multipaths {
    multipath {
        wwid %s
        alias %s
    }
}
"""


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def map_statuses(name):
    """{major:minor: "A"|"F"} of the map's paths, from dmsetup status ({} when the map is gone)."""
    words = subprocess.run(["dmsetup", "status", name], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           universal_newlines=True, check=False).stdout.split()
    return dict((word, state) for word, state in zip(words, words[1:]) if word.count(":") == 1 and state in ("A", "F"))


def node_number(device):
    with open("/sys/block/%s/dev" % device) as handle:
        return handle.read().strip()


class MultipathLuns(object):
    """The two maps: .a and .b are dicts with name, wwid, paths (sdX, sorted), hctl {sdX: H:C:T:L}."""

    def __init__(self, size_mb=64):
        self.size_mb = size_mb
        self.conf = Saved("/etc/multipath.conf")
        self.wwids = Saved("/etc/multipath/wwids")  # multipathd notes every WWID it made a map of
        self.started_multipathd = False
        self.a = self.b = None

    @staticmethod
    def _scanned(hosts_before, count):
        """{LUN number: [H:C:T:L]} of the scsi_debug hosts added since hosts_before, once they have
        count disks between them (the kernel scans a new host in the background)."""
        def found():
            hosts = set(int(name[4:]) for name in set(os.listdir("/sys/class/scsi_host")) - hosts_before)
            luns = {}
            for address in os.listdir(SCSI_DEVICES):
                parts = address.split(":")
                if len(parts) == 4 and int(parts[0]) in hosts and os.path.isdir(os.path.join(SCSI_DEVICES, address, "block")):
                    luns.setdefault(int(parts[3]), []).append(address)
            return luns if sum(len(addresses) for addresses in luns.values()) == count else None
        return wait_for(found, 60, "%d scsi_debug disks" % count)

    def open(self):
        if os.path.isdir(DRIVER):
            sh("modprobe", "-r", "scsi_debug")  # its parameters are taken at load only
        hosts_before = set(os.listdir("/sys/class/scsi_host"))
        sh("modprobe", "scsi_debug", "dev_size_mb=%d" % self.size_mb, "add_host=2", "num_tgts=1", "vpd_use_hostno=0")
        self._scanned(hosts_before, 2)
        for name, value in (("max_luns", "2"), ("no_lun_0", "1"), ("per_host_store", "1"), ("add_host", "1"),
                            ("per_host_store", "0"), ("add_host", "1")):
            _write(os.path.join(DRIVER, name), value)
        luns = self._scanned(hosts_before, 4)
        _write(os.path.join(DRIVER, "no_lun_0"), "0")
        assert sorted(luns) == [0, 1] and all(len(addresses) == 2 for addresses in luns.values()), luns
        settle()
        maps = []
        for lun in (0, 1):
            found = dict((os.listdir(os.path.join(SCSI_DEVICES, address, "block"))[0], address) for address in luns[lun])
            devices = sorted(found)
            wwid = sh("udevadm", "info", "--query=property", "--property=ID_SERIAL", "--value", "--name=/dev/" + devices[0])
            assert wwid, devices
            maps.append({"wwid": wwid, "paths": devices, "hctl": found})
        self.a, self.b = maps
        self.a["name"], self.b["name"] = ALIAS, self.b["wwid"]
        self.conf.write(CONF % (self.a["wwid"], ALIAS))
        if sh("systemctl", "is-active", "multipathd", check=False) != "active":
            self.started_multipathd = True
            sh("systemctl", "start", "multipathd")
        else:
            sh("multipathd", "reconfigure")
        for mapped in (self.a, self.b):
            wait_for(lambda mapped=mapped: len([s for s in map_statuses(mapped["name"]).values() if s == "A"]) == 2,
                     60, "two active paths of map %s" % mapped["name"])
        settle()
        return self

    def set_path(self, device, state, dm_state, name):
        """Set a path's SCSI state (offline, running) and wait until its map shows dm_state (F, A)."""
        _write("/sys/block/%s/device/state" % device, state + "\n")
        number = node_number(device)
        wait_for(lambda: map_statuses(name).get(number) == dm_state, 60, "path %s of %s to be %s" % (device, name, dm_state))

    def close(self):
        for mapped in (self.a, self.b):
            for device in (mapped or {}).get("paths", ()):
                state = "/sys/block/%s/device/state" % device
                if os.path.exists(state):
                    _write(state, "running\n")
        if self.started_multipathd:
            sh("systemctl", "stop", "multipathd", "multipathd.socket", check=False)
        self.conf.restore()
        if not self.started_multipathd:
            sh("multipathd", "reconfigure", check=False)
        for mapped in (self.a, self.b):
            if mapped and os.path.exists("/dev/mapper/" + mapped["name"]):
                sh("dmsetup", "remove", "--retry", mapped["name"], check=False)
        self.wwids.restore()
        settle()
        if os.path.isdir(DRIVER):
            wait_for(lambda: settle() or subprocess.run(["modprobe", "-r", "scsi_debug"], stderr=subprocess.DEVNULL,
                                                        check=False).returncode == 0, 30, "scsi_debug to unload")
