# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iscsi-direct pools: the LUNs of an iSCSI target reached by libiscsi in user space, with no local device nodes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._base import PoolBackend


class IscsiDirectBackend(PoolBackend):

    pool_type = "iscsi-direct"
    no_target = ("iscsi-direct pools have no target: their LUNs are reached by qemu and libiscsi over the network, "
                 "with no device node on the host")
    required_source = ("host", "target", "initiator")
    source_fields = ("host", "port", "target", "initiator", "auth")
    takes_mount_options = False
