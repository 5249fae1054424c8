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
from ansible_collections.poolcraft.storage.plugins.module_utils._host._atomic import atomic_write
from ansible_collections.poolcraft.storage.plugins.module_utils._model import PoolDef, Permissions
from ansible_collections.poolcraft.storage.plugins.module_utils._store import DefinitionStore, UnusableDefinitionError
from ansible_collections.poolcraft.storage.plugins.module_utils._xml import pool_from_xml, pool_to_xml

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


def test_entering_makes_only_the_lock_and_removes_it_when_nothing_is_written(dirs, tmp_path):
    """A task that writes nothing (refused, or no change) leaves no directory or lock file behind."""
    config, runtime = dirs
    store = DefinitionStore(config, runtime)
    with store:
        assert os.path.isfile(os.path.join(runtime, ".lock"))
        assert not os.path.exists(config)
    assert store._lock_fd is None
    assert os.listdir(str(tmp_path)) == []


def test_made_parents_are_removed_too(tmp_path):
    config, runtime = str(tmp_path / "a" / "etc"), str(tmp_path / "b" / "c" / "run")
    with pytest.raises(RuntimeError):
        with DefinitionStore(config, runtime):
            raise RuntimeError("refused")
    assert os.listdir(str(tmp_path)) == []


def test_an_existing_store_is_left_as_it_was(store, dirs):
    save(store, make_pool("images"))
    store.__exit__(None, None, None)
    before = sorted(os.listdir(dirs[0])), sorted(os.listdir(dirs[1]))
    with DefinitionStore(*dirs) as again:
        assert again.get("images") is not None
    assert (sorted(os.listdir(dirs[0])), sorted(os.listdir(dirs[1]))) == before == (["images.xml"], [".lock"])


def test_a_lock_made_in_an_existing_runtime_dir_is_removed(dirs):
    os.makedirs(dirs[1])
    with DefinitionStore(*dirs):
        assert os.listdir(dirs[1]) == [".lock"]
    assert os.listdir(dirs[1]) == []


def test_what_is_written_keeps_the_lock_and_its_directories(dirs):
    with DefinitionStore(*dirs) as store:
        store.mark_running("tmp", pool_to_xml(make_pool("tmp")))
    assert sorted(os.listdir(dirs[1])) == [".lock", "tmp.xml"]
    assert not os.path.exists(dirs[0])  # a transient pool needs no config_dir


def test_directories_are_made_by_the_write_that_needs_them(store, dirs):
    assert not os.path.exists(dirs[0])
    save(store, make_pool("images"))
    assert os.listdir(dirs[0]) == ["images.xml"]  # no autostart/ until a link goes there
    store.set_autostart("images", False)
    assert os.listdir(dirs[0]) == ["images.xml"]
    store.set_autostart("images", True)
    assert os.listdir(os.path.join(dirs[0], "autostart")) == ["images.xml"]


def test_removing_from_a_store_without_directories_makes_none(store, dirs):
    store.remove_persistent("images")
    store.mark_stopped("images", persistent=False)
    assert not os.path.exists(dirs[0])
    assert os.listdir(dirs[1]) == [".lock"]


def test_lock_is_exclusive_while_held(dirs):
    with DefinitionStore(*dirs) as store:
        save(store, make_pool("images"))  # so that the lock file stays
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


def _waiter(dirs, report):
    with DefinitionStore(*dirs) as store:
        held = os.fstat(store._lock_fd)
        now = os.stat(os.path.join(dirs[1], ".lock"))
        report.send((held.st_ino, now.st_ino))


def test_a_waiter_takes_the_new_lock_when_the_holder_removes_its_own(dirs):
    """The holder made the lock and wrote nothing, so it removes the file before unlocking; a run that
    waited on that file must not go on holding a lock nobody else can see."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    holder = DefinitionStore(*dirs)
    holder.__enter__()
    child = context.Process(target=_waiter, args=(dirs, send))
    child.start()
    lock = os.path.join(dirs[1], ".lock")
    deadline = time.monotonic() + 10
    while not _someone_waits(lock) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _someone_waits(lock)
    holder.__exit__(None, None, None)
    assert receive.poll(10), "the waiter did not get the lock"
    held, now = receive.recv()
    child.join(10)
    assert child.exitcode == 0
    assert held == now  # it holds the file that is there, not the removed one


def _someone_waits(path):
    st = os.stat(path)
    inode = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    with open("/proc/locks") as handle:
        return any(line.split()[1:3] == ["->", "FLOCK"] and line.split()[6] == inode
                   for line in handle if len(line.split()) > 6)


def test_directories_made_by_someone_else_in_between(dirs, monkeypatch):
    """Another run may make a directory between the isdir check and mkdir: it is not ours to remove."""
    real_mkdir = os.mkdir

    class RacingOs(object):
        """os whose mkdir finds the directory made by someone else just before."""

        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def mkdir(path, mode=0o777):
            real_mkdir(path, mode)
            raise OSError(errno.EEXIST, os.strerror(errno.EEXIST), path)

    monkeypatch.setattr(_store, "os", RacingOs())
    with DefinitionStore(*dirs) as store:
        assert store._lock_fd is not None
        assert store._made_dirs == []
    monkeypatch.undo()
    assert os.path.isdir(dirs[1])  # someone else's: kept


def test_a_file_where_a_directory_should_be_is_an_error(tmp_path):
    (tmp_path / "run").write_text("")
    with pytest.raises(OSError):
        with DefinitionStore(str(tmp_path / "etc"), str(tmp_path / "run" / "x")):
            pass


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


def test_damaged_definition_names_the_pool_and_the_file(store, dirs):
    os.makedirs(dirs[0])
    path = os.path.join(dirs[0], "bad.xml")
    with open(path, "w") as handle:
        handle.write("<pool type='dir'><name>bad")
    with pytest.raises(UnusableDefinitionError) as caught:
        store.get("bad")
    message = str(caught.value)
    assert message.startswith("pool 'bad' cannot be used: %s is not valid XML: " % path), message
    assert message.endswith("; fix or remove that file") and "\n" not in message


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
    assert not os.path.exists(dirs[0])
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


def _reader_or_writer(config, runtime, index, barrier):
    """Odd ones write a definition; even ones write nothing through the store (they make the lock
    and remove it again), but all do a read-modify-write under the lock."""
    barrier.wait()
    with DefinitionStore(config, runtime) as store:
        if index % 2:
            save(store, make_pool("pool%02d" % index, index))
        counter = os.path.join(config + ".counter")
        value = int(open(counter).read()) if os.path.exists(counter) else 0
        time.sleep(0.02)
        atomic_write(counter, str(value + 1))


def test_runs_that_write_nothing_still_serialise_with_the_others(dirs):
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(WRITERS)
    processes = [context.Process(target=_reader_or_writer, args=(dirs[0], dirs[1], index, barrier))
                 for index in range(WRITERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
    assert [process.exitcode for process in processes] == [0] * WRITERS
    with open(dirs[0] + ".counter") as handle:
        assert int(handle.read()) == WRITERS
    assert DefinitionStore(*dirs).names() == ["pool%02d" % index for index in range(1, WRITERS, 2)]


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


# -- definitions that cannot be used ---------------------------------------

GOOD_UUID = "00000000-0000-4000-8000-%012d"
BROKEN = {
    "no uuid": ("<pool type='dir'><name>broken</name><target><path>/srv/b</path></target></pool>", "has no uuid"),
    "bad xml": ("<pool type='dir'><name>broken", "is not valid XML: "),
    "bad mode": ("<pool type='dir'><name>broken</name><uuid>%s</uuid><target><path>/srv/b</path>"
                 "<permissions><mode>rwxr-xr-x</mode></permissions></target></pool>" % (GOOD_UUID % 9),
                 "has a malformed target/permissions/mode 'rwxr-xr-x'"),
    "unknown type": ("<pool type='sheepdog'><name>broken</name><uuid>%s</uuid></pool>" % (GOOD_UUID % 9),
                     "has type 'sheepdog', which this collection does not know (known: dir, "),
    "bad port": ("<pool type='dir'><name>broken</name><uuid>%s</uuid><source><host name='nfs' port='nfs'/></source>"
                 "<target><path>/srv/b</path></target></pool>" % (GOOD_UUID % 9), "has a malformed source/host port 'nfs'"),
    "other name": ("<pool type='dir'><name>images</name><uuid>%s</uuid><target><path>/srv/b</path></target></pool>"
                   % (GOOD_UUID % 9), "defines pool 'images', not 'broken' as its file name says"),
    "not utf-8": (b"<pool type='dir'><name>broken\xff</name></pool>", "is not valid XML: "),
    "wrong document": ("<volume><name>broken</name></volume>", "is not a libvirt storage pool definition"),
}


@pytest.fixture
def two_good_pools(store):
    for index, name in enumerate(("alpha", "omega"), 1):
        save(store, make_pool(name, index))
    return store


def write_broken(path, text):
    with open(path, "wb") as handle:
        handle.write(text if isinstance(text, bytes) else text.encode("utf-8"))


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_an_unusable_definition_stops_no_other_pool(two_good_pools, dirs, case):
    store = two_good_pools
    text, reason = BROKEN[case]
    path = os.path.join(dirs[0], "broken.xml")
    write_broken(path, text)
    assert store.names() == ["alpha", "omega"]
    assert [stored.definition.name for stored in store.all()] == ["alpha", "omega"]
    assert store.find_uuid(GOOD_UUID % 2).definition.name == "omega"
    assert store.find_uuid(GOOD_UUID % 9) is None
    assert store.get("alpha").definition == make_pool("alpha", 1)
    [entry] = store.unusable()
    assert (entry.name, entry.path) == ("broken", path)
    assert entry.reason.startswith(reason) and "\n" not in entry.reason, entry.reason
    assert entry.as_facts() == {"name": "broken", "state": "unusable", "definition": path, "reason": entry.reason}
    with pytest.raises(UnusableDefinitionError) as caught:
        store.get("broken")
    assert str(caught.value) == "pool 'broken' cannot be used: %s %s; fix or remove that file" % (path, entry.reason)


@pytest.mark.parametrize("kind", ["fifo", "directory", "huge"])
def test_what_is_not_a_definition_file_is_unusable_and_never_hangs(two_good_pools, dirs, kind):
    path = os.path.join(dirs[0], "broken.xml")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        os.mkdir(path)
    else:
        write_broken(path, "<pool>" + " " * _store.MAX_DEFINITION_BYTES + "</pool>")
    assert two_good_pools.names() == ["alpha", "omega"]
    [entry] = two_good_pools.unusable()
    expected = {"fifo": "is not a regular file", "directory": "is not a regular file", "huge": "is larger than"}[kind]
    assert entry.reason.startswith(expected), entry.reason


def test_a_damaged_live_status_of_a_transient_pool_is_unusable(store, dirs):
    store.mark_running("tmp", "<pool")
    [entry] = store.unusable()
    assert entry.path == os.path.join(dirs[1], "tmp.xml")
    with pytest.raises(UnusableDefinitionError):
        store.get("tmp")


def test_the_live_status_beside_a_persistent_definition_is_not_read(store, dirs):
    save(store, make_pool("images", 1))
    store.mark_running("images", "<pool")  # only that it exists counts: the pool runs
    stored = store.get("images")
    assert stored.definition == make_pool("images", 1) and stored.marked == "running"
    assert store.unusable() == []


def test_a_uuid_in_another_spelling_is_found(store, dirs):
    os.makedirs(dirs[0])
    write_broken(os.path.join(dirs[0], "upper.xml"), "<pool type='dir'><name>upper</name>"
                 "<uuid>0B0B8A6C4F6E4D1A9A7A1F2D1F0D7E41</uuid><target><path>/u</path></target></pool>")
    stored = store.find_uuid("0b0b8a6c-4f6e-4d1a-9a7a-1f2d1f0d7e41")
    assert stored.definition.uuid == "0b0b8a6c-4f6e-4d1a-9a7a-1f2d1f0d7e41"


def test_known_types_can_be_given(dirs):
    store = DefinitionStore(*dirs, known_types=["netfs"])
    with store:
        save(store, make_pool("images", 1))
    assert store.names() == []
    assert "known: netfs" in store.unusable()[0].reason


# -- rolling back what a failed task wrote --------------------------------


def test_rollback_of_a_new_pool_leaves_the_store_as_it_was_found(dirs, tmp_path):
    with DefinitionStore(*dirs) as store:
        pool = make_pool("images", 1)
        save(store, pool)
        store.set_autostart("images", True)
        store.mark_stopped("images", True)
        assert len(store.changed_paths()) == 3
        store.rollback("images")
        assert store.get("images") is None
        assert store.changed_paths() == []
    assert os.listdir(str(tmp_path)) == []


def test_rollback_puts_back_a_replaced_definition_and_its_links(store, dirs):
    save(store, make_pool("images", 1, "/old"))
    store.set_autostart("images", True)
    store.mark_running("images", pool_to_xml(make_pool("images", 1, "/old")))
    store.__exit__(None, None, None)
    before = {}
    for top in dirs:
        for path, _dirs, files in os.walk(top):
            for name in files:
                full = os.path.join(path, name)
                before[full] = (os.readlink(full) if os.path.islink(full) else open(full, "rb").read(),
                                stat.S_IMODE(os.lstat(full).st_mode))
    with DefinitionStore(*dirs) as again:
        save(again, make_pool("images", 1, "/new"))
        again.set_autostart("images", False)
        again.mark_stopped("images", True)
        again.rollback("images")
    after = {}
    for top in dirs:
        for path, _dirs, files in os.walk(top):
            for name in files:
                full = os.path.join(path, name)
                after[full] = (os.readlink(full) if os.path.islink(full) else open(full, "rb").read(),
                               stat.S_IMODE(os.lstat(full).st_mode))
    assert after == before
    assert DefinitionStore(*dirs).get("images").definition.target_path == "/old"


def test_rollback_of_one_pool_keeps_the_others(store, dirs):
    save(store, make_pool("keep", 1))
    save(store, make_pool("undo", 2))
    store.rollback("undo")
    assert store.names() == ["keep"]
    assert store.changed_paths() == [os.path.join(dirs[0], "keep.xml")]
    store.rollback()
    assert store.names() == []


# -- secrets: beside the definition, root only, gone with it ------------------------------


def chap_pool(name="san", secret="chap-Secret-1", mutual=None):
    from ansible_collections.poolcraft.storage.plugins.module_utils._model import Auth, PoolSource
    auth = Auth(username="kvm01", secret=secret, mutual_username="t" if mutual else None, mutual_secret=mutual)
    return PoolDef(name=name, type="iscsi", uuid="00000000-0000-4000-8000-000000000009", target_path="/dev",
                   source=PoolSource(host="192.0.2.10", target="iqn.2004-04.com.example:images", auth=auth))


def define_with_secrets(store, pool, persistent=True):
    store.save_secrets(pool.name, pool.source.auth.secrets(), persistent)
    if persistent:
        save(store, pool)
    else:
        store.mark_running(pool.name, pool_to_xml(pool))


def test_secrets_are_kept_root_only_beside_the_definition_and_read_back(store, dirs):
    pool = chap_pool(mutual="chap-Secret-2")
    define_with_secrets(store, pool)
    path = os.path.join(dirs[0], "san.secret")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(os.path.join(dirs[0], "san.xml")) as handle:
        assert "chap-Secret" not in handle.read()
    assert store.get("san").definition == pool
    assert store.names() == ["san"]  # the secret file is not a pool


def test_a_transient_pools_secrets_live_and_go_with_it(store, dirs):
    pool = chap_pool()
    define_with_secrets(store, pool, persistent=False)
    assert os.path.exists(os.path.join(dirs[1], "san.secret"))
    assert store.get("san").definition.source.auth.secret == "chap-Secret-1"
    store.mark_stopped("san", False)
    assert not os.path.exists(os.path.join(dirs[1], "san.secret"))


def test_undefining_removes_the_secrets(store, dirs):
    define_with_secrets(store, chap_pool())
    store.remove_persistent("san")
    assert sorted(os.listdir(dirs[0])) == []


def test_a_definition_without_its_secret_file_has_no_secret(store, dirs):
    define_with_secrets(store, chap_pool())
    os.unlink(os.path.join(dirs[0], "san.secret"))
    assert store.get("san").definition.source.auth.secret is None


def test_a_damaged_secret_file_makes_only_that_pool_unusable(store, dirs):
    define_with_secrets(store, chap_pool())
    save(store, make_pool("other"))
    atomic_write(os.path.join(dirs[0], "san.secret"), "[1, 2]")
    assert store.names() == ["other"]
    with pytest.raises(UnusableDefinitionError) as caught:
        store.get("san")
    assert "san.secret is not a secret file" in str(caught.value)
    assert "chap" not in str(caught.value).lower().replace("chap-", "")


def test_rollback_takes_back_a_new_secret_file(dirs):
    with DefinitionStore(*dirs) as opened:
        define_with_secrets(opened, chap_pool())
        opened.rollback("san")
    assert not os.path.exists(os.path.join(dirs[0], "san.secret"))


def test_the_same_secrets_are_not_written_again(store, dirs):
    define_with_secrets(store, chap_pool())
    before = os.stat(os.path.join(dirs[0], "san.secret")).st_ino
    store.save_secrets("san", {"secret": "chap-Secret-1"}, True)
    assert os.stat(os.path.join(dirs[0], "san.secret")).st_ino == before
