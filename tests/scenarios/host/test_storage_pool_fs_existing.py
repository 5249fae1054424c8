# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A device that already holds exactly the filesystem asked for counts as built
(storage_pool_fs/tasks/existing.yml): build makes only the missing target directory, never the
filesystem again (its UUID stays), with or without overwrite."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import fs_pool_host as common
from system import run

fs_host = common.fs_host


def test_existing_filesystem(fs_host):
    host = fs_host("64M")
    dev = host.dev
    target = os.path.join(host.mnt, "existing")
    run("mkfs.ext4", "-q", "-F", dev)
    uuid_before = common.blkid(dev).get("UUID", "")
    args = dict(name="fs-existing", type="fs", source={"device": dev, "format": "ext4"}, target={"path": target},
                build=True, state="running")

    done = host.converge(**args)
    overwrite = host.pool(overwrite=True, **args)
    assert not overwrite.failed, overwrite.msg
    uuid_after = common.blkid(dev).get("UUID", "")
    assert done.real.actions == ["define pool 'fs-existing' (fs, persistent)",
                                 "build pool 'fs-existing' (create %s)" % target,
                                 "start pool 'fs-existing'"]
    assert not overwrite.changed, overwrite.actions
    assert uuid_after == uuid_before
    assert len(uuid_before) > 0
    assert common.mounted_on(target) == [dev, "ext4"]
    assert done.real["pool"]["state"] == "running"

    # remove the pool and its mount point
    removed = host.pool(name="fs-existing", state="absent", purge=True)
    assert not removed.failed and removed["pool"]["state"] == "absent" and not os.path.exists(target), dict(removed)
