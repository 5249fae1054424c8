# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sources of logical pools: volume groups with their physical volumes, as libvirt's
`find-storage-pool-sources logical` lists them, from one `lvm fullreport`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poolcraft.storage.plugins.module_utils._discovery._base import Discovery
from ansible_collections.poolcraft.storage.plugins.module_utils._tools import _lvm_report


class LogicalDiscovery(Discovery):
    """One source per VG, sorted by name. PVs in no VG are not sources (libvirt leaves them out too)."""

    def find(self, chosen):
        _rc, out, _err = self.runner.run(_lvm_report.ARGV)
        report = _lvm_report.parse_fullreport(out)
        wanted = None if chosen is None else set(entry.maj_min for entry in chosen)
        sources = []
        for name in sorted(report["vgs"]):
            vg = report["vgs"][name]
            if wanted is not None and not any(report["pvs"][path]["maj_min"] in wanted for path in vg["pvs"]):
                continue
            sources.append({
                "name": name, "devices": list(vg["pvs"]), "format": "lvm2", "uuid": vg["uuid"],
                "size": vg["size"], "free": vg["free"], "extent_size": vg["extent_size"],
                "pv_count": vg["pv_count"], "lv_count": vg["lv_count"],
            })
        return sources

    @staticmethod
    def xml_parts(source):
        return source["devices"], source["name"], source["format"]
