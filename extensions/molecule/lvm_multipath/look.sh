#!/usr/bin/env bash
# Usage: look.sh VG WWID. multipath -ll, a word per PV not a dm device, and a pattern written to the
# VG's LV and read back, with both paths up and then with one path offline: the map must mark it
# failed, and active again once it is back.
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
map=$(cat /sys/block/"${dm}"/dm/name)
slaves=(/sys/block/"${dm}"/slaves/*)
path=${slaves[0]##*/}
devno=$(cat /sys/block/"${path}"/dev)
# until the map's status gives the path state $1 (A active, F failed), at most $2 seconds
path_is() {
    local n
    for ((n = 0; n < $2; n++)); do
        [[ $(dmsetup status "${map}" | tr ' ' '\n' | grep -A1 -x "${devno}" | tail -n1) == "$1" ]] && return 0
        sleep 1
    done
    return 1
}
echo offline >/sys/block/"${path}"/device/state
io io-failed-path-ok
path_is F 30 && echo path-failed
echo running >/sys/block/"${path}"/device/state
# multipathd's checker reinstates it (polling_interval, up to 4 times that once the paths are healthy)
path_is A 60 && echo path-back
rm -f /tmp/pattern
exit 0
