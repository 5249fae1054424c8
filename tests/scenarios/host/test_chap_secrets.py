# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CHAP secrets of iscsi-direct pools are nowhere but where they must be. Every CHAP scenario
runs with secrets of its own, random: one-way and mutual CHAP pools defined, started, listed,
stopped and undefined, a wrong secret and a wrong mutual secret refused, a cloud image uploaded into
a LUN and a LUN wiped (both through qemu-img). Then no secret may be in any module result or diff,
in any argv the runner executed (Runner.run is wrapped), or in any file under the test's scratch
directory (the store's config and runtime directories, the target's LUNs, tgtd's log), but the
store's own secret file, which must be 0600 while it exists; and qemu-img's private directory is
gone. The environment is where they go: the runner saw them there, under libiscsi's names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import secrets
import stat

import pytest

import harness
import tgt_target
from tgt_target import MIB
from test_storage_pool_iscsi_direct import fingerprint, pool_args
from test_storage_volume_iscsi_direct import make_image, stored_definition

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import backend_for
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner

tgt = tgt_target.tgt


class Watched(object):
    """Every argv and environment Runner.run got, while the test runs."""

    def __init__(self, monkeypatch):
        self.argvs, self.envs = [], []
        real = Runner.run
        watched = self

        def run(runner, argv, data=None, env=None, check=True, timeout=None):
            watched.argvs.append([str(arg) for arg in argv])
            watched.envs.append(dict(env or {}))
            return real(runner, argv, data=data, env=env, check=check, timeout=timeout)
        monkeypatch.setattr(Runner, "run", run)


def fresh_secret():
    return "chap-%s" % secrets.token_urlsafe(18)


def files_under(root):
    for top, _dirs, names in os.walk(root):
        for name in names:
            yield os.path.join(top, name)


def holding(path, words):
    with open(path, "rb") as handle:
        data = handle.read()
    return [word for word in words if word.encode("utf-8") in data]


def test_no_chap_secret_anywhere(tgt, store, scratch, monkeypatch):
    watched = Watched(monkeypatch)
    one_way, mutual_initiator, mutual_target = fresh_secret(), fresh_secret(), fresh_secret()
    wrong, wrong_mutual = fresh_secret(), fresh_secret()
    every = [one_way, mutual_initiator, mutual_target, wrong, wrong_mutual]
    daemon = tgt()
    chap = daemon.add_target("iqn.2026-12.test.poolcraft:chap", [16 * MIB, 8 * MIB], chap=("pool-user", one_way))
    mutual = daemon.add_target("iqn.2026-12.test.poolcraft:mutual", [8 * MIB], chap=("mutual-user", mutual_initiator),
                               mutual=("target-user", mutual_target))
    results, secret_files = [], {}

    def keep(done):
        results.extend([done.check, done.real, done.again, done.recheck])
        for name in os.listdir(store["config_dir"]):
            if name.endswith(".secret"):
                path = os.path.join(store["config_dir"], name)
                secret_files[name] = stat.S_IMODE(os.stat(path).st_mode)

    # one-way CHAP: define and start, with the volumes listed and diffs
    one_way_args = pool_args(store, daemon, chap.iqn, name="chap", auth={"username": "pool-user", "secret": one_way},
                             state="running", list_volumes=True)
    keep(harness.converge("storage_pool", one_way_args, fingerprint(store, daemon)))
    # mutual CHAP
    mutual_auth = {"username": "mutual-user", "secret": mutual_initiator, "mutual_username": "target-user",
                   "mutual_secret": mutual_target}
    keep(harness.converge("storage_pool", pool_args(store, daemon, mutual.iqn, name="mutual", auth=mutual_auth,
                                                    state="running", list_volumes=True), fingerprint(store, daemon)))
    # refused: a wrong secret, a wrong mutual secret (check mode and for real, with diff)
    results.append(harness.refused("storage_pool", pool_args(store, daemon, chap.iqn, name="wrong",
                                                             auth={"username": "pool-user", "secret": wrong}, state="running"),
                                   fingerprint(store, daemon), "CHAP authentication failed", diff=True))
    results.append(harness.refused("storage_pool", pool_args(store, daemon, mutual.iqn, name="wrong-mutual",
                                                             auth=dict(mutual_auth, mutual_secret=wrong_mutual), state="running"),
                                   fingerprint(store, daemon), "failed mutual CHAP", diff=True))
    # a volume read, a cloud image uploaded into a LUN (qemu-img with the secret object)
    results.append(harness.unchanged("storage_volume", dict(store, pool="chap", name="unit:0:0:2"), fingerprint(store, daemon)))
    image, _data = make_image(scratch)
    keep(harness.converge("storage_volume", dict(store, pool="chap", name="unit:0:0:1", clone_from={"path": image}),
                          fingerprint(store, daemon)))
    # a LUN wiped (the backend's plan: storage_volume cannot ask for it yet)
    backend = backend_for("iscsi-direct", Runner())
    definition = stored_definition(store, "chap")
    for action in backend.plan_wipe_volume(definition, backend.get_volume(definition, "unit:0:0:2"), "zero"):
        action.apply()
    # stopped and undefined
    for name, args in (("chap", one_way_args), ("mutual", None)):
        keep(harness.converge("storage_pool", dict(store, name=name, state="stopped"), fingerprint(store, daemon)))
        keep(harness.converge("storage_pool", dict(store, name=name, state="absent"), fingerprint(store, daemon)))

    # -- where the secrets are not
    assert secret_files == {"chap.secret": 0o600, "mutual.secret": 0o600}, secret_files
    shown = json.dumps(results)
    assert [word for word in every if word in shown] == [], "a secret is in a module result or diff"
    assert all("diff" in result for result in results if result.get("changed") or result.get("failed") is False), \
        "some results carry no diff to search"
    in_argv = [argv for argv in watched.argvs if any(word in arg for word in every for arg in argv)]
    assert in_argv == [], "a secret is in the argv of %r" % ([argv[0] for argv in in_argv],)
    tools = set(os.path.basename(argv[0]) for argv in watched.argvs)
    assert {"iscsi-ls", "iscsi-inq", "iscsi-readcapacity16", "qemu-img"} <= tools, tools
    found = dict((path, holding(path, every)) for path in files_under(scratch))
    assert dict((path, words) for path, words in found.items() if words) == {}, "a secret is in a file"
    assert not [name for name in os.listdir(os.environ.get("TMPDIR", "/tmp")) if name.startswith("poolcraft-iscsi-")]

    # -- where they are: libiscsi's environment variables, and nowhere else in any environment
    passed = set()
    for env in watched.envs:
        for key, value in env.items():
            if value in every:
                assert key in ("LIBISCSI_CHAP_PASSWORD", "LIBISCSI_CHAP_TARGET_PASSWORD"), key
                passed.add(value)
    assert passed == set(every), "the runner never passed some secret: the scenarios did not run as meant"


@pytest.mark.parametrize("option", ["secret", "mutual_secret"])
def test_a_secret_with_a_comma_or_a_percent_sign(tgt, store, option, monkeypatch):
    # libiscsi's URL syntax and qemu's option strings give "%", ":", "@" and "," a meaning: none of
    # them may reach either
    watched = Watched(monkeypatch)
    secret = "a,b%c:d@e=f " + secrets.token_hex(4)
    daemon = tgt()
    chap = ("pool-user", secret if option == "secret" else "one-way-" + secrets.token_hex(6))
    target = daemon.add_target("iqn.2026-12.test.poolcraft:odd", [8 * MIB], chap=chap,
                               mutual=("target-user", secret) if option == "mutual_secret" else None)
    auth = {"username": "pool-user", "secret": chap[1]}
    if option == "mutual_secret":
        auth.update(mutual_username="target-user", mutual_secret=secret)
    done = harness.converge("storage_pool", pool_args(store, daemon, target.iqn, auth=auth, state="running", list_volumes=True),
                            fingerprint(store, daemon))
    assert done.real["pool"]["volume_count"] == 1
    assert secret not in json.dumps([done.check, done.real, done.again, done.recheck])
    assert not [argv for argv in watched.argvs if any(secret in arg for arg in argv)]
