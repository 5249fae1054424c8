# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the host scenarios that need a Ceph cluster (rbd pools).

- ceph: the one-node cluster of the whole test run (ceph_cluster.py), started once, on the first
  test that asks for it, under a scratch directory of its own, and stopped at the end of the run.
  Missing packages fail the test, naming them: CI installs them (scripts/install-deps).
- ceph_pool: a Ceph pool name and a cephx user with a key of its own for one test (the pool is
  not made: call .create(), or let the test build it), both removed at the end of the test.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile
import uuid

import pytest

import ceph_cluster


@pytest.fixture(scope="session")
def ceph():
    missing = ceph_cluster.missing_packages()
    if missing:
        pytest.fail("the rbd scenarios need a Ceph cluster, and its Debian packages are missing: %s "
                    "(scripts/install-deps installs them)" % " ".join(missing))
    home = tempfile.mkdtemp(prefix="poolcraft-ceph-", dir=os.environ.get("POOLCRAFT_SCRATCH", "/var/tmp"))
    try:
        with ceph_cluster.cluster(os.path.join(home, "cluster")) as cluster:
            yield cluster
    finally:
        shutil.rmtree(home, ignore_errors=True)


class CephPool(object):
    """A Ceph pool name and a cephx user of one test's."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.name = "t-%s" % uuid.uuid4().hex[:12]
        self.user = "u-%s" % self.name[2:]
        self.key = cluster.add_user("client." + self.user)

    def create(self, rbd=True):
        self.cluster.create_pool(self.name, rbd=rbd)
        return self

    def source(self, **changes):
        """storage_pool's source option for this pool and user."""
        source = {"name": self.name, "hosts": [{"name": ceph_cluster.HOST, "port": self.cluster.mon_port}],
                  "auth": {"username": self.user, "secret": self.key}}
        source.update(changes)
        return source

    def fingerprint(self, namespace=None):
        return self.cluster.fingerprint(self.name, namespace)

    def remove(self):
        try:
            if self.name in self.cluster.pools():
                self.cluster.delete_pool(self.name)
        finally:
            self.cluster.remove_user("client." + self.user)


@pytest.fixture
def ceph_pool(ceph):
    pool = CephPool(ceph)
    try:
        yield pool
    finally:
        pool.remove()
