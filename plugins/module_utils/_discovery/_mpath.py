# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sources of mpath pools: the host's multipath maps, each with its WWID, alias, size and paths
(device, H:C:T:L, state, priority group). The maps are read as an mpath pool without a selection
reads them (the mpath backend: sysfs for the maps and sizes, one `dmsetup table` and one `dmsetup
status` of them for the paths), so pool_sources and the pool agree on every map. No multipathd
needed; nothing written.

libvirt has no discovery for mpath pools, and its mpath <source> is empty. Ours names each map:
<device path="/dev/mapper/NAME"/> and <name>WWID</name>, what source.aliases and source.wwids of
an mpath pool take."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._backends._mpath import MpathBackend
from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._model import PoolDef

# an mpath pool that selects nothing: it holds every map
_EVERY_MAP = PoolDef(name="pool_sources", type="mpath", uuid="")


def source_of(volume):
    return {"name": volume.name, "wwid": volume.key, "path": volume.path, "size": volume.capacity,
            "state": volume.map_state,
            "paths": [{"device": path.device, "hctl": path.hctl, "state": path.state, "group": path.group,
                       "group_state": path.group_state} for path in volume.paths]}


class MpathDiscovery(Discovery):
    """Every multipath map of the host, by name: no devices, no server."""

    reads_block_devices = False
    reads = "the host's own multipath maps"

    def find(self, chosen):
        return [source_of(volume) for volume in MpathBackend(self.runner).list_volumes(_EVERY_MAP)]

    @staticmethod
    def xml_parts(source):
        return {"devices": [source["path"]], "name": source["wwid"]}
