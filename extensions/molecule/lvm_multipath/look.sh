#!/usr/bin/env bash
# Usage: look.sh VG WWID. multipath -ll, a word per PV not a dm device, and a pattern written to the
# VG's LV and read back, with both paths up and then with one path offline (restored after).
set -u
vg=$1 wwid=$2 lv=/dev/$1/data1
multipath -ll
for pv in $(pvs --noheadings -o pv_name -S vg_name="${vg}"); do
    [[ $(basename "$(readlink -f "${pv}")") == dm-* ]] || echo "pv-not-dm ${pv}"
done
io() {
    head -c 1048576 /dev/urandom >/tmp/pattern
    dd if=/tmp/pattern of="${lv}" oflag=direct bs=1M count=1 status=none \
        && cmp -n 1048576 /tmp/pattern <(dd if="${lv}" iflag=direct bs=1M count=1 status=none) && echo "$1"
}
io io-ok
dm=$(basename "$(readlink -f /dev/disk/by-id/dm-uuid-mpath-"${wwid}")")
slaves=(/sys/block/"${dm}"/slaves/*)
path=${slaves[0]##*/}
echo offline >/sys/block/"${path}"/device/state
sleep 3
io io-failed-path-ok
echo running >/sys/block/"${path}"/device/state
rm -f /tmp/pattern
exit 0
