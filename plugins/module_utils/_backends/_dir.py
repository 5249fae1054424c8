# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dir pools: a directory of image files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.poolcraft.storage.plugins.module_utils import _perms
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._file_volumes import FileVolumes
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError


class DirBackend(FileVolumes, PoolBackend):

    pool_type = "dir"

    def is_built(self, pool):
        return os.path.isdir(pool.target_path)

    def build_steps(self, pool, overwrite):
        return [] if self.is_built(pool) else ["create %s" % pool.target_path]

    def build(self, pool, overwrite):
        # Only what is missing is made; an existing directory is kept as it is.
        os.makedirs(pool.target_path, 0o755, exist_ok=True)
        _perms.apply(pool.target_path, pool.permissions, self.runner)

    def start(self, pool):
        if not self.is_built(pool):
            raise NotFoundError("target.path %s of pool %r does not exist; set build: true to create it"
                                % (pool.target_path, pool.name))

    def stop(self, pool):
        """Nothing to release for a directory."""

    def check_delete(self, pool):
        entries = os.listdir(pool.target_path) if os.path.isdir(pool.target_path) else []
        if entries:
            raise StorageError("pool %r: target.path %s is not empty (%d entries); delete its volumes first"
                               % (pool.name, pool.target_path, len(entries)))

    def delete(self, pool):
        if os.path.isdir(pool.target_path):
            self.check_delete(pool)
            os.rmdir(pool.target_path)

    def target_drift(self, pool):
        if not self.is_built(pool):
            return []
        return _perms.drift(pool.target_path, pool.permissions)

    def fix_target(self, pool):
        _perms.apply(pool.target_path, pool.permissions, self.runner)
