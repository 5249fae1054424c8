#!/usr/bin/env bash
# Self-test of the test VM: proves the kernel subsystems the host lacks.
# A guest script for script mode; needs two extra disks:
#
#   tests/vm/run script tests/vm/selftest.sh --disks 2
#
# Prints one line per check and exits non-zero if any check fails. Nothing is
# cleaned up (the guest runs on a throw-away overlay), but every step is
# deterministic on a fresh boot. Multipath runs last: its multipathd (with
# find_multipaths no) would otherwise claim the iSCSI disk.
set -u

D1=/dev/disk/by-id/virtio-vmdisk1
D2=/dev/disk/by-id/virtio-vmdisk2
IQN=iqn.2024-01.test.poolcraft:selftest
LOGDIR=/var/lib/vmtest/selftest
mkdir -p "$LOGDIR"

passed=0
failed=0

# wait_for SECONDS CMD...: retry CMD every 0.5 s until it succeeds
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.5
	done
}

# check NAME FUNCTION: run FUNCTION in a subshell with errexit and xtrace;
# on failure print the tail of its trace.
check() {
	local name=$1 fn=$2 t0=$SECONDS rc
	( set -euo pipefail -x; "$fn" ) > "$LOGDIR/$fn.log" 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		echo "ok   $name ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1))
		echo "FAIL $name ($((SECONDS - t0)) s, exit $rc); last lines:"
		tail -n 40 "$LOGDIR/$fn.log" | sed 's/^/    | /'
	fi
}

t_kernel() {
	uname -r
	test -b "$D1"
	test -b "$D2"
	[ "$(blockdev --getsize64 "$D1")" -gt 0 ]
	# the root disk is vda, found by LABEL
	[ "$(findmnt -n -o SOURCE /)" = /dev/vda ]
	for m in dm_mod dm_thin_pool dm_multipath scsi_debug iscsi_tcp nfs nfsd; do
		modinfo -F filename "$m" >/dev/null
	done
}

t_lvm() {
	pvcreate -ff -y "$D1"
	vgcreate vgself "$D1"
	lvcreate -y -W y -Z y -n lv1 -L 64M vgself
	udevadm settle
	test -b /dev/vgself/lv1
	lvs --noheadings -o lv_active vgself/lv1 | grep -q active
	mkfs.ext4 -q /dev/vgself/lv1
	mkdir -p /mnt/lv1
	mount /dev/vgself/lv1 /mnt/lv1
	echo lvm-data > /mnt/lv1/f
	lvextend -r -L 128M vgself/lv1
	# the filesystem grew with the LV (about 120 MiB usable)
	[ "$(df --output=size -k /mnt/lv1 | tail -1)" -gt 100000 ]
	grep -qx lvm-data /mnt/lv1/f
	# thin pool and a thin LV larger than the pool
	lvcreate -y -Z y --type thin-pool -L 128M -n pool vgself
	lvcreate -y -V 256M --thin -n thin1 vgself/pool
	udevadm settle
	test -b /dev/vgself/thin1
	mkfs.ext4 -q /dev/vgself/thin1
	mkdir -p /mnt/thin1
	mount /dev/vgself/thin1 /mnt/thin1
	dd if=/dev/urandom of=/mnt/thin1/blob bs=1M count=8 status=none
	sync
	lvs vgself
	[ "$(lvs --noheadings -o segtype vgself/thin1 | tr -d ' ')" = thin ]
	[ "$(lvs --noheadings -o data_percent vgself/pool | tr -d ' ' | cut -d. -f1)" -ge 1 ]
	dmsetup ls
}

iscsi_disk=/dev/disk/by-path/ip-127.0.0.1:3260-iscsi-$IQN-lun-1

t_iscsi() {
	mkdir -p /var/lib/vmtest/iscsi
	truncate -s 64M /var/lib/vmtest/iscsi/lun1.img
	systemctl start tgt
	tgtadm --lld iscsi --op new --mode target --tid 1 -T "$IQN"
	tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 \
		-b /var/lib/vmtest/iscsi/lun1.img
	tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL
	systemctl start iscsid
	iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 | tee /tmp/disc
	grep -q "$IQN" /tmp/disc
	iscsiadm -m node -T "$IQN" -p 127.0.0.1:3260 --login
	wait_for 30 test -b "$iscsi_disk"
	udevadm settle
	readlink -f "$iscsi_disk"
	[ "$(blockdev --getsize64 "$iscsi_disk")" = $((64 * 1024 * 1024)) ]
	echo iscsi-data | dd of="$iscsi_disk" bs=512 conv=sync,fsync status=none
	[ "$(dd if="$iscsi_disk" bs=512 count=1 iflag=direct status=none | tr -d '\0')" = iscsi-data ]
	iscsiadm -m session
	iscsiadm -m node -T "$IQN" -p 127.0.0.1:3260 --logout
	udevadm settle
	wait_for 30 test ! -e "$iscsi_disk"
}

t_nfs() {
	mkdir -p /srv/nfs/export
	echo "/srv/nfs/export 127.0.0.1(rw,sync,no_subtree_check,no_root_squash)" > /etc/exports
	systemctl start nfs-server
	exportfs -v | grep -q /srv/nfs/export
	for v in 4.2 3; do
		mkdir -p "/mnt/nfs$v"
		mount -t nfs -o "vers=$v" 127.0.0.1:/srv/nfs/export "/mnt/nfs$v"
		findmnt -n -o FSTYPE,OPTIONS "/mnt/nfs$v" | tee /tmp/nfsmnt
		grep -q "vers=$v" /tmp/nfsmnt
		echo "nfs-data-$v" > "/mnt/nfs$v/f$v"
		grep -qx "nfs-data-$v" "/srv/nfs/export/f$v"
		grep -qx "nfs-data-$v" "/mnt/nfs$v/f$v"
		umount "/mnt/nfs$v"
	done
}

mpath_two_paths() {
	[ "$(multipath -ll 2>/dev/null | grep -c 'active ready running')" = 2 ]
}

t_multipath() {
	cat > /etc/multipath.conf <<'EOF'
defaults {
	user_friendly_names yes
	find_multipaths no
}
blacklist {
	devnode "^(vd|loop|ram|sr)"
}
EOF
	# a previous scsi_debug would keep its parameters
	modprobe -r scsi_debug 2>/dev/null || true
	modprobe scsi_debug dev_size_mb=64 add_host=2 num_tgts=1 vpd_use_hostno=0
	udevadm settle
	lsscsi
	[ "$(lsscsi | grep -c scsi_debug)" = 2 ]
	systemctl start multipathd
	wait_for 60 mpath_two_paths || { multipath -v3 >&2 || true; false; }
	multipath -ll
	name=$(multipath -ll | awk 'NR==1 {print $1}')
	test -b "/dev/mapper/$name"
	[ "$(blockdev --getsize64 "/dev/mapper/$name")" = $((64 * 1024 * 1024)) ]
}

echo "selftest: kernel $(uname -r)"
check "kernel and disks" t_kernel
check "lvm: pv/vg/lv, activation, mkfs, mount, lvextend -r, thin pool and thin LV" t_lvm
check "iscsi: tgtd target, discovery, login, disk appears, logout" t_iscsi
check "nfs: export, mount vers=4.2 and vers=3, write/read" t_nfs
check "multipath: two-path scsi_debug LUN, map with 2 active paths" t_multipath
echo "selftest: $passed passed, $failed failed"
[ "$failed" = 0 ]
