# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_entry: the common options and exit_with, the one place where an error becomes fail_json; and run:
plan/apply, check mode, diff mode and fail_json, with a stand-in for AnsibleModule."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import importlib.util
import os
import subprocess
import sys

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _entry
from ansible_collections.poolcraft.storage.plugins.module_utils._entry import argument_spec, run
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._pool import PoolManager
from ansible_collections.poolcraft.storage.plugins.module_utils._volume import VolumeManager

from ansible_collections.poolcraft.storage.tests.unit.conftest import module_exit


@pytest.fixture
def exit_with(run_module):
    """exit_with(work): how _entry.exit_with ends a module with that work."""
    return lambda work: run_module(lambda module: _entry.exit_with(module, work))


def raising(exc):
    def work():
        raise exc
    return work


def test_the_result_is_the_exit(exit_with):
    outcome = exit_with(lambda: {"changed": False, "sources": ["vg0"]})
    assert not outcome.failed
    assert outcome.result == {"changed": False, "sources": ["vg0"]}


def test_storage_error_is_its_message(exit_with):
    outcome = exit_with(raising(ValidationError("name", "a/b", "must not contain '/'")))
    assert outcome.failed
    assert outcome.result == {"msg": "name='a/b': must not contain '/'"}


def test_command_error_names_the_command(exit_with):
    outcome = exit_with(raising(CommandError(["vgs", "--noheadings"], 5, "", "  No volume groups found\n")))
    assert outcome.failed and outcome.result["msg"] == "vgs --noheadings failed (rc=5): No volume groups found"


def test_os_error_names_the_file(exit_with, tmp_path):
    missing = str(tmp_path / "nope")
    outcome = exit_with(lambda: {"listing": os.listdir(missing)})
    assert outcome.failed
    assert outcome.result["msg"] == "%s: %s" % (missing, os.strerror(errno.ENOENT))


def test_os_error_without_a_file(exit_with):
    outcome = exit_with(raising(OSError(errno.EIO, os.strerror(errno.EIO))))
    assert outcome.result["msg"] == "I/O error: %s" % os.strerror(errno.EIO)


def test_missing_library_is_one_line_with_the_traceback_apart(exit_with):
    trace = "Traceback (most recent call last):\nImportError: No module named 'pyudev'\n"
    outcome = exit_with(lambda: _entry.require_library("pyudev", trace))
    assert outcome.failed
    assert "pyudev" in outcome.result["msg"] and "\n" not in outcome.result["msg"]
    assert outcome.result["exception"] == trace


def test_an_installed_library_is_no_error(exit_with):
    assert exit_with(lambda: _entry.require_library("lxml", None) or {"changed": False}).result == {"changed": False}


def test_other_exceptions_are_bugs_and_not_hidden(exit_with):
    with pytest.raises(KeyError):
        exit_with(lambda: {}["missing"])


def test_argument_spec_adds_to_the_common_options():
    spec = _entry.argument_spec(name={"type": "str", "required": True})
    assert spec["name"] == {"type": "str", "required": True}
    assert set(spec) == {"name", "config_dir", "runtime_dir"}
    assert _entry.COMMON_ARGS["config_dir"] == {"type": "path", "default": "/etc/poolcraft/storage"}
    assert "name" not in _entry.COMMON_ARGS  # a copy: one module's options never leak into another's


def test_lxml_is_not_imported():
    """The facts module and the exit run on a host without lxml; neither may import it."""
    code = ("import sys\n"
            "from ansible_collections.poolcraft.storage.plugins.module_utils import _facts, _entry\n"
            "loaded = sorted(name for name in sys.modules if name == 'lxml' or name.endswith('._xml'))\n"
            "assert not loaded, loaded\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr


# -- fitted_spec: what ansible-core would turn into a traceback ---------------------

DICT_SPEC = {"target": {"type": "dict", "options": {"path": {"type": "path"},
                                                    "permissions": {"type": "dict", "options": {"mode": {"type": "raw"}}}}},
             "timeout": {"type": "int", "default": 5}}


@pytest.mark.parametrize("value", [12, 1.5, True, [1, 2]])
def test_a_dict_option_given_a_scalar_loses_its_suboptions(value):
    fitted = _entry.fitted_spec(DICT_SPEC, {"target": value})
    assert fitted["target"] == {"type": "dict"}
    assert "options" in DICT_SPEC["target"]  # the module's own spec is left as it is


def test_nested_dict_options_are_fitted_too():
    fitted = _entry.fitted_spec(DICT_SPEC, {"target": {"path": "/srv", "permissions": 5}})
    assert fitted["target"]["options"]["permissions"] == {"type": "dict"}
    assert fitted["target"]["options"]["path"] == {"type": "path"}


@pytest.mark.parametrize("params", [None, {}, {"target": None}, {"target": {"path": "/x"}}, {"target": "path=/x"}, {"timeout": 3}])
def test_good_or_absent_values_keep_the_spec(params):
    assert _entry.fitted_spec(DICT_SPEC, params) == DICT_SPEC


def test_an_int_option_given_as_text_takes_only_ascii_digits():
    fitted = _entry.fitted_spec(DICT_SPEC, {"timeout": "\u0665"})
    assert fitted["timeout"]["type"] is _entry.ascii_int
    assert _entry.ascii_int("7") == 7 and _entry.ascii_int(7) == 7
    with pytest.raises(TypeError, match="ASCII digits"):
        _entry.ascii_int("\u0665")


def ansible_module_exit(capsys, spec, params):
    """A real AnsibleModule built with spec fitted to params: the JSON it exits with."""
    import json
    from ansible.module_utils import basic
    saved = basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": params}).encode("utf-8")
    basic._ANSIBLE_PROFILE = "legacy"
    try:
        with pytest.raises(SystemExit):
            basic.AnsibleModule(argument_spec=_entry.fitted_spec(spec))
    finally:
        basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE = saved
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.parametrize("params, words", [
    ({"target": 12}, "'target'"), ({"target": {"permissions": True}}, "'permissions'"), ({"timeout": "\u0665"}, "ASCII"),
])
def test_ansible_module_refuses_in_one_line_instead_of_a_traceback(capsys, params, words):
    result = ansible_module_exit(capsys, DICT_SPEC, params)
    assert result["failed"] and words in result["msg"] and "\n" not in result["msg"], result


def test_validate_directories(tmp_path):
    _entry.validate_directories({"config_dir": str(tmp_path), "runtime_dir": str(tmp_path / "run")})
    for option in ("config_dir", "runtime_dir"):
        with pytest.raises(ValidationError) as caught:
            _entry.validate_directories({option: str(tmp_path) + "/a\x00b"})
        assert caught.value.option == option


# -- run: plan, apply unless check mode, exit once ----------------------------------

needs_lxml = pytest.mark.skipif(importlib.util.find_spec("lxml") is None, reason="run() needs lxml")


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
    """_entry.run over manager_class with the conftest's AnsibleModule stand-in: its ModuleExit."""
    return module_exit(lambda module: run(module, manager_class), params, **kwargs)


@needs_lxml
def test_argument_spec_has_the_common_options():
    spec = argument_spec(name={"type": "str"})
    assert spec["name"] == {"type": "str"}
    assert spec["config_dir"]["type"] == "path" and spec["runtime_dir"]["type"] == "path"
    assert os.path.isabs(spec["config_dir"]["default"]) and os.path.isabs(spec["runtime_dir"]["default"])


@needs_lxml
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


@needs_lxml
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


@needs_lxml
def test_diff_mode(tmp_path):
    outcome = execute(PoolManager, pool_params(tmp_path), check_mode=True, diff=True)
    diff = outcome.result["diff"]
    assert diff["before"] == {"state": "absent"}
    assert (diff["after"]["state"], diff["after"]["autostart"]) == ("running", True)
    execute(PoolManager, pool_params(tmp_path))
    outcome = execute(PoolManager, pool_params(tmp_path, state="stopped"), diff=True)
    assert outcome.result["diff"]["before"]["state"] == "running"
    assert outcome.result["diff"]["after"]["state"] == "stopped"


@needs_lxml
def test_storage_error_becomes_fail_json(tmp_path):
    outcome = execute(PoolManager, pool_params(tmp_path, name="a/b"))
    assert outcome.failed
    assert outcome.result["msg"].startswith("name='a/b'")


@needs_lxml
def test_os_error_becomes_fail_json_naming_the_file(tmp_path):
    (tmp_path / "etc").write_text("a file where the config directory should be")
    outcome = execute(PoolManager, pool_params(tmp_path, config_dir=str(tmp_path / "etc" / "pools")))
    assert outcome.failed
    assert str(tmp_path / "etc") in outcome.result["msg"]
    assert "Not a directory" in outcome.result["msg"] or "File exists" in outcome.result["msg"]


@needs_lxml
def test_volume_in_check_mode_and_for_real(tmp_path):
    execute(PoolManager, pool_params(tmp_path))
    checked = execute(VolumeManager, volume_params(tmp_path, capacity="1M"), check_mode=True)
    assert checked.result["actions"] == ["create raw volume 'disk.img' of 1.0 MiB"]
    assert checked.result["volume"]["state"] == "absent"
    assert os.listdir(str(tmp_path / "images")) == []
    missing_pool = execute(VolumeManager, volume_params(tmp_path, pool="nope"))
    assert missing_pool.failed and missing_pool.result["msg"].startswith("pool='nope'")
