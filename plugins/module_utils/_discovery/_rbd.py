# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sources of rbd pools: the Ceph pools of a cluster (its monitors, source.hosts, asked as the
cephx user of source.auth) whose application is rbd, with their sizes, within a deadline.

libvirt's rbd backend finds no sources; ours are `<source>` elements as an rbd pool's definition
has them: the monitors as <host>s, the Ceph pool as <name>. The key is given to the tools as the
pools' own are (_tools/_rbd.py) and is in no source."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Host, PoolSource
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._rbd import Ceph, monitors


def _hosts_of(query):
    """The monitors a query names: its hosts (Host or {name, port}), else its one host and port."""
    hosts = getattr(query, "hosts", None) or ()
    found = [host if isinstance(host, Host) else Host(host["name"], host.get("port")) for host in hosts]
    if not found and getattr(query, "host", None):
        found = [Host(query.host, getattr(query, "port", None))]
    return tuple(found)


def sources_of(pools, df, hosts):
    """One source per pool whose application is rbd, in the cluster's order, from `ceph osd pool ls
    detail` and `ceph df`: sizes in bytes, stored (the data written), used (what the OSDs hold for
    it, with its replicas), max_available (what more can be stored in it, given its replicas and
    the fullest OSD)."""
    stats = dict((entry.get("name"), entry.get("stats") or {}) for entry in (df or {}).get("pools", []))
    found = []
    for pool in pools or []:
        if "rbd" not in (pool.get("application_metadata") or {}):
            continue
        name = pool["pool_name"]
        sizes = stats.get(name, {})
        found.append({"name": name, "hosts": [{"name": host.name, "port": host.port} for host in hosts],
                      "format": None, "replicas": pool.get("size"), "stored": sizes.get("stored"),
                      "used": sizes.get("bytes_used"), "max_available": sizes.get("max_avail")})
    return found


class RbdDiscovery(Discovery):
    """Asks the monitors (ceph osd pool ls detail, ceph df); the pools of other applications
    (cephfs, rgw) are left out."""

    asks_a_server = True
    source_options = ("hosts", "auth")
    required_source = ("hosts",)

    def find(self, chosen):
        query = chosen  # a ServerQuery: this kind asks a server
        hosts = _hosts_of(query)
        source = PoolSource(hosts=hosts, auth=getattr(query, "auth", None))
        ceph = Ceph(self.runner, source, "Ceph cluster at %s" % monitors(source), connect_timeout=query.timeout,
                    call_timeout=query.timeout + 5)
        return sources_of(ceph.pools_detail(), ceph.df(), hosts)

    @staticmethod
    def xml_parts(source):
        return {"hosts": [(host["name"], host["port"]) for host in source["hosts"]], "name": source["name"]}
