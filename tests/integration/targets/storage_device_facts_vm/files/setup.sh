#!/usr/bin/env bash
# Guest setup for storage_device_facts_vm: builds, with real kernel drivers,
#   - LVM: VGs pcfa and pcfb on the two blank virtio disks, each with an LV "data";
#   - iSCSI: a tgtd target with one file-backed LUN, logged in with iscsiadm;
#   - multipath: scsi_debug with two hosts and one LUN (two paths, one WWID, a WWN),
#     multipathd making map "pcfmp" of them, then one path set offline and failed.
#   - NFS: a mount of an export on 127.0.0.1 whose server is then stopped (dead).
# Then prints, from the tools themselves (lsscsi/sysfs/udev/dmsetup/lvs/iscsiadm),
# what the module must find, as one JSON line after "EXPECTED:".
set -euo pipefail

D1=/dev/disk/by-id/virtio-vmdisk1
D2=/dev/disk/by-id/virtio-vmdisk2
IQN=iqn.2024-01.test.poolcraft:facts
STATE=/var/lib/vmtest/facts
mkdir -p "$STATE"

wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || { echo "timed out: $*" >&2; return 1; }
		sleep 0.5
	done
}

# -- LVM: two VGs, an LV of the same name in each
pvcreate -q -ff -y "$D1" "$D2"
vgcreate -q pcfa "$D1"
vgcreate -q pcfb "$D2"
lvcreate -q -y -W y -Z y -n data -L 64M pcfa
lvcreate -q -y -W y -Z y -n data -L 96M pcfb
udevadm settle

# -- iSCSI: tgtd target, one LUN, kernel initiator session
truncate -s 64M "$STATE/lun1.img"
systemctl start tgt
tgtadm --lld iscsi --op new --mode target --tid 7 -T "$IQN"
tgtadm --lld iscsi --op new --mode logicalunit --tid 7 --lun 1 -b "$STATE/lun1.img"
tgtadm --lld iscsi --op bind --mode target --tid 7 -I ALL
systemctl start iscsid
iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 >/dev/null
iscsiadm -m node -T "$IQN" -p 127.0.0.1:3260 --login >/dev/null
ISCSI_LINK=/dev/disk/by-path/ip-127.0.0.1:3260-iscsi-$IQN-lun-1
wait_for 30 test -b "$ISCSI_LINK"
udevadm settle
iscsi_disk=$(basename "$(readlink -f "$ISCSI_LINK")")

# -- multipath over scsi_debug: two paths to one LUN, as map "pcfmp"
modprobe -r scsi_debug 2>/dev/null || true
modprobe scsi_debug dev_size_mb=32 add_host=2 num_tgts=1 vpd_use_hostno=0
udevadm settle
mapfile -t paths < <(lsscsi | awk '/scsi_debug/ {print $NF}' | xargs -n1 basename | sort)
[ "${#paths[@]}" = 2 ]
# the WWID multipath uses: udev's ID_SERIAL of the path
wwid=$(udevadm info --query=property --name="/dev/${paths[0]}" | sed -n 's/^ID_SERIAL=//p')
[ -n "$wwid" ]
cat > /etc/multipath.conf <<CONF
defaults {
	user_friendly_names no
	find_multipaths no
	polling_interval 1
	no_path_retry fail
}
blacklist {
	devnode "^(vd|loop|ram|sr)"
	device {
		vendor "IET"
	}
}
multipaths {
	multipath {
		wwid $wwid
		alias pcfmp
	}
}
CONF
systemctl start multipathd
two_active() { [ "$(dmsetup status pcfmp 2>/dev/null | grep -oE '[0-9]+:[0-9]+ A' | wc -l)" = 2 ]; }
wait_for 60 two_active || { multipath -v3 >&2 || true; false; }
udevadm settle
failed=${paths[1]}
echo offline > "/sys/block/$failed/device/state"
one_failed() { dmsetup status pcfmp | grep -qE '[0-9]+:[0-9]+ F'; }
wait_for 60 one_failed || { multipathd show paths >&2; false; }
udevadm settle

# -- NFS: a mount whose server then dies (statfs on it would block for ever)
mkdir -p /srv/pcfnfs /mnt/pcfnfs
echo "/srv/pcfnfs 127.0.0.1(rw,sync,no_subtree_check,no_root_squash)" > /etc/exports
systemctl start nfs-server
mount -t nfs -o vers=4.2 127.0.0.1:/srv/pcfnfs /mnt/pcfnfs
stat -f /mnt/pcfnfs >/dev/null
systemctl stop nfs-server
# the server is gone: a statfs now blocks (checked with a timeout, in the background)
if timeout 3 stat -f /mnt/pcfnfs >/dev/null 2>&1; then
	echo "the NFS server still answers" >&2
	exit 1
fi

hctl() { basename "$(readlink -f "/sys/block/$1/device")"; }
wwn=$(udevadm info --query=property --name="/dev/${paths[0]}" | sed -n 's/^ID_WWN_WITH_EXTENSION=//p;' | head -n1)
[ -n "$wwn" ] || wwn=$(udevadm info --query=property --name="/dev/${paths[0]}" | sed -n 's/^ID_WWN=//p')
kernel_wwid=$(cat "/sys/block/${paths[0]}/device/wwid")
dm=$(basename "$(readlink -f /dev/mapper/pcfmp)")
size=$(blockdev --getsize64 /dev/mapper/pcfmp)
lvsize() { lvs --noheadings --units b --nosuffix -o lv_size "$1" | tr -d ' '; }
initiator=$(sed -n 's/^InitiatorName=//p' /etc/iscsi/initiatorname.iscsi)
session=$(basename "$(ls -d /sys/class/iscsi_session/session*)")

printf 'EXPECTED:{"paths": ["%s", "%s"], "failed": "%s", "hctl": {"%s": "%s", "%s": "%s"}, "wwid": "%s", "wwn": "%s", "kernel_wwid": "%s", "dm": "%s", "size": %s, "iscsi_disk": "%s", "iscsi_lun_hctl": "%s", "iqn": "%s", "initiator": "%s", "session": "%s", "lv_a": %s, "lv_b": %s, "vda_size": %s}\n' \
	"${paths[0]}" "${paths[1]}" "$failed" \
	"${paths[0]}" "$(hctl "${paths[0]}")" "${paths[1]}" "$(hctl "${paths[1]}")" \
	"$wwid" "$wwn" "$kernel_wwid" "$dm" "$size" "$iscsi_disk" "$(hctl "$iscsi_disk")" "$IQN" "$initiator" "$session" \
	"$(lvsize pcfa/data)" "$(lvsize pcfb/data)" "$(blockdev --getsize64 /dev/vda)"
# the kernel's own view, for the record (and for the unit test fixtures)
echo "dmsetup table:"; dmsetup table --target multipath
echo "dmsetup status:"; dmsetup status --target multipath
