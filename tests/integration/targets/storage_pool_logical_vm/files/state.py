# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# What a storage_pool/storage_volume task could change in the guest, as one JSON
# line: the first MiB of each disk (where LVM keeps its metadata), what LVM
# reports of PVs, VGs and LVs, and the pool definitions in the store.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import subprocess
import sys


def head(path):
    # LVM writes with O_DIRECT: drop the page cache's copy first, or a stale one may be read
    subprocess.run(["blockdev", "--flushbufs", path], check=True)
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read(1 << 20)).hexdigest()


def lvm(*argv):
    # what LVM reports, whatever its exit code (a VG may be gone): compared, not checked
    return subprocess.run(("lvm",) + argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          universal_newlines=True).stdout.split("\n")


store = sys.argv[1]
disks = sys.argv[2:]
files = []
for top, _dirs, names in os.walk(store):
    for name in sorted(names):
        path = os.path.join(top, name)
        st = os.lstat(path)
        files.append("%s|%d|%d" % (os.path.relpath(path, store), st.st_size, st.st_mtime_ns))
print(json.dumps({
    "disks": dict((disk, head(disk)) for disk in disks),
    "lvm": (lvm("pvs", "-o", "pv_name,vg_name,pv_pe_alloc_count")
            + lvm("vgs", "-o", "vg_name,vg_size,vg_free,vg_autoactivation")
            + lvm("lvs", "-a", "-o", "vg_name,lv_name,lv_size,lv_attr,origin,pool_lv")),
    "files": sorted(files),
}))
