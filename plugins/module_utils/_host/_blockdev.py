# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Safe builds: what a block device holds and who uses it, before anything writes to it.

A device in use (mounted, held by another device, active swap, or with a
partition in use) is refused even with overwrite; a device with any
signature is refused unless the task says overwrite: true.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
from dataclasses import dataclass
from typing import Tuple

from ansible_collections.poolcraft.storage.plugins.module_utils import _inputs
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _mounts, _sysfs
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._wipefs import Wipefs

SYS_BLOCK = "/sys/class/block"


@dataclass(frozen=True)
class DeviceState:
    path: str                 # the node, links resolved
    name: str                 # kernel name (loop3, sda1)
    signatures: Tuple[str, ...]
    uses: Tuple[str, ...]     # "mounted at /x", "held by dm-0", "active swap", "partition loop3p1 mounted at /y"

    @property
    def in_use(self):
        return bool(self.uses)


def resolve(device, option="source.device"):
    """The real block device node behind a path or link, or a clear error."""
    if not device or not isinstance(device, str) or not os.path.isabs(device):
        raise ValidationError(option, device, "must be an absolute path to a block device")
    _inputs.device(device, option)  # no NUL or control character reaches the kernel
    path = os.path.realpath(device)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        raise ValidationError(option, device, "no such device")
    if not stat.S_ISBLK(mode):
        raise ValidationError(option, device, "not a block device")
    return path


def device_number(path):
    """(major, minor) of a block device node."""
    rdev = os.stat(path).st_rdev
    return os.major(rdev), os.minor(rdev)


def kernel_name(path):
    """The kernel's name (loop3, sda1) of a block device node."""
    return os.path.basename(os.path.realpath("/sys/dev/block/%d:%d" % device_number(path)))


def partitions(name):
    """The kernel names of the partitions of the disk called name, as sysfs lists them."""
    return [child for child in _sysfs.listdir(os.path.join(SYS_BLOCK, name))
            if os.path.exists(os.path.join(SYS_BLOCK, name, child, "partition"))]


def _uses_of(name, mounted, swaps):
    """How the kernel device called name is in use right now."""
    uses = []
    major_minor = _sysfs.read(os.path.join(SYS_BLOCK, name, "dev"))
    for key in (major_minor, "/dev/" + name):
        uses += ["mounted at %s" % target for target in mounted.get(key, [])]
    uses += ["held by %s" % holder for holder in _sysfs.listdir(os.path.join(SYS_BLOCK, name, "holders"))]
    if name in swaps:
        uses.append("active swap")
    return uses


def current_uses(name, mounted, swaps):
    """Every current use of the kernel device called name and of its partitions; mounted is
    _mounts.mounts_by_device() and swaps _mounts.read_swaps(), read once for many devices."""
    uses = _uses_of(name, mounted, swaps)
    for part in partitions(name):
        uses += ["partition %s %s" % (part, use) for use in _uses_of(part, mounted, swaps)]
    return uses


def inspect(device, runner):
    """DeviceState of a block device: its signatures and every current use."""
    path = resolve(device)
    name = kernel_name(path)
    uses = current_uses(name, _mounts.mounts_by_device(_mounts.read_mounts()), _mounts.read_swaps())
    return DeviceState(path=path, name=name, signatures=tuple(Wipefs(runner).signatures(path)), uses=tuple(uses))


def ensure_writable(state, overwrite, option="source.device"):
    """Refuse to write to a device in use, or one with a signature unless overwrite."""
    if state.in_use:
        raise StorageError("%s %s is in use (%s); refusing to write to it, even with overwrite"
                           % (option, state.path, ", ".join(state.uses)))
    if state.signatures and not overwrite:
        raise StorageError("%s %s is not empty, it carries: %s; set overwrite: true to destroy it"
                           % (option, state.path, ", ".join(state.signatures)))
