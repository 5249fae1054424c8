# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VolumeManager: planning with a FakeRunner that allows no command (or replays a recording),
applying with the real qemu-img where it is installed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import json
import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner
from ansible_collections.poolcraft.storage.plugins.module_utils._volume import VolumeManager

pytest.importorskip("lxml")

needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img (qemu-utils) is not installed")

MI = 1024 * 1024
GI = 1024 * MI


@pytest.fixture
def env(volume_env):
    """VolumeManager over a store in tmp_path, with the running dir pool 'images' (conftest.ManagerEnv)."""
    return volume_env


def qemu_info(path):
    out = subprocess.run(["qemu-img", "info", "--output=json", "-U", path], check=True, stdout=subprocess.PIPE).stdout
    return json.loads(out.decode("utf-8"))


def make_qcow2(path, size):
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, str(size)], check=True)
    return path


# -- create ----------------------------------------------------------------


def test_create_raw_by_default(env):
    manager, actions = env.plan(capacity="1G")
    assert [action.description for action in actions] == ["create raw volume 'disk.img' of 1.0 GiB"]
    assert manager.snapshot() == {"state": "absent"}
    after = manager.diff(manager.snapshot())["after"]
    assert after["format"] == "raw"
    assert after["capacity"] == GI
    assert after["path"] == os.path.join(env.images, "disk.img")


def test_capacity_is_rounded_up_to_sectors(env):
    manager, _actions = env.plan(capacity="1000")
    assert manager.diff({})["after"]["capacity"] == 1024


def test_create_qcow2_description(env):
    assert env.descriptions(name="vm.qcow2", format="qcow2", capacity="20GiB", preallocation="metadata",
                            cluster_size="64K", compat="1.1", lazy_refcounts=True) == \
        ["create qcow2 volume 'vm.qcow2' of 20.0 GiB"]


def test_create_overlay_description(env):
    base = env.file("base.img", MI)
    assert env.descriptions(name="vm.qcow2", format="qcow2", backing_store={"pool": "images", "name": "base.img"}) == \
        ["create qcow2 volume 'vm.qcow2' as an overlay on %s" % base]


def test_clone_of_a_format_that_needs_qemu_img(env, fake_runner, tmp_path):
    # only the VDI magic matters to the probe; the size comes from the recorded qemu-img info
    source = tmp_path / "src.vdi"
    source.write_bytes(b"\0" * 64 + b"\x7f\x10\xda\xbe" + b"\0" * 444)
    # asked twice: for the files the image refers to (before anything opens them), then for its size
    runner = fake_runner("qemu_img/info_vdi", "qemu_img/info_vdi", skip=1)
    manager, actions = env.plan(runner=runner, name="copy.qcow2", format="qcow2",
                                clone_from={"path": str(source), "format": None})
    assert [action.description for action in actions] == \
        ["clone %s (vdi) into volume 'copy.qcow2' (qcow2)" % source]
    assert manager.diff({})["after"]["capacity"] == 3 * MI
    assert len(runner.calls) == 2 and runner.timeouts == [60, 60]


def test_clone_smaller_than_its_source(env):
    source = env.file("big.img", 2 * MI)
    with pytest.raises(ValidationError) as caught:
        env.plan(name="copy.img", capacity="1M", clone_from={"path": source})
    assert str(caught.value).startswith("capacity='1M'")


def test_clone_keeps_the_source_format_by_default(env):
    source = env.file("big.img", 2 * MI)
    assert env.descriptions(name="copy.img", clone_from={"path": source}) == \
        ["clone %s (raw) into volume 'copy.img' (raw)" % source]


# -- update ------------------------------------------------------------------


def test_existing_volume_of_the_same_size_is_left_alone(env):
    env.file("disk.img", GI)
    assert env.descriptions(capacity="1G") == []
    assert env.descriptions(capacity="1073741823") == []  # rounds up to the same size
    assert env.descriptions() == []


def test_grow(env):
    env.file("disk.img", GI)
    assert env.descriptions(capacity="2G") == ["grow volume 'disk.img' from 1.0 GiB to 2.0 GiB"]


def test_shrink_needs_shrink(env):
    env.file("disk.img", GI)
    with pytest.raises(ValidationError) as caught:
        env.plan(capacity="512M")
    message = str(caught.value)
    assert message.startswith("capacity='512M'")
    assert "shrink: true" in message
    assert env.descriptions(capacity="512M", shrink=True) == ["shrink volume 'disk.img' from 1.0 GiB to 512.0 MiB"]


def test_features_of_an_existing_file_volume_are_refused(env):
    env.file("disk.img", MI)
    with pytest.raises(ValidationError) as caught:
        env.plan(features=["layering"])
    assert str(caught.value) == "features=['layering']: dir pools do not take it; it sets the features of RBD images"
    assert "features" not in env.plan()[0].snapshot()  # a file volume has none


def test_permission_drift(env):
    env.file("disk.img", MI, mode=0o644)
    perms = {"mode": "0600", "owner": None, "group": None, "label": None}
    assert env.descriptions(permissions=perms) == ["set mode of volume 'disk.img'"]
    assert env.descriptions(permissions=dict(perms, mode="0644")) == []


def test_format_is_never_converted(env):
    env.file("disk.img", MI)
    with pytest.raises(ValidationError) as caught:
        env.plan(format="qcow2", capacity="1M")
    assert str(caught.value).startswith("format='qcow2'")


def test_located_by_path_or_key(env):
    path = env.file("disk.img", MI)
    for option in ("path", "key"):
        manager, actions = env.plan(pool=None, name=None, **{option: path, "capacity": "2M"})
        assert [action.description for action in actions] == ["grow volume 'disk.img' from 1.0 MiB to 2.0 MiB"]
        assert manager.pool.definition.name == "images"


def test_a_directory_is_not_a_volume(env):
    os.mkdir(os.path.join(env.images, "disk.img"))
    with pytest.raises(StorageError) as caught:
        env.plan(capacity="1M")
    assert "not a regular file" in str(caught.value)


# -- absent ------------------------------------------------------------------


def test_absent(env):
    path = env.file("disk.img", MI)
    assert env.descriptions(state="absent") == ["delete volume 'disk.img' (%s)" % path]
    assert env.descriptions(state="absent", wipe="zero") == ["wipe (zero) and delete volume 'disk.img' (%s)" % path]
    os.unlink(path)
    assert env.descriptions(state="absent") == []


# -- plan() has no side effects --------------------------------------------

SCENARIOS = {
    "create-raw": {"capacity": "1G", "allocation": "1M"},
    "create-qcow2": {"name": "vm.qcow2", "format": "qcow2", "capacity": "1G", "preallocation": "metadata"},
    "overlay": {"name": "vm.qcow2", "format": "qcow2", "backing_store": {"pool": "images", "name": "base.img"}},
    "clone": {"name": "copy.img", "clone_from": {"pool": "images", "name": "base.img"}},
    "grow": {"name": "base.img", "capacity": "2M"},
    "shrink": {"name": "base.img", "capacity": "512K", "shrink": True},
    "permissions": {"name": "base.img", "permissions": {"mode": "0600"}},
    "wipe": {"name": "base.img", "state": "absent", "wipe": "random"},
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_plan_changes_nothing_on_disk(env, scenario, snapshot):
    env.file("base.img", MI, content=b"data")
    before = snapshot(env.root)
    _manager, actions = env.plan(**SCENARIOS[scenario])
    assert actions
    assert snapshot(env.root) == before


# -- validation --------------------------------------------------------------


def test_unknown_pool(env):
    with pytest.raises(NotFoundError) as caught:
        env.plan(pool="nope", capacity="1G")
    assert str(caught.value).startswith("pool='nope': no such pool")


def test_stopped_pool(env):
    env.pool(name="cold", path=str(env.root / "cold"), state="present")
    with pytest.raises(StorageError) as caught:
        env.plan(pool="cold", capacity="1G")
    message = str(caught.value)
    assert message.startswith("pool='cold'")
    assert "not running" in message


@pytest.mark.parametrize("overrides, option", [
    ({"preallocation": "metadata"}, "preallocation"),
    ({"format": "vmdk", "preallocation": "full"}, "preallocation"),
    ({"format": "qcow2", "allocation": "1M"}, "allocation"),
    ({"allocation": "2G"}, "allocation"),
    ({"allocation": "lots"}, "allocation"),
    ({"cluster_size": "64K"}, "cluster_size"),
    ({"format": "vmdk", "compat": "1.1"}, "compat"),
    ({"lazy_refcounts": False}, "lazy_refcounts"),
    ({"format": "qcow2", "cluster_size": "big"}, "cluster_size"),
    ({"capacity": None}, "capacity"),
    ({"capacity": "0"}, "capacity"),
    ({"capacity": "-1G"}, "capacity"),
    ({"capacity": "10 parsecs"}, "capacity"),
    ({"format": "vdi"}, "format"),
    ({"name": "../escape"}, "name"),
    ({"name": "a/b"}, "name"),
    ({"name": ".hidden"}, "name"),
    ({"name": "a\nb"}, "name"),
    ({"name": "a\0b"}, "name"),
    ({"name": None}, "name"),
    ({"pool": None}, "name"),
    ({"pool": "../etc"}, "pool"),
    ({"pool": None, "name": None, "path": "images/disk.img"}, "path"),
    ({"pool": None, "name": None, "key": "disk.img"}, "key"),
    ({"pool": None, "name": None, "path": "/nowhere/disk.img"}, "path"),
    ({"backing_store": {"path": "relative.img"}}, "backing_store.path"),
    ({"backing_store": {"format": "qcow2"}}, "backing_store"),
    ({"clone_from": {"pool": "images"}}, "clone_from"),
    ({"clone_from": {"pool": "nope", "name": "x"}}, "clone_from.pool"),
    ({"clone_from": {"pool": "images", "name": "../x"}}, "clone_from.name"),
    ({"features": ["layering"]}, "features"),
    ({"features": ["layering", "layering"]}, "features"),
])
def test_validation_names_the_option(env, overrides, option):
    params = {"capacity": "1G"}
    params.update(overrides)
    with pytest.raises(StorageError) as caught:
        env.plan(**params)
    assert str(caught.value).startswith(option + "=") or str(caught.value).startswith(option + ":")
    assert os.listdir(env.images) == []


def test_backing_store_on_raw(env):
    env.file("base.img", MI)
    with pytest.raises(ValidationError) as caught:
        env.plan(name="vm.img", format="raw", backing_store={"pool": "images", "name": "base.img"})
    assert str(caught.value).startswith("backing_store=")


def test_backing_store_and_clone_together(env):
    base = env.file("base.img", MI)
    with pytest.raises(ValidationError) as caught:
        env.plan(name="vm.qcow2", format="qcow2", backing_store={"path": base}, clone_from={"path": base})
    assert str(caught.value).startswith("backing_store=")


def test_missing_backing_store(env):
    with pytest.raises(NotFoundError) as caught:
        env.plan(name="vm.qcow2", format="qcow2", backing_store={"path": os.path.join(env.images, "gone.img")})
    assert str(caught.value).startswith("backing_store:")
    with pytest.raises(NotFoundError) as caught:
        env.plan(name="vm.qcow2", format="qcow2", backing_store={"pool": "images", "name": "gone.img"})
    assert str(caught.value).startswith("backing_store:")


# -- applying with the real qemu-img ---------------------------------------


@needs_qemu_img
def test_apply_raw_with_allocation(env):
    actions, result = env.apply(Runner(), capacity="4M", allocation="1M", permissions={"mode": "0600"})
    assert actions == ["create raw volume 'disk.img' of 4.0 MiB"]
    path = os.path.join(env.images, "disk.img")
    st = os.stat(path)
    assert st.st_size == 4 * MI
    assert st.st_blocks * 512 >= MI
    assert stat.S_IMODE(st.st_mode) == 0o600
    volume = result["volume"]
    assert (volume["format"], volume["capacity"], volume["pool"], volume["state"]) == ("raw", 4 * MI, "images", "present")
    assert "<volume" in volume["xml"]
    assert os.listdir(env.images) == ["disk.img"]
    assert env.apply(Runner(), capacity="4M", allocation="1M", permissions={"mode": "0600"})[0] == []


@needs_qemu_img
def test_apply_qcow2_with_options(env):
    env.apply(Runner(), name="vm.qcow2", format="qcow2", capacity="64M", preallocation="metadata",
              cluster_size="128K", compat="0.10", lazy_refcounts=False)
    info = qemu_info(os.path.join(env.images, "vm.qcow2"))
    assert info["virtual-size"] == 64 * MI
    assert info["cluster-size"] == 128 * 1024
    assert info["format-specific"]["data"]["compat"] == "0.10"


@needs_qemu_img
def test_apply_overlay_grow_shrink_delete(env):
    base = make_qcow2(os.path.join(env.images, "base.qcow2"), 8 * MI)
    _actions, result = env.apply(Runner(), name="vm.qcow2", format="qcow2",
                                 backing_store={"pool": "images", "name": "base.qcow2"})
    assert result["volume"]["backing_chain"] == [{"path": base, "format": "qcow2"}]
    path = os.path.join(env.images, "vm.qcow2")
    assert qemu_info(path)["backing-filename"] == base
    env.apply(Runner(), name="vm.qcow2", capacity="16M")
    assert qemu_info(path)["virtual-size"] == 16 * MI
    env.apply(Runner(), name="vm.qcow2", capacity="12M", shrink=True)
    assert qemu_info(path)["virtual-size"] == 12 * MI
    assert env.descriptions(name="vm.qcow2", capacity="12M", backing_store={"path": base}) == []
    with pytest.raises(ValidationError) as caught:
        env.plan(name="vm.qcow2", backing_store={"path": path})
    assert str(caught.value).startswith("backing_store=")
    actions, result = env.apply(Runner(), name="vm.qcow2", state="absent", wipe="zero")
    assert actions == ["wipe (zero) and delete volume 'vm.qcow2' (%s)" % path]
    assert not os.path.exists(path)
    assert result["volume"]["state"] == "absent"


@needs_qemu_img
def test_apply_clone_to_another_format(env):
    source = env.file("src.img", 2 * MI, content=b"hello")
    _actions, result = env.apply(Runner(), name="copy.qcow2", format="qcow2", capacity="4M",
                                 clone_from={"path": source})
    assert result["clone_method"] == "copy"
    info = qemu_info(os.path.join(env.images, "copy.qcow2"))
    assert (info["format"], info["virtual-size"]) == ("qcow2", 4 * MI)


@needs_qemu_img
def test_apply_clone_same_format(env):
    source = env.file("src.img", 2 * MI, content=b"hello")
    _actions, result = env.apply(Runner(), name="copy.img", clone_from={"path": source})
    assert result["clone_method"] in ("reflink", "copy")
    with open(os.path.join(env.images, "copy.img"), "rb") as handle:
        assert handle.read(5) == b"hello"
    assert os.path.getsize(os.path.join(env.images, "copy.img")) == 2 * MI


def test_interrupted_run_leftover_is_replaced_and_never_listed(env, fake_runner):
    leftover = env.file(".poolcraft-tmp-disk.img", MI)
    assert env.descriptions(capacity="1M") == ["create raw volume 'disk.img' of 1.0 MiB"]
    path = os.path.join(env.images, "disk.img")
    temp = leftover
    runner = fake_runner().expect(["qemu-img", "create", "-q", "-f", "raw", temp, str(MI)])
    store = env.store()
    manager = VolumeManager(env.params(capacity="1M"), runner, store)
    with store:
        actions = manager.plan()
        with pytest.raises(OSError):
            # the fake runner makes no file, so the final link finds nothing: the leftover must already be gone
            actions[0].apply()
    assert not os.path.exists(leftover)
    assert not os.path.exists(path)


@pytest.mark.parametrize("backend_name", ["LogicalBackend", "DiskBackend"])
def test_a_clone_source_is_sized_by_qemu_img_whatever_the_pool_type(backend_name, fake_runner, tmp_path):
    # block pool types have no qemu-img of their own: the manager asks qemu-img itself, so a
    # VDI (QED, VHDX, VPC, VMDK descriptor: formats the header reader cannot size) clones in
    from ansible_collections.poolcraft.storage.plugins.module_utils import _backends
    from ansible_collections.poolcraft.storage.plugins.module_utils._volume import _PoolRef

    source = tmp_path / "src.vdi"
    source.write_bytes(b"\0" * 64 + b"\x7f\x10\xda\xbe" + b"\0" * 444)
    runner = fake_runner("qemu_img/info_vdi", "qemu_img/info_vdi", skip=1)
    module = importlib.import_module("%s._%s" % (_backends.__name__, backend_name[:-len("Backend")].lower()))
    backend = getattr(module, backend_name)(runner)

    class Stored(object):
        definition = None

    manager = VolumeManager({"clone_from": {"path": str(source), "format": None}}, runner, None)
    manager.pool = _PoolRef(Stored(), backend)
    clone = manager._clone_source()
    assert (clone.format, clone.capacity) == ("vdi", 3 * MI)
    assert len(runner.calls) == 2


# -- every option checked before anything is read or written (issue 10) ------------------------


@pytest.mark.parametrize("overrides, option", [
    ({"capacity": "9" * 5000}, "capacity"),
    ({"capacity": "0" * 5000 + "1"}, "capacity"),
    ({"capacity": str(2 ** 64)}, "capacity"),
    ({"capacity": "10\tM"}, "capacity"),
    ({"allocation": "lots"}, "allocation"),
    ({"cluster_size": "-1"}, "cluster_size"),
    ({"permissions": {"mode": "0_755"}}, "permissions.mode"),
    ({"permissions": {"mode": 755}}, "permissions.mode"),
    ({"format": ""}, "format"),
    ({"format": "qcow"}, "format"),
    ({"name": "a\x7fb.img"}, "name"),
    ({"name": "g\x89"}, "name"),
    ({"clone_from": {"path": "/srv/a\nb.qcow2"}}, "clone_from.path"),
    ({"backing_store": {"path": "/srv/x.qcow2", "format": ""}}, "backing_store.format"),
])
def test_state_absent_refuses_an_invalid_option_and_deletes_nothing(env, overrides, option):
    env.file("disk.img", MI)
    env.file("a\x7fb.img", MI)
    env.file("g\x89", MI)
    before = sorted(os.listdir(env.images))
    params = dict({"state": "absent"}, **overrides)
    with pytest.raises(ValidationError) as caught:
        env.plan(**params)
    message = str(caught.value)
    assert message.startswith(option + "=") and "\n" not in message and "\t" not in message, message
    assert sorted(os.listdir(env.images)) == before


def test_options_are_checked_before_the_store_is_read(tmp_path, quiet_runner):
    # the manager refuses when it is made: the store (here a directory that does not exist) is never opened
    params = {"pool": "images", "name": "disk.img", "state": "absent", "capacity": "1\u0660M"}
    with pytest.raises(ValidationError) as caught:
        VolumeManager(params, quiet_runner, None)
    assert str(caught.value).startswith("capacity=")


def test_an_empty_format_creates_nothing(env):
    with pytest.raises(ValidationError) as caught:
        env.plan(capacity="1M", format="")
    assert str(caught.value).startswith("format='': an empty string")


def test_lazy_refcounts_with_compat_0_10_is_refused_while_planning(env):
    # qemu-img create refuses it; check mode must too
    with pytest.raises(ValidationError) as caught:
        env.plan(name="vm.qcow2", format="qcow2", capacity="1M", compat="0.10", lazy_refcounts=True)
    message = str(caught.value)
    assert message.startswith("lazy_refcounts=True: ") and "compat=0.10" in message and "lazy_refcounts=on" in message


@pytest.mark.parametrize("ref, words", [
    ({"path": "/srv/base.qcow2", "pool": "images", "name": "base.img"}, "not both"),
    ({"path": None, "pool": None, "name": None}, "give path, or pool and name"),
    ({"path": "/srv/base.qcow2", "format": "QCOW2"}, "not an image format read here"),
    ({"path": "/srv/base.qcow2", "format": "vvfat"}, "not an image format read here"),
])
def test_an_image_reference_is_a_path_or_a_pool_volume(env, ref, words):
    for option in ("clone_from", "backing_store"):
        with pytest.raises(ValidationError) as caught:
            env.plan(name="vm.qcow2", format="qcow2", **{option: ref})
        assert str(caught.value).startswith(option) and words in str(caught.value)


def test_a_lookup_by_path_in_a_stopped_pool_names_the_path(env):
    cold = env.pool(name="cold", path=str(env.root / "cold"), state="present")
    path = os.path.join(env.images, "..", "cold", "x.raw")
    with pytest.raises(StorageError) as caught:
        env.plan(pool=None, name=None, path=path, capacity="1M")
    assert str(caught.value) == "path=%r (in pool 'cold'): pool is not running; start it with storage_pool state: running" % path
    assert os.listdir(cold) == []


# -- images given as clone_from and backing_store ----------------------------------------------


@pytest.mark.parametrize("option", ["clone_from", "backing_store"])
def test_a_fifo_or_a_character_device_is_refused_unopened(env, tmp_path, option):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    for path, words in ((fifo, "a FIFO"), ("/dev/null", "a character device"), (str(tmp_path), "a directory")):
        with pytest.raises(ValidationError) as caught:
            env.plan(name="vm.qcow2", format="qcow2", **{option: {"path": path}})
        assert str(caught.value) == "%s=%r: is %s; an image must be a regular file or a block device" % (option, path, words)


def test_a_file_of_the_kernel_is_not_an_image(env):
    with pytest.raises(ValidationError) as caught:
        env.plan(name="copy.img", clone_from={"path": "/proc/self/status"})
    assert str(caught.value) == "clone_from='/proc/self/status': is a file of the kernel's proc file system, not an image"


def test_a_format_the_header_contradicts_is_refused(env):
    # check mode took backing_store.format qcow for a qcow2, which qemu-img create then refused
    base = env.file("base.qcow2", MI, content=_qcow2_header(MI))
    with pytest.raises(ValidationError) as caught:
        env.plan(name="vm.qcow2", format="qcow2", backing_store={"path": base, "format": "qcow"})
    assert str(caught.value) == "backing_store.format='qcow': %s is a qcow2 image, not qcow" % base
    # raw is how any file can be read: allowed
    assert env.descriptions(name="vm.qcow2", format="qcow2", backing_store={"path": base, "format": "raw"}) == \
        ["create qcow2 volume 'vm.qcow2' as an overlay on %s" % base]


def _qcow2_header(size, backing=None):
    """A qcow2 version 3 header (all the probe and the reference reader look at), naming backing."""
    import struct
    name = (backing or "").encode("utf-8")
    header = struct.pack(">4sIQIIQ", b"QFI\xfb", 3, 512 if name else 0, len(name), 16, size)
    header = header.ljust(100, b"\0") + struct.pack(">I", 104)
    return (header.ljust(512, b"\0") + name).ljust(1024, b"\0")


@pytest.mark.parametrize("option", ["clone_from", "backing_store"])
def test_an_image_naming_a_host_file_is_refused_unless_allowed(env, tmp_path, option):
    host_file = tmp_path / "secret.bin"
    host_file.write_bytes(b"secret")
    outside = tmp_path / "host"
    outside.mkdir()
    image = outside / "evil.qcow2"
    image.write_bytes(_qcow2_header(MI, "../secret.bin"))
    args = {"name": "vm.qcow2", "format": "qcow2", option: {"path": str(image)}}
    with pytest.raises(ValidationError) as caught:
        env.plan(**args)
    message = str(caught.value)
    assert message.startswith("%s=%r: the image refers to a file outside itself: %s names '../secret.bin' as its backing file (%s)"
                              % (option, str(image), image, host_file)), message
    assert "allow_references: true" in message
    # trusted: planned (a clone is flattened, never a reflink that keeps the reference)
    manager, actions = env.plan(allow_references=True, **args)
    assert len(actions) == 1
    if option == "clone_from":
        assert manager._clone_source().has_backing


def test_an_image_backed_by_a_pool_volume_is_trusted(env):
    env.file("base.qcow2", MI, content=_qcow2_header(MI))
    overlay = env.file("overlay.qcow2", MI, content=_qcow2_header(MI, "base.qcow2"))
    assert env.descriptions(name="copy.qcow2", clone_from={"path": overlay}) == \
        ["clone %s (qcow2) into volume 'copy.qcow2' (qcow2)" % overlay]


def test_an_image_backed_by_a_volume_of_a_pool_whose_target_is_a_link_is_trusted(env, tmp_path):
    os.symlink(env.images, str(tmp_path / "linked"))
    env.pool(name="linked", path=str(tmp_path / "linked"))
    env.file("base.qcow2", MI, content=_qcow2_header(MI))
    outside = tmp_path / "outside.qcow2"
    outside.write_bytes(_qcow2_header(MI, str(tmp_path / "linked" / "base.qcow2")))
    # the reference resolves to images/base.qcow2, which is also linked/base.qcow2
    assert len(env.descriptions(name="copy.qcow2", clone_from={"path": str(outside)})) == 1


@pytest.mark.parametrize("allow", [False, True])
def test_a_missing_backing_file_is_refused_even_when_allowed(env, tmp_path, allow):
    image = tmp_path / "dangling.qcow2"
    image.write_bytes(_qcow2_header(MI, str(tmp_path / "missing.qcow2")))
    with pytest.raises(ValidationError) as caught:
        env.plan(name="vm.qcow2", format="qcow2", allow_references=allow, backing_store={"path": str(image)})
    assert str(caught.value) == "backing_store=%r: %s names %r as its backing file, which does not exist" % (
        str(image), image, str(tmp_path / "missing.qcow2"))


def test_a_self_backed_image_is_refused_without_running_anything(env, tmp_path):
    image = tmp_path / "self.qcow2"
    image.write_bytes(_qcow2_header(MI, "self.qcow2"))
    for allow in (False, True):
        with pytest.raises(ValidationError) as caught:
            env.plan(name="copy.qcow2", allow_references=allow, clone_from={"path": str(image)})
        assert "has a loop in its chain" in str(caught.value)


def test_a_self_backed_volume_in_the_pool_is_still_listed(env):
    # the chain of an existing volume stops at the loop instead of listing the image 16 times
    env.file("self.qcow2", MI, content=_qcow2_header(MI, "self.qcow2"))
    manager, actions = env.plan(name="self.qcow2")
    assert actions == []
    assert [store.path for store in manager.volume.backing] == [os.path.join(env.images, "self.qcow2")]


def test_a_qemu_img_failure_names_the_option_and_the_volume(env, fake_runner):
    temp = os.path.join(env.images, ".poolcraft-tmp-big.img")
    runner = fake_runner().expect(["qemu-img", "create", "-q", "-f", "raw", temp, str(3 * 2 ** 60)], rc=1,
                                  stderr="qemu-img: %s: Could not resize file: File too large\n" % temp)
    store = env.store()
    manager = VolumeManager(env.params(name="big.img", capacity="3E"), runner, store)
    with store:
        actions = manager.plan()
        with pytest.raises(StorageError) as caught:
            actions[0].apply()
    assert str(caught.value) == "capacity: qemu-img failed for volume 'big.img': qemu-img: %s: Could not resize file: File too large" % temp
    assert os.listdir(env.images) == []
