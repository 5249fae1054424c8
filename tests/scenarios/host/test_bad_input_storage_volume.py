# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume, bad input (issue 10, item 5): generated calls on a running dir pool `vols`
(with base.qcow2 and base.raw), a stopped pool `stopped`, and crafted images in host/ given as
clone_from and backing_store. Each call must keep the four properties of bad_inputs.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import bad_inputs as bad
import harness
from bad_inputs import W

EXAMPLES = 500
VOLS = W + "/pools/vols"

NEW_RAW = dict(pool="vols", name="new.raw", capacity="1M")
NEW_QCOW2 = dict(pool="vols", name="new.qcow2", format="qcow2", capacity="1M")
EXISTING = dict(pool="vols", name="base.qcow2")
CLONE = dict(pool="vols", name="clone.qcow2", clone_from={"path": W + "/host/good.qcow2"})
OVERLAY = dict(pool="vols", name="overlay.qcow2", format="qcow2", backing_store={"path": W + "/host/good.qcow2"})
ABSENT = dict(pool="vols", name="base.raw", state="absent")
BY_PATH = dict(path=VOLS + "/new.raw", capacity="1M")
NEW = [NEW_RAW, NEW_QCOW2]
ANY = [NEW_RAW, NEW_QCOW2, EXISTING, CLONE, OVERLAY, ABSENT]


def build(sandbox):
    bad.craft_images(os.path.join(sandbox.work, "host"))
    os.makedirs(os.path.join(sandbox.work, "pools"))
    for name, state in (("vols", "running"), ("stopped", "stopped")):
        made = harness.run_module("storage_pool", dict(sandbox.store, name=name, type="dir", build=True, state=state,
                                                       target={"path": os.path.join(sandbox.work, "pools", name)}))
        assert made.changed and not made.failed, made
    for name, fmt in (("base.qcow2", "qcow2"), ("base.raw", "raw")):
        made = harness.run_module("storage_volume", dict(sandbox.store, pool="vols", name=name, format=fmt, capacity="1M"))
        assert made.changed and not made.failed, made


def store(base):
    """Every base with the sandbox's store."""
    return [dict(args, config_dir=W + "/etc", runtime_dir=W + "/run") for args in base]


BROKEN_DEFINITIONS = [
    ("definition without uuid", '<pool type="dir"><name>broken</name><target><path>%s/pools/b</path></target></pool>' % W),
    ("definition with a bad mode", '<pool type="dir"><name>broken</name><uuid>9b7e3b52-7c6f-4a43-9d07-7d3c4f0c1a11</uuid>'
     '<target><path>%s/pools/b</path><permissions><mode>rwx</mode></permissions></target></pool>' % W),
    ("definition of an unknown type", '<pool type="zfs"><name>broken</name><uuid>9b7e3b52-7c6f-4a43-9d07-7d3c4f0c1a12</uuid>'
     '<source><name>tank</name></source></pool>'),
    ("definition that is not XML", "<pool type="),
    ("definition without a target", '<pool type="dir"><name>broken</name><uuid>9b7e3b52-7c6f-4a43-9d07-7d3c4f0c1a13</uuid></pool>'),
    ("definition holding the vols target", '<pool type="dir"><name>broken</name><uuid>9b7e3b52-7c6f-4a43-9d07-7d3c4f0c1a14</uuid>'
     '<target><path>%s/pools</path></target></pool>' % W),
]


def cases():
    new, any_base, existing = store(NEW), store(ANY), store([EXISTING])
    clone, overlay = store([CLONE]), store([OVERLAY])
    parts = [
        bad.mutations("name", any_base, bad.HOSTILE_NAMES),
        bad.generated_text("name", store([NEW_RAW])),
        bad.mutations("name", any_base, bad.WRONG_TYPES),
        bad.mutations("pool", any_base, bad.HOSTILE_NAMES + [("missing", "nope", True), ("stopped", "stopped", True)]),
        bad.mutations("pool", any_base, bad.WRONG_TYPES),
        bad.mutations("capacity", new + existing, bad.HOSTILE_SIZES),
        bad.generated_size("capacity", new),
        bad.mutations("allocation", store([NEW_RAW]), bad.HOSTILE_SIZES),
        bad.mutations("cluster_size", store([NEW_QCOW2]), bad.HOSTILE_SIZES),
        bad.mutations("format", new + clone, [
            ("empty", "", True), ("upper case", "QCOW2", True), ("unknown", "qcow", True), ("NUL", "raw\x00", True),
            ("newline", "raw\nqcow2", True), ("vdi", "vdi", True), ("iso", "iso", True)] + bad.WRONG_TYPES),
        bad.mutations("path", store([BY_PATH]), bad.paths_under(VOLS) + [
            ("in no pool", W + "/host/new.raw", True), ("the pool directory", VOLS, True),
            ("traversal out of the pool", VOLS + "/../stopped/x.raw", True)] + bad.WRONG_TYPES),
        bad.mutations("key", store([dict(key=VOLS + "/base.qcow2")]), bad.paths_under(VOLS) + bad.WRONG_TYPES),
        bad.mutations("permissions.mode", new, bad.HOSTILE_MODES),
        bad.mutations("permissions.owner", new, bad.HOSTILE_IDS),
        bad.mutations("permissions.group", new, bad.HOSTILE_IDS),
        bad.mutations("permissions.label", new, bad.HOSTILE_LABELS),
        bad.mutations("permissions", new, bad.WRONG_TYPES[:4]),
        bad.mutations("clone_from.path", clone, bad.CRAFTED_IMAGES),
        bad.mutations("backing_store.path", overlay, bad.CRAFTED_IMAGES),
        bad.mutations("clone_from.format", clone, [("raw for a qcow2", "raw", False), ("unknown", "qcow", True),
                                                   ("empty", "", True), ("NUL", "qcow2\x00", True)]),
        bad.mutations("backing_store.format", overlay, [("raw for a qcow2", "raw", False), ("unknown", "qcow", True),
                                                        ("empty", "", True)]),
        bad.mutations("clone_from", clone, [
            ("missing pool", {"pool": "nope", "name": "base.qcow2"}, True),
            ("missing volume", {"pool": "vols", "name": "nope"}, True),
            ("stopped pool", {"pool": "stopped", "name": "x"}, True),
            ("hostile volume name", {"pool": "vols", "name": "../base.qcow2"}, True),
            ("NUL in the volume name", {"pool": "vols", "name": "base\x00.qcow2"}, True),
            ("path and pool", {"path": W + "/host/good.qcow2", "pool": "vols", "name": "base.qcow2"}, True),
            ("empty", {}, True), ("itself", {"pool": "vols", "name": "clone.qcow2"}, True)] + bad.WRONG_TYPES[:4]),
        bad.mutations("backing_store", overlay, [
            ("missing pool", {"pool": "nope", "name": "base.qcow2"}, True),
            ("missing volume", {"pool": "vols", "name": "nope"}, True),
            ("itself", {"pool": "vols", "name": "overlay.qcow2"}, True),
            ("path and pool", {"path": W + "/host/good.qcow2", "pool": "vols", "name": "base.qcow2"}, True),
            ("empty", {}, True)] + bad.WRONG_TYPES[:4]),
        bad.mutations("state", any_base, [("unknown", "deleted", True), ("upper case", "ABSENT", True)] + bad.WRONG_TYPES),
        bad.mutations("shrink", existing, [("string", "maybe", True), ("int 2", 2, True), ("list", [], True)]),
        bad.mutations("wipe", store([ABSENT]), [("unknown", "shred", True), ("empty", "", True), ("bool", True, True)]),
        bad.mutations("preallocation", new, [("unknown", "sparse", True), ("empty", "", True), ("bool", False, False)]),  # YAML's off
        bad.mutations("compat", store([NEW_QCOW2]), [("unknown", "2.0", True), ("float", 1.1, False)]),
        bad.mutations("config_dir", store([NEW_RAW]), bad.paths_under(W + "/etc")),
        bad.mutations("runtime_dir", store([NEW_RAW]), bad.paths_under(W + "/run")),
        bad.mutations("unknown_option", store([NEW_RAW]), [("any", "x", True)]),
        # contradictions
        bad.mutations("capacity", store([ABSENT]), bad.HOSTILE_SIZES[:12], kind="state=absent with capacity", force_refuse=True),
        bad.mutations("permissions.mode", store([ABSENT]), bad.HOSTILE_MODES[:8], kind="state=absent with mode"),
        bad.mutations("format", store([ABSENT]), [("unknown", "qcow", True), ("empty", "", True)], kind="state=absent with format"),
        bad.fixed("clone_from and backing_store", dict(store([OVERLAY])[0], clone_from={"path": W + "/host/good.qcow2"}),
                  ["clone_from", "backing_store"], must_refuse=True),
        bad.fixed("backing_store on raw", dict(store([OVERLAY])[0], format="raw"), ["backing_store", "format"], must_refuse=True),
        bad.fixed("lazy_refcounts with compat 0.10", dict(store([NEW_QCOW2])[0], compat="0.10", lazy_refcounts=True),
                  ["lazy_refcounts", "compat"], must_refuse=True),
        bad.fixed("allocation above capacity", dict(store([NEW_RAW])[0], allocation="2M"), ["allocation"], must_refuse=True),
        bad.fixed("shrink without shrink", dict(store([EXISTING])[0], capacity="512K"), ["capacity"], must_refuse=True),
        bad.fixed("pool and path", dict(store([NEW_RAW])[0], path=VOLS + "/other.raw"), ["pool", "path"], must_refuse=True),
        bad.fixed("path and key", dict(store([BY_PATH])[0], key=VOLS + "/base.qcow2"), ["path", "key"], must_refuse=True),
        bad.fixed("existing volume as another format", dict(store([EXISTING])[0], format="raw"), ["format"], must_refuse=True),
        bad.fixed("nothing named", dict(store([{}])[0], capacity="1M"), ["name", "pool", "path", "key"], must_refuse=True),
        # nonexistent things
        bad.fixed("absent volume that does not exist", dict(store([ABSENT])[0], name="nope.raw"), ["name"]),
        bad.fixed("pool target removed by hand", store([NEW_RAW])[0], ["pool"], prepare=bad.remove_vols_target, must_refuse=True),
        bad.fixed("lookup by path, pool target removed", store([dict(path=VOLS + "/base.qcow2")])[0], ["path"],
                  prepare=bad.remove_vols_target, must_refuse=True),
    ]
    for kind, text in BROKEN_DEFINITIONS:
        for base in (store([NEW_RAW])[0], store([dict(path=VOLS + "/base.qcow2")])[0], store([dict(key=VOLS + "/base.raw")])[0]):
            parts.append(bad.fixed("%s beside, %s" % (kind, "/".join(sorted(set(base) - {"config_dir", "runtime_dir"}))),
                                   base, must_succeed=True, prepare=bad.broken_definition(text)))
    return bad.strategy(parts)


def test_bad_input_storage_volume():
    bad.run_suite("storage_volume", cases(), build, EXAMPLES, fifos=[W + "/host/fifo"])
