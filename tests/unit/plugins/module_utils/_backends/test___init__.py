# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _backends
from ansible_collections.poolcraft.storage.plugins.module_utils._backends import BACKENDS, POOL_TYPES, backend_class, backend_for
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import OPERATIONS, PoolBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._dir import DirBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import PoolDef

UUID = "0b0b8a6c-4f6e-4d1a-9a7a-1f2d1f0d7e41"


def test_backend_for_dir(quiet_runner):
    backend = backend_for("dir", quiet_runner)
    assert isinstance(backend, DirBackend)
    assert backend.runner is quiet_runner
    assert "dir" in POOL_TYPES


def test_the_registry_is_a_literal_alphabetical_dict_and_the_types_follow_it():
    assert list(BACKENDS) == sorted(BACKENDS)
    assert POOL_TYPES == tuple(BACKENDS) == ("dir", "disk", "fs", "iscsi", "iscsi-direct", "logical", "mpath", "netfs", "rbd", "scsi")
    for module_name, class_name in BACKENDS.values():
        assert module_name.startswith("_") and class_name.endswith("Backend")


@pytest.mark.parametrize("pool_type", sorted(BACKENDS))
def test_every_registered_backend_loads_and_is_its_type(pool_type):
    backend = backend_class(pool_type)
    assert issubclass(backend, PoolBackend)
    assert backend.pool_type == pool_type


def test_the_payload_has_every_backend():
    """AnsiballZ packs what import statements name; importlib's calls are not statements, so
    the registry must also name each backend's module in one (never run)."""
    with open(_backends.__file__) as handle:
        tree = ast.parse(handle.read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == _backends.__name__:
            imported.update(alias.name for alias in node.names)
    assert imported == set(module_name for module_name, _class in BACKENDS.values())


@pytest.mark.parametrize("pool_type", ["lvm", "Dir", "", None, ["dir"]])
def test_backend_for_unknown_type(pool_type, quiet_runner):
    with pytest.raises(ValidationError) as caught:
        backend_for(pool_type, quiet_runner)
    message = str(caught.value)
    assert message.startswith("type=%r: unknown pool type" % (pool_type,))
    assert message.endswith("known: dir, disk, fs, iscsi, iscsi-direct, logical, mpath, netfs, rbd, scsi")
    assert "\n" not in message
    assert caught.value.option == "type"


# Planning, applying and re-planning a dir pool, as storage_pool runs it, in a fresh interpreter
_DIR_POOL_RUN = """
import io, json, sys
from ansible.module_utils import basic
from ansible_collections.poolcraft.storage.plugins.modules import storage_pool

def run(args):
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
    basic._ANSIBLE_PROFILE = "legacy"
    sys.stdout = io.StringIO()
    try:
        storage_pool.main()
    except SystemExit:
        pass
    finally:
        out, sys.stdout = sys.stdout.getvalue(), sys.__stdout__
    return json.loads(out)

work = sys.argv[1]
args = {"name": "lazy", "type": "dir", "target": {"path": work + "/pool"}, "build": True, "state": "running",
        "config_dir": work + "/etc", "runtime_dir": work + "/run"}
results = [run(dict(args, _ansible_check_mode=True)), run(args), run(args)]
print(json.dumps({"results": results, "modules": sorted(sys.modules)}))
"""

# what other pool types need: their tools, host readers and discovery (by the last part of the name)
_NOT_FOR_A_DIR_POOL = ("lvm", "lvm_report", "parted", "partx", "partition_table", "filesystems", "wipefs", "multipath",
                       "udevadm", "dmsetup", "iscsiadm", "fstab", "mounts", "sysfs", "blockdev", "devices", "scsi", "facts")


def test_a_dir_pool_imports_no_other_backend_and_no_tool_it_does_not_need(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    proc = subprocess.run([sys.executable, "-c", _DIR_POOL_RUN, str(tmp_path)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [(result.get("failed"), result["changed"]) for result in report["results"]] == [(None, True), (None, True), (None, False)]
    assert os.path.isdir(str(tmp_path / "pool"))

    utils = _backends.__name__.rsplit(".", 1)[0] + "."
    ours = [name[len(utils):] for name in report["modules"] if name.startswith(utils)]
    others = set("_backends." + module_name for pool_type, (module_name, _class) in BACKENDS.items() if pool_type != "dir")
    assert "_backends." + BACKENDS["dir"][0] in ours
    assert not others & set(ours), sorted(others & set(ours))
    assert not [name for name in ours if name.startswith("_discovery")]
    assert [name for name in ours if name.startswith("_tools.")] in ([], ["_tools._qemu_img"])
    needless = [name for name in ours if name.rsplit(".", 1)[-1].lstrip("_") in _NOT_FOR_A_DIR_POOL]
    assert not needless, needless
    assert "pyudev" not in report["modules"]


# -- the dir backend on real directories ----------------------------------


def dir_pool(path, **changes):
    return PoolDef(name="d", type="dir", uuid=UUID, target_path=str(path)).with_changes(**changes)


def test_dir_backend_supports_every_operation_but_those_of_luns_and_rbd_clones():
    for operation in OPERATIONS:
        expected = operation not in ("plan_clone_into", "plan_wipe_volume", "plan_flatten_volume")
        assert DirBackend.supports(operation) == expected, operation


def apply(actions):
    for action in actions:
        action.apply()
    return [action.description for action in actions]


def test_dir_build_start_delete(tmp_path, quiet_runner):
    backend = DirBackend(quiet_runner)
    pool = dir_pool(tmp_path / "a" / "b")
    assert not backend.is_built(pool)
    with pytest.raises(NotFoundError) as caught:
        apply(backend.plan_start(pool))
    assert "build: true" in str(caught.value)
    assert apply(backend.plan_build(pool, overwrite=False)) == ["create %s" % pool.target_path]
    assert os.path.isdir(pool.target_path)
    assert backend.plan_build(pool, overwrite=False) == []
    apply(backend.plan_start(pool))
    assert apply(backend.plan_stop(pool)) == []
    (tmp_path / "a" / "b" / "vol").write_text("x")
    with pytest.raises(StorageError) as caught:
        backend.plan_delete(pool)
    assert "not empty (1 entries)" in str(caught.value)
    os.unlink(str(tmp_path / "a" / "b" / "vol"))
    apply(backend.plan_delete(pool))
    assert not os.path.exists(pool.target_path)
    apply(backend.plan_delete(pool))  # already gone


def test_dir_build_keeps_existing_content(tmp_path, quiet_runner):
    (tmp_path / "keep").write_text("data")
    assert DirBackend(quiet_runner).plan_build(dir_pool(tmp_path), overwrite=False) == []
    assert (tmp_path / "keep").read_text() == "data"


def test_dir_refresh_counts_volumes_but_not_temporaries(tmp_path, quiet_runner):
    (tmp_path / "one.img").write_bytes(b"\0" * 10)
    (tmp_path / "two.qcow2").write_bytes(b"\0")
    (tmp_path / ".poolcraft-tmp-three").write_bytes(b"\0")
    (tmp_path / "subdir").mkdir()
    os.symlink("one.img", str(tmp_path / "link.img"))
    status = DirBackend(quiet_runner).refresh(dir_pool(tmp_path))
    assert status.volume_count == 2
    st = os.statvfs(str(tmp_path))
    assert status.capacity == st.f_blocks * st.f_frsize
    assert 0 < status.available <= status.capacity
    assert [vol.name for vol in DirBackend(quiet_runner).list_volumes(dir_pool(tmp_path))] == ["one.img", "two.qcow2"]
