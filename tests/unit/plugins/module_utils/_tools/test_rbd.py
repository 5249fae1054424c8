# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_rbd: the Ceph tools for one pool's cluster, against what the real rbd, rados, ceph and qemu-img
printed on a one-node cluster (fixtures/rbd/*.json, recorded by fixtures/record_rbd.py): the conf and
keyring each call gets (private, 0600, gone after), the parsers, and each failure as one line of
its kind (no pool, no namespace, a wrong key, no monitor, OSDs down, watchers, snapshots), with
every call under a deadline and the key in no argv and no message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Auth, Host, PoolSource
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import CommandTimeout
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _rbd
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._rbd import (
    DATA_TIMEOUT, Ceph, CephUnreachable, ImageBusy, NoSuchPool)

KEY = "AQDXvA9rpY7iIhAAuM8XotFsQJ3HHhZkoRX6GA=="
TOOLS = ("rbd", "rados", "ceph", "qemu-img")


def source(port=3300, **changes):
    fields = dict(name="p1", hosts=(Host("127.0.0.1", port),), auth=Auth("u1", KEY, type="ceph"))
    fields.update(changes)
    return PoolSource(**fields)


class Watched(object):
    """A FakeRunner whose run() also looks at the files each call was given (CEPH_CONF)."""

    def __init__(self, runner):
        self.runner = runner
        self.seen = []

    def has(self, name):
        return self.runner.has(name)

    def run(self, argv, data=None, env=None, check=True, timeout=None):
        conf = (env or {}).get("CEPH_CONF")
        home = os.path.dirname(conf)
        files = {}
        for name in sorted(os.listdir(home)):
            path = os.path.join(home, name)
            with open(path) as handle:
                files[name] = (stat.S_IMODE(os.stat(path).st_mode), handle.read())
        self.seen.append({"home": home, "home_mode": stat.S_IMODE(os.stat(home).st_mode), "files": files, "env": env})
        return self.runner.run(argv, data=data, env=env, check=check, timeout=timeout)


def tools(fake_runner, *transcripts):
    runner = fake_runner(*transcripts)
    runner.commands.update(TOOLS)
    return runner


def ceph_of(runner, **changes):
    return Ceph(runner, source(**changes), "rbd pool 'guests'")


def test_each_call_gets_a_private_conf_and_keyring_removed_after(fake_runner):
    watched = Watched(tools(fake_runner, "rbd/probe_pool_with_two_images"))
    assert ceph_of(watched).names("p1") == ["a", "b"]
    seen = watched.seen[0]
    assert seen["home_mode"] == 0o700 and not os.path.exists(seen["home"])
    assert sorted(seen["files"]) == ["ceph.conf", "keyring"]
    assert seen["files"]["keyring"] == (0o600, "[client.u1]\n\tkey = %s\n" % KEY)
    mode, conf = seen["files"]["ceph.conf"]
    assert mode == 0o600 and KEY not in conf
    assert conf.splitlines()[:6] == ["[global]", "mon_host = 127.0.0.1:3300", "keyring = %s/keyring" % seen["home"],
                                     "client_mount_timeout = 10", "rados_mon_op_timeout = 30", "rados_osd_op_timeout = 30"]
    assert seen["env"] == {"CEPH_CONF": os.path.join(seen["home"], "ceph.conf"), "CEPH_ARGS": ""}
    # the key is in no argv, and a metadata command has its deadline
    assert all(KEY not in " ".join(argv) for argv in watched.runner.calls)
    assert watched.runner.timeouts == [10 + 30 + 30 + _rbd.META_MARGIN]


def test_the_conf_names_every_monitor_and_takes_the_pools_client_options():
    pool = source(hosts=(Host("mon1.example.test"), Host("2001:db8::1", 6789), Host("10.0.0.3", 3300)),
                  config=(("rados_osd_op_timeout", "5"), ("rbd_cache", "false")))
    text = _rbd.conf_text(pool, "/k", 10)
    assert "mon_host = mon1.example.test,[2001:db8::1]:6789,10.0.0.3:3300\n" in text
    # a deadline the pool sets replaces ours; its other options follow
    assert "rados_osd_op_timeout = 30" not in text and text.endswith("rados_osd_op_timeout = 5\nrbd_cache = false\n")
    ceph = Ceph(None, pool, "x")
    assert (ceph.connect_timeout, ceph.osd_timeout, ceph.meta_timeout) == (10, 5, 10 + 5 + 30 + _rbd.META_MARGIN)
    # without auth: no keyring of ours, no --id (the host's own client.admin, as librados finds it)
    assert "keyring" not in _rbd.conf_text(source(auth=None), None)


def test_a_task_may_shorten_the_wait_for_a_monitor():
    assert Ceph(None, source(), "x", connect_timeout=3).connect_timeout == 3
    assert "client_mount_timeout = 3\n" in _rbd.conf_text(source(), None, 3)


def test_image_specs_and_qemus_name():
    assert _rbd.image_spec("p1", None, "v1") == "p1/v1"
    assert _rbd.image_spec("p1", "ns", "v1", "s") == "p1/ns/v1@s"
    ceph = ceph_of(None)
    # the user only: qemu finds the conf and the key through CEPH_CONF, never in its argv
    assert ceph.qemu_name("p1/v1") == "rbd:p1/v1:id=u1"
    assert ceph_of(None, auth=None).qemu_name("p1/v1") == "rbd:p1/v1"


def test_a_missing_tool_is_named_in_one_line(fake_runner):
    runner = fake_runner()
    with pytest.raises(StorageError) as caught:
        ceph_of(runner).names("p1")
    assert str(caught.value) == ("rbd pool 'guests': the 'rbd' command is missing on the managed host (install "
                                 "ceph-common)")


def test_no_pool_and_no_namespace(fake_runner):
    with pytest.raises(NoSuchPool) as caught:
        ceph_of(tools(fake_runner, "rbd/probe_no_pool")).names("nopool")
    assert str(caught.value) == ("rbd pool 'guests': error opening pool 'nopool': (2) No such file or directory; "
                                 "listing images failed: (2) No such file or directory")
    with pytest.raises(NoSuchPool) as caught:
        ceph_of(tools(fake_runner, "rbd/probe_no_namespace")).names("p1", "nons")
    assert "namespace 'nons' does not exist." in str(caught.value)


def test_a_wrong_key_is_told_from_an_unreachable_monitor(fake_runner):
    with pytest.raises(CephUnreachable) as caught:
        ceph_of(tools(fake_runner, "rbd/probe_wrong_key")).names("p1")
    assert str(caught.value) == ("rbd pool 'guests': the Ceph cluster at 127.0.0.1:3300 refused the key of client.u1 "
                                 "(a wrong key, or no such user)")


def test_no_monitor_says_what_its_port_does(fake_runner):
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    closed = listener.getsockname()[1]
    listener.close()
    with pytest.raises(CephUnreachable) as caught:
        ceph_of(tools(fake_runner, "rbd/probe_closed_port"), port=closed).names("p1")
    assert str(caught.value) == ("rbd pool 'guests': no Ceph monitor answered within 10 s (127.0.0.1:%d: connection "
                                 "refused)" % closed)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        port = silent.getsockname()[1]
        with pytest.raises(CephUnreachable) as caught:
            ceph_of(tools(fake_runner, "rbd/probe_closed_port"), port=port).names("p1")
        assert "(127.0.0.1:%d: accepts connections but does not answer as a monitor)" % port in str(caught.value)
    finally:
        silent.close()


def test_osds_down_is_the_operation_deadline(fake_runner):
    with pytest.raises(CephUnreachable) as caught:
        ceph_of(tools(fake_runner, "rbd/probe_osds_down"), config=(("rados_osd_op_timeout", "5"),)).names("p1")
    assert str(caught.value) == ("rbd pool 'guests': rbd ls: the Ceph cluster at 127.0.0.1:3300 did not answer within "
                                 "5 s (its OSDs are down, or the pool's placement groups are not active)")


def test_a_missed_deadline_is_one_line(fake_runner):
    runner = tools(fake_runner)

    def hang(argv, timeout=None, **_kwargs):
        raise CommandTimeout(argv, timeout)
    runner.run = hang
    with pytest.raises(CephUnreachable) as caught:
        ceph_of(runner).snapshots("p1/v1")
    assert str(caught.value) == ("rbd pool 'guests': rbd snap ls did not finish within 100 s and was stopped (the Ceph "
                                 "cluster at 127.0.0.1:3300 is too slow, or parts of it are down)")


def test_the_key_is_hidden_in_what_a_tool_says(fake_runner):
    runner = tools(fake_runner)
    runner.expect(["rbd", "--id", "u1", "ls", "p1", "--format", "json"], rc=5,
                  stderr="2026-12-02T06:43:37.375+0000 7fbda292a380 -1 auth: error parsing file: val=%s: bad\n" % KEY)
    with pytest.raises(StorageError) as caught:
        ceph_of(runner).names("p1")
    assert KEY not in str(caught.value) and "val=********" in str(caught.value)


def test_listing_opens_images_and_reads_their_parents(fake_runner):
    runner = tools(fake_runner)
    runner.load("rbd/listing")
    ceph = ceph_of(runner)
    used = ceph.disk_usage("p1")
    assert [(entry["name"], entry.get("snapshot"), entry["used_size"]) for entry in used] == [
        (".poolcraft-new-half", None, 0), ("base", "before", 8 * 2 ** 20), ("base", "poolcraft-clone-c1", 0),
        ("base", None, 0), ("c1", None, 4 * 2 ** 20)]
    images = ceph.images_long("p1")
    assert [entry["image"] for entry in images if "snapshot" not in entry] == [".poolcraft-new-half", "base", "c1"]
    assert images[-1]["parent"] == {"pool": "p1", "pool_namespace": "", "image": "base", "snapshot": "poolcraft-clone-c1"}
    assert ceph.info("p1/c1")["parent"]["overlap"] == 32 * 2 ** 20
    assert ceph.disk_usage("p1", image="c1")[0]["used_size"] == 4 * 2 ** 20
    assert ceph.info("p1/nope") is None
    assert ceph.watchers("p1/base") == []
    assert [child["image"] for child in ceph.children("p1/base")] == ["c1"]
    assert [snap["name"] for snap in ceph.snapshots("p1/base")] == ["before", "poolcraft-clone-c1"]
    with pytest.raises(ImageBusy) as caught:
        ceph.remove("p1/base")
    assert str(caught.value) == ("rbd pool 'guests': rbd rm failed: image has snapshots - these must be deleted with "
                                 "'rbd snap purge' before the image can be removed.")
    # listing and usage open every image: they have the data deadline, the rest the metadata one
    assert runner.timeouts[:2] == [DATA_TIMEOUT, DATA_TIMEOUT] and runner.timeouts[2] == 100


def test_watchers_and_rbds_refusal(fake_runner):
    ceph = ceph_of(tools(fake_runner, "rbd/watched"))
    watchers = ceph.watchers("p1/busy")
    assert len(watchers) == 1 and watchers[0]["address"].startswith("127.0.0.1:0/")
    with pytest.raises(ImageBusy) as caught:
        ceph.remove("p1/busy")
    # rbd's advice that follows is left out: one line
    assert str(caught.value).endswith("rbd rm failed: check_image_watchers: image has watchers - not removing; "
                                      "error: image still has watchers")


def test_a_qemu_img_failure_is_its_words(fake_runner, tmp_path):
    runner = tools(fake_runner)
    runner.load("rbd/copy_qcow2", skip=6)
    ceph = ceph_of(runner)
    with pytest.raises(StorageError) as caught:
        ceph.convert_into(str(tmp_path / "broken.qcow2"), "qcow2", "p1/.poolcraft-new-web2")
    assert str(caught.value) == ("rbd pool 'guests': qemu-img convert failed: qemu-img: Could not open '%s/broken.qcow2': "
                                 "Unsupported qcow2 version 0" % tmp_path)
    ceph.remove("p1/.poolcraft-new-web2")
    assert runner.timeouts == [DATA_TIMEOUT, DATA_TIMEOUT]


def test_statistics_without_a_mgr_read_as_none(fake_runner):
    usage, totals = ceph_of(tools(fake_runner, "rbd/refresh_no_mgr")).pool_usage("p1")
    assert usage == {} and totals["total_space"] == 0


def test_the_cluster_pools_and_sizes(fake_runner):
    ceph = ceph_of(tools(fake_runner, "rbd/discovery"))
    assert [(pool["pool_name"], sorted(pool["application_metadata"])) for pool in ceph.pools_detail()] == [
        ("guests", ["rbd"]), ("images", ["rbd"]), ("objects", ["rgw"])]
    assert [pool["name"] for pool in ceph.df()["pools"]] == ["guests", "images", "objects"]


def test_not_json_is_an_error(fake_runner):
    runner = tools(fake_runner)
    runner.expect(["rbd", "--id", "u1", "ls", "p1", "--format", "json"], stdout="rbd: something else\n")
    with pytest.raises(StorageError) as caught:
        ceph_of(runner).names("p1")
    assert str(caught.value) == "rbd pool 'guests': rbd ls printed no JSON: 'rbd: something else\\n'"


def test_permission_is_not_a_wrong_key(fake_runner):
    runner = tools(fake_runner)
    runner.expect(["ceph", "--id", "u1", "osd", "pool", "create", "p9"], rc=13,
                  stderr="Error EACCES: access denied\n")
    runner.expect(["rbd", "--id", "u1", "snap", "create", "--no-progress", "p1/v@s"], rc=1,
                  stderr="rbd: failed to create snapshot: (1) Operation not permitted\n")
    ceph = ceph_of(runner)
    with pytest.raises(StorageError) as caught:
        ceph.pool_create("p9")
    assert str(caught.value) == "rbd pool 'guests': ceph osd pool create failed: Error EACCES: access denied"
    with pytest.raises(StorageError) as caught:
        ceph.snap_create("p1/v@s")
    assert str(caught.value) == ("rbd pool 'guests': rbd snap create: client.u1 may not do this (see its caps): "
                                 "failed to create snapshot: (1) Operation not permitted")


def test_a_command_error_never_escapes_with_its_raw_output(fake_runner):
    runner = tools(fake_runner)
    runner.expect(["rbd", "--id", "u1", "flatten", "--no-progress", "p1/c1"], rc=22, stderr="rbd: image has no parent\n")
    with pytest.raises(StorageError) as caught:
        ceph_of(runner).flatten("p1/c1")
    assert not isinstance(caught.value, CommandError)
    assert str(caught.value) == "rbd pool 'guests': rbd flatten failed: image has no parent"
