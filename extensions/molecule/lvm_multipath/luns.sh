#!/usr/bin/env bash
# Usage: luns.sh WWIDS_FILE
# Two scsi_debug LUNs over two paths each (as tests/scenarios/vm/multipath_luns.py): hosts 1-2 are
# LUN 0's paths; hosts 3-4, added with LUN 0 left out (3 with a store of its own), LUN 1's.
# Only four disks: under TCG udev costs seconds a disk. Writes the WWIDs, one a line.
set -euo pipefail
drv=/sys/bus/pseudo/drivers/scsi_debug

# Waits until exactly $1 scsi_debug disks are there. The kernel scans a new host in the background,
# so each setting below must wait for the scans before it: a scan still running when max_luns or
# no_lun_0 changes finds a LUN too many.
wait_disks() {
    local n
    for _ in $(seq 60); do
        n=$( (ls -d "${drv}"/adapter*/host*/target*/*/block/* 2>/dev/null || true) | wc -l)
        ((n == $1)) && return 0
        sleep 1
    done
    echo "luns.sh: ${n} scsi_debug disks after 60 s, not $1" >&2
    return 1
}

modprobe -r scsi_debug 2>/dev/null || true
modprobe scsi_debug dev_size_mb=64 add_host=2 num_tgts=1 vpd_use_hostno=0
wait_disks 2
echo 2 >"${drv}/max_luns"; echo 1 >"${drv}/no_lun_0"
echo 1 >"${drv}/per_host_store"; echo 1 >"${drv}/add_host"
echo 0 >"${drv}/per_host_store"; echo 1 >"${drv}/add_host"
wait_disks 4
echo 0 >"${drv}/no_lun_0"
udevadm settle
: >"$1"
for lun in 0 1; do
    devs=(/sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*:"${lun}"/block/*)
    dev=${devs[0]}
    udevadm info --query=property --property=ID_SERIAL --value --name="/dev/${dev##*/}" >>"$1"
done
