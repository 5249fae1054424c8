# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Without device-mapper, what needs an active LV or a device-mapper target is refused cleanly and
leaves nothing behind (was storage_pool_logical/tasks/no_activation.yml): a thin pool (LVM's own
refusal), a clone (the new LV is removed again), a snapshot (its origin has no device node), and
wipe (the volume is kept). The host's kernel has no device-mapper: LVM metadata only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import harness
import logical_pool_host as common


released = common.released


@pytest.fixture
def lg(released, scratch, store, loop_device, lvm_system):
    yield from common.logical_host(released, scratch, store, loop_device, lvm_system, sizes=(common.SIZE,))


def test_what_needs_activation_fails_cleanly(lg, pool_schema):
    lg.blank()
    lg.ok_pool(name="pcna", type="logical", source={"devices": [lg.devs[0]]}, build=True, state="running")
    lg.ok_volume(pool="pcna", name="v1", capacity="8MiB")
    src = os.path.join(lg.scratch, "src.raw")
    with open(src, "wb") as handle:
        handle.truncate(4 * common.MIB)
    before = lg.fingerprint()

    clone = lg.volume(pool="pcna", name="c1", clone_from={"path": src})
    snapshot = lg.volume(pool="pcna", name="s1", capacity="4MiB", backing_store={"pool": "pcna", "name": "v1"})
    wipe = lg.volume(pool="pcna", name="v1", state="absent", wipe="zero")
    thin_check = lg.pool(check=True, name="pcna", thin_pool={"name": "tp", "size": "16MiB"}, build=True)
    assert not thin_check.failed, thin_check.msg
    thin = lg.pool(name="pcna", thin_pool={"name": "tp", "size": "16MiB"}, build=True)
    harness.assert_clean_failure(thin, "lvcreate", "thin-pool", "device-mapper")
    harness.assert_clean_failure(clone, "/dev/pcna/c1", "no device node", "activation is off")
    harness.assert_clean_failure(snapshot, "backing_store", "/dev/pcna/v1 does not exist")
    harness.assert_clean_failure(wipe, "wipe needs the LV active", "/dev/pcna/v1", "nothing was deleted")
    after = lg.fingerprint()

    assert thin_check.actions == ["update definition of pool 'pcna' (thin_pool)",
                                  "build pool 'pcna' (create thin pool tp of 16.0 MiB in pcna)"]
    # LVM is as it was (no clone LV, v1 kept): all of its report but the VG's sequence number
    assert common.without_seqno(after["lvm"]) == common.without_seqno(before["lvm"])
    with open(os.path.join(lg.store["config_dir"], "pcna.xml")) as handle:
        definition = handle.read()
    # the definition names the thin pool, in poolcraft's namespace, and is valid libvirt pool XML once
    # poolcraft's own elements are left out
    assert '<poolcraft:thin_pool name="tp" size="16777216"/>' in definition, definition
    pool_schema(os.path.join(lg.store["config_dir"], "pcna.xml"), strip_poolcraft=True)

    # its definition now names the thin pool
    lg.ok_pool(name="pcna", state="absent")
