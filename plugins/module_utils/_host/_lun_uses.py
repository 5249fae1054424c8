# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who uses a set of SAN LUNs: mounted, held (device-mapper, LVM, md), swap, or open by a process,
the disk or a partition of it. Shared by the pool types whose volumes are LUNs (iscsi, scsi), which
refuse to stop or overwrite one in use. The caller waits for udev first: its workers open a disk for
a moment after every close of a writer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev, _mounts, _openers, _sysfs


def lun_uses(luns):
    """{"unit:0:0:1 (/dev/sdb)": [uses]} of the LUNs in use; each LUN has .unit and .block (a LUN
    without a block device is skipped)."""
    luns = [lun for lun in luns if lun.block]
    mounted, swaps = _mounts.mounts_by_device(_mounts.read_mounts()), _mounts.read_swaps()
    numbers = {}
    for lun in luns:
        for name in [lun.block] + _blockdev.partitions(lun.block):
            dev = _sysfs.read(os.path.join(_blockdev.SYS_BLOCK, name, "dev"))
            if dev and ":" in dev:
                major, minor = dev.strip().split(":")
                numbers[os.makedev(int(major), int(minor))] = (lun, name)
    openers = _openers.processes_opening(numbers)
    found = {}
    for lun in luns:
        uses = [use.strip() for use in _blockdev.current_uses(lun.block, mounted, swaps)]
        for number, (owner, name) in sorted(numbers.items()):
            if owner is lun and number in openers:
                uses.append("%sopen by %s" % ("" if name == lun.block else "partition %s " % name, ", ".join(openers[number])))
        if uses:
            found["%s (/dev/%s)" % (lun.unit, lun.block)] = uses
    return found
