# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt's own schemas as the oracle of what our XML must be, for the scenarios of every tier.

- SCHEMA_DIR: where libvirt0 installs them (POOLCRAFT_LIBVIRT_SCHEMAS overrides it).
- sources_schema(kind): a validator of a <sources> document (pool_sources' XML) whose every
  <source> is libvirt's definition `kind` (sourcenetfs, sourceiscsi, sourcelogical ...).
- c14n(text): canonical XML, to compare ours with what libvirt prints.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

SCHEMA_DIR = os.environ.get("POOLCRAFT_LIBVIRT_SCHEMAS", "/usr/share/libvirt/schemas")


def sources_schema(kind):
    from lxml import etree
    grammar = (
        '<grammar xmlns="http://relaxng.org/ns/structure/1.0">'
        '<include href="%s/storagepool.rng"><start>'
        '<element name="sources"><zeroOrMore><ref name="%s"/></zeroOrMore></element>'
        '</start></include></grammar>' % (SCHEMA_DIR, kind))
    schema = etree.RelaxNG(etree.fromstring(grammar))

    def validate(text):
        assert schema.validate(etree.fromstring(text.encode("utf-8"))), "%s rejects %s: %s" % (kind, text, schema.error_log)
    return validate


def c14n(text):
    from lxml import etree
    return etree.tostring(etree.fromstring(text.encode("utf-8")), method="c14n")
