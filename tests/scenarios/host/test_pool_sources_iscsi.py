# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources for iscsi and iscsi-direct against tgtd targets of the test's own on 127.0.0.1
(tgt_target.py), asked with libiscsi's iscsi-ls (the host has no kernel initiator; iscsiadm is the
guest's). A portal with three targets, one of them offered only to one initiator name: asked as
no one in particular it offers two, asked as that initiator all three. The portals are tgtd's,
the XML validates against libvirt's iscsi and iscsi-direct <source>, and for a portal with one
target it equals what libvirt's own iscsi-direct backend finds (libvirt 9.0 crashes when a portal
offers two or more). No session is left on any target. A closed port and a portal that accepts
and never answers fail within the deadline in one line naming the portal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import socket
import time

import fingerprints
import harness
import libvirt_daemon
import tgt_target
from schemas import c14n, sources_schema
# the fixture, by name
from tgt_target import tgt  # pylint: disable=unused-import

MIB = 1 << 20
KVM1 = "iqn.2026-12.test.poolcraft:kvm1"
ONE, TWO, ACL, SINGLE = ("iqn.2026-12.test.poolcraft:sources.%s" % name for name in ("one", "two", "acl", "single"))
SLACK = 3.0  # seconds for Python, the module and the killing of the tool, beyond the deadline


def sources(check=False, **args):
    return harness.run_module("pool_sources", args, check=check)


@contextlib.contextmanager
def silent_portal():
    """A port of 127.0.0.1 that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind((tgt_target.HOST, 0))
        listener.listen(8)
        yield listener.getsockname()[1]
    finally:
        listener.close()


def timed(**args):
    started = time.monotonic()
    result = sources(**args)
    return result, time.monotonic() - started


def test_iscsi_sources(scratch, tgt):
    portal = tgt()
    one = portal.add_target(ONE, [8 * MIB])
    two = portal.add_target(TWO, [])
    # offered to one initiator name only (tgtadm's -Q; -I would be an address)
    acl = portal.add_target(ACL, [4 * MIB], initiators=())
    portal.tgtadm("--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", acl.tid, "-Q", KVM1)
    single = tgt()
    single.add_target(SINGLE, [4 * MIB])
    host = {"host": portal.host, "port": portal.port}
    luns = fingerprints.combine(**dict(
        ("%s-%d" % (target.iqn, lun.number), lambda path=lun.path: fingerprints.digest(path))
        for target in (one, acl) for lun in target.luns))
    before = luns()
    tgt_portal = [{"host": portal.host, "port": portal.port, "tpgt": 1}]

    # -- iscsi: as iscsi-ls' own initiator name, the target hides ACL --------------------------
    check = sources(check=True, type="iscsi", source=host)
    real = sources(type="iscsi", source=host)
    assert not check.failed, check.msg
    assert not real.failed, real.msg
    assert not check.changed and not real.changed
    assert (check["sources"], check["xml"]) == (real["sources"], real["xml"])
    assert sorted(real["sources"], key=lambda source: source["target"]) == [
        {"host": portal.host, "port": portal.port, "target": ONE, "portals": tgt_portal, "initiator": None},
        {"host": portal.host, "port": portal.port, "target": TWO, "portals": tgt_portal, "initiator": None},
    ], real["sources"]
    sources_schema("sourceiscsi")(real["xml"])
    assert ('<host name="%s" port="%d"/>\n    <device path="%s"/>' % (portal.host, portal.port, ONE)) in real["xml"]

    # -- iscsi-direct, as the initiator the pool will be: ACL too -------------------------------
    direct = sources(type="iscsi-direct", source=dict(host, initiator=KVM1))
    assert not direct.failed, direct.msg
    assert sorted(source["target"] for source in direct["sources"]) == sorted([ONE, TWO, ACL]), direct["sources"]
    assert set(source["initiator"] for source in direct["sources"]) == {KVM1}
    sources_schema("sourceiscsidirect")(direct["xml"])
    as_kvm1 = sources(type="iscsi", source=dict(host, initiator=KVM1))
    assert sorted(source["target"] for source in as_kvm1["sources"]) == sorted([ONE, TWO, ACL])

    # -- libvirt itself, on the portal with one target ------------------------------------------
    ours = sources(type="iscsi-direct", source={"host": single.host, "port": single.port, "initiator": KVM1})
    assert [source["target"] for source in ours["sources"]] == [SINGLE]
    with libvirt_daemon.session(scratch) as daemon:
        libvirt = daemon.virsh("find-storage-pool-sources-as", "iscsi-direct", single.host, str(single.port),
                               "--initiator", KVM1).stdout
    assert c14n(libvirt) == c14n(ours["xml"]), "libvirt: %s ours: %s" % (libvirt, ours["xml"])

    # discovery logs in to no target, and leaves no session behind
    assert [portal.nexuses(target) for target in (one, two, acl)] == [0, 0, 0]
    assert single.nexuses(single.targets[0]) == 0
    harness.assert_unchanged(luns, before, "pool_sources iscsi")

    # -- a closed port and a silent portal: one line naming the portal, within the deadline -----
    closed = tgt_target.free_port()
    refused, seconds = timed(type="iscsi", source={"host": portal.host, "port": closed}, timeout=5)
    harness.assert_clean_failure(refused, "iSCSI portal %s:%d" % (portal.host, closed), "Connection refused")
    assert seconds < 5 + SLACK, seconds
    with silent_portal() as port:
        hung, seconds = timed(type="iscsi", source={"host": portal.host, "port": port}, timeout=2)
    harness.assert_clean_failure(hung, "iSCSI portal %s:%d did not answer within 2 s" % (portal.host, port))
    assert seconds < 2 + SLACK, "a silent portal kept the task %.1f s" % seconds

    # -- bad input, refused before anything is asked --------------------------------------------
    nothing = fingerprints.combine(luns=luns)
    harness.refused("pool_sources", {"type": "iscsi-direct", "source": host}, nothing, "source.initiator", "required")
    harness.refused("pool_sources", {"type": "iscsi", "source": dict(host, port=0)}, nothing, "source.port", "65535")
    harness.refused("pool_sources", {"type": "iscsi", "source": {"host": portal.portal}}, nothing, "source.host",
                    "a port or a path goes in its own option")
    harness.refused("pool_sources", {"type": "iscsi", "source": dict(host, initiator="kvm1")}, nothing,
                    "source.initiator", "not an iSCSI name")
    harness.refused("pool_sources", {"type": "iscsi", "source": host, "devices": [os.devnull]}, nothing, "devices")
