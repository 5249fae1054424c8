#!/usr/bin/env bash
# What the guest itself says about the fs pool's disk, mount, fstab entry and
# stored state, one key=value a line, for storage_pool_fs_vm to compare around
# each step. It only reads.
#   probe.sh DISK TARGET POOL CONFIG_DIR RUNTIME_DIR
set -euo pipefail
disk=$1 target=$2 pool=$3 config_dir=$4 runtime_dir=$5
unit=$(systemd-escape --path --suffix=mount "$target")

# a new boot_id proves the guest rebooted between two probes
echo "boot_id=$(cat /proc/sys/kernel/random/boot_id)"
echo "device=$(readlink -f "$disk")"
echo "signatures=$(wipefs --no-act --noheadings --output TYPE "$disk" | sort | paste -sd, -)"
mounted=$(findmnt --noheadings --nofsroot --output SOURCE,FSTYPE --mountpoint "$target" || true)
echo "mounted=$mounted"
if [ -z "$mounted" ]; then
	# the disk's first MiB (where the signatures are); not while mounted, when the filesystem may write
	echo "head=$(head -c 1048576 "$disk" | sha256sum | cut -d' ' -f1)"
	echo "raw="
else
	echo "head=mounted"
	# the data written into the raw volume
	if [ -f "$target/disk.raw" ]; then
		echo "raw=$(sha256sum "$target/disk.raw" | cut -d' ' -f1)"
	else
		echo "raw="
	fi
fi
# who mounted it: systemd's unit for the mount point, and where systemd read it from
echo "unit=$(systemctl show --property=ActiveState --value "$unit") $(systemctl show --property=SourcePath --value "$unit")"
echo "target_dir=$(if [ -d "$target" ]; then echo yes; else echo no; fi)"
echo "fstab_entry=$(grep -A1 -xF -e "# poolcraft.storage pool $pool" /etc/fstab | paste -sd'|' - || true)"
echo "fstab=$(sha256sum /etc/fstab | cut -d' ' -f1)"
echo "config=$( (cd "$config_dir" 2>/dev/null && find . -mindepth 1 -printf '%P\n' | sort | paste -sd, -) || true)"
echo "runtime=$( (cd "$runtime_dir" 2>/dev/null && find . -mindepth 1 -printf '%P\n' | sort | paste -sd, -) || true)"
