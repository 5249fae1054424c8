# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sources of netfs pools: the NFS exports of a server with the clients each is open to, as
libvirt's `find-storage-pool-sources-as netfs HOST` finds them (showmount -e), with a deadline."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._showmount import Showmount


class NetfsDiscovery(Discovery):
    """One source per export, in the server's order. showmount asks the server's rpcbind for
    its mountd: the port is not ours to choose."""

    asks_a_server = True
    source_options = ("host",)
    required_source = ("host",)

    def find(self, chosen):
        """chosen: the task's ServerQuery (host, port, initiator, timeout)."""
        return [{"host": chosen.host, "dir": export["dir"], "format": "nfs", "clients": export["clients"]}
                for export in Showmount(self.runner).exports(chosen.host, chosen.timeout)]

    @staticmethod
    def xml_parts(source):
        return {"hosts": [(source["host"], None)], "dir": source["dir"], "format": source["format"]}
