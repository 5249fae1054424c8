# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_pool with dir pools: bad input is refused before anything is done. The task fails with
a one-line message naming the option and its value (no traceback), and nothing at all changes on
disk. Each case runs in check mode and for real.

Ported from tests/integration/targets/storage_pool_dir/tasks/errors.yml (which ran on the store
the earlier files left, with p3 persistent and running; made here the same way)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import fingerprints
import harness

UNKNOWN_UUID = "7c3e7ef2-9d1b-4f5e-8a6b-2f1c3d4e5f60"
LEGACY = """<pool type="fs">
  <name>legacy</name>
  <uuid>0b0b8a6c-4f6e-4d1a-9a7a-1f2d1f0d7e41</uuid>
  <source>
    <device path="/dev/null"/>
    <format type="auto"/>
  </source>
  <target>
    <path>%s/legacy</path>
  </target>
</pool>
"""

# (case, args, expected strings); POOLS in a path or a string stands for the pools directory
CASES = [
    ("name with a slash", dict(name="a/b", type="dir", target={"path": "POOLS/e1"}, build=True), ["name=", "'a/b'"]),
    ("name ..", dict(name="..", type="dir", target={"path": "POOLS/e2"}, build=True), ["name=", "'..'"]),
    ("name with a newline", dict(name="bad\nname", type="dir", target={"path": "POOLS/e3"}, build=True), ["name=", "'bad\\nname'"]),
    ("name with a leading dot", dict(name=".hidden", type="dir", target={"path": "POOLS/e4"}, build=True), ["name=", "'.hidden'"]),
    ("empty name", dict(name="", type="dir", target={"path": "POOLS/e5"}, build=True), ["name=", "''"]),
    ("relative target path", dict(name="e6", type="dir", target={"path": "relative/dir"}, build=True, state="running"),
     ["target.path=", "'relative/dir'"]),
    ("unknown uuid alone", dict(uuid=UNKNOWN_UUID), ["uuid", UNKNOWN_UUID]),
    ("not a uuid", dict(name="e7", uuid="not-a-uuid", type="dir", target={"path": "POOLS/e7"}), ["uuid=", "'not-a-uuid'"]),
    ("uuid of another pool", dict(name="p3", uuid=UNKNOWN_UUID), ["uuid=", "'%s'" % UNKNOWN_UUID, "'p3'"]),
    ("start without build, directory missing", dict(name="e8", type="dir", target={"path": "POOLS/e8"}, state="running"),
     ["target.path", "POOLS/e8", "build"]),
    ("transient start without build, directory missing",
     dict(name="e9", type="dir", target={"path": "POOLS/e9"}, persistent=False, state="running"), ["target.path", "POOLS/e9", "build"]),
    ("type of an existing pool changed", dict(name="legacy", type="dir", target={"path": "POOLS/legacy"}), ["type=", "'dir'", "fs"]),
    ("unknown type", dict(name="p3", type="logical"), ["type", "logical"]),
    ("no type for a new pool", dict(name="e10", target={"path": "POOLS/e10"}, build=True), ["type=", "'e10'"]),
    ("no target path for a new pool", dict(name="e11", type="dir", build=True), ["target.path=None"]),
    ("target path of a running pool changed", dict(name="p3", target={"path": "POOLS/p3-moved"}, build=True),
     ["target.path", "'p3'", "stop it"]),
    ("transient with autostart",
     dict(name="e12", type="dir", target={"path": "POOLS/e12"}, build=True, persistent=False, autostart=True, state="running"),
     ["autostart=", "True"]),
    ("transient with state present",
     dict(name="e13", type="dir", target={"path": "POOLS/e13"}, build=True, persistent=False, state="present"), ["persistent=", "False"]),
    ("transient with state stopped",
     dict(name="e14", type="dir", target={"path": "POOLS/e14"}, build=True, persistent=False, state="stopped"), ["persistent=", "False"]),
    ("existing pool made transient but stopped", dict(name="p3", persistent=False, state="present"), ["persistent=", "False"]),
    ("mode that is not octal", dict(name="e15", type="dir", target={"path": "POOLS/e15", "permissions": {"mode": "0999"}}, build=True),
     ["target.permissions.mode=", "'0999'"]),
    ("unknown owner",
     dict(name="e16", type="dir", target={"path": "POOLS/e16", "permissions": {"owner": "no-such-user-poolcraft"}}, build=True),
     ["target.permissions.owner=", "'no-such-user-poolcraft'"]),
    ("unknown group",
     dict(name="e17", type="dir", target={"path": "POOLS/e17", "permissions": {"group": "no-such-group-poolcraft"}}, build=True),
     ["target.permissions.group=", "'no-such-group-poolcraft'"]),
    ("neither name nor uuid", dict(type="dir"), ["name", "uuid"]),
]


def _place(value, pools):
    if isinstance(value, dict):
        return dict((key, _place(item, pools)) for key, item in value.items())
    if isinstance(value, str) and value.startswith("POOLS/"):
        return pools + value[len("POOLS"):]
    return value


@pytest.mark.parametrize("args, expect", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_refused(scratch, store, args, expect):
    pools = os.path.join(scratch, "pools")
    os.mkdir(pools, 0o755)
    # p3 as transient.yml leaves it (persistent, running), and a definition of another type written
    # by hand, as libvirt would
    p3 = harness.run_module("storage_pool", dict(store, name="p3", type="dir", target={"path": pools + "/p3"},
                                                 build=True, state="running"))
    assert not p3.failed and p3.changed, p3.msg
    with open(os.path.join(store["config_dir"], "legacy.xml"), "w", encoding="utf-8") as handle:
        handle.write(LEGACY % pools)
    os.chmod(os.path.join(store["config_dir"], "legacy.xml"), 0o644)
    fingerprint = fingerprints.combine(files=lambda: fingerprints.tree(scratch))
    harness.refused("storage_pool", dict(store, **_place(args, pools)), fingerprint, *[_place(text, pools) for text in expect])
