# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pool source discovery, one file per kind, and its registry: the only place that maps a
pool type to its discovery. A kind's module is imported when a task first asks for it.
discover() checks what the task asks (block devices for some kinds, a server and a deadline for
others, nothing for the kinds that read all of one thing of the host: SCSI hosts, multipath maps)
and turns what the discovery finds into pool_sources' result: a list and libvirt's <sources> XML.
Nothing here changes the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import traceback
from dataclasses import dataclass
from typing import Optional

from ansible_collections.poolcraft.storage.plugins.module_utils import _inputs
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import resolve_devices
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Auth, Host

LXML_IMPORT_ERROR = None
try:
    from lxml import etree
except ImportError:
    etree = None
    LXML_IMPORT_ERROR = traceback.format_exc()

# Alphabetical; a new kind of discovery is one line here and one file beside this one.
# type -> (module in this package, class in it)
DISCOVERY = {
    "disk": ("_block", "DiskDiscovery"),
    "fs": ("_block", "FsDiscovery"),
    "iscsi": ("_iscsi", "IscsiDiscovery"),
    "iscsi-direct": ("_iscsi", "IscsiDirectDiscovery"),
    "logical": ("_logical", "LogicalDiscovery"),
    "mpath": ("_mpath", "MpathDiscovery"),
    "netfs": ("_netfs", "NetfsDiscovery"),
    "rbd": ("_rbd", "RbdDiscovery"),
    "scsi": ("_scsi", "ScsiDiscovery"),
}

SOURCE_TYPES = tuple(sorted(DISCOVERY))

# seconds a server has to answer, unless the task says otherwise; and the most it may say
DEFAULT_TIMEOUT = 10
MAX_TIMEOUT = 600


HIDDEN = "(hidden)"  # what a refusal shows of a value that may hold a secret


def _hosts(value, option):
    """source.hosts (Ceph monitors): a non-empty list of {name, port}, as Host()s (an IPv6 name
    without its brackets)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ValidationError(option, value, "a list of monitors, each {name, port}, with at least one")
    found = []
    for server in value:
        if not isinstance(server, dict):
            raise ValidationError(option, server, "each monitor is a dict {name, port}")
        unknown = sorted(set(server) - set(("name", "port")))
        if unknown:
            raise ValidationError("%s.%s" % (option, unknown[0]), server[unknown[0]], "a monitor has only name and port")
        if server.get("name") is None:
            raise ValidationError("%s.name" % option, None, "required: the monitor's host name or IP address")
        name = _inputs.host(server["name"], "%s.name" % option)
        found.append(Host(name[1:-1] if name.startswith("[") else name, _inputs.port(server.get("port"), "%s.port" % option)))
    return tuple(found)


def _ceph_auth(value, option):
    """source.auth of a Ceph cluster: {username, secret} as an Auth of type "ceph". A refusal never
    shows the secret, nor a value that may be it."""
    if not isinstance(value, dict):
        raise ValidationError(option, HIDDEN, "must be a dict (username, secret)")
    unknown = sorted(set(value) - set(("username", "secret")))
    if unknown:
        raise ValidationError("%s.%s" % (option, unknown[0]), HIDDEN, "a Ceph login has only username and secret")
    username = _inputs.text(_inputs.not_empty(value.get("username"), option + ".username"), option + ".username")
    if username is None:
        raise ValidationError(option + ".username", None, "required: the cephx user, without client.")
    return Auth(username=username, secret=_inputs.secret(value.get("secret"), option + ".secret"), type="ceph")


# the options of `source`, each with its checker (value, option) -> value
SOURCE_CHECKS = {"host": _inputs.host, "port": _inputs.port, "initiator": _inputs.iscsi_name,
                 "hosts": _hosts, "auth": _ceph_auth}
# options whose value is never shown in a refusal
SECRET_OPTIONS = ("auth",)


if False:  # pylint: disable=using-constant-test
    # Never run. AnsiballZ packs only the module_utils it finds in import statements, and
    # importlib's are not statements: these lines put every discovery into the payload.
    # pylint: disable-next=unused-import
    from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import _block, _iscsi, _logical, _mpath, _netfs, _rbd, _scsi


@dataclass(frozen=True)
class ServerQuery:
    """What a discovery that asks a server gets: the server (an IPv6 address without brackets),
    the port (the kind's default when not given), the initiator to ask as, the deadline in seconds;
    for a kind with several servers (Ceph monitors) the hosts (Host()s) instead, and the login (Auth)."""
    host: Optional[str]
    port: Optional[int]
    initiator: Optional[str]
    timeout: int
    hosts: tuple = ()
    auth: Optional[Auth] = None


def discovery_class(pool_type):
    """The class of pool_type's discovery, its module imported on first use."""
    try:
        module_name, class_name = DISCOVERY[pool_type]
    except (KeyError, TypeError):
        raise ValidationError("type", pool_type, "no discovery for this pool type; known: %s" % ", ".join(SOURCE_TYPES))
    return getattr(importlib.import_module("%s.%s" % (__name__, module_name)), class_name)


def discovery_for(pool_type, runner):
    return discovery_class(pool_type)(runner)


def _kinds(what):
    """The kinds that take an option: "server" (source, timeout) or "devices"."""
    def takes(cls):
        server = getattr(cls, "asks_a_server", False)
        return server if what == "server" else not server and getattr(cls, "reads_block_devices", True)
    return ", ".join(kind for kind in SOURCE_TYPES if takes(discovery_class(kind)))


def server_query(discovery_cls, pool_type, source, timeout):
    """The ServerQuery of a task, or a ValidationError naming the option: source must be a dict
    of the options the kind takes (those it requires given), timeout 1 to MAX_TIMEOUT seconds."""
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT):
        raise ValidationError("timeout", timeout, "a number of seconds from 1 to %d" % MAX_TIMEOUT)
    if source is None:
        source = {}
    if not isinstance(source, dict):
        raise ValidationError("source", source, "must be a dict (%s)" % ", ".join(discovery_cls.source_options))
    values = {}
    for option in sorted(source):
        value = source[option]
        if value is None:
            continue
        if option not in discovery_cls.source_options:
            raise ValidationError("source.%s" % option, HIDDEN if option in SECRET_OPTIONS else value,
                                  "%s discovery takes no source.%s; it takes source.%s"
                                  % (pool_type, option, ", source.".join(discovery_cls.source_options)))
        values[option] = SOURCE_CHECKS[option](value, "source.%s" % option)
    for option in discovery_cls.required_source:
        if option not in values:
            raise ValidationError("source.%s" % option, None, "required: type %s asks a server for its sources, and "
                                  "needs source.%s" % (pool_type, ", source.".join(discovery_cls.required_source)))
    host = values.get("host")
    if host is not None and host.startswith("["):
        host = host[1:-1]
    port = values.get("port", getattr(discovery_cls, "default_port", None))
    return ServerQuery(host, port, values.get("initiator"), DEFAULT_TIMEOUT if timeout is None else timeout,
                       hosts=values.get("hosts", ()), auth=values.get("auth"))


def sources_to_xml(parts):
    """libvirt's <sources> document (as virsh find-storage-pool-sources prints it) from the parts
    of each source, in libvirt's element order (host, device, dir, adapter, name, initiator, format).
    A part is a dict of "hosts" ((name, port or None) pairs), "devices" (paths or IQNs), "dir",
    "adapter" (the attributes of a scsi pool's <adapter>), "name", "initiator" (an IQN) and
    "format", each optional, or the tuple (devices, name, format)."""
    root = etree.Element("sources")
    for part in parts:
        if not isinstance(part, dict):
            devices, name, fmt = part
            part = {"devices": devices, "name": name, "format": fmt}
        source = etree.SubElement(root, "source")
        for host, port in part.get("hosts") or ():
            element = etree.SubElement(source, "host", name=host)
            if port is not None:
                element.set("port", str(port))
        for path in part.get("devices") or ():
            etree.SubElement(source, "device", path=path)
        if part.get("dir") is not None:
            etree.SubElement(source, "dir", path=part["dir"])
        if part.get("adapter") is not None:
            adapter = etree.SubElement(source, "adapter")
            for attribute in ("type", "name", "parent", "wwnn", "wwpn"):  # libvirt's order
                if part["adapter"].get(attribute) is not None:
                    adapter.set(attribute, part["adapter"][attribute])
        if part.get("name") is not None:
            etree.SubElement(source, "name").text = part["name"]
        if part.get("initiator") is not None:
            etree.SubElement(etree.SubElement(source, "initiator"), "iqn", name=part["initiator"])
        if part.get("format") is not None:
            etree.SubElement(source, "format", type=part["format"])
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def discover(pool_type, devices, runner, source=None, timeout=None):
    """{"sources": [...], "xml": "<sources>..."} for pool_type. devices restricts the search of
    a kind that reads the host's block devices; source (host, port, initiator; hosts, auth) and
    timeout (seconds) say whom a kind that asks a server asks, and for how long. A kind that reads
    all of one thing of the host (reads_block_devices False: SCSI hosts, multipath maps) takes none."""
    discovery = discovery_for(pool_type, runner)
    if getattr(discovery, "asks_a_server", False):
        if devices is not None:
            raise ValidationError("devices", devices, "type %s asks a server (source.%s), not block devices; "
                                  "devices is for %s" % (pool_type, discovery.required_source[0], _kinds("devices")))
        sources = discovery.find(server_query(type(discovery), pool_type, source, timeout))
    else:
        reads = getattr(discovery, "reads", "the host's own block devices")
        given = dict((key, HIDDEN if key in SECRET_OPTIONS else value) for key, value in (source or {}).items()
                     if value is not None) if isinstance(source, dict) else source
        if given:
            raise ValidationError("source", given, "type %s reads %s; source is for %s" % (pool_type, reads, _kinds("server")))
        if timeout is not None:
            raise ValidationError("timeout", timeout, "type %s asks no server; timeout is for %s" % (pool_type, _kinds("server")))
        if getattr(discovery, "reads_block_devices", True):
            chosen = resolve_devices(devices)
        elif devices is not None:
            raise ValidationError("devices", devices, "type %s reads %s, all of them; devices is for %s"
                                  % (pool_type, reads, _kinds("devices")))
        else:
            chosen = None
        sources = discovery.find(chosen)
    return {"sources": sources, "xml": sources_to_xml([discovery.xml_parts(found) for found in sources])}
