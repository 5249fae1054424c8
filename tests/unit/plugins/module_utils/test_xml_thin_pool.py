# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin pool of a logical pool, kept in poolcraft's own XML namespace."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import (
    POOLCRAFT_NS, PoolDef, PoolSource, ThinPool, pool_from_xml, pool_to_xml)

pytest.importorskip("lxml")

UUID = "6f1c2a3b-1234-4abc-8def-0123456789ab"


def logical(**changes):
    return PoolDef(name="vg0", type="logical", uuid=UUID, target_path="/dev/vg0",
                   source=PoolSource(devices=("/dev/sdb",), name="vg0", format="lvm2")).with_changes(**changes)


def test_thin_pool_round_trips():
    pool = logical(thin_pool=ThinPool("thin", 10 << 30))
    text = pool_to_xml(pool)
    assert 'xmlns:poolcraft="%s"' % POOLCRAFT_NS in text
    assert '<poolcraft:thin_pool name="thin" size="10737418240"/>' in text
    assert pool_from_xml(text) == pool


def test_thin_pool_without_size_round_trips():
    pool = logical(thin_pool=ThinPool("thin"))
    assert pool_from_xml(pool_to_xml(pool)) == pool


def test_no_thin_pool_no_namespace():
    text = pool_to_xml(logical())
    assert "poolcraft" not in text
    assert pool_from_xml(text).thin_pool is None


@pytest.mark.parametrize("element", ['<poolcraft:thin_pool/>', '<poolcraft:thin_pool name="t" size="ten"/>'])
def test_damaged_thin_pool_is_an_error_naming_the_file(element):
    text = ('<pool type="logical" xmlns:poolcraft="%s"><name>vg0</name><uuid>%s</uuid>%s</pool>'
            % (POOLCRAFT_NS, UUID, element))
    with pytest.raises(StorageError) as err:
        pool_from_xml(text, origin="/etc/x/vg0.xml")
    assert "/etc/x/vg0.xml has a damaged poolcraft:thin_pool element" in str(err.value)
