# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iscsiadm (open-iscsi): sendtargets discovery, node records, login, logout, rescan.

Every call has a deadline: discovery and login talk to the network (iscsiadm's own login retries
last up to 15 s x 8 by default), and a record operation waits up to 30 s for open-iscsi's lock.
No value given here is a secret: iscsiadm takes node values only on its command line, so secrets
go into the record file itself (_host/_iscsi_nodes.py); update() refuses their names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from dataclasses import dataclass

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._host._iscsi_nodes import SECRET_NAMES

DISCOVERY_TIMEOUT = 45
LOGIN_TIMEOUT = 150
LOGOUT_TIMEOUT = 60
RECORD_TIMEOUT = 45
RESCAN_TIMEOUT = 120

# iscsiadm's exit codes (include/iscsi_err.h) that mean something here
ERR_TRANS = 4               # no connection to the portal
ERR_LOGIN = 5
ERR_TRANS_TIMEOUT = 8
ERR_PDU_TIMEOUT = 11        # discovery gave up reconnecting (reopen_max), a closed port among others
ERR_SESS_EXISTS = 15        # logged in already
ERR_FATAL_LOGIN = 19        # the target refused: unknown target, not allowed ...
ERR_ISCSID_NOTCONN = 20
ERR_NO_OBJS_FOUND = 21      # no such record, no such session
ERR_LOGIN_AUTH_FAILED = 24

# "127.0.0.1:3260,1 iqn.2024-01.example:disk" and "[fd00::1]:3260,1 iqn..."
_OFFER = re.compile(r"^(\[[^\]]+\]|[^\s:]+):(\d+),(-?\d+)\s+(\S+)$")


@dataclass(frozen=True)
class Offer:
    """A target a portal offers, with one of its portals (sendtargets lists one line per portal)."""
    address: str    # as the target wrote it; IPv6 without brackets
    port: int
    tpgt: int
    target: str

    @property
    def portal(self):
        return "%s:%d,%d" % (bracketed(self.address), self.port, self.tpgt)


def bracketed(host):
    """A host as iscsiadm's -p takes it: an IPv6 address in brackets."""
    host = host.strip("[]") if host.startswith("[") else host
    return "[%s]" % host if ":" in host else host


def portal(host, port):
    """HOST:PORT for -p."""
    return "%s:%d" % (bracketed(host), port)


def parse_sendtargets(output):
    """The Offers of `iscsiadm -m discovery -t sendtargets` (one line per target and portal)."""
    offers = []
    for line in (output or "").splitlines():
        match = _OFFER.match(line.strip())
        if match:
            address = match.group(1)
            offers.append(Offer(address=address[1:-1] if address.startswith("[") else address,
                                port=int(match.group(2)), tpgt=int(match.group(3)), target=match.group(4)))
    return offers


def _detail(exc):
    """iscsiadm's own words, on one line, without its "iscsiadm: " prefixes."""
    lines = []
    for line in (exc.stderr or exc.stdout or "").splitlines():
        line = line.strip()
        if line.startswith("iscsiadm: "):
            line = line[len("iscsiadm: "):]
        if line and line not in lines:  # a retried connection repeats its line
            lines.append(line)
    return "; ".join(lines) or "exit code %s" % exc.rc


class Iscsiadm(object):

    def __init__(self, runner):
        self.runner = runner

    def _run(self, argv, timeout, ok=()):
        """(rc, stdout); rc in ok is no failure."""
        try:
            _rc, out, _err = self.runner.run(["iscsiadm"] + argv, timeout=timeout)
            return 0, out
        except CommandError as exc:
            if exc.rc in ok:
                return exc.rc, exc.stdout
            raise

    @staticmethod
    def _iface(iface):
        return ["-I", iface] if iface else []

    # -- discovery --------------------------------------------------------------------------

    def discover(self, where, iface=None):
        """The targets the portal where (HOST:PORT) offers, by sendtargets, writing no record
        (-o nonpersistent). A portal that offers nothing is an empty list."""
        try:
            _rc, out = self._run(["-m", "discovery", "-t", "sendtargets", "-p", where] + self._iface(iface)
                                 + ["-o", "nonpersistent"], DISCOVERY_TIMEOUT, ok=(ERR_NO_OBJS_FOUND,))
        except CommandError as exc:
            if exc.rc in (ERR_TRANS, ERR_TRANS_TIMEOUT, ERR_PDU_TIMEOUT):
                raise StorageError("iSCSI discovery on %s: cannot connect (%s)" % (where, _detail(exc)))
            raise StorageError("iSCSI discovery on %s failed: %s" % (where, _detail(exc)))
        return parse_sendtargets(out)

    # -- records ----------------------------------------------------------------------------

    def new_node(self, target, where, iface=None):
        """Make the node record of target at where (HOST:PORT,TPGT), with iscsiadm's defaults."""
        self._run(["-m", "node", "-o", "new", "-T", target, "-p", where] + self._iface(iface), RECORD_TIMEOUT)

    def update(self, target, where, values, iface=None):
        """Set record values ({name: value}) of the node of target at where (HOST:PORT) in one run.
        Never a secret: those go into the record file (_iscsi_nodes.set_values)."""
        if not values:
            return
        argv = ["-m", "node", "-T", target, "-p", where] + self._iface(iface) + ["-o", "update"]
        for name, value in sorted(values.items()):
            if name in SECRET_NAMES or "password" in name:
                raise ValueError("%s is a secret: it never goes on iscsiadm's command line" % name)
            argv += ["-n", name, "-v", value]
        self._run(argv, RECORD_TIMEOUT)

    def delete_node(self, target, where, iface=None):
        """Remove the node record of target at where (HOST:PORT); no record is no error."""
        self._run(["-m", "node", "-o", "delete", "-T", target, "-p", where] + self._iface(iface), RECORD_TIMEOUT,
                  ok=(ERR_NO_OBJS_FOUND,))

    def new_iface(self, name):
        """Make the iface record called name (transport tcp, any network interface)."""
        self._run(["-m", "iface", "-I", name, "-o", "new"], RECORD_TIMEOUT)

    def set_initiator(self, name, initiator):
        """The initiator name the iface record called name logs in with."""
        self._run(["-m", "iface", "-I", name, "-o", "update", "-n", "iface.initiatorname", "-v", initiator],
                  RECORD_TIMEOUT)

    def delete_iface(self, name):
        self._run(["-m", "iface", "-I", name, "-o", "delete"], RECORD_TIMEOUT, ok=(ERR_NO_OBJS_FOUND,))

    # -- sessions ---------------------------------------------------------------------------

    def login(self, target, where, iface=None):
        """Log in to target at where (HOST:PORT); logged in already is no error. A refusal is one line
        that says why: the CHAP secret, the target's access list, the portal."""
        try:
            self._run(["-m", "node", "-T", target, "-p", where] + self._iface(iface) + ["--login"], LOGIN_TIMEOUT,
                      ok=(ERR_SESS_EXISTS,))
        except CommandError as exc:
            if exc.rc == ERR_LOGIN_AUTH_FAILED:
                why = "the target refused the CHAP login (check source.auth)"
            elif exc.rc == ERR_FATAL_LOGIN:
                why = ("the target refused the login (an unknown target, one this initiator may not use, "
                       "or a failed mutual CHAP)")
            elif exc.rc in (ERR_TRANS, ERR_TRANS_TIMEOUT):
                why = "cannot connect"
            else:
                why = "login failed"
            raise StorageError("iSCSI login to %s at %s: %s (%s)" % (target, where, why, _detail(exc)))

    def logout(self, target, where, iface=None):
        """Log out of target at where; not logged in is no error."""
        try:
            self._run(["-m", "node", "-T", target, "-p", where] + self._iface(iface) + ["--logout"], LOGOUT_TIMEOUT,
                      ok=(ERR_NO_OBJS_FOUND,))
        except CommandError as exc:
            raise StorageError("iSCSI logout of %s at %s failed: %s" % (target, where, _detail(exc)))

    def rescan(self, session):
        """Scan session number session for LUNs, synchronously (the kernel's scan of its SCSI host)."""
        self._run(["-m", "session", "-r", str(session), "--rescan"], RESCAN_TIMEOUT)
