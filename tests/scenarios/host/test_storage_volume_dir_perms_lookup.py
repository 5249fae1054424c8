# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""storage_volume in dir pools, permissions and lookups (was storage_volume_dir's perms_lookup.yml):
permissions given at creation, drift put back; a volume found by its path or by its key (also to
create one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

import dir_volume_pools as common
from dir_volume_pools import MIB, TEST_GID, TEST_UID


@pytest.fixture
def pools(scratch, store, volume_schema):
    return common.DirPools(scratch, store, volume_schema)


def test_permissions(pools):
    # the ids as Ansible 2.19 passes "{{ poolcraft_test_uid }}": numbers (the module's type is str)
    perm_args = dict(pool="vols", name="perm.raw", capacity="1M",
                     permissions={"mode": "0640", "owner": TEST_UID, "group": TEST_GID})
    path = os.path.join(pools.vols, "perm.raw")
    done, st, _info = pools.new_volume("raw", MIB, **perm_args)
    assert done.real["volume"]["permissions"] == {"mode": "0640", "owner": TEST_UID, "group": TEST_GID, "label": None}
    assert done.check["diff"]["after"]["permissions"]["mode"] == "0640"
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_uid == TEST_UID
    assert st.st_gid == TEST_GID
    assert "<mode>0640</mode>" in done.real["volume"]["xml"]

    # -- drift: mode, owner and group changed by hand, reported and put back
    os.chmod(path, 0o666)
    os.chown(path, 0, 0)
    done = pools.converge(**perm_args)
    st = os.lstat(path)
    assert done.real.actions == ["set mode/owner/group of volume 'perm.raw'"]
    assert done.check["diff"]["before"]["permissions"]["mode"] == "0666"
    assert done.check["diff"]["after"]["permissions"]["mode"] == "0640"
    assert done.check["diff"]["after"]["permissions"]["owner"] == TEST_UID
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_uid == TEST_UID
    assert st.st_gid == TEST_GID


def test_lookup_by_path_and_key(pools):
    pools.make(pool="vols", name="perm.raw", capacity="1M", permissions={"mode": "0640"})
    pools.make(pool="vols", name="base.qcow2", format="qcow2", capacity="32M")
    pools.make(pool="other", name="copy.qcow2", clone_from={"pool": "vols", "name": "base.qcow2"})

    by_path = pools.volume(path=os.path.join(pools.vols, "perm.raw"))
    by_key = pools.volume(key=by_path["volume"]["key"])
    assert not by_path.failed and not by_path.changed, by_path
    assert by_path["volume"]["name"] == "perm.raw"
    assert by_path["volume"]["pool"] == "vols"
    assert by_path["volume"]["capacity"] == MIB
    assert by_path["volume"]["permissions"]["mode"] == "0640"
    assert not by_key.failed and not by_key.changed, by_key
    assert by_key["volume"] == by_path["volume"]

    # -- a volume of the second pool, by path
    other = pools.volume(path=os.path.join(pools.other, "copy.qcow2"))
    assert not other.failed and not other.changed, other
    assert other["volume"]["pool"] == "other"
    assert other["volume"]["format"] == "qcow2"

    # -- create by path: in the pool that holds the path
    bypath = os.path.join(pools.vols, "bypath.qcow2")
    done = pools.converge(path=bypath, format="qcow2", capacity="8M")
    assert done.real.actions == ["create qcow2 volume 'bypath.qcow2' of 8.0 MiB"]
    assert done.real["volume"]["pool"] == "vols"
    assert done.real["volume"]["path"] == bypath
    assert done.real["volume"]["capacity"] == 8 * MIB

    # -- grow by key
    done = pools.converge(key=bypath, capacity="16M")
    assert done.real.actions == ["grow volume 'bypath.qcow2' from 8.0 MiB to 16.0 MiB"]
    assert done.real["volume"]["capacity"] == 16 * MIB
