# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hooks of PoolBackend that block pool types override, and their defaults."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolBackend, VolumeSpec
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._dir import DirBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import PoolDef, ThinPool

UUID = "6f1c2a3b-1234-4abc-8def-0123456789ab"


class BlockBackend(PoolBackend):
    """A pool type whose volumes are not image files."""
    pool_type = "block"
    volume_formats = ("raw",)


def pool(**changes):
    return PoolDef(name="p", type="dir", uuid=UUID, target_path="/srv/p").with_changes(**changes)


def test_round_capacity_defaults_to_whole_sectors():
    backend = BlockBackend(None)
    assert backend.round_capacity(pool(), 1) == 512
    assert backend.round_capacity(pool(), 1024) == 1024
    assert backend.round_capacity(pool(), 1025) == 1536


def test_volume_name_at_matches_only_the_target_directory():
    backend = BlockBackend(None)
    assert backend.volume_name_at(pool(), "/srv/p/disk0") == "disk0"
    assert backend.volume_name_at(pool(), "/srv/p/../p/disk0") == "disk0"
    assert backend.volume_name_at(pool(), "/srv/other/disk0") is None
    assert backend.volume_name_at(pool(), "/srv/p/sub/disk0") is None


def test_default_target_path_is_none_unless_the_type_has_one():
    assert BlockBackend(None).default_target_path(pool()) is None


@pytest.mark.parametrize("option,value", [("preallocation", "full"), ("cluster_size", "64K"), ("compat", "1.1"),
                                          ("lazy_refcounts", True), ("allocation", "1G")])
def test_image_file_options_are_refused_by_name_where_volumes_are_not_files(option, value):
    with pytest.raises(ValidationError) as err:
        BlockBackend(None).check_volume_options({option: value}, VolumeSpec(name="v", format="raw", capacity=1 << 20))
    assert err.value.option == option
    assert "block pools do not take it" in str(err.value)


def test_image_file_options_pass_where_volumes_are_files():
    spec = VolumeSpec(name="v", format="qcow2", capacity=1 << 20, preallocation="metadata", cluster_size=65536)
    DirBackend(None).check_volume_options({"preallocation": "metadata", "cluster_size": "64K"}, spec)


def test_file_rules_still_hold_for_files():
    with pytest.raises(ValidationError) as err:
        DirBackend(None).check_volume_options({"allocation": "2M"},
                                              VolumeSpec(name="v", format="raw", capacity=1 << 20, allocation=2 << 20))
    assert err.value.option == "allocation"


def test_thin_pool_is_refused_by_types_without_one():
    with pytest.raises(ValidationError) as err:
        DirBackend(None).validate(pool(thin_pool=ThinPool("thin", 1 << 30)))
    assert err.value.option == "thin_pool"
    assert "dir pools have no thin pool" in str(err.value)


def test_plan_time_checks_accept_by_default_and_formats_must_be_equal():
    backend = BlockBackend(None)
    spec = VolumeSpec(name="v", format="raw", capacity=1 << 20)
    assert backend.check_create_volume(pool(), spec) is None
    assert backend.check_resize(pool(), None, 1 << 21) is None
    assert backend.check_delete_volume(pool(), None) is None
    assert backend.format_matches("raw", "raw")
    assert not backend.format_matches("raw", "qcow2")
    assert backend.clone_format("qcow2") == "qcow2"


def test_describe_lists_free_extents_only_where_the_pool_type_reports_them():
    from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolStatus
    from ansible_collections.poolcraft.storage.plugins.module_utils._pool import describe

    class Stored(object):
        definition = pool()
        persistent = True
        autostart = False
        marked = "running"

    class Reporting(BlockBackend):
        extents = None

        def refresh(self, pool):
            return PoolStatus(capacity=10, allocation=4, available=6, volume_count=1, free_extents=self.extents)

    backend = Reporting(None)
    assert "free_extents" not in describe(Stored(), backend)
    backend.extents = ({"start": 1048576, "end": 2097151, "size": 1048576},)
    info = describe(Stored(), backend)
    assert info["free_extents"] == [{"start": 1048576, "end": 2097151, "size": 1048576}]
    assert (info["capacity"], info["allocation"], info["available"], info["volume_count"]) == (10, 4, 6, 1)
