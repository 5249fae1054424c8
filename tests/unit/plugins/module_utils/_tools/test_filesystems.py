# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filesystems: the argv of mkfs, mount and umount (FakeRunner), and how a busy umount reads."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import CommandError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._tools._filesystems import MKFS, MOUNTABLE, Filesystems

TOOLS = ("mkfs.ext2", "mkfs.ext3", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "mount", "umount")
# what umount (util-linux 2.38.1) prints for a mount point with a file open in it
BUSY = "umount: /srv/pool: target is busy.\n"


@pytest.fixture
def runner(fake_runner):
    made = fake_runner()
    made.commands.update(TOOLS)
    return made


@pytest.mark.parametrize("fstype, argv", [
    ("ext2", ["mkfs.ext2", "-q", "-F", "/dev/loop3"]),
    ("ext3", ["mkfs.ext3", "-q", "-F", "/dev/loop3"]),
    ("ext4", ["mkfs.ext4", "-q", "-F", "/dev/loop3"]),
    ("xfs", ["mkfs.xfs", "-q", "-f", "/dev/loop3"]),
    ("btrfs", ["mkfs.btrfs", "-q", "-f", "/dev/loop3"]),
])
def test_make(runner, fstype, argv):
    runner.expect(argv)
    Filesystems(runner).make("/dev/loop3", fstype)
    assert runner.calls == [argv]


def test_make_knows_exactly_these():
    assert sorted(MKFS) == ["btrfs", "ext2", "ext3", "ext4", "xfs"]


def test_everything_it_makes_it_can_mount():
    assert set(MKFS) <= MOUNTABLE
    # signatures that are not filesystems are never taken for one
    assert not MOUNTABLE & {"gpt", "dos", "PMBR", "swap", "LVM2_member", "crypto_LUKS", "linux_raid_member", "auto"}


def test_make_of_an_unknown_filesystem_runs_nothing(runner):
    with pytest.raises(KeyError):
        Filesystems(runner).make("/dev/loop3", "vfat")
    assert runner.calls == []


def test_mkfs_failure_is_a_command_error(runner):
    # what mkfs.xfs (xfsprogs 6.1) prints on a 100 MiB device, less its usage text
    runner.expect(["mkfs.xfs", "-q", "-f", "/dev/loop3"], rc=1,
                  stderr="Filesystem must be larger than 300MB.\nUsage: mkfs.xfs\n")
    with pytest.raises(CommandError) as caught:
        Filesystems(runner).make("/dev/loop3", "xfs")
    assert "mkfs.xfs -q -f /dev/loop3 failed (rc=1)" in str(caught.value)
    assert "Filesystem must be larger than 300MB." in str(caught.value)


@pytest.mark.parametrize("fstype, options, argv", [
    ("ext4", (), ["mount", "-t", "ext4", "/dev/loop3", "/srv/pool"]),
    ("xfs", ["noatime"], ["mount", "-t", "xfs", "-o", "noatime", "/dev/loop3", "/srv/pool"]),
    ("btrfs", ("noatime", "compress=zstd"), ["mount", "-t", "btrfs", "-o", "noatime,compress=zstd", "/dev/loop3", "/srv/pool"]),
    # auto (or none): mount finds the type itself
    ("auto", (), ["mount", "/dev/loop3", "/srv/pool"]),
    (None, ["ro"], ["mount", "-o", "ro", "/dev/loop3", "/srv/pool"]),
])
def test_mount(runner, fstype, options, argv):
    runner.expect(argv)
    Filesystems(runner).mount("/dev/loop3", "/srv/pool", fstype, options)
    assert runner.calls == [argv]


def test_mount_defaults(runner):
    runner.expect(["mount", "/dev/loop3", "/srv/pool"])
    Filesystems(runner).mount("/dev/loop3", "/srv/pool")


def test_paths_with_spaces_stay_one_argument(runner):
    argv = ["mount", "-t", "ext4", "/dev/disk/by-label/my disk", "/srv/my pool"]
    runner.expect(argv)
    Filesystems(runner).mount("/dev/disk/by-label/my disk", "/srv/my pool", "ext4")
    assert runner.calls == [argv]


def test_mount_failure_is_a_command_error(runner):
    runner.expect(["mount", "-t", "xfs", "/dev/loop3", "/srv/pool"], rc=32,
                  stderr="mount: /srv/pool: wrong fs type, bad option, bad superblock on /dev/loop3.\n")
    with pytest.raises(CommandError) as caught:
        Filesystems(runner).mount("/dev/loop3", "/srv/pool", "xfs")
    assert caught.value.rc == 32
    assert "wrong fs type" in str(caught.value)


def test_umount(runner):
    runner.expect(["umount", "/srv/pool"])
    Filesystems(runner).umount("/srv/pool")
    assert runner.calls == [["umount", "/srv/pool"]]


def test_busy_umount_says_so(runner):
    runner.expect(["umount", "/srv/pool"], rc=32, stderr=BUSY)
    with pytest.raises(StorageError) as caught:
        Filesystems(runner).umount("/srv/pool")
    assert not isinstance(caught.value, CommandError)
    assert str(caught.value) == \
        "/srv/pool is busy: a volume or file in it is open; close it before stopping the pool"


def test_other_umount_failures_stay_command_errors(runner):
    runner.expect(["umount", "/srv/pool"], rc=32, stderr="umount: /srv/pool: not mounted.\n")
    with pytest.raises(CommandError) as caught:
        Filesystems(runner).umount("/srv/pool")
    assert "not mounted" in str(caught.value)
