# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CHAP secrets through a real ansible-playbook run at -vvv: what a user sees in a CI log.
An iscsi-direct pool with mutual CHAP is defined and started (check mode with diff, then real,
then again), its LUN read, a pool with a wrong secret refused, and the pool removed, with secrets of this run only, read from a 0600
vars file. Neither secret may appear anywhere in the play's output (module arguments are printed at
-vvv: no_log must hide them), nor in a file the play left readable by others."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import secrets
import subprocess
import sys

import tgt_target
from test_storage_pool_iscsi_direct import INITIATOR
from tgt_target import MIB

from ansible_collections.poolcraft.storage.plugins.module_utils import _model

tgt = tgt_target.tgt
PLAY_SECONDS = 300


def collections_root():
    # .../ansible_collections/poolcraft/storage/plugins/module_utils/_model.py -> the dir above ansible_collections
    path = os.path.abspath(_model.__file__)
    for _level in range(6):
        path = os.path.dirname(path)
    return path


def playbook(store, daemon, target):
    pool = {"name": "chap_play", "type": "iscsi-direct",
            "source": {"host": daemon.host, "port": daemon.port, "target": target.iqn, "initiator": INITIATOR,
                       "auth": {"username": "play-user", "secret": "{{ chap_secret }}",
                                "mutual_username": "play-target", "mutual_secret": "{{ chap_mutual_secret }}"}},
            "state": "running"}
    wrong = dict(pool, name="chap_wrong", source=dict(pool["source"], auth=dict(pool["source"]["auth"], secret="{{ chap_wrong }}")))
    defaults = {"group/poolcraft.storage.storage": store}
    return [{
        "hosts": "localhost", "connection": "local", "gather_facts": False, "vars_files": ["secrets.yml"],
        "module_defaults": defaults,
        "tasks": [
            {"name": "check mode", "poolcraft.storage.storage_pool": pool, "check_mode": True, "diff": True,
             "register": "checked"},
            {"name": "real", "poolcraft.storage.storage_pool": pool, "diff": True, "register": "real"},
            {"name": "again", "poolcraft.storage.storage_pool": pool, "diff": True, "register": "again"},
            {"name": "the LUN", "poolcraft.storage.storage_volume": {"pool": "chap_play", "name": "unit:0:0:1"},
             "register": "lun"},
            {"name": "a wrong secret, refused", "poolcraft.storage.storage_pool": wrong, "register": "refused",
             "ignore_errors": True},
            {"name": "gone", "poolcraft.storage.storage_pool": {"name": "chap_play", "state": "absent"}},
            {"name": "the contract", "ansible.builtin.assert": {"that": [
                "checked is changed", "real is changed", "again is not changed", "lun.volume.capacity == 8388608",
                "refused is failed and 'CHAP' in refused.msg",
                "real.pool.source.auth.secret == '********'", "real.pool.source.auth.mutual_secret == '********'"]}},
        ]}]


def test_no_secret_in_a_vvv_play(tgt, store, scratch):
    secret, mutual, wrong = ("play-%s" % secrets.token_urlsafe(18) for _index in range(3))
    daemon = tgt()
    target = daemon.add_target("iqn.2026-12.test.poolcraft:play", [8 * MIB], chap=("play-user", secret),
                               mutual=("play-target", mutual))
    vars_file = os.path.join(scratch, "secrets.yml")
    with open(os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump({"chap_secret": secret, "chap_mutual_secret": mutual, "chap_wrong": wrong}, handle)
    play = os.path.join(scratch, "play.yml")
    with open(play, "w") as handle:
        json.dump(playbook(store, daemon, target), handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=os.path.join(scratch, "ansible-tmp"),
               ANSIBLE_REMOTE_TEMP=os.path.join(scratch, "ansible-tmp"))
    ran = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", "-i", "localhost,",
                          play], cwd=scratch, env=env, capture_output=True, text=True, timeout=PLAY_SECONDS, check=False)
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output[-6000:]
    assert "play-user" in output  # the run printed its module arguments: what the check below reads
    for name, value in (("secret", secret), ("mutual_secret", mutual), ("wrong secret", wrong)):
        assert value not in output, "the CHAP %s is in the -vvv output" % name
    for top, _dirs, names in os.walk(scratch):
        for name in names:
            path = os.path.join(top, name)
            if path == vars_file or os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                data = handle.read()
            if any(value.encode() in data for value in (secret, mutual, wrong)):
                assert not os.stat(path).st_mode & 0o077, "%s holds a secret and others may read it" % path
    assert daemon.fingerprint()["sessions"] == {target.iqn: 0}
