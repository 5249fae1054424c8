# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dir pools: a directory of image files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._backends._file_volumes import FileVolumes
from ansible_collections.poolcraft.storage.plugins.module_utils._errors import NotFoundError, StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._host import _perms
from ansible_collections.poolcraft.storage.plugins.module_utils._model import Action


def refuse_unless_empty(pool):
    entries = os.listdir(pool.target_path) if os.path.isdir(pool.target_path) else []
    if entries:
        raise StorageError("pool %r: target.path %s is not empty (%d entries); delete its volumes first"
                           % (pool.name, pool.target_path, len(entries)))


class DirBackend(FileVolumes, PoolBackend):

    pool_type = "dir"
    source_fields = ()

    def is_built(self, pool):
        return os.path.isdir(pool.target_path)

    def _make_directory(self, pool):
        # Only what is missing is made; an existing directory is kept as it is.
        os.makedirs(pool.target_path, 0o755, exist_ok=True)
        _perms.apply(pool.target_path, pool.permissions, self.runner)

    def plan_build(self, pool, overwrite):
        if self.is_built(pool):
            return []
        return [Action("create %s" % pool.target_path, lambda: self._make_directory(pool))]

    def _check_directory(self, pool):
        if not self.is_built(pool):
            raise NotFoundError("target.path %s of pool %r does not exist; set build: true to create it"
                                % (pool.target_path, pool.name))

    def plan_start(self, pool):
        # the directory may be made by the build planned before this: looked for when started
        return [Action("check %s" % pool.target_path, lambda: self._check_directory(pool))]

    def plan_stop(self, pool):
        """Nothing to release for a directory."""
        return []

    def _remove_directory(self, pool):
        if os.path.isdir(pool.target_path):
            refuse_unless_empty(pool)  # again: something may have appeared since the plan
            os.rmdir(pool.target_path)

    def plan_delete(self, pool):
        refuse_unless_empty(pool)
        return [Action("remove %s" % pool.target_path, lambda: self._remove_directory(pool))]

    def plan_target(self, pool):
        if not self.is_built(pool):
            return []
        drift = _perms.drift(pool.target_path, pool.permissions)
        if not drift:
            return []
        return [Action("set %s of %s" % ("/".join(drift), pool.target_path),
                       lambda: _perms.apply(pool.target_path, pool.permissions, self.runner))]
