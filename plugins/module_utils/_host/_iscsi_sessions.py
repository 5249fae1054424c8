# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's iSCSI sessions and the LUNs each attached, from sysfs and udev's records; no command.

A session is /sys/class/iscsi_session/sessionN, a link into the SCSI host the session made:
.../hostH/sessionN/iscsi_session/sessionN. Beside it in .../hostH/sessionN/ are the connections
(connectionN:0/iscsi_connection/connectionN:0: address, port) and the SCSI targets
(targetH:C:T/H:C:T:L/block/sdX). udev's record of each disk (/run/udev/data/bMAJ:MIN) gives its
WWID (ID_SERIAL, as scsi_id prints it, which libvirt takes for the key) and its by-path link.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._units import SECTOR

SESSIONS = "/sys/class/iscsi_session"
DEV = "/dev"
BY_PATH = "/dev/disk/by-path/"
_HCTL = re.compile(r"^(\d+):(\d+):(\d+):(\d+)$")
_SESSION = re.compile(r"^session(\d+)$")
# SCSI peripheral device types (SPC): the ones that are block devices of the sd driver
DISK_TYPES = (0, 7, 14)  # direct access, optical memory, simplified direct access
# the kernel's wwid attribute names the designator type; scsi_id (and so libvirt's key) a digit
_WWID_PREFIXES = {"naa.": "3", "eui.": "2", "t10.": "1"}


@dataclass(frozen=True)
class Lun:
    hctl: str                    # "2:0:0:1": host, channel (libvirt's bus), target, LUN
    lun: int
    scsi_type: Optional[int]     # SCSI peripheral device type (0: disk; 12: a target's controller)
    block: Optional[str]         # kernel name of its disk ("sdb"), None where it has none (yet)
    state: Optional[str]         # "running", "offline" ...

    @property
    def unit(self):
        """libvirt's volume name: unit:BUS:TARGET:LUN."""
        _host, channel, target, lun = self.hctl.split(":")
        return "unit:%s:%s:%s" % (channel, target, lun)


@dataclass(frozen=True)
class Session:
    number: int
    target: Optional[str]
    address: Optional[str]        # the connection's persistent address (an IP) and port
    port: Optional[int]
    iface: Optional[str]
    initiator: Optional[str]
    state: Optional[str]          # "LOGGED_IN", "FAILED", "FREE"
    host: Optional[str]           # the SCSI host it made ("host2")
    luns: Tuple[Lun, ...] = ()


def _text(path):
    value = _sysfs.read(path)
    if value is None:
        return None
    value = value.strip()
    return value if value and value != "(null)" else None


def _session_dir(number):
    """The device directory of session number (.../hostH/sessionN), or None when it is gone."""
    link = os.path.join(SESSIONS, "session%d" % number)
    real = os.path.realpath(link)
    # .../hostH/sessionN/iscsi_session/sessionN
    parent = os.path.dirname(os.path.dirname(real))
    return parent if os.path.basename(parent) == "session%d" % number else None


def _connection(session_dir):
    """(address, port) of the session's first connection."""
    for name in _sysfs.listdir(session_dir):
        if not name.startswith("connection"):
            continue
        base = os.path.join(session_dir, name, "iscsi_connection", name)
        address = _text(os.path.join(base, "persistent_address")) or _text(os.path.join(base, "address"))
        port = _sysfs.read_int(os.path.join(base, "persistent_port")) or _sysfs.read_int(os.path.join(base, "port"))
        if address:
            return address, port
    return None, None


def _luns(session_dir):
    found = []
    for target in _sysfs.listdir(session_dir):
        if not target.startswith("target"):
            continue
        for name in _sysfs.listdir(os.path.join(session_dir, target)):
            match = _HCTL.match(name)
            if not match:
                continue
            base = os.path.join(session_dir, target, name)
            blocks = _sysfs.listdir(os.path.join(base, "block"))
            found.append(Lun(hctl=name, lun=int(match.group(4)), scsi_type=_sysfs.read_int(os.path.join(base, "type")),
                             block=blocks[0] if blocks else None, state=_text(os.path.join(base, "state"))))
    return tuple(sorted(found, key=lambda lun: tuple(int(part) for part in lun.hctl.split(":"))))


def read_session(number):
    """The Session of sessionN, or None when it is gone."""
    base = os.path.join(SESSIONS, "session%d" % number)
    session_dir = _session_dir(number)
    if session_dir is None:
        return None
    address, port = _connection(session_dir)
    return Session(number=number, target=_text(os.path.join(base, "targetname")), address=address, port=port,
                   iface=_text(os.path.join(base, "ifacename")), initiator=_text(os.path.join(base, "initiatorname")),
                   state=_text(os.path.join(base, "state")), host=os.path.basename(os.path.dirname(session_dir)),
                   luns=_luns(session_dir))


def sessions():
    """Every iSCSI session of the kernel, by number."""
    found = []
    for name in _sysfs.listdir(SESSIONS):
        match = _SESSION.match(name)
        if match:
            session = read_session(int(match.group(1)))
            if session is not None:
                found.append(session)
    return sorted(found, key=lambda session: session.number)


# -- the disks of LUNs ------------------------------------------------------------------------------

def udev_record(block):
    """(properties, links) of udev's record of the disk called block; ({}, []) without one."""
    major_minor = _sysfs.read(os.path.join(_sysfs.SYS, "class", "block", block, "dev"))
    if not major_minor:
        return {}, []
    return _sysfs.parse_udev_record(_sysfs.read(os.path.join(_sysfs.UDEV_DATA, "b" + major_minor.strip())))


def capacity(block):
    """Bytes of the disk called block, from sysfs (its size in 512-byte sectors), or None."""
    sectors = _sysfs.read_int(os.path.join(_sysfs.SYS, "class", "block", block, "size"))
    return None if sectors is None else sectors * SECTOR


def wwid(block, properties):
    """The LUN's WWID as scsi_id prints it (and libvirt keys the volume): udev's ID_SERIAL of a SCSI
    disk, else the kernel's VPD 0x83 designator (device/wwid, "naa.6001...") in scsi_id's spelling."""
    serial = properties.get("ID_SERIAL") if properties.get("ID_BUS") in ("scsi", None) else None
    if serial:
        return _sysfs.unescape_udev(serial)
    kernel = _text(os.path.join(_sysfs.SYS, "class", "block", block, "device", "wwid"))
    if not kernel:
        return None
    for prefix, digit in _WWID_PREFIXES.items():
        if kernel.startswith(prefix):
            return digit + kernel[len(prefix):].replace(" ", "_")
    return kernel


def lun_suffix(lun):
    """How udev's path_id writes a LUN number in a by-path link."""
    if lun < 256:
        return "lun-%d" % lun
    return "lun-0x%04x%04x00000000" % (lun & 0xffff, (lun >> 16) & 0xffff)


def by_path_name(session, lun):
    """The by-path link udev makes for lun of session (path_id: ip-ADDRESS:PORT-iscsi-TARGET-lun-L)."""
    return "%sip-%s:%s-iscsi-%s-%s" % (BY_PATH, session.address, session.port, session.target, lun_suffix(lun.lun))


def by_path_link(session, lun, links):
    """The by-path link of the disk of lun: udev's own (from its record), else the one udev would
    make if it is there, else None."""
    for link in links:
        if link.startswith("disk/by-path/") and "-iscsi-" in link:
            return "/dev/" + link
    wanted = by_path_name(session, lun)
    if lun.block and os.path.realpath(wanted) == os.path.join(DEV, lun.block):
        return wanted
    return None
