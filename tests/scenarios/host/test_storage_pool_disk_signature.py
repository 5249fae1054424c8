# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signatures a disk pool build refuses without overwrite (was storage_pool_disk/tasks/signature.yml,
once per signature): on a blank device, a build of another label is refused (the message names
the device and the signature; not a byte changes), and with overwrite: true it proceeds, and the
label asked for is all wipefs finds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess

import pytest

import harness
from disk_pool_host import assert_blank, converge, refused, run_ok, snapshot

# The device: every byte is hashed by each snapshot (six per case), so as small as the signature
# allows: mkfs.xfs wants 300 MiB at least, mkfs.btrfs about 110 MiB (the old target used 320 MiB
# for all of them).
SMALL = "32M"

# how each signature is written on the blank device, the label the pool then asks for, the name
# wipefs gives the signature (in the refusal's message), the tool it needs where that is optional,
# and the size of the device
SIGNATURES = [
    ("ext4", [["mkfs.ext4", "-q", "-F", "@DEV@"]], "gpt", "ext4", None, SMALL),
    ("xfs", [["mkfs.xfs", "-q", "-f", "@DEV@"]], "dos", "xfs", None, "320M"),
    ("btrfs", [["mkfs.btrfs", "-q", "-f", "@DEV@"]], "gpt", "btrfs", None, "128M"),
    ("gpt", [["parted", "-s", "@DEV@", "mklabel", "gpt"]], "dos", "gpt", None, SMALL),
    ("dos", [["parted", "-s", "@DEV@", "mklabel", "msdos"]], "gpt", "dos", None, SMALL),
    ("lvm2 pv", [["pvcreate", "--quiet", "@DEV@"]], "dos", "LVM2_member", None, SMALL),
    ("swap", [["mkswap", "@DEV@"]], "gpt", "swap", None, SMALL),
    # the header only: luksFormat needs no device-mapper (opening it would)
    ("luks", [["cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2", "--pbkdf", "pbkdf2",
               "--pbkdf-force-iterations", "1000", "--key-file", "@KEY@", "@DEV@"]], "dos", "crypto_LUKS", "cryptsetup", SMALL),
]


@pytest.mark.parametrize("name, make, wants, found, optional, size", SIGNATURES,
                         ids=[re.sub(r"\W+", "-", sig[0]) for sig in SIGNATURES])
def test_signature_refused_without_overwrite(name, make, wants, found, optional, size, loop_device, scratch, store, request):
    if optional and not shutil.which(optional):
        pytest.skip("the %s case: %s is not installed here" % (name, optional))
    dev = loop_device(size, name="sig.img")
    assert_blank(loop_device, dev)
    env = None
    if found == "LVM2_member":
        # an lvm.conf of the test's own: this device only, no activation, no backups
        env = request.getfixturevalue("lvm_system")([dev]).env
    # a key file (for LUKS)
    key = os.path.join(scratch, "luks.key")
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("not a secret: a test key")
    for step in make:
        argv = [arg.replace("@DEV@", dev).replace("@KEY@", key) for arg in step]
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              env=env, check=False)
        if proc.returncode != 0:
            if optional:
                pytest.skip("the %s case: writing it failed: %s" % (name, proc.stderr.strip()))
            pytest.fail("%s failed (rc %d): %s" % (" ".join(argv), proc.returncode, proc.stderr.strip()))

    taken = []

    def snap(fingerprint=snapshot(dev, store)):
        taken.append(fingerprint())
        return taken[-1]

    args = {"name": "dk-sig", "type": "disk", "source": {"device": dev, "format": wants}, "build": True, "state": "running"}
    refused("storage_pool", store, args, snap, "source.device", dev, found, "overwrite: true")
    # the device was hashed before the refusal (its "not a byte changed" means something)
    assert re.match(r"^[0-9a-f]{64}$", taken[0]["device"] or ""), taken[0]

    done = converge("storage_pool", store, dict(args, overwrite=True), snap)
    proc = subprocess.run(["wipefs", "--no-act", "--json", "--output", "TYPE", dev], stdout=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0
    now = sorted(set(sig["type"] for sig in json.loads(proc.stdout or "{}").get("signatures", [])))
    actions = " ".join(done.real.actions)
    assert ("erase " + found) in actions, done.real.actions
    assert ("make a %s partition table on %s" % (wants, dev)) in actions, done.real.actions
    assert now == (["PMBR", "gpt"] if wants == "gpt" else ["dos"]), now
    assert done.real["pool"]["state"] == "running"

    # undefine the pool
    run_ok("storage_pool", store, {"name": "dk-sig", "state": "absent"}, changed=True)
    assert not harness.run_module("storage_pool", dict(store, name="dk-sig", state="absent")).changed
