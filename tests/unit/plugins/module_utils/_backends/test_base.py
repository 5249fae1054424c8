# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract of PoolBackend: its class data, its planning operations and their defaults."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import OPERATIONS, PoolBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._dir import DirBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotSupportedError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Permissions, PoolDef, PoolSource, ThinPool, VolumeSpec
from ansible_collections.poolcraft.storage.plugins.module_utils._volume import VolumeManager

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

    class Fixed(BlockBackend):
        fixed_target_path = "/dev/{source_name}"
    assert Fixed(None).default_target_path(pool()) == "/dev/p"
    assert Fixed(None).default_target_path(pool(source=PoolSource(name="vg0"))) == "/dev/vg0"


def refuse_options(backend, params):
    VolumeManager(params, None, None)._refuse_options(backend)


@pytest.mark.parametrize("option,value", [("preallocation", "full"), ("cluster_size", "64K"), ("compat", "1.1"),
                                          ("lazy_refcounts", True), ("allocation", "1G")])
def test_image_file_options_are_refused_by_name_where_volumes_are_not_files(option, value):
    with pytest.raises(ValidationError) as err:
        refuse_options(BlockBackend(None), {option: value})
    assert err.value.option == option
    assert "block pools do not take it" in str(err.value)


def test_image_file_options_pass_where_volumes_are_files():
    refuse_options(DirBackend(None), {"preallocation": "metadata", "cluster_size": "64K"})
    spec = VolumeSpec(name="v", format="qcow2", capacity=1 << 20, preallocation="metadata", cluster_size=65536)
    planned = DirBackend(None).plan_create_volume(pool(), spec)
    assert [action.description for action in planned] == ["create qcow2 volume 'v' of 1.0 MiB"]


def test_file_rules_still_hold_for_files_and_name_the_value_as_the_task_gave_it():
    with pytest.raises(ValidationError) as err:
        DirBackend(None).plan_create_volume(pool(), VolumeSpec(name="v", format="raw", capacity=1 << 20, allocation=2 << 20,
                                                               given={"allocation": "2M"}))
    assert err.value.option == "allocation" and err.value.value == "2M"


def test_thin_pool_is_refused_by_types_without_one():
    with pytest.raises(ValidationError) as err:
        DirBackend(None).validate(pool(thin_pool=ThinPool("thin", 1 << 30)))
    assert err.value.option == "thin_pool"
    assert "dir pools have no thin pool" in str(err.value)


class Strict(BlockBackend):
    """Every per-type rule the class data can say."""
    pool_type = "strict"
    required_source = ("devices",)
    single_device = True
    source_formats = ("lbl",)
    source_formats_reason = "strict pools are lbl"
    fixed_target_path = "/dev"
    fixed_target_reason = "strict volumes are under {path}"
    takes_mount_options = False
    no_target_permissions = "nothing to set at {path}"


@pytest.mark.parametrize("changes, option, words", [
    ({"source": PoolSource()}, "source.devices", "strict pools need it"),
    ({"source": PoolSource(devices=("/dev/a", "/dev/b"))}, "source.devices", "strict pools take exactly one device"),
    ({"source": PoolSource(devices=("/dev/a",), format="gpt")}, "source.format", "strict pools are lbl"),
    ({"target_path": "/srv"}, "target.path", "strict volumes are under /dev"),
    ({"mount_options": ("ro",)}, "mount_options", "strict pools mount nothing"),
    ({"permissions": Permissions(mode=0o700)}, "target.permissions", "nothing to set at /dev"),
])
def test_class_data_rules_are_checked_by_validate(changes, option, words):
    good = pool(target_path="/dev", source=PoolSource(devices=("/dev/a",), format="lbl"))
    Strict(None).validate(good)
    with pytest.raises(ValidationError) as err:
        Strict(None).validate(good.with_changes(**changes))
    assert err.value.option == option and words in str(err.value)


def test_formats_must_be_equal_unless_the_type_has_an_any_format():
    backend = BlockBackend(None)
    assert backend.format_matches("raw", "raw")
    assert not backend.format_matches("raw", "qcow2")
    assert backend.clone_format("qcow2") == "qcow2"


@pytest.mark.parametrize("operation, call", [
    ("build", lambda b: b.plan_build(None, False)),
    ("start", lambda b: b.plan_start(None)),
    ("stop", lambda b: b.plan_stop(None)),
    ("delete", lambda b: b.plan_delete(None)),
    ("creating volumes", lambda b: b.plan_create_volume(None, None)),
    ("resizing volumes", lambda b: b.plan_resize_volume(None, None, 1)),
    ("deleting volumes", lambda b: b.plan_delete_volume(None, None)),
])
def test_planning_operations_not_overridden_refuse_when_planned(operation, call):
    with pytest.raises(NotSupportedError) as caught:
        call(BlockBackend(None))
    assert str(caught.value) == "block pools do not support %s" % operation


def test_planning_defaults_change_nothing_and_supports_follows_overrides():
    backend = BlockBackend(None)
    assert backend.plan_autostart(pool(), True) == []
    assert backend.plan_target(pool()) == []
    assert backend.plan_volume_permissions(pool(), None, Permissions()) == []
    assert not BlockBackend.supports("plan_build")
    # a dir pool has every operation but those of LUNs (which the pool cannot make) and of RBD clones
    unsupported = [operation for operation in OPERATIONS if not DirBackend.supports(operation)]
    assert unsupported == ["plan_clone_into", "plan_wipe_volume", "plan_flatten_volume"]
    with pytest.raises(ValueError):
        DirBackend.supports("build_steps")


def test_no_check_or_steps_hooks_remain():
    from ansible_collections.poolcraft.storage.plugins.module_utils._backends._disk import DiskBackend
    from ansible_collections.poolcraft.storage.plugins.module_utils._backends._fs import FsBackend
    from ansible_collections.poolcraft.storage.plugins.module_utils._backends._logical import LogicalBackend
    for backend in (PoolBackend, DirBackend, DiskBackend, FsBackend, LogicalBackend):
        public = [name for name in dir(backend) if not name.startswith("_")]
        assert not [name for name in public if name.startswith("check_") or name.endswith("_steps")], backend
        assert not set(public) & {"build", "start", "stop", "delete", "create_volume", "resize_volume", "delete_volume",
                                  "target_drift", "fix_target", "volume_drift", "fix_volume", "set_autostart"}


def test_describe_lists_free_extents_only_where_the_pool_type_reports_them():
    from ansible_collections.poolcraft.storage.plugins.module_utils._model import PoolStatus
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
