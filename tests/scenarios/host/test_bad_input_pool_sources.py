# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources, bad input (issue 10, item 5): generated types and device lists, pointed at
paths that are not block devices (files, a FIFO, /dev/null, hostile and missing paths) and at
the host's own disk (only read: wipefs --no-act). LVM sees no device of the host (the sandbox's
LVM_SYSTEM_DIR). Each call must keep the four properties of bad_inputs.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import bad_inputs as bad
from bad_inputs import W

EXAMPLES = 500
TYPES = ["disk", "fs", "logical"]
BASES = [dict(type=kind, devices=["/dev/vda"]) for kind in TYPES]


def build(sandbox):
    host = os.path.join(sandbox.work, "host")
    bad.write(os.path.join(host, "file.txt"), "a file\n", mode="w")
    bad.write(os.path.join(host, "blank.img"), b"\0" * (1 << 20))
    os.mkdir(os.path.join(host, "subdir"))
    os.symlink("loop", os.path.join(host, "loop"))
    os.symlink("/dev/null", os.path.join(host, "devnull-link"))


DEVICE_LISTS = [(label, [path], refuse) for label, path, refuse in bad.paths_under(W + "/host")] + [
    ("/dev/null", ["/dev/null"], True), ("/dev/zero", ["/dev/zero"], True), ("link to /dev/null", [W + "/host/devnull-link"], True),
    ("missing", ["/dev/poolcraft-nope"], True), ("directory", [W + "/host/subdir"], True),
    ("an image file", [W + "/host/blank.img"], True), ("proc file", ["/proc/self/status"], True),
    ("twice the same", ["/dev/vda", "/dev/vda"], False), ("empty list", [], False), ("a string", "/dev/vda", False),
    ("list of lists", [["/dev/vda"]], True), ("a name, not a path", ["vda"], True), ("5000 paths", ["/dev/vda"] * 5000, False),
    ("U+2028", ["/dev/vda\u2028"], True), ("dot dot", ["/dev/../dev/vda"], False), ("int", [8], True),
    ("a partition of the host disk", ["/dev/vda1"], False),
]


def cases():
    parts = [
        bad.mutations("type", BASES, [("unknown", "zfs", True), ("dir", "dir", True), ("empty", "", True),
                                      ("upper case", "DISK", True), ("NUL", "disk\x00", True)] + bad.WRONG_TYPES),
        bad.fixed("type missing", dict(devices=["/dev/vda"]), ["type"], must_refuse=True),
    ]
    for kind in TYPES:
        parts.append(bad.mutations("devices", [dict(type=kind)], DEVICE_LISTS, kind="%s devices" % kind))
        parts.append(bad.mutations("devices", [dict(type=kind)], bad.WRONG_TYPES, kind="%s devices" % kind))
    parts += [
        bad.mutations("config_dir", BASES, [("any", W + "/etc", True)]),
        bad.mutations("unknown_option", BASES, [("any", "x", True)]),
    ]
    return bad.strategy(parts, generated_share=0)


def test_bad_input_pool_sources():
    bad.run_suite("pool_sources", cases(), build, EXAMPLES, fifos=[W + "/host/fifo"])
