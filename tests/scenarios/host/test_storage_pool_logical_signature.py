# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signatures a build refuses without overwrite (was storage_pool_logical/tasks/signature.yml, once
per signature of lg_signatures): the build is refused without overwrite (the message names the
device and the signature; nothing changes, the device's sha256 included), and with overwrite: true
it proceeds: the old signature is erased and the device becomes a PV of the VG. LVM metadata only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess

import pytest

import logical_pool_host as common

# name, how it is written onto a blank device, the name wipefs gives it (in the refusal's message),
# the size of the device it needs (mkfs.xfs wants 300 MiB, mkfs.btrfs over 64 MiB), and the tool
# whose absence (or failure) skips the case
SIGNATURES = [
    ("ext4", [["mkfs.ext4", "-q", "-F", "@DEV@"]], "ext4", common.SIZE, None),
    ("xfs", [["mkfs.xfs", "-q", "-f", "@DEV@"]], "xfs", "320M", None),
    ("btrfs", [["mkfs.btrfs", "-q", "-f", "@DEV@"]], "btrfs", "128M", None),
    ("gpt", [["parted", "-s", "@DEV@", "mklabel", "gpt"]], "gpt", common.SIZE, None),
    ("dos", [["parted", "-s", "@DEV@", "mklabel", "msdos"]], "dos", common.SIZE, None),
    ("lvm2 pv", [["lvm", "pvcreate", "--quiet", "@DEV@"]], "LVM2_member", common.SIZE, None),
    ("swap", [["mkswap", "@DEV@"]], "swap", common.SIZE, None),
    # the header only: luksFormat needs no device-mapper (opening it would)
    ("luks", [["cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2", "--pbkdf", "pbkdf2",
               "--pbkdf-force-iterations", "1000", "--key-file", "@KEY@", "@DEV@"]], "crypto_LUKS", common.SIZE, "cryptsetup"),
]


released = common.released


@pytest.fixture
def lg(request, released, scratch, store, loop_device, lvm_system):
    yield from common.logical_host(released, scratch, store, loop_device, lvm_system, sizes=(request.param[3], common.SIZE))


def wipefs_types(dev):
    out = subprocess.run(["wipefs", "--no-act", "--json", "--output", "TYPE", dev], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    return [sig["type"] for sig in json.loads(out or '{"signatures": []}')["signatures"]]


@pytest.mark.parametrize("lg", SIGNATURES, ids=[sig[0] for sig in SIGNATURES], indirect=True)
def test_signature_refused_without_overwrite(lg, request):
    name, make, found, _size, optional = request.node.callspec.params["lg"]
    dev0, dev1 = lg.devs
    if optional and shutil.which(optional) is None:
        pytest.skip("SKIPPED the %s case: %s is not installed here" % (name, optional))
    lg.blank()
    key = os.path.join(lg.scratch, "luks.key")
    with open(key, "w") as handle:
        handle.write("not a secret: a test key")
    os.chmod(key, 0o600)
    for step in make:
        argv = [arg.replace("@DEV@", dev0).replace("@KEY@", key) for arg in step]
        made = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              env=lg.lvm.env, check=False)
        if made.returncode != 0 and optional:
            pytest.skip("SKIPPED the %s case: writing it failed: %s" % (name, made.stderr.strip()))
        assert made.returncode == 0, "%s failed: %s" % (" ".join(argv), made.stderr.strip())
    assert found in wipefs_types(dev0)

    args = dict(name="pcsig", type="logical", source={"devices": [dev0, dev1]}, build=True, state="present")
    before, after = lg.refused(args, ["source.devices", dev0, found, "overwrite: true"])
    assert len(before["devices"][dev0]["sha256"] or "") == 64
    assert after["devices"][dev0] == before["devices"][dev0]

    runs = lg.four(overwrite=True, **args)
    now = sorted(set(wipefs_types(dev0)))
    build = " ".join(action for action in runs.real.actions if action.startswith("build "))
    assert "erase " + found in build, runs.real.actions
    assert "make %s a physical volume" % dev0 in build
    assert "make %s a physical volume" % dev1 in build
    assert len(build.split("erase ")) == 2, runs.real.actions
    assert now == ["LVM2_member"]
    assert runs.real["pool"]["state"] == "stopped"

    lg.ok_pool(name="pcsig", state="absent", purge=True)
