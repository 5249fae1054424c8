# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every changing backend operation plans: what the real run refuses, check mode refuses too,
on real loop devices.

- An fs pool whose filesystem is held by a process (a volume open, the cwd of a process)
  is refused for stop and for state: absent, in check mode as in the real run, naming the
  process; once it has gone, the stop is done.

(A logical pool's open LV needs LVM activation, which this host lacks: the unit tests of the
logical backend prove it, and the VM scenarios on a real kernel.)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import fs_pool_host as common

fs_host = common.fs_host

POOL = "fs-busy"

# holds the file open until its stdin closes
_HOLD = "import sys; f = open(sys.argv[1], 'rb'); sys.stdout.write('open\\n'); sys.stdout.flush(); sys.stdin.read()"


class Holder(object):
    """A process of the test's own that keeps path open (or has cwd there) until end()."""

    def __init__(self, path, cwd=None):
        self.proc = subprocess.Popen([sys.executable, "-c", _HOLD, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     cwd=cwd, universal_newlines=True)
        assert self.proc.stdout.readline().strip() == "open"

    def end(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


def running_pool(host):
    target = os.path.join(host.mnt, "busy")
    result = host.pool(name=POOL, type="fs", source={"device": host.dev, "format": "ext4"}, target={"path": target},
                       build=True, state="running")
    assert not result.failed and result.changed, result
    volume = host.volume(pool=POOL, name="disk.raw", format="raw", capacity="1MiB")
    assert not volume.failed, volume.msg
    return target


def test_stop_of_an_fs_pool_with_a_volume_open_is_refused_in_check_mode_too(fs_host):
    host = fs_host("64M")
    target = running_pool(host)
    holder = Holder(os.path.join(target, "disk.raw"))
    try:
        pid = str(holder.proc.pid)
        for state in ("stopped", "absent"):
            refusal = host.refused(dict(name=POOL, state=state), "'%s'" % POOL, target, "busy", pid,
                                   "refusing to stop it", new=False)
            assert common.mounted_on(target) == [host.dev, "ext4"]
            assert refusal.after["mounts"] == refusal.before["mounts"]
    finally:
        holder.end()
    stopped = host.pool(name=POOL, state="stopped")
    assert not stopped.failed and stopped.actions == ["stop pool '%s'" % POOL], stopped
    assert common.mounted_on(target) is None


def test_stop_is_refused_while_a_process_works_in_the_filesystem(fs_host):
    host = fs_host("64M")
    target = running_pool(host)
    os.mkdir(os.path.join(target, "work"))
    holder = Holder(os.path.join(target, "disk.raw"), cwd=os.path.join(target, "work"))
    holder.proc.stdin.flush()
    try:
        host.refused(dict(name=POOL, state="stopped"), target, "busy", "in use by %s (python" % holder.proc.pid, new=False)
    finally:
        holder.end()
    os.rmdir(os.path.join(target, "work"))
    assert not host.pool(name=POOL, state="stopped").failed
