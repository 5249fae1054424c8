# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry of pool types: the only place that maps a type name to code.

A backend's module is imported when a task first needs its type, so a dir pool's task
never imports the LVM or partition code (nor the tools they drive).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError

# Alphabetical; a new pool type is one line here and one file beside this one.
# type -> (module in this package, class in it)
BACKENDS = {
    "dir": ("_dir", "DirBackend"),
    "disk": ("_disk", "DiskBackend"),
    "fs": ("_fs", "FsBackend"),
    "iscsi": ("_iscsi", "IscsiBackend"),
    "iscsi-direct": ("_iscsi_direct", "IscsiDirectBackend"),
    "logical": ("_logical", "LogicalBackend"),
    "mpath": ("_mpath", "MpathBackend"),
    "netfs": ("_netfs", "NetfsBackend"),
    "rbd": ("_rbd", "RbdBackend"),
    "scsi": ("_scsi", "ScsiBackend"),
}

POOL_TYPES = tuple(sorted(BACKENDS))

if False:  # pylint: disable=using-constant-test
    # Never run. AnsiballZ packs only the module_utils it finds in import statements, and
    # importlib's are not statements: these lines put every backend into the payload.
    # pylint: disable-next=unused-import
    from ansible_collections.poolcraft.storage.plugins.module_utils._backends import (
        _dir, _disk, _fs, _iscsi, _iscsi_direct, _logical, _mpath, _netfs, _rbd, _scsi)


def backend_class(pool_type):
    """The class of pool_type's backend, its module imported on first use."""
    try:
        module_name, class_name = BACKENDS[pool_type]
    except (KeyError, TypeError):
        raise ValidationError("type", pool_type, "unknown pool type; known: %s" % ", ".join(POOL_TYPES))
    return getattr(importlib.import_module("%s.%s" % (__name__, module_name)), class_name)


def backend_for(pool_type, runner, settings=None):
    return backend_class(pool_type)(runner, settings)
