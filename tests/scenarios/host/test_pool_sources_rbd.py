# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources rbd against the run's one-node Ceph cluster (conftest's `ceph`): the test makes a
Ceph pool initialised for rbd (`ceph_pool`, as a user of its own) and one with no application;
the first is found with its sizes and as an rbd pool's <source> libvirt's schema accepts, the
second is not. Check mode first, then real, then again: the same answer, nothing changed in the
cluster. A wrong key and a closed port fail in one line within the deadline; the key is in no
result, argv or environment of a command (ceph_cluster.KeyAudit)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

import ceph_cluster
import fingerprints
import harness
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
from schemas import sources_schema

# time for Python, the module and the ceph tool to start and stop, beyond the deadline itself
SLACK = 8.0
TIMEOUT = 3


def sources_args(ceph, ceph_pool, **source):
    given = {"hosts": [{"name": ceph_cluster.HOST, "port": ceph.mon_port}],
             "auth": {"username": ceph_pool.user, "secret": ceph_pool.key}}
    given.update(source)
    return {"type": "rbd", "source": given, "timeout": TIMEOUT}


def timed(args, check=False):
    started = time.monotonic()
    result = harness.run_module("pool_sources", args, check=check)
    return result, time.monotonic() - started


def test_rbd_sources(ceph, ceph_pool, monkeypatch):
    ceph_pool.create(rbd=True)
    plain = "t-plain-%s" % ceph_pool.name[2:]
    ceph.create_pool(plain, rbd=False)
    audit = ceph_cluster.KeyAudit(ceph_pool.key, Runner).install(monkeypatch)
    cluster = fingerprints.combine(pools=lambda: {"pools": ceph.pools()}, pool=ceph_pool.fingerprint)
    results = []
    try:
        before = cluster()
        args = sources_args(ceph, ceph_pool)
        check = harness.run_module("pool_sources", args, check=True)
        real = harness.run_module("pool_sources", args)
        again = harness.run_module("pool_sources", args)
        results += [check, real, again]
        for result in results:
            assert not result.failed, result.msg
            assert not result.changed
        # the same pools each time (their byte counts follow the OSD's statistics, which move on their own)
        assert [source["name"] for source in check["sources"]] == [source["name"] for source in real["sources"]] \
            == [source["name"] for source in again["sources"]]
        harness.assert_unchanged(cluster, before, "pool_sources rbd")

        found = dict((source["name"], source) for source in real["sources"])
        assert ceph_pool.name in found and plain not in found, sorted(found)
        mine = found[ceph_pool.name]
        assert mine["hosts"] == [{"name": "127.0.0.1", "port": ceph.mon_port}]
        assert mine["replicas"] == 1 and mine["format"] is None
        # a new pool holds next to nothing; the OSD is a 10 GiB file
        assert 0 <= mine["stored"] < 2 ** 20 and 0 <= mine["used"] < 2 ** 24, mine
        assert 2 ** 30 < mine["max_available"] <= 10 * 2 ** 30, mine
        sources_schema("sourcerbd")(real["xml"])
        assert ('<host name="127.0.0.1" port="%d"/>\n    <name>%s</name>' % (ceph.mon_port, ceph_pool.name)) in real["xml"]

        # -- the pool appears once it is initialised for rbd -----------------------------------------
        ceph.rbd("pool", "init", plain)
        assert plain in [source["name"] for source in harness.run_module("pool_sources", args)["sources"]]

        # -- refusals: one line, within the deadline --------------------------------------------------
        wrong_key = "AQBfjg9rAAAAABAAkhBADbTNhaZmlhfJEmbbQw=="
        closed = ceph_cluster.closed_port()
        cases = [
            ("a wrong key", sources_args(ceph, ceph_pool, auth={"username": ceph_pool.user, "secret": wrong_key}),
             ["refused the key of client.%s" % ceph_pool.user]),
            ("a closed port", sources_args(ceph, ceph_pool, hosts=[{"name": "127.0.0.1", "port": closed}]),
             ["no Ceph monitor answered within %d s" % TIMEOUT, "127.0.0.1:%d: connection refused" % closed]),
        ]
        for case, bad, words in cases:
            for check_mode in (True, False):
                result, took = timed(bad, check=check_mode)
                harness.assert_clean_failure(result, "Ceph cluster at 127.0.0.1:", *words)
                assert took < TIMEOUT + SLACK, "%s: %.1f s" % (case, took)
                results.append(result)
        assert all(wrong_key not in json.dumps(result) for result in results)

        # -- bad input, refused before the cluster is asked ------------------------------------------
        files = fingerprints.combine(pools=lambda: {"pools": ceph.pools()})
        harness.refused("pool_sources", {"type": "rbd"}, files, "source.hosts", "required")
        harness.refused("pool_sources", dict(args, source={"host": "127.0.0.1"}), files, "source.host",
                        "rbd discovery takes no source.host")
        harness.refused("pool_sources", dict(args, devices=["/dev/null"]), files, "devices", "type rbd asks a server")
        harness.refused("pool_sources", sources_args(ceph, ceph_pool, hosts=[{"name": "127.0.0.1:6789"}]), files,
                        "source.hosts.name")
        refusal = harness.refused("pool_sources", sources_args(ceph, ceph_pool, auth={"username": ceph_pool.user,
                                                                                      "secret": ceph_pool.key + "\n"}),
                                  files, "source.auth.secret")
        results.append(refusal)
        # the login given to a kind that takes none: named, its value hidden
        results.append(harness.refused("pool_sources", {"type": "netfs", "source": args["source"]}, files,
                                       "source.auth='(hidden)'", "netfs discovery takes no source.auth"))
    finally:
        ceph.delete_pool(plain)
    audit.check(*results)
