# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import BACKENDS, POOL_TYPES, backend_for
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import OPERATIONS, PoolBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._dir import DirBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import (
    NotFoundError, NotSupportedError, StorageError, ValidationError)
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import PoolDef, PoolSource

UUID = "0b0b8a6c-4f6e-4d1a-9a7a-1f2d1f0d7e41"


class TinyBackend(PoolBackend):
    """Overrides build and list_volumes only."""

    pool_type = "tiny"
    volume_formats = ("raw", "qcow2")
    required_source = ("host", "dir")

    def build(self, pool):
        return "built"

    def list_volumes(self, pool):
        return []


class BareBackend(PoolBackend):
    pool_type = "bare"
    needs_target_path = False


def test_backend_for_dir(quiet_runner):
    backend = backend_for("dir", quiet_runner)
    assert isinstance(backend, DirBackend)
    assert backend.runner is quiet_runner
    assert "dir" in POOL_TYPES
    assert list(POOL_TYPES) == sorted(BACKENDS)


@pytest.mark.parametrize("pool_type", ["lvm", "Dir", "", None])
def test_backend_for_unknown_type(pool_type, quiet_runner):
    with pytest.raises(ValidationError) as caught:
        backend_for(pool_type, quiet_runner)
    message = str(caught.value)
    assert message.startswith("type=%r: unknown pool type" % (pool_type,))
    assert "known: dir" in message
    assert caught.value.option == "type"


@pytest.mark.parametrize("operation, call", [
    ("start", lambda b: b.start(None)),
    ("stop", lambda b: b.stop(None)),
    ("delete", lambda b: b.delete(None)),
    ("refresh", lambda b: b.refresh(None)),
    ("changing target permissions", lambda b: b.fix_target(None)),
    ("volumes", lambda b: b.get_volume(None, "v")),
    ("volumes", lambda b: b.volume_path(None, "v")),
    ("creating volumes", lambda b: b.create_volume(None, None)),
    ("resizing volumes", lambda b: b.resize_volume(None, None, 1, False)),
    ("deleting volumes", lambda b: b.delete_volume(None, None)),
    ("changing volume permissions", lambda b: b.fix_volume(None, None)),
])
def test_operations_not_overridden_are_not_supported(operation, call, quiet_runner):
    with pytest.raises(NotSupportedError) as caught:
        call(TinyBackend(quiet_runner))
    assert str(caught.value) == "tiny pools do not support %s" % operation
    assert isinstance(caught.value, StorageError)


def test_overridden_operations_run(quiet_runner):
    backend = TinyBackend(quiet_runner)
    assert backend.build(None) == "built"
    assert backend.list_volumes(None) == []


def test_supports_is_true_only_for_overridden_operations():
    assert TinyBackend.supports("build")
    assert TinyBackend.supports("list_volumes")
    for operation in set(OPERATIONS) - {"build", "list_volumes"}:
        assert not TinyBackend.supports(operation), operation
    assert not any(BareBackend.supports(operation) for operation in OPERATIONS)


def test_supports_works_on_instances_too(quiet_runner):
    assert TinyBackend(quiet_runner).supports("build")
    assert not TinyBackend(quiet_runner).supports("start")


def test_dir_backend_supports_every_operation():
    for operation in OPERATIONS:
        assert DirBackend.supports(operation), operation


def test_defaults_of_the_base():
    backend = BareBackend(None)
    assert backend.is_built(None) is True
    assert backend.target_drift(None) == []
    assert backend.volume_drift(None, None) == []
    assert backend.default_volume_format is None
    assert TinyBackend(None).default_volume_format == "raw"
    assert DirBackend(None).default_volume_format == "raw"


def test_validate_required_source_and_target():
    backend = TinyBackend(None)
    pool = PoolDef(name="t", type="tiny", uuid=UUID, target_path="/t", source=PoolSource(host="h"))
    with pytest.raises(ValidationError) as caught:
        backend.validate(pool)
    assert str(caught.value).startswith("source.dir=None: tiny pools need it")
    backend.validate(pool.with_changes(source=PoolSource(host="h", dir="/export")))
    with pytest.raises(ValidationError) as caught:
        backend.validate(pool.with_changes(source=PoolSource(host="h", dir="/export"), target_path=None))
    assert str(caught.value).startswith("target.path=None: ")
    BareBackend(None).validate(PoolDef(name="b", type="bare", uuid=UUID))


def test_validate_volume_format():
    TinyBackend(None).validate_volume_format("qcow2")
    with pytest.raises(ValidationError) as caught:
        TinyBackend(None).validate_volume_format("vdi")
    assert str(caught.value) == "format='vdi': tiny pools hold volumes of format raw, qcow2"
    with pytest.raises(ValidationError) as caught:
        BareBackend(None).validate_volume_format("raw")
    assert "of format none" in str(caught.value)


# -- the dir backend on real directories ----------------------------------


def dir_pool(path, **changes):
    return PoolDef(name="d", type="dir", uuid=UUID, target_path=str(path)).with_changes(**changes)


def test_dir_build_start_delete(tmp_path, quiet_runner):
    backend = DirBackend(quiet_runner)
    pool = dir_pool(tmp_path / "a" / "b")
    assert not backend.is_built(pool)
    with pytest.raises(NotFoundError) as caught:
        backend.start(pool)
    assert "build: true" in str(caught.value)
    backend.build(pool, overwrite=False)
    assert os.path.isdir(pool.target_path)
    backend.start(pool)
    backend.stop(pool)
    (tmp_path / "a" / "b" / "vol").write_text("x")
    with pytest.raises(StorageError) as caught:
        backend.delete(pool)
    assert "not empty (1 entries)" in str(caught.value)
    os.unlink(str(tmp_path / "a" / "b" / "vol"))
    backend.delete(pool)
    assert not os.path.exists(pool.target_path)
    backend.delete(pool)  # already gone


def test_dir_build_keeps_existing_content(tmp_path, quiet_runner):
    (tmp_path / "keep").write_text("data")
    DirBackend(quiet_runner).build(dir_pool(tmp_path), overwrite=False)
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
