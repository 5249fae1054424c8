# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rbd pools: every plan-time refusal, and the commands of every apply, against what the real
tools printed on a one-node Ceph cluster (fixtures/rbd/*.json, recorded by fixtures/record_rbd.py
running these very command sequences). The cluster itself (deadlines, watchers, clones, qemu-img)
is tests/scenarios/host/test_storage_pool_rbd.py and test_storage_volume_rbd.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import _rbd
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._rbd import RbdBackend, parse_path
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import (
    Auth, BackingStore, CloneSource, Host, Permissions, PoolDef, PoolSource, VolumeDef, VolumeSpec)
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._rbd import CephUnreachable

from ansible_collections.poolcraft.storage.tests.unit.conftest import FakeRunner

UUID = "6f1c2a3b-1234-4abc-8def-0123456789ab"
KEY = "AQDXvA9rpY7iIhAAuM8XotFsQJ3HHhZkoRX6GA=="
MiB = 2 ** 20
TOOLS = ("rbd", "rados", "ceph", "qemu-img")


def pool_def(**source):
    fields = dict(name="p1", hosts=(Host("127.0.0.1", 3300),), auth=Auth("u1", KEY, type="ceph"))
    fields.update(source)
    return PoolDef(name="guests", type="rbd", uuid=UUID, source=PoolSource(**fields))


def backend_with(fake_runner, *transcripts, **kwargs):
    runner = fake_runner()
    runner.commands.update(TOOLS)
    for name in transcripts:
        runner.load(name, skip=kwargs.get("skip", 0))
    return RbdBackend(runner), runner


def image(name, size=16 * MiB, backing=()):
    return VolumeDef(name=name, path="rbd:p1/" + name, key="p1/" + name, format="raw", capacity=size, allocation=0,
                     type="network", backing=list(backing))


class AnyOrder(FakeRunner):
    """Replays the recorded steps in whatever order they are asked for (the listing's two passes
    run side by side): each call takes the first step with its argv."""

    def __init__(self, tmpdir):
        super(AnyOrder, self).__init__(tmpdir, commands=TOOLS)
        self.lock = threading.Lock()

    def run(self, argv, data=None, env=None, check=True, timeout=None):
        with self.lock:
            wanted = [str(arg) for arg in argv]
            for index, step in enumerate(self.steps):
                if step["argv"] == wanted:
                    self.steps.insert(0, self.steps.pop(index))
                    break
            return FakeRunner.run(self, argv, data=data, env=env, check=check, timeout=timeout)


def applied(actions):
    return [action.apply() for action in actions]


# -- the definition ---------------------------------------------------------------------------------

@pytest.mark.parametrize("source, option, words", [
    (dict(name="p/1"), "source.name", "a Ceph pool name is letters"),
    (dict(namespace="a b"), "source.namespace", "an RBD namespace is letters"),
    (dict(auth=Auth("client.u1", KEY, type="ceph")), "source.auth.username", "without 'client.' (u1)"),
    (dict(auth=Auth("u 1", KEY, type="ceph")), "source.auth.username", "a cephx user name is letters"),
    (dict(auth=Auth("u1", "not a key", type="ceph")), "source.auth.secret", "not a cephx key"),
    (dict(config=(("mon_host", "10.0.0.9"),)), "source.config", "set by the pool itself"),
    (dict(config=(("keyring", "/etc/ceph/x"),)), "source.config", "set by the pool itself"),
    (dict(config=(("rbd_cache", "true # and more"),)), "source.config.rbd_cache", "may not hold"),
])
def test_definitions_refused_by_name(quiet_runner, source, option, words):
    with pytest.raises(ValidationError) as caught:
        RbdBackend(quiet_runner).validate(pool_def(**source))
    assert caught.value.option == option and words in str(caught.value)
    assert "not a key" not in str(caught.value)  # a key, even a wrong one, is never shown


def test_a_definition_without_hosts_or_with_a_target_is_refused(quiet_runner):
    backend = RbdBackend(quiet_runner)
    with pytest.raises(ValidationError) as caught:
        backend.validate(pool_def(hosts=()))
    assert caught.value.option == "source.hosts"
    with pytest.raises(ValidationError) as caught:
        backend.validate(pool_def().with_changes(target_path="/srv/x"))
    assert caught.value.option == "target" and "rbd pools have no target" in str(caught.value)
    backend.validate(pool_def(namespace="guests", config=(("rbd_cache", "false"),)))


# -- is it there: the probe, asked once per task -----------------------------------------------------

def test_an_existing_pool_is_built_and_starts_with_nothing_to_do(fake_runner):
    backend, runner = backend_with(fake_runner, "rbd/probe_pool_with_two_images")
    pool = pool_def()
    assert backend.is_built(pool) and backend.plan_start(pool) == [] and backend.live_state(pool) is None
    assert len(runner.calls) == 1  # one question for the whole task


def test_a_missing_pool_or_namespace_is_not_built(fake_runner):
    backend, _runner = backend_with(fake_runner, "rbd/probe_no_pool")
    pool = pool_def(name="nopool")
    assert not backend.is_built(pool)
    assert backend.unbuilt_reason(pool) == "the Ceph cluster at 127.0.0.1:3300 has no pool 'nopool'"
    with pytest.raises(NotFoundError) as caught:
        backend.plan_start(pool)
    assert str(caught.value).endswith("; set build: true to create it")
    backend, _runner = backend_with(fake_runner, "rbd/probe_no_namespace")
    pool = pool_def(namespace="nons")
    assert not backend.is_built(pool) and backend.unbuilt_reason(pool) == "Ceph pool 'p1' has no RBD namespace 'nons'"


def test_an_unreachable_cluster_is_asked_once_and_told_where_it_matters(fake_runner):
    backend, runner = backend_with(fake_runner, "rbd/probe_wrong_key")
    pool = pool_def()
    # not said to lack the pool (a pool of a dead cluster can be stopped and undefined) ...
    assert backend.is_built(pool)
    # ... and whatever needs the cluster says why, without asking again
    for ask in (lambda: backend.plan_start(pool), lambda: backend.refresh(pool), lambda: backend.get_volume(pool, "v1"),
                lambda: backend.plan_build(pool, False)):
        with pytest.raises(CephUnreachable) as caught:
            ask()
        assert "refused the key of client.u1" in str(caught.value)
    assert len(runner.calls) == 1
    # another backend of the same task (its runner) knows it too: one deadline per task
    with pytest.raises(CephUnreachable):
        RbdBackend(runner).refresh(pool)
    assert len(runner.calls) == 1


# -- build, refresh, purge -----------------------------------------------------------------------------

def test_build_creates_and_initialises_the_pool_then_start_refreshes(fake_runner):
    backend, runner = backend_with(fake_runner, "rbd/build_pool")
    pool = pool_def()
    actions = backend.plan_build(pool, False)
    assert [action.description for action in actions] == ["create Ceph pool 'p1' for rbd"]
    assert backend.plan_start(pool) == []  # the build makes what the start needs
    applied(actions)
    status = backend.refresh(pool)
    # libvirt's numbers: the cluster's raw space (rados df, in KiB), the pool's raw usage
    assert (status.capacity, status.available, status.allocation, status.volume_count) == (
        10485760 * 1024, 10188564 * 1024, 0, 0)
    assert [call[:5] for call in runner.calls[1:4]] == [["ceph", "--id", "u1", "osd", "pool"]] * 2 + [
        ["rbd", "--id", "u1", "pool", "init"]]


def test_build_makes_a_namespace_in_an_existing_pool(fake_runner):
    backend, _runner = backend_with(fake_runner, "rbd/build_namespace")
    pool = pool_def(namespace="ns1")
    actions = backend.plan_build(pool, False)
    assert [action.description for action in actions] == ["create RBD namespace 'ns1' in Ceph pool 'p1'"]
    applied(actions)
    assert backend.is_built(pool)  # asked again after the build


def test_an_existing_pool_needs_no_build(fake_runner):
    backend, _runner = backend_with(fake_runner, "rbd/probe_pool_with_two_images")
    assert backend.plan_build(pool_def(), False) == []


def test_refresh_opens_no_image(fake_runner):
    backend, runner = backend_with(fake_runner, "rbd/refresh_p1")
    status = backend.refresh(pool_def())
    assert status.volume_count == 1 and status.capacity == 10485760 * 1024 and status.free_extents is None
    assert [call[3] for call in runner.calls] == ["ls", "df"]


def test_refresh_without_the_clusters_statistics_reads_zeros(fake_runner):
    backend, runner = backend_with(fake_runner)
    runner.expect(["rbd", "--id", "u1", "ls", "p1", "--format", "json"], stdout='["a"]\n')
    runner.load("rbd/refresh_no_mgr")
    status = backend.refresh(pool_def())
    assert (status.capacity, status.allocation, status.available, status.volume_count) == (0, 0, 0, 1)


def test_purge_refused_while_images_are_there_even_in_the_trash(fake_runner):
    backend, _runner = backend_with(fake_runner, "rbd/purge_refused")
    with pytest.raises(StorageError) as caught:
        backend.plan_delete(pool_def())
    assert str(caught.value) == ("pool 'guests': Ceph pool 'p1' still holds 1 images and 1 in its trash (a, b); "
                                 "delete them before purge")


def test_purge_deletes_the_pool_after_checking_again(fake_runner):
    backend, runner = backend_with(fake_runner, "rbd/purge_pool")
    actions = backend.plan_delete(pool_def())
    assert [action.description for action in actions] == ["delete Ceph pool 'p1'"]
    applied(actions)
    assert runner.calls[-1] == ["ceph", "--id", "u1", "osd", "pool", "rm", "p1", "p1", "--yes-i-really-really-mean-it"]


def test_purge_of_a_namespace_removes_it_alone(fake_runner):
    backend, runner = backend_with(fake_runner)
    for argv in (["ls", "--namespace", "ns1", "p1"], ["ls", "--namespace", "ns1", "p1"],
                 ["trash", "ls", "--all", "--namespace", "ns1", "p1"]) * 1:
        runner.expect(["rbd", "--id", "u1"] + argv + ["--format", "json"], stdout="[]\n")
    actions = backend.plan_delete(pool_def(namespace="ns1"))
    assert [action.description for action in actions] == ["remove RBD namespace 'ns1' from Ceph pool 'p1'"]


# -- volumes: reading ---------------------------------------------------------------------------------

def test_list_volumes_skips_snapshots_and_temporaries(tmp_path):
    runner = AnyOrder(tmp_path)
    backend = RbdBackend(runner)
    runner.load("rbd/listing")
    pool = pool_def()
    volumes = backend.list_volumes(pool)
    assert [(vol.name, vol.path, vol.key, vol.type, vol.format, vol.capacity, vol.allocation) for vol in volumes] == [
        # base: what it and its snapshots hold (6 MiB written before 'before': two 4 MiB objects)
        ("base", "rbd:p1/base", "p1/base", "network", "raw", 32 * MiB, 8 * MiB),
        ("c1", "rbd:p1/c1", "p1/c1", "network", "raw", 32 * MiB, 4 * MiB)]
    assert volumes[0].backing == [] and volumes[1].backing == [BackingStore("rbd:p1/base", "raw")]
    assert volumes[0].permissions == Permissions()
    c1 = backend.get_volume(pool, "c1")
    assert (c1.capacity, c1.allocation, c1.backing) == (32 * MiB, 4 * MiB, [BackingStore("rbd:p1/base", "raw")])
    assert backend.get_volume(pool, "nope") is None
    # deleting base is refused, naming its clone
    with pytest.raises(StorageError) as caught:
        backend.plan_delete_volume(pool, volumes[0])
    assert str(caught.value) == "cannot delete volume 'base': it has clones (p1/c1); delete or flatten them first"
    assert [step["argv"][3] for step in runner.steps] == ["snap", "rm"]  # not asked: the refusal came first


def test_a_failing_pass_of_the_listing_is_raised(tmp_path):
    runner = AnyOrder(tmp_path)
    runner.expect(["rbd", "--id", "u1", "ls", "--long", "p1", "--format", "json"], stdout="[]")
    runner.expect(["rbd", "--id", "u1", "du", "-p", "p1", "--format", "json"], rc=110,
                  stderr="rbd: du failed: (110) Connection timed out\n")
    with pytest.raises(CephUnreachable) as caught:
        RbdBackend(runner).list_volumes(pool_def())
    assert "rbd du: the Ceph cluster at 127.0.0.1:3300 did not answer within 30 s" in str(caught.value)


def test_snapshots_of_the_users_are_named(fake_runner):
    backend, runner = backend_with(fake_runner)
    runner.expect(["rbd", "--id", "u1", "status", "p1/base", "--format", "json"], stdout='{"watchers":[]}')
    runner.expect(["rbd", "--id", "u1", "children", "--all", "p1/base", "--format", "json"], stdout="[]")
    runner.load("rbd/listing", skip=7)  # snap ls of base: 'before' and ours
    runner.steps.pop()  # not rbd rm: the refusal comes first
    with pytest.raises(StorageError) as caught:
        backend.plan_delete_volume(pool_def(), image("base"))
    assert str(caught.value) == "cannot delete volume 'base': it has snapshots (before); delete them first"


def test_an_open_image_is_not_deleted_or_shrunk(fake_runner):
    backend, runner = backend_with(fake_runner)
    for _round in range(2):
        runner.load("rbd/watched")
        runner.steps.pop()
    watcher = "client.4558 at 127.0.0.1:0/3236775318"
    with pytest.raises(StorageError) as caught:
        backend.plan_delete_volume(pool_def(), image("busy"))
    assert str(caught.value) == "cannot delete volume 'busy': it is open by %s; close it (stop the guest) first" % watcher
    with pytest.raises(StorageError) as caught:
        backend.plan_resize_volume(pool_def(), image("busy"), 8 * MiB)
    assert str(caught.value).startswith("cannot shrink volume 'busy': it is open by %s" % watcher)


@pytest.mark.parametrize("path, found", [
    ("rbd:p1/v1", "v1"), ("p1/v1", "v1"), ("rbd:p2/v1", None), ("rbd:p1/ns/v1", None), ("rbd:p1/v1@snap", None),
    ("/var/lib/images/v1", None), ("rbd:p1/", None), ("rbd:p1/v1:id=u1", None), ("iscsi://h/iqn/1", None),
])
def test_volume_name_at(quiet_runner, path, found):
    assert RbdBackend(quiet_runner).volume_name_at(pool_def(), path) == found


def test_volume_name_at_in_a_namespace(quiet_runner):
    backend, pool = RbdBackend(quiet_runner), pool_def(namespace="ns")
    assert backend.volume_name_at(pool, "rbd:p1/ns/v1") == "v1" and backend.volume_name_at(pool, "p1/ns/v1") == "v1"
    assert backend.volume_name_at(pool, "rbd:p1/v1") is None
    assert backend.volume_path(pool, "v1") == "rbd:p1/ns/v1"
    assert parse_path("rbd:p1/ns/v1") == ("p1", "ns", "v1") and parse_path("p1/v1") == ("p1", None, "v1")


# -- volumes: creating, resizing, deleting ------------------------------------------------------------

def test_create_grow_shrink_and_delete_with_wipe(fake_runner):
    backend, runner = backend_with(fake_runner, "rbd/create_grow_shrink_delete")
    pool = pool_def()
    created = backend.plan_create_volume(pool, VolumeSpec(name="v1", format="raw", capacity=64 * MiB))
    assert [action.description for action in created] == ["create raw volume 'v1' of 64.0 MiB"]
    assert applied(created) == [None]
    v1 = backend.get_volume(pool, "v1")
    assert (v1.capacity, v1.allocation) == (64 * MiB, 0)
    grow = backend.plan_resize_volume(pool, v1, 128 * MiB)
    assert [action.description for action in grow] == ["grow volume 'v1' from 64.0 MiB to 128.0 MiB"]
    applied(grow)
    bigger = image("v1", 128 * MiB)
    shrink = backend.plan_resize_volume(pool, bigger, 32 * MiB)  # asks whether it is open
    applied(shrink)
    with pytest.raises(ValidationError) as caught:
        backend.plan_delete_volume(pool, image("v1", 32 * MiB), "random")
    assert caught.value.option == "wipe" and "wiped with zero" in str(caught.value)
    delete = backend.plan_delete_volume(pool, image("v1", 32 * MiB), "zero")
    assert [action.description for action in delete] == ["wipe (zero) and delete volume 'v1' (rbd:p1/v1)"]
    applied(delete)
    assert ["--allow-shrink" in call for call in runner.calls if "resize" in call] == [False, True, True]


def test_a_name_with_an_at_sign_is_refused(quiet_runner):
    with pytest.raises(ValidationError) as caught:
        RbdBackend(quiet_runner).plan_create_volume(pool_def(), VolumeSpec(name="v@1", format="raw", capacity=MiB))
    assert caught.value.option == "name"


def test_a_file_is_no_backing_store(quiet_runner):
    spec = VolumeSpec(name="v1", format="raw", backing=BackingStore("/srv/base.qcow2", "qcow2"),
                      given={"backing_store": {"path": "/srv/base.qcow2"}})
    with pytest.raises(ValidationError) as caught:
        RbdBackend(quiet_runner).plan_create_volume(pool_def(), spec)
    assert caught.value.option == "backing_store" and "copy-on-write clone of another rbd volume" in str(caught.value)


def test_a_cow_clone_through_a_protected_snapshot_then_flattened(fake_runner):
    backend, runner = backend_with(fake_runner, "rbd/cow_clone_flatten")
    pool = pool_def()
    spec = VolumeSpec(name="c1", format="raw", capacity=32 * MiB,
                      clone=CloneSource(path="rbd:p1/base", format="raw", capacity=16 * MiB))
    actions = backend.plan_create_volume(pool, spec)
    assert [action.description for action in actions] == [
        "clone rbd:p1/base (raw) into volume 'c1' (raw) (copy-on-write, through snapshot poolcraft-clone-c1)"]
    assert applied(actions) == ["cow"]
    c1 = image("c1", 32 * MiB, backing=[BackingStore("rbd:p1/base", "raw")])
    flatten = backend.plan_flatten_volume(pool, c1)
    assert [action.description for action in flatten] == ["flatten volume 'c1' (copy the data of rbd:p1/base into it)"]
    applied(flatten)  # and our snapshot goes from base, no clone hanging from it any more
    assert runner.calls[-1] == ["rbd", "--id", "u1", "snap", "rm", "--no-progress", "p1/base@poolcraft-clone-c1"]
    assert backend.plan_flatten_volume(pool, image("c2")) == []  # nothing to flatten


def test_flatten_at_creation(fake_runner):
    backend, runner = backend_with(fake_runner)
    recorded = fake_runner()
    recorded.load("rbd/cow_clone_flatten")
    steps = recorded.steps
    recorded.steps = []
    # the clone's steps without the resize, then the flatten's without its info
    runner.steps = steps[:5] + steps[7:]
    spec = VolumeSpec(name="c1", format="raw", clone=CloneSource(path="rbd:p1/base", format="raw", capacity=16 * MiB),
                      given={"flatten": True})
    actions = backend.plan_create_volume(pool_def(), spec)
    assert actions[0].description.endswith("(copy-on-write, through snapshot poolcraft-clone-c1, then flattened)")
    assert applied(actions) == ["copy"]


def test_a_clone_source_without_layering_or_missing(fake_runner):
    backend, runner = backend_with(fake_runner)
    runner.expect(["rbd", "--id", "u1", "info", "p1/old", "--format", "json"],
                  stdout='{"name":"old","size":1048576,"features":[],"flags":[]}')
    runner.load("rbd/listing", skip=4)
    runner.steps[2:] = []  # info of p1/nope
    spec = VolumeSpec(name="c1", format="raw", clone=CloneSource(path="rbd:p1/old", format="raw", capacity=MiB),
                      given={"clone_from": {"pool": "guests", "name": "old"}})
    with pytest.raises(ValidationError) as caught:
        backend.plan_create_volume(pool_def(), spec)
    assert "lacks the layering feature" in str(caught.value)
    spec = VolumeSpec(name="c1", format="raw", clone=CloneSource(path="rbd:p1/nope", format="raw", capacity=MiB))
    with pytest.raises(NotFoundError) as caught:
        backend.plan_create_volume(pool_def(), spec)
    assert str(caught.value) == "clone_from: no rbd image p1/nope"


def test_a_clone_smaller_than_its_source_is_refused(fake_runner):
    backend, runner = backend_with(fake_runner, "rbd/cow_clone_flatten")
    runner.steps[1:] = []  # info of p1/base: 16 MiB
    spec = VolumeSpec(name="c2", format="raw", capacity=8 * MiB, backing=BackingStore("rbd:p1/base", "raw"))
    with pytest.raises(ValidationError) as caught:
        backend.plan_create_volume(pool_def(), spec)
    assert str(caught.value) == ("capacity='8.0 MiB': smaller than the clone's source p1/base (16.0 MiB): a clone starts "
                                 "as large as its source")


def test_deleting_a_clone_drops_our_snapshot_of_its_source(fake_runner):
    backend, runner = backend_with(fake_runner, "rbd/delete_clone")
    applied(backend.plan_delete_volume(pool_def(), image("c2", backing=[BackingStore("rbd:p1/base", "raw")])))
    assert runner.calls[-2:] == [["rbd", "--id", "u1", "snap", "unprotect", "p1/base@poolcraft-clone-c2"],
                                 ["rbd", "--id", "u1", "snap", "rm", "--no-progress", "p1/base@poolcraft-clone-c2"]]


def test_a_file_is_converted_in_under_a_temporary_name(fake_runner, tmp_path):
    backend, runner = backend_with(fake_runner, "rbd/copy_qcow2")
    pool = pool_def()
    spec = VolumeSpec(name="web1", format="raw", capacity=64 * MiB,
                      clone=CloneSource(path=str(tmp_path / "cloud.qcow2"), format="qcow2", capacity=48 * MiB))
    actions = backend.plan_create_volume(pool, spec)
    assert [action.description for action in actions] == ["clone %s/cloud.qcow2 (qcow2) into volume 'web1' (raw)" % tmp_path]
    assert applied(actions) == ["copy"]
    # a file qemu-img cannot read: one line, and no temporary image left
    spec = VolumeSpec(name="web2", format="raw", capacity=64 * MiB,
                      clone=CloneSource(path=str(tmp_path / "broken.qcow2"), format="qcow2", capacity=MiB))
    with pytest.raises(StorageError) as caught:
        applied(backend.plan_create_volume(pool, spec))
    assert "qemu-img convert failed" in str(caught.value) and "Unsupported qcow2 version 0" in str(caught.value)
    assert runner.calls[-1] == ["rbd", "--id", "u1", "rm", "--no-progress", "p1/.poolcraft-new-web2"]
    assert all(KEY not in " ".join(call) for call in runner.calls)


def test_a_leftover_temporary_image_is_removed_first(fake_runner, tmp_path):
    backend, runner = backend_with(fake_runner)
    recorded = fake_runner()
    recorded.load("rbd/create_grow_shrink_delete")
    found = dict(recorded.steps[1], argv=["rbd", "--id", "u1", "info", "p1/.poolcraft-new-web1", "--format", "json"])
    recorded.load("rbd/copy_qcow2")
    copy = recorded.steps[17:20]  # create, convert, rename
    recorded.steps = []
    runner.steps = [found]
    runner.expect(["rbd", "--id", "u1", "rm", "--no-progress", "p1/.poolcraft-new-web1"])
    runner.steps += copy
    spec = VolumeSpec(name="web1", format="raw", capacity=64 * MiB,
                      clone=CloneSource(path=str(tmp_path / "cloud.qcow2"), format="qcow2", capacity=48 * MiB))
    assert applied(backend.plan_create_volume(pool_def(), spec)) == ["copy"]


def test_volume_options_of_the_type(quiet_runner):
    backend = RbdBackend(quiet_runner)
    assert backend.volume_formats == ("raw",) and backend.volume_options == ()
    assert backend.clone_format("qcow2") == "raw"
    with pytest.raises(ValidationError):
        backend.refuse_volume_permissions(Permissions(mode=0o600))
    assert backend.plan_stop(pool_def()) == [] and _rbd.TEMP_PREFIX.startswith(".")
