# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PoolDef / VolumeDef <-> libvirt storage XML (storagepool.rng, storagevol.rng)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import traceback
import uuid as uuidlib

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import (
    Adapter, Auth, Host, PciAddress, Permissions, PoolDef, PoolSource, ThinPool)

# libvirt keeps fs/netfs mount options in its own namespace, and rbd client options in another
FS_NS = "http://libvirt.org/schemas/storagepool/fs/1.0"
RBD_NS = "http://libvirt.org/schemas/storagepool/rbd/1.0"
# What libvirt has no element for (an LVM thin pool) goes in ours, as libvirt does with
# fs:mount_opts; libvirt's parser ignores it, its schema does not know it.
POOLCRAFT_NS = "urn:poolcraft:storage:pool:1"

LXML_IMPORT_ERROR = None
try:
    from lxml import etree
except ImportError:
    etree = None
    LXML_IMPORT_ERROR = traceback.format_exc()


def require_lxml():
    if etree is None:
        raise StorageError("the Python library lxml is required on the managed host (python3-lxml or pip install lxml)")


def _parser():
    # No entities, no network, no huge trees: definitions may be hand-edited.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


def _sub(parent, tag, text=None, **attrs):
    node = etree.SubElement(parent, tag, **attrs)
    if text is not None:
        node.text = str(text)
    return node


def _sized(parent, tag, value):
    _sub(parent, tag, value, unit="bytes")


def _permissions_xml(parent, perms):
    if perms == Permissions():
        return
    node = _sub(parent, "permissions")
    if perms.mode is not None:
        _sub(node, "mode", "%04o" % perms.mode)
    if perms.owner is not None:
        _sub(node, "owner", perms.owner)
    if perms.group is not None:
        _sub(node, "group", perms.group)
    if perms.label:
        _sub(node, "label", perms.label)


def _tostring(root):
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def pool_to_xml(pool, status=None):
    """The libvirt pool XML; status (capacity, allocation, available) is for live pools only."""
    require_lxml()
    nsmap = {}
    if pool.mount_options:
        nsmap["fs"] = FS_NS
    if pool.source.config:
        nsmap["rbd"] = RBD_NS
    if pool.thin_pool or pool.source.namespace or pool.source.wwids or pool.source.aliases:
        nsmap["poolcraft"] = POOLCRAFT_NS
    root = etree.Element("pool", type=pool.type, nsmap=nsmap or None)
    _sub(root, "name", pool.name)
    _sub(root, "uuid", pool.uuid)
    if status is not None:
        _sized(root, "capacity", status.capacity)
        _sized(root, "allocation", status.allocation)
        _sized(root, "available", status.available)
    source = _sub(root, "source")
    if pool.source.host:
        host = _sub(source, "host", name=pool.source.host)
        if pool.source.port:
            host.set("port", str(pool.source.port))
    for server in pool.source.hosts:
        host = _sub(source, "host", name=server.name)
        if server.port:
            host.set("port", str(server.port))
    for device in pool.source.devices:
        _sub(source, "device", path=device)
    if pool.source.target:
        _sub(source, "device", path=pool.source.target)  # libvirt keeps the target's IQN here
    if pool.source.dir:
        _sub(source, "dir", path=pool.source.dir)
    if pool.source.adapter:
        _adapter_xml(source, pool.source.adapter)
    if pool.source.name:
        _sub(source, "name", pool.source.name)
    if pool.source.format:
        _sub(source, "format", type=pool.source.format)
    if pool.source.protocol_version:
        _sub(source, "protocol", ver=pool.source.protocol_version)
    if pool.source.initiator:
        _sub(_sub(source, "initiator"), "iqn", name=pool.source.initiator)
    if pool.source.auth:
        _auth_xml(source, pool)
    if pool.target_path:
        target = _sub(root, "target")
        _sub(target, "path", pool.target_path)
        _permissions_xml(target, pool.permissions)
    if pool.mount_options:
        opts = _sub(root, "{%s}mount_opts" % FS_NS)
        for option in pool.mount_options:
            _sub(opts, "{%s}option" % FS_NS, name=option)
    if pool.source.config:
        opts = _sub(root, "{%s}config_opts" % RBD_NS)
        for option, value in pool.source.config:
            _sub(opts, "{%s}option" % RBD_NS, name=option, value=value)
    if pool.source.namespace:
        # libvirt has no RBD namespaces: ours, as the thin pool (such a definition does not validate
        # against libvirt's schema, and libvirt would use the whole Ceph pool)
        _sub(root, "{%s}rbd_namespace" % POOLCRAFT_NS, name=pool.source.namespace)
    if pool.source.wwids or pool.source.aliases:
        # libvirt's mpath pools take every map; the selection is ours
        maps = _sub(root, "{%s}maps" % POOLCRAFT_NS)
        for wwid in pool.source.wwids:
            _sub(maps, "{%s}map" % POOLCRAFT_NS, wwid=wwid)
        for alias in pool.source.aliases:
            _sub(maps, "{%s}map" % POOLCRAFT_NS, alias=alias)
    if pool.thin_pool:
        thin = _sub(root, "{%s}thin_pool" % POOLCRAFT_NS, name=pool.thin_pool.name)
        if pool.thin_pool.size is not None:
            thin.set("size", str(pool.thin_pool.size))
    return _tostring(root)


def secret_usage(pool_name):
    """The name of a pool's secret, as its definition refers to it (libvirt's <secret usage=>)."""
    return "poolcraft-pool/%s" % pool_name


def _adapter_xml(source, adapter):
    node = _sub(source, "adapter", type=adapter.type)
    for name in ("name", "parent", "wwnn", "wwpn"):
        if getattr(adapter, name):
            node.set(name, getattr(adapter, name))
    if adapter.managed is not None:
        node.set("managed", "yes" if adapter.managed else "no")
    if adapter.parent_address is not None or adapter.unique_id is not None:
        parent = _sub(node, "parentaddr")
        if adapter.unique_id is not None:
            parent.set("unique_id", str(adapter.unique_id))
        address = adapter.parent_address or PciAddress()
        _sub(parent, "address", domain="0x%04x" % address.domain, bus="0x%02x" % address.bus,
             slot="0x%02x" % address.slot, function="0x%x" % address.function)


def _auth_xml(source, pool):
    # The definition names the secret; the secret itself is kept by the store, never in here.
    auth = _sub(source, "auth", type=pool.source.auth.type, username=pool.source.auth.username)
    _sub(auth, "secret", usage=secret_usage(pool.name))


class DefinitionError(StorageError):
    """A stored definition this collection cannot use: origin (the file) and why, in one line."""

    def __init__(self, origin, reason):
        super(DefinitionError, self).__init__("%s %s" % (origin, reason))
        self.origin = origin
        self.reason = reason


# Only ASCII digits count: str.isdigit() takes "\u0661" too
_OCTAL_MODE = re.compile(r"^[0-7]{1,4}$")
_ID = re.compile(r"^-?[0-9]{1,10}$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_UNSET_ID = (-1, 0xFFFFFFFF)  # libvirt writes an unset owner or group as -1; (uid_t)-1 is the same
_MAX_ID = 0xFFFFFFFF


def _text(node, path, convert=str):
    found = node.find(path)
    if found is None or found.text is None:
        return None
    return convert(found.text.strip())


def _mode_from(text):
    if not _OCTAL_MODE.match(text):
        raise ValueError("has a malformed target/permissions/mode %r: up to 4 octal digits, such as 0755" % text)
    return int(text, 8)


def _id_from(element):
    def convert(text):
        if not _ID.match(text) or not -1 <= int(text) <= _MAX_ID:
            raise ValueError("has a malformed target/permissions/%s %r: a number from 0 to %d, or -1 for unset"
                             % (element, text, _MAX_ID))
        number = int(text)
        return None if number in _UNSET_ID else number
    return convert


def _permissions_from(node):
    if node is None:
        return Permissions()
    return Permissions(mode=_text(node, "mode", _mode_from), owner=_text(node, "owner", _id_from("owner")),
                       group=_text(node, "group", _id_from("group")), label=_text(node, "label"))


def _port_from(text):
    if not _PORT.match(text) or not 1 <= int(text) <= 65535:
        raise ValueError("has a malformed source/host port %r: a number from 1 to 65535" % text)
    return int(text)


def _uuid_from(text):
    if not text:
        raise ValueError("has no uuid")
    try:
        return str(uuidlib.UUID(text))  # one spelling, so a hand-written uuid does not read as a change
    except ValueError:
        raise ValueError("has a malformed uuid %r" % text)


# pool types whose <source><device path=> is an iSCSI target's IQN, not a block device
_TARGET_IN_DEVICE = ("iscsi", "iscsi-direct")
# pool types with several <host>s (Ceph monitors); the others have one
_SEVERAL_HOSTS = ("rbd",)
_AUTH_TYPES = ("chap", "ceph")


def _attribute(src, path, attribute):
    node = src.find(path)
    return node.get(attribute) if node is not None else None


def _config_from(root):
    options = tuple((opt.get("name"), opt.get("value"))
                    for opt in root.findall("{%s}config_opts/{%s}option" % (RBD_NS, RBD_NS)))
    if not all(name and value is not None for name, value in options):
        raise ValueError("has an rbd:config_opts option without a name or a value")
    return options


_ADAPTER_TYPES = ("scsi_host", "fc_host")
_HEX_OR_DECIMAL = re.compile(r"^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$")


def _number_from(text, what):
    if text is None or not _HEX_OR_DECIMAL.match(text.strip()):
        raise ValueError("has a malformed source/adapter %s %r: a number, such as 0x1f" % (what, text))
    return int(text.strip(), 0)


def _adapter_from(src):
    node = src.find("adapter")
    if node is None:
        return None
    kind = node.get("type") or ("fc_host" if node.get("wwnn") else "scsi_host")  # libvirt's default
    if kind not in _ADAPTER_TYPES:
        raise ValueError("has a source/adapter of type %r: scsi_host or fc_host" % kind)
    managed = node.get("managed")
    if managed not in (None, "yes", "no"):
        raise ValueError("has a source/adapter managed=%r: yes or no" % managed)
    parent = node.find("parentaddr")
    address = unique_id = None
    if parent is not None:
        unique_id = _number_from(parent.get("unique_id"), "unique_id") if parent.get("unique_id") is not None else None
        found = parent.find("address")
        if found is None:
            raise ValueError("has a source/adapter/parentaddr without an address")
        address = PciAddress(*(_number_from(found.get(part), part) for part in ("domain", "bus", "slot", "function")))
    return Adapter(type=kind, name=node.get("name"), parent_address=address, unique_id=unique_id,
                   wwnn=node.get("wwnn"), wwpn=node.get("wwpn"), parent=node.get("parent"),
                   managed=None if managed is None else managed == "yes")


def _maps_from(root):
    maps = root.findall("{%s}maps/{%s}map" % (POOLCRAFT_NS, POOLCRAFT_NS))
    if any(bool(node.get("wwid")) == bool(node.get("alias")) for node in maps):
        raise ValueError("has a poolcraft:map with neither or both of wwid and alias")
    return (tuple(node.get("wwid") for node in maps if node.get("wwid")),
            tuple(node.get("alias") for node in maps if node.get("alias")))


def _host_from(node):
    port = node.get("port")
    if not node.get("name"):
        raise ValueError("has a source/host without a name")
    return Host(name=node.get("name"), port=_port_from(port.strip()) if port is not None else None)


def _auth_from(src):
    node = src.find("auth")
    if node is None:
        return None
    if node.get("type") not in _AUTH_TYPES or not node.get("username"):
        raise ValueError("has a source/auth that is not CHAP or cephx with a username")
    # The secrets are not in the definition, nor is mutual CHAP, which libvirt's schema has no
    # place for: the store adds them from the pool's secret file.
    return Auth(username=node.get("username"), type=node.get("type"))


def _source_from(src, root):
    if src is None:
        return PoolSource()
    host = src.find("host")
    devices = tuple(dev.get("path") for dev in src.findall("device"))
    if not all(devices):
        raise ValueError("has a source/device without a path")
    target = None
    if root.get("type") in _TARGET_IN_DEVICE:
        if len(devices) > 1:
            raise ValueError("has more than one source/device (the iSCSI target)")
        target, devices = (devices[0] if devices else None), ()
    hosts = tuple(_host_from(node) for node in src.findall("host"))
    several = root.get("type") in _SEVERAL_HOSTS
    if not several and len(hosts) > 1:
        raise ValueError("has more than one source/host")
    first = hosts[0] if hosts and not several else Host(name=None)
    wwids, aliases = _maps_from(root)
    return PoolSource(
        devices=devices,
        host=first.name,
        port=first.port,
        hosts=hosts if several else (),
        namespace=_attribute(root, "{%s}rbd_namespace" % POOLCRAFT_NS, "name"),
        config=_config_from(root),
        dir=_attribute(src, "dir", "path"),
        name=_text(src, "name"),
        format=_attribute(src, "format", "type"),
        protocol_version=_attribute(src, "protocol", "ver"),
        target=target,
        initiator=_attribute(src, "initiator/iqn", "name"),
        auth=_auth_from(src),
        adapter=_adapter_from(src),
        wwids=wwids,
        aliases=aliases)


def _mount_options_from(root):
    options = tuple(opt.get("name") for opt in root.findall("{%s}mount_opts/{%s}option" % (FS_NS, FS_NS)))
    if not all(options):
        raise ValueError("has a fs:mount_opts option without a name")
    return options


def _target_path_from(root):
    path = _text(root, "target/path")
    if path is not None and not path.startswith("/"):
        raise ValueError("has a target/path %r that is not an absolute path" % path)
    return path


def pool_from_xml(text, origin="pool definition"):
    """Parse a stored pool definition; what cannot be used raises DefinitionError naming origin and why."""
    require_lxml()
    try:
        root = etree.fromstring(text.encode("utf-8") if isinstance(text, str) else text, _parser())
    except etree.XMLSyntaxError as exc:
        raise DefinitionError(origin, "is not valid XML: %s" % exc)
    if root.tag != "pool" or not root.get("type") or _text(root, "name") is None:
        raise DefinitionError(origin, "is not a libvirt storage pool definition")
    try:
        return PoolDef(name=_text(root, "name"), type=root.get("type"), uuid=_uuid_from(_text(root, "uuid")),
                       target_path=_target_path_from(root),
                       permissions=_permissions_from(root.find("target/permissions")), source=_source_from(root.find("source"), root),
                       mount_options=_mount_options_from(root), thin_pool=_thin_pool_from(root))
    except ValueError as exc:
        raise DefinitionError(origin, str(exc))


def _thin_pool_from(root):
    node = root.find("{%s}thin_pool" % POOLCRAFT_NS)
    if node is None:
        return None
    size = node.get("size")
    if not node.get("name") or (size is not None and not re.match(r"^[0-9]{1,30}$", size)):
        raise ValueError("has a damaged poolcraft:thin_pool element")
    return ThinPool(name=node.get("name"), size=None if size is None else int(size))


def volume_to_xml(vol):
    require_lxml()
    root = etree.Element("volume", type=vol.type)
    _sub(root, "name", vol.name)
    _sub(root, "key", vol.key)
    _sized(root, "capacity", vol.capacity)
    _sized(root, "allocation", vol.allocation)
    target = _sub(root, "target")
    _sub(target, "path", vol.path)
    _sub(target, "format", type=vol.format)
    _permissions_xml(target, vol.permissions)
    if vol.backing:
        backing = _sub(root, "backingStore")
        _sub(backing, "path", vol.backing[0].path)
        if vol.backing[0].format:
            _sub(backing, "format", type=vol.backing[0].format)
    return _tostring(root)
