# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_blockdev: the refusal rules and their messages (DeviceState values), how uses are
read from a sysfs tree, and inspect() on a real loop device when run as root.

The loop device tests attach one loop device over a file in tmp_path, touch
only that device (and the partition parted makes on it), and detach it only
while it still holds that file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError, ValidationError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _blockdev
from ansible_collections.poolcraft.storage.plugins.module_utils._host._blockdev import DeviceState, ensure_writable
from ansible_collections.poolcraft.storage.plugins.module_utils._runner import Runner


def state(signatures=(), uses=(), path="/dev/loop3", name="loop3"):
    return DeviceState(path=path, name=name, signatures=tuple(signatures), uses=tuple(uses))


# -- ensure_writable -------------------------------------------------------------------

@pytest.mark.parametrize("overwrite", [False, True])
def test_blank_and_unused_is_writable(overwrite):
    assert ensure_writable(state(), overwrite) is None


def test_a_signature_needs_overwrite():
    with pytest.raises(StorageError) as caught:
        ensure_writable(state(["ext4"]), False)
    assert str(caught.value) == \
        "source.device /dev/loop3 is not empty, it carries: ext4; set overwrite: true to destroy it"


def test_every_signature_is_named():
    with pytest.raises(StorageError) as caught:
        ensure_writable(state(["gpt", "PMBR"]), False)
    assert "it carries: gpt, PMBR;" in str(caught.value)


@pytest.mark.parametrize("signature", ["ext4", "xfs", "btrfs", "gpt", "dos", "LVM2_member", "swap",
                                       "crypto_LUKS", "linux_raid_member", "zfs_member"])
def test_any_signature_with_overwrite_is_writable(signature):
    with pytest.raises(StorageError):
        ensure_writable(state([signature]), False)
    assert ensure_writable(state([signature]), True) is None


@pytest.mark.parametrize("uses, words", [
    (["mounted at /srv/pool"], "(mounted at /srv/pool)"),
    (["held by dm-0"], "(held by dm-0)"),
    (["active swap"], "(active swap)"),
    (["partition loop3p1 mounted at /mnt"], "(partition loop3p1 mounted at /mnt)"),
    (["mounted at /a", "mounted at /b", "held by md0"], "(mounted at /a, mounted at /b, held by md0)"),
])
@pytest.mark.parametrize("overwrite", [False, True])
def test_in_use_is_refused_even_with_overwrite(uses, words, overwrite):
    with pytest.raises(StorageError) as caught:
        ensure_writable(state(["ext4"], uses), overwrite)
    assert str(caught.value) == \
        "source.device /dev/loop3 is in use %s; refusing to write to it, even with overwrite" % words


def test_in_use_without_signature_is_refused_too():
    with pytest.raises(StorageError) as caught:
        ensure_writable(state(uses=["active swap"]), True)
    assert "in use (active swap)" in str(caught.value)


def test_in_use_is_said_before_the_signature():
    # what blocks even overwrite is the more useful message
    with pytest.raises(StorageError) as caught:
        ensure_writable(state(["swap"], ["active swap"]), False)
    assert "in use" in str(caught.value)
    assert "carries" not in str(caught.value)


def test_option_name_is_in_the_message():
    with pytest.raises(StorageError) as caught:
        ensure_writable(state(["xfs"]), False, option="source.devices[1]")
    assert str(caught.value).startswith("source.devices[1] /dev/loop3 is not empty")


def test_in_use_property():
    assert not state().in_use
    assert not state(["ext4"]).in_use
    assert state(uses=["held by dm-3"]).in_use


# -- resolve -------------------------------------------------------------------------------

@pytest.mark.parametrize("device", ["", None, "dev/loop0", "loop0", "./loop0"])
def test_resolve_wants_an_absolute_path(device):
    with pytest.raises(ValidationError) as caught:
        _blockdev.resolve(device)
    assert str(caught.value) == "source.device=%r: must be an absolute path to a block device" % (device,)


def test_resolve_missing(tmp_path):
    missing = str(tmp_path / "nothing")
    with pytest.raises(ValidationError) as caught:
        _blockdev.resolve(missing)
    assert str(caught.value) == "source.device=%r: no such device" % missing


@pytest.mark.parametrize("kind", ["file", "dir", "char"])
def test_resolve_not_a_block_device(tmp_path, kind):
    if kind == "file":
        path = tmp_path / "disk.img"
        path.write_bytes(b"\0" * 4096)
        path = str(path)
    elif kind == "dir":
        path = str(tmp_path)
    else:
        path = "/dev/null"
    with pytest.raises(ValidationError) as caught:
        _blockdev.resolve(path, option="source.devices")
    assert str(caught.value) == "source.devices=%r: not a block device" % path


def test_resolve_dangling_link(tmp_path):
    link = tmp_path / "by-id"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(ValidationError) as caught:
        _blockdev.resolve(str(link))
    assert "no such device" in str(caught.value)


# -- uses, from a sysfs tree made in tmp_path ---------------------------------------------

@pytest.fixture
def sysfs(tmp_path, monkeypatch):
    """A /sys/class/block look-alike: loop3 (7:3) with partitions loop3p1 (259:0), loop3p2 (259:1)."""
    root = tmp_path / "class-block"

    def add(name, dev, partition=False, holders=()):
        node = root / name
        (node / "holders").mkdir(parents=True)
        (node / "dev").write_text(dev + "\n")
        if partition:
            (node / "partition").write_text("1\n")
        for holder in holders:
            (node / "holders" / holder).mkdir()
        return node

    add("loop3", "7:3")
    add("loop3p1", "259:0", partition=True)
    add("loop3p2", "259:1", partition=True, holders=["dm-0"])
    add("loop4", "7:4", holders=["md0", "dm-1"])
    # a partition's own directory is also found under its disk's
    for part in ("loop3p1", "loop3p2"):
        shutil.copytree(str(root / part), str(root / "loop3" / part))
    # and a child that is not a partition
    (root / "loop3" / "queue").mkdir()
    monkeypatch.setattr(_blockdev, "SYS_BLOCK", str(root))
    return root


def test_no_uses(sysfs):
    assert _blockdev._uses_of("loop3", {}, set()) == []


def test_mounted_by_major_minor_and_by_name(sysfs):
    mounted = {"7:3": ["/srv/a", "/srv/b"], "/dev/loop3": ["/srv/btrfs"], "7:30": ["/elsewhere"]}
    assert _blockdev._uses_of("loop3", mounted, set()) == ["mounted at /srv/a", "mounted at /srv/b",
                                                           "mounted at /srv/btrfs"]


def test_holders_sorted(sysfs):
    assert _blockdev._uses_of("loop4", {}, set()) == ["held by dm-1", "held by md0"]


def test_active_swap(sysfs):
    assert _blockdev._uses_of("loop3", {}, {"loop3", "zram0"}) == ["active swap"]
    assert _blockdev._uses_of("loop3", {}, {"loop30"}) == []


def test_partitions_are_the_children_that_say_so(sysfs):
    assert _blockdev.partitions("loop3") == ["loop3p1", "loop3p2"]
    assert _blockdev.partitions("loop4") == []
    assert _blockdev.partitions("nosuchdisk") == []


def test_a_device_gone_from_sysfs_has_no_dev_but_may_be_mounted(sysfs):
    assert _blockdev._uses_of("gone", {"/dev/gone": ["/x"]}, set()) == ["mounted at /x"]


# -- inspect on a real loop device (root only) ------------------------------------------------

def _need_root_and(*tools):
    if os.geteuid() != 0:
        pytest.skip("needs root: attaches a loop device")
    for tool in tools:
        if shutil.which(tool) is None and not os.path.exists(os.path.join("/usr/sbin", tool)) \
                and not os.path.exists(os.path.join("/sbin", tool)):
            pytest.skip("needs %s" % tool)


def _sh(*argv):
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    return subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env, check=True).stdout


@pytest.fixture
def loop_device(tmp_path):
    """A loop device over a 256 MiB sparse file (btrfs wants more than 100) in tmp_path; detached (with its
    partitions dropped) at the end, only while it still holds that file."""
    _need_root_and("losetup", "wipefs", "mkfs.ext4", "mount", "umount")
    image = str(tmp_path / "disk.img")
    with open(image, "wb") as handle:
        handle.truncate(256 * 1024 * 1024)
    try:
        device = _sh("losetup", "--find", "--show", image).strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip("cannot attach a loop device here: %s" % exc)
    mounts = []
    try:
        yield device, mounts
    finally:
        for target in reversed(mounts):
            subprocess.call(["umount", target])
        backing = subprocess.run(["losetup", "--list", "--noheadings", "--output", "BACK-FILE", device],
                                 stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout.strip()
        if backing == image:
            if os.path.isdir(os.path.join("/sys/class/block", os.path.basename(device))):
                for part in _blockdev.partitions(os.path.basename(device)):
                    subprocess.call(["partx", "--delete", "--nr", part.rsplit("p", 1)[1], device],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.call(["losetup", "--detach", device])


def _mount(device, target, mounts):
    os.mkdir(target)
    _sh("mount", device, target)
    mounts.append(target)


def test_inspect_blank_device(loop_device):
    device, _mounts = loop_device
    found = _blockdev.inspect(device, Runner())
    assert found == DeviceState(path=device, name=os.path.basename(device), signatures=(), uses=())
    assert ensure_writable(found, False) is None


def test_inspect_follows_links(loop_device, tmp_path):
    device, _mounts = loop_device
    link = tmp_path / "by-id-link"
    link.symlink_to(device)
    found = _blockdev.inspect(str(link), Runner())
    assert found.path == device
    assert found.name == os.path.basename(device)


def test_inspect_filesystem_then_mounted(loop_device, tmp_path):
    device, mounts = loop_device
    _sh("mkfs.ext4", "-q", "-F", device)
    found = _blockdev.inspect(device, Runner())
    assert found.signatures == ("ext4",)
    assert found.uses == ()
    with pytest.raises(StorageError) as caught:
        ensure_writable(found, False)
    assert "carries: ext4" in str(caught.value)

    target = str(tmp_path / "mnt")
    _mount(device, target, mounts)
    found = _blockdev.inspect(device, Runner())
    assert found.uses == ("mounted at %s" % target,)
    with pytest.raises(StorageError) as caught:
        ensure_writable(found, True)
    assert str(caught.value) == ("source.device %s is in use (mounted at %s); refusing to write to it, even with overwrite"
                                 % (device, target))


def test_inspect_mounted_btrfs(loop_device, tmp_path):
    """btrfs mounts carry an anonymous device number: found through the mount's source instead."""
    _need_root_and("mkfs.btrfs")
    device, mounts = loop_device
    _sh("mkfs.btrfs", "-q", "-f", device)
    target = str(tmp_path / "mnt")
    _mount(device, target, mounts)
    found = _blockdev.inspect(device, Runner())
    assert found.signatures == ("btrfs",)
    assert found.uses == ("mounted at %s" % target,)


def test_inspect_mounted_partition(loop_device, tmp_path):
    """A partition in use makes its whole disk in use (parted makes the partition node itself)."""
    _need_root_and("parted", "partx")
    device, mounts = loop_device
    _sh("parted", "-s", device, "mklabel", "gpt", "mkpart", "p1", "ext4", "1MiB", "40MiB")
    part = device + "p1"
    if not os.path.exists(part):
        pytest.skip("parted made no partition node %s here" % part)
    _sh("mkfs.ext4", "-q", "-F", part)
    found = _blockdev.inspect(device, Runner())
    assert found.signatures == ("gpt", "PMBR")
    assert found.uses == ()
    target = str(tmp_path / "mnt")
    _mount(part, target, mounts)
    found = _blockdev.inspect(device, Runner())
    assert found.uses == ("partition %s mounted at %s" % (os.path.basename(part), target),)
    with pytest.raises(StorageError) as caught:
        ensure_writable(found, True)
    assert "in use (partition %s mounted at %s)" % (os.path.basename(part), target) in str(caught.value)


def test_inspect_not_a_block_device(tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(b"")
    with pytest.raises(ValidationError) as caught:
        _blockdev.inspect(str(image), Runner())
    assert "not a block device" in str(caught.value)


@pytest.mark.parametrize("device, words", [("/dev/a\x00b", "NUL"), ("/dev/vda\n", "U+000A"), ("/dev/a\x1bb", "U+001B")])
def test_resolve_refuses_nul_and_control_characters(device, words):
    with pytest.raises(ValidationError) as caught:
        _blockdev.resolve(device, option="devices")
    assert str(caught.value).startswith("devices=%r: " % device) and words in str(caught.value)
