# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input is refused before anything is done, in check mode and for real
(storage_pool_fs/tasks/errors.yml): a clean one-line failure naming the option or the device and
why, nothing changed on the host (the blank device's bytes included), and no pool defined."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import fs_pool_host as common

fs_host = common.fs_host

# (case, the options over {name: fs-error, type: fs, target: {path: MNT/errors}}, expected strings);
# @DEV@ is the device, @REL@ it without its leading /, @IMG@ the file behind it, @MNT@ the parent of
# the targets
CASES = [
    ("relative source.device", {"source": {"device": "@REL@", "format": "ext4"}, "build": True, "state": "running"},
     ["source.device", "'@REL@'", "absolute path"]),
    ("source.device that does not exist",
     {"source": {"device": "/dev/poolcraft-no-such-device", "format": "ext4"}, "build": True, "state": "running"},
     ["source.device", "'/dev/poolcraft-no-such-device'", "no such device"]),
    ("a regular file as source.device", {"source": {"device": "@IMG@", "format": "ext4"}, "build": True, "state": "running"},
     ["source.device", "'@IMG@'", "not a block device"]),
    ("two devices", {"source": {"devices": ["@DEV@", "@DEV@"], "format": "ext4"}, "build": True, "state": "running"},
     ["source.devices", "@DEV@", "exactly one device"]),
    ("source.device and source.devices", {"source": {"device": "@DEV@", "devices": ["@IMG@"], "format": "ext4"}, "build": True},
     ["source.devices", "exactly one device"]),
    ("no source", {"build": True}, ["source.devices", "fs pools need it"]),
    ("unknown source.format", {"source": {"device": "@DEV@", "format": "foo"}, "build": True, "state": "running"},
     ["source.format", "'foo'", "ext4", "xfs", "btrfs"]),
    ("no target.path", {"source": {"device": "@DEV@", "format": "ext4"}, "target": None, "build": True},
     ["target.path", "fs pools need a target path"]),
    ("build with format auto on a blank device", {"source": {"device": "@DEV@", "format": "auto"}, "build": True, "state": "running"},
     ["source.format", "'auto'", "set the filesystem to make on @DEV@"]),
    ("start without build on a blank device", {"source": {"device": "@DEV@", "format": "ext4"}, "state": "running"},
     ["'fs-error'", "not built", "source.device @DEV@ holds no ext4 filesystem", "build: true"]),
    ("start without build, format auto, on a blank device", {"source": {"device": "@DEV@"}, "state": "running"},
     ["'fs-error'", "not built", "source.device @DEV@ holds no", "filesystem"]),
    ("start without build, target missing",
     {"source": {"device": "@DEV@", "format": "ext4"}, "target": {"path": "@MNT@/missing"}, "state": "running"},
     ["'fs-error'", "not built", "target.path @MNT@/missing does not exist"]),
]


def fill(value, names):
    """value with the placeholders of names replaced, in every string of it."""
    if isinstance(value, dict):
        return dict((key, fill(item, names)) for key, item in value.items())
    if isinstance(value, list):
        return [fill(item, names) for item in value]
    if isinstance(value, str):
        for placeholder, text in names.items():
            value = value.replace(placeholder, text)
    return value


@pytest.mark.parametrize("case, args, expect", CASES, ids=[case[0] for case in CASES])
def test_refused(fs_host, case, args, expect):
    host = fs_host("16M")
    errors = os.path.join(host.mnt, "errors")
    os.mkdir(errors, 0o755)  # a target directory that exists, for the cases that need one
    names = {"@REL@": host.dev[1:], "@DEV@": host.dev, "@IMG@": host.image, "@MNT@": host.mnt}
    options = dict({"name": "fs-error", "type": "fs", "target": {"path": errors}}, **fill(args, names))
    host.refused(options, *fill(expect, names))


def test_no_type(fs_host):
    """A pool that does not exist cannot be started without its type."""
    host = fs_host("16M")
    errors = os.path.join(host.mnt, "errors")
    os.mkdir(errors, 0o755)
    host.refused(dict(name="fs-error", source={"device": host.dev}, target={"path": errors}, state="running"),
                 "type", "required")
