#!/usr/bin/env bash
# Undo setup.sh, so later targets in the same guest start from a clean one.
set -u
IQN=iqn.2024-01.test.poolcraft:facts
# the NFS server comes back first: umount stats the mount point, which blocks while it is dead
# (and so would `mountpoint`: the mount table is read instead)
if grep -q ' /mnt/pcfnfs ' /proc/mounts; then
	echo "/srv/pcfnfs 127.0.0.1(rw,sync,no_subtree_check,no_root_squash)" > /etc/exports
	systemctl start nfs-server
	timeout 60 umount /mnt/pcfnfs
fi
rm -f /etc/exports
systemctl stop nfs-server 2>/dev/null
systemctl stop multipathd multipathd.socket 2>/dev/null
for map in $(dmsetup ls --target multipath 2>/dev/null | awk '{print $1}'); do
	dmsetup remove --retry "$map" 2>/dev/null || dmsetup remove -f "$map"
done
rm -f /etc/multipath.conf
udevadm settle
modprobe -r scsi_debug 2>/dev/null || { sleep 2; udevadm settle; modprobe -r scsi_debug; }
iscsiadm -m node -T "$IQN" -p 127.0.0.1:3260 --logout >/dev/null 2>&1
iscsiadm -m node -T "$IQN" -p 127.0.0.1:3260 -o delete >/dev/null 2>&1
tgtadm --lld iscsi --op delete --mode target --tid 7 --force 2>/dev/null
systemctl stop iscsid iscsid.socket tgt 2>/dev/null
vgremove -q -y pcfa pcfb 2>/dev/null
for d in /dev/disk/by-id/virtio-vmdisk1 /dev/disk/by-id/virtio-vmdisk2; do
	pvremove -q -y "$d" 2>/dev/null
	wipefs -q -a "$d"
done
udevadm settle
echo "cleanup done"
