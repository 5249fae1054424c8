# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the storage_volume dir scenarios share (was storage_volume_dir's main.yml, new_volume.yml
and setup_poolcraft's checks): the pools vols and other (running) and stopped (stopped) in the
test's scratch directory, the converge contract with the whole scratch tree as fingerprint, and
the checks every new volume must pass.

No tests here; the test_storage_volume_dir_<topic>.py files import it (pytest puts this directory
on sys.path, as it does the conftest's)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import stat

import fingerprints
import harness
from system import run

TEST_UID = 4242  # numeric ids given to volumes in the ownership tests; they need not exist
TEST_GID = 4243
TEMP_PREFIX = ".poolcraft-tmp-"
MIB = 1 << 20
GIB = 1 << 30


def qemu_info(path, chain=False):
    """qemu-img's view of an image (with chain: of its whole backing chain, nearest first)."""
    argv = ["qemu-img", "info", "--output=json"] + (["--backing-chain"] if chain else []) + [path]
    return json.loads(run(*argv))


def temporaries(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith(TEMP_PREFIX))


class DirPools(object):
    """The pools of the dir scenarios, under scratch: pools/vols and pools/other running,
    pools/stopped defined but stopped, and host/ for images outside any pool."""

    def __init__(self, scratch, store, volume_schema):
        # setup_poolcraft's checks: root (volumes are given to other owners) and the tools
        assert os.geteuid() == 0, "the dir scenarios need root"
        for tool in ("qemu-img", "qemu-io"):
            assert shutil.which(tool), "%s is not installed" % tool
        self.scratch = scratch
        self.store = store
        self.volume_schema = volume_schema
        self.pools = os.path.join(scratch, "pools")
        self.vols = os.path.join(self.pools, "vols")
        self.other = os.path.join(self.pools, "other")
        self.host_dir = os.path.join(scratch, "host")
        for path in (self.pools, self.host_dir):
            os.makedirs(path, mode=0o755)
        for name, state in (("vols", "running"), ("other", "running"), ("stopped", "stopped")):
            made = self.pool(name=name, type="dir", target={"path": os.path.join(self.pools, name)},
                             build=True, state=state)
            assert made.changed and not made.failed, made

    def fingerprint(self):
        return {"files": fingerprints.tree(self.scratch)}

    def pool(self, check=False, diff=False, **args):
        return harness.run_module("storage_pool", dict(self.store, **args), check=check, diff=diff)

    def volume(self, check=False, diff=False, **args):
        return harness.run_module("storage_volume", dict(self.store, **args), check=check, diff=diff)

    def make(self, **args):
        """A volume the scenario needs but does not test (made by an earlier file of the old
        life cycle)."""
        made = self.volume(**args)
        assert made.changed and not made.failed, made
        return made

    def converge(self, **args):
        """converge.yml: check mode with the scratch tree unchanged, for real, again, check again."""
        return harness.converge("storage_volume", dict(self.store, **args), self.fingerprint)

    def refused(self, args, *expect, **kwargs):
        """assert_failure.yml, in check mode and for real, with the scratch tree unchanged."""
        fingerprint = kwargs.pop("fingerprint", self.fingerprint)
        return harness.refused("storage_volume", dict(self.store, **args), fingerprint, *expect, **kwargs)

    def new_volume(self, vol_format, vol_capacity, **args):
        """new_volume.yml: create a volume (the converge contract) and check what every new volume
        must be: result, diff, file, qemu-img's view, its XML against storagevol.rng, and no
        temporary file left. Returns (Converged, os.lstat of the file, qemu-img's view)."""
        done = self.converge(**args)
        pool_dir = os.path.join(self.pools, args["pool"])
        path = os.path.join(pool_dir, args["name"])
        st = os.lstat(path)
        info = qemu_info(path)
        check, vol, again = done.check, done.real["volume"], done.again["volume"]
        assert check["diff"]["before"] == {"state": "absent"}
        assert check["diff"]["after"]["name"] == args["name"]
        assert check["diff"]["after"]["format"] == vol_format
        assert check["diff"]["after"]["path"] == path
        assert check["volume"]["state"] == "absent"
        assert vol["name"] == args["name"]
        assert vol["pool"] == args["pool"]
        assert vol["state"] == "present"
        assert vol["path"] == path
        assert vol["key"] == path
        assert vol["type"] == "file"
        assert vol["format"] == vol_format
        assert vol["capacity"] == vol_capacity
        assert isinstance(vol["allocation"], int) and not isinstance(vol["allocation"], bool), vol
        assert vol["allocation"] == st.st_blocks * 512
        assert again["capacity"] == vol["capacity"]
        assert again["backing_chain"] == vol["backing_chain"]
        assert again["permissions"] == vol["permissions"]
        assert stat.S_ISREG(st.st_mode)
        assert info["format"] == vol_format
        assert info["virtual-size"] == vol_capacity
        assert temporaries(pool_dir) == []
        self.volume_schema(vol["xml"])
        return done, st, info
