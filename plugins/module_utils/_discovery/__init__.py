# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pool source discovery, one file per kind, and its registry: the only place that maps a
pool type to its discovery. A kind's module is imported when a task first asks for it.
module_utils._sources turns what a discovery finds into the module's result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError

# Alphabetical; a new kind of discovery is one line here and one file beside this one.
# type -> (module in this package, class in it)
DISCOVERY = {
    "disk": ("_block", "DiskDiscovery"),
    "fs": ("_block", "FsDiscovery"),
    "logical": ("_logical", "LogicalDiscovery"),
}

SOURCE_TYPES = tuple(sorted(DISCOVERY))

if False:  # pylint: disable=using-constant-test
    # Never run. AnsiballZ packs only the module_utils it finds in import statements, and
    # importlib's are not statements: these lines put every discovery into the payload.
    # pylint: disable-next=unused-import
    from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import _block, _logical


def discovery_class(pool_type):
    """The class of pool_type's discovery, its module imported on first use."""
    try:
        module_name, class_name = DISCOVERY[pool_type]
    except (KeyError, TypeError):
        raise ValidationError("type", pool_type, "no discovery for this pool type; known: %s" % ", ".join(SOURCE_TYPES))
    return getattr(importlib.import_module("%s.%s" % (__name__, module_name)), class_name)


def discovery_for(pool_type, runner):
    return discovery_class(pool_type)(runner)
