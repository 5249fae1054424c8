# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""autostart of an fs pool is a two-line entry in fstab (here the test's own fstab, as every call
of these scenarios passes): a marker comment naming the pool, then the mount line with nofail. The
other lines of the file are kept byte for byte, and so is its mode
(storage_pool_fs/tasks/autostart.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat

import fs_pool_host as common

fs_host = common.fs_host

OTHERS = "# a line that was here before the test\nLABEL=other\t/srv/other\text4\tdefaults,noatime\t0 2\n"


def read(path):
    with open(path) as handle:
        return handle.read()


def test_autostart_and_the_fstab_entry(fs_host):
    host = fs_host("64M")
    dev = host.dev
    target = os.path.join(host.mnt, "boot")
    # the fstab with two lines of someone else's
    with open(host.fstab, "w") as handle:
        handle.write(OTHERS)
    os.chmod(host.fstab, 0o640)
    entry = "# poolcraft.storage pool fs-boot\n%s %s ext4 %%s 0 2\n" % (dev, target)

    # build, start and autostart: one marked entry after the other lines, kept byte for byte
    done = host.converge(name="fs-boot", type="fs", source={"device": dev, "format": "ext4"}, target={"path": target},
                         build=True, state="running", autostart=True)
    assert read(host.fstab) == OTHERS + entry % "nofail"
    assert stat.S_IMODE(os.stat(host.fstab).st_mode) == 0o640
    assert done.real["pool"]["autostart"]
    assert done.real["pool"]["state"] == "running"
    assert len([action for action in done.real.actions if action.startswith("enable autostart")]) == 1, done.real.actions
    assert re.search("write the entry in " + re.escape(host.fstab), " ".join(done.real.actions)), done.real.actions

    # mount options cannot change while the pool runs
    host.refused(dict(name="fs-boot", mount_options=["noatime"]), "'fs-boot'", "running", "mount_options", new=False)

    stopped = host.pool(name="fs-boot", state="stopped")
    assert not stopped.failed and stopped.changed, dict(stopped)

    # new mount options on the stopped pool: the entry follows them, the other lines are kept
    done = host.converge(name="fs-boot", mount_options=["noatime", "commit=30"])
    assert read(host.fstab) == OTHERS + entry % "noatime,commit=30,nofail"
    assert done.real["pool"]["mount_options"] == ["noatime", "commit=30"]
    assert done.real["pool"]["state"] == "stopped"
    assert done.real["pool"]["autostart"]

    # start with those options: mounted with them
    started = host.pool(name="fs-boot", state="running")
    assert not started.failed, started.msg
    options = common.mount_options(target)
    assert started.changed, dict(started)
    assert "noatime" in options, options
    assert "commit=30" in options, options

    # autostart off: the entry is gone, the rest is what it was; the pool still runs
    done = host.converge(name="fs-boot", autostart=False)
    assert read(host.fstab) == OTHERS
    assert not done.real["pool"]["autostart"]
    assert done.real["pool"]["state"] == "running"

    # on again, then absent (with purge: the pool holds no volumes) removes the entry too, and nothing else
    again = host.pool(name="fs-boot", autostart=True)
    assert not again.failed and again.changed, dict(again)
    fstab_on_again = read(host.fstab)
    done = host.converge(name="fs-boot", state="absent", purge=True)
    assert fstab_on_again == OTHERS + entry % "noatime,commit=30,nofail"
    assert read(host.fstab) == OTHERS
    assert done.real["pool"]["state"] == "absent"
    assert not os.path.exists(target)
