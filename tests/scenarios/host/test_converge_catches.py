# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""converge() itself must catch the two ways a backend breaks the contract, for every pool type:
a planning hook that acts (check mode changes the storage), and a planning hook that always finds
work (the second run reports a change). Each pool type is built for real on its real subsystem
with its own fingerprint, once as it is (converge passes) and once broken (converge fails)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import fingerprints
import harness

from ansible_collections.poolcraft.storage.plugins.module_utils._backends import backend_class
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action


# The pool types whose build runs on this host's kernel. netfs and iscsi need the VM's kernel (NFS
# client, iSCSI initiator); iscsi-direct has nothing to build.
HOST_BUILT_TYPES = ("dir", "disk", "fs", "logical")


def _acts_while_planning(original):
    def plan_build(self, pool, overwrite=False):
        actions = original(self, pool, overwrite)
        for action in actions:
            action.apply()  # the defect: planning does the work
        return actions
    return plan_build


def _always_finds_work(original):
    def plan_build(self, pool, overwrite=False):
        return original(self, pool, overwrite) or [Action("build again", lambda: None)]  # the defect: never done
    return plan_build


def _pool_case(pool_type, scratch, store, loop_device, lvm_system):
    """The task args of one build-and-start of pool_type, and the fingerprint of what it touches."""
    args = dict(store, name="catch", type=pool_type, build=True, state="running")
    parts = {"files": lambda: fingerprints.tree(scratch, exclude=[os.path.join(scratch, "disk0.img")])}
    if pool_type == "dir":
        args["target"] = {"path": os.path.join(scratch, "pool")}
    else:
        device = loop_device("64M")
        parts["device"] = lambda: fingerprints.device(device)
        if pool_type == "fs":
            args.update(source={"device": device, "format": "ext4"}, target={"path": os.path.join(scratch, "pool")},
                        fstab=os.path.join(scratch, "fstab"))
            parts["mounts"] = lambda: fingerprints.mounts(scratch, [device])
        elif pool_type == "disk":
            args.update(source={"device": device, "format": "gpt"})
        elif pool_type == "logical":
            lvm = lvm_system([device])
            args.update(source={"devices": [device]})
            parts["lvm"] = lvm.report
    return args, fingerprints.combine(**parts)


@pytest.mark.parametrize("pool_type", HOST_BUILT_TYPES)
@pytest.mark.parametrize("defect", [None, _acts_while_planning, _always_finds_work],
                         ids=["sound", "acts-while-planning", "always-finds-work"])
def test_converge_catches_broken_backends(pool_type, defect, scratch, store, loop_device, lvm_system, monkeypatch):
    args, fingerprint = _pool_case(pool_type, scratch, store, loop_device, lvm_system)
    backend = backend_class(pool_type)
    if defect is None:
        harness.converge("storage_pool", args, fingerprint)
        return
    monkeypatch.setattr(backend, "plan_build", defect(backend.plan_build))
    with pytest.raises(AssertionError) as caught:
        harness.converge("storage_pool", args, fingerprint)
    expected = "changed the storage" if defect is _acts_while_planning else "second run"
    assert expected in str(caught.value), str(caught.value)
