# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Overwrite every byte of a volume (an image file, a partition, an LV) before it is deleted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError

_CHUNK = 1 << 20
_ZEROS = b"\0" * _CHUNK


def overwrite(path, algorithm, expected_size=None, exclusive=False):
    """Write zeros or random bytes over the whole of path, then fsync.

    exclusive opens a block device with O_EXCL, which the kernel refuses while anything
    mounts or holds it; expected_size guards against a node that now names something else."""
    fd = os.open(path, os.O_WRONLY | (os.O_EXCL if exclusive else 0))
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        if expected_size is not None and size != expected_size:
            raise StorageError("%s is not the volume expected (%d bytes)" % (path, expected_size))
        os.lseek(fd, 0, os.SEEK_SET)
        done = 0
        while done < size:
            length = min(_CHUNK, size - done)
            done += os.write(fd, os.urandom(length) if algorithm == "random" else _ZEROS[:length])
        os.fsync(fd)
    finally:
        os.close(fd)
