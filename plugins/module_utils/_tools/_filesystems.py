# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mkfs, mount and umount, typed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError

# The filesystems an fs pool can make; each with its quiet and force flags.
MKFS = {
    "btrfs": ["mkfs.btrfs", "-q", "-f"],
    "ext2": ["mkfs.ext2", "-q", "-F"],
    "ext3": ["mkfs.ext3", "-q", "-F"],
    "ext4": ["mkfs.ext4", "-q", "-F"],
    "xfs": ["mkfs.xfs", "-q", "-f"],
}
# Signature names (as wipefs and blkid say them) that are filesystems an fs pool can mount.
MOUNTABLE = frozenset(MKFS) | frozenset(("vfat", "f2fs", "reiserfs", "jfs", "nilfs2"))


class Filesystems(object):

    def __init__(self, runner):
        self.runner = runner

    def make(self, device, fstype):
        # Callers have checked the device carries nothing (or was told to overwrite):
        # the force flag only stops the tools from asking on a terminal.
        self.runner.run(MKFS[fstype] + [device])

    def mount(self, device, target, fstype=None, options=()):
        argv = ["mount"]
        if fstype and fstype != "auto":
            argv += ["-t", fstype]
        if options:
            argv += ["-o", ",".join(options)]
        self.runner.run(argv + [device, target])

    def umount(self, target):
        try:
            self.runner.run(["umount", target])
        except CommandError as exc:
            if "busy" in exc.stderr:
                raise StorageError("%s is busy: a volume or file in it is open; close it before stopping the pool" % target)
            raise
