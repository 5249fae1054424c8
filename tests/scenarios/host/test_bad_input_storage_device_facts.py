# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_device_facts, bad input (issue 10, item 5): generated subsets, device filters and
timeouts, and crafted definitions in the sandbox's config_dir beside a running dir pool `vols`
(a definition that cannot be used must be reported, never stop the facts). Each call must keep
the four properties of bad_inputs.py; it changes nothing, so every call is also checked for that."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import bad_inputs as bad
import harness
from bad_inputs import W

EXAMPLES = 500
STORE = dict(config_dir=W + "/etc", runtime_dir=W + "/run")
POOLS_ONLY = dict(STORE, gather_subset=["pools"])
DEVICES = dict(STORE, gather_subset=["devices"], devices=["vda"])
MOUNTS = dict(STORE, gather_subset=["mounts", "pools"])
CHEAP = [POOLS_ONLY, DEVICES, MOUNTS]


def build(sandbox):
    host = os.path.join(sandbox.work, "host")
    bad.write(os.path.join(host, "file.txt"), "a file\n", mode="w")
    os.mkdir(os.path.join(host, "subdir"))
    os.symlink("loop", os.path.join(host, "loop"))
    os.makedirs(os.path.join(sandbox.work, "pools"))
    made = harness.run_module("storage_pool", dict(sandbox.store, name="vols", type="dir", build=True, state="running",
                                                   target={"path": os.path.join(sandbox.work, "pools", "vols")}))
    assert made.changed and not made.failed, made
    made = harness.run_module("storage_volume", dict(sandbox.store, pool="vols", name="v.raw", capacity="1M"))
    assert made.changed and not made.failed, made


def definition(name, data, where="etc"):
    """prepare: write data (bytes, or text with W) as config_dir/name (or runtime_dir with where="run")."""
    def prepare(sandbox):
        raw = data if isinstance(data, bytes) else sandbox.path(data).encode("utf-8")
        bad.write(os.path.join(sandbox.work, where, name), raw)
    return prepare


def fifo_definition(sandbox):
    os.mkfifo(os.path.join(sandbox.work, "etc", "fifo.xml"))


def directory_definition(sandbox):
    os.mkdir(os.path.join(sandbox.work, "etc", "dir.xml"))


def target_removed(sandbox):
    shutil.rmtree(os.path.join(sandbox.work, "pools", "vols"))


def target_replaced_by_file(sandbox):
    shutil.rmtree(os.path.join(sandbox.work, "pools", "vols"))
    bad.write(os.path.join(sandbox.work, "pools", "vols"), b"not a directory")


def dangling_autostart(sandbox):
    os.makedirs(os.path.join(sandbox.work, "etc", "autostart"), exist_ok=True)
    os.symlink("../ghost.xml", os.path.join(sandbox.work, "etc", "autostart", "ghost.xml"))


def link_loop_definition(sandbox):
    os.symlink("loop.xml", os.path.join(sandbox.work, "etc", "loop.xml"))


UUID = "<uuid>9b7e3b52-7c6f-4a43-9d07-7d3c4f0c1a%02d</uuid>"
DEFINITIONS = [
    ("without uuid", definition("b.xml", '<pool type="dir"><name>b</name><target><path>%s/pools/b</path></target></pool>' % W)),
    ("with a bad mode", definition("b.xml", '<pool type="dir"><name>b</name>%s<target><path>%s/pools/b</path>'
                                   '<permissions><mode>rwx</mode></permissions></target></pool>' % (UUID % 1, W))),
    ("with a mode of 5000 digits", definition("b.xml", '<pool type="dir"><name>b</name>%s<target><path>%s/pools/b</path>'
                                              '<permissions><mode>%s</mode></permissions></target></pool>' % (UUID % 2, W, "7" * 5000))),
    ("with an owner of Unicode digits", definition("b.xml", '<pool type="dir"><name>b</name>%s<target><path>%s/pools/b</path>'
                                                   '<permissions><owner>\u0661</owner></permissions></target></pool>' % (UUID % 3, W))),
    ("of an unknown type", definition("b.xml", '<pool type="zfs"><name>b</name>%s<source><name>tank</name></source></pool>' % (UUID % 4))),
    ("without a type", definition("b.xml", '<pool><name>b</name>%s</pool>' % (UUID % 5))),
    ("with a bad port", definition("b.xml", '<pool type="netfs"><name>b</name>%s<source><host name="nfs" port="none"/>'
                                   '<dir path="/x"/></source><target><path>/mnt/b</path></target></pool>' % (UUID % 6))),
    ("that is not XML", definition("b.xml", "<pool type=")),
    ("that is empty", definition("b.xml", "")),
    ("that is not UTF-8", definition("b.xml", b'<pool type="dir"><name>\xff</name></pool>')),
    ("with a NUL", definition("b.xml", b'<pool type="dir"><name>b\x00</name></pool>')),
    ("of another root element", definition("b.xml", "<volume><name>b</name></volume>")),
    ("with an entity bomb", definition("b.xml", '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">'
                                       '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
                                       ']><pool type="dir"><name>&c;</name></pool>')),
    ("with an external entity", definition("b.xml", '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
                                           '<pool type="dir"><name>b</name>%s<target><path>&x;</path></target></pool>' % (UUID % 7))),
    ("named unlike its file", definition("b.xml", '<pool type="dir"><name>other</name>%s<target><path>%s/pools/b</path>'
                                         '</target></pool>' % (UUID % 8, W))),
    ("named like vols", definition("b.xml", '<pool type="dir"><name>vols</name>%s<target><path>%s/pools/b</path>'
                                   '</target></pool>' % (UUID % 9, W))),
    ("with a relative target", definition("b.xml", '<pool type="dir"><name>b</name>%s<target><path>rel</path></target></pool>'
                                          % (UUID % 10))),
    ("with a target holding NUL", definition("b.xml", '<pool type="dir"><name>b</name>%s<target><path>/x&#0;y</path></target>'
                                             '</pool>' % (UUID % 11))),
    ("with a huge capacity", definition("b.xml", '<pool type="dir"><name>b</name>%s<capacity>%s</capacity><target><path>%s/pools/b'
                                        '</path></target></pool>' % (UUID % 12, "9" * 5000, W))),
    ("that is a FIFO", fifo_definition),
    ("that is a directory", directory_definition),
    ("that is a link loop", link_loop_definition),
    ("with a dangling autostart link", dangling_autostart),
    ("whose target was removed", target_removed),
    ("whose target is a file", target_replaced_by_file),
    ("with a broken status file", definition("vols.xml", "<pool type=", where="run")),
    ("with a status file of another pool", definition("vols.xml", '<pool type="dir"><name>x</name></pool>', where="run")),
]

SUBSETS = [
    ("unknown", ["disks"], True), ("empty string", [""], True), ("bang alone", ["!"], True), ("double bang", ["!!lvm"], True),
    ("NUL", ["pools\x00"], True), ("upper case", ["POOLS"], True), ("not all", ["!all"], False), ("all and not all", ["all", "!all"], False),
    ("empty list", [], False), ("a string", "pools", False), ("list of lists", [["pools"]], True), ("dict", {"a": 1}, True),
    ("5000 bytes", ["p" * 5000], True), ("newline", ["pools\nlvm"], True), ("int", [1], True), ("U+2028", ["pools\u2028"], True),
]

DEVICE_FILTERS = [
    ("NUL", ["/dev/vda\x00"], True), ("newline", ["/dev/vda\n"], True), ("relative", ["dev/vda"], False),
    ("missing path", ["/dev/poolcraft-nope"], True), ("/dev/null", ["/dev/null"], True), ("FIFO", [W + "/host/fifo"], True),
    ("directory", [W + "/host/subdir"], True), ("regular file", [W + "/host/file.txt"], True), ("symlink loop", [W + "/host/loop"], True),
    ("broken glob", ["vd["], False), ("glob of stars", ["*" * 2000], False), ("5000 bytes", ["/dev/" + "d" * 5000], True),
    ("U+2028", ["vda\u2028"], False), ("empty string", [""], True), ("dot dot", ["/dev/../dev/vda"], False),
    ("a string", "vda", False), ("list of lists", [["vda"]], False), ("proc file", ["/proc/self/status"], True),
    ("escape", ["\x1b[2J"], True), ("5000 names", ["vd%d" % index for index in range(5000)], False),
]

TIMEOUTS = [
    ("negative", -1, True), ("zero", 0, False), ("huge", 10 ** 30, True), ("2^63", 2 ** 63, True), ("float", 1.5, False),
    ("string", "soon", True), ("Unicode digits", "\u0665", True), ("bool", True, False), ("list", [5], True),
]


def cases():
    parts = [
        bad.mutations("gather_subset", CHEAP, SUBSETS),
        bad.mutations("gather_subset", CHEAP, bad.WRONG_TYPES),
        bad.mutations("devices", [DEVICES], DEVICE_FILTERS),
        bad.mutations("devices", [DEVICES], bad.WRONG_TYPES),
        bad.mutations("usage_timeout", [dict(MOUNTS, network_usage=True)], TIMEOUTS),
        bad.mutations("network_usage", [MOUNTS], [("string", "maybe", True), ("list", [], True)]),
        bad.mutations("config_dir", [POOLS_ONLY], bad.paths_under(W + "/etc") + [("/dev/null", "/dev/null", True)]),
        bad.mutations("runtime_dir", [POOLS_ONLY], bad.paths_under(W + "/run") + [("/dev/null", "/dev/null", True)]),
        bad.mutations("unknown_option", [POOLS_ONLY], [("any", "x", True)]),
    ]
    for label, prepare in DEFINITIONS:
        for base in (POOLS_ONLY, MOUNTS, dict(STORE)):
            parts.append(bad.fixed("definition %s, %s" % (label, ",".join(base.get("gather_subset", ["all"]))), base,
                                   must_succeed=True, prepare=prepare))
    return bad.strategy(parts)


def test_bad_input_storage_device_facts():
    bad.run_suite("storage_device_facts", cases(), build, EXAMPLES, fifos=[W + "/host/fifo"])
