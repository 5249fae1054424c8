# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_module.run: plan/apply, check mode, diff mode and fail_json, with a stand-in for AnsibleModule."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._module import argument_spec, run
from ansible_collections.poolcraft.storage.plugins.module_utils._pool import PoolManager
from ansible_collections.poolcraft.storage.plugins.module_utils._volume import VolumeManager

from ansible_collections.poolcraft.storage.tests.unit.conftest import module_exit

pytest.importorskip("lxml")


def pool_params(tmp_path, **overrides):
    params = {"name": "images", "uuid": None, "type": "dir",
              "target": {"path": str(tmp_path / "images"), "permissions": None},
              "state": "running", "build": True, "autostart": True, "persistent": None, "purge": False,
              "list_volumes": False, "config_dir": str(tmp_path / "etc"), "runtime_dir": str(tmp_path / "run")}
    params.update(overrides)
    return params


def volume_params(tmp_path, **overrides):
    params = {"pool": "images", "name": "disk.img", "path": None, "key": None, "state": "present", "format": None,
              "capacity": "1M", "allocation": None, "preallocation": None, "cluster_size": None, "compat": None,
              "lazy_refcounts": None, "backing_store": None, "clone_from": None, "shrink": False, "wipe": None,
              "permissions": None, "config_dir": str(tmp_path / "etc"), "runtime_dir": str(tmp_path / "run")}
    params.update(overrides)
    return params


def execute(manager_class, params, **kwargs):
    """_module.run over manager_class with the conftest's AnsibleModule stand-in: its ModuleExit."""
    return module_exit(lambda module: run(module, manager_class), params, **kwargs)


def test_argument_spec_has_the_common_options():
    spec = argument_spec(name={"type": "str"})
    assert spec["name"] == {"type": "str"}
    assert spec["config_dir"]["type"] == "path" and spec["runtime_dir"]["type"] == "path"
    assert os.path.isabs(spec["config_dir"]["default"]) and os.path.isabs(spec["runtime_dir"]["default"])


def test_check_mode_reports_and_creates_nothing(tmp_path, snapshot):
    before = snapshot(tmp_path)
    outcome = execute(PoolManager, pool_params(tmp_path), check_mode=True)
    assert not outcome.failed
    assert outcome.result["changed"] is True
    assert outcome.result["actions"] == [
        "define pool 'images' (dir, persistent)",
        "enable autostart of pool 'images'",
        "build pool 'images' (create %s)" % (tmp_path / "images"),
        "start pool 'images'"]
    assert outcome.result["pool"] == {"name": "images", "state": "absent"}
    assert snapshot(tmp_path) == before  # not even the store's directories


def test_apply_then_nothing_to_do(tmp_path):
    first = execute(PoolManager, pool_params(tmp_path))
    assert not first.failed and first.result["changed"] is True
    pool = first.result["pool"]
    assert (pool["state"], pool["persistent"], pool["autostart"]) == ("running", True, True)
    assert "<pool type=\"dir\">" in pool["xml"]
    second = execute(PoolManager, pool_params(tmp_path))
    assert second.result["changed"] is False and second.result["actions"] == []
    in_check_mode = execute(PoolManager, pool_params(tmp_path, state="stopped"), check_mode=True)
    assert in_check_mode.result["actions"] == ["stop pool 'images'"]
    assert in_check_mode.result["pool"]["state"] == "running"  # as it was found


def test_diff_mode(tmp_path):
    outcome = execute(PoolManager, pool_params(tmp_path), check_mode=True, diff=True)
    diff = outcome.result["diff"]
    assert diff["before"] == {"state": "absent"}
    assert (diff["after"]["state"], diff["after"]["autostart"]) == ("running", True)
    execute(PoolManager, pool_params(tmp_path))
    outcome = execute(PoolManager, pool_params(tmp_path, state="stopped"), diff=True)
    assert outcome.result["diff"]["before"]["state"] == "running"
    assert outcome.result["diff"]["after"]["state"] == "stopped"


def test_storage_error_becomes_fail_json(tmp_path):
    outcome = execute(PoolManager, pool_params(tmp_path, name="a/b"))
    assert outcome.failed
    assert outcome.result["msg"].startswith("name='a/b'")


def test_os_error_becomes_fail_json_naming_the_file(tmp_path):
    (tmp_path / "etc").write_text("a file where the config directory should be")
    outcome = execute(PoolManager, pool_params(tmp_path, config_dir=str(tmp_path / "etc" / "pools")))
    assert outcome.failed
    assert str(tmp_path / "etc") in outcome.result["msg"]
    assert "Not a directory" in outcome.result["msg"] or "File exists" in outcome.result["msg"]


def test_volume_in_check_mode_and_for_real(tmp_path):
    execute(PoolManager, pool_params(tmp_path))
    checked = execute(VolumeManager, volume_params(tmp_path, capacity="1M"), check_mode=True)
    assert checked.result["actions"] == ["create raw volume 'disk.img' of 1.0 MiB"]
    assert checked.result["volume"]["state"] == "absent"
    assert os.listdir(str(tmp_path / "images")) == []
    missing_pool = execute(VolumeManager, volume_params(tmp_path, pool="nope"))
    assert missing_pool.failed and missing_pool.result["msg"].startswith("pool='nope'")
