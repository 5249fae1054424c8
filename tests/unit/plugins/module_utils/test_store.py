# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import multiprocessing
import os
import stat
import time

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _store
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._store import DefinitionStore, atomic_write
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import PoolDef, Permissions, pool_from_xml, pool_to_xml

pytest.importorskip("lxml")


def make_pool(name, index=0, path=None):
    return PoolDef(name=name, type="dir", uuid="00000000-0000-4000-8000-%012d" % index,
                   target_path=path or "/srv/" + name, permissions=Permissions(mode=0o755))


@pytest.fixture
def dirs(tmp_path):
    return str(tmp_path / "etc"), str(tmp_path / "run")


@pytest.fixture
def store(dirs):
    with DefinitionStore(*dirs) as opened:
        yield opened


def save(store, pool):
    store.save_persistent(pool, pool_to_xml(pool))


def leftovers(*directories):
    return [name for directory in directories for name in os.listdir(directory) if name.startswith(".tmp-")]


# -- layout --------------------------------------------------------------


def test_relative_dirs_are_refused(tmp_path):
    with pytest.raises(StorageError) as caught:
        DefinitionStore("etc/pools", str(tmp_path))
    assert str(caught.value).startswith("config_dir='etc/pools'")
    with pytest.raises(StorageError) as caught:
        DefinitionStore(str(tmp_path), "run")
    assert str(caught.value).startswith("runtime_dir='run'")


def test_entering_creates_the_directories_and_lock(dirs):
    config, runtime = dirs
    store = DefinitionStore(config, runtime)
    assert not os.path.exists(config)
    with store:
        assert os.path.isdir(os.path.join(config, "autostart"))
        assert os.path.isfile(os.path.join(runtime, ".lock"))
    assert store._lock_fd is None


def test_reading_needs_no_directories(dirs):
    store = DefinitionStore(*dirs)
    assert store.names() == []
    assert store.get("nothing") is None
    assert store.find_uuid("00000000-0000-4000-8000-000000000000") is None
    assert store.all() == []
    assert not os.path.exists(dirs[0])


def test_lock_is_exclusive_while_held(dirs):
    with DefinitionStore(*dirs):
        fd = os.open(os.path.join(dirs[1], ".lock"), os.O_RDWR)
        try:
            with pytest.raises(OSError) as caught:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            assert caught.value.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
        finally:
            os.close(fd)
    fd = os.open(os.path.join(dirs[1], ".lock"), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
    finally:
        os.close(fd)


def test_lock_is_released_on_error(dirs):
    with pytest.raises(RuntimeError):
        with DefinitionStore(*dirs):
            raise RuntimeError("boom")
    with DefinitionStore(*dirs) as again:
        assert again._lock_fd is not None


def test_directories_made_by_someone_else_in_between(dirs, monkeypatch):
    """Another run may create the directories between the isdir check and makedirs."""
    for directory in (dirs[0], os.path.join(dirs[0], "autostart"), dirs[1]):
        os.makedirs(directory)

    class LyingPath(object):
        """os.path whose isdir() says no: the directory appears right after the check."""

        def __getattr__(self, name):
            return getattr(os.path, name)

        @staticmethod
        def isdir(path):
            return False

    class LyingOs(object):
        path = LyingPath()

        def __getattr__(self, name):
            return getattr(os, name)

    monkeypatch.setattr(_store, "os", LyingOs())
    with DefinitionStore(*dirs) as store:
        assert store._lock_fd is not None


# -- save / get / remove ---------------------------------------------------


def test_save_and_get(store, dirs):
    pool = make_pool("images", 1)
    save(store, pool)
    path = os.path.join(dirs[0], "images.xml")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    with open(path) as handle:
        assert pool_from_xml(handle.read()) == pool
    stored = store.get("images")
    assert stored.definition == pool
    assert stored.persistent is True
    assert stored.autostart is False
    assert stored.marked is None


def test_save_replaces(store):
    save(store, make_pool("images", 1, "/a"))
    save(store, make_pool("images", 1, "/b"))
    assert store.get("images").definition.target_path == "/b"


def test_remove_persistent(store, dirs):
    save(store, make_pool("images"))
    store.set_autostart("images", True)
    store.remove_persistent("images")
    assert store.get("images") is None
    assert os.listdir(dirs[0]) == ["autostart"]
    assert os.listdir(os.path.join(dirs[0], "autostart")) == []
    store.remove_persistent("images")  # twice is fine


def test_damaged_definition_names_the_file(store, dirs):
    path = os.path.join(dirs[0], "bad.xml")
    with open(path, "w") as handle:
        handle.write("<pool type='dir'><name>bad")
    with pytest.raises(StorageError) as caught:
        store.get("bad")
    assert path in str(caught.value)


# -- autostart -------------------------------------------------------------


def test_autostart_symlink(store, dirs):
    save(store, make_pool("images"))
    store.set_autostart("images", True)
    link = os.path.join(dirs[0], "autostart", "images.xml")
    assert os.path.islink(link)
    assert os.readlink(link) == "../images.xml"
    assert os.path.samefile(link, os.path.join(dirs[0], "images.xml"))
    assert store.get("images").autostart is True
    store.set_autostart("images", True)  # already on
    assert os.readlink(link) == "../images.xml"
    store.set_autostart("images", False)
    assert not os.path.lexists(link)
    assert store.get("images").autostart is False
    store.set_autostart("images", False)  # already off


def test_autostart_link_without_definition_is_not_autostart(store):
    store.mark_running("tmp", pool_to_xml(make_pool("tmp")))
    store.set_autostart("tmp", True)  # a dangling link
    assert store.get("tmp").autostart is False


# -- running / stopped markers -------------------------------------------


def test_running_and_stopped_markers(store, dirs):
    pool = make_pool("images")
    save(store, pool)
    store.mark_running("images", pool_to_xml(pool))
    assert os.path.isfile(os.path.join(dirs[1], "images.xml"))
    assert store.get("images").marked == "running"
    store.mark_stopped("images", persistent=True)
    assert not os.path.exists(os.path.join(dirs[1], "images.xml"))
    assert os.path.isfile(os.path.join(dirs[1], "images.stopped"))
    assert store.get("images").marked == "stopped"
    store.mark_running("images", pool_to_xml(pool))
    assert not os.path.exists(os.path.join(dirs[1], "images.stopped"))
    assert store.get("images").marked == "running"
    store.mark_stopped("images", persistent=False)
    assert store.get("images").marked is None
    assert sorted(os.listdir(dirs[1])) == [".lock"]


def test_live_status_does_not_replace_the_persistent_definition(store):
    save(store, make_pool("images", 1, "/persistent"))
    store.mark_running("images", pool_to_xml(make_pool("images", 1, "/live")))
    assert store.get("images").definition.target_path == "/persistent"


def test_transient_pool_lives_only_in_runtime_dir(store, dirs):
    pool = make_pool("scratch", 7)
    store.mark_running("scratch", pool_to_xml(pool))
    assert os.listdir(dirs[0]) == ["autostart"]
    assert sorted(os.listdir(dirs[1])) == [".lock", "scratch.xml"]
    stored = store.get("scratch")
    assert stored.definition == pool
    assert stored.persistent is False
    assert stored.autostart is False
    assert stored.marked == "running"
    store.mark_stopped("scratch", persistent=False)
    assert store.get("scratch") is None
    assert sorted(os.listdir(dirs[1])) == [".lock"]


# -- listing ---------------------------------------------------------------


def test_names_and_all(store, dirs):
    save(store, make_pool("b", 2))
    save(store, make_pool("a", 1))
    store.mark_running("a", pool_to_xml(make_pool("a", 1)))
    store.mark_running("t", pool_to_xml(make_pool("t", 3)))
    store.mark_stopped("b", True)
    for junk in (os.path.join(dirs[0], ".tmp-abc"), os.path.join(dirs[0], ".hidden.xml"),
                 os.path.join(dirs[0], "notes.txt"), os.path.join(dirs[1], "x.stopped")):
        open(junk, "w").close()
    assert store.names() == ["a", "b", "t"]
    assert [stored.definition.name for stored in store.all()] == ["a", "b", "t"]


def test_find_uuid(store):
    save(store, make_pool("a", 1))
    store.mark_running("t", pool_to_xml(make_pool("t", 2)))
    assert store.find_uuid("00000000-0000-4000-8000-000000000002").definition.name == "t"
    assert store.find_uuid("00000000-0000-4000-8000-000000000001").definition.name == "a"
    assert store.find_uuid("00000000-0000-4000-8000-000000000009") is None


# -- atomic writes -------------------------------------------------------


def test_atomic_write_mode_and_content(tmp_path):
    path = str(tmp_path / "f.xml")
    atomic_write(path, u"caf\u00e9\n", 0o640)
    with open(path, "rb") as handle:
        assert handle.read() == u"caf\u00e9\n".encode("utf-8")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert leftovers(str(tmp_path)) == []


@pytest.mark.parametrize("call, code", [("rename", errno.EIO), ("fsync", errno.ENOSPC)])
def test_atomic_write_keeps_old_content_when_a_step_fails(tmp_path, os_failure, call, code):
    path = str(tmp_path / "f.xml")
    atomic_write(path, "old")
    with os_failure(_store.os, call, code), pytest.raises(OSError):
        atomic_write(path, "new")
    with open(path) as handle:
        assert handle.read() == "old"
    assert os.listdir(str(tmp_path)) == ["f.xml"]
    assert leftovers(str(tmp_path)) == []


def test_save_failure_keeps_the_old_definition(store, dirs, os_failure):
    save(store, make_pool("images", 1, "/old"))
    with os_failure(_store.os, "rename", errno.EIO), pytest.raises(OSError):
        save(store, make_pool("images", 1, "/new"))
    assert store.get("images").definition.target_path == "/old"
    assert leftovers(dirs[0], dirs[1]) == []


# -- concurrency -----------------------------------------------------------

WRITERS = 8


def _writer(config, runtime, index, barrier):
    barrier.wait()
    store = DefinitionStore(config, runtime)
    pool = make_pool("pool%02d" % index, index)
    with store:
        save(store, pool)
        if index % 2:
            store.set_autostart(pool.name, True)
        store.mark_running(pool.name, pool_to_xml(pool))
        # a read-modify-write that loses updates unless the lock serialises writers
        counter = os.path.join(runtime, "counter")
        value = int(open(counter).read()) if os.path.exists(counter) else 0
        time.sleep(0.02)
        atomic_write(counter, str(value + 1))


def test_concurrent_writers_lose_nothing(dirs):
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(WRITERS)
    processes = [context.Process(target=_writer, args=(dirs[0], dirs[1], index, barrier)) for index in range(WRITERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
    assert [process.exitcode for process in processes] == [0] * WRITERS
    store = DefinitionStore(*dirs)
    names = ["pool%02d" % index for index in range(WRITERS)]
    assert store.names() == names
    for index, name in enumerate(names):
        stored = store.get(name)
        assert stored.definition == make_pool(name, index)
        assert stored.persistent and stored.marked == "running"
        assert stored.autostart is bool(index % 2)
    with open(os.path.join(dirs[1], "counter")) as handle:
        assert int(handle.read()) == WRITERS
    assert leftovers(dirs[0], dirs[1]) == []


# -- read-only (check mode) ------------------------------------------------


def test_read_only_store_creates_nothing(dirs, tmp_path):
    store = DefinitionStore(*dirs, read_only=True)
    with store as opened:
        assert opened.get("images") is None
        assert opened.names() == []
    assert os.listdir(str(tmp_path)) == []


def test_read_only_store_still_takes_the_lock(dirs):
    with DefinitionStore(*dirs) as writer:
        save(writer, make_pool("images"))
    with DefinitionStore(*dirs, read_only=True) as reader:
        assert reader.get("images").definition == make_pool("images")
        fd = os.open(os.path.join(dirs[1], ".lock"), os.O_RDWR)
        try:
            with pytest.raises(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
