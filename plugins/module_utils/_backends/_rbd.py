# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rbd pools: a Ceph pool (or an RBD namespace in it); volumes are its RBD images."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolBackend


class RbdBackend(PoolBackend):

    pool_type = "rbd"
    auth_type = "ceph"
    required_source = ("name", "hosts")
    source_fields = ("name", "hosts", "namespace", "config", "auth")
    no_target = "rbd pools have no target: their images are reached by qemu and librbd over the network"
    takes_mount_options = False
