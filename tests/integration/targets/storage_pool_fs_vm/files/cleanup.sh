#!/usr/bin/env bash
# The last of storage_pool_fs_vm's clean up, after the modules had their
# turn: whatever a failed run left. Removes our fstab entry, unmounts the
# pool's target, blanks the disk for later runs, removes the test's state.
#   cleanup.sh DISK TARGET POOL STATE_DIR RUNTIME_DIR
set -u
disk=$1 target=$2 pool=$3 state_dir=$4 runtime_dir=$5
rc=0
if grep -qxF -e "# poolcraft.storage pool $pool" /etc/fstab; then
	# the marker line and the mount line after it
	sed -i "\\|^# poolcraft\\.storage pool $pool\$|,+1d" /etc/fstab || rc=1
	echo "removed the fstab entry"
fi
if findmnt --mountpoint "$target" >/dev/null; then
	umount "$target" || rc=1
	echo "unmounted $target"
fi
# wipefs opens the disk exclusively: it refuses while anything still mounts it
wipefs --all --quiet "$disk" || rc=1
udevadm settle
if [ -d "$target" ]; then
	rmdir "$target" || rc=1
fi
rm -rf "$state_dir" "$runtime_dir"
exit "$rc"
