# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A signature on the blank device (storage_pool_fs/tasks/signature.yml and defaults/main.yml's
fs_signatures): a build that asks for another filesystem is refused without overwrite (the message
names the device and the signature; the device's bytes do not change), and with overwrite: true it
proceeds and the new filesystem is there, alone."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import pytest

import fs_pool_host as common
from system import run

fs_host = common.fs_host

# name, how it is written (@DEV@, @KEY@), the filesystem the pool then asks for, the name wipefs gives
# the signature, the tool it needs if it may be missing, and a device size that both fit on
# (mkfs.xfs wants 300 MiB, mkfs.btrfs about 110 MiB)
SIGNATURES = [
    ("ext4", [["mkfs.ext4", "-q", "-F", "@DEV@"]], "xfs", "ext4", None, "320M"),
    ("xfs", [["mkfs.xfs", "-q", "-f", "@DEV@"]], "btrfs", "xfs", None, "320M"),
    ("btrfs", [["mkfs.btrfs", "-q", "-f", "@DEV@"]], "ext4", "btrfs", None, "128M"),
    ("gpt", [["parted", "-s", "@DEV@", "mklabel", "gpt"]], "ext4", "gpt", None, "64M"),
    ("dos", [["parted", "-s", "@DEV@", "mklabel", "msdos"]], "xfs", "dos", None, "320M"),
    ("lvm2 pv", [["pvcreate", "--quiet", "@DEV@"]], "btrfs", "LVM2_member", None, "128M"),
    ("swap", [["mkswap", "@DEV@"]], "ext4", "swap", None, "64M"),
    # the header only: luksFormat needs no device-mapper (opening it would)
    ("luks", [["cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2", "--pbkdf", "pbkdf2",
               "--pbkdf-force-iterations", "1000", "--key-file", "@KEY@", "@DEV@"]], "xfs", "crypto_LUKS", "cryptsetup", "320M"),
]


@pytest.mark.parametrize("name, make, wants, found, optional, size", SIGNATURES, ids=[sig[0] for sig in SIGNATURES])
def test_signature(fs_host, lvm_system, name, make, wants, found, optional, size):
    if optional and not shutil.which(optional):
        pytest.skip("%s is not installed here" % optional)
    host = fs_host(size)
    dev = host.dev
    # an lvm.conf of the test's own: this device only, no activation, no backups
    lvm = lvm_system([dev])
    key = os.path.join(host.scratch, "luks.key")
    with open(key, "w") as handle:
        handle.write("not a secret: a test key")
    os.chmod(key, 0o600)
    for step in make:
        run(*[arg.replace("@DEV@", dev).replace("@KEY@", key) for arg in step], env=lvm.env)
    assert found in common.wipefs_types(dev), common.wipefs_types(dev)

    pool = "fs-sig-%s" % name.replace(" ", "-")
    sig_target = os.path.join(host.mnt, "sig")
    args = dict(name=pool, type="fs", source={"device": dev, "format": wants}, target={"path": sig_target},
                build=True, state="present")
    try:
        # a build of another filesystem is refused without overwrite, the device untouched
        refusal = host.refused(args, "source.device", dev, found, "overwrite: true")
        assert isinstance(refusal.before["device"]["sha256"], str)
        assert len(refusal.before["device"]["sha256"]) == 64
        assert refusal.after["device"]["sha256"] == refusal.before["device"]["sha256"]

        # with overwrite: true the old signature is gone, the new filesystem is there alone
        done = host.converge(overwrite=True, **args)
        now = sorted(set(common.wipefs_types(dev)))
        joined = " ".join(done.real.actions)
        assert len(done.before["device"]["sha256"] or "") == 64, done.before["device"]
        assert len([action for action in done.real.actions if action.startswith("build ")]) == 1, done.real.actions
        assert ("erase " + found) in joined, done.real.actions
        assert ("make %s on %s" % (wants, dev)) in joined, done.real.actions
        assert now == [wants], now
        assert done.real["pool"]["state"] == "stopped"
    finally:
        removed = host.pool(name=pool, state="absent", purge=True)
    assert not removed.failed and not os.path.exists(sig_target), dict(removed)
