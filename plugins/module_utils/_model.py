# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The model, as plain data: pools, volumes and their parts as the definitions and the host have
them (frozen records, _record; sizes in bytes), and the Action a plan is made of.

Nothing here reads or writes anything: _xml turns these into libvirt's XML and back, the
backends find them on the host, the managers compare them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Dict, List, Optional

from ansible_collections.poolcraft.storage.plugins.module_utils._record import field, record, replace


class Action(object):
    """One change: what it does in words, and the function that does it."""

    def __init__(self, description, apply):
        self.description = description
        self._apply = apply

    def apply(self):
        return self._apply()

    def __repr__(self):
        return "Action(%r)" % self.description


# -- definitions: what _xml reads and writes -------------------------------------------

@record
class Permissions:
    mode: Optional[int] = None
    owner: Optional[int] = None
    group: Optional[int] = None
    label: Optional[str] = None

    def as_dict(self):
        return {"mode": None if self.mode is None else "%04o" % self.mode,
                "owner": self.owner, "group": self.group, "label": self.label}


HIDDEN = "********"


@record
class Auth:
    """How a pool logs in: CHAP for iSCSI (and mutual CHAP, the target proving itself too), or a
    cephx user and key for Ceph (type "ceph"). The secrets are in memory only: the XML names
    them, the store keeps them in a 0600 file."""
    username: str
    secret: Optional[str] = field(default=None, repr=False)
    mutual_username: Optional[str] = None
    mutual_secret: Optional[str] = field(default=None, repr=False)
    type: str = "chap"

    def as_dict(self):
        """For results and diffs: the names, never a secret."""
        return {"type": self.type, "username": self.username, "secret": HIDDEN if self.secret else None,
                "mutual_username": self.mutual_username, "mutual_secret": HIDDEN if self.mutual_secret else None}

    def secrets(self):
        """What the store keeps for this pool, beside its definition: the secrets, and the mutual
        CHAP user, which libvirt's XML has no place for; the set ones only."""
        found = {"secret": self.secret, "mutual_username": self.mutual_username, "mutual_secret": self.mutual_secret}
        return dict((key, value) for key, value in found.items() if value)


@record
class Host:
    """One server of a pool with several (Ceph monitors); port None: the service's default."""
    name: str
    port: Optional[int] = None


@record
class PciAddress:
    """A PCI device's address (an HBA's, under which its SCSI host is found)."""
    domain: int = 0
    bus: int = 0
    slot: int = 0
    function: int = 0

    def __str__(self):
        return "%04x:%02x:%02x.%x" % (self.domain, self.bus, self.slot, self.function)


@record
class Adapter:
    """The SCSI host of a scsi pool (libvirt's <adapter>): type "scsi_host", by name (hostN) or by the
    PCI address of its parent and its unique_id (stable across reboots where hostN is not); or type
    "fc_host", by WWNN and WWPN, optionally under a parent (hostN) and managed (created on start and
    deleted on stop as an NPIV vHBA)."""
    type: str
    name: Optional[str] = None
    parent_address: Optional[PciAddress] = None
    unique_id: Optional[int] = None
    wwnn: Optional[str] = None
    wwpn: Optional[str] = None
    parent: Optional[str] = None
    managed: Optional[bool] = None

    def as_dict(self):
        address = self.parent_address
        return {"type": self.type, "name": self.name, "unique_id": self.unique_id,
                "parent_address": None if address is None else {
                    "domain": address.domain, "bus": address.bus, "slot": address.slot, "function": address.function},
                "wwnn": self.wwnn, "wwpn": self.wwpn, "parent": self.parent, "managed": self.managed}


@record
class PoolSource:
    """What a pool is made from; each pool type uses the fields it needs."""
    devices: tuple = ()
    host: Optional[str] = None        # an NFS server, an iSCSI portal's host
    port: Optional[int] = None        # an iSCSI portal's port
    dir: Optional[str] = None         # an NFS export
    name: Optional[str] = None
    format: Optional[str] = None
    protocol_version: Optional[str] = None  # NFS: 3, 4, 4.1, 4.2
    target: Optional[str] = None      # an iSCSI target's IQN (libvirt keeps it as <device path=IQN>)
    initiator: Optional[str] = None   # the iSCSI initiator's IQN
    auth: Optional[Auth] = None
    hosts: tuple = ()                 # Host()s: Ceph monitors
    namespace: Optional[str] = None   # an RBD namespace in the Ceph pool (source.name)
    config: tuple = ()                # (option, value) pairs for the client (libvirt's rbd:config_opts)
    adapter: Optional[Adapter] = None  # a scsi pool's SCSI host
    wwids: tuple = ()                 # an mpath pool's maps, selected by WWID
    aliases: tuple = ()               # ... and by alias (/dev/mapper/ALIAS)

    def is_empty(self):
        return self == PoolSource()

    def given_fields(self):
        """The names of the fields that are set."""
        return [name for name in SOURCE_FIELDS if getattr(self, name) not in (None, ())]


SOURCE_FIELDS = ("devices", "host", "port", "dir", "name", "format", "protocol_version", "target", "initiator", "auth",
                 "hosts", "namespace", "config", "adapter", "wwids", "aliases")


@record
class ThinPool:
    """The LVM thin pool a logical pool's volumes are made in; size in bytes."""
    name: str
    size: Optional[int] = None


@record
class PoolDef:
    name: str
    type: str
    uuid: str
    target_path: Optional[str] = None
    permissions: Permissions = field(default_factory=Permissions)
    source: PoolSource = field(default_factory=PoolSource)
    mount_options: tuple = ()
    thin_pool: Optional[ThinPool] = None

    def with_changes(self, **changes):
        return replace(self, **changes)


@record
class BackingStore:
    path: str
    format: Optional[str] = None


@record
class MapPath:
    """One path of a multipath map: its device (sdb), its SCSI address (H:C:T:L), its state as the
    kernel has it (active, failed, ...) and the priority group it is in (1 is the first)."""
    device: str
    hctl: Optional[str]
    state: str
    group: int
    group_state: Optional[str] = None  # the group's: active, enabled, disabled


@record
class VolumeDef:
    """A volume as found (or as it will be): sizes in bytes."""
    name: str
    path: str
    key: str
    format: str
    capacity: int
    allocation: int
    type: str = "file"
    backing: List[BackingStore] = field(default_factory=list)
    permissions: Permissions = field(default_factory=Permissions)
    # SAN volumes: a LUN that is a path of a multipath map names the map (never write to it);
    # a map lists its paths (MapPath) and its state ("active", or "degraded" with no active path)
    multipath_map: Optional[str] = None
    paths: tuple = ()
    map_state: Optional[str] = None
    features: Optional[tuple] = None  # an RBD image's features (None: the type has none, or not read)


# -- what backends find and are asked to make ------------------------------------------

@record
class PoolStatus:
    """What a refresh finds: sizes in bytes and how many volumes there are."""
    capacity: int
    allocation: int
    available: int
    volume_count: int
    # Pool types that hand out space in extents (disk pools) list the free ones:
    # ({"start", "end", "size"} in bytes, end inclusive); None where that means nothing.
    free_extents: Optional[tuple] = None


@record
class CloneSource:
    path: str
    format: str
    has_backing: bool = False
    capacity: int = 0


@record
class VolumeSpec:
    """A volume to create, validated by the manager; sizes in bytes."""
    name: str
    format: str
    capacity: Optional[int] = None
    allocation: Optional[int] = None
    preallocation: Optional[str] = None
    cluster_size: Optional[int] = None
    compat: Optional[str] = None
    lazy_refcounts: Optional[bool] = None
    backing: Optional[BackingStore] = None
    clone: Optional[CloneSource] = None
    permissions: Permissions = field(default_factory=Permissions)
    features: Optional[tuple] = None  # RBD image features; None: the pool type's default
    # the task's own values of these options, so that a refusal names them as the task wrote them
    given: Dict[str, object] = field(default_factory=dict, compare=False)

    def as_given(self, option):
        return self.given.get(option, getattr(self, option, None))
