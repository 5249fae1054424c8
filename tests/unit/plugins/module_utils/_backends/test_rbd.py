# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rbd pools: every plan-time refusal, and the commands of every apply, against what the real
tools printed on a one-node Ceph cluster (fixtures/rbd/*.json, recorded by fixtures/record_rbd.py
running these very command sequences). The cluster itself (deadlines, watchers, clones, qemu-img)
is tests/scenarios/host/test_storage_pool_rbd.py and test_storage_volume_rbd.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
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


def image(name, size=16 * MiB, backing=(), features=None):
    return VolumeDef(name=name, path="rbd:p1/" + name, key="p1/" + name, format="raw", capacity=size, allocation=0,
                     type="network", backing=list(backing), features=features)


def rbd_json(runner, *args, **kwargs):
    """One rbd call that prints JSON, as the backend makes it, answered with stdout (the real tool's shape)."""
    runner.expect(["rbd", "--id", "u1"] + list(args) + ["--format", "json"], stdout=kwargs.get("stdout", "[]\n"))


def rbd_call(runner, *args, **kwargs):
    runner.expect(["rbd", "--id", "u1"] + list(args), rc=kwargs.get("rc", 0), stderr=kwargs.get("stderr", ""))


def expect_contents(runner, images, trash="[]", namespaces='[{"name":"ns1"}]', ns_images="[]", ns_trash="[]"):
    """The listing of a whole pool's purge: its namespaces, each one's images, then each one's trash."""
    rbd_json(runner, "namespace", "ls", "p1", stdout=namespaces)
    rbd_json(runner, "ls", "p1", stdout=images)
    if namespaces != "[]":
        rbd_json(runner, "ls", "--namespace", "ns1", "p1", stdout=ns_images)
    rbd_json(runner, "trash", "ls", "--all", "p1", stdout=trash)
    if namespaces != "[]":
        rbd_json(runner, "trash", "ls", "--all", "--namespace", "ns1", "p1", stdout=ns_trash)


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
    backend, runner = backend_with(fake_runner, "rbd/purge_refused")
    runner.steps[1:] = []  # the probe's rbd ls; then the whole pool's listing
    expect_contents(runner, '["a"]', trash='[{"id":"10c0b14bd01","name":"b"}]', ns_images='["c"]')
    with pytest.raises(StorageError) as caught:
        backend.plan_delete(pool_def())
    assert str(caught.value) == ("pool 'guests': Ceph pool 'p1' still holds 3 images (1 in the trash) (a, ns1/c, "
                                 "b (in the trash)); delete them, or set purge_volumes: true to delete them with the pool")


def test_purge_deletes_the_pool_after_checking_again(fake_runner):
    backend, runner = backend_with(fake_runner, "rbd/purge_pool")
    runner.steps[1:-1] = []  # the probe's rbd ls, ..., the delete
    delete = runner.steps.pop()
    expect_contents(runner, "[]", namespaces="[]")
    actions = backend.plan_delete(pool_def())
    assert [action.description for action in actions] == ["delete Ceph pool 'p1'"]
    expect_contents(runner, "[]", namespaces="[]")
    runner.steps.append(delete)
    applied(actions)
    assert runner.calls[-1] == ["ceph", "--id", "u1", "osd", "pool", "rm", "p1", "p1", "--yes-i-really-really-mean-it"]


def test_purge_of_a_namespace_removes_it_alone(fake_runner):
    backend, runner = backend_with(fake_runner)
    for argv in (["ls", "--namespace", "ns1", "p1"], ["ls", "--namespace", "ns1", "p1"],
                 ["trash", "ls", "--all", "--namespace", "ns1", "p1"]) * 1:
        runner.expect(["rbd", "--id", "u1"] + argv + ["--format", "json"], stdout="[]\n")
    actions = backend.plan_delete(pool_def(namespace="ns1"))
    assert [action.description for action in actions] == ["remove RBD namespace 'ns1' from Ceph pool 'p1'"]


WATCHER = '{"watchers":[{"address":"127.0.0.1:0/2883728944","client":4243,"cookie":139785146484640}]}'


def purging(fake_runner):
    backend, runner = backend_with(fake_runner)
    backend.settings["purge_volumes"] = True
    rbd_json(runner, "ls", "p1", stdout='["base"]')  # the probe
    return backend, runner


def test_purge_with_the_images_refused_while_one_is_open(fake_runner):
    backend, runner = purging(fake_runner)
    expect_contents(runner, '["base"]', namespaces="[]")
    rbd_json(runner, "status", "p1/base", stdout=WATCHER)
    with pytest.raises(StorageError) as caught:
        backend.plan_delete(pool_def())
    assert str(caught.value) == ("pool 'guests': cannot purge, image p1/base is open by client.4243 at "
                                 "127.0.0.1:0/2883728944; close it (stop the guest) first")


def test_purge_with_the_images_refused_for_a_clone_in_another_pool(fake_runner):
    backend, runner = purging(fake_runner)
    expect_contents(runner, '["base"]', namespaces="[]")
    rbd_json(runner, "status", "p1/base", stdout='{"watchers":[]}')
    rbd_json(runner, "children", "--all", "p1/base", stdout='[{"pool":"p2","pool_namespace":"","image":"kid",'
             '"id":"10c8a3f2b1e0","trash":false},{"pool":"p1","pool_namespace":"","image":"sibling","id":"10c9","trash":false}]')
    with pytest.raises(StorageError) as caught:
        backend.plan_delete(pool_def())
    assert str(caught.value) == ("pool 'guests': cannot purge, image p1/base has clones outside it (p2/kid); delete or "
                                 "flatten them first")


def expect_checked(runner, namespace_images, children="[]"):
    expect_contents(runner, '["base"]', namespaces='[{"name":"ns1"}]', ns_images=namespace_images,
                    ns_trash='[{"id":"10d1","name":"old"}]')
    for spec in ["p1/base"] + ["p1/ns1/" + name for name in json.loads(namespace_images)]:
        rbd_json(runner, "status", spec, stdout='{"watchers":[]}')
        rbd_json(runner, "children", "--all", spec, stdout=children)


def test_purge_with_the_images_names_the_count_and_checks_again(fake_runner):
    backend, runner = purging(fake_runner)
    expect_checked(runner, '["disk"]')
    actions = backend.plan_delete(pool_def())
    assert [action.description for action in actions] == ["delete Ceph pool 'p1' and its 3 images (1 in the trash)"]
    # the apply asks again: an image opened since the plan stops it, with nothing deleted
    expect_contents(runner, '["base"]', namespaces='[{"name":"ns1"}]', ns_images='["disk"]')
    rbd_json(runner, "status", "p1/base", stdout=WATCHER)
    with pytest.raises(StorageError) as caught:
        applied(actions)
    assert "image p1/base is open by client.4243" in str(caught.value)
    assert not any(call[:2] == ["ceph", "--id"] and "rm" in call for call in runner.calls)
    expect_checked(runner, '["disk"]')
    runner.expect(["ceph", "--id", "u1", "osd", "pool", "rm", "p1", "p1", "--yes-i-really-really-mean-it"])
    applied(actions)


def test_purge_of_a_namespace_with_its_images_clones_first(fake_runner):
    backend, runner = backend_with(fake_runner)
    backend.settings["purge_volumes"] = True
    pool = pool_def(namespace="ns1")
    inner = '[{"pool":"p1","pool_namespace":"ns1","image":"child","id":"10e2","trash":false}]'

    def contents():
        rbd_json(runner, "ls", "--namespace", "ns1", "p1", stdout='["base","child"]')
        rbd_json(runner, "trash", "ls", "--all", "--namespace", "ns1", "p1", stdout='[{"id":"10d1","name":"old"}]')
        for name, children in (("base", inner), ("child", "[]")):
            rbd_json(runner, "status", "p1/ns1/" + name, stdout='{"watchers":[]}')
            rbd_json(runner, "children", "--all", "p1/ns1/" + name, stdout=children)

    rbd_json(runner, "ls", "--namespace", "ns1", "p1", stdout='["base","child"]')  # the probe
    contents()
    actions = backend.plan_delete(pool)
    assert [action.description for action in actions] == [
        "remove RBD namespace 'ns1' and its 3 images (1 in the trash) from Ceph pool 'p1'"]
    contents()
    # first round: child (no clones of its own) goes, base waits for it; then base, its protected snapshot first
    rbd_json(runner, "children", "--all", "p1/ns1/base", stdout=inner)
    rbd_json(runner, "children", "--all", "p1/ns1/child", stdout="[]")
    rbd_json(runner, "snap", "ls", "p1/ns1/child", stdout='[{"id":5,"name":"mine","size":8388608,"protected":"false"}]')
    rbd_call(runner, "snap", "purge", "--no-progress", "p1/ns1/child")
    rbd_call(runner, "rm", "--no-progress", "p1/ns1/child")
    rbd_json(runner, "children", "--all", "p1/ns1/base", stdout="[]")
    rbd_json(runner, "snap", "ls", "p1/ns1/base", stdout='[{"id":4,"name":"gold","size":8388608,"protected":"true"}]')
    rbd_call(runner, "snap", "unprotect", "p1/ns1/base@gold")
    rbd_call(runner, "snap", "purge", "--no-progress", "p1/ns1/base")
    rbd_call(runner, "rm", "--no-progress", "p1/ns1/base")
    rbd_call(runner, "trash", "rm", "--no-progress", "--force", "p1/ns1/10d1")
    rbd_call(runner, "namespace", "remove", "--pool", "p1", "--namespace", "ns1")
    applied(actions)


def test_a_failed_removal_in_a_namespace_names_what_was_done(fake_runner):
    backend, runner = backend_with(fake_runner)
    backend.settings["purge_volumes"] = True
    pool = pool_def(namespace="ns1")
    for _round in range(3):  # the probe's listing; the plan's; the apply's
        rbd_json(runner, "ls", "--namespace", "ns1", "p1", stdout='["a","b"]')
        if _round:
            rbd_json(runner, "trash", "ls", "--all", "--namespace", "ns1", "p1")
            for name in ("a", "b"):
                rbd_json(runner, "status", "p1/ns1/" + name, stdout='{"watchers":[]}')
                rbd_json(runner, "children", "--all", "p1/ns1/" + name)
    actions = backend.plan_delete(pool)
    for name in ("a", "b"):
        rbd_json(runner, "children", "--all", "p1/ns1/" + name)
    rbd_json(runner, "snap", "ls", "p1/ns1/a")
    rbd_call(runner, "rm", "--no-progress", "p1/ns1/a")
    rbd_json(runner, "snap", "ls", "p1/ns1/b")
    rbd_call(runner, "rm", "--no-progress", "p1/ns1/b", rc=16,
             stderr="rbd: error: image still has watchers\nThis means the image is still open or the client using it crashed.")
    with pytest.raises(StorageError) as caught:
        applied(actions)
    assert str(caught.value).startswith("pool 'guests': removed 1 of 2 images of RBD namespace 'ns1', then: ")
    assert "image still has watchers" in str(caught.value)


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


# -- image features -----------------------------------------------------------------------------------

INFO = ('{"name":"v1","id":"103168630a0a","size":16777216,"objects":4,"order":22,"object_size":4194304,'
        '"snapshot_count":0,"format":2,"features":%s,"op_features":[],"flags":[]}')


def test_a_new_image_gets_the_features_asked_for_or_cephs_default(fake_runner):
    backend, runner = backend_with(fake_runner)
    pool = pool_def()
    rbd_call(runner, "create", "--size", "%dB" % MiB, "--image-feature", "layering,exclusive-lock", "p1/v1")
    applied(backend.plan_create_volume(pool, VolumeSpec(name="v1", format="raw", capacity=MiB,
                                                        features=("exclusive-lock", "layering"))))
    rbd_call(runner, "create", "--size", "%dB" % MiB, "--image-feature", "", "p1/v2")
    applied(backend.plan_create_volume(pool, VolumeSpec(name="v2", format="raw", capacity=MiB, features=())))
    rbd_call(runner, "create", "--size", "%dB" % MiB, "--image-feature",
             "layering,exclusive-lock,object-map,fast-diff,deep-flatten", "p1/v3")
    applied(backend.plan_create_volume(pool, VolumeSpec(name="v3", format="raw", capacity=MiB)))


@pytest.mark.parametrize("features, words", [
    (("object-map", "fast-diff"), "object-map needs exclusive-lock"),
    (("journaling",), "journaling needs exclusive-lock"),
    (("exclusive-lock", "object-map"), "object-map and fast-diff go together"),
    (("exclusive-lock", "fast-diff"), "fast-diff needs object-map"),
    (("striping",), "striping is not an image feature set here"),
])
def test_features_against_cephs_rules_are_refused_before_anything_runs(quiet_runner, features, words):
    backend = RbdBackend(quiet_runner)
    for plan in (lambda: backend.plan_create_volume(pool_def(), VolumeSpec(name="v1", format="raw", capacity=MiB,
                                                                           features=features)),
                 lambda: backend.plan_volume_features(pool_def(), image("v1", features=("layering",)), features)):
        with pytest.raises(ValidationError) as caught:
            plan()
        assert caught.value.option == "features" and words in str(caught.value)


def test_features_are_enabled_and_disabled_as_rbd_can(fake_runner):
    backend, runner = backend_with(fake_runner)
    pool = pool_def()
    have = image("v1", features=("layering", "exclusive-lock", "deep-flatten", "striping"))
    want = ("layering", "exclusive-lock", "object-map", "fast-diff", "journaling")
    actions = backend.plan_volume_features(pool, have, want)
    assert [action.description for action in actions] == [
        "change features of volume 'v1' (enable object-map, fast-diff, journaling; disable deep-flatten; deep-flatten "
        "cannot be enabled again)"]
    # the apply reads the image again: journaling was enabled meanwhile, by somebody else
    rbd_json(runner, "info", "p1/v1", stdout=INFO % '["layering","exclusive-lock","deep-flatten","journaling","striping"]')
    rbd_call(runner, "feature", "disable", "p1/v1", "deep-flatten")
    rbd_call(runner, "feature", "enable", "p1/v1", "object-map", "fast-diff")
    rbd_call(runner, "object-map", "rebuild", "--no-progress", "p1/v1")
    applied(actions)
    assert runner.timeouts[-1] == 24 * 3600  # the rebuild reads every object
    # features of the image that the option does not set (striping) are kept; nothing to do
    assert backend.plan_volume_features(pool, image("v1", features=want + ("striping",)), want) == []
    # and off again, in the order rbd needs (journaling and the map before the lock)
    rbd_json(runner, "info", "p1/v1", stdout=INFO % '["layering","exclusive-lock","object-map","fast-diff","journaling"]')
    rbd_call(runner, "feature", "disable", "p1/v1", "journaling", "fast-diff", "object-map", "exclusive-lock")
    applied(backend.plan_volume_features(pool, image("v1", features=want), ("layering",)))


@pytest.mark.parametrize("have, want, words", [
    (("exclusive-lock",), ("layering", "exclusive-lock"), "volume 'v1' was created without layering, and Ceph sets it "
                                                          "only when an image is created"),
    (("layering",), ("layering", "deep-flatten"), "was created without deep-flatten"),
    (("layering", "exclusive-lock"), ("exclusive-lock",), "volume 'v1' has layering, which Ceph never takes off an image"),
])
def test_what_rbd_cannot_change_is_refused_naming_the_feature(quiet_runner, have, want, words):
    with pytest.raises(ValidationError) as caught:
        RbdBackend(quiet_runner).plan_volume_features(pool_def(), image("v1", features=have), want)
    assert caught.value.option == "features" and words in str(caught.value)


def test_a_clone_gets_its_features_and_needs_layering(fake_runner):
    backend, runner = backend_with(fake_runner)
    source = CloneSource(path="rbd:p1/base", format="raw", capacity=16 * MiB)
    for _twice in range(2):
        rbd_json(runner, "info", "p1/base", stdout=INFO % '["layering","exclusive-lock"]')
    with pytest.raises(ValidationError) as caught:
        backend.plan_create_volume(pool_def(), VolumeSpec(name="c1", format="raw", clone=source, features=("exclusive-lock",)))
    assert str(caught.value) == "features=['exclusive-lock']: a copy-on-write clone needs layering"
    actions = backend.plan_create_volume(pool_def(), VolumeSpec(name="c1", format="raw", clone=source, features=("layering",)))
    rbd_json(runner, "snap", "ls", "p1/base")
    rbd_call(runner, "snap", "create", "--no-progress", "p1/base@poolcraft-clone-c1")
    rbd_call(runner, "snap", "protect", "p1/base@poolcraft-clone-c1")
    rbd_call(runner, "clone", "--image-feature", "layering", "p1/base@poolcraft-clone-c1", "p1/c1")
    assert applied(actions) == ["cow"]


def test_get_volume_reads_the_features(fake_runner):
    backend, runner = backend_with(fake_runner)
    rbd_json(runner, "info", "p1/v1", stdout=INFO % '["layering","exclusive-lock"]')
    found = backend.get_volume(pool_def(), "v1")
    assert found.features == ("layering", "exclusive-lock") and found.allocation == found.capacity == 16 * MiB


def test_volume_options_of_the_type(quiet_runner):
    backend = RbdBackend(quiet_runner)
    assert backend.volume_formats == ("raw",) and backend.volume_options == ("features",)
    assert backend.clone_format("qcow2") == "raw"
    with pytest.raises(ValidationError):
        backend.refuse_volume_permissions(Permissions(mode=0o600))
    assert backend.plan_stop(pool_def()) == [] and _rbd.TEMP_PREFIX.startswith(".")
