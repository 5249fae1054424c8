# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume in dir pools, bad input (was storage_volume_dir's errors.yml): refused before
anything is done, with a one-line message naming the option and its value (no traceback), and
nothing at all changed on disk. Each case runs in check mode and for real. Then a create that
qemu-img itself refuses: failed cleanly with qemu-img's reason, nothing left behind."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import fingerprints
import dir_volume_pools as common
from system import run

VOLS = "{vols}"
HOST = "{host}"

# (case, args, strings the message must name); {vols} and {host} stand for the directories
CASES = [
    ("unknown size unit", dict(pool="vols", name="e.raw", capacity="10Q"), ["capacity=", "'10Q'"]),
    ("negative size", dict(pool="vols", name="e.raw", capacity="-1G"), ["capacity=", "'-1G'", "negative"]),
    ("absurd size", dict(pool="vols", name="e.raw", capacity="100EiB"), ["capacity=", "'100EiB'"]),
    ("zero size", dict(pool="vols", name="e.raw", capacity="0"), ["capacity=", "'0'"]),
    ("not a size", dict(pool="vols", name="e.raw", capacity="lots"), ["capacity=", "'lots'"]),
    ("absurd allocation", dict(pool="vols", name="e.raw", capacity="1M", allocation="100EiB"), ["allocation=", "'100EiB'"]),
    ("allocation above capacity", dict(pool="vols", name="e.raw", capacity="1M", allocation="2M"), ["allocation=", "'2M'"]),
    ("name with a slash", dict(pool="vols", name="a/b.raw", capacity="1M"), ["name=", "'a/b.raw'"]),
    ("name ..", dict(pool="vols", name="..", capacity="1M"), ["name=", "'..'"]),
    ("name of a temporary file", dict(pool="vols", name=".poolcraft-tmp-e.raw", capacity="1M"), ["name=", "'.poolcraft-tmp-e.raw'"]),
    ("preallocation metadata on raw", dict(pool="vols", name="e.raw", capacity="1M", preallocation="metadata"),
     ["preallocation=", "'metadata'", "raw"]),
    ("preallocation falloc on vmdk", dict(pool="vols", name="e.vmdk", format="vmdk", capacity="1M", preallocation="falloc"),
     ["preallocation=", "'falloc'", "vmdk"]),
    ("cluster_size on raw", dict(pool="vols", name="e.raw", capacity="1M", cluster_size="64K"), ["cluster_size=", "'64K'", "raw"]),
    ("compat on raw", dict(pool="vols", name="e.raw", capacity="1M", compat="1.1"), ["compat=", "'1.1'", "raw"]),
    ("lazy_refcounts on vmdk", dict(pool="vols", name="e.vmdk", format="vmdk", capacity="1M", lazy_refcounts=True),
     ["lazy_refcounts=", "True", "vmdk"]),
    ("allocation on qcow2", dict(pool="vols", name="e.qcow2", format="qcow2", capacity="1M", allocation="1M"),
     ["allocation=", "'1M'", "qcow2"]),
    ("unknown pool", dict(pool="nope", name="e.raw", capacity="1M"), ["pool=", "'nope'"]),
    ("stopped pool", dict(pool="stopped", name="e.raw", capacity="1M"), ["pool=", "'stopped'", "not running"]),
    ("backing store path that does not exist",
     dict(pool="vols", name="e.qcow2", format="qcow2", backing_store={"path": VOLS + "/missing.qcow2"}),
     ["backing_store", VOLS + "/missing.qcow2"]),
    ("backing store volume that does not exist",
     dict(pool="vols", name="e.qcow2", format="qcow2", backing_store={"pool": "vols", "name": "missing.qcow2"}),
     ["backing_store", "'missing.qcow2'"]),
    ("backing store in a stopped pool",
     dict(pool="vols", name="e.qcow2", format="qcow2", backing_store={"pool": "stopped", "name": "any.qcow2"}),
     ["backing_store.pool=", "'stopped'"]),
    ("backing store relative path", dict(pool="vols", name="e.qcow2", format="qcow2", backing_store={"path": "base.qcow2"}),
     ["backing_store.path=", "'base.qcow2'"]),
    ("backing store for raw", dict(pool="vols", name="e.raw", format="raw", backing_store={"pool": "vols", "name": "base.qcow2"}),
     ["backing_store=", "raw"]),
    ("clone source that does not exist", dict(pool="vols", name="e.raw", clone_from={"path": HOST + "/missing.img"}),
     ["clone_from", HOST + "/missing.img"]),
    ("clone smaller than its source", dict(pool="vols", name="e.qcow2", capacity="1M", clone_from={"pool": "vols", "name": "base.qcow2"}),
     ["capacity=", "'1M'"]),
    ("existing volume with another format", dict(pool="vols", name="sparse.raw", format="qcow2"), ["format=", "'qcow2'", "raw"]),
    ("existing volume with another backing store",
     dict(pool="vols", name="overlay-a.qcow2", backing_store={"pool": "vols", "name": "clone-a.qcow2"}),
     ["backing_store=", VOLS + "/base.qcow2"]),
    ("capacity missing for a new volume", dict(pool="vols", name="e.raw"), ["capacity=None", "'e.raw'"]),
    ("relative path", dict(path="e.raw", capacity="1M"), ["path=", "'e.raw'"]),
    ("path in no pool", dict(path=HOST + "/e.raw", capacity="1M"), ["path=", "'" + HOST + "/e.raw'"]),
    ("key in no pool", dict(key=HOST + "/cloud.qcow2"), ["key=", "'" + HOST + "/cloud.qcow2'"]),
    ("mode that is not octal", dict(pool="vols", name="e.raw", capacity="1M", permissions={"mode": "rw-r--r--"}),
     ["permissions.mode=", "'rw-r--r--'"]),
    ("unknown owner", dict(pool="vols", name="e.raw", capacity="1M", permissions={"owner": "no-such-user-poolcraft"}),
     ["permissions.owner=", "'no-such-user-poolcraft'"]),
    ("backing store and clone together",
     dict(pool="vols", name="e.qcow2", backing_store={"path": VOLS + "/base.qcow2"}, clone_from={"path": VOLS + "/base.qcow2"}),
     ["backing_store", "clone_from"]),
    ("pool without name", dict(pool="vols", path=VOLS + "/e.raw"), ["pool", "name"]),
    ("unknown format", dict(pool="vols", name="e.img", format="vdi", capacity="1M"), ["format", "vdi"]),
]


def fill(value, pools):
    """value with {vols} and {host} replaced, in strings, dicts and lists."""
    if isinstance(value, dict):
        return dict((key, fill(item, pools)) for key, item in value.items())
    if isinstance(value, list):
        return [fill(item, pools) for item in value]
    if isinstance(value, str):
        return value.replace(VOLS, pools.vols).replace(HOST, pools.host_dir)
    return value


@pytest.fixture
def pools(scratch, store, volume_schema):
    pools = common.DirPools(scratch, store, volume_schema)
    # the volumes the cases refer to, as the old life cycle had them by now
    base = os.path.join(pools.vols, "base.qcow2")
    pools.make(pool="vols", name="sparse.raw", capacity="1G")
    pools.make(pool="vols", name="base.qcow2", format="qcow2", capacity="32M")
    pools.make(pool="vols", name="overlay-a.qcow2", format="qcow2", backing_store={"pool": "vols", "name": "base.qcow2"})
    pools.make(pool="vols", name="clone-a.qcow2", clone_from={"path": base})
    cloud = os.path.join(pools.host_dir, "cloud.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", cloud, "16M")
    return pools


def test_refused(pools):
    """Every case in check mode and for real: a clean one-line failure naming its strings, the
    scratch tree unchanged. One set-up for all of them, as in the old loop; every case runs, and
    the failures are reported together."""
    failures = []
    for case, args, expect in CASES:
        try:
            pools.refused(fill(args, pools), *fill(expect, pools))
        except AssertionError as exc:
            failures.append("%s: %s" % (case, exc))
    assert not failures, "\n".join(failures)


def test_qemu_img_refuses(pools):
    """lazy refcounts need compat 1.1: qemu-img create fails; a clean failure with its reason, and
    no volume or temporary file left behind (only the pool directory's own times change: the
    temporary file was made and removed)."""
    def fingerprint():
        return {"files": [entry for entry in fingerprints.tree(pools.scratch) if not entry.startswith("pools/vols|")]}
    pools.refused(dict(pool="vols", name="e-lazy.qcow2", format="qcow2", capacity="1M", compat="0.10", lazy_refcounts=True),
                  "qemu-img create", "lazy_refcounts=on", "compat=0.10", fingerprint=fingerprint, check=False)
    assert common.temporaries(pools.vols) == []
