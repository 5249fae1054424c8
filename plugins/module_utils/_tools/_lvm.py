# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LVM, typed: vgs/pvs/lvs reports (JSON, sizes in bytes) and the commands that change PVs, VGs and LVs.

Every command runs as `lvm <command>`, so one binary is resolved. Nothing here
forces anything: no -f, and commands that would ask a question get none (stdin
is empty), so LVM refuses instead of guessing. --yes is given only where the
question is one the caller has already answered (wiping old signatures inside
a new LV, reducing or removing an LV the backend has checked).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.poolcraft.storage.plugins.module_utils._tools._lvm_report import report_rows, to_float
from ansible_collections.poolcraft.storage.plugins.module_utils._units import to_int

REPORT = ["--reportformat", "json", "--units", "b", "--nosuffix"]
VG_FIELDS = "vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,pv_count,lv_count,vg_autoactivation"
PV_FIELDS = "pv_name,pv_uuid,pv_major,pv_minor,vg_name,pv_size,pv_free,pv_pe_count,pv_pe_alloc_count"
LV_FIELDS = ("lv_name,vg_name,lv_uuid,lv_path,lv_size,lv_layout,lv_role,pool_lv,origin,"
             "lv_active,lv_device_open,data_percent")


@dataclass(frozen=True)
class VolumeGroup:
    name: str
    uuid: str
    size: int
    free: int
    extent_size: int
    pv_count: int
    lv_count: int
    autoactivation: bool


@dataclass(frozen=True)
class PhysicalVolume:
    name: str
    uuid: str
    maj_min: Optional[Tuple[int, int]]   # None for a PV whose device is missing
    vg: Optional[str]                    # None for a PV in no VG
    size: int
    free: int
    extents: int
    allocated_extents: int


def _flags(text):
    return tuple(flag for flag in (text or "").split(",") if flag)


def _tristate(text, yes):
    """True/False from a binary report field; None where LVM cannot tell (activation disabled)."""
    if text == "unknown":
        return None
    return text == yes


@dataclass(frozen=True)
class LogicalVolume:
    name: str
    vg: str
    uuid: str
    path: Optional[str]
    size: int
    layout: Tuple[str, ...]              # ("linear",), ("thin", "sparse"), ("thin", "pool") ...
    roles: Tuple[str, ...]               # ("public",), ("private", "thin", "pool"), ("public", "snapshot", ...)
    pool: Optional[str]
    origin: Optional[str]
    active: Optional[bool]
    open: Optional[bool]
    data_percent: Optional[float]

    @property
    def is_thin_pool(self):
        return "pool" in self.layout and "thin" in self.layout

    @property
    def is_thin(self):
        """A thin LV (thin volume or thin snapshot), provisioned from a thin pool."""
        return "thin" in self.layout and "sparse" in self.layout

    @property
    def is_public(self):
        """What a user made: not a pool, not LVM's internal sub-LVs ([tp_tdata], [lvol0_pmspare] ...)."""
        return "public" in self.roles

    @property
    def is_snapshot(self):
        return "snapshot" in self.roles


def parse_vgs(text):
    return [VolumeGroup(name=row["vg_name"], uuid=row.get("vg_uuid"), size=to_int(row.get("vg_size")),
                        free=to_int(row.get("vg_free")), extent_size=to_int(row.get("vg_extent_size")),
                        pv_count=to_int(row.get("pv_count")), lv_count=to_int(row.get("lv_count")),
                        autoactivation=row.get("vg_autoactivation") == "enabled")
            for row in report_rows(text, "vg", "vgs")]


def parse_pvs(text):
    pvs = []
    for row in report_rows(text, "pv", "pvs"):
        major, minor = to_int(row.get("pv_major")), to_int(row.get("pv_minor"))
        pvs.append(PhysicalVolume(
            name=row["pv_name"], uuid=row.get("pv_uuid"),
            # a PV whose device is missing: LVM says [unknown] and 0:0 (no block device has major 0), or -1
            maj_min=(major, minor) if major is not None and major > 0 and minor is not None else None,
            vg=row.get("vg_name") or None, size=to_int(row.get("pv_size")), free=to_int(row.get("pv_free")),
            extents=to_int(row.get("pv_pe_count")), allocated_extents=to_int(row.get("pv_pe_alloc_count"))))
    return pvs


def parse_lvs(text):
    return [LogicalVolume(name=row["lv_name"], vg=row["vg_name"], uuid=row.get("lv_uuid"),
                          path=row.get("lv_path") or None, size=to_int(row.get("lv_size")),
                          layout=_flags(row.get("lv_layout")), roles=_flags(row.get("lv_role")),
                          pool=row.get("pool_lv") or None, origin=row.get("origin") or None,
                          active=_tristate(row.get("lv_active"), "active"),
                          open=_tristate(row.get("lv_device_open"), "open"),
                          data_percent=to_float(row.get("data_percent")))
            for row in report_rows(text, "lv", "lvs")]


def _bytes(size):
    # LVM's unit b is bytes; it rounds up to whole extents and says so on stderr
    return "%db" % size


def _yes_no(flag):
    return "y" if flag else "n"


class Lvm(object):

    def __init__(self, runner):
        self.runner = runner

    def _run(self, *args):
        _rc, out, _err = self.runner.run(["lvm"] + list(args))
        return out

    def _report(self, *args):
        _rc, out, _err = self.runner.read(["lvm"] + list(args))
        return out

    # -- reports ---------------------------------------------------------------

    def volume_groups(self):
        return parse_vgs(self._report("vgs", *(REPORT + ["-o", VG_FIELDS])))

    def volume_group(self, name):
        """The VG called name, or None."""
        for vg in self.volume_groups():
            if vg.name == name:
                return vg
        return None

    def physical_volumes(self):
        """Every PV LVM sees, in a VG or not."""
        return parse_pvs(self._report("pvs", *(REPORT + ["-o", PV_FIELDS])))

    def logical_volumes(self, vg):
        """Every LV of the VG, LVM's hidden sub-LVs too (-a); the VG must exist."""
        return parse_lvs(self._report("lvs", "-a", *(REPORT + ["-o", LV_FIELDS, vg])))

    # -- PVs and VGs -------------------------------------------------------------

    def pvcreate(self, devices):
        self._run("pvcreate", *devices)

    def pvremove(self, devices):
        self._run("pvremove", *devices)

    def vgcreate(self, vg, devices, autoactivation):
        self._run("vgcreate", "--setautoactivation", _yes_no(autoactivation), vg, *devices)

    def vgextend(self, vg, devices):
        self._run("vgextend", vg, *devices)

    def vgreduce(self, vg, device):
        self._run("vgreduce", vg, device)

    def vgremove(self, vg):
        self._run("vgremove", vg)

    def activate(self, vg, active):
        self._run("vgchange", "--activate", _yes_no(active), vg)

    def set_autoactivation(self, vg, enabled):
        self._run("vgchange", "--setautoactivation", _yes_no(enabled), vg)

    # -- LVs -----------------------------------------------------------------------

    def create_linear(self, vg, name, size):
        # --yes: old signatures inside the new LV's extents are wiped (-W y) without a question;
        # the first 4 KiB are zeroed (-Z y) as LVM does by default
        self._run("lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", name,
                  "--size", _bytes(size), vg)

    def create_thin_pool(self, vg, name, size):
        # --zero y: blocks are zeroed when first provisioned, so no thin LV reads old data
        self._run("lvcreate", "--yes", "--type", "thin-pool", "--zero", "y", "--name", name,
                  "--size", _bytes(size), vg)

    def create_thin(self, vg, pool, name, size):
        self._run("lvcreate", "--type", "thin", "--thinpool", pool, "--name", name,
                  "--virtualsize", _bytes(size), vg)

    def create_snapshot(self, vg, origin, name, size=None):
        """A thick snapshot with size bytes of copy-on-write space, or a thin snapshot (size None)
        that is activated with the VG like any other volume (LVM skips thin snapshots by default)."""
        argv = ["lvcreate", "--snapshot", "--name", name]
        argv += ["--size", _bytes(size)] if size is not None else ["--setactivationskip", "n"]
        self._run(*(argv + ["%s/%s" % (vg, origin)]))

    def resize(self, vg, name, size, shrink=False):
        if shrink:
            # the question "do you really want to reduce" was asked of the user: shrink: true
            self._run("lvreduce", "--yes", "--size", _bytes(size), "%s/%s" % (vg, name))
        else:
            self._run("lvextend", "--size", _bytes(size), "%s/%s" % (vg, name))

    def lvremove(self, vg, name):
        # --yes answers "remove active logical volume?"; the caller has refused open LVs and origins
        self._run("lvremove", "--yes", "%s/%s" % (vg, name))
