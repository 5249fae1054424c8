# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sources of iscsi and iscsi-direct pools: the targets an iSCSI portal offers (SendTargets
discovery), each with the portals it is reached on, as libvirt's `find-storage-pool-sources-as
iscsi HOST PORT` finds them, with a deadline.

Two initiators can ask. libiscsi's iscsi-ls (libiscsi-bin) opens a discovery session of its own:
no daemon, no kernel module, nothing written. open-iscsi's iscsiadm goes through the kernel's
initiator; `-o nonpersistent` keeps it from writing node or discovery records. iscsi-ls is used
where it is installed, iscsiadm otherwise. iscsi-direct pools log in with libiscsi, so their
discovery is iscsi-ls's, as the initiator the pool will be (source.initiator)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import CommandTimeout
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _iscsiadm

DEFAULT_PORT = 3260
# what each tool is packaged in, for the error when none is installed
PACKAGES = {"iscsi-ls": "libiscsi-bin", "iscsiadm": "open-iscsi"}
# libiscsi logs in with the CHAP accounts these name (lib/init.c): discovery sends none, whatever
# the module's own environment holds
NO_CHAP = {"LIBISCSI_CHAP_USERNAME": "", "LIBISCSI_CHAP_PASSWORD": "",
           "LIBISCSI_CHAP_TARGET_USERNAME": "", "LIBISCSI_CHAP_TARGET_PASSWORD": ""}

# iscsi-ls: "Target:<iqn> Portal:<TargetAddress>", one line per target and portal
_ISCSI_LS_RE = re.compile(r"Target:(\S+) Portal:(\S+)")
_TPGT_RE = re.compile(r"-?[0-9]+")


def parse_portal(text):
    """{"host", "port", "tpgt"} of a TargetAddress (RFC 7143 13.8: host[:port][,tpgt], an IPv6
    address in brackets; iscsiadm leaves out the brackets of an address with a dot in it). The
    port defaults to 3260; a missing group tag, or iscsiadm's unknown one (-1), is None."""
    address, comma, tpgt = text.partition(",")
    port = None
    if address.startswith("["):
        host, bracket, rest = address[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            host = ""
        port = rest[1:] if rest else None
    elif address.count(":") > 1:  # an IPv6 address without brackets: its port is the last part
        host, _colon, port = address.rpartition(":")
    else:
        host, colon, port = address.partition(":")
        port = port if colon else None
    if not host or (port is not None and not port.isdigit()) or (comma and not _TPGT_RE.fullmatch(tpgt)):
        raise StorageError("not an iSCSI portal address: %r" % text)
    group = int(tpgt) if comma else -1
    return {"host": host, "port": int(port) if port else DEFAULT_PORT, "tpgt": group if group >= 0 else None}


def _lines(text, pattern, tool):
    """The groups of pattern on each line of text; a line it does not match is an error naming it."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = pattern.fullmatch(line.strip())
        if match is None:
            raise StorageError("%s printed a line that is not a target: %r" % (tool, line))
        found.append(match.groups())
    return found


def _targets(pairs):
    """[(iqn, portal)] as [(iqn, [portal, ...])]: each target once, in the order first seen."""
    targets = {}
    for iqn, portal in pairs:
        portals = targets.setdefault(iqn, [])
        if portal not in portals:
            portals.append(portal)
    return list(targets.items())


def parse_iscsi_ls(text):
    """iscsi-ls' output as [(iqn, [portal, ...])]."""
    return _targets((iqn, parse_portal(portal)) for iqn, portal in _lines(text, _ISCSI_LS_RE, "iscsi-ls"))


def parse_iscsiadm(text):
    """The output of iscsiadm -m discovery (read by _iscsiadm) as [(iqn, [portal, ...])]."""
    return _targets((offer.target, {"host": offer.address, "port": offer.port, "tpgt": offer.tpgt if offer.tpgt >= 0 else None})
                    for offer in _iscsiadm.parse_sendtargets(text))


def iscsi_ls_argv(host, port, initiator=None):
    argv = ["iscsi-ls"]
    if initiator:
        argv += ["--initiator-name", initiator]
    return argv + ["iscsi://%s" % _iscsiadm.portal(host, port)]


def iscsiadm_argv(host, port):
    """_iscsiadm's discovery, which writes no record (-o nonpersistent), with our deadline."""
    return ["iscsiadm", "-m", "discovery", "-t", "sendtargets", "-p", _iscsiadm.portal(host, port), "-o", "nonpersistent"]


class IscsiDiscovery(Discovery):
    """One source per target the portal offers, in the order the target sent them."""

    asks_a_server = True
    source_options = ("host", "port", "initiator")
    required_source = ("host",)
    default_port = DEFAULT_PORT
    # who may ask, in this order: iscsi-ls needs no daemon or kernel module and writes nothing
    tools = ("iscsi-ls", "iscsiadm")

    def find(self, chosen):
        """chosen: the task's ServerQuery (host, port, initiator, timeout)."""
        host = chosen.host
        portal = _iscsiadm.portal(host, chosen.port)
        tool = self._tool(chosen)
        try:
            targets = self._ask(tool, host, chosen)
        except CommandTimeout:
            raise StorageError("iSCSI portal %s did not answer within %s s (%s was stopped): it is down, or a "
                               "firewall drops the port" % (portal, chosen.timeout, tool))
        except CommandError as exc:
            raise StorageError("could not ask the iSCSI portal %s for its targets (%s): %s"
                               % (portal, tool, _reason(exc)))
        return [{"host": host, "port": chosen.port, "target": iqn, "portals": portals, "initiator": chosen.initiator}
                for iqn, portals in targets]

    def _ask(self, tool, host, chosen):
        if tool == "iscsi-ls":
            _rc, out, _err = self.runner.run(iscsi_ls_argv(host, chosen.port, chosen.initiator), env=NO_CHAP,
                                             timeout=chosen.timeout)
            return parse_iscsi_ls(out)
        argv = iscsiadm_argv(host, chosen.port)
        rc, out, err = self.runner.run(argv, timeout=chosen.timeout, check=False)
        if rc == _iscsiadm.ERR_NO_OBJS_FOUND:  # "No portals found"
            return []
        if rc != 0:
            raise CommandError(argv, rc, out, err)
        return parse_iscsiadm(out)

    def _tool(self, chosen):
        usable = [tool for tool in self.tools if self.runner.has(tool)]
        if not usable:
            raise StorageError("SendTargets discovery needs %s on the managed host" % " or ".join(
                "%s (%s)" % (tool, PACKAGES[tool]) for tool in self.tools))
        if chosen.initiator and usable[0] == "iscsiadm":
            raise ValidationError("source.initiator", chosen.initiator, "asking as a given initiator needs iscsi-ls "
                                  "(libiscsi-bin) on the managed host; iscsiadm asks as the host's own initiator name")
        return usable[0]

    @staticmethod
    def xml_parts(source):
        return {"hosts": [(source["host"], source["port"])], "devices": [source["target"]],
                "initiator": source["initiator"]}


class IscsiDirectDiscovery(IscsiDiscovery):
    """As the initiator the pool will be (libvirt requires one too): a target may offer only the
    targets that initiator may log in to. libiscsi is what iscsi-direct pools log in with."""

    required_source = ("host", "initiator")
    tools = ("iscsi-ls",)


def _reason(exc):
    """The tool's own words on one line, each line once (iscsiadm repeats a retried connection's),
    without iscsiadm's "iscsiadm: " prefixes."""
    lines = []
    for line in (exc.stderr or exc.stdout or "").splitlines():
        line = line.strip()
        if line.startswith("iscsiadm: "):
            line = line[len("iscsiadm: "):]
        if line and line not in lines:
            lines.append(line)
    return "; ".join(lines) or "rc %s and no message" % exc.rc
