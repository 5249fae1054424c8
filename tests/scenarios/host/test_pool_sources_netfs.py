# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources for netfs against an NFS server of the test's own: nfs-ganesha on 127.0.0.1
(nfs_ganesha.py) exporting three of the test's directories, one to named clients, one to every
client (read-only), one with a space in its path. The exports and their clients must be those
the server was given; the XML must validate against libvirt's netfs <source> and equal what
libvirt's own `virsh find-storage-pool-sources-as netfs 127.0.0.1` prints (a session libvirtd of
the test's own, libvirt_daemon.py). A hung server (ganesha stopped with SIGSTOP: its sockets
accept, nothing answers), an address where no server listens and a server that has gone each
fail within the deadline in one line naming the host. The module writes nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

import fingerprints
import harness
import libvirt_daemon
import nfs_ganesha
from nfs_ganesha import Export
from schemas import c14n, sources_schema

# time for Python, the module and the killing of the tool, beyond the deadline itself
SLACK = 3.0


def sources(check=False, **args):
    return harness.run_module("pool_sources", args, check=check)


def timed(**args):
    started = time.monotonic()
    result = sources(**args)
    return result, time.monotonic() - started


def test_netfs_sources(scratch):
    root = os.path.join(scratch, "exports")
    images, iso, backups = (os.path.join(root, name) for name in ("images", "iso", "vm backups"))
    for path in (images, iso, backups):
        os.makedirs(path, 0o755)
    exports = [Export(images, ["127.0.0.1", "192.0.2.0/24", "*.example.test"]), Export(iso, None, access="RO"),
               Export(backups, ["127.0.0.1"])]
    files = fingerprints.combine(exports=lambda: fingerprints.tree(root))
    before = files()
    args = {"type": "netfs", "source": {"host": nfs_ganesha.HOST}}
    with nfs_ganesha.server(scratch, exports) as nfs:
        check = sources(check=True, **args)
        real = sources(**args)
        assert not check.failed, check.msg
        assert not real.failed, real.msg
        assert not check.changed and not real.changed
        assert (check["sources"], check["xml"]) == (real["sources"], real["xml"])
        # ganesha lists an address as a /32 network
        assert real["sources"] == [
            {"host": "127.0.0.1", "dir": images, "format": "nfs", "clients": ["127.0.0.1/32", "192.0.2.0/24", "*.example.test"]},
            {"host": "127.0.0.1", "dir": iso, "format": "nfs", "clients": ["*"]},
            {"host": "127.0.0.1", "dir": backups, "format": "nfs", "clients": ["127.0.0.1/32"]},
        ], real["sources"]
        sources_schema("sourcenetfs")(real["xml"])
        assert ('<host name="127.0.0.1"/>\n    <dir path="%s"/>\n    <format type="nfs"/>' % backups) in real["xml"], real["xml"]

        # -- libvirt itself ------------------------------------------------------------------------
        with libvirt_daemon.session(scratch) as daemon:
            libvirt = daemon.virsh("find-storage-pool-sources-as", "netfs", nfs.host).stdout
        assert c14n(libvirt) == c14n(real["xml"]), "libvirt: %s ours: %s" % (libvirt, real["xml"])

        # -- a hung server: the deadline, one line naming it --------------------------------------
        with nfs.frozen():
            hung, seconds = timed(timeout=2, **args)
        harness.assert_clean_failure(hung, "NFS server 127.0.0.1 did not answer within 2 s")
        assert seconds < 2 + SLACK, "a hung server kept the task %.1f s" % seconds
        assert not nfs.problems(), nfs.problems()

        # and it answers again once it runs
        assert sources(**args)["sources"] == real["sources"]

        # -- no server at that address (nothing listens on 127.0.0.2 but perhaps rpcbind) ----------
        nobody, seconds = timed(type="netfs", source={"host": "127.0.0.2"}, timeout=5)
        harness.assert_clean_failure(nobody, "127.0.0.2")
        assert seconds < 5 + SLACK, seconds

        # -- bad input, refused before anything is asked ------------------------------------------
        harness.refused("pool_sources", dict(args, source={"host": nfs.host, "port": 2049}), files, "source.port", "2049")
        harness.refused("pool_sources", dict(args, devices=["/dev/null"]), files, "devices", "type netfs asks a server")
        harness.refused("pool_sources", dict(args, source={"host": "-o"}), files, "source.host", "'-o'")
        harness.refused("pool_sources", dict(args, source={"host": "127.0.0.1:2049"}), files, "source.host")
        harness.refused("pool_sources", dict(args, timeout=0), files, "timeout", "1 to 600")
        harness.refused("pool_sources", {"type": "netfs"}, files, "source.host", "required")
        harness.refused("pool_sources", {"type": "disk", "source": {"host": nfs.host}}, files, "source", "type disk")
    # -- the server has gone -------------------------------------------------------------------
    gone, seconds = timed(timeout=5, **args)
    harness.assert_clean_failure(gone, "127.0.0.1")
    assert seconds < 5 + SLACK, seconds
    harness.assert_unchanged(files, before, "pool_sources netfs")
