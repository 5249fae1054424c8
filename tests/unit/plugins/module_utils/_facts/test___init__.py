# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_facts: the Gatherer running storage_device_facts' commands (lvm fullreport, dmsetup) each at most
once, only when needed, its subsets, and the module's one exit (through the conftest's AnsibleModule
stand-in). The parsers of those commands' output are tested in _tools/test_lvm_report.py and
_tools/test_multipath.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import json
import os

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils import _facts
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _lvm_report, _multipath

from ansible_collections.poolcraft.storage.tests.unit.plugins.module_utils._facts.test_devices import make_tree

# -- the gatherer ----------------------------------------------------------------

MPATH_TREE = {
    "sdc": ("/devices/platform/host3/target3:0:0/3:0:0:0/block/sdc", "8:32",
            {"size": "65536", "ro": "0", "removable": "0", "queue/logical_block_size": "512",
             "queue/physical_block_size": "512", "queue/rotational": "1"}, ["E:ID_FS_TYPE=mpath_member"]),
    "sdd": ("/devices/platform/host4/target4:0:0/4:0:0:0/block/sdd", "8:48",
            {"size": "65536", "ro": "0", "removable": "0", "queue/logical_block_size": "512",
             "queue/physical_block_size": "512", "queue/rotational": "1"}, ["E:ID_FS_TYPE=mpath_member"]),
    "dm-3": ("/devices/virtual/block/dm-3", "254:3",
             {"size": "65536", "ro": "0", "queue/logical_block_size": "512", "queue/physical_block_size": "512",
              "queue/rotational": "1", "slaves/sdc": None, "slaves/sdd": None},
             ["E:DM_NAME=mpatha", "E:DM_UUID=mpath-3333333000000138"]),
}


class Context(object):
    """The two things the gatherer takes from a pyudev context for block devices."""

    def __init__(self, root):
        self.sys_path = os.path.join(str(root), "sys")
        self.run_path = os.path.join(str(root), "udev")


def gatherer(tmp_path, runner, tree, **params):
    scanner = make_tree(tmp_path, tree)
    params.setdefault("gather_subset", ["devices", "lvm", "multipath"])
    gathered = _facts.Gatherer(params, runner, Context(tmp_path))
    gathered.scanner.proc_partitions = scanner.proc_partitions
    return gathered


def test_multipath_facts_from_sysfs_and_dmsetup(tmp_path, fake_runner):
    runner = fake_runner()
    runner.commands = {"dmsetup", "lvm"}
    runner.expect(_multipath.TABLE_ARGV, stdout=(
        "mpatha: 0 65536 multipath 0 0 2 1 service-time 0 1 1 8:32 1 service-time 0 1 1 8:48 1\n"))
    runner.expect(_multipath.STATUS_ARGV, stdout=(
        "mpatha: 0 65536 multipath 2 0 0 0 2 1 A 0 1 2 8:32 A 0 0 1 E 0 1 2 8:48 F 1 0 1\n"))
    facts = gatherer(tmp_path, runner, MPATH_TREE).gather()
    mpatha = facts["storage_multipath"]["mpatha"]
    assert mpatha["wwid"] == "3333333000000138"
    assert mpatha["dm"] == "dm-3" and mpatha["size"] == 33554432
    assert mpatha["path_groups"] == [
        {"number": 1, "selector": "service-time", "state": "active", "paths": ["sdc"]},
        {"number": 2, "selector": "service-time", "state": "enabled", "paths": ["sdd"]}]
    assert [(p["name"], p["scsi_address"], p["dm_state"], p["path_group"]) for p in mpatha["paths"]] == [
        ("sdc", "3:0:0:0", "active", 1), ("sdd", "4:0:0:0", "failed", 2)]
    assert facts["storage_devices"]["sdc"]["used_by"] == {"multipath": "mpatha"}
    # no LVM signature anywhere: lvm is not run
    assert facts["storage_lvm"] == {"pvs": {}, "vgs": {}, "lvs": {}}
    assert facts["storage_facts_info"]["commands"] == ["dmsetup table", "dmsetup status"]


def test_lvm_runs_once_when_a_pv_is_there(tmp_path, fake_runner):
    tree = {"loop2000": ("/devices/virtual/block/loop2000", "7:2000",
                         {"size": "131072", "ro": "0", "queue/logical_block_size": "512",
                          "queue/physical_block_size": "512", "queue/rotational": "1"},
                         ["E:ID_FS_TYPE=LVM2_member", "E:ID_FS_USAGE=raid"])}
    runner = fake_runner()
    runner.commands = {"dmsetup", "lvm"}
    runner.load("lvm/fullreport_host_vga_vgb_same_lv_name")
    facts = gatherer(tmp_path, runner, tree).gather()
    assert facts["storage_devices"]["loop2000"]["used_by"] == {"lvm_vg": "vga"}
    assert facts["storage_lvm"]["pvs"]["/dev/loop2000"]["device"] == "loop2000"
    assert facts["storage_multipath"] == {}
    assert facts["storage_facts_info"]["commands"] == ["lvm fullreport"]


def test_no_tools_no_commands(tmp_path, quiet_runner):
    facts = gatherer(tmp_path, quiet_runner, MPATH_TREE).gather()
    assert facts["storage_multipath"]["mpatha"]["path_groups"] == []
    assert [p["name"] for p in facts["storage_multipath"]["mpatha"]["paths"]] == ["sdc", "sdd"]
    assert facts["storage_lvm"] == {"pvs": {}, "vgs": {}, "lvs": {}}


def test_devices_restriction(tmp_path, quiet_runner):
    facts = gatherer(tmp_path, quiet_runner, MPATH_TREE, gather_subset=["devices"], devices=["sdc"]).gather()
    assert sorted(facts["storage_devices"]) == ["sdc"]
    # the map was read for the holders, though it is not returned
    assert facts["storage_devices"]["sdc"]["used_by"] == {"multipath": "mpatha"}
    assert sorted(facts) == ["storage_devices", "storage_facts_info"]


@pytest.mark.parametrize("requested, expected", [
    (["all"], set(_facts.SUBSETS)),
    (None, set(_facts.SUBSETS)),
    (["devices", "lvm"], {"devices", "lvm"}),
    (["!lvm"], set(_facts.SUBSETS) - {"lvm"}),
    (["all", "!pools", "!mounts"], set(_facts.SUBSETS) - {"pools", "mounts"}),
])
def test_resolve_subsets(requested, expected):
    assert _facts.resolve_subsets(requested) == expected


def test_unknown_subset():
    with pytest.raises(ValidationError, match="unknown subset"):
        _facts.resolve_subsets(["hardware"])


def test_defaults_agree_with_the_store():
    pytest.importorskip("lxml")
    from ansible_collections.poolcraft.storage.plugins.module_utils._entry import COMMON_ARGS
    for option, spec in COMMON_ARGS.items():
        assert _facts.ARGUMENT_SPEC[option] == spec


def test_facts_are_json(tmp_path, quiet_runner):
    facts = gatherer(tmp_path, quiet_runner, MPATH_TREE, gather_subset=["devices", "multipath"]).gather()
    assert json.loads(json.dumps(facts)) == facts


# -- the module's one exit --------------------------------------------------------

def exit_of(run_module, params, **kwargs):
    """gather_facts(module, **kwargs) in check mode with the options as AnsibleModule fills them in: its ModuleExit."""
    return run_module(functools.partial(_facts.gather_facts, **kwargs), params, check_mode=True,
                      argument_spec=_facts.ARGUMENT_SPEC)


def test_missing_pyudev_is_one_line(monkeypatch, run_module):
    monkeypatch.setattr(_facts, "PYUDEV_IMPORT_ERROR", "Traceback ...\nImportError: No module named 'pyudev'\n")
    exited = exit_of(run_module, {"gather_subset": ["devices"]})
    result = exited.result
    assert exited.failed and "pyudev" in result["msg"] and "\n" not in result["msg"]


def test_mounts_alone_need_no_pyudev(monkeypatch, tmp_path, quiet_runner, run_module):
    monkeypatch.setattr(_facts, "PYUDEV_IMPORT_ERROR", "ImportError")
    exited = exit_of(run_module, {"gather_subset": ["mounts"]}, runner=quiet_runner, context=Context(tmp_path))
    assert exited.failed is False
    assert "storage_mounts" in exited.result["ansible_facts"]


def test_bad_subset_fails_cleanly(run_module):
    exited = exit_of(run_module, {"gather_subset": ["nope"]})
    assert exited.failed and "nope" in exited.result["msg"]


def test_exit_is_not_changed(tmp_path, quiet_runner, run_module):
    make_tree(tmp_path, MPATH_TREE)
    exited = exit_of(run_module, {"gather_subset": ["devices"]}, runner=quiet_runner, context=Context(tmp_path))
    assert exited.result["changed"] is False
    assert "sdc" in exited.result["ansible_facts"]["storage_devices"]


def test_pools_without_definitions_need_no_lxml(tmp_path, quiet_runner, monkeypatch):
    params = {"gather_subset": ["pools"], "config_dir": str(tmp_path / "etc"), "runtime_dir": str(tmp_path / "run")}
    assert _facts.Gatherer(params, quiet_runner, Context(tmp_path)).gather()["storage_pools"] == {}


def test_pools_with_definitions_and_no_lxml(tmp_path, quiet_runner, monkeypatch, run_module):
    pytest.importorskip("lxml")
    from ansible_collections.poolcraft.storage.plugins.module_utils import _xml
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "images.xml").write_text("<pool type='dir'/>")
    monkeypatch.setattr(_xml, "LXML_IMPORT_ERROR", "ImportError: lxml")
    params = {"gather_subset": ["pools"], "config_dir": str(tmp_path / "etc"), "runtime_dir": str(tmp_path / "run")}
    exited = exit_of(run_module, params, runner=quiet_runner, context=Context(tmp_path))
    assert exited.failed and "lxml" in exited.result["msg"]


def test_pools_of_this_collection(tmp_path, quiet_runner):
    """The pools subset reads the collection's own definitions: state, capacity and volumes."""
    pytest.importorskip("lxml")
    from ansible_collections.poolcraft.storage.plugins.module_utils._store import DefinitionStore
    from ansible_collections.poolcraft.storage.plugins.module_utils._model import PoolDef, Permissions
    from ansible_collections.poolcraft.storage.plugins.module_utils._xml import pool_to_xml
    images = tmp_path / "images"
    images.mkdir()
    (images / "disk.img").write_bytes(b"\0" * 4096)
    config, runtime = str(tmp_path / "etc"), str(tmp_path / "run")
    running = PoolDef(name="images", type="dir", uuid="00000000-0000-4000-8000-000000000001",
                      target_path=str(images), permissions=Permissions(mode=0o755))
    stopped = PoolDef(name="spare", type="dir", uuid="00000000-0000-4000-8000-000000000002",
                      target_path=str(tmp_path / "spare"), permissions=Permissions(mode=0o755))
    with DefinitionStore(config, runtime) as store:
        for pool in (running, stopped):
            store.save_persistent(pool, pool_to_xml(pool))
        store.mark_running("images", pool_to_xml(running))
        store.mark_stopped("spare", True)
    params = {"gather_subset": ["pools"], "config_dir": config, "runtime_dir": runtime}
    pools = _facts.Gatherer(params, quiet_runner, Context(tmp_path)).gather()["storage_pools"]
    assert sorted(pools) == ["images", "spare"]
    assert pools["images"]["state"] == "running" and pools["images"]["capacity"] > 0
    assert [volume["name"] for volume in pools["images"]["volumes"]] == ["disk.img"]
    assert pools["images"]["volumes"][0]["capacity"] == 4096
    assert pools["spare"]["state"] == "stopped" and pools["spare"]["volumes"] == []
    assert "xml" not in pools["images"]


def _store_with_two_pools(tmp_path):
    """A running pool 'images' holding one volume and a stopped 'spare', in a store under tmp_path."""
    from ansible_collections.poolcraft.storage.plugins.module_utils._store import DefinitionStore
    from ansible_collections.poolcraft.storage.plugins.module_utils._model import PoolDef, Permissions
    from ansible_collections.poolcraft.storage.plugins.module_utils._xml import pool_to_xml
    images = tmp_path / "images"
    images.mkdir()
    (images / "disk.img").write_bytes(b"\0" * 4096)
    config, runtime = str(tmp_path / "etc"), str(tmp_path / "run")
    running = PoolDef(name="images", type="dir", uuid="00000000-0000-4000-8000-000000000001",
                      target_path=str(images), permissions=Permissions(mode=0o755))
    stopped = PoolDef(name="spare", type="dir", uuid="00000000-0000-4000-8000-000000000002",
                      target_path=str(tmp_path / "spare"), permissions=Permissions(mode=0o755))
    with DefinitionStore(config, runtime) as store:
        for pool in (running, stopped):
            store.save_persistent(pool, pool_to_xml(pool))
        store.mark_running("images", pool_to_xml(running))
        store.mark_stopped("spare", True)
    return {"gather_subset": ["pools"], "config_dir": config, "runtime_dir": runtime}


UUID9 = "00000000-0000-4000-8000-000000000009"
UNUSABLE = {
    "no uuid": ("<pool type='dir'><name>broken</name><target><path>/b</path></target></pool>", "has no uuid"),
    "bad xml": ("<pool type='dir'><name>broken", "is not valid XML: "),
    "bad mode": ("<pool type='dir'><name>broken</name><uuid>%s</uuid><target><path>/b</path><permissions>"
                 "<mode>755x</mode></permissions></target></pool>" % UUID9, "has a malformed target/permissions/mode '755x'"),
    "unknown type": ("<pool type='sheepdog'><name>broken</name><uuid>%s</uuid></pool>" % UUID9,
                     "has type 'sheepdog', which this collection does not know"),
    "bad port": ("<pool type='dir'><name>broken</name><uuid>%s</uuid><source><host name='h' port='-1'/></source>"
                 "<target><path>/b</path></target></pool>" % UUID9, "has a malformed source/host port '-1'"),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_an_unusable_definition_is_reported_and_the_other_pools_still_are(tmp_path, quiet_runner, case):
    pytest.importorskip("lxml")
    params = _store_with_two_pools(tmp_path)
    text, reason = UNUSABLE[case]
    path = os.path.join(params["config_dir"], "broken.xml")
    with open(path, "w") as handle:
        handle.write(text)
    pools = _facts.Gatherer(params, quiet_runner, Context(tmp_path)).gather()["storage_pools"]
    assert sorted(pools) == ["broken", "images", "spare"]
    assert pools["broken"]["state"] == "unusable" and pools["broken"]["definition"] == path
    assert pools["broken"]["reason"].startswith(reason), pools["broken"]
    assert pools["images"]["state"] == "running" and [vol["name"] for vol in pools["images"]["volumes"]] == ["disk.img"]
    assert pools["spare"]["state"] == "stopped"


def test_a_running_pool_whose_directory_was_removed_is_reported_stopped(tmp_path, quiet_runner):
    pytest.importorskip("lxml")
    params = _store_with_two_pools(tmp_path)
    os.unlink(str(tmp_path / "images" / "disk.img"))
    os.rmdir(str(tmp_path / "images"))
    pools = _facts.Gatherer(params, quiet_runner, Context(tmp_path)).gather()["storage_pools"]
    images = pools["images"]
    assert images["state"] == "stopped"
    assert images["reason"] == "target.path %s does not exist" % (tmp_path / "images")
    assert (images["capacity"], images["allocation"], images["available"], images["volumes"]) == (None, None, None, [])
    assert images["uuid"] == "00000000-0000-4000-8000-000000000001" and "xml" not in images
    assert pools["spare"]["state"] == "stopped" and "reason" not in pools["spare"]


def test_a_pool_whose_storage_cannot_be_read_is_reported_with_the_reason(tmp_path, quiet_runner, monkeypatch):
    """Built, but its refresh fails (EACCES, an I/O error): the other pools are still reported."""
    pytest.importorskip("lxml")
    import errno
    from ansible_collections.poolcraft.storage.plugins.module_utils._backends import _file_volumes
    params = _store_with_two_pools(tmp_path)

    def unreadable(*_args):
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(tmp_path / "images"))

    monkeypatch.setattr(_file_volumes.os, "statvfs", unreadable)
    pools = _facts.Gatherer(params, quiet_runner, Context(tmp_path)).gather()["storage_pools"]
    assert pools["images"]["state"] == "stopped" and pools["images"]["capacity"] is None
    assert pools["images"]["reason"] == "%s: %s" % (tmp_path / "images", os.strerror(errno.EIO))
    assert pools["spare"]["state"] == "stopped"


def test_without_udev_lvm_cannot_be_ruled_out(tmp_path, fake_runner):
    """No udev database: sysfs facts only, and lvm runs since no signature can be seen."""
    import shutil
    runner = fake_runner()
    runner.commands = {"lvm"}
    runner.expect(_lvm_report.ARGV, stdout='{"report": []}')
    gathered = gatherer(tmp_path, runner, MPATH_TREE, gather_subset=["devices", "lvm"])
    shutil.rmtree(str(tmp_path / "udev"))
    facts = gathered.gather()
    assert facts["storage_facts_info"]["udev_database"] is False
    assert facts["storage_facts_info"]["commands"] == ["lvm fullreport"]
    assert "fs" not in facts["storage_devices"]["sdc"] and facts["storage_devices"]["sdc"]["size"] == 33554432


# -- every option validated before anything is read (issue 10) ------------------------

@pytest.mark.parametrize("params, option", [
    ({"usage_timeout": -1}, "usage_timeout"), ({"usage_timeout": 10 ** 30}, "usage_timeout"),
    ({"usage_timeout": 2 ** 63}, "usage_timeout"), ({"devices": [""]}, "devices"), ({"devices": ["\x1b[2J"]}, "devices"),
    ({"devices": ["/dev/vda\x00"]}, "devices"), ({"config_dir": "/dev/null"}, "config_dir"),
    ({"config_dir": "/srv/a\x85b"}, "config_dir"), ({"config_dir": "/srv/a\x00b"}, "config_dir"),
    ({"runtime_dir": "/run/a\x1bb"}, "runtime_dir"), ({"runtime_dir": "/run/a\nb"}, "runtime_dir"),
])
def test_bad_options_fail_in_one_line_before_anything_is_read(run_module, params, option):
    exited = exit_of(run_module, dict({"gather_subset": ["pools"]}, **params))
    assert exited.failed and exited.result["msg"].startswith(option + "="), exited.result
    assert "\n" not in exited.result["msg"]


def test_a_config_dir_that_is_a_file_is_refused(tmp_path, run_module):
    afile = tmp_path / "file"
    afile.write_text("x")
    exited = exit_of(run_module, {"gather_subset": ["pools"], "config_dir": str(afile)})
    assert exited.failed and "a regular file" in exited.result["msg"]


def test_usage_timeout_within_range_is_taken():
    _facts.validate_params({"usage_timeout": 0, "devices": ["vd*", "/dev/vda"], "config_dir": None, "runtime_dir": None})
    _facts.validate_params({"usage_timeout": _facts.MAX_USAGE_TIMEOUT, "config_dir": None, "runtime_dir": None})


def test_has_definitions_survives_a_nul():
    assert _facts._has_definitions("/srv/a\x00b") is False


def test_a_netfs_pool_whose_server_does_not_answer_is_reported_by_the_deadline(tmp_path, monkeypatch):
    """A dead NFS server blocks statvfs of the mount point in the kernel (here: it sleeps, in the
    child that reads it). The pool is reported stopped in one line naming the server, after one
    deadline (usage_timeout): the facts do not wait for it twice."""
    pytest.importorskip("lxml")
    import time
    from ansible_collections.poolcraft.storage.plugins.module_utils._host import _mounts
    from ansible_collections.poolcraft.storage.plugins.module_utils._model import PoolDef, PoolSource
    from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
    from ansible_collections.poolcraft.storage.plugins.module_utils._store import DefinitionStore
    from ansible_collections.poolcraft.storage.plugins.module_utils._xml import pool_to_xml
    params = _store_with_two_pools(tmp_path)
    target = str(tmp_path / "shared")
    os.mkdir(target)
    shared = PoolDef(name="shared", type="netfs", uuid="00000000-0000-4000-8000-000000000003", target_path=target,
                     source=PoolSource(host="filer7.example.com", dir="/srv/images", protocol_version="4.2"))
    with DefinitionStore(params["config_dir"], params["runtime_dir"]) as store:
        store.save_persistent(shared, pool_to_xml(shared))
        store.mark_running("shared", pool_to_xml(shared))
    real_mounts = _mounts.read_mounts
    monkeypatch.setattr(_mounts, "read_mounts", lambda path="/proc/self/mountinfo": real_mounts(path) + [
        {"maj_min": "0:52", "root": "/", "mount": target, "options": "rw", "fstype": "nfs4",
         "source": "filer7.example.com:/srv/images", "super_options": "rw"}])
    real_statvfs = os.statvfs
    monkeypatch.setattr(os, "statvfs", lambda path: time.sleep(60) if path == target else real_statvfs(path))
    start = time.time()
    pools = _facts.Gatherer(dict(params, usage_timeout=2), Runner(), Context(tmp_path)).gather()["storage_pools"]
    took = time.time() - start
    assert 2 <= took < 4, took
    info = pools["shared"]
    assert info["state"] == "stopped" and info["capacity"] is None and info["volumes"] == []
    assert info["reason"] == "NFS server filer7.example.com did not answer within 2 s (statvfs on %s)" % target
    assert info["source"]["host"] == "filer7.example.com" and info["type"] == "netfs"
    # the other pools are read as usual
    assert pools["images"]["state"] == "running" and pools["spare"]["state"] == "stopped"
