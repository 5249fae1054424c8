# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the definition store holds, as the modules see it on a real store in scratch:

1. A definition that cannot be used (damaged XML, no uuid, a malformed mode or port, a type this
   collection does not know) beside good pools: storage_device_facts reports it as unusable by
   name and reports the others; the good pools' tasks and volume lookups by path and key work;
   only tasks on that very pool are refused, in one line naming the pool, the file and why.
2. A running pool whose directory was removed by hand: the facts report it stopped, without
   sizes, and the other pools still; tasks on it do not crash.
3. A refused task, and a task with nothing to do, on a store that does not exist yet leave no
   directory, lock or file behind, in check mode and for real.
4. A task that fails after it wrote the definition leaves no definition behind (the pool manager
   rolls back what the store wrote).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import pytest

import fingerprints
import harness

BROKEN_UUID = "7c3e7ef2-9d1b-4f5e-8a6b-2f1c3d4e5f60"
# case: (the file's text, what the message and the facts say of it)
BROKEN = {
    "no uuid": ("<pool type='dir'><name>broken</name><target><path>/srv/broken</path></target></pool>",
                "has no uuid"),
    "bad xml": ("<pool type='dir'><name>broken</name><uuid>%s</uuid" % BROKEN_UUID, "is not valid XML"),
    "bad mode": ("<pool type='dir'><name>broken</name><uuid>%s</uuid><target><path>/srv/broken</path>"
                 "<permissions><mode>0999</mode></permissions></target></pool>" % BROKEN_UUID,
                 "has a malformed target/permissions/mode '0999'"),
    "unknown type": ("<pool type='sheepdog'><name>broken</name><uuid>%s</uuid><source><name>s</name></source></pool>"
                     % BROKEN_UUID, "has type 'sheepdog', which this collection does not know"),
    "bad port": ("<pool type='dir'><name>broken</name><uuid>%s</uuid><source><host name='nfs' port='two'/></source>"
                 "<target><path>/srv/broken</path></target></pool>" % BROKEN_UUID,
                 "has a malformed source/host port 'two'"),
}


class Store(object):
    """Module calls on the test's own store, and the pools directory under scratch."""

    def __init__(self, scratch, store):
        self.scratch = scratch
        self.store = store
        self.pools = os.path.join(scratch, "pools")

    def run(self, module, check=False, **args):
        return harness.run_module(module, dict(self.store, **args), check=check)

    def make_pool(self, name, **extra):
        args = dict(name=name, type="dir", target={"path": os.path.join(self.pools, name)}, build=True, state="running")
        args.update(extra)
        made = self.run("storage_pool", **args)
        assert made.changed and not made.failed, made
        return made["pool"]

    def make_volume(self, pool, name):
        made = self.run("storage_volume", pool=pool, name=name, capacity="1M", format="raw")
        assert made.changed and not made.failed, made
        return made["volume"]

    def pools_facts(self):
        facts = self.run("storage_device_facts", gather_subset=["pools"])
        assert not facts.failed, facts.msg
        return facts["ansible_facts"]["storage_pools"]

    def fingerprint(self):
        return {"files": fingerprints.tree(self.scratch)}

    def refused(self, module, args, *expect):
        return harness.refused(module, dict(self.store, **args), self.fingerprint, *expect)

    def unchanged(self, module, args):
        return harness.unchanged(module, dict(self.store, **args), self.fingerprint)


@pytest.fixture
def on_store(scratch, store):
    return Store(scratch, store)


# -- 1. a definition that cannot be used, beside good pools --------------------------------------

@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_definition_stops_no_other_pool(on_store, case):
    good = on_store.make_pool("good")
    on_store.make_pool("other", state="stopped")
    volume = on_store.make_volume("good", "disk.img")
    text, reason = BROKEN[case]
    path = os.path.join(on_store.store["config_dir"], "broken.xml")
    with open(path, "w") as handle:
        handle.write(text)

    # the facts report it by name, and every other pool as before
    pools = on_store.pools_facts()
    assert sorted(pools) == ["broken", "good", "other"]
    assert pools["broken"]["state"] == "unusable" and pools["broken"]["definition"] == path
    assert pools["broken"]["reason"].startswith(reason), pools["broken"]
    assert pools["good"]["state"] == "running" and [vol["name"] for vol in pools["good"]["volumes"]] == ["disk.img"]
    assert pools["other"]["state"] == "stopped"

    # the good pools' tasks, by name, by uuid, and volumes found by pool, path and key
    on_store.unchanged("storage_pool", dict(name="good", state="running"))
    on_store.unchanged("storage_pool", dict(uuid=good["uuid"], state="running"))
    on_store.unchanged("storage_pool", dict(name="other", state="stopped"))
    for lookup in (dict(pool="good", name="disk.img"), dict(path=volume["path"]), dict(key=volume["key"])):
        found = on_store.unchanged("storage_volume", dict(lookup, capacity="1M"))
        assert found["volume"]["path"] == volume["path"], found
    # a new pool beside it
    harness.converge("storage_pool", dict(on_store.store, name="new", type="dir", build=True, state="running",
                                          target={"path": os.path.join(on_store.pools, "new")}), on_store.fingerprint)

    # only tasks on that very pool are refused, naming the pool, the file and why
    for state in ("running", "stopped", "absent"):
        on_store.refused("storage_pool", dict(name="broken", state=state), "'broken'", path, reason)
    on_store.refused("storage_volume", dict(pool="broken", name="x.img", capacity="1M"), "'broken'", path, reason)


def test_facts_of_only_broken_definitions(on_store):
    os.makedirs(on_store.store["config_dir"])
    for number, case in enumerate(sorted(BROKEN)):
        with open(os.path.join(on_store.store["config_dir"], "b%d.xml" % number), "w") as handle:
            handle.write(BROKEN[case][0].replace("<name>broken</name>", "<name>b%d</name>" % number))
    pools = on_store.pools_facts()
    assert sorted(pools) == ["b%d" % number for number in range(len(BROKEN))]
    assert set(pool["state"] for pool in pools.values()) == set(["unusable"])


# -- 2. a pool whose directory was removed by hand -----------------------------------------------

def _remove_by_hand(on_store, name):
    shutil.rmtree(os.path.join(on_store.pools, name))


def test_facts_of_a_pool_whose_directory_was_removed(on_store):
    on_store.make_pool("gone")
    on_store.make_volume("gone", "disk.img")
    on_store.make_pool("kept")
    _remove_by_hand(on_store, "gone")
    pools = on_store.pools_facts()
    gone = pools["gone"]
    assert gone["state"] == "stopped"
    assert gone["reason"] == "target.path %s does not exist" % os.path.join(on_store.pools, "gone")
    assert (gone["capacity"], gone["allocation"], gone["available"], gone["volumes"]) == (None, None, None, [])
    assert pools["kept"]["state"] == "running" and pools["kept"]["capacity"] > 0


def test_volume_lookups_beside_a_pool_whose_directory_was_removed(on_store):
    on_store.make_pool("gone")
    on_store.make_pool("kept")
    volume = on_store.make_volume("kept", "disk.img")
    _remove_by_hand(on_store, "gone")
    for lookup in (dict(path=volume["path"]), dict(key=volume["key"])):
        on_store.unchanged("storage_volume", dict(lookup, capacity="1M"))


def test_tasks_on_a_pool_whose_directory_was_removed(on_store):
    on_store.make_pool("gone")
    _remove_by_hand(on_store, "gone")
    target = os.path.join(on_store.pools, "gone")
    # stopping it and reading it back work; starting it needs a build, as for any pool not built
    stopped = on_store.run("storage_pool", name="gone", state="stopped")
    assert not stopped.failed, stopped.msg
    assert stopped["pool"]["state"] == "stopped" and stopped["pool"]["capacity"] is None
    on_store.refused("storage_pool", dict(name="gone", state="running"), "'gone'", target, "build")
    rebuilt = on_store.run("storage_pool", name="gone", state="running", build=True)
    assert not rebuilt.failed and rebuilt.changed, rebuilt
    assert os.path.isdir(target)


@pytest.mark.parametrize("state", ["present", "running"])
def test_the_first_task_on_a_running_pool_whose_directory_was_removed(on_store, state):
    on_store.make_pool("gone")
    _remove_by_hand(on_store, "gone")
    target = os.path.join(on_store.pools, "gone")
    if state == "running":
        on_store.refused("storage_pool", dict(name="gone", state="running"), "'gone'", target, "build")
        return
    seen = on_store.run("storage_pool", name="gone", state="present")
    assert not seen.failed, seen.msg
    assert seen["pool"]["state"] == "stopped" and seen["pool"]["capacity"] is None


# -- 3. nothing is left behind on a store that does not exist yet --------------------------------

REFUSED_ON_A_FRESH_STORE = [
    ("storage_pool", dict(name="p", type="dir", target={"path": "POOLS/p"}, state="running"), ["target.path", "build"]),
    ("storage_pool", dict(name="p", type="nosuch", target={"path": "POOLS/p"}), ["type", "nosuch"]),
    ("storage_pool", dict(name="a/b", type="dir", target={"path": "POOLS/p"}, build=True), ["name=", "'a/b'"]),
    ("storage_volume", dict(pool="nothere", name="v.img", capacity="1M"), ["pool=", "'nothere'"]),
    ("storage_volume", dict(path="/var/tmp/nothere/v.img", capacity="1M"), ["path=", "/var/tmp/nothere/v.img"]),
]


@pytest.mark.parametrize("module, args, expect", REFUSED_ON_A_FRESH_STORE,
                         ids=["%s %s" % (case[0], "/".join(case[2])) for case in REFUSED_ON_A_FRESH_STORE])
def test_a_refused_task_on_a_fresh_store_leaves_nothing(on_store, module, args, expect):
    os.makedirs(on_store.pools)  # the directory pools would go in, but no store at all
    if "target" in args:
        args = dict(args, target={"path": args["target"]["path"].replace("POOLS", on_store.pools)})
    expect = [text.replace("POOLS", on_store.pools) for text in expect]
    before = fingerprints.tree(on_store.scratch)
    on_store.refused(module, args, *expect)
    assert fingerprints.tree(on_store.scratch) == before
    assert not os.path.exists(on_store.store["config_dir"]) and not os.path.exists(on_store.store["runtime_dir"])


def test_a_task_with_nothing_to_do_on_a_fresh_store_leaves_nothing(on_store):
    before = fingerprints.tree(on_store.scratch)
    on_store.unchanged("storage_pool", dict(name="p", state="absent"))
    facts = on_store.pools_facts()
    assert facts == {}
    assert fingerprints.tree(on_store.scratch) == before


def test_a_refused_task_leaves_an_existing_store_as_it_was(on_store):
    """Beside a pool: the lock file and directories the store has are kept."""
    on_store.make_pool("good")
    on_store.refused("storage_pool", dict(name="p", type="dir", target={"path": os.path.join(on_store.pools, "p")},
                                          state="running"), "build")
    assert os.path.isfile(os.path.join(on_store.store["runtime_dir"], ".lock"))


# -- 4. a task that fails after writing the definition -------------------------------------------

@pytest.mark.parametrize("target", ["a file", "a name too long"])
def test_a_failed_build_leaves_no_definition(on_store, target):
    os.makedirs(on_store.pools)
    path = os.path.join(on_store.pools, "file")
    with open(path, "w") as handle:
        handle.write("not a directory")
    if target == "a name too long":
        path = os.path.join(on_store.pools, "x" * 300)
    before = fingerprints.tree(on_store.scratch)
    failed = on_store.run("storage_pool", name="p", type="dir", target={"path": path}, build=True, state="running")
    harness.assert_clean_failure(failed, path)
    assert fingerprints.tree(on_store.scratch) == before
