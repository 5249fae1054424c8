# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry of pool types: the only place that maps a type name to code."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._dir import DirBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._disk import DiskBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._fs import FsBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._logical import LogicalBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError

# Alphabetical; a new pool type is one line here and one file beside this one.
BACKENDS = {
    "dir": DirBackend,
    "disk": DiskBackend,
    "fs": FsBackend,
    "logical": LogicalBackend,
}

POOL_TYPES = tuple(sorted(BACKENDS))


def backend_for(pool_type, runner, settings=None):
    try:
        backend_class = BACKENDS[pool_type]
    except KeyError:
        raise ValidationError("type", pool_type, "unknown pool type; known: %s" % ", ".join(POOL_TYPES))
    return backend_class(runner, settings)
