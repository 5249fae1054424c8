# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pool source discovery, one file per kind, and its registry: the only place that maps a
pool type to its discovery. A kind's module is imported when a task first asks for it.
discover() turns what a discovery finds into pool_sources' result: a list and libvirt's
<sources> XML. Nothing here changes the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import traceback

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import resolve_devices
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError

LXML_IMPORT_ERROR = None
try:
    from lxml import etree
except ImportError:
    etree = None
    LXML_IMPORT_ERROR = traceback.format_exc()

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


def sources_to_xml(parts):
    """libvirt's <sources> document (as virsh find-storage-pool-sources prints it) from
    (device paths, name, format) of each source, in libvirt's element order."""
    root = etree.Element("sources")
    for devices, name, fmt in parts:
        source = etree.SubElement(root, "source")
        for path in devices:
            etree.SubElement(source, "device", path=path)
        if name is not None:
            etree.SubElement(source, "name").text = name
        if fmt is not None:
            etree.SubElement(source, "format", type=fmt)
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def discover(pool_type, devices, runner):
    """{"sources": [...], "xml": "<sources>..."} for pool_type; devices restricts the search."""
    discovery = discovery_for(pool_type, runner)
    sources = discovery.find(resolve_devices(devices))
    return {"sources": sources, "xml": sources_to_xml([discovery.xml_parts(source) for source in sources])}
