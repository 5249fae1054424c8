# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PoolManager planning and applying, with a real DefinitionStore and real directories in tmp_path."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import stat

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._pool import validate_name, validate_params

pytest.importorskip("lxml")

UUID = "6f1c2a3b-1234-4abc-8def-0123456789ab"


@pytest.fixture
def env(pool_env):
    """PoolManager over a store in tmp_path; the pool's directory is env.images (conftest.ManagerEnv)."""
    return pool_env


def no_definitions(config):
    """Nothing but the (empty) autostart directory, where the store makes its directories up front."""
    return not os.path.exists(config) or os.listdir(config) == ["autostart"] and not os.listdir(os.path.join(config, "autostart"))


def running_pool(env, **overrides):
    env.apply(state="running", build=True, **overrides)
    return env.stored()


# -- the action lists ------------------------------------------------------


def test_define(env):
    assert env.descriptions() == ["define pool 'images' (dir, persistent)"]
    actions, result = env.apply()
    stored = env.stored()
    assert stored.persistent and not stored.autostart
    assert stored.marked == "stopped"
    assert stored.definition.target_path == env.images
    assert not os.path.exists(env.images)  # not built
    assert result["pool"]["state"] == "stopped"
    assert env.descriptions() == []


def test_define_keeps_a_given_uuid_and_generates_one_otherwise(env):
    env.apply(uuid=UUID.upper())
    assert env.stored().definition.uuid == UUID
    env.apply(name="other", target={"path": env.images + "2"})
    generated = env.stored("other").definition.uuid
    assert generated != UUID and len(generated) == 36


def test_define_and_build(env):
    assert env.descriptions(build=True) == ["define pool 'images' (dir, persistent)",
                                            "build pool 'images' (create %s)" % env.images]
    env.apply(build=True)
    assert os.path.isdir(env.images)
    assert env.descriptions(build=True) == []


def test_define_build_start(env):
    assert env.descriptions(state="running", build=True) == [
        "define pool 'images' (dir, persistent)",
        "build pool 'images' (create %s)" % env.images,
        "start pool 'images'"]
    _actions, result = env.apply(state="running", build=True)
    assert env.stored().marked == "running"
    assert result["pool"]["state"] == "running"
    assert result["pool"]["volume_count"] == 0
    assert result["pool"]["capacity"] > 0
    assert env.descriptions(state="running", build=True) == []
    assert env.descriptions(state="present") == []


def test_start_without_build_needs_the_directory(env):
    with pytest.raises(NotFoundError) as caught:
        env.plan(state="running")
    assert "target.path" in str(caught.value) and "build: true" in str(caught.value)
    os.makedirs(env.images)
    assert env.descriptions(state="running") == ["define pool 'images' (dir, persistent)", "start pool 'images'"]


def test_autostart_on_and_off(env):
    assert env.descriptions(autostart=True) == ["define pool 'images' (dir, persistent)",
                                                "enable autostart of pool 'images'"]
    env.apply(autostart=True)
    assert env.stored().autostart
    link = os.path.join(env.config, "autostart", "images.xml")
    assert os.readlink(link) == "../images.xml"
    assert env.descriptions(autostart=True) == []
    assert env.descriptions() == []  # omitted: kept
    assert env.descriptions(autostart=False) == ["disable autostart of pool 'images'"]
    env.apply(autostart=False)
    assert not os.path.lexists(link)


def test_stop(env):
    running_pool(env)
    assert env.descriptions(state="stopped") == ["stop pool 'images'"]
    env.apply(state="stopped")
    assert env.stored().marked == "stopped"
    assert os.path.isdir(env.images)
    assert env.descriptions(state="stopped") == []
    assert env.descriptions(state="running") == ["start pool 'images'"]


def test_absent_of_a_running_pool_keeps_its_storage(env):
    running_pool(env, autostart=True)
    assert env.descriptions(state="absent") == ["stop pool 'images'", "undefine pool 'images'"]
    env.apply(state="absent")
    assert env.stored() is None
    assert os.path.isdir(env.images)
    assert os.listdir(os.path.join(env.config, "autostart")) == []
    assert sorted(os.listdir(env.runtime)) == [".lock"]
    assert env.descriptions(state="absent") == []


def test_absent_of_a_stopped_pool(env):
    env.apply()
    assert env.descriptions(state="absent") == ["undefine pool 'images'"]


def test_absent_purge(env):
    running_pool(env)
    assert env.descriptions(state="absent", purge=True) == [
        "stop pool 'images'",
        "delete the storage of pool 'images' (%s)" % env.images,
        "undefine pool 'images'"]
    env.apply(state="absent", purge=True)
    assert not os.path.exists(env.images)
    assert env.stored() is None


def test_absent_purge_of_an_unbuilt_pool_deletes_nothing(env):
    env.apply()
    assert env.descriptions(state="absent", purge=True) == ["undefine pool 'images'"]


def test_purge_refuses_a_pool_with_volumes(env):
    running_pool(env)
    with open(os.path.join(env.images, "disk.img"), "wb") as handle:
        handle.write(b"\0" * 4096)
    with pytest.raises(StorageError) as caught:
        env.plan(state="absent", purge=True)
    assert "still holds 1 volumes" in str(caught.value)


def test_absent_by_uuid_only(env):
    env.apply(uuid=UUID)
    assert env.descriptions(name=None, uuid=UUID, state="absent") == ["undefine pool 'images'"]
    env.apply(name=None, uuid=UUID, state="absent")
    assert env.stored() is None
    assert env.descriptions(name=None, uuid=UUID, state="absent") == []


def test_transient_pool(env):
    assert env.descriptions(persistent=False, state="running", build=True) == [
        "define pool 'images' (dir, transient)",
        "build pool 'images' (create %s)" % env.images,
        "start pool 'images'"]
    env.apply(persistent=False, state="running", build=True)
    assert no_definitions(env.config)
    assert "images.xml" in os.listdir(env.runtime)
    stored = env.stored()
    assert not stored.persistent and stored.marked == "running"
    assert env.descriptions(persistent=False, state="running") == []
    # stopping a transient pool makes it disappear
    assert env.descriptions(state="absent") == ["stop pool 'images'", "undefine pool 'images'"]


def test_make_persistent_and_transient(env):
    running_pool(env)
    assert env.descriptions(persistent=False, state="running") == ["update definition of pool 'images' (make transient)"]
    env.apply(persistent=False, state="running")
    assert not env.stored().persistent
    assert env.stored().marked == "running"
    assert env.descriptions(persistent=True, state="running") == ["update definition of pool 'images' (make persistent)"]


def test_change_target_path_of_a_stopped_pool(env):
    env.apply()
    new_path = env.images + "-new"
    assert env.descriptions(target={"path": new_path}) == ["update definition of pool 'images' (target.path)"]
    env.apply(target={"path": new_path + "/"})
    assert env.stored().definition.target_path == new_path  # normalised


def test_target_permissions_drift(env):
    running_pool(env)
    os.chmod(env.images, 0o755)
    perms = {"mode": "0700", "owner": None, "group": None, "label": None}
    assert env.descriptions(state="running", target={"path": env.images, "permissions": perms}) == [
        "update definition of pool 'images' (target.permissions)",
        "set mode of %s" % env.images]
    env.apply(state="running", target={"path": env.images, "permissions": perms})
    assert stat.S_IMODE(os.stat(env.images).st_mode) == 0o700
    assert env.descriptions(state="running", target={"path": env.images, "permissions": perms}) == []
    os.chmod(env.images, 0o777)  # changed by hand: put back, the definition is already right
    assert env.descriptions(state="running") == ["set mode of %s" % env.images]


def test_build_applies_permissions(env):
    perms = {"mode": "0750", "owner": str(os.getuid()), "group": None, "label": None}
    env.apply(build=True, target={"path": env.images, "permissions": perms})
    assert stat.S_IMODE(os.stat(env.images).st_mode) == 0o750
    assert env.stored().definition.permissions.mode == 0o750


def test_autostarted_pool_counts_as_running_after_a_reboot(env):
    running_pool(env, autostart=True)
    shutil.rmtree(env.runtime)  # a reboot empties the runtime dir
    assert env.descriptions(state="running") == []
    assert env.descriptions(state="stopped") == ["stop pool 'images'"]
    env.apply(state="stopped")
    assert env.stored().marked == "stopped"  # stays stopped although autostart is on
    assert env.stored().autostart


def test_turning_autostart_off_keeps_an_autostarted_pool_running(env):
    running_pool(env, autostart=True)
    shutil.rmtree(env.runtime)  # after a reboot it runs only because of autostart
    assert env.descriptions(autostart=False) == ["disable autostart of pool 'images'"]
    env.apply(autostart=False)
    stored = env.stored()
    assert not stored.autostart
    assert stored.marked == "running"
    assert env.descriptions(state="running") == []


def test_diff_and_snapshot(env):
    manager, _actions = env.plan(state="running", build=True)
    assert manager.snapshot() == {"state": "absent"}
    diff = manager.diff(manager.snapshot())
    assert diff["before"] == {"state": "absent"}
    assert diff["after"]["state"] == "running"
    assert diff["after"]["target"]["path"] == env.images


# -- plan() has no side effects --------------------------------------------

SCENARIOS = {
    "define": (None, {}),
    "define-build-start-autostart": (None, {"state": "running", "build": True, "autostart": True}),
    "transient": (None, {"state": "running", "build": True, "persistent": False}),
    "stop": ({"state": "running", "build": True}, {"state": "stopped"}),
    "absent": ({"state": "running", "build": True, "autostart": True}, {"state": "absent"}),
    "purge": ({"state": "running", "build": True}, {"state": "absent", "purge": True}),
    "retarget": ({}, {"target": {"path": "/elsewhere"}}),
    "permissions": ({"build": True}, {"target": {"path": None, "permissions": {"mode": "0700"}}}),
    "make-transient": ({"state": "running", "build": True}, {"state": "running", "persistent": False}),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_plan_changes_nothing_on_disk(env, scenario, snapshot):
    setup, request = SCENARIOS[scenario]
    if setup is not None:
        env.apply(**setup)
    with env.store():
        pass  # the store's own directories and lock file, as the module makes them before planning
    if "target" in request and request["target"]["path"] is None:
        request = dict(request, target=dict(request["target"], path=env.images))
    before = snapshot(env.root)
    _manager, actions = env.plan(**request)
    assert actions  # each scenario has something to do
    assert snapshot(env.root) == before


# -- validation --------------------------------------------------------------


@pytest.mark.parametrize("name", ["a/b", "/abs", "..", ".", ".hidden", "a\0b", "a\nb", "tab\there", "bell\x07",
                                  "x" * 201, ""])
def test_bad_names(env, name):
    with pytest.raises(ValidationError) as caught:
        env.plan(name=name)
    assert str(caught.value).startswith("name=")
    assert no_definitions(env.config)


def test_validate_name_accepts_plain_names():
    for name in ("images", "a.b", "pool-1_x", u"b\u00fccher", "x" * 200, "with space"):
        assert validate_name(name) == name


@pytest.mark.parametrize("path", ["relative/dir", "images", "./x", "/ok/\nnot", "/nul\0/x"])
def test_target_path_must_be_absolute(env, path):
    with pytest.raises(ValidationError) as caught:
        env.plan(target={"path": path})
    assert str(caught.value).startswith("target.path=")


def test_dir_pool_needs_a_target(env):
    with pytest.raises(ValidationError) as caught:
        env.plan(target=None)
    assert str(caught.value).startswith("target.path=")


def test_type_is_required_for_a_new_pool(env):
    with pytest.raises(ValidationError) as caught:
        env.plan(type=None)
    assert str(caught.value).startswith("type=None")


def test_unknown_type(env):
    with pytest.raises(ValidationError) as caught:
        env.plan(type="zfs")
    assert str(caught.value).startswith("type='zfs': unknown pool type")


def test_type_cannot_change(env):
    env.apply()
    with pytest.raises(ValidationError) as caught:
        env.plan(type="logical")
    message = str(caught.value)
    assert message.startswith("type='logical'")
    assert "exists with type dir" in message


def test_transient_pool_cannot_autostart(env):
    with pytest.raises(ValidationError) as caught:
        env.plan(persistent=False, autostart=True, state="running")
    assert str(caught.value).startswith("autostart=")


@pytest.mark.parametrize("state", ["present", "stopped"])
def test_transient_pool_must_run(env, state):
    with pytest.raises(ValidationError) as caught:
        env.plan(persistent=False, state=state)
    assert str(caught.value).startswith("persistent=False")


def test_cannot_retarget_a_running_pool(env):
    running_pool(env)
    with pytest.raises(StorageError) as caught:
        env.plan(state="running", target={"path": "/elsewhere"})
    assert "target.path" in str(caught.value)
    assert "stop it" in str(caught.value)


@pytest.mark.parametrize("uuid", ["nope", "1234", UUID + "0"])
def test_bad_uuid(env, uuid):
    with pytest.raises(ValidationError) as caught:
        env.plan(uuid=uuid)
    assert str(caught.value).startswith("uuid=")


def test_uuid_must_match_the_existing_pool(env):
    env.apply(uuid=UUID)
    other = "11111111-2222-4333-8444-555555555555"
    with pytest.raises(ValidationError) as caught:
        env.plan(uuid=other)
    assert str(caught.value).startswith("uuid=%r" % other)
    assert UUID in str(caught.value)
    assert env.descriptions(uuid=UUID.replace("-", "")) == []  # the same UUID written differently


def test_unknown_uuid_alone(env):
    with pytest.raises(NotFoundError) as caught:
        env.plan(name=None, uuid=UUID)
    assert UUID in str(caught.value)


@pytest.mark.parametrize("perms, option", [
    ({"mode": "rwxr-xr-x"}, "target.permissions.mode"),
    ({"mode": "17777"}, "target.permissions.mode"),
    ({"owner": "poolcraft-no-such-user"}, "target.permissions.owner"),
    ({"group": "poolcraft-no-such-group"}, "target.permissions.group"),
])
def test_bad_target_permissions(env, perms, option):
    with pytest.raises(ValidationError) as caught:
        env.plan(target={"path": env.images, "permissions": perms})
    assert str(caught.value).startswith(option + "=")


def test_thin_pool_of_a_type_without_thin_pools_is_refused_before_anything(env):
    with pytest.raises(ValidationError) as err:
        env.plan(thin_pool={"name": "thin", "size": "1G"})
    assert err.value.option == "thin_pool"
    assert env.stored() is None


def test_thin_pool_size_is_validated(env):
    with pytest.raises(ValidationError) as err:
        env.plan(thin_pool={"name": "thin", "size": "lots"})
    assert err.value.option == "thin_pool.size"


def test_a_source_field_the_type_does_not_take_is_refused_by_name(env):
    """A dir pool is made from nothing: a source.name given to it is a mistake, not kept silently."""
    with pytest.raises(ValidationError) as caught:
        env.plan(source={"name": "images-src", "devices": None, "device": None, "format": None})
    assert caught.value.option == "source.name"
    assert "dir pools take no source.name" in str(caught.value)
    assert env.stored() is None


def test_network_source_fields_are_checked_before_anything(env):
    for source, option in (({"host": "nfs1 -o x"}, "source.host"), ({"port": 0}, "source.port"),
                           ({"dir": "srv/images"}, "source.dir"), ({"target": "iqn.bad"}, "source.target"),
                           ({"initiator": "IQN.2004-04.com.example:x"}, "source.initiator")):
        refused_option(env, option, source=source)
    assert env.stored() is None


def test_a_chap_secret_is_never_shown_in_a_refusal(env):
    caught = refused_option(env, "source.auth.secret",
                            source={"auth": {"username": "u", "secret": "s3cret\nline", "mutual_username": None,
                                             "mutual_secret": None}})
    assert "s3cret" not in str(caught)


# -- every option validated before anything is read or written (issue 10) ----


def refused_option(env, option, **overrides):
    with pytest.raises(ValidationError) as caught:
        env.plan(**overrides)
    assert caught.value.option == option, caught.value
    assert "\n" not in str(caught.value)
    return caught.value


def test_an_empty_fstab_is_not_the_hosts_fstab(env):
    refused_option(env, "fstab", fstab="")


def test_fstab_defaults_only_when_not_given(env):
    manager, _actions = env.plan(fstab=None)
    assert manager.settings["fstab"] == "/etc/fstab"
    given = str(env.root / "fstab")
    manager, _actions = env.plan(fstab=given)
    assert manager.settings["fstab"] == given


@pytest.mark.parametrize("fstab", ["fstab", "/tmp/fs\ntab", "/tmp/fs\x00tab", "/poolcraft-no-such-dir/fstab"])
def test_bad_fstab(env, fstab):
    refused_option(env, "fstab", fstab=fstab)


@pytest.mark.parametrize("overrides, option", [
    ({"target": {"path": None, "permissions": {"mode": "+755"}}}, "target.permissions.mode"),
    ({"target": {"path": None, "permissions": {"mode": 493}}}, "target.permissions.mode"),
    ({"target": {"path": "/srv/a\x85b", "permissions": None}}, "target.path"),
    ({"mount_options": ["a\nb"]}, "mount_options"),
    ({"uuid": UUID + "\n"}, "uuid"),
    ({"fstab": ""}, "fstab"),
    ({"thin_pool": {"name": "thin", "size": "9" * 5000}}, "thin_pool.size"),
])
def test_state_absent_refuses_invalid_options_and_keeps_the_pool(env, overrides, option):
    running_pool(env)
    refused_option(env, option, state="absent", purge=True, **overrides)
    assert env.stored() is not None and os.path.isdir(env.images)


def test_neither_name_nor_uuid(env):
    refused_option(env, "name", name=None, uuid=None)


@pytest.mark.parametrize("name", ["a\x7fb", "uQ\x81", " ", " images", "images\t", "a\u2028b", "\u202eab"])
def test_bad_pool_names_are_refused_whatever_the_state(env, name):
    for state in ("present", "absent"):
        refused_option(env, "name", name=name, state=state)


def test_validate_name_is_inputs_name():
    with pytest.raises(ValidationError, match="control or separator"):
        validate_name("a\x85b")


def test_a_uuid_with_a_newline_is_a_validation_error(env):
    refused_option(env, "uuid", uuid=UUID + "\n")


def test_a_new_pool_cannot_take_the_uuid_of_another(env):
    env.apply(uuid=UUID)
    error = refused_option(env, "uuid", name="other", uuid=UUID, target={"path": env.images + "2", "permissions": None})
    assert "'images'" in str(error)
    assert env.stored("other") is None


@pytest.mark.parametrize("path, words", [
    ("/srv/a\x1b[0mb", "U+001B"), ("/srv/" + "d" * 5000, "bytes long"), ("/srv/" + "c" * 256, "component"),
    ("relative", "absolute"), ("", "empty"),
])
def test_bad_target_paths(env, path, words):
    error = refused_option(env, "target.path", target={"path": path, "permissions": None})
    assert words in str(error)


def test_a_target_that_is_a_file_or_under_one_is_refused(env, tmp_path):
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert "a regular file" in str(refused_option(env, "target.path", target={"path": str(afile), "permissions": None}))
    refused_option(env, "target.path", target={"path": str(afile / "x"), "permissions": None})
    loop = tmp_path / "loop"
    os.symlink("loop", str(loop))
    refused_option(env, "target.path", target={"path": str(loop), "permissions": None})
    assert env.stored() is None


def source(**given):
    return dict({"device": None, "devices": None, "name": None, "format": None}, **given)


@pytest.mark.parametrize("given, option", [
    ({"devices": []}, "source.devices"),
    ({"devices": ["/dev/null"]}, "source.devices"),
    ({"devices": ["/tmp"]}, "source.devices"),
    ({"devices": ["/dev/a\nb"]}, "source.devices"),
    ({"devices": ["/dev/a\x00b"]}, "source.devices"),
    ({"devices": ["/dev/vdb", "/dev/vdb"]}, "source.devices"),
    ({"device": "/dev/zero"}, "source.device"),
    ({"device": "/dev/"}, "source.device"),
    ({"name": ""}, "source.name"),
    ({"name": "vg\x1b"}, "source.name"),
    ({"format": ""}, "source.format"),
])
def test_bad_sources(env, given, option):
    refused_option(env, option, source=source(**given))


def test_a_fifo_is_not_a_source_device(env, tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    error = refused_option(env, "source.devices", source=source(devices=[fifo]))
    assert "a FIFO" in str(error)


def test_a_missing_device_or_an_image_file_may_be_named(env, tmp_path):
    image = tmp_path / "blank.img"
    image.write_bytes(b"\0" * 512)
    validate_params(env.params(source=source(devices=[str(image), "/dev/poolcraft-no-such-device"])))


@pytest.mark.parametrize("options", [["['a']"], ["{'a': 1}"], [""], ["a b"]])
def test_bad_mount_options(env, options):
    refused_option(env, "mount_options", mount_options=options)


# -- SAN sources: the shape of source.adapter and of the map selection ---------

def adapter(**given):
    full = {"type": "scsi_host", "name": None, "parent_address": None, "unique_id": None, "wwnn": None,
            "wwpn": None, "parent": None, "managed": None}
    full.update(given)
    return full


@pytest.mark.parametrize("given, option, words", [
    (adapter(), "source.adapter", "give one of source.adapter.name"),
    (adapter(name="host1", parent_address={"domain": 0, "bus": 0, "slot": 1, "function": 0}), "source.adapter",
     "give one of"),
    (adapter(name="sda"), "source.adapter.name", "a SCSI host's name"),
    (adapter(name="host1", wwnn="20000000c9831b4b"), "source.adapter.wwnn", "an adapter of type scsi_host takes"),
    (adapter(name="host1", unique_id=3), "source.adapter.unique_id", "goes with source.adapter.parent_address"),
    (adapter(parent_address={"domain": 0, "bus": 0, "slot": 32, "function": 0}), "source.adapter.parent_address.slot",
     "from 0 to 0x1f"),
    (adapter(type="fc_host", wwnn="20000000c9831b4b"), "source.adapter.wwpn", "16 hex digits"),
    (adapter(type="fc_host", wwnn="2000", wwpn="10000000c9831b4b"), "source.adapter.wwnn", "16 hex digits"),
    (adapter(type="fc_host", wwnn="20000000c9831b4b", wwpn="10000000c9831b4b", name="host2"), "source.adapter.name",
     "an adapter of type fc_host takes"),
    (adapter(type="fc_host", wwnn="20000000c9831b4b", wwpn="10000000c9831b4b", parent="eth0"), "source.adapter.parent",
     "a SCSI host's name"),
])
def test_a_bad_adapter_is_refused_naming_the_option(env, given, option, words):
    caught = refused_option(env, option, source={"adapter": given})
    assert words in str(caught)
    assert env.stored() is None


@pytest.mark.parametrize("given, words", [
    ([], "an empty list"), (["a/b"], "without a slash"), ([" mpatha"], "without a slash or spaces"),
    (["mpatha", "mpatha"], "the same map twice"), ([""], "empty"),
])
@pytest.mark.parametrize("option", ["wwids", "aliases"])
def test_a_bad_map_selection_is_refused_naming_the_option(env, option, given, words):
    caught = refused_option(env, "source." + option, source={option: given})
    assert words in str(caught)


def test_adapter_params_become_the_model():
    from ansible_collections.poolcraft.storage.plugins.module_utils._model import Adapter, PciAddress
    from ansible_collections.poolcraft.storage.plugins.module_utils._pool import _adapter_from_params
    assert _adapter_from_params(adapter(parent_address={"domain": 0, "bus": 0x3b, "slot": 0, "function": 1}, unique_id=7)) \
        == Adapter(type="scsi_host", parent_address=PciAddress(0, 0x3b, 0, 1), unique_id=7)
    assert _adapter_from_params(adapter(type="fc_host", wwnn="0x20000000C9831B4B", wwpn="10000000c9831b4b", managed=True)) \
        == Adapter(type="fc_host", wwnn="20000000c9831b4b", wwpn="10000000c9831b4b", managed=True)
