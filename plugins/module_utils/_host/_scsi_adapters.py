# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SCSI host of a scsi pool's adapter, from sysfs; its rescan; NPIV vHBAs made and removed.

A SCSI host is /sys/class/scsi_host/hostN, a link to .../hostN/scsi_host/hostN under the device that
made it: a PCI function (.../0000:05:00.0/hostN), an NPIV vport (.../hostP/vport-P:0-K/hostN), a
driver of its own (scsi_debug: /sys/devices/pseudo_0/adapter0/hostN). An FC port is also
/sys/class/fc_host/hostN, with its WWNN and WWPN (node_name, port_name). The kernel makes a vHBA when
"WWPN:WWNN" (16 hex digits each) is written to vport_create of its physical port, and removes it
when the same is written to vport_delete.

Every reader takes sys_root (None: the host's /sys), so tests point it at a recorded tree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time
from dataclasses import dataclass
from typing import Optional

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _sysfs

_HOST = re.compile(r"^host(\d+)$")
_PCI_ADDRESS = re.compile(r"^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$")
_VPORT = re.compile(r"^vport-\d+:\d+-\d+$")
# how long a new vHBA may take to appear (the fabric login is the driver's), or an old one to go
VPORT_WAIT = 60.0
_POLL = 0.2
RESCAN_ALL = "- - -"  # every channel, target and LUN


@dataclass(frozen=True)
class ScsiHost:
    name: str                      # host5
    number: int
    device: str                    # its device directory (.../0000:05:00.0/host5), links resolved
    unique_id: Optional[int]
    pci_address: Optional[str]     # the last PCI function above it ("0000:05:00.0"), or None
    driver: Optional[str]          # proc_name: qla2xxx, scsi_debug ...


@dataclass(frozen=True)
class FcHost:
    name: str                      # host5 (the same name as its SCSI host)
    wwnn: Optional[str]            # 16 lowercase hex digits, as libvirt writes them
    wwpn: Optional[str]
    port_state: Optional[str]      # Online, Linkdown ...
    max_vports: Optional[int]
    vports_in_use: Optional[int]
    can_make_vports: bool          # the driver has vport_create
    vport_of: Optional[str]        # for a vHBA, its physical port (hostP); None for a port

    @property
    def has_room(self):
        """Whether another vport can be made on this port now (libvirt's test, too)."""
        return bool(self.can_make_vports and self.vport_of is None and self.port_state == "Online"
                    and self.max_vports and (self.vports_in_use or 0) < self.max_vports)


def _root(sys_root):
    return _sysfs.SYS if sys_root is None else sys_root


def host_name(name):
    """hostN from hostN or libvirt's scsi_hostN."""
    return name[len("scsi_"):] if name.startswith("scsi_") else name


def wwn(value):
    """A WWN as sysfs or a user writes it ("0x2000001B32A0C2D4") as 16 lowercase hex digits."""
    if not value:
        return None
    value = value.strip().lower()
    return (value[2:] if value.startswith("0x") else value).zfill(16)


def pci_address(device):
    """The last PCI function in a device's path ("0000:05:00.0"), or None."""
    found = None
    for part in device.split("/"):
        if _PCI_ADDRESS.match(part):
            found = part
    return found


def _text(path):
    value = _sysfs.read(path)
    return value.strip() if value is not None and value.strip() else None


def read_host(name, sys_root=None):
    """The ScsiHost called name (hostN), or None when there is none."""
    match = _HOST.match(name)
    link = os.path.join(_root(sys_root), "class", "scsi_host", name)
    if not match or not os.path.isdir(link):
        return None
    device = os.path.dirname(os.path.dirname(os.path.realpath(link)))  # .../hostN/scsi_host/hostN
    return ScsiHost(name=name, number=int(match.group(1)), device=device,
                    unique_id=_sysfs.read_int(os.path.join(link, "unique_id")), pci_address=pci_address(device),
                    driver=_text(os.path.join(link, "proc_name")))


def scsi_hosts(sys_root=None):
    """Every SCSI host, by number."""
    found = [read_host(name, sys_root) for name in _sysfs.listdir(os.path.join(_root(sys_root), "class", "scsi_host"))]
    return sorted((host for host in found if host is not None), key=lambda host: host.number)


def read_fc_host(name, sys_root=None):
    link = os.path.join(_root(sys_root), "class", "fc_host", name)
    if not _HOST.match(name) or not os.path.isdir(link):
        return None
    parts = os.path.realpath(link).split("/")
    vport_of = None
    for index, part in enumerate(parts[1:], 1):
        if _VPORT.match(part) and _HOST.match(parts[index - 1]):
            vport_of = parts[index - 1]
    return FcHost(name=name, wwnn=wwn(_sysfs.read(os.path.join(link, "node_name"))),
                  wwpn=wwn(_sysfs.read(os.path.join(link, "port_name"))), port_state=_text(os.path.join(link, "port_state")),
                  max_vports=_sysfs.read_int(os.path.join(link, "max_npiv_vports")),
                  vports_in_use=_sysfs.read_int(os.path.join(link, "npiv_vports_inuse")),
                  can_make_vports=os.path.exists(os.path.join(link, "vport_create")), vport_of=vport_of)


def fc_hosts(sys_root=None):
    found = [read_fc_host(name, sys_root) for name in _sysfs.listdir(os.path.join(_root(sys_root), "class", "fc_host"))]
    return sorted((host for host in found if host is not None), key=lambda host: int(host.name[len("host"):]))


def fc_host_by_wwn(wwnn, wwpn, sys_root=None):
    """The FcHost with that WWNN and WWPN, or None."""
    return next((host for host in fc_hosts(sys_root) if host.wwnn == wwn(wwnn) and host.wwpn == wwn(wwpn)), None)


def _names(hosts):
    return ", ".join(host.name for host in hosts) or "none"


# -- resolving an Adapter (_model.Adapter) to its ScsiHost ------------------------------------------

def resolve(adapter, sys_root=None):
    """The ScsiHost the adapter names, or a ValidationError naming the option and value. A managed
    fc_host whose vHBA is not there yet is an error here too: find_vport() and create_vport() first."""
    if adapter.type == "fc_host":
        fc = fc_host_by_wwn(adapter.wwnn, adapter.wwpn, sys_root)
        if fc is None:
            raise ValidationError("source.adapter.wwpn", adapter.wwpn, "no FC host has WWNN %s and WWPN %s here (FC hosts: %s)%s"
                                  % (adapter.wwnn, adapter.wwpn, _names(fc_hosts(sys_root)),
                                     "" if adapter.managed else "; set source.adapter.managed: true to create it as a vHBA"))
        host = read_host(fc.name, sys_root)
        if host is None:
            raise StorageError("FC host %s (WWPN %s) has no SCSI host" % (fc.name, adapter.wwpn))
        return host
    if adapter.name is not None:
        name = host_name(adapter.name)
        host = read_host(name, sys_root)
        if host is None:
            raise ValidationError("source.adapter.name", adapter.name, "no such SCSI host here (SCSI hosts: %s)"
                                  % _names(scsi_hosts(sys_root)))
        return host
    return _by_parent(adapter, sys_root)


def _by_parent(adapter, sys_root):
    address = str(adapter.parent_address)
    under = [host for host in scsi_hosts(sys_root) if host.pci_address == address]
    if not under:
        with_pci = sorted(set(host.pci_address for host in scsi_hosts(sys_root) if host.pci_address))
        raise ValidationError("source.adapter.parent_address", address, "no SCSI host under this PCI address (SCSI hosts "
                              "are under %s)" % (", ".join(with_pci) or "no PCI device"))
    if adapter.unique_id is not None:
        mine = [host for host in under if host.unique_id == adapter.unique_id]
        if not mine:
            raise ValidationError("source.adapter.unique_id", adapter.unique_id, "no SCSI host under %s has it (%s)"
                                  % (address, ", ".join("%s: %s" % (host.name, host.unique_id) for host in under)))
        under = mine
    if len(under) > 1:
        raise ValidationError("source.adapter.unique_id", adapter.unique_id, "%d SCSI hosts are under %s (%s); give the "
                              "unique_id of one" % (len(under), address,
                                                    ", ".join("%s: %s" % (host.name, host.unique_id) for host in under)))
    return under[0]


# -- NPIV vHBAs -------------------------------------------------------------------------------------

def vport_parent(adapter, sys_root=None):
    """The FcHost a managed vHBA of adapter is made on: source.adapter.parent, or the first port
    with room for a vport; a ValidationError naming the option when there is none."""
    if adapter.parent is not None:
        name = host_name(adapter.parent)
        parent = read_fc_host(name, sys_root)
        if parent is None:
            raise ValidationError("source.adapter.parent", adapter.parent, "no such FC host here (FC hosts: %s)"
                                  % _names(fc_hosts(sys_root)))
        if not parent.has_room:
            raise ValidationError("source.adapter.parent", adapter.parent, "cannot make an NPIV vport now (%s)" % _room(parent))
        return parent
    ports = [host for host in fc_hosts(sys_root) if host.vport_of is None]
    for port in ports:
        if port.has_room:
            return port
    raise ValidationError("source.adapter.parent", None, "no FC port here can make an NPIV vport (%s)"
                          % ("; ".join("%s: %s" % (port.name, _room(port)) for port in ports) or "no FC port"))


def _room(port):
    if port.vport_of is not None:
        return "a vport itself, of %s" % port.vport_of
    if not port.can_make_vports:
        return "its driver has no vport_create"
    return "port %s, %s of %s vports in use" % (port.port_state or "state unknown", port.vports_in_use, port.max_vports)


def _write(path, text, what):
    """One write to a sysfs attribute; the kernel answers a bad request with an error on it."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        raise StorageError("cannot open %s for %s: %s" % (path, what, exc.strerror or exc))
    try:
        os.write(fd, text.encode("ascii"))
    except OSError as exc:
        raise StorageError("the kernel refused %s (%r to %s): %s" % (what, text, path, exc.strerror or exc))
    finally:
        os.close(fd)


def _vport_id(wwnn, wwpn):
    return "%s:%s" % (wwn(wwpn), wwn(wwnn))


def _wait(predicate, what, timeout):
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            raise StorageError("%s: not done after %d s" % (what, timeout))
        time.sleep(_POLL)


def create_vport(parent, wwnn, wwpn, sys_root=None, timeout=VPORT_WAIT):
    """Make the vHBA WWNN/WWPN on the FC port parent (a name, hostP) and wait, with a deadline, for
    its SCSI host; that ScsiHost."""
    what = "vport_create of WWPN %s WWNN %s on %s" % (wwn(wwpn), wwn(wwnn), parent)
    _write(os.path.join(_root(sys_root), "class", "fc_host", parent, "vport_create"), _vport_id(wwnn, wwpn), what)

    def made():
        fc = fc_host_by_wwn(wwnn, wwpn, sys_root)
        return fc and read_host(fc.name, sys_root)
    return _wait(made, what, timeout)


def delete_vport(vport, sys_root=None, timeout=VPORT_WAIT):
    """Remove the vHBA vport (an FcHost) through its physical port, and wait for it to go."""
    if vport.vport_of is None:
        raise StorageError("%s (WWPN %s) is a physical FC port, not a vHBA: it is never deleted" % (vport.name, vport.wwpn))
    what = "vport_delete of %s (WWPN %s) on %s" % (vport.name, vport.wwpn, vport.vport_of)
    _write(os.path.join(_root(sys_root), "class", "fc_host", vport.vport_of, "vport_delete"), _vport_id(vport.wwnn, vport.wwpn), what)
    _wait(lambda: read_fc_host(vport.name, sys_root) is None, what, timeout)


def rescan(host, sys_root=None):
    """Ask the kernel to scan every channel, target and LUN of the SCSI host (hostN); it returns
    when the scan is done (udev then makes the nodes and links)."""
    _write(os.path.join(_root(sys_root), "class", "scsi_host", host, "scan"), RESCAN_ALL, "the rescan of %s" % host)
