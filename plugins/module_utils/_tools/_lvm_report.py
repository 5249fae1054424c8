# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LVM reports as JSON (sizes in bytes): one `lvm fullreport` gives PVs, VGs and LVs as facts;
report_rows() reads the rows of a single `vgs`/`pvs`/`lvs` report for the logical pool backend."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.poolcraft.storage.plugins.module_utils._errors import StorageError
from ansible_collections.poolcraft.storage.plugins.module_utils._units import to_int

_FIELDS = (
    ("vg", "vg_name,vg_uuid,vg_attr,vg_size,vg_free,vg_extent_size,pv_count,lv_count"),
    ("pv", "pv_name,pv_uuid,pv_major,pv_minor,vg_name,pv_size,pv_free,dev_size,pv_attr"),
    ("lv", "lv_name,vg_name,lv_uuid,lv_path,lv_dm_path,lv_attr,lv_size,lv_layout,lv_role,pool_lv,origin,"
           "lv_active,lv_kernel_major,lv_kernel_minor,data_percent,metadata_percent"),
    # fullreport always has these two subreports; one field each keeps them small
    ("pvseg", "pvseg_start"),
    ("seg", "seg_start"),
)

ARGV = ["lvm", "fullreport", "--reportformat", "json", "--units", "b", "--nosuffix"]
for _kind, _fields in _FIELDS:
    ARGV += ["--configreport", _kind, "-o", _fields]


def to_float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def report_rows(text, kind, command):
    """The rows of the kind ("vg", "pv", "lv") in a --reportformat json report, as dicts of strings."""
    try:
        reports = json.loads(text)["report"]
        return [row for report in reports for row in report.get(kind, [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise StorageError("%s returned no JSON report" % command)


def parse_fullreport(text):
    """{"pvs": {path: ...}, "vgs": {name: ...}, "lvs": {"vg/lv": ...}} from fullreport JSON."""
    try:
        reports = json.loads(text)["report"]
    except (ValueError, KeyError, TypeError):
        raise StorageError("lvm fullreport returned no JSON report")
    pvs, vgs, lvs = {}, {}, {}
    for report in reports:
        for vg in report.get("vg", []):
            vgs[vg["vg_name"]] = {
                "name": vg["vg_name"], "uuid": vg.get("vg_uuid"), "attr": vg.get("vg_attr"),
                "size": to_int(vg.get("vg_size")), "free": to_int(vg.get("vg_free")),
                "extent_size": to_int(vg.get("vg_extent_size")), "pv_count": to_int(vg.get("pv_count")),
                "lv_count": to_int(vg.get("lv_count")), "pvs": [], "lvs": [],
            }
        for pv in report.get("pv", []):
            major, minor = to_int(pv.get("pv_major")), to_int(pv.get("pv_minor"))
            pvs[pv["pv_name"]] = {
                "name": pv["pv_name"], "uuid": pv.get("pv_uuid"), "vg": pv.get("vg_name") or None,
                "size": to_int(pv.get("pv_size")), "free": to_int(pv.get("pv_free")),
                "device_size": to_int(pv.get("dev_size")), "attr": pv.get("pv_attr"),
                "maj_min": "%d:%d" % (major, minor) if major is not None and major >= 0 else None,
            }
        for lv in report.get("lv", []):
            key = "%s/%s" % (lv["vg_name"], lv["lv_name"])
            major, minor = to_int(lv.get("lv_kernel_major")), to_int(lv.get("lv_kernel_minor"))
            lvs[key] = {
                "name": lv["lv_name"], "vg": lv["vg_name"], "uuid": lv.get("lv_uuid"),
                "size": to_int(lv.get("lv_size")), "attr": lv.get("lv_attr"),
                "layout": lv.get("lv_layout"), "role": lv.get("lv_role"),
                "pool": lv.get("pool_lv") or None, "origin": lv.get("origin") or None,
                "active": lv.get("lv_active") == "active",
                "path": lv.get("lv_path") or None, "dm_path": lv.get("lv_dm_path") or None,
                "maj_min": "%d:%d" % (major, minor) if major is not None and major >= 0 else None,
                "data_percent": to_float(lv.get("data_percent")),
                "metadata_percent": to_float(lv.get("metadata_percent")),
            }
    for path, pv in pvs.items():
        if pv["vg"] in vgs:
            vgs[pv["vg"]]["pvs"].append(path)
    for key, lv in lvs.items():
        if lv["vg"] in vgs:
            vgs[lv["vg"]]["lvs"].append(key)
    for vg in vgs.values():
        vg["pvs"].sort()
        vg["lvs"].sort()
    return {"pvs": pvs, "vgs": vgs, "lvs": lvs}


def lvm_facts(runner):
    _rc, out, _err = runner.run(ARGV)
    return parse_fullreport(out)
