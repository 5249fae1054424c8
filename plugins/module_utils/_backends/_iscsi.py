# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iscsi pools: the LUNs of an iSCSI target, logged in with the kernel initiator (open-iscsi)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolBackend


class IscsiBackend(PoolBackend):

    pool_type = "iscsi"
    required_source = ("host", "target")
    source_fields = ("host", "port", "target", "initiator", "auth")
    takes_mount_options = False
