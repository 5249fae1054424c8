# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pool_sources: what could back a pool of a type, as a list and as libvirt's <sources> XML.

The registry of discoveries (one file per kind) is _discovery's; nothing here changes the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery import SOURCE_TYPES, discovery_for
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import resolve_devices

LXML_IMPORT_ERROR = None
try:
    from lxml import etree
except ImportError:
    etree = None
    LXML_IMPORT_ERROR = traceback.format_exc()

__all__ = ["LXML_IMPORT_ERROR", "SOURCE_TYPES", "discover", "sources_to_xml"]


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
