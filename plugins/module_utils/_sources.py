# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources: what could back a pool of a type, as a list and as libvirt's <sources> XML.

DISCOVERY is the registry: the only place that maps a pool type to its discovery
(one file per kind under _discovery/). Nothing here changes the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import resolve_devices
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._block import DiskDiscovery, FsDiscovery
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._logical import LogicalDiscovery
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError

LXML_IMPORT_ERROR = None
try:
    from lxml import etree
except ImportError:
    etree = None
    LXML_IMPORT_ERROR = traceback.format_exc()

# Alphabetical; a new kind of discovery is one line here and one file in _discovery/.
DISCOVERY = {
    "disk": DiskDiscovery,
    "fs": FsDiscovery,
    "logical": LogicalDiscovery,
}

SOURCE_TYPES = tuple(sorted(DISCOVERY))


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
    try:
        discovery = DISCOVERY[pool_type](runner)
    except KeyError:
        raise ValidationError("type", pool_type, "no discovery for this pool type; known: %s" % ", ".join(SOURCE_TYPES))
    sources = discovery.find(resolve_devices(devices))
    return {"sources": sources, "xml": sources_to_xml([discovery.xml_parts(source) for source in sources])}
