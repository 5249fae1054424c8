# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which processes hold a block device open: what neither the mount table nor sysfs holders show
(a `dd`, a qemu with the disk attached, a shell with it as stdin).

Only /proc/PID/fd links that name a node under /dev are stat'ed: a stat of any other descriptor
could reach a file on a dead NFS mount and block in the kernel.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

PROC = "/proc"


def _command_of(pid):
    try:
        with open(os.path.join(PROC, pid, "comm")) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return "?"


def _device_number(fd_path):
    try:
        target = os.readlink(fd_path)
    except OSError:
        return None
    if not target.startswith("/dev/"):
        return None
    try:
        st = os.stat(fd_path)
    except OSError:
        return None
    return st.st_rdev if stat.S_ISBLK(st.st_mode) else None


def processes_opening(devices):
    """{st_rdev: ["PID (command)", ...]} of the block devices devices (st_rdev numbers) that some
    process has open; this process is left out. One pass over /proc for all of them."""
    wanted = set(devices)
    found = {}
    own = str(os.getpid())
    for pid in sorted((name for name in os.listdir(PROC) if name.isdigit()), key=int):
        if pid == own:
            continue
        fd_dir = os.path.join(PROC, pid, "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or a kernel thread
        seen = set()
        for fd in fds:
            rdev = _device_number(os.path.join(fd_dir, fd))
            if rdev in wanted and rdev not in seen:
                seen.add(rdev)
                found.setdefault(rdev, []).append("%s (%s)" % (pid, _command_of(pid)))
    return found
