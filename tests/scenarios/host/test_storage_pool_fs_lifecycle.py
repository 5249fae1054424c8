# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The life cycle of an fs pool on each filesystem (storage_pool_fs/tasks/lifecycle.yml), on a blank
device: build and start, volumes, stop (refused while a volume is open), start, source.format auto,
absent with purge. Each step is one converge() (check mode, for real, again, check mode again)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import signal
import subprocess
import sys

import pytest

import fs_pool_host as common

fs_host = common.fs_host

# opens the volume, says so, and holds it until its stdin closes or it is stopped
HOLDER = "import sys\nvolume = open(sys.argv[1], 'rb')\nprint('open', flush=True)\nsys.stdin.read()\n"


@pytest.mark.parametrize("fs_type", ["ext4", "xfs", "btrfs"])
def test_life_cycle(fs_host, pool_schema, fs_type):
    host = fs_host("320M")  # mkfs.xfs wants 300 MiB at least
    dev = host.dev
    name = "fs-%s" % fs_type
    target = os.path.join(host.mnt, fs_type)

    # -- build and start
    done = host.converge(name=name, type="fs", source={"device": dev, "format": fs_type}, target={"path": target},
                         build=True, state="running")
    actions, pool = done.real.actions, done.real["pool"]
    tags = common.blkid(dev)
    assert len(actions) == 3, actions
    assert re.search(r"^define pool '%s' \(fs, persistent\)$" % re.escape(name), actions[0]), actions
    assert actions[1].startswith("build pool '%s'" % name), actions
    assert ("create " + target) in actions[1], actions
    assert ("make %s on %s" % (fs_type, dev)) in actions[1], actions
    assert "erase" not in actions[1], actions
    assert actions[2] == "start pool '%s'" % name, actions
    assert tags.get("TYPE") == fs_type, tags
    assert tags.get("USAGE") == "filesystem", tags
    assert common.mounted_on(target) == [dev, fs_type]
    assert pool["state"] == "running"
    assert pool["type"] == "fs"
    assert pool["persistent"]
    assert not pool["autostart"]
    assert pool["source"]["devices"] == [dev]
    assert pool["source"]["format"] == fs_type
    assert pool["target"]["path"] == target
    for key in ("capacity", "available", "allocation"):
        assert isinstance(pool[key], int) and not isinstance(pool[key], bool), (key, pool[key])
    assert pool["capacity"] > 250 * 1048576, pool
    assert 0 < pool["available"] <= pool["capacity"], pool
    assert pool["volume_count"] == 0, pool
    assert done.again["pool"]["state"] == "running"
    uuid = tags["UUID"]

    # the stored definition is valid libvirt pool XML (btrfs is not a format libvirt's
    # storagepool.rng allows for fs pools: that definition cannot be checked)
    if fs_type in common.LIBVIRT_FS_FORMATS:
        pool_schema(os.path.join(host.store["config_dir"], name + ".xml"))
    xml = pool["xml"]
    assert ('<device path="%s"/>' % dev) in xml, xml
    assert ('<format type="%s"/>' % fs_type) in xml, xml
    assert ("<path>%s</path>" % target) in xml, xml
    assert '<pool type="fs"' in xml, xml

    # -- volumes: files on the pool's filesystem, and listed
    volumes = [host.volume(pool=name, name="disk.qcow2", format="qcow2", capacity="1GiB"),
               host.volume(pool=name, name="disk.raw", format="raw", capacity="64MiB")]
    for volume in volumes:
        assert not volume.failed, volume.msg
    assert [volume.changed for volume in volumes] == [True, True]
    paths = [volume["volume"]["path"] for volume in volumes]
    assert paths == [target + "/disk.qcow2", target + "/disk.raw"]
    assert [common.filesystem_of(path) for path in paths] == [dev, dev]
    listed = host.pool(name=name, list_volumes=True)
    assert not listed.failed and not listed.changed, dict(listed)
    assert listed["pool"]["volume_count"] == 2
    assert [v["name"] for v in listed["pool"]["volumes"]] == ["disk.qcow2", "disk.raw"]
    assert [v["format"] for v in listed["pool"]["volumes"]] == ["qcow2", "raw"]
    assert [v["capacity"] for v in listed["pool"]["volumes"]] == [1073741824, 67108864]

    # -- stop, refused while a process of its own holds the qcow2 volume open (only the real
    # run can meet a busy umount)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, paths[0]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              universal_newlines=True)
    try:
        assert holder.stdout.readline().strip() == "open", "the holder could not open %s" % paths[0]
        busy = host.refused(dict(name=name, state="stopped"), "busy", target, new=False, check=False)
        after = host.pool(name=name)
        assert not after.failed and not after.changed, dict(after)
        assert after["pool"]["state"] == "running"
        assert ("%s %s" % (target, dev)) in "\n".join(busy.after["mounts"]), busy.after["mounts"]
    finally:
        os.kill(holder.pid, signal.SIGTERM)
        holder.stdin.close()
        holder.stdout.close()
        holder.wait(timeout=30)
    assert holder.returncode == -signal.SIGTERM, "the holder ended with %r" % holder.returncode

    # -- stop, now that nothing holds the pool: unmounted, the mount point kept
    done = host.converge(name=name, state="stopped")
    assert done.real.actions == ["stop pool '%s'" % name]
    assert done.real["pool"]["state"] == "stopped"
    assert done.real["pool"]["capacity"] is None
    assert done.real["pool"]["volume_count"] is None
    assert common.mounted_on(target) is None
    assert os.path.isdir(target)

    # -- start: the same filesystem mounted, with its volumes
    done = host.converge(name=name, state="running", list_volumes=True)
    assert done.real.actions == ["start pool '%s'" % name]
    assert done.real["pool"]["state"] == "running"
    assert [v["name"] for v in done.real["pool"]["volumes"]] == ["disk.qcow2", "disk.raw"]
    assert common.mounted_on(target) == [dev, fs_type]

    # -- source.format auto: the filesystem there is taken as it is (no build, same UUID)
    stopped = host.pool(name=name, state="stopped")
    assert not stopped.failed and stopped.changed, dict(stopped)
    done = host.converge(name=name, type="fs", source={"device": dev, "format": "auto"}, target={"path": target},
                         build=True, state="running")
    tags = common.blkid(dev)
    assert done.real.actions == ["update definition of pool '%s' (source)" % name, "start pool '%s'" % name]
    assert tags.get("TYPE") == fs_type, tags
    assert tags.get("UUID") == uuid, tags
    assert common.mounted_on(target) == [dev, fs_type]
    assert done.real["pool"]["source"]["format"] == "auto"
    assert done.real["pool"]["state"] == "running"
    assert done.real["pool"]["volume_count"] == 2

    # -- absent with purge: refused while the pool holds volumes
    host.refused(dict(name=name, state="absent", purge=True), "'%s'" % name, "2 volumes", new=False)
    for volume in ("disk.qcow2", "disk.raw"):
        deleted = host.volume(pool=name, name=volume, state="absent")
        assert not deleted.failed and deleted.changed, dict(deleted)
    done = host.converge(name=name, state="absent", purge=True)
    tags = common.blkid(dev)
    assert done.real.actions == ["stop pool '%s'" % name, "delete the storage of pool '%s' (%s)" % (name, target),
                                 "undefine pool '%s'" % name]
    assert done.real["pool"]["state"] == "absent"
    assert common.mounted_on(target) is None
    assert not os.path.exists(target)
    # the device keeps its filesystem
    assert tags.get("TYPE") == fs_type, tags
    assert tags.get("UUID") == uuid, tags
