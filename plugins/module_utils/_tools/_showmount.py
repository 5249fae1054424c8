# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""showmount (nfs-common): the exports of an NFS server and the clients each is open to, asked
of its mountd (MOUNT protocol, through the server's rpcbind), with a deadline."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import CommandTimeout

# showmount prints "(everyone)" for an export with no client list; nfs-utils' mountd sends "*"
EVERYONE = "*"
_NO_CLIENT_LIST = "(everyone)"
# "<dir padded to the longest> <client>,<client>...": the clients are one word, the directory
# is the rest (it may hold spaces), as libvirt reads it ("^(/.*\S) +\S+$")
_EXPORT_RE = re.compile(r"(/.*?)\s+(\S+)")


def argv(host):
    """The command, as libvirt runs it: no header, so every line is an export."""
    return ["showmount", "--no-headers", "--exports", host]


def parse_exports(text):
    """[{"dir": "/srv/a", "clients": ["10.0.0.0/24", ...]}] in showmount's order. A line that is not
    an export is an error naming it (a tool that prints something else is not read as none)."""
    exports = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _EXPORT_RE.fullmatch(line.rstrip())
        if match is None:
            raise StorageError("showmount printed a line that is not an export: %r" % line)
        clients = match.group(2)
        exports.append({
            "dir": match.group(1),
            "clients": [EVERYONE] if clients == _NO_CLIENT_LIST else [client for client in clients.split(",") if client],
        })
    return exports


class Showmount(object):

    def __init__(self, runner):
        self.runner = runner

    def exports(self, host, timeout):
        """The exports of host (see parse_exports); a host that does not answer within timeout
        seconds, or answers with an error, is one line naming it."""
        try:
            _rc, out, _err = self.runner.run(argv(host), timeout=timeout)
        except CommandTimeout:
            raise StorageError("NFS server %s did not answer within %s s (showmount was stopped): it is down, "
                               "or a firewall drops rpcbind (port 111) or mountd" % (host, timeout))
        except CommandError as exc:
            raise StorageError("could not list the NFS exports of %s: %s" % (host, _reason(exc)))
        return parse_exports(out)


def _reason(exc):
    """showmount's own words (stderr), on one line."""
    text = exc.stderr or exc.stdout or ""
    words = "; ".join(line.strip() for line in text.splitlines() if line.strip())
    return words or "showmount exited with rc %s and no message" % exc.rc
