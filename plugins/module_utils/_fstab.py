# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Our entries in fstab: how the host itself mounts an autostarted pool at boot.

Each entry is two lines, a marker comment naming the pool and the mount line,
so it is found and changed without touching anything else in the file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

from ansible_collections.poolcraft.storage.plugins.module_utils._store import atomic_write

MARKER = "# poolcraft.storage pool %s"


def _escape(field):
    return field.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012")


def entry_lines(name, device, target, fstype, options):
    # nofail: a missing pool device must not stop the host from booting
    opts = ",".join(list(options) + ["nofail"])
    return [MARKER % name, "%s %s %s %s 0 2" % (_escape(device), _escape(target), fstype or "auto", opts)]


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().splitlines()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return []
        raise


def _without(lines, name):
    """lines without our entry for name (marker and the line after it)."""
    kept, skip = [], False
    for line in lines:
        if skip:
            skip = False
            continue
        if line == MARKER % name:
            skip = True
            continue
        kept.append(line)
    return kept


def current_entry(path, name):
    lines = _read(path)
    if MARKER % name not in lines:
        return []
    index = lines.index(MARKER % name)
    return lines[index:index + 2]


def set_entry(path, name, wanted):
    """Make our entry for name equal wanted (a list of lines; [] removes it)."""
    lines = _without(_read(path), name) + list(wanted)
    mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else 0o644
    atomic_write(path, "\n".join(lines) + "\n", mode)
